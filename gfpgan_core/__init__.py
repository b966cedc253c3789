"""gfpgan_core: blind face restoration with GFPGAN (Wang et al., CVPR 2021).

    from gfpgan_core import Restorer
    restorer = Restorer.from_pretrained("v1.4")      # or a path to a .pth / .safetensors file
    result = restorer.restore("photo.jpg", upscale=2)
    result.image          # restored image (uint8/uint16 array, same channels as the input)
    result.faces          # per face: box, landmarks, score, input_crop, restored_crop
    result.face_count.sentence()  # "5 faces found: the 3 largest restored, 2 left as they were"

Importing this package downloads nothing and scans nothing; torch and OpenCV load with the first
name that needs them (so ``gfpgan --help`` answers at once).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    CheckpointError,
    GFPGANError,
    ImageError,
    InputNotFoundError,
    OptionsError,
    UnknownModelError,
    WeightsMissingError,
)
from .options import RestoreOptions

if TYPE_CHECKING:
    from .images import Picture, load_picture, read_image, write_image
    from .pipeline import RestorationResult, RestoredFace, Restorer, RestorerSpec
    from .results import FaceCount

_LAZY = {  # name -> the module that defines it, imported on first use
    "Picture": "images",
    "load_picture": "images",
    "read_image": "images",
    "write_image": "images",
    "FaceCount": "results",
    "RestorationResult": "results",
    "RestoredFace": "results",
    "Restorer": "pipeline",
    "RestorerSpec": "pipeline",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # once
    return value


__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "FaceCount",
    "GFPGANError",
    "ImageError",
    "InputNotFoundError",
    "OptionsError",
    "Picture",
    "RestorationResult",
    "RestoreOptions",
    "RestoredFace",
    "Restorer",
    "RestorerSpec",
    "UnknownModelError",
    "WeightsMissingError",
    "load_picture",
    "read_image",
    "write_image",
]
