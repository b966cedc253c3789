"""GFPGAN face restoration: the Gradio demo (runs locally and as a Hugging Face Space).

    python app.py                      # http://127.0.0.1:7860
    python app.py --host 0.0.0.0 --port 8080 --share
    python app.py --model-path my_finetuned.pth

Thin by design: the page and its wiring live here; all restoration is ``gfpgan_core``. The request
handler is made of module-level functions (run the request, build the gallery, write the summary)
that tests call without a server.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import argparse
import contextlib
import errno
import logging
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
from starlette.middleware import Middleware

from gfpgan_core import GFPGANError, Picture, RestorationResult, RestoreOptions, Restorer, load_picture, write_image
from gfpgan_core.background import output_size
from gfpgan_core.diskbudget import DiskBudget
from gfpgan_core.errors import as_sentence
from gfpgan_core.faces import select_faces
from gfpgan_core.images import resize, to_uint8
from gfpgan_core.options import DETECTORS
from gfpgan_core.service import ModelService
from gfpgan_core.webguard import PayloadGuard

log = logging.getLogger("gfpgan_app")
HERE = Path(__file__).resolve().parent
EXAMPLES = sorted(str(p) for p in (HERE / "examples").glob("*.jpg"))
DEFAULTS = RestoreOptions()

# stage -> (share of the bar done when it starts, its share, what the page says)
PROGRESS_STAGES: dict[str, tuple[float, float, str]] = {
    "decode": (0.00, 0.04, "Reading the image"),
    "detect": (0.04, 0.04, "Detecting faces"),
    "align": (0.08, 0.02, "Aligning faces"),
    "restore": (0.10, 0.60, "Restoring faces"),
    "upsample": (0.70, 0.15, "Upsampling the background"),
    "paste": (0.85, 0.05, "Pasting faces back"),
    "encode": (0.90, 0.10, "Saving the results"),  # the page's own stage, after the engine's
}
ABOUT = """
**What it does.** Each face is found, aligned and passed through GFPGAN, a network that removes blur,
noise and compression and then fills in detail from a face generator (StyleGAN2) it was built on, in
one pass; the face is pasted back and the rest of the photo is upscaled.

**Its limits.** The detail it adds is *plausible*, not recovered: eyes, teeth, skin and hair are
invented to look like a face, and can differ from the person's. Do not use the results to identify
anyone, as evidence, or as a record of what someone looked like. Very small or side-on faces, heavy
damage and unusual faces fare worst; faces under 16 px are left as they are.

**Credits.** GFPGAN: Xintao Wang, Yu Li, Honglun Zhang, Ying Shan, *Towards Real-World Blind Face
Restoration with Generative Facial Prior*, CVPR 2021 ([paper](https://arxiv.org/abs/2101.04061),
[official project](https://github.com/TencentARC/GFPGAN)). This app's code is Apache-2.0; the weights
keep their own licences (GFPGAN and Real-ESRGAN: Apache-2.0 / BSD-3; facexlib models: MIT; YuNet:
BSD-3).

**Privacy.** Photos you upload and the results are kept only to serve them to you: they are deleted
after 10 minutes (sooner when the server's disk budget is reached), are never used for anything else,
and no analytics are collected.
"""
FALLBACK_THRESHOLD = 0.35  # when no face scores the chosen threshold, the page looks once more at this
PREVIEW_QUALITY = 90  # previews and face pairs are JPEG: PNG level 6 of every pair took half the wait


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """What one request may cost; :meth:`from_env` reads the overrides."""

    max_file_size: str = "25mb"
    max_input_pixels: int = 16_000_000  # larger images are downscaled (JPEGs decode at reduced size)
    max_decode_pixels: int = 32_000_000  # larger PNG/WebP/TIFF images are refused before decoding
    max_output_pixels: int = 40_000_000
    max_faces: int = 40
    timeout_s: int = 300
    queue_size: int = 16
    preview_side: int = 1600  # the before/after slider shows at most this; the download is full size
    keep_outputs_s: int = 600  # uploads and results are deleted after this (Gradio's timer)
    disk_budget_mb: int = 1000  # and the oldest first whenever they hold more than this
    calls_per_minute: int = 6  # per client address: one visitor's share of the queue
    claim_s: int = 30  # an API job whose result nobody asks for within this is dropped from the queue

    @classmethod
    def from_env(cls) -> Limits:
        d = cls()
        return cls(
            max_file_size=os.environ.get("GFPGAN_MAX_FILE_SIZE", d.max_file_size),
            max_input_pixels=_env_int("GFPGAN_MAX_PIXELS", d.max_input_pixels),
            max_decode_pixels=_env_int("GFPGAN_MAX_DECODE_PIXELS", d.max_decode_pixels),
            max_output_pixels=_env_int("GFPGAN_MAX_OUTPUT_PIXELS", d.max_output_pixels),
            max_faces=_env_int("GFPGAN_MAX_FACES", d.max_faces),
            timeout_s=_env_int("GFPGAN_TIMEOUT", d.timeout_s),
            queue_size=_env_int("GFPGAN_QUEUE_SIZE", d.queue_size),
            disk_budget_mb=_env_int("GFPGAN_DISK_BUDGET_MB", d.disk_budget_mb),
            calls_per_minute=_env_int("GFPGAN_CALLS_PER_MINUTE", d.calls_per_minute),
            claim_s=_env_int("GFPGAN_CLAIM_S", d.claim_s),
        )


class RequestTimeout(GFPGANError):
    pass


class RequestStopped(GFPGANError):
    pass


def _preview(picture: Picture, size: tuple[int, int]) -> Picture:
    """``picture`` at ``size`` for the slider, transparency shown over white (not the hidden pixels)."""
    rgb = resize(picture.rgb, size)
    if picture.alpha is not None:
        alpha = resize(picture.alpha, size)[:, :, None]
        rgb = rgb * alpha + (1.0 - alpha)
    return Picture(np.ascontiguousarray(rgb, dtype=np.float32))


def public_message(text: str) -> str:
    """An error as a visitor should read it: plain text (no Markdown backticks), no server paths."""
    text = re.sub(r"(?<![\w.])/(?:[^\s/:;,'\"()]+/)+([^\s/:;,'\"()]*)", r"\1", text)
    return text.replace("`", "")


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    f = min(1.0, side / max(size))
    return max(1, round(size[0] * f)), max(1, round(size[1] * f))


class CostModel:
    """This server's measured cost: seconds per restored face, and seconds per output megapixel for
    everything else (decoding, upsampling, pasting, saving); running averages over its requests."""

    def __init__(self, smoothing: float = 0.3) -> None:
        self.smoothing = smoothing
        self.face_s: float | None = None
        self.megapixel_s: float | None = None

    def _mix(self, old: float | None, new: float) -> float:
        return new if old is None else (1 - self.smoothing) * old + self.smoothing * new

    def update(self, result: RestorationResult) -> None:
        total = result.timings.get("total", 0.0)
        faces = len(result.faces)
        restore = result.timings.get("restore", 0.0) if faces else 0.0
        if faces:
            self.face_s = self._mix(self.face_s, restore / faces)
        w, h = result.picture.size
        self.megapixel_s = self._mix(self.megapixel_s, max(total - restore, 0.0) / max(w * h / 1e6, 1e-3))

    def estimate(self, faces: int, output_pixels: float) -> float | None:
        """Seconds for a photo with ``faces`` faces and an output of ``output_pixels``, once measured."""
        if self.megapixel_s is None or (faces and self.face_s is None):
            return None
        return faces * (self.face_s or 0.0) + output_pixels / 1e6 * self.megapixel_s


def expected_wait(
    service: ModelService,
    costs: CostModel,
    limits: Limits,
    image_path: str | None,
    model_key: str | None,
    rescale: float,
    detector: str,
    threshold: float,
    aligned: bool,
) -> str:
    """What a visitor can expect before pressing Restore: the faces found and, once this server has
    measured its speed, about how long it will take. Never an error: the run says those."""
    if not image_path:
        return ""
    try:
        picture = load_picture(image_path, limits.max_decode_pixels, draft_pixels=limits.max_input_pixels)
        w, h = picture.size
        if w * h > limits.max_input_pixels:  # the run works at this size: count faces there too
            w, h = output_size((w, h), (limits.max_input_pixels / (w * h)) ** 0.5)
        if aligned:
            faces = 1
        else:
            restorer = service.get(model_key or "", detector=detector, upsampler="auto")
            found = restorer.detector.detect(to_uint8(resize(picture.rgb, (w, h))), float(threshold))
            faces = len(select_faces(found, (w, h), min_face_size=DEFAULTS.min_face_size, max_faces=limits.max_faces))
    except GFPGANError:
        return ""
    output = min(w * h * float(rescale) ** 2, limits.max_output_pixels)
    seconds = costs.estimate(faces, output)
    what = f"**{faces} face{'s' if faces != 1 else ''} found**"
    when = f" · about {max(1, round(seconds))} s on this server" if seconds is not None else ""
    return f"{what}{when} — press Restore."


class StopRequests:
    """Sessions whose visitor pressed Stop: their running restoration ends at its next step (between
    stages, face batches and background tiles), as the time limit does. Gradio's ``cancels`` alone
    would only stop waiting for the result while the work went on."""

    def __init__(self) -> None:
        self._sessions: set[str] = set()
        self._lock = threading.Lock()

    def ask(self, session: str | None) -> None:
        if session:
            with self._lock:
                self._sessions.add(session)

    def take(self, session: str | None) -> bool:
        """True once after Stop was pressed in ``session``."""
        with self._lock:
            if session in self._sessions:
                self._sessions.discard(session)
                return True
            return False

    def clear(self, session: str | None) -> None:
        with self._lock:
            self._sessions.discard(session or "")


def progress_reporter(
    progress: Callable[..., object], timeout_s: float, started: float, stopped: Callable[[], bool] | None = None
) -> Callable[[str, int, int], None]:
    """The engine's ``progress(stage, done, total)`` shown on the page's bar, with the time limit and
    the visitor's Stop."""

    def report(stage: str, done: int, total: int) -> None:
        if stopped is not None and stopped():
            raise RequestStopped("Stopped, as you asked.")
        if time.perf_counter() - started > timeout_s:
            raise RequestTimeout(f"This image took longer than {timeout_s} s; try a smaller image or fewer faces.")
        start, share, label = PROGRESS_STAGES[stage]
        progress(start + share * done / max(total, 1), desc=f"{label} ({done}/{total})" if total > 1 else label)

    return report


def run_request(
    service: ModelService,
    image_path: str | None,
    model_key: str | None,
    options: RestoreOptions,
    detector: str,
    progress: Callable[[str, int, int], None] | None = None,
    max_decode_pixels: int = Limits.max_decode_pixels,
) -> tuple[Picture, RestorationResult, Restorer]:
    """(input picture, result, the restorer used); every failure is a :class:`GFPGANError` with one line."""
    if not image_path:
        raise GFPGANError("Please upload an image first.")
    default_key, why = service.default_model()
    if not model_key and default_key is None:  # no weights at all: the page's own message
        raise GFPGANError(as_sentence(why))
    try:
        restorer = service.get(model_key, detector=detector, upsampler="auto")
        # a large JPEG decodes near the working size; other formats above the decode limit are refused unread
        picture = load_picture(image_path, max_decode_pixels, draft_pixels=options.max_input_pixels)
        return picture, restorer.restore(picture, options, progress=progress), restorer
    except GFPGANError:
        raise
    except MemoryError:
        raise GFPGANError("Not enough memory for this image; try a smaller one or a lower rescale factor.") from None
    except Exception as exc:  # the server keeps serving whatever happens
        log.exception("restore failed")
        raise GFPGANError(
            f"Restoration failed ({type(exc).__name__}); the server is fine, please try another image."
        ) from None


def build_gallery(result: RestorationResult, out_dir: Path) -> list[tuple[str, str]]:
    """One input | restored pair per face (JPEG, fast to write and to load), captioned with its
    number, detection score and size."""
    gallery = []
    for i, face in enumerate(result.faces, 1):
        pair = np.concatenate([face.input_crop, face.restored_crop], axis=1).astype(np.float32) / 255
        path = write_image(out_dir / f"face_{i:02d}.jpg", Picture(pair), quality=PREVIEW_QUALITY)
        w, h = (face.box[2] - face.box[0]), (face.box[3] - face.box[1])
        gallery.append((str(path), f"Face {i} · score {face.score:.2f} · {w:.0f}×{h:.0f} px (input | restored)"))
    return gallery


def status_line(service: ModelService) -> str:
    """What the server knows now about its default model (computed per page load: a download tried
    at start may have failed since the page was built)."""
    key, why = service.default_model()
    return f"Model in use by default: **{key or 'none'}** — {why}."


def write_summary(result: RestorationResult, restorer: Restorer, seconds: float | None = None) -> str:
    """The Markdown line under the result: faces, the visitor's wait (``seconds``, else the engine's
    time), device, model, size, and any notes."""
    n = len(result.faces)
    found = max(result.faces_found, n)
    w, h = result.picture.size
    wait = result.timings.get("total", 0.0) if seconds is None else seconds
    summary = (
        f"**{found} face{'s' if found != 1 else ''} found** · {wait:.1f} s · "
        f"{restorer.device.type.upper()}{' fp16' if restorer.half else ''} · model {restorer.model_name} · "
        f"{w}×{h} px output (×{result.upscale:g})"
    )
    notes = result.notes + ([] if n else ["The whole image was still upscaled."])
    return summary + ("\n\n" + " ".join(notes) if notes else "")


def output_folder() -> Path:
    """A fresh folder for one request's results inside Gradio's cache: Gradio serves files there
    without copying them (each result is stored once) and its timer deletes them."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()) / "gfpgan-results" / uuid.uuid4().hex


def write_outputs(
    picture: Picture, result: RestorationResult, stem: str, preview_side: int
) -> tuple[str, list[tuple[str, str]], tuple[str, str]]:
    """(full-resolution PNG, gallery, before/after previews) written to a fresh output folder.

    Raises:
        GFPGANError: the disk refused the files (one line that names no server path; what was
            written is removed, and the next request works again once space is free).
    """
    out_dir = output_folder()
    try:
        restored_png = write_image(out_dir / f"{stem}_restored.png", result.picture)  # lossless, full size
        preview = _fit(result.picture.size, preview_side)
        before = write_image(out_dir / "before.jpg", _preview(picture, preview), quality=PREVIEW_QUALITY)
        after = write_image(out_dir / "after.jpg", _preview(result.picture, preview), quality=PREVIEW_QUALITY)
        return str(restored_png), build_gallery(result, out_dir), (str(before), str(after))
    except OSError as exc:
        shutil.rmtree(out_dir, ignore_errors=True)
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        log.warning(f"could not write a result: {exc.strerror}")
        raise GFPGANError(
            "The server is out of disk space; please try again in a few minutes."
            if full
            else "The server could not save the result; please try again."
        ) from None


def user_error(message: str) -> gr.Error:
    """A visitor's mistake: one line back to the client (plain text, no server path) and no
    traceback in the server's log."""
    return gr.Error(public_message(message), print_exception=False)


class _ValidatedInput:
    """Mixin for input components: a value the component refuses (out of range, not a number, not one
    of the choices, from a raw API call) is a visitor's mistake, answered in one line and not logged
    with a traceback as Gradio's own checks are."""

    label: str | None

    def preprocess(self, payload):  # type: ignore[no-untyped-def]
        try:
            return super().preprocess(payload)  # type: ignore[misc]
        except gr.Error as exc:
            raise user_error(str(exc.message)) from None
        except (TypeError, ValueError):
            raise user_error(f"{self.label}: {str(payload)[:40]!r} is not a valid value.") from None


class Slider(_ValidatedInput, gr.Slider):
    @classmethod
    def get_block_name(cls) -> str:
        return "slider"


class Dropdown(_ValidatedInput, gr.Dropdown):
    @classmethod
    def get_block_name(cls) -> str:
        return "dropdown"


class Radio(_ValidatedInput, gr.Radio):
    @classmethod
    def get_block_name(cls) -> str:
        return "radio"


class Checkbox(_ValidatedInput, gr.Checkbox):
    @classmethod
    def get_block_name(cls) -> str:
        return "checkbox"

    def preprocess(self, payload):  # type: ignore[no-untyped-def]
        if not isinstance(payload, bool):
            raise user_error(f"{self.label}: expected true or false, not {str(payload)[:40]!r}.")
        return payload


class PhotoInput(gr.Image):
    """gr.Image that takes only files Gradio itself received (uploads and this page's examples),
    whatever shape the payload has, and whose preprocessing failures (a file that is not an image,
    a decompression bomb) reach the caller as one readable line instead of Gradio's internal error.

    Gradio checks a file payload only when it carries ``"meta": {"_type": "gradio.FileData"}``; a
    raw ``{"path": "/any/file"}`` without it went straight to preprocessing, so any image the server
    could read left through the API.
    """

    example_files: frozenset[str] = frozenset()
    uploads: set[str] = set()  # noqa: RUF012 (replaced by the page's own upload set in build_demo)

    @classmethod
    def get_block_name(cls) -> str:
        return "image"  # the same front-end component

    def received_by_gradio(self, path: str | None) -> bool:
        """True for a file uploaded to this server or one of this page's examples (symlinks resolved)."""
        if not path or not isinstance(path, str):
            return False
        allowed = self.example_files | self.uploads
        if path in allowed:
            return True
        real = os.path.realpath(path)  # only on a miss: a symlink or another spelling of the same file
        return any(os.path.realpath(p) == real for p in allowed)

    def preprocess(self, payload):  # type: ignore[no-untyped-def]
        from PIL import Image

        path = getattr(payload, "path", None)
        # After the guard in front of the API (see main), Gradio copies the file into this
        # component's cache (self.temp_files); without the guard this check alone refuses raw paths.
        if payload is not None and not (path in self.temp_files or self.received_by_gradio(path)):
            log.warning("refused an image payload that was not uploaded to this server")
            raise user_error("Only images uploaded to this app can be restored: upload the file first.")
        try:
            return super().preprocess(payload)
        except Image.DecompressionBombError:
            raise user_error("The image is too large to decode safely.") from None
        except Exception:
            raise user_error("The file is not an image that can be read.") from None


def build_demo(service: ModelService, limits: Limits | None = None, budget: DiskBudget | None = None) -> gr.Blocks:
    limits = limits or Limits()
    default_key = service.default_model()[0]
    stops = StopRequests()
    costs = CostModel()
    choices = [(c.label, c.key) for c in service.choices()]

    def restore(  # type: ignore[no-untyped-def]
        image_path,
        model_key,
        rescale,
        weight,
        only_center_face,
        background,
        detector,
        threshold=DEFAULTS.detection_threshold,
        aligned=DEFAULTS.aligned,
        request: gr.Request = None,  # type: ignore[assignment]  # given by Gradio, not an API input
        progress=gr.Progress(),  # noqa: B008 (Gradio's pattern)
    ):
        """Restore the faces in a photo with GFPGAN (blind face restoration) and upscale the rest of it.

        Args:
            image_path: the photo: a file uploaded to this app (or, through MCP, a data: URL of the image).
            model_key: the restorer to use, one of the model names the app lists (e.g. "v1.4").
            rescale: how much larger the output is than the photo, from 1 to 4.
            weight: fidelity weight: 0 keeps each input face as it was, 1 applies the full restoration.
            only_center_face: restore only the face nearest the centre of the photo.
            background: upscale the background with Real-ESRGAN when available (else Lanczos).
            detector: face detector: "auto", "retinaface" or "yunet".
            threshold: detection sensitivity: faces scoring at least this are restored (lower finds more).
            aligned: the photo is a single face already cropped and aligned like FFHQ (no detection).

        Returns:
            The restored image (PNG, full resolution), a gallery of input | restored face pairs with captions,
            a one-line summary (faces, time, device, model, size) and a before/after pair of previews.
        """
        started = time.perf_counter()
        try:
            options = RestoreOptions(
                upscale=float(rescale),
                weight=float(weight),
                only_center_face=bool(only_center_face),
                upsample_background=bool(background),
                aligned=bool(aligned),
                detection_threshold=float(threshold),
                fallback_threshold=min(FALLBACK_THRESHOLD, float(threshold)),
                max_faces=limits.max_faces,
                max_input_pixels=limits.max_input_pixels,
                max_output_pixels=limits.max_output_pixels,
            )
            session = getattr(request, "session_hash", None)
            stops.clear(session)  # a Stop pressed before this run does not stop it
            report = progress_reporter(progress, limits.timeout_s, started, lambda: stops.take(session))
            with budget.in_use([image_path]) if budget else contextlib.nullcontext():
                picture, result, restorer = run_request(
                    service, image_path, model_key, options, detector, report, limits.max_decode_pixels
                )
            report("encode", 0, 1)
            png, gallery, before_after = write_outputs(picture, result, Path(image_path).stem, limits.preview_side)
            report("encode", 1, 1)
        except RequestStopped as exc:
            log.info("a restoration was stopped by its visitor")
            raise user_error(str(exc)) from None
        except GFPGANError as exc:
            raise user_error(str(exc)) from None
        costs.update(result)
        if budget:
            budget.sweep()  # results just written are recent, so protected until fetched
        summary = write_summary(result, restorer, seconds=time.perf_counter() - started)  # the visitor's wait
        return png, gallery, summary, before_after

    with gr.Blocks(
        title="GFPGAN face restoration", analytics_enabled=False, delete_cache=(60, limits.keep_outputs_s)
    ) as demo:
        gr.Markdown(
            "# GFPGAN face restoration\n"
            "Upload an old, blurry or low-resolution photo: every face is restored with a pretrained face GAN "
            "prior ([GFPGAN](https://arxiv.org/abs/2101.04061), Wang et al., CVPR 2021) and the rest of the "
            "picture is upscaled."
        )
        status = gr.Markdown(status_line(service), elem_id="model-status")
        with gr.Row():
            with gr.Column(scale=1):
                image_in = PhotoInput(
                    type="filepath",
                    image_mode=None,
                    sources=["upload", "clipboard", "webcam"],
                    label="Photo",
                    elem_id="input-image",
                )
                # custom values reach the handler, which names the models it knows in one line
                model = Dropdown(
                    choices=choices, value=default_key, label="Model", elem_id="model", allow_custom_value=True
                )
                rescale = Slider(1, 4, value=DEFAULTS.upscale, step=0.5, label="Rescaling factor")
                weight = Slider(
                    0,
                    1,
                    value=DEFAULTS.weight,
                    step=0.05,
                    label="Fidelity weight (0 = keep the input face, 1 = full restoration)",
                )
                with gr.Accordion("Advanced", open=False):
                    only_center = Checkbox(DEFAULTS.only_center_face, label="Only the centre face")
                    aligned = Checkbox(
                        DEFAULTS.aligned, label="The photo is one face, already cropped and aligned (as FFHQ, square)"
                    )
                    background = Checkbox(
                        DEFAULTS.upsample_background,
                        label="Upsample the background (Real-ESRGAN when available, else Lanczos)",
                    )
                    detector = Radio(list(DETECTORS), value="auto", label="Face detector")
                    threshold = Slider(
                        0.1,
                        0.99,
                        value=DEFAULTS.detection_threshold,
                        step=0.05,
                        label="Detection threshold (lower finds more faces; when none is found, "
                        f"the page looks again at {FALLBACK_THRESHOLD:g})",
                        elem_id="threshold",
                    )
                run = gr.Button(
                    "Restore" if default_key else "Restore (no model weights on this server: see above)",
                    variant="primary",
                    interactive=default_key is not None,
                    elem_id="restore-button",
                )
                stop = gr.Button("Stop", variant="stop", size="sm", elem_id="stop-button")
            with gr.Column(scale=2):
                summary = gr.Markdown(label="Summary", elem_id="summary")
                slider = gr.ImageSlider(
                    label="Before / after (a preview: the full image is the download below)",
                    type="filepath",
                    buttons=["fullscreen"],  # its own download would save the preview, not the result
                    elem_id="slider",
                )
                gallery = gr.Gallery(
                    label="Faces (input | restored)", columns=3, format="png", object_fit="contain", elem_id="faces"
                )
                download = gr.File(label="Restored image (PNG, full resolution)", elem_id="download")
        with gr.Accordion("About", open=False, elem_id="about"):
            gr.Markdown(ABOUT)
        if EXAMPLES:
            gr.Examples(EXAMPLES, inputs=[image_in], label="Examples (public-domain portraits, degraded on purpose)")
            image_in.example_files = frozenset(image_in.temp_files)  # the examples' copies in Gradio's cache
        image_in.uploads = demo.upload_file_set  # the same set Gradio's upload route fills
        outputs = [download, gallery, summary, slider]

        def cleared() -> tuple[None, list, str, None]:
            return None, [], "", None

        def expect(image_path, model_key, rescale, detector, threshold, aligned):  # type: ignore[no-untyped-def]
            """A new photo: clear the last result and say what to expect (faces, and the wait once known)."""
            return (
                None,
                [],
                expected_wait(service, costs, limits, image_path, model_key, rescale, detector, threshold, aligned),
                None,
            )

        # a new photo or a new run never sits beside the previous photo's result (or an error)
        image_in.change(
            expect,
            inputs=[image_in, model, rescale, detector, threshold, aligned],
            outputs=outputs,
            api_visibility="private",
            queue=False,
        )
        restoring = run.click(cleared, outputs=outputs, api_visibility="private", queue=False).then(
            restore,
            inputs=[image_in, model, rescale, weight, only_center, background, detector, threshold, aligned],
            outputs=outputs,
            api_name="restore",
        )

        def stop_now(request: gr.Request) -> str:
            stops.ask(request.session_hash)
            return "Stopped."

        stop.click(stop_now, outputs=summary, cancels=[restoring], api_visibility="private", queue=False)
        model.change(
            lambda key: f"Model selected: **{key}**.",
            inputs=model,
            outputs=status,
            api_visibility="private",
            queue=False,
        )
        demo.load(lambda: status_line(service), outputs=status, api_visibility="private", queue=False)
    return demo


async def drop_waiting_job(demo: gr.Blocks, event_id: str) -> bool:
    """Drop a job that is still waiting in Gradio's queue (one already running finishes); True if it was.
    Reads Gradio 6.31's queue internals (requirements.txt pins it)."""
    queue = demo._queue
    event = queue.event_ids_to_events.get(event_id)
    waiting = event is not None and event in queue.event_queue_per_concurrency_id[event.concurrency_id].queue
    if waiting:
        await queue.remove_from_queue(event_id)
    return waiting


def photo_input(demo: gr.Blocks) -> PhotoInput:
    """The page's photo input (the only component that takes files)."""
    return next(b for b in demo.blocks.values() if isinstance(b, PhotoInput))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    on_space = bool(os.environ.get("SPACE_ID"))
    p = argparse.ArgumentParser(description="GFPGAN face restoration demo")
    p.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0" if on_space else "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", os.environ.get("PORT", 7860))))
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    p.add_argument(
        "--model-path", default=os.environ.get("GFPGAN_MODEL_PATH"), help="a local checkpoint offered as 'custom'"
    )
    p.add_argument("--device", default=os.environ.get("GFPGAN_DEVICE", "auto"))
    p.add_argument("--weights-dir", default=os.environ.get("GFPGAN_WEIGHTS_DIR"))
    p.add_argument(
        "--concurrency", type=int, default=None, help="requests processed at once (default: 1 on CPU, 2 on GPU)"
    )
    p.add_argument("--no-warm-up", action="store_true", help="load the model on the first request instead of at start")
    p.add_argument(
        "--mcp",
        action="store_true",
        default=os.environ.get("GFPGAN_MCP", "").lower() in ("1", "true", "yes"),
        help="also serve restore as an MCP tool at /gradio_api/mcp/ (images as data: URLs; no URL is fetched)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    limits = Limits.from_env()
    try:
        service = ModelService(args.model_path, device=args.device, weights_dir=args.weights_dir)
        if args.model_path:  # a file given at start must work before the page announces it
            service.load("custom")
    except GFPGANError as exc:
        raise SystemExit(f"error: {exc}") from None
    if not args.no_warm_up:
        threading.Thread(target=service.warm_up, daemon=True).start()
    from gradio.utils import get_upload_folder

    budget = DiskBudget(Path(get_upload_folder()), limits.disk_budget_mb * 1_000_000, limits.keep_outputs_s + 60)
    demo = build_demo(service, limits, budget)
    budget.keep = set(photo_input(demo).example_files)
    budget.start()
    concurrency = args.concurrency or (2 if service.device.type == "cuda" else 1)
    demo.queue(max_size=limits.queue_size, default_concurrency_limit=concurrency)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        max_file_size=limits.max_file_size,
        # Gradio keeps a copy of the page's config per session (every API call is one) up to this many:
        # at its default of 10,000 the server grew about 15 MB per 100 requests; the page has no state
        state_session_capacity=256,
        show_error=True,
        footer_links=["api"],
        mcp_server=args.mcp,
        app_kwargs={
            "middleware": [
                Middleware(
                    PayloadGuard,
                    is_received=photo_input(demo).received_by_gradio,
                    calls_per_minute=limits.calls_per_minute,
                    free_bytes=lambda: shutil.disk_usage(budget.root).free,
                    drop_job=lambda event_id: drop_waiting_job(demo, event_id),
                    claim_s=limits.claim_s,
                )
            ]
        },
    )


if __name__ == "__main__":
    main()
