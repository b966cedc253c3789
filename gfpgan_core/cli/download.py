"""``download``: fetch weights into the cache, or list what the zoo holds and what is on disk."""

from __future__ import annotations

import argparse
import logging

from .. import zoo
from ..arguments import add_weights_dir_arg
from ..errors import GFPGANError
from .main import add_command

log = logging.getLogger(__name__)
DEFAULT_DOWNLOADS = ("v1.4", "realesr-general-x4v3", "retinaface-resnet50", "parsenet")


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = add_command(sub, "download")
    d.add_argument("names", nargs="*", help=f"zoo names (default: {', '.join(DEFAULT_DOWNLOADS)})")
    d.add_argument("--all", action="store_true", help="every entry of the zoo")
    d.add_argument("--list", action="store_true", help="list the zoo and what is on disk")
    d.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        help="install a file fetched by other means (checked against the published sha256; never moved)",
    )
    add_weights_dir_arg(d)
    d.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.list:
        log.info(f"weights folder: {zoo.weights_dir(args.weights_dir)}")
        log.info(f"{'name':22s} {'kind':10s} {'state':8s} file  description")
        for entry in zoo.ZOO.values():
            state = "on disk" if zoo.is_available(entry, args.weights_dir) else "missing"
            log.info(f"{entry.name:22s} {entry.kind:10s} {state:8s} {entry.filename}  {entry.description}")
        return 0
    if args.source:
        if len(args.names) != 1:
            raise GFPGANError("--from installs one file: name its model, e.g. `download v1.4 --from GFPGANv1.4.pth`.")
        path = zoo.install_from(args.names[0], args.source, args.weights_dir)
        log.info(f"{args.names[0]}: installed {path} (sha256 checked)")
        return 0
    names = list(zoo.ZOO) if args.all else (args.names or list(DEFAULT_DOWNLOADS))
    for name in names:
        entry = zoo.get_entry(name)
        if entry.bundled:
            continue
        if args.all and entry.by_name_only:
            log.info(f"{entry.name}: skipped by --all ({entry.licence}); `download {entry.name}` fetches it")
            continue
        path = zoo.ensure_weights(entry, args.weights_dir)
        log.info(f"{entry.name}: {path} (sha256 verified)" if entry.sha256 else f"{entry.name}: {path}")
    return 0
