"""4th-order ETF densities and the local BSk functional (``docs/physics/crust-composition.md``).

* local vs integrated 4th-order forms (kinetic and spin–orbit parts), which confirms
  that the transcribed τ4a/τ4b/τ4c, τ4so and J4 expressions are mutually consistent;
* uniform limit of the local energy density and of U_q against crustsolve.functional;
* U_q against a finite-difference functional derivative of the discretised energy.
"""
from __future__ import annotations

import numpy as np
import pytest

from crustsolve.crust import etf, jets
from crustsolve.crust.profiles import OnsiProfile, radial_grid
from crustsolve.crust.skyrme_local import energy_density, mean_field
from crustsolve.functional import (bulk_energy_density, effective_mass_fields, get_functional,
                                   kinetic_density_fermi_gas, mean_fields)

K = (3.0 * np.pi**2) ** (-2.0 / 3.0)
FUNCS = ["BSk24", "BSk26", "SLy4"]


def _cell(functional, npts=20000):
    # Onsi profiles with a negligible cusp at r = 0 (e^{-C/a} ≈ 1e-6): the Onsi form has
    # n'(0) ≠ 0, which adds an r = 0 boundary term of relative size
    # ~e^{-C/a} to the partial integration linking the local and integrated forms (measured:
    # 5.6e-4 for a Fermi profile with C/a = 7, 1.5e-6 for C/a = 12). For the crust rows that
    # term is ~1e-8 MeV/nucleon.
    R = 25.0
    neu = OnsiProfile(0.02, 0.08, 10.0, 0.72, R)
    pro = OnsiProfile(1e-4, 0.03, 9.5, 0.55, R)
    r, w = radial_grid(R, npts)
    nn, np_ = neu.density_jet(r), pro.density_jet(r)
    fn, fp = etf.effective_mass_ratio_jets(functional, nn, np_)
    return r, w, nn, np_, fn, fp


def _integrated_kin(r, n, f, h):
    """Integrated 4th-order kinetic energy E4_kin in spherical symmetry (MeV).

    Brack, Guet & Håkansson (1985) form, as in the commented-out block of
    ``mgeshelley/etfFinal`` ``eval_skyrme_energy_density`` with its third term's (∇n/n)²
    read as (∇n/n)⁴ (the reading that agrees with the local form)."""
    n0, n1, n2 = n[0], n[1], n[2]
    f0, f1, f2 = f[0], f[1], f[2]
    ln, lf = n2 + 2 * n1 / r, f2 + 2 * f1 / r
    gn2, gf2, gfn = n1**2, f1**2, f1 * n1
    g = (f0 * (ln / n0) ** 2 / 270 - f0 * (ln / n0) * gn2 / n0**2 / 240 + f0 * gn2**2 / n0**4 / 810
         - lf**2 / (240 * f0) + lf * gf2 / (120 * f0**2) - gf2**2 / (240 * f0**3)
         + lf * gfn / (360 * f0 * n0) - ln * gf2 / (360 * f0 * n0)
         - 7 * lf * gn2 / n0**2 / 2160 + gn2 / n0**2 * gf2 / (540 * f0)
         + 7 * gfn**2 / (2160 * f0 * n0**2) - 11 * gn2 / n0**2 * gfn / (3240 * n0)
         + 7 * ln * gfn / (1080 * n0**2) + lf * ln / (180 * n0))
    return h * K * n0 ** (1 / 3) * g


def _integrated_so(r, n, f, A, h, W0):
    n0, n1, n2 = n[0], n[1], n[2]
    f0, f1, f2 = f[0], f[1], f[2]
    W = 0.5 * W0 * A[1]
    divW = 0.5 * W0 * (A[2] + 2 * A[1] / r)
    lf, ln = f2 + 2 * f1 / r, n2 + 2 * n1 / r
    g = (0.25 * divW**2 - 0.375 * divW * f1 * W / f0 + W**2 * lf / (16 * f0)
         + (f1 * W) ** 2 / (8 * f0**2) + divW * n1 * W / (24 * n0) + W**2 * ln / (48 * n0)
         - W**2 * (n1 / n0) ** 2 / 72 + W**4 / (8 * h**2 * f0**2))
    return K / (2 * h) * n0 ** (1 / 3) / f0 * g


@pytest.mark.parametrize("functional", FUNCS)
def test_local_and_integrated_fourth_order_agree(functional):
    p = get_functional(functional)
    r, w, nn, np_, fn, fp = _cell(functional)
    for nq, fq, Aq, h in ((nn, fn, 2 * nn + np_, p.hbar2_2m_n), (np_, fp, 2 * np_ + nn, p.hbar2_2m_p)):
        e = etf.radial_etf(r, nq, fq, Aq, h, p.W0)
        # τ4 without spin–orbit = τ4 − τ4so; recompute τ4so alone with W0 → split via W0 = 0.
        e0 = etf.radial_etf(r, nq, fq, Aq, h, 0.0)
        kin_local = h * np.sum(fq[0] * e0.tau4 * w)
        kin_int = np.sum(_integrated_kin(r, nq, fq, h) * w)
        assert kin_local == pytest.approx(kin_int, rel=2e-5)          # check (i)
        so_local = (h * np.sum(fq[0] * (e.tau4 - e0.tau4) * w)
                    + np.sum(0.5 * p.W0 * Aq[1] * e.J4 * w))
        so_int = np.sum(_integrated_so(r, nq, fq, Aq, h, p.W0) * w)
        assert so_local == pytest.approx(so_int, rel=1e-6)             # check (ii)


def test_f_equal_one_reduces_to_textbook_fourth_order():
    """(iii): for f = 1, ∫τ4 = K/6480 ∫ n^{1/3}[24(Δn/n)² − 27(Δn/n)(∇n/n)² + 8(∇n/n)⁴]."""
    r, w, nn, _, fn, _ = _cell("BSk24")
    one = jets.constant(1.0, fn)
    e = etf.radial_etf(r, nn, one, 2 * nn, 20.0, 0.0)
    n0, n1 = nn[0], nn[1]
    ln = nn[2] + 2 * n1 / r
    ref = K / 6480 * n0 ** (1 / 3) * (24 * (ln / n0) ** 2 - 27 * (ln / n0) * (n1 / n0) ** 2
                                      + 8 * (n1 / n0) ** 4)
    assert np.sum(e.tau4 * w) == pytest.approx(np.sum(ref * w), rel=2e-5)


def test_thomas_fermi_limit_and_second_order_uniform():
    """Uniform density: τ = τ_TF, J = 0 (all gradient terms vanish)."""
    r = np.linspace(1.0, 10.0, 5)
    n = np.zeros((5, 5))
    n[0] = 0.05
    f = jets.constant(1.1, n)
    e = etf.radial_etf(r, n, f, 2 * n, 20.7, 108.4)
    # τ = τ_TF up to the round-off of the n^{5/3} prefactor (a few ulp)
    np.testing.assert_allclose(e.tau(4), kinetic_density_fermi_gas(0.05), rtol=1e-14, atol=0)
    # exact by construction: every term of J₂ and J₄ carries a derivative of n or f, all 0.0
    assert np.all(e.J(4) == 0.0)


@pytest.mark.parametrize("functional", FUNCS + ["BSk22", "BSk25", "BSk31"])
def test_uniform_limit_matches_functional_module(functional):
    rng = np.random.default_rng(1)
    n_n = rng.uniform(0.005, 0.12, 20)
    n_p = rng.uniform(0.0, 0.06, 20)
    t_n, t_p = kinetic_density_fermi_gas(n_n), kinetic_density_fermi_gas(n_p)
    zero = np.zeros((3, 20))
    e = energy_density(functional, n_n, n_p, t_n, t_p, zero, zero, zero, zero)
    # ℰ sums terms up to |C₀ⁿ| n² ≈ 50 MeV fm⁻³ that cancel down to ~1e-3 MeV fm⁻³ at places:
    # compare absolutely, ~10 ulp of the largest term (measured ≤ 1.4e-14)
    np.testing.assert_allclose(e, bulk_energy_density(functional, n_n, n_p, t_n, t_p),
                               rtol=1e-12, atol=1e-13)
    u_ref = mean_fields(functional, n_n, n_p, t_n, t_p)
    for q, ref in zip("np", u_ref):
        u = mean_field(functional, q, n_n, n_p, t_n, t_p, zero, zero, 0.0 * n_n, 0.0 * n_n)
        # U_q ~ 10 MeV from terms of size |t₀| n ≈ 700 MeV: ~10 ulp of those (measured 4.5e-13)
        np.testing.assert_allclose(u, ref, rtol=1e-12, atol=5e-12)
    # ∂E/∂τ_q = B_q (the effective-mass ratio jets use the same B_q).
    d = 1e-4
    B = effective_mass_fields(functional, n_n, n_p)
    dE = (energy_density(functional, n_n, n_p, t_n + d, t_p, zero, zero)
          - energy_density(functional, n_n, n_p, t_n - d, t_p, zero, zero)) / (2 * d)
    # ℰ is linear in τ_q: the central difference is exact but for round-off of ℰ over 2d,
    # ~1e-10 MeV fm² against B ≈ 20 MeV fm² (measured 1e-12 relative)
    np.testing.assert_allclose(dE, B[0], rtol=1e-9, atol=0)


@pytest.mark.parametrize("functional", ["BSk24", "BSk26", "SLy4"])
@pytest.mark.parametrize("q", ["n", "p"])
def test_mean_field_is_functional_derivative(functional, q):
    """∫ U_q δn_q d³r = dE/dε for n_q → n_q + ε δn_q at fixed τ, J (radial, δn a Gaussian)."""
    R = 20.46
    r, w = radial_grid(R, 8000)
    neu = OnsiProfile(0.0238, 0.0787, 7.94, 1.058, R)
    pro = OnsiProfile(1e-4, 0.0229, 7.35, 0.594, R)
    nn, np_ = neu.density_jet(r), pro.density_jet(r)
    tau_n = kinetic_density_fermi_gas(nn[0]) * (1 + 0.1 * np.sin(r))
    tau_p = kinetic_density_fermi_gas(np_[0]) * (1 + 0.1 * np.cos(r))
    J_n = 1e-3 * np.exp(-((r - 8) / 2) ** 2)
    J_p = 5e-4 * np.exp(-((r - 7) / 1.5) ** 2)
    # δn = exp(-((r−r0)/s)²) with its derivatives (jet).
    r0, s = 7.5, 1.2
    x = (r - r0) / s
    g = np.exp(-x * x)
    dn = np.array([g, -2 * x * g / s, (4 * x * x - 2) * g / s**2, 0 * g, 0 * g])

    def energy(eps):
        a, b = (nn + eps * dn, np_) if q == "n" else (nn, np_ + eps * dn)
        e = energy_density(functional, a[0], b[0], tau_n, tau_p, a[1][None], b[1][None],
                           J_n[None], J_p[None])
        return np.sum(e * w)

    eps = 1e-6
    dE = (energy(eps) - energy(-eps)) / (2 * eps)
    lap_n, lap_p = nn[2] + 2 * nn[1] / r, np_[2] + 2 * np_[1] / r
    divJ_n = np.gradient(J_n, r) + 2 * J_n / r
    divJ_p = np.gradient(J_p, r) + 2 * J_p / r
    U = mean_field(functional, q, nn[0], np_[0], tau_n, tau_p, nn[1][None], np_[1][None],
                   lap_n, lap_p, divJ_n, divJ_p)
    assert np.sum(U * dn[0] * w) == pytest.approx(dE, rel=1e-5)
