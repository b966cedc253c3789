"""Serving helpers for long-running front ends (the Gradio app, an HTTP server): which models are
available, which one to use by default and why, and the parts of restorers built once and shared.

No UI code here: front ends call these and present the results.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from . import zoo
from .archs.registry import default_weight
from .devices import pick_device
from .errors import GFPGANError, InputNotFoundError, UnknownModelError, WeightsMissingError
from .expressions import ExpressionClassifier
from .faces import FaceDetector
from .options import DETECTORS, RUNTIMES, TASKS, UPSAMPLERS, check_choice
from .parts import (
    Built,
    FaceModel,
    build_detector,
    build_expression_classifier,
    build_parser,
    build_upsampler,
    load_face_model,
)
from .pipeline import Restorer

log = logging.getLogger(__name__)
PREFERENCE = ("v1.4", "v1.3", "v1.2")  # best first
T = TypeVar("T")


@dataclass(frozen=True)
class ModelChoice:
    key: str  # what the UI sends back: a zoo name or "custom"
    label: str
    available: bool  # its weights are on this server
    can_run: bool = True  # available, or downloadable from here


class ModelService:
    """The models a server offers, each part built once and shared by every request.

    One network per model key, one detector per name, one upsampler per name and one face parser,
    composed into a :class:`Restorer` per request (composition costs nothing). A part is built under
    its own lock, so a request never waits behind the download of a part it does not use; parts
    already built are read without any lock.

    Args:
        custom_model: a local weights file (e.g. a fine-tuned checkpoint) offered as "custom".
        device: "auto", "cpu", "cuda", ... (float16 on CUDA).
        weights_dir: the weights cache (default ``$GFPGAN_WEIGHTS_DIR`` or ``weights/``).
        download: fetch missing weights (never when ``HF_HUB_OFFLINE`` is set).
        runtime: what runs the face models, one of :data:`~gfpgan_core.options.RUNTIMES`.

    Raises:
        InputNotFoundError: ``custom_model`` is not a file.
    """

    def __init__(
        self,
        custom_model: str | os.PathLike | None = None,
        device: str = "auto",
        weights_dir: str | os.PathLike | None = None,
        download: bool = True,
        runtime: str = "auto",
    ) -> None:
        check_choice("runtime", runtime, RUNTIMES)
        self.runtime = runtime
        self.custom_model = Path(custom_model) if custom_model else None
        if self.custom_model is not None and not self.custom_model.is_file():
            raise InputNotFoundError(f"No weights file at {self.custom_model}.")
        self.device = pick_device(device)
        self.half = self.device.type == "cuda"
        self.weights_dir = weights_dir
        self.download = download and not zoo.is_offline()
        self.download_failure: str | None = None  # why downloads were given up, once they were
        self._parts: dict[tuple[str, str], Any] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # ------------------------------------------------------------ what can be used
    def restorer_names(self) -> list[str]:
        names = list(PREFERENCE) + [  # restorers: the checkpoints for other tasks are the command line's
            e.name
            for e in zoo.ZOO.values()
            if e.kind == "restorer" and e.task == "restore" and e.name not in PREFERENCE
        ]
        return (["custom"] if self.custom_model else []) + names

    def is_available(self, key: str) -> bool:
        if key == "custom":
            return self.custom_model is not None
        return zoo.is_available(zoo.get_entry(key), self.weights_dir)

    def choices(self) -> list[ModelChoice]:
        out = []
        for key in self.restorer_names():
            if key == "custom":
                label = f"custom: {self.custom_model.name}"  # type: ignore[union-attr]
            else:
                label = f"{key} — {zoo.get_entry(key).description}"
            available = self.is_available(key)
            if not available and self.download:
                label += " (downloads on first use)"
            out.append(ModelChoice(key, label, available, available or self.download))
        return out

    def can_run(self, key: str) -> bool:
        """Whether model ``key`` can run here: its weights are on disk, or downloads are on."""
        return self.is_available(key) or (self.download and key != "custom")

    def download_command(self, key: str) -> str:
        """The operator's command that fetches model ``key``'s weights (for the log, not for visitors)."""
        return zoo.get_entry(key).download_command() if key != "custom" else "--model-path FILE"

    def detectors(self) -> list[str]:
        """The detector choices that can run here (RetinaFace needs its weights, or downloads)."""
        retinaface = zoo.is_available(zoo.get_entry("retinaface"), self.weights_dir) or self.download
        return [name for name in DETECTORS if name != "retinaface" or retinaface]

    def default_model(self, for_visitors: bool = False) -> tuple[str | None, str]:
        """(model key, the reason in words) — the best model whose weights can be had now. The reason
        names the command that fetches better weights, for operators; ``for_visitors`` leaves it out."""
        if self.custom_model is not None:
            return "custom", f"using the weights file given at start ({self.custom_model.name})"
        for key in PREFERENCE:
            if self.is_available(key):
                better = PREFERENCE[: PREFERENCE.index(key)]
                why = f"{key} is the best model on disk" + (f" ({', '.join(better)} not downloaded)" if better else "")
                return key, why
        if self.download:
            return PREFERENCE[0], f"{PREFERENCE[0]} is the best published model; its weights download on first use"
        bundled = [e.name for e in zoo.ZOO.values() if e.kind == "restorer" and e.bundled and zoo.is_available(e)]
        if bundled:
            command = zoo.get_entry(PREFERENCE[0]).download_command()
            return bundled[0], (
                f"no published GFPGAN weights are available offline, so the small model trained by this project "
                f"({bundled[0]}) is used" + ("" if for_visitors else f"; run `{command}` for the real thing")
            )
        command = zoo.get_entry(PREFERENCE[0]).download_command()
        return None, f"{self.missing_reason()}: run `{command}`"

    def missing_reason(self) -> str:
        """Why no model can run, in words for anyone (no command: a visitor cannot run one)."""
        failure = f" ({self.download_failure})" if self.download_failure else ""
        return f"no model weights are available{failure}"

    # ------------------------------------------------------------ parts, built once
    def _part(self, kind: str, name: str, build: Callable[[], T]) -> T:
        key = (kind, name)
        if key in self._parts:  # the common case: built already, no lock
            return self._parts[key]
        with self._locks_guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one build per part; other parts stay free meanwhile
            if key not in self._parts:
                self._parts[key] = build()
                log.info(f"loaded the {kind} {name}")
            return self._parts[key]

    def _face_model(self, key: str) -> FaceModel:
        model = str(self.custom_model) if key == "custom" else key
        loaded = load_face_model(
            model, self.weights_dir, self.download, device=self.device, half=self.half, runtime=self.runtime
        )
        return replace(loaded, name=f"custom ({loaded.name})") if key == "custom" else loaded

    def check_key(self, key: object) -> str:
        """``key`` if it is one of :meth:`restorer_names`: a client never names a file or a new cache entry."""
        names = self.restorer_names()
        if not isinstance(key, str) or key not in names:
            raise UnknownModelError(f"Unknown model {str(key)[:60]!r}: choose one of {', '.join(names)}.")
        return key

    def load(self, key: str) -> str:
        """Load model ``key`` now (once) and return its display name; a file that cannot serve as a
        face restorer fails here, in one line, rather than on every request."""
        self.check_key(key)
        return self._part("model", key, lambda: self._face_model(key)).name

    def default_weight(self, key: str) -> float:
        """The fidelity weight model ``key`` runs at when a request gives none (its registry entry's),
        without loading a zoo model; a custom file is read once (as the server does at start)."""
        self.check_key(key)
        if key == "custom":
            return default_weight(getattr(self._part("model", key, lambda: self._face_model(key)).net, "config", None))
        return default_weight(zoo.get_entry(key).config)

    def _detector(self, name: str) -> Built[FaceDetector]:
        return self._part("detector", name, lambda: build_detector(name, self.device, self.weights_dir, self.download))

    def detection_threshold(self, detector: str = "auto") -> float:
        """The calibrated default threshold of the detector that ``detector`` is on this server."""
        check_choice("detector", detector, DETECTORS)
        return self._detector(detector)[0].default_threshold

    def expression_classifier(self) -> ExpressionClassifier:
        return self._part("expressions", "fer", lambda: build_expression_classifier(self.device))

    def get(self, key: str, detector: str = "auto", upsampler: str = "auto") -> Restorer:
        """A restorer for model ``key`` with the named detector and background upsampler."""
        check_choice("detector", detector, DETECTORS)
        check_choice("upsampler", upsampler, UPSAMPLERS)
        self.check_key(key)
        return self._compose(key, detector, upsampler)

    def task_restorer(self, task: str) -> tuple[str, Restorer]:
        """(the zoo name, a restorer) of the checkpoint made for ``task`` ("colorize", "inpaint"): for
        aligned faces, so with the offline detector and no background network."""
        check_choice("task", task, TASKS[1:])
        key = zoo.entry_for_task(task).name
        return key, self._compose(key, "yunet", "lanczos")

    def _compose(self, key: str, detector: str, upsampler: str) -> Restorer:
        return Restorer.from_parts(
            self._part("model", key, lambda: self._face_model(key)),
            detector=self._detector(detector),
            upsampler=self._part(
                "upsampler",
                upsampler,
                lambda: build_upsampler(
                    upsampler, self.device, self.half, self.weights_dir, self.download, self.runtime
                ),
            ),
            parser=self._part(
                "parser", "auto", lambda: build_parser("auto", self.device, self.weights_dir, self.download)
            ),
            device=self.device,
            half=self.half,
            expressions=self.expression_classifier,  # built once, on the first request that asks
        )

    def warm_up(self) -> None:
        """Fetch and load the default model at start, so the first visitor does not wait for it."""
        key, why = self.default_model()
        log.info(f"default model: {key} — {why}")
        if key is not None:
            try:
                log.info(f"ready: {self.get(key).describe()}")
            except WeightsMissingError as exc:
                log.warning(f"could not load {key}: {exc}")
                if self.download:  # the download was tried and failed: say what the server now knows
                    self.download = False
                    self.download_failure = "the weights could not be downloaded when the server started"
            except GFPGANError as exc:
                log.warning(f"could not load {key}: {exc}")
