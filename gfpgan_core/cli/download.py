"""``download``: fetch weights into the cache, or list what the zoo holds and what is on disk."""

from __future__ import annotations

import argparse
import logging

from .. import zoo

log = logging.getLogger(__name__)
DEFAULT_DOWNLOADS = ("v1.4", "realesr-general-x4v3", "retinaface-resnet50", "parsenet")


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("download", help="download weights into the weights folder")
    d.add_argument("names", nargs="*", help=f"zoo names (default: {', '.join(DEFAULT_DOWNLOADS)})")
    d.add_argument("--all", action="store_true", help="every entry of the zoo")
    d.add_argument("--list", action="store_true", help="list the zoo and what is on disk")
    d.add_argument("--weights-dir")
    d.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        for entry in zoo.ZOO.values():
            state = "on disk" if zoo.is_available(entry, args.weights_dir) else "missing"
            log.info(f"{entry.name:22s} {entry.kind:10s} {state:8s} {entry.filename}  {entry.description}")
        return 0
    names = list(zoo.ZOO) if args.all else (args.names or list(DEFAULT_DOWNLOADS))
    for name in names:
        entry = zoo.get_entry(name)
        if entry.bundled:
            continue
        path = zoo.ensure_weights(entry, args.weights_dir)
        log.info(f"{entry.name}: {path} (sha256 verified)" if entry.sha256 else f"{entry.name}: {path}")
    return 0
