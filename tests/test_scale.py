"""Archives on Ray (gfpgan_core/scale.py): a local Ray of 2 CPUs, as on this project's machines, over a
folder of real photos with a tiny random model: results equal to the folder CLI's, a manifest row per
image (failures too), a resumed run that skips what was done, and a pool that leaves room to read."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO, photos
from gfpgan_core.errors import OptionsError
from gfpgan_core.pipeline import RestorerSpec
from gfpgan_core.scale import MANIFEST_PARTS, Manifest, ScaleJob, resource_plan, restore_dataset

ENGINE = {"detector": "yunet", "upsampler": "lanczos", "parser": "none", "download": False}  # nothing fetched


def _spec(checkpoint) -> RestorerSpec:
    return RestorerSpec(str(checkpoint), **ENGINE)


def test_the_pool_leaves_room_for_reading_and_writing():
    """Two actors on two CPUs no longer hold every CPU (the documented pattern's stall); a GPU cluster gets
    an actor per GPU with a few CPUs each; what does not fit is one line."""
    plan = resource_plan(2, actors=2)
    assert plan.actors == 2 and plan.actors * plan.cpus_per_actor + plan.reserved_cpus <= 2
    assert plan.reserved_cpus >= 0.5 and plan.threads == 1 and plan.gpus_per_actor == 0
    assert resource_plan(2).actors == 1 and resource_plan(2).threads == 2  # one actor, both cores' threads
    gpus = resource_plan(64, 8)
    assert (gpus.actors, gpus.gpus_per_actor) == (8, 1.0) and gpus.cpus_per_actor == pytest.approx(7.2)
    assert resource_plan(64, 8, gpus_per_actor=0.5).actors == 16
    for cpus, gpus_, actors, per in ((2, 2, 3, 1.0), (0.5, 0, None, None), (2, 0, 0, None), (2, 0, 30, None)):
        with pytest.raises(OptionsError) as refused:
            resource_plan(cpus, gpus_, actors, per)
        assert "\n" not in str(refused.value)


def test_a_job_is_checked_before_any_cluster_is_asked():
    """Choices, and a suffix that would name a file outside the destination, are one line at once."""
    for bad in ({"suffix": "/../../etc/x"}, {"images_per_call": 0}):
        with pytest.raises(OptionsError) as refused:
            ScaleJob("in", "out", RestorerSpec(), **bad)
        assert "\n" not in str(refused.value)
    with pytest.raises(OptionsError, match="detector must be one of"):
        RestorerSpec(detector="mtcnn")


@pytest.fixture(scope="module")
def local_ray():
    """A local Ray of 2 CPUs; its workers import this checkout (not an older installed copy)."""
    ray = pytest.importorskip("ray", reason="the scale extra: pip install '.[scale]' (scripts/test.sh installs it)")
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), before]))
    ray.init(num_cpus=2, include_dashboard=False, configure_logging=False, log_to_driver=False)
    yield ray
    ray.shutdown()
    if before is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = before


def _archive(root, chosen):
    """An archive as they come: photos at the top and in a sub-folder, one corrupt file, one that is not
    an image."""
    (root / "1987" / "summer").mkdir(parents=True)
    for p in chosen:
        shutil.copy(p, root / p.name)
    shutil.copy(chosen[0], root / "1987" / "summer" / chosen[0].name)
    (root / "broken.jpg").write_bytes(b"this is not a jpeg")
    (root / "notes.txt").write_text("not an image")
    return root


def _digests(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "gfpgan_core", *map(str, args)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=600,
    )


@pytest.mark.slow
def test_a_folder_on_ray_equals_the_cli_and_resumes(local_ray, tmp_path, tiny_checkpoint):
    chosen = photos("photos", 3) + photos("hq_photos", 1)
    src = _archive(tmp_path / "archive", chosen)
    before = _digests(src)
    dst = tmp_path / "restored"
    job = ScaleJob(str(src), str(dst), _spec(tiny_checkpoint), actors=2)
    lines = []
    report = restore_dataset(job, log=lines.append)  # two actors on two CPUs: finishes (no stall)
    assert (report.total, report.restored, report.failed, report.skipped) == (6, 5, 1, 0), lines
    assert lines[-1].startswith("6 images: 5 restored, 0 skipped (done before), 1 failed")
    assert _digests(src) == before  # the archive untouched

    # the same bytes as the folder CLI's (its outputs for the top folder; the sub-folder holds a copy)
    cli_out = tmp_path / "cli"
    proc = _cli("-i", src, "-o", cli_out, "--model-path", tiny_checkpoint, "--detector", "yunet",
                "--bg-upsampler", "lanczos", "--parser", "none", "--no-download")  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # the broken file
    for p in chosen:
        assert (dst / "restored_imgs" / p.name).read_bytes() == (cli_out / "restored_imgs" / p.name).read_bytes()
    copy = dst / "restored_imgs" / "1987" / "summer" / chosen[0].name
    assert copy.read_bytes() == (cli_out / "restored_imgs" / chosen[0].name).read_bytes()

    rows = {row["source"]: row for row in map(json.loads, (dst / "manifest.jsonl").read_text().splitlines())}
    assert sorted(rows) == sorted([p.name for p in chosen] + [f"1987/summer/{chosen[0].name}", "broken.jpg"])
    broken = rows.pop("broken.jpg")
    assert broken["error"] == "The file is not an image that can be read." and broken["faces_restored"] == 0
    for source, row in rows.items():
        assert row["error"] is None and row["output"] == f"restored_imgs/{source}"
        assert row["faces_restored"] == row["faces_found"] >= 1 and row["seconds"] > 0
        assert row["bytes"] == (src / source).stat().st_size and "tiny_gfpgan.pth" in row["model"]
        assert row["options"]["upscale"] == 2.0
    assert not (dst / MANIFEST_PARTS).exists()

    # a rerun: what is done is skipped (outputs untouched), a new photo and a deleted output are
    # restored, the broken file is tried again
    shutil.copy(photos("hq_photos", 2)[1], src / "new.png")
    (dst / "restored_imgs" / chosen[1].name).unlink()
    kept = {p: p.stat().st_mtime_ns for p in (dst / "restored_imgs").rglob("*") if p.is_file()}
    report = restore_dataset(job)
    assert (report.total, report.restored, report.failed, report.skipped) == (7, 2, 1, 4)
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())
    assert (dst / "restored_imgs" / chosen[1].name).exists() and (dst / "restored_imgs" / "new.png").exists()
    assert len((dst / "manifest.jsonl").read_text().splitlines()) == 7  # one row per image, the latest


@pytest.mark.slow
def test_a_killed_job_resumes_from_its_saved_rows(local_ray, tmp_path, tiny_checkpoint, monkeypatch):
    """Rows are saved while the job runs: a job killed before its end (here, as it merges) resumes by
    skipping every image whose row and output it saved."""
    import gfpgan_core.scale as scale

    src = _archive(tmp_path / "archive", photos("hq_photos", 2))
    dst = tmp_path / "restored"
    job = ScaleJob(str(src), str(dst), _spec(tiny_checkpoint))

    def killed(self):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(Manifest, "merge", killed)
        with pytest.raises(KeyboardInterrupt):
            restore_dataset(job)
    assert list((dst / MANIFEST_PARTS).iterdir()) and not (dst / "manifest.jsonl").exists()
    report = scale.restore_dataset(job)
    assert (report.restored, report.skipped, report.failed) == (0, 3, 1)  # only the broken file again
    assert len((dst / "manifest.jsonl").read_text().splitlines()) == 4


def test_the_cli_runs_on_ray_with_the_folder_options(local_ray, tmp_path, tiny_checkpoint, capsys):
    """`restore --ray`: the folder CLI's options; what the job cannot honour is one line."""
    from gfpgan_core.cli import main

    src = _archive(tmp_path / "archive", photos("hq_photos", 1))
    dst = tmp_path / "out"
    common = ["-i", src, "-o", dst, "--model-path", tiny_checkpoint, "--no-download", "--detector", "yunet"]
    common += ["--bg-upsampler", "lanczos", "--parser", "none", "--ray"]
    assert main([*map(str, common), "-s", "1", "--ext", "png", "--suffix", "_r"]) == 1  # the broken file
    name = photos("hq_photos", 1)[0].stem
    assert (dst / "restored_imgs" / f"{name}_r.png").exists()
    assert (dst / "restored_imgs" / "1987" / "summer" / f"{name}_r.png").exists()
    rows = [json.loads(line) for line in (dst / "manifest.jsonl").read_text().splitlines()]
    assert {row["options"]["upscale"] for row in rows} == {1.0}
    assert main([*map(str, common), "--expressions"]) == 2
    assert "error: --expressions is not available with --ray" in capsys.readouterr().err
