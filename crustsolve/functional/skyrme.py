"""Local-density Skyrme/BSk energy density and fields, vectorised over arrays.

These functions take local densities (numbers or numpy arrays of any common shape)
so the core (uniform matter) and a later crust/ETF stage can call the same code on
grids. Units: densities n_q in fm⁻³, kinetic densities τ_q in fm⁻⁵, currents j_q
(momentum density / ħ) in fm⁻⁴, energies in MeV, fields U_q in MeV,
B_q = ħ²/2m_q⊕ in MeV fm², current fields I_q in MeV fm.

Energy density (spin-saturated, time-odd currents kept), in the isoscalar (t=0) /
isovector (t=1) form of Chamel, Goriely & Pearson, PRC 80, 065804 (2009), App. A
(``docs/physics/core-entrainment.md``, "The functional in uniform matter")::

    ℰ = Σ_q ħ²/2M_q τ_q + Σ_t [ C^n_t(n) n_t² + C^τ_t(n) (n_t τ_t − j_t²) ]

What is *not* here (needed only in inhomogeneous matter; the crust stage must add
them from the cited papers): the gradient terms C^{Δn}_t (∇n_t)² (with their t₄/t₅
density dependence), the spin–orbit terms with W₀ (n_t ∇·J_t), the spin-current J²
terms, Coulomb (direct and exchange) and the pairing energy. ``bulk_energy_density``
and ``mean_fields`` are therefore exact only for uniform matter or as the bulk part
of an ETF functional.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .parameters import SkyrmeParameters, get_functional

#: (3π²)^{2/3}: τ_q = (3/5)(3π²)^{2/3} n_q^{5/3} for a Fermi gas at rest.
_THREE_PI2_23 = (3.0 * np.pi**2) ** (2.0 / 3.0)


@dataclass(frozen=True)
class SkyrmeCouplings:
    """Coupling functions at total density n (CGP 2009 App. A).

    ``C0n, C1n`` in MeV fm³; ``C0tau, C1tau`` in MeV fm⁵. ``n_dC*`` are
    n·dC/dn (same units as C), finite at n = 0.
    """

    C0n: object
    C1n: object
    C0tau: object
    C1tau: object
    n_dC0n: object
    n_dC1n: object
    n_dC0tau: object
    n_dC1tau: object

    @property
    def C_plus(self):
        """C₊ = C^τ₀ + C^τ₁ (MeV fm⁵): couples n_q τ_q − j_q² of the same species."""
        return self.C0tau + self.C1tau

    @property
    def C_minus(self):
        """C₋ = C^τ₀ − C^τ₁ (MeV fm⁵): couples n_n τ_p + n_p τ_n − 2 j_n·j_p; controls n–p entrainment."""
        return self.C0tau - self.C1tau


def couplings(functional, n) -> SkyrmeCouplings:
    """C^n_t, C^τ_t and n dC/dn at total density ``n`` (fm⁻³; number or array).

    Formulas: CGP 2009 App. A, with t₂x₂ as one parameter (``docs/physics/core-entrainment.md``).
    """
    p: SkyrmeParameters = get_functional(functional)
    n = np.asarray(n, dtype=float)
    na, nb, ng = n**p.alpha, n**p.beta, n**p.gamma
    c0n_3 = p.t3 / 16.0 * na
    c1n_3 = -p.t3 / 24.0 * (0.5 + p.x3) * na
    c0t_4 = 3.0 / 16.0 * p.t4 * nb
    c0t_5 = (5.0 * p.t5 + 4.0 * p.t5 * p.x5) / 16.0 * ng
    c1t_4 = -p.t4 * (1.0 + 2.0 * p.x4) / 16.0 * nb
    c1t_5 = p.t5 * (1.0 + 2.0 * p.x5) / 16.0 * ng
    return SkyrmeCouplings(
        C0n=3.0 / 8.0 * p.t0 + c0n_3,
        C1n=-0.25 * p.t0 * (0.5 + p.x0) + c1n_3,
        C0tau=3.0 / 16.0 * p.t1 + (5.0 * p.t2 + 4.0 * p.t2x2) / 16.0 + c0t_4 + c0t_5,
        C1tau=-p.t1 * (1.0 + 2.0 * p.x1) / 16.0 + (p.t2 + 2.0 * p.t2x2) / 16.0 + c1t_4 + c1t_5,
        # n dC/dn of a power law c n^a is a c n^a: no 1/n, so n = 0 is harmless.
        n_dC0n=p.alpha * c0n_3,
        n_dC1n=p.alpha * c1n_3,
        n_dC0tau=p.beta * c0t_4 + p.gamma * c0t_5,
        n_dC1tau=p.beta * c1t_4 + p.gamma * c1t_5,
    )


def kinetic_density_fermi_gas(n_q):
    """τ_q = (3/5)(3π²)^{2/3} n_q^{5/3} (fm⁻⁵) of a T = 0 Fermi gas at rest."""
    n_q = np.asarray(n_q, dtype=float)
    return 0.6 * _THREE_PI2_23 * n_q ** (5.0 / 3.0)


def fermi_wavenumber(n_q):
    """k_Fq = (3π² n_q)^{1/3} (fm⁻¹) of one spin-½ species."""
    return (3.0 * np.pi**2 * np.asarray(n_q, dtype=float)) ** (1.0 / 3.0)


def effective_mass_fields(functional, n_n, n_p):
    """(B_n, B_p) with B_q = ħ²/2m_q⊕ = ∂ℰ/∂τ_q = ħ²/2M_q + C₊ n_q + C₋ n_q′ (MeV fm²).

    CGP 2009 App. A (the same expression as ``B_q`` of danielpecak/libnest). Arrays broadcast.
    """
    p = get_functional(functional)
    n_n = np.asarray(n_n, dtype=float)
    n_p = np.asarray(n_p, dtype=float)
    c = couplings(p, n_n + n_p)
    return (p.hbar2_2m_n + c.C_plus * n_n + c.C_minus * n_p,
            p.hbar2_2m_p + c.C_plus * n_p + c.C_minus * n_n)


def current_fields(functional, n_n, n_p, j_n, j_p):
    """(I_n, I_p) with I_q = δℰ/δj_q = −2C₊ j_q − 2C₋ j_q′ (MeV fm per fm⁻⁴ of j).

    Linear in the currents, so ``j_n``, ``j_p`` may be one Cartesian component or
    arrays with a trailing vector axis (broadcast against n_q[..., None]).
    ``docs/physics/core-entrainment.md``, "Fields".
    """
    c = couplings(functional, np.asarray(n_n, dtype=float) + np.asarray(n_p, dtype=float))
    cp, cm = c.C_plus, c.C_minus
    j_n = np.asarray(j_n, dtype=float)
    j_p = np.asarray(j_p, dtype=float)
    if j_n.ndim > np.ndim(cp):
        cp, cm = np.asarray(cp)[..., None], np.asarray(cm)[..., None]
    return -2.0 * cp * j_n - 2.0 * cm * j_p, -2.0 * cp * j_p - 2.0 * cm * j_n


def _isospin(n_n, n_p, tau_n, tau_p, j2_n, j2_p, jn_dot_jp):
    n_n, n_p, tau_n, tau_p, j2_n, j2_p, jnp = (np.asarray(a, dtype=float) for a in
                                                (n_n, n_p, tau_n, tau_p, j2_n, j2_p, jn_dot_jp))
    j0sq = j2_n + j2_p + 2.0 * jnp
    j1sq = j2_n + j2_p - 2.0 * jnp
    return n_n + n_p, n_n - n_p, tau_n + tau_p, tau_n - tau_p, j0sq, j1sq


def bulk_energy_density(functional, n_n, n_p, tau_n, tau_p, j2_n=0.0, j2_p=0.0, jn_dot_jp=0.0):
    """Skyrme energy density without gradient, spin–orbit, Coulomb and pairing terms (MeV fm⁻³).

    ℰ = Σ_q ħ²/2M_q τ_q + Σ_t [C^n_t n_t² + C^τ_t (n_t τ_t − j_t²)]; rest mass excluded.
    Currents enter through j_q² (``j2_n``, ``j2_p``, fm⁻⁸) and j_n·j_p (``jn_dot_jp``).
    """
    p = get_functional(functional)
    n0, n1, t0, t1, j0sq, j1sq = _isospin(n_n, n_p, tau_n, tau_p, j2_n, j2_p, jn_dot_jp)
    c = couplings(p, n0)
    return (p.hbar2_2m_n * np.asarray(tau_n, dtype=float)
            + p.hbar2_2m_p * np.asarray(tau_p, dtype=float)
            + c.C0n * n0**2 + c.C1n * n1**2
            + c.C0tau * (n0 * t0 - j0sq) + c.C1tau * (n1 * t1 - j1sq))


def mean_fields(functional, n_n, n_p, tau_n, tau_p, j2_n=0.0, j2_p=0.0, jn_dot_jp=0.0):
    """(U_n, U_p) = ∂ℰ/∂n_q at fixed τ_q, j_q, bulk terms only (MeV).

    U_q = 2C^n₀n + n² dC^n₀/dn + n₁² dC^n₁/dn + C^τ₀τ₀ + (n₀τ₀ − j₀²) dC^τ₀/dn
          + (n₁τ₁ − j₁²) dC^τ₁/dn ± (2C^n₁n₁ + C^τ₁τ₁)   (+ for neutrons)

    Derived from ℰ (``docs/physics/core-entrainment.md``, "Fields"), j² terms included
    (they enter through the density dependence of C^τ_t). In a uniform Fermi gas at rest
    μ_q = M_q c² + B_q k_Fq² + U_q. The gradient/spin–orbit contributions to U_q
    in inhomogeneous matter are not included (see the module docstring).
    """
    n0, n1, t0, t1, j0sq, j1sq = _isospin(n_n, n_p, tau_n, tau_p, j2_n, j2_p, jn_dot_jp)
    c = couplings(functional, n0)
    # dC/dn × (…) written as (n dC/dn) × (…)/n; the quotients vanish with n.
    safe_n = np.where(n0 > 0.0, n0, 1.0)
    common = (2.0 * c.C0n * n0 + c.n_dC0n * n0 + c.n_dC1n * n1**2 / safe_n
              + c.C0tau * t0 + c.n_dC0tau * (n0 * t0 - j0sq) / safe_n
              + c.n_dC1tau * (n1 * t1 - j1sq) / safe_n)
    iso = 2.0 * c.C1n * n1 + c.C1tau * t1
    return common + iso, common - iso
