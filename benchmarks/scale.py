"""Throughput of archive jobs on Ray against the folder CLI's single process, in one run, and what it
means for a cluster.

    .venv/bin/python benchmarks/scale.py                       # 16 real photos, a full-size random GFPGAN
    .venv/bin/python benchmarks/scale.py --images 32 --model-path weights/GFPGANv1.4.pth

Three ways over the same folder, each from nothing to the last file written (model loading, Ray's
start and the actors' start included, as a user waits for them):
1. the folder CLI's way: one process, one Restorer, image after image (``restore -i DIR``);
2. ``restore_dataset`` on a local Ray with one actor;
3. the same with two actors.
It prints images per second and each one's ratio to the CLI, checks that every Ray output equals the
CLI's byte for byte, and writes the figures and the cluster arithmetic (``--per-gpu`` images/s per
GPU actor: a parameter until a GPU measures it; object-store rates from the bytes read and written
here) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Ray's workers import this checkout too
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))

from gfpgan_core.archs import GFPGANConfig  # noqa: E402
from gfpgan_core.checkpoint import write_random_checkpoint  # noqa: E402
from gfpgan_core.images import write_image  # noqa: E402
from gfpgan_core.options import RestoreOptions  # noqa: E402
from gfpgan_core.pipeline import Restorer, RestorerSpec  # noqa: E402
from gfpgan_core.scale import ScaleJob, restore_dataset  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "hq_photos"
ENGINE = {"detector": "yunet", "upsampler": "lanczos", "parser": "none"}  # nothing downloaded
ARCHIVE = 10_000_000
DAY_S = 86_400


def source_photos(n: int) -> list[Path]:
    """The first ``n`` real photos of ../shared/data/hq_photos, else the examples (repeated)."""
    pool = sorted(SHARED.glob("*.jpg")) if SHARED.is_dir() else sorted((REPO / "examples").glob("*.jpg"))
    return [pool[i % len(pool)] for i in range(n)]


def cli_way(src: Path, dst: Path, model: Path, options: RestoreOptions) -> tuple[float, list[float]]:
    """The folder CLI's loop in one process: a Restorer built once, each image restored and written.
    (seconds in all, seconds of each image)."""
    started = time.perf_counter()
    restorer = Restorer.from_pretrained(model, download=False, **ENGINE)
    each = []
    for path in sorted(src.iterdir()):
        image_started = time.perf_counter()
        try:
            result = restorer.restore(path, options)
        except Exception:  # a bad file is skipped, as the CLI does
            continue
        write_image(dst / "restored_imgs" / path.name, result.picture)
        each.append(time.perf_counter() - image_started)
    return time.perf_counter() - started, each


def ray_way(
    src: Path, dst: Path, model: Path, options: RestoreOptions, actors: int
) -> tuple[float, float, list[float]]:
    """(seconds in all, seconds of it starting Ray, each image's seconds in its actor as the manifest
    has them) for restore_dataset with ``actors`` actors."""
    import ray

    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, configure_logging=False, log_to_driver=False)
    ray_start = time.perf_counter() - started
    try:
        spec = RestorerSpec(str(model), download=False, **ENGINE)
        job = ScaleJob(str(src), str(dst), spec, options=options, actors=actors)
        report = restore_dataset(job)
        assert report.failed == 0, report.line()
    finally:
        ray.shutdown()
    rows = [json.loads(line) for line in (dst / "manifest.jsonl").read_text().splitlines()]
    return time.perf_counter() - started, ray_start, [row["seconds"] for row in rows]


def cluster(per_actor_cpu: float, per_gpu: list[float], bytes_in: float, bytes_out: float) -> dict:
    """What 10 million photos take: GPUs for a day and GPU-hours at each per-GPU rate, CPU actors at the
    rate measured here, and the object-store traffic a day's job needs."""
    rows = []
    for rate in per_gpu:
        gpu_hours = ARCHIVE / rate / 3600
        rows.append({"images_per_s_per_gpu": rate, "gpus_for_one_day": math.ceil(ARCHIVE / (rate * DAY_S)),
                     "gpu_hours": round(gpu_hours)})  # fmt: skip
    return {
        "archive_images": ARCHIVE,
        "gpu": rows,
        "cpu_actors_for_one_day_at_measured_rate": math.ceil(ARCHIVE / (per_actor_cpu * DAY_S)),
        "cpu_actor_hours": round(ARCHIVE / per_actor_cpu / 3600),
        "mean_input_bytes": round(bytes_in),
        "mean_output_bytes": round(bytes_out),
        "object_store_mb_per_s_for_one_day": round(ARCHIVE * (bytes_in + bytes_out) / DAY_S / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--model-path", type=Path, help="a checkpoint (default: a full-size random GFPGAN v1.4)")
    parser.add_argument(
        "--per-gpu",
        type=float,
        nargs="+",
        default=[5.0, 20.0, 50.0],
        help="images/s of one GPU actor, for the cluster arithmetic (not measured without a GPU)",
    )
    parser.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="gfpgan-scale-bench-"))
    try:
        model = args.model_path or write_random_checkpoint(work / "GFPGANv1.4_random.pth", GFPGANConfig())
        src = work / "src"
        src.mkdir()
        for i, photo in enumerate(source_photos(args.images)):
            shutil.copy(photo, src / f"{i:04d}_{photo.name}")
        options = RestoreOptions()  # the CLI's defaults: x2, every face
        # not timed: the first Restorer of a model converts it for the CPU runtime and caches that on
        # disk; the three ways below then start alike
        Restorer.from_pretrained(model, download=False, **ENGINE).restore(next(src.iterdir()), options)
        timings, each = {}, {}
        timings["cli"], each["cli"] = cli_way(src, work / "cli", model, options)
        ray_start = {}
        for actors in (1, 2):
            way = f"ray_{actors}"
            timings[way], ray_start[actors], each[way] = ray_way(src, work / f"ray{actors}", model, options, actors)
            for path in (work / "cli" / "restored_imgs").iterdir():
                same = (work / f"ray{actors}" / "restored_imgs" / path.name).read_bytes() == path.read_bytes()
                assert same, f"{path.name} differs from the CLI's with {actors} actors"
        n = args.images
        rates = {k: n / s for k, s in timings.items()}
        bytes_in = sum(p.stat().st_size for p in src.iterdir()) / n
        bytes_out = sum(p.stat().st_size for p in (work / "cli" / "restored_imgs").iterdir()) / n
        figures = {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or 'cpu'}; no GPU",
            "images": n,
            "source": "../shared/data/hq_photos" if SHARED.is_dir() else "examples/",
            "model": str(args.model_path or "random GFPGAN v1.4 layout (full size)"),
            "seconds": {k: round(v, 2) for k, v in timings.items()},
            "ray_start_seconds": {k: round(v, 2) for k, v in ray_start.items()},
            "images_per_s": {k: round(v, 3) for k, v in rates.items()},
            "ratio_to_cli": {k: round(v / rates["cli"], 2) for k, v in rates.items()},
            # an image's own time (decode, restore, encode, write) where it ran: the steady state a long
            # job approaches, without the start of processes and models
            "seconds_per_image_mean": {k: round(sum(v) / len(v), 3) for k, v in each.items()},
            "outputs_equal_to_cli": True,
            "cluster": cluster(rates["ray_1"], args.per_gpu, bytes_in, bytes_out),
        }
        print(f"{n} photos, {figures['machine']}")
        print(f"{'way':<10}{'seconds':>9}{'images/s':>10}{'x CLI':>7}{'s/image':>9}")
        for k in timings:
            mean = sum(each[k]) / len(each[k])
            print(f"{k:<10}{timings[k]:>9.1f}{rates[k]:>10.3f}{rates[k] / rates['cli']:>7.2f}{mean:>9.2f}")
        print(f"Ray's own start: {', '.join(f'{v:.1f} s' for v in ray_start.values())}; outputs equal to the CLI's")
        print(json.dumps(figures["cluster"], indent=1))
        if args.out:
            args.out.write_text(json.dumps(figures, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
