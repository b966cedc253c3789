"""GFPGAN's training losses, each a small function or module that can be tested on its own."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# The layers and weights GFPGAN's perceptual loss uses on VGG19 (pre-activation conv outputs).
VGG19_LAYER_INDEX = {"conv1_2": 2, "conv2_2": 7, "conv3_4": 16, "conv4_4": 25, "conv5_4": 34}
DEFAULT_PERCEPTUAL_LAYERS = {"conv1_2": 0.1, "conv2_2": 0.1, "conv3_4": 1.0, "conv4_4": 1.0, "conv5_4": 1.0}
COMPONENTS = ("left_eye", "right_eye", "mouth")


def pixel_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(output, target)


def pyramid_loss(out_rgbs: list[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
    """L1 between the U-Net's intermediate RGB outputs and the target at each of their sizes."""
    total = target.new_zeros(())
    for rgb in out_rgbs:
        total = total + F.l1_loss(rgb, F.interpolate(target, size=rgb.shape[-2:], mode="bilinear", align_corners=False))
    return total


def generator_gan_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating logistic loss for the generator: softplus(-D(G(x)))."""
    return F.softplus(-fake_logits).mean()


def discriminator_gan_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real_images: torch.Tensor) -> torch.Tensor:
    """Squared gradient norm of D at real images (Mescheder et al. 2018)."""
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def gram_matrix(feat: torch.Tensor) -> torch.Tensor:
    b, c, h, w = feat.shape
    f = feat.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


STYLE_LEVEL_WEIGHTS = (0.5, 1.0)
"""GFPGAN's facial-component style loss weighs the discriminator's first feature level by 0.5."""


def style_loss(
    fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor], weights: tuple[float, ...] = STYLE_LEVEL_WEIGHTS
) -> torch.Tensor:
    """Weighted L1 between Gram matrices, one weight per feature level; the real side is a fixed target."""
    terms = [
        w * F.l1_loss(gram_matrix(f), gram_matrix(r.detach()))
        for w, f, r in zip(weights, fake_feats, real_feats, strict=False)
    ]
    return torch.stack(terms).sum()


def bce_logits(logits: torch.Tensor, real: bool) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 if real else 0.0))


def crop_components(images: torch.Tensor, boxes: torch.Tensor, size: int) -> torch.Tensor:
    """Crop (B, 3, H, W) images at per-image boxes (B, 4: x1 y1 x2 y2) to (B, 3, size, size)."""
    from torchvision.ops import roi_align

    rois = torch.cat([torch.arange(len(boxes), device=boxes.device, dtype=boxes.dtype)[:, None], boxes], dim=1)
    return roi_align(images, rois.to(images.dtype), output_size=size, aligned=True)


def to_identity_input(images: torch.Tensor, size: int = 128) -> torch.Tensor:
    """RGB in [-1, 1] -> the gray 128x128 input ArcFace was trained on."""
    gray = (0.2989 * images[:, 0] + 0.5870 * images[:, 1] + 0.1140 * images[:, 2]).unsqueeze(1)
    return F.interpolate(gray, size=(size, size), mode="bilinear", align_corners=False)


def identity_loss(identity_net: nn.Module, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between identity embeddings of the restored and the ground-truth face (target fixed)."""
    with torch.no_grad():
        target_emb = identity_net(to_identity_input(target))
    return F.l1_loss(identity_net(to_identity_input(output)), target_emb)


class PerceptualLoss(nn.Module):
    """VGG19 feature L1 plus a Gram style term, on ImageNet-normalised inputs in [0, 1]."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self, vgg_features: nn.Sequential, layer_weights: dict[str, float] | None = None, style_weight: float = 50.0
    ) -> None:
        super().__init__()
        self.layer_weights = dict(layer_weights or DEFAULT_PERCEPTUAL_LAYERS)
        last = max(VGG19_LAYER_INDEX[name] for name in self.layer_weights)
        self.features = vgg_features[: last + 1].eval().requires_grad_(False)
        self.style_weight = style_weight
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)

    def _taps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = ((x + 1) / 2 - self.mean) / self.std  # [-1, 1] -> ImageNet statistics
        wanted = {VGG19_LAYER_INDEX[n]: n for n in self.layer_weights}
        taps = {}
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in wanted:
                taps[wanted[i]] = x
        return taps

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out_f, tgt_f = self._taps(output), self._taps(target.detach())
        percep = sum(F.l1_loss(out_f[n], tgt_f[n]) * w for n, w in self.layer_weights.items())
        style = sum(F.l1_loss(gram_matrix(out_f[n]), gram_matrix(tgt_f[n])) * w for n, w in self.layer_weights.items())
        return percep, style * self.style_weight  # type: ignore[return-value]
