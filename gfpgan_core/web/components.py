"""The page's input components: Gradio's own, made safe for a public server.

A value a component refuses (out of range, not a number, not one of the choices, from a raw API call)
is the visitor's mistake, answered in one line and not logged with a traceback as Gradio's own checks
are; a file input takes only files this server received. Gradio writes a ``components.pyi`` beside
this module (it does for any subclass of its components): it is git-ignored and not type-checked.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import gradio as gr

from .outputs import public_message

log = logging.getLogger(__name__)


def user_error(message: str) -> gr.Error:
    """A visitor's mistake: one line back to the client (plain text, no server path) and no
    traceback in the server's log."""
    return gr.Error(public_message(message), print_exception=False)


def _label(component: object) -> str:
    return str(getattr(component, "label", None) or "This value")


class _ValidatedInput:
    """Mixin for input components: refused values are one line, not Gradio's internal error."""

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)  # type: ignore[misc]
        except gr.Error as exc:
            raise user_error(str(exc.message)) from None
        except (TypeError, ValueError):
            raise user_error(f"{_label(self)}: {str(payload)[:40]!r} is not a valid value.") from None


class Slider(_ValidatedInput, gr.Slider):
    @classmethod
    def get_block_name(cls) -> str:
        return "slider"


class OptionalSlider(Slider):
    """A slider whose API value may also be null: the engine's own default (the page always sends a number)."""

    def preprocess(self, payload):
        return None if payload is None else super().preprocess(payload)

    def postprocess(self, value):
        return None if value is None else super().postprocess(value)


class Dropdown(_ValidatedInput, gr.Dropdown):
    @classmethod
    def get_block_name(cls) -> str:
        return "dropdown"


class Radio(_ValidatedInput, gr.Radio):
    @classmethod
    def get_block_name(cls) -> str:
        return "radio"


class CheckboxGroup(_ValidatedInput, gr.CheckboxGroup):
    """The compare list: the API page's example names two models (Gradio's named one, which /compare
    refuses: it compares two to four)."""

    @classmethod
    def get_block_name(cls) -> str:
        return "checkboxgroup"

    def example_value(self):
        return [value for _, value in self.choices[:2]] or None

    def example_payload(self):
        return self.example_value()


class Checkbox(_ValidatedInput, gr.Checkbox):
    @classmethod
    def get_block_name(cls) -> str:
        return "checkbox"

    def preprocess(self, payload):
        if not isinstance(payload, bool):
            raise user_error(f"{_label(self)}: expected true or false, not {str(payload)[:40]!r}.")
        return payload


class _ReceivedFilesOnly:
    """Mixin for the page's file inputs: they take only files Gradio itself received (uploads and this
    page's examples), whatever shape the payload has.

    Gradio checks a file payload only when it carries ``"meta": {"_type": "gradio.FileData"}``; a
    raw ``{"path": "/any/file"}`` without it went straight to preprocessing, so any image the server
    could read left through the API.
    """

    example_files: frozenset[str] = frozenset()
    uploads: set[str] = set()  # noqa: RUF012 (replaced by the page's own upload set when the page is built)
    temp_files: set[str]
    public_url: str | None = None  # where clients reach this server (set at launch)

    def example_link(self) -> str | None:
        """The API page's example input: one of the page's examples, served by this server itself (no
        other site's file: the guard refuses URLs)."""
        if self.public_url and self.example_files:
            return f"{self.public_url.rstrip('/')}/gradio_api/file={sorted(self.example_files)[0]}"
        return None

    def received_by_gradio(self, path: str | None) -> bool:
        """True for a file uploaded to this server or one of this page's examples: two set lookups, the
        second by real path (Gradio's cache is a real path: settings.prepare_environment), never a walk of
        the uploads (30,000 of them made every refused payload stall the event loop)."""
        if not path or not isinstance(path, str):
            return False
        if path in self.uploads or path in self.example_files:
            return True
        real = os.path.realpath(path)  # a symlink or another spelling of the same file
        return real in self.uploads or real in self.example_files

    def check_received(self, paths: Sequence[str | None]) -> None:
        # After the guard in front of the API (guard.py), Gradio copies the file into this
        # component's cache (self.temp_files); without the guard this check alone refuses raw paths.
        if not all(p in self.temp_files or self.received_by_gradio(p) for p in paths):
            log.warning("refused a file payload that was not uploaded to this server")
            raise user_error("Only files uploaded to this app can be restored: upload the file first.")


class _OneReceivedFile(_ReceivedFilesOnly):
    """A single-file input: its API page example is one of the page's own examples."""

    def example_value(self):
        return self.example_link() or super().example_value()  # type: ignore[misc]  # (gr.Image or gr.Video)

    def example_payload(self):
        from gradio_client import handle_file

        return handle_file(self.example_value())


class PhotoInput(_OneReceivedFile, gr.Image):
    """gr.Image that takes only received files, and whose preprocessing failures (a file that is not
    an image, a decompression bomb) reach the caller as one readable line instead of Gradio's
    internal error. The API page's example input is one of the page's examples."""

    @classmethod
    def get_block_name(cls) -> str:
        return "image"  # the same front-end component

    def preprocess(self, payload):
        from PIL import Image

        if payload is not None:
            self.check_received([getattr(payload, "path", None)])
        path = getattr(payload, "path", None)
        if self.type == "filepath" and path and not str(getattr(payload, "url", "") or "").startswith("data:"):
            # the path as received: the engine's decoder reads it (and says in one line what is wrong
            # with it, where the visitor sees it: the summary as it arrives, the run's error); Gradio's
            # own preprocessing opened it with PIL first and turned a corrupt file into a bare "Error"
            return str(path)
        try:
            return super().preprocess(payload)
        except Image.DecompressionBombError:
            raise user_error("The image is too large to decode safely.") from None
        except Exception:
            raise user_error("The file is not an image that can be read.") from None


class PhotoFiles(_ReceivedFilesOnly, gr.File):
    """gr.File (several photos or ZIPs) that takes only received files. The API page's example is one
    of the page's examples (Gradio's is a PDF on another site, which the guard refuses)."""

    @classmethod
    def get_block_name(cls) -> str:
        return "file"

    def example_value(self):
        link = self.example_link()
        return [link] if link else super().example_value()

    def example_payload(self):
        from gradio_client import handle_file

        link = self.example_link()
        return [handle_file(link)] if link else super().example_payload()

    def preprocess(self, payload):
        if payload is not None:
            files = getattr(payload, "root", [payload])
            self.check_received([getattr(f, "path", None) for f in files])
        return super().preprocess(payload)


class VideoInput(_OneReceivedFile, gr.Video):
    """gr.Video that takes only received files, as they are (no conversion: the engine reads any
    container FFmpeg reads, and says in one line what is wrong with one it cannot). The API page's
    example input is the page's example clip."""

    @classmethod
    def get_block_name(cls) -> str:
        return "video"

    def preprocess(self, payload):
        if payload is not None:
            self.check_received([getattr(payload, "path", None)])
        return super().preprocess(payload)
