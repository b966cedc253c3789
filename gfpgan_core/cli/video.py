"""``video -i clip.mp4 -o restored.mp4``: a clip's faces restored, its sound and timing kept; a run
stopped part way (Ctrl-C, a kill) resumes when the same command runs again."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from ..errors import InputNotFoundError, OptionsError
from .main import add_command
from .restore import add_face_options, build_restorer, face_options

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    from ..video import VideoOptions  # the defaults, said once

    defaults = VideoOptions()
    v = add_command(sub, "video")
    v.add_argument("-i", "--input", required=True, help="the clip (MP4, MOV, MKV, WebM, AVI, ...)")
    v.add_argument("-o", "--output", required=True, help="the restored clip: .mp4, .mov or .mkv")
    add_face_options(v, upscale=1.0)
    v.add_argument(
        "--crf", type=int, default=defaults.crf, help=f"H.264 quality, 0-51, lower is better ({defaults.crf})"
    )
    v.add_argument("--start", type=float, default=0.0, help="restore from this second on (default 0)")
    v.add_argument("--max-seconds", type=float, default=None, help="restore at most this many seconds")
    v.add_argument(
        "--no-tracking",
        dest="track",
        action="store_false",
        help="detect each frame's faces alone (default: follow them across frames and smooth their landmarks)",
    )
    v.add_argument(
        "--segment-seconds",
        type=float,
        default=defaults.segment_s,
        help=f"seconds per segment, what a stopped run resumes from ({defaults.segment_s:g})",
    )
    v.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..video import VideoOptions, VideoRestorer, probe

    clip, output = Path(args.input), Path(args.output)
    if not clip.is_file():
        raise InputNotFoundError(f"No such clip: {clip}")
    if output.exists() and output.resolve() == clip.resolve():
        raise OptionsError("The output would overwrite the clip itself; choose another name.")
    video = VideoOptions(
        start_s=args.start, max_seconds=args.max_seconds, crf=args.crf, track=args.track, segment_s=args.segment_seconds
    )
    info = probe(clip)
    log.info(f"{clip.name}: {info.describe()}")
    restorer = VideoRestorer(build_restorer(args), face_options(args), video)
    with tqdm(unit="frame", desc="Restoring", dynamic_ncols=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            result = restorer.restore(clip, output, progress=progress)
        except KeyboardInterrupt:
            log.error("Stopped: the whole segments are kept; the same command resumes from them.")
            raise
    log.info(f"{result.sentence()} Saved {output}")
    return 0
