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

# Before gradio is imported (it reads both then). Gradio's default cache, /tmp/gradio, is shared by every
# Gradio program and gradio_client on the machine: the app keeps its uploads and results in a folder of
# its own, under $GFPGAN_DATA_DIR (default ~/.cache/gfpgan_core/app).
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
if not os.environ.get("GRADIO_TEMP_DIR"):
    os.environ["GRADIO_TEMP_DIR"] = os.path.join(
        os.environ.get("GFPGAN_DATA_DIR")
        or os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "gfpgan_core", "app"),
        "gradio",
    )

import argparse
import contextlib
import errno
import logging
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import numpy as np
from starlette.middleware import Middleware

from gfpgan_core import GFPGANError, Picture, RestorationResult, RestoreOptions, Restorer, load_picture, write_image
from gfpgan_core.archives import ArchiveLimits, ResultArchive, image_entries, is_zip
from gfpgan_core.background import output_size
from gfpgan_core.diskbudget import DiskBudget
from gfpgan_core.errors import as_sentence
from gfpgan_core.expressions import EXPRESSIONS, expression_row, expressions_csv
from gfpgan_core.faces import select_faces
from gfpgan_core.images import encode, resize, to_uint8
from gfpgan_core.options import DETECTORS, RUNTIMES
from gfpgan_core.service import ModelService
from gfpgan_core.webguard import PayloadGuard

log = logging.getLogger("gfpgan_app")
HERE = Path(__file__).resolve().parent
# public-domain pictures damaged on purpose by examples/make_examples.py, in the page's order
EXAMPLE_NAMES = (
    "damaged_old_photo.jpg",
    "group_composite.jpg",
    "astronaut_degraded.jpg",
    "grace_hopper_degraded.jpg",
    "grace_hopper_gray_degraded.jpg",
)
EXAMPLES = [str(HERE / "examples" / name) for name in EXAMPLE_NAMES if (HERE / "examples" / name).is_file()]
DEFAULTS = RestoreOptions()

# the page's progress bar: (stage, its share of the bar, what the page says), in the order they run
_BAR = (
    ("decode", 0.04, "Reading the image"),
    ("detect", 0.04, "Detecting faces"),
    ("align", 0.02, "Aligning faces"),
    ("restore", 0.55, "Restoring faces"),
    ("upsample", 0.15, "Upsampling the background"),
    ("paste", 0.05, "Pasting faces back"),
    ("expressions", 0.05, "Reading expressions"),
    ("encode", 0.10, "Saving the results"),  # the page's own stage, after the engine's
)
# stage -> (share of the bar done when it starts, its share, what the page says)
PROGRESS_STAGES: dict[str, tuple[float, float, str]] = {
    stage: (sum(share for _, share, _ in _BAR[:i]), share, label) for i, (stage, share, label) in enumerate(_BAR)
}
ABOUT = """
**What it does.** Each face is found, aligned and passed through GFPGAN, a network that removes blur,
noise and compression and then fills in detail from a face generator (StyleGAN2) it was built on, in
one pass; the face is pasted back and the rest of the photo is upscaled.

**Its limits.** The detail it adds is *plausible*, not recovered: eyes, teeth, skin and hair are
invented to look like a face, and can differ from the person's. Do not use the results to identify
anyone, as evidence, or as a record of what someone looked like. Very small or side-on faces, heavy
damage and unusual faces fare worst; faces under 16 px are left as they are.

**Expressions** (optional, under Advanced) are read by a small classifier trained on FER-2013
(posed, low-resolution faces; about 66% accurate there). A facial expression is not a feeling, and
restoration can change it: both are shown. Not for decisions about people.

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
OUTPUT_FORMATS = {"PNG": "png", "JPEG": "jpg", "WebP": "webp"}  # the download's format -> file suffix
DEFAULT_QUALITY = 90  # JPEG and WebP downloads
# names a photo arrives with when it has none of its own (clipboard, webcam, a JavaScript Blob)
NAMELESS = frozenset({"blob", "image", "file", "webcam", "clipboard", "upload", "photo"})


CSS = """
/* Every gallery item is an input | restored pair (2:1); Gradio's square cells showed one face as a
   letterboxed square taller than the gallery, its caption cut off below. */
#faces .thumbnail-item { aspect-ratio: 2 / 1 !important; }
/* one face fills the width, two sit side by side, more take three columns (set here, not in the
   output, so the API's gallery stays a plain list) */
#faces .grid-container:has(> .gallery-item:only-child) { --grid-cols: 1 !important; }
#faces .grid-container:has(> .gallery-item:nth-child(2):last-child) { --grid-cols: 2 !important; }
/* a phone's three columns truncated every caption: two there */
@media (max-width: 640px) { #faces .grid-container { --grid-cols: 2 !important; } }
"""


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
    max_batch_photos: int = 10  # "several photos at once": per request
    batch_timeout_s: int = 600  # and their time together (each photo still has ``timeout_s``)
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
            max_batch_photos=_env_int("GFPGAN_MAX_BATCH_PHOTOS", d.max_batch_photos),
            batch_timeout_s=_env_int("GFPGAN_BATCH_TIMEOUT", d.batch_timeout_s),
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
    threshold: float | None,
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
            level = restorer.detection_threshold(threshold)
            found = restorer.detector.detect(to_uint8(resize(picture.rgb, (w, h))), level)
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


# ------------------------------------------------------------------ ZeroGPU
# On a ZeroGPU Space a GPU is attached only inside functions wrapped in `spaces.GPU`, which run in a
# forked process: they take picklable arguments (no restorer, no progress callback) and find the
# models, loaded at start, in the service the fork inherits. Elsewhere (CPU Space, dedicated GPU,
# a laptop) nothing here is used and `spaces` need not be installed.
_ZERO_GPU_SERVICE: ModelService | None = None
_zero_gpu_restore: Callable[..., RestorationResult] | None = None


def zero_gpu_seconds(model_key: str, detector: str, picture: Picture, options: RestoreOptions) -> int:
    """GPU time to ask ZeroGPU for (a shorter ask queues sooner): 15 s, plus 2 s per output megapixel
    for the background upscaler and a margin for the faces, at most the 120 s a visitor may ask for."""
    megapixels = picture.size[0] * picture.size[1] * options.upscale**2 / 1e6
    return int(min(120, 15 + 2 * megapixels))


def _restore_in_gpu_process(
    model_key: str, detector: str, picture: Picture, options: RestoreOptions
) -> RestorationResult:
    assert _ZERO_GPU_SERVICE is not None
    return _ZERO_GPU_SERVICE.get(model_key, detector=detector, upsampler="auto").restore(picture, options)


def use_zero_gpu(service: ModelService) -> bool:
    """Route restorations through `spaces.GPU` when this app runs on a ZeroGPU Space; True if it does."""
    global _ZERO_GPU_SERVICE, _zero_gpu_restore
    try:
        import spaces  # type: ignore[import-not-found]
        import spaces.config  # type: ignore[import-not-found]

        on_zero_gpu = bool(spaces.config.Config.zero_gpu)
    except (ImportError, AttributeError):
        return False
    if on_zero_gpu:
        _ZERO_GPU_SERVICE = service
        _zero_gpu_restore = spaces.GPU(duration=zero_gpu_seconds)(_restore_in_gpu_process)
    return on_zero_gpu


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
        restorer = service.get(model_key or default_key or "", detector=detector, upsampler="auto")
        # a large JPEG decodes near the working size; other formats above the decode limit are refused unread
        picture = load_picture(image_path, max_decode_pixels, draft_pixels=options.max_input_pixels)
        if _zero_gpu_restore is not None:  # progress cannot cross into the GPU process
            key = model_key or default_key or ""
            return picture, _zero_gpu_restore(key, detector, picture, options), restorer
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


def download_stem(path: str | None) -> str:
    """The name a visitor's results are saved under: the uploaded file's own name, or "photo" for the
    nameless uploads of the clipboard, the webcam and JavaScript Blobs."""
    stem = re.sub(r"[^\w\-. ]+", "_", Path(path or "").stem).strip(" ._")[:80]
    return stem if stem and stem.lower() not in NAMELESS else "photo"


def build_gallery(result: RestorationResult, out_dir: Path) -> list[tuple[str, str]]:
    """One input | restored pair per face (JPEG, fast to write and to load), with a caption short
    enough for a phone's column: its number, detection score and size."""
    gallery = []
    for i, face in enumerate(result.faces, 1):
        pair = np.concatenate([face.input_crop, face.restored_crop], axis=1).astype(np.float32) / 255
        path = write_image(out_dir / f"face_{i:02d}.jpg", Picture(pair), quality=PREVIEW_QUALITY)
        side = max(face.box[2] - face.box[0], face.box[3] - face.box[1])
        before, after = face.expression_before, face.expression_after
        if before is not None and after is not None:  # what the visitor asked to see, in place of score and size
            caption = f"Face {i} · {before.top} {before.confidence:.0%} → {after.top} {after.confidence:.0%}"
        else:
            caption = f"Face {i} · {face.score:.2f} · {side:.0f} px"
        gallery.append((str(path), caption))
    return gallery


def face_expressions(result: RestorationResult, stem: str) -> list[dict[str, object]] | None:
    """A record per face (top class and probabilities before and after), or None when not asked for."""
    if not result.faces or result.faces[0].expression_after is None:
        return None
    return [expression_row(stem, i, f.box, f.expression_before, f.expression_after) for i, f in enumerate(result.faces)]


def write_faces_zip(result: RestorationResult, path: Path, stem: str) -> str | None:
    """Every face crop, as the CLI names them (cropped_faces/ and restored_faces/ NAME_00.png...);
    PNG level 1: lossless, and 4x faster than level 6 for 15% more bytes."""
    if not result.faces:
        return None
    with ResultArchive(path) as archive:
        for i, face in enumerate(result.faces):
            for folder, crop in (("cropped_faces", face.input_crop), ("restored_faces", face.restored_crop)):
                data = encode(Picture(crop.astype(np.float32) / 255), "png", png_level=1)
                archive.add(f"{folder}/{stem}_{i:02d}.png", data)
    return str(path)


@dataclass
class PageResult:
    """One restoration as the page shows it; every file lies in one output folder."""

    download: str
    gallery: list[tuple[str, str]]
    before_after: tuple[str, str]
    faces_zip: str | None
    expressions: list[dict[str, object]] | None = None  # a record per face, when asked for
    summary: str = ""

    def files(self) -> list[str]:
        return [self.download, *(g[0] for g in self.gallery), *self.before_after, *filter(None, [self.faces_zip])]

    def outputs(self) -> tuple:
        """The values of the page's outputs, in their order."""
        return self.download, self.gallery, self.summary, self.before_after, self.faces_zip, self.expressions


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


def results_root() -> Path:
    """The folder of every request's results, inside Gradio's cache (Gradio serves files there without
    copying them, so each result is stored once); only this app writes into it."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()) / "gfpgan-results"


def output_folder() -> Path:
    """A fresh folder for one request's results (the disk budget deletes it)."""
    return results_root() / uuid.uuid4().hex


def could_not_save(exc: OSError, out_dir: Path, what: str) -> GFPGANError:
    """A write of results failed: remove what was written, log it, and say so in one line that names no
    server path (a full disk says so: the next request works again once space is free)."""
    shutil.rmtree(out_dir, ignore_errors=True)
    log.warning(f"could not write {what}: {exc.strerror}")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return GFPGANError("The server is out of disk space; please try again in a few minutes.")
    return GFPGANError(f"The server could not save {what}; please try again.")


def part_progress(progress: Callable[..., object], k: int, n: int, label: str) -> Callable[..., None]:
    """Part ``k`` of ``n`` of a longer job on the page's bar: its progress scaled into its slice."""

    def bar(fraction: float, desc: str) -> None:
        progress((k + fraction) / n, desc=f"{label}: {desc}")

    return bar


def write_outputs(
    picture: Picture,
    result: RestorationResult,
    stem: str,
    preview_side: int,
    output_format: str = "PNG",
    quality: int = DEFAULT_QUALITY,
) -> PageResult:
    """The download (full resolution, in ``output_format``), the gallery, the before/after previews and
    a ZIP of the face crops, written to a fresh output folder.

    Raises:
        GFPGANError: the disk refused the files (one line that names no server path; what was
            written is removed, and the next request works again once space is free).
    """
    out_dir = output_folder()
    try:
        suffix = OUTPUT_FORMATS[output_format]
        download = write_image(out_dir / f"{stem}_restored.{suffix}", result.picture, quality=int(quality))
        preview = _fit(result.picture.size, preview_side)
        before = write_image(out_dir / "before.jpg", _preview(picture, preview), quality=PREVIEW_QUALITY)
        after = write_image(out_dir / "after.jpg", _preview(result.picture, preview), quality=PREVIEW_QUALITY)
        faces_zip = write_faces_zip(result, out_dir / f"{stem}_faces.zip", stem)
        gallery = build_gallery(result, out_dir)
        return PageResult(str(download), gallery, (str(before), str(after)), faces_zip, face_expressions(result, stem))
    except OSError as exc:
        raise could_not_save(exc, out_dir, "the result") from None


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


class OptionalSlider(Slider):
    """A slider whose API value may also be null: the engine's own default (the page always sends a number)."""

    def preprocess(self, payload):  # type: ignore[no-untyped-def]
        return None if payload is None else super().preprocess(payload)


class Dropdown(_ValidatedInput, gr.Dropdown):
    @classmethod
    def get_block_name(cls) -> str:
        return "dropdown"


class Radio(_ValidatedInput, gr.Radio):
    @classmethod
    def get_block_name(cls) -> str:
        return "radio"


class CheckboxGroup(_ValidatedInput, gr.CheckboxGroup):
    @classmethod
    def get_block_name(cls) -> str:
        return "checkboxgroup"


class Checkbox(_ValidatedInput, gr.Checkbox):
    @classmethod
    def get_block_name(cls) -> str:
        return "checkbox"

    def preprocess(self, payload):  # type: ignore[no-untyped-def]
        if not isinstance(payload, bool):
            raise user_error(f"{self.label}: expected true or false, not {str(payload)[:40]!r}.")
        return payload


class _ReceivedFilesOnly:
    """Mixin for the page's file inputs: they take only files Gradio itself received (uploads and this
    page's examples), whatever shape the payload has.

    Gradio checks a file payload only when it carries ``"meta": {"_type": "gradio.FileData"}``; a
    raw ``{"path": "/any/file"}`` without it went straight to preprocessing, so any image the server
    could read left through the API.
    """

    example_files: frozenset[str] = frozenset()
    uploads: set[str] = set()  # noqa: RUF012 (replaced by the page's own upload set in build_demo)
    temp_files: set[str]

    def received_by_gradio(self, path: str | None) -> bool:
        """True for a file uploaded to this server or one of this page's examples (symlinks resolved)."""
        if not path or not isinstance(path, str):
            return False
        allowed = self.example_files | self.uploads
        if path in allowed:
            return True
        real = os.path.realpath(path)  # only on a miss: a symlink or another spelling of the same file
        return any(os.path.realpath(p) == real for p in allowed)

    def check_received(self, paths: Sequence[str | None]) -> None:
        # After the guard in front of the API (see main), Gradio copies the file into this
        # component's cache (self.temp_files); without the guard this check alone refuses raw paths.
        if not all(p in self.temp_files or self.received_by_gradio(p) for p in paths):
            log.warning("refused a file payload that was not uploaded to this server")
            raise user_error("Only images uploaded to this app can be restored: upload the file first.")


class PhotoInput(_ReceivedFilesOnly, gr.Image):
    """gr.Image that takes only received files, and whose preprocessing failures (a file that is not
    an image, a decompression bomb) reach the caller as one readable line instead of Gradio's
    internal error. The API page's example input is one of the page's examples."""

    public_url: str | None = None  # where clients reach this server (set at launch)

    @classmethod
    def get_block_name(cls) -> str:
        return "image"  # the same front-end component

    def example_value(self):  # type: ignore[no-untyped-def]
        if self.public_url and self.example_files:
            return f"{self.public_url.rstrip('/')}/gradio_api/file={sorted(self.example_files)[0]}"
        return super().example_value()

    def example_payload(self):  # type: ignore[no-untyped-def]
        from gradio_client import handle_file

        return handle_file(self.example_value())

    def preprocess(self, payload):  # type: ignore[no-untyped-def]
        from PIL import Image

        if payload is not None:
            self.check_received([getattr(payload, "path", None)])
        try:
            return super().preprocess(payload)
        except Image.DecompressionBombError:
            raise user_error("The image is too large to decode safely.") from None
        except Exception:
            raise user_error("The file is not an image that can be read.") from None


class PhotoFiles(_ReceivedFilesOnly, gr.File):
    """gr.File (several photos or ZIPs) that takes only received files."""

    @classmethod
    def get_block_name(cls) -> str:
        return "file"

    def preprocess(self, payload):  # type: ignore[no-untyped-def]
        if payload is not None:
            files = getattr(payload, "root", [payload])
            self.check_received([getattr(f, "path", None) for f in files])
        return super().preprocess(payload)


def restore_for_page(
    service: ModelService,
    image_path: str,
    model_key: str | None,
    options: RestoreOptions,
    detector: str,
    limits: Limits,
    report: Callable[[str, int, int], None] | None = None,
    output_format: str = "PNG",
    quality: int = DEFAULT_QUALITY,
    budget: DiskBudget | None = None,
) -> tuple[PageResult, RestorationResult, Restorer]:
    """One photo restored and written out for the page (its summary is the caller's: it knows the wait)."""
    report = report or (lambda stage, done, total: None)
    with budget.in_use([image_path]) if budget else contextlib.nullcontext():
        picture, result, restorer = run_request(
            service, image_path, model_key, options, detector, report, limits.max_decode_pixels
        )
    report("encode", 0, 1)
    page = write_outputs(picture, result, download_stem(image_path), limits.preview_side, output_format, quality)
    report("encode", 1, 1)
    return page, result, restorer


class ExampleResults:
    """The page's examples restored once with the default settings, in the background after start-up,
    so that clicking an example shows its restoration at once. ``kept`` is every file that must
    outlive the cache's cleaning (the examples and their results)."""

    def __init__(self) -> None:
        self._pages: dict[str, PageResult] = {}
        self.kept: set[str] = set()

    def get(self, path: str | None) -> PageResult | None:
        return self._pages.get(path or "")

    def fill(self, service: ModelService, limits: Limits, paths: Sequence[str]) -> None:
        model_key = service.default_model()[0]
        d = DEFAULTS
        options = _page_options(
            limits, d.upscale, d.weight, d.only_center_face, d.upsample_background, d.detection_threshold, False
        )
        for path in paths if model_key else []:
            started = time.perf_counter()
            try:
                page, result, restorer = restore_for_page(service, path, model_key, options, "auto", limits)
            except GFPGANError as exc:
                log.warning(f"example {Path(path).name} was not restored in advance: {exc}")
                continue
            page.summary = (
                "**Example, restored in advance with the default settings** (press Restore to run it with yours)"
                "\n\n" + write_summary(result, restorer, seconds=time.perf_counter() - started)
            )
            self.kept.update(page.files())
            self._pages[path] = page
        log.info(f"{len(self._pages)} of {len(paths)} examples restored in advance")


def _page_options(
    limits: Limits,
    rescale: float,
    weight: float,
    only_center_face: bool,
    background: bool,
    threshold: float | None,
    aligned: bool,
    expressions: bool = False,
) -> RestoreOptions:
    """The page's controls as engine options, within this server's limits (bad values: OptionsError)."""
    return RestoreOptions(
        upscale=float(rescale),
        weight=float(weight),
        only_center_face=bool(only_center_face),
        upsample_background=bool(background),
        aligned=bool(aligned),
        detection_threshold=None if threshold is None else float(threshold),  # None: the detector's own
        fallback_threshold=FALLBACK_THRESHOLD if threshold is None else min(FALLBACK_THRESHOLD, float(threshold)),
        max_faces=limits.max_faces,
        max_input_pixels=limits.max_input_pixels,
        max_output_pixels=limits.max_output_pixels,
        expressions=bool(expressions),
    )


def collect_photos(paths: Sequence[str], limits: Limits) -> list[tuple[str, str | Callable[[], bytes]]]:
    """(file name, path or reader) for every photo in ``paths``, ZIP archives opened (never unpacked)."""
    photos: list[tuple[str, str | Callable[[], bytes]]] = []
    for path in paths:
        if is_zip(path):
            entries = image_entries(path, ArchiveLimits(max_files=limits.max_batch_photos))
            photos += [(entry.name, entry.read) for entry in entries]
        else:
            photos.append((Path(path).name, path))
    if not photos:
        raise GFPGANError("Please upload one or more photos (or a ZIP of photos) first.")
    if len(photos) > limits.max_batch_photos:
        raise GFPGANError(f"{len(photos)} photos were sent; at most {limits.max_batch_photos} can be restored at once.")
    return photos


MAX_COMPARED = 4  # models in one comparison: each one is a whole restoration


def compare_strips(
    results: list[tuple[str, RestorationResult, float]], out_dir: Path
) -> tuple[list[tuple[str, str]], str]:
    """(gallery, summary) of a comparison: per face one strip "input | model A | model B ..." (crops at
    the largest model size) and each model's time. Faces match across models: same photo, detector
    and options."""
    faces = min(len(result.faces) for _, result, _ in results)
    gallery = []
    for i in range(faces):
        crops = [results[0][1].faces[i].input_crop] + [result.faces[i].restored_crop for _, result, _ in results]
        side = max(c.shape[0] for c in crops)
        strip = np.concatenate([resize(c.astype(np.float32) / 255, (side, side)) for c in crops], axis=1)
        path = write_image(out_dir / f"compare_{i + 1:02d}.jpg", Picture(strip), quality=PREVIEW_QUALITY)
        gallery.append((str(path), f"Face {i + 1}: input | " + " | ".join(name for name, _, _ in results)))
    times = " · ".join(f"{name} {seconds:.1f} s" for name, _, seconds in results)
    found = max(results[0][1].faces_found, faces)
    summary = f"**{found} face{'s' if found != 1 else ''} compared** · {times}"
    notes = results[0][1].notes + ([] if faces else ["No face to compare."])
    return gallery, summary + ("\n\n" + " ".join(notes) if notes else "")


@dataclass
class BatchRow:
    name: str
    outcome: str  # "restored" or the one-line reason it was not
    faces: int = 0
    seconds: float = 0.0


def batch_summary(rows: list[BatchRow], seconds: float) -> str:
    done = sum(r.outcome == "restored" for r in rows)
    lines = [
        f"**{done} of {len(rows)} photos restored** · {seconds:.1f} s",
        "",
        "| photo | faces | time | |",
        "|---|---|---|---|",
    ]
    for r in rows:
        name = r.name.replace("|", "/")
        lines.append(f"| {name} | {r.faces} | {r.seconds:.1f} s | {r.outcome} |")
    return "\n".join(lines)


def build_demo(
    service: ModelService,
    limits: Limits | None = None,
    budget: DiskBudget | None = None,
    examples: ExampleResults | None = None,
) -> gr.Blocks:
    limits = limits or Limits()
    examples = examples or ExampleResults()
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
        threshold=None,
        aligned=DEFAULTS.aligned,
        output_format="PNG",
        quality=DEFAULT_QUALITY,
        expressions=False,
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
            threshold: detection sensitivity: faces scoring at least this are restored (lower finds more);
                null takes the detector's calibrated value (YuNet 0.65, RetinaFace 0.97).
            aligned: the photo is a single face already cropped and aligned like FFHQ (no detection).
            output_format: the restored image's file format: "PNG" (lossless), "JPEG" or "WebP".
            quality: JPEG and WebP quality, 1 to 100.
            expressions: also read each face's expression (angry, disgust, fear, happy, sad, surprise,
                neutral) on the input and on the restored face.

        Returns:
            The restored image (full resolution, named after the photo), a gallery of input | restored face
            pairs with captions, a one-line summary (faces, time, device, model, size), a before/after pair of
            previews, a ZIP of the face crops (none when no face was restored) and, with expressions, a
            record per face (top class and probabilities before and after; else null).
        """
        started = time.perf_counter()
        try:
            options = _page_options(
                limits, rescale, weight, only_center_face, background, threshold, aligned, expressions
            )
            session = getattr(request, "session_hash", None)
            stops.clear(session)  # a Stop pressed before this run does not stop it
            report = progress_reporter(progress, limits.timeout_s, started, lambda: stops.take(session))
            page, result, restorer = restore_for_page(
                service, image_path, model_key, options, detector, limits, report, output_format, quality, budget
            )
        except RequestStopped as exc:
            log.info("a restoration was stopped by its visitor")
            raise user_error(str(exc)) from None
        except GFPGANError as exc:
            raise user_error(str(exc)) from None
        costs.update(result)
        if budget:
            budget.sweep()  # results just written are recent, so protected until fetched
        page.summary = write_summary(result, restorer, seconds=time.perf_counter() - started)  # the visitor's wait
        return page.outputs()

    def compare(  # type: ignore[no-untyped-def]
        image_path,
        model_keys,
        weight,
        only_center_face,
        detector,
        threshold=None,
        aligned=DEFAULTS.aligned,
        request: gr.Request = None,  # type: ignore[assignment]
        progress=gr.Progress(),  # noqa: B008
    ):
        """Restore the faces of one photo with two to four models, side by side.

        Args:
            image_path: the photo, a file uploaded to this app.
            model_keys: the models to compare (two to four of the names the app lists).
            weight: fidelity weight for every model (0 keeps the input face, 1 is full restoration).
            only_center_face: compare only the face nearest the centre.
            detector: face detector: "auto", "retinaface" or "yunet".
            threshold: detection threshold (null: the detector's calibrated value).
            aligned: the photo is one aligned face crop.

        Returns:
            A gallery with one strip per face (input | each model's restoration) and a summary with each
            model's time.
        """
        started = time.perf_counter()
        keys = list(dict.fromkeys(model_keys or []))
        session = getattr(request, "session_hash", None)
        stops.clear(session)
        results: list[tuple[str, RestorationResult, float]] = []
        try:
            if not 2 <= len(keys) <= MAX_COMPARED:
                raise GFPGANError(f"Choose two to {MAX_COMPARED} models to compare.")
            # faces only: no upscaling and no background work, which the models do not change
            options = _page_options(limits, 1, weight, only_center_face, False, threshold, aligned)
            for k, key in enumerate(keys):
                bar = part_progress(progress, k, len(keys), f"{key} ({k + 1} of {len(keys)})")
                report = progress_reporter(bar, limits.timeout_s, started, lambda: stops.take(session))
                model_started = time.perf_counter()
                _picture, result, restorer = run_request(
                    service, image_path, key, options, detector, report, limits.max_decode_pixels
                )
                results.append((restorer.model_name, result, time.perf_counter() - model_started))
            out_dir = output_folder()
            try:
                gallery, summary = compare_strips(results, out_dir)
            except OSError as exc:
                raise could_not_save(exc, out_dir, "the comparison") from None
        except GFPGANError as exc:  # a Stop too (RequestStopped)
            raise user_error(str(exc)) from None
        if budget:
            budget.sweep()
        return gallery, summary

    def restore_batch(  # type: ignore[no-untyped-def]
        files,
        model_key,
        rescale,
        weight,
        only_center_face,
        background,
        detector,
        threshold=None,
        aligned=DEFAULTS.aligned,
        output_format="PNG",
        quality=DEFAULT_QUALITY,
        expressions=False,
        request: gr.Request = None,  # type: ignore[assignment]
        progress=gr.Progress(),  # noqa: B008
    ):
        """Restore several photos in turn (image files, or ZIP archives of images), with the same options as
        /restore; one photo that fails is reported and the others go on.

        Returns:
            A ZIP of the restored photos (with expressions.csv when expressions were asked for; none when no
            photo could be restored) and a summary with a line per photo (faces, time, or why not restored).
        """
        started = time.perf_counter()
        try:
            options = _page_options(
                limits, rescale, weight, only_center_face, background, threshold, aligned, expressions
            )
            photos = collect_photos(files or [], limits)
        except GFPGANError as exc:
            raise user_error(str(exc)) from None
        session = getattr(request, "session_hash", None)
        stops.clear(session)
        suffix = OUTPUT_FORMATS.get(output_format, "png")
        rows: list[BatchRow] = []
        expression_rows: list[dict[str, object]] = []
        halted = ""  # why the photos not reached yet are not restored
        out_dir = output_folder()
        try:
            with ResultArchive(out_dir / "restored_photos.zip") as archive:
                for k, (name, source) in enumerate(photos):
                    if halted:
                        rows.append(BatchRow(name, halted))
                        continue
                    photo_started = time.perf_counter()
                    left_s = limits.batch_timeout_s - (photo_started - started)
                    bar = part_progress(progress, k, len(photos), f"Photo {k + 1} of {len(photos)}")
                    report = progress_reporter(
                        bar, min(limits.timeout_s, left_s), photo_started, lambda: stops.take(session)
                    )
                    try:
                        image = source if isinstance(source, str) else source()
                        _picture, result, _restorer = run_request(
                            service, image, model_key, options, detector, report, limits.max_decode_pixels
                        )
                        report("encode", 0, 1)
                        stem = download_stem(name)
                        archive.add(f"{stem}_restored.{suffix}", encode(result.picture, suffix, int(quality)))
                        costs.update(result)
                        expression_rows += face_expressions(result, stem) or []
                        seconds = time.perf_counter() - photo_started
                        rows.append(BatchRow(name, "restored", max(result.faces_found, len(result.faces)), seconds))
                    except RequestStopped:
                        halted = "not restored: stopped, as you asked"
                        rows.append(BatchRow(name, halted))
                    except RequestTimeout as exc:
                        if left_s <= limits.timeout_s:
                            halted = f"not restored: the batch's time limit ({limits.batch_timeout_s} s) was reached"
                            rows.append(BatchRow(name, halted))
                        else:
                            rows.append(BatchRow(name, f"not restored: {public_message(str(exc))}"))
                    except GFPGANError as exc:
                        rows.append(BatchRow(name, f"not restored: {public_message(str(exc))}"))
                if expressions and archive.count:
                    archive.add("expressions.csv", expressions_csv(expression_rows).encode())
                zip_path = archive.path if archive.count else None
        except OSError as exc:
            raise user_error(str(could_not_save(exc, out_dir, "the results"))) from None
        if zip_path is None:
            shutil.rmtree(out_dir, ignore_errors=True)
        if budget:
            budget.sweep()
        return (str(zip_path) if zip_path else None), batch_summary(rows, time.perf_counter() - started)

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
                if EXAMPLES:  # right under the photo, on a phone too; a click shows its result at once
                    gr.Examples(
                        EXAMPLES,
                        inputs=[image_in],
                        label="Examples (public-domain pictures, damaged on purpose; the group is a composite): "
                        "click one to see its result",
                        elem_id="examples",
                    )
                    image_in.example_files = frozenset(image_in.temp_files)  # the examples' copies in Gradio's cache
                    examples.kept.update(image_in.example_files)
                image_in.keep_in_cache = examples.kept  # Gradio's cache cleaning skips these
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
                    threshold = OptionalSlider(
                        0.1,
                        0.99,
                        value=service.detection_threshold("auto"),  # the calibrated value of this server's detector
                        step=0.01,
                        label="Detection threshold (set to the detector's calibrated value; lower finds more faces; "
                        "when none is found, "
                        f"the page looks again at {FALLBACK_THRESHOLD:g})",
                        elem_id="threshold",
                    )
                    output_format = Radio(
                        list(OUTPUT_FORMATS), value="PNG", label="Download format (PNG is lossless)", elem_id="format"
                    )
                    quality = Slider(1, 100, value=DEFAULT_QUALITY, step=1, label="JPEG / WebP quality")
                    expressions = Checkbox(
                        False,
                        label="Read each face's expression, before and after (angry, disgust, fear, happy, sad, "
                        "surprise, neutral)",
                        elem_id="expressions",
                    )
                run = gr.Button(
                    "Restore" if default_key else "Restore (no model weights on this server: see above)",
                    variant="primary",
                    interactive=default_key is not None,
                    elem_id="restore-button",
                )
                stop = gr.Button("Stop", variant="stop", size="sm", elem_id="stop-button")
                with gr.Accordion("Several photos at once", open=False, elem_id="batch"):
                    batch_in = PhotoFiles(
                        file_count="multiple",
                        file_types=["image", ".zip"],
                        label=f"Photos, or a ZIP of photos (at most {limits.max_batch_photos}; options as above)",
                        elem_id="batch-input",
                    )
                    batch_in.uploads = demo.upload_file_set
                    batch_run = gr.Button("Restore all", elem_id="batch-button", interactive=default_key is not None)
                    batch_zip = gr.File(label="Restored photos (ZIP)", elem_id="batch-download")
                    batch_summary_md = gr.Markdown(label="Batch summary", elem_id="batch-summary")
            with gr.Column(scale=2):
                summary = gr.Markdown(label="Summary", elem_id="summary")
                slider = gr.ImageSlider(
                    label="Before / after (a preview: the full image is the download below)",
                    type="filepath",
                    buttons=["fullscreen"],  # its own download would save the preview, not the result
                    elem_id="slider",
                )
                gallery = gr.Gallery(
                    label="Faces (input | restored)",
                    columns=3,
                    format="jpeg",
                    object_fit="contain",
                    preview=False,
                    elem_id="faces",
                )
                download = gr.File(label="Restored image (full resolution)", elem_id="download")
                with gr.Row(visible=False) as expression_row:  # the face selected in the gallery
                    expression_before = gr.Label(label="Expression before", num_top_classes=3, elem_id="expr-before")
                    expression_after = gr.Label(label="Expression after", num_top_classes=3, elem_id="expr-after")
                faces_zip = gr.File(label="All face crops (ZIP)", elem_id="faces-zip")
                expressions_json = gr.JSON(
                    label="Expressions per face (before and after)", elem_id="expressions-json", visible=False
                )
        with gr.Accordion("Compare models on this photo", open=False, elem_id="compare"):
            available = [(c.label, c.key) for c in service.choices() if c.available]
            with gr.Row():
                compare_models = CheckboxGroup(
                    choices=choices,
                    value=[key for _, key in available[:2]],
                    label=f"Models (two to {MAX_COMPARED}; the photo above and its options; faces only, no upscaling)",
                    elem_id="compare-models",
                    scale=3,
                )
                compare_run = gr.Button("Compare", elem_id="compare-button", interactive=len(available) >= 2, scale=1)
            compare_summary = gr.Markdown(label="Comparison summary", elem_id="compare-summary")
            compare_gallery = gr.Gallery(
                label="Faces (input | each model)",
                columns=1,
                format="jpeg",
                object_fit="contain",
                elem_id="compare-faces",
            )
        with gr.Accordion("About", open=False, elem_id="about"):
            gr.Markdown(ABOUT)
        image_in.uploads = demo.upload_file_set  # the same set Gradio's upload route fills
        outputs = [download, gallery, summary, slider, faces_zip, expressions_json]
        options = [model, rescale, weight, only_center, background, detector, threshold, aligned]
        options += [output_format, quality, expressions]

        def cleared() -> tuple[None, list, str, None, None, None]:
            return None, [], "", None, None, None

        def expect(image_path, model_key, rescale, detector, threshold, aligned):  # type: ignore[no-untyped-def]
            """A new photo: clear the last result and say what to expect (faces, and the wait once known);
            an example shows its result made in advance."""
            page = examples.get(image_path)
            if page is not None:
                return page.outputs()
            return (
                None,
                [],
                expected_wait(service, costs, limits, image_path, model_key, rescale, detector, threshold, aligned),
                None,
                None,
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
            restore, inputs=[image_in, *options], outputs=outputs, api_name="restore", concurrency_id="restore"
        )
        batch = batch_run.click(
            lambda: (None, ""), outputs=[batch_zip, batch_summary_md], api_visibility="private", queue=False
        ).then(
            restore_batch,
            inputs=[batch_in, *options],
            outputs=[batch_zip, batch_summary_md],
            api_name="restore_batch",
            concurrency_id="restore",  # one queue and one worker for single photos and batches
        )

        comparing = compare_run.click(
            lambda: ([], ""), outputs=[compare_gallery, compare_summary], api_visibility="private", queue=False
        ).then(
            compare,
            inputs=[image_in, compare_models, weight, only_center, detector, threshold, aligned],
            outputs=[compare_gallery, compare_summary],
            api_name="compare",
            concurrency_id="restore",
        )

        def stop_now(request: gr.Request) -> str:
            stops.ask(request.session_hash)
            return "Stopped."

        def calibrated(name: str) -> float | dict:
            """A new detector: the threshold slider moves to its calibrated value (unchanged if it can't load)."""
            try:
                return service.detection_threshold(name)
            except GFPGANError:
                return gr.update()

        def face_expression(records, evt: gr.SelectData):  # type: ignore[no-untyped-def]
            """The selected face's expression, before and after, as bar charts (nothing without expressions)."""
            if not records or not isinstance(evt.index, int) or evt.index >= len(records):
                return None, None
            record = records[evt.index]
            return tuple({c: float(record[f"{when}_{c}"]) for c in EXPRESSIONS} for when in ("before", "after"))

        expressions.change(  # the expression outputs appear only once asked for
            lambda on: (gr.update(visible=on), gr.update(visible=on)),
            inputs=expressions,
            outputs=[expression_row, expressions_json],
            api_visibility="private",
            queue=False,
        )
        gallery.select(
            face_expression,
            inputs=expressions_json,
            outputs=[expression_before, expression_after],
            api_visibility="private",
            queue=False,
        )
        detector.change(calibrated, inputs=detector, outputs=threshold, api_visibility="private", queue=False)
        stop.click(
            stop_now, outputs=summary, cancels=[restoring, batch, comparing], api_visibility="private", queue=False
        )
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
    p.add_argument(
        "--runtime",
        default=os.environ.get("GFPGAN_RUNTIME", "auto"),
        choices=RUNTIMES,
        help="what runs the face model and the upscaler (auto: the fastest exact one on this device)",
    )
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
    p.add_argument(
        "--no-examples",
        dest="examples",
        action="store_false",
        default=os.environ.get("GFPGAN_CACHE_EXAMPLES", "1").lower() not in ("0", "false", "no"),
        help="do not restore the page's examples in advance (they are, after the warm-up, by default)",
    )
    return p.parse_args(argv)


def public_url(args: argparse.Namespace) -> str:
    """Where API clients reach this server: GFPGAN_PUBLIC_URL, the Space's own address, or the local one."""
    if os.environ.get("GFPGAN_PUBLIC_URL"):
        return os.environ["GFPGAN_PUBLIC_URL"]
    if os.environ.get("SPACE_HOST"):
        return f"https://{os.environ['SPACE_HOST']}"
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    return f"http://{host}:{args.port}"


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = parse_args(argv)
    limits = Limits.from_env()
    try:
        service = ModelService(args.model_path, device=args.device, weights_dir=args.weights_dir, runtime=args.runtime)
        if args.model_path:  # a file given at start must work before the page announces it
            service.load("custom")
        if use_zero_gpu(service):
            log.info("ZeroGPU: restorations run inside spaces.GPU")
    except GFPGANError as exc:
        raise SystemExit(f"error: {exc}") from None
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    log.info(f"uploads and results: {cache}")
    budget = DiskBudget(limits.disk_budget_mb * 1_000_000, limits.keep_outputs_s + 60, folders=[results_root()])
    examples = ExampleResults()
    demo = build_demo(service, limits, budget, examples)
    # the app's other files: what Gradio recorded as uploaded to or copied for this app, never its whole cache
    budget.records = lambda: [path for files in demo.temp_file_sets for path in list(files)]
    photo = photo_input(demo)
    photo.public_url = public_url(args)
    budget.keep = examples.kept  # the examples and their results are never deleted
    budget.start()

    def warm_up() -> None:
        service.warm_up()
        if args.examples:
            in_order = sorted(photo.example_files, key=lambda p: EXAMPLE_NAMES.index(Path(p).name))
            examples.fill(service, limits, in_order)

    if not args.no_warm_up:
        threading.Thread(target=warm_up, daemon=True).start()
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
        css=CSS,
        footer_links=["api"],
        mcp_server=args.mcp,
        app_kwargs={
            "middleware": [
                Middleware(
                    PayloadGuard,
                    is_received=photo_input(demo).received_by_gradio,
                    calls_per_minute=limits.calls_per_minute,
                    free_bytes=lambda: shutil.disk_usage(cache).free,
                    drop_job=lambda event_id: drop_waiting_job(demo, event_id),
                    claim_s=limits.claim_s,
                )
            ]
        },
    )


if __name__ == "__main__":
    main()
