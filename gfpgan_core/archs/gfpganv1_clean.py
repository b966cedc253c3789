"""GFPGANv1Clean: U-Net degradation removal feeding a StyleGAN2 prior through CS-SFT layers.

Constructor arguments, ``forward`` signature and parameter names are those of the reference
implementation (Wang et al., CVPR 2021), so published v1.2 / v1.3 / v1.4 checkpoints load as-is.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .spec import FACE_RESTORER, ArchSpec, StateDict, count_indices, tidy
from .stylegan2_clean import StyleGAN2GeneratorClean, stylegan_channels


@dataclass(frozen=True)
class GFPGANConfig:
    """Constructor arguments of :class:`GFPGANv1Clean` (the architecture's whole shape)."""

    out_size: int = 512
    num_style_feat: int = 512
    channel_multiplier: float = 2
    num_mlp: int = 8
    input_is_latent: bool = True
    different_w: bool = True
    narrow: float = 1
    sft_half: bool = True

    def build(self) -> GFPGANv1Clean:
        return GFPGANv1Clean(**asdict(self), fix_decoder=False)


class StyleGAN2GeneratorCSFT(StyleGAN2GeneratorClean):
    """StyleGAN2 decoder whose features are modulated by spatial (scale, shift) conditions."""

    def __init__(
        self,
        out_size: int,
        num_style_feat: int = 512,
        num_mlp: int = 8,
        channel_multiplier: float = 2,
        narrow: float = 1,
        sft_half: bool = False,
    ) -> None:
        super().__init__(out_size, num_style_feat, num_mlp, channel_multiplier, narrow)
        self.sft_half = sft_half

    def forward(  # type: ignore[override]
        self,
        styles: torch.Tensor,
        conditions: list[torch.Tensor],
        input_is_latent: bool = False,
        noise: list[torch.Tensor] | None = None,
        randomize_noise: bool = True,
        return_latents: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        def sft(features: torch.Tensor, level: int) -> torch.Tensor:
            if 2 * level + 1 >= len(conditions):
                return features
            scale, shift = conditions[2 * level], conditions[2 * level + 1]
            if not self.sft_half:
                return features * scale + shift
            # channel-split SFT: half the channels keep the prior, half take the conditions
            same, modulated = torch.split(features, features.size(1) // 2, dim=1)
            return torch.cat([same, modulated * scale + shift], dim=1)

        return super().forward(
            styles,
            input_is_latent=input_is_latent,
            noise=noise,
            randomize_noise=randomize_noise,
            return_latents=return_latents,
            feature_hook=sft,
        )


class ResBlock(nn.Module):
    """Residual block that resamples by 2 (bilinear) between its two convs."""

    def __init__(self, in_channels: int, out_channels: int, mode: str = "down") -> None:
        super().__init__()
        if mode not in ("down", "up"):
            raise ValueError(f"mode must be 'down' or 'up', not {mode!r}")
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, 1, 1)
        self.conv2 = nn.Conv2d(in_channels, out_channels, 3, 1, 1)
        self.skip = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.scale_factor = 0.5 if mode == "down" else 2.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.leaky_relu(self.conv1(x), negative_slope=0.2)
        out = F.interpolate(out, scale_factor=self.scale_factor, mode="bilinear", align_corners=False)
        out = F.leaky_relu(self.conv2(out), negative_slope=0.2)
        x = F.interpolate(x, scale_factor=self.scale_factor, mode="bilinear", align_corners=False)
        return out + self.skip(x)


def _sft_branch(channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, 1, 1), nn.LeakyReLU(0.2, True), nn.Conv2d(channels, out_channels, 3, 1, 1)
    )


class GFPGANv1Clean(nn.Module):
    """The GFPGAN generator (v1.2 and later) without custom CUDA extensions."""

    def __init__(
        self,
        out_size: int,
        num_style_feat: int = 512,
        channel_multiplier: float = 1,
        decoder_load_path: str | None = None,
        fix_decoder: bool = True,
        num_mlp: int = 8,
        input_is_latent: bool = False,
        different_w: bool = False,
        narrow: float = 1,
        sft_half: bool = False,
    ) -> None:
        super().__init__()
        self.input_is_latent = input_is_latent
        self.different_w = different_w
        self.num_style_feat = num_style_feat
        self.out_size = out_size

        channels = stylegan_channels(channel_multiplier, narrow * 0.5)  # the U-Net is half as wide
        self.log_size = int(math.log2(out_size))

        self.conv_body_first = nn.Conv2d(3, channels[out_size], 1)
        in_channels = channels[out_size]
        self.conv_body_down = nn.ModuleList()
        for i in range(self.log_size, 2, -1):
            out_channels = channels[2 ** (i - 1)]
            self.conv_body_down.append(ResBlock(in_channels, out_channels, mode="down"))
            in_channels = out_channels
        self.final_conv = nn.Conv2d(in_channels, channels[4], 3, 1, 1)

        in_channels = channels[4]
        self.conv_body_up = nn.ModuleList()
        for i in range(3, self.log_size + 1):
            out_channels = channels[2**i]
            self.conv_body_up.append(ResBlock(in_channels, out_channels, mode="up"))
            in_channels = out_channels
        self.toRGB = nn.ModuleList(nn.Conv2d(channels[2**i], 3, 1) for i in range(3, self.log_size + 1))

        num_latent = (self.log_size * 2 - 2) if different_w else 1
        self.final_linear = nn.Linear(channels[4] * 4 * 4, num_latent * num_style_feat)

        self.stylegan_decoder = StyleGAN2GeneratorCSFT(
            out_size=out_size,
            num_style_feat=num_style_feat,
            num_mlp=num_mlp,
            channel_multiplier=channel_multiplier,
            narrow=narrow,
            sft_half=sft_half,
        )
        if decoder_load_path:
            state = torch.load(decoder_load_path, map_location="cpu", weights_only=True)
            self.stylegan_decoder.load_state_dict(state.get("params_ema", state))
        if fix_decoder:
            self.stylegan_decoder.requires_grad_(False)

        self.condition_scale = nn.ModuleList()
        self.condition_shift = nn.ModuleList()
        for i in range(3, self.log_size + 1):
            ch = channels[2**i]
            sft_out = ch if sft_half else ch * 2
            self.condition_scale.append(_sft_branch(ch, sft_out))
            self.condition_shift.append(_sft_branch(ch, sft_out))

    def encode(
        self, x: torch.Tensor, return_rgb: bool = True
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """U-Net pass: (style code, [scale0, shift0, scale1, ...], intermediate RGB images)."""
        conditions: list[torch.Tensor] = []
        out_rgbs: list[torch.Tensor] = []
        unet_skips: list[torch.Tensor] = []
        feat = F.leaky_relu(self.conv_body_first(x), negative_slope=0.2)
        for down in self.conv_body_down:
            feat = down(feat)
            unet_skips.insert(0, feat)
        feat = F.leaky_relu(self.final_conv(feat), negative_slope=0.2)

        style_code = self.final_linear(feat.flatten(1))
        if self.different_w:
            style_code = style_code.view(style_code.size(0), -1, self.num_style_feat)

        for skip, up, to_scale, to_shift, to_rgb in zip(
            unet_skips, self.conv_body_up, self.condition_scale, self.condition_shift, self.toRGB, strict=False
        ):
            feat = up(feat + skip)
            conditions += [to_scale(feat), to_shift(feat)]
            if return_rgb:
                out_rgbs.append(to_rgb(feat))
        return style_code, conditions, out_rgbs

    def forward(
        self,
        x: torch.Tensor,
        return_latents: bool = False,
        return_rgb: bool = True,
        randomize_noise: bool = True,
        noise: list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Restore a batch of aligned faces in [-1, 1]; returns (image, intermediate RGBs)."""
        style_code, conditions, out_rgbs = self.encode(x, return_rgb=return_rgb)
        image, _ = self.stylegan_decoder(
            style_code,
            conditions,
            input_is_latent=self.input_is_latent,
            noise=noise,
            randomize_noise=randomize_noise,
            return_latents=return_latents,
        )
        return image, out_rgbs

    def restore_faces(
        self, x: torch.Tensor, noise: list[torch.Tensor] | None = None, fidelity: float | None = None
    ) -> torch.Tensor:
        """The pipeline's interface: faces in [-1, 1] -> restored faces, with the stored (or given) noise.
        GFPGAN has no fidelity control of its own (the pipeline blends with the input instead)."""
        return self(x, return_rgb=False, randomize_noise=False, noise=noise)[0]


def gfpgan_shape(state: StateDict) -> dict[str, Any]:
    """The shape both GFPGAN generations share, from their tensors (the same module names hold it):
    size, style width, channel multiplier and narrowing, MLP depth, one or many latents, SFT split."""
    log_size = count_indices(state, r"conv_body_down\.(\d+)\.") + 2
    num_style_feat = state["stylegan_decoder.to_rgb1.modulated_conv.modulation.weight"].shape[1]
    narrow = state["stylegan_decoder.constant_input.weight"].shape[1] / 512
    channel_multiplier: float = 1
    if log_size >= 6:  # the 64x64 level is the first whose width depends on the multiplier
        c64 = state["stylegan_decoder.style_convs.6.modulated_conv.weight"].shape[1]
        channel_multiplier = c64 / (256 * narrow)
    return {
        "out_size": 2**log_size,
        "num_style_feat": num_style_feat,
        "channel_multiplier": tidy(channel_multiplier),
        "num_mlp": count_indices(state, r"stylegan_decoder\.style_mlp\.(\d+)\.weight"),
        "different_w": state["final_linear.weight"].shape[0] == (2 * log_size - 2) * num_style_feat,
        "narrow": tidy(narrow),
        "sft_half": state["condition_scale.0.2.weight"].shape[0] == state["condition_scale.0.0.weight"].shape[0],
    }


def infer_config(state: StateDict) -> GFPGANConfig:
    """Any GFPGANv1Clean size from its tensors (v1.2, v1.3, v1.4 and smaller ones alike)."""
    # input_is_latent is not visible in weights; every published checkpoint uses True
    return GFPGANConfig(**gfpgan_shape(state), input_is_latent=True)


SPEC = ArchSpec(
    name="GFPGANv1Clean",
    role=FACE_RESTORER,
    config=GFPGANConfig,
    # a plain first conv (GFPGANv1's is a ConvLayer sequential: conv_body_first.0.weight)
    telltale_keys=("conv_body_first.weight", "stylegan_decoder.constant_input.weight", "final_linear.weight"),
    infer_config=infer_config,
)
