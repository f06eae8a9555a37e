"""Stencil coefficients (``docs/numerics.md``, "Stencils"): known values, generality, order."""
from __future__ import annotations

import numpy as np
import pytest

from crustsolve.bands import stencils
from crustsolve.bands.reference import vandermonde_weights
from crustsolve.errors import InputError

ORDERS = (2, 4, 6, 8)


def test_known_second_and_fourth_order_values():
    offs, a = stencils.staggered_derivative(2)
    assert offs.tolist() == [0, 1]
    np.testing.assert_allclose(a, [-1.0, 1.0], atol=1e-15)
    offs, a = stencils.staggered_derivative(4)
    assert offs.tolist() == [-1, 0, 1, 2]
    # (f_{j-1} - 27 f_j + 27 f_{j+1} - f_{j+2}) / 24h, the standard 4th-order staggered derivative
    np.testing.assert_allclose(a, np.array([1, -27, 27, -1]) / 24, atol=1e-15)
    np.testing.assert_allclose(stencils.half_point_interpolation(2)[1], [0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(stencils.half_point_interpolation(4)[1],
                               np.array([-1, 9, 9, -1]) / 16, atol=1e-15)
    np.testing.assert_allclose(stencils.centred_derivative(2)[1], [-0.5, 0, 0.5], atol=1e-15)
    np.testing.assert_allclose(stencils.centred_derivative(4)[1],
                               np.array([1, -8, 0, 8, -1]) / 12, atol=1e-15)


@pytest.mark.parametrize("order", (2, 4, 6, 8, 10, 12))
def test_fornberg_matches_independent_vandermonde_solve(order):
    offs, a = stencils.staggered_derivative(order)
    np.testing.assert_allclose(a, vandermonde_weights(offs - 0.5, 1), rtol=1e-9, atol=1e-12)
    _, w = stencils.half_point_interpolation(order)
    np.testing.assert_allclose(w, vandermonde_weights(offs - 0.5, 0), rtol=1e-9, atol=1e-12)
    # symmetry: D⁺ antisymmetric about the half point, P symmetric, P sums to one
    np.testing.assert_allclose(a, -a[::-1], atol=1e-14)
    np.testing.assert_allclose(w, w[::-1], atol=1e-14)
    assert abs(w.sum() - 1) < 1e-14 and abs(a.sum()) < 1e-13


@pytest.mark.parametrize("order", ORDERS)
def test_symbol_order_of_accuracy(order):
    """σ(θ) - θ ∝ θ^{p+1} and π(θ) - 1 ∝ θ^p: the measured slope is the stencil order."""
    th = np.array([0.4, 0.2, 0.1])
    e_d = np.abs(stencils.derivative_symbol(order, th) - th) / th
    e_p = np.abs(stencils.interpolation_symbol(order, th) - 1)
    slope_d = np.polyfit(np.log(th), np.log(e_d), 1)[0]
    slope_p = np.polyfit(np.log(th), np.log(e_p), 1)[0]
    # measured within 0.03 below the order (next term θ² smaller); none above it
    assert slope_d == pytest.approx(order, abs=0.1) and slope_p == pytest.approx(order, abs=0.1), \
        (slope_d, slope_p)


@pytest.mark.parametrize("order", ORDERS)
def test_staggered_symbol_has_no_nyquist_zero(order):
    """D⁺'s symbol vanishes only at θ = 0 (unlike the centred derivative at θ = π)."""
    th = np.linspace(1e-3, 2 * np.pi - 1e-3, 2001)
    sig = np.abs(stencils.derivative_symbol(order, np.minimum(th, 2 * np.pi - th)))
    # the smallest |σ| on the grid is at its ends, σ(θ) = θ(1 + O(θ²)) with θ = 1e-3: no zero
    # anywhere else
    assert sig.min() == pytest.approx(1e-3, rel=1e-6)
    offs, c = stencils.centred_derivative(order)
    centred_at_pi = np.sum(c * np.sin(offs * np.pi))
    assert abs(centred_at_pi) < 1e-12


@pytest.mark.parametrize("order", ORDERS)
def test_fd_dispersion_converges_to_free_gas(order):
    B, q = 20.0, np.array([1.1, -0.4, 0.7])
    hs = np.array([0.5, 0.25, 0.125])
    err = np.abs([stencils.fd_dispersion(q, h, order, B) - B * q @ q for h in hs])
    slope = np.polyfit(np.log(hs), np.log(err), 1)[0]
    # measured 0.01–0.04 below the order (pre-asymptotic at h = 0.5 fm)
    assert slope == pytest.approx(order, abs=0.3), slope


@pytest.mark.parametrize("bad", (0, 1, 3, 18, 2.5, "four", None))
def test_bad_order_is_input_error(bad):
    with pytest.raises(InputError, match="order"):
        stencils.staggered_derivative(bad)
