"""One call for everything the core stage reports at one density (used by the CLI).

:func:`core_entrainment` composes β-equilibrium (or a fixed proton fraction),
uniform-matter properties, the T = 0 entrainment matrix and its parametrisations,
and — when a temperature and gaps are given — Δ_q(T), Yosida factors, ρ̂(T) and
Landau velocities. :meth:`CoreEntrainmentPoint.as_record` flattens it into named
scalars with units (:data:`RECORD_UNITS`) for tables, CSV and HDF5.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Optional

from ..errors import InputError, check_choice, check_range
from ..functional import UniformMatter, fermi_wavenumber, get_functional, uniform_matter
from .beta import BetaEquilibrium, beta_equilibrium
from .entrainment import (MASS_OPTIONS, EntrainmentMatrix, EntrainmentParametrisations,
                          entrainment_matrix_t0, parametrisations)
from .finite_t import (entrainment_matrix_finite_t, gap_at_temperature, landau_velocity, yosida,
                       zero_temperature_gap)
from .validity import DEGENERACY_FRACTION, degenerate_temperature_limit


@dataclass(frozen=True)
class CoreEntrainmentPoint:
    """Results at one baryon density. Temperatures and gaps in MeV; see :data:`RECORD_UNITS`."""

    functional: str
    n: float
    beta: Optional[BetaEquilibrium]
    matter: UniformMatter
    entrainment: EntrainmentMatrix
    parameters: EntrainmentParametrisations
    temperature: float
    gap_n0: Optional[float]
    gap_p0: Optional[float]
    gap_n: Optional[float]
    gap_p: Optional[float]
    entrainment_T: Optional[EntrainmentMatrix]
    landau_velocity_n: Optional[float]
    landau_velocity_p: Optional[float]

    def as_record(self) -> dict:
        """Flat {name: float} of every reported quantity (nan where not applicable)."""
        nan = float("nan")
        m, e, q = self.matter, self.entrainment, self.parameters
        rho = e.rho
        rec = {
            "n": self.n, "y_p": m.proton_fraction,
            "y_e": self.beta.electron_fraction if self.beta else nan,
            "y_mu": self.beta.muon_fraction if self.beta else nan,
            "mu_n": m.mu_n, "mu_p": m.mu_p,
            "mu_e": self.beta.mu_e if self.beta else nan,
            "beta_residual": self.beta.residual if self.beta else nan,
            "E_per_A": m.energy_per_nucleon, "P_nucleon": m.pressure,
            "U_n": m.U_n, "U_p": m.U_p,
            "mL_n": m.landau_mass_n, "mL_p": m.landau_mass_p,
            "C_plus": m.C_plus, "C_minus": m.C_minus,
            "Ms": m.isoscalar_effective_mass, "Mv": m.isovector_effective_mass,
            "Upsilon": e.upsilon,
            "rho_nn_over_rho": e.rho_nn / rho, "rho_np_over_rho": e.rho_np / rho,
            "rho_pp_over_rho": e.rho_pp / rho,
            "eps_n": q.eps_n, "eps_p": q.eps_p,
            "mstar_n": q.dynamical_mass_n, "mstar_p": q.dynamical_mass_p,
            "mtilde_n": q.momentum_frame_mass_n, "mtilde_p": q.momentum_frame_mass_p,
            "alpha": q.alpha,
            "K_nn": q.carter_K[0][0], "K_np": q.carter_K[0][1], "K_pp": q.carter_K[1][1],
            "flux_ratio": q.flux_ratio,
            "T": self.temperature,
            "gap_n0": _nan(self.gap_n0), "gap_p0": _nan(self.gap_p0),
            "gap_n": _nan(self.gap_n), "gap_p": _nan(self.gap_p),
            "Y_n": self.entrainment_T.yosida_n if self.entrainment_T else nan,
            "Y_p": self.entrainment_T.yosida_p if self.entrainment_T else nan,
            "VL_n": _nan(self.landau_velocity_n), "VL_p": _nan(self.landau_velocity_p),
        }
        et = self.entrainment_T
        rec["rhoT_nn_over_rho"] = et.rho_nn / rho if et else nan
        rec["rhoT_np_over_rho"] = et.rho_np / rho if et else nan
        rec["rhoT_pp_over_rho"] = et.rho_pp / rho if et else nan
        rec["flux_ratio_T"] = (et.rho_np / et.rho_pp * et.m_p_c2 / et.m_n_c2
                               if et and et.rho_pp != 0.0 else nan)
        return rec


def _nan(x):
    return float("nan") if x is None else float(x)


#: Units and meaning of each :meth:`CoreEntrainmentPoint.as_record` column.
RECORD_UNITS = MappingProxyType({
    "n": ("fm^-3", "baryon density"),
    "y_p": ("1", "proton fraction"), "y_e": ("1", "electron fraction"),
    "y_mu": ("1", "muon fraction"),
    "mu_n": ("MeV", "neutron chemical potential incl. rest mass"),
    "mu_p": ("MeV", "proton chemical potential incl. rest mass"),
    "mu_e": ("MeV", "electron chemical potential incl. rest mass"),
    "beta_residual": ("MeV", "mu_n - mu_p - mu_e"),
    "E_per_A": ("MeV", "nucleon energy per baryon without rest mass"),
    "P_nucleon": ("MeV fm^-3", "nucleon pressure"),
    "U_n": ("MeV", "neutron mean field"), "U_p": ("MeV", "proton mean field"),
    "mL_n": ("1", "Landau effective mass m_n+/m_n"), "mL_p": ("1", "Landau effective mass m_p+/m_p"),
    "C_plus": ("MeV fm^5", "C+ = C0tau + C1tau"), "C_minus": ("MeV fm^5", "C- = C0tau - C1tau"),
    "Ms": ("1", "isoscalar effective mass M_s*/M at n"),
    "Mv": ("1", "isovector effective mass M_v*/M at n"),
    "Upsilon": ("1", "Upsilon = M/M_v*(n)"),
    "rho_nn_over_rho": ("1", "entrainment matrix element / total mass density, T=0"),
    "rho_np_over_rho": ("1", "entrainment matrix element / total mass density, T=0"),
    "rho_pp_over_rho": ("1", "entrainment matrix element / total mass density, T=0"),
    "eps_n": ("1", "Prix/Andersson entrainment parameter"),
    "eps_p": ("1", "Prix/Andersson entrainment parameter"),
    "mstar_n": ("1", "dynamical effective mass m_n*/m"),
    "mstar_p": ("1", "dynamical effective mass m_p*/m"),
    "mtilde_n": ("1", "momentum-frame mass m~_n/m"), "mtilde_p": ("1", "momentum-frame mass m~_p/m"),
    "alpha": ("MeV fm^-3", "Andersson-Comer alpha, E = E0 + alpha (dv/c)^2"),
    "K_nn": ("MeV fm^3", "Carter K^nn (x c^2)"), "K_np": ("MeV fm^3", "Carter K^np (x c^2)"),
    "K_pp": ("MeV fm^3", "Carter K^pp (x c^2)"),
    "flux_ratio": ("1", "Phi*/Phi0 = (rho_pn/rho_pp)(m_p/m_n), T=0"),
    "T": ("MeV", "temperature"),
    "gap_n0": ("MeV", "neutron gap at T=0"), "gap_p0": ("MeV", "proton gap at T=0"),
    "gap_n": ("MeV", "neutron gap at T"), "gap_p": ("MeV", "proton gap at T"),
    "Y_n": ("1", "neutron Yosida factor"), "Y_p": ("1", "proton Yosida factor"),
    "VL_n": ("1", "neutron Landau velocity / c"), "VL_p": ("1", "proton Landau velocity / c"),
    "rhoT_nn_over_rho": ("1", "entrainment matrix at T (normal-fluid frame) / rho"),
    "rhoT_np_over_rho": ("1", "entrainment matrix at T (normal-fluid frame) / rho"),
    "rhoT_pp_over_rho": ("1", "entrainment matrix at T (normal-fluid frame) / rho"),
    "flux_ratio_T": ("1", "(rho_pn/rho_pp)(m_p/m_n) from the matrix at T"),
})


def _resolve_gap(species, gap0, tc):
    if gap0 is not None and tc is not None:
        raise InputError(f"give either the {species} gap at T=0 or its critical temperature, "
                         "not both")
    if gap0 is not None:
        return check_range(f"{species} gap", gap0, 0.0, None, unit="MeV")
    if tc is not None:
        return zero_temperature_gap(check_range(f"{species} critical temperature", tc, 0.0,
                                                None, unit="MeV"))
    return None


def core_entrainment(functional, n, *, proton_fraction=None, temperature=0.0,
                     gap_n=None, gap_p=None, tc_n=None, tc_p=None,
                     masses: str = "common", muons: bool = True) -> CoreEntrainmentPoint:
    """All core-stage results at baryon density ``n`` (fm⁻³).

    ``proton_fraction=None`` solves β-equilibrium (npeμ, ``muons``); otherwise y_p is
    fixed. ``temperature`` (MeV) > 0 needs both species' gaps, each as Δ_q(0)
    (``gap_*``, MeV) or T_cq (``tc_*``, MeV); a zero gap means a normal species.
    ``masses`` selects the common (default) or bare masses in ρ_qq′. A temperature above
    the degenerate-matter limit (:func:`~crustsolve.core.validity.degenerate_temperature_limit`)
    is an :class:`InputError`; the density range of a functional is
    :func:`~crustsolve.core.validity.validity_range` (checked by the CLI).
    """
    p = get_functional(functional)
    n = check_range("density n", n, 0.0, 5.0, lo_open=True, unit="fm^-3")
    T = check_range("temperature", temperature, 0.0, None, unit="MeV")
    check_choice("masses", masses, MASS_OPTIONS)
    gn0 = _resolve_gap("neutron", gap_n, tc_n)
    gp0 = _resolve_gap("proton", gap_p, tc_p)
    if T > 0.0 and (gn0 is None or gp0 is None):
        raise InputError("temperature > 0 needs the neutron and proton gaps "
                         "(gap_n/gap_p at T=0 or tc_n/tc_p)")
    if proton_fraction is None:
        beta = beta_equilibrium(p, n, muons=muons)
        y = beta.proton_fraction
    else:
        beta = None
        y = check_range("proton fraction", proton_fraction, 0.0, 1.0)
    matter = uniform_matter(p, n, y)
    if T > 0.0:
        t_max, species, e_f = degenerate_temperature_limit(p, matter.n_n, matter.n_p)
        if T > t_max:
            raise InputError(
                f"temperature = {T:g} MeV is outside the validity range [0, {t_max:.3g}] MeV "
                f"at n = {n:g} fm^-3: the finite-T formulas assume degenerate matter, "
                f"T <= {DEGENERACY_FRACTION:g} x the {species} Fermi energy {e_f:.3g} MeV")
    mat0 = entrainment_matrix_t0(p, matter.n_n, matter.n_p, masses=masses)
    gn = gp = mat_t = None
    if gn0 is not None and gp0 is not None:
        gn, gp = gap_at_temperature(T, gn0), gap_at_temperature(T, gp0)
        if T > 0.0:
            mat_t = entrainment_matrix_finite_t(p, matter.n_n, matter.n_p, yosida(T, gn),
                                                yosida(T, gp), masses=masses)
    elif gn0 is not None:
        gn = gap_at_temperature(T, gn0)
    elif gp0 is not None:
        gp = gap_at_temperature(T, gp0)
    vl_n = landau_velocity(gn, fermi_wavenumber(matter.n_n)) if gn is not None and matter.n_n > 0 \
        else None
    vl_p = landau_velocity(gp, fermi_wavenumber(matter.n_p)) if gp is not None and matter.n_p > 0 \
        else None
    return CoreEntrainmentPoint(
        functional=p.name, n=n, beta=beta, matter=matter, entrainment=mat0,
        parameters=parametrisations(mat0), temperature=T, gap_n0=gn0, gap_p0=gp0,
        gap_n=gn, gap_p=gp, entrainment_T=mat_t, landau_velocity_n=vl_n, landau_velocity_p=vl_p)


def core_entrainment_scan(functional, densities, **kwargs) -> list:
    """:func:`core_entrainment` at each density of ``densities`` (same keyword options)."""
    return [core_entrainment(functional, n, **kwargs) for n in densities]


__all__ = ["CoreEntrainmentPoint", "RECORD_UNITS", "core_entrainment", "core_entrainment_scan"]
