"""The endpoints' results as an MCP client should get them (``--mcp``).

Gradio's MCP server turns a result into text: a gallery became a dump of server paths, a file a link
to the loopback address the server called itself on. Here a result is what an assistant can use: the
restored photo (or, for a comparison, each strip) as image content, small enough for any client; the
summary as text; and for the full-resolution file or a ZIP a link on this server's public address.
Nothing else: no bare server path, no loopback link, no record dumps.

Gradio-free: the caller gives the MCP library's content types.
"""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

log = logging.getLogger(__name__)

IMAGE_SIDE = 1024  # the long side of an image sent inline: enough to see a face, a few hundred KB as JPEG
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


def _path(value: Any) -> str | None:
    """The server path of a file output (Gradio's FileData, or a gallery item holding one)."""
    if isinstance(value, dict):
        if isinstance(value.get("path"), str):
            return value["path"]
        if isinstance(value.get("image"), dict):
            return _path(value["image"])
    return None


def inline_image(path: str, side: int = IMAGE_SIDE) -> str | None:
    """A JPEG of the image at ``path``, its long side at most ``side``, as base64; None if unreadable."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (side, side))
            picture = img.convert("RGB")
            picture.thumbnail((side, side), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            picture.save(buffer, "JPEG", quality=90)
    except (OSError, ValueError):
        log.warning(f"an MCP result's image could not be read: {Path(path).name}")
        return None
    return base64.b64encode(buffer.getvalue()).decode()


def link(path: str, public_url: str) -> str:
    """This server's public link to a file it wrote (Gradio's file route)."""
    return f"{public_url.rstrip('/')}/gradio_api/file={path}"


def tool_results(
    outputs: list[Any], public_url: str, text: Callable[[str], Any], image: Callable[[str], Any]
) -> list[Any]:
    """An endpoint's outputs as MCP content: ``text(str)`` and ``image(base64 JPEG)`` build the
    library's content objects.

    The images: every top-level image output's (the restored photo; its full resolution as a link),
    or, when there is none, a gallery's (a comparison's strips). Files that are not images (a ZIP) are
    links; strings (the summary) are text; anything else (previews, face pairs, expression records) is
    left out: the photo and the summary carry it.
    """
    if len(outputs) == 1 and isinstance(outputs[0], tuple):  # gradio_client's result of several outputs
        outputs = list(outputs[0])
    content: list[Any] = []
    top_images = [p for p in map(_path, outputs) if p and p.lower().endswith(IMAGE_SUFFIXES)]
    for output in outputs:
        path = _path(output)
        if path in top_images:
            data = inline_image(path)
            if data is not None:
                content.append(image(data))
            content.append(text(f"Full resolution: {link(path, public_url)}"))
        elif path:
            content.append(text(f"Download {Path(path).name}: {link(path, public_url)}"))
        elif isinstance(output, str) and output:
            content.append(text(output))
        elif isinstance(output, list) and not top_images:
            for item in output:
                item_path = _path(item)
                data = inline_image(item_path) if item_path else None
                if data is not None:
                    content.append(image(data))
    return content
