"""The HTTP guard in front of the app, on a stand-in ASGI app: rate, client addresses, a full disk."""

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from gfpgan_core.web.guard import (
    INSTANT_ROUTES,
    QUEUED_ROUTES,
    CallRate,
    GuardPolicy,
    PayloadGuard,
    client_address,
    proxy_networks,
)

SEEN: list[str] = []  # paths the stand-in app was reached at


def _app(policy=None, **guard):
    async def ok(request):
        body = await request.body()
        SEEN.append(request.url.path)
        return JSONResponse({"ok": True, "bytes": len(body)})

    routes = [
        Route(path, ok, methods=["GET", "POST"])
        for path in ("/gradio_api/call/restore", "/gradio_api/upload", "/gradio_api/reset", "/gradio_api/mcp/")
    ]
    routes += [Route(f"{prefix}x", ok, methods=["POST"]) for prefix in (*QUEUED_ROUTES, *INSTANT_ROUTES)]
    routes.append(Route("/gradio_api/file={rest:path}", ok, methods=["GET"]))
    routes.append(Route("/gradio_api/call/restore/{event}", ok, methods=["GET"]))
    return PayloadGuard(Starlette(routes=routes), policy or GuardPolicy(), **guard)


def test_one_client_gets_only_its_share_of_the_queue():
    client = TestClient(_app(GuardPolicy(calls_per_minute=3)), client=("203.0.113.7", 5000))
    codes = [client.post("/gradio_api/call/restore", json={"data": []}).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    refused = client.post("/gradio_api/call/restore", json={"data": []}).json()["error"]
    assert "at most 3 a minute" in refused and "\n" not in refused
    other = TestClient(client.app, client=("203.0.113.8", 5000))
    assert other.post("/gradio_api/call/restore", json={"data": []}).status_code == 200  # others are not held up


def test_the_rate_window_slides():
    rate = CallRate(2, window_s=60)
    assert rate.allow("a", 0) and rate.allow("a", 1) and not rate.allow("a", 2)
    assert rate.allow("a", 61)


def test_forwarded_addresses_are_believed_only_from_a_configured_proxy_and_only_its_own_hops():
    # addresses as strings only: nothing is contacted
    proxies = proxy_networks("10.0.0.0/8, 192.0.2.1")
    proxied = {"client": ("10.0.0.5", 1), "headers": [(b"x-forwarded-for", b"8.8.4.4, 10.0.0.5")]}
    assert client_address(proxied, proxies) == "8.8.4.4"
    assert client_address(proxied) == "10.0.0.5"  # no proxy configured: the peer itself
    direct = {"client": ("8.8.8.8", 1), "headers": [(b"x-forwarded-for", b"1.2.3.4")]}
    assert client_address(direct, proxies) == "8.8.8.8"  # a header set by the caller itself proves nothing
    loopback = {"client": ("127.0.0.1", 1), "headers": [(b"x-forwarded-for", b"1.2.3.4")]}
    assert client_address(loopback, proxies) == "127.0.0.1"  # loopback is no proxy unless configured
    # behind an appending proxy the caller's own words come first: the hop the proxy added is taken
    forged = {"client": ("192.0.2.1", 1), "headers": [(b"x-forwarded-for", b"6.6.6.6, 10.1.1.1, 203.0.113.50")]}
    assert client_address(forged, proxies) == "203.0.113.50"
    chain = {
        "client": ("10.0.0.5", 1),
        "headers": [(b"x-forwarded-for", b"9.9.9.9"), (b"x-forwarded-for", b"10.2.2.2")],
    }
    assert client_address(chain, proxies) == "9.9.9.9"  # trusted hops skipped from the right
    with pytest.raises(ValueError, match="not an address"):
        proxy_networks("10.0.0.0/8, proxy.example")


def test_rotating_forwarded_headers_from_an_untrusted_peer_get_the_same_refusals():
    client = TestClient(_app(GuardPolicy(calls_per_minute=3)), client=("127.0.0.1", 1))
    codes = [
        client.post("/gradio_api/call/restore", json={"data": []}, headers={"X-Forwarded-For": f"198.51.100.{i}"})
        for i in range(6)
    ]
    assert [c.status_code for c in codes] == [200, 200, 200, 429, 429, 429]


@pytest.mark.parametrize("free, status", [(10**6, 507), (10**10, 200)])
def test_uploads_are_refused_in_one_line_while_the_disk_is_full(free, status):
    client = TestClient(_app(GuardPolicy(min_free_bytes=10**8), free_bytes=lambda: free))
    response = client.post("/gradio_api/upload", files={"files": ("a.png", b"x")})
    assert response.status_code == status
    if status == 507:
        assert response.json() == {"error": "The server is out of disk space; please try again in a few minutes."}


def test_the_pages_instant_events_have_their_own_share():
    client = TestClient(_app(GuardPolicy(calls_per_minute=1, instant_calls_per_minute=4)), client=("203.0.113.9", 1))
    assert [client.post(f"{INSTANT_ROUTES[0]}x", json={}).status_code for _ in range(5)] == [200] * 4 + [429]
    assert client.post(f"{QUEUED_ROUTES[1]}x", json={}).status_code == 200  # a job is still allowed
    assert client.post(f"{QUEUED_ROUTES[1]}x", json={}).status_code == 429
    assert "Too many requests" in client.post(f"{INSTANT_ROUTES[1]}x", json={}).json()["error"]  # /api/ alike


def test_every_post_body_is_capped_before_it_is_read():
    SEEN.clear()
    client = TestClient(_app(GuardPolicy(max_call_bytes=1000)))
    for path in ("/gradio_api/reset", "/gradio_api/call/restore", f"{INSTANT_ROUTES[1]}x"):
        refused = client.post(path, content=b"x" * 5000)
        assert refused.status_code == 413 and "too large" in refused.json()["error"], path
    # a body that does not declare its length is cut off at the cap as it streams in
    chunks = iter([b"x" * 600, b"x" * 600, b"x" * 10**6])
    assert client.post("/gradio_api/reset", content=chunks).status_code == 413
    assert SEEN == []
    assert client.post("/gradio_api/reset", content=b"{}").json()["bytes"] == 2  # a small one reaches the app


def test_uploads_have_their_own_share_and_the_disk_budget_is_checked_first():
    client = TestClient(_app(GuardPolicy(uploads_per_minute=2)), client=("203.0.113.4", 1))
    codes = [client.post("/gradio_api/upload", files={"files": ("a.png", b"x")}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    budget = []
    full = TestClient(_app(admit_upload=lambda size: budget.append(size) or False))
    refused = full.post("/gradio_api/upload", files={"files": ("a.png", b"x" * 100)})
    assert refused.status_code == 507 and "storage for uploads is full" in refused.json()["error"]
    assert budget and budget[0] > 100  # the upload's declared length, before it was read


def test_the_file_route_fetches_no_url():
    SEEN.clear()
    client = TestClient(_app())
    for target in ("http://8.8.8.8/x.png", "https://example.com/a.jpg", "//example.com/a.jpg", "HTTP%3A//x/y"):
        refused = client.get(f"/gradio_api/file={target}")
        assert refused.status_code == 404 and "fetches no URLs" in refused.json()["error"], target
    assert SEEN == []
    assert client.get("/gradio_api/file=/cache/abc/photo.png").status_code == 200  # its own files: Gradio decides


def test_an_mcp_tool_call_counts_against_its_caller_and_pays_for_its_loopback_job():
    client = TestClient(_app(GuardPolicy(calls_per_minute=1)), client=("203.0.113.20", 1))
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "restore", "arguments": {}}}
    assert client.post("/gradio_api/mcp/", json=call).status_code == 200
    assert client.post("/gradio_api/mcp/", json=call).status_code == 429  # the caller's share, not loopback's
    loopback = TestClient(client.app, client=("127.0.0.1", 1))
    mcp = {"x-gradio-user": "mcp"}
    assert loopback.post("/gradio_api/call/restore", json={"data": []}, headers=mcp).status_code == 200  # paid
    assert loopback.post("/gradio_api/call/restore", json={"data": []}, headers=mcp).status_code == 200  # own share
    assert loopback.post("/gradio_api/call/restore", json={"data": []}, headers=mcp).status_code == 429


def test_an_mcp_message_over_the_transports_limit_is_one_sentence():
    client = TestClient(_app(GuardPolicy(max_mcp_bytes=100_000)))
    refused = client.post("/gradio_api/mcp/", content=b"x" * 200_000, headers={"content-type": "application/json"})
    assert refused.status_code == 413
    message = refused.json()["error"]["message"]
    assert "at most 0.1 MB" in message and "send a smaller photo" in message and "\n" not in message


def test_links_to_the_servers_own_received_files_are_used_without_a_fetch():
    from gfpgan_core.web.guard import localize_own_files, refusal

    received = {"/cache/abc/example.jpg"}
    own = {"path": "https://app.example/gradio_api/file=/cache/abc/example.jpg", "meta": {"_type": "gradio.FileData"}}
    other = {"path": "https://app.example/gradio_api/file=/etc/passwd"}
    remote = {"url": "https://elsewhere.example/face.jpg", "path": "https://elsewhere.example/face.jpg"}
    data = {"data": [own, other, remote]}
    assert localize_own_files(data, received.__contains__)
    assert own["path"] == "/cache/abc/example.jpg" and own["url"] is None
    assert refusal(own, received.__contains__) is None
    assert "URLs are refused" in refusal(other, received.__contains__)  # not received: stays a refused link
    assert "URLs are refused" in refusal(remote, received.__contains__)
    assert not localize_own_files({"data": [dict(other)]}, received.__contains__)


def test_only_the_inputs_are_checked_not_the_event_data():
    """A gallery's select event echoes the chosen output's path in event_data; Gradio opens no file there."""
    client = TestClient(_app(is_received=lambda path: path == "/cache/upload.png"))
    output = {"path": "/cache/gfpgan-results/abc/face_01.jpg", "meta": {"_type": "gradio.FileData"}}
    select = {"data": [None], "event_data": {"index": 0, "value": {"image": output}}}
    assert client.post("/gradio_api/call/restore", json=select).status_code == 200
    assert client.post("/gradio_api/call/restore", json={"data": [output]}).status_code == 400


def test_a_refused_payload_costs_one_path_lookup_whatever_the_number_of_uploads(monkeypatch, tmp_path):
    """After 30,000 tiny uploads each refused payload walked them all with realpath on the event loop."""
    from gfpgan_core.web import components

    photo = components.PhotoInput(type="filepath")
    photo.uploads = {str(tmp_path / f"upload{i}" / "photo.png") for i in range(30_000)}
    calls = []
    real = components.os.path.realpath
    monkeypatch.setattr(components.os.path, "realpath", lambda p: calls.append(p) or real(p))
    assert not photo.received_by_gradio("/etc/passwd")
    assert photo.received_by_gradio(str(tmp_path / "upload7" / "photo.png"))
    assert photo.received_by_gradio(str(tmp_path / "upload7" / ".." / "upload7" / "photo.png"))  # another spelling
    assert len(calls) == 2


def test_a_call_written_before_an_optional_parameter_existed_gets_its_default():
    """An endpoint's trailing parameters a call leaves out get their defaults (by API name on /call/, by
    index on /queue/join); a required one left out is left for Gradio to refuse, and a full call passes as is."""
    from gfpgan_core.web.guard import REQUIRED

    received = []

    async def echo(request):
        received.append((await request.json())["data"])
        return JSONResponse({"event_id": "e"})

    routes = [Route(p, echo, methods=["POST"]) for p in ("/gradio_api/call/restore", "/gradio_api/queue/join")]
    defaults = {"restore": [REQUIRED, "PNG", 1.0], 3: [REQUIRED, "PNG", 1.0]}
    client = TestClient(PayloadGuard(Starlette(routes=routes), defaults=defaults))
    client.post("/gradio_api/call/restore", json={"data": ["a"]})
    client.post("/gradio_api/queue/join", json={"data": ["a", "JPEG"], "fn_index": 3, "session_hash": "s"})
    client.post("/gradio_api/queue/join", json={"data": ["a"], "fn_index": 4, "session_hash": "s"})  # not an endpoint
    client.post("/gradio_api/call/restore", json={"data": []})  # the photo is required
    client.post("/gradio_api/call/restore", json={"data": ["a", "WebP", 0.5]})
    assert received == [["a", "PNG", 1.0], ["a", "JPEG", 1.0], ["a"], [], ["a", "WebP", 0.5]]


def test_a_cancel_ends_exactly_its_event():
    """Gradio's /cancel is answered by the app's own end of one event (named by session and event id),
    never passed on (Gradio's cancels every running task of the session's function: the next run too)."""
    ended = []

    async def end(session, event_id):
        ended.append((session, event_id))

    routes = [Route("/gradio_api/cancel", lambda request: JSONResponse({"gradio": True}), methods=["POST"])]
    client = TestClient(PayloadGuard(Starlette(routes=routes), cancel=end))
    answer = client.post("/gradio_api/cancel", json={"session_hash": "s1", "fn_index": 3, "event_id": "e1"})
    assert answer.json() == {"success": True} and ended == [("s1", "e1")]
    for bad in ({"session_hash": "s1", "fn_index": 3}, {"session_hash": 1, "event_id": "e"}, [1]):
        refused = client.post("/gradio_api/cancel", json=bad)
        assert refused.status_code == 400 and "\n" not in refused.json()["error"]
    assert ended == [("s1", "e1")]
