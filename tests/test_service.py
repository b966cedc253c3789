"""Which model the app and the CLI use when none is named, and why they say so."""

import os
import subprocess
import sys
import threading
import time

import pytest
import torch

from conftest import REPO, TINY_CONFIG, photos
from gfpgan_core import OptionsError, zoo
from gfpgan_core.archs import GFPGANConfig
from gfpgan_core.checkpoint import export_safetensors
from gfpgan_core.service import ModelService


def _service(weights_dir):
    return ModelService(weights_dir=weights_dir, download=False)


def test_offline_with_nothing_on_disk_says_what_to_do(tmp_path):
    key, why = _service(tmp_path).default_model()
    assert key is None and f"`{zoo.command('download v1.4')}`" in why


def test_a_bundled_model_is_the_offline_fallback(tmp_path, monkeypatch):
    torch.save({"params_ema": GFPGANConfig(**TINY_CONFIG).build().state_dict()}, tmp_path / "net_g.pth")
    path, config = export_safetensors(tmp_path / "net_g.pth", tmp_path / "bundled" / "tiny.safetensors")
    monkeypatch.setattr(zoo, "BUNDLED_DIR", path.parent)
    monkeypatch.setitem(
        zoo.ZOO,
        "tiny-bundled",
        zoo.ZooEntry(
            "tiny-bundled", path.name, "restorer", "test model", sha256=zoo.sha256_of(path), config=config, bundled=True
        ),
    )
    service = _service(tmp_path / "empty")
    key, why = service.default_model()
    assert key == "tiny-bundled" and "trained by this project" in why and "download v1.4" in why
    for_visitors = service.default_model(for_visitors=True)[1]  # the page's status line: no command
    assert "trained by this project" in for_visitors and "`" not in for_visitors and "download" not in for_visitors
    restorer = service.get(key, detector="yunet", upsampler="lanczos")
    assert restorer.crop_size == TINY_CONFIG["out_size"]


def test_a_published_model_on_disk_wins(tmp_path):
    (tmp_path / "GFPGANv1.3.pth").write_bytes(b"placeholder")  # only presence counts for the choice
    key, why = _service(tmp_path).default_model()
    assert key == "v1.3" and "v1.4 not downloaded" in why


def test_cli_without_a_model_offline_fails_in_one_line(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GFPGAN_WEIGHTS_DIR": str(tmp_path / "empty")}
    proc = subprocess.run(
        [sys.executable, "-m", "gfpgan_core", "-i", photos("hq_photos", 1)[0], "-o", tmp_path / "out"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert "download v1.4" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_parts_are_shared_between_restorers(tmp_path, tiny_checkpoint):
    """One network per model key, one detector per name: composing restorers copies nothing."""
    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)
    a = service.get("custom", detector="yunet", upsampler="lanczos")
    b = service.get("custom", detector="auto", upsampler="lanczos")
    c = service.get("custom", detector="yunet", upsampler="auto")
    assert a is not b and a.model is b.model is c.model
    assert a.detector is c.detector and a.upsampler is b.upsampler
    assert a.model_name == "custom (tiny_gfpgan.pth)"


def test_a_slow_build_blocks_only_its_own_part(tmp_path):
    """A download in progress (one part) must not hold up requests for parts that are ready or other."""
    service = ModelService(weights_dir=tmp_path, download=False)
    release, started = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(30)
        return "slow part"

    worker = threading.Thread(target=service._part, args=("upsampler", "slow", slow))
    worker.start()
    assert started.wait(10)
    t = time.perf_counter()
    assert service._part("detector", "fast", lambda: "fast part") == "fast part"
    assert time.perf_counter() - t < 1 and worker.is_alive()  # answered while the slow one still builds
    release.set()
    worker.join(10)
    assert service._part("upsampler", "slow", lambda: "rebuilt") == "slow part"  # built once


def test_unknown_choices_are_options_errors(tmp_path):
    service = ModelService(weights_dir=tmp_path, download=False)
    with pytest.raises(OptionsError, match="detector must be one of auto, retinaface, yunet"):
        service.get("v1.4", detector="mtcnn")
