"""Paste restored faces back with soft masks: each face touches only its own region.

Overlapping faces are merged in one pass (order-independent): colour is the mask-weighted mean of
the faces, opacity is the union ``1 - prod(1 - mask_i)``. Pixels no mask reaches are left
bit-for-bit as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .faces.alignment import warp_affine


@lru_cache(maxsize=8)
def feathered_box(size: int) -> np.ndarray:
    """Crop-space mask: 1 inside, fading to 0 over the outer ~5% so no crop edge shows.

    Read-only and cached: shared by all requests, never mutated.
    """
    margin = max(1, size // 20)
    box = np.zeros((size, size), np.float32)
    box[margin:-margin, margin:-margin] = 1.0
    sigma = size / 64
    mask: np.ndarray = cv2.GaussianBlur(box, (0, 0), sigmaX=sigma, sigmaY=sigma)
    mask.setflags(write=False)
    return mask


@dataclass(frozen=True)
class FacePatch:
    """A restored crop, its mask in crop space, and the 2x3 matrix mapping canvas -> crop."""

    crop: np.ndarray
    mask: np.ndarray
    matrix: np.ndarray


def _footprint(matrix: np.ndarray, crop_size: int, canvas_hw: tuple[int, int]) -> tuple[int, int, int, int] | None:
    inv = cv2.invertAffineTransform(matrix)
    s = crop_size
    corners = np.array([[0, 0, 1], [s, 0, 1], [0, s, 1], [s, s, 1]], np.float64) @ inv.T
    x0 = max(0, int(np.floor(corners[:, 0].min())) - 1)
    y0 = max(0, int(np.floor(corners[:, 1].min())) - 1)
    x1 = min(canvas_hw[1], int(np.ceil(corners[:, 0].max())) + 2)
    y1 = min(canvas_hw[0], int(np.ceil(corners[:, 1].max())) + 2)
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def paste_faces(canvas: np.ndarray, patches: list[FacePatch], in_place: bool = False) -> np.ndarray:
    """Composite the patches onto a float32 (H, W, 3) canvas: a new array, or ``canvas`` itself with
    ``in_place`` (a 40 MP canvas is 480 MB: the pipeline pastes into the one it made)."""
    out = canvas if in_place else canvas.copy()
    regions = [(p, fp) for p in patches if (fp := _footprint(p.matrix, p.crop.shape[0], canvas.shape[:2]))]
    if not regions:
        return out
    ux0 = min(fp[0] for _, fp in regions)
    uy0 = min(fp[1] for _, fp in regions)
    ux1 = max(fp[2] for _, fp in regions)
    uy1 = max(fp[3] for _, fp in regions)
    h, w = uy1 - uy0, ux1 - ux0
    colour = np.zeros((h, w, 3), np.float32)
    weight = np.zeros((h, w), np.float32)
    keep = np.ones((h, w), np.float32)
    for patch, (x0, y0, x1, y1) in regions:
        inv = cv2.invertAffineTransform(patch.matrix)
        inv[:, 2] -= (x0, y0)  # into the region's own coordinates
        size = (x1 - x0, y1 - y0)
        face = warp_affine(patch.crop, inv, size)
        mask = np.clip(warp_affine(np.ascontiguousarray(patch.mask), inv, size), 0.0, 1.0)
        ry, rx = slice(y0 - uy0, y1 - uy0), slice(x0 - ux0, x1 - ux0)
        colour[ry, rx] += face * mask[:, :, None]
        weight[ry, rx] += mask
        keep[ry, rx] *= 1.0 - mask
    touched = weight > 0
    alpha = (1.0 - keep)[:, :, None]
    mean_face = colour / np.maximum(weight, 1e-8)[:, :, None]
    region = out[uy0:uy1, ux0:ux1]
    blended = region * (1.0 - alpha) + mean_face * alpha
    region[touched] = blended[touched]
    return out
