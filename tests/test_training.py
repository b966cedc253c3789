"""Training from scratch on a tiny config, checkpoints in the official format, exact resume."""

import json

import numpy as np
import pytest
import torch
import yaml

from conftest import photos
from gfpgan_core import GFPGANError
from gfpgan_core.checkpoint import load_model
from gfpgan_core.training import component_boxes, train
from gfpgan_core.training_config import load_config


@pytest.fixture(scope="module")
def faces_dir(tmp_path_factory):
    """A dozen real aligned faces: enough for a train/val split, quick to load."""
    folder = tmp_path_factory.mktemp("faces")
    for p in photos("hq_faces_512", 12):
        (folder / p.name).write_bytes(p.read_bytes())
    return folder


@pytest.fixture(autouse=True)
def _use_faces(faces_dir):
    global FACES
    FACES = faces_dir


def _config(tmp_path, **extra):
    cfg = {
        "name": "tiny",
        "output_dir": str(tmp_path),
        "model": {"out_size": 32, "num_style_feat": 32, "channel_multiplier": 1, "num_mlp": 1, "narrow": 0.0625},
        "data": {"folders": [str(FACES)], "val_fraction": 0.25},
        "batch_size": 2,
        "iterations": 6,
        "save_every": 3,
        "val_every": 3,
        "log_every": 1,
        "device": "cpu",
        "identity_weights": None,
        "vgg_weights": None,
        **extra,
    }
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(cfg))
    return load_config(path)


def test_train_from_scratch_writes_official_checkpoints_and_logs(tmp_path):
    trainer = train(_config(tmp_path))
    out = tmp_path / "tiny"
    assert trainer.iteration == 6
    ckpt = torch.load(out / "models" / "net_g_6.pth", weights_only=True)
    assert set(ckpt) == {"params", "params_ema"}
    _model, config = load_model(out / "models" / "net_g_latest.pth")  # loads like a published model
    assert config.out_size == 32
    rows = [json.loads(line) for line in (out / "loss_log.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in rows] == [1, 2, 3, 4, 5, 6]
    for key in ("l_pix", "l_pyramid", "l_gan", "l_left_eye", "l_mouth_style", "l_d", "l_d_components"):
        assert all(np.isfinite(r[key]) for r in rows), key
    assert "val_psnr" in rows[2] and "val_psnr_input" in rows[2]
    assert (out / "loss_curve.png").stat().st_size > 1000
    split = json.loads((out / "split.json").read_text())
    assert split["val"] and not set(split["val"]) & set(split["train"])


def test_resume_takes_the_same_next_step(tmp_path):
    straight = train(_config(tmp_path / "a", iterations=4, save_every=100))
    stopped = _config(tmp_path / "b", iterations=4, save_every=2)
    train(stopped, max_steps=2)  # "interrupted" after iteration 2
    resumed = train(stopped)
    assert resumed.iteration == 4
    for (name, a), b in zip(straight.net_g.state_dict().items(), resumed.net_g.state_dict().values(), strict=False):
        assert torch.allclose(a, b, atol=1e-6), name
    for a, b in zip(straight.net_d.state_dict().values(), resumed.net_d.state_dict().values(), strict=False):
        assert torch.allclose(a, b, atol=1e-6)


def test_fine_tuning_starts_from_a_checkpoint(tmp_path, tiny_checkpoint):
    from conftest import TINY_CONFIG

    cfg = _config(tmp_path, iterations=1, model=dict(TINY_CONFIG), init=str(tiny_checkpoint), fix_decoder=True)
    trainer = train(cfg)
    start = torch.load(tiny_checkpoint, weights_only=True)["params_ema"]
    decoder_key = "stylegan_decoder.style_convs.0.modulated_conv.weight"
    assert torch.equal(trainer.net_g.state_dict()[decoder_key], start[decoder_key])  # fixed decoder
    assert not torch.equal(trainer.net_g.state_dict()["final_linear.weight"], start["final_linear.weight"])


def test_unknown_config_keys_are_rejected(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("iterations: 3\nlearning_rate: 0.1\n")
    with pytest.raises(GFPGANError, match="learning_rate"):
        load_config(path)


def test_component_boxes_and_flip_consistency():
    from gfpgan_core.faces import template_for

    boxes = component_boxes(template_for(512))
    for _name, box in boxes.items():
        assert box[2] > box[0] and box[3] > box[1]
    assert boxes["left_eye"][0] < boxes["right_eye"][0] and boxes["mouth"][1] > boxes["left_eye"][3] - 20


def test_ema_warms_up_so_short_runs_are_not_their_random_start(tmp_path):
    trainer = train(_config(tmp_path), max_steps=1)
    before = [p.clone() for p in trainer.net_g_ema.parameters()]
    with torch.no_grad():
        for p_ema, p in zip(trainer.net_g_ema.parameters(), trainer.net_g.parameters(), strict=False):
            p.copy_(p_ema + 1)
    trainer._update_ema(1)  # decay min(0.999, 2/11): the EMA moves 9/11 of the way, not 0.001
    for old, new in zip(before, trainer.net_g_ema.parameters(), strict=False):
        assert torch.allclose(new - old, torch.full_like(old, 9 / 11), atol=1e-5)
    with torch.no_grad():
        before = [p.clone() for p in trainer.net_g_ema.parameters()]
        for p_ema, p in zip(trainer.net_g_ema.parameters(), trainer.net_g.parameters(), strict=False):
            p.copy_(p_ema + 1)
    trainer._update_ema(100_000)  # late in a long run the configured decay holds
    for old, new in zip(before, trainer.net_g_ema.parameters(), strict=False):
        assert torch.allclose(new - old, torch.full_like(old, 1 - trainer.config.ema_decay), atol=1e-5)


def test_the_paper_recipe_details():
    """Component crops 80 (eyes) / 120 (mouth) at 512, style loss levels 0.5 / 1, EMA 0.5 ** (32 / 10000)."""
    from gfpgan_core import losses as L
    from gfpgan_core.archs import GFPGANConfig
    from gfpgan_core.training import component_crop_sizes
    from gfpgan_core.training_config import TrainConfig

    assert TrainConfig().ema_decay == pytest.approx(0.99778, abs=1e-5)
    assert component_crop_sizes(TrainConfig()) == {"left_eye": 80, "right_eye": 80, "mouth": 120}
    small = TrainConfig(model=GFPGANConfig(out_size=128))
    assert component_crop_sizes(small) == {"left_eye": 20, "right_eye": 20, "mouth": 30}
    a, b = torch.rand(1, 4, 8, 8), torch.rand(1, 4, 8, 8)
    level = float(L.style_loss([a], [b], weights=(1.0,)))
    assert float(L.style_loss([a, a], [b, a])) == pytest.approx(0.5 * level)
    assert float(L.style_loss([a, a], [a, b])) == pytest.approx(level)
