"""``evaluate``: score a model on a face set beside the degraded-input baseline."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_weights_args
from .main import add_command


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = add_command(sub, "evaluate")
    p.add_argument("-m", "--model", default="v1.4", help="zoo name or weights file")
    p.add_argument("--hq", help="folder of high-quality aligned faces (synthetic test set is built from it)")
    p.add_argument("--lq", help="folder of real low-quality aligned faces (no-reference metrics only)")
    p.add_argument(
        "-o", "--output", default="results/eval", help="output folder for results.json/.md and the contact sheet"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--strength",
        type=float,
        default=1.0,
        help="degradation strength for --hq: 1 = the paper's ranges, 0.5 milder, 2 harsher",
    )
    p.add_argument("--limit", type=int, default=None, help="evaluate only the first N images")
    p.add_argument("--device", default="auto")
    add_weights_args(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation import evaluate  # research code: its extra dependencies load only here

    evaluate(
        args.model,
        Path(args.output),
        Path(args.hq) if args.hq else None,
        Path(args.lq) if args.lq else None,
        seed=args.seed,
        limit=args.limit,
        device=args.device,
        weights_dir=args.weights_dir,
        download=not args.no_download,
        strength=args.strength,
    )
    return 0
