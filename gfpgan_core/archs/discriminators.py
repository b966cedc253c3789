"""Discriminators for training: a StyleGAN2-style whole-face critic and small facial-component critics.

These are "clean" versions (plain convolutions, blur-then-stride downsampling, no custom CUDA
ops). Published GFPGAN discriminator checkpoints are not needed for inference, so their key names
are ours.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from .stylegan2_clean import stylegan_channels


class Blur(nn.Module):
    """[1, 3, 3, 1] low-pass before striding, as StyleGAN2 downsamples."""

    kernel: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        k = torch.tensor([1.0, 3.0, 3.0, 1.0])
        k = k[:, None] * k[None, :]
        self.register_buffer("kernel", (k / k.sum())[None, None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        x = F.pad(x, (1, 2, 1, 2), mode="reflect")
        return F.conv2d(x, self.kernel.expand(c, 1, 4, 4).to(x.dtype), groups=c)


def conv_layer(in_ch: int, out_ch: int, kernel: int, downsample: bool = False, activate: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    if downsample:
        layers += [Blur(), nn.Conv2d(in_ch, out_ch, kernel, stride=2, padding=(kernel - 1) // 2)]
    else:
        layers.append(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2))
    if activate:
        layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


class DiscResBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv1 = conv_layer(in_ch, in_ch, 3)
        self.conv2 = conv_layer(in_ch, out_ch, 3, downsample=True)
        self.skip = nn.Sequential(Blur(), nn.Conv2d(in_ch, out_ch, 1, stride=2, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


class StyleGAN2Discriminator(nn.Module):
    """Residual critic with minibatch standard deviation, returning one logit per image."""

    def __init__(self, out_size: int, channel_multiplier: float = 1, narrow: float = 1, stddev_group: int = 4) -> None:
        super().__init__()
        channels = stylegan_channels(channel_multiplier, narrow)
        log_size = int(math.log2(out_size))
        self.first = conv_layer(3, channels[out_size], 1)
        blocks = []
        in_ch = channels[out_size]
        for i in range(log_size, 2, -1):
            out_ch = channels[2 ** (i - 1)]
            blocks.append(DiscResBlock(in_ch, out_ch))
            in_ch = out_ch
        self.blocks = nn.Sequential(*blocks)
        self.stddev_group = stddev_group
        self.final_conv = conv_layer(in_ch + 1, channels[4], 3)
        self.final_linear = nn.Sequential(
            nn.Linear(channels[4] * 16, channels[4]), nn.LeakyReLU(0.2, True), nn.Linear(channels[4], 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.blocks(self.first(x))
        b, c, h, w = out.shape
        group = min(b, self.stddev_group)
        while b % group:
            group -= 1
        std = out.view(group, -1, c, h, w).var(0, unbiased=False).add(1e-8).sqrt().mean(dim=(1, 2, 3))
        std = std.view(-1, 1, 1, 1).repeat(group, 1, h, w)
        out = self.final_conv(torch.cat([out, std], 1))
        return self.final_linear(out.flatten(1))


class FacialComponentDiscriminator(nn.Module):
    """Small critic for an eye or mouth crop; also returns features for the style (Gram) loss."""

    def __init__(self, width: int = 64) -> None:
        super().__init__()
        w = width
        self.conv1 = conv_layer(3, w, 3)
        self.conv2 = conv_layer(w, 2 * w, 3, downsample=True)
        self.conv3 = conv_layer(2 * w, 2 * w, 3)
        self.conv4 = conv_layer(2 * w, 4 * w, 3, downsample=True)
        self.conv5 = conv_layer(4 * w, 4 * w, 3)
        self.final_conv = nn.Conv2d(4 * w, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        f1 = self.conv3(self.conv2(self.conv1(x)))
        f2 = self.conv5(self.conv4(f1))
        return self.final_conv(f2), [f1, f2]
