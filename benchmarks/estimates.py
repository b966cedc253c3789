"""How far the page's wait estimates are from the waits visitors get, queue included.

    .venv/bin/python benchmarks/estimates.py                      # 20 runs, a full-size random GFPGAN
    .venv/bin/python benchmarks/estimates.py --runs 40 --model-path weights/GFPGANv1.4.pth

The app is started on this machine (127.0.0.1) as a visitor meets it. For each of ``--runs`` photos
(mixed: real photos from ../shared/data, one to many faces, rescale 1 and 2, else the examples), a
visitor uploads the photo, asks the page's estimate exactly as the page does (its instant event, raw
HTTP), then presses Restore (POST /gradio_api/call/restore) and waits for the result. Every third
run, another visitor's restoration of a different photo was started just before, so the estimate
has a queue to count. The actual wait is from the POST to the result's last event, as the visitor
waits; the estimate is the total the page announced ("about N s"). The first two runs are warm-up,
printed but not scored: the first announces no time (nothing measured yet), the second rests on a
single measured job (one photo size: the fixed and per-megapixel costs cannot be told apart yet).

Prints one line per run and the error |estimate - actual| / actual: median and 90th percentile, all
runs and queued runs; writes them to ``--out`` (JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from appserver import ARGS, REPO, client_at, restore, start_app, upload
from attacks import estimate_call

sys.path.insert(0, str(REPO))
from gfpgan_core.archs import GFPGANConfig
from gfpgan_core.checkpoint import write_random_checkpoint

SHARED = Path(os.environ.get("GFPGAN_TEST_SHARED", REPO.parent / "shared")) / "data"


def mixed_photos(n: int) -> list[Path]:
    """``n`` photos alternating group photos and portraits (the examples when ../shared is absent)."""
    groups = sorted((SHARED / "photos").glob("*.jpg")) if (SHARED / "photos").is_dir() else []
    portraits = (
        sorted(p for p in (SHARED / "hq_photos").glob("*") if p.suffix in (".jpg", ".png"))
        if (SHARED / "hq_photos").is_dir()
        else []
    )
    pool = [p for pair in zip(groups[::2], portraits[::5], strict=False) for p in pair]
    if not pool:
        pool = sorted(p for p in (REPO / "examples").iterdir() if p.suffix in (".jpg", ".png"))
    return [pool[k % len(pool)] for k in range(n)]


def announced_seconds(estimate: str) -> float | None:
    """The whole wait an estimate announces: its last "about N s" (the total when a queue is counted)."""
    found = re.findall(r"about (\d+) s", estimate)
    return float(found[-1]) if found else None


def ask_estimate(url: str, path: str, rescale: float) -> str:
    body = estimate_call(url, path, **{"Rescaling factor": rescale})
    with client_at(7, timeout=60) as c:
        answer = c.post(f"{url}gradio_api/run/predict", json=body).json()
    return next((v for v in answer.get("data", []) if isinstance(v, str) and "press Restore" in v), "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--model-path", type=Path, help="a checkpoint (default: a full-size random GFPGANv1Clean)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / f"estimates_{time.strftime('%Y-%m-%d')}.json")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="estimates-"))
    model = args.model_path or write_random_checkpoint(workdir / "random_gfpgan.pth", GFPGANConfig(), 0)
    env = {
        "GFPGAN_CALLS_PER_MINUTE": "100000",
        "GFPGAN_INSTANT_CALLS_PER_MINUTE": "100000",
        "GFPGAN_CACHE_EXAMPLES": "0",
    }
    proc, url, _ = start_app(model, workdir, env=env)
    rows = []
    try:
        photos = mixed_photos(args.runs + 2)
        for k, photo in enumerate(photos[: args.runs + 2]):
            rescale = 2 if k % 2 else 1
            queued = k % 3 == 2
            with client_at(k, timeout=300) as c:
                path = upload(c, url, photo)
                other = None
                if queued:  # another visitor, whose photo's estimate the page made, presses Restore just before
                    other_path = upload(c, url, photos[(k + 1) % len(photos)])
                    ask_estimate(url, other_path, 2)
                    other = threading.Thread(target=_restore_with, args=(url, other_path, 100 + k, 2))
                    other.start()
                    time.sleep(0.5)
                estimate = ask_estimate(url, path, rescale)
                event, _, actual = _restore_with(url, path, k, rescale)
                if other is not None:
                    other.join()
            said = announced_seconds(estimate)
            row = {
                "photo": photo.name,
                "rescale": rescale,
                "queued": queued,
                "estimate": estimate.split(" — ")[0],
                "announced_s": said,
                "actual_s": round(actual, 2),
                "event": event,
            }
            if said is not None and event == "complete":
                row["error"] = round(abs(said - actual) / actual, 3)
            rows.append(row)
            print(
                f"{k:2d} {photo.name[:36]:36s} x{rescale} {'queued' if queued else '      '} "
                f"announced {said} s, took {actual:.1f} s  {row.get('error', '-')}",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    scored = [r for r in rows[2:] if "error" in r]  # after the two warm-up runs

    def spread(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))] if ordered else float("nan")
        return {
            "n": len(ordered),
            "median": round(statistics.median(ordered), 3) if ordered else float("nan"),
            "p90": round(p90, 3),
        }

    report = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "model": "full-size random GFPGANv1Clean" if args.model_path is None else args.model_path.name,
        "warm_up": rows[:2],
        "all": spread([r["error"] for r in scored]),
        "queued": spread([r["error"] for r in scored if r["queued"]]),
        "not_queued": spread([r["error"] for r in scored if not r["queued"]]),
        "runs": rows,
    }
    print(json.dumps({k: report[k] for k in ("date", "machine", "all", "queued", "not_queued")}, indent=1))
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"written to {args.out}")


def _restore_with(url: str, path: str, k: int, rescale: float) -> tuple[str, str, float]:
    """/restore from visitor ``k``'s own address, at ``rescale``."""
    args = [ARGS[0], rescale, *ARGS[2:]]
    with client_at(k, timeout=300) as c:
        return restore(c, url, path, args=args)


if __name__ == "__main__":
    main()
