"""``demo-checkpoint``: a random-weight GFPGAN checkpoint for trying the app and the API where no real
weights can be had (its faces come out as noise: it shows the page, the queue and the API work)."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from typing import Any

from .main import add_command

log = logging.getLogger(__name__)
# the tests' small GFPGANv1Clean (fast on a CPU), or v1.4's own shape (its real speed, 340 MB)
SIZES: dict[int, dict[str, Any]] = {
    64: {"out_size": 64, "num_style_feat": 64, "channel_multiplier": 1, "num_mlp": 2, "narrow": 0.125},
    512: {},
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = add_command(sub, "demo-checkpoint")
    d.add_argument("path", help="the file to write, e.g. demo.pth")
    d.add_argument(
        "--size", type=int, choices=sorted(SIZES), default=64, help="64: small and fast (default); 512: v1.4's shape"
    )
    d.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..archs import GFPGANConfig
    from ..checkpoint import write_random_checkpoint
    from ..zoo import PROJECT_ROOT

    path = write_random_checkpoint(args.path, GFPGANConfig(**SIZES[args.size])).resolve()
    app = PROJECT_ROOT / "app.py"
    start = (
        f"{shlex.quote(sys.executable)} {shlex.quote(str(app))} --model-path {shlex.quote(str(path))}"
        if app.is_file()
        else f"python app.py --model-path {shlex.quote(str(path))} (app.py is in the repository)"
    )
    log.info(
        f"wrote {path}: RANDOM weights, so restored faces come out as noise (it shows the app and its API working)"
    )
    log.info(f"start the app with it: {start}")
    return 0
