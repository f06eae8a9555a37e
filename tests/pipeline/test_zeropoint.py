"""Debye–Waller smearing and the zero-point self-consistency loop."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from crustsolve.constants import M_U_C2
from crustsolve.errors import ConvergenceError, InputError
from crustsolve.fft import FFT, pyfftw_available
from crustsolve.zeropoint import (debye_waller_smear, ion_plasma_energy, mean_square_displacement,
                                  zero_point_self_consistency)


def periodic_gaussian(n, a, sigma2, centre):
    """Sum over periodic images of a normalised isotropic Gaussian of variance sigma2 per axis."""
    x = np.arange(n) * a / n
    out = np.zeros((n, n, n))
    for sx in (-1, 0, 1):
        for sy in (-1, 0, 1):
            for sz in (-1, 0, 1):
                dx = x[:, None, None] - centre[0] + sx * a
                dy = x[None, :, None] - centre[1] + sy * a
                dz = x[None, None, :] - centre[2] + sz * a
                out += np.exp(-(dx**2 + dy**2 + dz**2) / (2 * sigma2))
    return out / (2 * np.pi * sigma2) ** 1.5


def test_smearing_equals_gaussian_convolution():
    n, a = 32, 20.0
    s2, msd = 1.5, 2.4                      # blob variance; ⟨δr²⟩ → convolution variance msd/3
    f = periodic_gaussian(n, a, s2, (10.0, 10.0, 10.0))
    expect = periodic_gaussian(n, a, s2 + msd / 3.0, (10.0, 10.0, 10.0))
    got = debye_waller_smear(f, a, msd)
    assert np.max(np.abs(got - expect)) < 1e-8 * np.max(expect)
    assert got.mean() == pytest.approx(f.mean(), rel=1e-13)   # G = 0 untouched


def test_single_bragg_component_and_identity():
    n, a, msd = 16, 12.0, 0.7
    x = np.arange(n) * a / n
    G = 2 * np.pi * 3 / a
    f = 5.0 + np.cos(G * x)[:, None, None] * np.ones((n, n, n))
    got = debye_waller_smear(f, a, msd)
    np.testing.assert_allclose(got, 5.0 + math.exp(-G**2 * msd / 6) * (f - 5.0), atol=1e-12)
    np.testing.assert_array_equal(debye_waller_smear(f, a, 0.0), f)


@pytest.mark.skipif(not pyfftw_available(), reason="pyfftw not installed")
def test_backends_agree():
    rng = np.random.default_rng(1)
    f = rng.standard_normal((12, 12, 12))
    a, msd = 10.0, 1.3
    np.testing.assert_allclose(debye_waller_smear(f, a, msd, FFT(f.shape, "pyfftw")),
                               debye_waller_smear(f, a, msd, FFT(f.shape, "numpy")), atol=1e-13)


def test_mean_square_displacement_formula():
    # Independent arithmetic in Gaussian units (cgs-like via ħc, e² = αħc):
    # ω² = 4π Z² e² n / m  →  (ħω)² = (ħc)² 4π Z² (αħc) n / (m c²)
    Z, n, m = 40.0, 2e-5, 1000.0 * M_U_C2
    hw = math.sqrt(197.3269804**2 * 4 * math.pi * Z**2 * (197.3269804 / 137.035999084) * n / m)
    assert ion_plasma_energy(Z, n, m) == pytest.approx(hw, rel=1e-12)
    msd = 3 * 197.3269804**2 * 2.79855 / (2 * m * hw)
    assert mean_square_displacement(Z, n, m) == pytest.approx(msd, rel=1e-12)
    # reference values computed by hand from the formula: 0.156 MeV and 1.13 fm²
    assert hw == pytest.approx(0.156, abs=5e-4) and msd == pytest.approx(1.13, abs=5e-3)
    # ⟨δr²⟩ ∝ (m*)^(-1/2)
    assert mean_square_displacement(Z, n, 4 * m) == pytest.approx(msd / 2, rel=1e-12)


def test_bad_inputs():
    with pytest.raises(InputError, match="fcc"):
        mean_square_displacement(40, 2e-5, 1e5, lattice="fcc")
    with pytest.raises(InputError, match="n_ion"):
        ion_plasma_energy(40, -1.0, 1e5)
    with pytest.raises(InputError, match="mean-square displacement"):
        debye_waller_smear(np.zeros((4, 4, 4)), 10.0, -1.0)


def test_self_consistency_reaches_the_fixed_point():
    Z, n_ion, m0 = 40.0, 2e-5, 1200.0 * M_U_C2
    # Model of the expensive step: smearing lowers the effective mass linearly in ⟨δr²⟩.
    def model(msd):
        return m0 * (1.0 - 0.2 * msd)
    steps = []
    res = zero_point_self_consistency(model, Z, n_ion, m0, rtol=1e-10, on_iteration=steps.append)
    exact = brentq(lambda m: m - model(mean_square_displacement(Z, n_ion, m)), 0.5 * m0, m0)
    assert res.converged and res.m_ion_c2 == pytest.approx(exact, rel=1e-9)
    assert res.msd == pytest.approx(mean_square_displacement(Z, n_ion, exact), rel=1e-8)
    assert len(steps) == len(res.iterations) > 2


def test_self_consistency_failure_is_an_error():
    with pytest.raises(ConvergenceError, match="did not converge in 3 iterations"):
        zero_point_self_consistency(lambda msd: 1e5 * (1 + 50 * msd), 40, 2e-5, 1e5, max_iter=3)


def test_smearing_reduces_bragg_scattering_and_entrainment():
    """Zero-point motion lowers every Bragg component, so the superfluid fraction rises
    towards 1 (entrainment is reduced). Converged check on a 1D cosine lattice (ħ²/2m = 1,
    a = 1, μ = 60, Δ = 2, 2000 k-points): the Debye–Waller factor read off the smeared 3D
    field, applied to V0, raises Form A's fraction, and the entrained fraction 1 − f scales
    as V0² (second-order Bragg scattering): the deviation of (1 − f')/(1 − f) from the
    squared factor is the O(V0²) relative remainder, 4× smaller at half the amplitude."""
    from crustsolve.response import kernels as K

    n, a, msd, V = 32, 10.0, 5.0, -4.0
    x = np.arange(n) * a / n
    U = np.broadcast_to(V * np.cos(2 * np.pi * x / a)[:, None, None], (n, n, n))
    factor = debye_waller_smear(U, a, msd)[:, 0, 0].max() / abs(V)
    assert factor == pytest.approx(math.exp(-(2 * math.pi / a) ** 2 * msd / 6), rel=1e-12)

    NG = 41
    G = 2 * np.pi * (np.arange(NG) - NG // 2)
    ks = -np.pi + 2 * np.pi * (np.arange(2000) + 0.5) / 2000

    def fraction(V0, mu=60.0, gap=2.0):
        s = nsum = 0.0
        for k in ks:
            e, W = np.linalg.eigh(np.diag((k + G) ** 2) + V0 * (np.eye(NG, k=1) + np.eye(NG, k=-1)))
            vel = (W.T @ np.diag(2 * (k + G)) @ W)[None]
            g = np.full(NG, gap)
            s += K.form_a_integrand(e, g, mu, vel, np.full((1, 1, NG), 2.0))[0][0, 0]
            nsum += K.bcs_occupation(e, g, mu).sum()
        return s / (2 * nsum)              # ρ_s/ρ with b0 = 1

    dev = []
    for V0 in (3.0, 1.5):
        f0, f1 = fraction(V0), fraction(V0 * factor)
        assert f1 > f0
        dev.append((1 - f1) / (1 - f0) / factor**2 - 1)
    assert abs(dev[1]) < 5e-3
    assert dev[0] / dev[1] == pytest.approx(4.0, rel=0.1)
