"""Rebuild the demo's example images from public-domain pictures that Python packages install.

astronaut: NASA portrait of Eileen Collins (scikit-image's ``data.astronaut``), public domain.
grace_hopper: US Navy portrait of Grace Hopper (matplotlib's sample data), public domain.
Each is degraded on purpose (blur, downscale, noise, JPEG), so the demo shows what it restores;
two more are made from them: a damaged old print (sepia, fading, scratches, dust, a crease) and a
composite group (five head-and-shoulders cut from the two portraits, side by side, small faces).
No package installs a public-domain group photo, hence the composite (the page says so). The video
example is the degraded Grace Hopper moving along a smooth path (pan, zoom, a small turn), with a
440 Hz tone for its sound.

    python examples/make_examples.py    # needs scikit-image and matplotlib (requirements.txt)
"""

from pathlib import Path

import cv2
import numpy as np

VIDEO_EXAMPLE = "grace_hopper_moving.mp4"


def degrade(rgb: np.ndarray, scale: float, blur: float, noise: float, quality: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), blur)
    h, w = img.shape[:2]
    img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
    _ok, buf = cv2.imencode(".jpg", img[:, :, ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[:, :, ::-1]


def sepia(rgb: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)[..., None]
    return np.clip(gray * np.array([1.07, 0.87, 0.62]) + np.array([18.0, 8.0, 0.0]), 0, 255)


def damaged_print(rgb: np.ndarray, seed: int) -> np.ndarray:
    """An old print: sepia, faded, vignetted, grainy, with scratches, dust and a fold crease."""
    rng = np.random.default_rng(seed)
    h, w = rgb.shape[:2]
    img = sepia(cv2.GaussianBlur(rgb, (0, 0), 1.2))
    img = 95 + 0.55 * img  # faded: low contrast, lifted blacks
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
    img *= np.clip(1.05 - 0.35 * r**2, 0.55, 1)[..., None]  # vignette
    stains = cv2.GaussianBlur(rng.normal(0, 1, (h // 16, w // 16)).astype(np.float32), (0, 0), 1.5)
    img *= 1 + 0.06 * cv2.resize(stains, (w, h), interpolation=cv2.INTER_CUBIC)[..., None]
    scratches = np.zeros((h, w), np.float32)
    for _ in range(14):  # long thin near-vertical scratches, and short random ones
        x0 = rng.uniform(0, w)
        x1 = x0 + rng.normal(0, 25)
        pts = (int(x0), int(rng.uniform(0, h * 0.3))), (int(x1), int(rng.uniform(h * 0.6, h)))
        cv2.line(scratches, *pts, float(rng.uniform(0.5, 1)), 1, cv2.LINE_AA)
    for _ in range(40):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        a = rng.uniform(0, np.pi)
        d = rng.uniform(5, 30)
        pts = (int(x), int(y)), (int(x + d * np.cos(a)), int(y + d * np.sin(a)))
        cv2.line(scratches, *pts, float(rng.uniform(0.4, 1)), 1, cv2.LINE_AA)
    for _ in range(250):  # dust
        cv2.circle(scratches, (int(rng.uniform(0, w)), int(rng.uniform(0, h))), int(rng.integers(1, 3)), 1.0, -1)
    crease = np.exp(-(((xx - 0.62 * w) + 0.15 * (yy - h / 2)) ** 2) / 18.0)  # a fold across the print
    img = img * (1 - 0.25 * crease[..., None]) + 70 * crease[..., None]
    img = img * (1 - scratches[..., None]) + 235 * scratches[..., None]
    img += rng.normal(0, 7, (h, w, 1))  # film grain, the same in every channel
    return np.clip(img, 0, 255).astype(np.uint8)


def composite_group(astronaut: np.ndarray, hopper: np.ndarray) -> np.ndarray:
    """Five head-and-shoulders, side by side like a group photo, on a plain wall."""
    a = astronaut[0:300, 100:350]
    g = hopper[0:420, 110:470]
    people = [
        a,
        g,
        sepia(a[:, ::-1]).astype(np.uint8),
        np.repeat(cv2.cvtColor(g[:, ::-1], cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2),
        cv2.convertScaleAbs(a, alpha=0.85, beta=20),
    ]
    heights = [300, 320, 290, 330, 280]
    tiles = [
        cv2.resize(p, (round(p.shape[1] * hh / p.shape[0]), hh), interpolation=cv2.INTER_AREA)
        for p, hh in zip(people, heights, strict=True)
    ]
    canvas_h = 380
    canvas = np.empty((canvas_h, sum(t.shape[1] for t in tiles) + 60, 3), np.float32)
    canvas[:] = np.linspace(200, 150, canvas_h)[:, None, None] * np.array([1.0, 0.95, 0.85])
    x = 30
    for t in tiles:
        canvas[canvas_h - t.shape[0] :, x : x + t.shape[1]] = t
        x += t.shape[1]
    return canvas.astype(np.uint8)


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
        "damaged_old_photo.jpg": degrade(damaged_print(hopper, 3), 0.6, 1.0, 3, 55, 4),
        "group_composite.jpg": degrade(composite_group(astronaut, hopper), 0.55, 1.4, 5, 45, 5),
    }
    for name, img in out.items():
        Image.fromarray(img).save(here / name, quality=95)
        print(name, img.shape)
    from gfpgan_core.video.synthetic import moving_frames, scene, write_clip

    still = scene(out["grace_hopper_degraded.jpg"], (480, 360))
    clip = write_clip(here / VIDEO_EXAMPLE, moving_frames(still, [k / 25 for k in range(50)]), 25)
    print(clip.name, f"{clip.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
