"""The restoration pipeline: decode -> detect -> align -> restore in batches -> paste back -> upsample.

A :class:`Restorer` is built once (models loaded, kept read-only) and its :meth:`Restorer.restore`
may be called from several threads at once: every request keeps its state in local variables.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import cv2
import numpy as np
import torch
from torch import nn

from . import zoo
from .background import BackgroundUpsampler, LanczosUpsampler, NetworkUpsampler, output_size
from .checkpoint import load_model
from .errors import CheckpointError, GFPGANError, WeightsMissingError
from .faces.alignment import align_face, template_for
from .faces.detection import Detection, FaceDetector, RetinaFaceDetector, YuNetDetector, select_faces
from .images import ImageLike, Picture, is_visually_gray, load_picture, resize
from .paste import FacePatch, feathered_box, paste_faces

log = logging.getLogger("gfpgan_core")
Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): stages are "detect", "restore", "paste", "upsample"."""


class OptionsError(GFPGANError, ValueError):
    """A restore option out of its range."""


@dataclass(frozen=True)
class RestoreOptions:
    """Per-request settings. Everything here can change between calls on the same Restorer.

    weight: fidelity weight in [0, 1]. The restored face is ``weight * GFPGAN(x) + (1 - weight) * x``
    in the aligned crop before paste-back: 0 gives back the input face, 1 the full restoration.
    (Scaling the CS-SFT conditions instead would move towards the StyleGAN prior, i.e. *away*
    from the input, so blending is the control that means what users expect.)
    """

    upscale: float = 2.0
    weight: float = 1.0
    only_center_face: bool = False
    aligned: bool = False
    min_face_size: float = 0.0
    detection_threshold: float = 0.6
    max_faces: int | None = None
    batch_size: int = 4
    seed: int | None = None
    background: bool = True
    max_input_pixels: int | None = None
    max_output_pixels: int = 100_000_000

    def validated(self) -> "RestoreOptions":
        checks = [
            (math.isfinite(self.upscale) and 1 <= self.upscale <= 8, f"upscale must be between 1 and 8, not {self.upscale}"),
            (math.isfinite(self.weight) and 0 <= self.weight <= 1, f"weight must be between 0 and 1, not {self.weight}"),
            (0 <= self.detection_threshold <= 1, f"detection_threshold must be between 0 and 1, not {self.detection_threshold}"),
            (self.batch_size >= 1, f"batch_size must be at least 1, not {self.batch_size}"),
            (self.min_face_size >= 0, f"min_face_size must be >= 0, not {self.min_face_size}"),
            (self.max_faces is None or self.max_faces >= 1, f"max_faces must be >= 1, not {self.max_faces}"),
            (self.max_input_pixels is None or self.max_input_pixels >= 4096, "max_input_pixels is too small"),
        ]
        for ok, message in checks:
            if not ok:
                raise OptionsError(message + ".")
        return self


@dataclass(frozen=True)
class RestoredFace:
    """One face: where it was found (input coordinates) and its crops (uint8 RGB, model size)."""

    box: np.ndarray
    landmarks: np.ndarray
    score: float
    input_crop: np.ndarray
    restored_crop: np.ndarray


@dataclass
class RestorationResult:
    picture: Picture
    faces: list[RestoredFace]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    upscale: float = 1.0

    @property
    def image(self) -> np.ndarray:
        """The restored image as uint8/uint16 (gray, gray+alpha, RGB or RGBA as the input was)."""
        return self.picture.to_array()


def pick_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise OptionsError("device 'cuda' was asked for but no CUDA GPU is available.")
    return dev


def _gray3(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=-1)


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


class Restorer:
    """Restores every face in a photo. Build once, call :meth:`restore` many times."""

    def __init__(
        self,
        model: nn.Module,
        *,
        detector: FaceDetector | None = None,
        background: BackgroundUpsampler | None = None,
        parser: object | None = None,
        device: str | torch.device = "auto",
        half: bool | None = None,
        model_name: str = "custom",
        notes: list[str] | None = None,
    ) -> None:
        self.device = pick_device(device)
        self.half = (self.device.type == "cuda") if half is None else half
        self.dtype = torch.float16 if self.half else torch.float32
        self.model = model.to(self.device, self.dtype).eval().requires_grad_(False)
        self.crop_size = int(getattr(model, "out_size", 512))
        self.detector = detector if detector is not None else YuNetDetector()
        self.background = background if background is not None else LanczosUpsampler()
        self.parser = parser
        self.model_name = model_name
        self.notes = list(notes or [])

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(
        cls,
        model: str | os.PathLike = "v1.4",
        *,
        device: str | torch.device = "auto",
        half: bool | None = None,
        detector: str = "auto",
        background: str = "auto",
        parser: str = "auto",
        weights_dir: str | os.PathLike | None = None,
        download: bool = True,
        log_fn: Callable[[str], None] | None = None,
    ) -> "Restorer":
        """Build from a zoo name ("v1.4", "v1.3", "v1.2", ...) or a weights file.

        detector: "auto" (RetinaFace when its weights can be had, else YuNet), "retinaface", "yunet".
        background: "auto" (Real-ESRGAN when its weights can be had, else Lanczos), "realesrgan", "lanczos".
        parser: "auto" (ParseNet masks when weights can be had), "parsenet", "none".
        Optional parts that cannot be had fall back and say so in ``notes``; the main model must load.
        """
        for label, value, allowed in (
            ("detector", detector, ("auto", "retinaface", "yunet")),
            ("background", background, ("auto", "realesrgan", "lanczos")),
            ("parser", parser, ("auto", "parsenet", "none")),
        ):
            if value not in allowed:
                raise OptionsError(f"{label} must be one of {', '.join(allowed)}, not {value!r}.")
        dev = pick_device(device)
        use_half = (dev.type == "cuda") if half is None else half
        path, entry = zoo.resolve_weights(model, weights_dir, download=download, log=log_fn)
        net, _ = load_model(path, entry.config if entry else None)
        notes: list[str] = []

        def optional(name: str, choice: str, wanted: str) -> str | None:
            if choice not in ("auto", wanted):
                return None
            try:
                return str(zoo.ensure_weights(name, weights_dir, download=download, log=log_fn))
            except (WeightsMissingError, CheckpointError) as exc:
                if choice == wanted:
                    raise
                notes.append(f"{name} unavailable ({str(exc).split(':')[0]}); using the fallback.")
                return None

        det: FaceDetector
        det_path = optional("retinaface-resnet50", detector, "retinaface")
        det = RetinaFaceDetector(det_path, dev) if det_path else YuNetDetector()

        bg: BackgroundUpsampler = LanczosUpsampler()
        bg_path = optional("realesr-general-x4v3", background, "realesrgan")
        if bg_path:
            bg_net, _ = load_model(bg_path, zoo.get_entry("realesr-general-x4v3").config)
            bg = NetworkUpsampler(bg_net, dev, half=use_half)

        face_parser = None
        parse_path = optional("parsenet", parser, "parsenet")
        if parse_path:
            from .faces.parsing import FaceParser

            face_parser = FaceParser(parse_path, dev)

        name = entry.name if entry else os.path.basename(os.fspath(model))
        return cls(net, detector=det, background=bg, parser=face_parser, device=dev, half=use_half, model_name=name, notes=notes)

    def describe(self) -> str:
        return (
            f"model {self.model_name} on {self.device.type}{' (fp16)' if self.half else ''}; "
            f"detector {self.detector.name}; background {self.background.name}; "
            f"masks {'parsenet' if self.parser else 'feathered box'}"
        )

    # ------------------------------------------------------------------ the model
    def restore_crops(
        self,
        crops: list[np.ndarray],
        weight: float = 1.0,
        seed: int | None = None,
        batch_size: int = 4,
        progress: Progress | None = None,
    ) -> list[np.ndarray]:
        """Aligned float32 RGB crops (crop_size square, [0, 1]) -> restored crops, in batches."""
        out: list[np.ndarray] = []
        total = len(crops)
        for start in range(0, total, batch_size):
            chunk = np.stack(crops[start : start + batch_size])
            x = torch.from_numpy(chunk).permute(0, 3, 1, 2).to(self.device, self.dtype) * 2 - 1
            noise = None
            decoder = getattr(self.model, "stylegan_decoder", None)
            if seed is not None and decoder is not None:
                per_face = [decoder.seeded_noise(1, seed + start + i) for i in range(len(chunk))]
                noise = [torch.cat(level).to(self.dtype) for level in zip(*per_face)]
            with torch.inference_mode():
                y = self.model(x, return_rgb=False, randomize_noise=False, noise=noise)[0]
            restored = ((y.float().clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
            restored = weight * restored + (1.0 - weight) * chunk
            out.extend(np.ascontiguousarray(r, dtype=np.float32) for r in restored)
            if progress:
                progress("restore", len(out), total)
        return out

    # ------------------------------------------------------------------ the pipeline
    def restore(
        self,
        image: ImageLike,
        options: RestoreOptions | None = None,
        progress: Progress | None = None,
        **overrides: object,
    ) -> RestorationResult:
        """Restore every face of ``image`` (path, bytes, PIL image, RGB array or Picture).

        Keyword overrides are fields of :class:`RestoreOptions` (unknown names are an error).
        """
        try:
            opts = replace(options or RestoreOptions(), **overrides).validated()  # type: ignore[arg-type]
        except TypeError as exc:  # an unknown option name: say so rather than ignore it
            raise OptionsError(f"Unknown restore option: {exc}.") from None
        timings: dict[str, float] = {}
        notes: list[str] = []
        t0 = time.perf_counter()
        pic = load_picture(image)
        pic = self._limit_input(pic, opts, notes)
        scale = self._limit_scale(pic, opts, notes)
        gray = pic.grayscale or is_visually_gray(pic.rgb)
        timings["decode"] = time.perf_counter() - t0

        if opts.aligned:
            return self._restore_aligned(pic, opts, scale, gray, timings, notes, progress)

        t = time.perf_counter()
        if progress:
            progress("detect", 0, 1)
        w, h = pic.size
        found = self.detector.detect(_to_uint8(pic.rgb), opts.detection_threshold)
        faces = select_faces(found, (w, h), opts.only_center_face, opts.min_face_size, opts.max_faces)
        timings["detect"] = time.perf_counter() - t
        if progress:
            progress("detect", 1, 1)

        t = time.perf_counter()
        aligned = [align_face(pic.rgb, f.landmarks, self.crop_size) for f in faces]
        crops = [c for c, _ in aligned]
        restored = self.restore_crops(crops, opts.weight, opts.seed, opts.batch_size, progress)
        if gray:
            restored = [_gray3(r) for r in restored]
        timings["restore"] = time.perf_counter() - t

        t = time.perf_counter()
        if progress:
            progress("upsample", 0, 1)
        use_bg = opts.background and scale > 1
        canvas = (self.background if use_bg else LanczosUpsampler()).upscale(pic.rgb, scale)
        if gray and use_bg:
            canvas = _gray3(canvas)
        timings["upsample"] = time.perf_counter() - t
        if progress:
            progress("upsample", 1, 1)

        t = time.perf_counter()
        if progress:
            progress("paste", 0, 1)
        masks = self._masks(restored)
        sx, sy = canvas.shape[1] / w, canvas.shape[0] / h
        to_canvas = np.diag([1 / sx, 1 / sy, 1.0])
        patches = [
            FacePatch(crop=r, mask=m, matrix=(np.vstack([M, [0, 0, 1]]) @ to_canvas)[:2])
            for r, m, (_, M) in zip(restored, masks, aligned)
        ]
        canvas = paste_faces(canvas, patches)
        alpha = resize(pic.alpha, (canvas.shape[1], canvas.shape[0])) if pic.alpha is not None else None
        timings["paste"] = time.perf_counter() - t
        if progress:
            progress("paste", 1, 1)

        if not faces:
            notes.append("No face found" + (" (try a lower detection threshold)" if found else "") + ".")
        records = [
            RestoredFace(f.box.copy(), f.landmarks.copy(), f.score, _to_uint8(c), _to_uint8(r))
            for f, c, r in zip(faces, crops, restored)
        ]
        timings["total"] = time.perf_counter() - t0
        return RestorationResult(pic.with_pixels(canvas, alpha), records, timings, notes, scale)

    def _restore_aligned(
        self,
        pic: Picture,
        opts: RestoreOptions,
        scale: float,
        gray: bool,
        timings: dict[str, float],
        notes: list[str],
        progress: Progress | None,
    ) -> RestorationResult:
        t = time.perf_counter()
        w, h = pic.size
        if w != h:
            notes.append(f"Aligned input is {w}x{h}, not square; it was stretched to {self.crop_size}x{self.crop_size}.")
        crop = resize(pic.rgb, (self.crop_size, self.crop_size), cv2.INTER_LINEAR if w < self.crop_size else cv2.INTER_AREA)
        restored = self.restore_crops([crop], opts.weight, opts.seed, 1, progress)[0]
        if gray:
            restored = _gray3(restored)
        out = resize(restored, output_size((w, h), scale))
        alpha = resize(pic.alpha, (out.shape[1], out.shape[0])) if pic.alpha is not None else None
        timings["restore"] = time.perf_counter() - t
        timings["total"] = sum(timings.values())
        lm = template_for(self.crop_size) * np.array([w / self.crop_size, h / self.crop_size])
        face = RestoredFace(np.array([0, 0, w, h], np.float32), lm.astype(np.float32), 1.0, _to_uint8(crop), _to_uint8(restored))
        return RestorationResult(pic.with_pixels(out, alpha), [face], timings, notes, scale)

    def _masks(self, restored: list[np.ndarray]) -> list[np.ndarray]:
        box = feathered_box(self.crop_size)
        if self.parser is None or not restored:
            return [box] * len(restored)
        return [m * box for m in self.parser.masks(restored)]  # type: ignore[attr-defined]

    @staticmethod
    def _limit_input(pic: Picture, opts: RestoreOptions, notes: list[str]) -> Picture:
        w, h = pic.size
        if opts.max_input_pixels is None or w * h <= opts.max_input_pixels:
            return pic
        f = math.sqrt(opts.max_input_pixels / (w * h))
        size = output_size((w, h), f)
        notes.append(f"The image ({w}x{h}) was downscaled to {size[0]}x{size[1]} to fit the {opts.max_input_pixels / 1e6:.0f} MP limit.")
        alpha = resize(pic.alpha, size) if pic.alpha is not None else None
        return pic.with_pixels(resize(pic.rgb, size), alpha)

    @staticmethod
    def _limit_scale(pic: Picture, opts: RestoreOptions, notes: list[str]) -> float:
        w, h = pic.size
        scale = opts.upscale
        if w * h * scale * scale > opts.max_output_pixels:
            scale = max(1.0, math.sqrt(opts.max_output_pixels / (w * h)))
            notes.append(f"Upscale lowered from {opts.upscale:g} to {scale:.2f} to keep the output under {opts.max_output_pixels / 1e6:.0f} MP.")
        return scale


__all__ = ["OptionsError", "Progress", "RestorationResult", "RestoreOptions", "RestoredFace", "Restorer", "pick_device", "Detection"]
