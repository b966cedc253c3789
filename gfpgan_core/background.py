"""Background upsampling: Real-ESRGAN's compact network, tiled, or Lanczos when it is absent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np
import torch
from torch import nn

from .images import resize

TileProgress = Callable[[int, int], None]
"""progress(done, total) after each tile: lets a caller show progress and stop a long request."""


def output_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """(width, height) of an image of ``size`` upscaled by ``scale`` (at least 1 pixel)."""
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


class BackgroundUpsampler(Protocol):
    name: str

    def upscale(self, rgb: np.ndarray, scale: float, progress: TileProgress | None = None) -> np.ndarray:
        """float32 RGB in [0, 1] -> the same upscaled to ``output_size``."""
        ...


class LanczosUpsampler:
    name = "lanczos"

    def upscale(self, rgb: np.ndarray, scale: float, progress: TileProgress | None = None) -> np.ndarray:
        out = resize(rgb, output_size((rgb.shape[1], rgb.shape[0]), scale))
        if progress:
            progress(1, 1)
        return out


class NetworkUpsampler:
    """Runs an xN super-resolution network tile by tile, then resizes to the requested scale.

    Tiles overlap by ``tile_pad`` pixels on each side so no seams show; only the centre of each
    tile's output is kept.
    """

    name = "realesrgan"

    def __init__(
        self, model: nn.Module, device: torch.device, half: bool = False, tile: int = 400, tile_pad: int = 10
    ) -> None:
        self.model = model.to(device).eval()
        self.native_scale = int(getattr(model, "upscale", 4))
        self.device = device
        self.dtype = torch.float16 if half else torch.float32
        if half:
            self.model.half()
        self.tile = tile
        self.tile_pad = tile_pad

    @torch.inference_mode()
    def _run(self, rgb: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].to(self.device, self.dtype)
        return self.model(x)[0].permute(1, 2, 0).float().clamp_(0, 1).cpu().numpy()

    def upscale_native(self, rgb: np.ndarray, progress: TileProgress | None = None) -> np.ndarray:
        h, w = rgb.shape[:2]
        s, t, pad = self.native_scale, self.tile, self.tile_pad
        out = np.empty((h * s, w * s, 3), np.float32)
        starts = [(y, x) for y in range(0, h, t) for x in range(0, w, t)]
        for done, (y, x) in enumerate(starts, 1):
            y0, x0 = max(0, y - pad), max(0, x - pad)
            y1, x1 = min(h, y + t + pad), min(w, x + t + pad)
            tile_out = self._run(rgb[y0:y1, x0:x1])
            th, tw = min(t, h - y), min(t, w - x)
            oy, ox = (y - y0) * s, (x - x0) * s
            out[y * s : (y + th) * s, x * s : (x + tw) * s] = tile_out[oy : oy + th * s, ox : ox + tw * s]
            if progress:
                progress(done, len(starts))
        return out

    def upscale(self, rgb: np.ndarray, scale: float, progress: TileProgress | None = None) -> np.ndarray:
        target = output_size((rgb.shape[1], rgb.shape[0]), scale)
        return resize(self.upscale_native(rgb, progress), target)
