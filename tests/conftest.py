"""Shared test fixtures: tiny random-weight checkpoints in the official format, real photos."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# gradio_client saves every downloaded output under GRADIO_TEMP_DIR (default /tmp/gradio, never
# cleaned); the tests' downloads go to a folder removed at exit.
if "GRADIO_TEMP_DIR" not in os.environ:
    os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="gfpgan-tests-gradio-")
    atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], True)

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))  # appserver: how the tests and the load script start the app
# GFPGAN_TEST_SHARED names the team's shared folder; .ci/run sets it to a missing folder for a second
# pass of the photo tests, so the fallback a newcomer's clean clone takes is tested on every run.
SHARED = Path(os.environ.get("GFPGAN_TEST_SHARED") or REPO.parent / "shared")
FIXTURES = REPO / "tests" / "fixtures"
DATA = SHARED / "data"
REAL_DATA = DATA.is_dir()
EXAMPLES = REPO / "examples"
ARTIFACTS = REPO / "test-artifacts"

# A GFPGANv1Clean small enough to run on real photos in a test, same flags as v1.3/v1.4 (the CLI's
# demo-checkpoint writes the same one).
from gfpgan_core.cli.demo import SIZES  # noqa: E402

TINY_CONFIG = SIZES[64]


def published_layout(arch: str, **config) -> dict[str, torch.Tensor]:
    """Random weights in the exact key layout and shapes of ``arch``'s release, in kilobytes on disk
    where the releases take 290-380 MB (CI's disk is small): every tensor is a view, all strides 1, of
    one small random buffer, and torch.save writes a shared storage once."""
    from gfpgan_core import archs

    with torch.device("meta"):
        shapes = {k: v.shape for k, v in getattr(archs, f"{arch}Config")(**config).build().state_dict().items()}
    length = max(sum(n - 1 for n in shape) + 1 for shape in shapes.values())
    buffer = torch.empty(length).uniform_(-0.05, 0.05, generator=torch.Generator().manual_seed(0))
    return {k: buffer.as_strided(shape, (1,) * len(shape)) for k, shape in shapes.items()}


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def measured_on_shared(path: Path) -> Path:
    """A file of ../shared/data that a value was measured on: its test skips, saying so, without it."""
    if not path.exists():
        pytest.skip(f"a value measured on ../shared/data/{path.relative_to(DATA)}, absent here")
    return path


def photo_dir(folder: str) -> Path:
    """``../shared/data/<folder>`` when present, else the same kind of set made from ``examples/``."""
    root = DATA / folder
    return root if root.is_dir() else _example_set(folder)


def photos(folder: str, limit: int | None = None) -> list[Path]:
    files = sorted(p for p in photo_dir(folder).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return files[:limit]


_FALLBACK: dict[str, Path] = {}


def _example_set(folder: str) -> Path:
    """Stand-ins built from the public-domain portraits in examples/ (so no test that needs photos
    skips on a clean clone): ``hq_photos`` the portraits mirrored, as PNG (never byte-identical to a
    page example, whose prepared result the page would show instead of restoring); ``photos`` two or
    three of them side by side (multi-face); ``hq_faces_512``/``lq_faces_512`` their faces aligned to
    the FFHQ template, with mirror images."""
    if folder in _FALLBACK:
        return _FALLBACK[folder]
    from gfpgan_core.faces import YuNetDetector, align_face
    from gfpgan_core.images import Picture, read_image, resize, to_uint8, write_image

    root = Path(tempfile.mkdtemp(prefix=f"gfpgan-examples-{folder}-"))
    atexit.register(shutil.rmtree, root, True)
    portraits = sorted(EXAMPLES.glob("*.jpg"))
    pictures = [read_image(p) for p in portraits]
    if folder == "hq_photos":
        for path, pic in zip(portraits, pictures, strict=True):
            alpha = None if pic.alpha is None else pic.alpha[:, ::-1]
            write_image(root / f"{path.stem}_mirrored.png", pic.with_pixels(pic.rgb[:, ::-1], alpha))
    elif folder == "photos":
        height = max(p.size[1] for p in pictures)
        scaled = [resize(p.rgb, (round(p.size[0] * height / p.size[1]), height)) for p in pictures]
        groups = [(0, 1), (1, 2), (0, 2), (0, 1, 2), (2, 0, 1)]
        for i, group in enumerate(groups):
            tiled = np.concatenate([scaled[k] for k in group], axis=1)
            write_image(root / f"group_{i}.png", Picture(tiled))
    elif folder in ("hq_faces_512", "lq_faces_512"):
        detector = YuNetDetector()
        for path, pic in zip(portraits, pictures, strict=True):
            face = max(detector.detect(to_uint8(pic.rgb), 0.5), key=lambda f: f.score)
            crop, _ = align_face(pic.rgb, face.landmarks, 512)
            write_image(root / f"{path.stem}.png", Picture(crop))
            write_image(root / f"{path.stem}_mirrored.png", Picture(np.ascontiguousarray(crop[:, ::-1])))
    else:
        raise ValueError(f"no stand-in for {folder}")
    _FALLBACK[folder] = root
    return root


def pytest_collection_modifyitems(items):
    """Tests whose code reads photos (through photos(), photo_dir() or DATA) are marked ``photos``:
    .ci/run runs them a second time with ../shared hidden."""
    import inspect

    for item in items:
        function = getattr(item, "function", None)
        source = inspect.getsource(function) if function is not None else ""
        if any(name in source for name in ("photos(", "photo_dir(", "DATA")):
            item.add_marker(pytest.mark.photos)


@pytest.fixture(autouse=True)
def _isolated_weights(tmp_path_factory, monkeypatch):
    """Every test sees an empty weights cache: nothing leaks in from a developer's weights/."""
    monkeypatch.setenv("GFPGAN_WEIGHTS_DIR", str(tmp_path_factory.mktemp("weights")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def write_gfpgan_checkpoint(path: Path, seed: int = 0, **config) -> Path:
    """A random-weight GFPGANv1Clean saved as the official releases are: {'params_ema': ...}."""
    from gfpgan_core.archs import GFPGANConfig
    from gfpgan_core.checkpoint import write_random_checkpoint

    return write_random_checkpoint(path, GFPGANConfig(**{**TINY_CONFIG, **config}), seed)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    return write_gfpgan_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny_gfpgan.pth")


class IdentityRestorer(nn.Module):
    """Stands in for GFPGAN: returns the aligned crop unchanged."""

    out_size = 512

    def forward(self, x):
        return x

    def restore_faces(self, x, noise=None, fidelity=None):
        return self(x)


@pytest.fixture(scope="session")
def identity_restorer():
    from gfpgan_core import Restorer
    from gfpgan_core.faces import YuNetDetector

    return Restorer(IdentityRestorer(), detector=YuNetDetector(), device="cpu")


@pytest.fixture(scope="session")
def tiny_restorer(tiny_checkpoint):
    from gfpgan_core import Restorer

    return Restorer.from_pretrained(tiny_checkpoint, device="cpu", download=False)


def rgb_uint8(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@dataclass
class AppServer:
    url: str
    cache_dir: Path  # GRADIO_TEMP_DIR: where uploads land
    log: list[str] = field(default_factory=list)  # everything the server printed
    pid: int = 0


@contextlib.contextmanager
def running_app(tmp: Path, *extra: str, env: dict[str, str] | None = None):
    """The app started as a visitor meets it, on 127.0.0.1 with an official-format random checkpoint:
    an :class:`AppServer`, stopped on exit."""
    from appserver import start_app

    env = {
        "GFPGAN_MAX_PIXELS": "4000000",
        "GFPGAN_CALLS_PER_MINUTE": "100000",  # the tests call far faster than a visitor; the limit has its own test
        **(env or {}),
    }
    try:
        proc, url, lines = start_app(write_gfpgan_checkpoint(tmp / "GFPGAN_random.pth"), tmp, env, extra, timeout=120)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield AppServer(url, tmp / "gradio", lines, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("app")) as server:
        yield server


@pytest.fixture(scope="module")
def app_url(app_server):
    return app_server.url


@contextlib.contextmanager
def fetch_recorder():
    """A server on 127.0.0.1 that records every request it gets: (the URL of a file on it, the list of
    paths requested). A test that sends its URL to the app asserts the list stays empty: nothing fetched."""
    import http.server

    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/face.jpg", hits
    finally:
        server.shutdown()


@contextlib.contextmanager
def browser_page(url: str, width: int = 1400, height: int = 1100):
    """A page of the app in Debian's headless Chromium (the test skips, saying how, where it is missing)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium: install it with `apt-get install chromium` (as .ci/run does) to run the browser test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            yield page
        finally:
            browser.close()


@pytest.fixture(scope="module")
def compare_server(tmp_path_factory):
    """An app with two face models: the random GFPGAN given at start and RestoreFormer (random weights in
    the release's layout) in its weights folder, CodeFormer for the weight slider, and CodeFormer's
    inpainting checkpoint for the brush."""
    import torch

    tmp = tmp_path_factory.mktemp("compare")
    (tmp / "weights").mkdir()
    torch.save({"params_ema": published_layout("RestoreFormer")}, tmp / "weights" / "RestoreFormer.pth")
    fill = published_layout("CodeFormer", codebook_size=512, connect_list=("32", "64", "128"))
    torch.save({"params_ema": fill}, tmp / "weights" / "codeformer_inpainting.pth")
    torch.save({"params_ema": published_layout("CodeFormer")}, tmp / "weights" / "codeformer.pth")  # in the menu
    colour = published_layout("CodeFormer", codebook_size=1024, connect_list=("32", "64", "128"))
    torch.save({"params_ema": colour}, tmp / "weights" / "codeformer_colorization.pth")
    with running_app(tmp, env={"GFPGAN_CACHE_EXAMPLES": "0"}) as server:
        yield server
