"""Star models of a given mass: M, R, Hartle's I and the two-fluid (Lense–Thirring) couplings.

Public API (units: M☉, km, g cm²):

* :func:`star_model` — one star of given gravitational mass → :class:`StarResult`;
* :func:`mass_radius_curve` — a sequence of stars over a range of masses;
* :func:`maximum_mass` — the maximum mass of the TOV sequence → :class:`MaximumMass`;
* :func:`star_from_central_enthalpy` — the underlying one-star solver (any EoS of
  :mod:`.eos`, e.g. polytropes for checks).

Definitions (``docs/physics/star.md``, "Two-fluid slow rotation"; index order
ε^LT_XY = weight of fluid X, coefficient of Ω_Y):

    I_X = Ĩ_X (1 − ε^LT_XX − ε^LT_XY),   I_XY = Ĩ_X (ε̃_X − ε^LT_XY),
    I_XY / I_X = (ε̃_X − ε^LT_XY) / (1 − ε^LT_XY − ε^LT_XX).

The neutron ("n") fluid is restricted to the core (n̄ ≥ n_cc) by default; the "p" fluid
is every charged particle plus the whole crust (:func:`.eos.unified_eos`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from ..errors import ConvergenceError, InputError, check_range
from .eos import unified_eos
from .gr_units import KM3_TO_G_CM2, M_SUN_KM, MEV_FM3_TO_KM2
from .tov import DEFAULT_N_RADIAL, solve_rotation, solve_tov

#: Default lowest mass (M☉) accepted by :func:`star_model`. Lighter stars exist down to
#: the minimum neutron-star mass (~0.1 M☉), but their core, hence the neutron fluid,
#: shrinks away and they are of no interest for glitch models; ``min_mass`` can be
#: lowered explicitly.
DEFAULT_MIN_MASS = 0.5

#: Units of the :class:`StarResult` fields, for CSV/HDF5 output.
RESULT_UNITS = {
    "mass": "Msun", "radius": "km", "moment_of_inertia": "g cm^2", "I_tilde_n": "g cm^2",
    "I_tilde_p": "g cm^2", "fraction_n": "1", "fraction_p": "1", "eps_tilde_n": "1",
    "eps_tilde_p": "1", "eps_lt_nn": "1", "eps_lt_np": "1", "eps_lt_pn": "1", "eps_lt_pp": "1",
    "I_n": "g cm^2", "I_p": "g cm^2", "I_np": "g cm^2", "I_pn": "g cm^2",
    "I_np_over_I_n": "1", "I_pn_over_I_p": "1", "omega_c_over_Omega": "1",
    "compactness": "1", "central_baryon_density": "fm^-3",
    "central_energy_density": "MeV fm^-3", "central_pressure": "MeV fm^-3",
    "central_enthalpy": "1", "r_transition": "km", "crust_thickness": "km",
    "moment_of_inertia_check": "1", "lt_symmetry_residual": "1", "n_radial": "1",
    "n_core_steps": "1", "n_crust_steps": "1",
}


@dataclass(frozen=True)
class StarResult:
    """One slowly rotating two-fluid star (first order in Ω and in the lag).

    * ``mass`` (M☉), ``radius`` (km), ``moment_of_inertia`` — Hartle's I = J/Ω (g cm²);
    * ``I_tilde_n``, ``I_tilde_p`` — Ĩ_X (g cm²); ``fraction_n``, ``fraction_p`` —
      Ĩ_X/(Ĩ_n + Ĩ_p);
    * ``eps_tilde_n``, ``eps_tilde_p`` — averaged entrainment ε̃_X;
    * ``eps_lt_nn`` … ``eps_lt_pp`` — Lense–Thirring ε^LT_XY;
    * ``I_n``, ``I_p``, ``I_np``, ``I_pn`` (g cm²) and ``I_np_over_I_n``, ``I_pn_over_I_p``;
    * ``omega_c_over_Omega`` — ω(0)/Ω of the rigidly rotating star;
    * centre: ``central_baryon_density`` (fm⁻³; a rest-mass density in km⁻² for a
      polytrope), ``central_energy_density``, ``central_pressure`` (MeV fm⁻³),
      ``central_enthalpy`` (pseudo-enthalpy h_c);
    * ``r_transition`` — radius of the crust–core boundary (km), ``crust_thickness`` (km);
    * checks: ``moment_of_inertia_check`` = Σ_X I_X / I − 1 (bookkeeping: exact up to
      round-off by construction, see :mod:`.tov`) and ``lt_symmetry_residual`` =
      (Ĩ_n ε^LT_np − Ĩ_p ε^LT_pn)/(Ĩ_n ε^LT_np) (a genuine test of the solution, ~10⁻¹¹);
    * grid: ``n_radial`` (= ``n_core_steps`` + ``n_crust_steps``) RK4 steps;
    * ``eos`` — name of the equation of state.
    """

    eos: str
    mass: float
    radius: float
    moment_of_inertia: float
    I_tilde_n: float
    I_tilde_p: float
    fraction_n: float
    fraction_p: float
    eps_tilde_n: float
    eps_tilde_p: float
    eps_lt_nn: float
    eps_lt_np: float
    eps_lt_pn: float
    eps_lt_pp: float
    I_n: float
    I_p: float
    I_np: float
    I_pn: float
    I_np_over_I_n: float
    I_pn_over_I_p: float
    omega_c_over_Omega: float
    compactness: float
    central_baryon_density: float
    central_energy_density: float
    central_pressure: float
    central_enthalpy: float
    r_transition: float
    crust_thickness: float
    moment_of_inertia_check: float
    lt_symmetry_residual: float
    n_radial: int
    n_core_steps: int
    n_crust_steps: int

    def as_record(self) -> dict:
        """Every numeric field as a dict (name → value), in :data:`RESULT_UNITS` order."""
        d = asdict(self)
        return {k: d[k] for k in RESULT_UNITS}


@dataclass(frozen=True)
class MaximumMass:
    """Maximum of the TOV sequence: ``mass`` (M☉), ``radius`` (km), ``central_enthalpy``,
    ``central_baryon_density`` (fm⁻³), ``central_energy_density`` (MeV fm⁻³)."""

    mass: float
    radius: float
    central_enthalpy: float
    central_baryon_density: float
    central_energy_density: float


def _km3(x):
    return x * KM3_TO_G_CM2


def star_from_central_enthalpy(eos, h_c, *, n_radial=DEFAULT_N_RADIAL) -> StarResult:
    """Solve TOV and the two-fluid rotation problem for central pseudo-enthalpy ``h_c``."""
    tov = solve_tov(eos, h_c)
    rot = solve_rotation(eos, tov, n_radial=n_radial)
    e = rot.eps_lt
    s = rot.I_tilde_n + rot.I_tilde_p
    denom = rot.I_tilde_n * e[0][1]
    return StarResult(
        eos=eos.name, mass=tov.mass / M_SUN_KM, radius=tov.radius,
        moment_of_inertia=_km3(rot.I_hartle),
        I_tilde_n=_km3(rot.I_tilde_n), I_tilde_p=_km3(rot.I_tilde_p),
        fraction_n=rot.I_tilde_n / s, fraction_p=rot.I_tilde_p / s,
        eps_tilde_n=rot.eps_tilde_n, eps_tilde_p=rot.eps_tilde_p,
        eps_lt_nn=e[0][0], eps_lt_np=e[0][1], eps_lt_pn=e[1][0], eps_lt_pp=e[1][1],
        I_n=_km3(rot.I_n), I_p=_km3(rot.I_p), I_np=_km3(rot.I_np), I_pn=_km3(rot.I_pn),
        I_np_over_I_n=rot.I_np / rot.I_n, I_pn_over_I_p=rot.I_pn / rot.I_p,
        omega_c_over_Omega=rot.omega_c, compactness=tov.mass / tov.radius,
        central_baryon_density=float(eos.baryon_density(h_c)),
        central_energy_density=tov.energy_density_c / MEV_FM3_TO_KM2,
        central_pressure=tov.pressure_c / MEV_FM3_TO_KM2, central_enthalpy=tov.h_c,
        r_transition=tov.r_transition,
        crust_thickness=tov.radius - tov.r_transition if tov.r_transition > 0 else 0.0,
        moment_of_inertia_check=(rot.I_n + rot.I_p) / rot.I_hartle - 1.0,
        lt_symmetry_residual=(denom - rot.I_tilde_p * e[1][0]) / denom if denom else 0.0,
        n_radial=rot.n_radial, n_core_steps=rot.n_core_steps, n_crust_steps=rot.n_crust_steps)


def _mass_km(eos, h_c, rtol=None):
    return (solve_tov(eos, h_c) if rtol is None else solve_tov(eos, h_c, rtol=rtol)).mass


#: TOV tolerance used inside the maximum-mass search (M is stationary there, so the
#: location needs far less accuracy than the final, default-tolerance solution).
_SEARCH_RTOL = 1e-9


def maximum_mass(functional="BSk24", *, eos=None, **eos_options) -> MaximumMass:
    """Maximum gravitational mass of the non-rotating sequence (TOV limit).

    Bounded Brent search of M(h_c) on [h_lo, h_max], h_lo = 1.5 h_t + 0.02 (above the
    minimum-mass configuration, so M(h_c) is unimodal there; h_t: crust–core boundary,
    h_max: top of the EoS table), then one TOV solution at the default tolerance.
    ``eos`` — an EoS of :mod:`.eos` (default: :func:`.eos.unified_eos` of
    ``functional`` with ``eos_options``). Raises :class:`ConvergenceError` if the
    maximum is at the top of the table (raise ``n_max``).
    """
    eos = eos if eos is not None else unified_eos(functional, **eos_options)
    h_lo = max(eos.h_transition, 1e-4) * 1.5 + 0.02
    h_hi = eos.h_max * 0.999
    opt = minimize_scalar(lambda h: -_mass_km(eos, h, _SEARCH_RTOL), bounds=(h_lo, h_hi),
                          method="bounded", options={"xatol": 1e-6})
    if opt.x > h_hi - 1e-3:
        raise ConvergenceError(f"{eos.name}: the mass still increases at the top of the EoS "
                               f"table (h = {h_hi:.4g}); raise n_max")
    tov = solve_tov(eos, opt.x)
    return MaximumMass(mass=tov.mass / M_SUN_KM, radius=tov.radius, central_enthalpy=tov.h_c,
                       central_baryon_density=float(eos.baryon_density(tov.h_c)),
                       central_energy_density=tov.energy_density_c / MEV_FM3_TO_KM2)


def _check_mass(mass_msun, min_mass, mmax):
    return check_range("mass", mass_msun, min_mass, round(mmax.mass, 4), unit="Msun")


def _central_enthalpy_for_mass(eos, mass_msun, mmax):
    """h_c of the star of mass ``mass_msun`` on the stable branch (M_min < M ≤ M_max).

    M(h_c) is monotonic only between the minimum neutron-star mass (~0.1 M☉) and
    M_max; below the minimum, M rises again towards the white-dwarf branch. So the
    bracket is found by walking *down* from the maximum-mass configuration until M
    drops below the target; the walk fails (InputError) if the minimum of M is passed,
    or the centre reaches the crust–core transition, first.
    """
    target = mass_msun * M_SUN_KM
    if mass_msun >= mmax.mass - 1e-9:
        return mmax.central_enthalpy
    h_floor = eos.h_transition * (1.0 + 1e-6) if eos.h_transition > 0 else 1e-8
    h_hi, m_hi = mmax.central_enthalpy, mmax.mass * M_SUN_KM
    while True:
        h_lo = max(0.8 * h_hi, h_floor)
        m_lo = _mass_km(eos, h_lo)
        if m_lo <= target:
            break
        if m_lo >= m_hi or h_lo <= h_floor:
            raise InputError(
                f"mass = {mass_msun:g} Msun is below the lightest stable star with a "
                f"neutron-fluid core for {eos.name} (about {m_hi / M_SUN_KM:.3g} Msun at "
                f"central pseudo-enthalpy {h_hi:.3g})")
        h_hi, m_hi = h_lo, m_lo
    return brentq(lambda h: _mass_km(eos, h) - target, h_lo, h_hi, xtol=1e-13, rtol=1e-12)


def star_model(functional_name="BSk24", mass_msun=1.4, *, n_radial=DEFAULT_N_RADIAL,
               min_mass=DEFAULT_MIN_MASS, eos=None, **eos_options) -> StarResult:
    """Two-fluid slowly rotating star of gravitational mass ``mass_msun`` (M☉).

    ``functional_name`` selects the unified EoS (:func:`.eos.unified_eos`; options such
    as ``core_eos``, ``transition_density``, ``n_max`` pass through ``eos_options``),
    or pass a prebuilt ``eos``. The stable branch (central density below that of the
    maximum mass) is used. ``mass_msun`` must lie in [``min_mass``, M_max]; otherwise
    :class:`InputError` names the allowed range. With ``min_mass`` lowered, masses
    below the minimum neutron-star mass of the EoS (≈ 0.09 M☉ for BSk24), where no
    stable star with a core exists, raise :class:`InputError` as well.
    ``n_radial`` — RK4 steps of the rotation problem.
    """
    eos = eos if eos is not None else unified_eos(functional_name, **eos_options)
    check_range("min_mass", min_mass, 0.0, None, unit="Msun")
    mmax = maximum_mass(eos=eos)
    mass = _check_mass(mass_msun, min_mass, mmax)
    h_c = _central_enthalpy_for_mass(eos, mass, mmax)
    return star_from_central_enthalpy(eos, h_c, n_radial=n_radial)


def mass_radius_curve(functional_name="BSk24", masses=None, *, n_radial=DEFAULT_N_RADIAL,
                      min_mass=DEFAULT_MIN_MASS, eos=None, **eos_options) -> list:
    """:class:`StarResult` for each mass in ``masses`` (M☉), sharing one EoS and M_max.

    Default masses: 12 values from ``min_mass`` to 0.99 M_max.
    """
    eos = eos if eos is not None else unified_eos(functional_name, **eos_options)
    mmax = maximum_mass(eos=eos)
    if masses is None:
        masses = np.linspace(min_mass, 0.99 * mmax.mass, 12)
    masses = [_check_mass(m, min_mass, mmax) for m in np.atleast_1d(np.asarray(masses, float))]
    out = []
    for m in masses:
        out.append(star_from_central_enthalpy(eos, _central_enthalpy_for_mass(eos, m, mmax),
                                              n_radial=n_radial))
    return out


def eos_description(eos) -> dict:
    """Provenance of an EoS as a flat dict (for HDF5 config / CSV headers)."""
    info = dict(getattr(eos, "info", ()))
    info.setdefault("name", eos.name)
    return {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in info.items()}


__all__ = ["StarResult", "MaximumMass", "RESULT_UNITS", "DEFAULT_MIN_MASS", "star_model",
           "mass_radius_curve", "maximum_mass", "star_from_central_enthalpy", "eos_description"]
