"""Read weights files and recognise the architecture from the state dict alone (as spandrel does).

Any size of a registered architecture loads without the user naming its config: the registry
(:mod:`gfpgan_core.archs.registry`) tells which architecture holds the tensors, and that
architecture reads its config from the shapes of a handful of them.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .archs.registry import ARCHITECTURES, spec_of, specs_for
from .archs.spec import ArchConfig, StateDict
from .errors import CheckpointError, first_line

_WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model", "net_g")
# A Lightning module's state dict holds the network under its attribute's name, beside training-only
# modules (RestoreFormer++.ckpt: the network under "vqvae.", its loss's discriminator under "loss.")
_NETWORK_PREFIXES = ("vqvae.",)


def unwrap_state_dict(obj: object, source: str = "checkpoint") -> StateDict:
    """Pick the weights out of a loaded checkpoint: ``params_ema`` > ``params`` > bare dict."""
    if isinstance(obj, dict):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                return unwrap_state_dict(obj[key], source)
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{source} holds no state dict of tensors (looked for {', '.join(_WRAPPER_KEYS)}).")
    state = {k[7:] if k.startswith("module.") else k: v for k, v in obj.items()}
    for prefix in _NETWORK_PREFIXES:
        if any(k.startswith(prefix) for k in state):
            return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    return state


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


def detect_architecture(state: StateDict) -> ArchConfig:
    """The config of the network these weights belong to, or a :class:`CheckpointError`."""
    spec = next((spec for spec in ARCHITECTURES if spec.matches(state)), None)
    if spec is None:
        known = ", ".join(spec.name for spec in ARCHITECTURES)
        raise CheckpointError(
            f"Unrecognised architecture ({len(state)} tensors, first key {next(iter(state))!r}); known: {known}."
        )
    try:
        return spec.infer_config(state)
    except (KeyError, IndexError) as exc:
        raise CheckpointError(f"The weights look like {spec.name} but miss tensor {exc}.") from exc
    except ValueError as exc:
        raise CheckpointError(f"The weights look like {spec.name} but do not fit it: {exc}") from exc


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


def describe_architecture(config: ArchConfig) -> str:
    """In words: which network a config builds and what it is for."""
    spec = spec_of(config)
    return f"{spec.name}, {spec.role}" if spec else f"{type(config).__name__}, an unknown kind of network"


def load_model(
    path: str | os.PathLike, config: ArchConfig | None = None, role: str | None = None
) -> tuple[nn.Module, ArchConfig]:
    """Read, recognise and build: the one call from a file to an eval-mode network.

    ``role``: what the caller can use (:data:`~gfpgan_core.archs.spec.FACE_RESTORER`, ...); an
    architecture of another role is refused in one line that says what the file holds and what was
    expected.
    """
    state = read_state_dict(path)
    config = config or detect_architecture(state)
    spec = spec_of(config)
    if role is not None and (spec is None or spec.role != role):
        listed = [s.name for s in specs_for(role)]
        names = " or ".join([", ".join(listed[:-1]), listed[-1]] if len(listed) > 1 else listed)
        raise CheckpointError(f"{Path(path).name} holds {describe_architecture(config)}; expected {role} ({names}).")
    return build_model(state, config), config


def write_random_checkpoint(path: str | os.PathLike, config: ArchConfig, seed: int = 0) -> Path:
    """Random weights for ``config``'s network in the official layout (``{"params_ema": ...}``): for
    tests, and for trying the app and its API without real weights (its faces come out as noise).
    The caller's random state is left as it was."""
    path = Path(path)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = config.build()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"params_ema": model.state_dict()}, path)
    return path
