"""Homogeneous nuclear matter at T = 0 from a Skyrme/BSk functional.

Two independent routes are implemented on purpose:

* :func:`energy_per_nucleon` — the closed E/A(n, η) of Chamel, Goriely & Pearson,
  PRC 80, 065804 (2009) eq. (A13) = Pearson et al., MNRAS 481, 2994 (2018) eq. (33),
  written as a sum of power laws in n so that the
  pressure, incompressibility, J, L and K_sym follow analytically;
* :func:`energy_density` — the local functional of :mod:`.skyrme` evaluated on a
  Fermi gas; its analytic derivatives give μ_q.

Formulas: ``docs/physics/core-entrainment.md``, "The functional in uniform matter".

The tests check one against the other and both against finite differences.
Units: MeV, fm, fm⁻³; E/A excludes the rest mass, ℰ and μ_q include it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from ..constants import HBAR2_2MBAR, M_N_C2, M_P_C2
from ..errors import ConvergenceError, check_range
from .parameters import get_functional
from .skyrme import (couplings, effective_mass_fields, fermi_wavenumber,
                     kinetic_density_fermi_gas, mean_fields, bulk_energy_density)

#: (3π²/2)^{2/3}: k_F² = (3π²/2)^{2/3} n^{2/3} for symmetric matter of total density n.
_KAPPA = (1.5 * np.pi**2) ** (2.0 / 3.0)

# η-dependence of every E/A term is a linear combination of these basis functions;
# their second η-derivatives at η = 0 give the symmetry energy analytically.
_BASIS_D2_AT_0 = {"one": 0.0, "eta2": 2.0, "F53": 10.0 / 9.0, "F83": 40.0 / 9.0,
                  "Pn53": 10.0 / 9.0, "Pp53": 10.0 / 9.0}


def _basis(eta):
    eta = np.asarray(eta, dtype=float)
    a, b = 1.0 + eta, 1.0 - eta
    return {"one": np.ones_like(eta), "eta2": eta**2,
            "F53": 0.5 * (a ** (5 / 3) + b ** (5 / 3)), "F83": 0.5 * (a ** (8 / 3) + b ** (8 / 3)),
            "Pn53": a ** (5 / 3), "Pp53": b ** (5 / 3)}


def _power_law_terms(p):
    """E/A = Σ_i c_i(η) n^{e_i}; returns [(e_i, {basis: coefficient})] (eq. A13 of CGP 2009)."""
    k = _KAPPA
    return [
        (2.0 / 3.0, {"Pn53": 0.3 * k * p.hbar2_2m_n, "Pp53": 0.3 * k * p.hbar2_2m_p}),
        (1.0, {"one": 3.0 * p.t0 / 8.0, "eta2": -p.t0 * (2.0 * p.x0 + 1.0) / 8.0}),
        (5.0 / 3.0, {"F53": 3.0 * k / 40.0 * (p.t1 * (2.0 + p.x1) + 2.0 * p.t2 + p.t2x2),
                     "F83": 3.0 * k / 40.0 * (-p.t1 * (0.5 + p.x1) + 0.5 * p.t2 + p.t2x2)}),
        (1.0 + p.alpha, {"one": 3.0 * p.t3 / 48.0, "eta2": -p.t3 * (1.0 + 2.0 * p.x3) / 48.0}),
        (5.0 / 3.0 + p.beta, {"F53": 3.0 * k / 40.0 * p.t4 * (2.0 + p.x4),
                              "F83": -3.0 * k / 40.0 * p.t4 * (0.5 + p.x4)}),
        (5.0 / 3.0 + p.gamma, {"F53": 3.0 * k / 40.0 * p.t5 * (2.0 + p.x5),
                               "F83": 3.0 * k / 40.0 * p.t5 * (0.5 + p.x5)}),
    ]


def _terms_at(p, n, eta):
    basis = _basis(eta)
    n = np.asarray(n, dtype=float)
    return [(e, sum(c * basis[b] for b, c in coeffs.items()) * n**e)
            for e, coeffs in _power_law_terms(p)]


def _check_n_eta(n, eta):
    n = np.asarray(n, dtype=float)
    eta = np.asarray(eta, dtype=float)
    # check_range on the first offending element gives the standard message
    bad_n = (~np.isfinite(n)) | (n <= 0.0)
    if np.any(bad_n):
        check_range("density n", n[bad_n].flat[0], 0.0, None, lo_open=True, unit="fm^-3")
    bad_eta = (~np.isfinite(eta)) | (np.abs(eta) > 1.0)
    if np.any(bad_eta):
        check_range("asymmetry eta", eta[bad_eta].flat[0], -1.0, 1.0)
    return n, eta


def energy_per_nucleon(functional, n, eta):
    """E/A(n, η) in MeV without rest mass; η = (n_n − n_p)/n. CGP 2009 eq. (A13)."""
    p = get_functional(functional)
    n, eta = _check_n_eta(n, eta)
    return sum(v for _, v in _terms_at(p, n, eta))


def pressure(functional, n, eta):
    """Nuclear pressure P = n² ∂(E/A)/∂n at fixed η (MeV fm⁻³); Pearson et al. 2018 eq. (35)."""
    p = get_functional(functional)
    n, eta = _check_n_eta(n, eta)
    # each power-law term c n^e contributes n² · e c n^{e−1} = e n (c n^e)
    return n * sum(e * v for e, v in _terms_at(p, n, eta))


def energy_density(functional, n_n, n_p, include_rest_mass=True):
    """ℰ(n_n, n_p) of uniform matter at rest (MeV fm⁻³) from the local functional.

    Includes n_n M_n c² + n_p M_p c² unless ``include_rest_mass`` is False.
    """
    p = get_functional(functional)
    n_n = np.asarray(n_n, dtype=float)
    n_p = np.asarray(n_p, dtype=float)
    e = bulk_energy_density(p, n_n, n_p, kinetic_density_fermi_gas(n_n),
                            kinetic_density_fermi_gas(n_p))
    if include_rest_mass:
        e = e + n_n * M_N_C2 + n_p * M_P_C2
    return e


def chemical_potentials(functional, n_n, n_p):
    """(μ_n, μ_p) in MeV including rest mass: μ_q = M_q c² + (ħ²/2m_q⊕) k_Fq² + U_q."""
    p = get_functional(functional)
    tau_n, tau_p = kinetic_density_fermi_gas(n_n), kinetic_density_fermi_gas(n_p)
    u_n, u_p = mean_fields(p, n_n, n_p, tau_n, tau_p)
    b_n, b_p = effective_mass_fields(p, n_n, n_p)
    return (M_N_C2 + b_n * fermi_wavenumber(n_n) ** 2 + u_n,
            M_P_C2 + b_p * fermi_wavenumber(n_p) ** 2 + u_p)


def isoscalar_effective_mass(functional, n):
    """M_s*/M at total density n: M/M_s* = 1 + (2M/ħ²) C^τ₀ n, M = (M_n+M_p)/2."""
    c = couplings(functional, n)
    return 1.0 / (1.0 + c.C0tau * np.asarray(n, dtype=float) / HBAR2_2MBAR)


def isovector_effective_mass(functional, n):
    """M_v*/M at total density n: M/M_v* = 1 + (2M/ħ²) C₋ n, M = (M_n+M_p)/2.

    Υ of the entrainment closed form is M/M_v*(n) (``docs/physics/core-entrainment.md``).
    """
    c = couplings(functional, n)
    return 1.0 / (1.0 + c.C_minus * np.asarray(n, dtype=float) / HBAR2_2MBAR)


@dataclass(frozen=True)
class UniformMatter:
    """State of uniform n-p matter at T = 0 (no currents).

    Densities in fm⁻³; ``energy_per_nucleon`` (MeV, no rest mass); ``energy_density``
    (MeV fm⁻³, with rest mass); ``pressure`` (MeV fm⁻³, nucleons only); ``mu_*``
    (MeV, with rest mass); ``U_*`` (MeV); ``B_*`` = ħ²/2m_q⊕ (MeV fm²);
    ``landau_mass_*`` = m_q⊕/M_q with M_q the functional's kinetic mass of q;
    ``C_plus``, ``C_minus`` (MeV fm⁵).
    """

    functional: str
    n: float
    proton_fraction: float
    n_n: float
    n_p: float
    eta: float
    energy_per_nucleon: float
    energy_density: float
    pressure: float
    mu_n: float
    mu_p: float
    U_n: float
    U_p: float
    B_n: float
    B_p: float
    landau_mass_n: float
    landau_mass_p: float
    C_plus: float
    C_minus: float
    isoscalar_effective_mass: float
    isovector_effective_mass: float


def uniform_matter(functional, n, proton_fraction) -> UniformMatter:
    """Evaluate every uniform-matter quantity at density ``n`` (fm⁻³) and y_p ∈ [0, 1]."""
    p = get_functional(functional)
    n = check_range("density n", n, 0.0, None, lo_open=True, unit="fm^-3")
    y = check_range("proton fraction", proton_fraction, 0.0, 1.0)
    n_p = y * n
    n_n = n - n_p
    eta = 1.0 - 2.0 * y
    tau_n, tau_p = kinetic_density_fermi_gas(n_n), kinetic_density_fermi_gas(n_p)
    u_n, u_p = mean_fields(p, n_n, n_p, tau_n, tau_p)
    b_n, b_p = effective_mass_fields(p, n_n, n_p)
    mu_n, mu_p = chemical_potentials(p, n_n, n_p)
    c = couplings(p, n)
    return UniformMatter(
        functional=p.name, n=n, proton_fraction=y, n_n=n_n, n_p=n_p, eta=eta,
        energy_per_nucleon=float(energy_per_nucleon(p, n, eta)),
        energy_density=float(energy_density(p, n_n, n_p)),
        pressure=float(pressure(p, n, eta)),
        mu_n=float(mu_n), mu_p=float(mu_p), U_n=float(u_n), U_p=float(u_p),
        B_n=float(b_n), B_p=float(b_p),
        landau_mass_n=float(p.hbar2_2m_n / b_n), landau_mass_p=float(p.hbar2_2m_p / b_p),
        C_plus=float(c.C_plus), C_minus=float(c.C_minus),
        isoscalar_effective_mass=float(isoscalar_effective_mass(p, n)),
        isovector_effective_mass=float(isovector_effective_mass(p, n)))


@dataclass(frozen=True)
class SaturationProperties:
    """Symmetric-matter saturation point and symmetry-energy expansion.

    n0 (fm⁻³), E0 = E/A(n0, 0) (MeV), K = 9n0² ∂²(E/A)/∂n² (MeV),
    J = ½∂²(E/A)/∂η² at n0 (MeV), L = 3n0 dJ/dn, K_sym = 9n0² d²J/dn² (MeV),
    Ms = M_s*/M and Mv = M_v*/M at n0.
    """

    functional: str
    n0: float
    E0: float
    K: float
    J: float
    L: float
    K_sym: float
    Ms: float
    Mv: float


def symmetric_matter_derivatives(functional, n):
    """(E, dE/dn, d²E/dn²) of symmetric matter E/A(n, 0), analytic (MeV, MeV fm³, MeV fm⁶)."""
    p = get_functional(functional)
    terms = _terms_at(p, n, 0.0)
    n = float(n)
    return (sum(v for _, v in terms), sum(e * v for e, v in terms) / n,
            sum(e * (e - 1.0) * v for e, v in terms) / n**2)


def symmetry_energy_derivatives(functional, n):
    """(J, dJ/dn, d²J/dn²) with J(n) = ½ ∂²(E/A)/∂η²|_{η=0}, analytic."""
    p = get_functional(functional)
    n = float(n)
    out = [0.0, 0.0, 0.0]
    for e, coeffs in _power_law_terms(p):
        v = 0.5 * sum(c * _BASIS_D2_AT_0[b] for b, c in coeffs.items()) * n**e
        out[0] += v
        out[1] += e * v / n
        out[2] += e * (e - 1.0) * v / n**2
    return tuple(out)


def saturation_properties(functional) -> SaturationProperties:
    """Saturation density (root of d(E/A)/dn in [0.1, 0.25] fm⁻³) and the properties there."""
    p = get_functional(functional)

    def slope(n):
        return symmetric_matter_derivatives(p, n)[1]

    if slope(0.1) * slope(0.25) > 0.0:
        raise ConvergenceError(f"{p.name}: no saturation point between 0.1 and 0.25 fm^-3")
    n0 = brentq(slope, 0.1, 0.25, xtol=1e-14, rtol=1e-14)
    e0, _, e2 = symmetric_matter_derivatives(p, n0)
    j0, j1, j2 = symmetry_energy_derivatives(p, n0)
    return SaturationProperties(
        functional=p.name, n0=n0, E0=e0, K=9.0 * n0**2 * e2, J=j0, L=3.0 * n0 * j1,
        K_sym=9.0 * n0**2 * j2, Ms=float(isoscalar_effective_mass(p, n0)),
        Mv=float(isovector_effective_mass(p, n0)))
