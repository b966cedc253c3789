"""The app as an MCP server (--mcp): restore is a tool an AI assistant can list and call over HTTP."""

import asyncio
import base64
import io
import json

import httpx
import pytest
from PIL import Image

from conftest import REPO, fetch_recorder, running_app

mcp = pytest.importorskip("mcp", reason="the MCP extra is not installed (pip install 'gradio[mcp]')")
from mcp.client.streamable_http import streamablehttp_client  # noqa: E402

ARGS = {"model_key": "custom", "rescale": 1, "weight": 1.0, "only_center_face": False, "background": False}


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory):
    with running_app(tmp_path_factory.mktemp("mcp"), "--mcp") as server:
        yield f"{server.url}gradio_api/mcp/"


def _session(url, work):
    async def run():
        async with streamablehttp_client(url) as (read, write, _), mcp.ClientSession(read, write) as session:
            await session.initialize()
            return await work(session)

    return asyncio.run(run())


def test_restore_is_listed_with_a_description_of_each_argument(mcp_url):
    tools = _session(mcp_url, lambda s: s.list_tools()).tools
    restore = next(t for t in tools if t.name == "restore")
    assert "Restore the faces" in restore.description
    properties = restore.inputSchema["properties"]
    for name in ("image_path", "model_key", "rescale", "weight", "only_center_face", "background", "detector"):
        assert properties[name].get("description"), name
    assert "custom" in properties["model_key"]["enum"]


def test_restore_through_mcp_returns_the_photo_as_an_image_and_no_server_path(mcp_url):
    data = base64.b64encode((REPO / "examples" / "astronaut_degraded.jpg").read_bytes()).decode()
    args = {"image_path": f"data:image/jpeg;base64,{data}", **ARGS, "detector": "yunet"}
    result = _session(mcp_url, lambda s: s.call_tool("restore", args))
    assert not result.isError, result.content
    images = [c for c in result.content if c.type == "image"]
    assert len(images) == 1 and images[0].mimeType == "image/jpeg"
    restored = Image.open(io.BytesIO(base64.b64decode(images[0].data)))
    assert restored.size == Image.open(REPO / "examples" / "astronaut_degraded.jpg").size  # rescale 1, under 1024
    texts = [c.text for c in result.content if c.type == "text"]
    assert any("1 face found" in t for t in texts), texts
    server = mcp_url.removesuffix("gradio_api/mcp/")
    links = [t for t in texts if "gradio_api/file=" in t]
    assert [t.split(":", 1)[0] for t in links] == ["Full resolution", "Download photo_faces.zip"], texts
    assert all(t.split(": ", 1)[1].startswith(f"{server}gradio_api/file=") for t in links)  # this server's links
    assert links[0].endswith("_restored.png")
    others = [t for t in texts if t not in links]
    assert not any("/tmp" in t or "gradio_api" in t for t in others)  # no server path beyond the links
    assert not any("{'path'" in t or '"path"' in t for t in texts)  # no dump of records


def test_a_photo_over_the_mcp_limit_gets_one_sentence(mcp_url):
    """The MCP library reads at most 4 MiB a message: a larger photo was a bare 413."""
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 7,
            "method": "tools/call",
            "params": {"name": "restore", "arguments": {"image_path": "data:image/png;base64," + "A" * 5_000_000}},
        }
    )
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    answer = httpx.post(mcp_url, content=body, headers=headers, timeout=30)
    assert answer.status_code == 413
    message = answer.json()["error"]["message"]
    assert "at most 4.2 MB" in message and "a photo of about 3.1 MB" in message and "\n" not in message


def test_urls_are_refused_and_never_fetched(mcp_url):
    with fetch_recorder() as (url, hits):
        args = {"image_path": url, **ARGS, "detector": "yunet"}
        with pytest.raises(Exception):  # noqa: B017 (the guard answers HTTP 400; clients raise their own kind)
            _session(mcp_url, lambda s: s.call_tool("restore", args))
        assert hits == []


def test_each_mcp_caller_has_its_own_share_and_its_restoration_is_not_counted_twice(tmp_path):
    """Gradio's MCP server restores through the queue over loopback: all MCP callers shared the
    loopback's share (one used six calls, the next got 429). Each caller is now counted by its own
    address, once per tool call (raw JSON-RPC over HTTP, the app's default share of 6 a minute)."""
    from appserver import client_at

    data = base64.b64encode((REPO / "examples" / "astronaut_degraded.jpg").read_bytes()).decode()
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "restore", "arguments": {"image_path": f"data:image/jpeg;base64,{data}", **ARGS}},
    }
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    env = {"GFPGAN_CACHE_EXAMPLES": "0", "GFPGAN_CALLS_PER_MINUTE": "6"}
    with running_app(tmp_path, "--mcp", env=env) as server:
        statuses = []
        for caller in [0] * 7 + [1]:
            with client_at(200 + caller, timeout=120) as client:
                answer = client.post(f"{server.url}gradio_api/mcp/", json=call, headers=headers)
                statuses.append((caller, answer.status_code, '"type":"image"' in answer.text))
    assert statuses == [(0, 200, True)] * 6 + [(0, 429, False), (1, 200, True)]
