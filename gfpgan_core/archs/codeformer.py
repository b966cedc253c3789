"""CodeFormer (Zhou et al., NeurIPS 2022): a transformer predicts, from the degraded face, the codes of a
VQGAN trained on high-quality faces; controllable feature transforms blend back the degraded face's
own features with fidelity weight ``w`` (0: the codebook's face, best quality; 1: closest to the input).

Written for this project; module names follow the published ``codeformer.pth`` (CodeFormer release
v0.1.0), so it loads unchanged. The same function as the reference (``codeformer_arch.py`` and
``vqgan_arch.py`` of codeformer-pip 0.0.4): tests/fixtures/codeformer_parity.pth. The autoencoder's
shape is fixed by the reference (512 px, 64 channels x (1, 2, 2, 4, 4, 8), attention at 16 px).

The authors run it with ``adain=True`` (inference_codeformer.py, the official demo): the codebook's
features take the mean and spread, per channel, of the degraded face's own encoded features before
decoding, which carries the photo's colour and contrast into the restored face. The pipeline's call,
:meth:`CodeFormer.restore_faces`, is that call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .restoreformer import Downsample, ResnetBlock, Upsample, group_norm
from .spec import FACE_RESTORER, ArchSpec, StateDict, count_indices

NF, CH_MULT, RES_BLOCKS, ATTN_RESOLUTION, EMB_DIM, SIZE = 64, (1, 2, 2, 4, 4, 8), 2, 16, 256, 512
CHANNELS = {"16": 512, "32": 256, "64": 256, "128": 128, "256": 128, "512": 64}
# where the reference takes the encoder's features and fuses them into the generator (block indices)
ENCODER_TAP = {"512": 2, "256": 5, "128": 8, "64": 11, "32": 14, "16": 18}
GENERATOR_FUSE = {"16": 6, "32": 9, "64": 12, "128": 15, "256": 18, "512": 21}


def res_block(in_channels: int, out_channels: int) -> ResnetBlock:
    """The VQGAN residual block with CodeFormer's name for its shortcut."""
    return ResnetBlock(in_channels, out_channels, shortcut="conv_out")


class AttnBlock(nn.Module):
    """Single-head self-attention over positions."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = group_norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(x)
        b, c, height, width = x.shape
        q, k, v = (f(h).reshape(b, c, height * width) for f in (self.q, self.k, self.v))
        weights = torch.softmax(torch.bmm(q.permute(0, 2, 1), k) * int(c) ** -0.5, dim=2)
        out = torch.bmm(v, weights.permute(0, 2, 1)).reshape(b, c, height, width)
        return x + self.proj_out(out)


class Blocks(nn.Module):
    def __init__(self, blocks: list[nn.Module]) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(blocks)


def encoder_blocks() -> list[nn.Module]:
    blocks: list[nn.Module] = [nn.Conv2d(3, NF, 3, padding=1)]
    res, channels = SIZE, NF
    for i, mult in enumerate(CH_MULT):
        for _ in range(RES_BLOCKS):
            blocks.append(res_block(channels, NF * mult))
            channels = NF * mult
            if res == ATTN_RESOLUTION:
                blocks.append(AttnBlock(channels))
        if i != len(CH_MULT) - 1:
            blocks.append(Downsample(channels))
            res //= 2
    blocks += [res_block(channels, channels), AttnBlock(channels), res_block(channels, channels)]
    return [*blocks, group_norm(channels), nn.Conv2d(channels, EMB_DIM, 3, padding=1)]


def generator_blocks() -> list[nn.Module]:
    channels, res = NF * CH_MULT[-1], SIZE // 2 ** (len(CH_MULT) - 1)
    blocks: list[nn.Module] = [nn.Conv2d(EMB_DIM, channels, 3, padding=1)]
    blocks += [res_block(channels, channels), AttnBlock(channels), res_block(channels, channels)]
    for i in reversed(range(len(CH_MULT))):
        for _ in range(RES_BLOCKS):
            blocks.append(res_block(channels, NF * CH_MULT[i]))
            channels = NF * CH_MULT[i]
            if res == ATTN_RESOLUTION:
                blocks.append(AttnBlock(channels))
        if i != 0:
            blocks.append(Upsample(channels))
            res *= 2
    return [*blocks, group_norm(channels), nn.Conv2d(channels, 3, 3, padding=1)]


class Codebook(nn.Module):
    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(size, dim)


class TransformerLayer(nn.Module):
    """Pre-norm self-attention and MLP, with the position embedding added to queries and keys."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads)
        self.linear1 = nn.Linear(dim, 2 * dim)
        self.linear2 = nn.Linear(2 * dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.norm2 = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.self_attn(h + pos, h + pos, value=h)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))


class FuseBlock(nn.Module):
    """Controllable feature transform: the encoder's features scale and shift the generator's, times w."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.encode_enc = res_block(2 * channels, channels)
        self.scale = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(channels, channels, 3, padding=1)
        )
        self.shift = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(channels, channels, 3, padding=1)
        )

    def forward(self, enc: torch.Tensor, dec: torch.Tensor, w: float) -> torch.Tensor:
        enc = self.encode_enc(torch.cat([enc, dec], dim=1))
        return dec + w * (dec * self.scale(enc) + self.shift(enc))


def match_statistics(features: torch.Tensor, like: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``features`` with the per-channel mean and standard deviation of ``like`` (adaptive instance
    normalisation); the variance is the unbiased one, plus ``eps``, as the reference computes it."""

    def stats(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        flat = t.flatten(2)
        return flat.mean(dim=2)[..., None, None], (flat.var(dim=2) + eps).sqrt()[..., None, None]

    mean, std = stats(features)
    target_mean, target_std = stats(like)
    return (features - mean) / std * target_std + target_mean


@dataclass(frozen=True)
class CodeFormerConfig:
    dim_embd: int = 512
    n_head: int = 8
    n_layers: int = 9
    codebook_size: int = 1024
    latent_size: int = 256
    connect_list: tuple[str, ...] = ("32", "64", "128", "256")

    def build(self) -> CodeFormer:
        return CodeFormer(self)


class CodeFormer(nn.Module):
    """(N, 3, 512, 512) faces in [-1, 1] -> restored faces in [-1, 1]; ``w`` is the fidelity weight."""

    out_size = SIZE
    has_fidelity = True  # the pipeline passes the fidelity weight instead of blending with the input

    def __init__(self, config: CodeFormerConfig | None = None) -> None:
        super().__init__()
        self.config = cfg = config or CodeFormerConfig()
        self.encoder = Blocks(encoder_blocks())
        self.quantize = Codebook(cfg.codebook_size, EMB_DIM)
        self.generator = Blocks(generator_blocks())
        self.position_emb = nn.Parameter(torch.zeros(cfg.latent_size, cfg.dim_embd))
        self.feat_emb = nn.Linear(EMB_DIM, cfg.dim_embd)
        self.ft_layers = nn.Sequential(*(TransformerLayer(cfg.dim_embd, cfg.n_head) for _ in range(cfg.n_layers)))
        self.idx_pred_layer = nn.Sequential(
            nn.LayerNorm(cfg.dim_embd), nn.Linear(cfg.dim_embd, cfg.codebook_size, bias=False)
        )
        self.fuse_convs_dict = nn.ModuleDict({size: FuseBlock(CHANNELS[size]) for size in cfg.connect_list})

    def forward(self, x: torch.Tensor, w: float = 0.5, adain: bool = False) -> torch.Tensor:
        """The reference's ``net(x, w, adain)[0]``; ``adain``: renormalise the codebook's features to the
        encoder's (see the module's docstring)."""
        taps = {ENCODER_TAP[size] for size in self.config.connect_list}
        encoded: dict[str, torch.Tensor] = {}
        for i, block in enumerate(self.encoder.blocks):
            x = block(x)
            if i in taps:
                encoded[str(x.shape[-1])] = x
        b, _, h, width = x.shape
        pos = self.position_emb.unsqueeze(1).repeat(1, b, 1)
        query = self.feat_emb(x.flatten(2).permute(2, 0, 1))  # (hw, b, dim)
        for layer in self.ft_layers:
            query = layer(query, pos)
        logits = self.idx_pred_layer(query).permute(1, 0, 2)  # (b, hw, codebook)
        codes = torch.topk(torch.softmax(logits, dim=2), 1, dim=2)[1].view(-1)  # as the reference picks them
        # contiguous, as the reference: a permuted tensor sends the next convolution down another
        # oneDNN path, and the output moved by up to 5e-4 (with random weights); now it is bit-equal
        encoded_face = x
        x = self.quantize.embedding.weight[codes].view(b, h, width, EMB_DIM).permute(0, 3, 1, 2).contiguous()
        if adain:
            x = match_statistics(x, encoded_face)
        fuse_at = {GENERATOR_FUSE[size] for size in self.config.connect_list}
        for i, block in enumerate(self.generator.blocks):
            x = block(x)
            if i in fuse_at and w > 0:
                size = str(x.shape[-1])
                x = self.fuse_convs_dict[size](encoded[size], x, w)
        return x

    tasks = ("restore", "colorize", "inpaint")

    def run_task(self, x: torch.Tensor, task: str, fidelity: float | None = None) -> torch.Tensor:
        """The call of the authors' script for ``task``: inference_codeformer.py (restore),
        inference_colorization.py (w 0, AdaIN) or inference_inpainting.py (w 1, no AdaIN, and only the
        input's pure white pixels take the output)."""
        if task == "colorize":
            return self(x, 0.0, adain=True)
        if task == "inpaint":
            white = (x.sum(dim=1, keepdim=True) == 3).to(x.dtype)
            return (1 - white) * x + white * self(x, 1.0, adain=False)
        return self.restore_faces(x, fidelity=fidelity)

    def restore_faces(
        self, x: torch.Tensor, noise: list[torch.Tensor] | None = None, fidelity: float | None = None
    ) -> torch.Tensor:
        """The pipeline's interface, as the authors' inference script calls the network: ``fidelity`` is
        CodeFormer's w (0.5 when not given, as its demo), with AdaIN."""
        return self(x, 0.5 if fidelity is None else fidelity, adain=True)


def infer_config(state: StateDict) -> CodeFormerConfig:
    """CodeFormer's variable parts from its tensors (the autoencoder around them is fixed); the number
    of attention heads is not in the weights and takes the published 8."""
    latent_size, dim_embd = state["position_emb"].shape
    sizes = {m.group(1) for k in state if (m := re.match(r"fuse_convs_dict\.(\d+)\.", k))}
    return CodeFormerConfig(
        dim_embd=dim_embd,
        n_head=8,
        n_layers=count_indices(state, r"ft_layers\.(\d+)\."),
        codebook_size=state["quantize.embedding.weight"].shape[0],
        latent_size=latent_size,
        connect_list=tuple(sorted(sizes, key=int)),
    )


SPEC = ArchSpec(
    name="CodeFormer",
    role=FACE_RESTORER,
    config=CodeFormerConfig,
    telltale_keys=("position_emb", "ft_layers.0.self_attn.in_proj_weight"),
    infer_config=infer_config,
    default_weight=0.5,  # w = 0.5: inference_codeformer.py's and the official demo's default
)
