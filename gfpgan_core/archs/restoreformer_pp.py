"""RestoreFormer++ (Wang et al., TPAMI 2023): RestoreFormer whose decoder attends from the degraded
face's features at two scales (16 and 32 px) with 4 heads, trained with a richer degradation model.

Written for this project over RestoreFormer's modules (the same network family; restoreformer.py);
module names follow the published ``RestoreFormer++.ckpt`` (wzhouxiff/RestoreFormerPlusPlus release
v1.0.0, Apache-2.0: a PyTorch Lightning checkpoint whose ``state_dict`` holds the network under
``vqvae.``), so it loads unchanged. The same function as the reference
(``RestoreFormer/modules/vqvae/vqvae_arch.py``, ``VQVAEGANMultiHeadTransformer(head_size=4,
ex_multi_scale_num=1)``, as its inference helper builds it): tests/fixtures/restoreformer_pp_parity_128.pth.
"""

from __future__ import annotations

from dataclasses import dataclass

from .restoreformer import RestoreFormer, RestoreFormerConfig, decoder_attention_levels, infer_shape
from .spec import FACE_RESTORER, ArchSpec, StateDict


@dataclass(frozen=True)
class RestoreFormerPlusPlusConfig(RestoreFormerConfig):
    """The published model is the default; tests build small ones."""

    head_size: int = 4
    decoder_attn_resolutions: tuple[int, ...] = (16, 32)

    def build(self) -> RestoreFormer:
        return RestoreFormer(self)


def infer_config(state: StateDict) -> RestoreFormerPlusPlusConfig:
    """RestoreFormer++'s shape from its tensors, with its published 4 heads."""
    return infer_shape(state, RestoreFormerPlusPlusConfig, head_size=4)


SPEC = ArchSpec(
    name="RestoreFormer++",
    role=FACE_RESTORER,
    config=RestoreFormerPlusPlusConfig,
    telltale_keys=("encoder.down.0.block.0.conv1.weight", "quant_conv.weight"),
    infer_config=infer_config,
    recognises=lambda state: decoder_attention_levels(state) > 1,
)
