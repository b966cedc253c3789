"""RestoreFormer (Wang et al., CVPR 2022): a VQ autoencoder whose decoder attends, with multi-head
cross-attention, from the degraded face's features to a learned codebook of high-quality face parts.

Written for this project; module names follow the published checkpoint (``RestoreFormer.pth`` of the
GFPGAN v1.3.4 release), so it loads unchanged. The same function as the reference
(``gfpgan/archs/restoreformer_arch.py``, gfpgan 1.3.8): tests/fixtures/restoreformer_parity_64.pth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from .spec import FACE_RESTORER, ArchSpec, StateDict, count_indices

C = TypeVar("C", bound="RestoreFormerConfig")


def swish(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(x)


def group_norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(32, channels, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    """GroupNorm-swish-conv twice, plus a 1x1 shortcut when the width changes. The VQGAN family names
    that shortcut differently (RestoreFormer ``nin_shortcut``, CodeFormer ``conv_out``): ``shortcut``."""

    def __init__(self, in_channels: int, out_channels: int, shortcut: str = "nin_shortcut") -> None:
        super().__init__()
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.norm2 = group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.shortcut_name = shortcut
        if in_channels != out_channels:
            self.add_module(shortcut, nn.Conv2d(in_channels, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(swish(self.norm2(self.conv1(swish(self.norm1(x))))))
        shortcut = getattr(self, self.shortcut_name, None)
        return (x if shortcut is None else shortcut(x)) + h


class MultiHeadAttention(nn.Module):
    """Queries from ``y`` (the encoder's features, or ``x`` itself), keys and values from ``x``."""

    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = group_norm(channels)
        self.norm2 = group_norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm1(x)
        y = h if y is None else self.norm2(y)
        b, c, height, width = x.shape
        d = c // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:  # (b, heads, hw, d)
            return t.reshape(b, self.heads, d, height * width).transpose(2, 3)

        q, k, v = split(self.q(y)) * int(d) ** -0.5, split(self.k(h)), split(self.v(h))
        out = torch.softmax(q @ k.transpose(2, 3), dim=3) @ v
        out = out.transpose(1, 2).reshape(b, height, width, c).permute(0, 3, 1, 2)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))  # the reference pads right and bottom only


class Upsample(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Level(nn.Module):
    """One resolution of the encoder or decoder: residual blocks, each followed by attention at the
    attention resolutions, then a resampling (``None`` at the last level)."""

    def __init__(self, blocks: list[ResnetBlock], attn: list[MultiHeadAttention]) -> None:
        super().__init__()
        self.block = nn.ModuleList(blocks)
        self.attn = nn.ModuleList(attn)

    def forward(self, h: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """The blocks (and their attention, over ``context`` when given); resampling is the caller's."""
        for j, block in enumerate(self.block):
            h = block(h)
            if len(self.attn):
                h = self.attn[j](h, context)
        return h


class Middle(nn.Module):
    def __init__(self, channels: int, heads: int) -> None:
        super().__init__()
        self.block_1 = ResnetBlock(channels, channels)
        self.attn_1 = MultiHeadAttention(channels, heads)
        self.block_2 = ResnetBlock(channels, channels)


@dataclass(frozen=True)
class RestoreFormerConfig:
    """The published model is the default; tests build small ones."""

    n_embed: int = 1024
    embed_dim: int = 256
    ch: int = 64
    ch_mult: tuple[int, ...] = (1, 2, 2, 4, 4, 8)
    num_res_blocks: int = 2
    attn_resolutions: tuple[int, ...] = (16,)
    resolution: int = 512
    z_channels: int = 256
    head_size: int = 8
    # where the decoder attends from the encoder's features: RestoreFormer at the lowest level only,
    # RestoreFormer++ at 16 and 32 px (its "multi-scale" cross-attention)
    decoder_attn_resolutions: tuple[int, ...] = (16,)

    def build(self) -> RestoreFormer:
        return RestoreFormer(self)


class Encoder(nn.Module):
    def __init__(self, cfg: RestoreFormerConfig) -> None:
        super().__init__()
        self.conv_in = nn.Conv2d(3, cfg.ch, 3, padding=1)
        self.down = nn.ModuleList()
        res, channels = cfg.resolution, cfg.ch
        for i, mult in enumerate(cfg.ch_mult):
            blocks, attn = [], []
            for _ in range(cfg.num_res_blocks):
                blocks.append(ResnetBlock(channels, cfg.ch * mult))
                channels = cfg.ch * mult
                if res in cfg.attn_resolutions:
                    attn.append(MultiHeadAttention(channels, cfg.head_size))
            level = Level(blocks, attn)
            if i != len(cfg.ch_mult) - 1:
                level.downsample = Downsample(channels)
                res //= 2
            self.down.append(level)
        self.mid = Middle(channels, cfg.head_size)
        self.norm_out = group_norm(channels)
        self.conv_out = nn.Conv2d(channels, cfg.z_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, attended: tuple[int, ...] = ()) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(the latent, the features the decoder attends from: keyed by the decoder level that uses
        them). ``attended``: the levels, other than the last, whose output (before downsampling) the
        decoder attends from (the reference's ``block_i``)."""
        h = self.conv_in(x)
        features = {}
        for i, level in enumerate(self.down):
            h = level(h)
            if i in attended:
                features[f"level_{i}"] = h
            if (downsample := getattr(level, "downsample", None)) is not None:
                h = downsample(h)
        h = self.mid.block_1(h)
        features["last_level"] = h  # what the decoder's lowest level attends from (the reference's "block_N_atten")
        h = self.mid.block_2(self.mid.attn_1(h))
        features["mid"] = h
        return self.conv_out(swish(self.norm_out(h))), features


class Decoder(nn.Module):
    def __init__(self, cfg: RestoreFormerConfig) -> None:
        super().__init__()
        channels = cfg.ch * cfg.ch_mult[-1]
        res = cfg.resolution // 2 ** (len(cfg.ch_mult) - 1)
        self.conv_in = nn.Conv2d(cfg.z_channels, channels, 3, padding=1)
        self.mid = Middle(channels, cfg.head_size)
        levels: list[Level] = []
        for i in reversed(range(len(cfg.ch_mult))):
            blocks, attn = [], []
            for _ in range(cfg.num_res_blocks + 1):
                blocks.append(ResnetBlock(channels, cfg.ch * cfg.ch_mult[i]))
                channels = cfg.ch * cfg.ch_mult[i]
                if res in cfg.decoder_attn_resolutions:
                    attn.append(MultiHeadAttention(channels, cfg.head_size))
            level = Level(blocks, attn)
            if i != 0:
                level.upsample = Upsample(channels)
                res *= 2
            levels.insert(0, level)
        self.up = nn.ModuleList(levels)
        self.norm_out = group_norm(channels)
        self.conv_out = nn.Conv2d(channels, 3, 3, padding=1)

    def forward(self, z: torch.Tensor, features: dict[str, torch.Tensor]) -> torch.Tensor:
        h = self.conv_in(z)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h), features["mid"]))
        last = len(self.up) - 1
        for i in reversed(range(len(self.up))):
            level = self.up[i]
            h = level(h, features["last_level"] if i == last else features.get(f"level_{i}"))
            if (upsample := getattr(level, "upsample", None)) is not None:
                h = upsample(h)
        return self.conv_out(swish(self.norm_out(h)))


class VectorQuantizer(nn.Module):
    def __init__(self, n_embed: int, dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(n_embed, dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Each position replaced by its nearest codebook entry (squared distance, as the reference)."""
        b, c, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, c)
        codes = self.embedding.weight
        d = torch.sum(flat**2, dim=1, keepdim=True) + torch.sum(codes**2, dim=1) - 2 * flat @ codes.t()
        return (
            codes[d.argmin(dim=1)].view(b, h, w, c).permute(0, 3, 1, 2).contiguous()
        )  # as the reference (see CodeFormer)


class RestoreFormer(nn.Module):
    """(N, 3, S, S) faces in [-1, 1] -> restored faces in [-1, 1], S = ``config.resolution``."""

    def __init__(self, config: RestoreFormerConfig | None = None) -> None:
        super().__init__()
        self.config = config or RestoreFormerConfig()
        self.out_size = self.config.resolution
        self.encoder = Encoder(self.config)
        self.decoder = Decoder(self.config)
        self.quantize = VectorQuantizer(self.config.n_embed, self.config.embed_dim)
        self.quant_conv = nn.Conv2d(self.config.z_channels, self.config.embed_dim, 1)
        self.post_quant_conv = nn.Conv2d(self.config.embed_dim, self.config.z_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, features = self.encoder(x, self.attended_levels)
        return self.decoder(self.post_quant_conv(self.quantize(self.quant_conv(z))), features)

    @property
    def attended_levels(self) -> tuple[int, ...]:
        """The encoder levels, other than the last, the decoder attends from (none for RestoreFormer)."""
        cfg = self.config
        levels = range(len(cfg.ch_mult) - 1)
        return tuple(i for i in levels if cfg.resolution // 2**i in cfg.decoder_attn_resolutions)

    def restore_faces(
        self, x: torch.Tensor, noise: list[torch.Tensor] | None = None, fidelity: float | None = None
    ) -> torch.Tensor:
        """The pipeline's interface (no noise to fix, no fidelity control of its own)."""
        return self(x)


def attention_resolutions(state: StateDict, part: str, resolution: int) -> tuple[int, ...]:
    """The resolutions at which ``part`` ("encoder" or "decoder") has attention, from its keys."""
    levels = {int(m.group(1)) for k in state if (m := re.match(rf"{part}\.(?:down|up)\.(\d+)\.attn\.", k))}
    return tuple(sorted(resolution // 2**i for i in levels))


def infer_shape(state: StateDict, config: type[C], head_size: int) -> C:
    """A RestoreFormer-family network's shape from its tensors; the number of heads is not in the
    weights and is the caller's (the published value). The lowest level is 16 x 16 in both."""
    n_embed, embed_dim = state["quantize.embedding.weight"].shape
    ch = state["encoder.conv_in.weight"].shape[0]
    levels = count_indices(state, r"encoder\.down\.(\d+)\.")
    ch_mult = tuple(state[f"encoder.down.{i}.block.0.conv1.weight"].shape[0] // ch for i in range(levels))
    resolution = 16 * 2 ** (levels - 1)
    return config(
        n_embed=n_embed,
        embed_dim=embed_dim,
        ch=ch,
        ch_mult=ch_mult,
        num_res_blocks=count_indices(state, r"encoder\.down\.0\.block\.(\d+)\."),
        attn_resolutions=attention_resolutions(state, "encoder", resolution) or (16,),
        resolution=resolution,
        z_channels=state["encoder.conv_out.weight"].shape[0],
        head_size=head_size,
        decoder_attn_resolutions=attention_resolutions(state, "decoder", resolution) or (16,),
    )


def infer_config(state: StateDict) -> RestoreFormerConfig:
    """RestoreFormer's shape from its tensors, with its published 8 heads."""
    return infer_shape(state, RestoreFormerConfig, head_size=8)


def decoder_attention_levels(state: StateDict) -> int:
    """At how many levels the decoder attends: one for RestoreFormer, two for RestoreFormer++ (whose
    weights hold every key RestoreFormer's do)."""
    return len({m.group(1) for k in state if (m := re.match(r"decoder\.up\.(\d+)\.attn\.", k))})


SPEC = ArchSpec(
    name="RestoreFormer",
    role=FACE_RESTORER,
    config=RestoreFormerConfig,
    telltale_keys=("encoder.down.0.block.0.conv1.weight", "quant_conv.weight"),
    infer_config=infer_config,
    recognises=lambda state: decoder_attention_levels(state) <= 1,
)
