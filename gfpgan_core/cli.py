"""Command line: ``python -m gfpgan_core [restore] -i INPUT -o OUTPUT``, ``download``, ``evaluate``, ``train``.

Errors are one line on stderr, never a traceback; a bad file in a folder is skipped and reported,
the rest are still restored. Inputs are only ever read.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .errors import GFPGANError
from .images import IMAGE_EXTENSIONS, Picture, write_image

COMMANDS = ("restore", "download", "evaluate", "train", "degrade", "export")


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-m", "--model", help="zoo name (v1.4, v1.3, v1.2, ...) or weights file (default: v1.4, or the best model available offline)"
    )
    p.add_argument("--model-path", help="local weights file (.pth or .safetensors); overrides --model")
    p.add_argument("--device", default="auto", help="auto (CUDA if present, else CPU), cpu, cuda, cuda:1 ...")
    p.add_argument("--weights-dir", help="weights cache folder (default $GFPGAN_WEIGHTS_DIR or ./weights)")
    p.add_argument("--no-download", action="store_true", help="never download; use files on disk only")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gfpgan_core", description="Blind face restoration with GFPGAN.")
    sub = parser.add_subparsers(dest="command")

    r = sub.add_parser("restore", help="restore the faces in an image or a folder of images (the default)")
    r.add_argument("-i", "--input", required=True, help="image file or folder of images")
    r.add_argument("-o", "--output", default="results", help="output folder (default: results)")
    _add_model_args(r)
    r.add_argument("-s", "--upscale", type=float, default=2.0, help="final upscale factor, >= 1 (default 2)")
    r.add_argument("-w", "--weight", type=float, default=1.0, help="fidelity weight: 0 = input face, 1 = full restoration")
    r.add_argument("--only-center-face", action="store_true", help="restore only the face nearest the centre")
    r.add_argument("--aligned", action="store_true", help="inputs are aligned face crops (skip detection)")
    r.add_argument("--bg-upsampler", default="auto", choices=("auto", "realesrgan", "lanczos"), help="background upsampler")
    r.add_argument("--detector", default="auto", choices=("auto", "retinaface", "yunet"))
    r.add_argument("--parser", default="auto", choices=("auto", "parsenet", "none"), help="face mask for paste-back")
    r.add_argument("--threshold", type=float, default=0.6, help="face detection confidence (default 0.6)")
    r.add_argument("--min-face-size", type=float, default=0, help="ignore faces smaller than this many pixels")
    r.add_argument("--batch-size", type=int, default=4, help="faces per forward pass")
    r.add_argument("--seed", type=int, default=None, help="fresh noise from this seed (default: the checkpoint's stored noise)")
    r.add_argument("--ext", default="auto", help="output format: auto (as the input), png, jpg, webp")
    r.add_argument("--suffix", default="", help="suffix for restored images and faces")

    d = sub.add_parser("download", help="download weights into the weights folder")
    d.add_argument("names", nargs="*", help="zoo names (default: v1.4 and the helpers the pipeline uses)")
    d.add_argument("--all", action="store_true", help="every entry of the zoo")
    d.add_argument("--list", action="store_true", help="list the zoo and what is on disk")
    d.add_argument("--weights-dir")

    from . import evaluation, training  # their arguments live with them

    evaluation.add_arguments(sub.add_parser("evaluate", help="measure a model on a folder of faces (PSNR, SSIM, NIQE, ...)"))
    training.add_arguments(sub.add_parser("train", help="train or fine-tune GFPGANv1Clean from a config file"))
    from . import degradation

    degradation.add_arguments(sub.add_parser("degrade", help="degrade a folder of aligned faces into a test set"))

    x = sub.add_parser("export", help="write a checkpoint's EMA generator weights as .safetensors")
    x.add_argument("checkpoint", help="a .pth/.safetensors checkpoint (params_ema is taken first)")
    x.add_argument("output", help="the .safetensors file to write")
    x.add_argument("--half", action="store_true", help="store float16 (half the size)")
    return parser


def default_model(args: argparse.Namespace, echo: Callable[[str], None]) -> str:
    """The model a command uses when none is named: the same choice, and reason, as the app's."""
    if args.model_path or args.model:
        return args.model_path or args.model
    from .service import ModelService

    key, why = ModelService(weights_dir=args.weights_dir, download=not args.no_download, log=echo).default_model()
    if key is None:
        raise GFPGANError(why[0].upper() + why[1:] + ".")
    echo(f"Model: {key} ({why}).")
    return key


def list_images(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    raise GFPGANError(f"Input {path} does not exist.")


def _side_by_side(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.concatenate([a, b], axis=1)


def run_restore(args: argparse.Namespace, echo: Callable[[str], None]) -> int:
    from tqdm import tqdm

    from .pipeline import RestoreOptions, Restorer

    inputs = list_images(Path(args.input))
    if not inputs:
        raise GFPGANError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {args.input}.")
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
    ).validated()
    restorer = Restorer.from_pretrained(
        default_model(args, echo),
        device=args.device,
        detector=args.detector,
        background=args.bg_upsampler,
        parser=args.parser,
        weights_dir=args.weights_dir,
        download=not args.no_download,
        log_fn=echo,
    )
    echo(f"Using {restorer.describe()}")
    for note in restorer.notes:
        echo(f"note: {note}")

    def safe_write(path: Path, picture: Picture) -> None:
        if path.resolve() in input_set:
            raise GFPGANError(f"Refusing to overwrite the input {path}; choose another output folder or suffix.")
        write_image(path, picture)

    failures = 0
    total_faces = 0
    for path in tqdm(inputs, desc="Restoring", unit="img", disable=len(inputs) < 2 or not sys.stderr.isatty()):
        try:
            result = restorer.restore(path, options)
        except GFPGANError as exc:
            failures += 1
            echo(f"skipped {path.name}: {exc}")
            continue
        stem = path.stem
        ext = path.suffix.lower().lstrip(".") if args.ext == "auto" else args.ext.lower().lstrip(".")
        if ext not in ("png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff"):
            ext = "png"
        for i, face in enumerate(result.faces):
            crop = Picture(face.input_crop.astype(np.float32) / 255)
            restored = Picture(face.restored_crop.astype(np.float32) / 255)
            safe_write(out_dir / "cropped_faces" / f"{stem}_{i:02d}.png", crop)
            safe_write(out_dir / "restored_faces" / f"{stem}_{i:02d}{args.suffix}.png", restored)
            both = _side_by_side(face.input_crop, face.restored_crop).astype(np.float32) / 255
            safe_write(out_dir / "cmp" / f"{stem}_{i:02d}.png", Picture(both))
        safe_write(out_dir / "restored_imgs" / f"{stem}{args.suffix}.{ext}", result.picture)
        total_faces += len(result.faces)
        for note in result.notes:
            echo(f"{path.name}: {note}")
    echo(f"Restored {len(inputs) - failures} of {len(inputs)} images ({total_faces} faces) into {out_dir}/")
    return 1 if failures else 0


def run_download(args: argparse.Namespace, echo: Callable[[str], None]) -> int:
    from . import zoo

    if args.list:
        for entry in zoo.ZOO.values():
            state = "on disk" if zoo.is_available(entry, args.weights_dir) else "missing"
            echo(f"{entry.name:22s} {entry.kind:10s} {state:8s} {entry.filename}  {entry.description}")
        return 0
    names = list(zoo.ZOO) if args.all else (args.names or ["v1.4", "realesr-general-x4v3", "retinaface-resnet50", "parsenet"])
    for name in names:
        entry = zoo.get_entry(name)
        if entry.bundled:
            continue
        path = zoo.ensure_weights(entry, args.weights_dir, log=echo)
        echo(f"{entry.name}: {path} (sha256 verified)" if entry.sha256 else f"{entry.name}: {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv.insert(0, "restore")  # `python -m gfpgan_core -i x -o y` restores, as the official script did
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2

    def echo(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        if args.command == "restore":
            return run_restore(args, echo)
        if args.command == "download":
            return run_download(args, echo)
        if args.command == "export":
            from .checkpoint import export_safetensors

            path, config = export_safetensors(args.checkpoint, args.output, args.half)
            echo(f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {config})")
            return 0
        return int(args.handler(args, echo) or 0)
    except (GFPGANError, KeyError, ValueError) as exc:
        echo(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}")
        return 2
    except KeyboardInterrupt:
        echo("interrupted")
        return 130
    except OSError as exc:  # disk full, permission denied on the output folder
        echo(f"error: {exc.strerror or exc}{f': {exc.filename}' if getattr(exc, 'filename', None) else ''}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
