"""Reading weights files: wrappers, formats, and clear errors for bad files."""

import pickle

import pytest
import torch
from safetensors.torch import save_file

from conftest import TINY_CONFIG
from gfpgan_core import CheckpointError
from gfpgan_core.archs import GFPGANConfig, GFPGANv1Clean, SRVGGConfig, SRVGGNetCompact
from gfpgan_core.checkpoint import export_safetensors, load_model, read_state_dict


@pytest.fixture()
def state():
    torch.manual_seed(0)
    return GFPGANConfig(**TINY_CONFIG).build().state_dict()


@pytest.mark.parametrize("wrap", ["params_ema", "params", "bare", "module_prefix"])
def test_pth_wrappers_load(tmp_path, state, wrap):
    obj = {
        "params_ema": {"params_ema": state, "params": {k: v * 0 for k, v in state.items()}},
        "params": {"params": state},
        "bare": state,
        "module_prefix": {f"module.{k}": v for k, v in state.items()},
    }[wrap]
    path = tmp_path / "w.pth"
    torch.save(obj, path)
    model, config = load_model(path)
    assert isinstance(model, GFPGANv1Clean)
    assert config == GFPGANConfig(**TINY_CONFIG)
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k  # params_ema wins over params


def test_safetensors_loads(tmp_path, state):
    path = tmp_path / "w.safetensors"
    save_file(state, str(path))
    model, _ = load_model(path)
    assert torch.equal(model.state_dict()["final_linear.weight"], state["final_linear.weight"])


@pytest.mark.parametrize("half", [False, True])
def test_export_keeps_the_ema_weights(tmp_path, state, half):
    src = tmp_path / "net_g.pth"
    torch.save({"params": {k: v * 0 for k, v in state.items()}, "params_ema": state}, src)
    dst, config = export_safetensors(src, tmp_path / "out" / "small.safetensors", half=half)
    assert config == GFPGANConfig(**TINY_CONFIG) and not list(dst.parent.glob(".*partial"))
    exported = read_state_dict(dst)
    assert exported.keys() == state.keys()
    for k, v in state.items():
        assert exported[k].dtype == (torch.float16 if half and v.is_floating_point() else v.dtype)
        assert torch.allclose(exported[k].float(), v.float(), atol=1e-3 if half else 0), k
    model, _ = load_model(dst)
    assert next(model.parameters()).dtype == torch.float32  # half files load as float32 models
    with pytest.raises(CheckpointError):
        export_safetensors(dst, dst)


def test_srvgg_detected(tmp_path):
    path = tmp_path / "bg.pth"
    torch.save({"params": SRVGGNetCompact(num_feat=16, num_conv=4, upscale=4).state_dict()}, path)
    _model, config = load_model(path)
    assert config == SRVGGConfig(num_feat=16, num_conv=4, upscale=4)


class Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"params_ema": Evil()}))
    with pytest.raises(CheckpointError, match=r"evil\.pth"):
        read_state_dict(path)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04truncated zip"])
def test_corrupt_files_give_one_line_errors(tmp_path, content):
    path = tmp_path / "broken.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as err:
        load_model(path)
    assert "\n" not in str(err.value)


def test_unknown_architecture(tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"fc.weight": torch.zeros(2, 2)}, path)
    with pytest.raises(CheckpointError, match="Unrecognised architecture"):
        load_model(path)


def test_incomplete_paper_v1_weights_are_one_line(tmp_path):
    path = tmp_path / "GFPGANv1.pth"
    torch.save({"params_ema": {"conv_body_first.0.weight": torch.zeros(1)}}, path)
    with pytest.raises(CheckpointError, match="look like GFPGANv1 but miss tensor"):
        load_model(path)


def test_mismatched_shapes_are_reported(tmp_path, state):
    state = dict(state)
    state["toRGB.0.bias"] = torch.zeros(5)
    path = tmp_path / "w.pth"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"toRGB\.0\.bias"):
        load_model(path)


def test_pickled_code_gets_our_message_not_torchs_advice(tmp_path):
    path = tmp_path / "whole_model.pth"
    torch.save(GFPGANConfig(**TINY_CONFIG).build(), path)  # a pickled module, not a state dict
    with pytest.raises(CheckpointError) as err:
        read_state_dict(path)
    message = str(err.value)
    assert "pickled code" in message and "\n" not in message
    assert "weights_only" not in message and "trust" not in message


def test_a_background_model_is_not_a_face_model(tmp_path):
    from gfpgan_core.parts import load_face_model

    path = tmp_path / "realesr.pth"
    torch.save({"params": SRVGGNetCompact(num_feat=8, num_conv=2, upscale=4).state_dict()}, path)
    with pytest.raises(CheckpointError) as err:
        load_face_model(path, download=False)
    assert (
        str(err.value) == "realesr.pth holds SRVGGNetCompact, a background upsampler; "
        "expected a face restorer (GFPGANv1Clean, RestoreFormer++, RestoreFormer, CodeFormer, GFPGANv1 or GPEN)."
    )
