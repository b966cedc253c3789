"""Every architecture the loader recognises: one line each (its module's ``SPEC``)."""

from __future__ import annotations

from . import codeformer, gfpganv1, gfpganv1_clean, gpen, restoreformer, restoreformer_pp, srvgg
from .spec import FACE_RESTORER, ArchSpec

ARCHITECTURES: tuple[ArchSpec, ...] = (
    gfpganv1_clean.SPEC,
    restoreformer_pp.SPEC,
    restoreformer.SPEC,
    codeformer.SPEC,
    gfpganv1.SPEC,
    gpen.SPEC,
    srvgg.SPEC,
)


def specs_for(role: str) -> tuple[ArchSpec, ...]:
    """The architectures of one role, in registry order."""
    return tuple(spec for spec in ARCHITECTURES if spec.role == role)


def spec_of(config: object) -> ArchSpec | None:
    """The architecture a config belongs to (None for a config no architecture registers)."""
    return next((spec for spec in ARCHITECTURES if isinstance(config, spec.config)), None)


def default_weights_in_words() -> str:
    """ "CodeFormer 0.5; the others 1": each face restorer's default fidelity weight, for docs and API."""
    own = [f"{s.name} {s.default_weight:g}" for s in specs_for(FACE_RESTORER) if s.default_weight != 1.0]
    return "; ".join([*own, "the others 1"]) if own else "1"


def default_weight(config: object) -> float:
    """The fidelity weight a network of ``config`` runs at when none is given (1 for an unknown one)."""
    spec = spec_of(config)
    return spec.default_weight if spec is not None else 1.0
