"""The page in a real browser (Debian's headless Chromium), as a visitor meets it: examples, the
estimate, the gallery on a desktop and a phone, transparency, expressions, Stop and compare."""

import io
import re
import time
import urllib.parse
import urllib.request

import numpy as np
import pytest
from PIL import Image

from conftest import ARTIFACTS, REPO, browser_page, photos

GALLERY_LAYOUT = """() => {
  const wrap = document.querySelector('#faces .grid-wrap').getBoundingClientRect();
  const items = [...document.querySelectorAll('#faces .thumbnail-item')].map(e => e.getBoundingClientRect());
  const captions = [...document.querySelectorAll('#faces .caption-label')].map(e => ({
    text: e.innerText, whole: e.scrollWidth <= e.clientWidth + 1, bottom: e.getBoundingClientRect().bottom}));
  return {wrap: {width: wrap.width, bottom: wrap.bottom}, items: items.map(r => ({width: r.width, height: r.height})),
          captions};
}"""


RESULT_SHOWN = " · CPU · "  # a result's summary: "... · 12.3 s (4.1 s of it in the queue) · CPU · model ..."
FACE_COUNT = r"(?:\d+ faces? found|No face found)[^·\n]*"  # the count's sentence, before or after the run


def _summary_has(page, text: str, timeout: float = 120_000) -> None:
    page.wait_for_function(f"document.querySelector('#summary').innerText.includes({text!r})", timeout=timeout)


def test_page_in_a_real_browser(app_url, tmp_path):
    """Waiting (1-3), one face's gallery (8), transparency and the slider (9), examples (11), as a visitor
    meets them at desktop size."""
    ARTIFACTS.mkdir(exist_ok=True)
    with browser_page(app_url) as page:
        # 11: the buttons sit right under the photo and the examples right under them; a click on an
        # example shows a result made in advance
        photo_box, examples_box = page.locator("#input-image").bounding_box(), page.locator("#examples").bounding_box()
        actions_box = page.locator("#actions").bounding_box()
        assert 0 <= actions_box["y"] - (photo_box["y"] + photo_box["height"]) < 40
        assert 0 <= examples_box["y"] - (actions_box["y"] + actions_box["height"]) < 40
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
        _summary_has(page, RESULT_SHOWN)
        waited = time.perf_counter() - started
        summary = page.locator("#summary").inner_text()
        said = float(re.search(r"· ([\d.]+) s(?: \([\d.]+ s of it in the queue\))? · CPU", summary)[1])
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
        _summary_has(page, RESULT_SHOWN)
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
        _summary_has(page, RESULT_SHOWN)
        caption = page.locator("#faces .caption-label").first.inner_text()
        assert caption.startswith("Face 1 · ") and " → " in caption, caption
        page.locator("#faces .thumbnail-item").first.click()
        after = caption.split(" → ")[1].split()[0]
        page.wait_for_function(f"document.querySelector('#expr-after').innerText.includes({after!r})", timeout=10_000)
        assert not page.locator("#expressions-json").is_visible()  # the raw records are the API's only
    assert (ARTIFACTS / "app_page.png").stat().st_size > 10_000


def test_many_faces_on_a_phone(app_url):
    """8 and 11 at phone size: the examples come right under the photo and its buttons, and the group's gallery has two
    columns whose captions are whole."""
    with browser_page(app_url, 390, 844) as page:
        photo_box, examples_box = page.locator("#input-image").bounding_box(), page.locator("#examples").bounding_box()
        actions_box = page.locator("#actions").bounding_box()  # Restore and Stop between them
        assert 0 <= examples_box["y"] - (photo_box["y"] + photo_box["height"]) < actions_box["height"] + 40
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
        _summary_has(page, "Stopped, as you asked.", timeout=30_000)
        page.wait_for_timeout(3000)
        assert "found" not in page.locator("#summary").inner_text()  # no result arrived after Stop
        # a stopped batch says so in its own area (it was left blank), and the photo's summary stays
        page.get_by_text("Several photos at once", exact=True).click()
        other = tmp_path / "other.png"  # a second photo (the same file twice is one photo): Stop
        Image.open(big).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(other)  # always reaches one
        page.locator("#batch-input input[type=file]").set_input_files([str(big), str(other)])
        page.wait_for_timeout(2000)
        page.locator("#batch-button").click()
        page.wait_for_function("document.querySelector('#batch-summary').innerText.includes('Working')", timeout=10_000)
        page.wait_for_timeout(1500)
        page.locator("#stop-button").click()
        page.wait_for_function(  # what was done is kept: the batch's own summary, a line per photo
            "(s => s.includes('photos restored') && s.includes('not restored: stopped, as you asked'))"
            "(document.querySelector('#batch-summary').innerText)",
            timeout=60_000,
        )
        assert page.locator("#summary").inner_text().strip() == "Stopped, as you asked."
    deadline = time.time() + 30
    while time.time() < deadline and not any("stopped by its visitor" in line for line in app_server.log):
        time.sleep(0.5)
    assert any("stopped by its visitor" in line for line in app_server.log)  # the work itself ended


def test_stop_is_per_run_and_off_when_nothing_runs(app_server, tmp_path):
    """Stop, then Restore at once, 100 ms or 300 ms later: the stopped run never finishes beside the new
    one (exactly one result folder each time) and the log shows each stop; Stop is enabled only while
    a run runs."""
    big = tmp_path / "stop_and_go.png"  # seconds of work at x2; its results are named after it
    noise = (np.random.default_rng(1).random((40, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(noise).resize((2000, 2000)).save(big)
    results = app_server.cache_dir / "gfpgan-results"

    def folders() -> set:  # this test's result folders (an earlier test's run may still be writing its own)
        return {p.parent for p in results.glob("*/stop_and_go_restored.png")}

    stops_logged = sum("pressed Stop" in line for line in app_server.log)
    with browser_page(app_server.url) as page:
        stop = page.locator("#stop-button")
        assert stop.is_disabled()  # nothing runs yet
        page.locator("#input-image input[type=file]").set_input_files(str(big))
        page.locator("#input-image img").first.wait_for(timeout=30_000)
        _summary_has(page, "press Restore", timeout=30_000)
        for delay in (0, 100, 300):
            before = folders()
            page.locator("#restore-button").click()
            page.wait_for_function("!document.querySelector('#stop-button').disabled", timeout=10_000)
            page.wait_for_timeout(1500)
            stop.click()
            page.wait_for_timeout(delay)
            page.locator("#restore-button").click()
            try:
                _summary_has(page, RESULT_SHOWN, timeout=60_000)  # the new run's result
            except Exception:
                raise AssertionError((delay, page.locator("#summary").inner_text(), app_server.log[-15:])) from None
            page.wait_for_timeout(2000)  # time for a run that was not stopped to write its folder too
            assert len(folders() - before) == 1, delay
            assert page.get_by_text("Error", exact=True).count() == 0  # the stopped run left no error badge
            page.wait_for_function("document.querySelector('#stop-button').disabled", timeout=10_000)
        # a run still waiting in the queue behind another visitor's: Stop drops it, it never runs
        import threading

        from test_web_security import ARGS, _call, _upload

        other = threading.Thread(target=_call, args=(app_server.url, {"path": _upload(app_server.url, big)}, ARGS))
        other.start()
        time.sleep(1.0)  # the other visitor's run has started
        before = folders()
        page.locator("#restore-button").click()
        page.wait_for_timeout(500)
        stop.click()
        other.join(timeout=120)
        page.wait_for_timeout(3000)
        assert len(folders() - before) == 1  # the other visitor's; the page's run was dropped unrun
    assert any("0 running and 1 waiting job(s) stopped" in line for line in app_server.log)
    assert sum("pressed Stop" in line for line in app_server.log) - stops_logged == 4


def test_compare_in_the_browser(compare_server):
    with browser_page(compare_server.url) as page:
        page.locator("#input-image input[type=file]").set_input_files(str(REPO / "examples" / "astronaut_degraded.jpg"))
        _summary_has(page, "— press Restore", timeout=30_000)
        page.get_by_text("Compare models on this photo", exact=True).click()
        page.locator("#compare-button").click()
        page.locator("#compare-faces img").first.wait_for(timeout=120_000)
        assert "by each model" in page.locator("#compare-summary").inner_text()
        caption = page.locator("#compare-faces .caption-label").first.inner_text()
        assert caption.startswith("Face 1: input | custom") and "restoreformer" in caption


def test_the_weight_slider_follows_the_chosen_models_own_default(compare_server):
    """The page opens with the default model's own weight (GFPGAN: 1); choosing CodeFormer moves the
    slider to its authors' default (weight 0.5, its w 0.5) and says so."""
    slider = "#weight input[type=range]"
    with browser_page(compare_server.url) as page:
        page.wait_for_function(
            f"document.querySelector({slider!r}) && document.querySelector({slider!r}).value === '1'"
        )
        page.locator("#model input").click()
        page.get_by_role("option", name="codeformer").first.click()
        page.wait_for_function(f"document.querySelector({slider!r}).value === '0.5'", timeout=10_000)
        assert "codeformer's own default, 0.5" in page.locator("#weight").inner_text()


def test_the_brush_paints_the_region_that_inpainting_fills(compare_server, tmp_path):
    """Paint over an aligned face with the page's brush, hand the painted face to the input and fill it:
    the painted stroke is pure white in the uploaded face (hard-edged: no near-white ring), and the
    filled face equals the original outside it."""
    face = np.minimum(np.asarray(Image.open(photos("hq_faces_512", 1)[0]).convert("RGB").resize((512, 512))), 254)
    original = tmp_path / "face.png"
    Image.fromarray(face).save(original)
    with browser_page(compare_server.url) as page:
        page.get_by_text("An aligned face: colourise it", exact=False).click()
        page.locator("#task-face input[type=file]").set_input_files(str(original))
        note = page.locator("#mask-painter .painter-note")
        note.filter(has_text="Drag over the face").wait_for(timeout=30_000)
        canvas = page.locator("#mask-painter canvas")
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        scale = box["width"] / 512
        page.mouse.move(box["x"] + 150 * scale, box["y"] + 250 * scale)
        page.mouse.down()
        page.mouse.move(box["x"] + 350 * scale, box["y"] + 250 * scale, steps=10)
        page.mouse.up()
        page.locator("#mask-painter .painter-apply").click()
        note.filter(has_text="The painted face is in the input").wait_for(timeout=30_000)
        src = page.locator("#task-face img").first.get_attribute("src")
        assert "_painted.png" in src
        with urllib.request.urlopen(urllib.parse.urljoin(compare_server.url, src)) as response:
            painted = np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB"))
        white = (painted == 255).all(axis=2)
        assert white[250, 160:340].all() and not white[100].any()  # the stroke, and nothing far from it
        changed = (painted != face).any(axis=2)
        assert np.array_equal(changed, white)  # every changed pixel is pure white: a hard edge
        page.locator("#inpaint-button").click()
        page.wait_for_function(
            "document.querySelector('#task-summary').innerText.includes('The white region filled')", timeout=120_000
        )
        result_src = page.locator("#task-result img").first.get_attribute("src")
        with urllib.request.urlopen(urllib.parse.urljoin(compare_server.url, result_src)) as response:
            filled = np.asarray(Image.open(io.BytesIO(response.read())).convert("RGB"))
        assert np.array_equal(filled[~white], face[~white]) and not np.array_equal(filled[white], face[white])


def test_only_what_can_run_is_offered(app_server):
    """A server with only a custom checkpoint, offline: the model menu offers it alone and says how many
    others are not here, the detectors are those that run, and Compare says why it is greyed out; a raw
    call naming a model that is not here is one line in the visitor's words (the command is in the log)."""
    import httpx
    from test_web_security import _call, _upload

    with browser_page(app_server.url) as page:
        page.locator("#model input").click()
        options = [o.inner_text() for o in page.get_by_role("option").all()]
        assert len(options) == 1 and "custom: GFPGAN_random.pth" in options[0]
        assert "other models are not on this server" in page.locator("#model").inner_text()
        page.keyboard.press("Escape")
        page.get_by_text("Advanced", exact=True).click()
        labels = page.evaluate("() => [...document.querySelectorAll('input[type=radio]')].map(r => r.value)")
        assert "retinaface" not in labels and {"auto", "yunet"} <= set(labels)
        page.get_by_text("Compare models on this photo", exact=True).click()
        assert page.locator("#compare-button").is_disabled()
        assert (
            "Comparing needs two models that can run on this server; it has one model."
            in page.locator("#compare-summary").inner_text()
        )
        assert page.locator("#compare-models input[type=checkbox]").count() == 1
    path = _upload(app_server.url, photos("hq_photos", 1)[0])
    status, event, data = _call(app_server.url, {"path": path}, ["v1.4", *ARGS_AFTER_MODEL])
    assert (status, event) == (200, "error")
    assert data["error"] == "The model v1.4 is not available on this server; choose one of: custom."
    assert any("download v1.4" in line for line in app_server.log)  # the operator's command, in the log
    httpx.get(app_server.url, timeout=10).raise_for_status()  # still serving


ARGS_AFTER_MODEL = [1, 1.0, False, False, "auto", 0.6, False, "PNG", 90, False]


def test_a_files_problem_is_said_as_it_is_uploaded(app_url, tmp_path):
    """A corrupt file and a PNG above the decode limit: the summary says what is wrong as soon as each
    arrives, in one line, before any Restore; no output shows a bare "Error"."""
    broken = tmp_path / "scan.jpg"
    broken.write_bytes(b"scanned at 300 dpi")  # not an image at all
    huge = tmp_path / "poster.png"
    Image.new("1", (8000, 5000)).save(huge)  # 40 MP, a few KB: above the 32 MP decode limit
    with browser_page(app_url) as page:
        for path, reason in ((broken, "not an image that can be read"), (huge, "8000x5000")):
            page.locator("#input-image input[type=file]").set_input_files(str(path))
            _summary_has(page, reason, timeout=30_000)
            summary = page.locator("#summary").inner_text()
            assert summary.startswith("This file cannot be restored:") and "\n" not in summary.strip(), summary
            assert page.get_by_text("Error", exact=True).count() == 0  # Gradio's bare error badge, anywhere


@pytest.mark.parametrize("width, height", [(1366, 900), (390, 844)])
def test_the_restore_button_is_where_the_eye_is(app_url, width, height):
    """On a desktop and a phone, Restore is on the first screen as the page opens and after a portrait
    upload; on a phone an example's result is brought into view when it arrives."""
    with browser_page(app_url, width=width, height=height) as page:
        button = page.locator("#restore-button")
        button.wait_for(timeout=30_000)
        assert button.bounding_box()["y"] + button.bounding_box()["height"] <= height
        portrait = photos("hq_photos", 1)[0]
        page.locator("#input-image input[type=file]").set_input_files(str(portrait))
        _summary_has(page, "press Restore", timeout=30_000)
        box = button.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box
        if width < 640:
            page.goto(app_url)
            page.locator("#examples img").first.click()
            page.locator("#faces img").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)  # the smooth scroll
            summary = page.locator("#summary").bounding_box()
            assert 0 <= summary["y"] < height / 2, summary  # the result came into view


def test_the_count_before_the_run_follows_the_options_and_matches_the_run(app_url, tmp_path):
    """One vocabulary for faces (item 5): the group photo's estimate counts its faces, follows "only the
    centre face" and the threshold as they change, and the run's summary gives the same count."""
    group = tmp_path / "group.png"  # not the example's own bytes (that upload shows the example's result)
    Image.open(REPO / "examples" / "group_composite.jpg").save(group)
    with browser_page(app_url) as page:
        page.get_by_text("Advanced", exact=True).click()
        page.locator("#input-image input[type=file]").set_input_files(str(group))
        _summary_has(page, "5 faces found, all to restore", timeout=30_000)
        page.locator("#centre-face input[type=checkbox]").check()
        _summary_has(page, "5 faces found: the one nearest the centre to restore, 4 left as they are", timeout=30_000)
        page.locator("#centre-face input[type=checkbox]").uncheck()
        _summary_has(page, "5 faces found, all to restore", timeout=30_000)
        slider = page.locator("#threshold input[type=range]")
        slider.focus()
        page.keyboard.press("End")  # by keyboard: no face scores the highest threshold; the fallback's are said
        _summary_has(page, "No face scored 0.99; these were found at the lower detection threshold", timeout=30_000)
        page.locator("#threshold input[type=number]").fill("0.6")  # typed: scored at 0.6, nothing to say
        page.wait_for_function(
            "(s => s.includes('5 faces found, all to restore') && !s.includes('lower detection threshold'))"
            "(document.querySelector('#summary').innerText)",
            timeout=30_000,
        )
        page.locator("#centre-face input[type=checkbox]").check()
        _summary_has(page, "the one nearest the centre to restore", timeout=30_000)
        before = re.search(FACE_COUNT, page.locator("#summary").inner_text())[0].strip()
        page.locator("#restore-button").click()
        _summary_has(page, RESULT_SHOWN)
        after = re.search(FACE_COUNT, page.locator("#summary").inner_text())[0].strip()
        assert after == before.replace(" to restore", " restored").replace("as they are", "as they were"), (
            before,
            after,
        )


def test_the_batch_table_keeps_its_headers_whole_in_the_narrow_column(app_url):
    """The batch's table sits in the photo's column: its headers stay on one line ("faces" once broke
    into "fa/ce/s"), at desktop and phone sizes."""
    two = [str(p) for p in photos("hq_photos", 2)]
    for width, height in ((1366, 900), (390, 844)):
        with browser_page(app_url, width=width, height=height) as page:
            page.get_by_text("Several photos at once", exact=True).click()
            page.locator("#batch-input input[type=file]").set_input_files(two)
            page.wait_for_timeout(1500)
            page.locator("#batch-button").click()
            page.wait_for_function(
                "document.querySelector('#batch-summary').innerText.includes('photos restored')", timeout=120_000
            )
            lines = page.evaluate(  # the line boxes of each header's text
                """() => [...document.querySelectorAll('#batch-summary th')].filter(th => th.innerText.trim())
                    .map(th => { const r = document.createRange(); r.selectNodeContents(th);
                                 return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; })"""
            )
            assert lines and all(n == 1 for n in lines), (width, lines)


def test_the_wait_counts_the_queue_before_and_after_the_run(app_server, tmp_path):
    """Raw HTTP, two visitors: while one's restoration runs, the other's estimate counts it ahead of them
    (with its time, once the server has measured a job), and their summary's wait includes the queue
    (a second visitor waited 29.7 s and was told "2.1 s")."""
    import threading

    import httpx
    from attacks import estimate_call
    from test_web_security import ARGS, _call, _upload

    big = tmp_path / "ahead.png"  # seconds of work at x2
    noise = (np.random.default_rng(2).random((40, 40, 3)) * 255).astype(np.uint8)
    Image.fromarray(noise).resize((2000, 2000)).save(big)
    url = app_server.url
    photo = _upload(url, photos("hq_photos", 1)[0])
    assert _call(url, {"path": photo}, ARGS)[1] == "complete"  # one job measured: the wait has numbers
    ahead = [ARGS[0], 2, *ARGS[2:]]  # rescale 2
    other = threading.Thread(target=_call, args=(url, {"path": _upload(url, big)}, ahead))
    other.start()
    time.sleep(1.5)  # the other visitor's restoration runs
    answer = httpx.post(f"{url}gradio_api/run/predict", json=estimate_call(url, photo), timeout=60).json()
    estimate = next(v for v in answer["data"] if isinstance(v, str) and "press Restore" in v)
    assert " · 1 restoration ahead of you (about " in estimate and "), then about " in estimate, estimate
    _, event, data = _call(url, {"path": photo}, ARGS)
    other.join(timeout=120)
    summary = data[2]
    assert event == "complete" and " s of it in the queue) · " in summary, summary


def test_a_clip_in_the_video_section(app_server):
    """The example clip: what it holds said as it arrives, restored into a playable video with its
    download, the summary saying what the server's cap left out; Stop in the section stops a run."""
    with browser_page(app_server.url) as page:
        page.get_by_text("Video: restore the faces of a short clip", exact=True).click()
        clip = REPO / "examples" / "grace_hopper_moving.mp4"
        page.locator("#video-input input[type=file]").set_input_files(str(clip))
        page.wait_for_function(
            "document.querySelector('#video-summary').innerText.includes('1 face in its first frame')", timeout=30_000
        )
        assert "480x360, 25 fps, 2.0 s" in page.locator("#video-summary").inner_text()
        page.locator("#video-button").click()
        page.locator("#video-result video").wait_for(timeout=120_000)
        summary = page.locator("#video-summary").inner_text()
        assert "50 frames (2.0 s) restored" in summary, summary
        assert "grace_hopper_moving_restored.mp4" in page.locator("#video-download").inner_text().replace("\n", "")
        source = page.locator("#video-result video").get_attribute("src")
        playable = page.evaluate(
            """async (src) => { const v = document.createElement('video'); v.muted = true; v.src = src;
                 await new Promise((ok, bad) => { v.onloadeddata = ok; v.onerror = () => bad(v.error.code); });
                 return {width: v.videoWidth, height: v.videoHeight, seconds: v.duration}; }""",
            source,
        )
        assert (playable["width"], playable["height"]) == (480, 360)
        assert playable["seconds"] == pytest.approx(2, abs=0.1)
        assert page.locator("#video-stop-button").is_disabled()  # nothing runs now
        page.locator("#video-button").click()
        page.wait_for_function("!document.querySelector('#video-stop-button').disabled", timeout=30_000)
        page.locator("#video-stop-button").click()
        page.wait_for_function("document.querySelector('#video-summary').innerText.includes('Stopped')", timeout=60_000)
