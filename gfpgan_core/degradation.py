"""The paper's degradation model: y = [(x * k_sigma) downsampled by r + n_delta]_JPEG_q, plus colour
jitter and grayscale, with the official training ranges. Seeded per image (by name), so a test set
is the same whatever order or subset it is built in.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import OptionsError
from .images import Picture, list_images, read_image, resize_to, to_uint8, write_image


@dataclass(frozen=True)
class DegradationConfig:
    """Ranges from GFPGAN's FFHQ training options (``train_gfpgan_v1.yml``)."""

    blur_kernel_size: int = 41
    blur_sigma: tuple[float, float] = (0.1, 10.0)
    anisotropic_prob: float = 0.5  # kernel_list [iso, aniso], kernel_prob [0.5, 0.5]
    downsample_range: tuple[float, float] = (0.8, 8.0)
    noise_range: tuple[float, float] = (0.0, 20.0)  # Gaussian noise sigma, in 8-bit levels
    jpeg_range: tuple[int, int] = (60, 100)
    color_jitter_prob: float = 0.3
    color_jitter_shift: float = 20.0  # in 8-bit levels
    gray_prob: float = 0.01

    @classmethod
    def at_strength(cls, strength: float) -> DegradationConfig:
        """The paper's ranges (strength 1) with their upper ends scaled: 0.5 is a milder set, 2 a harsher one."""
        d = cls()
        return cls(
            blur_sigma=(d.blur_sigma[0], max(d.blur_sigma[0], d.blur_sigma[1] * strength)),
            downsample_range=(d.downsample_range[0], max(1.0, d.downsample_range[1] * strength)),
            noise_range=(0.0, d.noise_range[1] * strength),
            jpeg_range=(max(5, min(100, round(100 - (100 - d.jpeg_range[0]) * strength))), 100),
        )


def gaussian_kernel(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """Normalised (an)isotropic Gaussian kernel rotated by theta."""
    half = size // 2
    ax = np.arange(-half, half + 1, dtype=np.float64)
    xx, yy = np.meshgrid(ax, ax)
    c, s = math.cos(theta), math.sin(theta)
    xr, yr = c * xx + s * yy, -s * xx + c * yy
    k = np.exp(-0.5 * ((xr / sigma_x) ** 2 + (yr / sigma_y) ** 2))
    return (k / k.sum()).astype(np.float32)


def image_seed(seed: int, key: str) -> np.random.Generator:
    """A generator that depends only on the base seed and the image's name."""
    return np.random.default_rng([seed, zlib.crc32(key.encode())])


def degrade(
    gt: np.ndarray, rng: np.random.Generator, config: DegradationConfig = DegradationConfig()
) -> tuple[np.ndarray, dict[str, float]]:
    """Degrade a float32 RGB image in [0, 1]; returns (low-quality image, same size, parameters)."""
    h, w = gt.shape[:2]
    params: dict[str, float] = {}
    sx = rng.uniform(*config.blur_sigma)
    if rng.uniform() < config.anisotropic_prob:
        sy, theta = rng.uniform(*config.blur_sigma), rng.uniform(-math.pi, math.pi)
    else:
        sy, theta = sx, 0.0
    params.update(sigma_x=sx, sigma_y=sy, theta=theta)
    lq = cv2.filter2D(
        gt, -1, gaussian_kernel(config.blur_kernel_size, sx, sy, theta), borderType=cv2.BORDER_REFLECT_101
    )

    r = rng.uniform(*config.downsample_range)
    params["downsample"] = r
    lq = cv2.resize(lq, (max(1, int(w // r)), max(1, int(h // r))), interpolation=cv2.INTER_LINEAR)

    sigma = rng.uniform(*config.noise_range)
    params["noise"] = sigma
    lq = np.clip(lq + np.asarray(rng.normal(0, sigma / 255.0, lq.shape), np.float32), 0, 1)

    q = int(rng.integers(config.jpeg_range[0], config.jpeg_range[1] + 1))
    params["jpeg_quality"] = q
    _ok, buf = cv2.imencode(".jpg", to_uint8(lq[:, :, ::-1]), [cv2.IMWRITE_JPEG_QUALITY, q])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    assert decoded is not None  # OpenCV decodes what it has just encoded
    lq = decoded[:, :, ::-1].astype(np.float32) / 255.0

    lq = cv2.resize(lq, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.uniform() < config.color_jitter_prob:
        shift = rng.uniform(-config.color_jitter_shift, config.color_jitter_shift, 3).astype(np.float32) / 255.0
        lq = lq + shift
        params["color_jitter"] = float(np.abs(shift).max() * 255)
    if rng.uniform() < config.gray_prob:
        lq = np.repeat(cv2.cvtColor(np.clip(lq, 0, 1), cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)
        params["gray"] = 1.0
    return np.clip(lq, 0, 1).astype(np.float32), params


REFERENCE_SIZE = 512  # the official ranges are defined on 512-pixel FFHQ faces


def degrade_pair(
    gt: np.ndarray, rng: np.random.Generator, size: int, config: DegradationConfig = DegradationConfig()
) -> tuple[np.ndarray, np.ndarray]:
    """(low-quality, ground truth) at ``size`` from a face at the reference size.

    Degrading at 512 and then resizing keeps a smaller model's training inputs like the ones it
    meets in use (a 512 crop resized to its input): the same ranges applied at 128 pixels would be
    four times harsher (sigma 10 at 128 is sigma 40 at 512).
    """
    lq, _ = degrade(gt, rng, config)
    return resize_to(lq, size), resize_to(gt, size)


def degrade_folder(src: Path, dst: Path, seed: int = 0, config: DegradationConfig = DegradationConfig()) -> list[Path]:
    """Degrade every image of ``src`` into ``dst`` (PNG, same names); never writes into ``src``."""
    if dst.resolve() == src.resolve():
        raise OptionsError("The output folder must differ from the input folder.")
    written = []
    for path in list_images(src):
        gt = read_image(path).rgb
        lq, _ = degrade(gt, image_seed(seed, path.name), config)
        written.append(write_image(dst / f"{path.stem}.png", Picture(lq)))
    return written
