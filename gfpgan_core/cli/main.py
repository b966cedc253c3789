"""``python -m gfpgan_core [restore] -i INPUT -o OUTPUT``, ``download``, ``evaluate``, ``train``, ...

Errors a user can cause (:class:`GFPGANError`, and ``OSError`` such as a full disk) are one line on
stderr with exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from ..errors import GFPGANError
from . import benchmark, degrade, demo, download, evaluate, export, restore, train

log = logging.getLogger(__name__)
COMMANDS = {
    "restore": restore,
    "download": download,
    "evaluate": evaluate,
    "train": train,
    "degrade": degrade,
    "export": export,
    "benchmark": benchmark,
    "demo-checkpoint": demo,
}


def program_name() -> str:
    """What the user typed: the installed ``gfpgan`` script, or ``python -m gfpgan_core``."""
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "gfpgan" if script in ("gfpgan", "gfpgan.exe") else "python -m gfpgan_core"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program_name(), description="Blind face restoration with GFPGAN.")
    sub = parser.add_subparsers(dest="command")
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


class _StderrHandler(logging.StreamHandler):
    """Plain lines on whatever ``sys.stderr`` is when a record is written (callers may swap it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def _log_to_stderr() -> None:
    """The library logs through ``logging``; the command line shows its INFO lines as plain text."""
    root = logging.getLogger("gfpgan_core")
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        root.addHandler(_StderrHandler())
    root.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv.insert(0, "restore")  # `python -m gfpgan_core -i x -o y` restores, as the official script did
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _log_to_stderr()
    try:
        return int(args.handler(args) or 0)
    except GFPGANError as exc:
        log.error(f"error: {exc}")
        return 2
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    except OSError as exc:  # disk full, permission denied on the output folder
        log.error(f"error: {exc.strerror or exc}{f': {exc.filename}' if getattr(exc, 'filename', None) else ''}")
        return 2
