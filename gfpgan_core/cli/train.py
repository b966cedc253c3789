"""``train``: train or fine-tune GFPGANv1Clean from a YAML config."""

from __future__ import annotations

import argparse

from .main import add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "train")
    p.add_argument("config", help="YAML file with TrainConfig fields (see configs/)")
    p.add_argument("--iterations", type=int, help="override the config's iteration count")
    p.add_argument("--device", help="override the config's device")
    p.add_argument("--restart", action="store_true", help="ignore a saved training state and start over")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..training import train  # research code: its extra dependencies load only here
    from ..training_config import load_config

    overrides = {k: v for k, v in (("iterations", args.iterations), ("device", args.device)) if v is not None}
    train(load_config(args.config, overrides), resume=not args.restart)
    return 0
