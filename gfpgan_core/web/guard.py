"""An ASGI guard in front of the app's HTTP API: file payloads may only name files already uploaded.

Gradio checks a file payload only when it carries its ``meta`` marker, fetches one whose ``path`` is a
URL (public hosts only) and decodes ``data:`` URLs, all before any check of the app runs; so a raw API
call could make the server read, fetch, store and decode whatever a client names. Images must arrive
through the upload route (size-limited): this guard refuses, before Gradio sees the call, any file
payload that is not a file the server received, and any call body larger than a real one can be (a
few KB: files travel by upload, not inline). It also bounds one client's share of the queue (jobs
per minute per address), refuses MCP tool calls whose arguments name URLs (images come inline as
data: URLs there) and refuses uploads while the disk is nearly full. A refusal is one JSON line,
status 400, 413, 429 or 507. One kind of link is taken, without a fetch: a link to the server's own
file route naming a file it received (the API page's example input), used as that file's path.

Front-end code: the engine never imports it. It knows ASGI and JSON, not Gradio.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_CALL_BYTES = 64 * 1024
QUEUED_ROUTES = ("/gradio_api/call/", "/gradio_api/queue/join")  # jobs: what the per-client rate counts
INSTANT_ROUTES = ("/gradio_api/run/",)  # the page's unqueued events (clearing the outputs, the status line)
REMOTE_PREFIXES = ("http:", "https:", "data:", "file:", "ftp:", "//")
FETCHED_PREFIXES = tuple(p for p in REMOTE_PREFIXES if p != "data:")  # what a server would go and get


def file_payloads(data: Any) -> list[dict[str, Any]]:
    """Every file payload in a JSON value: any object with a ``path`` (Gradio's FileData and image
    data, with or without their ``meta`` marker)."""
    found, stack = [], [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "path" in item or "url" in item:
                found.append(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


OWN_FILE_ROUTE = "/gradio_api/file="


def own_file(link: Any) -> str | None:
    """The server path in a link to a Gradio file route (``https://host/gradio_api/file=PATH``), or None.
    The API page's example input is such a link to one of the page's examples."""
    if not isinstance(link, str) or not link.strip().lower().startswith(("http:", "https:")):
        return None
    route = urllib.parse.urlsplit(link.strip()).path
    at = route.find(OWN_FILE_ROUTE)
    return urllib.parse.unquote(route[at + len(OWN_FILE_ROUTE) :]) if at >= 0 else None


def localize_own_files(data: Any, is_received: Callable[[str], bool] | None) -> bool:
    """Turn links to files this server received (uploads, the page's examples) into their paths, in
    place, so they are used without any fetch; True if any was. Other links stay, to be refused."""
    changed = False
    for payload in file_payloads(data) if is_received is not None else []:
        local = own_file(payload.get("path")) or own_file(payload.get("url"))
        if local and is_received(local):  # type: ignore[misc]
            payload["path"], payload["url"] = local, None
            changed = True
    return changed


def refusal(payload: dict[str, Any], is_received: Callable[[str], bool] | None) -> str | None:
    """Why a file payload is refused, or None when it names a file the server received."""
    path, url = payload.get("path"), payload.get("url")
    if isinstance(url, str) and url.strip().lower().startswith("data:"):
        return "Images must be uploaded to this app first; inline data is refused."
    if not isinstance(path, str) or not path.strip():
        return "A file must name the path the upload route returned."
    if path.strip().lower().startswith(REMOTE_PREFIXES):
        return "Images must be uploaded to this app first; URLs are refused."
    if is_received is not None and not is_received(path):
        return "Only images uploaded to this app can be restored: upload the file first."
    return None


def tool_call_refusal(data: Any) -> str | None:
    """Why an MCP message is refused, or None: an argument naming a URL or a file (Gradio's MCP server
    would fetch it) rather than carrying the image inline as a data: URL."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            arguments = item.get("arguments")
            values = arguments.values() if isinstance(arguments, dict) else ()
            for value in values:
                if isinstance(value, str) and value.strip().lower().startswith(FETCHED_PREFIXES):
                    return "This server fetches no URLs: send the image inline as a data: URL."
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(item)
    return None


def client_address(scope: Scope) -> str:
    """The caller's address: the first X-Forwarded-For hop when the direct peer is a proxy on a
    private or loopback address (a Space's), else the peer itself (a header it sets is not trusted)."""
    peer = (scope.get("client") or ("unknown", 0))[0]
    try:
        behind_proxy = ipaddress.ip_address(peer).is_private or ipaddress.ip_address(peer).is_loopback
    except ValueError:
        behind_proxy = False
    if behind_proxy:
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for" and value.strip():
                return value.decode("latin-1").split(",")[0].strip()
    return str(peer)


class CallRate:
    """At most ``limit`` calls per client in any ``window_s``: one client's share of the queue."""

    def __init__(self, limit: int, window_s: float = 60.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._calls: dict[str, deque[float]] = {}

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        calls = self._calls.setdefault(client, deque())
        while calls and now - calls[0] > self.window_s:
            calls.popleft()
        if len(calls) >= self.limit:
            return False
        calls.append(now)
        if len(self._calls) > 10_000:  # forget idle clients: the table stays small
            for key in [k for k, v in self._calls.items() if not v or now - v[-1] > self.window_s]:
                del self._calls[key]
        return True


class PayloadGuard:
    """Refuse API calls (POSTs under ``prefixes``) that name remote or inline files, are too big or
    come too often from one client; MCP tool calls (POSTs under ``mcp_prefix``) whose arguments name
    URLs; and uploads when the disk is nearly full."""

    def __init__(
        self,
        app: ASGIApp,
        is_received: Callable[[str], bool] | None = None,
        prefixes: tuple[str, ...] = QUEUED_ROUTES + INSTANT_ROUTES,
        mcp_prefix: str = "/gradio_api/mcp",
        max_mcp_bytes: int = MAX_CALL_BYTES,  # the app gives its upload limit as base64 (settings.Limits)
        calls_per_minute: int = 0,
        free_bytes: Callable[[], int] | None = None,
        min_free_bytes: int = 200_000_000,
        drop_job: Callable[[str], Awaitable[bool]] | None = None,
        claim_s: float = 30.0,
    ) -> None:
        self.app = app
        self.is_received = is_received  # True for a path the server itself received (an upload)
        self.prefixes = prefixes
        self.mcp_prefix = mcp_prefix
        self.max_mcp_bytes = max_mcp_bytes
        self.rate = CallRate(calls_per_minute) if calls_per_minute > 0 else None
        self.free_bytes = free_bytes  # free space where uploads land
        self.min_free_bytes = min_free_bytes
        # An API job (POST /call/...) whose result stream (GET /call/.../EVENT_ID) is not opened within
        # claim_s is dropped from the queue: its client is gone. (The page's own stream is watched by
        # Gradio, which drops the jobs of a page that closes.)
        self.drop_job = drop_job
        self.claim_s = claim_s
        self._pending: set[str] = set()  # jobs started through the API, not yet checked
        self._claimed: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and scope.get("method") == "GET" and path.startswith(QUEUED_ROUTES[0]):
            event_id = path.rstrip("/").rsplit("/", 1)[-1]
            if event_id in self._pending:
                self._claimed.add(event_id)  # a result stream opened for this job
        if (
            self.free_bytes is not None
            and scope["type"] == "http"
            and scope.get("method") == "POST"
            and path.endswith("/gradio_api/upload")
            and self.free_bytes() < self.min_free_bytes
        ):
            log.warning("refused an upload: the disk is nearly full")
            await _refuse(send, 507, "The server is out of disk space; please try again in a few minutes.")
            return
        mcp = path.startswith(self.mcp_prefix)
        if scope["type"] != "http" or scope.get("method") != "POST" or not (mcp or path.startswith(self.prefixes)):
            await self.app(scope, receive, send)
            return
        queued = path.startswith(QUEUED_ROUTES)  # a job for the queue, not one of the page's instant events
        if queued and self.rate is not None and not self.rate.allow(client_address(scope)):
            await _refuse(
                send,
                429,
                f"Too many requests from your address (at most {self.rate.limit} a minute); try again shortly.",
            )
            return
        cap = self.max_mcp_bytes if mcp else MAX_CALL_BYTES
        body = await _read_body(receive, cap)
        if body is None:  # the client went away
            return
        if len(body) > cap:
            await _refuse(send, 413, "The request is too large: send images through the upload route, not inline.")
            return
        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):
            data = None  # not JSON: Gradio answers that itself
        if mcp:
            reasons = [r] if (r := tool_call_refusal(data)) else []
        else:
            # the inputs: Gradio reads files only there (a gallery's select event echoes the selected
            # output's path in "event_data", which no handler opens)
            inputs = data.get("data") if isinstance(data, dict) and "data" in data else data
            if localize_own_files(inputs, self.is_received):
                body = bytearray(json.dumps(data).encode())
            reasons = [r for p in file_payloads(inputs) if (r := refusal(p, self.is_received))]
        if reasons:
            log.warning(f"refused an API call: {reasons[0]}")
            await _refuse(send, 400, reasons[0])
            return
        await self._forward(scope, bytes(body), receive, send)

    async def _forward(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        """Pass a checked call on (its body, already read, replayed); an API job's id is watched for
        its result stream being opened within ``claim_s``."""
        path = scope.get("path", "")
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        if self.drop_job is None or not path.startswith(QUEUED_ROUTES[0]):
            await self.app(scope, replay, send)
            return
        answer = bytearray()

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.body":
                answer.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, replay, watch)
        try:
            event_id = json.loads(bytes(answer)).get("event_id")
        except (ValueError, AttributeError):
            return
        if isinstance(event_id, str):
            self._pending.add(event_id)
            asyncio.get_running_loop().call_later(self.claim_s, lambda: asyncio.ensure_future(self._expire(event_id)))

    async def _expire(self, event_id: str) -> None:
        """Drop a job from the queue if nobody came for its result (a job already running finishes)."""
        self._pending.discard(event_id)
        if event_id in self._claimed:
            self._claimed.discard(event_id)
            return
        assert self.drop_job is not None
        try:
            if await self.drop_job(event_id):
                log.info(f"dropped job {event_id[:8]}: nobody came for its result within {self.claim_s:g} s")
        except Exception:  # the queue's internals: never take a request down over them
            log.exception("could not drop an unclaimed job")


async def _read_body(receive: Receive, cap: int) -> bytearray | None:
    """The request's body, read until it ends or passes ``cap`` bytes; None if the client disconnected."""
    body = bytearray()
    more = True
    while more and len(body) <= cap:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


async def _refuse(send: Send, status: int, message: str) -> None:
    payload = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
