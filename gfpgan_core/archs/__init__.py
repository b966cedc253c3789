"""Pure-PyTorch architectures. They know nothing of files, the Hub, images or the UI."""

from .gfpganv1_clean import GFPGANConfig, GFPGANv1Clean, StyleGAN2GeneratorCSFT
from .srvgg import SRVGGConfig, SRVGGNetCompact
from .stylegan2_clean import StyleGAN2GeneratorClean

__all__ = [
    "GFPGANConfig",
    "GFPGANv1Clean",
    "SRVGGConfig",
    "SRVGGNetCompact",
    "StyleGAN2GeneratorCSFT",
    "StyleGAN2GeneratorClean",
]
