"""Load and soak the app through its HTTP API, on this machine only (127.0.0.0/8), and print the figures.

    .venv/bin/python benchmarks/load.py                     # a random-weight model in the official format
    .venv/bin/python benchmarks/load.py --model-path weights/GFPGANv1.4.pth --soak 200

1. Burst: ``--clients`` (24) at once against a queue of ``--queue`` (16): how many were refused at
   once and with what message, whether every accepted one completed with a correct result, and the
   latency of the accepted ones (p50 / p95).
2. Soak: ``--soak`` (200) requests one after another: the server's resident memory (VmRSS) every
   ``--every`` requests and its slope after the warm-up, in MB per 100 requests.
3. Abandoned jobs: one client starts 17 jobs and never reads them (the app admits a few per address
   a minute), then another visitor asks for one: does it get through, and how long does it wait.
4. Disk: the size of Gradio's cache folder after each phase (the disk budget's bound).
5. Attacks (benchmarks/attacks.py, which the security tests also run): eight parallel estimates on a
   32 MP PNG, the direct routes, rotating X-Forwarded-For, a ZIP of 240,000 entries named 12 times,
   300 MB bodies, an upload flood, the file route naming URLs. ``--attacks-only`` runs just these.

Clients call from their own loopback addresses (127.0.0.2-251), as distinct visitors do. Every loop
is bounded in count and time and talks only to the server it starts on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attacks
from appserver import ARGS, REPO, client_at, folder_mb, restore, rss_mb, start_app, upload


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


def burst(url: str, photo: Path, clients: int) -> dict:
    with client_at(0) as c:
        path = upload(c, url, photo)
    barrier = threading.Barrier(clients)

    def one(k: int) -> tuple[str, str, float]:
        with client_at(k) as c:
            barrier.wait(timeout=60)
            return restore(c, url, path)

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(clients)))
    accepted = [r for r in results if r[0] == "complete"]
    refused = [r for r in results if r[0] != "complete"]
    return {
        "clients": clients,
        "completed": len(accepted),
        "refused": len(refused),
        "refusal_messages": sorted({r[1][:120] for r in refused}),
        "refused_within_s": round(max((r[2] for r in refused), default=0.0), 2),
        "latency_p50_s": round(percentile([r[2] for r in accepted], 0.5), 2),
        "latency_p95_s": round(percentile([r[2] for r in accepted], 0.95), 2),
        "all_results_are_pngs": all(r[1].endswith(".png") for r in accepted),
    }


CLAIM_S = 3  # the server drops API jobs nobody asks for after this (GFPGAN_CLAIM_S)


def abandoned(url: str, photo: Path, posts: int, server_log: list[str]) -> dict:
    """One client starts ``posts`` jobs and never reads a result; then another visitor asks for one.
    Jobs still waiting after CLAIM_S are dropped by the server: how many, from its log."""
    with client_at(240) as c:
        path = upload(c, url, photo)
        codes = [
            c.post(f"{url}gradio_api/call/restore", json={"data": [{"path": path}, *ARGS]}).status_code
            for _ in range(posts)
        ]
    with client_at(241, timeout=300) as visitor:
        event, _, seconds = restore(visitor, url, path)
    time.sleep(CLAIM_S + 1)
    return {
        "dropped_unread": sum("dropped job" in line for line in server_log),
        "posts": posts,
        "accepted": codes.count(200),
        "refused_429": codes.count(429),
        "visitor_after": event,
        "visitor_seconds": round(seconds, 2),
    }


def soak(url: str, pid: int, photo: Path, count: int, every: int, warm_up: int) -> dict:
    samples: list[tuple[int, float]] = []
    failures = 0
    deadline = time.time() + 3600
    with client_at(0) as c:
        path = upload(c, url, photo)
    for i in range(1, count + 1):
        if time.time() > deadline:
            break
        with client_at(30 + i % 200, timeout=300) as c:  # a stream of visitors, as on a public Space
            event, _, _ = restore(c, url, path)
        failures += event != "complete"
        if i % every == 0:
            samples.append((i, rss_mb(pid)))
            print(f"  soak {i}/{count}: RSS {samples[-1][1]:.0f} MB", flush=True)
    after = [(n, m) for n, m in samples if n > warm_up]
    slope = (
        statistics.linear_regression([n for n, _ in after], [m for _, m in after]).slope * 100
        if len(after) > 1
        else float("nan")
    )
    return {
        "requests": count,
        "failures": failures,
        "rss_mb": {n: round(m, 1) for n, m in samples},
        "slope_mb_per_100_requests_after_warm_up": round(slope, 2),
    }


def run_attacks(url: str, pid: int, workdir: Path) -> dict:
    """Phase 5: each attack's figures, printed as it ends."""
    from gfpgan_core.web.settings import Limits

    limits = Limits()
    photo = REPO / "examples" / "astronaut_degraded.jpg"
    figures = {}
    for name, attack in (
        ("parallel_estimates", lambda: attacks.parallel_estimates(url, pid, attacks.big_png(workdir / "big.png"))),
        ("direct_routes", lambda: attacks.direct_routes(url, photo, workdir / "gradio" / "gfpgan-results")),
        ("forwarded_headers", lambda: attacks.forwarded_headers(url, photo, limits.calls_per_minute + 3)),
        ("zip_references", lambda: attacks.zip_references(url, attacks.many_entry_zip(workdir / "many.zip"))),
        ("big_bodies", lambda: attacks.big_bodies(url, pid)),
        ("upload_flood", lambda: attacks.upload_flood(url, limits.uploads_per_minute + 10)),
        ("file_route_urls", lambda: attacks.file_route_urls(url)),
    ):
        print(f"attack: {name}", flush=True)
        figures[name] = attack()
        print(json.dumps(figures[name], indent=1), flush=True)
    return figures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--model-path", type=Path, help="default: a random-weight GFPGANv1Clean (64 px) in the official format"
    )
    p.add_argument("--photo", type=Path, default=REPO / "examples" / "astronaut_degraded.jpg")
    p.add_argument("--clients", type=int, default=24)
    p.add_argument("--queue", type=int, default=16)
    p.add_argument("--soak", type=int, default=200)
    p.add_argument("--every", type=int, default=20)
    p.add_argument("--warm-up", type=int, default=40)
    p.add_argument("--attacks-only", action="store_true", help="run only the attacks (phase 5)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    args = p.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="gfpgan-load-"))
    model = args.model_path
    if model is None:
        import torch

        sys.path.insert(0, str(REPO))
        from gfpgan_core.archs import GFPGANConfig

        torch.manual_seed(0)
        model = workdir / "random_gfpgan.pth"
        config = GFPGANConfig(out_size=64, num_style_feat=64, channel_multiplier=1, num_mlp=2, narrow=0.125)
        torch.save({"params_ema": config.build().state_dict()}, model)
    proc, url, server_log = start_app(
        model, workdir, env={"GFPGAN_QUEUE_SIZE": str(args.queue), "GFPGAN_CLAIM_S": str(CLAIM_S)}
    )
    try:
        report: dict = {"machine": f"{os.cpu_count()} CPUs", "model": model.name, "date": time.strftime("%Y-%m-%d")}
        if not args.attacks_only:
            print(f"burst: {args.clients} clients at once, queue {args.queue}", flush=True)
            report["burst"] = burst(url, args.photo, args.clients)
            report["cache_mb_after_burst"] = round(folder_mb(workdir / "gradio"), 1)
            print(json.dumps(report["burst"], indent=1), flush=True)
            print("abandoned: 17 jobs started by one client that never reads them, then another visitor", flush=True)
            report["abandoned"] = abandoned(url, args.photo, 17, server_log)
            print(json.dumps(report["abandoned"], indent=1), flush=True)
            print(f"soak: {args.soak} requests one after another", flush=True)
            report["soak"] = soak(url, proc.pid, args.photo, args.soak, args.every, args.warm_up)
            report["cache_mb_after_soak"] = round(folder_mb(workdir / "gradio"), 1)
        report["attacks"] = run_attacks(url, proc.pid, workdir)
        print(json.dumps(report, indent=1))
        if args.json:
            args.json.write_text(json.dumps(report, indent=1))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
