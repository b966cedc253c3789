"""Rebuild the demo's example images from public-domain pictures that Python packages install.

astronaut: NASA portrait of Eileen Collins (scikit-image's ``data.astronaut``), public domain.
grace_hopper: US Navy portrait of Grace Hopper (matplotlib's sample data), public domain.
Each is degraded on purpose (blur, downscale, noise, JPEG), so the demo shows what it restores.
"""

from pathlib import Path

import cv2
import numpy as np


def degrade(rgb: np.ndarray, scale: float, blur: float, noise: float, quality: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), blur)
    h, w = img.shape[:2]
    img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    _ok, buf = cv2.imencode(".jpg", img[:, :, ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]


def main() -> None:
    import matplotlib.cbook
    from PIL import Image
    from skimage import data

    here = Path(__file__).resolve().parent
    astronaut = data.astronaut()
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
        hopper = np.asarray(Image.open(f).convert("RGB"))
    out = {
        "astronaut_degraded.jpg": degrade(astronaut, 0.45, 1.6, 6, 45, 0),
        "grace_hopper_degraded.jpg": degrade(hopper, 0.4, 1.8, 5, 40, 1),
        "grace_hopper_gray_degraded.jpg": cv2.cvtColor(degrade(hopper, 0.3, 1.2, 4, 50, 2), cv2.COLOR_RGB2GRAY),
    }
    for name, img in out.items():
        Image.fromarray(img).save(here / name, quality=95)
        print(name, img.shape)


if __name__ == "__main__":
    main()
