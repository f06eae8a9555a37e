"""Core stage at T = 0: β-equilibrium and the n–p entrainment matrix with its parametrisations.

Expected values are identities (Galilean sum rules, determinants, conversions between
parametrisations), independent routes through the functional (C₋ form, Landau masses,
current fields), a published composition fit (Pearson et al. 2018) and an independent
computation made outside this package (``docs/physics/core-entrainment.md``, "Checks in the
test suite").
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crustsolve.constants import (HBAR2_2MBAR, HBAR2_2MN, HBAR2_2MP, HBARC, M_E_C2, M_MU_C2,
                                  M_N_C2, M_P_C2)
from crustsolve.core import (beta_equilibrium, core_entrainment, entrainment_matrix_finite_t,
                             entrainment_matrix_t0, lepton_chemical_potential, muon_onset_density,
                             parametrisations, transport_velocities, upsilon)
from crustsolve.errors import InputError
from crustsolve.functional import (available_functionals, chemical_potentials, couplings,
                                   current_fields, effective_mass_fields, get_functional)

M = 0.5 * (M_N_C2 + M_P_C2)
STATES = [(0.08, 0.033), (0.16, 0.048), (0.5, 0.156), (0.9, 0.3), (0.3, 0.5)]


def _matter(n, y):
    return n * (1 - y), n * y


# --------------------------------------------------------------------------- β-equilibrium
@pytest.mark.parametrize("name", available_functionals())
@pytest.mark.parametrize("n", [0.06, 0.16, 0.4, 1.0])
def test_beta_equilibrium_residual_and_neutrality(name, n):
    b = beta_equilibrium(name, n)
    mu_n, mu_p = chemical_potentials(name, b.n_n, b.n_p)
    mu_e = float(lepton_chemical_potential(b.n_e, M_E_C2))
    assert abs(float(mu_n - mu_p) - mu_e) < 1e-9
    assert abs(b.residual) < 1e-9
    assert b.n_p == pytest.approx(b.n_e + b.n_mu, rel=1e-14)
    assert b.n_n + b.n_p == pytest.approx(n, rel=1e-14)
    if b.n_mu > 0:  # muons share the electron chemical potential
        assert float(lepton_chemical_potential(b.n_mu, M_MU_C2)) == pytest.approx(mu_e, rel=1e-10)


# Pearson et al., MNRAS 481, 2994 (2018), eq. (C17) with Table C7: Y_e(n) fits of their
# BSk22/24/25/26 EoS (transcribed in RoqueMR/repository_phd_roque eos/bsk/parameters_bsk.yaml).
PEARSON_C7 = {
    "BSk22": (-0.0024, 0.456, 12.349, 16.15, 48.72, 0.311, 3.674),
    "BSk24": (0.0021, 0.581, 9.874, 16.20, 39.20, -0.148, 4.0),
    "BSk25": (0.0164, 0.410, 4.471, 3.89, 17.64, -0.517, 4.0),
    "BSk26": (-0.0064, 0.690, 0.6074, 28.11, 2.455, 0.344, 4.6),
}


@pytest.mark.parametrize("name", sorted(PEARSON_C7))
def test_proton_fraction_matches_pearson_2018_fit(name):
    """β-equilibrium y_p vs the published composition fits (Pearson et al. 2018, eq. C17).

    Their EoS includes electron exchange (App. B), neglected here, and the fits have
    errors of order 1 % (largest for BSk25 at low density); muons follow from μ_μ = μ_e.
    """
    p1, p2, p3, p4, p5, p6, p7 = PEARSON_C7[name]
    tol = 0.01 if name == "BSk24" else 0.02
    for n in (0.08, 0.12, 0.16, 0.3, 0.5, 0.8, 1.0):
        y_e = (p1 + p2 * n + p6 * n**1.5 + p3 * n**p7) / (1 + p4 * n**1.5 + p5 * n**p7)
        mu_e = float(lepton_chemical_potential(y_e * n, M_E_C2))
        n_mu = max(mu_e**2 - M_MU_C2**2, 0.0) ** 1.5 / (3 * np.pi**2 * HBARC**3)
        y_fit = y_e + n_mu / n
        assert beta_equilibrium(name, n).proton_fraction == pytest.approx(y_fit, rel=tol)


def test_muon_onset():
    n_mu = muon_onset_density("BSk24")
    # exact by construction: below the onset n_μ is max(μ_e² − m_μ², 0)^{3/2} = 0
    assert beta_equilibrium("BSk24", 0.99 * n_mu).n_mu == 0.0
    assert beta_equilibrium("BSk24", 1.01 * n_mu).n_mu > 0.0
    assert beta_equilibrium("BSk24", n_mu, muons=False).mu_e == pytest.approx(M_MU_C2, rel=1e-8)
    assert beta_equilibrium("BSk24", 0.3, muons=False).muon_fraction == 0.0   # n_μ set to 0


# --------------------------------------------------------------------------- T = 0 matrix
@pytest.mark.parametrize("name", available_functionals())
@pytest.mark.parametrize("n,y", STATES)
def test_galilean_sum_rules_symmetry_determinant(name, n, y):
    n_n, n_p = _matter(n, y)
    mat = entrainment_matrix_t0(name, n_n, n_p)
    a = mat.as_array()
    assert np.array_equal(a, a.T)   # exact: one stored ρ_np fills both off-diagonal slots
    assert mat.rho_nn + mat.rho_np == pytest.approx(M * n_n, rel=1e-13)
    assert mat.rho_pp + mat.rho_pn == pytest.approx(M * n_p, rel=1e-13)
    assert mat.det == pytest.approx(M**2 * n_n * n_p * mat.upsilon, rel=1e-10)
    assert np.linalg.det(a) == pytest.approx(M**2 * n_n * n_p * upsilon(name, n), rel=1e-10)


@pytest.mark.parametrize("name", available_functionals())
@pytest.mark.parametrize("n,y", STATES)
def test_closed_form_equals_c_minus_form_and_landau_masses(name, n, y):
    """ρ_np = −(2m²/ħ²) C₋ n_n n_p; Υ from the two Landau masses."""
    n_n, n_p = _matter(n, y)
    mat = entrainment_matrix_t0(name, n_n, n_p)
    c_minus = float(couplings(name, n).C_minus)
    assert mat.rho_np == pytest.approx(-M * c_minus * n_n * n_p / HBAR2_2MBAR, rel=1e-12)
    # Υ = (n_n m/m_p⊕ − n_p m/m_n⊕)/(n_n − n_p), Landau masses with a common kinetic mass
    c = couplings(name, n)
    b_n = HBAR2_2MBAR + c.C_plus * n_n + c.C_minus * n_p
    b_p = HBAR2_2MBAR + c.C_plus * n_p + c.C_minus * n_n
    if abs(n_n - n_p) > 1e-3:
        ups = (n_n * b_p - n_p * b_n) / HBAR2_2MBAR / (n_n - n_p)
        assert mat.upsilon == pytest.approx(float(ups), rel=1e-12)


@pytest.mark.parametrize("name", available_functionals())
@pytest.mark.parametrize("n,y", STATES)
def test_parametrisation_identities(name, n, y):
    n_n, n_p = _matter(n, y)
    mat = entrainment_matrix_t0(name, n_n, n_p)
    q = parametrisations(mat)
    ups, x_n, x_p = mat.upsilon, n_n / n, n_p / n
    # identities between parametrisations (docs/physics/core-entrainment.md, "Parametrisations")
    assert mat.rho_n * q.eps_n == pytest.approx(mat.rho_p * q.eps_p, rel=1e-12)
    assert -mat.rho_pn / mat.rho_pp == pytest.approx(q.eps_p / (1 - q.eps_n), rel=1e-12)
    assert n_n * (M - M * q.dynamical_mass_n) == pytest.approx(n_p * (M - M * q.dynamical_mass_p),
                                                                rel=1e-12)
    # Skyrme closed forms
    assert q.eps_n == pytest.approx((ups - 1) * x_p / ups, rel=1e-12)
    assert q.eps_p == pytest.approx((ups - 1) * x_n / ups, rel=1e-12)
    assert q.dynamical_mass_n == pytest.approx((1 + (ups - 1) * x_n) / ups, rel=1e-12)
    assert q.dynamical_mass_p == pytest.approx((1 + (ups - 1) * x_p) / ups, rel=1e-12)
    assert q.momentum_frame_mass_n == pytest.approx(1 / (1 + (ups - 1) * x_p), rel=1e-12)
    assert q.momentum_frame_mass_p == pytest.approx(1 / (1 + (ups - 1) * x_n), rel=1e-12)
    assert 2 * q.alpha == pytest.approx(-mat.rho_np / ups, rel=1e-12)
    assert 2 * q.alpha == pytest.approx(q.eps_n * mat.rho_n, rel=1e-12)
    # vortex flux: |Φ*|/Φ₀ = ε_p/(1 − ε_n) = (Υ−1)x_n/(1 + (Υ−1)x_n), antiparallel for Υ > 1
    assert abs(q.flux_ratio) == pytest.approx(q.eps_p / (1 - q.eps_n), rel=1e-12)
    assert abs(q.flux_ratio) == pytest.approx((ups - 1) * x_n / (1 + (ups - 1) * x_n), rel=1e-12)
    assert q.flux_ratio < 0


@pytest.mark.parametrize("n,y", STATES[:4])
def test_carter_k_reproduces_momenta(n, y):
    """p_X = Σ_Y K^{XY} n_Y v_Y with p_n = m[v_n + ε_n(v_p − v_n)] (Prix's definition of ε)."""
    n_n, n_p = _matter(n, y)
    mat = entrainment_matrix_t0("BSk24", n_n, n_p)
    q = parametrisations(mat)
    k = np.array(q.carter_K)
    assert k[0, 1] == pytest.approx(k[1, 0], rel=1e-12)
    v_n, v_p = 0.3e-3, -0.7e-3
    p_n = M * (v_n + q.eps_n * (v_p - v_n))
    p_p = M * (v_p + q.eps_p * (v_n - v_p))
    np.testing.assert_allclose(k @ np.array([n_n * v_n, n_p * v_p]), [p_n, p_p], rtol=1e-10)


def test_transport_velocities_and_doppler_velocity():
    """v_q from ρ̂ equals V_q + (Υ−1)x_q′(V_q − V_q′) and the quasiparticle Doppler velocity
    𝕧_q = (m/m_q⊕)V_q + I_q/ħ built from the functional's current fields.

    SLy4 uses a common kinetic mass, so its m_q⊕ and the entrainment mass agree.
    """
    name, n, y = "SLy4", 0.3, 0.07
    n_n, n_p = _matter(n, y)
    mat = entrainment_matrix_t0(name, n_n, n_p)
    V_n, V_p = np.array([1e-3, -2e-3]), np.array([-5e-4, 3e-3])
    v_n, v_p = transport_velocities(mat, V_n, V_p)
    ups = mat.upsilon
    np.testing.assert_allclose(v_n, V_n + (ups - 1) * y * (V_n - V_p), rtol=1e-12)
    np.testing.assert_allclose(v_p, V_p + (ups - 1) * (1 - y) * (V_p - V_n), rtol=1e-12)
    # T = 0: j_q = n_q Q_q, Q_q = m V_q/ħ (fm⁻¹ for V in units of c)
    q_n, q_p = M * V_n / HBARC, M * V_p / HBARC
    i_n, i_p = current_fields(name, n_n, n_p, n_n * q_n, n_p * q_p)
    b_n, b_p = effective_mass_fields(name, n_n, n_p)
    np.testing.assert_allclose((2 * b_n * q_n + i_n) / HBARC, v_n, rtol=1e-10)
    np.testing.assert_allclose((2 * b_p * q_p + i_p) / HBARC, v_p, rtol=1e-10)


def test_no_entrainment_without_c_minus():
    """A functional with C₋ ≡ 0 (x₁ = −2, t₂ = t₂x₂ = 0) but C₊ ≠ 0 has no n–p entrainment."""
    f = dataclasses.replace(get_functional("SLy4"), name="SLy4-noCminus", t2=0.0, t2x2=0.0, x1=-2.0)
    c = couplings(f, 0.3)
    # With x₁ = −2, t₂ = t₂x₂ = 0 (and SLy4's t₄ = t₅ = 0): C^τ₀ = 3t₁/16 = −t₁(1 + 2x₁)/16 =
    # C^τ₁, so C₋ cancels two terms of size 91 MeV fm⁵ (zero to their round-off), C₊ = 6t₁/16
    assert float(c.C_minus) == pytest.approx(0.0, abs=1e-13 * abs(float(c.C0tau)))
    assert float(c.C_plus) == pytest.approx(6.0 * f.t1 / 16.0, rel=1e-12)
    mat = entrainment_matrix_t0(f, 0.27, 0.03)
    # ρ_np ∝ C₋ and Υ − 1 ∝ C₋: round-off of C₋ times M n_n n_p/(ħ²/2m) ≪ 1e-13 M n
    zero_rho = pytest.approx(0.0, abs=1e-13 * M * 0.3)
    assert mat.rho_np == zero_rho and mat.upsilon == pytest.approx(1.0, abs=1e-13)
    # without entrainment each species carries its own mass current (round-off only)
    assert mat.rho_nn == pytest.approx(M * 0.27, rel=1e-12)
    assert mat.rho_pp == pytest.approx(M * 0.03, rel=1e-12)
    q = parametrisations(mat)
    # ε_q and Φ*/Φ₀ are ratios ρ_np/ρ_qq of order 1 per unit ρ_np/(M n): zero to ~1e-13
    for value in (q.eps_n, q.eps_p, q.flux_ratio):
        assert value == pytest.approx(0.0, abs=1e-12)
    mat_b = entrainment_matrix_t0(f, 0.27, 0.03, masses="bare")
    assert mat_b.rho_np == zero_rho


@pytest.mark.parametrize("name", available_functionals())
def test_pure_neutron_matter_has_no_entrainment(name):
    for masses in ("common", "bare"):
        mat = entrainment_matrix_t0(name, 0.2, 0.0, masses=masses)
        # exact by construction: every term of ρ_np and ρ_pp carries the factor n_p = 0.0
        # (or 1 − η² = 0 with η = n_n/n_n = 1 exactly)
        assert mat.rho_np == 0.0 and mat.rho_pp == 0.0
        assert mat.rho_nn == pytest.approx(mat.m_n_c2 * 0.2, rel=1e-14)


@pytest.mark.parametrize("n,y", STATES[:4])
def test_unequal_masses_variant(n, y):
    """Bare-mass closed form = matrix formula at Y = 0; sum rule broken by (m_n − m_p)/m_p."""
    n_n, n_p = _matter(n, y)
    mat = entrainment_matrix_t0("BSk24", n_n, n_p, masses="bare")
    assert (mat.m_n_c2, mat.m_p_c2) == (M_N_C2, M_P_C2)
    ref = entrainment_matrix_finite_t("BSk24", n_n, n_p, 0.0, 0.0, masses="bare")
    np.testing.assert_allclose(mat.as_array(), ref.as_array(), rtol=1e-11)
    assert (mat.rho_nn + mat.rho_np - M_N_C2 * n_n) / mat.rho_np == pytest.approx(
        1.0 - HBAR2_2MP / HBAR2_2MN, rel=1e-9)
    # the size of that breaking: m_n/m_p = 1.00137841931 (CODATA 2018); the package's
    # masses are rounded to 1e-5 MeV, i.e. 1e-8 relative
    assert HBAR2_2MP / HBAR2_2MN == pytest.approx(1.00137841931, rel=2e-8)
    common = entrainment_matrix_t0("BSk24", n_n, n_p)
    assert mat.rho_np == pytest.approx(common.rho_np, rel=3e-3)


@pytest.mark.parametrize("n,yp,ups,rho_np,mstar_p,eps_n", [
    (0.08, 0.03348, 1.195, -0.00632, 0.8421, 0.0055),
    (0.16, 0.04847, 1.408, -0.01882, 0.7243, 0.0140),
    (0.50, 0.15637, 2.253, -0.16526, 0.5309, 0.0870),
    (1.00, 0.34139, 3.256, -0.50723, 0.5437, 0.2365),
])
def test_bsk24_against_reference_table(n, yp, ups, rho_np, mstar_p, eps_n):
    """Independent computation made outside this package (not a published table)."""
    r = core_entrainment("BSk24", n).as_record()
    assert r["y_p"] == pytest.approx(yp, abs=1e-5)
    assert r["Upsilon"] == pytest.approx(ups, abs=1e-3)
    assert r["rho_np_over_rho"] == pytest.approx(rho_np, abs=1e-5)
    assert r["mstar_p"] == pytest.approx(mstar_p, abs=1e-4)
    assert r["eps_n"] == pytest.approx(eps_n, abs=1e-4)


def test_core_entrainment_fixed_fraction_and_errors():
    r = core_entrainment("SLy4", 0.16, proton_fraction=0.1).as_record()
    assert r["y_p"] == 0.1 and np.isnan(r["y_e"])
    with pytest.raises(InputError, match="proton fraction"):
        core_entrainment("SLy4", 0.16, proton_fraction=-0.1)
    with pytest.raises(InputError, match="density"):
        core_entrainment("SLy4", 0.0)
    with pytest.raises(InputError, match="temperature"):
        core_entrainment("SLy4", 0.16, temperature=-1.0)
    with pytest.raises(InputError, match="gaps"):
        core_entrainment("SLy4", 0.16, temperature=0.1)
    with pytest.raises(InputError, match="not both"):
        core_entrainment("SLy4", 0.16, gap_n=1.0, tc_n=0.5)
    with pytest.raises(InputError, match="available functionals"):
        core_entrainment("Skyrme?", 0.16)
    with pytest.raises(InputError, match="masses"):
        entrainment_matrix_t0("BSk24", 0.1, 0.01, masses="heavy")
    with pytest.raises(InputError, match="neutron density"):
        entrainment_matrix_t0("BSk24", -0.1, 0.01)
