"""Start the app as a separate process on 127.0.0.1, the way a visitor meets it: for the tests and
the load script (one way to do it, so both measure the same server)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


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
