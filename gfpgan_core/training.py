"""Train or fine-tune GFPGANv1Clean with the paper's losses (``python -m gfpgan_core train CONFIG``).

Losses: pixel L1, pyramid restoration loss on the U-Net's intermediate RGBs, non-saturating
adversarial loss with a StyleGAN2 discriminator and R1, facial-component adversarial + Gram-style
losses on left eye / right eye / mouth (boxes from 5 landmarks, computed once and cached),
identity loss (ResNet-ArcFace, when its weights are available) and VGG19 perceptual + style loss
(when VGG weights are available). Optimisers, EMA and ratios follow GFPGAN's training options.

Every iteration draws its batch, degradations and noise from generators seeded by (seed,
iteration), so a resumed run takes exactly the step an uninterrupted one would. The loop is one
function over plain modules: wrapping them in DistributedDataParallel and sharding the batch
indices is all multi-GPU would need.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from . import losses as L
from .archs import GFPGANv1Clean
from .archs.arcface import ResNetArcFace
from .archs.discriminators import FacialComponentDiscriminator, StyleGAN2Discriminator
from .checkpoint import read_state_dict
from .degradation import REFERENCE_SIZE, DegradationConfig, degrade_pair
from .devices import pick_device
from .errors import CheckpointError, GFPGANError, WeightsMissingError
from .faces import YuNetDetector, align_face, template_for
from .images import Picture, list_images, read_image, resize_to, to_uint8, write_image
from .metrics import psnr
from .training_config import TrainConfig
from .zoo import resolve_weights

log = logging.getLogger(__name__)


# ---------------------------------------------------------------- data
@dataclass
class FaceSample:
    name: str
    image: np.ndarray  # float32 RGB at the degradation reference size (512)
    landmarks: np.ndarray  # (5, 2) at model size


def component_boxes(landmarks: np.ndarray) -> dict[str, np.ndarray]:
    """Eye and mouth boxes (x1, y1, x2, y2) from 5 landmarks, sized from the inter-ocular distance."""
    eye_l, eye_r, _, mouth_l, mouth_r = landmarks
    iod = float(np.linalg.norm(eye_r - eye_l))
    mouth = (mouth_l + mouth_r) / 2
    half_eye, half_mouth = 0.3 * iod, max(0.45 * iod, 0.6 * float(np.linalg.norm(mouth_r - mouth_l)))

    def box(c: np.ndarray, half: float) -> np.ndarray:
        return np.array([c[0] - half, c[1] - half, c[0] + half, c[1] + half], np.float32)

    return {"left_eye": box(eye_l, half_eye), "right_eye": box(eye_r, half_eye), "mouth": box(mouth, half_mouth)}


def component_crop_sizes(config: TrainConfig) -> dict[str, int]:
    """Side in pixels each component box is resampled to: 80 for the eyes and 120 for the mouth at
    512, as GFPGAN's; proportionally smaller for smaller models."""
    scale = config.model.out_size / REFERENCE_SIZE
    sizes = {"left_eye": config.eye_crop, "right_eye": config.eye_crop, "mouth": config.mouth_crop}
    return {k: max(8, round(v * scale)) for k, v in sizes.items()}


def prepare_faces(config: TrainConfig, cache: Path) -> list[FaceSample]:
    """Load aligned faces and align faces out of photos; landmarks detected once, cached in JSON."""
    size = config.model.out_size
    detector = YuNetDetector()
    cache.mkdir(parents=True, exist_ok=True)
    lm_file = cache / "landmarks.json"
    known: dict[str, list] = json.loads(lm_file.read_text()) if lm_file.is_file() else {}
    samples: list[FaceSample] = []
    for folder in config.data.folders:
        for path in list_images(Path(folder)):
            key = f"{Path(folder).name}/{path.name}"
            img = read_image(path).rgb
            img512 = resize_to(img, REFERENCE_SIZE)
            if key not in known:
                faces = detector.detect(to_uint8(img512), 0.5)
                centre = np.full(2, REFERENCE_SIZE / 2)
                known[key] = (
                    min(faces, key=lambda f: np.linalg.norm(f.landmarks.mean(0) - centre)).landmarks.tolist()
                    if faces
                    else template_for(REFERENCE_SIZE).tolist()
                )
            samples.append(FaceSample(key, img512, np.array(known[key], np.float32) * size / REFERENCE_SIZE))
    aligned_dir = cache / "aligned_from_photos"
    for folder in config.data.align_from:
        for path in list_images(Path(folder)):
            try:
                img = read_image(path).rgb
            except GFPGANError as exc:
                log.warning(f"skipped {path.name}: {exc}")
                continue
            faces = [f for f in detector.detect(to_uint8(img), 0.8) if f.size >= config.data.min_face_size]
            for i, face in enumerate(faces):
                key = f"{Path(folder).name}/{path.stem}_{i:02d}"
                crop, _ = align_face(img, face.landmarks, REFERENCE_SIZE)
                out = aligned_dir / f"{path.stem}_{i:02d}.png"
                if not out.is_file():
                    write_image(out, Picture(crop))
                known[key] = template_for(REFERENCE_SIZE).tolist()  # aligned to the template by construction
                samples.append(FaceSample(key, crop, template_for(size).astype(np.float32)))
    lm_file.write_text(json.dumps(known))
    return samples


def split(samples: list[FaceSample], val_fraction: float) -> tuple[list[FaceSample], list[FaceSample]]:
    """Held-out split by a hash of each name: adding images never moves old ones across."""
    val = [s for s in samples if zlib.crc32(s.name.encode()) % 1000 < val_fraction * 1000]
    train = [s for s in samples if s not in val]
    return train, val


def make_batch(
    samples: list[FaceSample], rng: np.random.Generator, batch_size: int, degradation: DegradationConfig, size: int
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """(lq, gt) in [-1, 1] at ``size`` and component boxes, with random horizontal flips."""
    lqs, gts = [], []
    boxes: dict[str, list[np.ndarray]] = {k: [] for k in L.COMPONENTS}
    for idx in rng.integers(0, len(samples), batch_size):
        s = samples[int(idx)]
        img, lm = s.image, s.landmarks.copy()
        if rng.uniform() < 0.5:
            img = img[:, ::-1]
            lm[:, 0] = size - 1 - lm[:, 0]
            lm = lm[[1, 0, 2, 4, 3]]  # the image-left eye and mouth corner are the old right ones
        lq, gt = degrade_pair(np.ascontiguousarray(img), rng, size, degradation)
        lqs.append(lq)
        gts.append(gt)
        for k, b in component_boxes(lm).items():
            boxes[k].append(b)

    def to_t(arrs: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2) * 2 - 1

    return to_t(lqs), to_t(gts), {k: torch.from_numpy(np.stack(v)) for k, v in boxes.items()}


# ---------------------------------------------------------------- models
class Trainer:
    """Holds the networks, optimisers and EMA; ``step(it)`` runs one iteration."""

    def __init__(self, config: TrainConfig, train: list[FaceSample], val: list[FaceSample]) -> None:
        self.config = config
        self.train_samples, self.val_samples = train, val
        self.device = pick_device(config.device)
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        mc = config.model
        self.net_g = GFPGANv1Clean(**asdict(mc), decoder_load_path=None, fix_decoder=False).to(self.device)
        if config.init:
            path, _ = resolve_weights(config.init)
            state = read_state_dict(path)
            self.net_g.load_state_dict(state)
            log.info(f"fine-tuning from {path}")
        if config.decoder:
            state = read_state_dict(config.decoder)
            self.net_g.stylegan_decoder.load_state_dict(state)
        if config.fix_decoder:
            self.net_g.stylegan_decoder.requires_grad_(False)
        self.net_g_ema = copy.deepcopy(self.net_g).eval().requires_grad_(False)
        self.net_d = StyleGAN2Discriminator(mc.out_size, mc.channel_multiplier, mc.narrow).to(self.device)
        self.net_components = nn.ModuleDict(
            {k: FacialComponentDiscriminator(width=max(16, int(64 * mc.narrow))) for k in L.COMPONENTS}
            if config.components
            else {}
        ).to(self.device)

        self.identity_net = self._optional_net(
            config.identity_weights, lambda: ResNetArcFace(use_se=False), "identity loss"
        )
        vgg = self._optional_net(config.vgg_weights, _vgg19_features_module, "perceptual loss")
        self.perceptual = (
            L.PerceptualLoss(cast(nn.Sequential, vgg.features), style_weight=config.losses.perceptual_style).to(
                self.device
            )
            if vgg is not None
            else None
        )

        g_params = [p for p in self.net_g.parameters() if p.requires_grad]
        self.opt_g = torch.optim.Adam(g_params, lr=config.lr_g, betas=(0.0, 0.99))
        ratio = config.losses.r1_every / (config.losses.r1_every + 1)  # lazy-regularisation correction
        self.opt_d = torch.optim.Adam(self.net_d.parameters(), lr=config.lr_d * ratio, betas=(0.0, 0.99**ratio))
        self.opt_c = (
            torch.optim.Adam(self.net_components.parameters(), lr=config.lr_d, betas=(0.9, 0.99))
            if config.components
            else None
        )
        self.sched_g = torch.optim.lr_scheduler.MultiStepLR(self.opt_g, config.lr_milestones, gamma=0.5)
        self.sched_d = torch.optim.lr_scheduler.MultiStepLR(self.opt_d, config.lr_milestones, gamma=0.5)
        self.iteration = 0

    def _optional_net(self, weights: str | None, build: Callable[[], nn.Module], what: str) -> nn.Module | None:
        if not weights:
            log.info(f"{what}: off")
            return None
        try:
            path, _ = resolve_weights(weights, download=False)
            net = build()
            net.load_state_dict(read_state_dict(path))
        except (WeightsMissingError, CheckpointError, RuntimeError) as exc:
            log.info(f"{what}: off ({exc})")
            return None
        log.info(f"{what}: on ({path.name})")
        return net.to(self.device).eval().requires_grad_(False)

    def _seed(self, it: int) -> np.random.Generator:
        torch.manual_seed(self.config.seed * 1_000_003 + it)
        return np.random.default_rng([self.config.seed, it])

    def step(self) -> dict[str, float]:
        """One iteration (generator, then discriminators); returns the loss values."""
        cfg, lw = self.config, self.config.losses
        it = self.iteration + 1
        rng = self._seed(it)
        lq, gt, boxes = make_batch(self.train_samples, rng, cfg.batch_size, cfg.degradation, cfg.model.out_size)
        lq, gt = lq.to(self.device), gt.to(self.device)
        boxes = {k: v.to(self.device) for k, v in boxes.items()}
        comp_sizes = component_crop_sizes(cfg)
        row: dict[str, float] = {}

        # generator
        self.net_g.train()
        self.net_d.requires_grad_(False)
        self.net_components.requires_grad_(False)
        out, out_rgbs = self.net_g(lq, return_rgb=True)
        terms = {
            "l_pix": L.pixel_loss(out, gt) * lw.pixel,
            "l_pyramid": L.pyramid_loss(out_rgbs, gt) * lw.pyramid,
            "l_gan": L.generator_gan_loss(self.net_d(out)) * lw.gan,
        }
        if self.perceptual is not None:
            percep, style = self.perceptual(out, gt)
            terms["l_percep"], terms["l_style"] = percep * lw.perceptual, style
        fake_crops = {k: L.crop_components(out, boxes[k], comp_sizes[k]) for k in self.net_components}
        real_crops = {k: L.crop_components(gt, boxes[k], comp_sizes[k]) for k in self.net_components}
        for k, d in self.net_components.items():
            logits, fake_feats = d(fake_crops[k])
            _, real_feats = d(real_crops[k])
            terms[f"l_{k}"] = L.bce_logits(logits, True) * lw.component_gan
            terms[f"l_{k}_style"] = L.style_loss(fake_feats, real_feats) * lw.component_style
        if self.identity_net is not None:
            terms["l_identity"] = L.identity_loss(self.identity_net, out, gt) * lw.identity
        total = sum(terms.values())
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()  # type: ignore[union-attr]
        self.opt_g.step()
        self._update_ema(it)
        row.update({k: float(v.detach()) for k, v in terms.items()})
        row["l_g_total"] = float(total.detach())  # type: ignore[union-attr]

        # discriminators
        self.net_d.requires_grad_(True)
        fake = out.detach()
        l_d = L.discriminator_gan_loss(self.net_d(gt), self.net_d(fake))
        self.opt_d.zero_grad(set_to_none=True)
        l_d.backward()
        if it % lw.r1_every == 0:
            real = gt.detach().requires_grad_(True)
            r1 = L.r1_penalty(self.net_d(real), real)
            (lw.r1 / 2 * r1 * lw.r1_every).backward()
            row["l_d_r1"] = float(r1.detach())
        self.opt_d.step()
        row["l_d"] = float(l_d.detach())
        if self.opt_c is not None:
            self.net_components.requires_grad_(True)
            l_c = sum(
                L.bce_logits(d(real_crops[k].detach())[0], True) + L.bce_logits(d(fake_crops[k].detach())[0], False)
                for k, d in self.net_components.items()
            )
            self.opt_c.zero_grad(set_to_none=True)
            l_c.backward()  # type: ignore[union-attr]
            self.opt_c.step()
            row["l_d_components"] = float(l_c.detach())  # type: ignore[union-attr]
        self.sched_g.step()
        self.sched_d.step()
        self.iteration = it
        return row

    @torch.no_grad()
    def _update_ema(self, it: int) -> None:
        # Warm-up as in diffusers' EMAModel: with a flat 0.999 a short run's average would still be
        # a third random initialisation after 1000 steps; the paper's 800k iterations never noticed.
        decay = min(self.config.ema_decay, (1 + it) / (10 + it))
        for p_ema, p in zip(self.net_g_ema.parameters(), self.net_g.parameters(), strict=False):
            p_ema.lerp_(p, 1 - decay)
        for b_ema, b in zip(self.net_g_ema.buffers(), self.net_g.buffers(), strict=False):
            b_ema.copy_(b)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """PSNR of the EMA model and of the degraded input on the held-out faces (fixed degradations)."""
        if not self.val_samples:
            return {}
        scores, base = [], []
        for i, s in enumerate(self.val_samples):
            lq, gt = degrade_pair(
                s.image,
                np.random.default_rng([self.config.seed, 10**9, i]),
                self.config.model.out_size,
                self.config.degradation,
            )
            x = torch.from_numpy(lq).permute(2, 0, 1)[None].to(self.device) * 2 - 1
            y = self.net_g_ema(x, return_rgb=False, randomize_noise=False)[0][0]
            y8 = ((y.clamp(-1, 1) + 1) * 127.5).round().permute(1, 2, 0).cpu().numpy()
            gt8 = np.round(gt * 255)
            scores.append(psnr(y8, gt8))
            base.append(psnr(np.round(lq * 255), gt8))
        return {"val_psnr": float(np.mean(scores)), "val_psnr_input": float(np.mean(base))}

    # ------------------------------------------------------------ checkpoints
    def state(self) -> dict[str, Any]:
        return {
            "iteration": self.iteration,
            "net_g": self.net_g.state_dict(),
            "net_g_ema": self.net_g_ema.state_dict(),
            "net_d": self.net_d.state_dict(),
            "net_components": self.net_components.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "opt_c": self.opt_c.state_dict() if self.opt_c else None,
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        self.iteration = int(state["iteration"])
        self.net_g.load_state_dict(state["net_g"])
        self.net_g_ema.load_state_dict(state["net_g_ema"])
        self.net_d.load_state_dict(state["net_d"])
        self.net_components.load_state_dict(state["net_components"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.opt_c and state["opt_c"]:
            self.opt_c.load_state_dict(state["opt_c"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])

    def save(self, out_dir: Path) -> Path:
        """Official-format generator checkpoint (``params``, ``params_ema``) plus a resume state."""
        models = out_dir / "models"
        models.mkdir(parents=True, exist_ok=True)
        g = {"params": self.net_g.state_dict(), "params_ema": self.net_g_ema.state_dict()}
        path = models / f"net_g_{self.iteration}.pth"
        for target in (path, models / "net_g_latest.pth"):
            tmp = target.with_suffix(".part")
            torch.save(g, tmp)
            tmp.replace(target)
        tmp = out_dir / "training_state.part"
        torch.save(self.state(), tmp)
        tmp.replace(out_dir / "training_state.pt")
        return path


def _vgg19_features_module() -> nn.Module:
    from torchvision.models import vgg19

    return vgg19(weights=None)


def plot_losses(log_file: Path, out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log_file.read_text().splitlines() if line.strip()]
    if not rows:
        return
    keys = sorted({k for r in rows for k in r if k.startswith(("l_", "val_"))})
    fig, axes = plt.subplots(2, 1, figsize=(9, 7))
    for k in keys:
        pts = [(r["iter"], r[k]) for r in rows if k in r]
        ax = axes[1] if k.startswith("val_") else axes[0]
        ax.plot(*zip(*pts, strict=False), label=k, marker="o" if k.startswith("val_") else None, markersize=3)
    axes[0].set_yscale("log")
    axes[0].set_title("training losses")
    axes[1].set_title("held-out PSNR (dB)")
    for ax in axes:
        ax.set_xlabel("iteration")
        ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(out_png, dpi=90)
    plt.close(fig)


def train(config: TrainConfig, resume: bool = True, max_steps: int | None = None) -> Trainer:
    """Run (or resume) training; returns the trainer. ``max_steps`` stops early (for tests)."""
    from tqdm import tqdm

    out_dir = Path(config.output_dir) / config.name
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = prepare_faces(config, out_dir / "cache")
    train_set, val_set = split(samples, config.data.val_fraction)
    if not train_set:
        raise GFPGANError("No training faces found: check data.folders / data.align_from in the config.")
    (out_dir / "split.json").write_text(
        json.dumps({"train": [s.name for s in train_set], "val": [s.name for s in val_set]}, indent=1)
    )
    (out_dir / "config.json").write_text(json.dumps(asdict(config), indent=2))
    log.info(f"{len(train_set)} training faces, {len(val_set)} held out")
    trainer = Trainer(config, train_set, val_set)
    state_file = out_dir / "training_state.pt"
    if resume and state_file.is_file():
        trainer.load_state(torch.load(state_file, map_location=trainer.device, weights_only=True))
        log.info(f"resumed at iteration {trainer.iteration}")
    log_file = out_dir / "loss_log.jsonl"
    stop = config.iterations if max_steps is None else min(config.iterations, trainer.iteration + max_steps)
    bar = tqdm(total=stop, initial=trainer.iteration, desc=config.name, unit="it")
    t0 = time.perf_counter()
    with log_file.open("a") as loss_log:
        while trainer.iteration < stop:
            row = trainer.step()
            it = trainer.iteration
            if it % config.val_every == 0 or it == stop:
                row.update(trainer.validate())
            if it % config.log_every == 0 or "val_psnr" in row:
                loss_log.write(json.dumps({"iter": it, "time": round(time.perf_counter() - t0, 2), **row}) + "\n")
                loss_log.flush()
                bar.set_postfix(
                    l_pix=f"{row['l_pix']:.3f}", **({"val": f"{row['val_psnr']:.2f}"} if "val_psnr" in row else {})
                )
            if it % config.save_every == 0 or it == stop:
                trainer.save(out_dir)
                plot_losses(log_file, out_dir / "loss_curve.png")
            bar.update(1)
    bar.close()
    return trainer
