"""``export``: a checkpoint's inference (EMA) weights as ``.safetensors``."""

from __future__ import annotations

import argparse
import logging

from ..checkpoint import export_safetensors
from .main import add_command

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    x = add_command(sub, "export")
    x.add_argument("checkpoint", help="a .pth/.safetensors checkpoint (params_ema is taken first)")
    x.add_argument("output", help="the .safetensors file to write")
    x.add_argument("--half", action="store_true", help="store float16 (half the size)")
    x.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    path, config = export_safetensors(args.checkpoint, args.output, args.half)
    log.info(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {config})")
    return 0
