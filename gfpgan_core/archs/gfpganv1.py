"""GFPGANv1: the paper's own model (``GFPGANv1.pth``), a U-Net feeding an original StyleGAN2 (equalised
learning rate, up/down-sampling with a [1, 3, 3, 1] FIR filter, fused bias + leaky ReLU) through
CS-SFT conditions.

Written for this project in plain PyTorch: the reference (gfpgan 1.3.8's ``gfpganv1_arch.py`` over
basicsr 1.4.2's ``stylegan2_arch.py``) runs two compiled CUDA ops, ``upfirdn2d`` and
``fused_leaky_relu``; here they are the same arithmetic in ordinary tensor operations (basicsr's own
CPU path for upfirdn2d, and bias + leaky ReLU x sqrt(2) for the fused activation). Module names follow
the published checkpoint, so it loads unchanged: tests/fixtures/gfpganv1_parity_64.pth.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .gfpganv1_clean import gfpgan_shape
from .spec import FACE_RESTORER, ArchSpec, StateDict
from .stylegan2_clean import stylegan_channels

KERNEL_1D = (1.0, 3.0, 3.0, 1.0)


def fir_kernel(scale: float = 1.0) -> torch.Tensor:
    k = torch.tensor(KERNEL_1D)
    k = k[None, :] * k[:, None]
    return k / k.sum() * scale


def upfirdn2d(
    x: torch.Tensor, kernel: torch.Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0)
) -> torch.Tensor:
    """Upsample by zero insertion, pad, filter, downsample: StyleGAN2's resampling op (its CPU path)."""
    n, c, h, w = x.shape
    kh, kw = kernel.shape
    out = x.reshape(n * c, 1, h, 1, w, 1)
    out = F.pad(out, [0, up - 1, 0, 0, 0, up - 1]).reshape(n * c, 1, h * up, w * up)
    out = F.pad(out, [max(pad[0], 0), max(pad[1], 0), max(pad[0], 0), max(pad[1], 0)])
    out = out[:, :, max(-pad[0], 0) : out.shape[2] - max(-pad[1], 0), max(-pad[0], 0) : out.shape[3] - max(-pad[1], 0)]
    out = F.conv2d(out, torch.flip(kernel, [0, 1]).view(1, 1, kh, kw).to(out.dtype))
    out = out[:, :, ::down, ::down]
    return out.reshape(n, c, out.shape[2], out.shape[3])


class FirFilter(nn.Module):
    """The FIR low-pass around a stride-2 convolution (``UpFirDnSmooth``) or a skip upsampling.
    ``persistent``: the kernel is saved with the weights (rosinality's layout, which GPEN publishes)."""

    kernel: torch.Tensor

    def __init__(self, pad: tuple[int, int], scale: float = 1.0, up: int = 1, persistent: bool = False) -> None:
        super().__init__()
        self.pad, self.up = pad, up
        self.register_buffer("kernel", fir_kernel(scale), persistent=persistent)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=self.up, pad=self.pad)


def smooth_for(kernel_size: int, upsample: bool, persistent: bool = False) -> FirFilter:
    """The filter StyleGAN2 puts after a transposed (up) or before a strided (down) convolution."""
    taps = len(KERNEL_1D)
    if upsample:
        p = (taps - 2) - (kernel_size - 1)
        return FirFilter(((p + 1) // 2 + 1, p // 2 + 1), scale=4.0, persistent=persistent)
    p = (taps - 2) + (kernel_size - 1)
    return FirFilter(((p + 1) // 2, p // 2), persistent=persistent)


def fused_leaky_relu(x: torch.Tensor, bias: torch.Tensor, slope: float = 0.2) -> torch.Tensor:
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return F.leaky_relu(x + bias.view(shape), slope) * math.sqrt(2)


class FusedLeakyReLU(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fused_leaky_relu(x, self.bias)


class ScaledLeakyReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, 0.2) * math.sqrt(2)


class EqualConv2d(nn.Module):
    """Convolution with its weights scaled at run time by 1 / sqrt(fan-in) (equalised learning rate)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, padding: int = 0, bias: bool = True) -> None:
        super().__init__()
        self.stride, self.padding, self.scale = stride, padding, 1 / math.sqrt(cin * k * k)
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, bias=self.bias, stride=self.stride, padding=self.padding)


class EqualLinear(nn.Module):
    def __init__(
        self, cin: int, cout: int, lr_mul: float = 1.0, activation: bool = False, bias_init: float = 0.0
    ) -> None:
        super().__init__()
        self.lr_mul, self.activation, self.scale = lr_mul, activation, lr_mul / math.sqrt(cin)
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.activation:
            return fused_leaky_relu(F.linear(x, self.weight * self.scale), self.bias * self.lr_mul)
        return F.linear(x, self.weight * self.scale, bias=self.bias * self.lr_mul)


class ConvLayer(nn.Sequential):
    """[FIR filter,] equalised convolution (stride 2 when downsampling), [fused or scaled leaky ReLU]."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int,
        downsample: bool = False,
        bias: bool = True,
        activate: bool = True,
        persistent: bool = False,
    ) -> None:
        layers: list[nn.Module] = [smooth_for(k, upsample=False, persistent=persistent)] if downsample else []
        layers.append(
            EqualConv2d(
                cin,
                cout,
                k,
                stride=2 if downsample else 1,
                padding=0 if downsample else k // 2,
                bias=bias and not activate,
            )
        )
        if activate:
            layers.append(FusedLeakyReLU(cout) if bias else ScaledLeakyReLU())
        super().__init__(*layers)


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(cin, cin, 3)
        self.conv2 = ConvLayer(cin, cout, 3, downsample=True)
        self.skip = ConvLayer(cin, cout, 1, downsample=True, bias=False, activate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


class ConvUpLayer(nn.Module):
    """Bilinear x2, then an equalised convolution."""

    def __init__(self, cin: int, cout: int, k: int, padding: int = 0, activate: bool = True) -> None:
        super().__init__()
        self.padding, self.scale = padding, 1 / math.sqrt(cin * k * k)
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k))
        self.activation = FusedLeakyReLU(cout) if activate else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        out = F.conv2d(out, self.weight * self.scale, padding=self.padding)
        return out if self.activation is None else self.activation(out)


class ResUpBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = ConvLayer(cin, cin, 3)
        self.conv2 = ConvUpLayer(cin, cout, 3, padding=1)
        self.skip = ConvUpLayer(cin, cout, 1, activate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.conv2(self.conv1(x)) + self.skip(x)) / math.sqrt(2)


class ModulatedConv2d(nn.Module):
    """StyleGAN2's modulated convolution; upsampling by a stride-2 transposed convolution then the FIR filter."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int,
        style_dim: int,
        demodulate: bool = True,
        upsample: bool = False,
        filter_name: str = "smooth",  # GFPGAN's; rosinality's (GPEN's) "blur", its kernel saved
    ) -> None:
        super().__init__()
        self.cout, self.k, self.demodulate, self.upsample = cout, k, demodulate, upsample
        self.scale = 1 / math.sqrt(cin * k * k)
        self.modulation = EqualLinear(style_dim, cin, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(1, cout, cin, k, k))
        self.filter_name = filter_name
        if upsample:
            self.add_module(filter_name, smooth_for(k, upsample=True, persistent=filter_name == "blur"))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        weight = self.scale * self.weight * self.modulation(style).view(b, 1, c, 1, 1)
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(b, self.cout, 1, 1, 1)
        if self.upsample:
            weight = weight.transpose(1, 2).reshape(b * c, self.cout, self.k, self.k)
            out = F.conv_transpose2d(x.view(1, b * c, h, w), weight, stride=2, groups=b)
            return getattr(self, self.filter_name)(out.view(b, self.cout, *out.shape[2:4]))
        weight = weight.view(b * self.cout, c, self.k, self.k)
        out = F.conv2d(x.view(1, b * c, h, w), weight, padding=self.k // 2, groups=b)
        return out.view(b, self.cout, *out.shape[2:4])


class StyleConv(nn.Module):
    def __init__(self, cin: int, cout: int, style_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.modulated_conv = ModulatedConv2d(cin, cout, 3, style_dim, upsample=upsample)
        self.weight = nn.Parameter(torch.zeros(1))  # noise strength
        self.activate = FusedLeakyReLU(cout)

    def forward(self, x: torch.Tensor, style: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        out = self.modulated_conv(x, style)
        if noise is None:
            noise = out.new_empty(out.shape[0], 1, *out.shape[2:]).normal_()
        return self.activate(out + self.weight * noise)


class ToRGB(nn.Module):
    def __init__(self, cin: int, style_dim: int, upsample: bool = True) -> None:
        super().__init__()
        self.upsample = FirFilter((2, 1), scale=4.0, up=2) if upsample else None
        self.modulated_conv = ModulatedConv2d(cin, 3, 1, style_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        out = self.modulated_conv(x, style) + self.bias
        if skip is not None:
            out = out + (self.upsample(skip) if self.upsample is not None else skip)
        return out


class ConstantInput(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, channels, 4, 4))


class NormStyleCode(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(torch.mean(x**2, dim=1, keepdim=True) + 1e-8)


class StyleGAN2GeneratorSFT(nn.Module):
    """The original StyleGAN2 generator, its features modulated by the U-Net's CS-SFT conditions."""

    def __init__(
        self, out_size: int, style_dim: int, num_mlp: int, channel_multiplier: float, narrow: float, sft_half: bool
    ) -> None:
        super().__init__()
        self.sft_half = sft_half
        self.style_mlp = nn.Sequential(
            NormStyleCode(), *(EqualLinear(style_dim, style_dim, lr_mul=0.01, activation=True) for _ in range(num_mlp))
        )
        ch = stylegan_channels(channel_multiplier, narrow)
        self.log_size = int(math.log2(out_size))
        self.num_layers = (self.log_size - 2) * 2 + 1
        self.constant_input = ConstantInput(ch[4])
        self.style_conv1 = StyleConv(ch[4], ch[4], style_dim)
        self.to_rgb1 = ToRGB(ch[4], style_dim, upsample=False)
        self.style_convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        self.noises = nn.Module()
        for i in range(self.num_layers):
            res = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise{i}", torch.randn(1, 1, res, res))
        cin = ch[4]
        for i in range(3, self.log_size + 1):
            cout = ch[2**i]
            self.style_convs.append(StyleConv(cin, cout, style_dim, upsample=True))
            self.style_convs.append(StyleConv(cout, cout, style_dim))
            self.to_rgbs.append(ToRGB(cout, style_dim))
            cin = cout

    def forward(
        self, latent: torch.Tensor, conditions: list[torch.Tensor], noise: list[torch.Tensor | None]
    ) -> torch.Tensor:
        """``latent``: (b, num_latent, style_dim) codes already in W (the published models' input_is_latent)."""
        out = self.constant_input.weight.repeat(latent.shape[0], 1, 1, 1)
        out = self.style_conv1(out, latent[:, 0], noise[0])
        skip = self.to_rgb1(out, latent[:, 1])
        i = 1
        for conv1, conv2, noise1, noise2, to_rgb in zip(
            self.style_convs[::2], self.style_convs[1::2], noise[1::2], noise[2::2], self.to_rgbs, strict=False
        ):
            out = conv1(out, latent[:, i], noise1)
            if i < len(conditions):
                if self.sft_half:
                    same, sft = torch.split(out, out.size(1) // 2, dim=1)
                    out = torch.cat([same, sft * conditions[i - 1] + conditions[i]], dim=1)
                else:
                    out = out * conditions[i - 1] + conditions[i]
            out = conv2(out, latent[:, i + 1], noise2)
            skip = to_rgb(out, latent[:, i + 2], skip)
            i += 2
        return skip


@dataclass(frozen=True)
class GFPGANv1Config:
    """The paper's model as released (``GFPGANv1.pth``) is the default."""

    out_size: int = 512
    num_style_feat: int = 512
    channel_multiplier: float = 1
    num_mlp: int = 8
    different_w: bool = True
    narrow: float = 1
    sft_half: bool = True

    def build(self) -> GFPGANv1:
        return GFPGANv1(**asdict(self))


class GFPGANv1(nn.Module):
    """(N, 3, S, S) faces in [-1, 1] -> restored faces in [-1, 1], S = ``out_size``."""

    def __init__(
        self,
        out_size: int = 512,
        num_style_feat: int = 512,
        channel_multiplier: float = 1,
        num_mlp: int = 8,
        different_w: bool = True,
        narrow: float = 1,
        sft_half: bool = True,
    ) -> None:
        super().__init__()
        self.out_size, self.num_style_feat, self.different_w = out_size, num_style_feat, different_w
        self.log_size = int(math.log2(out_size))
        ch = stylegan_channels(channel_multiplier, narrow * 0.5)  # the U-Net is half as wide
        self.conv_body_first = ConvLayer(3, ch[out_size], 1)
        cin = ch[out_size]
        self.conv_body_down = nn.ModuleList()
        for i in range(self.log_size, 2, -1):
            self.conv_body_down.append(ResBlock(cin, ch[2 ** (i - 1)]))
            cin = ch[2 ** (i - 1)]
        self.final_conv = ConvLayer(cin, ch[4], 3)
        cin = ch[4]
        self.conv_body_up = nn.ModuleList()
        for i in range(3, self.log_size + 1):
            self.conv_body_up.append(ResUpBlock(cin, ch[2**i]))
            cin = ch[2**i]
        self.toRGB = nn.ModuleList(EqualConv2d(ch[2**i], 3, 1) for i in range(3, self.log_size + 1))
        latents = (self.log_size * 2 - 2) if different_w else 1
        self.final_linear = EqualLinear(ch[4] * 4 * 4, latents * num_style_feat)
        self.stylegan_decoder = StyleGAN2GeneratorSFT(
            out_size, num_style_feat, num_mlp, channel_multiplier, narrow, sft_half
        )
        self.condition_scale = nn.ModuleList()
        self.condition_shift = nn.ModuleList()
        for i in range(3, self.log_size + 1):
            c = ch[2**i]
            sft = c if sft_half else 2 * c
            for branch, bias_init in ((self.condition_scale, 1.0), (self.condition_shift, 0.0)):
                last = EqualConv2d(c, sft, 3, padding=1)
                nn.init.constant_(last.bias, bias_init)  # type: ignore[arg-type]
                branch.append(nn.Sequential(EqualConv2d(c, c, 3, padding=1), ScaledLeakyReLU(), last))

    def forward(
        self, x: torch.Tensor, return_rgb: bool = True, noise: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(restored faces, intermediate RGBs); the stored noise unless ``noise`` is given."""
        skips: list[torch.Tensor] = []
        conditions: list[torch.Tensor] = []
        rgbs: list[torch.Tensor] = []
        feat = self.conv_body_first(x)
        for down in self.conv_body_down:
            feat = down(feat)
            skips.insert(0, feat)
        feat = self.final_conv(feat)
        style = self.final_linear(feat.view(feat.size(0), -1))
        latent = style.view(style.size(0), -1, self.num_style_feat)
        decoder = self.stylegan_decoder
        if not self.different_w:
            latent = latent.repeat(1, decoder.log_size * 2 - 2, 1)
        for i, up in enumerate(self.conv_body_up):
            feat = up(feat + skips[i])
            conditions += [self.condition_scale[i](feat).clone(), self.condition_shift[i](feat).clone()]
            if return_rgb:
                rgbs.append(self.toRGB[i](feat))
        noises = (
            noise if noise is not None else [getattr(decoder.noises, f"noise{i}") for i in range(decoder.num_layers)]
        )
        return decoder(latent, conditions, list(noises)), rgbs

    def restore_faces(
        self, x: torch.Tensor, noise: list[torch.Tensor] | None = None, fidelity: float | None = None
    ) -> torch.Tensor:
        """The pipeline's interface (the stored noise, or the one given; no fidelity control of its own)."""
        return self(x, return_rgb=False, noise=noise)[0]


def infer_config(state: StateDict) -> GFPGANv1Config:
    """The paper's GFPGANv1 from its tensors (its decoder's input is in W, as every release uses it)."""
    return GFPGANv1Config(**gfpgan_shape(state))


SPEC = ArchSpec(
    name="GFPGANv1",
    role=FACE_RESTORER,
    config=GFPGANv1Config,
    telltale_keys=("conv_body_first.0.weight",),  # ConvLayer sequentials: the paper's original
    infer_config=infer_config,
)
