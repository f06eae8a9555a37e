"""Re-analysis of stored per-k response data with other pairing gaps or chemical potentials.

A band calculation leaves, per irreducible k-point, everything the levels of theory need
(:class:`~crustsolve.response.matrix_elements.KPointData`: energies, Δ_αk, the velocity and
current-vertex matrix elements within the band set, the band-diagonal second derivatives,
the weight). The gap enters the levels only through the BCS factors of these numbers, so
another gap needs no new solve:

* ``scale`` s: Δ_αk → s Δ_αk (and ∇_kΔ_αk → s ∇_kΔ_αk). Exact for the pair-field models (``functional``, ``profile``):
  Δ_αk are the eigenvalues of Ψᴴ Δ̂ Ψ inside degenerate clusters, linear in Δ(r), and the
  stored matrix elements are already in the basis that diagonalises Δ̂ (the rotation does
  not depend on the scale);
* ``constant`` Δ: Δ_αk → Δ for every band and k. The levels are invariant under rotations
  inside a cluster of equal gaps, so the stored basis is as good as any.

What a re-analysis does *not* redo: the zero-point loop (⟨δr²⟩ and the Debye–Waller smearing
of the fields stay those of the stored band calculation) and the band count (chosen for the
run's μ; a μ far above it is refused by the band-margin check of
:func:`crustsolve.response.bz.evaluate`).

Units: MeV, fm⁻³.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import InputError, check_range


@dataclass(frozen=True)
class GapSetting:
    """One gap of a re-analysis: ``scale`` × the stored Δ_αk, or a ``constant`` Δ (MeV)."""

    scale: Optional[float] = None
    constant: Optional[float] = None

    def __post_init__(self):
        if (self.scale is None) == (self.constant is None):
            raise InputError("a gap setting is a scale of the stored gaps or a constant gap")
        if self.scale is not None:
            check_range("--gap-scale", self.scale, 0.0, 100.0, lo_open=True)
        else:
            check_range("--gap", self.constant, 0.0, 100.0, lo_open=True, unit="MeV")

    @property
    def label(self) -> str:
        return (f"scale {self.scale:g}" if self.scale is not None
                else f"constant {self.constant:g} MeV")

    def gaps(self, stored) -> np.ndarray:
        """Δ_αk of this setting from the stored ones (MeV)."""
        stored = np.asarray(stored, dtype=float)
        if self.scale is not None:
            return self.scale * stored
        return np.full_like(stored, self.constant)

    def describe(self) -> dict:
        return ({"model": "stored gaps", "scale": self.scale} if self.scale is not None
                else {"model": "constant", "gap_MeV": self.constant})


def with_gaps(kdata, setting: GapSetting) -> list:
    """The k-points of ``kdata`` with the gaps (and ∇_kΔ_αk) of ``setting``."""
    out = []
    for kd in kdata:
        grad = kd.gap_gradient
        if grad is not None:
            grad = None if setting.scale is None else setting.scale * np.asarray(grad)
        out.append(dataclasses.replace(kd, gap=setting.gaps(kd.gap), gap_gradient=grad))
    return out


def settings_from_options(scales=None, constants=None) -> list:
    """The gap settings of the command line: each scale, then each constant; no option: the
    stored gaps themselves (scale 1)."""
    out = [GapSetting(scale=float(s)) for s in (scales or ())]
    out += [GapSetting(constant=float(c)) for c in (constants or ())]
    return out or [GapSetting(scale=1.0)]
