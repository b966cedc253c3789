"""``degrade``: a synthetic low-quality copy of a folder of aligned faces, with the paper's degradation."""

from __future__ import annotations

import argparse
import logging
from dataclasses import asdict
from pathlib import Path

from .main import add_command

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "degrade")
    p.add_argument("-i", "--input", required=True, help="folder of high-quality aligned faces")
    p.add_argument("-o", "--output", required=True, help="folder for the degraded copies (PNG)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..degradation import DegradationConfig, degrade_folder  # research code, loaded only here

    config = DegradationConfig()
    written = degrade_folder(Path(args.input), Path(args.output), args.seed, config)
    log.info(f"Degraded {len(written)} images into {args.output} (seed {args.seed}; ranges {asdict(config)})")
    return 0
