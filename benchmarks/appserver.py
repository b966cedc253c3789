"""Start the app as a separate process on 127.0.0.1, the way a visitor meets it, and talk to it over
raw HTTP: for the tests, the load script and the attacks (one way to do it, so all measure the same
server)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
# /restore's options after the photo, in the API's order (a random-weight model given as "custom")
ARGS = ["custom", 1, 1.0, False, False, "yunet", 0.6, False, "PNG", 90, False]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(
    model_path: Path, workdir: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = (), timeout: float = 180
) -> tuple[subprocess.Popen, str, list[str]]:
    """(process, its URL, everything it printed so far, kept filling) once it serves; its weights and
    Gradio cache live under ``workdir``. Raises RuntimeError with its output when it does not start."""
    port = free_port()
    environment = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(workdir / "gradio"),
        "GFPGAN_WEIGHTS_DIR": str(workdir / "weights"),
        **(env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "app.py", "--model-path", str(model_path), "--port", str(port), *args],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if f"127.0.0.1:{port}" in line:
            threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True).start()  # type: ignore[arg-type]
            return proc, f"http://127.0.0.1:{port}/", lines
        if proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("the app did not start:\n" + "".join(lines))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6 if folder.exists() else 0.0


def upload(client: httpx.Client, url: str, photo: Path) -> str:
    with photo.open("rb") as f:
        return client.post(f"{url}gradio_api/upload", files={"files": (photo.name, f)}).json()[0]


def restore(
    client: httpx.Client, url: str, path: str, timeout: float = 300, args: list | None = None
) -> tuple[str, str, float]:
    """(event, message or result path, seconds) for one call, from POST to its last event; ``args``:
    the options after the photo (default :data:`ARGS`)."""
    t = time.perf_counter()
    start = client.post(f"{url}gradio_api/call/restore", json={"data": [{"path": path}, *(args or ARGS)]})
    if start.status_code != 200:
        return "refused", start.text[:200], time.perf_counter() - t
    event_id = start.json()["event_id"]
    event = ""
    with client.stream("GET", f"{url}gradio_api/call/restore/{event_id}", timeout=timeout) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = json.loads(line.split(":", 1)[1])
                message = data[0]["path"] if event == "complete" else (data or {}).get("error", "")
                return event, str(message), time.perf_counter() - t
    return "dropped", "", time.perf_counter() - t


def client_at(k: int, timeout: float = 60) -> httpx.Client:
    """A client calling from its own loopback address 127.0.0.k (the app limits calls per address)."""
    return httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(local_address=f"127.0.0.{2 + k % 250}"))
