"""SRVGGNetCompact: the small Real-ESRGAN network (realesr-general-x4v3) used for backgrounds."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .spec import BACKGROUND_UPSAMPLER, ArchSpec, StateDict

_ACTIVATIONS = ("prelu", "relu", "leakyrelu")


@dataclass(frozen=True)
class SRVGGConfig:
    num_in_ch: int = 3
    num_out_ch: int = 3
    num_feat: int = 64
    num_conv: int = 32
    upscale: int = 4
    act_type: str = "prelu"

    def build(self) -> SRVGGNetCompact:
        return SRVGGNetCompact(**asdict(self))


def _activation(act_type: str, num_feat: int) -> nn.Module:
    if act_type == "prelu":
        return nn.PReLU(num_parameters=num_feat)
    if act_type == "relu":
        return nn.ReLU(inplace=True)
    if act_type == "leakyrelu":
        return nn.LeakyReLU(negative_slope=0.1, inplace=True)
    raise ValueError(f"act_type must be one of {_ACTIVATIONS}, not {act_type!r}")


class SRVGGNetCompact(nn.Module):
    """A plain stack of 3x3 convs, pixel-shuffle upsampling, plus a nearest-upsampled residual."""

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_conv: int = 16,
        upscale: int = 4,
        act_type: str = "prelu",
    ) -> None:
        super().__init__()
        self.upscale = upscale
        layers: list[nn.Module] = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), _activation(act_type, num_feat)]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(upscale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.upscale, mode="nearest")


def infer_config(state: StateDict) -> SRVGGConfig:
    """Width, depth, scale and activation from the tensors."""
    convs = sorted(
        int(m.group(1)) for k, v in state.items() if (m := re.match(r"body\.(\d+)\.weight$", k)) and v.ndim == 4
    )
    first, last = state[f"body.{convs[0]}.weight"], state[f"body.{convs[-1]}.weight"]
    num_out_ch = 3
    upscale = math.isqrt(last.shape[0] // num_out_ch)
    if upscale * upscale * num_out_ch != last.shape[0]:
        raise ValueError(f"SRVGG output channels {last.shape[0]} are not 3 * upscale^2.")
    has_prelu = any(v.ndim == 1 and k.startswith("body.") and k.endswith(".weight") for k, v in state.items())
    return SRVGGConfig(
        num_in_ch=first.shape[1],
        num_out_ch=num_out_ch,
        num_feat=first.shape[0],
        num_conv=len(convs) - 2,
        upscale=upscale,
        act_type="prelu" if has_prelu else "leakyrelu",
    )


SPEC = ArchSpec(
    name="SRVGGNetCompact",
    role=BACKGROUND_UPSAMPLER,
    config=SRVGGConfig,
    telltale_keys=("body.0.weight",),
    infer_config=infer_config,
)
