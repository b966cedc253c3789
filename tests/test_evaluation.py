"""Degradation, metrics (NIQE against BasicSR's reference values) and the evaluate command."""

import json

import numpy as np
import pytest
from PIL import Image

from conftest import DATA, measured_on_shared, photo_dir, photos
from gfpgan_core import metrics
from gfpgan_core.degradation import DegradationConfig, degrade, degrade_folder, degrade_pair, image_seed
from gfpgan_core.evaluation import BASELINE, evaluate
from gfpgan_core.images import resize_to

# NIQE of these real low-quality faces computed with BasicSR 1.4.2's calculate_niqe (the MATLAB
# port GFPGAN's paper numbers come from), run once on this machine for reference.
BASICSR_NIQE = {
    "CodeFormer__inputs__cropped_faces__0143.jpg": 11.8003,
    "CodeFormer__inputs__cropped_faces__0240.jpg": 13.2185,
}


@pytest.mark.parametrize("name,expected", BASICSR_NIQE.items())
def test_niqe_matches_the_reference_implementation(name, expected):
    img = np.asarray(Image.open(measured_on_shared(DATA / "lq_faces_512" / name)).convert("RGB"))
    assert metrics.niqe(img) == pytest.approx(expected, abs=0.01)


def test_psnr_ssim_basics():
    a = np.random.default_rng(0).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    assert metrics.psnr(a, a) == float("inf") and metrics.ssim(a, a) == pytest.approx(1.0)
    assert metrics.psnr(a, np.clip(a.astype(int) + 5, 0, 255)) < 35


def test_degradation_is_seeded_and_in_range():
    gt = np.asarray(Image.open(photos("hq_faces_512", 1)[0]).convert("RGB")).astype(np.float32) / 255
    a, pa = degrade(gt, image_seed(0, "x.png"))
    b, pb = degrade(gt, image_seed(0, "x.png"))
    c, _ = degrade(gt, image_seed(1, "x.png"))
    assert np.array_equal(a, b) and pa == pb and not np.array_equal(a, c)
    cfg = DegradationConfig()
    assert cfg.blur_kernel_size == 41 and cfg.downsample_range == (0.8, 8.0) and cfg.jpeg_range == (60, 100)
    assert (
        0.1 <= pa["sigma_x"] <= 10
        and 0.8 <= pa["downsample"] <= 8
        and 0 <= pa["noise"] <= 20
        and 60 <= pa["jpeg_quality"] <= 100
    )
    assert a.shape == gt.shape and metrics.psnr(a * 255, gt * 255) < metrics.psnr(gt * 255, gt * 255)


def test_small_models_get_the_reference_scale_degradation():
    """Degrading at 512 and resizing to 128 is milder than applying the 512 ranges at 128 directly."""
    gt512 = np.asarray(Image.open(photos("hq_faces_512", 1)[0]).convert("RGB")).astype(np.float32) / 255
    gt128 = resize_to(gt512, 128)
    at_reference, at_128 = [], []
    for seed in range(8):
        lq, gt = degrade_pair(gt512, np.random.default_rng(seed), 128)
        assert lq.shape == gt.shape == (128, 128, 3) and np.allclose(gt, gt128)
        at_reference.append(metrics.psnr(lq * 255, gt * 255))
        at_128.append(metrics.psnr(degrade(gt128, np.random.default_rng(seed))[0] * 255, gt128 * 255))
    assert np.mean(at_reference) > np.mean(at_128) + 2


def test_degrade_folder_never_writes_into_its_input(tmp_path):
    src = tmp_path / "hq"
    src.mkdir()
    for p in photos("hq_faces_512", 2):
        (src / p.name).write_bytes(p.read_bytes())
    written = degrade_folder(src, tmp_path / "lq", seed=3)
    assert len(written) == 2 and all(p.parent == tmp_path / "lq" for p in written)
    with pytest.raises(ValueError):
        degrade_folder(src, src)


def test_evaluate_reports_model_and_baseline(tmp_path, tiny_checkpoint):
    hq = tmp_path / "hq"
    hq.mkdir()
    for p in photos("hq_faces_512", 3):
        (hq / p.name).write_bytes(p.read_bytes())
    report = evaluate(str(tiny_checkpoint), tmp_path / "eval", hq_dir=hq, download=False)
    summary = report["summary"]
    assert set(summary) == {BASELINE, "tiny_gfpgan.pth"}
    for method in summary.values():
        assert method["psnr"] > 0 and 0 < method["ssim"] <= 1 and method["niqe"] > 0
    assert (tmp_path / "eval" / "contact_sheet.png").is_file()
    table = (tmp_path / "eval" / "results.md").read_text()
    assert BASELINE in table and "psnr" in table and "expression_agree ↑" in table
    for method in summary.values():
        assert 0 <= method["expression_agree"] <= 1 and method["expression_kl"] >= 0
    cached = sorted((tmp_path / "eval" / "cache").glob("*/*.png"))
    assert len(cached) == 3
    again = evaluate(str(tiny_checkpoint), tmp_path / "eval", hq_dir=hq, download=False)
    assert again["summary"] == summary  # the synthetic set is cached and fixed
    assert json.loads((tmp_path / "eval" / "results.json").read_text())["images"] == 3


def test_evaluate_no_reference(tmp_path, tiny_checkpoint):
    report = evaluate(str(tiny_checkpoint), tmp_path / "e", lq_dir=photo_dir("lq_faces_512"), limit=2, download=False)
    assert report["summary"][BASELINE]["psnr"] is None and report["summary"][BASELINE]["niqe"] > 0


def test_expression_agreement_is_full_for_the_ground_truth_itself():
    from gfpgan_core.evaluation import Scorer

    gt = np.asarray(Image.open(photos("hq_faces_512", 1)[0]).convert("RGB"))
    row = Scorer().score(gt, gt, None)
    assert row["expression_agree"] == 1.0 and row["expression_kl"] == pytest.approx(0, abs=1e-5)
    flipped = Scorer().score(np.ascontiguousarray(gt[::-1]), gt, None)  # upside down: another answer
    assert flipped["expression_kl"] > 0.01


def test_degradation_strength_scales_the_papers_ranges():
    from gfpgan_core.degradation import DegradationConfig

    paper, mild = DegradationConfig.at_strength(1.0), DegradationConfig.at_strength(0.5)
    assert paper == DegradationConfig()
    assert mild.blur_sigma == (0.1, 5.0) and mild.downsample_range == (0.8, 4.0)
    assert mild.noise_range == (0.0, 10.0) and mild.jpeg_range == (80, 100)
