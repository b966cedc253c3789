"""A clip's streams through PyAV (FFmpeg inside its wheel: no system binary): what a clip holds, its
frames as RGB in display orientation, segments of restored frames encoded with the clip's own
timestamps, and the segments joined with the clip's sound into one file.

Colour: frames are converted with the clip's own matrix and range (limited-range BT.601 or BT.709
stay what they were), and the output is tagged the same; a grey card keeps its value.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ImageError, OptionsError

log = logging.getLogger(__name__)

# audio codecs each container family takes as they are; others are re-encoded (PCM into MP4: AAC)
STREAM_COPY_AUDIO = {
    "mp4": {"aac", "mp3", "alac", "opus", "ac3", "eac3", "flac"},
    "mov": {"aac", "mp3", "alac", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_f32le", "ac3"},
    "matroska": None,  # None: any
}
AUDIO_FALLBACK = {"mp4": "aac", "mov": "aac", "matroska": "aac"}
NAMED_LAYOUTS = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}  # others are mixed down to stereo
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
# FFmpeg's demuxers of single pictures (image2 is its reader of JPEG, PNG, BMP, TIFF files by name)
STILL_FORMATS = {"image2", "png_pipe", "jpeg_pipe", "webp_pipe", "bmp_pipe", "tiff_pipe", "jpegxl_pipe"}
VIDEO_CODEC = "libx264"  # H.264: what every player plays; PyAV's wheels carry the encoder


@dataclass(frozen=True)
class ClipInfo:
    """What a clip holds, as its container says (``frames`` may be an estimate: 0 when unknown)."""

    width: int  # coded size (before rotation)
    height: int
    rate: Fraction  # average frame rate
    duration_s: float
    frames: int
    rotation: int  # degrees counter-clockwise, as FFmpeg's display matrix says
    codec: str
    audio: list[str] = field(default_factory=list)  # codec name of each audio stream
    others: list[str] = field(default_factory=list)  # subtitle, data, ... streams: "subtitle (subrip)"

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as a player shows the clip."""
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)

    def describe(self) -> str:
        w, h = self.display_size
        sound = f", sound: {', '.join(self.audio)}" if self.audio else ", no sound"
        return f"{w}x{h}, {float(self.rate):.3g} fps, {self.duration_s:.1f} s, {self.codec}{sound}"


def open_clip(path: str | Path):  # -> av.container.InputContainer
    """The clip opened for reading; anything FFmpeg cannot read is an :class:`ImageError` of one line."""
    import av

    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise ImageError(f"{Path(path).name} is not a video FFmpeg can read ({_reason(exc)}).") from None
    if not container.streams.video:
        container.close()
        raise ImageError(f"{Path(path).name} has no video stream.")
    if container.format.name in STILL_FORMATS:  # FFmpeg reads a photo as a one-frame "video"
        container.close()
        raise ImageError(f"{Path(path).name} is a still image, not a video: restore it as a photo.")
    return container


def probe(path: str | Path, max_pixels: int | None = None) -> ClipInfo:
    """The clip's :class:`ClipInfo`, reading the headers and (for the rotation) its first frame; a
    clip whose frames are over ``max_pixels`` is refused from its header, before a frame is decoded
    (a few kilobytes of one-colour 8K frames decode to 50 MB each)."""
    import av

    with open_clip(path) as container:
        video = container.streams.video[0]
        ctx = video.codec_context
        if max_pixels is not None and ctx.width * ctx.height > max_pixels:
            raise ImageError(
                f"{Path(path).name} is {ctx.width}x{ctx.height}; this server restores videos up to "
                f"{max_pixels / 1e6:.1f} MP a frame."
            )
        rate = video.average_rate or video.guessed_rate or Fraction(25)
        duration = _duration_s(container, video)
        frames = video.frames or round(duration * float(rate))
        rotation = 0
        try:
            for frame in container.decode(video=0):
                rotation = int(frame.rotation or 0)
                break
        except av.FFmpegError as exc:
            raise ImageError(f"{Path(path).name}: its first frame cannot be decoded ({_reason(exc)}).") from None
        audio = [s.codec_context.name for s in container.streams.audio]
        others = [
            f"{s.type} ({s.codec_context.name if s.codec_context else 'data'})"
            for s in container.streams
            if s.type not in ("video", "audio")
        ]
        return ClipInfo(ctx.width, ctx.height, Fraction(rate), duration, frames, rotation, ctx.name, audio, others)


def _duration_s(container, video) -> float:
    if video.duration is not None and video.time_base:
        return float(video.duration * video.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", None) or exc).strip().rstrip(".")
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass
class DecodedFrame:
    """One frame: RGB uint8 in display orientation, its timestamp in the stream's time base, and
    its colour as coded (the output is tagged the same)."""

    index: int
    pts: int
    time_s: float
    rgb: np.ndarray


@dataclass(frozen=True)
class FrameFormat:
    """How the clip's frames are coded: time base, colour and orientation; the encoder follows it."""

    time_base: Fraction
    rate: Fraction
    colorspace: int
    color_range: int
    color_primaries: int
    color_trc: int
    rotation: int


def frame_format(path: str | Path) -> FrameFormat:
    """The clip's :class:`FrameFormat`, from its first frame."""
    with open_clip(path) as container:
        video = container.streams.video[0]
        for frame in container.decode(video=0):
            return FrameFormat(
                video.time_base,
                Fraction(video.average_rate or video.guessed_rate or 25),
                int(frame.colorspace),
                int(frame.color_range),
                int(frame.color_primaries),
                int(frame.color_trc),
                int(frame.rotation or 0),
            )
    raise ImageError(f"{Path(path).name} holds no frame that decodes.")


class FrameReader:
    """The clip's frames from ``start_s`` on, one at a time (never the whole clip); a stream that
    breaks part way ends the frames there and says so in :attr:`broken`."""

    def __init__(self, path: str | Path, start_s: float = 0.0) -> None:
        self.path = Path(path)
        self.start_s = start_s
        self.broken = ""  # why the frames ended before the clip did

    def __iter__(self) -> Iterator[DecodedFrame]:
        import av

        with open_clip(self.path) as container:
            video = container.streams.video[0]
            video.thread_type = "AUTO"
            base = video.time_base
            first = video.start_time or 0
            if self.start_s > 0:
                container.seek(int(self.start_s / base) + first, stream=video, backward=True)
            index = -1
            frames = container.decode(video=0)
            while True:
                try:
                    frame = next(frames)
                except StopIteration:
                    return
                except av.FFmpegError as exc:
                    self.broken = f"the video stream breaks off after {index + 1} frames ({_reason(exc)})"
                    return
                if frame.pts is None:
                    continue
                time_s = float((frame.pts - first) * base)
                if time_s < self.start_s - 1e-6:
                    continue
                index += 1
                yield DecodedFrame(index, frame.pts, time_s, to_rgb(frame))


def to_rgb(frame) -> np.ndarray:
    """(H, W, 3) uint8 RGB in display orientation, converted with the frame's own matrix and range."""
    from av.video.reformatter import ColorRange

    rgb = frame.to_ndarray(
        format="rgb24", src_color_range=frame.color_range or ColorRange.MPEG, dst_color_range=ColorRange.JPEG
    )
    return np.ascontiguousarray(np.rot90(rgb, k=_quarter_turns(frame.rotation)))


def _quarter_turns(rotation: float | None) -> int:
    """np.rot90's k for FFmpeg's counter-clockwise display rotation (multiples of 90 degrees)."""
    degrees = round((rotation or 0) / 90.0) * 90
    return (degrees // 90) % 4


def even_size(width: int, height: int) -> tuple[int, int]:
    """The size H.264 in 4:2:0 can code: each side rounded down to even (a 1-pixel crop)."""
    return width - width % 2, height - height % 2


class SegmentWriter:
    """Restored frames encoded into one segment file with the clip's own timestamps and colour; the
    file is written as ``NAME.part`` and renamed when closed, so a segment on disk is a whole one."""

    def __init__(self, path: Path, size: tuple[int, int], fmt: FrameFormat, crf: int = 18) -> None:
        import av

        self.path = path
        self.partial = path.with_name(path.name + ".part")
        self.fmt = fmt
        self.turns = _quarter_turns(fmt.rotation)
        coded = size if self.turns % 2 == 0 else (size[1], size[0])
        self.width, self.height = even_size(*coded)
        self.container = av.open(str(self.partial), mode="w", format="mp4")
        stream: Any = self.container.add_stream(VIDEO_CODEC, rate=fmt.rate)  # PyAV's stubs: a union of kinds
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.time_base = fmt.time_base
        stream.codec_context.time_base = fmt.time_base
        stream.options = {"crf": str(crf), "preset": "medium"}
        cc = stream.codec_context
        cc.colorspace, cc.color_range = fmt.colorspace, fmt.color_range
        cc.color_primaries, cc.color_trc = fmt.color_primaries, fmt.color_trc
        self.stream = stream
        self.frames = 0

    def write(self, rgb: np.ndarray, pts: int) -> None:
        """One frame (display orientation, RGB uint8) at ``pts`` in the clip's time base."""
        import av
        from av.video.reformatter import ColorRange

        coded = np.rot90(rgb, k=-self.turns) if self.turns else rgb
        coded = np.ascontiguousarray(coded[: self.height, : self.width])
        frame = av.VideoFrame.from_ndarray(coded, format="rgb24")
        out_range = self.fmt.color_range or ColorRange.MPEG
        frame = frame.reformat(
            format="yuv420p",
            src_color_range=ColorRange.JPEG,
            dst_colorspace=self.fmt.colorspace or None,
            dst_color_range=out_range,
        )
        frame.color_range = out_range
        frame.pts, frame.time_base = pts, self.fmt.time_base
        for packet in self.stream.encode(frame):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()
        self.partial.replace(self.path)

    def abandon(self) -> None:
        """A segment cut short (Ctrl-C, an error): nothing of it stays."""
        with contextlib.suppress(Exception):
            self.container.close()
        self.partial.unlink(missing_ok=True)


def join_segments(
    segments: list[Path],
    clip: Path,
    output: Path,
    start_s: float,
    end_s: float,
    notes: list[str],
) -> None:
    """The segments' video, in order, with the clip's sound from ``start_s`` to ``end_s`` (copied where
    ``output``'s container takes its codec, else re-encoded), into ``output`` (written as a hidden
    temporary file beside it and renamed: the name appears only when the file is whole)."""
    import av

    family = CONTAINERS.get(output.suffix.lower())
    if family is None:
        raise OptionsError(f"The output must end in one of {', '.join(sorted(CONTAINERS))}, not {output.name!r}.")
    temporary = output.with_name(f".{output.name}.part{output.suffix}")
    rotation = frame_format(clip).rotation
    try:
        with av.open(str(temporary), mode="w", format=family) as out, open_clip(clip) as source:
            with av.open(str(segments[0])) as first:
                template = first.streams.video[0]
                video_out = out.add_stream_from_template(template)
            if rotation:
                video_out.set_display_rotation(rotation)
            audio_jobs = _audio_streams(out, source, family, notes)
            others = [s for s in source.streams if s.type not in ("video", "audio")]
            if others:
                kinds = ", ".join(sorted({s.type for s in others}))
                notes.append(f"The clip's {kinds} stream(s) were not kept (only video and sound are).")
            streams = [
                _video_packets(segments, video_out),
                *(_audio_packets(clip, job, start_s, end_s) for job in audio_jobs),
            ]
            for _time, _order, packet in heapq.merge(*streams, key=lambda item: (item[0], item[1])):
                out.mux(packet)  # interleaved by time, as players read it
        temporary.replace(output)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@dataclass
class _AudioJob:
    index: int  # the sound's stream index in the clip
    target: object  # av.AudioStream in the output
    copy: bool
    resampler: object | None = None


def _audio_streams(out, source, family: str, notes: list[str]) -> list[_AudioJob]:
    import av

    jobs = []
    for stream in source.streams.audio:
        name = stream.codec_context.name
        allowed = STREAM_COPY_AUDIO[family]
        if allowed is None or name in allowed:
            jobs.append(_AudioJob(stream.index, out.add_stream_from_template(stream), copy=True))
            continue
        codec = AUDIO_FALLBACK[family]
        target = out.add_stream(codec, rate=stream.codec_context.sample_rate)
        layout = NAMED_LAYOUTS.get(stream.codec_context.channels, "stereo")  # AAC refuses "1 channels"
        target.layout = layout
        target.bit_rate = 192_000
        notes.append(f"The sound ({name}) cannot go into {family.upper()} as it is; it was re-encoded to {codec}.")
        resampler = av.AudioResampler(format=target.codec_context.format or "fltp", layout=layout, rate=target.rate)
        jobs.append(_AudioJob(stream.index, target, copy=False, resampler=resampler))
    return jobs


def _video_packets(segments: list[Path], target) -> Iterator[tuple[float, int, Any]]:
    """(time, 0, packet) of each segment's video in turn, bound for ``target``."""
    import av

    for path in segments:
        with av.open(str(path)) as segment:
            stream = segment.streams.video[0]
            for packet in segment.demux(stream):
                if packet.dts is None and packet.pts is None:
                    continue
                when = float((packet.dts if packet.dts is not None else packet.pts or 0) * (stream.time_base or 0))
                packet.stream = target
                yield when, 0, packet


def _audio_packets(clip: Path, job: _AudioJob, start_s: float, end_s: float) -> Iterator[tuple[float, int, Any]]:
    """(time, 1, packet) of the sound from ``start_s`` to ``end_s``, its timestamps moved so that it
    starts with the video: packets as they are for a copy, frames re-encoded otherwise. Each sound
    stream reads the clip by itself (one demuxer hands out every stream's packets in file order)."""
    with open_clip(clip) as source:
        yield from _sound(source, source.streams[job.index], job, start_s, end_s)


def _sound(source, stream, job: _AudioJob, start_s: float, end_s: float) -> Iterator[tuple[float, int, Any]]:
    base = stream.time_base
    first = stream.start_time or 0
    shift = round(start_s / base) if start_s > 0 else 0
    for packet in source.demux(stream):
        if packet.pts is None:
            continue
        t = float((packet.pts - first) * base)
        if job.copy:
            if start_s - 1e-6 <= t < end_s - 1e-6:
                packet.pts -= shift
                if packet.dts is not None:
                    packet.dts -= shift
                packet.stream = job.target
                yield t - start_s, 1, packet
            continue
        for frame in packet.decode():
            t = float((frame.pts - first) * base) if frame.pts is not None else t
            if not start_s - 1e-6 <= t < end_s - 1e-6:
                continue
            frame.pts = None  # the encoder counts samples from the start
            for resampled in job.resampler.resample(frame):  # type: ignore[attr-defined]
                yield from _encoded(job.target, resampled)
    if not job.copy:
        yield from _encoded(job.target, None)


def _encoded(target, frame) -> Iterator[tuple[float, int, Any]]:
    for packet in target.encode(frame):
        when = float(packet.pts * packet.time_base) if packet.pts is not None else 0.0
        yield when, 1, packet


def seconds_at(frames: int, rate: Fraction) -> float:
    return frames / float(rate) if rate else math.inf
