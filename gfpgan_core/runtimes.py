"""Where a network's forward pass runs: plain torch, or an ONNX export run by OpenVINO or ONNX Runtime.

On this project's 2-core CPU (2026-11-25) one 512 GFPGAN face took 2.15 s in torch eager, 1.06 s in
ONNX Runtime and 0.95 s in OpenVINO, both within 6e-6 of torch; a 420 x 420 tile of the background
upscaler 2.70 s in torch, 1.11 s and 1.13 s (``python -m gfpgan_core benchmark`` prints the table).
Both run the networks' convolutions faster than PyTorch's CPU kernels, so on a CPU the fastest
runtime installed is used. An export is made once per checkpoint (4 s; 12-13 s with the check against
torch on random input), and cached beside the weights under the checkpoint's sha256, so a restart
loads it in 0.8-1.6 s. Any failure (package missing, export or check failed, cache not
writable) falls back to torch, and one log line says which runtime runs and why.

GPUs stay on torch (float16 and batches are where the GPU's speed is). Calls that need what the export
does not take (fresh noise from a seed, CodeFormer's fidelity input) run in torch too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn

from .options import RUNTIMES, check_choice

log = logging.getLogger(__name__)

CPU_PREFERENCE = ("openvino", "onnxruntime")  # fastest first, as measured above
TOLERANCE = 1e-3
"""Largest difference to torch's output (on [-1, 1]) an export may show in its check."""
EXPORT_VERSION = 1  # bump when the export's graph changes, so old cached files are not used


@dataclass(frozen=True)
class ExportSpec:
    """What of a network is exported: the method called, which input axes vary, the check's input."""

    name: str
    method: str
    dynamic_axes: dict[int, str]
    check_shape: Callable[[nn.Module], tuple[int, ...]]


def _face_shape(model: nn.Module) -> tuple[int, ...]:
    size = int(getattr(model, "out_size", 512))
    return (2, 3, size, size)  # two faces: the export's batch size is not fixed at one


FACES = ExportSpec("faces", "restore_faces", {0: "batch"}, _face_shape)
"""A face restorer with its stored noise: (N, 3, S, S) in [-1, 1] -> restored faces."""
IMAGES = ExportSpec("images", "forward", {2: "height", 3: "width"}, lambda model: (1, 3, 40, 56))
"""A super-resolution network: one (1, 3, H, W) picture in [0, 1] of any size -> xN."""


class Runner(Protocol):
    """Runs a network's exported method on float32 CPU tensors (torch's runs wherever the network is)."""

    name: str

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...


FaceRunner = Runner  # what the pipeline calls the face model's


class TorchRunner:
    name = "torch"

    def __init__(self, model: nn.Module, spec: ExportSpec = FACES) -> None:
        self.model = model
        self.method = spec.method

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return getattr(self.model, self.method)(x)


def one_at_a_time(run: Callable[[np.ndarray], np.ndarray], x: torch.Tensor) -> torch.Tensor:
    """``run`` on each item of the batch. On the CPU a batch is hardly faster per face in these runtimes
    (benchmark, batch 4 against 1: OpenVINO 934 against 942 ms, ONNX Runtime 1003 against 1032) but
    holds four faces' activations: peak 4.6 GB against 2.5 GB for the 512 GFPGAN in OpenVINO."""
    return torch.cat([torch.from_numpy(run(one.numpy())) for one in x.split(1)])


class OnnxRuntimeRunner:
    name = "onnxruntime"

    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return one_at_a_time(lambda one: self.session.run(None, {"input": one})[0], x)


class OpenVinoRunner:
    name = "openvino"

    def __init__(self, path: Path, threads: int) -> None:
        import openvino as ov

        # f32 explicitly: on CPUs with bf16/AMX units OpenVINO's default precision is bfloat16.
        config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32"}
        self.compiled = ov.Core().compile_model(str(path), "CPU", config)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        request = self.compiled.create_infer_request()  # one per call: requests are not thread-safe
        return one_at_a_time(lambda one: np.array(request.infer({0: one})[self.compiled.output(0)]), x)


_LOADERS: dict[str, Callable[[Path, int], Runner]] = {
    "onnxruntime": OnnxRuntimeRunner,
    "openvino": OpenVinoRunner,
}


class _Method(nn.Module):
    """The graph that is exported: one method of the network (for faces, the pipeline's call)."""

    def __init__(self, model: nn.Module, method: str) -> None:
        super().__init__()
        self.model = model
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self.model, self.method)(x)


def export_onnx(model: nn.Module, path: Path, spec: ExportSpec = FACES) -> None:
    """Write the network's ``spec.method`` as ONNX (its dynamic axes free), atomically: a half-written
    file never has the final name."""
    example = torch.zeros(1, *spec.check_shape(model)[1:])
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                _Method(model, spec.method).eval(),
                (example,),
                tmp,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={"input": spec.dynamic_axes, "output": spec.dynamic_axes},
                opset_version=17,
                dynamo=False,  # the TorchScript exporter: 4 s here against minutes for dynamo's
            )
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def export_path(cache_dir: Path, checkpoint_sha256: str, spec: ExportSpec = FACES) -> Path:
    """Where the export of the checkpoint with this sha256 is cached (torch's version is in the name:
    another exporter may write another graph)."""
    torch_version = torch.__version__.split("+")[0]
    return cache_dir / f"{checkpoint_sha256[:32]}-{spec.name}-torch{torch_version}-v{EXPORT_VERSION}.onnx"


def check_runner(model: nn.Module, runner: Runner, spec: ExportSpec = FACES) -> float:
    """Largest difference between ``runner`` and torch on random input; raises when over TOLERANCE."""
    x = torch.rand(spec.check_shape(model), generator=torch.Generator().manual_seed(0))
    x = x * 2 - 1 if spec is FACES else x
    expected = TorchRunner(model, spec)(x)
    diff = float((runner(x) - expected).abs().max())
    if not diff <= TOLERANCE:  # also catches NaN
        raise ValueError(f"differs from torch by {diff:.2g} (allowed {TOLERANCE:g})")
    return diff


def _load_checked(name: str, model: nn.Module, onnx_file: Path, threads: int, spec: ExportSpec) -> Runner:
    """The runtime ``name`` on ``onnx_file``, checked against torch once (a stamp file remembers it)."""
    runner = _LOADERS[name](onnx_file, threads)
    stamp = onnx_file.with_name(f".{onnx_file.name}.{name}-checked")
    if not stamp.is_file():
        diff = check_runner(model, runner, spec)
        with contextlib.suppress(OSError):
            stamp.write_text(f"{diff:.3g}\n")
    return runner


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def select_runner(
    model: nn.Module,
    *,
    device: torch.device,
    half: bool,
    checkpoint_sha256: str | None,
    cache_dir: Path | None,
    runtime: str = "auto",
    spec: ExportSpec = FACES,
) -> tuple[Runner, str]:
    """(runner, one line saying which runtime runs and why) for ``model`` on ``device``.

    ``runtime`` is one of :data:`~gfpgan_core.options.RUNTIMES`; a named runtime that cannot run falls
    back to torch too (with the reason), so a server always starts.
    """
    check_choice("runtime", runtime, RUNTIMES)
    torch_runner = TorchRunner(model, spec)
    what = "face model" if spec is FACES else "background upscaler"
    if runtime == "torch":
        return torch_runner, f"{what} runs in torch (asked for)"
    if device.type != "cpu" or half:
        return torch_runner, f"{what} runs in torch on {device.type} ({'float16' if half else 'float32'})"
    if getattr(model, "has_fidelity", False):
        return torch_runner, f"{what} runs in torch (its fidelity input is not in the export)"
    if checkpoint_sha256 is None or cache_dir is None:
        return torch_runner, f"{what} runs in torch (no checkpoint hash to cache an export under)"
    wanted = CPU_PREFERENCE if runtime == "auto" else (runtime,)
    installed = [name for name in wanted if is_installed(name)]  # each runtime's package has its name
    reasons = [f"{name} is not installed" for name in wanted if name not in installed]
    if installed:
        onnx_file = export_path(cache_dir, checkpoint_sha256, spec)
        try:
            if not onnx_file.is_file():
                log.info(f"exporting the {what} to ONNX for {', '.join(installed)} (once per checkpoint)")
                export_onnx(model, onnx_file, spec)
        except Exception as exc:  # any exporter failure: torch still runs the model exactly
            reasons.append(f"the ONNX export failed ({_first_line(exc)})")
            installed = []
        threads = torch.get_num_threads()
        for name in installed:
            try:
                runner = _load_checked(name, model, onnx_file, threads, spec)
            except Exception as exc:  # a runtime that cannot load or does not match: try the next
                reasons.append(f"{name} failed ({_first_line(exc)})")
                continue
            skipped = f" ({'; '.join(reasons)})" if reasons else ""
            return runner, f"{what} runs in {name} on the CPU, export checked against torch{skipped}"
    return torch_runner, f"{what} runs in torch: {'; '.join(reasons)}"


def is_installed(package: str) -> bool:
    """Importable (a package set to None in sys.modules, as tests do to hide one, counts as missing)."""
    try:
        __import__(package)
    except ImportError:
        return False
    return True
