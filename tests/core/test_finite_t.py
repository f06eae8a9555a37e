"""Finite temperature: BCS gap, Yosida functions, ρ̂(T) and Landau velocities.

Checks against analytic limits of weak-coupling BCS (Ginzburg–Landau and
low-temperature asymptotics), the analytic gapless T = 0 Yosida function, the
T = 0 closed form, decoupling of a normal species, Leggett's single-species
result, and an independent self-consistent solution of the current equations of
``docs/physics/core-entrainment.md`` built from the functional's current fields.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from crustsolve.constants import HBAR2_2MBAR, HBARC, M_N_C2, M_P_C2
from crustsolve.core import (GAP_TO_TC, bcs_gap_ratio, bcs_gap_with_superflow, core_entrainment,
                             critical_temperature,
                             entrainment_matrix_finite_t, entrainment_matrix_t0,
                             gap_at_temperature, generalised_yosida, landau_velocity, yosida,
                             zero_temperature_gap)
from crustsolve.errors import InputError
from crustsolve.functional import effective_mass_fields, fermi_wavenumber, get_functional

M = 0.5 * (M_N_C2 + M_P_C2)
ZETA3 = 1.2020569031595942


# ------------------------------------------------------------------------------- BCS gap
def test_gap_to_tc_ratio():
    assert GAP_TO_TC == pytest.approx(1.7639, abs=1e-4)
    assert zero_temperature_gap(critical_temperature(1.3)) == pytest.approx(1.3)


def test_bcs_gap_ginzburg_landau_limit():
    """Δ(T) → π√(8/7ζ(3)) T_c √(1 − t) near T_c (e.g. Tinkham, eq. 3.54)."""
    for t in (0.999, 0.9999):
        want = math.pi * math.sqrt(8 / (7 * ZETA3)) / GAP_TO_TC * math.sqrt(1 - t)
        assert bcs_gap_ratio(t) == pytest.approx(want, rel=2e-3)


def test_bcs_gap_low_temperature_limit():
    """Δ₀ − Δ(T) → √(2πΔ₀T) e^{−Δ₀/T} for T ≪ T_c (standard BCS asymptotics)."""
    for t in (0.15, 0.2):
        theta = t / GAP_TO_TC
        want = math.sqrt(2 * math.pi * theta) * math.exp(-1 / theta)
        assert 1 - bcs_gap_ratio(t) == pytest.approx(want, rel=0.15)
    # exact by construction: t = 0 and t ≥ 1 are returned by explicit branches
    assert bcs_gap_ratio(0.0) == 1.0 and bcs_gap_ratio(1.0) == 0.0 and bcs_gap_ratio(2.0) == 0.0


@pytest.mark.parametrize("t,ratio,y", [(0.3, 0.99712, 0.01824), (0.5, 0.95688, 0.16596),
                                       (0.7, 0.82877, 0.44629), (0.9, 0.52634, 0.80405)])
def test_bcs_table(t, ratio, y):
    """Independent computation made outside this package (5 digits)."""
    assert bcs_gap_ratio(t) == pytest.approx(ratio, abs=1e-5)
    assert yosida(t, ratio * GAP_TO_TC) == pytest.approx(y, abs=1e-5)


def test_gap_with_superflow():
    """Doppler-shifted gap equation: unchanged below the Landau velocity at T = 0, gapless
    regime up to w = (e/2)Δ₀ where Δ vanishes; zero flow gives the BCS Δ(T)."""
    from scipy.integrate import quad

    # exact by construction: below w = Δ₀ the T = 0 right-hand side is exactly 0 at Δ = Δ₀,
    # and past (e/2)Δ₀ no root is found and 0.0 is returned
    assert bcs_gap_with_superflow(0.0, 0.8) == 1.0
    assert bcs_gap_with_superflow(0.0, 1.001 * math.e / 2) == 0.0
    # just below w = (e/2)Δ₀: expanding the T = 0 equation in (Δ/w)² gives
    # Δ² = 4w²ε (1 − ε/2 + …), ε = 1 − ln(2w); the next-order term is ε/4 = 2.5e-4 in Δ here
    w = 0.999 * math.e / 2
    eps = 1.0 - math.log(2.0 * w)
    assert bcs_gap_with_superflow(0.0, w) == pytest.approx(2.0 * w * math.sqrt(eps), rel=1e-3)
    assert bcs_gap_with_superflow(0.4, 1e-6) == pytest.approx(bcs_gap_ratio(0.4), rel=1e-9)
    for w in (1.1, 1.25, 1.33):
        d = bcs_gap_with_superflow(0.0, w)
        # T = 0 gap equation by direct quadrature: ln(1/Δ) = ∫dξ/E ∫dμ Θ(−E − wμ)
        rhs, _ = quad(lambda xi: (1 - math.hypot(xi, d) / w) / math.hypot(xi, d), 0.0,
                      math.sqrt(w * w - d * d), epsrel=1e-12)
        assert math.log(1 / d) == pytest.approx(rhs, rel=1e-8)
        # the finite-T quadrature route agrees with the T = 0 closed form as T → 0
        assert bcs_gap_with_superflow(1e-3, w) == pytest.approx(d, rel=1e-4)
    # thermal and flow pair breaking add up: smaller gap at T > 0 for the same flow
    assert bcs_gap_with_superflow(0.3, 1.1) < bcs_gap_with_superflow(0.0, 1.1)


# ------------------------------------------------------------------------------- Yosida
def test_yosida_limits():
    # exact by construction: Δ = 0 and T = 0 are explicit branches
    assert yosida(0.5, 0.0) == 1.0 and yosida(0.0, 1.0) == 0.0
    # low T: Y ≈ √(2πΔ/T) e^{−Δ/T}
    for d_over_t in (15.0, 25.0):
        want = math.sqrt(2 * math.pi * d_over_t) * math.exp(-d_over_t)
        assert yosida(1.0, d_over_t) == pytest.approx(want, rel=0.05)
    # near T_c with the BCS gap: 1 − Y ≈ 2(1 − t) (superfluid fraction of BCS)
    t = 0.999
    assert 1 - yosida(t, bcs_gap_ratio(t) * GAP_TO_TC) == pytest.approx(2 * (1 - t), rel=5e-3)
    # Δ ≪ T: 1 − Y ≈ 7ζ(3)Δ²/(4π²T²)
    assert 1 - yosida(1.0, 0.01) == pytest.approx(7 * ZETA3 * 1e-4 / (4 * math.pi**2), rel=1e-3)


def test_generalised_yosida_limits():
    gap = 1.0
    # no superflow: the ordinary Yosida function
    for T in (0.2, 0.5):
        assert generalised_yosida(T, gap, 1e-4) == pytest.approx(yosida(T, gap), rel=1e-5)
    # T → 0: the analytic gapless form [1 − (Δ/w)²]^{3/2} Θ(w − Δ)
    for w in (0.5, 1.3, 2.0):
        exact = (1 - (gap / w) ** 2) ** 1.5 if w > gap else 0.0
        assert generalised_yosida(0.0, gap, w) == pytest.approx(exact)
        assert generalised_yosida(0.005, gap, w) == pytest.approx(exact, abs=5e-3)
    # normal Fermi liquid (Δ = 0): 𝒴 = 1 whatever the flow
    assert generalised_yosida(0.3, 0.0, 0.7) == pytest.approx(1.0, rel=1e-8)
    # even in the flow (exact: only |w| enters the computation)
    assert generalised_yosida(0.3, gap, -0.7) == generalised_yosida(0.3, gap, 0.7)


def test_landau_velocity_and_gapless_onset():
    k_f = 1.652
    assert landau_velocity(1.0, k_f) == pytest.approx(1 / (HBARC * k_f))
    v_l = landau_velocity(0.8, k_f)
    w = HBARC * k_f * v_l  # Doppler energy at the Landau velocity equals Δ
    assert w == pytest.approx(0.8)
    assert generalised_yosida(0.0, 0.8, 0.999 * w) == 0.0   # exact: the Θ(w − Δ) branch
    # just above: the gapless form [1 − (Δ/w)²]^{3/2}; the cancellation in 1 − (Δ/w)² ≈ 0.02
    # costs a factor 50 of round-off, far below 1e-12
    assert generalised_yosida(0.0, 0.8, 1.01 * w) == pytest.approx(
        (1.0 - (0.8 / (1.01 * w)) ** 2) ** 1.5, rel=1e-12)


# --------------------------------------------------------------------------- ρ̂(T) matrix
@pytest.mark.parametrize("name", ["BSk24", "SLy4", "BSk26"])
@pytest.mark.parametrize("masses", ["common", "bare"])
def test_finite_t_matrix_reduces_to_t0(name, masses):
    n_n, n_p = 0.15, 0.01
    a0 = entrainment_matrix_t0(name, n_n, n_p, masses=masses).as_array()
    np.testing.assert_allclose(entrainment_matrix_finite_t(name, n_n, n_p, 0, 0, masses=masses)
                               .as_array(), a0, rtol=1e-12, atol=1e-14)
    # T → 0 through the BCS gap and the Yosida function
    tc = 0.1
    T = 0.02 * tc
    y = yosida(T, gap_at_temperature(T, zero_temperature_gap(tc)))
    np.testing.assert_allclose(entrainment_matrix_finite_t(name, n_n, n_p, y, y, masses=masses)
                               .as_array(), a0, rtol=1e-12)


@pytest.mark.parametrize("y_n,y_p", [(0.2, 0.7), (0.9, 0.05), (0.5, 0.5)])
def test_finite_t_matrix_symmetric_and_positive(y_n, y_p):
    mat = entrainment_matrix_finite_t("BSk24", 0.3, 0.03, y_n, y_p)
    a = entrainment_matrix_finite_t("BSk24", 0.3, 0.03, y_n, y_p, masses="bare").as_array()
    assert a[0, 1] == pytest.approx(a[1, 0], rel=1e-12)
    assert mat.rho_nn > 0 and mat.rho_pp > 0 and mat.det > 0
    # thermal excitations reduce every element in magnitude relative to T = 0
    a0 = entrainment_matrix_t0("BSk24", 0.3, 0.03).as_array()
    assert np.all(np.abs(mat.as_array()) <= np.abs(a0))


def test_normal_species_decouples():
    # The zeros come out of 2×2 products of elements of size M n ≈ 190 MeV fm⁻³ (ρ_np is the
    # average of two such products, −3.4e-16 on some BLAS builds): allow 1e-13 M n, ~100 ulp.
    zero = pytest.approx(0.0, abs=1e-13 * M * 0.2)
    mat = entrainment_matrix_finite_t("BSk24", 0.2, 0.02, 0.3, 1.0)
    assert mat.rho_pp == zero and mat.rho_np == zero and mat.rho_nn > 0
    mat = entrainment_matrix_finite_t("BSk24", 0.2, 0.02, 1.0, 0.3)
    assert mat.rho_nn == zero and mat.rho_np == zero and mat.rho_pp > 0


@pytest.mark.parametrize("Y", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_single_species_reduces_to_leggett(Y):
    """ρ_s/ρ = (1 − Y)/(1 − Y + (m⊕/m) Y) (Leggett, Phys. Rev. 140, A1869 (1965))."""
    name, n = "BSk24", 0.16
    mat = entrainment_matrix_finite_t(name, n, 0.0, Y, 0.3)
    # masses="common": m⊕ is built on m = (M_n+M_p)/2, ħ²/2m⊕ = ħ²/2m + C₊ n (pure neutrons)
    c_plus_n = float(effective_mass_fields(name, n, 0.0)[0]) - get_functional(name).hbar2_2m_n
    mplus_over_m = HBAR2_2MBAR / (HBAR2_2MBAR + c_plus_n)
    want = (1 - Y) / (1 - Y + mplus_over_m * Y)
    assert mat.rho_nn / (M * n) == pytest.approx(want, rel=1e-12, abs=1e-15)


def test_two_decoupled_species_are_each_leggett():
    """With C₋ ≡ 0 both species follow Leggett's formula with their own m_q⊕."""
    f = dataclasses.replace(get_functional("SLy4"), name="noCminus", t2=0.0, t2x2=0.0, x1=-2.0)
    n_n, n_p, y_n, y_p = 0.25, 0.03, 0.4, 0.6
    mat = entrainment_matrix_finite_t(f, n_n, n_p, y_n, y_p)
    b_n, b_p = effective_mass_fields(f, n_n, n_p)
    h = get_functional("SLy4").hbar2_2m_n
    for rho_qq, nq, yq, bq in ((mat.rho_nn, n_n, y_n, b_n), (mat.rho_pp, n_p, y_p, b_p)):
        r = h / float(bq)
        assert rho_qq / (M * nq) == pytest.approx((1 - yq) / (1 - yq + r * yq), rel=1e-12)
    # C₋ = 0 leaves ρ_np at round-off of products of size M n ≈ 260 MeV fm⁻³ (see above)
    assert mat.rho_np == pytest.approx(0.0, abs=1e-13 * M * (n_n + n_p))


@pytest.mark.parametrize("y_n,y_p", [(0.0, 0.0), (0.3, 0.6), (0.8, 0.1), (0.0, 1.0)])
def test_matrix_formula_equals_self_consistent_currents(y_n, y_p, matrix_by_iteration):
    name, n_n, n_p = "SLy4", 0.28, 0.02
    mat = entrainment_matrix_finite_t(name, n_n, n_p, y_n, y_p)
    np.testing.assert_allclose(mat.as_array(), matrix_by_iteration(name, n_n, n_p, y_n, y_p),
                               rtol=1e-9, atol=1e-12)


def test_bsk24_finite_t_reference_example():
    """Independent computation made outside this package: BSk24 β-eq. 0.16 fm⁻³, neutrons at
    T = 0, protons at T/T_cp = 0.5 (𝒴_p = 0.16596)."""
    tc_p = 0.1
    pt = core_entrainment("BSk24", 0.16, temperature=0.5 * tc_p, tc_p=tc_p, gap_n=1e3)
    r = pt.as_record()
    assert r["Y_p"] == pytest.approx(0.16596, abs=1e-5) and r["Y_n"] < 1e-100
    assert r["rhoT_nn_over_rho"] == pytest.approx(0.969477, abs=2e-6)
    assert r["rhoT_np_over_rho"] == pytest.approx(-0.015705, abs=2e-6)
    assert r["rhoT_pp_over_rho"] == pytest.approx(0.056155, abs=2e-6)
    assert r["gap_p"] == pytest.approx(0.95688 * zero_temperature_gap(tc_p), rel=1e-5)
    k_fp = float(fermi_wavenumber(pt.matter.n_p))
    assert r["VL_p"] == pytest.approx(r["gap_p"] / (HBARC * k_fp))


def test_finite_t_bad_inputs():
    with pytest.raises(InputError, match="temperature"):
        yosida(-1.0, 1.0)
    with pytest.raises(InputError, match="gap"):
        gap_at_temperature(0.1, -1.0)
    with pytest.raises(InputError, match="yosida_p"):
        entrainment_matrix_finite_t("BSk24", 0.1, 0.01, 0.0, 1.5)
    with pytest.raises(InputError, match="T/Tc"):
        bcs_gap_ratio(-0.1)
