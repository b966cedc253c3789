"""Command-line arguments that more than one front end takes (the CLI's commands and the app's
server), declared once. Front ends that read their defaults from the environment (the app, as a
Space is configured) say so."""

from __future__ import annotations

import argparse
import os

from .options import RUNTIMES

ENVIRONMENT = {  # argument -> the variable that sets its default where the environment is read
    "model_path": "GFPGAN_MODEL_PATH",
    "device": "GFPGAN_DEVICE",
    "runtime": "GFPGAN_RUNTIME",
    "weights_dir": "GFPGAN_WEIGHTS_DIR",
}


def add_model_source_args(p: argparse.ArgumentParser, *, model_path_help: str, from_environment: bool = False) -> None:
    """``--model-path``, ``--device``, ``--runtime`` and ``--weights-dir``; with ``from_environment``
    their defaults come from :data:`ENVIRONMENT`'s variables."""

    def default(name: str, fallback: str | None) -> str | None:
        return os.environ.get(ENVIRONMENT[name], fallback) if from_environment else fallback

    p.add_argument("--model-path", default=default("model_path", None), help=model_path_help)
    p.add_argument(
        "--device", default=default("device", "auto"), help="auto (CUDA if present, else CPU), cpu, cuda, cuda:1 ..."
    )
    p.add_argument(
        "--runtime",
        default=default("runtime", "auto"),
        choices=RUNTIMES,
        help="what runs the face model and the background upscaler (auto: on a CPU an ONNX export in OpenVINO "
        "or ONNX Runtime, about 2x faster than torch and equal within 1e-3; torch on a GPU)",
    )
    add_weights_dir_arg(p, default("weights_dir", None))


def add_weights_dir_arg(p: argparse.ArgumentParser, default: str | None = None) -> None:
    p.add_argument(
        "--weights-dir", default=default, help="weights cache folder (default $GFPGAN_WEIGHTS_DIR or ./weights)"
    )
