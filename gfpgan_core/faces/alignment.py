"""Alignment to the FFHQ five-point template by a similarity transform, and anti-aliased warps."""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import LandmarkError

# Eye centres, nose tip and mouth corners of FFHQ faces in a 512x512 crop (facexlib's template).
FFHQ_TEMPLATE_512 = np.array(
    [
        [192.98138, 239.94708],
        [318.90277, 240.1936],
        [256.63416, 314.01935],
        [201.26117, 371.41043],
        [313.08905, 371.15118],
    ],
    dtype=np.float64,
)
# The grey the reference fills outside the photo when a face touches its border: facexlib passes
# borderValue=(135, 133, 132) to OpenCV on a BGR image, so in RGB it is (132, 133, 135).
BORDER_RGB = (132 / 255, 133 / 255, 135 / 255)


def template_for(size: int, template_512: np.ndarray | None = None) -> np.ndarray:
    """The five points of a ``size`` crop: FFHQ's, or a model's own (given at 512 px)."""
    return (FFHQ_TEMPLATE_512 if template_512 is None else template_512) * (size / 512)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + translation mapping src points onto dst (2x3)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    s, d = src - src_mean, dst - dst_mean
    # solve [a -b; b a] s + t = d in the least-squares sense
    denom = (s**2).sum()
    if denom <= 1e-12:
        raise LandmarkError("The face's landmarks all coincide, so it cannot be aligned.")
    a = (s[:, 0] * d[:, 0] + s[:, 1] * d[:, 1]).sum() / denom
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum() / denom
    rot = np.array([[a, -b], [b, a]])
    t = dst_mean - rot @ src_mean
    return np.hstack([rot, t[:, None]])


def warp_affine(
    src: np.ndarray,
    matrix: np.ndarray,
    size: tuple[int, int],
    border_value: float | tuple[float, ...] = 0.0,
    border_mode: int = cv2.BORDER_CONSTANT,
    interpolation: int = cv2.INTER_LINEAR,
    antialias: bool = False,
) -> np.ndarray:
    """``cv2.warpAffine`` over only the part of ``src`` the output sees.

    antialias: first shrink the source (INTER_AREA) when the warp minifies it by more than 0.7,
    so a large face mapped into a 512 crop does not alias. Paste-back does not use it: point
    sampling the restored crop is what lets an unchanged face come back unchanged (>= 50 dB
    round trip; any prefilter at output-pixel scale blurs it to ~30 dB).
    """
    matrix = np.asarray(matrix, np.float64)
    if border_mode == cv2.BORDER_CONSTANT:
        cropped = _crop_to_footprint(src, matrix, size)
        if cropped is None:  # the output sees none of the source
            channels = src.shape[2:] if src.ndim == 3 else ()
            return np.broadcast_to(
                np.asarray(border_value, src.dtype)[: (channels or (1,))[0]], (size[1], size[0], *channels)
            ).copy()
        src, matrix = cropped
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if antialias and scale < 0.7:
        h, w = src.shape[:2]
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        src = cv2.resize(src, (nw, nh), interpolation=cv2.INTER_AREA)
        # pixel centres: x_small = (x + 0.5) * nw / w - 0.5  ->  x = (x_small + 0.5) * w / nw - 0.5
        sx, sy = w / nw, h / nh
        undo = np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
        matrix = (np.vstack([matrix, [0, 0, 1]]) @ undo)[:2]
    return cv2.warpAffine(src, matrix, size, flags=interpolation, borderMode=border_mode, borderValue=border_value)


def _crop_to_footprint(
    src: np.ndarray, matrix: np.ndarray, size: tuple[int, int], margin: int = 3
) -> tuple[np.ndarray, np.ndarray] | None:
    """The part of ``src`` the warp samples (plus interpolation margin), and the shifted matrix."""
    inv = cv2.invertAffineTransform(matrix)
    w, h = size
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ inv.T
    x0 = max(0, int(np.floor(corners[:, 0].min())) - margin)
    y0 = max(0, int(np.floor(corners[:, 1].min())) - margin)
    x1 = min(src.shape[1], int(np.ceil(corners[:, 0].max())) + margin)
    y1 = min(src.shape[0], int(np.ceil(corners[:, 1].max())) + margin)
    if x0 >= x1 or y0 >= y1:
        return None
    shifted = matrix.copy()
    shifted[:, 2] += matrix[:, :2] @ np.array([x0, y0], np.float64)
    return src[y0:y1, x0:x1], shifted


def align_face(
    rgb: np.ndarray,
    landmarks: np.ndarray,
    size: int = 512,
    method: str = "least-squares",
    template_512: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Crop one face to the FFHQ template (or a model's own, ``template_512``, given at 512 px, as
    GPEN's): (crop (size, size, 3) float32, 2x3 matrix image->crop).

    method "least-squares" fits all five landmarks and warps bicubically with anti-aliasing;
    "official" is facexlib's crop as GFPGAN makes it: ``cv2.estimateAffinePartial2D(..., LMEDS)`` and
    a plain bilinear ``cv2.warpAffine`` of the whole image.
    """
    template = template_for(size, template_512)
    if method == "official":
        matrix, _ = cv2.estimateAffinePartial2D(np.asarray(landmarks), template, method=cv2.LMEDS)
        if matrix is None:
            raise LandmarkError("OpenCV could not fit the face's landmarks to the template.")
        crop = cv2.warpAffine(rgb, matrix, (size, size), borderMode=cv2.BORDER_CONSTANT, borderValue=BORDER_RGB)
        return np.clip(crop, 0.0, 1.0), matrix
    matrix = similarity_transform(landmarks, template)
    crop = warp_affine(
        rgb, matrix, (size, size), border_value=BORDER_RGB, interpolation=cv2.INTER_CUBIC, antialias=True
    )
    return np.clip(crop, 0.0, 1.0), matrix
