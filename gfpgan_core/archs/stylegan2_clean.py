"""StyleGAN2 generator without custom CUDA ops (the "clean" variant GFPGAN v1.2+ builds on).

Parameter names and shapes follow the published checkpoints exactly, so state dicts load unchanged.

Modulated convolutions are computed the non-fused way (scale activations per input channel, one
ordinary convolution shared by the batch, then demodulate per output channel). That is the same
function as the grouped-conv form of the reference, but a batch of B faces costs one convolution
per layer instead of a B-group convolution with B freshly built weight tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F


def stylegan_channels(channel_multiplier: float, narrow: float) -> dict[int, int]:
    """Feature channels per resolution, as in the reference generator."""
    return {
        4: int(512 * narrow),
        8: int(512 * narrow),
        16: int(512 * narrow),
        32: int(512 * narrow),
        64: int(256 * channel_multiplier * narrow),
        128: int(128 * channel_multiplier * narrow),
        256: int(64 * channel_multiplier * narrow),
        512: int(32 * channel_multiplier * narrow),
        1024: int(16 * channel_multiplier * narrow),
        2048: int(8 * channel_multiplier * narrow),  # GPEN-BFR-2048
    }


class NormStyleCode(nn.Module):
    """Pixel norm of the input latent (first layer of the mapping MLP)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x**2, dim=1, keepdim=True) + 1e-8)


class ModulatedConv2d(nn.Module):
    """Style-modulated convolution with optional demodulation and bilinear upsampling."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        num_style_feat: int,
        demodulate: bool = True,
        upsample: bool = False,
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.demodulate = demodulate
        self.upsample = upsample
        self.eps = eps
        self.modulation = nn.Linear(num_style_feat, in_channels, bias=True)
        nn.init.kaiming_normal_(self.modulation.weight, a=0, mode="fan_in", nonlinearity="linear")
        nn.init.constant_(self.modulation.bias, 1.0)
        self.weight = nn.Parameter(
            torch.randn(1, out_channels, in_channels, kernel_size, kernel_size)
            / math.sqrt(in_channels * kernel_size**2)
        )

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        style = self.modulation(style)  # (B, in)
        weight = self.weight[0]  # (out, in, k, k)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        out = F.conv2d(x * style[:, :, None, None], weight, padding=self.kernel_size // 2)
        if self.demodulate:
            # sum_{i,k} (w[o,i,k] * s[b,i])^2 == sum_i s[b,i]^2 * sum_k w[o,i,k]^2
            weight_energy = weight.pow(2).sum(dim=(2, 3))  # (out, in)
            demod = torch.rsqrt(style.pow(2) @ weight_energy.t() + self.eps)  # (B, out)
            out = out * demod[:, :, None, None]
        return out


class StyleConv(nn.Module):
    """Modulated conv + noise injection + bias + leaky ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, num_style_feat: int, upsample: bool = False
    ) -> None:
        super().__init__()
        self.modulated_conv = ModulatedConv2d(
            in_channels, out_channels, kernel_size, num_style_feat, demodulate=True, upsample=upsample
        )
        self.weight = nn.Parameter(torch.zeros(1))  # noise strength
        self.bias = nn.Parameter(torch.zeros(1, out_channels, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        out = self.modulated_conv(x, style) * 2**0.5  # gain of the equalised leaky ReLU
        if noise is None:
            b, _, h, w = out.shape
            noise = out.new_empty(b, 1, h, w).normal_()
        out = out + self.weight * noise + self.bias
        return F.leaky_relu(out, negative_slope=0.2)


class ToRGB(nn.Module):
    """1x1 modulated conv to RGB, added to the upsampled skip image."""

    def __init__(self, in_channels: int, num_style_feat: int, upsample: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.modulated_conv = ModulatedConv2d(in_channels, 3, 1, num_style_feat, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.modulated_conv(x, style) + self.bias
        if skip is not None:
            if self.upsample:
                skip = F.interpolate(skip, scale_factor=2, mode="bilinear", align_corners=False)
            out = out + skip
        return out


class ConstantInput(nn.Module):
    def __init__(self, num_channel: int, size: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, num_channel, size, size))

    def forward(self, batch: int) -> torch.Tensor:
        return self.weight.expand(batch, -1, -1, -1)


class StyleGAN2GeneratorClean(nn.Module):
    """StyleGAN2 generator: mapping MLP, constant input, style convs, to-RGB skips, stored noise."""

    def __init__(
        self,
        out_size: int,
        num_style_feat: int = 512,
        num_mlp: int = 8,
        channel_multiplier: float = 2,
        narrow: float = 1,
    ) -> None:
        super().__init__()
        self.num_style_feat = num_style_feat
        mlp: list[nn.Module] = [NormStyleCode()]
        for _ in range(num_mlp):
            mlp += [nn.Linear(num_style_feat, num_style_feat), nn.LeakyReLU(0.2, inplace=True)]
        self.style_mlp = nn.Sequential(*mlp)

        channels = stylegan_channels(channel_multiplier, narrow)
        self.channels = channels
        self.constant_input = ConstantInput(channels[4], size=4)
        self.style_conv1 = StyleConv(channels[4], channels[4], 3, num_style_feat)
        self.to_rgb1 = ToRGB(channels[4], num_style_feat, upsample=False)

        self.log_size = int(math.log2(out_size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.num_latent = self.log_size * 2 - 2

        self.style_convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for layer_idx in range(self.num_layers):
            resolution = 2 ** ((layer_idx + 5) // 2)
            self.noises.register_buffer(f"noise{layer_idx}", torch.randn(1, 1, resolution, resolution))
        in_channels = channels[4]
        for i in range(3, self.log_size + 1):
            out_channels = channels[2**i]
            self.style_convs.append(StyleConv(in_channels, out_channels, 3, num_style_feat, upsample=True))
            self.style_convs.append(StyleConv(out_channels, out_channels, 3, num_style_feat))
            self.to_rgbs.append(ToRGB(out_channels, num_style_feat, upsample=True))
            in_channels = out_channels

    def stored_noise(self) -> list[torch.Tensor]:
        """The noise buffers saved in the checkpoint: deterministic output."""
        return [getattr(self.noises, f"noise{i}") for i in range(self.num_layers)]

    def seeded_noise(self, batch: int, seed: int) -> list[torch.Tensor]:
        """Fresh noise from a seed: reproducible, but not the checkpoint's."""
        generator = torch.Generator(device="cpu").manual_seed(seed)
        ref = self.stored_noise()[0]
        return [
            torch.randn(batch, 1, *n.shape[2:], generator=generator).to(device=ref.device, dtype=ref.dtype)
            for n in self.stored_noise()
        ]

    def latent_from_styles(self, styles: torch.Tensor, input_is_latent: bool) -> torch.Tensor:
        """(B, D) or (B, num_latent, D) styles -> (B, num_latent, D) W+ latents.

        For 3-D styles the mapping MLP is applied as the reference does (its pixel norm then
        averages over dim 1), so checkpoints trained that way keep their function.
        """
        if not input_is_latent:
            styles = self.style_mlp(styles)
        if styles.ndim == 2:
            return styles.unsqueeze(1).repeat(1, self.num_latent, 1)
        return styles

    def resolve_noise(self, noise: list[torch.Tensor] | None, randomize_noise: bool) -> list[torch.Tensor | None]:
        if noise is not None:
            return list(noise)
        return [None] * self.num_layers if randomize_noise else list[torch.Tensor | None](self.stored_noise())

    def forward(
        self,
        styles: torch.Tensor,
        input_is_latent: bool = False,
        noise: list[torch.Tensor] | None = None,
        randomize_noise: bool = True,
        return_latents: bool = False,
        feature_hook: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Generate images from styles.

        ``feature_hook(features, level)`` may rewrite the features after the upsampling conv of
        each resolution level (level 0 is 8x8): that is where GFPGAN's CS-SFT layers act.
        """
        latent = self.latent_from_styles(styles, input_is_latent)
        noises = self.resolve_noise(noise, randomize_noise)
        out = self.constant_input(latent.shape[0])
        out = self.style_conv1(out, latent[:, 0], noise=noises[0])
        skip = self.to_rgb1(out, latent[:, 1])
        i = 1
        for level, (conv1, conv2, noise1, noise2, to_rgb) in enumerate(
            zip(self.style_convs[::2], self.style_convs[1::2], noises[1::2], noises[2::2], self.to_rgbs, strict=False)
        ):
            out = conv1(out, latent[:, i], noise=noise1)
            if feature_hook is not None:
                out = feature_hook(out, level)
            out = conv2(out, latent[:, i + 1], noise=noise2)
            skip = to_rgb(out, latent[:, i + 2], skip)
            i += 2
        return skip, (latent if return_latents else None)
