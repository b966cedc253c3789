"""Architectures: published key layout, and the same function as the reference implementation."""

import json

import numpy as np
import pytest
import torch

from conftest import FIXTURES, need
from gfpgan_core.archs import GFPGANConfig, GFPGANv1Clean, SRVGGNetCompact
from gfpgan_core.checkpoint import detect_architecture


def test_gfpgan_keys_and_shapes_match_published_checkpoints():
    ref = json.loads(need(FIXTURES / "gfpganv1_clean_512_keys.json").read_text())
    model = GFPGANv1Clean(**ref["config"])
    state = model.state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == ref["keys"]
    assert list(state) == list(ref["keys"])  # same order too
    assert sum(v.numel() for v in state.values()) == ref["num_elements"] == 87_143_276


def test_srvgg_keys_and_shapes_match_realesr_general_x4v3():
    ref = json.loads(need(FIXTURES / "srvgg_x4v3_keys.json").read_text())
    model = SRVGGNetCompact(**ref["config"])
    assert {k: list(v.shape) for k, v in model.state_dict().items()} == ref["keys"]


def test_gfpgan_matches_reference_outputs():
    ref = torch.load(need(FIXTURES / "gfpganv1_clean_parity_64.pth"), weights_only=True)
    model = GFPGANv1Clean(**ref["config"]).eval()
    model.load_state_dict(ref["params_ema"])
    with torch.no_grad():
        out, rgbs = model(ref["input"], return_rgb=True, randomize_noise=False)
    assert (out - ref["output"]).abs().max() < 1e-4
    assert len(rgbs) == len(ref["out_rgbs"])
    for got, want in zip(rgbs, ref["out_rgbs"], strict=False):
        assert (got - want).abs().max() < 1e-4


def test_srvgg_matches_reference_output():
    ref = torch.load(need(FIXTURES / "srvgg_parity_small.pth"), weights_only=True)
    model = SRVGGNetCompact(num_feat=16, num_conv=4, upscale=4).eval()
    model.load_state_dict(ref["params"])
    with torch.no_grad():
        assert (model(ref["input"]) - ref["output"]).abs().max() < 1e-4


def _grouped_modulated_conv(mod, x, style):
    """The reference's fused form: per-sample weights, one grouped convolution."""
    b, c, _h, _w = x.shape
    s = mod.modulation(style).view(b, 1, c, 1, 1)
    weight = mod.weight * s
    if mod.demodulate:
        weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + mod.eps).view(b, mod.out_channels, 1, 1, 1)
    weight = weight.view(b * mod.out_channels, c, mod.kernel_size, mod.kernel_size)
    if mod.upsample:
        x = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    out = torch.nn.functional.conv2d(x.reshape(1, -1, *x.shape[2:]), weight, padding=mod.kernel_size // 2, groups=b)
    return out.view(b, mod.out_channels, *out.shape[2:])


@pytest.mark.parametrize("upsample,demodulate", [(False, True), (True, True), (False, False)])
def test_batched_modulated_conv_equals_grouped_form(upsample, demodulate):
    from gfpgan_core.archs.stylegan2_clean import ModulatedConv2d

    torch.manual_seed(0)
    mod = ModulatedConv2d(8, 6, 3, 16, demodulate=demodulate, upsample=upsample)
    x, style = torch.randn(5, 8, 9, 9), torch.randn(5, 16)
    assert (mod(x, style) - _grouped_modulated_conv(mod, x, style)).abs().max() < 1e-5


@pytest.mark.parametrize(
    "config",
    [
        GFPGANConfig(out_size=32, num_style_feat=32, channel_multiplier=1, num_mlp=1, narrow=0.125),
        GFPGANConfig(out_size=128, num_style_feat=64, channel_multiplier=2, num_mlp=3, narrow=0.25),
        GFPGANConfig(
            out_size=64,
            num_style_feat=32,
            channel_multiplier=1,
            num_mlp=2,
            narrow=0.25,
            sft_half=False,
            different_w=False,
        ),
    ],
)
def test_config_is_recovered_from_weights_alone(config):
    state = config.build().state_dict()
    assert detect_architecture(state) == config


def test_published_512_config_is_recovered_from_weights():
    state = GFPGANConfig().build().state_dict()
    assert detect_architecture(state) == GFPGANConfig(
        out_size=512, num_style_feat=512, channel_multiplier=2, num_mlp=8, narrow=1
    )


def test_return_latents_and_randomized_noise():
    torch.manual_seed(0)
    model = GFPGANConfig(out_size=32, num_style_feat=32, channel_multiplier=1, num_mlp=1, narrow=0.125).build().eval()
    for name, p in model.stylegan_decoder.named_parameters():
        if name.endswith("weight") and p.shape == (1,):  # noise strengths start at zero
            p.data.fill_(0.5)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        a = model(x, randomize_noise=False)[0]
        b = model(x, randomize_noise=False)[0]
        c = model(x, randomize_noise=True)[0]
    assert torch.equal(a, b)
    assert a.shape == (2, 3, 32, 32)
    assert not torch.equal(a, c)


def test_restoreformer_keys_and_shapes_match_the_published_layout():
    from gfpgan_core.archs import RestoreFormer

    ref = json.loads(need(FIXTURES / "restoreformer_512_keys.json").read_text())
    state = RestoreFormer().state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == ref["keys"] and len(state) == 405


def assert_matches_its_reference(fixture: str, params: str, config_type: type, tolerance: float = 1e-4) -> None:
    """A parity fixture's small network: its config read from its weights, and the reference's output."""
    ref = torch.load(need(FIXTURES / fixture), weights_only=True)
    config = detect_architecture(ref[params])
    expected = {k: tuple(v) if isinstance(v, list) else v for k, v in ref["config"].items()}
    assert config == config_type(**expected), fixture
    model = config.build().eval()
    model.load_state_dict(ref[params])
    with torch.no_grad():
        assert (model(ref["input"]) - ref["output"]).abs().max() < tolerance, fixture


def test_restoreformer_matches_the_reference_and_is_recognised_from_its_weights():
    from gfpgan_core.archs import RestoreFormerConfig

    assert_matches_its_reference("restoreformer_parity_64.pth", "params_ema", RestoreFormerConfig)
    full = json.loads(need(FIXTURES / "restoreformer_512_keys.json").read_text())["keys"]
    assert detect_architecture({k: torch.empty(v) for k, v in full.items()}) == RestoreFormerConfig()


def test_an_unknown_architecture_names_the_known_ones():
    from gfpgan_core.errors import CheckpointError

    known = r"known: GFPGANv1Clean, RestoreFormer\+\+, RestoreFormer, CodeFormer, GFPGANv1, GPEN, SRVGGNetCompact\."
    with pytest.raises(CheckpointError, match=known):
        detect_architecture({"some.other.net.weight": torch.zeros(1)})


def _codeformer_fixture():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_codeformer_fixture", FIXTURES / "make_codeformer_fixture.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    return torch.load(need(FIXTURES / "codeformer_parity.pth"), weights_only=True), maker


def test_codeformer_keys_match_the_published_layout_and_are_recognised():
    from gfpgan_core.archs import CodeFormer, CodeFormerConfig

    ref, _ = _codeformer_fixture()
    assert {k: list(v.shape) for k, v in CodeFormer().state_dict().items()} == ref["keys"]
    assert detect_architecture({k: torch.empty(v) for k, v in ref["keys"].items()}) == CodeFormerConfig()


@pytest.mark.slow
def test_codeformer_matches_the_reference_at_every_fidelity():
    """Full size, seeded random weights (the fixture keeps the seed and sampled outputs of the reference)."""
    from gfpgan_core.archs import CodeFormer

    ref, maker = _codeformer_fixture()
    state, generator = maker.seeded_state(ref["keys"], ref["seed"])
    model = CodeFormer().eval()
    model.load_state_dict(state)
    x = maker.face_input(generator)
    with torch.no_grad():
        for key, want in ref["outputs"].items():
            w, adain = float(key.split()[0]), key.endswith("adain")
            got = maker.samples(model(x, w, adain=adain))
            assert max((got[k] - want[k]).abs().max().item() for k in want) < 1e-4, key


@pytest.mark.slow
def test_the_pipeline_runs_codeformer_as_its_authors_do():
    """Through Restorer.restore on an aligned face: the reference's net(x, w=w, adain=True) at w 0,
    0.5 and 1 (the pipeline's weight is 1 - w), within 1e-4 (on [-1, 1], where the reference's output
    stays in range; the pipeline clips to the image range)."""
    from gfpgan_core import Restorer
    from gfpgan_core.archs import CodeFormer

    ref, maker = _codeformer_fixture()
    state, generator = maker.seeded_state(ref["keys"], ref["seed"])
    model = CodeFormer().eval()
    model.load_state_dict(state)
    x = maker.face_input(generator)
    face = ((x[0].permute(1, 2, 0) + 1) / 2).numpy()  # the same pixels as an RGB image in [0, 1], exactly
    restorer = Restorer(model, device="cpu")
    for w in ("0.0", "0.5", "1.0"):
        result = restorer.restore(face, aligned=True, upscale=1, weight=1 - float(w), upsample_background=False)
        got = maker.samples(torch.from_numpy(result.picture.rgb).permute(2, 0, 1)[None] * 2 - 1)
        want = ref["outputs"][f"{w} adain"]
        assert max((got[k] - want[k].clamp(-1, 1)).abs().max().item() for k in want) < 1e-4, w


def test_gfpganv1_keys_match_the_papers_checkpoint_and_are_recognised():
    from gfpgan_core.archs import GFPGANv1, GFPGANv1Config

    ref = json.loads(need(FIXTURES / "gfpganv1_512_keys.json").read_text())
    state = GFPGANv1().state_dict()
    assert {k: list(v.shape) for k, v in state.items()} == ref["keys"] and len(state) == 285
    assert detect_architecture({k: torch.empty(v) for k, v in ref["keys"].items()}) == GFPGANv1Config()


def test_gfpganv1_matches_the_reference_without_compiled_ops():
    """The reference with basicsr's CPU upfirdn2d and the fused activation's arithmetic: bit-equal here."""
    from gfpgan_core.archs import GFPGANv1Config

    ref = torch.load(need(FIXTURES / "gfpganv1_parity_64.pth"), weights_only=True)
    config = detect_architecture(ref["params_ema"])
    assert config == GFPGANv1Config(**{k: v for k, v in ref["config"].items() if k != "input_is_latent"})
    model = config.build().eval()
    model.load_state_dict(ref["params_ema"])
    with torch.no_grad():
        out, rgbs = model(ref["input"])
    assert (out - ref["output"]).abs().max() < 1e-4
    assert all((a - b).abs().max() < 1e-4 for a, b in zip(rgbs, ref["out_rgbs"], strict=True))


def test_each_registered_architecture_recognises_its_own_weights_and_no_others():
    """Telltale keys never overlap, so the registry's order cannot decide what a file holds; each
    architecture reads its own default config back from the published shapes."""
    from gfpgan_core.archs.registry import ARCHITECTURES

    for spec in ARCHITECTURES:
        with torch.device("meta"):
            state = spec.config().build().state_dict()
        assert [s.name for s in ARCHITECTURES if s.matches(state)] == [spec.name]
        assert detect_architecture(state) == spec.config()


def test_restoreformer_pp_matches_the_reference_and_is_told_from_restoreformer():
    """A small network of the published kind (decoder attending at 16 and 32 px, 4 heads), seeded random
    weights: the reference's output within 1e-4; the published key layout is recognised as
    RestoreFormer++ (not RestoreFormer, whose keys it also holds) with the published config."""
    from gfpgan_core.archs import RestoreFormerPlusPlusConfig

    assert_matches_its_reference("restoreformer_pp_parity_128.pth", "params", RestoreFormerPlusPlusConfig)
    full = json.loads(need(FIXTURES / "restoreformer_pp_512_keys.json").read_text())["keys"]
    published = detect_architecture({k: torch.empty(v) for k, v in full.items()})
    assert published == RestoreFormerPlusPlusConfig()
    assert {k: list(v.shape) for k, v in published.build().state_dict().items()} == full


def test_restoreformer_pp_loads_from_its_lightning_checkpoint_without_naming_it(tmp_path):
    """RestoreFormer++.ckpt keeps the network under state_dict with a "vqvae." prefix, beside training-only
    modules (its loss's discriminator) and Lightning's bookkeeping: given by path, it loads as itself."""
    from gfpgan_core import Restorer
    from gfpgan_core.archs import RestoreFormerPlusPlusConfig

    ref = torch.load(need(FIXTURES / "restoreformer_pp_parity_128.pth"), weights_only=True)
    state = {f"vqvae.{k}": v for k, v in ref["params"].items()}
    state["loss.discriminator.main.0.weight"] = torch.zeros(4, 3, 4, 4)
    ckpt = tmp_path / "RestoreFormer++.ckpt"
    torch.save({"epoch": 1, "global_step": 10, "state_dict": state}, ckpt)
    restorer = Restorer.from_pretrained(ckpt, device="cpu", download=False, runtime="torch")
    assert isinstance(restorer.model.config, RestoreFormerPlusPlusConfig)
    with torch.no_grad():
        assert (restorer.model(ref["input"]) - ref["output"]).abs().max() < 1e-4


def test_gpen_matches_the_reference_and_each_published_size_is_recognised():
    """Small GPENs at two sizes and widths (seeded random weights): the reference's output (its CPU path)
    within 1e-5;
    GPEN-BFR-512 and -256's published layouts, and a 1024 one, recognised with their configs."""
    from gfpgan_core.archs import GPENConfig

    for fixture in ("gpen_parity_64.pth", "gpen_parity_128.pth"):  # channel multiplier 2, then 1
        assert_matches_its_reference(fixture, "params", GPENConfig, tolerance=1e-5)
    for name, expected in (
        ("gpen_bfr_512", GPENConfig()),
        ("gpen_bfr_256", GPENConfig(size=256, channel_multiplier=1, narrow=0.5)),
    ):
        keys = json.loads(need(FIXTURES / f"{name}_keys.json").read_text())["keys"]
        assert detect_architecture({k: torch.empty(v) for k, v in keys.items()}) == expected, name
    with torch.device("meta"):
        big = GPENConfig(size=1024, channel_multiplier=2, narrow=1.0).build().state_dict()
    assert detect_architecture(big) == GPENConfig(size=1024)


def test_a_model_with_a_face_template_of_its_own_gets_its_crops_aligned_to_it():
    """GPEN's crops hold the face as its authors' template does, at the model's own size (a 256 model
    aligned at 256, not a 512 crop squeezed)."""
    from gfpgan_core import Restorer
    from gfpgan_core.archs import GPENConfig
    from gfpgan_core.archs.gpen import GPEN_TEMPLATE_512
    from gfpgan_core.faces import align_face

    rng = np.random.default_rng(0)
    photo = rng.random((400, 300, 3)).astype(np.float32)
    landmarks = GPEN_TEMPLATE_512 * 0.4 + np.array([40.0, 60.0])  # a face somewhere in the photo
    crop, matrix = align_face(photo, landmarks, 256, template_512=GPEN_TEMPLATE_512)
    mapped = np.hstack([landmarks, np.ones((5, 1))]) @ matrix.T
    assert crop.shape == (256, 256, 3)
    assert np.abs(mapped - GPEN_TEMPLATE_512 * 0.5).max() < 1e-6  # onto GPEN's points, at 256
    ffhq = np.hstack([landmarks, np.ones((5, 1))]) @ align_face(photo, landmarks, 256)[1].T
    eyes = [np.linalg.norm(points[1] - points[0]) for points in (mapped, ffhq)]
    assert eyes[0] < 0.92 * eyes[1]  # GPEN's crop holds the face about 10% smaller than FFHQ's
    restorer = Restorer(GPENConfig(size=256, channel_multiplier=1, narrow=0.5).build(), device="cpu")
    assert restorer.crop_size == 256 and restorer.face_template is GPEN_TEMPLATE_512


@pytest.mark.slow
@pytest.mark.parametrize("task", ["colorize", "inpaint"])
def test_codeformers_colourisation_and_inpainting_checkpoints_run_as_their_scripts_do(task):
    """The colourisation and inpainting checkpoints (other codebook and connect_list, read from the
    keys), through Restorer.restore(task=...) on an aligned face: the reference scripts' calls (w 0 with
    AdaIN, colour out; w 1 without AdaIN, only the white pixels replaced) within 1e-4."""
    from gfpgan_core import Restorer

    ref = torch.load(need(FIXTURES / "codeformer_tasks_parity.pth"), weights_only=True)[task]
    _, maker = _codeformer_fixture()
    state, generator = maker.seeded_state(ref["keys"], ref["seed"])
    model = detect_architecture(state).build().eval()
    model.load_state_dict(state)
    x = maker.task_input(task, generator)
    face = ((x[0].permute(1, 2, 0) + 1) / 2).numpy()
    result = Restorer(model, device="cpu").restore(face, aligned=True, upscale=1, task=task, upsample_background=False)
    got = maker.samples(torch.from_numpy(result.picture.rgb).permute(2, 0, 1)[None] * 2 - 1)
    assert max((got[k] - ref["output"][k].clamp(-1, 1)).abs().max().item() for k in got) < 1e-4
    assert not result.picture.grayscale


def test_a_task_is_refused_in_one_line_by_a_model_that_does_not_do_it(tiny_restorer):
    from gfpgan_core import OptionsError, RestoreOptions

    face = np.full((64, 64, 3), 0.5, np.float32)
    with pytest.raises(OptionsError, match="does not do 'colorize': load codeformer-colorization for it"):
        tiny_restorer.restore(face, aligned=True, task="colorize")
    with pytest.raises(OptionsError, match="takes an aligned face"):
        RestoreOptions(task="inpaint")


@pytest.mark.parametrize(
    ("arch", "config", "wrap"),
    [
        ("GPEN", {"size": 256, "channel_multiplier": 1, "narrow": 0.5}, lambda state: state),
        ("CodeFormer", {"codebook_size": 512, "connect_list": ("32", "64", "128")}, lambda s: {"params_ema": s}),
        ("RestoreFormerPlusPlus", {}, lambda s: {"state_dict": {f"vqvae.{k}": v for k, v in s.items()}}),
    ],
)
def test_each_new_kind_loads_by_path_without_naming_its_config(tmp_path, arch, config, wrap):
    """What --model-path does: a file in the published layout (GPEN-BFR-256, CodeFormer's inpainting
    checkpoint, RestoreFormer++'s Lightning checkpoint), its architecture and config read from it."""
    from conftest import published_layout
    from gfpgan_core import archs
    from gfpgan_core.checkpoint import load_model

    path = tmp_path / "weights.pth"
    torch.save(wrap(published_layout(arch, **config)), path)
    _, found = load_model(path)
    assert found == getattr(archs, f"{arch}Config")(**config)
