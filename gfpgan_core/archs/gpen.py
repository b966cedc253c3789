"""GPEN (Yang et al., CVPR 2021, "GAN Prior Embedded Network"): an encoder whose features are both the
StyleGAN2 generator's latent (its last layer) and, concatenated where StyleGAN2 adds noise, the detail
of the degraded face at every resolution. The blind-face-restoration models (GPEN-BFR-256, -512, and
the later -1024 and -2048) are this one network at different sizes.

Written for this project over the original StyleGAN2 blocks of gfpganv1.py (the same FIR filter,
equalised layers and fused activation); module names follow the published ``GPEN-BFR-*.pth`` (yangxy/
GPEN, a state dict of ``FullGenerator``), so they load unchanged. The same function as the reference
(``face_model/gpen_model.py``, its CPU path): tests/fixtures/gpen_parity_64.pth.

Each size is aligned as its authors do it: their five-point template (``align_faces.py``,
``get_reference_facial_points((size, size), inner_padding_factor=0.25, outer_padding=(0, 0),
default_square=True)``) holds the face smaller than FFHQ's (eyes 107 px apart at 512 where FFHQ's are
126), so a GPEN crop is made with :data:`GPEN_TEMPLATE_512`, scaled to the model's size.

Licence: the GPEN README said "academic and non-commercial use only" until early 2026 and carries no
licence now; the zoo says so, and nothing downloads its weights unless asked for by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .gfpganv1 import ConvLayer, EqualLinear, FirFilter, FusedLeakyReLU, ModulatedConv2d, NormStyleCode
from .spec import FACE_RESTORER, ArchSpec, StateDict, count_indices
from .stylegan2_clean import stylegan_channels

# The authors' five points (eyes, nose, mouth corners) in a 512 x 512 GPEN crop, from align_faces.py
GPEN_TEMPLATE_512 = np.array(
    [[202.04, 242.88], [309.43, 242.29], [256.08, 303.96], [211.96, 366.83], [300.89, 366.34]], dtype=np.float64
)


class ConcatNoise(nn.Module):
    """Where StyleGAN2 adds noise, GPEN concatenates the encoder's features, scaled by ``weight``."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, self.weight * features), dim=1)


class StyledConv(nn.Module):
    def __init__(self, cin: int, cout: int, style_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(cin, cout, 3, style_dim, upsample=upsample, filter_name="blur")
        self.noise = ConcatNoise()
        self.activate = FusedLeakyReLU(cout * 2)

    def forward(self, x: torch.Tensor, style: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        return self.activate(self.noise(self.conv(x, style), features))


class ToRGB(nn.Module):
    def __init__(self, cin: int, style_dim: int, upsample: bool = True) -> None:
        super().__init__()
        if upsample:
            self.upsample = FirFilter((2, 1), scale=4.0, up=2, persistent=True)
        self.conv = ModulatedConv2d(cin, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        return out if skip is None else out + self.upsample(skip)


class ConstantInput(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.input = nn.Parameter(torch.randn(1, channels, 4, 4))


class Generator(nn.Module):
    """StyleGAN2's synthesis network, the encoder's features concatenated at every layer."""

    def __init__(self, cfg: GPENConfig) -> None:
        super().__init__()
        ch = stylegan_channels(cfg.channel_multiplier, cfg.narrow)
        self.style = nn.Sequential(
            NormStyleCode(),
            *(EqualLinear(cfg.style_dim, cfg.style_dim, lr_mul=0.01, activation=True) for _ in range(cfg.n_mlp)),
        )
        self.input = ConstantInput(ch[4])
        self.conv1 = StyledConv(ch[4], ch[4], cfg.style_dim)
        self.to_rgb1 = ToRGB(ch[4] * 2, cfg.style_dim, upsample=False)
        self.convs, self.to_rgbs = nn.ModuleList(), nn.ModuleList()
        cin = ch[4]
        for i in range(3, int(math.log2(cfg.size)) + 1):
            cout = ch[2**i]
            self.convs.append(StyledConv(cin * 2, cout, cfg.style_dim, upsample=True))
            self.convs.append(StyledConv(cout * 2, cout, cfg.style_dim))
            self.to_rgbs.append(ToRGB(cout * 2, cfg.style_dim))
            cin = cout

    def forward(self, code: torch.Tensor, features: list[torch.Tensor]) -> torch.Tensor:
        """``code``: (b, style_dim) before the mapping network; ``features``: the encoder's, 4 px first."""
        style = self.style(code)  # one style for every layer, as the reference's single code
        out = self.conv1(self.input.input.repeat(code.shape[0], 1, 1, 1), style, features[0])
        skip = self.to_rgb1(out, style)
        for k, to_rgb in enumerate(self.to_rgbs):
            out = self.convs[2 * k](out, style, features[k + 1])
            out = self.convs[2 * k + 1](out, style, features[k + 1])
            skip = to_rgb(out, style, skip)
        return skip


@dataclass(frozen=True)
class GPENConfig:
    """GPEN-BFR-512 is the default; ``size`` is the face crop's side (256, 512, 1024, 2048)."""

    size: int = 512
    style_dim: int = 512
    n_mlp: int = 8
    channel_multiplier: float = 2
    narrow: float = 1.0

    def build(self) -> GPEN:
        return GPEN(self)


class GPEN(nn.Module):
    """(N, 3, S, S) faces in [-1, 1] aligned to GPEN's template -> restored faces in [-1, 1]."""

    face_template_512 = GPEN_TEMPLATE_512  # the pipeline aligns this model's crops to it

    def __init__(self, config: GPENConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or GPENConfig()
        self.out_size = cfg.size
        ch = stylegan_channels(cfg.channel_multiplier, cfg.narrow)
        levels = int(math.log2(cfg.size))
        self.generator = Generator(cfg)
        self.ecd0 = nn.Sequential(ConvLayer(3, ch[cfg.size], 1))
        for k, i in enumerate(range(levels, 2, -1), start=1):  # down to 4 px, one stride-2 layer each
            self.add_module(f"ecd{k}", nn.Sequential(ConvLayer(ch[2**i], ch[2 ** (i - 1)], 3, True, persistent=True)))
        self.encoders = levels - 1
        self.final_linear = nn.Sequential(EqualLinear(ch[4] * 16, cfg.style_dim, activation=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = []
        for k in range(self.encoders):
            x = getattr(self, f"ecd{k}")(x)
            features.append(x)
        code = self.final_linear(x.flatten(1))
        return self.generator(code, features[::-1])

    def restore_faces(
        self, x: torch.Tensor, noise: list[torch.Tensor] | None = None, fidelity: float | None = None
    ) -> torch.Tensor:
        """The pipeline's interface, as the authors' FaceGAN.process calls the network (no noise of its
        own: its "noise" is the encoder's features; no fidelity control)."""
        return self(x)


def infer_config(state: StateDict) -> GPENConfig:
    """GPEN's size, width and mapping depth from its tensors: the 4 px channels are 512 x ``narrow``,
    the input resolution's are its base width x ``channel_multiplier`` x ``narrow``."""
    size = 2 ** (count_indices(state, r"ecd(\d+)\.") + 1)
    narrow = state["generator.input.input"].shape[1] / 512
    at_size = state["ecd0.0.0.weight"].shape[0]
    multiplier = at_size / (stylegan_channels(1, 1)[size] * narrow) if size > 32 else 1
    return GPENConfig(
        size=size,
        style_dim=state["final_linear.0.weight"].shape[0],
        n_mlp=count_indices(state, r"generator\.style\.(\d+)\.weight"),
        channel_multiplier=int(multiplier) if float(multiplier).is_integer() else multiplier,
        narrow=narrow,
    )


SPEC = ArchSpec(
    name="GPEN",
    role=FACE_RESTORER,
    config=GPENConfig,
    telltale_keys=("ecd0.0.0.weight", "final_linear.0.weight", "generator.input.input"),
    infer_config=infer_config,
)
