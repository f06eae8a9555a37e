"""Equations of state for the stellar-structure stage, parametrised by the pseudo-enthalpy.

Every EoS here is a function of the pseudo-enthalpy (Lindblom, ApJ 398, 569 (1992))

    h(P) = ∫₀^P dP′ / (ε + P′),     h = 0 at the stellar surface,

which is the natural TOV variable: at T = 0 in β-equilibrium h = ln(μ_B/μ_B,surface)
with μ_B = (ε + P)/n_B, so the surface is at h = 0 exactly. All methods take ``h``
(scalar or array) and return geometric units, G = c = 1 with lengths in km
(pressure and energy density in km⁻², see :mod:`.gr_units`). Besides P(h) and ε(h)
the two-fluid models need, for the neutron ("n") and "proton" ("p": every charged
particle, plus the whole crust) fluids:

* ``neutron_fraction(h)`` x_n = n_n μ_n / (ε + P), so that the slow-rotation sources are
  n_X μ_X = x_X (ε + P) with x_p = 1 − x_n (at T = 0 in β-equilibrium μ_n = μ_p + μ_e,
  hence n_n μ_n + n_p (μ_p + μ_e) = ε + P; ``docs/physics/star.md``);
* ``entrainment(h)`` → (ε_n, ε_p), the Prix/Andersson entrainment parameters of
  :func:`crustsolve.core.parametrisations`, which satisfy ε_n n_n μ_n = ε_p n_p μ_p (= 2α).

Implementations:

* :class:`PolytropeEoS` — P = Kρ^Γ, ε = ρ + P/(Γ−1), with a constant two-fluid split;
  analytic; used for the Newtonian limit, the n = 1 Lane–Emden check and the
  radial-grid convergence study;
* :class:`UniformDensityEoS` — ε = const (Schwarzschild interior solution check);
* :class:`TabulatedEoS` — tables on a density grid, one cubic spline per region
  (crust, core) so the crust–core boundary is never smoothed over; built by
  :func:`unified_eos` from a Skyrme/BSk functional.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq

from ..constants import HBARC, M_E_C2, M_MU_C2
from ..core import beta_equilibrium, entrainment_matrix_t0, parametrisations
from ..errors import InputError, check_choice, check_range
from ..functional import energy_density, get_functional
from . import pearson2018
from .gr_units import MEV_FM3_TO_KM2

#: Crust–core transition densities n_cc (fm⁻³) of the unified BSk EoSs without pasta:
#: Shchechilin et al., PRC 108, 025805 (2023), from a third-party transcription
#: (BSk22 0.071, BSk24 0.081 fm⁻³; no transcription for BSk25/26, so a value must be
#: passed explicitly for them).
CRUST_CORE_TRANSITION = {"BSk22": 0.071, "BSk24": 0.081}

#: Core EoS options of :func:`unified_eos`.
CORE_EOS_OPTIONS = ("functional", "pearson-fit")

#: Lowest tabulated baryon density (fm⁻³), ρ ≈ 1.7×10⁶ g cm⁻³: the star's surface.
#: The layer above it holds < 10⁻¹⁰ M☉ and changes R by metres; the Pearson fits are
#: not meant for the ionised envelope.
SURFACE_DENSITY = 1.0e-9


def _as_array(h):
    return np.asarray(h, dtype=float)


@dataclass(frozen=True)
class PolytropeEoS:
    """Relativistic polytrope P = K ρ^Γ, ε = ρ + P/(Γ − 1) (ρ: rest-mass density).

    Geometric units: ``K`` in km^{2(Γ−1)}, ρ, ε, P in km⁻². The two-fluid split is
    constant: a fraction ``neutron_fraction`` of ε + P belongs to the "n" fluid
    wherever h > ``h_transition`` (below it everything is in the "p" fluid, a toy
    crust), and ε_n = ``eps_n`` there (ε_p follows from ε_n x_n = ε_p x_p).

    h(ρ) = ln[1 + Γ K ρ^{Γ−1}/(Γ−1)] is inverted analytically.
    """

    K: float
    gamma: float = 2.0
    neutron_fraction: float = 0.9
    eps_n: float = 0.0
    h_transition: float = 0.0
    h_max: float = 5.0
    name: str = "polytrope"

    def __post_init__(self):
        check_range("polytrope K", self.K, 0.0, None, lo_open=True)
        check_range("polytrope gamma", self.gamma, 1.0, None, lo_open=True)
        check_range("neutron_fraction", self.neutron_fraction, 0.0, 1.0, hi_open=True)
        check_range("eps_n", self.eps_n, 0.0, 1.0, hi_open=True)

    def pressure_energy_density(self, h: float):
        """(P, ε) in km⁻² at a scalar h."""
        return float(self.pressure(h)), float(self.energy_density(h))

    def rest_mass_density(self, h):
        g = self.gamma
        return ((np.expm1(_as_array(h)) * (g - 1.0) / (g * self.K)) ** (1.0 / (g - 1.0)))

    def pressure(self, h):
        return self.K * self.rest_mass_density(h) ** self.gamma

    def energy_density(self, h):
        rho = self.rest_mass_density(h)
        return rho + self.K * rho**self.gamma / (self.gamma - 1.0)

    def neutron_fraction_of(self, h):
        return np.where(_as_array(h) > self.h_transition, self.neutron_fraction, 0.0)

    def entrainment(self, h):
        inside = _as_array(h) > self.h_transition
        x_n = self.neutron_fraction
        eps_p = self.eps_n * x_n / (1.0 - x_n)
        return np.where(inside, self.eps_n, 0.0), np.where(inside, eps_p, 0.0)

    def baryon_density(self, h):
        """Rest-mass density in km⁻² (no nuclear scale in a polytrope)."""
        return self.rest_mass_density(h)


@dataclass(frozen=True)
class UniformDensityEoS:
    """Incompressible matter ε = ``eps0`` (km⁻²); h = ln(1 + P/ε) so P = ε (eʰ − 1).

    Same constant two-fluid split as :class:`PolytropeEoS` (everywhere in the star).
    """

    eps0: float
    neutron_fraction: float = 0.9
    eps_n: float = 0.0
    h_transition: float = 0.0
    h_max: float = 5.0
    name: str = "uniform density"

    def pressure_energy_density(self, h: float):
        """(P, ε) in km⁻² at a scalar h."""
        return self.eps0 * math.expm1(h), self.eps0

    def pressure(self, h):
        return self.eps0 * np.expm1(_as_array(h))

    def energy_density(self, h):
        return np.full_like(_as_array(h), self.eps0)

    def neutron_fraction_of(self, h):
        return np.full_like(_as_array(h), self.neutron_fraction)

    def entrainment(self, h):
        x_n = self.neutron_fraction
        one = np.ones_like(_as_array(h))
        return self.eps_n * one, self.eps_n * x_n / (1.0 - x_n) * one

    def baryon_density(self, h):
        return self.energy_density(h)


class _Spline:
    """Cubic spline with a fast scalar path (the adaptive TOV calls it ~10⁴ times).

    Arrays go through :class:`scipy.interpolate.CubicSpline`; a Python float is
    evaluated from the same piecewise coefficients with :func:`bisect.bisect_right`,
    ~10× faster than a scalar CubicSpline call.
    """

    __slots__ = ("_cs", "_x", "_c")

    def __init__(self, x, y):
        self._cs = CubicSpline(x, y)
        self._x = [float(v) for v in x]
        self._c = [tuple(float(v) for v in col) for col in self._cs.c.T]

    def __call__(self, h):
        if isinstance(h, float):
            i = min(max(bisect_right(self._x, h) - 1, 0), len(self._c) - 1)
            a, b, c, d = self._c[i]
            t = h - self._x[i]
            return ((a * t + b) * t + c) * t + d
        return self._cs(h)


@dataclass(frozen=True)
class _Segment:
    """One smooth region of a tabulated EoS: splines of ln P, ln ε, x_n, ε_n, ε_p, ln n in h."""

    h_lo: float
    h_hi: float
    ln_p: _Spline
    ln_eps: _Spline
    x_n: _Spline
    eps_n: _Spline
    eps_p: _Spline
    ln_n: _Spline


def _segment(h, p_km, eps_km, x_n, eps_n, eps_p, n_fm3) -> _Segment:
    return _Segment(float(h[0]), float(h[-1]), _Spline(h, np.log(p_km)),
                    _Spline(h, np.log(eps_km)), _Spline(h, x_n), _Spline(h, eps_n),
                    _Spline(h, eps_p), _Spline(h, np.log(n_fm3)))


@dataclass(frozen=True)
class TabulatedEoS:
    """EoS tabulated in the pseudo-enthalpy, in a crust and a core segment.

    ``crust`` covers 0 ≤ h ≤ ``h_transition``; ``core`` covers h_transition ≤ h ≤ h_max.
    ε may jump at h_transition (the crust fit and the functional's core do not join
    exactly); P and h are continuous by construction. ``info`` is a read-only
    description (sources, transition density and pressure) stored with results.
    """

    name: str
    crust: _Segment
    core: _Segment
    info: tuple = field(default_factory=tuple)

    @property
    def h_transition(self) -> float:
        return self.crust.h_hi

    @property
    def h_max(self) -> float:
        return self.core.h_hi

    def _eval(self, h, attr):
        h = _as_array(h)
        in_core = h > self.crust.h_hi
        hc = np.clip(h, self.core.h_lo, self.core.h_hi)
        hk = np.clip(h, self.crust.h_lo, self.crust.h_hi)
        return np.where(in_core, getattr(self.core, attr)(hc), getattr(self.crust, attr)(hk))

    def pressure_energy_density(self, h: float):
        """(P, ε) in km⁻² at a scalar h — the fast path used by the TOV integrator."""
        seg = self.core if h > self.crust.h_hi else self.crust
        h = min(max(h, seg.h_lo), seg.h_hi)
        return math.exp(seg.ln_p(h)), math.exp(seg.ln_eps(h))

    def pressure(self, h):
        return np.exp(self._eval(h, "ln_p"))

    def energy_density(self, h):
        return np.exp(self._eval(h, "ln_eps"))

    def neutron_fraction_of(self, h):
        return self._eval(h, "x_n")

    def entrainment(self, h):
        return self._eval(h, "eps_n"), self._eval(h, "eps_p")

    def baryon_density(self, h):
        """Baryon density n̄ in fm⁻³."""
        return np.exp(self._eval(h, "ln_n"))


# ---------------------------------------------------------------------------------------
# Unified BSk EoS: crust from Pearson et al. (2018) fits, core from the functional
# ---------------------------------------------------------------------------------------

def lepton_energy_density(n_l, mass_c2):
    """Energy density (MeV fm⁻³, rest mass included) of a free degenerate lepton gas.

    ε = m⁴/(8π²(ħc)³) [x(1 + 2x²)√(1 + x²) − arsinh x], x = ħc(3π²n)^{1/3}/m
    (e.g. Haensel, Potekhin & Yakovlev, *Neutron Stars 1* (2007) §2.2).
    """
    n_l = np.asarray(n_l, dtype=float)
    x = HBARC * np.cbrt(3.0 * np.pi**2 * n_l) / mass_c2
    s = np.sqrt(1.0 + x * x)
    pref = mass_c2**4 / (8.0 * np.pi**2 * HBARC**3)
    return pref * (x * (1.0 + 2.0 * x * x) * s - np.arcsinh(x))


@dataclass(frozen=True)
class CorePoint:
    """β-equilibrated npeμ matter at baryon density n (fm⁻³), MeV fm⁻³ and MeV.

    ``energy_density`` and ``pressure`` include nucleons (rest mass included) and
    leptons; ``mu_n`` is the baryon chemical potential; ``eps_n``, ``eps_p`` the
    entrainment parameters of :func:`crustsolve.core.parametrisations`.
    """

    n: float
    proton_fraction: float
    energy_density: float
    pressure: float
    mu_n: float
    eps_n: float
    eps_p: float


def core_point(functional, n) -> CorePoint:
    """ε, P, μ_n, y_p and ε_n, ε_p of the core at density ``n`` from :mod:`crustsolve.core`.

    Uses :func:`crustsolve.core.beta_equilibrium` (npeμ, no electron exchange),
    :func:`crustsolve.functional.energy_density` and the T = 0 entrainment matrix with a
    common nucleon mass. P = n μ_n − ε (Gibbs–Duhem at T = 0 in β-equilibrium), which
    keeps the table thermodynamically consistent with the chemical potentials.
    """
    b = beta_equilibrium(functional, n)
    eps = float(energy_density(functional, b.n_n, b.n_p)
                + lepton_energy_density(b.n_e, M_E_C2) + lepton_energy_density(b.n_mu, M_MU_C2))
    ent = parametrisations(entrainment_matrix_t0(functional, b.n_n, b.n_p))
    return CorePoint(n=float(n), proton_fraction=b.proton_fraction, energy_density=eps,
                     pressure=float(n * b.mu_n - eps), mu_n=b.mu_n, eps_n=ent.eps_n,
                     eps_p=ent.eps_p)


def _h_by_quadrature(ln_p, p, eps, h0):
    """h(P) = h0 + ∫ P/(ε + P) d ln P by the antiderivative of a cubic spline."""
    f = CubicSpline(ln_p, p / (eps + p))
    return h0 + f.antiderivative()(ln_p)


def unified_eos(functional="BSk24", *, transition_density=None, core_eos="functional",
                n_max=1.6, n_core=240, n_crust=400) -> TabulatedEoS:
    """Unified EoS of a BSk functional in β-equilibrium for the TOV and rotation solvers.

    * Crust (n̄ < n_cc): Pearson et al. MNRAS 481, 2994 (2018) analytic fits
      (:mod:`.pearson2018`) — the unified ETFSI EoS computed with the same functional.
      Everything in the crust belongs to the "p" fluid (neutron fluid restricted to the
      core); no crust entrainment.
    * Core (n̄ ≥ n_cc): ``core_eos="functional"`` (default) — npeμ matter in
      β-equilibrium from the functional itself (:func:`core_point`);
      ``"pearson-fit"`` — the Pearson fits for ε and P, with the composition and
      entrainment still from the functional.
    * The boundary is at the pressure of the core at n_cc
      (``transition_density``, default :data:`CRUST_CORE_TRANSITION`); the crust fit is
      used up to the density where it reaches that pressure, so P is continuous and
      ε may jump by the (sub-per-cent) mismatch between fit and functional.

    ``n_max`` (fm⁻³) is the top of the table; ``n_core``, ``n_crust`` the numbers of
    table points (cubic splines in h; the spline error is far below the fits' own).
    """
    f = get_functional(functional)
    check_choice("core_eos", core_eos, CORE_EOS_OPTIONS)
    key = pearson2018._key(f.name)  # raises InputError if there is no crust fit
    if transition_density is None:
        if key not in CRUST_CORE_TRANSITION:
            raise InputError(
                f"transition_density: no crust-core transition density is tabulated for "
                f"{key} (known: {', '.join(CRUST_CORE_TRANSITION)}); pass it explicitly in fm^-3")
        transition_density = CRUST_CORE_TRANSITION[key]
    n_cc = check_range("transition_density", transition_density, 0.03, 0.12, unit="fm^-3")
    n_max = check_range("n_max", n_max, 0.5, 3.0, unit="fm^-3")

    # --- core table (linear in n: the structure is smooth and the TOV samples all of it)
    n_c = np.linspace(n_cc, n_max, int(n_core))
    pts = [core_point(f, n) for n in n_c]
    x_n = np.array([1.0 - q.proton_fraction for q in pts])
    eps_n = np.array([q.eps_n for q in pts])
    eps_p = np.array([q.eps_p for q in pts])
    if core_eos == "functional":
        eps_c = np.array([q.energy_density for q in pts])
        p_c = np.array([q.pressure for q in pts])
    else:
        eps_c = pearson2018.energy_density(key, n_c)
        p_c = pearson2018.pressure(key, n_c)
    if np.any(np.diff(p_c) <= 0.0):
        raise InputError(f"{key}: core pressure is not increasing up to n_max = {n_max:g} fm^-3")
    p_t = p_c[0]

    # --- crust table: fit up to the density where its pressure reaches P(n_cc) of the core
    def gap(ln_n):
        return math.log(float(pearson2018.pressure(key, math.exp(ln_n))) / p_t)
    n_t = math.exp(brentq(gap, math.log(0.5 * n_cc), math.log(2.0 * n_cc), xtol=1e-14))
    n_k = np.exp(np.linspace(math.log(SURFACE_DENSITY), math.log(n_t), int(n_crust)))
    eps_k = pearson2018.energy_density(key, n_k)
    p_k = pearson2018.pressure(key, n_k)
    p_k[-1] = p_t  # the root is exact to 1e-14; make continuity exact
    if np.any(np.diff(p_k) <= 0.0):
        raise InputError(f"{key}: crust fit pressure is not increasing")
    h_k = _h_by_quadrature(np.log(p_k), p_k, eps_k, 0.0)
    if core_eos == "functional":
        # Exact for a thermodynamically consistent core: dP/(ε+P) = dμ_n/μ_n.
        mu = np.array([q.mu_n for q in pts])
        h_c = h_k[-1] + np.log(mu / mu[0])
    else:
        h_c = _h_by_quadrature(np.log(p_c), p_c, eps_c, h_k[-1])

    k = MEV_FM3_TO_KM2
    zeros = np.zeros_like(n_k)
    crust = _segment(h_k, p_k * k, eps_k * k, zeros, zeros, zeros, n_k)
    core = _segment(h_c, p_c * k, eps_c * k, x_n, eps_n, eps_p, n_c)
    info = (("functional", f.name), ("functional_reference", f.reference),
            ("crust_eos", pearson2018.REFERENCE), ("core_eos", core_eos),
            ("transition_density_fm3", n_cc), ("transition_pressure_MeV_fm3", float(p_t)),
            ("crust_fit_density_at_transition_fm3", float(n_t)),
            ("energy_density_jump_MeV_fm3", float(eps_c[0] - eps_k[-1])),
            ("surface_density_fm3", SURFACE_DENSITY), ("n_max_fm3", n_max),
            ("neutron_fluid", "core only (n >= n_cc); crust entirely in the p fluid"))
    return TabulatedEoS(name=f"{f.name} (crust: Pearson+ 2018 fit; core: {core_eos})",
                        crust=crust, core=core, info=info)
