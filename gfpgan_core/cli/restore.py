"""``restore`` (the default subcommand): an image or a folder, written like the official script's outputs."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from ..errors import GFPGANError, InputNotFoundError
from ..images import IMAGE_EXTENSIONS, Picture, list_images, write_image
from ..options import ALIGNMENTS, DETECTORS, PARSERS, UPSAMPLERS, RestoreOptions
from ..pipeline import Restorer
from .common import add_model_args, default_model

log = logging.getLogger(__name__)
DEFAULTS = RestoreOptions()
OUTPUT_EXTENSIONS = ("png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff")


def add_parser(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser("restore", help="restore the faces in an image or a folder of images (the default)")
    r.add_argument("-i", "--input", required=True, help="image file or folder of images")
    r.add_argument("-o", "--output", default="results", help="output folder (default: results)")
    add_model_args(r)
    r.add_argument(
        "-s",
        "--upscale",
        type=float,
        default=DEFAULTS.upscale,
        help=f"final upscale factor, >= 1 (default {DEFAULTS.upscale:g})",
    )
    r.add_argument(
        "-w",
        "--weight",
        type=float,
        default=DEFAULTS.weight,
        help="fidelity weight: 0 = input face, 1 = full restoration",
    )
    r.add_argument("--only-center-face", action="store_true", help="restore only the face nearest the centre")
    r.add_argument("--aligned", action="store_true", help="inputs are aligned face crops (skip detection)")
    r.add_argument("--bg-upsampler", default="auto", choices=UPSAMPLERS, help="background upsampler")
    r.add_argument("--detector", default="auto", choices=DETECTORS)
    r.add_argument("--parser", default="auto", choices=PARSERS, help="face mask for paste-back")
    r.add_argument(
        "--threshold",
        type=float,
        default=DEFAULTS.detection_threshold,
        help=f"face detection confidence (default {DEFAULTS.detection_threshold:g})",
    )
    r.add_argument(
        "--min-face-size", type=float, default=DEFAULTS.min_face_size, help="ignore faces smaller than this many pixels"
    )
    r.add_argument(
        "--alignment",
        default=DEFAULTS.alignment,
        choices=ALIGNMENTS,
        help="least-squares fit of all 5 landmarks (default), or official: facexlib's exact crops (LMEDS)",
    )
    r.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size, help="faces per forward pass")
    r.add_argument(
        "--seed", type=int, default=None, help="fresh noise from this seed (default: the checkpoint's stored noise)"
    )
    r.add_argument("--ext", default="auto", help="output format: auto (as the input), png, jpg, webp")
    r.add_argument("--suffix", default="", help="suffix for restored images and faces")
    r.set_defaults(handler=run)


def _side_by_side(a: np.ndarray, b: np.ndarray) -> Picture:
    return Picture(np.concatenate([a, b], axis=1).astype(np.float32) / 255)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    inputs = list_images(Path(args.input))
    if not inputs:
        raise InputNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {args.input}.")
    out_dir = Path(args.output)
    input_set = {p.resolve() for p in inputs}
    options = RestoreOptions(
        upscale=args.upscale,
        weight=args.weight,
        only_center_face=args.only_center_face,
        aligned=args.aligned,
        min_face_size=args.min_face_size,
        detection_threshold=args.threshold,
        batch_size=args.batch_size,
        seed=args.seed,
        alignment=args.alignment,
    )
    restorer = Restorer.from_pretrained(
        default_model(args),
        device=args.device,
        detector=args.detector,
        upsampler=args.bg_upsampler,
        parser=args.parser,
        weights_dir=args.weights_dir,
        download=not args.no_download,
    )
    log.info(f"Using {restorer.describe()}")
    for note in restorer.notes:
        log.info(f"note: {note}")

    def safe_write(path: Path, picture: Picture) -> None:
        if path.resolve() in input_set:
            raise GFPGANError(f"Refusing to overwrite the input {path}; choose another output folder or suffix.")
        write_image(path, picture)

    failures = 0
    total_faces = 0
    for path in tqdm(inputs, desc="Restoring", unit="img", disable=len(inputs) < 2 or not sys.stderr.isatty()):
        try:
            result = restorer.restore(path, options)
        except GFPGANError as exc:  # a bad image is reported and skipped; the rest go on
            failures += 1
            log.warning(f"skipped {path.name}: {exc}")
            continue
        stem = path.stem
        ext = path.suffix.lower().lstrip(".") if args.ext == "auto" else args.ext.lower().lstrip(".")
        if ext not in OUTPUT_EXTENSIONS:
            ext = "png"
        for i, face in enumerate(result.faces):
            safe_write(
                out_dir / "cropped_faces" / f"{stem}_{i:02d}.png", Picture(face.input_crop.astype(np.float32) / 255)
            )
            safe_write(
                out_dir / "restored_faces" / f"{stem}_{i:02d}{args.suffix}.png",
                Picture(face.restored_crop.astype(np.float32) / 255),
            )
            safe_write(out_dir / "cmp" / f"{stem}_{i:02d}.png", _side_by_side(face.input_crop, face.restored_crop))
        safe_write(out_dir / "restored_imgs" / f"{stem}{args.suffix}.{ext}", result.picture)
        total_faces += len(result.faces)
        for note in result.notes:
            log.info(f"{path.name}: {note}")
    log.info(f"Restored {len(inputs) - failures} of {len(inputs)} images ({total_faces} faces) into {out_dir}/")
    return 1 if failures else 0
