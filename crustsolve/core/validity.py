"""Where a functional's uniform-matter results mean something (core-stage validity range).

* Lower end: the neutron-drip density of the functional
  (:func:`crustsolve.crust.composition.crust_range`). Below it matter is nuclei in an
  electron gas, with no free neutrons; uniform nucleon matter there is not neutron-star
  matter. Between drip and the crust–core transition uniform matter exists but is not the
  ground state (the inner crust is): allowed, with :attr:`ValidityRange.n_transition` for
  callers that want to warn.
* Upper end: causality. In β-equilibrated npeμ matter at T = 0, dε/dn = μ_n, so the sound
  speed is c_s²/c² = dP/dε = (n/μ_n) dμ_n/dn; above the density where it reaches 1 the
  functional is superluminal and its energies (E/A of several GeV at 5 fm⁻³) are
  meaningless. Computed here from the functional itself (no tabulated value).
* Temperature: the finite-T entrainment (Yosida functions, BCS gaps) assumes degenerate
  matter; :func:`degenerate_temperature_limit` is 0.1 ε_F of the least degenerate species
  present (corrections of order (T/ε_F)² ≲ 1 %).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ..crust.composition import crust_range
from ..errors import InputError, check_range
from ..functional import effective_mass_fields, fermi_wavenumber, get_functional
from .beta import beta_equilibrium

#: Densities (fm⁻³) between which the causality limit is searched.
_SEARCH = (0.2, 4.9)
#: Relative step of the central difference of μ_n(n).
_STEP = 1e-4
#: T ≤ this fraction of the Fermi energy of every species present.
DEGENERACY_FRACTION = 0.1


def sound_speed_squared(functional, n: float) -> float:
    """c_s²/c² of npeμ matter in β-equilibrium at baryon density ``n`` (fm⁻³)."""
    lo, hi = n * (1.0 - _STEP), n * (1.0 + _STEP)
    mu_lo = beta_equilibrium(functional, lo).mu_n
    mu_hi = beta_equilibrium(functional, hi).mu_n
    mu = beta_equilibrium(functional, n).mu_n
    return float(n / mu * (mu_hi - mu_lo) / (hi - lo))


@dataclass(frozen=True)
class ValidityRange:
    """Densities (fm⁻³) where uniform-matter results of ``functional`` are meaningful."""

    functional: str
    n_min: float
    n_transition: float
    n_max: float
    max_reason: str

    def describe(self) -> str:
        return (f"{self.functional} uniform matter: from neutron drip {self.n_min:g} to "
                f"{self.n_max:.4g} fm^-3 ({self.max_reason})")

    def check(self, name: str, n) -> float:
        """``n`` if inside [n_min, n_max], else an :class:`InputError` naming ``name``."""
        try:
            return check_range(name, n, self.n_min, self.n_max, unit="fm^-3")
        except InputError as exc:
            raise InputError(f"{exc}: the validity range of {self.describe()}") from None


def validity_range(functional) -> ValidityRange:
    """The :class:`ValidityRange` of ``functional`` (name or parameter set)."""
    p = get_functional(functional)
    cr = crust_range(p)
    lo, hi = _SEARCH

    def excess(n):
        return sound_speed_squared(p, n) - 1.0

    if excess(hi) < 0.0:
        n_max, why = hi, f"causal up to {hi:g} fm^-3, the end of the range searched"
    else:
        # first crossing: step up from lo so a later re-entry below c is not picked
        grid = np.linspace(lo, hi, 25)
        i = next(i for i, n in enumerate(grid) if excess(n) >= 0.0)
        n_max = brentq(excess, grid[i - 1], grid[i], xtol=1e-6) if i > 0 else lo
        why = "above it the sound speed in beta equilibrium exceeds c"
    return ValidityRange(p.name, cr.drip, cr.crust_core, float(n_max), why)


def degenerate_temperature_limit(functional, n_n: float, n_p: float) -> tuple:
    """(T_max, species, ε_F): 0.1 ε_F of the least degenerate species present (MeV).

    ε_F,q = (ħ²/2m_q⊕) k_Fq² with the functional's effective mass at (n_n, n_p).
    """
    p = get_functional(functional)
    b_n, b_p = effective_mass_fields(p, n_n, n_p)
    best = (np.inf, "", np.inf)
    for name, dens, b in (("neutron", n_n, b_n), ("proton", n_p, b_p)):
        if dens > 0.0:
            ef = float(b) * float(fermi_wavenumber(dens)) ** 2
            if DEGENERACY_FRACTION * ef < best[0]:
                best = (DEGENERACY_FRACTION * ef, name, ef)
    return best
