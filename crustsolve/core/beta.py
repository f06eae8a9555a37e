"""β-equilibrium of npeμ matter at T = 0 (``docs/physics/core-entrainment.md``).

Conditions: μ_n = μ_p + μ_e, μ_μ = μ_e, n_p = n_e + n_μ, with relativistic free
leptons μ_ℓ = √(m_ℓ²c⁴ + (ħc)²(3π²n_ℓ)^{2/3}) and the nucleon μ_q of
:func:`crustsolve.functional.chemical_potentials` (rest masses included, so the n–p
mass difference is kept). Electron exchange and screening are neglected
(Pearson et al. MNRAS 481, 2994 (2018) App. B include exchange; its effect on y_p is
below 1 % for BSk24).

One equation in n_e is solved with Brent's bracketing method.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ..constants import HBARC, M_E_C2, M_MU_C2
from ..errors import ConvergenceError, check_range
from ..functional import chemical_potentials, get_functional


def lepton_chemical_potential(n_l, mass_c2):
    """μ_ℓ = √(m_ℓ²c⁴ + (ħc)²(3π² n_ℓ)^{2/3}) in MeV for a free degenerate lepton gas."""
    k = (3.0 * np.pi**2 * np.asarray(n_l, dtype=float)) ** (1.0 / 3.0)
    return np.sqrt(mass_c2**2 + (HBARC * k) ** 2)


def muon_density(mu_e):
    """n_μ (fm⁻³) in equilibrium with electrons, μ_μ = μ_e; zero below the muon mass."""
    x = max(float(mu_e) ** 2 - M_MU_C2**2, 0.0)
    return x**1.5 / (3.0 * np.pi**2 * HBARC**3)


@dataclass(frozen=True)
class BetaEquilibrium:
    """Composition of npeμ matter in β-equilibrium at baryon density ``n`` (fm⁻³).

    Fractions y_* are per baryon; μ_* in MeV with rest masses;
    ``residual`` = μ_n − μ_p − μ_e (MeV) at the solution.
    """

    functional: str
    n: float
    proton_fraction: float
    electron_fraction: float
    muon_fraction: float
    n_n: float
    n_p: float
    n_e: float
    n_mu: float
    mu_n: float
    mu_p: float
    mu_e: float
    residual: float


def _residual(p, n, n_e, muons):
    mu_e = float(lepton_chemical_potential(n_e, M_E_C2))
    n_mu = muon_density(mu_e) if muons else 0.0
    n_p = n_e + n_mu
    mu_n, mu_p = chemical_potentials(p, n - n_p, n_p)
    return float(mu_n - mu_p - mu_e), n_mu, mu_e, float(mu_n), float(mu_p)


def beta_equilibrium(functional, n, *, muons: bool = True) -> BetaEquilibrium:
    """Solve μ_n = μ_p + μ_e (+ muons if ``muons``) at baryon density ``n`` (fm⁻³).

    The electron density is bracketed in [10⁻⁹ n, n_max] where n_max keeps
    n_p = n_e + n_μ ≤ n; a :class:`ConvergenceError` is raised if no sign change
    is found (e.g. a functional without β-equilibrium at this density).
    """
    p = get_functional(functional)
    n = check_range("density n", n, 0.0, 5.0, lo_open=True, unit="fm^-3")

    def f(n_e):
        return _residual(p, n, n_e, muons)[0]

    lo = 1e-9 * n
    # largest n_e with n_e + n_μ(n_e) < n (n_μ grows with n_e)
    hi = brentq(lambda x: x + (muon_density(lepton_chemical_potential(x, M_E_C2)) if muons
                               else 0.0) - 0.999 * n, lo, n)
    f_lo, f_hi = f(lo), f(hi)
    if not (np.isfinite(f_lo) and np.isfinite(f_hi)) or f_lo * f_hi > 0.0:
        raise ConvergenceError(
            f"{p.name}: beta equilibrium not bracketed at n = {n:g} fm^-3 "
            f"(mu_n - mu_p - mu_e = {f_lo:.4g} MeV at n_e = {lo:.3g}, {f_hi:.4g} MeV at {hi:.3g})")
    n_e = brentq(f, lo, hi, xtol=1e-16, rtol=4 * np.finfo(float).eps, maxiter=200)
    res, n_mu, mu_e, mu_n, mu_p = _residual(p, n, n_e, muons)
    n_p = n_e + n_mu
    return BetaEquilibrium(
        functional=p.name, n=n, proton_fraction=n_p / n, electron_fraction=n_e / n,
        muon_fraction=n_mu / n, n_n=n - n_p, n_p=n_p, n_e=n_e, n_mu=n_mu,
        mu_n=mu_n, mu_p=mu_p, mu_e=mu_e, residual=res)


def muon_onset_density(functional, n_lo: float = 0.05, n_hi: float = 0.5) -> float:
    """Baryon density (fm⁻³) where μ_e reaches m_μc² in β-equilibrium (bracketed root)."""
    p = get_functional(functional)

    def g(n):
        return beta_equilibrium(p, n, muons=False).mu_e - M_MU_C2

    if g(n_lo) * g(n_hi) > 0.0:
        raise ConvergenceError(f"{p.name}: muon onset not between {n_lo} and {n_hi} fm^-3")
    return brentq(g, n_lo, n_hi, xtol=1e-10)
