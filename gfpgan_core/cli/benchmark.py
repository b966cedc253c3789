"""``benchmark``: how fast this machine restores faces, in one run, against the reference way.

Prints tables and writes JSON: the face model per runtime (ms per face, difference to plain float32
torch, ratio to this machine's compute floor), the whole pipeline per stage, an engine cold start, peak
memory, a 24-megapixel 30-face photo and, on a GPU, faces per second at batch 1/8/32 in float32 and
half precision. "The reference way" is how the official code runs: float32 torch eager, one face at a
time, the background upscaler over the whole canvas at once. Every ratio compares numbers measured in
this same run. Without the real weights on disk, networks of the same shape get random weights: the
speed is the same, the pictures are noise (the JSON says which).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from .. import zoo
from ..background import NetworkUpsampler
from ..checkpoint import load_model
from ..devices import pick_device
from ..faces.detection import YuNetDetector
from ..images import Picture, load_picture, resize
from ..options import RestoreOptions
from ..parts import checkpoint_sha256
from ..pipeline import Restorer
from ..runtimes import CPU_PREFERENCE, IMAGES, Runner, TorchRunner, is_installed, select_runner
from .benchmark_report import ONE_FACE_NAME, goals, machine, print_report
from .main import add_command

log = logging.getLogger(__name__)
REPO = Path(__file__).resolve().parents[2]
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
ONE_FACE_PHOTO = REPO / "examples" / "astronaut_degraded.jpg"


VIDEO_PARTS = ("video-steadiness", "video-fps", "video-memory")  # benchmark_video.py's, named without importing it


def add_parser(sub: argparse._SubParsersAction) -> None:
    b = add_command(sub, "benchmark")
    b.add_argument(
        "-m",
        "--model",
        default="v1.4",
        help="zoo name (random weights if not on disk) or weights file of the face model",
    )
    b.add_argument("--photos", help="folder of photos (default ../shared/data/photos when present, else examples/)")
    b.add_argument("--max-photos", type=int, default=3, help="photos of that folder timed (default 3)")
    b.add_argument("--runs", type=int, default=3, help="timed runs per measurement, after one warm-up (median)")
    b.add_argument("--device", default="auto", help="auto, cpu, cuda, ...")
    b.add_argument("--weights-dir", help="weights cache folder (default $GFPGAN_WEIGHTS_DIR or ./weights)")
    b.add_argument("--json", default="benchmark.json", help="where the results go as JSON (default benchmark.json)")
    b.add_argument("--compile", action="store_true", help="also time torch.compile (its first compile took 80 s here)")
    b.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["face-model", "pipeline", "cold-start", "big", "video", *VIDEO_PARTS],
        help="parts to leave out (video: all three of its parts)",
    )
    b.add_argument(
        "--video-seconds",
        type=float,
        default=2.0,
        help="length of the 480p/720p clips timed (default 2; the steadiness clip is twice it)",
    )
    b.add_argument(
        "--video-long-seconds",
        type=float,
        default=300.0,
        help="the long clip of the memory measure (default 300: issue 21's 5 minutes, against 10 s; about 12 minutes)",
    )
    b.set_defaults(handler=run)


# ---------------------------------------------------------------------------------------------- helpers
def median_seconds(work: Callable[[], object], runs: int) -> float:
    """Median wall time of ``work`` over ``runs`` calls after one warm-up call."""
    work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def matmul_gflops(device: torch.device, runs: int = 10) -> float:
    """Measured float32 matrix-multiply rate: the most this device does with the threads torch uses."""
    a, b = torch.randn(2048, 2048, device=device), torch.randn(2048, 2048, device=device)
    seconds = median_seconds(lambda: _synced(device, lambda: a @ b), runs)
    return 2 * 2048**3 / seconds / 1e9


def _synced(device: torch.device, work: Callable[[], object]) -> object:
    out = work()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out


def count_gflop(model: nn.Module, method: str, x: torch.Tensor) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        getattr(model, method)(x)
    return counter.get_total_flops() / 1e9


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: Linux's VmHWM (getrusage's ru_maxrss would carry
    the parent's peak into a child started with fork and exec), else ru_maxrss (macOS: bytes)."""
    with contextlib.suppress(OSError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1e3
    try:
        import resource  # not on Windows
    except ImportError:
        return float("nan")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


@dataclass
class Weights:
    """A network for the benchmark: the real checkpoint when on disk, else random weights of its shape."""

    net: nn.Module
    path: Path | None
    sha256: str
    real: bool


def network(name: str, weights_dir: str | None) -> Weights:
    """A zoo name (random weights of its shape when its file is not on disk) or a weights file."""
    if Path(name).is_file():
        net, _ = load_model(name)
        return Weights(net.eval().requires_grad_(False), Path(name), checkpoint_sha256(Path(name), None), True)
    entry = zoo.get_entry(name)
    path = zoo.local_path(entry, weights_dir)
    if path.is_file():
        net, _ = load_model(zoo.ensure_weights(entry, weights_dir, download=False), entry.config)
        return Weights(net, path, checkpoint_sha256(path, entry), True)
    torch.manual_seed(0)
    assert entry.config is not None
    net = entry.config.build().eval().requires_grad_(False)
    return Weights(net, None, f"random-{name}-seed0".ljust(64, "0"), False)


# ---------------------------------------------------------------------------------------------- face model
class CompiledRunner:
    """torch.compile of the face model's pipeline call (compiled on the first call)."""

    name = "torch.compile"

    def __init__(self, model: nn.Module) -> None:
        self.forward = torch.compile(getattr(model, "restore_faces"))  # noqa: B009 (a method of any restorer)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.forward(x)


def face_model_table(
    weights: Weights, device: torch.device, runs: int, rate: float, exports: Path, with_compile: bool = False
) -> dict[str, Any]:
    """Every way this project can run the face model, against the reference way (torch, batch 1)."""
    net = weights.net.to(device)
    size = int(getattr(net, "out_size", 512))
    faces = torch.rand(4, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    gflop = count_gflop(net, "restore_faces", faces[:1].to(device))
    floor_s = gflop / rate
    reference = TorchRunner(net)
    expected = torch.cat([reference(faces[i : i + 1].to(device)).cpu() for i in range(len(faces))])
    rows: list[dict[str, Any]] = []

    def measure(label: str, runner: Runner, batch: int, load_s: float | None = None, extra: str = "") -> None:
        x = faces[:batch].to(device)
        seconds = median_seconds(lambda: _synced(device, lambda: runner(x)), runs) / batch
        got = torch.cat([runner(faces[i : i + batch].to(device)).cpu() for i in range(0, len(faces), batch)])
        rows.append(
            {
                "runtime": label,
                "batch": batch,
                "ms_per_face": seconds * 1e3,
                "max_abs_diff": float((got.float() - expected).abs().max()),
                "load_s": load_s,
                "floor_ratio": seconds / floor_s,
                "note": extra,
            }
        )
        log.info(f"  {label} batch {batch}: {seconds * 1e3:.0f} ms/face")

    measure("torch eager (reference way)", reference, 1)
    measure("torch eager", reference, 4)
    if with_compile:  # not offered as a runtime: slower than the ONNX runtimes here, and paid per start
        compiled = CompiledRunner(net)
        start = time.perf_counter()
        compiled(faces[:1].to(device))
        compile_s = time.perf_counter() - start
        note = f"first call (compiles) {compile_s:.0f} s, at every start; less with inductor's disk cache warm"
        measure("torch.compile", compiled, 1, compile_s, note)
    if device.type == "cpu":
        for name in CPU_PREFERENCE:
            if not is_installed(name):
                rows.append({"runtime": name, "batch": None, "note": f"{name} is not installed"})
                continue
            with tempfile.TemporaryDirectory() as fresh:
                load = partial(
                    select_runner, net, device=device, half=False, checkpoint_sha256=weights.sha256,
                    cache_dir=Path(fresh), runtime=name,
                )  # fmt: skip
                start = time.perf_counter()
                load()  # exports and checks
                first_s = time.perf_counter() - start
                start = time.perf_counter()
                runner, note = load()  # what a restart pays
                cached_s = time.perf_counter() - start
            if runner.name != name:
                rows.append({"runtime": name, "batch": None, "note": note})
                continue
            export_note = f"export + check {first_s:.1f} s, later loads {cached_s:.1f} s"
            measure(name, runner, 1, cached_s, export_note)
            measure(name, runner, 4, cached_s, export_note)
    default, default_note = select_runner(
        net, device=device, half=False, checkpoint_sha256=weights.sha256, cache_dir=exports
    )
    ref_ms = rows[0]["ms_per_face"]
    for row in rows:
        if row.get("ms_per_face"):
            row["speedup"] = ref_ms / row["ms_per_face"]
    timed = [r for r in rows if r.get("ms_per_face") and r["runtime"].startswith(default.name)]
    best_default = min(timed, key=lambda r: r["ms_per_face"]) if timed else rows[0]
    return {
        "gflop_per_face": gflop,
        "matmul_gflops": rate,
        "floor_ms_per_face": floor_s * 1e3,
        "rows": rows,
        "default_runtime": default.name,
        "default_note": default_note,
        "default": best_default,
    }


def gpu_table(weights: Weights, device: torch.device, runs: int) -> list[dict[str, Any]]:
    """Faces per second at batch 1, 8 and 32 in float32, float16 and bfloat16, and half's difference."""
    net32 = weights.net.to(device, torch.float32)
    size = int(getattr(net32, "out_size", 512))
    faces = torch.rand(32, 3, size, size, generator=torch.Generator().manual_seed(0), device="cpu") * 2 - 1
    faces = faces.to(device)
    expected = TorchRunner(net32)(faces[:8]).float()
    rows: list[dict[str, Any]] = []
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        net = weights.net.to(device, dtype)
        runner = TorchRunner(net)
        diff = float((runner(faces[:8].to(dtype)).float() - expected).abs().max())
        for batch in (1, 8, 32):
            x = faces[:batch].to(dtype)
            try:
                seconds = median_seconds(partial(_synced, device, partial(runner, x)), runs)
            except torch.OutOfMemoryError:
                rows.append({"dtype": str(dtype).removeprefix("torch."), "batch": batch, "note": "out of memory"})
                torch.cuda.empty_cache()
                continue
            rows.append(
                {
                    "dtype": str(dtype).removeprefix("torch."),
                    "batch": batch,
                    "faces_per_s": batch / seconds,
                    "max_abs_diff_to_float32": diff,
                    "peak_gpu_mb": torch.cuda.max_memory_allocated(device) / 1e6,
                }
            )
            log.info(f"  {rows[-1]['dtype']} batch {batch}: {batch / seconds:.1f} faces/s")
    weights.net.to("cpu", torch.float32)
    return rows


# ---------------------------------------------------------------------------------------------- pipeline
def photo_set(folder: str | None, limit: int) -> list[Path]:
    if folder:
        root = Path(folder)
    else:
        shared = REPO.parent / "shared" / "data" / "photos"
        root = shared if shared.is_dir() else REPO / "examples"
    return sorted(p for p in root.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)[:limit]


def restorers(
    face: Weights, upscaler: Weights, device: torch.device, exports: Path
) -> dict[str, tuple[Restorer, RestoreOptions]]:
    """The reference way and this project's default, with the same networks."""
    half = device.type == "cuda"
    dtype = torch.float16 if half else torch.float32
    reference_face, reference_ups = (copy.deepcopy(w.net).to(device, torch.float32) for w in (face, upscaler))
    face_net, ups_net = face.net.to(device, dtype), upscaler.net.to(device, dtype)
    face_runner, _ = select_runner(face_net, device=device, half=half, checkpoint_sha256=face.sha256, cache_dir=exports)
    ups_runner, _ = select_runner(
        ups_net, device=device, half=half, checkpoint_sha256=upscaler.sha256, cache_dir=exports, spec=IMAGES
    )
    whole = 1 << 40  # one tile, one band: the whole canvas at once
    reference = Restorer(
        reference_face,
        detector=YuNetDetector(),
        upsampler=NetworkUpsampler(reference_ups, device, tile=whole, band_bytes=whole),
        device=device,
        half=False,
    )
    default = Restorer(
        face_net,
        detector=YuNetDetector(),
        upsampler=NetworkUpsampler(ups_net, device, half=half, runner=ups_runner),
        device=device,
        half=half,
        runner=face_runner,
    )
    return {"reference way": (reference, RestoreOptions(batch_size=1)), "default": (default, RestoreOptions())}


def one_face_photo() -> Picture:
    """A one-face photo at a photo's size: the astronaut example (230 px) enlarged 4x to 920 x 920. At
    230 px the face model is nearly all of the work; a photo people upload is larger, and then the
    background upscaler is most of it (a 1000 x 700 photo is 1.7 TFLOP of it, four faces' worth)."""
    pic = load_picture(ONE_FACE_PHOTO)
    return pic.with_pixels(resize(pic.rgb, (4 * pic.size[0], 4 * pic.size[1]), cv2.INTER_CUBIC), None)


def pipeline_table(
    photos: dict[str, Picture], ways: dict[str, tuple[Restorer, RestoreOptions]], runs: int
) -> list[dict[str, Any]]:
    """Per photo, way and setting: seconds per stage (median of ``runs``) and the output's difference."""
    rows = []
    settings = {"1x, background off": (1.0, False), "2x, background on": (2.0, True)}
    for name, pic in photos.items():
        for setting, (scale, background) in settings.items():
            outputs = {}
            for way, (restorer, options) in ways.items():
                opts = replace(options, upscale=scale, upsample_background=background)
                timings: list[dict[str, float]] = []
                result = None
                for i in range(runs + 1):
                    result = restorer.restore(pic, opts)
                    if i:  # the first is the warm-up
                        timings.append(result.timings)
                assert result is not None
                stages = {k: statistics.median(t[k] for t in timings) for k in timings[0]}
                outputs[way] = result.image
                rows.append(
                    {
                        "photo": name,
                        "size": f"{pic.size[0]}x{pic.size[1]}",
                        "faces": len(result.faces),
                        "setting": setting,
                        "way": way,
                        "stages_s": stages,
                    }
                )
                log.info(f"  {name} {setting} {way}: {stages['total']:.2f} s")
            a, b = (np.asarray(outputs[w], np.int32) for w in ways)
            rows[-1]["max_abs_diff_to_reference_uint8"] = int(np.abs(a - b).max()) if a.shape == b.shape else None
    return rows


# ---------------------------------------------------------------------------------------------- cold start
_COLD_START = """
import os, sys, time
from gfpgan_core import Restorer
r = Restorer.from_pretrained(sys.argv[1], weights_dir=sys.argv[2], download=False)
r.restore(sys.argv[3])
seconds = time.time() - float(os.environ["GFPGAN_BENCH_T0"])
from gfpgan_core.cli.benchmark import peak_rss_mb
print(seconds, peak_rss_mb(), r.describe())
"""


def cold_starts(face: Weights, weights_dir: str | None) -> list[dict[str, Any]]:
    """Process start to the first restored photo, twice: the first pays the runtime export, the second
    finds it cached (what every restart of a Space pays)."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if face.real and face.path is not None:
            model, folder = str(face.path), str(Path(tmp) / "weights")
        else:  # the random network in the official file format, as a user's checkpoint
            model, folder = str(Path(tmp) / "model.pth"), str(Path(tmp) / "weights")
            torch.save({"params_ema": face.net.state_dict()}, model)
        for label in ("first start (exports the model)", "restart (export cached)"):
            env = {**os.environ, "GFPGAN_BENCH_T0": repr(time.time()), "HF_HUB_OFFLINE": "1"}
            proc = subprocess.run(
                [sys.executable, "-c", _COLD_START, model, folder, str(ONE_FACE_PHOTO)],
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO,
            )
            if proc.returncode != 0:
                rows.append({"run": label, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]})
                continue
            seconds, peak_mb, described = proc.stdout.strip().splitlines()[-1].split(" ", 2)
            rows.append({"run": label, "seconds": float(seconds), "peak_rss_mb": float(peak_mb), "restorer": described})
            log.info(f"  {label}: {float(seconds):.1f} s")
    return rows


# ---------------------------------------------------------------------------------------------- big photo
def big_photo(faces: int = 30, size: tuple[int, int] = (6000, 4000)) -> np.ndarray:
    """A 24-megapixel photo with ``faces`` faces: the one-face example tiled on a 6 x 5 grid over a
    grey background (each copy about 500 px)."""
    face = load_picture(ONE_FACE_PHOTO).rgb
    w, h = size
    canvas = np.full((h, w, 3), 0.5, np.float32)
    cols = 6
    rows = math.ceil(faces / cols)
    cell_w, cell_h = w // cols, h // rows
    tile = cv2.resize(face, (min(cell_w, cell_h) - 20, min(cell_w, cell_h) - 20), interpolation=cv2.INTER_AREA)
    for i in range(faces):
        y, x = (i // cols) * cell_h + 10, (i % cols) * cell_w + 10
        canvas[y : y + tile.shape[0], x : x + tile.shape[1]] = tile
    return canvas


def big_photo_run(restorer: Restorer) -> dict[str, Any]:
    before = peak_rss_mb()
    start = time.perf_counter()
    result = restorer.restore(big_photo(), RestoreOptions(upscale=1))
    seconds = time.perf_counter() - start
    return {
        "size": "6000x4000",
        "faces_found": len(result.faces),
        "seconds": seconds,
        "stages_s": result.timings,
        "peak_rss_mb_before": before,
        "peak_rss_mb_after": peak_rss_mb(),
    }


def run(args: argparse.Namespace) -> int:
    device = pick_device(args.device)
    report: dict[str, Any] = {"machine": machine()}
    face, upscaler = network(args.model, args.weights_dir), network("realesr-general-x4v3", args.weights_dir)
    report["weights"] = {
        "face": f"{args.model} ({'real' if face.real else 'random weights: speed only'})",
        "background": f"realesr-general-x4v3 ({'real' if upscaler.real else 'random weights: speed only'})",
    }
    with tempfile.TemporaryDirectory(prefix="gfpgan-benchmark-") as tmp:  # never the weights' own cache
        cache = Path(tmp)
        log.info("matrix-multiply rate ...")
        rate = matmul_gflops(device)
        if "face-model" not in args.skip:
            log.info("face model ...")
            report["face_model"] = face_model_table(face, device, args.runs, rate, cache, args.compile)
        if device.type == "cuda":
            log.info("GPU batches ...")
            report["gpu"] = gpu_table(face, device, args.runs)
        ways = restorers(face, upscaler, device, cache)
        if "pipeline" not in args.skip:
            photos = {p.name: load_picture(p) for p in photo_set(args.photos, args.max_photos)}
            photos[ONE_FACE_NAME] = one_face_photo()
            log.info(f"whole photos ({len(photos)}) ...")
            report["pipeline"] = pipeline_table(photos, ways, args.runs)
        if "big" not in args.skip:
            log.info("24 MP photo with 30 faces ...")
            report["big_photo"] = big_photo_run(ways["default"][0])
        if "video" not in args.skip:
            from .benchmark_video import video_report

            video = video_report(ways, ONE_FACE_PHOTO, args.video_seconds, args.video_long_seconds, args.skip)
            report["video"] = video
    if "cold-start" not in args.skip:
        log.info("cold starts ...")
        report["cold_start"] = cold_starts(face, args.weights_dir)
    report["peak_rss_mb"] = peak_rss_mb()
    report["goals"] = goals(report)
    print_report(report)
    Path(args.json).write_text(json.dumps(report, indent=1, default=str))
    log.info(f"wrote {args.json}")
    return 0
