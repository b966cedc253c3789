"""An ASGI guard in front of the whole app: every request passes here before Gradio sees it.

What it holds, one rule each, in one place:
- **Bodies are capped before they are read**: every POST but an upload's (Gradio caps those at the
  app's max_file_size) at a few KB, MCP messages at the MCP transport's own limit, refused on their
  declared length first. Files travel by upload, never inline.
- **File payloads name only files the server received.** Gradio checks a file payload only when it
  carries its ``meta`` marker, fetches one whose ``path`` is a URL and decodes ``data:`` URLs, all
  before any check of the app runs; the guard refuses, before Gradio sees the call, any file payload
  that is not a file the server received (one kind of link is taken, without a fetch: a link to the
  server's own file route naming a file it received, the API page's example input).
- **No URL is ever fetched**: Gradio's file route (``/gradio_api/file=URL``) relays public URLs; here
  it serves the server's own files only. MCP arguments naming URLs are refused.
- **Each client's share**, keyed by an address that cannot be forged (X-Forwarded-For is believed
  only from configured proxies, and only the hops they added): jobs for the queue a minute, the
  page's instant events a minute (the estimate decodes and detects), uploads a minute. An MCP tool
  call counts against its caller, not against the loopback its restoration then comes through.
- **The disk**: uploads are refused while the disk is nearly full or the app's budget is spent.
- **Jobs nobody comes for** are dropped from the queue; a late reader of one gets a line saying so.
- **Calls written for an older API** still run: an endpoint's trailing optional parameters that a
  call leaves out get their defaults (Gradio refuses a call with fewer values than inputs).
- **A cancel ends one event**: Gradio's ``/cancel`` is answered by the app for the event it names
  (Gradio's cancels every running task of the session's function: a Restore pressed right after Stop).
A refusal is one JSON line with status 400, 404, 413, 429 or 507.

Front-end code: the engine never imports it. It knows ASGI and JSON, not Gradio.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import time
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from .settings import MCP_TRANSPORT_BYTES, Limits

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_CALL_BYTES = 64 * 1024
MAX_MCP_CREDITS = 64
QUEUED_ROUTES = ("/gradio_api/call/", "/gradio_api/queue/join")  # jobs: what the per-client rate counts
# the page's unqueued events (the estimate, clearing the outputs, the status line); /api/ is Gradio's
# older name for the same route
INSTANT_ROUTES = ("/gradio_api/run/", "/gradio_api/api/")
CHECKED_ROUTES = QUEUED_ROUTES + INSTANT_ROUTES  # bodies whose file payloads are checked
UPLOAD_ROUTE = "/gradio_api/upload"
CANCEL_ROUTE = "/gradio_api/cancel"
MCP_ROUTE = "/gradio_api/mcp"
LOOPBACK = ("127.0.0.1", "::1")
REMOTE_PREFIXES = ("http:", "https:", "data:", "file:", "ftp:", "//")
FETCHED_PREFIXES = tuple(p for p in REMOTE_PREFIXES if p != "data:")  # what a server would go and get
REQUIRED = object()  # a parameter without a default, in an endpoint's defaults


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
        return "Only files uploaded to this app can be restored: upload the file first."
    return None


def fill_omitted(inputs: Any, defaults: Sequence[Any]) -> bool:
    """Append the defaults of the trailing parameters a call left out, in place; whether any were.

    A raw call written before an endpoint grew an optional parameter sends one value fewer, which
    Gradio refuses; nothing is filled where a parameter left out has no default (Gradio then says so).
    """
    if not isinstance(inputs, list) or len(inputs) >= len(defaults):
        return False
    omitted = defaults[len(inputs) :]
    if any(d is REQUIRED for d in omitted):
        return False
    inputs.extend(omitted)
    return True


def _endpoint_key(path: str, data: Any) -> str | int | None:
    """Which endpoint a queued call is for: its API name (``/call/NAME``) or its index (``/queue/join``)."""
    if path.startswith(QUEUED_ROUTES[0]):
        return path[len(QUEUED_ROUTES[0]) :].strip("/")
    index = data.get("fn_index") if isinstance(data, dict) else None
    return index if isinstance(index, int) and not isinstance(index, bool) else None


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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# On a Hugging Face Space the platform's proxies reach the app from its private network, each adding
# the address it saw to X-Forwarded-For; loopback is not among them (a caller on the machine itself).
SPACE_PROXIES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")


def proxy_networks(spec: str) -> tuple[Network, ...]:
    """'10.0.0.0/8, 127.0.0.1' -> the networks whose peers' X-Forwarded-For is believed.

    Raises:
        ValueError: an entry that is not an address or a network (one line).
    """
    networks = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not an address or network: {item!r}") from None
    return tuple(networks)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(scope: Scope, proxies: tuple[Network, ...] = ()) -> str:
    """The caller's address. X-Forwarded-For is believed only from a peer in ``proxies``, and then only
    the hops those proxies added: read from the right, the first address that is not a trusted proxy is
    the caller (what the caller wrote itself sits further left, and is never taken)."""
    peer = str((scope.get("client") or ("unknown", 0))[0])
    if not _trusted(peer, proxies):
        return peer
    hops = [
        hop.strip()
        for name, value in scope.get("headers", ())
        if name == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
    ]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, proxies):
            return hop
    return peer


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


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


@dataclass(frozen=True)
class GuardPolicy:
    """What one client may cost, as the guard enforces it (0: no limit)."""

    calls_per_minute: int = 0  # jobs for the queue (restorations, batches, comparisons, MCP tool calls)
    instant_calls_per_minute: int = 0  # the page's instant events (the estimate, the status line, ...)
    uploads_per_minute: int = 0
    max_call_bytes: int = MAX_CALL_BYTES  # every POST body but an upload's (Gradio caps those) and MCP's
    max_mcp_bytes: int = MCP_TRANSPORT_BYTES
    trusted_proxies: tuple[Network, ...] = ()
    min_free_bytes: int = 200_000_000
    claim_s: float = 30.0  # an API job whose result stream is not opened within this is dropped


def on_a_space() -> bool:
    """Whether this runs on a Hugging Face Space (as Gradio decides it: SPACE_ID, or SYSTEM=spaces)."""
    return bool(os.environ.get("SPACE_ID")) or os.environ.get("SYSTEM") == "spaces"


def guard_policy(limits: Limits) -> GuardPolicy:
    """The guard's policy from the app's limits; the proxies believed by default are the Space
    platform's on a Space and none elsewhere.

    Raises:
        ValueError: GFPGAN_TRUSTED_PROXIES names something that is not an address or a network.
    """
    proxies = limits.trusted_proxies or (",".join(SPACE_PROXIES) if on_a_space() else "")
    return GuardPolicy(
        calls_per_minute=limits.calls_per_minute,
        instant_calls_per_minute=limits.instant_calls_per_minute,
        uploads_per_minute=limits.uploads_per_minute,
        max_mcp_bytes=limits.max_mcp_bytes,
        trusted_proxies=proxy_networks(proxies),
        claim_s=limits.claim_s,
    )


def _rate(limit: int) -> CallRate | None:
    return CallRate(limit) if limit > 0 else None


class PayloadGuard:
    """Every HTTP request passes here before Gradio sees it: see the module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        policy: GuardPolicy = GuardPolicy(),
        is_received: Callable[[str], bool] | None = None,
        free_bytes: Callable[[], int] | None = None,
        admit_upload: Callable[[int], bool] | None = None,
        drop_job: Callable[[str], Awaitable[bool]] | None = None,
        defaults: Mapping[str | int, Sequence[Any]] | None = None,
        cancel: Callable[[str, str], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.policy = policy
        self.is_received = is_received  # True for a path the server itself received (an upload)
        self.free_bytes = free_bytes  # free space where uploads land
        self.admit_upload = admit_upload  # whether an upload of N bytes fits the disk budget (and counts it)
        # An API job (POST /call/...) whose result stream (GET /call/.../EVENT_ID) is not opened within
        # claim_s is dropped from the queue: its client is gone. (The page's own stream is watched by
        # Gradio, which drops the jobs of a page that closes.)
        self.drop_job = drop_job
        # each public endpoint's parameter defaults (REQUIRED where none), by API name and by index
        self.defaults = defaults or {}
        self.cancel = cancel  # (session, event id): the app's own end of one event (see _cancel)
        self.jobs, self.instant, self.uploads = (
            _rate(policy.calls_per_minute),
            _rate(policy.instant_calls_per_minute),
            _rate(policy.uploads_per_minute),
        )
        self._pending: set[str] = set()  # jobs started through the API, not yet checked
        self._claimed: set[str] = set()
        self._dropped: deque[str] = deque(maxlen=1000)  # for a late reader: one line, not heartbeats forever
        # MCP tool calls already counted against their caller: the jobs and uploads Gradio's MCP server
        # then makes over loopback (as gradio_client, "x-gradio-user: mcp") spend these, not a bucket
        self._mcp_credits = {"job": 0, "upload": 0}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if method in ("GET", "HEAD", "OPTIONS"):
            await self._get(scope, receive, send, path)
            return
        client = client_address(scope, self.policy.trusted_proxies)
        if path.endswith(UPLOAD_ROUTE):
            await self._upload(scope, receive, send, client)
            return
        mcp = path.startswith(MCP_ROUTE)
        cap = self.policy.max_mcp_bytes if mcp else self.policy.max_call_bytes
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await self._too_large(send, mcp, declared)
            return
        body = await _read_body(receive, cap)
        if body is None:  # the client went away
            return
        if len(body) > cap:
            await self._too_large(send, mcp, len(body))
            return
        if mcp:
            await self._mcp(scope, body, receive, send, client)
            return
        if path.endswith(CANCEL_ROUTE) and self.cancel is not None:
            await self._cancel(send, body)
            return
        if not path.startswith(CHECKED_ROUTES):  # Gradio's other POSTs (reset, ...): capped, passed on
            await self._forward(scope, bytes(body), receive, send)
            return
        queued = path.startswith(QUEUED_ROUTES)
        rate = self.jobs if queued else self.instant
        if rate is not None and not (queued and self._spend_mcp_credit(scope, "job")) and not rate.allow(client):
            await _too_many(send, "restorations" if queued else "requests", rate.limit, client)
            return
        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):
            data = None  # not JSON: Gradio answers that itself
        # the inputs: Gradio reads files only there (a gallery's select event echoes the selected
        # output's path in "event_data", which no handler opens)
        inputs = data.get("data") if isinstance(data, dict) and "data" in data else data
        endpoint = _endpoint_key(path, data) if queued else None
        filled = endpoint is not None and endpoint in self.defaults and fill_omitted(inputs, self.defaults[endpoint])
        if localize_own_files(inputs, self.is_received) or filled:
            body = bytearray(json.dumps(data).encode())
        reasons = [r for p in file_payloads(inputs) if (r := refusal(p, self.is_received))]
        if reasons:
            log.warning(f"refused an API call: {reasons[0]}")
            await _refuse(send, 400, reasons[0])
            return
        await self._forward(scope, bytes(body), receive, send)

    async def _cancel(self, send: Send, body: bytearray) -> None:
        """The page's Stop, for one event: the app's own ``cancel``, which ends exactly that event.
        Gradio's route cancels every running task of the session's function, so a Stop followed at once
        by Restore could kill the new run (seen: a bare "Error" in 1 of 3 tries), and a stopped run's
        thread went on beside the next one."""
        try:
            data = json.loads(body or b"null")
            session, event_id = data["session_hash"], data["event_id"]
        except (ValueError, TypeError, KeyError, RecursionError):
            await _refuse(send, 400, "A cancel names a session_hash and an event_id.")
            return
        if not (isinstance(session, str) and isinstance(event_id, str)):
            await _refuse(send, 400, "A cancel names a session_hash and an event_id.")
            return
        assert self.cancel is not None
        await self.cancel(session, event_id)
        await _respond(send, 200, {"success": True})

    async def _get(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """Reads: Gradio's file route never fetches a URL for a client; a dropped job's stream ends in a line."""
        if OWN_FILE_ROUTE in path:
            target = urllib.parse.unquote(path[path.index(OWN_FILE_ROUTE) + len(OWN_FILE_ROUTE) :]).strip()
            if target.lower().startswith(REMOTE_PREFIXES) or "://" in target:
                log.warning("refused a file route naming a URL: this server fetches none")
                await _refuse(send, 404, "This server serves only its own files; it fetches no URLs.")
                return
        if path.startswith(QUEUED_ROUTES[0]):
            event_id = path.rstrip("/").rsplit("/", 1)[-1]
            if event_id in self._dropped:
                await _event_stream(
                    send,
                    "error",
                    f"This job was dropped: nobody asked for its result within {self.policy.claim_s:g} s.",
                )
                return
            if event_id in self._pending:
                self._claimed.add(event_id)  # a result stream opened for this job
        await self.app(scope, receive, send)

    async def _upload(self, scope: Scope, receive: Receive, send: Send, client: str) -> None:
        """An upload: one client's share, the disk's free space and the app's disk budget, checked before
        a byte is read (Gradio caps its size: the app's max_file_size)."""
        if self.uploads is not None and not self._spend_mcp_credit(scope, "upload") and not self.uploads.allow(client):
            await _too_many(send, "uploads", self.uploads.limit, client)
            return
        if self.free_bytes is not None and self.free_bytes() < self.policy.min_free_bytes:
            log.warning("refused an upload: the disk is nearly full")
            await _refuse(send, 507, "The server is out of disk space; please try again in a few minutes.")
            return
        if self.admit_upload is not None and not self.admit_upload(_content_length(scope) or 0):
            log.warning("refused an upload: the app's disk budget is spent until older files expire")
            await _refuse(send, 507, "The server's storage for uploads is full; please try again in a minute.")
            return
        await self.app(scope, receive, send)

    async def _mcp(self, scope: Scope, body: bytearray, receive: Receive, send: Send, client: str) -> None:
        """An MCP message: no argument may name a URL or a file, and a tool call is a job of its caller's."""
        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):
            data = None
        reason = tool_call_refusal(data)
        if reason:
            log.warning(f"refused an MCP call: {reason}")
            await _refuse(send, 400, reason)
            return
        calls = [m for m in (data if isinstance(data, list) else [data]) if isinstance(m, dict)]
        tool_calls = [m for m in calls if m.get("method") == "tools/call"]
        rate = self.jobs if tool_calls else self.instant
        if rate is not None and not all(rate.allow(client) for _ in range(max(len(tool_calls), 1))):
            await _too_many(send, "calls", rate.limit, client)
            return
        for call in tool_calls:  # what Gradio's MCP server will do for it over loopback
            params = call.get("params")
            arguments = params.get("arguments") if isinstance(params, dict) else None
            values = arguments.values() if isinstance(arguments, dict) else ()
            files = sum(1 for v in values if isinstance(v, str) and v.startswith("data:"))
            self._credit("job", 1)
            self._credit("upload", files)
        await self._forward(scope, bytes(body), receive, send)

    def _credit(self, kind: str, n: int) -> None:
        self._mcp_credits[kind] = min(self._mcp_credits[kind] + n, MAX_MCP_CREDITS)

    def _spend_mcp_credit(self, scope: Scope, kind: str) -> bool:
        """True for a loopback call of Gradio's own MCP client while a tool call it makes is owed."""
        peer = str((scope.get("client") or ("", 0))[0])
        if peer not in LOOPBACK or _header(scope, b"x-gradio-user") != "mcp" or self._mcp_credits[kind] <= 0:
            return False
        self._mcp_credits[kind] -= 1
        return True

    async def _too_large(self, send: Send, mcp: bool, size: int) -> None:
        if not mcp:
            await _refuse(send, 413, "The request is too large: send images through the upload route, not inline.")
            return
        image_mb = (self.policy.max_mcp_bytes - 4096) * 3 / 4 / 1e6
        limit_mb = self.policy.max_mcp_bytes / 1e6
        message = (
            f"The MCP message is {size / 1e6:.1f} MB; this server takes at most {limit_mb:.1f} MB, a photo of "
            f"about {image_mb:.1f} MB as a data: URL: send a smaller photo (a JPEG, or fewer pixels)."
        )
        log.info(f"refused an MCP call of {size / 1e6:.1f} MB")
        payload = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": message}}
        await _respond(send, 413, payload)

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
            asyncio.get_running_loop().call_later(
                self.policy.claim_s, lambda: asyncio.ensure_future(self._expire(event_id))
            )

    async def _expire(self, event_id: str) -> None:
        """Drop a job from the queue if nobody came for its result (a job already running finishes)."""
        self._pending.discard(event_id)
        if event_id in self._claimed:
            self._claimed.discard(event_id)
            return
        assert self.drop_job is not None
        try:
            if await self.drop_job(event_id):
                self._dropped.append(event_id)
                log.info(f"dropped job {event_id[:8]}: nobody came for its result within {self.policy.claim_s:g} s")
        except Exception:  # the queue's internals: never take a request down over them
            log.exception("could not drop an unclaimed job")


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


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


async def _too_many(send: Send, what: str, limit: int, client: str) -> None:
    log.info(f"refused {what} from {client}: over {limit} a minute")
    await _refuse(send, 429, f"Too many {what} from your address (at most {limit} a minute); try again shortly.")


async def _refuse(send: Send, status: int, message: str) -> None:
    await _respond(send, status, {"error": message})


async def _respond(send: Send, status: int, value: Any) -> None:
    payload = json.dumps(value).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _event_stream(send: Send, event: str, message: str) -> None:
    """A one-event server-sent stream (what a reader of /call/NAME/EVENT_ID expects), then its end."""
    payload = f"event: {event}\ndata: {json.dumps(message)}\n\n".encode()
    headers = [(b"content-type", b"text/event-stream"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
