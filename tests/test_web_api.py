"""The Gradio app as visitors and API users meet it: started on 127.0.0.1 with an official-format checkpoint."""

import os
import shutil
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from appserver import free_port
from PIL import Image

from conftest import REPO, photos, running_app, write_gfpgan_checkpoint
from gfpgan_core.web.jobs import Context
from gfpgan_core.web.server import build_demo
from gfpgan_core.web.settings import EXAMPLE_NAMES


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
    assert 1 <= len(gallery) <= min(n, 40)
    left = f"{n - len(gallery)} left as"
    assert (left in summary) if len(gallery) < n else ("all restored" in summary or "and restored" in summary)
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
    assert "was reduced to" in summary and Image.open(out).size[0] * Image.open(out).size[1] <= 4_000_000 * 1.01


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


def test_no_weights_the_page_and_the_api_say_so_in_a_visitors_words(tmp_path):
    """No model can run: Restore and Stop are disabled, the status line and the examples say so, and an
    API call gets the same words; the operator's command is in the log, never shown to visitors."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from gfpgan_core.service import ModelService

    service = ModelService(weights_dir=tmp_path / "empty", download=False)
    demo = build_demo(Context(service))
    by_id = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    assert by_id["restore-button"].interactive is False and "no model weights" in by_id["restore-button"].value
    assert by_id["stop-button"].interactive is False
    status = by_id["model-status"].value
    assert status.startswith("**No model on this server**") and "gfpgan_core" not in status, status
    assert "show no result" in by_id["examples"].label and "click one" not in by_id["examples"].label
    demo.queue().launch(prevent_thread_lock=True, server_port=free_port(), quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        with pytest.raises(AppError, match=r"No model on this server") as refused:
            client.predict(
                handle_file(str(photos("hq_photos", 1)[0])), None, 1, 1.0, False, False, "auto", api_name="/restore"
            )
        assert "gfpgan_core" not in str(refused.value) and "`" not in str(refused.value)
    finally:
        demo.close()


def test_each_result_is_stored_once_inside_gradios_cache(app_server, client, tmp_path):
    photo = tmp_path / "only_once.png"
    Image.open(photos("hq_photos", 1)[0]).convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(photo)
    _restore(client, photo, rescale=1)
    copies = list(app_server.cache_dir.rglob("only_once_restored.png"))
    assert len(copies) == 1, copies
    assert copies[0].parent.parent.name == "gfpgan-results"  # the file written is the file served: no copy


def test_aligned_crops_through_the_api(client):
    face = photos("lq_faces_512", 1)[0]
    restored, gallery, summary, _, _, _ = _restore(client, face, rescale=1, aligned=True)
    assert Image.open(restored).size == Image.open(face).size and len(gallery) == 1
    assert summary.startswith("**1 face found and restored** · ")


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
    for endpoint in ("/restore", "/restore_batch", "/compare", "/colorize", "/inpaint"):
        labels = [r["label"] for r in info["named_endpoints"][endpoint]["returns"]]
        assert all(label and not label.startswith("value_") for label in labels), labels
    example = info["named_endpoints"]["/restore"]["parameters"][0]["example_input"]["url"]
    assert example.startswith(app_url) and Path(example).name in EXAMPLE_NAMES
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
        assert len(gallery) == 3 and "**5 faces found: the 3 largest restored, 2 left as they were**" in summary


def test_the_docs_curl_recipe_runs_as_copied(app_url, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("no curl on this machine")
    readme = (REPO / "docs" / "app.md").read_text()
    recipe = readme[readme.index("URL=http://127.0.0.1:7860") :].split("```")[0]
    recipe = recipe.replace("URL=http://127.0.0.1:7860", f"URL={app_url.rstrip('/')}", 1)
    shutil.copy(REPO / "examples" / "grace_hopper_degraded.jpg", tmp_path / "old_photo.jpg")
    run = subprocess.run(["bash", "-c", recipe], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert "event: complete" in run.stdout, run.stdout + run.stderr
    assert "old_photo_restored.png" in run.stdout


def test_the_threshold_slider_starts_at_the_servers_detectors_calibrated_value(tmp_path, tiny_checkpoint):
    from gfpgan_core.faces import YuNetDetector
    from gfpgan_core.service import ModelService

    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)  # no RetinaFace
    demo = build_demo(Context(service))
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
    assert summary.startswith("**1 face found and restored** by each model · ") and " s · restoreformer " in summary
    with pytest.raises(AppError, match="Choose two to 4 models"):
        client.predict(photo, ["custom"], api_name="/compare")
    with pytest.raises(AppError, match=r"not in the list of choices|Unknown model"):
        client.predict(photo, ["custom", "/etc/passwd"], api_name="/compare")


def test_the_docs_python_recipe_runs_as_copied(app_url, tmp_path):
    readme = (REPO / "docs" / "app.md").read_text()
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


def test_the_api_is_unchanged_by_the_pages_layout(tmp_path, tiny_checkpoint):
    """Every endpoint's parameter names, order, components and defaults, and its outputs' labels and
    components, equal the API as it was before the page moved into gfpgan_core/web (2026-12-03,
    tests/fixtures/api_info.json; the same day the weights' default became null: each model's own; blend,
    0 to 1, default 1, was added last to /restore and /restore_batch on 2026-12-03 too; and the model and
    detector choices became those this server can run, here the custom file and YuNet, that evening;
    /restore_video was added on 2026-12-07): the wiring looks components up by name, so the layout cannot
    reorder it."""
    import json

    from gfpgan_core.service import ModelService

    service = ModelService(custom_model=tiny_checkpoint, weights_dir=tmp_path, download=False)
    info = build_demo(Context(service)).get_api_info()
    recorded = json.loads((REPO / "tests" / "fixtures" / "api_info.json").read_text())
    endpoints = ["/restore", "/restore_batch", "/compare", "/colorize", "/inpaint", "/restore_video"]
    assert list(info["named_endpoints"]) == endpoints
    assert json.loads(json.dumps(info, default=str)) == recorded


@pytest.mark.slow
def test_colorize_and_inpaint_endpoints_run_codeformers_own_checkpoints(tmp_path):
    """/colorize and /inpaint with CodeFormer's checkpoints (random weights in their layouts) in the
    server's weights folder: a grey face comes back in colour; only the white region of a face changes;
    a checkpoint not on the server is one line."""
    import torch
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    from conftest import published_layout

    weights = tmp_path / "weights"
    weights.mkdir()
    colour = published_layout("CodeFormer", codebook_size=1024, connect_list=("32", "64", "128"))
    torch.save({"params_ema": colour}, weights / "codeformer_colorization.pth")
    # no pure white of its own: only the painted square is to be filled (the authors' rule)
    face = np.minimum(np.asarray(Image.open(photos("hq_photos", 1)[0]).convert("RGB").resize((512, 512))), 254)
    grey, painted = tmp_path / "grey.png", tmp_path / "painted.png"
    Image.fromarray(face).convert("L").save(grey)
    holed = face.copy()
    holed[200:300, 150:350] = 255
    Image.fromarray(holed).save(painted)
    with running_app(tmp_path, env={"GFPGAN_CACHE_EXAMPLES": "0"}) as server:
        client = Client(server.url, verbose=False)
        image, summary = client.predict(handle_file(str(grey)), api_name="/colorize")
        assert Image.open(image).mode == "RGB" and summary.startswith("**Colourised**")
        with pytest.raises(AppError) as missing:
            client.predict(handle_file(str(painted)), api_name="/inpaint")
        assert "codeformer_inpainting.pth" in str(missing.value) and "\n" not in str(missing.value)
        fill = published_layout("CodeFormer", codebook_size=512, connect_list=("32", "64", "128"))
        torch.save({"params_ema": fill}, weights / "codeformer_inpainting.pth")
        image, summary = client.predict(handle_file(str(painted)), api_name="/inpaint")
        filled = np.asarray(Image.open(image).convert("RGB"))
        outside = np.ones(face.shape[:2], bool)
        outside[200:300, 150:350] = False
        assert np.array_equal(filled[outside], holed[outside]) and summary.startswith("**The white region filled**")


@pytest.mark.slow
def test_every_api_page_example_runs_as_copied(compare_server):
    """The API page's example call of every endpoint, as the page writes it (its parameters' example
    inputs: one of the page's examples served by this server, two models for /compare), runs."""
    from gradio_client import Client

    client = Client(compare_server.url, verbose=False)
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert sorted(endpoints) == ["/colorize", "/compare", "/inpaint", "/restore", "/restore_batch", "/restore_video"]
    for name, endpoint in endpoints.items():
        example = {p["parameter_name"]: p["example_input"] for p in endpoint["parameters"]}
        result = client.predict(**example, api_name=name)  # raises on any refusal
        assert result, name
