"""The work behind ``/restore_video``, without Gradio: a short clip restored frame by frame within this
server's caps (its length, frame size and frames, and the run's time), and what the page says of a
clip as it arrives. Every failure a visitor can cause is one line (a GFPGANError).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno
import logging
import math
import shutil
from pathlib import Path

from ..errors import GFPGANError, ImageError, as_sentence, plural
from ..options import RestoreOptions
from ..video import ClipInfo, FrameReader, VideoOptions, VideoRestorer, probe
from .jobs import Context, Job, RequestStopped, one_line_errors, pick_restorer, restore_options
from .outputs import VideoPageResult, could_not_save, download_stem, output_folder
from .settings import ESTIMATE_WAIT_S, Limits
from .text import CANNOT_BE_RESTORED, ESTIMATE_END

log = logging.getLogger(__name__)


def video_options(limits: Limits, steady: bool = True) -> VideoOptions:
    """A clip's options on this server: its caps, and faces tracked (``steady``) or found anew each frame."""
    return VideoOptions(
        max_seconds=limits.max_video_seconds,
        max_frames=limits.max_video_frames,
        max_pixels=limits.max_video_pixels,
        time_limit_s=limits.video_timeout_s,
        track=bool(steady),
    )


def face_options(
    limits: Limits, weight: float | None, only_center_face: bool, threshold: float | None
) -> RestoreOptions:
    """A frame's options: faces only, at the clip's own size (a video is not upscaled here)."""
    return restore_options(limits, 1, weight, only_center_face, False, threshold, False)


def cut_note(info: ClipInfo, limits: Limits) -> str:
    """What the caps leave out of this clip, in a sentence ('' when it is restored whole)."""
    seconds = limits.max_video_seconds
    frames = min(limits.max_video_frames, round(seconds * float(info.rate)) if info.rate else limits.max_video_frames)
    if info.duration_s > seconds + 1e-3:
        return f"This server restores the first {seconds:g} s of a clip; this one is {info.duration_s:.0f} s."
    if info.frames > frames:
        return f"This server restores the first {frames} frames of a clip; this one has {info.frames}."
    return ""


def restore_clip(
    job: Job,
    video_path: str | None,
    model_key: str | None,
    options: RestoreOptions,
    detector: str,
    steady: bool = True,
) -> VideoPageResult:
    """One clip restored into an MP4 (H.264, its sound kept) for the page: played, and downloaded."""
    ctx, limits = job.context, job.context.limits
    if not video_path:
        raise GFPGANError("Please upload a video first.")
    out_dir = output_folder()
    stem = download_stem(video_path)
    output = out_dir / f"{'video' if stem == 'photo' else stem}_restored.mp4"  # nameless uploads: "video"

    def progress(done: int, total: int) -> None:
        job.progress(done / max(total, 1), desc=f"Frame {done} of {total}")

    try:
        with ctx.budget.in_use([video_path]) if ctx.budget else contextlib.nullcontext(), one_line_errors():
            key, restorer = pick_restorer(ctx, model_key, detector)
            clip = VideoRestorer(restorer, options, video_options(limits, steady))
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
                result = clip.restore(video_path, output, progress, stopped=lambda: ctx.stops.stopped(job.token))
            except OSError as exc:  # a full disk (FFmpeg's errors are OSErrors too: one_line_errors says those)
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise could_not_save(exc, out_dir, "the video") from None
                raise
    except GFPGANError as exc:
        shutil.rmtree(out_dir, ignore_errors=True)  # a stopped or failed run leaves nothing behind
        if ctx.stops.stopped(job.token):
            raise RequestStopped(str(exc)) from None
        raise
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise
    ctx.costs.update_video(result.frames, result.faces, result.seconds)
    info = result.clip
    notes = [n for n in [cut_note(info, limits), *result.notes] if n]
    w, h = info.display_size
    summary = (
        f"**{plural(result.frames, 'frame')} ({result.duration_s:.1f} s) restored, "
        f"{plural(result.faces, 'face')} in all** · {job.waited():.1f} s ({result.fps:.2f} frames/s) · "
        f"{restorer.device.type.upper()} · model {key} · {w}×{h} px"
    )
    return VideoPageResult(str(output), str(output), summary + ("\n\n" + " ".join(notes) if notes else ""))


def clip_estimate(
    ctx: Context, video_path: str | None, model_key: str | None, options: RestoreOptions, detector: str
) -> str:
    """What a visitor can expect of a clip before pressing Restore: its length and size, what this
    server's caps leave out, the faces of its first frame and, once this server has measured its speed,
    about how long it takes. A file that is not a video (or over a cap) is said here, as it arrives.
    It reads the container's header and decodes one frame (in the estimates' own worker)."""
    if not video_path:
        return ""
    look = ctx.estimator.submit(_first_look, ctx, video_path, model_key, options, detector)
    try:
        return look.result(timeout=ESTIMATE_WAIT_S)
    except concurrent.futures.TimeoutError:
        look.cancel()  # not started yet: never will be
        return ""


def _first_look(ctx: Context, video_path: str, model_key: str | None, options: RestoreOptions, detector: str) -> str:
    limits = ctx.limits
    try:
        info = probe(video_path, limits.max_video_pixels)
        clip = VideoRestorer(pick_restorer(ctx, model_key, detector)[1], options, video_options(limits))
        clip.check(info)
        first = next(iter(FrameReader(video_path)), None)
        if first is None:
            raise ImageError("The clip holds no frame that decodes.")
        plan = clip.restorer.plan(first.rgb, options)
    except ImageError as exc:
        name = Path(video_path).name
        reason = str(exc).removeprefix(f"{name}: ")
        return f"{CANNOT_BE_RESTORED} {reason if reason.startswith(name) else as_sentence(reason)}"
    except GFPGANError:  # the options or the model: the run says it
        return ""
    except Exception:
        log.exception("the clip's estimate failed")
        return ""
    seconds = min(info.duration_s, limits.max_video_seconds) if info.duration_s else limits.max_video_seconds
    frames = min(round(seconds * float(info.rate)), limits.max_video_frames) if info.rate else limits.max_video_frames
    w, h = info.display_size
    faces = plan.faces_to_restore
    run_s = ctx.costs.estimate_video(frames, faces, w * h)
    when = f" · about {max(1, round(run_s))} s on this server" if run_s is not None and math.isfinite(run_s) else ""
    what = f"**{info.describe()}; {plural(faces, 'face')} in its first frame**"
    note = cut_note(info, limits)
    return f"{what}{when}{ESTIMATE_END}" + (f"\n\n{note}" if note else "")
