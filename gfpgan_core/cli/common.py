"""Arguments several subcommands share, and the default model rule they all follow."""

from __future__ import annotations

import argparse
import logging

from ..arguments import add_model_source_args, add_weights_dir_arg
from ..errors import GFPGANError, as_sentence

log = logging.getLogger(__name__)


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-m",
        "--model",
        help="zoo name (v1.4, v1.3, v1.2, ...) or weights file (default: v1.4, or the best model available offline)",
    )
    add_model_source_args(p, model_path_help="local weights file (.pth or .safetensors); overrides --model")
    add_no_download_arg(p)


def add_weights_args(p: argparse.ArgumentParser) -> None:
    add_weights_dir_arg(p)
    add_no_download_arg(p)


def add_no_download_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-download", action="store_true", help="never download; use files on disk only")


def default_model(args: argparse.Namespace) -> str:
    """The model a command uses when none is named: the same choice, and reason, as the app's."""
    if args.model_path or args.model:
        return str(args.model_path or args.model)
    task = getattr(args, "task", "restore")
    if task != "restore":  # the checkpoint made for it (CodeFormer's colourisation or inpainting)
        from .. import zoo

        made_for = zoo.entry_for_task(task).name
        log.info(f"Model: {made_for} (the checkpoint for --task {task}).")
        return made_for
    from ..service import ModelService  # torch: only once a command runs

    key, why = ModelService(weights_dir=args.weights_dir, download=not args.no_download).default_model()
    if key is None:
        raise GFPGANError(as_sentence(why))
    log.info(f"Model: {key} ({why}).")
    return key
