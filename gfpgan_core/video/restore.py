"""A clip restored frame by frame, streaming: decode -> detect -> track -> restore -> encode, a few
seconds at a time into segments, joined with the clip's sound at the end.

Memory does not grow with the clip: one frame is held at a time (CodeFormer's script holds them all,
and its long clips lost their output: CodeFormer #235). A run that is killed resumes from its last
whole segment (the staging folder beside the output keeps them, with ``progress.json``), and the
output appears under its name only once complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import GFPGANError, ImageError, OptionsError
from ..images import to_uint8
from ..options import RestoreOptions
from ..pipeline import Restorer
from ..results import RestorationResult
from .streams import (
    CONTAINERS,
    ClipInfo,
    FrameReader,
    SegmentWriter,
    even_size,
    frame_format,
    join_segments,
    probe,
)
from .tracking import FaceTracker, TrackerSettings

log = logging.getLogger(__name__)
FrameProgress = Callable[[int, int], None]  # (frames done, frames in all)


@dataclass(frozen=True)
class VideoOptions:
    """How a clip is restored, beyond a photo's options (:class:`~gfpgan_core.options.RestoreOptions`).

    start_s / max_seconds: the part of the clip restored (None: to its end).
    crf: H.264's constant rate factor (lower: better and bigger; 18 looks like the input).
    track: follow faces across frames and smooth their landmarks; False detects each frame alone.
    segment_s: seconds of video per segment, the unit a killed run resumes from.
    max_frames / max_pixels: caps a server sets (None: none): the frames restored at most, and the
        largest frame taken (a larger one is refused before any frame is decoded).
    time_limit_s: the run ends after this long with the frames restored so far, and says so (a
        server's time limit: what was done is kept, not thrown away).
    """

    start_s: float = 0.0
    max_seconds: float | None = None
    crf: int = 18
    track: bool = True
    tracker: TrackerSettings = field(default_factory=TrackerSettings)
    segment_s: float = 4.0
    max_frames: int | None = None
    max_pixels: int | None = None
    time_limit_s: float | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.start_s >= 0, f"start must be 0 s or later, not {self.start_s}"),
            (self.max_seconds is None or self.max_seconds > 0, f"max seconds must be above 0, not {self.max_seconds}"),
            (0 <= self.crf <= 51, f"crf must be between 0 and 51, not {self.crf}"),
            (self.segment_s > 0, f"segment seconds must be above 0, not {self.segment_s}"),
        ]
        for ok, message in checks:
            if not ok:
                raise OptionsError(message[0].upper() + message[1:] + ".")


@dataclass
class VideoResult:
    """What :meth:`VideoRestorer.restore` made: the file, its frames and faces, and how it went."""

    output: Path
    frames: int
    duration_s: float
    faces: int  # faces restored, summed over frames
    seconds: float  # the run's time
    clip: ClipInfo  # what the clip holds (its probe, made once by the run)
    resumed_frames: int = 0  # frames a killed run had already done
    notes: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        done = self.frames - self.resumed_frames
        return done / self.seconds if self.seconds > 0 else 0.0

    def sentence(self) -> str:
        notes = "".join(f" {n}" for n in self.notes)
        return (
            f"{self.frames} frames ({self.duration_s:.1f} s) restored, {self.faces} faces in all, "
            f"in {self.seconds:.1f} s ({self.fps:.2f} frames/s).{notes}"
        )


class VideoRestorer:
    """A :class:`~gfpgan_core.pipeline.Restorer` applied to a clip (see the module's docstring)."""

    def __init__(
        self, restorer: Restorer, options: RestoreOptions | None = None, video: VideoOptions | None = None
    ) -> None:
        self.restorer = restorer
        self.options = options or RestoreOptions(upscale=1.0)
        self.video = video or VideoOptions()

    def check(self, clip: ClipInfo) -> tuple[float, float]:
        """The part of the clip restored (start, end in seconds), or a one-line refusal of a start past
        its end. (A frame over ``max_pixels`` is refused by :func:`probe`, from the header.)"""
        v = self.video
        if v.start_s >= clip.duration_s > 0:
            raise OptionsError(f"The start ({v.start_s:g} s) is past the clip's end ({clip.duration_s:.1f} s).")
        # to the last frame (a container's duration may end at the last frame's start: VFR), or the part
        return v.start_s, math.inf if v.max_seconds is None else v.start_s + v.max_seconds

    def restore(
        self,
        clip: str | Path,
        output: str | Path,
        progress: FrameProgress | None = None,
        stopped: Callable[[], bool] | None = None,
    ) -> VideoResult:
        """Restore ``clip`` into ``output`` (.mp4, .mov or .mkv; never the clip itself).

        Args:
            progress: called as ``progress(frames done, frames in all)`` after each frame.
            stopped: asked after each frame; True stops the run (the segments done are kept for a
                resume, nothing is written under ``output``'s name).

        Raises:
            ImageError: not a video, no video stream, or over a cap. OptionsError: a bad option or
            output name. GFPGANError: a stop (``stopped``), with the reason.
        """
        started = time.perf_counter()
        clip, output = Path(clip), Path(output)
        if output.suffix.lower() not in CONTAINERS:
            raise OptionsError(f"The output must end in one of {', '.join(sorted(CONTAINERS))}, not {output.name!r}.")
        if output.exists() and clip.exists() and output.resolve() == clip.resolve():
            raise OptionsError("The output would overwrite the clip itself; choose another name.")
        info = probe(clip, self.video.max_pixels)
        start_s, end_s = self.check(info)
        fmt = frame_format(clip)
        rest = min(end_s, info.duration_s or math.inf) - start_s
        total = round(rest * float(info.rate)) if math.isfinite(rest) and rest > 0 else info.frames
        if self.video.max_frames is not None:
            total = min(total, self.video.max_frames)
        staging = Staging(output, self._fingerprint(clip))
        done = staging.load()
        notes: list[str] = []
        resumed = sum(s["frames"] for s in done)
        faces = sum(s["faces"] for s in done)
        if resumed:
            log.info(f"resuming after {resumed} frames already restored ({len(done)} segments)")
        position = done[-1]["end_s"] if done else start_s
        tracker = FaceTracker(self.video.tracker) if self.video.track else None
        writer: SegmentWriter | None = None
        segment_end = position + self.video.segment_s
        count = resumed
        last_t = position - 1 / float(info.rate)  # the last frame written
        reader = FrameReader(clip, position)
        segment_faces = segment_frames = 0
        size_note = ""
        ended = False  # the frames ran out (not a cap, a limit or a stop)
        try:
            for frame in reader:
                t = frame.time_s
                if t >= end_s - 1e-6:
                    break
                if self.video.max_frames is not None and count >= self.video.max_frames:
                    notes.append(f"Only the first {count} frames were restored (the most taken here).")
                    break
                limit = self.video.time_limit_s
                if limit is not None and count > resumed and time.perf_counter() - started > limit:
                    notes.append(
                        f"The time limit ({limit:g} s) was reached: the result ends at {last_t - start_s:.1f} s "
                        f"({count} frames)."
                    )
                    break
                if writer is not None and t >= segment_end - 1e-6:
                    writer.close()
                    staging.add(writer.path, segment_frames, segment_faces, t)
                    writer, segment_faces, segment_frames = None, 0, 0
                    segment_end = t + self.video.segment_s
                result = self.restore_frame(frame.rgb, t, tracker)
                restored, n = to_uint8(result.picture.rgb), len(result.faces)
                if writer is None:
                    writer = SegmentWriter(
                        staging.next_path(),
                        (restored.shape[1], restored.shape[0]),
                        fmt,
                        self.video.crf,
                    )
                    even = even_size(restored.shape[1], restored.shape[0])
                    if even != (restored.shape[1], restored.shape[0]) and not size_note:
                        size_note = (
                            f"The frames ({restored.shape[1]}x{restored.shape[0]}) were cropped by a pixel to "
                            f"{even[0]}x{even[1]}: H.264 in 4:2:0 needs even sides."
                        )
                writer.write(restored, frame.pts - round(start_s / fmt.time_base))
                segment_frames += 1
                segment_faces += n
                faces += n
                count += 1
                last_t = t
                if progress:
                    progress(count, max(total, count))  # the total is the container's estimate
                if stopped and stopped():
                    raise GFPGANError("Stopped, as you asked.")
            else:
                ended = True
            if writer is not None:
                writer.close()
                staging.add(writer.path, segment_frames, segment_faces, last_t + 1e-3)
                writer = None
        except BaseException:
            if writer is not None:
                writer.abandon()
            raise
        rate = float(info.rate)
        missing_s = min(end_s, info.duration_s) - (last_t + 1 / rate)
        if reader.broken:
            notes.append(f"Only the frames that decode were restored: {reader.broken}.")
        elif ended and missing_s > max(3 / rate, 0.25, 0.02 * info.duration_s):  # a file cut short decodes quietly
            notes.append(
                f"Only the frames that decode were restored: they end at {last_t + 1 / rate:.1f} s of the "
                f"{info.duration_s:.1f} s the file's header gives (is it cut short?)."
            )
        segments = staging.segments()
        if not segments:
            raise ImageError(f"{clip.name} holds no frame that decodes in the part asked for.")
        if size_note:
            notes.append(size_note)
        sound_end = min(end_s, last_t + 1 / rate)  # as long as the frames restored
        join_segments(segments, clip, output, start_s, sound_end, notes)
        staging.remove()
        duration = sound_end - start_s
        return VideoResult(output, count, duration, faces, time.perf_counter() - started, info, resumed, notes)

    def restore_frame(self, rgb: np.ndarray, time_s: float, tracker: FaceTracker | None) -> RestorationResult:
        """One frame (RGB uint8) restored: its faces detected and, with a tracker, joined to their
        tracks and smoothed (the tracker carries them from frame to frame)."""
        if tracker is None:
            return self.restorer.restore(rgb, self.options)
        plan = self.restorer.plan(rgb, self.options)
        faces = tracker.update(plan.faces, time_s, plan.picture.rgb)
        return self.restorer.restore(rgb, self.options, faces=faces)

    def _fingerprint(self, clip: Path) -> str:
        """What a resume must match: the clip (size and time written) and every option."""
        stat = clip.stat()
        video = asdict(self.video)
        key = json.dumps(
            [str(clip.resolve()), stat.st_size, stat.st_mtime_ns, repr(self.options), video, self.restorer.describe()],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(key.encode()).hexdigest()[:16]


class Staging:
    """The segments of a run in progress, beside the output (``.NAME.parts/``), with ``progress.json``
    saying which are whole; a different clip or different options start afresh."""

    def __init__(self, output: Path, fingerprint: str) -> None:
        self.folder = output.with_name(f".{output.name}.parts")
        self.file = self.folder / "progress.json"
        self.fingerprint = fingerprint
        self.done: list[dict] = []

    def load(self) -> list[dict]:
        try:
            saved = json.loads(self.file.read_text())
        except (OSError, ValueError):
            saved = None
        if not isinstance(saved, dict) or saved.get("fingerprint") != self.fingerprint:
            shutil.rmtree(self.folder, ignore_errors=True)
            saved = {"segments": []}
        self.done = [s for s in saved.get("segments", []) if (self.folder / s["file"]).is_file()]
        self.folder.mkdir(parents=True, exist_ok=True)
        for stray in self.folder.glob("*.part"):  # a segment cut short by the kill
            stray.unlink(missing_ok=True)
        return list(self.done)

    def next_path(self) -> Path:
        return self.folder / f"segment_{len(self.done):05d}.mp4"

    def add(self, path: Path, frames: int, faces: int, end_s: float) -> None:
        self.done.append({"file": path.name, "frames": frames, "faces": faces, "end_s": end_s})
        partial = self.file.with_suffix(".json.part")
        partial.write_text(json.dumps({"fingerprint": self.fingerprint, "segments": self.done}, indent=1))
        partial.replace(self.file)

    def segments(self) -> list[Path]:
        return [self.folder / s["file"] for s in self.done]

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
