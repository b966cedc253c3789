"""Serving helpers for long-running front ends (the Gradio app, an HTTP server): which models are
available, which one to use by default and why, and restorers built once and shared.

No UI code here: front ends call these and present the results.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import zoo
from .errors import GFPGANError
from .pipeline import Restorer

PREFERENCE = ("v1.4", "v1.3", "v1.2")  # best first


@dataclass(frozen=True)
class ModelChoice:
    key: str  # what the UI sends back: a zoo name or "custom"
    label: str
    available: bool


class ModelService:
    """Thread-safe cache of :class:`Restorer` objects keyed by (model, detector, background).

    ``custom_model`` is a local weights file (e.g. a fine-tuned checkpoint) offered as "custom".
    """

    def __init__(
        self,
        custom_model: str | os.PathLike | None = None,
        device: str = "auto",
        weights_dir: str | os.PathLike | None = None,
        download: bool = True,
        log: Callable[[str], None] = print,
    ) -> None:
        self.custom_model = Path(custom_model) if custom_model else None
        if self.custom_model is not None and not self.custom_model.is_file():
            raise GFPGANError(f"No weights file at {self.custom_model}.")
        self.device = device
        self.weights_dir = weights_dir
        self.download = download and not zoo.is_offline()
        self.log = log
        self._restorers: dict[tuple[str, str, str], Restorer] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ what can be used
    def restorer_names(self) -> list[str]:
        names = list(PREFERENCE) + [e.name for e in zoo.ZOO.values() if e.kind == "restorer" and e.name not in PREFERENCE]
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
            if not available:
                label += " (downloads on first use)" if self.download else " (weights not available offline)"
            out.append(ModelChoice(key, label, available))
        return out

    def default_model(self) -> tuple[str | None, str]:
        """(model key, the reason in words) — the best model whose weights can be had now."""
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
            return bundled[0], (
                f"no published GFPGAN weights are available offline, so the small model trained by this project "
                f"({bundled[0]}) is used; run `python -m gfpgan_core download v1.4` for the real thing"
            )
        return None, "no model weights are available: run `python -m gfpgan_core download v1.4`"

    # ------------------------------------------------------------ restorers, built once
    def get(self, key: str, detector: str = "auto", background: str = "auto") -> Restorer:
        cache_key = (key, detector, background)
        with self._lock:  # one build at a time; later calls reuse it
            restorer = self._restorers.get(cache_key)
            if restorer is None:
                model = str(self.custom_model) if key == "custom" else key
                restorer = Restorer.from_pretrained(
                    model,
                    device=self.device,
                    detector=detector,
                    background=background,
                    weights_dir=self.weights_dir,
                    download=self.download,
                    log_fn=self.log,
                )
                if key == "custom":
                    restorer.model_name = f"custom ({self.custom_model.name})"  # type: ignore[union-attr]
                self._restorers[cache_key] = restorer
                self.log(f"loaded {restorer.describe()}")
            return restorer

    def warm_up(self) -> None:
        """Fetch and load the default model at start, so the first visitor does not wait for it."""
        key, why = self.default_model()
        self.log(f"default model: {key} — {why}")
        if key is not None:
            try:
                self.get(key)
            except GFPGANError as exc:
                self.log(f"could not load {key}: {exc}")
