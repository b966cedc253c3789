"""What only a GPU can check: half precision against float32, the runtime choice there, the GPU table.

Skipped on machines without CUDA (this project's CI); run on the device machine when one is lent.
"""

import numpy as np
import pytest
import torch

from conftest import photos
from gfpgan_core.pipeline import Restorer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


def test_half_precision_on_the_gpu_matches_float32_on_the_cpu(tiny_checkpoint):
    gpu = Restorer.from_pretrained(tiny_checkpoint, device="cuda", download=False)
    cpu = Restorer.from_pretrained(tiny_checkpoint, device="cpu", runtime="torch", download=False)
    assert gpu.half and "on cuda (fp16) in torch" in gpu.describe()
    photo = photos("photos", 1)[0]
    a, b = gpu.restore(photo, upscale=1), cpu.restore(photo, upscale=1)
    assert len(a.faces) == len(b.faces) > 0
    for x, y in zip(a.faces, b.faces, strict=True):
        # outputs in 0..255: 1e-2 on [-1, 1] is 1.3 levels; allow rounding on top
        assert np.abs(x.restored_crop.astype(int) - y.restored_crop).max() <= 3


def test_the_benchmark_gpu_table(tiny_checkpoint):
    from gfpgan_core.cli.benchmark import gpu_table, network

    rows = gpu_table(network(str(tiny_checkpoint), None), torch.device("cuda"), runs=1)
    half = [r for r in rows if r["dtype"] == "float16" and "faces_per_s" in r]
    assert {r["batch"] for r in half} == {1, 8, 32}
    assert all(r["faces_per_s"] > 0 and r["max_abs_diff_to_float32"] <= 1e-2 for r in half)
