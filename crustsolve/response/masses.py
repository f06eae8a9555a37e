"""Effective neutron and ion masses from the superfluid density (physics doc §6, §5.1).

All densities are number densities in fm⁻³ (n_s = ρ_n,s/m_n); masses are rest energies in MeV.

* m_n*/m_n = n_f / n_s  [CCH 2005: m_* = n/K; §6] for a chosen reference density n_f:
  - ``profile``: the background density n_n,f = n_Bn of the density profile (user input);
  - ``conduction``: neutrons in states above max U (CCH 2005 §3.6, the "quantum" definition),
    computed from the bands with the level's occupations;
  - ``all``: every neutron, n̄_n (the alternative convention; Almirante–Kaskitsi–Urban's
    ρ_S/⟨ρ_n⟩).
  The reference is always named in the output because m_n* depends on it while ρ_n,s does not.
* superfluid fraction ρ_n,s/ρ_n,f = n_s/n_f and entrained fraction 1 − n_s/n_f (same references).
* Ion effective mass [§6, definition adopted by the package]:
  m_I* = (ρ̄ − ρ_n,s)/n_I, m_I = (ρ̄ − ρ_n,f)/n_I, so m_I*/m_I = (ρ̄ − ρ_n,s)/(ρ̄ − ρ_n,f).
  Convention for ρ̄ (the physics doc leaves it open, §6 and §10 item 3): ρ̄ = m_n n̄_n + m_p n̄_p
  with bare rest masses, no electrons and no binding energy. n_I = ions_per_cell / V_cell
  (bcc conventional cube: 2; fcc: 4); n̄_p = Z n_I.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Optional

from ..constants import M_N_C2, M_P_C2, M_U_C2
from ..errors import InputError, check_range

#: Reference densities for "free" neutrons.
REFERENCES = ("profile", "conduction", "all")


@dataclass(frozen=True)
class EffectiveMasses:
    """Masses and fractions of one level of theory.

    n_s : superfluid density ρ_n,s/m_n (fm⁻³), with the current term if requested.
    references : {name: n_f (fm⁻³)} for ``REFERENCES`` that are available.
    mn_star_over_mn, superfluid_fraction, entrained_fraction : {reference: value}.
    m_ion_star_MeV, m_ion_star_over_mu : m_I* in MeV and in atomic mass units (if Z given).
    m_ion_MeV, m_ion_star_over_m_ion : {reference: value} (if Z given).
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
    m_ion_MeV: Mapping = field(default_factory=dict)
    m_ion_star_over_m_ion: Mapping = field(default_factory=dict)


def _div(a, b):
    return a / b if b != 0 else math.nan


def effective_masses(result, level: str, *, current: bool = False,
                     n_free_profile: Optional[float] = None, Z: Optional[float] = None,
                     ions_per_cell: int = 2, n_neutron_total: Optional[float] = None
                     ) -> EffectiveMasses:
    """Masses and fractions of ``level`` of a :class:`~crustsolve.response.superfluid.SuperfluidResult`.

    ``n_free_profile`` n_Bn (fm⁻³) enables the ``profile`` reference; ``Z`` (protons per ion)
    and ``ions_per_cell`` enable the ion masses; ``n_neutron_total`` overrides n̄_n (default:
    the level's number equation).
    """
    n_s = result.scalar(level, current=current)
    n_all = (result.neutron_density(level) if n_neutron_total is None
             else check_range("n_neutron_total", n_neutron_total, lo=0.0, lo_open=True,
                              unit="fm^-3"))
    refs = {}
    if n_free_profile is not None:
        refs["profile"] = check_range("n_free_profile", n_free_profile, lo=0.0, lo_open=True,
                                      unit="fm^-3")
    occ = "normal" if level in ("normal", "tetrahedron") else "bcs"
    nc = result.n_conduction.get(occ, math.nan)
    if nc is not None and math.isfinite(nc) and nc > 0:
        refs["conduction"] = float(nc)
    refs["all"] = float(n_all)
    mstar = {k: _div(v, n_s) for k, v in refs.items()}
    frac = {k: _div(n_s, v) for k, v in refs.items()}
    entr = {k: 1.0 - f for k, f in frac.items()}
    out = dict(level=level, with_current=bool(current), n_s=n_s, references=refs,
               mn_star_over_mn=mstar, superfluid_fraction=frac, entrained_fraction=entr)
    if Z is not None:
        Z = check_range("Z", Z, lo=0.0, lo_open=True)
        if int(ions_per_cell) < 1:
            raise InputError(f"ions_per_cell = {ions_per_cell!r} must be ≥ 1")
        n_I = int(ions_per_cell) / result.volume
        rho_bar = M_N_C2 * n_all + M_P_C2 * Z * n_I
        m_star = (rho_bar - M_N_C2 * n_s) / n_I
        m_I = {k: (rho_bar - M_N_C2 * v) / n_I for k, v in refs.items() if k != "all"}
        out.update(rho_bar_MeV_fm3=rho_bar, n_ion=n_I, m_ion_star_MeV=m_star,
                   m_ion_star_over_mu=m_star / M_U_C2, m_ion_MeV=m_I,
                   m_ion_star_over_m_ion={k: _div(m_star, v) for k, v in m_I.items()})
    return EffectiveMasses(**out)
