"""gfpgan_core: blind face restoration with GFPGAN (Wang et al., CVPR 2021).

    from gfpgan_core import Restorer
    restorer = Restorer.from_pretrained("v1.4")      # or a path to a .pth / .safetensors file
    result = restorer.restore("photo.jpg", upscale=2)
    result.image          # restored image (uint8/uint16 array, same channels as the input)
    result.faces          # per face: box, landmarks, score, input_crop, restored_crop

Importing this package downloads nothing and scans nothing.
"""

from .errors import (
    CheckpointError,
    GFPGANError,
    ImageError,
    InputNotFoundError,
    OptionsError,
    UnknownModelError,
    WeightsMissingError,
)
from .images import Picture, load_picture, read_image, write_image
from .options import RestoreOptions
from .pipeline import RestorationResult, RestoredFace, Restorer

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "GFPGANError",
    "ImageError",
    "InputNotFoundError",
    "OptionsError",
    "Picture",
    "RestorationResult",
    "RestoreOptions",
    "RestoredFace",
    "Restorer",
    "UnknownModelError",
    "WeightsMissingError",
    "load_picture",
    "read_image",
    "write_image",
]
