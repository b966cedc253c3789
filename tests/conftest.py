"""Shared test fixtures: tiny random-weight checkpoints in the official format, real photos."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"
DATA = SHARED / "data"
ARTIFACTS = REPO / "test-artifacts"

# A GFPGANv1Clean small enough to run on real photos in a test, same flags as v1.3/v1.4.
TINY_CONFIG = dict(out_size=64, num_style_feat=64, channel_multiplier=1, num_mlp=2, narrow=0.125)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def photos(folder: str, limit: int | None = None) -> list[Path]:
    root = need(DATA / folder)
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return files[:limit]


@pytest.fixture(autouse=True)
def _isolated_weights(tmp_path_factory, monkeypatch):
    """Every test sees an empty weights cache: nothing leaks in from a developer's weights/."""
    monkeypatch.setenv("GFPGAN_WEIGHTS_DIR", str(tmp_path_factory.mktemp("weights")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def write_gfpgan_checkpoint(path: Path, seed: int = 0, **config) -> Path:
    """A random-weight GFPGANv1Clean saved as the official releases are: {'params_ema': ...}."""
    from gfpgan_core.archs import GFPGANConfig

    torch.manual_seed(seed)
    model = GFPGANConfig(**{**TINY_CONFIG, **config}).build()
    torch.save({"params_ema": model.state_dict()}, path)
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return write_gfpgan_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny_gfpgan.pth")


class IdentityRestorer(nn.Module):
    """Stands in for GFPGAN: returns the aligned crop unchanged."""

    out_size = 512

    def forward(self, x, return_rgb=False, randomize_noise=False, noise=None):
        return x, []


@pytest.fixture(scope="session")
def identity_restorer():
    from gfpgan_core import Restorer
    from gfpgan_core.faces import YuNetDetector

    return Restorer(IdentityRestorer(), detector=YuNetDetector(), device="cpu")


@pytest.fixture(scope="session")
def tiny_restorer(tiny_checkpoint):
    from gfpgan_core import Restorer

    return Restorer.from_pretrained(tiny_checkpoint, device="cpu", download=False)


def rgb_uint8(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
