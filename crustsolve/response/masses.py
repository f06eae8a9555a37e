"""Effective neutron and ion masses from the superfluid density (``docs/physics/crust-superfluidity.md``,
"effective masses").

All densities are number densities in fm⁻³ (n_s = ρ_n,s/m_n); masses are rest energies in MeV.
Every fraction is given against two denominators, because the literature uses both:

* ``free``: the unbound neutrons n_n,f of the composition (the background density of the
  cluster's density profile; Chamel's ρ_n,s/ρ_n,f, e.g. Chamel, PRC 111, 045803 (2025));
* ``all``: every neutron, n̄_n (Almirante, Kaskitsi & Urban's ρ_S/⟨ρ_n⟩).

Definitions (Carter, Chamel & Haensel, Int. J. Mod. Phys. D15, 777 (2006)):

* superfluid fraction ρ_n,s/(m_n n_ref) and entrained fraction 1 − ρ_n,s/(m_n n_ref);
* m_n*/m_n = n_ref/n_s (CCH 2005: m_* = n/K for a chosen density n);
* m_I* = (ρ̄ − ρ_n,s)/n_I and, relative to the ion mass m_I = (ρ̄ − ρ_n,f)/n_I (everything
  but the free neutrons), m_I*/m_I = (ρ̄ − ρ_n,s)/(ρ̄ − ρ_n,f). ρ̄ = m_n n̄_n + m_p n̄_p with
  bare rest masses (no electrons, no binding energy); n_I = ions_per_cell/V_cell (bcc
  conventional cube: 2, fcc: 4); n̄_p = Z n_I.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Optional

from ..constants import M_N_C2, M_P_C2, M_U_C2
from ..errors import InputError, check_range

#: Reference densities: free (unbound) neutrons of the composition, all neutrons.
REFERENCES = ("free", "all")

#: Column labels of the references in printed tables and plots.
REFERENCE_LABELS = {"free": "rho_s/rho_n,f (free neutrons)", "all": "rho_s/rho_n (all neutrons)"}


@dataclass(frozen=True)
class EffectiveMasses:
    """Masses and fractions of one level of theory.

    n_s : superfluid density ρ_n,s/m_n (fm⁻³) of the level (its current-field variant if
    ``with_current``). references : {name: n_ref (fm⁻³)} of ``REFERENCES`` that are known.
    mn_star_over_mn, superfluid_fraction, entrained_fraction : {reference: value}.
    m_ion_star_MeV, m_ion_star_over_mu : m_I* in MeV and in atomic mass units (if Z given);
    m_ion_MeV, m_ion_star_over_m_ion : m_I = (ρ̄ − ρ_n,f)/n_I and m_I*/m_I (if Z and the
    free-neutron density are given).
    """

    level: str
    with_current: bool
    n_s: float
    references: Mapping
    mn_star_over_mn: Mapping
    superfluid_fraction: Mapping
    entrained_fraction: Mapping
    rho_bar_MeV_fm3: float = math.nan
    n_ion: float = math.nan
    m_ion_star_MeV: float = math.nan
    m_ion_star_over_mu: float = math.nan
    m_ion_MeV: float = math.nan
    m_ion_star_over_m_ion: float = math.nan


def _div(a, b):
    return a / b if b != 0 else math.nan


def fractions(n_s: float, references: Mapping) -> dict:
    """{"superfluid_fraction", "entrained_fraction", "mn_star_over_mn"}: {reference: value}."""
    frac = {k: _div(n_s, v) for k, v in references.items()}
    return {"superfluid_fraction": frac,
            "entrained_fraction": {k: 1.0 - f for k, f in frac.items()},
            "mn_star_over_mn": {k: _div(v, n_s) for k, v in references.items()}}


def ion_masses(n_s: float, n_all: float, Z: float, n_ion: float,
               n_free: Optional[float] = None) -> dict:
    """m_I* = (ρ̄ − m_n n_s)/n_I (MeV) and, with n_free, m_I and m_I*/m_I (module docstring)."""
    rho_bar = M_N_C2 * n_all + M_P_C2 * Z * n_ion
    m_star = (rho_bar - M_N_C2 * n_s) / n_ion
    out = {"rho_bar_MeV_fm3": rho_bar, "m_ion_star_MeV": m_star,
           "m_ion_star_over_mu": m_star / M_U_C2}
    if n_free is not None:
        m_I = (rho_bar - M_N_C2 * n_free) / n_ion
        out.update(m_ion_MeV=m_I, m_ion_star_over_m_ion=_div(m_star, m_I))
    return out


def effective_masses(result, level: str, *, current: bool = False,
                     n_free: Optional[float] = None, Z: Optional[float] = None,
                     ions_per_cell: int = 2, n_neutron_total: Optional[float] = None
                     ) -> EffectiveMasses:
    """Masses and fractions of ``level`` of a :class:`~crustsolve.response.superfluid.SuperfluidResult`.

    ``n_free`` n_n,f (fm⁻³) enables the ``free`` reference and m_I*/m_I; ``Z`` (protons per
    ion) and ``ions_per_cell`` enable the ion masses; ``n_neutron_total`` overrides n̄_n
    (default: the level's number equation).
    """
    n_s = result.scalar(level, current=current)
    n_all = (result.neutron_density(level) if n_neutron_total is None
             else check_range("n_neutron_total", n_neutron_total, lo=0.0, lo_open=True,
                              unit="fm^-3"))
    refs = {}
    if n_free is not None:
        refs["free"] = check_range("n_free", n_free, lo=0.0, lo_open=True, unit="fm^-3")
    refs["all"] = float(n_all)
    out = dict(level=level, with_current=bool(current), n_s=n_s, references=refs,
               **fractions(n_s, refs))
    if Z is not None:
        Z = check_range("Z", Z, lo=0.0, lo_open=True)
        if int(ions_per_cell) < 1:
            raise InputError(f"ions_per_cell = {ions_per_cell!r} must be ≥ 1")
        n_I = int(ions_per_cell) / result.volume
        out.update(n_ion=n_I, **ion_masses(n_s, n_all, Z, n_I, refs.get("free")))
    return EffectiveMasses(**out)
