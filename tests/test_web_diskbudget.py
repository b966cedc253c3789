"""The server's disk stays bounded: oldest first over budget, nothing in use, nothing just written."""

import os
import time

import pytest

from gfpgan_core.web.diskbudget import DiskBudget, KeptPaths


def _file(root, name, size, age_s, now):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (now - age_s, now - age_s))
    return path


def test_over_budget_the_oldest_go_first(tmp_path):
    now = time.time()
    files = [_file(tmp_path, f"req{i}/out.png", 100, age_s=300 - i * 10, now=now) for i in range(10)]
    budget = DiskBudget(max_bytes=450, max_age_s=3600, folders=[tmp_path], protect_recent_s=30)
    deleted, freed = budget.sweep(now)
    assert (deleted, freed) == (6, 600)
    assert [f.exists() for f in files] == [False] * 6 + [True] * 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["req6", "req7", "req8", "req9"]  # empty folders go too


def test_what_a_request_needs_is_never_deleted(tmp_path):
    now = time.time()
    in_use = _file(tmp_path, "upload/photo.jpg", 1000, age_s=900, now=now)
    example = _file(tmp_path, "examples/a.jpg", 1000, age_s=5000, now=now)
    fresh = _file(tmp_path, "new/result.png", 1000, age_s=5, now=now)
    old = _file(tmp_path, "old/result.png", 1000, age_s=900, now=now)
    budget = DiskBudget(max_bytes=0, max_age_s=600, folders=[tmp_path], protect_recent_s=30)
    budget.keep = {str(example)}
    with budget.in_use([str(in_use), None]):
        budget.sweep(now)
        assert in_use.exists() and example.exists() and fresh.exists() and not old.exists()
    budget.sweep(now)
    assert not in_use.exists()  # once the request is done, it ages out like any other file


def test_files_older_than_the_promise_go_even_within_budget(tmp_path):
    now = time.time()
    old = _file(tmp_path, "a/old.png", 10, age_s=601, now=now)
    young = _file(tmp_path, "a/young.png", 10, age_s=599, now=now)
    DiskBudget(max_bytes=10**9, max_age_s=600, folders=[tmp_path]).sweep(now)
    assert not old.exists() and young.exists()


def test_only_the_apps_own_files_are_ever_deleted(tmp_path):
    """A cache shared with other programs (Gradio's default /tmp/gradio): their files survive every
    sweep, however old and however far over budget; the app's results folder and its recorded uploads go."""
    now = time.time()
    foreign = [_file(tmp_path, name, 1000, age_s=10**6, now=now) for name in ("other/a.png", "b.json", "c/d/e.bin")]
    result = _file(tmp_path, "gfpgan-results/r1/out.png", 10, age_s=900, now=now)
    upload = _file(tmp_path, "f00d/photo.jpg", 10, age_s=900, now=now)
    budget = DiskBudget(
        max_bytes=0, max_age_s=600, folders=[tmp_path / "gfpgan-results"], records=lambda: {str(upload)}
    )
    assert budget.sweep(now) == (2, 20)
    assert all(f.read_bytes() == b"x" * 1000 for f in foreign)
    assert not result.exists() and not upload.exists()
    assert not (tmp_path / "f00d").exists()  # the upload's own folder, once empty
    assert (tmp_path / "gfpgan-results").is_dir() and (tmp_path / "other").is_dir()
    assert budget.sweep(now + 10**6) == (0, 0)
    assert all(f.exists() for f in foreign)


def test_uploads_are_admitted_only_while_the_budget_holds_them_even_within_a_burst(tmp_path):
    """Files of a burst are too recent for any sweep to delete: the budget holds only by refusing."""
    now = time.time()
    example = _file(tmp_path, "examples/a.jpg", 5000, age_s=10, now=now)  # the app's own: not counted
    _file(tmp_path, "upload1/photo.jpg", 300, age_s=5, now=now)
    budget = DiskBudget(max_bytes=1000, max_age_s=600, folders=[tmp_path], protect_recent_s=30)
    budget.keep = {str(example)}
    budget.sweep(now)
    assert budget.admit(400) and budget.admit(300)  # 300 held + 700 admitted = the budget
    assert not budget.admit(1)
    _file(tmp_path, "upload2/photo.jpg", 400, age_s=1, now=now)  # what was admitted has landed
    budget.sweep(now)  # recount: 700 held, the 300 admitted but not yet on disk forgotten
    assert budget.admit(300) and not budget.admit(1)


def test_the_kept_paths_can_grow_while_a_sweep_reads_them():
    """The examples are restored in a background thread that adds their files to the kept paths while
    requests sweep: a plain set failed such a sweep ("Set changed size during iteration", an MCP restore
    in CI). A reader of the kept paths goes on over what was there when it started."""
    plain, kept = {"a", "b"}, KeptPaths(["a", "b"])
    reading_plain, reading_kept = iter(plain), iter(kept)
    next(reading_plain), next(reading_kept)
    plain.update(["c"]), kept.update(["c"])  # another thread, in the middle of a sweep
    with pytest.raises(RuntimeError, match="changed size"):
        list(reading_plain)
    assert len(list(reading_kept)) == 1 and set(kept) == {"a", "b", "c"} and "c" in kept and len(kept) == 3
    budget = DiskBudget(max_bytes=0, max_age_s=600, folders=[])
    budget.keep = kept
    assert budget.sweep() == (0, 0)
