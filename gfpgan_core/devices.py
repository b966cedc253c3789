"""Which torch device a request runs on."""

from __future__ import annotations

import torch

from .errors import OptionsError

DEVICE_TYPES = ("cpu", "cuda", "mps")


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: CUDA when present, else the CPU; else one of cpu, cuda, cuda:N or mps, checked to exist.

    Raises:
        OptionsError: an unknown device, or one this machine does not have (one line).
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise OptionsError(f"Unknown device {device!r}: use auto, cpu, cuda, cuda:N or mps.") from None
    if dev.type not in DEVICE_TYPES:
        raise OptionsError(f"Device {device!r} cannot run models here: use auto, cpu, cuda, cuda:N or mps.")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise OptionsError(f"Device {device!r} was asked for but no CUDA GPU is available.")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise OptionsError(f"Device {device!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s).")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise OptionsError(f"Device {device!r} was asked for but Apple's MPS is not available.")
    return dev
