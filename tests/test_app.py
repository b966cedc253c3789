"""The Gradio app as visitors and API users meet it: started on 127.0.0.1 with an official-format checkpoint."""

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from appserver import free_port
from PIL import Image

from conftest import ARTIFACTS, REPO, photos, write_gfpgan_checkpoint


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def _restore(client, path, **kw):
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), api_name="/restore", **kw)


def test_restore_endpoint_on_a_real_photo(client):
    photo = max(photos("photos", 6), key=lambda p: p.stat().st_size)
    restored, gallery, summary, (before, after) = _restore(client, photo)
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
    out, _, _, _ = _restore(client, gray, rescale=1)
    assert Image.open(out).mode in ("L", "I;16", "I")

    rgba = tmp_path / "rgba.png"
    arr = np.dstack([np.asarray(rgb), np.full(rgb.size[::-1], 128, np.uint8)])
    Image.fromarray(arr).save(rgba)
    out, _, _, _ = _restore(client, rgba, rescale=1)
    assert Image.open(out).mode == "RGBA" and np.asarray(Image.open(out))[..., 3].mean() == pytest.approx(128, abs=1)

    noface = tmp_path / "noface.png"
    Image.fromarray(np.full((80, 120, 3), 90, np.uint8)).save(noface)
    out, gallery, summary, _ = _restore(client, noface)
    assert Image.open(out).size == (240, 160) and gallery == [] and "No face found" in summary

    big = tmp_path / "big.jpg"
    Image.fromarray(np.asarray(rgb.resize((3000, 2000)))).save(big, quality=80)
    out, _, summary, _ = _restore(client, big, rescale=1)
    assert "downscaled" in summary and Image.open(out).size[0] * Image.open(out).size[1] <= 4_000_000 * 1.01


def test_errors_are_readable_and_the_server_keeps_serving(client, tmp_path):
    from gradio_client.exceptions import AppError

    bad = tmp_path / "not_an_image.png"
    bad.write_text("hello")
    with pytest.raises(AppError, match="not an image"):
        _restore(client, bad)
    with pytest.raises(AppError, match="maximum value 4"):
        _restore(client, photos("hq_photos", 1)[0], rescale=20)
    out, _, _, _ = _restore(client, photos("hq_photos", 1)[0], rescale=1)
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


def test_page_in_a_real_browser(app_url):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium: install it with `apt-get install chromium` (as .ci/run does) to run the browser test")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    photo = photos("photos", 1)[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app_url)
        page.locator("#input-image input[type=file]").set_input_files(str(photo))
        page.locator("#input-image img").first.wait_for(timeout=30_000)
        page.locator("#restore-button").click()
        page.locator("#faces img").first.wait_for(timeout=120_000)
        summary = page.locator("#summary").inner_text()
        assert "found" in summary
        assert page.locator("#slider img").count() >= 1
        assert page.locator("#model-status").inner_text().startswith("Model in use")
        page.screenshot(path=str(ARTIFACTS / "app_page.png"), full_page=True)
        # an example, clicked as a visitor would, restores too (its file is one the server received)
        page.locator("img[src*='astronaut_degraded']").first.click()
        # a new photo clears the previous one's result and says what to expect instead
        page.wait_for_function("document.querySelector('#summary').innerText.includes('press Restore')", timeout=30_000)
        assert page.locator("#summary").inner_text().startswith("1 face found")
        assert page.locator("#faces img").count() == 0
        page.locator("#restore-button").click()
        page.wait_for_function("document.querySelector('#summary').innerText.includes('1 face found')", timeout=120_000)
        browser.close()
    assert (ARTIFACTS / "app_page.png").stat().st_size > 10_000


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
    png, gallery, before_after = app.write_outputs(picture, result, photo.stem, preview_side=200)
    assert Path(png).name == f"{photo.stem}_restored.png" and len(gallery) == len(result.faces) >= 2
    assert [caption.split(" ·")[0] for _, caption in gallery] == [f"Face {i}" for i in range(1, len(gallery) + 1)]
    assert max(Image.open(before_after[0]).size) == 200
    summary = app.write_summary(result, restorer)
    assert summary.startswith(f"**{len(result.faces)} faces found**") and "model custom (tiny_gfpgan.pth)" in summary
    with pytest.raises(GFPGANError, match="upload an image"):
        app.run_request(service, None, "custom", RestoreOptions(), "auto")
    nothing = ModelService(weights_dir=tmp_path / "empty", download=False)
    with pytest.raises(GFPGANError, match=r"download v1\.4"):
        app.run_request(nothing, str(photo), None, RestoreOptions(), "auto")


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
        assert "holds SRVGGNetCompact, a background upsampler; expected GFPGANv1Clean" in last


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
    restored, gallery, summary, _ = _restore(client, face, rescale=1, aligned=True)
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
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium: install it with `apt-get install chromium` (as .ci/run does) to run the browser test")
    from playwright.sync_api import sync_playwright

    big = tmp_path / "big.png"  # upscaled to the 40 MP output limit: seconds of work
    noise = (np.random.default_rng(0).random((40, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(noise).resize((2000, 2000)).save(big)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(app_server.url)
        page.locator("#input-image input[type=file]").set_input_files(str(big))
        page.locator("#input-image img").first.wait_for(timeout=30_000)
        page.wait_for_timeout(2000)
        page.locator("#restore-button").click()
        page.wait_for_timeout(1500)
        page.locator("#stop-button").click()
        page.wait_for_function("document.querySelector('#summary').innerText.includes('Stopped')", timeout=30_000)
        page.wait_for_timeout(3000)
        assert "found" not in page.locator("#summary").inner_text()  # no result arrived after Stop
        browser.close()
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
