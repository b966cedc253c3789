"""Errors with one-line, user-facing messages. The CLI and the app print ``str(error)`` as is.

Each class also derives from the builtin a caller would expect (``ValueError``, ``FileNotFoundError``,
``LookupError``), so code that knows nothing of this package can still catch them its own way.
"""


class GFPGANError(Exception):
    """Base class: the message is a complete sentence a user can act on."""


class ImageError(GFPGANError, ValueError):
    """The input is not an image we can read, or is too large to decode safely."""


class InputNotFoundError(GFPGANError, FileNotFoundError):
    """An input file or folder named by the user does not exist."""


class OptionsError(GFPGANError, ValueError):
    """An option out of its range, of the wrong type, or not one of its choices."""


class UnknownModelError(GFPGANError, LookupError):
    """A model name that is neither in the zoo nor a file on disk."""


class LandmarkError(GFPGANError, ValueError):
    """Five landmarks that define no face (all points coincide): the face cannot be aligned."""


class CheckpointError(GFPGANError, ValueError):
    """A weights file that cannot be read or whose architecture is not recognised."""


class WeightsMissingError(GFPGANError, FileNotFoundError):
    """A model's weights are not on disk and could not be downloaded."""


def as_sentence(text: str) -> str:
    """``text`` with a capital first letter and a full stop, for reasons written as clauses."""
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def first_line(exc: BaseException) -> str:
    """A one-line description of any exception (some carry empty or multi-line messages)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def plural(n: int, word: str) -> str:
    """'1 face', '2 faces': counts in messages read as written."""
    return f"{n} {word}{'s' if n != 1 else ''}"
