"""The Gradio app as visitors and API users meet it: started on 127.0.0.1 with an official-format checkpoint."""

import io
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from appserver import free_port
from PIL import Image

from conftest import ARTIFACTS, REPO, browser_page, photos, published_layout, running_app, write_gfpgan_checkpoint


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def _restore(client, path, **kw):
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), api_name="/restore", **kw)


def test_restore_endpoint_on_a_real_photo(client):
    photo = max(photos("photos", 6), key=lambda p: p.stat().st_size)
    restored, gallery, summary, (before, after), _, _ = _restore(client, photo)
    w, h = Image.open(photo).size
    assert Image.open(restored).size == (2 * w, 2 * h)
    assert Image.open(restored).format == "PNG"
    n = int(summary.split("**")[1].split()[0])  # faces found; the app restores at most 40, the largest
    assert n >= 1 and len(gallery) == min(n, 40)
    assert (n > 40) == (f"{n} faces found; the 40 largest were restored." in summary)
    assert all(item["caption"].startswith(f"Face {i}") for i, item in enumerate(gallery, 1))
    assert "CPU" in summary and "custom" in summary
    assert Image.open(before).size == Image.open(after).size


def test_odd_inputs(client, tmp_path):
    src = photos("hq_photos", 1)[0]
    rgb = Image.open(src).convert("RGB")
    gray = tmp_path / "gray.png"
    rgb.convert("L").save(gray)
    out, _, _, _, _, _ = _restore(client, gray, rescale=1)
    assert Image.open(out).mode in ("L", "I;16", "I")

    rgba = tmp_path / "rgba.png"
    arr = np.dstack([np.asarray(rgb), np.full(rgb.size[::-1], 128, np.uint8)])
    Image.fromarray(arr).save(rgba)
    out, _, _, _, _, _ = _restore(client, rgba, rescale=1)
    assert Image.open(out).mode == "RGBA" and np.asarray(Image.open(out))[..., 3].mean() == pytest.approx(128, abs=1)

    noface = tmp_path / "noface.png"
    Image.fromarray(np.full((80, 120, 3), 90, np.uint8)).save(noface)
    out, gallery, summary, _, faces_zip, _ = _restore(client, noface)
    assert Image.open(out).size == (240, 160) and gallery == [] and "No face found" in summary
    assert faces_zip is None  # no face, no ZIP of faces

    big = tmp_path / "big.jpg"
    Image.fromarray(np.asarray(rgb.resize((3000, 2000)))).save(big, quality=80)
    out, _, summary, _, _, _ = _restore(client, big, rescale=1)
    assert "downscaled" in summary and Image.open(out).size[0] * Image.open(out).size[1] <= 4_000_000 * 1.01


def test_errors_are_readable_and_the_server_keeps_serving(client, tmp_path):
    from gradio_client.exceptions import AppError

    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    with pytest.raises(AppError, match="not an image"):
        _restore(client, bad)
    with pytest.raises(AppError, match="maximum value 4"):
        _restore(client, photos("hq_photos", 1)[0], rescale=20)
    out, _, _, _, _, _ = _restore(client, photos("hq_photos", 1)[0], rescale=1)
    assert Path(out).is_file()


def test_several_clients_at_once(app_url):
    from gradio_client import Client

    results, errors = [], []

    def one(path):
        try:
            results.append(_restore(Client(app_url, verbose=False), path, rescale=1))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    paths = photos("hq_photos", 4)
    threads = [threading.Thread(target=one, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors and len(results) == len(paths)


GALLERY_LAYOUT = """() => {
  const wrap = document.querySelector('#faces .grid-wrap').getBoundingClientRect();
  const items = [...document.querySelectorAll('#faces .thumbnail-item')].map(e => e.getBoundingClientRect());
  const captions = [...document.querySelectorAll('#faces .caption-label')].map(e => ({
    text: e.innerText, whole: e.scrollWidth <= e.clientWidth + 1, bottom: e.getBoundingClientRect().bottom}));
  return {wrap: {width: wrap.width, bottom: wrap.bottom}, items: items.map(r => ({width: r.width, height: r.height})),
          captions};
}"""


def _summary_has(page, text: str, timeout: float = 120_000) -> None:
    page.wait_for_function(f"document.querySelector('#summary').innerText.includes({text!r})", timeout=timeout)


def test_page_in_a_real_browser(app_url, tmp_path):
    """Waiting (1-3), one face's gallery (8), transparency and the slider (9), examples (11), as a visitor
    meets them at desktop size."""
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page(app_url) as page:
        # 11: the examples sit right under the photo; a click shows a result made in advance
        photo_box, examples_box = page.locator("#input-image").bounding_box(), page.locator("#examples").bounding_box()
        assert 0 <= examples_box["y"] - (photo_box["y"] + photo_box["height"]) < 40
        page.locator("#examples img[src*='damaged_old_photo']").first.click()
        _summary_has(page, "restored in advance", timeout=60_000)  # the app makes them right after start
        page.locator("#faces img").first.wait_for(timeout=10_000)
        assert "damaged_old_photo_restored.png" in page.locator("#download").inner_text().replace("\n", "")
        # 8: one face fills the gallery's width as an input | restored pair, its caption whole and inside
        layout = page.evaluate(GALLERY_LAYOUT)
        (item,), (caption,) = layout["items"], layout["captions"]
        assert item["width"] > 0.9 * layout["wrap"]["width"] and item["width"] == pytest.approx(
            2 * item["height"], rel=0.05
        )
        assert caption["text"].startswith("Face 1 ·") and caption["whole"]
        assert caption["bottom"] <= layout["wrap"]["bottom"]

        # 2-3: a new photo clears that result and says what to expect
        photo = photos("photos", 1)[0]
        page.locator("#input-image input[type=file]").set_input_files(str(photo))
        _summary_has(page, "— press Restore", timeout=30_000)
        assert page.locator("#faces img").count() == 0 and "restored" not in page.locator("#download").inner_text()
        # 1: the summary's time is the visitor's wait as the page measured it, not less
        started = time.perf_counter()
        page.locator("#restore-button").click()
        _summary_has(page, " s · CPU")
        waited = time.perf_counter() - started
        summary = page.locator("#summary").inner_text()
        said = float(summary.split(" s · CPU")[0].split("·")[-1])
        assert said <= waited + 0.5 and waited - said < 5, (said, waited)  # the rest: browser and network
        assert page.locator("#slider img").count() >= 1
        assert page.locator("#model-status").inner_text().startswith("Model in use")
        page.screenshot(path=str(ARTIFACTS / "app_page.png"), full_page=True)
        # 2: with the server's speed measured, the next photo's wait is announced
        page.locator("#input-image input[type=file]").set_input_files(str(photos("hq_photos", 1)[0]))
        _summary_has(page, "s on this server", timeout=30_000)

        # 9: a transparent photo's before/after shows white behind it; the slider offers no download of its own
        rgba = tmp_path / "transparent.png"
        pixels = np.asarray(Image.open(photos("hq_photos", 1)[0]).convert("RGB").resize((256, 256))).copy()
        alpha = np.full((256, 256), 255, np.uint8)
        alpha[:, :64] = 0
        pixels[:, :64] = (255, 0, 0)  # hidden behind the transparency: must not show
        Image.fromarray(np.dstack([pixels, alpha])).save(rgba)
        page.locator("#input-image input[type=file]").set_input_files(str(rgba))
        _summary_has(page, "— press Restore", timeout=30_000)
        page.locator("#restore-button").click()
        _summary_has(page, " s · CPU")
        before = page.locator("#slider img").first.get_attribute("src")
        with urllib.request.urlopen(urllib.parse.urljoin(app_url, before)) as response:
            shown = np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB"))
        assert shown[:, : shown.shape[1] // 8].min() > 240  # white, not the hidden red
        assert page.locator("#slider button[aria-label*='ownload'], #slider a[download]").count() == 0

        # expressions, asked for under Advanced: captions name them before -> after; a face's bars on click
        page.get_by_text("Advanced", exact=True).click()
        page.locator("#expressions input[type=checkbox]").check()
        page.locator("#input-image input[type=file]").set_input_files(str(photos("hq_photos", 1)[0]))
        _summary_has(page, "— press Restore", timeout=30_000)
        page.locator("#restore-button").click()
        _summary_has(page, " s · CPU")
        caption = page.locator("#faces .caption-label").first.inner_text()
        assert caption.startswith("Face 1 · ") and " → " in caption, caption
        page.locator("#faces .thumbnail-item").first.click()
        after = caption.split(" → ")[1].split()[0]
        page.wait_for_function(f"document.querySelector('#expr-after').innerText.includes({after!r})", timeout=10_000)
    assert (ARTIFACTS / "app_page.png").stat().st_size > 10_000


def test_many_faces_on_a_phone(app_url):
    """8 and 11 at phone size: the examples come right under the photo, and the group's gallery has two
    columns whose captions are whole."""
    with browser_page(app_url, 390, 844) as page:
        photo_box, examples_box = page.locator("#input-image").bounding_box(), page.locator("#examples").bounding_box()
        assert 0 <= examples_box["y"] - (photo_box["y"] + photo_box["height"]) < 40
        page.locator("#examples img[src*='group_composite']").first.click()
        _summary_has(page, "restored in advance", timeout=60_000)
        page.locator("#faces img").first.wait_for(timeout=10_000)
        layout = page.evaluate(GALLERY_LAYOUT)
        assert len(layout["captions"]) >= 4
        assert [c["text"].split(" ·")[0] for c in layout["captions"]] == [
            f"Face {i}" for i in range(1, len(layout["captions"]) + 1)
        ]
        assert all(c["whole"] for c in layout["captions"]), layout["captions"]
        widths = [i["width"] for i in layout["items"]]
        assert all(0.4 * layout["wrap"]["width"] < w < 0.5 * layout["wrap"]["width"] for w in widths)  # two columns
        page.screenshot(path=str(ARTIFACTS / "app_phone.png"), full_page=True)


# ---------------------------------------------------------------- the handler's parts, without a server
def _app_module():
    sys.path.insert(0, str(REPO))
    import app

    return app


def test_limits_from_env(monkeypatch):
    app = _app_module()
    monkeypatch.setenv("GFPGAN_MAX_FACES", "7")
    monkeypatch.setenv("GFPGAN_TIMEOUT", "not a number")
    limits = app.Limits.from_env()
    assert limits.max_faces == 7 and limits.timeout_s == app.Limits().timeout_s


def test_progress_table_covers_every_stage_and_fills_the_bar():
    from gfpgan_core.pipeline import STAGES

    app = _app_module()
    assert list(app.PROGRESS_STAGES) == [*STAGES, "encode"]  # the engine's stages, then the page's own
    shown = []
    report = app.progress_reporter(
        lambda value, desc: shown.append((value, desc)), timeout_s=60, started=time.perf_counter()
    )
    for stage in app.PROGRESS_STAGES:
        report(stage, 0, 1)
        report(stage, 1, 1)
    report("restore", 2, 5)
    values = [v for v, _ in shown[:-1]]
    assert values == sorted(values) and values[0] == 0 and values[-1] == pytest.approx(1)
    assert shown[-1][1] == "Restoring faces (2/5)"


def test_time_limit_fires_inside_a_stage():
    app = _app_module()
    report = app.progress_reporter(lambda *a, **k: None, timeout_s=1, started=time.perf_counter() - 5)
    with pytest.raises(app.RequestTimeout, match="longer than 1 s"):
        report("upsample", 3, 12)


def test_run_request_gallery_and_summary(tmp_path, tiny_checkpoint, monkeypatch):
    from gfpgan_core import GFPGANError, RestoreOptions
    from gfpgan_core.service import ModelService

    app = _app_module()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "cache"))
    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)
    photo = photos("photos", 1)[0]
    picture, result, restorer = app.run_request(service, str(photo), "custom", RestoreOptions(upscale=1), "yunet")
    page = app.write_outputs(picture, result, photo.stem, preview_side=200)
    assert Path(page.download).name == f"{photo.stem}_restored.png" and len(page.gallery) >= 2
    assert len(page.gallery) == len(result.faces)
    captions = [caption for _, caption in page.gallery]
    assert [c.split(" ·")[0] for c in captions] == [f"Face {i}" for i in range(1, len(captions) + 1)]
    assert max(len(c) for c in captions) <= 24  # readable in a phone's gallery column
    assert max(Image.open(page.before_after[0]).size) == 200
    with zipfile.ZipFile(page.faces_zip) as faces:  # every crop, named as the CLI names them
        names = faces.namelist()
        assert f"restored_faces/{photo.stem}_00.png" in names and f"cropped_faces/{photo.stem}_00.png" in names
        assert len(names) == 2 * len(result.faces)
        crop = np.asarray(Image.open(faces.open(f"restored_faces/{photo.stem}_00.png")))
        assert np.array_equal(crop, result.faces[0].restored_crop)  # lossless
    jpeg = app.write_outputs(picture, result, photo.stem, 200, output_format="JPEG", quality=50)
    webp = app.write_outputs(picture, result, photo.stem, 200, output_format="WebP", quality=50)
    assert Image.open(jpeg.download).format == "JPEG" and Image.open(webp.download).format == "WEBP"
    assert Path(jpeg.download).stat().st_size < Path(page.download).stat().st_size / 3
    summary = app.write_summary(result, restorer)
    assert summary.startswith(f"**{len(result.faces)} faces found**") and "model custom (tiny_gfpgan.pth)" in summary
    with pytest.raises(GFPGANError, match="upload an image"):
        app.run_request(service, None, "custom", RestoreOptions(), "auto")
    nothing = ModelService(weights_dir=tmp_path / "empty", download=False)
    with pytest.raises(GFPGANError, match=r"download v1\.4"):
        app.run_request(nothing, str(photo), None, RestoreOptions(), "auto")


def test_on_a_zero_gpu_space_restorations_go_through_spaces_gpu(tmp_path, tiny_checkpoint, monkeypatch):
    """A stand-in for the `spaces` package (the real one needs the Space): off ZeroGPU nothing is
    wrapped; on it, run_request's restoration runs in the function given to spaces.GPU, with picklable
    arguments and a duration computed from them, and gives the same faces."""
    import pickle
    import types

    from gfpgan_core import RestoreOptions
    from gfpgan_core.service import ModelService

    app = _app_module()
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
    monkeypatch.setattr(app, "_zero_gpu_restore", None)
    monkeypatch.setattr(app, "_ZERO_GPU_SERVICE", None)
    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)
    photo = str(photos("photos", 1)[0])
    assert not app.use_zero_gpu(service) and app._zero_gpu_restore is None
    plain = app.run_request(service, photo, "custom", RestoreOptions(upscale=1), "yunet")[1]

    config.Config.zero_gpu = True
    assert app.use_zero_gpu(service)
    on_gpu = app.run_request(service, photo, "custom", RestoreOptions(upscale=1), "yunet")[1]
    assert len(calls) == 1 and 15 <= calls[0] <= 120
    assert [f.restored_crop.tobytes() for f in on_gpu.faces] == [f.restored_crop.tobytes() for f in plain.faces]


@pytest.mark.parametrize("kind", ["pickled", "background", "truncated"])
def test_an_unusable_model_file_stops_the_app_at_start(tmp_path, kind):
    import torch

    from gfpgan_core.archs import SRVGGNetCompact

    path = tmp_path / f"{kind}.pth"
    if kind == "pickled":
        torch.save(torch.nn.Linear(2, 2), path)
    elif kind == "background":
        torch.save({"params": SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4).state_dict()}, path)
    else:
        write_gfpgan_checkpoint(path)
        path.write_bytes(path.read_bytes()[:5000])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GFPGAN_WEIGHTS_DIR": str(tmp_path / "w")}
    proc = subprocess.run(
        [sys.executable, "app.py", "--model-path", str(path), "--port", str(free_port())],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and "Traceback" not in proc.stderr, proc.stderr
    if kind == "background":
        assert "holds SRVGGNetCompact, a background upsampler; expected a face restorer (GFPGANv1Clean" in last


def test_no_weights_the_button_says_so_and_a_call_gets_the_pages_message(tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from gfpgan_core.service import ModelService

    app = _app_module()
    service = ModelService(weights_dir=tmp_path / "empty", download=False)
    demo = app.build_demo(service)
    button = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "restore-button")
    assert button.interactive is False and "no model weights" in button.value
    demo.queue().launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        with pytest.raises(AppError, match=r"download v1\.4"):
            client.predict(
                handle_file(str(photos("hq_photos", 1)[0])), None, 1, 1.0, False, False, "auto", api_name="/restore"
            )
    finally:
        demo.close()


def test_each_result_is_stored_once_inside_gradios_cache(app_server, client, tmp_path):
    photo = tmp_path / "only_once.png"
    Image.open(photos("hq_photos", 1)[0]).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photo)
    _restore(client, photo, rescale=1)
    copies = list(app_server.cache_dir.rglob("only_once_restored.png"))
    assert len(copies) == 1, copies
    assert copies[0].parent.parent.name == "gfpgan-results"  # the file written is the file served: no copy


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    import errno

    from gfpgan_core import GFPGANError, Picture, RestorationResult

    app = _app_module()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))

    def full(path, picture, quality=95):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(app, "write_image", full)
    picture = Picture(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(GFPGANError) as err:
        app.write_outputs(picture, RestorationResult(picture, []), "photo", 100)
    assert str(err.value) == "The server is out of disk space; please try again in a few minutes."
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_visitors_read_no_server_paths_and_no_markdown():
    app = _app_module()
    message = (
        "GFPGANv1.4.pth is not in /srv/app/weights (offline): download it with "
        "`python -m gfpgan_core download v1.4`, or put the file there."
    )
    shown = app.public_message(message)
    assert "/srv" not in shown and "`" not in shown
    assert "weights (offline)" in shown and "python -m gfpgan_core download v1.4" in shown


def test_the_summary_counts_faces_found_and_the_whole_wait(tiny_restorer):
    app = _app_module()
    result = tiny_restorer.restore(photos("photos", 1)[0], upscale=1, max_faces=1)
    summary = app.write_summary(result, tiny_restorer, seconds=12.34)
    assert summary.startswith(f"**{result.faces_found} faces found** · 12.3 s")
    assert "the 1 largest were restored" in summary


def test_the_page_says_what_the_server_knows_after_a_failed_download(tmp_path, monkeypatch):
    from gfpgan_core import WeightsMissingError
    from gfpgan_core.service import ModelService

    app = _app_module()
    service = ModelService(weights_dir=tmp_path / "empty", download=True)
    service.download = True  # as without HF_HUB_OFFLINE: downloads are expected to work
    assert "download on first use" in app.status_line(service)

    def unreachable(*args, **kwargs):
        raise WeightsMissingError("GFPGANv1.4.pth is not here (download failed: huggingface.co unreachable)")

    monkeypatch.setattr(service, "get", unreachable)
    service.warm_up()
    line = app.status_line(service)
    assert "**none**" in line and "could not be downloaded" in line and "download on first use" not in line


def test_aligned_crops_through_the_api(client):
    face = photos("lq_faces_512", 1)[0]
    restored, gallery, summary, _, _, _ = _restore(client, face, rescale=1, aligned=True)
    assert Image.open(restored).size == Image.open(face).size and len(gallery) == 1
    assert summary.startswith("**1 face found**")


def test_stop_ends_the_work_at_its_next_step():
    app = _app_module()
    stops = app.StopRequests()
    report = app.progress_reporter(lambda *a, **k: None, 60, time.perf_counter(), lambda: stops.take("visitor"))
    report("restore", 1, 4)  # nothing asked yet
    stops.ask("someone else")
    report("restore", 2, 4)
    stops.ask("visitor")
    with pytest.raises(app.RequestStopped, match="Stopped"):
        report("upsample", 3, 12)
    report("upsample", 4, 12)  # asked once, stopped once


def test_the_stop_button_really_stops_a_running_restoration(app_server, tmp_path):
    big = tmp_path / "big.png"  # upscaled to the 40 MP output limit: seconds of work
    noise = (np.random.default_rng(0).random((40, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(noise).resize((2000, 2000)).save(big)
    with browser_page(app_server.url) as page:
        page.locator("#input-image input[type=file]").set_input_files(str(big))
        page.locator("#input-image img").first.wait_for(timeout=30_000)
        page.wait_for_timeout(2000)
        page.locator("#restore-button").click()
        page.wait_for_timeout(1500)
        page.locator("#stop-button").click()
        _summary_has(page, "Stopped", timeout=30_000)
        page.wait_for_timeout(3000)
        assert "found" not in page.locator("#summary").inner_text()  # no result arrived after Stop
    deadline = time.time() + 30
    while time.time() < deadline and not any("stopped by its visitor" in line for line in app_server.log):
        time.sleep(0.5)
    assert any("stopped by its visitor" in line for line in app_server.log)  # the work itself ended


def test_before_restore_the_page_says_what_to_expect(tmp_path, tiny_checkpoint):
    from gfpgan_core.service import ModelService

    app = _app_module()
    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)
    costs = app.CostModel()
    photo = str(photos("photos", 1)[0])
    first = app.expected_wait(service, costs, app.Limits(), photo, "custom", 2, "yunet", 0.6, False)
    assert first.startswith("**") and "faces found**" in first and "about" not in first  # speed not measured yet
    result = service.get("custom", "yunet", "lanczos").restore(photo, upscale=2)
    costs.update(result)
    after = app.expected_wait(service, costs, app.Limits(), photo, "custom", 2, "yunet", 0.6, False)
    assert f"**{len(result.faces)} faces found** · about" in after and "s on this server" in after
    assert app.expected_wait(service, costs, app.Limits(), None, "custom", 2, "yunet", 0.6, False) == ""
    estimate = costs.estimate(len(result.faces), result.picture.size[0] * result.picture.size[1])
    assert estimate == pytest.approx(result.timings["total"], rel=0.05)  # one request: its own time back


# ---------------------------------------------------------------- through gradio_client, as developers call it
def test_a_lower_threshold_is_tried_once_and_said(client):
    _, gallery, summary, _, _, _ = _restore(client, REPO / "examples" / "astronaut_degraded.jpg", threshold=0.99)
    assert len(gallery) == 1 and "No face scored 0.99" in summary and "threshold 0.35" in summary


def test_download_formats_names_and_face_crops(client, tmp_path):
    source = photos("hq_photos", 1)[0]
    blob = tmp_path / "blob"  # what the JavaScript client names a Blob it uploads
    shutil.copy(source, blob)
    png, gallery, _, _, faces_zip, _ = _restore(client, blob, rescale=1)
    assert Path(png).name == "photo_restored.png" and Image.open(png).format == "PNG"
    with zipfile.ZipFile(faces_zip) as faces:
        assert Path(faces_zip).name == "photo_faces.zip"
        assert sorted(faces.namelist())[: 2 * len(gallery)][-1].startswith("restored_faces/photo_")
        assert len(faces.namelist()) == 2 * len(gallery)
    named = tmp_path / f"Grandma 1962{source.suffix}"
    shutil.copy(source, named)
    sizes = {}
    for fmt, quality in (("JPEG", 60), ("WebP", 60), ("JPEG", 95)):
        out, *_ = _restore(client, named, rescale=1, output_format=fmt, quality=quality)
        assert Path(out).name == f"Grandma 1962_restored.{'jpg' if fmt == 'JPEG' else 'webp'}"
        assert Image.open(out).format == fmt.upper()
        sizes[fmt, quality] = Path(out).stat().st_size
    assert sizes["JPEG", 60] < sizes["JPEG", 95] < Path(png).stat().st_size
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="GIF"):
        _restore(client, named, output_format="GIF")


def test_the_api_page_labels_every_output_and_its_example_runs(app_url):
    import json

    from gradio_client import Client, handle_file

    with urllib.request.urlopen(app_url + "gradio_api/info") as response:
        info = json.load(response)
    for endpoint in ("/restore", "/restore_batch", "/compare"):
        labels = [r["label"] for r in info["named_endpoints"][endpoint]["returns"]]
        assert all(label and not label.startswith("value_") for label in labels), labels
    example = info["named_endpoints"]["/restore"]["parameters"][0]["example_input"]["url"]
    assert example.startswith(app_url) and Path(example).name in _app_module().EXAMPLE_NAMES
    # as the API page shows it: the client fetches the example from this server, uploads it, restores it
    restored, _, summary, *_ = Client(app_url, verbose=False).predict(handle_file(example), api_name="/restore")
    assert Image.open(restored).format == "PNG" and "found" in summary


def test_several_photos_at_once(client, tmp_path):
    from gradio_client import handle_file

    one, two = photos("hq_photos", 2)
    bundle = tmp_path / "family.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.write(two, f"album/{two.name}")
        z.writestr("album/broken.png", b"not an image")
        z.writestr("album/readme.txt", b"ignored: not an image")
    archive, summary = client.predict(
        [handle_file(str(one)), handle_file(str(bundle))], output_format="WebP", rescale=1, api_name="/restore_batch"
    )
    assert summary.startswith("**2 of 3 photos restored**") and "broken.png" in summary
    assert "not restored: The file is not an image that can be read." in summary
    with zipfile.ZipFile(archive) as results:
        assert results.namelist() == [f"{one.stem}_restored.webp", f"{two.stem}_restored.webp"]
        assert Image.open(results.open(f"{two.stem}_restored.webp")).size == Image.open(two).size


def test_batch_and_face_limits_hold(tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    env = {"GFPGAN_MAX_BATCH_PHOTOS": "2", "GFPGAN_MAX_FACES": "3", "GFPGAN_CACHE_EXAMPLES": "0"}
    with running_app(tmp_path, env=env) as server:
        client = Client(server.url, verbose=False)
        three = [handle_file(str(p)) for p in photos("hq_photos", 3)]
        with pytest.raises(AppError, match="3 photos were sent; at most 2 can be restored at once"):
            client.predict(three, api_name="/restore_batch")
        with pytest.raises(AppError, match="upload one or more photos"):
            client.predict([], api_name="/restore_batch")
        group = REPO / "examples" / "group_composite.jpg"
        _, gallery, summary, _, _, _ = _restore(client, group, rescale=1)
        assert len(gallery) == 3 and "5 faces found; the 3 largest were restored." in summary


def test_the_readme_curl_recipe_runs_as_copied(app_url, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("no curl on this machine")
    readme = (REPO / "README.md").read_text()
    recipe = readme[readme.index("URL=http://127.0.0.1:7860") :].split("```")[0]
    recipe = recipe.replace("URL=http://127.0.0.1:7860", f"URL={app_url.rstrip('/')}", 1)
    shutil.copy(REPO / "examples" / "grace_hopper_degraded.jpg", tmp_path / "old_photo.jpg")
    run = subprocess.run(["bash", "-c", recipe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "event: complete" in run.stdout, run.stdout + run.stderr
    assert "old_photo_restored.png" in run.stdout


def test_the_threshold_slider_starts_at_the_servers_detectors_calibrated_value(tmp_path, tiny_checkpoint):
    from gfpgan_core.faces import YuNetDetector
    from gfpgan_core.service import ModelService

    app = _app_module()
    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)  # no RetinaFace
    demo = app.build_demo(service)
    slider = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "threshold")
    assert slider.value == YuNetDetector.default_threshold
    assert slider.preprocess(None) is None and slider.preprocess(0.5) == 0.5  # API null: the detector's own


def test_expressions_through_the_api(client, tmp_path):
    from gradio_client import handle_file

    photo = photos("hq_photos", 1)[0]
    _, gallery, _, _, _, records = _restore(client, photo, rescale=1, expressions=True)
    assert records and len(records) == len(gallery)
    classes = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    for i, (record, item) in enumerate(zip(records, gallery, strict=True), 1):
        assert record["before"] in classes and record["after"] in classes
        assert sum(record[f"after_{c}"] for c in classes) == pytest.approx(1, abs=1e-3)
        assert (
            item["caption"].startswith(f"Face {i} · {record['before']} ") and f"→ {record['after']} " in item["caption"]
        )
    assert _restore(client, photo, rescale=1)[5] is None  # only when asked for
    archive, _ = client.predict([handle_file(str(photo))], expressions=True, api_name="/restore_batch")
    with zipfile.ZipFile(archive) as results:
        assert results.read("expressions.csv").decode().startswith("image,face,x0,y0,x1,y1,before,")


@pytest.fixture(scope="module")
def compare_server(tmp_path_factory):
    """An app with two face models: the random GFPGAN given at start and RestoreFormer (random weights in
    the release's layout) in its weights folder."""
    import torch

    tmp = tmp_path_factory.mktemp("compare")
    (tmp / "weights").mkdir()
    torch.save({"params_ema": published_layout("RestoreFormer")}, tmp / "weights" / "RestoreFormer.pth")
    with running_app(tmp, env={"GFPGAN_CACHE_EXAMPLES": "0"}) as server:
        yield server


def test_compare_through_the_api(compare_server):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(compare_server.url, verbose=False)
    photo = handle_file(str(REPO / "examples" / "astronaut_degraded.jpg"))
    gallery, summary = client.predict(photo, ["custom", "restoreformer"], api_name="/compare")
    assert len(gallery) == 1 and gallery[0]["caption"].startswith("Face 1: input | custom")
    assert gallery[0]["caption"].endswith("| restoreformer")
    w, h = Image.open(gallery[0]["image"]).size
    assert w == 3 * h  # input | custom | restoreformer
    assert summary.startswith("**1 face compared**") and " s · restoreformer " in summary
    with pytest.raises(AppError, match="Choose two to 4 models"):
        client.predict(photo, ["custom"], api_name="/compare")
    with pytest.raises(AppError, match=r"not in the list of choices|Unknown model"):
        client.predict(photo, ["custom", "/etc/passwd"], api_name="/compare")


def test_compare_in_the_browser(compare_server):
    with browser_page(compare_server.url) as page:
        page.locator("#input-image input[type=file]").set_input_files(str(REPO / "examples" / "astronaut_degraded.jpg"))
        _summary_has(page, "— press Restore", timeout=30_000)
        page.get_by_text("Compare models on this photo", exact=True).click()
        page.locator("#compare-button").click()
        page.locator("#compare-faces img").first.wait_for(timeout=120_000)
        assert "compared" in page.locator("#compare-summary").inner_text()
        caption = page.locator("#compare-faces .caption-label").first.inner_text()
        assert caption.startswith("Face 1: input | custom") and "restoreformer" in caption


def test_the_readme_python_recipe_runs_as_copied(app_url, tmp_path):
    readme = (REPO / "README.md").read_text()
    recipe = readme[readme.index("from gradio_client import Client, handle_file") :].split("```")[0]
    recipe = recipe.replace('"http://127.0.0.1:7860/"', repr(app_url), 1)
    example = REPO / "examples" / "grace_hopper_degraded.jpg"
    for name in ("old_photo.jpg", "a.jpg"):
        shutil.copy(example, tmp_path / name)
    with zipfile.ZipFile(tmp_path / "album.zip", "w") as album:
        album.write(REPO / "examples" / "astronaut_degraded.jpg", "astronaut.jpg")
    recipe += "\nassert Path(png).name == 'old_photo_restored.png' and expressions is None\n"
    recipe += "assert batch_summary.startswith('**2 of 2 photos restored**'), batch_summary\n"
    run = subprocess.run(
        [sys.executable, "-c", "from pathlib import Path\n" + recipe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-2000:]
