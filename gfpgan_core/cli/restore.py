"""``restore`` (the default subcommand): an image or a folder, written like the official script's outputs."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from ..errors import GFPGANError, InputNotFoundError, OptionsError, plural
from ..expressions import expression_row, expressions_csv
from ..images import IMAGE_EXTENSIONS, Picture, check_suffix, list_images, output_extension, output_stems, write_image
from ..options import ALIGNMENTS, CALIBRATED_IN_WORDS, DETECTORS, PARSERS, TASKS, UPSAMPLERS, RestoreOptions
from ..pipeline import Restorer, RestorerSpec
from .common import add_model_args, default_model
from .main import add_command

log = logging.getLogger(__name__)
DEFAULTS = RestoreOptions()


def add_parser(sub: argparse._SubParsersAction) -> None:
    r = add_command(sub, "restore")
    r.add_argument("-i", "--input", required=True, help="image file or folder of images")
    r.add_argument("-o", "--output", default="results", help="output folder (default: results)")
    add_face_options(r)
    r.add_argument(
        "--task",
        choices=TASKS,
        default=DEFAULTS.task,
        help="restore faces (default), or, on aligned faces (--aligned is implied) with CodeFormer's own "
        "checkpoints: colorize a grey face, or inpaint a face's pure white region",
    )
    r.add_argument("--aligned", action="store_true", help="inputs are aligned face crops (skip detection)")
    r.add_argument(
        "--expressions",
        action="store_true",
        help="classify each face's expression before and after restoration (expressions.csv and .json in -o)",
    )
    r.add_argument("--ext", default="auto", help="output format: auto (as the input), png, jpg, webp")
    r.add_argument("--suffix", default="", help="suffix for restored images and faces (letters, digits, - _ .)")
    r.add_argument(
        "--skip-existing",
        dest="skip_existing",
        action="store_true",
        default=None,
        help="skip images whose restored output exists (the default for a folder, so a stopped run resumes)",
    )
    r.add_argument("--overwrite", dest="skip_existing", action="store_false", help="restore every image again")
    scale = r.add_argument_group(
        "on a Ray cluster (pip install 'gfpgan-core[scale]'; docs/scale.md)",
        "-i and -o may then be folders or URIs (s3://, gs://, ...); every image below -i is restored into "
        "-o/restored_imgs (sub-folders kept) with a manifest (-o/manifest.jsonl: a row per image, failures "
        "included); a rerun skips what the manifest and the outputs say is done (--overwrite: none)",
    )
    scale.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run on Ray: alone, a Ray started on this machine for the job; 'auto' or an address, a running cluster",
    )
    scale.add_argument("--actors", type=int, default=None, help="restoring actors (default: as the cluster holds)")
    scale.add_argument(
        "--gpus-per-actor", type=float, default=None, help="GPUs per actor (default: 1 where there are GPUs, else 0)"
    )
    r.set_defaults(handler=run)


def add_face_options(r: argparse.ArgumentParser, upscale: float = DEFAULTS.upscale) -> None:
    """The model and the options of restoring faces, shared by ``restore`` and ``video``."""
    add_model_args(r)
    r.add_argument(
        "-s",
        "--upscale",
        type=float,
        default=upscale,
        help=f"final upscale factor, >= 1 (default {upscale:g})",
    )
    r.add_argument(
        "-w",
        "--weight",
        type=float,
        default=DEFAULTS.weight,
        help="fidelity weight: 0 = input face, 1 = full restoration (default: the model's own, as its authors "
        "run it; docs/models.md lists them)",
    )
    r.add_argument(
        "--blend",
        type=float,
        default=DEFAULTS.blend,
        help="how much of each restored face replaces the original in the photo: 0 = none, 1 = all (default)",
    )
    r.add_argument("--only-center-face", action="store_true", help="restore only the face nearest the centre")
    r.add_argument("--bg-upsampler", default="auto", choices=UPSAMPLERS, help="background upsampler")
    r.add_argument("--detector", default="auto", choices=DETECTORS)
    r.add_argument("--parser", default="auto", choices=PARSERS, help="face mask for paste-back")
    r.add_argument(
        "--threshold",
        type=float,
        default=None,
        help=f"face detection confidence (default: the detector's calibrated value, {CALIBRATED_IN_WORDS})",
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


def output_name(out_dir: Path, folder: str, stem: str, suffix: str, ext: str) -> Path:
    """``out_dir/folder/STEM+SUFFIX.EXT``, refused if it would land anywhere else."""
    path = out_dir / folder / f"{stem}{suffix}.{ext}"
    if path.resolve().parent != (out_dir / folder).resolve():
        raise OptionsError(f"The output name {path.name!r} would leave {out_dir / folder}.")
    return path


def _picture(crop: np.ndarray) -> Picture:
    return Picture(crop.astype(np.float32) / 255)


def _side_by_side(a: np.ndarray, b: np.ndarray) -> Picture:
    return _picture(np.concatenate([a, b], axis=1))


def write_expressions(out_dir: Path, rows: list[dict[str, object]]) -> None:
    """expressions.csv (a line per face) and expressions.json (the same rows) in ``out_dir``."""
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "expressions.csv").write_text(expressions_csv(rows))
    (out_dir / "expressions.json").write_text(json.dumps(rows, indent=1))
    log.info(f"Expressions of {plural(len(rows), 'face')} in {out_dir / 'expressions.csv'} and expressions.json")


def say(message: str) -> None:
    """A line on stderr that does not break the progress bar."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)


def face_options(args: argparse.Namespace) -> RestoreOptions:
    return RestoreOptions(
        upscale=args.upscale,
        weight=args.weight,
        blend=args.blend,
        task=getattr(args, "task", DEFAULTS.task),
        only_center_face=args.only_center_face,
        aligned=getattr(args, "aligned", False) or getattr(args, "task", DEFAULTS.task) != "restore",
        min_face_size=args.min_face_size,
        detection_threshold=args.threshold,
        batch_size=args.batch_size,
        seed=args.seed,
        alignment=args.alignment,
        expressions=getattr(args, "expressions", False),
    )


def _restorer_spec(args: argparse.Namespace) -> RestorerSpec:
    return RestorerSpec(
        default_model(args),
        device=args.device,
        detector=args.detector,
        upsampler=args.bg_upsampler,
        parser=args.parser,
        weights_dir=args.weights_dir,
        download=not args.no_download,
        runtime=args.runtime,
    )


def build_restorer(args: argparse.Namespace) -> Restorer:
    restorer = _restorer_spec(args).build()
    log.info(f"Using {restorer.describe()}")
    for note in restorer.notes:
        log.info(f"note: {note}")
    return restorer


def run_on_ray(args: argparse.Namespace, suffix: str) -> int:
    """``--ray``: the same options as a folder, on a Ray cluster (gfpgan_core.scale); 1 if any image failed."""
    if args.expressions:
        raise OptionsError("--expressions is not available with --ray: the job writes restored images and a manifest.")
    try:
        import ray  # noqa: F401  (the extra's presence, checked before any work)

        from ..scale import ScaleJob, restore_dataset
    except ImportError:
        raise OptionsError("--ray needs Ray: pip install 'gfpgan-core[scale]'.") from None
    job = ScaleJob(
        source=args.input,
        destination=args.output,
        restorer=_restorer_spec(args),
        options=face_options(args),
        ext=args.ext,
        suffix=suffix,
        resume=args.skip_existing is not False,
        actors=args.actors,
        gpus_per_actor=args.gpus_per_actor,
    )
    report = restore_dataset(job, address=None if args.ray == "local" else args.ray, log=log.info)
    return 1 if report.failed else 0


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    suffix = check_suffix(args.suffix, "--suffix")
    if args.ray is not None:
        return run_on_ray(args, suffix)
    source = Path(args.input)
    inputs = list_images(source)
    skip_existing = source.is_dir() if args.skip_existing is None else args.skip_existing
    if not inputs:
        raise InputNotFoundError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in {args.input}.")
    out_dir = Path(args.output)
    input_set = {p.resolve() for p in inputs}
    options = face_options(args)
    restorer = build_restorer(args)

    stems = output_stems(inputs)
    for path in inputs:
        if stems[path] != path.stem:
            say(f"{path.name} shares its name with another input: its outputs are named {stems[path]}")

    def safe_write(path: Path, picture: Picture) -> None:
        if path.resolve() in input_set:
            raise GFPGANError(f"Refusing to overwrite the input {path}; choose another output folder or suffix.")
        write_image(path, picture)

    failures = skipped = total_faces = 0
    expression_rows: list[dict[str, object]] = []
    show_bar = len(inputs) > 1 and sys.stderr.isatty()  # else one line per image, for logs
    for n, path in enumerate(tqdm(inputs, desc="Restoring", unit="img", disable=not show_bar), 1):
        ext = output_extension(path.suffix, args.ext)
        target = output_name(out_dir, "restored_imgs", stems[path], suffix, ext)
        if skip_existing and target.exists():
            skipped += 1
            say(f"[{n}/{len(inputs)}] {path.name}: already restored ({target}); --overwrite redoes it")
            continue
        try:
            result = restorer.restore(path, options)
        except GFPGANError as exc:  # a bad image is reported and skipped; the rest go on
            failures += 1
            message = str(exc).removeprefix(f"{path.name}: ")
            say(f"[{n}/{len(inputs)}] skipped {path.name}: {message}")
            continue
        for i, face in enumerate(result.faces):
            name = f"{stems[path]}_{i:02d}"
            safe_write(output_name(out_dir, "cropped_faces", name, "", "png"), _picture(face.input_crop))
            safe_write(output_name(out_dir, "restored_faces", name, suffix, "png"), _picture(face.restored_crop))
            safe_write(output_name(out_dir, "cmp", name, "", "png"), _side_by_side(face.input_crop, face.restored_crop))
        if args.expressions:
            expression_rows += [
                expression_row(path.name, i, face.box, face.expression_before, face.expression_after)
                for i, face in enumerate(result.faces)
            ]
        safe_write(target, result.picture)  # last: its presence means the image is done
        total_faces += len(result.faces)
        notes = "".join(f" {note}" for note in result.notes)
        faces = result.face_count.sentence()
        say(f"[{n}/{len(inputs)}] {path.name}: {faces}, {result.timings['total']:.1f} s.{notes}")
    done = len(inputs) - failures - skipped
    if args.expressions:
        write_expressions(out_dir, expression_rows)
    log.info(
        f"Restored {done} of {plural(len(inputs), 'image')} ({plural(total_faces, 'face')}) into {out_dir}/"
        + (f"; {skipped} already done were skipped." if skipped else ".")
    )
    return 1 if failures else 0
