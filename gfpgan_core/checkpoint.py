"""Read weights files and recognise the architecture from the state dict alone (as spandrel does).

Any GFPGANv1Clean size or SRVGGNetCompact loads without the user naming its config: the shapes of
a handful of tensors determine it.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import torch
from torch import nn

from .archs import CodeFormerConfig, GFPGANConfig, GFPGANv1Config, RestoreFormerConfig, SRVGGConfig
from .errors import CheckpointError, first_line

ArchConfig = GFPGANConfig | SRVGGConfig | RestoreFormerConfig | CodeFormerConfig | GFPGANv1Config
StateDict = dict[str, torch.Tensor]
_WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model", "net_g")


def unwrap_state_dict(obj: object, source: str = "checkpoint") -> StateDict:
    """Pick the weights out of a loaded checkpoint: ``params_ema`` > ``params`` > bare dict."""
    if isinstance(obj, dict):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                return unwrap_state_dict(obj[key], source)
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{source} holds no state dict of tensors (looked for {', '.join(_WRAPPER_KEYS)}).")
    return {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}


def read_state_dict(path: str | os.PathLike) -> StateDict:
    """Load a ``.pth``/``.pt``/``.ckpt`` (with ``weights_only=True``) or ``.safetensors`` file on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"No weights file at {path}.")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj: object = load_file(str(path), device="cpu")
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt, truncated, pickled code, wrong format
        if "weights only load failed" in str(exc).lower():  # torch's advice to unpickle is not for users
            raise CheckpointError(
                f"{path.name} holds pickled code, which is never run here: use a plain state dict "
                "(torch.save(model.state_dict())) or a .safetensors file."
            ) from None
        raise CheckpointError(f"Cannot read weights from {path.name}: {first_line(exc)}") from None
    return unwrap_state_dict(obj, path.name)


def export_safetensors(src: str | os.PathLike, dst: str | os.PathLike, half: bool = False) -> tuple[Path, ArchConfig]:
    """Write a checkpoint's inference weights (``params_ema`` first) as ``.safetensors``.

    The architecture is checked by building it, and its config is stored in the file's metadata
    for people reading the file; loading still infers it from the keys, as for any checkpoint.
    """
    from safetensors.torch import save_file

    state = read_state_dict(src)
    config = detect_architecture(state)
    build_model(state, config)  # refuses anything that would not load
    dst = Path(dst)
    if dst.resolve() == Path(src).resolve():
        raise CheckpointError("The output file must differ from the input checkpoint.")
    tensors = {k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in state.items()}
    meta = {"architecture": type(config).__name__, "config": repr(config), "source": Path(src).name}
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.partial")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(dst)
    return dst, config


def _count(state: StateDict, pattern: str) -> int:
    regex = re.compile(pattern)
    return len({m.group(1) for k in state if (m := regex.match(k))})


def infer_gfpgan_config(state: StateDict) -> GFPGANConfig:
    n_down = _count(state, r"conv_body_down\.(\d+)\.")
    log_size = n_down + 2
    num_mlp = _count(state, r"stylegan_decoder\.style_mlp\.(\d+)\.weight")
    num_style_feat = state["stylegan_decoder.to_rgb1.modulated_conv.modulation.weight"].shape[1]
    narrow = state["stylegan_decoder.constant_input.weight"].shape[1] / 512
    channel_multiplier: float = 1
    if log_size >= 6:  # the 64x64 level is the first whose width depends on the multiplier
        c64 = state["stylegan_decoder.style_convs.6.modulated_conv.weight"].shape[1]
        channel_multiplier = c64 / (256 * narrow)
    num_latent = state["final_linear.weight"].shape[0] // num_style_feat
    scale0 = state["condition_scale.0.2.weight"].shape[0]
    return GFPGANConfig(
        out_size=2**log_size,
        num_style_feat=num_style_feat,
        channel_multiplier=_tidy(channel_multiplier),
        num_mlp=num_mlp,
        input_is_latent=True,  # not visible in weights; every published checkpoint uses True
        different_w=num_latent == log_size * 2 - 2,
        narrow=_tidy(narrow),
        sft_half=scale0 == state["condition_scale.0.0.weight"].shape[0],
    )


def infer_srvgg_config(state: StateDict) -> SRVGGConfig:
    convs = sorted(
        int(m.group(1)) for k, v in state.items() if (m := re.match(r"body\.(\d+)\.weight$", k)) and v.ndim == 4
    )
    first, last = state[f"body.{convs[0]}.weight"], state[f"body.{convs[-1]}.weight"]
    num_out_ch = 3
    upscale = math.isqrt(last.shape[0] // num_out_ch)
    if upscale * upscale * num_out_ch != last.shape[0]:
        raise CheckpointError(f"SRVGG output channels {last.shape[0]} are not 3 * upscale^2.")
    has_prelu = any(v.ndim == 1 and k.startswith("body.") and k.endswith(".weight") for k, v in state.items())
    return SRVGGConfig(
        num_in_ch=first.shape[1],
        num_out_ch=num_out_ch,
        num_feat=first.shape[0],
        num_conv=len(convs) - 2,
        upscale=upscale,
        act_type="prelu" if has_prelu else "leakyrelu",
    )


def infer_gfpganv1_config(state: StateDict) -> GFPGANv1Config:
    """The paper's GFPGANv1 from its tensors (its decoder's input is in W, as every release uses it)."""
    log_size = _count(state, r"conv_body_down\.(\d+)\.") + 2
    num_style_feat = state["stylegan_decoder.to_rgb1.modulated_conv.modulation.weight"].shape[1]
    narrow = state["stylegan_decoder.constant_input.weight"].shape[1] / 512
    channel_multiplier: float = 1
    if log_size >= 6:
        c64 = state["stylegan_decoder.style_convs.6.modulated_conv.weight"].shape[1]
        channel_multiplier = c64 / (256 * narrow)
    return GFPGANv1Config(
        out_size=2**log_size,
        num_style_feat=num_style_feat,
        channel_multiplier=_tidy(channel_multiplier),
        num_mlp=_count(state, r"stylegan_decoder\.style_mlp\.(\d+)\.weight"),
        different_w=state["final_linear.weight"].shape[0] == (2 * log_size - 2) * num_style_feat,
        narrow=_tidy(narrow),
        sft_half=state["condition_scale.0.2.weight"].shape[0] == state["condition_scale.0.0.weight"].shape[0],
    )


def infer_restoreformer_config(state: StateDict) -> RestoreFormerConfig:
    """RestoreFormer's shape from its tensors. Two facts are not in the weights and take the published
    values: attention sits at 16 x 16 (the lowest level), and 8 heads."""
    n_embed, embed_dim = state["quantize.embedding.weight"].shape
    ch = state["encoder.conv_in.weight"].shape[0]
    levels = _count(state, r"encoder\.down\.(\d+)\.")
    ch_mult = tuple(state[f"encoder.down.{i}.block.0.conv1.weight"].shape[0] // ch for i in range(levels))
    return RestoreFormerConfig(
        n_embed=n_embed,
        embed_dim=embed_dim,
        ch=ch,
        ch_mult=ch_mult,
        num_res_blocks=_count(state, r"encoder\.down\.0\.block\.(\d+)\."),
        attn_resolutions=(16,),
        resolution=16 * 2 ** (levels - 1),
        z_channels=state["encoder.conv_out.weight"].shape[0],
        head_size=8,
    )


def infer_codeformer_config(state: StateDict) -> CodeFormerConfig:
    """CodeFormer's variable parts from its tensors (the autoencoder around them is fixed); the number
    of attention heads is not in the weights and takes the published 8."""
    latent_size, dim_embd = state["position_emb"].shape
    sizes = {m.group(1) for k in state if (m := re.match(r"fuse_convs_dict\.(\d+)\.", k))}
    return CodeFormerConfig(
        dim_embd=dim_embd,
        n_head=8,
        n_layers=_count(state, r"ft_layers\.(\d+)\."),
        codebook_size=state["quantize.embedding.weight"].shape[0],
        latent_size=latent_size,
        connect_list=tuple(sorted(sizes, key=int)),
    )


def _tidy(x: float) -> float:
    return int(x) if float(x).is_integer() else x


def detect_architecture(state: StateDict) -> ArchConfig:
    """The config of the network these weights belong to, or a :class:`CheckpointError`."""
    try:
        if "conv_body_first.0.weight" in state:  # ConvLayer sequentials: the paper's original GFPGANv1
            return infer_gfpganv1_config(state)
        if "stylegan_decoder.constant_input.weight" in state and "final_linear.weight" in state:
            return infer_gfpgan_config(state)
        if "body.0.weight" in state:
            return infer_srvgg_config(state)
        if "position_emb" in state and "ft_layers.0.self_attn.in_proj_weight" in state:
            return infer_codeformer_config(state)
        if "encoder.down.0.block.0.conv1.weight" in state and "quant_conv.weight" in state:
            return infer_restoreformer_config(state)
    except (KeyError, IndexError) as exc:
        raise CheckpointError(f"The weights look like a known architecture but miss tensor {exc}.") from exc
    known = ", ".join(name for name, _ in ARCHITECTURES.values())
    raise CheckpointError(
        f"Unrecognised architecture ({len(state)} tensors, first key {next(iter(state))!r}); known: {known}."
    )


def build_model(state: StateDict, config: ArchConfig | None = None) -> nn.Module:
    """Build the network for ``state`` (config inferred when not given) and load it strictly."""
    config = config or detect_architecture(state)
    model = config.build()
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
        raise CheckpointError(
            f"Weights do not fit {type(model).__name__}: {detail[0] if detail else first_line(exc)}"
        ) from exc
    return model.eval().requires_grad_(False)


ARCHITECTURES: dict[type, tuple[str, str]] = {  # config -> (network, what it is for)
    GFPGANConfig: ("GFPGANv1Clean", "a face restorer"),
    GFPGANv1Config: ("GFPGANv1", "a face restorer"),
    RestoreFormerConfig: ("RestoreFormer", "a face restorer"),
    CodeFormerConfig: ("CodeFormer", "a face restorer"),
    SRVGGConfig: ("SRVGGNetCompact", "a background upsampler"),
}


def describe_architecture(config: ArchConfig) -> str:
    """In words: which network a config builds and what it is for."""
    name, role = ARCHITECTURES.get(type(config), (type(config).__name__, "an unknown kind of network"))
    return f"{name}, {role}"


def load_model(
    path: str | os.PathLike, config: ArchConfig | None = None, expect: type | tuple[type, ...] | None = None
) -> tuple[nn.Module, ArchConfig]:
    """Read, recognise and build: the one call from a file to an eval-mode network.

    ``expect``: the config class(es) the caller can use; other architectures are refused in one line
    that says what the file holds and what was expected.
    """
    state = read_state_dict(path)
    config = config or detect_architecture(state)
    if expect is not None and not isinstance(config, expect):
        wanted = [ARCHITECTURES.get(c, (c.__name__, "")) for c in (expect if isinstance(expect, tuple) else (expect,))]
        roles = {role for _, role in wanted}
        listed = [name for name, _ in wanted]
        names = " or ".join([", ".join(listed[:-1]), listed[-1]] if len(listed) > 1 else listed)
        expected = f"{roles.pop()} ({names})" if len(roles) == 1 else names
        raise CheckpointError(f"{Path(path).name} holds {describe_architecture(config)}; expected {expected}.")
    return build_model(state, config), config
