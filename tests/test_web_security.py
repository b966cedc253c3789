"""The public app through raw HTTP, as an attacker would call it: no server file leaves, nothing is fetched."""

import io
import json
import os
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from conftest import REPO, fetch_recorder, photos, running_app

# the API's values before blend was added (the last parameter): a call written then still runs (guard.py)
ARGS = ["custom", 1, 1.0, False, False, "auto", 0.6, False, "PNG", 90, False]


def _call(url, image, args=ARGS, endpoint="restore"):
    """POST /gradio_api/call/ENDPOINT and read its event stream: (status, event, data)."""
    body = json.dumps({"data": [image, *args]})  # NaN as JavaScript writes it, as a raw client may send it
    headers = {"content-type": "application/json"}
    start = httpx.post(f"{url}gradio_api/call/{endpoint}", content=body, headers=headers, timeout=30)
    if start.status_code != 200:
        return start.status_code, None, start.json()
    event_id = start.json()["event_id"]
    event, data = None, None
    with httpx.stream("GET", f"{url}gradio_api/call/{endpoint}/{event_id}", timeout=120) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line.split(":", 1)[1])
                break
    return 200, event, data


def _first_event(url, event_id, endpoint="restore"):
    """The first event other than a heartbeat on a job's result stream: (event, data)."""
    event = None
    with httpx.stream("GET", f"{url}gradio_api/call/{endpoint}/{event_id}", timeout=120) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event != "heartbeat":
                return event, json.loads(line.split(":", 1)[1])
    return event, None


def _upload(url, path):
    with open(path, "rb") as f:
        return httpx.post(f"{url}gradio_api/upload", files={"files": (path.name, f)}, timeout=30).json()[0]


@pytest.fixture(scope="module")
def outside_image(tmp_path_factory):
    """A readable image on the server that nobody uploaded."""
    folder = tmp_path_factory.mktemp("private")
    target = folder / "secret.jpg"
    target.write_bytes(photos("hq_photos", 1)[0].read_bytes())
    return target


def _refused(status, event, data):
    if status != 200:
        return isinstance(data, dict) and "\n" not in data.get("error", "")
    return event == "error"


def test_an_uploaded_image_is_restored(app_server):
    path = _upload(app_server.url, photos("hq_photos", 1)[0])
    status, event, data = _call(app_server.url, {"path": path, "meta": {"_type": "gradio.FileData"}})
    assert (status, event) == (200, "complete"), data
    status, event, data = _call(app_server.url, {"path": path})  # the same upload without the marker
    assert (status, event) == (200, "complete"), data


def test_blend_zero_gives_the_photo_back_and_a_call_without_blend_restores(app_server, tmp_path):
    """Blend 0 through raw HTTP: the download's pixels are the photo's; the same call written before blend
    existed (one value fewer) gets blend's default, 1, and its faces restored."""
    from PIL import Image

    photo = tmp_path / "photo.png"
    Image.open(photos("hq_photos", 1)[0]).convert("RGB").save(photo)
    path = _upload(app_server.url, photo)
    status, event, data = _call(app_server.url, {"path": path}, [*ARGS, 0.0])
    assert (status, event) == (200, "complete"), data
    original = np.asarray(Image.open(photo))
    assert np.array_equal(np.asarray(Image.open(_download(app_server.url, data[0]))), original)
    status, event, data = _call(app_server.url, {"path": path}, ARGS)
    assert (status, event) == (200, "complete"), data
    assert not np.array_equal(np.asarray(Image.open(_download(app_server.url, data[0]))), original)


def _download(url, file_data) -> io.BytesIO:
    return io.BytesIO(httpx.get(file_data["url"], timeout=30).content)


@pytest.mark.parametrize("meta", [True, False])
def test_server_files_are_refused_whatever_the_payload(app_server, outside_image, meta, tmp_path):
    link = app_server.cache_dir / "link_to_secret.jpg"
    if not link.exists():
        os.symlink(outside_image, link)
    examples = sorted((REPO / "examples").glob("*.jpg"))
    paths = [
        str(outside_image),  # absolute
        os.path.relpath(outside_image, REPO),  # relative to the server's working folder
        "../" * 8 + str(outside_image).lstrip("/"),  # climbing out of anywhere
        str(link),  # a symlink inside Gradio's cache to a file outside it
        f"file://{outside_image}",
        str(examples[0]),  # a file of the working tree
    ]
    for path in paths:
        payload = {"path": path, **({"meta": {"_type": "gradio.FileData"}} if meta else {})}
        status, event, data = _call(app_server.url, payload)
        assert _refused(status, event, data), (path, status, event, data)
        assert "_restored.png" not in json.dumps(data)


def test_urls_and_inline_images_are_refused_without_any_fetch(app_server):
    with fetch_recorder() as (loopback, hits):
        payloads = [
            {"path": loopback, "meta": {"_type": "gradio.FileData"}},
            {"path": loopback},
            {"path": "x.jpg", "url": loopback, "meta": {"_type": "gradio.FileData"}},
            {"path": "http://localhost:1/face.jpg", "meta": {"_type": "gradio.FileData"}},
            {"path": "//127.0.0.1/face.jpg"},
            {"path": "data:image/png;base64,iVBORw0KGgo=", "meta": {"_type": "gradio.FileData"}},
            {"path": "x.png", "url": "data:image/png;base64,iVBORw0KGgo="},
        ]
        for payload in payloads:
            status, event, data = _call(app_server.url, payload)
            assert _refused(status, event, data), (payload, status, data)
        assert hits == []  # the server fetched nothing


def test_oversized_calls_are_refused_before_gradio_reads_them(app_server):
    blob = "A" * 200_000
    response = httpx.post(
        f"{app_server.url}gradio_api/call/restore", json={"data": [{"path": "x.png", "b64": blob}, *ARGS]}, timeout=30
    )
    assert response.status_code == 413 and "upload" in response.json()["error"]


def test_file_route_serves_nothing_outside_gradios_cache(app_server, outside_image):
    for path in (outside_image, REPO / "app.py", REPO / "README.md", REPO / "examples" / "astronaut_degraded.jpg"):
        response = httpx.get(f"{app_server.url}gradio_api/file={path}", timeout=30)
        assert response.status_code in (403, 404), path
    response = httpx.get(f"{app_server.url}gradio_api/file=../../../../etc/passwd", timeout=30)
    assert response.status_code in (403, 404)
    assert "root:" not in response.text


def test_only_the_restore_endpoint_is_public(app_server):
    info = httpx.get(f"{app_server.url}gradio_api/info", timeout=30).json()
    endpoints = ["/restore", "/restore_batch", "/compare", "/colorize", "/inpaint", "/restore_video"]
    assert list(info["named_endpoints"]) == endpoints and not info["unnamed_endpoints"]


def test_the_batch_endpoint_takes_only_uploads_and_fetches_nothing(app_server, outside_image):
    upload = {"path": _upload(app_server.url, photos("hq_photos", 1)[0]), "meta": {"_type": "gradio.FileData"}}
    status, event, data = _call(app_server.url, [upload], endpoint="restore_batch")
    assert (status, event) == (200, "complete") and "1 of 1 photos restored" in data[1], data
    with fetch_recorder() as (loopback, hits):
        for bad in (
            {"path": str(outside_image)},
            {"path": loopback, "meta": {"_type": "gradio.FileData"}},
            {"path": f"{app_server.url}gradio_api/file={outside_image}"},  # this server's file route, not an upload
            {"path": "x.zip", "url": "data:application/zip;base64,UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA=="},
        ):
            status, event, data = _call(app_server.url, [upload, bad], endpoint="restore_batch")
            assert _refused(status, event, data), (bad, status, data)
        assert hits == []


@pytest.mark.parametrize(
    "position, value, expected",
    [
        (2, "abc", "Rescaling factor"),
        (2, 20, "maximum value"),
        (3, -1, "minimum value"),
        (3, [1, 2], "Fidelity weight"),
        (1, "v9", "Unknown model 'v9'"),
        (1, "/etc/passwd", "Unknown model 'passwd'"),  # no path is echoed back, even the client's own
        (9, "GIF", "not in the list of choices"),
        (9, None, "Output format 'None' is not one of PNG, JPEG, WebP"),
        (10, float("nan"), "Quality must be a number from 1 to 100"),
        (3, float("nan"), "weight must be a finite number"),
        (10, 500, "maximum value"),
        (4, "yes", "expected true or false"),
        (6, "mtcnn", "not in the list of choices"),
        (7, 5, "maximum value"),
        (8, "no", "expected true or false"),
        (12, 1.5, "maximum value"),
        (12, float("nan"), "Blend must be a number from 0 to 1"),
        (12, None, "(0 = none, 1 = all): 'None' is not a valid value"),  # the slider's label, then why
    ],
)
def test_bad_arguments_are_one_readable_line(app_server, position, value, expected):
    path = _upload(app_server.url, photos("hq_photos", 1)[0])
    args = [{"path": path}, *ARGS, 1.0]
    args[position] = value
    status, event, data = _call(app_server.url, args[0], args[1:])
    assert (status, event) == (200, "error"), data
    assert expected in data["error"] and "\n" not in data["error"]


def test_refusals_log_no_traceback(app_server):
    assert not any("Traceback" in line for line in app_server.log), "".join(app_server.log[-40:])


def test_jobs_nobody_comes_for_are_dropped_from_the_queue(tmp_path_factory):
    """17 POSTs that never read their results must not all run: after GFPGAN_CLAIM_S the waiting
    ones leave the queue, and a visitor who does read gets served."""
    import numpy as np
    from PIL import Image

    from conftest import running_app

    folder = tmp_path_factory.mktemp("claim")
    picture = folder / "big.png"  # upscaled to the 40 MP output limit: seconds per job on any machine
    Image.fromarray((np.random.default_rng(0).random((40, 40, 3)) * 255).astype(np.uint8)).resize((2000, 2000)).save(
        picture
    )
    with running_app(folder, env={"GFPGAN_CLAIM_S": "2"}) as server:
        big = _upload(server.url, picture)
        slow = [
            {"path": big},
            "custom",
            4,
            1.0,
            False,
            False,
            "yunet",
            0.6,
            False,
            "PNG",
            90,
            False,
        ]  # a few seconds each
        unread = []
        for _ in range(6):
            start = httpx.post(f"{server.url}gradio_api/call/restore", json={"data": slow}, timeout=30)
            assert start.status_code == 200
            unread.append(start.json()["event_id"])
        deadline = time.time() + 60
        while time.time() < deadline and not any("dropped job" in line for line in server.log):
            time.sleep(0.5)
        time.sleep(3)  # every unread job's 2 s have passed: the drops are all logged
        dropped = sum("dropped job" in line for line in server.log)
        assert dropped >= 2, "".join(server.log[-20:])
        status, event, _ = _call(server.url, {"path": _upload(server.url, photos("hq_photos", 1)[0])})
        assert (status, event) == (200, "complete")
        time.sleep(3)
        assert sum("dropped job" in line for line in server.log) == dropped  # a job that was read is not dropped
        # a late reader of a dropped job gets one line at once, not heartbeats forever
        late = [_first_event(server.url, event_id) for event_id in unread]
        said = [data for event, data in late if event == "error" and "dropped" in str(data)]
        assert len(said) == dropped and "nobody asked for its result within 2 s" in said[0], late


def test_the_compare_endpoint_takes_only_uploads(app_server, outside_image):
    args = [["custom", "custom"], 1.0, False, "auto", None, False]
    for bad in ({"path": str(outside_image)}, {"path": f"{app_server.url}gradio_api/file={outside_image}"}):
        status, event, data = _call(app_server.url, bad, args, endpoint="compare")
        assert _refused(status, event, data), (bad, status, data)


@pytest.mark.parametrize("cache", ["default", "operator's shared folder"])
def test_files_the_app_did_not_write_survive_start_up_sweeps_and_the_budget(tmp_path, cache):
    """Other programs' files in Gradio's machine-wide default cache (or in a shared folder an operator
    gives as GRADIO_TEMP_DIR) are never deleted, with a small budget and files far older than the
    retention time; the app's own uploads land in a folder of its own by default."""
    tmpdir, data = tmp_path / "tmp", tmp_path / "data"
    shared = tmpdir / "gradio"  # what tempfile.gettempdir()/gradio is for the app
    old = time.time() - 10**6
    foreign = []
    for name in ("other-app/abc123/photo.png", "gradio_client_download.webp", "x/y/z.bin"):
        path = shared / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode() * 100)
        os.utime(path, (old, old))
        foreign.append(path)
    env = {
        "TMPDIR": str(tmpdir),
        "GFPGAN_DATA_DIR": str(data),
        "GRADIO_TEMP_DIR": "" if cache == "default" else str(shared),
        "GFPGAN_DISK_BUDGET_MB": "20",  # two requests' files, no more
    }
    with running_app(tmp_path, env=env) as server:
        for _ in range(2):  # each request ends with a sweep
            path = _upload(server.url, photos("hq_photos", 1)[0])
            status, event, data_out = _call(server.url, {"path": path, "meta": {"_type": "gradio.FileData"}})
            assert (status, event) == (200, "complete"), data_out
        own = data / "gradio" if cache == "default" else shared
        assert Path(path).is_relative_to(own), path
        assert any(f"uploads and results: {own}" in line for line in server.log)
    for path in foreign:
        assert path.read_bytes() == path.relative_to(shared).as_posix().encode() * 100
