"""The app as an MCP server (--mcp): restore is a tool an AI assistant can list and call over HTTP."""

import asyncio
import base64

import pytest

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


def test_restore_through_mcp_with_an_inline_image(mcp_url):
    data = base64.b64encode((REPO / "examples" / "astronaut_degraded.jpg").read_bytes()).decode()
    args = {"image_path": f"data:image/jpeg;base64,{data}", **ARGS, "detector": "yunet"}
    result = _session(mcp_url, lambda s: s.call_tool("restore", args))
    text = " ".join(getattr(c, "text", "") for c in result.content)
    assert not result.isError and "_restored.png" in text and "1 face found" in text


def test_urls_are_refused_and_never_fetched(mcp_url):
    with fetch_recorder() as (url, hits):
        args = {"image_path": url, **ARGS, "detector": "yunet"}
        with pytest.raises(Exception):  # noqa: B017 (the guard answers HTTP 400; clients raise their own kind)
            _session(mcp_url, lambda s: s.call_tool("restore", args))
        assert hits == []
