"""The page's wiring: which event runs which handler, with which components.

No list of components is written by hand: an endpoint's inputs are looked up by its parameter names
(handlers.py) and its outputs by its result's field names (outputs.py), so the API's order is the
handler's signature and the result's fields, whatever the page's layout.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import fields
from typing import Any

import gradio as gr

from . import handlers, text
from .handlers import PageEvents, endpoint, with_options_spread
from .jobs import Context, ExampleResults
from .layout import Page
from .outputs import BatchResult, CompareResult, PageResult, TaskResult, VideoPageResult, cleared
from .settings import RESTORE_QUEUE

SPECIAL = ("request", "progress", "evt")  # filled by Gradio, not by a component


def parameter_names(fn: Callable[..., Any]) -> list[str]:
    """The API parameters of a handler, in order (what Gradio fills itself left out)."""
    return [name for name in inspect.signature(fn).parameters if name not in SPECIAL]


def inputs_for(fn: Callable[..., Any], page: Page) -> list[gr.components.Component]:
    return [getattr(page.inputs, name) for name in parameter_names(fn)]


def outputs_for(result: type, page: Page) -> list[gr.components.Component]:
    return [getattr(page.outputs, f.name) for f in fields(result)]


def wire(page: Page, context: Context, examples: ExampleResults) -> None:
    """Attach every event of the page: the public endpoints (one queue, one worker between them) and
    the page's private instant events."""
    events = PageEvents(context, examples)
    restore = endpoint(context, handlers.restore)
    restore_batch = endpoint(context, handlers.restore_batch)
    compare = endpoint(context, handlers.compare)
    results = outputs_for(PageResult, page)
    batch_results = outputs_for(BatchResult, page)
    compare_results = outputs_for(CompareResult, page)
    private: dict[str, Any] = {"api_visibility": "private", "queue": False}
    with page.blocks:
        # a new photo or a new run never sits beside the previous photo's result (or an error)
        expect = with_options_spread(events.expect)
        page.inputs.image_path.change(expect, inputs=inputs_for(expect, page), outputs=results, **private).then(
            None, js=text.SHOW_RESULT_OF_EXAMPLE, **private
        )
        stops = [page.stop_button, page.video_stop_button]  # the photo's and the video's: either stops both
        running = text.RUNNING

        def starting(clear: Callable[[], tuple], outputs: list) -> dict[str, Any]:
            """A run's first step: its outputs cleared, its summary saying it runs, and Stop enabled (it is
            disabled when nothing runs)."""
            on = gr.update(interactive=True)
            return {"fn": lambda: (*clear(), on, on), "outputs": [*outputs, *stops], **private}

        restoring = page.restore_button.click(**starting(lambda: cleared(running), results)).then(
            restore, inputs=inputs_for(restore, page), outputs=results, api_name="restore", concurrency_id=RESTORE_QUEUE
        )
        batch = page.batch_button.click(**starting(lambda: (None, running), batch_results)).then(
            restore_batch,
            inputs=inputs_for(restore_batch, page),
            outputs=batch_results,
            api_name="restore_batch",
            concurrency_id=RESTORE_QUEUE,  # one queue and one worker for single photos, batches and comparisons
        )
        comparing = page.compare_button.click(**starting(lambda: ([], running), compare_results)).then(
            compare,
            inputs=inputs_for(compare, page),
            outputs=compare_results,
            api_name="compare",
            concurrency_id=RESTORE_QUEUE,
        )
        task_results = outputs_for(TaskResult, page)
        tasks = []
        for button, work in ((page.colorize_button, handlers.colorize), (page.inpaint_button, handlers.inpaint)):
            run = endpoint(context, work)
            tasks.append(
                button.click(**starting(lambda: (None, running), task_results)).then(
                    run,
                    inputs=inputs_for(run, page),
                    outputs=task_results,
                    api_name=work.__name__,
                    concurrency_id=RESTORE_QUEUE,
                )
            )
        video_results = outputs_for(VideoPageResult, page)
        restore_video = endpoint(context, handlers.restore_video)
        # not an MCP tool (Gradio lists a function whose _mcp_type is not "tool" as none): a clip travels
        # inline as base64 there, within the 4 MiB the transport reads, and an assistant cannot play one
        restore_video._mcp_type = "video: HTTP API only"  # type: ignore[attr-defined]
        expect_video = events.expect_video
        page.inputs.video_path.change(
            expect_video, inputs=inputs_for(expect_video, page), outputs=video_results, **private
        )
        video = page.video_button.click(**starting(lambda: (None, None, running), video_results)).then(
            restore_video,
            inputs=inputs_for(restore_video, page),
            outputs=video_results,
            api_name="restore_video",
            concurrency_id=RESTORE_QUEUE,
        )
        # a phone shows the result below the options, a screen or more under the button: the page goes
        # to it when a restoration or an example's result arrives (not where the result is in view)
        restoring.then(None, js=text.SHOW_RESULT, **private)
        out = page.outputs
        # stop()'s order
        summaries = [out.summary, out.batch_summary, out.compare_summary, out.task_summary, out.video_summary]
        runs = [restoring, batch, comparing, *tasks, video]
        run_summaries = [*summaries[:3], *[out.task_summary] * len(tasks), out.video_summary]
        off = gr.update(interactive=False)
        for run_event, summary in zip(runs, run_summaries, strict=True):
            # whatever way a run ends (done, failed, stopped), Stop is off again and no summary still
            # says it runs (a failure's reason is in its message)
            run_event.then(
                lambda said: (off, off, "" if said == running else gr.update()),
                inputs=summary,
                outputs=[*stops, summary],
                show_progress="hidden",  # the result just shown must not flash a loading overlay
                **private,
            )
        # a batch is not cancelled: Stop ends it between photos and it returns what it has done (the ZIP
        # of the photos restored, a line per photo); the others' results are dropped with their run
        cancelled = [run_event for run_event in runs if run_event is not batch]
        for stop in stops:
            stop.click(events.stop, inputs=summaries, outputs=summaries, cancels=cancelled, **private).then(
                lambda: (off, off), outputs=stops, **private
            )
        page.inputs.expressions.change(  # the expression charts appear only once asked for (the records'
            lambda on: gr.update(visible=on),  # raw JSON is the API's: the page never shows it)
            inputs=page.inputs.expressions,
            outputs=page.expression_row,
            **private,
        )
        page.outputs.gallery.select(
            events.face_expression,
            inputs=page.outputs.expressions,
            outputs=[page.expression_before, page.expression_after],
            **private,
        )
        # options that change what the run will find or make: the photo's estimate is said again with them
        recount = with_options_spread(events.recount)
        recount_inputs = [page.outputs.summary, *inputs_for(expect, page)]
        again = {"fn": recount, "inputs": recount_inputs, "outputs": page.outputs.summary, **private}
        page.inputs.detector.change(
            events.calibrated, inputs=page.inputs.detector, outputs=page.inputs.threshold, **private
        ).then(**again)
        # a slider's every step, by mouse or keyboard ("release" is the mouse's alone), but never a queue of
        # them: while one estimate is out, only the last step waits for its turn
        for changed in (page.inputs.threshold, page.inputs.rescale, page.inputs.only_center_face, page.inputs.aligned):
            changed.input(**again, trigger_mode="always_last")
        page.inputs.model_key.change(
            events.model_chosen, inputs=page.inputs.model_key, outputs=[page.status, page.inputs.weight], **private
        )
        page.blocks.load(events.loaded, outputs=[page.status, page.inputs.weight], **private)
