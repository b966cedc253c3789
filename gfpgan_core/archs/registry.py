"""Every architecture the loader recognises: one line each (its module's ``SPEC``)."""

from __future__ import annotations

from . import codeformer, gfpganv1, gfpganv1_clean, restoreformer, srvgg
from .spec import ArchSpec

ARCHITECTURES: tuple[ArchSpec, ...] = (
    gfpganv1_clean.SPEC,
    restoreformer.SPEC,
    codeformer.SPEC,
    gfpganv1.SPEC,
    srvgg.SPEC,
)


def specs_for(role: str) -> tuple[ArchSpec, ...]:
    """The architectures of one role, in registry order."""
    return tuple(spec for spec in ARCHITECTURES if spec.role == role)


def spec_of(config: object) -> ArchSpec | None:
    """The architecture a config belongs to (None for a config no architecture registers)."""
    return next((spec for spec in ARCHITECTURES if isinstance(config, spec.config)), None)
