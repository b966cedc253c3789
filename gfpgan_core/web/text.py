"""What the page says, formatted from the settings (so a limit changed in one place is the limit the
page states). Gradio-free."""

from __future__ import annotations

from pathlib import Path

from ..service import ModelService
from .settings import DEFAULTS, FALLBACK_THRESHOLD, MAX_COMPARED, Limits

ASSETS = Path(__file__).resolve().parent / "assets"
TITLE = "GFPGAN face restoration"
HEADER = (
    f"# {TITLE}\n"
    "Upload an old, blurry or low-resolution photo: every face is restored with a pretrained face GAN "
    "prior ([GFPGAN](https://arxiv.org/abs/2101.04061), Wang et al., CVPR 2021) and the rest of the "
    "picture is upscaled."
)
EXAMPLES_LABEL = (
    "Examples (public-domain pictures, damaged on purpose; the group is a composite): click one to see its result"
)
THRESHOLD_LABEL = (
    "Detection threshold (set to the detector's calibrated value; lower finds more faces; when none is found, "
    f"the page looks again at {FALLBACK_THRESHOLD:g})"
)
WEIGHT_LABEL = "Fidelity weight (0 = keep the input face, 1 = full restoration)"
BLEND_LABEL = "Blend: how much of each restored face replaces the original in the photo (0 = none, 1 = all)"


def weight_info(model_key: str, default: float) -> str:
    """Where the weight slider starts for the chosen model, and why."""
    return f"Set to {model_key}'s own default, {default:g}, as its authors run it; lower keeps more of the input face."


def models_not_offered(count: int) -> str | None:
    """Under the model menu: how many of the zoo's models this server cannot run (none: nothing said)."""
    if not count:
        return None
    return f"{count} other model{'s are' if count > 1 else ' is'} not on this server, so not offered here."


def compare_needs_two(runnable: int) -> str:
    """Why Compare is greyed out: fewer than two models can run here."""
    has = "no model" if runnable == 0 else "one model"
    return f"Comparing needs two models that can run on this server; it has {has}."


# Client-side: bring the result into view when it is below the screen (a phone: the options sit above it).
SHOW_RESULT = """() => {
  const result = document.querySelector('#summary');
  if (result && result.getBoundingClientRect().top > window.innerHeight * 0.6) {
    result.scrollIntoView({behavior: 'smooth', block: 'start'});
  }
}"""
# after a new photo's estimate: an example's result made in advance is shown (a new upload has none);
# the gallery renders its images a moment after the event's values arrive
SHOW_RESULT_OF_EXAMPLE = (
    f"() => setTimeout(() => {{ if (document.querySelector('#faces img')) ({SHOW_RESULT})(); }}, 300)"
)

TASKS_TITLE = "An aligned face: colourise it, or fill a region painted white (CodeFormer)"
TASKS_HELP = (
    "A face already cropped and aligned like FFHQ (512 x 512 is the models' size). **Colourise** gives a grey "
    "face colour; **Fill the white region** redraws the pixels that are pure white: paint over the region "
    "with the brush below and use the painted face (or upload a face painted white in any editor). "
    "CodeFormer's own checkpoints for these, as its authors run them; their weights are under the S-Lab "
    "License 1.0, non-commercial."
)
EXPRESSIONS_LABEL = (
    "Read each face's expression, before and after (angry, disgust, fear, happy, sad, surprise, neutral)"
)
COMPARE_LABEL = f"Models (two to {MAX_COMPARED}; the photo above and its options; faces only, no upscaling)"


def asset(name: str) -> str:
    """A file of the page's own (CSS, HTML, the brush's script), as text."""
    return (ASSETS / name).read_text(encoding="utf-8")


def css() -> str:
    return asset("page.css")


def about(limits: Limits) -> str:
    return (
        (ASSETS / "about.md")
        .read_text(encoding="utf-8")
        .format(min_face_size=DEFAULTS.min_face_size, keep_outputs=limits.keep_outputs_minutes)
    )


def batch_label(limits: Limits) -> str:
    return f"Photos, or a ZIP of photos (at most {limits.max_batch_photos}; options as above)"


VIDEO_TITLE = "Video: restore the faces of a short clip"
VIDEO_STEADY_LABEL = "Steady faces: follow each face from frame to frame and smooth its landmarks"
VIDEO_EXAMPLES_LABEL = "Example (the degraded Grace Hopper portrait, moving, with a tone for its sound)"


def video_help(limits: Limits) -> str:
    return (
        f"Each frame's faces are restored with the model, weight, detector and threshold chosen above, at the "
        f"clip's own size; its sound, frame timing and rotation are kept. This server restores the first "
        f"{limits.max_video_seconds:g} s of a clip (at most {limits.max_video_frames} frames, frames up to "
        f"{limits.max_video_pixels / 1e6:.1f} MP) and stops a run after {limits.video_timeout_s // 60} minutes "
        "with what it has restored. On a small CPU a frame takes about two seconds."
    )


def video_label(limits: Limits) -> str:
    return f"Video (MP4, MOV, MKV, WebM, ...; up to {limits.max_file_size.upper()})"


def status_line(service: ModelService) -> str:
    """What the server knows now about its default model; without one, a visitor's words (the reason
    the service gives operators names a command, which is for the log)."""
    key, why = service.default_model(for_visitors=True)
    return f"Model in use by default: **{key}** — {why}." if key else no_model_line(service.missing_reason())


def no_model_line(reason: str) -> str:
    """A visitor's words for a server that cannot restore: ``reason`` is ModelService.missing_reason()."""
    return (
        f"**No model on this server** — {reason}, so it cannot restore photos now. "
        "Its operator's log says how to add one."
    )


def examples_label(can_run: bool) -> str:
    return (
        EXAMPLES_LABEL
        if can_run
        else EXAMPLES_LABEL.split(":")[0] + ": this server has no model, so they show no result"
    )


# the estimate's last words, and the start of a file's refusal said on arrival: a summary that ends or
# starts so is said before a run, and new options may replace it (a result's summary stays)
ESTIMATE_END = " — press Restore."
CANNOT_BE_RESTORED = "**This file cannot be restored:**"

# a run's summary while it runs (the progress bar shows over it), and after Stop
RUNNING = "Working… (Stop ends it)"
STOPPED = "Stopped, as you asked."
