"""Pure-PyTorch architectures. They know nothing of files, the Hub, images or the UI."""

from typing import Protocol

import torch

from .codeformer import CodeFormer, CodeFormerConfig
from .gfpganv1 import GFPGANv1, GFPGANv1Config
from .gfpganv1_clean import GFPGANConfig, GFPGANv1Clean, StyleGAN2GeneratorCSFT
from .gpen import GPEN, GPENConfig
from .restoreformer import RestoreFormer, RestoreFormerConfig
from .restoreformer_pp import RestoreFormerPlusPlusConfig
from .srvgg import SRVGGConfig, SRVGGNetCompact
from .stylegan2_clean import StyleGAN2GeneratorClean


class FaceRestorerModel(Protocol):
    """What the pipeline asks of a face restorer: aligned faces in [-1, 1] (N, 3, out_size, out_size) in,
    restored faces out; ``noise`` fixes a StyleGAN's noise, ``fidelity`` is a model's own control
    (CodeFormer's w) where it has one, ignored otherwise."""

    out_size: int

    def restore_faces(
        self, x: torch.Tensor, noise: list[torch.Tensor] | None = None, fidelity: float | None = None
    ) -> torch.Tensor: ...


__all__ = [
    "GPEN",
    "CodeFormer",
    "CodeFormerConfig",
    "FaceRestorerModel",
    "GFPGANConfig",
    "GFPGANv1",
    "GFPGANv1Clean",
    "GFPGANv1Config",
    "GPENConfig",
    "RestoreFormer",
    "RestoreFormerConfig",
    "RestoreFormerPlusPlusConfig",
    "SRVGGConfig",
    "SRVGGNetCompact",
    "StyleGAN2GeneratorCSFT",
    "StyleGAN2GeneratorClean",
]
