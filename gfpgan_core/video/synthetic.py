"""Clips made on the spot from a still photo, for tests and benchmarks: its face moved along a known
smooth path (pan, zoom, a small rotation), a sine-wave sound, in the containers and codecs users send
(MP4 H.264 + AAC, MP4 + PCM, MKV, MOV with a rotation, variable frame rate)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class Motion:
    """The known path: at time t the photo is shifted, scaled and turned about its centre by this."""

    pan_px: float = 24.0  # horizontal swing, each way
    zoom: float = 0.06  # scale swing, each way
    turn_deg: float = 3.0  # rotation swing, each way
    period_s: float = 2.0

    def matrix(self, t: float, size: tuple[int, int]) -> np.ndarray:
        """2x3 affine map from the photo to frame ``t``."""
        w, h = size
        phase = 2 * math.pi * t / self.period_s
        scale = 1.0 + self.zoom * math.sin(phase)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), self.turn_deg * math.sin(0.7 * phase), scale)
        matrix[0, 2] += self.pan_px * math.sin(phase)
        matrix[1, 2] += 0.5 * self.pan_px * math.sin(0.5 * phase)
        return matrix


def scene(photo: np.ndarray, size: tuple[int, int] = (854, 480), face_share: float = 0.8) -> np.ndarray:
    """The photo (RGB uint8) scaled to ``face_share`` of the frame's height, centred on a blurred
    copy of itself filling a ``size`` (width, height) frame."""
    w, h = size
    # blurred past recognition: at sigma 12 a detector still found the backdrop's own face
    backdrop = cv2.GaussianBlur(cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA), (0, 0), h / 8)
    ph, pw = photo.shape[:2]
    scale = face_share * h / ph
    small = cv2.resize(photo, (round(pw * scale), round(ph * scale)), interpolation=cv2.INTER_AREA)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    backdrop[y : y + small.shape[0], x : x + small.shape[1]] = small
    return backdrop


def moving_frames(photo: np.ndarray, times: list[float], motion: Motion = Motion()) -> Iterator[np.ndarray]:
    """The photo (RGB uint8) along ``motion`` at each time."""
    h, w = photo.shape[:2]
    for t in times:
        yield cv2.warpAffine(
            photo, motion.matrix(t, (w, h)), (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )


def write_clip(
    path: Path,
    frames: Iterator[np.ndarray] | list[np.ndarray],
    rate: int = 25,
    *,
    times: list[float] | None = None,
    audio: str | None = "aac",
    codec: str = "libx264",
    rotation: int = 0,
    color_range: str = "MPEG",
    colorspace: str = "ITU709",
    audio_seconds: float | None = None,
    subtitle: bool = False,
) -> Path:
    """Frames (RGB uint8, as a player should show them) into ``path`` (its container from its
    suffix), at ``rate`` or at ``times`` (seconds: variable frame rate), with a 440 Hz sine of
    ``audio``'s codec as long as the video (or ``audio_seconds``), tagged with the colour given; with
    ``rotation`` (degrees counter-clockwise, as a phone films) the frames are coded turned back."""
    import av
    from av.video.reformatter import ColorRange, Colorspace

    coded = (np.rot90(f, k=-(rotation // 90)) if rotation else f for f in frames)  # streamed: long clips
    first = next(coded)
    base = Fraction(1, 90_000) if times else Fraction(1, rate)
    count = 0
    with av.open(str(path), mode="w") as out:
        video: Any = out.add_stream(codec, rate=rate)  # PyAV's stubs give a union of stream kinds
        video.height, video.width = first.shape[:2]
        video.pix_fmt = "yuv420p"
        video.time_base = video.codec_context.time_base = base
        cc = video.codec_context
        cc.color_range = getattr(ColorRange, color_range)
        cc.colorspace = getattr(Colorspace, colorspace)
        if rotation:
            video.set_display_rotation(rotation)
        sound: Any = None
        if audio:
            sound = out.add_stream(audio, rate=48_000)
            sound.layout = "mono"
        if subtitle:
            out.add_stream("subrip")
        for k, rgb in enumerate(itertools.chain([first], coded)):
            count += 1
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame = frame.reformat(
                format="yuv420p",
                src_color_range=ColorRange.JPEG,
                dst_colorspace=getattr(Colorspace, colorspace),
                dst_color_range=getattr(ColorRange, color_range),
            )
            frame.pts = round(times[k] / base) if times else k
            frame.time_base = base
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        if sound is not None:
            _write_sine(out, sound, audio_seconds or (times[-1] + 1 / rate if times else count / rate))
    return path


def _write_sine(out, sound, seconds: float) -> None:
    import av

    rate, chunk = 48_000, 1024
    samples = int(seconds * rate)
    fmt = sound.codec_context.format.name if sound.codec_context.format else "fltp"
    for start in range(0, samples, chunk):
        n = min(chunk, samples - start)
        t = (np.arange(start, start + n) / rate).astype(np.float32)
        wave = (0.3 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)[None, :]
        if fmt.startswith("s16"):
            wave = (wave * 32767).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(wave, format=fmt, layout="mono")
        frame.sample_rate, frame.pts = rate, start
        for packet in sound.encode(frame):
            out.mux(packet)
    for packet in sound.encode(None):
        out.mux(packet)
