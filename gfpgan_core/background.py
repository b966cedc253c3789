"""Background upsampling: Real-ESRGAN's compact network, tiled, or Lanczos when it is absent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
from torch import nn

from .images import output_size, resize
from .runtimes import IMAGES, Runner, TorchRunner

TileProgress = Callable[[int, int], None]
"""progress(done, total) after each tile: lets a caller show progress and stop a long request."""


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


@dataclass(frozen=True)
class Resampling:
    """Resizing along one axis as fixed taps: output pixel i = sum_k weights[i, k] * input[index[i, k]].

    The taps depend only on the two lengths, never on how the input is cut into strips, so a picture
    resized a strip at a time equals the picture resized whole. Shrinking averages the input pixels an
    output pixel covers (OpenCV's INTER_AREA); enlarging uses Lanczos-4 with pixel centres aligned.
    """

    index: np.ndarray  # (n_out, K) int
    weights: np.ndarray  # (n_out, K) float32, rows sum to 1

    @classmethod
    def between(cls, n_in: int, n_out: int) -> Resampling:
        r = n_out / n_in
        if r <= 1:  # output pixel i covers input [i / r, (i + 1) / r)
            k = int(np.ceil(1 / r)) + 1
            start = np.floor(np.arange(n_out) / r).astype(np.int64)
            index = start[:, None] + np.arange(k)
            lo = np.maximum(index, np.arange(n_out)[:, None] / r)
            hi = np.minimum(index + 1, (np.arange(n_out)[:, None] + 1) / r)
            weights = np.clip(hi - lo, 0, None)
        else:  # Lanczos-4: 8 taps around the input position of the output pixel's centre
            centre = (np.arange(n_out) + 0.5) / r - 0.5
            index = np.floor(centre).astype(np.int64)[:, None] + np.arange(-3, 5)
            weights = np.sinc(centre[:, None] - index) * np.sinc((centre[:, None] - index) / 4)
        weights = weights / weights.sum(axis=1, keepdims=True)
        return cls(np.clip(index, 0, n_in - 1), weights.astype(np.float32))

    def apply(self, arr: np.ndarray, axis: int, rows: slice = slice(None), offset: int = 0) -> np.ndarray:
        """Output pixels ``rows`` along ``axis`` of ``arr``, whose first element is input pixel ``offset``."""
        index, weights = self.index[rows] - offset, self.weights[rows]
        out = np.zeros((*arr.shape[:axis], len(index), *arr.shape[axis + 1 :]), np.float32)
        shape = [1] * arr.ndim
        shape[axis] = len(index)
        for k in range(index.shape[1]):
            out += np.take(arr, index[:, k], axis=axis) * weights[:, k].reshape(shape)
        return out

    def ready(self, received: int) -> int:
        """How many output pixels can be computed from the first ``received`` input pixels."""
        return int(np.searchsorted(self.index.max(axis=1), received, side="left"))


class NetworkUpsampler:
    """Runs an xN super-resolution network tile by tile and resizes to the requested scale as it goes.

    Tiles overlap by ``tile_pad`` pixels on each side so no seams show; only the centre of each
    tile's output is kept. The network's output is never held whole (x4 of a 16 MP photo is 3 GB of
    float32): a band of tiles at a time is resized into the final canvas with :class:`Resampling`, which
    gives what resizing the whole x4 canvas would, and only the rows the next band still reads are
    kept. A band holds at most ``band_bytes`` of network output.
    """

    name = "realesrgan"

    def __init__(
        self,
        model: nn.Module,
        device: torch.device,
        half: bool = False,
        tile: int = 400,
        tile_pad: int = 10,
        band_bytes: int = 256 << 20,
        runner: Runner | None = None,
    ) -> None:
        self.model = model.to(device).eval()
        self.native_scale = int(getattr(model, "upscale", 4))
        self.device = device
        self.dtype = torch.float16 if half else torch.float32
        if half:
            self.model.half()
        self.tile = tile
        self.tile_pad = tile_pad
        self.band_bytes = band_bytes
        self.runner: Runner = runner if runner is not None else TorchRunner(self.model, IMAGES)

    def _run(self, rgb: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].to(self.device, self.dtype)
        return self.runner(x)[0].permute(1, 2, 0).float().clamp(0, 1).cpu().numpy()

    def _band_rows(self, width: int) -> int:
        """Input rows per band: a tile's height, fewer when a band of network output would pass band_bytes."""
        s = self.native_scale
        return max(1, min(self.tile, self.band_bytes // (width * s * s * 3 * 4)))

    def _bands(self, rgb: np.ndarray, progress: TileProgress | None) -> Iterator[np.ndarray]:
        """The network's output, a band of rows at a time, top to bottom (each tile's centre only)."""
        h, w = rgb.shape[:2]
        s, pad, t = self.native_scale, self.tile_pad, self.tile
        rows = self._band_rows(w)
        starts = [(y, x) for y in range(0, h, rows) for x in range(0, w, t)]
        done = 0
        for y in range(0, h, rows):
            th = min(rows, h - y)
            band = np.empty((th * s, w * s, 3), np.float32)
            for x in range(0, w, t):
                y0, x0 = max(0, y - pad), max(0, x - pad)
                y1, x1 = min(h, y + th + pad), min(w, x + t + pad)
                tile_out = self._run(rgb[y0:y1, x0:x1])
                tw = min(t, w - x)
                oy, ox = (y - y0) * s, (x - x0) * s
                band[:, x * s : (x + tw) * s] = tile_out[oy : oy + th * s, ox : ox + tw * s]
                done += 1
                if progress:
                    progress(done, len(starts))
            yield band

    def upscale_native(self, rgb: np.ndarray, progress: TileProgress | None = None) -> np.ndarray:
        """The network's whole output (xN): for tests and small pictures; :meth:`upscale` never holds it."""
        return np.concatenate(list(self._bands(rgb, progress)), axis=0)

    def upscale(self, rgb: np.ndarray, scale: float, progress: TileProgress | None = None) -> np.ndarray:
        h, w = rgb.shape[:2]
        s = self.native_scale
        out_w, out_h = output_size((w, h), scale)
        across, down = Resampling.between(w * s, out_w), Resampling.between(h * s, out_h)
        out = np.empty((out_h, out_w, 3), np.float32)
        held = np.empty((0, out_w, 3), np.float32)  # resized across, not yet down; starts at row `first`
        first = next_row = 0
        for band in self._bands(rgb, progress):
            held = np.concatenate([held, across.apply(band, axis=1)], axis=0)
            last = down.ready(first + len(held))
            if last > next_row:
                rows = slice(next_row, last)
                out[rows] = down.apply(held, axis=0, rows=rows, offset=first)
                next_row = last
            if next_row < out_h:  # keep only the rows later output rows still read
                keep_from = int(down.index[next_row].min())
                held, first = held[keep_from - first :], keep_from
        return np.clip(out, 0.0, 1.0, out=out)
