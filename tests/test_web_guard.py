"""The HTTP guard in front of the app, on a stand-in ASGI app: rate, client addresses, a full disk."""

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from gfpgan_core.web.guard import CallRate, PayloadGuard, client_address


def _app(**guard):
    async def ok(request):
        await request.body()
        return JSONResponse({"ok": True})

    inner = Starlette(
        routes=[
            Route("/gradio_api/call/restore", ok, methods=["POST"]),
            Route("/gradio_api/upload", ok, methods=["POST"]),
        ]
    )
    return PayloadGuard(inner, **guard)


def test_one_client_gets_only_its_share_of_the_queue():
    client = TestClient(_app(calls_per_minute=3), client=("203.0.113.7", 5000))
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


def test_forwarded_addresses_are_trusted_only_from_a_proxy():
    # addresses as strings only: nothing is contacted
    proxied = {"client": ("10.0.0.5", 1), "headers": [(b"x-forwarded-for", b"8.8.4.4, 10.0.0.5")]}
    direct = {"client": ("8.8.8.8", 1), "headers": [(b"x-forwarded-for", b"1.2.3.4")]}
    assert client_address(proxied) == "8.8.4.4"
    assert client_address(direct) == "8.8.8.8"  # a header set by the caller itself proves nothing


@pytest.mark.parametrize("free, status", [(10**6, 507), (10**10, 200)])
def test_uploads_are_refused_in_one_line_while_the_disk_is_full(free, status):
    client = TestClient(_app(free_bytes=lambda: free, min_free_bytes=10**8))
    response = client.post("/gradio_api/upload", files={"files": ("a.png", b"x")})
    assert response.status_code == status
    if status == 507:
        assert response.json() == {"error": "The server is out of disk space; please try again in a few minutes."}


def test_the_pages_instant_events_do_not_count_against_a_visitor():
    async def ok(request):
        await request.body()
        return JSONResponse({"ok": True})

    from gfpgan_core.web.guard import INSTANT_ROUTES, QUEUED_ROUTES

    routes = [Route(f"{p}x", ok, methods=["POST"]) for p in (*QUEUED_ROUTES, *INSTANT_ROUTES)]
    client = TestClient(PayloadGuard(Starlette(routes=routes), calls_per_minute=1), client=("203.0.113.9", 1))
    assert [client.post(f"{INSTANT_ROUTES[0]}x", json={}).status_code for _ in range(5)] == [200] * 5
    assert client.post(f"{QUEUED_ROUTES[1]}x", json={}).status_code == 200
    assert client.post(f"{QUEUED_ROUTES[1]}x", json={}).status_code == 429


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
