"""The restoration pipeline: decode -> detect -> align -> restore in batches -> upsample -> paste back.

A :class:`Restorer` is composed of parts built once (models loaded, kept read-only) and its
:meth:`Restorer.restore` may be called from several threads at once: every request keeps its state
in local variables.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, cast

import cv2
import numpy as np
import torch
from torch import nn

from .archs import FaceRestorerModel
from .archs.registry import default_weight
from .background import BackgroundUpsampler, LanczosUpsampler
from .devices import pick_device
from .errors import GFPGANError, LandmarkError, OptionsError
from .expressions import ExpressionClassifier
from .faces.alignment import align_face, template_for
from .faces.detection import Detection, FaceDetector, YuNetDetector, select_faces
from .faces.parsing import FaceParser
from .images import ImageLike, Picture, is_visually_gray, load_picture, output_size, resize, resize_to, to_uint8
from .options import DETECTORS, PARSERS, RUNTIMES, UPSAMPLERS, RestoreOptions, check_choice
from .parts import (
    Built,
    FaceModel,
    build_detector,
    build_expression_classifier,
    build_parser,
    build_upsampler,
    load_face_model,
)
from .paste import FacePatch, feathered_box, paste_faces
from .results import FaceCount, RestorationResult, RestoredFace, RestorePlan
from .runtimes import FaceRunner, TorchRunner

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total) for the stages of :data:`STAGES`; it may raise to stop the request."""
STAGES = ("decode", "detect", "align", "restore", "upsample", "paste", "expressions")
T = TypeVar("T")


@dataclass
class _Request:
    """One request's bookkeeping: each stage timed into ``timings`` and reported to ``progress``."""

    progress: Progress | None
    started: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def report(self, stage: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(stage, done, total)

    def stage(self, name: str, work: Callable[..., T], *args: Any, steps: bool = False) -> T:
        """Run ``work(*args)`` as stage ``name``; with ``steps``, ``work`` also gets a (done, total) reporter."""
        self.report(name, 0, 1)
        t = time.perf_counter()
        out = work(*args, lambda done, total: self.report(name, done, total)) if steps else work(*args)
        self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t
        self.report(name, 1, 1)
        return out

    def finish(
        self, picture: Picture, faces: list[RestoredFace], scale: float, count: FaceCount | None = None
    ) -> RestorationResult:
        self.timings["total"] = time.perf_counter() - self.started
        return RestorationResult(picture, faces, self.timings, self.notes, scale, count)


@dataclass
class _Prepared:
    """An image between alignment and the model: its request, picture and faces' crops."""

    req: _Request
    opts: RestoreOptions
    pic: Picture
    scale: float
    gray: bool
    count: FaceCount
    faces: list[Detection]
    crops: list[np.ndarray]
    matrices: list[np.ndarray]


def _gray3(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=-1)


def working_size(size: tuple[int, int], opts: RestoreOptions) -> tuple[tuple[int, int], float]:
    """(the size an image of ``size`` is restored at, the upscale applied): downscaled to fit
    ``max_input_pixels``, the upscale lowered to keep the output within ``max_output_pixels``."""
    w, h = size
    if opts.max_input_pixels is not None and w * h > opts.max_input_pixels:
        w, h = output_size((w, h), math.sqrt(opts.max_input_pixels / (w * h)))
    scale = opts.upscale
    if w * h * scale * scale > opts.max_output_pixels:
        scale = max(1.0, math.sqrt(opts.max_output_pixels / (w * h)))
    return (w, h), scale


@dataclass(frozen=True)
class RestorerSpec:
    """What :meth:`Restorer.from_pretrained` builds, as one value: the command line makes it from its
    arguments, and an archive job sends it to every worker, which builds its own Restorer from it."""

    model: str = "v1.4"  # a zoo name or a weights file
    device: str = "auto"
    detector: str = "auto"
    upsampler: str = "auto"
    parser: str = "auto"
    weights_dir: str | None = None
    download: bool = True
    runtime: str = "auto"

    def __post_init__(self) -> None:
        check_choice("detector", self.detector, DETECTORS)
        check_choice("upsampler", self.upsampler, UPSAMPLERS)
        check_choice("parser", self.parser, PARSERS)
        check_choice("runtime", self.runtime, RUNTIMES)

    def build(self) -> Restorer:
        return Restorer.from_pretrained(
            self.model,
            device=self.device,
            detector=self.detector,
            upsampler=self.upsampler,
            parser=self.parser,
            weights_dir=self.weights_dir,
            download=self.download,
            runtime=self.runtime,
        )


class Restorer:
    """Restores every face in a photo. Build once, call :meth:`restore` many times, from any thread."""

    def __init__(
        self,
        model: nn.Module,
        *,
        detector: FaceDetector | None = None,
        upsampler: BackgroundUpsampler | None = None,
        parser: FaceParser | None = None,
        device: str | torch.device = "auto",
        half: bool | None = None,
        model_name: str = "custom",
        notes: list[str] | None = None,
        expressions: ExpressionClassifier | Callable[[], ExpressionClassifier] | None = None,
        runner: FaceRunner | None = None,
    ) -> None:
        self.device = pick_device(device)
        self.half = (self.device.type == "cuda") if half is None else half
        self.dtype = self.dtype_for(self.half)
        self.model = model.to(self.device, self.dtype).eval().requires_grad_(False)
        self.crop_size = int(getattr(model, "out_size", 512))
        # the five points its crops are aligned to, at 512 px: the model's own (GPEN's) or FFHQ's (None)
        self.face_template: np.ndarray | None = getattr(model, "face_template_512", None)
        # What runs the plain call (stored noise, no fidelity input); torch when none is given.
        self.runner: FaceRunner = runner if runner is not None else TorchRunner(self.model)
        self.detector = detector if detector is not None else YuNetDetector()
        self.upsampler = upsampler if upsampler is not None else LanczosUpsampler()
        self.parser = parser
        self.model_name = model_name
        self.notes = list(notes or [])
        self._expressions = expressions
        self._expressions_lock = threading.Lock()

    @property
    def expressions(self) -> ExpressionClassifier:
        """The expression classifier: the one given, or made by the factory given, or built, on first use."""
        if not isinstance(self._expressions, ExpressionClassifier):
            with self._expressions_lock:
                if self._expressions is None:
                    self._expressions = build_expression_classifier(self.device)
                elif not isinstance(self._expressions, ExpressionClassifier):
                    self._expressions = self._expressions()
        return self._expressions

    # ------------------------------------------------------------------ construction
    @staticmethod
    def dtype_for(half: bool) -> torch.dtype:
        """The model's dtype: float16 where asked for, else float32."""
        return torch.float16 if half else torch.float32

    @classmethod
    def from_parts(
        cls,
        face_model: FaceModel,
        *,
        detector: Built[FaceDetector],
        upsampler: Built[BackgroundUpsampler],
        parser: Built[FaceParser | None],
        device: torch.device,
        half: bool,
        expressions: ExpressionClassifier | Callable[[], ExpressionClassifier] | None = None,
    ) -> Restorer:
        """A restorer composed of parts built by :mod:`gfpgan_core.parts` (each with its fallback note,
        which becomes one of the restorer's ``notes``): the one composition path, for
        :meth:`from_pretrained` and for servers that build each part once and share it."""
        return cls(
            face_model.net,
            detector=detector[0],
            upsampler=upsampler[0],
            parser=parser[0],
            device=device,
            half=half,
            model_name=face_model.name,
            notes=[note for _, note in (detector, upsampler, parser) if note],
            expressions=expressions,
            runner=face_model.runner,
        )

    @classmethod
    def from_pretrained(
        cls,
        model: str | os.PathLike = "v1.4",
        *,
        device: str | torch.device = "auto",
        half: bool | None = None,
        detector: str = "auto",
        upsampler: str = "auto",
        parser: str = "auto",
        weights_dir: str | os.PathLike | None = None,
        download: bool = True,
        runtime: str = "auto",
    ) -> Restorer:
        """Build a restorer from a zoo name or a weights file, with its helper models.

        Args:
            model: a zoo name ("v1.4", "v1.3", "v1.2", ...) or a ``.pth``/``.safetensors`` file of any
                supported architecture (recognised from its tensors).
            device: "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:1", ...
            half: float16 inference; default: on for CUDA, off for the CPU.
            detector: one of :data:`~gfpgan_core.options.DETECTORS`.
            upsampler: background upsampler, one of :data:`~gfpgan_core.options.UPSAMPLERS`.
            parser: paste-back masks, one of :data:`~gfpgan_core.options.PARSERS`.
            weights_dir: the weights cache (default ``$GFPGAN_WEIGHTS_DIR`` or ``weights/``).
            download: fetch missing weights from the Hub (or the official release).
            runtime: what runs the face model, one of :data:`~gfpgan_core.options.RUNTIMES`; "auto"
                takes the fastest exact one (an ONNX export on the CPU, cached beside the weights).

        Returns:
            A ready :class:`Restorer`. Optional parts ("auto") that cannot be had fall back and say so
            in ``notes``.

        Raises:
            WeightsMissingError, CheckpointError, UnknownModelError, OptionsError: in one line.
        """
        dev = pick_device(device)
        use_half = (dev.type == "cuda") if half is None else half
        return cls.from_parts(
            load_face_model(model, weights_dir, download, device=dev, half=use_half, runtime=runtime),
            detector=build_detector(detector, dev, weights_dir, download),
            upsampler=build_upsampler(upsampler, dev, use_half, weights_dir, download, runtime),
            parser=build_parser(parser, dev, weights_dir, download),
            device=dev,
            half=use_half,
        )

    def check_task(self, task: str) -> None:
        """Refuse, in one line, a task this restorer's model does not do (colourising takes CodeFormer's
        colourisation checkpoint, filling a region its inpainting one)."""
        if task not in getattr(self.model, "tasks", ("restore",)):
            wanted = {"colorize": "codeformer-colorization", "inpaint": "codeformer-inpainting"}.get(task, task)
            raise OptionsError(f"{self.model_name} does not do {task!r}: load {wanted} for it.")

    @property
    def default_weight(self) -> float:
        """The fidelity weight used when a call gives none: the model's own (its registry entry)."""
        return default_weight(getattr(self.model, "config", None))

    def describe(self) -> str:
        """One line: model, device, detector, upsampler and masks in use."""
        upsampler_runner = getattr(self.upsampler, "runner", None)
        upsampler_runtime = f" in {upsampler_runner.name}" if upsampler_runner else ""
        return (
            f"model {self.model_name} on {self.device.type}{' (fp16)' if self.half else ''} in {self.runner.name}; "
            f"detector {self.detector.name}; background {self.upsampler.name}{upsampler_runtime}; "
            f"masks {'parsenet' if self.parser else 'feathered box'}"
        )

    # ------------------------------------------------------------------ the model
    def restore_crops(
        self,
        crops: list[np.ndarray],
        weight: float = 1.0,
        seed: int | None = None,
        batch_size: int = 4,
        report: Callable[[int, int], None] | None = None,
        task: str = "restore",
    ) -> list[np.ndarray]:
        """Aligned float32 RGB crops (crop_size square, [0, 1]) -> restored crops, in batches.

        ``weight`` means the same for every model: 0 keeps the input face, 1 is the model's full
        restoration. A model with a fidelity control of its own (CodeFormer's w, where 1 is the most
        faithful) gets ``1 - weight`` through it; for the others the output is blended with the input.
        ``task`` other than "restore" is the model's own call for it (:meth:`check_task`).
        """
        self.check_task(task)
        own_control = bool(getattr(self.model, "has_fidelity", False))
        fidelity = 1.0 - weight if own_control else None
        out: list[np.ndarray] = []
        total = len(crops)
        for start in range(0, total, batch_size):
            chunk = np.stack(crops[start : start + batch_size])
            # contiguous NCHW, as the authors' scripts pass it: the permuted (channels-last) tensor sends the
            # convolutions down other oneDNN paths, and CodeFormer's output moved by 1.3e-4 (random weights)
            x = torch.from_numpy(chunk).permute(0, 3, 1, 2).contiguous().to(self.device, self.dtype) * 2 - 1
            noise = None
            decoder = getattr(self.model, "stylegan_decoder", None)
            if seed is not None and decoder is not None:
                per_face = [decoder.seeded_noise(1, seed + start + i) for i in range(len(chunk))]
                noise = [torch.cat(level).to(self.dtype) for level in zip(*per_face, strict=True)]
            if task != "restore":
                with torch.inference_mode():
                    y = cast(Any, self.model).run_task(x, task, fidelity)  # its check_task said it has one
            elif noise is None and fidelity is None:
                y = self.runner(x)
            else:
                with torch.inference_mode():
                    y = cast(FaceRestorerModel, self.model).restore_faces(x, noise=noise, fidelity=fidelity)
            restored = ((y.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
            if not own_control:
                restored = weight * restored + (1.0 - weight) * chunk
            out.extend(np.ascontiguousarray(r, dtype=np.float32) for r in restored)
            if report:
                report(len(out), total)
        return out

    # ------------------------------------------------------------------ the pipeline
    def restore(
        self,
        image: ImageLike,
        options: RestoreOptions | None = None,
        progress: Progress | None = None,
        *,
        faces: Sequence[Detection] | None = None,
        **overrides: Any,
    ) -> RestorationResult:
        """Restore every face of an image: decode -> detect -> align -> restore -> upsample -> paste.

        Args:
            image: a path, encoded bytes, a PIL image, an RGB array or a :class:`Picture`.
            options: per-request settings (default: ``RestoreOptions()``).
            progress: called as ``progress(stage, done, total)`` for each stage of :data:`STAGES`;
                an exception it raises stops the request.
            faces: the faces to restore instead of detecting them, in the coordinates of the picture
                :meth:`plan` works on (a video's faces, tracked and smoothed across frames); None detects.
            **overrides: fields of :class:`RestoreOptions` replacing those of ``options``.

        Returns:
            A :class:`RestorationResult`: the image (same channels and bit depth as the input), the
            faces left to right, per-stage ``timings`` (``total`` is the whole call) and ``notes``.

        Raises:
            ImageError: the input cannot be decoded. OptionsError: a bad or unknown option.
        """
        opts = _with_overrides(options, overrides)
        self.check_task(opts.task)
        work = self._prepare(_Request(progress), image, opts, faces)
        if isinstance(work, RestorationResult):  # an aligned face: done
            return work
        restored = work.req.stage("restore", self._restore_faces, work.crops, opts, work.gray, steps=True)
        return self._complete(work, restored)

    def restore_many(
        self, images: Sequence[ImageLike], options: RestoreOptions | None = None
    ) -> list[RestorationResult | GFPGANError]:
        """Restore several images, the faces of all of them in shared batches of ``batch_size`` (a GPU
        is busy with whole batches instead of each image's one or two faces).

        Returns:
            For each image, in order, its result (equal to :meth:`restore`'s) or the error that
            stopped it (an image that cannot be decoded fails alone).
        """
        opts = options or RestoreOptions()
        self.check_task(opts.task)
        if opts.aligned or opts.seed is not None:  # one crop each, or noise seeded per image: one by one
            return [self._attempt(self.restore, image, opts) for image in images]
        prepared = [self._attempt(self._prepare, _Request(None), image, opts) for image in images]
        work = [w for w in prepared if isinstance(w, _Prepared)]
        crops = [crop for w in work for crop in w.crops]
        started = time.perf_counter()
        weight = self.default_weight if opts.weight is None else opts.weight
        restored = self.restore_crops(crops, weight, None, opts.batch_size, None, opts.task) if crops else []
        share = (time.perf_counter() - started) / max(1, len(crops))
        results: list[RestorationResult | GFPGANError] = []
        for item in prepared:
            if not isinstance(item, _Prepared):
                results.append(item)
                continue
            mine, restored = restored[: len(item.crops)], restored[len(item.crops) :]
            item.req.timings["restore"] = share * len(mine)  # the batches' time, by faces
            results.append(self._attempt(self._complete, item, [_gray3(r) for r in mine] if item.gray else mine))
        return results

    @staticmethod
    def _attempt(work: Callable[..., T], *args: Any) -> T | GFPGANError:
        try:
            return work(*args)
        except GFPGANError as exc:
            return exc

    def _prepare(
        self, req: _Request, image: ImageLike, opts: RestoreOptions, faces: Sequence[Detection] | None = None
    ) -> _Prepared | RestorationResult:
        """Decode, detect (unless ``faces`` are given) and align: the faces' crops, ready for the model
        (an aligned input is restored at once: it is one crop)."""
        plan = self._plan(req, image, opts, faces)
        pic, scale = plan.picture, plan.scale
        gray = pic.grayscale or is_visually_gray(pic.rgb)
        if opts.task == "colorize":  # a grey face in, a colour face out: the photo is grey no more
            pic, gray = replace(pic, grayscale=False), False
        if opts.aligned:
            return self._restore_aligned(req, pic, opts, scale, gray)
        faces, crops, matrices = req.stage("align", self._align, pic, plan.faces, opts, req.notes)
        return _Prepared(req, opts, pic, scale, gray, plan.count, faces, crops, matrices)

    def _complete(self, work: _Prepared, restored: list[np.ndarray]) -> RestorationResult:
        """Upsample the background, paste the restored faces back, and the result."""
        req, opts, pic = work.req, work.opts, work.pic
        canvas = req.stage("upsample", self._upsample, pic, work.scale, opts, work.gray, steps=True)
        picture = req.stage("paste", self._paste, pic, canvas, restored, work.matrices, opts.blend)
        records = [
            RestoredFace(f.box.copy(), f.landmarks.copy(), f.score, to_uint8(c), to_uint8(r))
            for f, c, r in zip(work.faces, work.crops, restored, strict=True)
        ]
        if opts.expressions and records:
            records = req.stage("expressions", self._with_expressions, records)
        planned = work.count  # a face whose landmarks coincide is not restored: the count says so
        count = planned if len(records) == planned.restored else replace(planned, restored=len(records), chosen="")
        return req.finish(picture, records, work.scale, count)

    def plan(self, image: ImageLike, options: RestoreOptions | None = None, **overrides: Any) -> RestorePlan:
        """What :meth:`restore` would do with these arguments, without restoring: decode and detect only.

        Raises:
            ImageError: the input cannot be decoded. OptionsError: a bad or unknown option.
        """
        return self._plan(_Request(None), image, _with_overrides(options, overrides))

    def _plan(
        self, req: _Request, image: ImageLike, opts: RestoreOptions, given: Sequence[Detection] | None = None
    ) -> RestorePlan:
        pic, scale = req.stage("decode", self._decode, image, opts, req.notes)
        faces: list[Detection] = []
        count = FaceCount(1, 1, 1)  # an aligned input: the picture is the face
        if opts.aligned:
            pass
        elif given is not None:
            faces = sorted(given, key=lambda f: float(f.box[0]))  # left to right, as detection gives them
            count = FaceCount(len(faces), len(faces), len(faces), opts.min_face_size)
        else:
            faces, count = req.stage("detect", self._detect, pic, opts, req.notes)
        return RestorePlan(pic, scale, faces, count, opts.aligned, list(req.notes))

    def _restore_aligned(
        self, req: _Request, pic: Picture, opts: RestoreOptions, scale: float, gray: bool
    ) -> RestorationResult:
        """An aligned face crop goes straight to the model; the whole image is the face."""
        w, h = pic.size
        if w != h:
            req.notes.append(
                f"Aligned input is {w}x{h}, not square; it was stretched to {self.crop_size}x{self.crop_size}."
            )
        crop = req.stage("align", resize_to, pic.rgb, self.crop_size, cv2.INTER_LINEAR)
        restored = req.stage("restore", self._restore_faces, [crop], replace(opts, batch_size=1), gray, steps=True)[0]
        out = req.stage("upsample", resize, restored, output_size((w, h), scale))
        if opts.blend < 1.0:  # the photo is the face: blend it whole
            original = resize(pic.rgb, output_size((w, h), scale))
            out = original if opts.blend == 0 else opts.blend * out + (1.0 - opts.blend) * original
        landmarks = template_for(self.crop_size, self.face_template) * np.array(
            [w / self.crop_size, h / self.crop_size]
        )
        face = RestoredFace(
            np.array([0, 0, w, h], np.float32), landmarks.astype(np.float32), 1.0, to_uint8(crop), to_uint8(restored)
        )
        faces = req.stage("expressions", self._with_expressions, [face]) if opts.expressions else [face]
        return req.finish(_with_pixels(pic, out), faces, scale)

    def _with_expressions(self, faces: list[RestoredFace]) -> list[RestoredFace]:
        """The faces with their expression on the input crop and on the restored crop (one batch)."""
        found = self.expressions.classify([f.input_crop for f in faces] + [f.restored_crop for f in faces])
        n = len(faces)
        return [
            replace(face, expression_before=before, expression_after=after)
            for face, before, after in zip(faces, found[:n], found[n:], strict=True)
        ]

    # ------------------------------------------------------------------ the stages
    @staticmethod
    def _decode(image: ImageLike, opts: RestoreOptions, notes: list[str]) -> tuple[Picture, float]:
        """The picture within ``max_input_pixels``, and the upscale that keeps the output within its limit."""
        pic = load_picture(image, draft_pixels=opts.max_input_pixels)
        size, scale = working_size(pic.size, opts)
        source = pic.source_size or pic.size  # a large JPEG decodes reduced already: say so too
        if size != source:
            limit_mp = (opts.max_input_pixels or 0) / 1e6
            notes.append(
                f"The image ({source[0]}x{source[1]}) was reduced to {size[0]}x{size[1]} before restoring, "
                f"to fit the {limit_mp:.0f} MP limit."
            )
        if size != pic.size:
            pic = pic.with_pixels(resize(pic.rgb, size), resize(pic.alpha, size) if pic.alpha is not None else None)
        if scale != opts.upscale:
            limit_mp = opts.max_output_pixels / 1e6
            notes.append(
                f"Enlarged x{scale:.2f} instead of x{opts.upscale:g}, to keep the output under {limit_mp:.0f} MP."
            )
        return pic, scale

    def detection_threshold(self, requested: float | None = None) -> float:
        """``requested``, or (None) this restorer's detector's own calibrated threshold."""
        if requested is not None:
            return requested
        return float(getattr(self.detector, "default_threshold", 0.6))  # 0.6: a detector of one's own

    def _detect(self, pic: Picture, opts: RestoreOptions, notes: list[str]) -> tuple[list[Detection], FaceCount]:
        """(faces to restore, left to right; how many were found, big enough and to restore)."""
        rgb = to_uint8(pic.rgb)
        threshold = self.detection_threshold(opts.detection_threshold)
        found = self.detector.detect(rgb, threshold)
        fallback = opts.fallback_threshold
        none_usable = not any(f.size >= opts.min_face_size for f in found)
        if fallback is not None and fallback < threshold and none_usable:
            retry = self.detector.detect(rgb, fallback)
            if any(f.size >= opts.min_face_size for f in retry):
                found = retry
                notes.append(
                    f"No face scored {threshold:g}; these were found at the lower "
                    f"detection threshold {fallback:g}, with less confidence."
                )
        faces = select_faces(found, pic.size, opts.only_center_face, opts.min_face_size, opts.max_faces)
        usable = sum(1 for f in found if f.size >= opts.min_face_size)
        chosen = ""
        if opts.only_center_face and usable > 1:
            chosen = "the one nearest the centre"
        elif opts.max_faces is not None and usable > opts.max_faces:
            chosen = f"the {opts.max_faces} largest"
        return faces, FaceCount(len(found), usable, len(faces), opts.min_face_size, chosen)

    def _align(
        self, pic: Picture, faces: list[Detection], opts: RestoreOptions, notes: list[str]
    ) -> tuple[list[Detection], list[np.ndarray], list[np.ndarray]]:
        """(faces kept, their aligned crops, image->crop matrices); a face that cannot be aligned is skipped."""
        kept, crops, matrices = [], [], []
        for face in faces:
            try:
                crop, matrix = align_face(pic.rgb, face.landmarks, self.crop_size, opts.alignment, self.face_template)
            except LandmarkError:
                notes.append(f"A face at ({face.box[0]:.0f}, {face.box[1]:.0f}) was skipped: its landmarks coincide.")
                continue
            kept.append(face)
            crops.append(crop)
            matrices.append(matrix)
        return kept, crops, matrices

    def _restore_faces(
        self, crops: list[np.ndarray], opts: RestoreOptions, gray: bool, report: Callable[[int, int], None]
    ) -> list[np.ndarray]:
        weight = self.default_weight if opts.weight is None else opts.weight
        restored = self.restore_crops(crops, weight, opts.seed, opts.batch_size, report, opts.task)
        return [_gray3(r) for r in restored] if gray else restored

    def _upsample(
        self, pic: Picture, scale: float, opts: RestoreOptions, gray: bool, report: Callable[[int, int], None]
    ) -> np.ndarray:
        use_network = opts.upsample_background and scale > 1
        canvas = (self.upsampler if use_network else LanczosUpsampler()).upscale(pic.rgb, scale, report)
        return _gray3(canvas) if gray and use_network else canvas

    def _paste(
        self,
        pic: Picture,
        canvas: np.ndarray,
        restored: list[np.ndarray],
        matrices: list[np.ndarray],
        blend: float = 1.0,
    ) -> Picture:
        """The restored faces pasted onto the canvas, their masks scaled by ``blend`` (0: none pasted)."""
        to_input = canvas_to_input(pic.size, (canvas.shape[1], canvas.shape[0]))
        patches = [
            FacePatch(crop=r, mask=m * blend if blend != 1.0 else m, matrix=(np.vstack([M, [0, 0, 1]]) @ to_input)[:2])
            for r, m, M in zip(restored, self._masks(restored), matrices, strict=True)
            if blend > 0
        ]
        # In place only into a canvas this call made: at 1x without the network the canvas is the
        # caller's own picture, which must come back untouched.
        in_place = not np.shares_memory(canvas, pic.rgb)
        return _with_pixels(pic, paste_faces(canvas, patches, in_place=in_place))

    def _masks(self, restored: list[np.ndarray]) -> list[np.ndarray]:
        box = feathered_box(self.crop_size)
        if self.parser is None or not restored:
            return [box] * len(restored)
        return [m * box for m in self.parser.masks(restored)]


def _with_overrides(options: RestoreOptions | None, overrides: dict[str, Any]) -> RestoreOptions:
    try:
        return replace(options or RestoreOptions(), **overrides)
    except TypeError as exc:  # an unknown option name: say so rather than ignore it
        raise OptionsError(f"Unknown restore option: {exc}.") from None


def canvas_to_input(input_size: tuple[int, int], canvas_size: tuple[int, int]) -> np.ndarray:
    """3x3 matrix from output (canvas) pixel coordinates to input pixel coordinates.

    Pixel centres meet, as in cv2.resize: output pixel u covers input ``(u + 0.5) / s - 0.5``. The
    plain ``u / s`` would paste every face (s - 1) / 2 output pixels up and left of the upscaled
    background (-1.5 px at x4): with the input face pasted back unchanged, its core then matched the
    upscaled photo at only 32.6-32.9 dB at x3.5-x4, against 47 dB with the centres aligned.
    """
    sx, sy = canvas_size[0] / input_size[0], canvas_size[1] / input_size[1]
    return np.array([[1 / sx, 0, 0.5 / sx - 0.5], [0, 1 / sy, 0.5 / sy - 0.5], [0, 0, 1.0]])


def _with_pixels(pic: Picture, rgb: np.ndarray) -> Picture:
    """``pic`` with new pixels of another size; its alpha is resized to match."""
    size = (rgb.shape[1], rgb.shape[0])
    return pic.with_pixels(rgb, resize(pic.alpha, size) if pic.alpha is not None else None)


__all__ = ["STAGES", "Progress", "RestorationResult", "RestoreOptions", "RestorePlan", "RestoredFace", "Restorer"]
