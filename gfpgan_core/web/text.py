"""What the page says, formatted from the settings (so a limit changed in one place is the limit the
page states). Gradio-free."""

from __future__ import annotations

from pathlib import Path

from ..options import CALIBRATED_IN_WORDS
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
THRESHOLD_DOC = f"null takes the detector's calibrated value ({CALIBRATED_IN_WORDS})"
EXPRESSIONS_LABEL = (
    "Read each face's expression, before and after (angry, disgust, fear, happy, sad, surprise, neutral)"
)
COMPARE_LABEL = f"Models (two to {MAX_COMPARED}; the photo above and its options; faces only, no upscaling)"


def css() -> str:
    return (ASSETS / "page.css").read_text(encoding="utf-8")


def about(limits: Limits) -> str:
    return (
        (ASSETS / "about.md")
        .read_text(encoding="utf-8")
        .format(min_face_size=DEFAULTS.min_face_size, keep_outputs=limits.keep_outputs_minutes)
    )


def batch_label(limits: Limits) -> str:
    return f"Photos, or a ZIP of photos (at most {limits.max_batch_photos}; options as above)"


def status_line(model_key: str | None, why: str) -> str:
    """What the server knows now about its default model."""
    return f"Model in use by default: **{model_key or 'none'}** — {why}."
