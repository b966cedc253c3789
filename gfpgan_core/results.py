"""What the pipeline hands back: a restoration's result (the image and its faces) and a plan of what a
restoration will do. Plain records, computed by :class:`~gfpgan_core.pipeline.Restorer`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .expressions import Expression
from .faces.detection import Detection
from .images import Picture, output_size


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
    faces_found: int = 0  # faces large enough to restore, before ``max_faces`` kept the largest

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
    faces_found: int  # faces large enough to restore, before ``max_faces`` kept the largest
    aligned: bool
    notes: list[str]

    @property
    def faces_to_restore(self) -> int:
        return 1 if self.aligned else len(self.faces)

    @property
    def output_size(self) -> tuple[int, int]:
        return output_size(self.picture.size, self.scale)
