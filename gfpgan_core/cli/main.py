"""``python -m gfpgan_core [restore] -i INPUT -o OUTPUT``, ``download``, ``evaluate``, ``train``, ...

Errors a user can cause (:class:`GFPGANError`, and ``OSError`` such as a full disk) are one line on
stderr with exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from ..errors import GFPGANError

log = logging.getLogger(__name__)
# command -> (its module, one line of help). A command's module (and torch with it) is imported only
# when that command runs or shows its own help: `gfpgan --help` answers at once.
COMMANDS = {
    "restore": ("restore", "restore the faces in an image or a folder of images (the default)"),
    "video": ("video", "restore the faces of a video clip, its sound and timing kept (resumes if stopped)"),
    "download": ("download", "download weights into the weights folder, or install a file fetched elsewhere"),
    "evaluate": ("evaluate", "measure a model on a folder of faces (PSNR, SSIM, NIQE, ...)"),
    "train": ("train", "train or fine-tune GFPGANv1Clean from a config file"),
    "degrade": ("degrade", "degrade a folder of aligned faces into a test set"),
    "export": ("export", "write a checkpoint's EMA generator weights as .safetensors"),
    "benchmark": ("benchmark", "measure speed: face model runtimes, pipeline stages, cold start, memory"),
    "demo-checkpoint": (
        "demo",
        "write a random-weight checkpoint for trying the app without real weights (faces come out as noise)",
    ),
}


def add_command(sub: argparse._SubParsersAction, name: str) -> argparse.ArgumentParser:
    """The subparser of ``name``, with its help line (each command module adds its arguments)."""
    return sub.add_parser(name, help=COMMANDS[name][1])


def program_name() -> str:
    """What the user typed: the installed ``gfpgan`` script, or ``python -m gfpgan_core``."""
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return "gfpgan" if script in ("gfpgan", "gfpgan.exe") else "python -m gfpgan_core"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, the other commands are listed without importing their modules."""
    parser = argparse.ArgumentParser(prog=program_name(), description="Blind face restoration with GFPGAN.")
    sub = parser.add_subparsers(dest="command")
    for name, (module, _) in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"{__package__}.{module}").add_parser(sub)
        else:
            add_command(sub, name)
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
    parser = build_parser(only=argv[0] if argv else "")
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
