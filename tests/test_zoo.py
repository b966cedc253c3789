"""Model zoo: one registry, verified downloads that never leave partial files, fast offline failure."""

import hashlib
import http.server
import re
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from conftest import REPO
from gfpgan_core import CheckpointError, UnknownModelError, WeightsMissingError, zoo


def test_registry_entries_are_complete():
    for entry in zoo.ZOO.values():
        assert entry.url or entry.bundled, entry.name
        if entry.sha256 is not None and entry.kind != "training":
            assert re.fullmatch(r"[0-9a-f]{64}", entry.sha256), entry.name
    for name in ("v1.2", "v1.3", "v1.4"):
        entry = zoo.get_entry(name)
        assert entry.kind == "restorer" and entry.config is not None and entry.sha256
    assert zoo.get_entry("1.4") is zoo.get_entry("GFPGANv1.4.pth") is zoo.ZOO["v1.4"]
    with pytest.raises(UnknownModelError):
        zoo.get_entry("v9")


def test_offline_missing_weights_fail_fast_with_one_line(tmp_path):
    start = time.perf_counter()
    with pytest.raises(WeightsMissingError) as err:
        zoo.ensure_weights("v1.4", tmp_path)
    message = str(err.value)
    assert time.perf_counter() - start < 2
    assert "\n" not in message
    assert "GFPGANv1.4.pth" in message and str(tmp_path) in message
    assert zoo.command("download v1.4 --from FILE") in message and "sha256 e2cd4703" in message


def _fake_entry(tmp_path, payload: bytes, **changes):
    entry = zoo.ZooEntry(
        name="fake",
        filename="fake.pth",
        kind="restorer",
        description="test",
        url="http://127.0.0.1:9/fake.pth",
        sha256=hashlib.sha256(payload).hexdigest(),
        hub=zoo.HubFile("someone/mirror", "sub/fake.pth"),
    )
    return replace(entry, **changes)


def test_hub_download_is_verified_and_moved_into_place(tmp_path, monkeypatch):
    payload = b"weights" * 100
    calls = []

    def fake_hub(hub, dest):
        calls.append(hub)
        target = dest / hub.filename
        target.parent.mkdir(parents=True)
        target.write_bytes(payload)
        return target

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(zoo, "_host_reachable", lambda host, timeout=2.0: True)
    monkeypatch.setattr(zoo, "_download_from_hub", fake_hub)
    path = zoo.ensure_weights(_fake_entry(tmp_path, payload), tmp_path)
    assert path == tmp_path / "fake.pth" and path.read_bytes() == payload
    assert calls[0].repo_id == "someone/mirror"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".fake.pth.sha256", "fake.pth"]  # no staging left
    assert zoo.ensure_weights(_fake_entry(tmp_path, payload), tmp_path) == path  # cached, no download
    assert len(calls) == 1


def test_corrupt_download_leaves_nothing_and_falls_back_to_github(tmp_path, monkeypatch):
    payload = b"the real file"
    served = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            served.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:

        def corrupt_hub(hub, dest):
            (dest / "x.pth").write_bytes(b"tampered")
            return dest / "x.pth"

        monkeypatch.delenv("HF_HUB_OFFLINE")
        monkeypatch.setattr(
            zoo, "_host_reachable", lambda address, timeout=2.0: address[0] in ("huggingface.co", "127.0.0.1")
        )
        monkeypatch.setattr(zoo, "_download_from_hub", corrupt_hub)
        entry = _fake_entry(tmp_path, payload, url=f"http://127.0.0.1:{server.server_port}/fake.pth")
        path = zoo.ensure_weights(entry, tmp_path)
        assert path.read_bytes() == payload and served == ["/fake.pth"]

        path.unlink()
        bad = _fake_entry(tmp_path, b"something else", url=entry.url)
        with pytest.raises(WeightsMissingError, match="sha256"):
            zoo.ensure_weights(bad, tmp_path)
        assert [p.name for p in tmp_path.iterdir() if not p.name.startswith(".fake.pth.sha256")] == []
    finally:
        server.shutdown()


def test_no_network_without_offline_flag_fails_fast(tmp_path, monkeypatch):
    """No HF_HUB_OFFLINE, no route to the Hub or GitHub: still one line within a couple of seconds."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.invalid")
    monkeypatch.setattr(
        zoo, "_download_from_url", lambda url, d: (_ for _ in ()).throw(AssertionError("must not be called"))
    )
    entry = replace(zoo.get_entry("v1.3"), url="https://releases.invalid/GFPGANv1.3.pth")
    start = time.perf_counter()
    with pytest.raises(WeightsMissingError) as err:
        zoo.ensure_weights(entry, tmp_path)
    assert time.perf_counter() - start < 5
    assert "hub.invalid unreachable" in str(err.value) and "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_changed_file_on_disk_is_detected(tmp_path):
    payload = b"abc"
    entry = _fake_entry(tmp_path, payload)
    (tmp_path / "fake.pth").write_bytes(b"abd")
    with pytest.raises(CheckpointError, match="sha256"):
        zoo.ensure_weights(entry, tmp_path)


def test_local_path_always_works(tmp_path, tiny_checkpoint):
    assert zoo.resolve_weights(str(tiny_checkpoint), tmp_path) == (tiny_checkpoint, None)
    with pytest.raises(WeightsMissingError, match="No weights file"):
        zoo.resolve_weights(str(tmp_path / "nope.pth"), tmp_path)


def test_cli_download_offline_is_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "gfpgan_core", "download", "v1.3", "--weights-dir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert zoo.command("download v1.3 --from FILE") in proc.stderr
    from gfpgan_core.cli import main

    start = time.perf_counter()  # timed in this process: the interpreter's start-up is not the check's cost
    assert main(["download", "v1.3", "--weights-dir", str(tmp_path)]) == 2
    assert time.perf_counter() - start < 2


def test_importing_the_package_touches_no_network_or_disk(tmp_path):
    code = "import sys, gfpgan_core; assert 'huggingface_hub' not in sys.modules; assert 'facexlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


class _Serve(http.server.BaseHTTPRequestHandler):
    """Serves ``body`` announcing ``length``, ``pace`` seconds between chunks of ``chunk`` bytes."""

    body, length, pace, chunk = b"", 0, 0.0, 1

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(self.length))
        self.end_headers()
        try:
            for i in range(0, len(self.body), self.chunk):
                self.wfile.write(self.body[i : i + self.chunk])
                self.wfile.flush()
                time.sleep(self.pace)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def _serve(**attrs):
    handler = type("Handler", (_Serve,), attrs)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/file.pth"


def test_a_trickling_server_is_given_up_on(tmp_path):
    server, url = _serve(body=b"x" * 1000, length=1000, pace=0.2, chunk=10)
    try:
        start = time.perf_counter()
        with pytest.raises(TimeoutError, match="slower than"):
            zoo._download_from_url(url, tmp_path, deadline_s=60, min_rate=1000, grace_s=0.5)
        with pytest.raises(TimeoutError, match="not finished after 1 s"):
            zoo._download_from_url(url, tmp_path, deadline_s=1, min_rate=0)
        assert time.perf_counter() - start < 10
    finally:
        server.shutdown()


def test_a_truncated_download_never_lands_under_its_name(tmp_path, monkeypatch):
    """No published hash to catch it: the announced length must."""
    server, url = _serve(body=b"y" * 500, length=1000)
    try:
        monkeypatch.delenv("HF_HUB_OFFLINE")
        monkeypatch.setattr(zoo, "_host_reachable", lambda address, timeout=2.0: True)
        entry = replace(_fake_entry(tmp_path, b"y" * 1000, url=url), sha256=None)
        with pytest.raises(WeightsMissingError, match="closed after 500 of 1000 bytes"):
            zoo.ensure_weights(entry, tmp_path)
        assert not (tmp_path / entry.filename).exists()
        assert [p for p in tmp_path.iterdir() if p.is_dir()] == []  # no staging folder left either
    finally:
        server.shutdown()


def test_stale_staging_folders_are_cleaned(tmp_path):
    import os

    stale, fresh = tmp_path / ".GFPGANv1.4.pth.abc123", tmp_path / ".GFPGANv1.4.pth.def456"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "GFPGANv1.4.pth").write_bytes(b"partial")
    old = time.time() - zoo.DOWNLOAD_DEADLINE_S - 3600
    os.utime(stale, (old, old))
    assert zoo.clean_stale_staging(tmp_path) == 1
    assert not stale.exists() and fresh.exists()  # a download may still be writing the fresh one


def test_a_hub_mirror_on_another_port_is_tried_there(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:8089")
    (_, address, _), *_ = zoo._sources(zoo.get_entry("v1.4"))
    assert address == ("127.0.0.1", 8089)
    assert zoo.host_and_port("https://github.com/x") == ("github.com", 443)


def test_a_read_only_weights_folder_falls_back_for_optional_parts(tmp_path, monkeypatch):
    import os

    import torch

    from gfpgan_core.parts import build_detector

    if os.geteuid() == 0:
        target = tmp_path / "not_a_folder"
        target.write_text("a file where the weights folder should be")  # root ignores permission bits
        folder = target / "weights"
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(zoo, "_host_reachable", lambda address, timeout=2.0: True)
    detector, note = build_detector("auto", torch.device("cpu"), folder, download=True)
    assert detector.name == "yunet" and "unavailable" in note
    with pytest.raises(WeightsMissingError, match="cannot write there"):
        zoo.ensure_weights("retinaface-resnet50", folder)


def test_a_file_without_a_published_hash_is_pinned_on_first_download(tmp_path, monkeypatch, caplog):
    payload = b"restoreformer" * 100

    def fake_hub(hub, dest):
        target = dest / "fake.pth"
        target.write_bytes(payload)
        return target

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(zoo, "_host_reachable", lambda host, timeout=2.0: True)
    monkeypatch.setattr(zoo, "_download_from_hub", fake_hub)
    entry = _fake_entry(tmp_path, payload, sha256=None)
    with caplog.at_level("WARNING", logger="gfpgan_core.zoo"):
        path = zoo.ensure_weights(entry, tmp_path)
    digest = hashlib.sha256(payload).hexdigest()
    assert zoo.pinned_sha256(path) == digest and f"pinned {digest}" in caplog.text
    assert zoo.ensure_weights(entry, tmp_path) == path
    path.write_bytes(b"something else")  # the file changed after the first download: refused in one line
    with pytest.raises(CheckpointError, match="first-downloaded \\(pinned\\) sha256"):
        zoo.ensure_weights(entry, tmp_path)
