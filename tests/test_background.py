"""Background upsampling: tiling must not change the result."""

import numpy as np
import torch

from gfpgan_core.archs import SRVGGNetCompact
from gfpgan_core.background import LanczosUpsampler, NetworkUpsampler


def test_tiled_equals_whole_image():
    torch.manual_seed(0)
    net = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4)
    img = np.random.default_rng(0).random((50, 70, 3)).astype(np.float32)
    whole = NetworkUpsampler(net, torch.device("cpu"), tile=1000).upscale_native(img)
    tiled = NetworkUpsampler(net, torch.device("cpu"), tile=16, tile_pad=10).upscale_native(img)
    assert whole.shape == (200, 280, 3)
    assert np.abs(whole - tiled).max() < 1e-5  # receptive field (4 convs) < tile_pad


def test_output_sizes_for_fractional_scales():
    img = np.zeros((31, 47, 3), np.float32)
    assert LanczosUpsampler().upscale(img, 3.5).shape == (108, 164, 3)
    net = SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4)
    assert NetworkUpsampler(net, torch.device("cpu")).upscale(img, 2).shape == (62, 94, 3)


def test_tiles_report_progress():
    net = SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4)
    seen = []
    img = np.zeros((40, 70, 3), np.float32)
    NetworkUpsampler(net, torch.device("cpu"), tile=16).upscale(img, 2, lambda done, total: seen.append((done, total)))
    assert seen == [(i, 15) for i in range(1, 16)]  # 3 rows x 5 columns of 16-pixel tiles
    seen.clear()
    LanczosUpsampler().upscale(img, 2, lambda done, total: seen.append((done, total)))
    assert seen == [(1, 1)]
