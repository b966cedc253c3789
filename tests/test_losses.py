"""Each training loss on known inputs: zero where it should be, gradients where they should go."""

import pytest
import torch

from gfpgan_core import losses as L
from gfpgan_core.archs import GFPGANConfig
from gfpgan_core.archs.arcface import ResNetArcFace
from gfpgan_core.archs.discriminators import FacialComponentDiscriminator, StyleGAN2Discriminator


@pytest.fixture()
def images():
    torch.manual_seed(0)
    return torch.rand(2, 3, 32, 32) * 2 - 1


def test_pixel_and_pyramid_are_zero_for_identical_images(images):
    assert L.pixel_loss(images, images) == 0
    pyramid = [
        torch.nn.functional.interpolate(images, size=s, mode="bilinear", align_corners=False) for s in (8, 16, 32)
    ]
    assert L.pyramid_loss(pyramid, images) < 1e-6
    assert L.pyramid_loss([p + 0.1 for p in pyramid], images) == pytest.approx(0.3, abs=1e-5)


def test_gan_losses_have_the_right_signs():
    big, small = torch.full((4, 1), 10.0), torch.full((4, 1), -10.0)
    assert L.generator_gan_loss(big) < 1e-3 < L.generator_gan_loss(small)  # G wants D(fake) high
    assert L.discriminator_gan_loss(big, small) < 1e-3 < L.discriminator_gan_loss(small, big)


def test_r1_penalty_is_zero_for_a_constant_critic_and_positive_otherwise(images):
    real = images.clone().requires_grad_(True)
    assert L.r1_penalty((real * 0).sum(dim=(1, 2, 3)), real) == 0
    real = images.clone().requires_grad_(True)
    penalty = L.r1_penalty((real * 3).sum(dim=(1, 2, 3)), real)
    assert penalty == pytest.approx(9 * 3 * 32 * 32)


def test_style_loss_zero_for_identical_features_and_target_is_fixed():
    a = torch.rand(2, 4, 5, 5, requires_grad=True)
    b = torch.rand(2, 4, 5, 5, requires_grad=True)
    assert L.style_loss([a], [a.detach().clone()]) == 0
    L.style_loss([a], [b]).backward()
    assert a.grad is not None and b.grad is None


def test_component_crops_follow_the_boxes():
    img = torch.zeros(1, 3, 32, 32)
    img[:, :, 8:16, 8:16] = 1
    crop = L.crop_components(img, torch.tensor([[8.0, 8.0, 16.0, 16.0]]), 4)
    assert crop.shape == (1, 3, 4, 4) and crop.min() > 0.99


def test_identity_loss_zero_for_same_face_and_gradients_reach_only_the_image(images):
    net = ResNetArcFace().eval().requires_grad_(False)
    assert L.identity_loss(net, images, images) == 0
    out = images.clone().requires_grad_(True)
    L.identity_loss(net, out, torch.flip(images, dims=[3])).backward()
    assert out.grad is not None and out.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


def test_perceptual_loss_zero_for_identical_images_and_vgg_frozen(images):
    from torchvision.models import vgg19

    loss = L.PerceptualLoss(vgg19(weights=None).features)
    percep, style = loss(images, images)
    assert percep == 0 and style == 0
    out = images.clone().requires_grad_(True)
    sum(loss(out, torch.zeros_like(images))).backward()
    assert out.grad.abs().sum() > 0 and all(p.grad is None for p in loss.features.parameters())


def test_generator_loss_trains_the_generator_not_the_discriminator():
    torch.manual_seed(0)
    g = GFPGANConfig(out_size=32, num_style_feat=32, channel_multiplier=1, num_mlp=1, narrow=0.125).build()
    g.stylegan_decoder.requires_grad_(False)  # fix_decoder
    d = StyleGAN2Discriminator(32, 1, 0.125).requires_grad_(False)
    comp = FacialComponentDiscriminator(16).requires_grad_(False)
    lq = torch.rand(2, 3, 32, 32) * 2 - 1
    out, rgbs = g(lq, return_rgb=True)
    logits, _feats = comp(L.crop_components(out, torch.tensor([[4.0, 4, 20, 20], [6, 6, 22, 22]]), 8))
    total = L.generator_gan_loss(d(out)) + L.pyramid_loss(rgbs, lq) + L.bce_logits(logits, True)
    total.backward()
    assert g.conv_body_first.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in g.stylegan_decoder.parameters())
    assert all(p.grad is None for p in d.parameters()) and all(p.grad is None for p in comp.parameters())


def test_discriminator_outputs():
    d = StyleGAN2Discriminator(64, 1, 0.25)
    assert d(torch.rand(3, 3, 64, 64)).shape == (3, 1)  # batch not divisible by the stddev group
    logits, feats = FacialComponentDiscriminator(16)(torch.rand(2, 3, 20, 20))
    assert logits.shape == (2, 1, 5, 5) and len(feats) == 2
