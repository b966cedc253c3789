"""What the loader knows of an architecture: its name, its role, how to recognise its weights and how
to read its config from tensor shapes (as spandrel's per-architecture units do).

Each architecture module ends with one ``SPEC``; :mod:`gfpgan_core.archs.registry` lists them, and
the checkpoint loader and the part builders iterate that list. Adding an architecture is its own
file plus one registry line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import torch
from torch import nn

StateDict = dict[str, torch.Tensor]
FACE_RESTORER = "a face restorer"
BACKGROUND_UPSAMPLER = "a background upsampler"


class ArchConfig(Protocol):
    """A frozen dataclass of an architecture's constructor arguments."""

    def build(self) -> nn.Module: ...


C = TypeVar("C", bound=Any)


@dataclass(frozen=True)
class ArchSpec(Generic[C]):
    """One architecture.

    Attributes:
        name: the network's name as users and messages say it ("GFPGANv1Clean").
        role: what it is for: :data:`FACE_RESTORER` (aligned crop in, restored crop out; a network
            with a fidelity control of its own says so with ``has_fidelity = True``) or
            :data:`BACKGROUND_UPSAMPLER`.
        config: its config class; ``config.build()`` makes the network.
        telltale_keys: tensors that only this architecture's weights hold, all of them.
        infer_config: the config from the tensors' shapes (may raise KeyError or IndexError).
        default_weight: for a face restorer, the fidelity its authors' own tools run it at, as the
            pipeline's weight (1: the full restoration; CodeFormer's demo and CLI use w = 0.5, which is
            weight 0.5). A call that gives no weight gets this one.
        recognises: for weights whose telltale keys another architecture's also hold, what else tells
            them apart (RestoreFormer++ from RestoreFormer: both specs say), so no two specs match
            the same weights and the registry's order decides nothing.
    """

    name: str
    role: str
    config: type[C]
    telltale_keys: tuple[str, ...]
    infer_config: Callable[[StateDict], C]
    default_weight: float = 1.0
    recognises: Callable[[StateDict], bool] | None = None

    def matches(self, state: StateDict) -> bool:
        return all(key in state for key in self.telltale_keys) and (self.recognises is None or self.recognises(state))


def count_indices(state: StateDict, pattern: str) -> int:
    """How many distinct values the first group of ``pattern`` takes over the keys (layers, blocks)."""
    regex = re.compile(pattern)
    return len({m.group(1) for k in state if (m := regex.match(k))})


def tidy(x: float) -> float:
    """3.0 -> 3, 0.5 -> 0.5: configs read as the published ones are written."""
    return int(x) if float(x).is_integer() else x
