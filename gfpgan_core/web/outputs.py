"""What a request leaves for the visitor: the files (download, previews, face pairs, ZIPs), the
gallery and the summaries, and the result records whose field order is the endpoints' output order.
Gradio-free, but for the cache folder Gradio serves from."""

from __future__ import annotations

import errno
import logging
import re
import shutil
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from ..archives import ResultArchive
from ..errors import GFPGANError
from ..expressions import expression_row
from ..images import Picture, encode, resize, write_image
from ..pipeline import RestorationResult, Restorer
from .settings import DEFAULT_QUALITY, NAMELESS, OUTPUT_FORMATS, PREVIEW_QUALITY

log = logging.getLogger(__name__)


@dataclass
class PageResult:
    """One restoration as the page shows it; every file lies in one output folder. The fields, in
    order, are the outputs of ``/restore`` (the page's components are looked up by these names)."""

    download: str
    gallery: list[tuple[str, str]]
    summary: str
    before_after: tuple[str, str]
    faces_zip: str | None
    expressions: list[dict[str, object]] | None = None  # a record per face, when asked for

    def files(self) -> list[str]:
        return [self.download, *(g[0] for g in self.gallery), *self.before_after, *filter(None, [self.faces_zip])]


@dataclass
class BatchResult:
    """The outputs of ``/restore_batch``, in order."""

    photos_zip: str | None
    batch_summary: str


@dataclass
class CompareResult:
    """The outputs of ``/compare``, in order."""

    compare_gallery: list[tuple[str, str]]
    compare_summary: str


@dataclass
class TaskResult:
    """The outputs of ``/colorize`` and ``/inpaint``, in order."""

    task_image: str | None
    task_summary: str


@dataclass
class VideoPageResult:
    """The outputs of ``/restore_video``, in order: the clip to play, the same file to download."""

    video: str | None
    video_download: str | None
    video_summary: str


def values(result: PageResult | BatchResult | CompareResult | TaskResult | VideoPageResult) -> tuple:
    """A result's values in its endpoint's output order (its fields' order)."""
    return tuple(getattr(result, f.name) for f in fields(result))


def cleared(summary: str = "") -> tuple:
    """Values that empty ``/restore``'s outputs but for a summary line (a new photo or a new run never
    sits beside the previous result)."""
    shown: dict[str, object] = {"gallery": [], "summary": summary}
    return tuple(shown.get(f.name) for f in fields(PageResult))


def public_message(text: str) -> str:
    """An error as a visitor should read it: plain text (no Markdown backticks), no server paths."""
    text = re.sub(r"(?<![\w.])/(?:[^\s/:;,'\"()]+/)+([^\s/:;,'\"()]*)", r"\1", text)
    return text.replace("`", "")


def download_stem(path: str | None) -> str:
    """The name a visitor's results are saved under: the uploaded file's own name, or "photo" for the
    nameless uploads of the clipboard, the webcam and JavaScript Blobs."""
    stem = re.sub(r"[^\w\-. ]+", "_", Path(path or "").stem).strip(" ._")[:80]
    return stem if stem and stem.lower() not in NAMELESS else "photo"


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


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    f = min(1.0, side / max(size))
    return max(1, round(size[0] * f)), max(1, round(size[1] * f))


def _preview(picture: Picture, size: tuple[int, int]) -> Picture:
    """``picture`` at ``size`` for the slider, transparency shown over white (not the hidden pixels)."""
    rgb = resize(picture.rgb, size)
    if picture.alpha is not None:
        alpha = resize(picture.alpha, size)[:, :, None]
        rgb = rgb * alpha + (1.0 - alpha)
    return Picture(np.ascontiguousarray(rgb, dtype=np.float32))


# the page numbers faces from 1 everywhere ("Face 1" in the gallery is NAME_01 in the ZIP and the
# expression records); the CLI keeps GFPGAN's own NAME_00 for the scripts written against it
FIRST_FACE = 1


def build_gallery(result: RestorationResult, out_dir: Path) -> list[tuple[str, str]]:
    """One input | restored pair per face (JPEG, fast to write and to load), with a caption short
    enough for a phone's column: its number, detection score and size."""
    gallery = []
    for i, face in enumerate(result.faces, FIRST_FACE):
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
    return [
        expression_row(stem, i, f.box, f.expression_before, f.expression_after)
        for i, f in enumerate(result.faces, FIRST_FACE)
    ]


def write_faces_zip(result: RestorationResult, path: Path, stem: str) -> str | None:
    """Every face crop in the CLI's folders (cropped_faces/ and restored_faces/ NAME_01.png...), numbered
    as the gallery numbers them; PNG level 1: lossless, and 4x faster than level 6 for 15% more bytes."""
    if not result.faces:
        return None
    with ResultArchive(path) as archive:
        for i, face in enumerate(result.faces, FIRST_FACE):
            for folder, crop in (("cropped_faces", face.input_crop), ("restored_faces", face.restored_crop)):
                data = encode(Picture(crop.astype(np.float32) / 255), "png", png_level=1)
                archive.add(f"{folder}/{stem}_{i:02d}.png", data)
    return str(path)


def write_outputs(
    picture: Picture,
    result: RestorationResult,
    stem: str,
    preview_side: int,
    output_format: str = "PNG",
    quality: int = DEFAULT_QUALITY,
) -> PageResult:
    """The download (full resolution, in ``output_format``), the gallery, the before/after previews and
    a ZIP of the face crops, written to a fresh output folder (the summary is the caller's: it knows
    the wait).

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
        return PageResult(
            str(download), gallery, "", (str(before), str(after)), faces_zip, face_expressions(result, stem)
        )
    except OSError as exc:
        raise could_not_save(exc, out_dir, "the result") from None


def write_summary(
    result: RestorationResult, restorer: Restorer, seconds: float | None = None, queued_s: float = 0.0
) -> str:
    """The Markdown line under the result: faces, the visitor's wait (``seconds``, else the engine's
    time; ``queued_s`` of it in the queue), device, model, size, and any notes."""
    n = len(result.faces)
    w, h = result.picture.size
    wait = result.timings.get("total", 0.0) if seconds is None else seconds
    queue = f" ({queued_s:.1f} s of it in the queue)" if queued_s >= 0.5 else ""  # less: not worth a word
    summary = (
        f"**{result.face_count.sentence()}** · {wait:.1f} s{queue} · "
        f"{restorer.device.type.upper()}{' fp16' if restorer.half else ''} · model {restorer.model_name} · "
        f"{w}×{h} px output (×{round(result.upscale, 2):g})"
    )
    notes = result.notes + ([] if n else ["The whole image was still upscaled."])
    return summary + ("\n\n" + " ".join(notes) if notes else "")


def compare_strips(results: list[tuple[str, RestorationResult, float]], out_dir: Path) -> CompareResult:
    """A comparison: per face one strip "input | model A | model B ..." (crops at the largest model
    size) and each model's time. Faces match across models: same photo, detector and options."""
    faces = min(len(result.faces) for _, result, _ in results)
    gallery = []
    for i in range(faces):
        crops = [results[0][1].faces[i].input_crop] + [result.faces[i].restored_crop for _, result, _ in results]
        side = max(c.shape[0] for c in crops)
        strip = np.concatenate([resize(c.astype(np.float32) / 255, (side, side)) for c in crops], axis=1)
        path = write_image(out_dir / f"compare_{i + 1:02d}.jpg", Picture(strip), quality=PREVIEW_QUALITY)
        gallery.append((str(path), f"Face {i + 1}: input | " + " | ".join(name for name, _, _ in results)))
    times = " · ".join(f"{name} {seconds:.1f} s" for name, _, seconds in results)
    summary = f"**{results[0][1].face_count.sentence()}** by each model · {times}"
    notes = results[0][1].notes + ([] if faces else ["No face to compare."])
    return CompareResult(gallery, summary + ("\n\n" + " ".join(notes) if notes else ""))


@dataclass
class BatchRow:
    name: str
    outcome: str  # "restored" or the one-line reason it was not
    faces: str = ""  # "2 of 3": restored of found
    seconds: float = 0.0


@dataclass
class BatchReport:
    """A batch's rows, one per photo, in the order sent."""

    rows: list[BatchRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # archive entries passed over: "archive: name (why)"

    def summary(self, seconds: float) -> str:
        done = sum(r.outcome == "restored" for r in self.rows)
        lines = [
            f"**{done} of {len(self.rows)} photos restored** · {seconds:.1f} s",
            "",
            "| photo | faces restored | time | |",
            "|---|---|---|---|",
        ]
        for r in self.rows:
            name = r.name.replace("|", "/")
            lines.append(f"| {name} | {r.faces} | {r.seconds:.1f} s | {r.outcome} |")
        if self.skipped:
            lines += ["", f"Skipped in the archives: {'; '.join(self.skipped)}."]
        return "\n".join(lines)
