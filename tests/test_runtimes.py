"""Every runtime that can run the face model gives torch's output; a missing or failing one falls back."""

import sys

import numpy as np
import pytest
import torch

from conftest import FIXTURES, need
from gfpgan_core import runtimes
from gfpgan_core.archs import GFPGANv1Clean
from gfpgan_core.options import RUNTIMES
from gfpgan_core.pipeline import Restorer
from gfpgan_core.runtimes import TOLERANCE, TorchRunner, select_runner
from gfpgan_core.zoo import ZOO

CPU = torch.device("cpu")
ONNX_RUNTIMES = [name for name in RUNTIMES if name not in ("auto", "torch")]


def _installed(package):
    return pytest.param(
        package, marks=pytest.mark.skipif(not runtimes.is_installed(package), reason=f"{package} not installed")
    )


def _parity_model():
    ref = torch.load(need(FIXTURES / "gfpganv1_clean_parity_64.pth"), weights_only=True)
    model = GFPGANv1Clean(**ref["config"]).eval().requires_grad_(False)
    model.load_state_dict(ref["params_ema"])
    return model, ref


@pytest.mark.parametrize("name", [_installed(n) for n in ONNX_RUNTIMES])
def test_each_runtime_gives_the_reference_output_on_the_parity_fixture(tmp_path, name):
    model, ref = _parity_model()
    runner, note = select_runner(
        model, device=CPU, half=False, checkpoint_sha256="ab" * 32, cache_dir=tmp_path, runtime=name
    )
    assert runner.name == name, note
    assert f"runs in {name}" in note
    # the fixture's output is the reference implementation's (gfpgan 1.3.8), not ours
    assert (runner(ref["input"]) - ref["output"]).abs().max() < TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize("name", [_installed(n) for n in ONNX_RUNTIMES])
def test_each_runtime_matches_torch_on_a_full_size_random_model(tmp_path, name):
    """The v1.3/v1.4 network at 512 with random weights, three faces in one batch."""
    torch.manual_seed(0)
    model = ZOO["v1.4"].config.build().eval().requires_grad_(False)
    runner, note = select_runner(
        model, device=CPU, half=False, checkpoint_sha256="cd" * 32, cache_dir=tmp_path, runtime=name
    )
    assert runner.name == name, note
    for export in tmp_path.iterdir():  # loaded: the 339 MB file can go now (CI's disk is small)
        export.unlink()
    faces = torch.rand(3, 3, 512, 512, generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert (runner(faces) - TorchRunner(model)(faces)).abs().max() <= TOLERANCE


def test_auto_takes_the_fastest_installed_and_says_so(tmp_path):
    model, _ = _parity_model()
    runner, note = select_runner(model, device=CPU, half=False, checkpoint_sha256="ef" * 32, cache_dir=tmp_path)
    installed = [n for n in runtimes.CPU_PREFERENCE if runtimes.is_installed(n)]
    assert runner.name == (installed[0] if installed else "torch"), note


def test_missing_packages_fall_back_to_torch_with_the_reason(tmp_path, monkeypatch):
    for package in ("onnxruntime", "openvino"):
        monkeypatch.setitem(sys.modules, package, None)  # import now raises ImportError
    model, ref = _parity_model()
    runner, note = select_runner(model, device=CPU, half=False, checkpoint_sha256="01" * 32, cache_dir=tmp_path)
    assert runner.name == "torch"
    assert note == "face model runs in torch: openvino is not installed; onnxruntime is not installed"
    assert not list(tmp_path.iterdir())  # nothing exported for nobody
    assert (runner(ref["input"]) - ref["output"]).abs().max() < 1e-4


@pytest.mark.skipif(not runtimes.is_installed("onnxruntime"), reason="onnxruntime not installed")
def test_a_failed_export_falls_back_and_a_cached_one_is_not_redone(tmp_path, monkeypatch):
    model, ref = _parity_model()

    def broken(*args):
        raise RuntimeError("exporter exploded\nsecond line")

    real_export = runtimes.export_onnx
    monkeypatch.setattr(runtimes, "export_onnx", broken)
    runner, note = select_runner(
        model, device=CPU, half=False, checkpoint_sha256="23" * 32, cache_dir=tmp_path, runtime="onnxruntime"
    )
    assert runner.name == "torch"
    assert "the ONNX export failed (RuntimeError: exporter exploded)" in note
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".onnx"]

    monkeypatch.setattr(runtimes, "export_onnx", real_export)
    runner, _ = select_runner(
        model, device=CPU, half=False, checkpoint_sha256="23" * 32, cache_dir=tmp_path, runtime="onnxruntime"
    )
    assert runner.name == "onnxruntime"
    monkeypatch.setattr(runtimes, "export_onnx", broken)  # a restart must not export again
    again, note = select_runner(
        model, device=CPU, half=False, checkpoint_sha256="23" * 32, cache_dir=tmp_path, runtime="onnxruntime"
    )
    assert again.name == "onnxruntime", note
    assert (again(ref["input"]) - ref["output"]).abs().max() < TOLERANCE


@pytest.mark.skipif(not runtimes.is_installed("onnxruntime"), reason="onnxruntime not installed")
def test_a_runtime_that_disagrees_with_torch_is_not_used(tmp_path, monkeypatch):
    model, _ = _parity_model()
    monkeypatch.setattr(runtimes, "TOLERANCE", -1.0)  # no difference is small enough
    runner, note = select_runner(
        model, device=CPU, half=False, checkpoint_sha256="45" * 32, cache_dir=tmp_path, runtime="onnxruntime"
    )
    assert runner.name == "torch"
    assert "onnxruntime failed (ValueError: differs from torch by" in note


def test_gpu_half_and_fidelity_models_stay_in_torch(tmp_path):
    model, _ = _parity_model()
    assert select_runner(model, device=CPU, half=True, checkpoint_sha256="67" * 32, cache_dir=tmp_path)[0].name == (
        "torch"
    )
    model.has_fidelity = True
    runner, note = select_runner(model, device=CPU, half=False, checkpoint_sha256="67" * 32, cache_dir=tmp_path)
    assert runner.name == "torch" and "fidelity" in note


@pytest.mark.skipif(not runtimes.is_installed("onnxruntime"), reason="onnxruntime not installed")
def test_the_restorer_runs_the_runtime_and_seeded_calls_in_torch(tmp_path):
    model, _ = _parity_model()
    runner, _ = select_runner(
        model, device=CPU, half=False, checkpoint_sha256="89" * 32, cache_dir=tmp_path, runtime="onnxruntime"
    )
    fast = Restorer(model, device="cpu", runner=runner)
    plain = Restorer(model, device="cpu")
    assert "in onnxruntime" in fast.describe() and "in torch" in plain.describe()
    rng = np.random.default_rng(0)
    crops = [rng.random((64, 64, 3), dtype=np.float32) for _ in range(3)]
    for a, b in zip(fast.restore_crops(crops, batch_size=2), plain.restore_crops(crops), strict=True):
        assert np.abs(a - b).max() <= TOLERANCE / 2  # outputs are in [0, 1]: half the [-1, 1] range
    # a seed asks for fresh noise, which the export does not take: torch runs it, same as plain
    seeded = fast.restore_crops(crops[:1], seed=3)[0]
    assert np.array_equal(seeded, plain.restore_crops(crops[:1], seed=3)[0])


@pytest.mark.parametrize("name", [_installed(n) for n in ONNX_RUNTIMES])
def test_the_background_upscaler_runs_in_each_runtime_at_any_size(tmp_path, name):
    """The x4v3 network's export takes pictures of any size; tiles of two sizes give torch's output."""
    from gfpgan_core.background import NetworkUpsampler
    from gfpgan_core.runtimes import IMAGES

    torch.manual_seed(0)
    net = ZOO["realesr-general-x4v3"].config.build().eval().requires_grad_(False)
    runner, note = select_runner(
        net, device=CPU, half=False, checkpoint_sha256="ab" * 32, cache_dir=tmp_path, runtime=name, spec=IMAGES
    )
    assert runner.name == name and note.startswith(f"background upscaler runs in {name}")
    img = np.random.default_rng(0).random((50, 70, 3)).astype(np.float32)
    fast = NetworkUpsampler(net, CPU, tile=32, runner=runner).upscale(img, 2)
    plain = NetworkUpsampler(net, CPU, tile=32).upscale(img, 2)
    assert np.abs(fast - plain).max() <= TOLERANCE / 2
