"""Background upsampling: tiling must not change the result."""

import numpy as np
import torch

from gfpgan_core.archs import SRVGGNetCompact
from gfpgan_core.background import LanczosUpsampler, NetworkUpsampler
from gfpgan_core.images import resize


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


def test_streamed_resize_equals_resizing_the_whole_network_output():
    """A band of one row at a time, 16-pixel tiles: the same picture as the whole x4 output resized
    (OpenCV's INTER_AREA when shrinking, Lanczos-4 when enlarging)."""
    torch.manual_seed(0)
    net = SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4)
    img = np.random.default_rng(0).random((53, 71, 3)).astype(np.float32)
    native = NetworkUpsampler(net, torch.device("cpu"), tile=1000).upscale_native(img)
    for scale in (1.3, 2, 2.37, 4, 5.5):
        streamed = NetworkUpsampler(net, torch.device("cpu"), tile=16, band_bytes=1).upscale(img, scale)
        h, w = streamed.shape[:2]
        assert (w, h) == (round(71 * scale), round(53 * scale))
        assert np.abs(streamed - resize(native, (w, h))).max() < 1e-4, scale


def test_the_network_output_is_never_held_whole():
    """x2 of a 300 x 400 picture: the x4 network output would be 23 MB; with 1 MB bands the largest
    amount of numpy memory held at once stays under the 5.8 MB result plus a few bands."""
    import tracemalloc

    net = SRVGGNetCompact(num_feat=4, num_conv=1, upscale=4)
    img = np.random.default_rng(0).random((300, 400, 3)).astype(np.float32)
    upsampler = NetworkUpsampler(net, torch.device("cpu"), band_bytes=1 << 20)
    tracemalloc.start()
    try:
        out = upsampler.upscale(img, 2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (600, 800, 3)
    assert peak < 12e6, peak
