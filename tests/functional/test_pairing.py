"""Neutron pairing of the BSk functionals (crustsolve.functional.pairing).

Independent routes: the contact strength comes from the weak-coupling closed form of the gap
equation; the test solves the uniform-matter gap equation with that strength by quadrature
(no weak-coupling step) and must find the reference gap again, to within the weak-coupling
error, which shrinks with Δ/μ. The asymmetric interpolation is checked in its two limits
against the curves evaluated from their published fit form written out here.
"""
import math

import numpy as np
import pytest

from crustsolve.errors import InputError
from crustsolve.functional import effective_mass_fields
from crustsolve.functional import pairing as P


def _fit(kf, d0, k1, k2, k3):
    """The fit form of the reference curves, written out independently of the module."""
    if kf >= k2:
        return 0.0
    return d0 * kf**2 / (kf**2 + k1**2) * (kf - k2)**2 / ((kf - k2)**2 + k3**2)


@pytest.mark.parametrize("n_n", [0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.07])
def test_strength_reproduces_the_reference_gap_by_quadrature(n_n):
    B, _ = effective_mass_fields("BSk24", n_n, 0.0)
    gap = float(P.reference_gap("BSk24", n_n, 0.0))
    v = float(P.pairing_strength("BSk24", n_n, 0.0))
    mu = float(B) * (3 * math.pi**2 * n_n) ** (2 / 3)
    solved = P.uniform_gap(v, float(B), n_n, 16.0)
    # weak coupling: the closed form drops terms that vanish with Δ/μ (measured ≤ 6 % of Δ/μ
    # here, down to 4e-4 relative at n_n = 0.07 where Δ/μ ≈ 0.01)
    assert solved == pytest.approx(gap, rel=0.06 * gap / mu + 1e-6)
    assert v < 0


def test_strength_is_zero_where_the_gap_vanishes():
    # k_F above the neutron-matter curve's end (1.38 fm^-1): no pairing, v = 0, Δ = 0
    n = 1.45**3 / (3 * math.pi**2)
    assert float(P.reference_gap("BSk24", n, 0.0)) == 0.0          # exact zero by definition
    assert float(P.pairing_strength("BSk24", n, 0.0)) == 0.0
    assert P.uniform_gap(0.0, 20.0, n, 16.0) == 0.0


def test_interpolation_limits():
    for kf in (0.3, 0.6, 0.8, 1.1):
        n = kf**3 / (3 * math.pi**2)
        # pure neutron matter: the neutron-matter curve at k_Fn
        assert float(P.reference_gap("BSk24", n, 0.0)) == pytest.approx(
            _fit(kf, 3.37968, 0.556092, 1.38236, 0.327517), rel=1e-12)
        # symmetric matter: the symmetric-matter curve at the k_F of one species
        assert float(P.reference_gap("BSk24", n, n)) == pytest.approx(
            _fit(kf, 11.5586, 0.489932, 1.3142, 0.906146), rel=1e-12)
    # in between, eta = 1/2: Δ_SM(n)/2 + Δ_NeuM(n_n) · (1/2)(3/4)
    n_n, n_p = 0.03, 0.01
    kf_sm = (3 * math.pi**2 * 0.02) ** (1 / 3)
    kf_n = (3 * math.pi**2 * n_n) ** (1 / 3)
    want = (0.5 * _fit(kf_sm, 11.5586, 0.489932, 1.3142, 0.906146)
            + 0.375 * _fit(kf_n, 3.37968, 0.556092, 1.38236, 0.327517))
    assert float(P.reference_gap("BSk24", n_n, n_p)) == pytest.approx(want, rel=1e-12)


def test_curve_maxima():
    """Where the reference curves peak (the fit parameters' published shape): neutron matter
    1.73 MeV at k_F ≈ 0.80 fm⁻¹, symmetric matter 2.68 MeV at k_F ≈ 0.56 fm⁻¹."""
    pp = P.functional_pairing("BSk24")
    kf, d = pp.neutron_matter.maximum()
    assert kf == pytest.approx(0.798, abs=2e-3) and d == pytest.approx(1.731, abs=2e-3)
    kf, d = pp.symmetric_matter.maximum()
    assert kf == pytest.approx(0.558, abs=2e-3) and d == pytest.approx(2.680, abs=2e-3)


def test_functionals_without_pairing_are_refused_with_the_reason():
    with pytest.raises(InputError, match=r"'SLy4' has no built-in neutron pairing; functionals "
                                         r"with one: BSk22, BSk24, BSk25, BSk26; use \[pairing\]"):
        P.reference_gap("SLy4", 0.01, 0.0)
    with pytest.raises(InputError, match=r"BSk31.*density-gradient pairing term"):
        P.lda_pair_field("BSk31", 0.01, 0.0)
    with pytest.raises(InputError, match=r"n_n must be finite and >= 0"):
        P.lda_pair_field("BSk24", np.array([0.01, -0.01]), 0.0)


def test_lda_pair_field_of_a_layer():
    """The layer's pair field: the neutron-gas value far from the clusters (n_p = 0 there),
    and much smaller inside the clusters (n_n ≈ 0.1 fm⁻³, where the curves nearly vanish)."""
    from crustsolve.crust import build_fields, minimise_layer

    layer = minimise_layer("BSk24", 0.03, 40.0)
    lf = build_fields(layer, points=12, pairing="functional")
    d = lf.fields.Delta
    n_n, n_p = lf.densities["n_n"], lf.densities["n_p"]
    np.testing.assert_allclose(d, P.reference_gap("BSk24", n_n, n_p), rtol=1e-13)
    kf_gas = (3 * math.pi**2 * layer.neutron.n_B) ** (1 / 3)
    gas = _fit(kf_gas, 3.37968, 0.556092, 1.38236, 0.327517)
    assert d.max() == pytest.approx(gas, rel=0.02)
    assert d.min() < 0.1 * gas
    assert "LDA pair field of BSk24" in lf.fields.provenance["pairing"]
