"""Hydrodynamic limit: potential flow through the lattice, bounds, single-ion models."""
from __future__ import annotations

import math

import numpy as np
import pytest

from crustsolve.errors import InputError
from crustsolve.hydro import (ClusterForHydro, epstein_baym, leggett_bounds,
                              maxwell_garnett_superfluid_density,
                              potential_flow_superfluid_density, single_sphere_ion_mass)

A = 10.0


def grid(n):
    x = np.arange(n) * A / n
    return np.meshgrid(x, x, x, indexing="ij")


def modulated_1d(n, eps=0.5):
    X, _, _ = grid(n)
    return 1.0 + eps * np.cos(2 * np.pi * X / A)


def test_one_dimensional_exact_result_and_order():
    # 1D: ρ_s = 1/⟨ρ⁻¹⟩ = √(1−ε²) for ρ = 1 + ε cos(Gx); the transverse directions see ρ̄.
    exact = math.sqrt(1 - 0.25)
    errs = []
    for n in (8, 16, 32):
        res = potential_flow_superfluid_density(modulated_1d(n), A)
        errs.append(abs(res.fraction[0, 0] - exact))
        assert res.fraction[1, 1] == pytest.approx(1.0, abs=1e-12)
        assert res.fraction[2, 2] == pytest.approx(1.0, abs=1e-12)
        lo, hi = res.bounds[0]
        assert lo == pytest.approx(hi, rel=1e-12)       # in 1D the two bounds coincide
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(orders > 1.9), orders
    assert errs[-1] < 2e-3


def test_weak_modulation_expansion():
    # ρ = 1 + ε Σ_d cos(G x_d): Σ_G |ñ_G|² = 6 (ε/2)², so ρ_s/ρ̄ = 1 − ε²/2 + O(ε⁴) (cubic weight 1/3).
    n, eps = 24, 0.1
    X, Y, Z = grid(n)
    G = 2 * np.pi / A
    res = potential_flow_superfluid_density(1 + eps * (np.cos(G * X) + np.cos(G * Y) + np.cos(G * Z)), A)
    frac = res.fraction
    assert abs(frac[0, 0] - (1 - eps**2 / 2)) < 0.02 * eps**2 / 2
    np.testing.assert_allclose(np.diag(frac), frac[0, 0], atol=1e-12)   # isotropic
    assert np.max(np.abs(frac - np.diag(np.diag(frac)))) < 1e-10         # diagonal


def sphere_fraction(n, radius, sub=6):
    """Cell-averaged volume fraction of a sphere centred in the cube (sub-sampled)."""
    X, Y, Z = grid(n)
    h, c = A / n, A / 2
    offs = ((np.arange(sub) + 0.5) / sub - 0.5) * h
    frac = np.zeros_like(X)
    for dx in offs:
        for dy in offs:
            for dz in offs:
                frac += (X + dx - c) ** 2 + (Y + dy - c) ** 2 + (Z + dz - c) ** 2 < radius**2
    return frac / sub**3


def test_dilute_spheres_match_maxwell_garnett_and_bounds():
    rho_in, rho_out, radius, n = 0.3, 1.0, 2.0, 24
    frac = sphere_fraction(n, radius)
    rho = rho_out + (rho_in - rho_out) * frac
    res = potential_flow_superfluid_density(rho, A)
    mg = maxwell_garnett_superfluid_density(rho_in, rho_out, frac.mean())
    # the backflow deficit ρ_out − ρ_s agrees with Maxwell-Garnett (exact to O(f), f ≈ 0.034)
    assert abs((rho_out - res.superfluid_density[0, 0]) / (rho_out - mg) - 1) < 0.05
    for d in range(3):
        lo, hi = res.bounds[d]
        assert lo <= res.superfluid_density[d, d] <= hi
    assert res.bounds[0][1] - res.bounds[0][0] > 0.01   # the bounds are not trivially tight here


def test_random_field_within_leggett_bounds():
    rng = np.random.default_rng(3)
    rho = np.exp(0.5 * rng.standard_normal((10, 10, 10)))
    res = potential_flow_superfluid_density(rho, A)
    for d in range(3):
        lo, hi = leggett_bounds(rho, d)
        assert lo - 1e-9 <= res.superfluid_density[d, d] <= hi + 1e-9


def test_single_sphere_limits():
    V, rho_out = 50.0, 2.0
    # impenetrable: textbook added mass ½ ρ_out V
    assert single_sphere_ion_mass(0.0, rho_out, V, 7.0) == pytest.approx(7.0 + 0.5 * rho_out * V,
                                                                         rel=1e-14)
    # matched densities: no backflow
    assert single_sphere_ion_mass(rho_out, rho_out, V, 7.0) == pytest.approx(7.0, rel=1e-14)


def test_epstein_baym_prescriptions_hand_values():
    """m_I*/m_I = 1 + (λ−1)²/(λ+2) ρ_n,o/(ρ_p,i + ρ_n,i − λρ_n,o) (Epstein & Baym 1988), with
    the prescriptions' own m_I, worked out by hand for a round cluster: R = 6 fm
    (V = 904.7787 fm³), Z = Z_in = 40, N_in = 110, n_n,o = 0.02 fm⁻³, m_n = m_p = 939 MeV.
    ρ_n,i = 939·110/V, ρ_p,i = 939·40/V, ρ_n,o = 939·0.02, m_d = 939·18.0956 MeV."""
    cl = ClusterForHydro(Z=40, Z_in=40, N_in=110, radius=6.0, n_n_out=0.02, m_n_c2=939.0,
                         m_p_c2=939.0)
    V = 4 / 3 * math.pi * 6.0**3
    nd = 0.02 * V                                    # displaced neutrons, 18.0956
    # impenetrable: λ = 0, m_I = 150 nucleons, m_I* = m_I + m_d/2
    imp = epstein_baym(cl, "impenetrable")
    assert imp.lam == 0.0                            # set, not computed
    assert imp.m_ion == pytest.approx(150 * 939.0, rel=1e-14)
    assert imp.ratio == pytest.approx(1 + 0.5 * nd / 150, rel=1e-13)     # 1.060319
    assert imp.ratio == pytest.approx(1.060319, rel=1e-6)
    # all nucleons superfluid: λ = 150/nd = 8.28932, m_I = 0, m_I* = (λ−1)²/(λ+2) m_d
    allsf = epstein_baym(cl, "all_superfluid")
    lam = 150 / nd
    assert allsf.lam == pytest.approx(8.28932, rel=1e-5)
    assert allsf.m_ion == 0.0                        # set, not computed
    assert math.isnan(allsf.ratio)
    assert allsf.m_ion_star == pytest.approx((lam - 1) ** 2 / (lam + 2) * nd * 939.0, rel=1e-13)
    assert allsf.m_ion_star / 939.0 == pytest.approx(93.4458, rel=1e-5)   # 5.16404 m_d
    # permeable: λ = 1, m_I = Z m_p, no backflow
    perm = epstein_baym(cl, "permeable")
    assert perm.m_ion_star == pytest.approx(40 * 939.0, rel=1e-14)
    assert perm.ratio == pytest.approx(1.0, rel=1e-14)
    with pytest.raises(InputError, match="prescription"):
        epstein_baym(cl, "leaky")


def test_maxwell_garnett_reduces_to_single_sphere_at_small_filling():
    # Spheres with superfluid ρ_in inside (nothing rigid, M_rig = 0) in ρ_out: the mean density is
    # ρ̄ = (1−f)ρ_out + fρ_in, and m_I* = (ρ̄ − ρ_s)/n_I must tend to V(ρ_in−ρ_out)²/(ρ_in+2ρ_out).
    rho_in, rho_out, V = 0.4, 1.0, 30.0
    for f in (1e-3, 1e-4):
        n_I = f / V
        rho_bar = (1 - f) * rho_out + f * rho_in
        m_star = (rho_bar - maxwell_garnett_superfluid_density(rho_in, rho_out, f)) / n_I
        assert m_star == pytest.approx(V * (rho_in - rho_out) ** 2 / (rho_in + 2 * rho_out), rel=5 * f)
        assert m_star == pytest.approx(single_sphere_ion_mass(rho_in, rho_out, V, 0.0), rel=5 * f)


def test_bad_density_field():
    with pytest.raises(InputError, match="strictly positive"):
        potential_flow_superfluid_density(np.zeros((4, 4, 4)), A)
    with pytest.raises(InputError, match="cubic"):
        potential_flow_superfluid_density(np.ones((4, 4, 5)), A)


@pytest.mark.mpi
def test_same_numbers_on_any_rank_count(comm):
    rng = np.random.default_rng(5)
    rho = np.exp(0.3 * rng.standard_normal((8, 8, 8)))   # same seed on every rank
    res = potential_flow_superfluid_density(rho, A, comm=comm, rtol=1e-12)
    ref = comm.bcast(res.superfluid_density if comm.rank == 0 else None)
    np.testing.assert_allclose(res.superfluid_density, ref, rtol=0, atol=1e-14)
    # and equal to the serial value computed on a self communicator
    serial = potential_flow_superfluid_density(rho, A, comm=comm.Split(comm.rank, 0), rtol=1e-12)
    np.testing.assert_allclose(res.superfluid_density, serial.superfluid_density, rtol=1e-9)
