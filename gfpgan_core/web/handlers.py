"""The page's endpoints: ``/restore``, ``/restore_batch``, ``/compare``, ``/colorize``, ``/inpaint`` and
``/restore_video`` (queued, public), and the page's own instant events (private).

Each public endpoint is a plain function ``work(job, *inputs)`` wrapped once by :func:`endpoint`,
which owns what every endpoint shares: the visitor's session and Stop, the progress bar and time
limit (through the :class:`~gfpgan_core.web.jobs.Job`), error mapping, the disk sweep, and the
result's values in the output order. Gradio reads each endpoint's signature for its API: the
parameter names are the API's, and the page's components are looked up by them (events.py).
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import MISSING, fields
from typing import Any

import gradio as gr

from ..archs.registry import default_weights_in_words
from ..errors import GFPGANError
from ..expressions import EXPRESSIONS
from ..options import CALIBRATED_IN_WORDS
from . import text
from .clips import clip_estimate, face_options, restore_clip
from .components import user_error
from .jobs import (
    Context,
    ExampleResults,
    Job,
    PageOptions,
    RequestStopped,
    compare_models,
    estimate,
    is_estimate,
    restore_options,
    restore_photo,
    restore_photos,
    run_task,
)
from .outputs import (
    BatchResult,
    CompareResult,
    PageResult,
    TaskResult,
    VideoPageResult,
    cleared,
    values,
    write_summary,
)
from .settings import DEFAULTS
from .text import status_line, weight_info

log = logging.getLogger(__name__)
EndpointResult = PageResult | BatchResult | CompareResult | TaskResult | VideoPageResult
Work = Callable[..., EndpointResult]
Gather = Callable[[dict[str, Any]], dict[str, Any]]


def spread_options(fn: Callable[..., Any], skip: int = 0) -> tuple[list[inspect.Parameter], Gather]:
    """``fn``'s parameters after the first ``skip``, its ``options`` parameter (a :class:`PageOptions`)
    spread into one parameter per field; and the function that gathers those fields back into one
    ``PageOptions``. The API's parameters are declared once, by PageOptions' fields."""
    parameters = list(inspect.signature(fn).parameters.values())[skip:]
    if "options" not in (p.name for p in parameters):
        return parameters, lambda arguments: arguments
    names = [f.name for f in fields(PageOptions)]
    spread = [
        inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=f.default, annotation=f.type)
        if f.default is not MISSING
        else inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=f.type)
        for f in fields(PageOptions)
    ]
    at = [p.name for p in parameters].index("options")
    parameters = parameters[:at] + spread + parameters[at + 1 :]

    def gather(arguments: dict[str, Any]) -> dict[str, Any]:
        options = PageOptions(**{name: arguments.pop(name) for name in names})
        return {**arguments, "options": options}

    return parameters, gather


def with_options_spread(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(..., options: PageOptions)`` as a function of the options' fields (for the page's events)."""
    parameters, gather = spread_options(fn)
    signature = inspect.Signature(parameters)

    def spread(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        try:
            arguments = gather(dict(bound.arguments))
        except GFPGANError as exc:  # options a raw call sent (the page sends valid ones): one line
            raise user_error(str(exc)) from None
        return fn(**arguments)

    spread.__name__ = spread.__qualname__ = fn.__name__
    spread.__doc__ = fn.__doc__
    spread.__signature__ = signature  # type: ignore[attr-defined]
    return spread


def endpoint(context: Context, work: Work) -> Callable[..., tuple]:
    """``work(job, *inputs)`` as a Gradio endpoint: ``(*inputs, request, progress) -> outputs``.

    Its API signature is ``work``'s without the job, its ``options`` spread into their fields (Gradio
    adds the request and the progress bar); its docstring is ``work``'s with the server's values.
    """
    inputs, gather = spread_options(work, skip=1)
    special = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=gr.Request),
        inspect.Parameter("progress", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=gr.Progress()),
    ]
    signature = inspect.Signature([*inputs, *special])

    def handler(*args: Any, **kwargs: Any) -> tuple:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        request, progress = arguments.pop("request"), arguments.pop("progress")
        session = getattr(request, "session_hash", None)
        token = context.stops.start(session, work.__name__)  # a Stop before this: not it
        context.running.start(token, time.perf_counter())

        def bar(fraction: float, *args: Any, **kwargs: Any) -> None:  # the queue's estimates read its pace
            context.running.advance(token, fraction)
            progress(fraction, *args, **kwargs)

        job = Job(context, session, bar, token=token)
        job.queued_s = context.queued_s(session) if context.queued_s else 0.0
        try:
            return values(work(job, **gather(arguments)))
        except RequestStopped as exc:
            log.info(f"a {work.__name__} was stopped by its visitor")
            raise user_error(str(exc)) from None
        except GFPGANError as exc:
            raise user_error(str(exc)) from None
        finally:
            context.stops.finish(job.token)
            context.running.finish(job.token)
            if context.budget:
                context.budget.sweep()  # results just written are recent, so protected until fetched

    handler.__name__ = handler.__qualname__ = work.__name__
    handler.__module__ = work.__module__
    limits = context.limits
    handler.__doc__ = (work.__doc__ or "").format(
        calibrated=CALIBRATED_IN_WORDS,
        max_rescale=limits.max_rescale,
        default_weights=default_weights_in_words(),
        max_video_seconds=limits.max_video_seconds,
        max_video_frame=f"{limits.max_video_pixels / 1e6:.1f} MP ({limits.max_video_frames} frames at most)",
    )
    handler.__signature__ = signature  # type: ignore[attr-defined]
    handler.__annotations__ = {"request": gr.Request}
    return handler


def restore(job: Job, image_path: str | None, options: PageOptions) -> PageResult:
    """Restore the faces in a photo with GFPGAN (blind face restoration) and upscale the rest of it.

    Args:
        image_path: the photo: a file uploaded to this app (or, through MCP, a data: URL of the image).
        model_key: the restorer to use, one of the model names the app lists (e.g. "v1.4").
        rescale: how much larger the output is than the photo, from 1 to {max_rescale:g}.
        weight: fidelity weight: 0 keeps each input face as it was, 1 applies the full restoration;
            null takes the model's own default, as its authors run it ({default_weights}).
        only_center_face: restore only the face nearest the centre of the photo.
        background: upscale the background with Real-ESRGAN when available (else Lanczos).
        detector: face detector: "auto", "retinaface" or "yunet".
        threshold: detection sensitivity: faces scoring at least this are restored (lower finds more);
            null takes the detector's calibrated value ({calibrated}).
        aligned: the photo is a single face already cropped and aligned like FFHQ (no detection).
        output_format: the restored image's file format: "PNG" (lossless), "JPEG" or "WebP".
        quality: JPEG and WebP quality, 1 to 100.
        expressions: also read each face's expression (angry, disgust, fear, happy, sad, surprise,
            neutral) on the input and on the restored face.
        blend: how much of each restored face replaces the original in the photo, 0 to 1 (0: the photo
            unchanged, 1: the restored faces whole), apart from the model's fidelity weight.

    Returns:
        The restored image (full resolution, named after the photo), a gallery of input | restored face
        pairs with captions, a one-line summary (faces, time, device, model, size), a before/after pair of
        previews, a ZIP of the face crops (none when no face was restored) and, with expressions, a
        record per face (top class and probabilities before and after; else null).
    """
    job.context.running.expect(job.token, image_path, job.context.costs)  # for the queue's estimates
    page, result, restorer = restore_photo(
        job.context,
        image_path,
        options.model_key,
        options.restore_options(job.context.limits),
        options.detector,
        job.reporter(),
        options.output_format,
        options.quality,
    )
    page.summary = write_summary(result, restorer, seconds=job.waited(), queued_s=job.queued_s)  # the whole wait
    return page


def restore_batch(job: Job, files: Sequence[str] | None, options: PageOptions) -> BatchResult:
    """Restore several photos in turn (image files, or ZIP archives of images), with the same options as
    /restore; one photo that fails is reported and the others go on.

    Returns:
        A ZIP of the restored photos (with expressions.csv when expressions were asked for; none when no
        photo could be restored) and a summary with a line per photo (faces, time, or why not restored).
    """
    restore = options.restore_options(job.context.limits)
    return restore_photos(
        job, files or [], options.model_key, restore, options.detector, options.output_format, options.quality
    )


def compare(
    job: Job,
    image_path: str | None,
    model_keys: Sequence[str] | None,
    weight: float | None = None,
    only_center_face: bool = DEFAULTS.only_center_face,
    detector: str = "auto",
    threshold: float | None = None,
    aligned: bool = DEFAULTS.aligned,
) -> CompareResult:
    """Restore the faces of one photo with two to four models, side by side.

    Args:
        image_path: the photo, a file uploaded to this app.
        model_keys: the models to compare (two to four of the names the app lists).
        weight: fidelity weight for every model (0 keeps the input face, 1 is full restoration); null:
            each model's own default.
        only_center_face: compare only the face nearest the centre.
        detector: face detector: "auto", "retinaface" or "yunet".
        threshold: detection threshold (null: the detector's calibrated value).
        aligned: the photo is one aligned face crop.

    Returns:
        A gallery with one strip per face (input | each model's restoration) and a summary with each
        model's time.
    """
    # faces only: no upscaling and no background work, which the models do not change
    options = restore_options(job.context.limits, 1, weight, only_center_face, False, threshold, aligned)
    return compare_models(job, image_path, model_keys, options, detector)


def colorize(job: Job, face: str | None) -> TaskResult:
    """Colourise a grey face, cropped and aligned like FFHQ, with CodeFormer's colourisation checkpoint
    as its authors' script runs it.

    Args:
        face: the face, a file uploaded to this app (512 x 512, the model's size; others are resized).

    Returns:
        The colourised face (PNG) and a one-line summary.
    """
    return run_task(job, face, "colorize")


def inpaint(job: Job, face: str | None) -> TaskResult:
    """Fill the region of an aligned face that is painted pure white (255, 255, 255), with CodeFormer's
    inpainting checkpoint as its authors' script runs it: only the white pixels change.

    Args:
        face: the face with the region to fill painted white, a file uploaded to this app (512 x 512).

    Returns:
        The filled face (PNG) and a one-line summary.
    """
    return run_task(job, face, "inpaint")


def restore_video(
    job: Job,
    video_path: str | None,
    model_key: str | None,
    weight: float | None = None,
    only_center_face: bool = DEFAULTS.only_center_face,
    detector: str = "auto",
    threshold: float | None = None,
    steady: bool = True,
) -> VideoPageResult:
    """Restore the faces of a short video clip frame by frame, its sound and timing kept.

    Args:
        video_path: the clip (MP4, MOV, MKV, WebM, ...), a file uploaded to this app; this server restores
            its first {max_video_seconds:g} s, frames up to {max_video_frame}.
        model_key: the restorer to use, one of the model names the app lists (e.g. "v1.4").
        weight: fidelity weight: 0 keeps each input face as it was, 1 applies the full restoration;
            null takes the model's own default ({default_weights}).
        only_center_face: restore only the face nearest the centre of each frame.
        detector: face detector: "auto", "retinaface" or "yunet".
        threshold: detection threshold (null: the detector's calibrated value, {calibrated}).
        steady: follow each face from frame to frame and smooth its landmarks (steadier faces); false
            finds the faces of each frame anew.

    Returns:
        The restored clip (MP4, H.264, at the clip's own size, its sound kept) to play, the same file to
        download, and a summary (frames, faces, time, what this server's caps left out).
    """
    options = face_options(job.context.limits, weight, only_center_face, threshold)
    return restore_clip(job, video_path, model_key, options, detector, steady)


class PageEvents:
    """The page's own instant events (private: not part of the API, never queued)."""

    def __init__(self, context: Context, examples: ExampleResults) -> None:
        self.context = context
        self.examples = examples

    def expect(self, image_path: str | None, options: PageOptions) -> tuple:
        """A new photo: clear the last result and say what to expect (the faces the run will restore, with
        the same options, and the wait once known); an example shows its result made in advance."""
        page = self.examples.get(image_path)
        if page is not None:
            return values(page)
        try:
            restore = options.restore_options(self.context.limits)
        except GFPGANError:
            return cleared()
        return cleared(estimate(self.context, image_path, options.model_key, restore, options.detector))

    def expect_video(
        self,
        video_path: str | None,
        model_key: str | None,
        weight: float | None = None,
        only_center_face: bool = DEFAULTS.only_center_face,
        detector: str = "auto",
        threshold: float | None = None,
    ) -> tuple:
        """A new clip: clear the last result and say what to expect (its length and size, what the caps
        leave out, its first frame's faces and, once measured, the wait)."""
        try:
            options = face_options(self.context.limits, weight, only_center_face, threshold)
        except GFPGANError:
            return None, None, ""
        return None, None, clip_estimate(self.context, video_path, model_key, options, detector)

    def recount(self, summary: str | None, image_path: str | None, options: PageOptions) -> str | dict:
        """New options before a run (threshold, detector, centre face only, size): the photo's estimate
        said again with them, so the count the visitor reads is the count the run will give. A result
        on the page keeps its own summary (its count was made with the options it ran with)."""
        if not image_path or (summary and not is_estimate(summary)):
            return gr.update()
        try:
            restore = options.restore_options(self.context.limits)
        except GFPGANError:
            return gr.update()
        return estimate(self.context, image_path, options.model_key, restore, options.detector)

    def calibrated(self, detector: str) -> float | dict:
        """A new detector: the threshold slider moves to its calibrated value (unchanged if it can't load)."""
        try:
            return self.context.service.detection_threshold(detector)
        except GFPGANError:
            return gr.update()

    def model_chosen(self, key: str | None) -> tuple[str, dict]:
        """A model chosen (or the page loaded with its default): the status line says so and the weight
        slider moves to the model's own default, saying why (unchanged for a name the server lacks)."""
        service = self.context.service
        line = f"Model selected: **{key}**." if key else ""
        if key and key in service.restorer_names() and not service.is_available(key) and service.can_run(key):
            line = f"Model selected: **{key}**; its weights are fetched on its first restoration (a minute or so)."
        try:
            default = self.context.service.default_weight(key or "")
        except GFPGANError:
            return line, gr.update()
        return line, gr.update(value=default, info=weight_info(key or "", default))

    def loaded(self) -> tuple[str, dict]:
        """The page opened: the status line, and the weight slider at the default model's own default."""
        key = self.context.service.default_model()[0]
        return self.status(), (self.model_chosen(key)[1] if key else gr.update())

    async def stop(
        self,
        summary: str,
        batch_summary: str,
        compare_summary: str,
        task_summary: str,
        video_summary: str,
        request: gr.Request,
    ) -> tuple:
        """Stop this visitor's jobs: those running end at their next step, those waiting in the queue
        are dropped. Each section whose summary says it runs says "Stopped." instead (a stopped batch
        once left its area blank); the others, and all of them when nothing ran, stay as they are.
        A running batch is the exception: it ends with its own table (what it did, and "stopped" for the
        rest), and a "Stopped." sent here could arrive after that table and hide it (CI, 2026-12-03)."""
        summaries = (summary, batch_summary, compare_summary, task_summary, video_summary)
        session = request.session_hash
        running = self.context.stops.ask(session)
        waiting = await self.context.drop_waiting(session) if session and self.context.drop_waiting else 0
        if running or waiting:
            log.info(f"a visitor pressed Stop: {len(running)} running and {waiting} waiting job(s) stopped")
        stopped = bool(running or waiting)
        says_itself = (False, restore_batch.__name__ in running, False, False, False)
        return tuple(
            text.STOPPED if stopped and said == text.RUNNING and not own else gr.update()
            for said, own in zip(summaries, says_itself, strict=True)
        )

    def status(self) -> str:
        """What the server knows now about its default model (per page load: a download tried at start may
        have failed since the page was built)."""
        return status_line(self.context.service)

    @staticmethod
    def face_expression(records, evt: gr.SelectData):
        """The selected face's expression, before and after, as bar charts (nothing without expressions)."""
        if not records or not isinstance(evt.index, int) or evt.index >= len(records):
            return None, None
        record = records[evt.index]
        return tuple({c: float(record[f"{when}_{c}"]) for c in EXPRESSIONS} for when in ("before", "after"))
