"""The app's server: its arguments, the page built and wired, and the launch (queue, limits, guard,
disk budget, warm-up). ``python app.py`` calls :func:`main`."""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from ..arguments import ENVIRONMENT, add_model_source_args
from ..errors import GFPGANError
from ..service import ModelService
from .components import PhotoFiles, PhotoInput, VideoInput
from .diskbudget import DiskBudget
from .events import wire
from .guard import REQUIRED, PayloadGuard, guard_policy
from .jobs import Context, ExampleResults
from .layout import PageFacts, build_page
from .outputs import results_root
from .settings import BUDGET_SWEEP_S, EXAMPLE_NAMES, RESTORE_QUEUE, Limits, example_paths, video_example_paths
from .state import QueueLoad, zero_gpu_route
from .text import asset, css, status_line
from .theme import theme
from .tools import tool_results

log = logging.getLogger("gfpgan_app")
SERVER_ENVIRONMENT = {  # argument -> the variable that sets its default, beyond the model source's
    "host": "GRADIO_SERVER_NAME",
    "port": "GRADIO_SERVER_PORT",
    "mcp": "GFPGAN_MCP",
    "examples": "GFPGAN_CACHE_EXAMPLES",
}


def build_demo(context: Context, examples: ExampleResults | None = None) -> gr.Blocks:
    """The page for ``context``'s service, wired, its file inputs taking only what this server received."""
    examples = examples or ExampleResults()
    service = context.service
    facts = PageFacts(
        choices=service.choices(),
        default_model=service.default_model()[0],
        status=status_line(service),
        threshold=service.detection_threshold("auto"),
        detectors=service.detectors(),
        examples=example_paths(),
        video_examples=video_example_paths(),
    )
    page = build_page(context.limits, facts)
    photo = page.inputs.image_path
    photo.example_files = frozenset(photo.temp_files)  # the examples' copies in Gradio's cache
    # the batch's and the tasks' API examples are one of them too
    page.inputs.files.example_files = page.inputs.face.example_files = photo.example_files
    clip = page.inputs.video_path
    clip.example_files = frozenset(clip.temp_files)  # the example clip's copy
    examples.kept.update(photo.example_files | clip.example_files)
    photo.keep_in_cache = examples.kept  # type: ignore[assignment]  # Gradio only iterates it (skips these in its cleaning)
    # the set Gradio's upload route fills: the file inputs take only what is in it
    for received in (photo, page.inputs.files, page.inputs.face, clip):
        received.uploads = page.blocks.upload_file_set
    wire(page, context, examples)
    blocks = page.blocks
    context.drop_waiting = lambda session: drop_session_jobs(blocks, session)
    context.queue_load = lambda: queue_load(blocks)
    context.queued_s = lambda session: queued_seconds(blocks, session)
    return page.blocks


def endpoint_defaults(demo: gr.Blocks) -> dict[str | int, list[Any]]:
    """Each public endpoint's parameter defaults (guard.REQUIRED where it has none), by API name and by
    index, read from the signature Gradio made its API from (the request and progress are not inputs)."""
    found: dict[str | int, list[Any]] = {}
    for index, fn in demo.fns.items():
        if not isinstance(fn.api_name, str) or fn.fn is None or fn.api_visibility == "private":
            continue
        parameters = list(inspect.signature(fn.fn).parameters.values())[: len(fn.inputs)]
        defaults = [REQUIRED if p.default is inspect.Parameter.empty else p.default for p in parameters]
        found[fn.api_name] = found[index] = defaults
    return found


async def end_event(demo: gr.Blocks, session: str, event_id: str) -> None:
    """What the page's Stop asks Gradio for one event (its /cancel), without Gradio's side effects: a
    waiting event leaves the queue; the page is told the event is over; a running one is left to
    finish its current step (StopRequests ends it there, and the queue's slot stays taken until it has,
    so the next run never runs beside it). Reads Gradio 6.31's queue internals (requirements.txt pins it)."""
    from gradio.server_messages import ProcessCompletedMessage

    queue = demo._queue
    event = queue.event_ids_to_events.get(event_id)
    if event is not None and event.session_hash != session:
        return  # another visitor's event: nothing
    await queue.remove_from_queue(event_id)
    if session in queue.pending_messages_per_session and event_id in queue.pending_event_ids_session.get(session, {}):
        message = ProcessCompletedMessage(output={}, success=True, event_id=event_id)
        queue.pending_messages_per_session[session].put_nowait(message)


def queue_load(demo: gr.Blocks) -> QueueLoad:
    """The restorations' queue as a job joining it now meets it (Gradio's own estimate averages every
    run alike and says nothing before its first). Reads Gradio 6.31's queue internals (requirements.txt
    pins it); a queue not started yet is empty."""
    line = getattr(demo._queue, "event_queue_per_concurrency_id", {}).get(RESTORE_QUEUE)
    if line is None:
        return QueueLoad()
    return QueueLoad(len(line.queue), line.current_concurrency, line.concurrency_limit or 1)


def queued_seconds(demo: gr.Blocks, session: str | None) -> float:
    """How long ``session``'s job that has just started waited in the queue (0 when unknown): the
    summary gives the visitor's whole wait. Reads Gradio 6.31's queue internals (requirements.txt pins it)."""
    now = time.monotonic()
    started = [
        now - event.enqueue_time
        for events in list(demo._queue.active_jobs)
        for event in events or []
        if session is not None and event.session_hash == session and event.concurrency_id == RESTORE_QUEUE
    ]
    return min(started, default=0.0)  # the session's latest job: the one starting now


async def drop_session_jobs(demo: gr.Blocks, session: str) -> int:
    """Drop every job of ``session`` still waiting in Gradio's queue; how many. Reads Gradio 6.31's queue
    internals (requirements.txt pins it)."""
    queue = demo._queue
    waiting = [
        event._id
        for line in queue.event_queue_per_concurrency_id.values()
        for event in list(line.queue)
        if event.session_hash == session
    ]
    for event_id in waiting:
        await queue.remove_from_queue(event_id)
    return len(waiting)


async def drop_waiting_job(demo: gr.Blocks, event_id: str) -> bool:
    """Drop a job that is still waiting in Gradio's queue (one already running finishes); True if it was.
    Reads Gradio 6.31's queue internals (requirements.txt pins it)."""
    queue = demo._queue
    event = queue.event_ids_to_events.get(event_id)
    waiting = event is not None and event in queue.event_queue_per_concurrency_id[event.concurrency_id].queue
    if waiting:
        await queue.remove_from_queue(event_id)
    return waiting


def serve_tool_results(demo: gr.Blocks, url: str) -> None:
    """MCP tool results as tools.py makes them (an image and a summary), in place of Gradio's text
    dump. Replaces a method of Gradio 6.31's MCP server (requirements.txt pins it)."""
    server = demo.mcp_server_obj
    assert server is not None
    types = server.types

    def content(data: list, root_url: str) -> list:
        return tool_results(
            data,
            url,
            text=lambda line: types.TextContent(type="text", text=line),
            image=lambda jpeg: types.ImageContent(type="image", data=jpeg, mimeType="image/jpeg"),
        )

    server.postprocess_output_data = content  # type: ignore[method-assign]


def photo_input(demo: gr.Blocks) -> PhotoInput:
    """The page's photo input."""
    return next(b for b in demo.blocks.values() if isinstance(b, PhotoInput))


def file_inputs(demo: gr.Blocks) -> list[PhotoInput | PhotoFiles | VideoInput]:
    """The page's inputs that take files (the photo, the batch's files, the aligned face, the clip)."""
    return [b for b in demo.blocks.values() if isinstance(b, (PhotoInput, PhotoFiles, VideoInput))]


def received_by_the_page(demo: gr.Blocks) -> Callable[[str], bool]:
    """True for a file uploaded to this server or one of the page's examples (photos and clips)."""
    inputs = file_inputs(demo)
    return lambda path: any(received.received_by_gradio(path) for received in inputs)


def _flag(name: str, default: str) -> bool:
    return os.environ.get(name, default).lower() not in ("0", "false", "no", "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    on_space = bool(os.environ.get("SPACE_ID"))
    p = argparse.ArgumentParser(prog="python app.py", description="GFPGAN face restoration demo")
    env = SERVER_ENVIRONMENT
    p.add_argument("--host", default=os.environ.get(env["host"], "0.0.0.0" if on_space else "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(os.environ.get(env["port"], os.environ.get("PORT", 7860))))
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    add_model_source_args(p, model_path_help="a local checkpoint offered as 'custom'", from_environment=True)
    p.add_argument(
        "--concurrency", type=int, default=None, help="requests processed at once (default: 1 on CPU, 2 on GPU)"
    )
    p.add_argument("--no-warm-up", action="store_true", help="load the model on the first request instead of at start")
    p.add_argument(
        "--mcp",
        action="store_true",
        default=_flag(env["mcp"], ""),
        help="also serve restore as an MCP tool at /gradio_api/mcp/ (images as data: URLs; no URL is fetched)",
    )
    p.add_argument(
        "--no-examples",
        dest="examples",
        action="store_false",
        default=_flag(env["examples"], "1"),
        help="do not restore the page's examples in advance (they are, after the warm-up, by default)",
    )
    return p.parse_args(argv)


def public_url(args: argparse.Namespace) -> str:
    """Where API clients reach this server: GFPGAN_PUBLIC_URL, the Space's own address, or the local one."""
    if os.environ.get("GFPGAN_PUBLIC_URL"):
        return os.environ["GFPGAN_PUBLIC_URL"]
    if os.environ.get("SPACE_HOST"):
        return f"https://{os.environ['SPACE_HOST']}"
    host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host
    return f"http://{host}:{args.port}"


def environment_variables() -> dict[str, object]:
    """Every variable the app reads, with its default: for the docs (a test keeps them documented)."""
    variables: dict[str, object] = dict(Limits.environment())
    variables.update({name: None for name in ENVIRONMENT.values()})
    variables.update({name: None for name in SERVER_ENVIRONMENT.values()})
    read_elsewhere = ("GFPGAN_PUBLIC_URL", "GFPGAN_DATA_DIR", "GRADIO_TEMP_DIR", "GRADIO_ANALYTICS_ENABLED")
    set_by_the_platform = ("PORT", "SPACE_ID", "SPACE_HOST", "SYSTEM", "HF_HUB_OFFLINE", "XDG_CACHE_HOME")
    variables.update({name: None for name in (*read_elsewhere, *set_by_the_platform)})
    return variables


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up checks, one line each
    args = parse_args(argv)
    limits = Limits.from_env()
    try:
        service = ModelService(args.model_path, device=args.device, weights_dir=args.weights_dir, runtime=args.runtime)
        if args.model_path:  # a file given at start must work before the page announces it
            service.load("custom")
        gpu = zero_gpu_route(service)
        if gpu is not None:
            log.info("ZeroGPU: restorations run inside spaces.GPU")
    except GFPGANError as exc:
        raise SystemExit(f"error: {exc}") from None
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder())
    cache.mkdir(parents=True, exist_ok=True)
    log.info(f"uploads and results: {cache}")
    budget = DiskBudget(limits.disk_budget_mb * 1_000_000, limits.keep_outputs_s + 60, folders=[results_root()])
    context = Context(service, limits, budget, gpu=gpu)
    examples = ExampleResults()
    demo = build_demo(context, examples)
    # the app's other files: what Gradio recorded as uploaded to or copied for this app, never its whole cache
    budget.records = lambda: [path for files in demo.temp_file_sets for path in list(files)]
    photo = photo_input(demo)
    for received in file_inputs(demo):  # their API page examples link to this server's own files
        received.public_url = public_url(args)
    budget.keep = examples.kept  # the examples and their results are never deleted
    budget.sweep()  # what the app's files hold now: uploads are admitted against it
    budget.start(every_s=BUDGET_SWEEP_S)

    def warm_up() -> None:
        service.warm_up()
        if args.examples:
            in_order = sorted(photo.example_files, key=lambda p: EXAMPLE_NAMES.index(Path(p).name))
            examples.fill(context, in_order)

    if not args.no_warm_up:
        threading.Thread(target=warm_up, daemon=True).start()
    launch(demo, args, context, photo, cache)


def launch(demo: gr.Blocks, args: argparse.Namespace, context: Context, photo: PhotoInput, cache: Path) -> None:
    """Serve until stopped: the queue, the upload limit, the guard in front, and one line saying where
    (Gradio's own lines are hushed: its hint to pass ``share=True`` to ``launch()`` is not this app's way)."""
    limits = context.limits
    try:
        policy = guard_policy(limits)
    except ValueError as exc:
        raise SystemExit(f"error: GFPGAN_TRUSTED_PROXIES: {exc}") from None
    concurrency = args.concurrency or (2 if context.service.device.type == "cuda" else 1)
    # api_open=False: the endpoints' direct routes (/gradio_api/run/NAME, /gradio_api/api/NAME) run
    # nothing; every job goes through the queue (Gradio leaves them open unless it detects a Space)
    demo.queue(max_size=limits.queue_size, default_concurrency_limit=concurrency, api_open=False)
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        max_file_size=limits.max_file_size,
        # Gradio keeps a copy of the page's config per session (every API call is one) up to this many:
        # at its default of 10,000 the server grew about 15 MB per 100 requests; the page has no state
        state_session_capacity=256,
        show_error=True,
        css=css(),
        js=asset("page.js"),
        theme=theme(),
        footer_links=["api"],
        mcp_server=args.mcp,
        quiet=True,
        prevent_thread_lock=True,
        app_kwargs={
            "middleware": [
                Middleware(
                    PayloadGuard,
                    policy=policy,
                    is_received=received_by_the_page(demo),
                    free_bytes=lambda: shutil.disk_usage(cache).free,
                    admit_upload=context.budget.admit if context.budget else None,
                    drop_job=lambda event_id: drop_waiting_job(demo, event_id),
                    defaults=endpoint_defaults(demo),
                    cancel=lambda session, event_id: end_event(demo, session, event_id),
                )
            ]
        },
    )
    if demo.mcp_server_obj is not None:
        serve_tool_results(demo, public_url(args))
    shared = f"; public link: {demo.share_url}" if demo.share_url else " (a public link: --share)"
    log.info(f"Running on local URL:  {public_url(args)}{shared}")
    demo.block_thread()
