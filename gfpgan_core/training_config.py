"""The training run's configuration: typed dataclasses read from a YAML file (unknown keys refused)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .archs import GFPGANConfig
from .degradation import DegradationConfig
from .errors import GFPGANError


@dataclass
class DataConfig:
    folders: list[str] = field(default_factory=list)  # aligned high-quality faces
    align_from: list[str] = field(default_factory=list)  # unaligned photos: faces are detected and aligned
    val_fraction: float = 0.1  # held out by a hash of the file name: stable across runs
    min_face_size: int = 128  # faces smaller than this (in the photo) are too soft to learn from


@dataclass
class LossConfig:
    pixel: float = 0.1
    pyramid: float = 1.0
    perceptual: float = 1.0
    perceptual_style: float = 50.0
    gan: float = 0.1
    r1: float = 10.0
    r1_every: int = 16
    component_gan: float = 1.0
    component_style: float = 200.0
    identity: float = 10.0


@dataclass
class TrainConfig:
    name: str = "gfpgan"
    output_dir: str = "results/train"
    model: GFPGANConfig = field(default_factory=GFPGANConfig)
    data: DataConfig = field(default_factory=DataConfig)
    losses: LossConfig = field(default_factory=LossConfig)
    degradation: DegradationConfig = field(default_factory=DegradationConfig)
    batch_size: int = 4
    iterations: int = 1000
    lr_g: float = 2e-3
    lr_d: float = 2e-3
    lr_milestones: list[int] = field(default_factory=list)
    ema_decay: float = 0.5 ** (32 / 10_000)  # GFPGAN's per-iteration decay, ~0.99778
    init: str | None = None  # a GFPGAN checkpoint to fine-tune (zoo name or path)
    decoder: str | None = None  # pretrained StyleGAN2 decoder weights
    fix_decoder: bool = False
    components: bool = True
    eye_crop: int = 80  # component crop sizes at 512, as GFPGAN's; scaled with the model's out_size
    mouth_crop: int = 120
    identity_weights: str | None = "arcface-resnet18"  # zoo name or path; skipped when unavailable
    vgg_weights: str | None = "vgg19"
    save_every: int = 500
    log_every: int = 10
    val_every: int = 250
    seed: int = 0
    device: str = "auto"
    threads: int | None = None


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Build a (nested) dataclass, refusing unknown keys instead of silently dropping them."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(names)
    if unknown:
        raise GFPGANError(f"Unknown {cls.__name__} option(s): {', '.join(sorted(unknown))}.")
    kwargs = {}
    for key, value in data.items():
        default = getattr(cls(), key) if key in names else None
        if dataclasses.is_dataclass(default) and isinstance(value, dict):
            value = _from_dict(type(default), value)
        elif isinstance(default, tuple) and isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    import yaml

    text = Path(path).read_text()
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise GFPGANError(f"{path} must hold a mapping of options.")
    data.update(overrides or {})
    return _from_dict(TrainConfig, data)
