"""The benchmark's video part: how steady tracked faces are against per-frame detection, frames per
second at 480p and 720p against the whole-clip-in-RAM + PNG round-trip way (CodeFormer's script), and
peak memory against the clip's length.

Steadiness is measured on a clip made from a still photo moved along a known smooth path
(:class:`~gfpgan_core.video.synthetic.Motion`), each frame degraded afresh (noise, JPEG). Since the
path is known, the landmarks each frame should have are known: the landmarks used are compared with
them, the clean frame is aligned with them (a perfect alignment gives the same crop every frame), and
the restored frame is moved back along the path (a steady restoration gives the same face every
frame).
"""

from __future__ import annotations

import itertools
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..faces.alignment import align_face
from ..images import load_picture, to_uint8
from ..options import RestoreOptions
from ..pipeline import Restorer
from ..video import FaceTracker, VideoOptions, VideoRestorer
from ..video.streams import FrameReader
from ..video.synthetic import Motion, moving_frames, scene, write_clip

log = logging.getLogger(__name__)
RATE = 25
SIZES = {"480p": (854, 480), "720p": (1280, 720)}
FRAME_OPTIONS = RestoreOptions(upscale=1.0, upsample_background=False)


def still(photo: Path, size: tuple[int, int]) -> np.ndarray:
    return scene(to_uint8(load_picture(photo).rgb), size)


def degraded(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A frame as a poor camera gives it, afresh each frame: a fixed blur, new sensor noise (8 levels),
    new JPEG blocks (quality 40)."""
    blurred = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), 1.2)
    noisy = np.clip(blurred + rng.normal(0, 8, rgb.shape), 0, 255).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 40])
    assert ok
    return np.asarray(cv2.imdecode(data, cv2.IMREAD_UNCHANGED))


# ---------------------------------------------------------------------------------------------- steadiness
def jitter_table(restorer: Restorer, photo: Path, seconds: float = 4.0, motion: Motion | None = None) -> list[dict]:
    """Tracked against per-frame detection on the same degraded frames (see the module's docstring)."""
    motion = motion or Motion()
    base = still(photo, SIZES["480p"])
    h, w = base.shape[:2]
    truth = restorer.plan(base, FRAME_OPTIONS).faces
    if not truth:
        raise RuntimeError(f"no face found in {photo.name} for the steadiness measure")
    face0 = max(truth, key=lambda d: d.score)
    x1, y1 = (max(0, round(v)) for v in face0.box[:2])
    x2, y2 = min(w, round(face0.box[2])), min(h, round(face0.box[3]))
    times = [k / RATE for k in range(round(seconds * RATE))]
    rng = np.random.default_rng(0)
    clean = list(moving_frames(base, times, motion))
    inputs = [degraded(f, rng) for f in clean]
    rows = []
    for label, track in (("per-frame detection", False), ("tracked and smoothed", True)):
        video = VideoRestorer(restorer, FRAME_OPTIONS, VideoOptions(track=track))
        tracker = FaceTracker(video.video.tracker) if track else None
        errors: list[np.ndarray | None] = []
        crops: list[np.ndarray] = []
        faces: list[np.ndarray] = []
        seen = 0
        for t, frame, clean_frame in zip(times, inputs, clean, strict=True):
            m = motion.matrix(t, (w, h))
            expected = face0.landmarks @ m[:, :2].T + m[:, 2]
            result = video.restore_frame(frame, t, tracker)
            if not result.faces:
                errors.append(None)
                continue
            seen += 1
            found = min(result.faces, key=lambda f: float(np.abs(f.landmarks - expected).mean()))
            errors.append(found.landmarks - expected)
            crops.append(align_face(clean_frame.astype(np.float32) / 255, found.landmarks, size=256)[0] * 255)
            back = cv2.warpAffine(to_uint8(result.picture.rgb), cv2.invertAffineTransform(m), (w, h))
            faces.append(back[y1:y2, x1:x2].astype(np.float32))
        rows.append({"way": label, "frames": len(times), "frames_with_face": seen, **_steadiness(errors, crops, faces)})
        log.info(f"  {label}: {rows[-1]}")
    back_inputs = [
        cv2.warpAffine(f, cv2.invertAffineTransform(motion.matrix(t, (w, h))), (w, h))[y1:y2, x1:x2].astype(np.float32)
        for t, f in zip(times, inputs, strict=True)
    ]
    rows.append({"way": "the degraded input itself", "face_change": _mean_step(back_inputs)})
    return rows


def _steadiness(errors: list[np.ndarray | None], crops: list[np.ndarray], faces: list[np.ndarray]) -> dict[str, float]:
    found = [e for e in errors if e is not None]
    steps = [b - a for a, b in itertools.pairwise(errors) if a is not None and b is not None]
    return {
        # how far the landmarks used are from where the path puts them (px, mean over points and frames)
        "landmark_error_px": float(np.mean([np.linalg.norm(e, axis=1).mean() for e in found])),
        # how much that error changes from frame to frame (px, root mean square): the jitter itself
        "landmark_jitter_px": float(np.sqrt(np.mean([np.sum(s**2, axis=1).mean() for s in steps]))),
        # the clean frame aligned with those landmarks: mean change between frames (8-bit levels)
        "crop_change": _mean_step(crops),
        # the restored face moved back along the path: mean change between frames (8-bit levels)
        "face_change": _mean_step(faces),
    }


def _mean_step(images: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(b - a).mean() for a, b in itertools.pairwise(images)]))


# ---------------------------------------------------------------------------------------------- speed
def make_clip(path: Path, photo: Path, size: tuple[int, int], seconds: float) -> Path:
    """``seconds`` of the photo's face moving along the default path, 25 frames/s, with sound."""
    base = still(photo, size)
    return write_clip(path, moving_frames(base, [k / RATE for k in range(round(seconds * RATE))]), RATE)


def restore_whole_clip(restorer: Restorer, options: RestoreOptions, clip: Path, output: Path) -> int:
    """The way CodeFormer's script restores a video: every frame decoded into a list, each restored
    and written as a PNG, the PNGs read back into a list and encoded (here with PyAV, not an ffmpeg
    binary; without the sound). Returns the frames restored."""
    frames = [f.rgb for f in FrameReader(clip)]
    with tempfile.TemporaryDirectory(prefix="gfpgan-frames-") as tmp:
        for i, rgb in enumerate(frames):
            out = to_uint8(restorer.restore(rgb, options).picture.rgb)
            cv2.imwrite(os.path.join(tmp, f"{i:08d}.png"), cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
        names = sorted(Path(tmp).glob("*.png"))
        restored = [cv2.cvtColor(np.asarray(cv2.imread(str(p))), cv2.COLOR_BGR2RGB) for p in names]
        write_clip(output, restored, RATE, audio=None)
    return len(restored)


def fps_table(
    ways: dict[str, tuple[Restorer, RestoreOptions]], photo: Path, seconds: float, folder: Path
) -> list[dict[str, Any]]:
    """Frames per second, decode to encoded file, at 480p and 720p with one face: this project's
    streaming way (default runtime, tracked) against the whole-clip way (the reference restorer)."""
    rows = []
    for name, size in SIZES.items():
        clip = make_clip(folder / f"{name}.mp4", photo, size, seconds)
        fps = {}
        for way, (restorer, options) in ways.items():
            opts = replace(options, upscale=1.0, upsample_background=False)
            output = folder / f"{name}-{way.replace(' ', '_')}.mp4"
            started = time.perf_counter()
            if way == "reference way":
                frames = restore_whole_clip(restorer, opts, clip, output)
            else:
                frames = VideoRestorer(restorer, opts).restore(clip, output).frames
            elapsed = time.perf_counter() - started
            fps[way] = frames / elapsed
            rows.append({"size": name, "way": way, "frames": frames, "seconds": elapsed, "fps": fps[way]})
            log.info(f"  {name} {way}: {fps[way]:.2f} frames/s")
        rows[-1]["speedup_over_reference"] = fps["default"] / fps["reference way"]
    return rows


# ---------------------------------------------------------------------------------------------- memory
_MEMORY_RUN = """
import sys, time
from pathlib import Path
from gfpgan_core import Restorer
from gfpgan_core.cli.benchmark import peak_rss_mb
from gfpgan_core.cli.benchmark_video import FRAME_OPTIONS, restore_whole_clip
from gfpgan_core.video import VideoRestorer
way, model, folder, clip, output = sys.argv[1:]
r = Restorer.from_pretrained(model, weights_dir=folder, download=False)
started = time.perf_counter()
if way == "whole clip":
    frames = restore_whole_clip(r, FRAME_OPTIONS, Path(clip), Path(output))
else:
    frames = VideoRestorer(r, FRAME_OPTIONS).restore(clip, output).frames
print(frames, time.perf_counter() - started, peak_rss_mb())
"""


def memory_table(photo: Path, lengths: dict[str, list[float]], folder: Path) -> list[dict[str, Any]]:
    """Peak memory (a fresh process each) of each way at each clip length (seconds of 480p), with the
    demo-sized face model (memory is the question, not speed: the model is loaded once whatever the
    length; with v1.4 itself a 5-minute clip takes hours on a CPU)."""
    from ..archs import GFPGANConfig
    from ..checkpoint import write_random_checkpoint
    from .demo import SIZES as DEMO_SIZES

    model = write_random_checkpoint(folder / "demo.pth", GFPGANConfig(**DEMO_SIZES[64]))
    clips: dict[float, Path] = {}
    rows: list[dict[str, Any]] = []
    for way, seconds_list in lengths.items():
        for seconds in seconds_list:
            if seconds not in clips:
                log.info(f"  making a {seconds:g} s 480p clip ...")
                clips[seconds] = make_clip(folder / f"long-{seconds:g}.mp4", photo, SIZES["480p"], seconds)
            output = folder / f"out-{way.replace(' ', '_')}-{seconds:g}.mp4"
            proc = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    _MEMORY_RUN,
                    way,
                    str(model),
                    str(folder / "weights"),
                    str(clips[seconds]),
                    str(output),
                ],
                capture_output=True,
                text=True,
                env={**os.environ, "HF_HUB_OFFLINE": "1"},
            )
            if proc.returncode != 0:
                rows.append(
                    {"way": way, "clip_s": seconds, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
                )
                continue
            frames, elapsed, peak = proc.stdout.strip().splitlines()[-1].split()
            rows.append(
                {
                    "way": way,
                    "clip_s": seconds,
                    "frames": int(frames),
                    "run_s": float(elapsed),
                    "peak_rss_mb": float(peak),
                }
            )
            log.info(f"  {way}, {seconds:g} s: {float(peak):.0f} MB at peak, {float(elapsed):.0f} s")
            output.unlink(missing_ok=True)
    return rows


def video_report(
    ways: dict[str, tuple[Restorer, RestoreOptions]],
    photo: Path,
    seconds: float,
    long_seconds: float,
    skip: tuple[str, ...] | list[str] = (),
) -> dict[str, Any]:
    """The whole video part: steadiness, speed, memory (each left out when named in ``skip``)."""
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="gfpgan-video-benchmark-") as tmp:
        folder = Path(tmp)
        if "video-steadiness" not in skip:
            log.info("video: steadiness, tracked against per-frame ...")
            report["jitter"] = jitter_table(ways["default"][0], photo, 2 * seconds)
        if "video-fps" not in skip:
            log.info("video: frames per second ...")
            report["fps"] = fps_table(ways, photo, seconds, folder)
        if "video-memory" not in skip:
            log.info("video: peak memory against clip length ...")
            short = min(10.0, long_seconds / 3)
            lengths = {"streaming": [short, long_seconds], "whole clip": [short, min(60.0, long_seconds)]}
            report["memory"] = memory_table(photo, lengths, folder)
    return report
