"""Finite temperature: BCS gap, Yosida functions, ρ̂(T), Landau velocities.

Weak-coupling BCS with the gaps as inputs (Δ_q at T = 0 or T_cq); the functional's
own pairing gap is not used (its fitting functions have not been checked against the
papers). Energies and temperatures in MeV (k_B = 1).

Framework: Allard & Chamel, "Entrainment effects in neutron-proton mixtures … II.
Finite temperatures and arbitrary currents" and Universe 7, 470 (2021); gapless
regime: Allard & Chamel, arXiv:2403.07766. The formulas are crustsolve's derivation in that
framework (``docs/physics/core-entrainment.md``, "Finite temperature and superflow"); the
papers' equation numbers are not quoted.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

from ..constants import HBAR2_2MBAR, HBARC
from ..errors import check_range
from ..functional import couplings, get_functional
from .entrainment import EntrainmentMatrix, check_species_densities, entrainment_masses

#: Euler–Mascheroni constant γ_E (a mathematical constant, not a physical one).
_EULER_GAMMA = 0.57721566490153286
#: Δ(0)/T_c = π e^{−γ_E} ≈ 1.7639 in weak-coupling BCS.
GAP_TO_TC = math.pi * math.exp(-_EULER_GAMMA)


def critical_temperature(gap0):
    """T_c = Δ(0)/(π e^{−γ_E}) (MeV) of weak-coupling BCS."""
    return check_range("gap", gap0, 0.0, None, unit="MeV") / GAP_TO_TC


def zero_temperature_gap(tc):
    """Δ(0) = π e^{−γ_E} T_c ≈ 1.764 T_c (MeV)."""
    return check_range("critical temperature", tc, 0.0, None, unit="MeV") * GAP_TO_TC


def _fermi(x):
    # f = 1/(e^x + 1) without overflow
    return 0.5 * (1.0 - np.tanh(0.5 * x))


def bcs_gap_ratio(t_over_tc) -> float:
    """Δ(T)/Δ(0) of weak-coupling BCS at reduced temperature t = T/T_c (0 for t ≥ 1).

    Solves ln(Δ₀/Δ) = 2∫₀^∞ dξ f(E)/E, E = √(ξ² + Δ²), with the cutoff eliminated
    in favour of Δ₀ (standard BCS; e.g. Tinkham, *Introduction to Superconductivity*).
    """
    t = check_range("T/Tc", t_over_tc, 0.0, None)
    if t >= 1.0:
        return 0.0
    if t == 0.0:
        return 1.0
    theta = t / GAP_TO_TC  # T in units of Δ₀

    def integral(delta):
        top = delta + 60.0 * theta
        val, _ = quad(lambda xi: _fermi(math.hypot(xi, delta) / theta) / math.hypot(xi, delta),
                      0.0, top, limit=200, epsabs=1e-13, epsrel=1e-12)
        return 2.0 * val

    def g(delta):
        return math.log(1.0 / delta) - integral(delta)

    if g(1.0) >= 0.0:  # gap has not moved from Δ₀ within quadrature accuracy
        return 1.0
    return brentq(g, 1e-12, 1.0, xtol=1e-14, rtol=1e-13)


def bcs_gap_with_superflow(t_over_tc, doppler_over_gap0) -> float:
    """Δ(T, 𝕧)/Δ(0, 0) with the Doppler-shifted spectrum E ± ħk_F𝕧μ (weak coupling).

    Gap equation with the cutoff eliminated (both quasiparticle branches ±k)::

        ln(Δ₀/Δ) = ∫₀^∞ dξ/E ∫₋₁¹ dμ f(E + wμ),   w = ħ k_F 𝕧 = ``doppler_over_gap0``·Δ₀.

    At T = 0 this is ln(Δ₀/Δ) = arccosh(w/Δ) − √(1 − Δ²/w²) for w > Δ: the gap is
    unchanged up to the Landau velocity (w = Δ₀), the spectrum is gapless beyond it
    and Δ vanishes at w = (e/2)Δ₀. Returns 0 where
    superfluidity is destroyed. The largest root (the stable branch) is returned.
    """
    t = check_range("T/Tc", t_over_tc, 0.0, None)
    x = abs(check_range("doppler energy / gap", doppler_over_gap0, None, None))
    if t >= 1.0:
        return 0.0
    if x == 0.0:
        return bcs_gap_ratio(t)
    theta = t / GAP_TO_TC

    def rhs(delta):
        if theta == 0.0:  # closed form of the T = 0 integral
            return 0.0 if x <= delta else math.acosh(x / delta) - math.sqrt(1 - (delta / x) ** 2)

        def inner(xi):
            e = math.hypot(xi, delta)
            # ∫₋₁¹ dμ f(E + xμ) = (θ/x)[ln(1+e^{−(E−x)/θ}) − ln(1+e^{−(E+x)/θ})]
            a, b = (e - x) / theta, (e + x) / theta
            return theta / x * (_log1pexp(-a) - _log1pexp(-b)) / e

        top = x + delta + 60.0 * theta
        val, _ = quad(inner, 0.0, top, limit=200, epsabs=1e-13, epsrel=1e-12,
                      points=[math.sqrt(max(x * x - delta * delta, 0.0))] if x > delta else None)
        return val

    def g(delta):
        return math.log(1.0 / delta) - rhs(delta)

    # scan downwards from Δ₀ for the first sign change: the physical (largest) solution
    grid = np.geomspace(1.0, 1e-10, 121)
    prev = g(grid[0])
    if prev >= 0.0:
        return 1.0
    for hi, lo in zip(grid[:-1], grid[1:]):
        cur = g(lo)
        if cur >= 0.0:
            return brentq(g, lo, hi, xtol=1e-14, rtol=1e-12)
        prev = cur
    return 0.0


def _log1pexp(z):
    # ln(1 + e^z) without overflow
    return z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))


def gap_at_temperature(temperature, gap0):
    """Δ(T) = Δ(0) · bcs_gap_ratio(T/T_c) (MeV); zero gap stays zero."""
    T = check_range("temperature", temperature, 0.0, None, unit="MeV")
    gap0 = check_range("gap", gap0, 0.0, None, unit="MeV")
    if gap0 == 0.0:
        return 0.0
    return gap0 * bcs_gap_ratio(T / critical_temperature(gap0))


def yosida(temperature, gap) -> float:
    """Yosida function Y(T) = ∫dξ (−∂f/∂E), E = √(ξ² + Δ²) (normal fraction of a BCS Fermi liquid).

    Y = 1 for Δ = 0 (normal), Y = 0 at T = 0 with Δ > 0.
    """
    T = check_range("temperature", temperature, 0.0, None, unit="MeV")
    gap = check_range("gap", gap, 0.0, None, unit="MeV")
    if gap == 0.0:
        return 1.0
    if T == 0.0:
        return 0.0
    d = gap / (2.0 * T)
    # Y = ∫₀^∞ dx sech²(√(x² + d²)), x = ξ/2T
    val, _ = quad(lambda x: 1.0 / math.cosh(min(math.hypot(x, d), 350.0)) ** 2,
                  0.0, 40.0 + d, limit=200, epsabs=1e-15, epsrel=1e-12)
    return val


def generalised_yosida(temperature, gap, doppler_energy) -> float:
    """𝒴(T, 𝕧) in the Fermi-surface approximation.

    𝒴 = −3/(2w) ∫₋₁¹ dμ μ ∫ dξ f(√(ξ² + Δ²) + wμ), with w = ħ k_F 𝕧 (MeV) the
    Doppler energy of the superflow. 𝒴(T, 0) = Y(T); at T = 0
    𝒴 = [1 − (Δ/w)²]^{3/2} Θ(w − Δ) (gapless superfluidity above the Landau velocity).
    """
    T = check_range("temperature", temperature, 0.0, None, unit="MeV")
    gap = check_range("gap", gap, 0.0, None, unit="MeV")
    w = abs(check_range("doppler energy", doppler_energy, None, None, unit="MeV"))
    if w == 0.0:
        return yosida(T, gap)
    if T == 0.0:
        return (1.0 - (gap / w) ** 2) ** 1.5 if w > gap else 0.0

    def odd_part(mu):
        # ∫dξ [f(E + wμ) − f(E − wμ)], over ξ ≥ 0 doubled; finite and odd in μ
        top = math.sqrt((w * mu + 60.0 * T) ** 2 + gap**2) + 60.0 * T
        val, _ = quad(lambda xi: _fermi((math.hypot(xi, gap) + w * mu) / T)
                      - _fermi((math.hypot(xi, gap) - w * mu) / T),
                      0.0, top, limit=200, epsabs=1e-13, epsrel=1e-11)
        return 2.0 * val

    val, _ = quad(lambda mu: mu * odd_part(mu), 0.0, 1.0, limit=100, epsabs=1e-12, epsrel=1e-10)
    return -1.5 / w * val


def landau_velocity(gap, k_f) -> float:
    """Landau critical velocity V_L/c = Δ/(ħc k_F) (dimensionless).

    The criterion applies to the Doppler velocity 𝕧_q = (m_q/m_q⊕)V_q + I_q/ħ, which
    at T = 0 equals the transport velocity v_q.
    """
    gap = check_range("gap", gap, 0.0, None, unit="MeV")
    k_f = check_range("Fermi wavenumber", k_f, 0.0, None, lo_open=True, unit="fm^-1")
    return gap / (HBARC * k_f)


def entrainment_matrix_finite_t(functional, n_n, n_p, yosida_n, yosida_p, *,
                                masses: str = "common") -> EntrainmentMatrix:
    """ρ̂(T) from the 2×2 matrix formula::

        ρ̂ = M_b (M⊕⁻¹ − N G)(1 − N Y M⊕ G)⁻¹ N (1 − Y) M_b,
        G = (2/ħ²)[[C₊, C₋], [C₋, C₊]],  N = diag(n_q),  Y = diag(𝒴_q),

    with M⊕ the Landau masses built on the entrainment masses ``masses`` (so the
    T = 0 limit is exactly :func:`entrainment_matrix_t0`). ρ̂ refers to the frame
    where the normal fluid is at rest. 𝒴_q ∈ [0, 1] are (generalised) Yosida
    values, e.g. :func:`yosida` at Δ_q(T).
    """
    p = get_functional(functional)
    n_n, n_p = check_species_densities(n_n, n_p)
    y_n = check_range("yosida_n", yosida_n, 0.0, 1.0)
    y_p = check_range("yosida_p", yosida_p, 0.0, 1.0)
    m_n, m_p, h_n, h_p = entrainment_masses(masses)
    c = couplings(p, n_n + n_p)
    cp, cm = float(c.C_plus), float(c.C_minus)
    # Work with ħ²-scaled quantities: ħ²M⊕⁻¹ = diag(2B_q), ħ²G = 2[[C₊,C₋],[C₋,C₊]].
    two_b = 2.0 * np.array([h_n + cp * n_n + cm * n_p, h_p + cp * n_p + cm * n_n])
    g = 2.0 * np.array([[cp, cm], [cm, cp]])
    N = np.diag([n_n, n_p])
    Y = np.diag([y_n, y_p])
    left = np.diag(two_b) - N @ g
    inner = np.eye(2) - N @ Y @ np.diag(1.0 / two_b) @ g
    mb = np.diag([m_n, m_p])
    rho = mb @ left @ np.linalg.solve(inner, N @ (np.eye(2) - Y)) @ mb / HBARC**2
    # symmetric analytically; average away round-off
    rho_np = 0.5 * (rho[0, 1] + rho[1, 0])
    return EntrainmentMatrix(functional=p.name, n_n=n_n, n_p=n_p, rho_nn=float(rho[0, 0]),
                             rho_np=float(rho_np), rho_pp=float(rho[1, 1]), m_n_c2=m_n,
                             m_p_c2=m_p, upsilon=float(1.0 + cm * (n_n + n_p) / HBAR2_2MBAR),
                             masses=masses, yosida_n=y_n, yosida_p=y_p)
