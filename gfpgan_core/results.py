"""What the pipeline hands back: a restoration's result (the image and its faces) and a plan of what a
restoration will do. Plain records, computed by :class:`~gfpgan_core.pipeline.Restorer`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import plural
from .expressions import Expression
from .faces.detection import Detection
from .images import Picture, output_size


@dataclass(frozen=True)
class FaceCount:
    """How many faces, in the one vocabulary the page, the API and the command line use before a run
    and after it: found by the detector (at the threshold), of which big enough to restore
    (``min_face_size``), of which restored (all, or the largest up to ``max_faces``, or the one nearest
    the centre); the rest are left as they were. A crowd photo once read "40 faces found" before the
    run, "66 faces found" after it and "167 smaller than 16 px were left" in a note: three counts of
    233 detections."""

    found: int
    big_enough: int
    restored: int
    min_face_size: float = 0.0
    chosen: str = ""  # which of the big enough faces were restored, when not all: "the 40 largest"

    @property
    def left(self) -> int:
        return self.found - self.restored

    def sentence(self, planned: bool = False) -> str:
        """'3 faces found, all restored'; '233 faces found, 66 big enough (16 px or more): the 40 largest
        restored, 193 left as they were'. ``planned``: as said before the run ('to restore')."""
        if not self.found:
            return "No face found"
        done = "to restore" if planned else "restored"
        as_they_were = (
            ("as they are" if planned else "as they were")
            if self.left > 1
            else ("as it is" if planned else "as it was")
        )
        found = f"{plural(self.found, 'face')} found"
        if not self.left:
            return f"{found}, all {done}" if self.found > 1 else f"{found}{' and' if not planned else ','} {done}"
        if not self.big_enough:
            what = "all too small" if self.found > 1 else "too small"
            return f"{found}, {what} to restore (under {self.min_face_size:g} px): left {as_they_were}"
        size = f"{self.min_face_size:g} px or more"
        big = f", {self.big_enough} big enough ({size})" if self.big_enough < self.found else ""
        which = self.chosen if self.chosen and self.restored < self.big_enough else str(self.restored)
        return f"{found}{big}: {which} {done}, {self.left} left {as_they_were}"


@dataclass(frozen=True)
class RestoredFace:
    """One face: where it was found (input coordinates) and its crops (uint8 RGB, model size)."""

    box: np.ndarray
    landmarks: np.ndarray
    score: float
    input_crop: np.ndarray
    restored_crop: np.ndarray
    expression_before: Expression | None = None  # with ``RestoreOptions(expressions=True)``
    expression_after: Expression | None = None


@dataclass
class RestorationResult:
    """What :meth:`Restorer.restore` returns: the image, its faces left to right, and how it went."""

    picture: Picture
    faces: list[RestoredFace]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    upscale: float = 1.0
    count: FaceCount | None = None  # None: as many found as restored

    @property
    def face_count(self) -> FaceCount:
        """The faces found, big enough, restored and left (see :class:`FaceCount`)."""
        n = len(self.faces)
        return self.count or FaceCount(n, n, n)

    @property
    def faces_found(self) -> int:
        """Faces big enough to restore, before ``max_faces`` kept the largest."""
        return self.face_count.big_enough

    @property
    def image(self) -> np.ndarray:
        """The restored image as uint8/uint16 (gray, gray+alpha, RGB or RGBA as the input was)."""
        return self.picture.to_array()


@dataclass(frozen=True)
class RestorePlan:
    """What :meth:`Restorer.restore` will do with an image and options, decided before any face is
    restored: the working picture, the upscale, and the faces it will restore (after the size limits,
    the fallback threshold, only-centre-face and ``max_faces``). The page's estimate reads it, so the
    estimate and the run cannot disagree."""

    picture: Picture  # at the working size (downscaled to ``max_input_pixels``)
    scale: float  # the upscale applied (lowered to keep ``max_output_pixels``)
    faces: list[Detection]  # to restore, left to right; empty for an aligned input (the picture is the face)
    count: FaceCount  # found, big enough, to restore
    aligned: bool
    notes: list[str]

    @property
    def faces_found(self) -> int:
        """Faces big enough to restore, before ``max_faces`` kept the largest."""
        return self.count.big_enough

    @property
    def faces_to_restore(self) -> int:
        return 1 if self.aligned else len(self.faces)

    @property
    def output_size(self) -> tuple[int, int]:
        return output_size(self.picture.size, self.scale)
