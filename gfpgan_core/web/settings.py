"""Every number and path the app is configured by, written once: the per-request limits (with the
environment variable that overrides each), the page's ranges, and where the app keeps its files.
Widgets, docstrings, validation, the MCP cap and the docs read them here. Gradio-free."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..options import RestoreOptions

DEFAULTS = RestoreOptions()
# The MCP library's streamable HTTP transport reads at most 4 MiB a message (mcp.server.streamable_http)
MCP_TRANSPORT_BYTES = 4 * 1024 * 1024
REPO = Path(__file__).resolve().parents[2]  # the checkout app.py lives in (its examples/)


def app_data_dir() -> Path:
    """The app's own folder for uploads and results: ``$GFPGAN_DATA_DIR``, else
    ``~/.cache/gfpgan_core/app`` (``$XDG_CACHE_HOME`` honoured)."""
    chosen = os.environ.get("GFPGAN_DATA_DIR")
    if chosen:
        return Path(chosen)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gfpgan_core" / "app"


def prepare_environment() -> None:
    """Gradio's settings that must be in place before it is imported: no analytics, and a cache of the
    app's own unless the operator gave one (``GRADIO_TEMP_DIR``). Gradio's default, ``/tmp/gradio``,
    is shared by every Gradio program and gradio_client on the machine."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # a real path: the paths Gradio records are then real, and a received file is found by one lookup
    os.environ["GRADIO_TEMP_DIR"] = os.path.realpath(os.environ.get("GRADIO_TEMP_DIR") or app_data_dir() / "gradio")


def _env(name: str) -> dict[str, str]:
    return {"env": name}


@dataclass(frozen=True)
class Limits:
    """What one request may cost. Each field's environment variable (its ``env`` metadata) overrides
    it; :meth:`from_env` reads them, and :meth:`environment` lists them for the docs."""

    max_file_size: str = field(default="25mb", metadata=_env("GFPGAN_MAX_FILE_SIZE"))
    # larger images are downscaled (JPEGs decode at reduced size)
    max_input_pixels: int = field(default=16_000_000, metadata=_env("GFPGAN_MAX_PIXELS"))
    # larger PNG/WebP/TIFF images are refused before decoding
    max_decode_pixels: int = field(default=32_000_000, metadata=_env("GFPGAN_MAX_DECODE_PIXELS"))
    max_output_pixels: int = field(default=40_000_000, metadata=_env("GFPGAN_MAX_OUTPUT_PIXELS"))
    max_faces: int = field(default=40, metadata=_env("GFPGAN_MAX_FACES"))
    max_rescale: float = field(default=4, metadata=_env("GFPGAN_MAX_RESCALE"))  # the engine allows 8
    timeout_s: int = field(default=300, metadata=_env("GFPGAN_TIMEOUT"))
    queue_size: int = field(default=16, metadata=_env("GFPGAN_QUEUE_SIZE"))
    # the before/after slider shows at most this; the download is full size
    preview_side: int = field(default=1600, metadata=_env("GFPGAN_PREVIEW_SIDE"))
    # uploads and results are deleted after this (Gradio's timer, and the disk budget's)
    keep_outputs_s: int = field(default=600, metadata=_env("GFPGAN_KEEP_OUTPUTS_S"))
    # and the oldest first whenever they hold more than this
    disk_budget_mb: int = field(default=1000, metadata=_env("GFPGAN_DISK_BUDGET_MB"))
    # per client address: one visitor's share of the queue
    calls_per_minute: int = field(default=6, metadata=_env("GFPGAN_CALLS_PER_MINUTE"))
    # the page's instant events (the face count before a run decodes and detects; the status line, ...)
    instant_calls_per_minute: int = field(default=120, metadata=_env("GFPGAN_INSTANT_CALLS_PER_MINUTE"))
    uploads_per_minute: int = field(default=30, metadata=_env("GFPGAN_UPLOADS_PER_MINUTE"))
    # proxies whose X-Forwarded-For is believed (addresses or networks, commas between); "" believes
    # none off a Space, and the Space platform's private network on one (guard.SPACE_PROXIES)
    trusted_proxies: str = field(default="", metadata=_env("GFPGAN_TRUSTED_PROXIES"))
    max_batch_photos: int = field(default=10, metadata=_env("GFPGAN_MAX_BATCH_PHOTOS"))  # "several photos at once"
    # their time together (each photo still has ``timeout_s``)
    batch_timeout_s: int = field(default=600, metadata=_env("GFPGAN_BATCH_TIMEOUT"))
    # video clips: the seconds restored (a longer clip is cut there, and the result says so), the
    # largest frame (width x height; larger is refused before a frame is decoded: an 8K clip), the
    # frames at most, and the run's time (the result then ends where it got to). A 2-core CPU restored
    # 0.43 frames a second of a 480p clip with v1.4's network (README, 2026-12-07): 20 s at 25 fps is
    # 19 minutes there, so the time limit ends it first; a GPU does all of it
    max_video_seconds: float = field(default=20.0, metadata=_env("GFPGAN_VIDEO_MAX_SECONDS"))
    max_video_pixels: int = field(default=1920 * 1080, metadata=_env("GFPGAN_VIDEO_MAX_PIXELS"))
    max_video_frames: int = field(default=600, metadata=_env("GFPGAN_VIDEO_MAX_FRAMES"))
    video_timeout_s: int = field(default=900, metadata=_env("GFPGAN_VIDEO_TIMEOUT"))
    # an API job whose result nobody asks for within this is dropped from the queue
    claim_s: int = field(default=30, metadata=_env("GFPGAN_CLAIM_S"))

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, with every variable that is set and parses as the field's type."""
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = os.environ.get(f.metadata["env"])
            if raw is None:
                continue
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            try:
                values[f.name] = kind(raw)
            except ValueError:
                continue  # an unreadable value keeps the default
        return cls(**values)  # type: ignore[arg-type]

    @classmethod
    def environment(cls) -> dict[str, object]:
        """Environment variable -> default, for the docs."""
        return {f.metadata["env"]: f.default for f in fields(cls)}

    @property
    def max_upload_bytes(self) -> int:
        return parse_size(self.max_file_size)

    @property
    def max_mcp_bytes(self) -> int:
        """An MCP call carries its image inline as base64 (4/3 of the file), plus a little JSON; never
        more than the MCP transport itself reads."""
        return min(self.max_upload_bytes * 4 // 3 + 64 * 1024, MCP_TRANSPORT_BYTES)

    @property
    def keep_outputs_minutes(self) -> str:
        minutes = self.keep_outputs_s / 60
        return f"{minutes:g} minute{'s' if minutes != 1 else ''}"


def parse_size(text: str) -> int:
    """'25mb', '512 kb', '1gb', '1000' (bytes) -> bytes, as Gradio reads ``max_file_size``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*", text.lower())
    if not match:
        raise ValueError(f"not a size: {text!r}")
    scale = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3}[match.group(2) or "b"]
    return int(float(match.group(1)) * scale)


@dataclass(frozen=True)
class Range:
    """A slider's range and step."""

    low: float
    high: float
    step: float


RESCALE_STEP = 0.5
WEIGHT = Range(0, 1, 0.05)
BLEND = Range(0, 1, 0.05)
THRESHOLD = Range(0.1, 0.99, 0.01)
QUALITY = Range(1, 100, 1)
DEFAULT_QUALITY = 90  # JPEG and WebP downloads
FALLBACK_THRESHOLD = 0.35  # when no face scores the chosen threshold, the page looks once more at this
PREVIEW_QUALITY = 90  # previews and face pairs are JPEG: PNG level 6 of every pair took half the wait
OUTPUT_FORMATS = {"PNG": "png", "JPEG": "jpg", "WebP": "webp"}  # the download's format -> file suffix
MAX_COMPARED = 4  # models in one comparison: each one is a whole restoration
# the face count shown as a photo arrives: on a thumbnail this long at most (a photo up to 2048 px is
# seen whole), one at a time, and none after this long a wait (it runs outside the queue)
ESTIMATE_SIDE = 2048
ESTIMATE_CONCURRENCY = 1
ESTIMATE_WAIT_S = 10.0
RESTORE_QUEUE = "restore"  # the concurrency id of every run's endpoint: one queue, one worker between them
GRADIO_SWEEP_S = 60  # how often Gradio's timer deletes uploads and results older than keep_outputs_s
BUDGET_SWEEP_S = 30  # how often the disk budget sweeps on an idle server (it also sweeps after each request)
# names a photo arrives with when it has none of its own (clipboard, webcam, a JavaScript Blob)
NAMELESS = frozenset({"blob", "image", "file", "webcam", "clipboard", "upload", "photo"})
# public-domain pictures damaged on purpose by examples/make_examples.py, in the page's order
EXAMPLE_NAMES = (
    "damaged_old_photo.jpg",
    "group_composite.jpg",
    "astronaut_degraded.jpg",
    "grace_hopper_degraded.jpg",
    "grace_hopper_gray_degraded.jpg",
)


VIDEO_EXAMPLE_NAMES = ("grace_hopper_moving.mp4",)  # made by the same script


def video_example_paths() -> list[str]:
    """The Video section's examples that exist in this checkout."""
    return [str(REPO / "examples" / name) for name in VIDEO_EXAMPLE_NAMES if (REPO / "examples" / name).is_file()]


def example_paths() -> list[str]:
    """The page's examples that exist in this checkout, in order."""
    return [str(REPO / "examples" / name) for name in EXAMPLE_NAMES if (REPO / "examples" / name).is_file()]
