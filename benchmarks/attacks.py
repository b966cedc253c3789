"""Attacks on the app through raw HTTP, each returning its figures: what the load script prints and the
security tests assert. All against a server this machine started, on 127.0.0.0/8 only.

- parallel_estimates: the page's estimate (an instant event: outside the queue) called N times at
  once on a 32 MP PNG; the server's memory before and at its peak.
- direct_routes: the endpoints' direct routes (/gradio_api/run/NAME, /gradio_api/api/NAME), with a
  file payload naming a URL: their status, how long they took, whether anything was fetched or written.
- forwarded_headers: restorations from one address, each with a new X-Forwarded-For.
- zip_references: one upload of a ZIP listing 240,000 entries (22 MB), named 12 times in one batch.
- big_bodies: bodies declared at 300 MB on Gradio's POST routes: the status and the memory added.
- upload_flood: uploads from one address as fast as it can send them.
- file_route_urls: Gradio's file route naming URLs (it relays public ones).
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import urllib.parse
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
from appserver import ARGS, client_at, rss_mb, upload

FILE_DATA = {"_type": "gradio.FileData"}


def big_png(path: Path, side: int = 5600) -> Path:
    """A PNG of ``side`` x ``side`` (31 MP: under the default 32 MP decode limit) that compresses to a
    few MB: a photo in one corner of a flat field."""
    from PIL import Image

    from_repo = Path(__file__).resolve().parent.parent / "examples" / "group_composite.jpg"
    canvas = Image.new("RGB", (side, side), (128, 120, 110))
    canvas.paste(Image.open(from_repo).convert("RGB"), (0, 0))
    canvas.save(path, compress_level=1)
    return path


def many_entry_zip(path: Path, entries: int = 240_000) -> Path:
    """A ZIP of ``entries`` empty "images" (about 22 MB): cheap to send, costly to list."""
    with zipfile.ZipFile(path, "w") as z:
        for i in range(entries):
            z.writestr(f"{i:x}.png", b"")
    return path


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class FetchRecorder:
    """A server on 127.0.0.1 that records every request: a URL sent to the app must never be fetched."""

    def __enter__(self) -> FetchRecorder:
        self.hits: list[str] = []
        handler = type("Recorder", (_Recorder,), {"hits": self.hits})
        self._server = http.server.HTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/face.jpg"
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()


def estimate_call(url: str, photo_path: str, **by_label: Any) -> dict[str, Any]:
    """The page's estimate event as the page sends it (POST /gradio_api/run/predict, fn_index), every
    other input at its default value, or at ``by_label[label]`` (e.g. ``**{"Rescaling factor": 2}``)."""
    config = httpx.get(f"{url}config", timeout=30).json()
    components = {c["id"]: c for c in config["components"]}
    image = next(i for i, c in components.items() if c.get("props", {}).get("elem_id") == "input-image")
    fn_index, dependency = next(
        (k, d) for k, d in enumerate(config["dependencies"]) if [image, "change"] in d["targets"]
    )

    def value(i: int) -> Any:
        props = components[i].get("props", {})
        return by_label.get(props.get("label"), props.get("value"))

    data = [
        {"path": photo_path, "orig_name": "big.png", "meta": FILE_DATA} if i == image else value(i)
        for i in dependency["inputs"]
    ]
    return {"data": data, "fn_index": fn_index, "trigger_id": image, "session_hash": "attack", "event_data": None}


def parallel_estimates(url: str, pid: int, png: Path, calls: int = 8) -> dict[str, Any]:
    with client_at(100) as c:
        path = upload(c, url, png)
    body = estimate_call(url, path)
    before = peak = rss_mb(pid)
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_mb(pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()

    def one(k: int) -> tuple[int, str]:
        with client_at(101 + k, timeout=120) as c:
            answer = c.post(f"{url}gradio_api/run/predict", json=body)
            summary = next((v for v in answer.json().get("data", []) if isinstance(v, str) and v), "")
            return answer.status_code, summary

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(calls) as pool:
            answers = list(pool.map(one, range(calls)))
    finally:
        done.set()
        watcher.join()
    return {
        "calls": calls,
        "statuses": [status for status, _ in answers],
        "estimates_given": sum(bool(summary) for _, summary in answers),
        "first_estimate": next((summary for _, summary in answers if summary), ""),
        "seconds": round(time.perf_counter() - started, 1),
        "rss_before_mb": round(before),
        "rss_peak_mb": round(peak),
        "added_mb": round(peak - before),
    }


DIRECT_ROUTES = ("run/restore", "api/restore", "run/restore_batch", "api/compare")


def direct_routes(url: str, photo: Path, results: Path) -> dict[str, Any]:
    """Every direct route with a real upload and with a URL: nothing may run, fetch or write."""
    with client_at(110) as c:
        path = upload(c, url, photo)
    written = sum(1 for _ in results.rglob("*")) if results.exists() else 0
    report: dict[str, Any] = {}
    with FetchRecorder() as recorder, client_at(111, timeout=120) as c:
        for route in DIRECT_ROUTES:
            for name, image in (("upload", {"path": path, "meta": FILE_DATA}), ("url", {"path": recorder.url})):
                first = [image] if "batch" not in route else [[image]]
                args = [["custom", "custom"], 1.0, False, "yunet"] if "compare" in route else ARGS
                started = time.perf_counter()
                answer = c.post(f"{url}gradio_api/{route}", json={"data": [*first, *args]})
                report[f"{route} ({name})"] = [answer.status_code, round(time.perf_counter() - started, 2)]
        report["fetched"] = list(recorder.hits)
    report["results_written"] = (sum(1 for _ in results.rglob("*")) if results.exists() else 0) - written
    return report


def forwarded_headers(url: str, photo: Path, calls: int) -> dict[str, Any]:
    """Restorations from one address, each claiming another with X-Forwarded-For."""
    with client_at(120) as c:
        path = upload(c, url, photo)
        statuses = [
            c.post(
                f"{url}gradio_api/call/restore",
                json={"data": [{"path": path}, *ARGS]},
                headers={"X-Forwarded-For": f"198.51.100.{k + 1}"},
            ).status_code
            for k in range(calls)
        ]
    return {"calls": calls, "statuses": statuses}


def zip_references(url: str, archive: Path, times: int = 12) -> dict[str, Any]:
    """One ZIP named ``times`` times in one batch: the seconds from the call to its refusal."""
    with client_at(130, timeout=300) as c:
        path = upload(c, url, archive)
        started = time.perf_counter()
        files = [{"path": path, "meta": FILE_DATA}] * times
        start = c.post(f"{url}gradio_api/call/restore_batch", json={"data": [files, *ARGS]})
        event, message = "refused", start.text[:200]
        if start.status_code == 200:
            event_id = start.json()["event_id"]
            with c.stream("GET", f"{url}gradio_api/call/restore_batch/{event_id}") as stream:
                for line in stream.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and event in ("complete", "error"):
                        message = str(json.loads(line.split(":", 1)[1]))
                        break
    return {
        "zip_mb": round(archive.stat().st_size / 1e6, 1),
        "named": times,
        "event": event,
        "message": message[:200],
        "seconds": round(time.perf_counter() - started, 2),
    }


BODY_ROUTES = ("gradio_api/api/restore", "gradio_api/reset", "gradio_api/cancel", "gradio_api/stream/x", "gradio_api/x")


def _post_declared(url: str, route: str, declared: int, send: int) -> str:
    """POST with Content-Length ``declared``, sending at most ``send`` bytes: the status line answered."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        head = f"POST /{route} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
        s.sendall(f"{head}Content-Length: {declared}\r\n\r\n".encode())
        chunk = b"x" * 65536
        try:
            for _ in range(send // len(chunk)):
                s.sendall(chunk)
        except OSError:
            pass  # the server answered and closed: it read no more
        try:
            return s.recv(200).decode("latin-1").split("\r\n")[0]
        except OSError as exc:
            return f"closed ({type(exc).__name__})"


def big_bodies(url: str, pid: int, declared: int = 300_000_000) -> dict[str, Any]:
    before = rss_mb(pid)
    answers = {route: _post_declared(url, route, declared, send=8_000_000) for route in BODY_ROUTES}
    return {"declared_mb": declared // 1_000_000, "answers": answers, "added_mb": round(rss_mb(pid) - before)}


def upload_flood(url: str, uploads: int) -> dict[str, Any]:
    with client_at(140) as c:
        statuses = [
            c.post(f"{url}gradio_api/upload", files={"files": (f"{k}.png", b"\x89PNG tiny")}).status_code
            for k in range(uploads)
        ]
    return {"uploads": uploads, "accepted": statuses.count(200), "refused_429": statuses.count(429)}


def file_route_urls(url: str) -> dict[str, Any]:
    with FetchRecorder() as recorder, client_at(150) as c:
        targets = (recorder.url, recorder.url.replace("http:", "https:"), "//" + recorder.url.split("//", 1)[1])
        statuses = {t: c.get(f"{url}gradio_api/file={t}").status_code for t in targets}
        time.sleep(0.5)
        return {"statuses": statuses, "fetched": list(recorder.hits)}
