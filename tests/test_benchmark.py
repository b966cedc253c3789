"""The benchmark command end to end on a tiny checkpoint: every section it promises, honest numbers."""

import json

import pytest

from gfpgan_core.cli.benchmark import ONE_FACE_NAME
from gfpgan_core.cli.main import main
from gfpgan_core.runtimes import CPU_PREFERENCE, TOLERANCE, is_installed


@pytest.mark.slow
def test_the_benchmark_measures_every_runtime_the_pipeline_and_a_cold_start(tmp_path, tiny_checkpoint, capsys):
    out = tmp_path / "bench.json"
    args = ["benchmark", "-m", str(tiny_checkpoint), "--runs", "1", "--max-photos", "1", "--json", str(out)]
    args += ["--video-seconds", "0.4", "--video-long-seconds", "3"]
    assert main([*args, "--weights-dir", str(tmp_path / "weights"), "--skip", "big"]) == 0
    report = json.loads(out.read_text())
    printed = capsys.readouterr().out

    face = report["face_model"]
    assert face["gflop_per_face"] > 0 and face["matmul_gflops"] > 0
    rows = {(r["runtime"], r["batch"]): r for r in face["rows"]}
    reference = rows[("torch eager (reference way)", 1)]
    assert reference["max_abs_diff"] == 0 and reference["speedup"] == 1
    for name in CPU_PREFERENCE:
        if is_installed(name):
            assert rows[(name, 1)]["max_abs_diff"] <= TOLERANCE and rows[(name, 1)]["ms_per_face"] > 0
    assert face["default_runtime"] == next((n for n in CPU_PREFERENCE if is_installed(n)), "torch")

    ways = {(r["photo"], r["setting"], r["way"]) for r in report["pipeline"]}
    assert (ONE_FACE_NAME, "2x, background on", "reference way") in ways
    assert (ONE_FACE_NAME, "2x, background on", "default") in ways
    stages = report["pipeline"][0]["stages_s"]
    assert {"decode", "detect", "align", "restore", "upsample", "paste", "total"} <= set(stages)

    first, restart = report["cold_start"]
    assert first["seconds"] > 0 and restart["seconds"] > 0, report["cold_start"]
    # the child's own peak, not the benchmark's (which getrusage would carry across fork and exec)
    assert 0 < restart["peak_rss_mb"] < report["peak_rss_mb"]
    goals = {what for what, *_ in report["goals"]}
    assert "face model: speedup over the reference way" in goals and "cold start with the weights on disk (s)" in goals
    assert "## Goals (issues 9 and 21)" in printed and "| torch eager (reference way) | 1 |" in printed

    video = report["video"]
    jitter = {r["way"]: r for r in video["jitter"]}
    assert jitter["per-frame detection"]["frames_with_face"] == jitter["tracked and smoothed"]["frames"] == 20
    assert jitter["tracked and smoothed"]["landmark_jitter_px"] < jitter["per-frame detection"]["landmark_jitter_px"]
    fps = {(r["size"], r["way"]): r for r in video["fps"]}
    assert set(fps) == {(size, way) for size in ("480p", "720p") for way in ("reference way", "default")}
    assert (
        all(r["frames"] == 10 and r["fps"] > 0 for r in fps.values())
        and fps["720p", "default"]["speedup_over_reference"] > 0
    )
    memory = {(r["way"], r["clip_s"]): r for r in video["memory"]}
    assert set(memory) == {("streaming", 1.0), ("streaming", 3.0), ("whole clip", 1.0), ("whole clip", 3.0)}, memory
    assert memory["streaming", 3.0]["frames"] == 75 and all(r["peak_rss_mb"] > 0 for r in memory.values())
    assert "video: peak memory, 3 s clip / 1 s clip" in goals and "## Video: steadiness" in printed
