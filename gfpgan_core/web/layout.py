"""The page: its components laid out, and returned by name. No logic and no wiring (events.py).

Inputs are named as the endpoints' parameters and outputs as the result records' fields, so that the
wiring looks each one up by name: moving a widget on the page cannot change the API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import gradio as gr

from ..options import DETECTORS
from ..service import ModelChoice
from . import text
from .components import (
    Checkbox,
    CheckboxGroup,
    Dropdown,
    OptionalSlider,
    PhotoFiles,
    PhotoInput,
    Radio,
    Slider,
    VideoInput,
)
from .settings import (
    BLEND,
    DEFAULT_QUALITY,
    DEFAULTS,
    GRADIO_SWEEP_S,
    OUTPUT_FORMATS,
    QUALITY,
    RESCALE_STEP,
    THRESHOLD,
    WEIGHT,
    Limits,
)

T = TypeVar("T")


@dataclass
class ResultOutputs:
    """``/restore``'s outputs, each named as the PageResult field it shows (outputs.py)."""

    download: gr.File
    gallery: gr.Gallery
    summary: gr.Markdown
    before_after: gr.ImageSlider
    faces_zip: gr.File
    expressions: gr.JSON


@dataclass
class Outputs(ResultOutputs):
    """Every endpoint's outputs, each named as the result field it shows (outputs.py)."""

    photos_zip: gr.File
    batch_summary: gr.Markdown
    compare_gallery: gr.Gallery
    compare_summary: gr.Markdown
    task_image: gr.Image
    task_summary: gr.Markdown
    video: gr.Video
    video_download: gr.File
    video_summary: gr.Markdown


@dataclass
class Page:
    blocks: gr.Blocks
    inputs: Inputs
    outputs: Outputs
    status: gr.Markdown
    restore_button: gr.Button
    stop_button: gr.Button
    batch_button: gr.Button
    compare_button: gr.Button
    colorize_button: gr.Button
    inpaint_button: gr.Button
    video_button: gr.Button
    video_stop_button: gr.Button
    expression_row: gr.Row
    expression_before: gr.Label
    expression_after: gr.Label


@dataclass(frozen=True)
class PageFacts:
    """What the page shows of this server, read before it is built."""

    choices: list[ModelChoice]
    default_model: str | None
    status: str
    threshold: float  # the calibrated value of this server's "auto" detector
    examples: list[str]
    video_examples: list[str] = field(default_factory=list)
    detectors: list[str] = field(default_factory=lambda: list(DETECTORS))  # those that can run here


def build_page(limits: Limits, facts: PageFacts) -> Page:
    """Lay the page out; every component the wiring needs is returned by name."""
    can_run = facts.default_model is not None
    with gr.Blocks(
        title=text.TITLE, analytics_enabled=False, delete_cache=(GRADIO_SWEEP_S, limits.keep_outputs_s)
    ) as blocks:
        gr.Markdown(text.HEADER)
        status = gr.Markdown(facts.status, elem_id="model-status")
        with gr.Row():
            with gr.Column(scale=1):

                def actions() -> tuple[gr.Button, gr.Button]:
                    with gr.Row(elem_id="actions"):
                        restore = gr.Button(
                            "Restore" if can_run else "Restore (no model weights on this server: see above)",
                            variant="primary",
                            interactive=can_run,
                            elem_id="restore-button",
                            scale=3,
                        )
                        # enabled while a run of this page runs (events.py)
                        stop = gr.Button("Stop", variant="stop", interactive=False, elem_id="stop-button", scale=1)
                    return restore, stop

                photo, (restore_button, stop_button) = _photo_and_options(limits, facts, actions)
                with gr.Accordion("Several photos at once", open=False, elem_id="batch"):
                    files = PhotoFiles(
                        file_count="multiple",
                        file_types=["image", ".zip"],
                        label=text.batch_label(limits),
                        elem_id="batch-input",
                    )
                    batch_button = gr.Button("Restore all", elem_id="batch-button", interactive=can_run)
                    photos_zip = gr.File(label="Restored photos (ZIP)", elem_id="batch-download")
                    batch_summary = gr.Markdown(label="Batch summary", elem_id="batch-summary")
            with gr.Column(scale=2):
                result = _result()
        with gr.Accordion(text.VIDEO_TITLE, open=False, elem_id="video"):
            video = _video(limits, facts)
        with gr.Accordion("Compare models on this photo", open=False, elem_id="compare"):
            compare = _compare(facts)
        with gr.Accordion(text.TASKS_TITLE, open=False, elem_id="tasks"):
            tasks = _tasks()
        with gr.Accordion("About", open=False, elem_id="about"):
            gr.Markdown(text.about(limits))
    inputs = Inputs(
        files=files,
        model_keys=compare.model_keys,
        face=tasks.face,
        video_path=video.video_path,
        steady=video.steady,
        **vars(photo),
    )
    outputs = Outputs(
        photos_zip=photos_zip,
        batch_summary=batch_summary,
        compare_gallery=compare.gallery,
        compare_summary=compare.summary,
        task_image=tasks.image,
        task_summary=tasks.summary,
        video=video.result,
        video_download=video.download,
        video_summary=video.summary,
        **vars(result.outputs),
    )
    return Page(
        blocks=blocks,
        inputs=inputs,
        outputs=outputs,
        status=status,
        restore_button=restore_button,
        stop_button=stop_button,
        batch_button=batch_button,
        compare_button=compare.button,
        colorize_button=tasks.colorize_button,
        inpaint_button=tasks.inpaint_button,
        video_button=video.button,
        video_stop_button=video.stop_button,
        expression_row=result.expression_row,
        expression_before=result.expression_before,
        expression_after=result.expression_after,
    )


@dataclass
class _PhotoAndOptions:
    """The photo and every option of ``/restore`` (named as its parameters)."""

    image_path: PhotoInput
    model_key: Dropdown
    rescale: Slider
    weight: OptionalSlider
    only_center_face: Checkbox
    background: Checkbox
    detector: Radio
    threshold: OptionalSlider
    aligned: Checkbox
    output_format: Radio
    quality: Slider
    expressions: Checkbox
    blend: Slider


def _photo_and_options(limits: Limits, facts: PageFacts, actions: Callable[[], T]) -> tuple[_PhotoAndOptions, T]:
    """The photo, ``actions()`` right under it (the Restore and Stop buttons, where the eye is: at
    1366x900 the button sat below the first screen under the examples and options), the examples,
    then every option."""
    image_path = PhotoInput(
        type="filepath",
        image_mode=None,
        sources=["upload", "clipboard", "webcam"],
        label="Photo",
        elem_id="input-image",
    )
    made = actions()
    if facts.examples:  # right under the buttons, on a phone too; a click shows its result at once
        label = text.examples_label(facts.default_model is not None)
        gr.Examples(facts.examples, inputs=[image_path], label=label, elem_id="examples")
    # custom values reach the handler, which names the models it knows in one line
    # only what can run here is offered (its weights are on disk, or downloads are on)
    runnable = [c for c in facts.choices if c.can_run]
    model_key = Dropdown(
        choices=[(c.label, c.key) for c in runnable],
        value=facts.default_model,
        label="Model",
        info=text.models_not_offered(len(facts.choices) - len(runnable)),
        elem_id="model",
        allow_custom_value=True,
    )
    rescale = Slider(1, limits.max_rescale, value=DEFAULTS.upscale, step=RESCALE_STEP, label="Rescaling factor")
    # no value of its own: the page sets the chosen model's default as it loads (events.py), and the
    # API's default is null, the model's own
    weight = OptionalSlider(
        WEIGHT.low, WEIGHT.high, value=None, step=WEIGHT.step, label=text.WEIGHT_LABEL, elem_id="weight"
    )
    with gr.Accordion("Advanced", open=False):
        blend = Slider(
            BLEND.low, BLEND.high, value=DEFAULTS.blend, step=BLEND.step, label=text.BLEND_LABEL, elem_id="blend"
        )
        only_center_face = Checkbox(DEFAULTS.only_center_face, label="Only the centre face", elem_id="centre-face")
        aligned = Checkbox(
            DEFAULTS.aligned, label="The photo is one face, already cropped and aligned (as FFHQ, square)"
        )
        background = Checkbox(
            DEFAULTS.upsample_background, label="Upsample the background (Real-ESRGAN when available, else Lanczos)"
        )
        detector = Radio(facts.detectors, value="auto", label="Face detector")
        threshold = OptionalSlider(
            THRESHOLD.low,
            THRESHOLD.high,
            value=facts.threshold,
            step=THRESHOLD.step,
            label=text.THRESHOLD_LABEL,
            elem_id="threshold",
        )
        output_format = Radio(
            list(OUTPUT_FORMATS), value="PNG", label="Download format (PNG is lossless)", elem_id="format"
        )
        quality = Slider(
            QUALITY.low, QUALITY.high, value=DEFAULT_QUALITY, step=QUALITY.step, label="JPEG / WebP quality"
        )
        expressions = Checkbox(False, label=text.EXPRESSIONS_LABEL, elem_id="expressions")
    options = _PhotoAndOptions(
        image_path=image_path,
        model_key=model_key,
        rescale=rescale,
        weight=weight,
        only_center_face=only_center_face,
        background=background,
        detector=detector,
        threshold=threshold,
        aligned=aligned,
        output_format=output_format,
        quality=quality,
        expressions=expressions,
        blend=blend,
    )
    return options, made


@dataclass
class Inputs(_PhotoAndOptions):
    """The endpoints' inputs, each named as the API parameter it feeds."""

    files: PhotoFiles
    model_keys: CheckboxGroup
    face: PhotoInput
    video_path: VideoInput
    steady: Checkbox


@dataclass
class _Result:
    """``/restore``'s outputs and the selected face's expression."""

    outputs: ResultOutputs
    expression_row: gr.Row
    expression_before: gr.Label
    expression_after: gr.Label


def _result() -> _Result:
    summary = gr.Markdown(label="Summary", elem_id="summary")
    before_after = gr.ImageSlider(
        label="Before / after (a preview: the full image is the download below)",
        type="filepath",
        buttons=["fullscreen"],  # its own download would save the preview, not the result
        elem_id="slider",
    )
    gallery = gr.Gallery(
        label="Faces (input | restored)", columns=3, format="jpeg", object_fit="contain", preview=False, elem_id="faces"
    )
    download = gr.File(label="Restored image (full resolution)", elem_id="download")
    with gr.Row(visible=False) as expression_row:  # the face selected in the gallery
        expression_before = gr.Label(label="Expression before", num_top_classes=3, elem_id="expr-before")
        expression_after = gr.Label(label="Expression after", num_top_classes=3, elem_id="expr-after")
    faces_zip = gr.File(label="All face crops (ZIP)", elem_id="faces-zip")
    expressions = gr.JSON(label="Expressions per face (before and after)", elem_id="expressions-json", visible=False)
    outputs = ResultOutputs(
        download=download,
        gallery=gallery,
        summary=summary,
        before_after=before_after,
        faces_zip=faces_zip,
        expressions=expressions,
    )
    return _Result(
        outputs=outputs,
        expression_row=expression_row,
        expression_before=expression_before,
        expression_after=expression_after,
    )


@dataclass
class _Compare:
    model_keys: CheckboxGroup
    button: gr.Button
    gallery: gr.Gallery
    summary: gr.Markdown


@dataclass
class _Tasks:
    face: PhotoInput
    colorize_button: gr.Button
    inpaint_button: gr.Button
    image: gr.Image
    summary: gr.Markdown


def _tasks() -> _Tasks:
    """An aligned face colourised, or filled where it is painted pure white (CodeFormer's checkpoints)."""
    gr.Markdown(text.TASKS_HELP)
    with gr.Row():
        face = PhotoInput(
            type="filepath", image_mode=None, sources=["upload", "clipboard"], label="Aligned face", elem_id="task-face"
        )
        image = gr.Image(label="Result", type="filepath", format="png", interactive=False, elem_id="task-result")
    # the brush: in the browser only; what it paints reaches the face input as an ordinary upload
    gr.HTML(
        html_template=text.asset("painter.html"),
        css_template=text.asset("painter.css"),
        js_on_load=text.asset("painter.js"),
        elem_id="mask-painter",
    )
    with gr.Row():
        colorize_button = gr.Button("Colourise", elem_id="colorize-button")
        inpaint_button = gr.Button("Fill the white region", elem_id="inpaint-button")
    summary = gr.Markdown(label="Task summary", elem_id="task-summary")
    return _Tasks(face, colorize_button, inpaint_button, image, summary)


def _compare(facts: PageFacts) -> _Compare:
    runnable = [c for c in facts.choices if c.can_run]  # what cannot run here is not offered
    on_disk = [c.key for c in runnable if c.available]
    enough = len(runnable) >= 2
    with gr.Row():
        model_keys = CheckboxGroup(
            choices=[(c.label, c.key) for c in runnable],
            value=(on_disk or [c.key for c in runnable])[:2],
            label=text.COMPARE_LABEL,
            elem_id="compare-models",
            scale=3,
        )
        button = gr.Button(
            "Compare" if enough else "Compare (needs two models)",
            elem_id="compare-button",
            interactive=enough,
            scale=1,
        )
    # why the button is greyed out, before anyone presses it
    summary = gr.Markdown(
        "" if enough else text.compare_needs_two(len(runnable)), label="Comparison summary", elem_id="compare-summary"
    )
    gallery = gr.Gallery(
        label="Faces (input | each model)", columns=1, format="jpeg", object_fit="contain", elem_id="compare-faces"
    )
    return _Compare(model_keys, button, gallery, summary)


@dataclass
class _Video:
    video_path: VideoInput
    steady: Checkbox
    button: gr.Button
    stop_button: gr.Button
    result: gr.Video
    download: gr.File
    summary: gr.Markdown


def _video(limits: Limits, facts: PageFacts) -> _Video:
    """A clip in, its faces restored frame by frame out (the photo's model and face options apply)."""
    can_run = facts.default_model is not None
    gr.Markdown(text.video_help(limits))
    with gr.Row():
        with gr.Column():
            video_path = VideoInput(
                sources=["upload"],
                format=None,  # as received: no conversion (the engine reads what FFmpeg reads)
                include_audio=True,
                label=text.video_label(limits),
                elem_id="video-input",
            )
            if facts.video_examples:
                gr.Examples(
                    facts.video_examples, inputs=[video_path], label=text.VIDEO_EXAMPLES_LABEL, elem_id="video-examples"
                )
            steady = Checkbox(True, label=text.VIDEO_STEADY_LABEL, elem_id="steady")
            with gr.Row():
                button = gr.Button(
                    "Restore video", variant="primary", interactive=can_run, elem_id="video-button", scale=3
                )
                stop_button = gr.Button("Stop", variant="stop", interactive=False, elem_id="video-stop-button", scale=1)
        with gr.Column():
            summary = gr.Markdown(label="Video summary", elem_id="video-summary")
            result = gr.Video(
                label="Restored video", interactive=False, format=None, buttons=["download"], elem_id="video-result"
            )
            download = gr.File(label="Restored video (download)", elem_id="video-download")
    return _Video(video_path, steady, button, stop_button, result, download, summary)
