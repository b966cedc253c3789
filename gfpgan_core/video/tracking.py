"""Faces followed from frame to frame, so that a video's faces are steady: detections are joined
into tracks by overlap, each track's landmarks are smoothed over time (a One-Euro filter: steady
when the face is still, quick when it moves), a face missed for a frame or two is still restored
from its track, and a scene cut starts every track afresh.

Per-frame detection jitters by a pixel or two even on a still face; the aligned crop moves with it
and the restored face flickers at its edges (GFPGAN #465). The benchmark command's video part
measures the difference on a face moved along a known path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from ..faces.detection import Detection


@dataclass(frozen=True)
class TrackerSettings:
    """How faces are followed. ``min_cutoff`` (Hz) and ``beta`` are the One-Euro filter's: the
    cut-off frequency of a still face, and how fast it rises with the face's speed (in face sizes
    per second). A cut is a frame whose mean grey-level change from the last is over ``scene_cut``."""

    max_gap: int = 2  # frames a track is kept (and restored) without a detection
    min_overlap: float = 0.3  # intersection over union for a detection to join a track
    # measured on the benchmark's moving faces (65 and 110 px, up to 1.2 face sizes/s): beta 2 halved
    # the jitter but lagged 1 px behind a moving face; 5 keeps most of the gain (1.69 -> 0.92 px) and
    # lags 0.2-0.3 px; 20 lags nothing and keeps a third of it
    min_cutoff: float = 1.0
    beta: float = 5.0
    d_cutoff: float = 1.0
    scene_cut: float = 0.25


class OneEuroFilter:
    """Casiez et al.'s One-Euro filter on an array: a low-pass whose cut-off rises with speed."""

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.value: np.ndarray | None = None
        self.speed: np.ndarray | None = None
        self.time = 0.0

    @staticmethod
    def _alpha(dt: float, cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def __call__(self, x: np.ndarray, time_s: float) -> np.ndarray:
        if self.value is None or self.speed is None:
            self.value, self.speed, self.time = x.astype(np.float64), np.zeros_like(x, np.float64), time_s
            return self.value.copy()
        dt = max(time_s - self.time, 1e-4)
        speed = (x - self.value) / dt
        self.speed = self.speed + self._alpha(dt, self.d_cutoff) * (speed - self.speed)
        cutoff = self.min_cutoff + self.beta * np.abs(self.speed)
        self.value = self.value + self._alpha(dt, cutoff) * (x - self.value)
        self.time = time_s
        return self.value.copy()


@dataclass
class Track:
    """One face across frames: its last detection, its filter (on landmarks and box, in units of
    the face's size when first seen) and how many frames it has gone unseen."""

    face: Detection
    scale: float
    smoother: OneEuroFilter
    missed: int = 0
    id: int = 0

    def smoothed(self, face: Detection, time_s: float) -> Detection:
        points = np.concatenate([face.landmarks.reshape(-1), face.box.reshape(-1)]) / self.scale
        steady = self.smoother(points, time_s) * self.scale
        self.face = Detection(
            steady[10:14].astype(np.float32), steady[:10].reshape(5, 2).astype(np.float32), face.score
        )
        self.missed = 0
        return self.face


@dataclass
class FaceTracker:
    """Detections in, steady faces out, frame by frame (:meth:`update`)."""

    settings: TrackerSettings = field(default_factory=TrackerSettings)
    tracks: list[Track] = field(default_factory=list)
    _last_thumb: np.ndarray | None = None
    _next_id: int = 0
    cuts: int = 0

    def reset(self) -> None:
        self.tracks = []

    def is_cut(self, rgb: np.ndarray) -> bool:
        """Whether ``rgb`` starts a new scene (compared with the last frame given)."""
        thumb = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (64, 36), interpolation=cv2.INTER_AREA)
        thumb = thumb.astype(np.float32) / 255
        last, self._last_thumb = self._last_thumb, thumb
        return last is not None and float(np.abs(thumb - last).mean()) > self.settings.scene_cut

    def update(self, detections: list[Detection], time_s: float, frame: np.ndarray | None = None) -> list[Detection]:
        """The faces to restore in this frame: each detection smoothed along its track, and tracks
        missed for up to ``max_gap`` frames at their last place. ``frame`` (RGB) lets a cut reset them."""
        if frame is not None and self.is_cut(frame):
            self.cuts += 1
            self.reset()
        s = self.settings
        pairs = sorted(
            ((overlap(t.face.box, d.box), i, j) for i, t in enumerate(self.tracks) for j, d in enumerate(detections)),
            reverse=True,
        )
        matched_tracks: set[int] = set()
        matched: dict[int, int] = {}
        for score, i, j in pairs:
            if score < s.min_overlap:
                break
            if i in matched_tracks or j in matched:
                continue
            matched_tracks.add(i)
            matched[j] = i
        out: list[Detection] = []
        kept: list[Track] = []
        for i, track in enumerate(self.tracks):
            if i in matched_tracks:
                continue
            track.missed += 1
            if track.missed <= s.max_gap:  # a face missed for a frame or two: still restored where it was
                kept.append(track)
                out.append(track.face)
        for j, face in enumerate(detections):
            if j in matched:
                track = self.tracks[matched[j]]
            else:
                self._next_id += 1
                smoother = OneEuroFilter(s.min_cutoff, s.beta, s.d_cutoff)
                track = Track(face, max(face.size, 1.0), smoother, id=self._next_id)
            out.append(track.smoothed(face, time_s))
            kept.append(track)
        self.tracks = kept
        return sorted(out, key=lambda f: float(f.box[0]))


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0
