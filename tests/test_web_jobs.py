"""The work behind the endpoints without a server or Gradio's events: options, progress and the time
limit, one photo's outputs and summary, Stop, the estimate, ZeroGPU, a full disk."""

import re
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import photos
from gfpgan_core.errors import GFPGANError
from gfpgan_core.web import jobs, outputs, settings, state, text


def test_limits_from_env(monkeypatch):
    monkeypatch.setenv("GFPGAN_MAX_FACES", "7")
    monkeypatch.setenv("GFPGAN_TIMEOUT", "not a number")
    limits = settings.Limits.from_env()
    assert limits.max_faces == 7 and limits.timeout_s == settings.Limits().timeout_s


def test_progress_table_covers_every_stage_and_fills_the_bar():
    from gfpgan_core.pipeline import STAGES

    assert list(jobs.PROGRESS_STAGES) == [*STAGES, "encode"]  # the engine's stages, then the page's own
    shown = []
    report = jobs.progress_reporter(
        lambda value, desc: shown.append((value, desc)), timeout_s=60, started=time.perf_counter()
    )
    for stage in jobs.PROGRESS_STAGES:
        report(stage, 0, 1)
        report(stage, 1, 1)
    report("restore", 2, 5)
    values = [v for v, _ in shown[:-1]]
    assert values == sorted(values) and values[0] == 0 and values[-1] == pytest.approx(1)
    assert shown[-1][1] == "Restoring faces (2/5)"


def test_time_limit_fires_inside_a_stage():
    report = jobs.progress_reporter(lambda *a, **k: None, timeout_s=1, started=time.perf_counter() - 5)
    with pytest.raises(jobs.RequestTimeout, match="longer than 1 s"):
        report("upsample", 3, 12)


def test_run_request_gallery_and_summary(tmp_path, tiny_checkpoint, monkeypatch):
    from gfpgan_core import GFPGANError, RestoreOptions
    from gfpgan_core.service import ModelService

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)
    photo = photos("photos", 1)[0]
    picture, result, restorer = jobs.run_request(
        jobs.Context(service), str(photo), "custom", RestoreOptions(upscale=1), "yunet"
    )
    page = outputs.write_outputs(picture, result, photo.stem, preview_side=200)
    assert Path(page.download).name == f"{photo.stem}_restored.png" and len(page.gallery) >= 2
    assert len(page.gallery) == len(result.faces)
    captions = [caption for _, caption in page.gallery]
    assert [c.split(" ·")[0] for c in captions] == [f"Face {i}" for i in range(1, len(captions) + 1)]
    assert max(len(c) for c in captions) <= 24  # readable in a phone's gallery column
    assert max(Image.open(page.before_after[0]).size) == 200
    with zipfile.ZipFile(page.faces_zip) as faces:  # every crop, named as the CLI names them
        names = faces.namelist()
        assert f"restored_faces/{photo.stem}_01.png" in names and f"cropped_faces/{photo.stem}_01.png" in names
        assert len(names) == 2 * len(result.faces)
        crop = np.asarray(Image.open(faces.open(f"restored_faces/{photo.stem}_01.png")))
        assert np.array_equal(crop, result.faces[0].restored_crop)  # lossless
    jpeg = outputs.write_outputs(picture, result, photo.stem, 200, output_format="JPEG", quality=50)
    webp = outputs.write_outputs(picture, result, photo.stem, 200, output_format="WebP", quality=50)
    assert Image.open(jpeg.download).format == "JPEG" and Image.open(webp.download).format == "WEBP"
    assert Path(jpeg.download).stat().st_size < Path(page.download).stat().st_size / 3
    summary = outputs.write_summary(result, restorer)
    assert summary.startswith(f"**{result.face_count.sentence()}**") and "model custom (tiny_gfpgan.pth)" in summary
    with pytest.raises(GFPGANError, match="upload an image"):
        jobs.run_request(jobs.Context(service), None, "custom", RestoreOptions(), "auto")
    nothing = ModelService(weights_dir=tmp_path / "empty", download=False)
    with pytest.raises(GFPGANError, match=r"No model on this server"):
        jobs.run_request(jobs.Context(nothing), str(photo), None, RestoreOptions(), "auto")


def test_on_a_zero_gpu_space_restorations_go_through_spaces_gpu(tmp_path, tiny_checkpoint, monkeypatch):
    """A stand-in for the `spaces` package (the real one needs the Space): off ZeroGPU nothing is
    wrapped; on it, run_request's restoration runs in the function given to spaces.GPU, with picklable
    arguments and a duration computed from them, and gives the same faces."""
    import pickle
    import types

    from gfpgan_core import RestoreOptions
    from gfpgan_core.service import ModelService

    calls = []

    def gpu(duration):
        def wrap(fn):
            def on_gpu(*args):
                pickle.dumps(args)  # what crosses into ZeroGPU's process must pickle
                calls.append(duration(*args))
                return fn(*args)

            return on_gpu

        return wrap

    config = types.SimpleNamespace(Config=types.SimpleNamespace(zero_gpu=False))
    spaces = types.ModuleType("spaces")
    spaces.GPU, spaces.config = gpu, config
    monkeypatch.setitem(sys.modules, "spaces", spaces)
    monkeypatch.setitem(sys.modules, "spaces.config", config)
    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)
    photo = str(photos("photos", 1)[0])
    assert state.zero_gpu_route(service) is None
    plain = jobs.run_request(jobs.Context(service), photo, "custom", RestoreOptions(upscale=1), "yunet")[1]

    config.Config.zero_gpu = True
    route = state.zero_gpu_route(service)
    assert route is not None
    on_gpu = jobs.run_request(jobs.Context(service, gpu=route), photo, "custom", RestoreOptions(upscale=1), "yunet")[1]
    assert len(calls) == 1 and 15 <= calls[0] <= 120
    assert [f.restored_crop.tobytes() for f in on_gpu.faces] == [f.restored_crop.tobytes() for f in plain.faces]


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    from gfpgan_core import GFPGANError, Picture, RestorationResult

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))

    def full(path, picture, quality=95):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(outputs, "write_image", full)
    picture = Picture(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(GFPGANError) as err:
        outputs.write_outputs(picture, RestorationResult(picture, []), "photo", 100)
    assert str(err.value) == "The server is out of disk space; please try again in a few minutes."
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_visitors_read_no_server_paths_and_no_markdown():
    message = (
        "GFPGANv1.4.pth is not in /srv/app/weights (offline): download it with "
        "`python -m gfpgan_core download v1.4`, or put the file there."
    )
    shown = outputs.public_message(message)
    assert "/srv" not in shown and "`" not in shown
    assert "weights (offline)" in shown and "python -m gfpgan_core download v1.4" in shown


def test_the_summary_counts_faces_found_and_the_whole_wait(tiny_restorer):
    result = tiny_restorer.restore(photos("photos", 1)[0], upscale=1, max_faces=1)
    summary = outputs.write_summary(result, tiny_restorer, seconds=12.34)
    count = result.face_count
    assert summary.startswith(f"**{count.sentence()}** · 12.3 s")
    assert count.restored == 1 and (count.found == 1 or f"the 1 largest restored, {count.left} left" in summary)


def test_the_page_says_what_the_server_knows_after_a_failed_download(tmp_path, monkeypatch):
    from gfpgan_core import WeightsMissingError
    from gfpgan_core.service import ModelService

    service = ModelService(weights_dir=tmp_path / "empty", download=True)
    service.download = True  # as without HF_HUB_OFFLINE: downloads are expected to work
    assert "download on first use" in text.status_line(service)

    def unreachable(*args, **kwargs):
        raise WeightsMissingError("GFPGANv1.4.pth is not here (download failed: huggingface.co unreachable)")

    monkeypatch.setattr(service, "get", unreachable)
    service.warm_up()
    line = text.status_line(service)
    assert line.startswith("**No model on this server**") and "could not be downloaded" in line
    assert "download on first use" not in line and "gfpgan_core" not in line  # the command is the operator's


def test_stop_ends_the_work_at_its_next_step():
    stops = state.StopRequests()
    running = stops.start("visitor", "restore_batch")
    report = jobs.progress_reporter(lambda *a, **k: None, 60, time.perf_counter(), lambda: stops.stopped(running))
    report("restore", 1, 4)  # nothing asked yet
    stops.ask("someone else")
    report("restore", 2, 4)
    assert stops.ask("visitor") == ["restore_batch"]
    with pytest.raises(jobs.RequestStopped, match="Stopped"):
        report("upsample", 3, 12)
    stops.finish(running)


def test_a_new_run_right_after_stop_neither_clears_it_nor_is_stopped():
    """Stop, then Restore at once: the run that was going stops at its next step, and the new one,
    started after the Stop, runs (a per-session flag cleared by the new run left the old one going)."""
    stops = state.StopRequests()
    old = stops.start("visitor")
    stops.ask("visitor")
    new = stops.start("visitor")  # the new run begins before the old one reaches its next step
    assert stops.stopped(old) and not stops.stopped(new)
    stops.finish(old)
    assert not stops.stopped(new) and stops.ask("visitor") == [""] and stops.stopped(new)


def test_stop_leaves_a_running_batch_to_say_what_it_did():
    """Stop's "Stopped." for a batch section could reach the page after the batch's own table (what it
    restored, and "stopped" for the rest) and hide it: it is sent only for sections that will not say so."""
    import asyncio
    import types

    from gfpgan_core.web import handlers

    async def dropped(session):
        return 0

    context = jobs.Context(service=None, drop_waiting=dropped)  # type: ignore[arg-type]
    events = handlers.PageEvents(context, examples=None)  # type: ignore[arg-type]
    request = types.SimpleNamespace(session_hash="visitor")
    running = (text.RUNNING,) * 5  # the photo's, the batch's, the comparison's, the tasks', the video's
    batch = context.stops.start("visitor", "restore_batch")
    single = context.stops.start("visitor", "restore")
    said = asyncio.run(events.stop(*running, request=request))
    assert said[0] == text.STOPPED and said[1] == {"__type__": "update"}  # the batch's table will say it
    assert context.stops.stopped(batch) and context.stops.stopped(single)
    for token in (batch, single):
        context.stops.finish(token)
    nothing = asyncio.run(events.stop(*running, request=request))  # nothing runs: every section unchanged
    assert all(update == {"__type__": "update"} for update in nothing)


def test_before_restore_the_page_says_what_to_expect(tmp_path, tiny_checkpoint):
    from gfpgan_core.service import ModelService

    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)
    costs = state.CostModel()
    photo = str(photos("photos", 1)[0])
    context = jobs.Context(service, costs=costs)
    options = jobs.restore_options(settings.Limits(), 2, 1.0, False, True, 0.6, False)
    first = jobs.estimate(context, photo, "custom", options, "yunet")
    assert "faces found, all to restore**" in first and "about" not in first  # not measured yet
    result = service.get("custom", "yunet", "lanczos").restore(photo, upscale=2)
    costs.update(result)
    after = jobs.estimate(context, photo, "custom", options, "yunet")
    assert f"**{len(result.faces)} faces found, all to restore** · about" in after and "s on this server" in after
    assert jobs.estimate(context, None, "custom", options, "yunet") == ""
    estimate = costs.estimate(len(result.faces), result.picture.size[0] * result.picture.size[1])
    assert estimate == pytest.approx(result.timings["total"], rel=0.05)  # one request: its own time back
    # others ahead in the queue: they are counted, and their time added to this photo's
    context.queue_load = lambda: state.QueueLoad(waiting=2, running=1, workers=1)
    queued = jobs.estimate(context, photo, "custom", options, "yunet")
    assert " · 3 restorations ahead of you (about " in queued and "), then about " in queued, queued
    assert queued.endswith(" — press Restore.") and jobs.is_estimate(queued)


def test_the_queue_wait_counts_the_jobs_ahead_and_what_the_running_ones_have_left():
    costs, running = state.CostModel(), state.RunningJobs()
    assert costs.queue_wait(state.QueueLoad()) == 0.0
    assert costs.queue_wait(state.QueueLoad(waiting=1)) is None  # no job measured yet: no number
    costs.job_s = 10.0
    assert costs.queue_wait(state.QueueLoad(waiting=2, running=1)) == pytest.approx(30)  # typical jobs
    running.start(1, started=100.0)
    running.advance(1, 0.15)  # too early to read its pace: a typical job less what it ran
    assert costs.queue_wait(state.QueueLoad(running=1), running, now=104.0) == pytest.approx(6)
    running.advance(1, 0.25)  # a quarter done in 4 s: 12 s to go, whatever a typical job takes
    assert costs.queue_wait(state.QueueLoad(waiting=1, running=1), running, now=104.0) == pytest.approx(12 + 10)
    assert costs.queue_wait(state.QueueLoad(waiting=1, running=1, workers=2), running, now=104.0) == pytest.approx(11)
    running.finish(1)
    assert running.left_s(10.0, 104.0) == []
    # a job whose photo's estimate was made: its own time, not a typical job's, before its pace shows
    costs.face_s, costs.fixed_s, costs.megapixel_s = 8.0, 1.0, 1.0
    running.planned("/uploads/group.jpg", 5, 1e6)
    running.start(2, started=100.0)
    running.expect(2, "/uploads/group.jpg", costs)
    assert running.left_s(10.0, 101.0) == [pytest.approx(5 * 8 + 1 + 1 - 1)]
    running.advance(2, 0.3)  # past the quick first stages, but under half: still its own estimate
    assert running.left_s(10.0, 102.0) == [pytest.approx(5 * 8 + 1 + 1 - 2)]
    running.advance(2, 0.6)  # more than half along: its pace
    assert running.left_s(10.0, 124.0) == [pytest.approx(24 * 0.4 / 0.6)]
    words = jobs.wait_in_words
    assert words(12.2, state.QueueLoad(), 0.0) == " · about 12 s on this server"
    assert words(None, state.QueueLoad(), 0.0) == ""
    assert words(12.2, state.QueueLoad(waiting=1, running=1), 40.0) == (
        " · 2 restorations ahead of you (about 40 s), then about 12 s for yours: about 52 s"
    )
    assert words(None, state.QueueLoad(waiting=1), None) == " · 1 restoration ahead of you"


def _faces_announced(line: str) -> int:
    """The faces an estimate says the run will restore: "**5 faces found: the one nearest the centre to
    restore, 4 left as they are**" -> 1."""
    found = int(line.split("**")[1].split()[0])
    left = re.search(r"(\d+) left as", line)
    return found - int(left[1]) if left else found


def test_the_estimate_and_the_run_agree_on_the_faces(tmp_path, tiny_checkpoint, monkeypatch):
    """The estimate reads the engine's own plan with the run's options: the 5-face example with and
    without only-centre-face, and a photo whose face is found only at the fallback threshold."""
    from gfpgan_core.service import ModelService

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    context = jobs.Context(ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False))
    group, astronaut = (settings.REPO / "examples" / name for name in ("group_composite.jpg", "astronaut_degraded.jpg"))
    for path, only_centre, threshold, faces in (
        (group, False, None, 5),
        (group, True, None, 1),
        (astronaut, False, 0.99, 1),
    ):
        options = jobs.restore_options(context.limits, 1, 1.0, only_centre, False, threshold, False)
        line = jobs.estimate(context, str(path), "custom", options, "yunet")
        _, result, _ = jobs.restore_photo(context, str(path), "custom", options, "yunet")
        assert _faces_announced(line) == len(result.faces) == faces, (path.name, only_centre, line)
        if only_centre:
            assert line.startswith("**5 faces found: the one nearest the centre to restore, 4 left as they are**")
        if threshold:
            assert any("lower detection threshold" in note for note in result.notes)


def test_a_batch_counts_a_file_named_twice_once_and_checks_counts_before_opening_anything(tmp_path, monkeypatch):
    limits = settings.Limits(max_batch_photos=3)
    bundle = tmp_path / "bundle.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("a.png", b"not read here")
        z.writestr("notes.txt", b"x")
    one = str(tmp_path / "one.png")
    batch = jobs.collect_photos([str(bundle)] * 12 + [one, one], limits)  # the amplification case: named 12 times
    assert [name for name, _ in batch.photos] == ["a.png", "one.png"]
    assert batch.skipped == ["bundle.zip: notes.txt (not an image)"]
    opened = []
    monkeypatch.setattr(jobs, "image_entries", lambda *args, **kwargs: opened.append(args))
    with pytest.raises(GFPGANError, match="At least 4 photos were sent; at most 3"):
        jobs.collect_photos([str(tmp_path / f"{i}.zip") for i in range(4)], limits)
    assert opened == []  # refused on the count of files alone


def test_a_batch_summary_names_every_archive_entry_passed_over():
    report = outputs.BatchReport([outputs.BatchRow("a.png", "restored", 1, 0.5)], ["b.zip: x.txt (not an image)"])
    summary = report.summary(1.0)
    assert (
        "**1 of 1 photos restored**" in summary and "Skipped in the archives: b.zip: x.txt (not an image)." in summary
    )


def test_the_estimate_of_a_large_png_looks_at_a_thumbnail_and_agrees_with_the_run(
    tmp_path, tiny_checkpoint, monkeypatch
):
    """The estimate runs outside the queue: it decodes a thumbnail (never the photo in float at full
    size) and still counts the faces the run restores."""
    from gfpgan_core.service import ModelService

    big = tmp_path / "group_big.png"
    group = Image.open(settings.REPO / "examples" / "group_composite.jpg")
    group.resize((group.width * 4, group.height * 4), Image.LANCZOS).save(big, compress_level=1)
    limits = settings.Limits(max_input_pixels=6_000_000)
    context = jobs.Context(ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False), limits)
    seen = []
    real = jobs.read_thumbnail
    monkeypatch.setattr(jobs, "read_thumbnail", lambda *args: seen.append(real(*args)) or seen[-1])
    options = jobs.restore_options(limits, 1, 1.0, False, False, None, False)
    line = jobs.estimate(context, str(big), "custom", options, "yunet")
    assert max(seen[0].size) == settings.ESTIMATE_SIDE and seen[0].source_size == (group.width * 4, group.height * 4)
    _, result, _ = jobs.restore_photo(context, str(big), "custom", options, "yunet")
    assert _faces_announced(line) == len(result.faces) == 5, line


def test_a_request_without_a_weight_runs_the_model_at_its_own_default(tmp_path, tiny_checkpoint, monkeypatch):
    """/restore with weight null: CodeFormer (here a stand-in the registry knows by its config) gets its
    authors' w = 0.5; the page's slider is told the same default."""
    import torch

    from conftest import IdentityRestorer
    from gfpgan_core import Restorer
    from gfpgan_core.archs import CodeFormerConfig
    from gfpgan_core.service import ModelService

    seen = []

    class CodeFormerStandIn(IdentityRestorer):
        has_fidelity = True
        config = CodeFormerConfig()

        def restore_faces(self, x, noise=None, fidelity=None):
            seen.append(fidelity)
            return torch.zeros_like(x)

    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)
    monkeypatch.setattr(service, "get", lambda *args, **kwargs: Restorer(CodeFormerStandIn(), device="cpu"))
    monkeypatch.setattr(service, "can_run", lambda key: True)  # as if its weights were here
    context = jobs.Context(service)
    face = tmp_path / "face.png"
    Image.fromarray(np.full((512, 512, 3), 128, np.uint8)).save(face)
    options = jobs.PageOptions("codeformer", rescale=1, weight=None, aligned=True, background=False)
    jobs.restore_photo(context, str(face), "codeformer", options.restore_options(context.limits), "yunet")
    assert seen == [pytest.approx(0.5)]
    assert service.default_weight("codeformer") == 0.5 and service.default_weight("v1.4") == 1.0
    assert service.default_weight("custom") == 1.0  # a GFPGAN file


def test_the_cost_model_tells_a_fixed_cost_from_a_cost_per_megapixel():
    """Two sizes of photo without faces: 1 s fixed and 2 s per MP come out of their times, so a large
    photo is not charged a small one's fixed cost per megapixel (a 6 s selfie was announced as 19 s)."""
    from types import SimpleNamespace

    def photo(megapixels: float, seconds: float):
        side = int((megapixels * 1e6) ** 0.5)
        return SimpleNamespace(timings={"total": seconds}, faces=[], picture=SimpleNamespace(size=(side, side)))

    costs = state.CostModel()
    costs.update(photo(0.25, 1.5))
    assert costs.estimate(0, 0.25e6) == pytest.approx(1.5, rel=0.01)  # one size seen: itself back
    costs.update(photo(4.0, 9.0))
    assert costs.fixed_s == pytest.approx(1.0, rel=0.02) and costs.megapixel_s == pytest.approx(2.0, rel=0.02)
    assert costs.estimate(0, 16e6) == pytest.approx(33, rel=0.02)
