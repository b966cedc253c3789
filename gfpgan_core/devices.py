"""Which torch device a request runs on."""

from __future__ import annotations

import torch

from .errors import OptionsError


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else the CPU; anything else as named, checked to exist."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise OptionsError("device 'cuda' was asked for but no CUDA GPU is available.")
    return dev
