"""Response kernels and BZ sums on analytic plane-wave models (pure numpy, no PETSc).

Expected values are analytic (empty lattice: n_s = n B/b0, i.e. ρ_s = m_n² n/m⊕, and n_s = n
with the current-field vertex), limits of the formulas (Δ → 0, complete band sets), or
numbers published in the literature; never values produced by the code under test.
"""
import math

import numpy as np
import pytest

from crustsolve.bands.kmesh import KMesh
from crustsolve.constants import HBAR2_2MN
from crustsolve.errors import InputError
from crustsolve.response import bz
from crustsolve.response import kernels as K

A_CELL = 10.0                       # fm
B0 = HBAR2_2MN


def run(pw_kdata, mesh, G, B, V=(0, 0, 0), gap=1.0, nb=None, seed=1, flow=None, **kw):
    rng = np.random.default_rng(seed) if seed is not None else None
    kd = [pw_kdata(k, G, B, V, gap, nb, rng, i, w, flow)
          for i, (k, w) in enumerate(zip(mesh.points, mesh.weights))]
    kw.setdefault("density", 0.02)
    kw.setdefault("check_bands", False)
    return bz.evaluate(kd, mesh, volume=A_CELL**3, b0=B0, **kw)


@pytest.fixture(scope="module")
def G3(pw_basis):
    return pw_basis(3)


@pytest.mark.parametrize("gap", [0.3, 1.0, 4.0])
def test_empty_lattice_form_a_exact_and_current_restores_galilean(G3, gap, pw_kdata):
    """Folded plane waves, random bases in degenerate clusters, any Δ: Form A = n B/b0 on any
    mesh (the diamagnetic term alone survives), and the current-field vertex with
    C_nn n = B − b0 gives n exactly (Galilean invariance); the velocity-only levels carry the
    current vertex in one factor, so their ratio with and without it is b0/B exactly."""
    B = 0.8 * B0
    n = 0.02
    mesh = KMesh.monkhorst_pack(4, A_CELL, shift=False)     # Γ-centred: many degeneracies
    out = run(pw_kdata, mesh, G3, B, gap=gap, nb=120, levels=("intraband", "form_a", "form_b"),
              flow=B - B0, truncation=False)
    for name in ("intraband", "form_a", "form_b"):
        lv = out["levels"][name]
        assert lv.density == pytest.approx(n, rel=1e-12)   # the number equation solved to 1e-13
        # round-off of sums of ~1e4 terms of size ~1: 1e-10 relative
        np.testing.assert_allclose(lv.tensor_current, lv.tensor * B0 / B, rtol=1e-10, atol=1e-16)
    fa = out["levels"]["form_a"]
    np.testing.assert_allclose(fa.tensor, n * B / B0 * np.eye(3), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(fa.tensor_current, n * np.eye(3), rtol=1e-10, atol=1e-14)
    # plane waves diagonalise the velocity: no interband response (inside degenerate clusters
    # the equal-gap coefficient c_αβ vanishes)
    np.testing.assert_allclose(out["levels"]["form_b"].details["interband"], 0, atol=1e-14)
    np.testing.assert_allclose(fa.details["paramagnetic"], 0, atol=1e-14)


def test_empty_lattice_velocity_levels_converge_with_the_mesh(G3, pw_kdata):
    """The velocity-only intraband form equals the curvature form (exact: n B/b0) only after
    the k-integral, and only for the complete basis (its integration by parts has a boundary
    term at the top of the band set, ∝ the occupation tail Δ²/2ξ² there). All 343 plane
    waves, Δ = 2 MeV: 4.4 % off on the 4³ shifted mesh, within 0.3 % on the 12³ one (the
    remaining −0.19 % is the basis-boundary term: −0.16 % with 729 plane waves)."""
    B, n = B0, 0.02
    errs = []
    for nk in (4, 12):
        out = run(pw_kdata, KMesh.monkhorst_pack(nk, A_CELL, shift=True), G3, B, gap=2.0,
                  levels=("intraband", "form_b"), truncation=False, seed=None)
        errs.append(abs(out["levels"]["intraband"].scalar / (n * B / B0) - 1))
        # no interband term in the empty lattice: Form B is the intraband level
        assert out["levels"]["form_b"].scalar == pytest.approx(
            out["levels"]["intraband"].scalar, rel=1e-12)
    assert errs[1] < 3e-3
    assert errs[0] > 10 * errs[1]


def test_empty_lattice_normal_level(G3, pw_kdata):
    """Fermi-surface formula (smearing → 0) on a dense-enough mesh: n B/b0 within 1 %."""
    B = B0
    mesh = KMesh.monkhorst_pack(8, A_CELL, shift=True)
    out = run(pw_kdata, mesh, G3, B, nb=120, levels=("normal",), smearing=(3.0, 2.5, 2.0),
              truncation=False)
    lv = out["levels"]["normal"]
    assert lv.scalar == pytest.approx(0.02, rel=1e-2)
    np.testing.assert_allclose(lv.tensor, lv.scalar * np.eye(3), atol=1e-12)


def test_cluster_products_invariant_in_degenerate_clusters(G3, pw_kdata):
    k = np.zeros(3)
    a = pw_kdata(k, G3, B0, rng=None, flow=3.0)
    b = pw_kdata(k, G3, B0, rng=np.random.default_rng(3), flow=3.0)
    for va, vb in ((None, None), (a.flow_velocity(), b.flow_velocity())):
        pa = K.cluster_products(a.energies, a.velocity, va, 1e-8)
        pb = K.cluster_products(b.energies, b.velocity, vb, 1e-8)
        np.testing.assert_allclose(pa, pb, atol=1e-9)   # Γ has 6- to 12-fold clusters
    ha = K.band_hessians(a.energies, a.velocity, a.d2h, 1e-8)
    hb = K.band_hessians(b.energies, b.velocity, b.d2h, 1e-8)
    np.testing.assert_allclose(ha, hb, atol=1e-9)


def test_complete_basis_curvature_form_agrees_with_form_a(pw_basis, pw_kdata):
    """With every plane wave of the model, the effective-mass sum rule is exact, so the
    curvature forms (intraband Σ(1 − ξ/E)∂²ε plus the interband bracket) equal Form A at every
    k-point; Form A and the velocity-only Form B agree only after the k-integral, and their
    difference shrinks as the mesh is refined."""
    G = pw_basis(2)
    V, gap, mu = (-6.0, -6.0, -6.0), 1.5, 8.0
    diffs = []
    for nk in (3, 5):
        mesh = KMesh.monkhorst_pack(nk, A_CELL, shift=True)
        A = Bv = Bc = 0.0
        for k, w in zip(mesh.points, mesh.weights):
            kd = pw_kdata(k, G, B0, V, gap)
            e, v, d2, g = kd.energies, kd.velocity, kd.d2h, kd.gap
            A += w * np.trace(K.form_a_integrand(e, g, mu, v, d2)[0])
            intra, inter = K.form_b_integrand(e, g, mu, v)
            Bv += w * np.trace(intra + inter)
            hess = K.band_hessians(e, v, d2)
            Bc += w * np.trace(K.intraband_curvature_integrand(e, g, mu, hess) + inter)
        # an algebraic identity for complete sets, up to round-off of ~1e4 terms
        assert Bc == pytest.approx(A, rel=1e-9)
        diffs.append(abs(Bv - A) / A)
    assert diffs[1] < diffs[0]


def test_ibz_equals_full_mesh(pw_basis, pw_kdata):
    G = pw_basis(2)
    kw = dict(V=(-5.0, -5.0, -5.0), gap=1.0, density=0.01, seed=None, flow=2.0,
              levels=("normal", "intraband", "form_a", "form_b"), smearing=(2.0, 1.5))
    red = run(pw_kdata, KMesh.monkhorst_pack(4, A_CELL, shift=True), G, B0, **kw)
    full = run(pw_kdata, KMesh.full(4, A_CELL, shift=True), G, B0, **kw)
    for name in kw["levels"]:
        for attr in ("tensor", "tensor_current"):
            np.testing.assert_allclose(getattr(red["levels"][name], attr),
                                       getattr(full["levels"][name], attr),
                                       rtol=1e-10, atol=1e-16)
        assert red["levels"][name].mu == pytest.approx(full["levels"][name].mu, abs=1e-10)
        assert red["levels"][name].truncation == pytest.approx(
            full["levels"][name].truncation, rel=1e-8, abs=1e-15)


def test_potential_along_x_only(pw_basis, pw_kdata):
    """U(x) only, Form A: ρ^{yy} = ρ^{zz} = the uniform value n B/b0 exactly (the lattice
    does not act along y and z); ρ^{xx} below it."""
    G = pw_basis(2)
    mesh = KMesh.full(3, A_CELL, shift=True)
    out = run(pw_kdata, mesh, G, B0, V=(-8.0, 0.0, 0.0), gap=1.0, density=0.01, seed=None,
              levels=("form_a",), truncation=False)
    T = out["levels"]["form_a"].tensor
    assert T[1, 1] == pytest.approx(0.01, rel=1e-9)
    assert T[2, 2] == pytest.approx(0.01, rel=1e-9)
    assert T[0, 0] < 0.99 * 0.01
    assert abs(T[0, 1]) < 1e-12 * 0.01


# ------------------------------------------------------------- 1D: Δ → 0
def test_delta_to_zero_1d_gives_fermi_surface_value():
    """1D cosine lattice (V0 = 15, μ = 60, ħ²/2m = 1; the check of Carter, Chamel & Haensel's
    Fermi-surface formula in a 1D band model): the normal-state value 0.92863, and the
    intraband and Form-B levels tend to it as Δ → 0 (the bracket vanishes, Δ²/E³ → 2δ)."""
    NG = 41
    Gs = 2 * np.pi * (np.arange(NG) - NG // 2)

    def data(k):
        h = np.diag((k + Gs) ** 2) + 15.0 * (np.eye(NG, k=1) + np.eye(NG, k=-1))
        e, U = np.linalg.eigh(h)
        return e, (U.T @ np.diag(2 * (k + Gs)) @ U)[None]

    ks = -np.pi + 2 * np.pi * (np.arange(2000) + 0.5) / 2000
    rows = [data(k) for k in ks]
    sig = (0.6, 0.45, 0.3)
    fs = []
    for s in sig:
        t = n = 0.0
        for e, v in rows:
            t += K.fermi_surface_integrand(e, 60.0, s, K.cluster_products(e, v))[0, 0]
            n += 2 * K.gaussian_occupation(e - 60.0, s).sum()
        fs.append(t / n / 2)          # ρ_s/ρ = (integrand/2b0)/n with b0 = 1
    normal, spread = K.extrapolate_sigma(sig, np.array(fs))
    assert normal == pytest.approx(0.92863, abs=3e-5)
    for gap in (0.2, 0.1):
        t = tb = n = 0.0
        g = np.full(NG, gap)
        for e, v in rows:
            intra, inter = K.form_b_integrand(e, g, 60.0, v)
            t += intra[0, 0]
            tb += intra[0, 0] + inter[0, 0]
            n += K.bcs_occupation(e, g, 60.0).sum()
        # δk = 2π/2000 resolves Δ/v_F ≈ Δ/15: the mesh error is below 3e-4
        assert t / n / 2 == pytest.approx(normal, abs=3e-4)
        assert tb / n / 2 == pytest.approx(normal, abs=3e-4)


def test_coefficients_limits():
    # degenerate equal-gap pair: c = 0 and g = Δ²/E³
    xi, d = 0.7, 1.3
    assert K.paramagnetic_coefficient(xi, xi, d, d) == pytest.approx(0.0, abs=1e-15)
    assert K.divided_difference_x(xi, xi, d, d) == pytest.approx(d**2 / math.hypot(xi, d) ** 3)
    assert K.intraband_weight(xi, d, 0.0) == pytest.approx(d**2 / math.hypot(xi, d) ** 3)
    # the bracket vanishes as Δ → 0
    for (a, b) in ((1.0, 3.0), (-2.0, 5.0), (-1.0, -4.0)):
        br = K.divided_difference_x(a, b, 1e-6, 1e-6) + K.paramagnetic_coefficient(a, b, 1e-6, 1e-6)
        assert abs(br) < 1e-10
    # c = −2(u_a v_b − v_a u_b)²/(E_a + E_b) with BCS amplitudes
    a, b, da, db = 0.4, -1.7, 0.9, 1.4
    Ea, Eb = math.hypot(a, da), math.hypot(b, db)
    ua, va = math.sqrt((1 + a / Ea) / 2), math.sqrt((1 - a / Ea) / 2)
    ub, vb = math.sqrt((1 + b / Eb) / 2), math.sqrt((1 - b / Eb) / 2)
    assert K.paramagnetic_coefficient(a, b, da, db) == pytest.approx(
        -2 * (ua * vb - va * ub) ** 2 / (Ea + Eb), rel=1e-12)
    # Δ²/E³ integrates to 2 over ξ: the weak-coupling limit 2δ(ξ)
    x = np.linspace(-400, 400, 400001)
    integral = np.sum(K.intraband_weight(x, 0.5, 0.0)) * (x[1] - x[0])
    assert integral == pytest.approx(2.0 * (1 - 0.5**2 / (2 * 400**2)), rel=1e-6)


def test_input_errors():
    mesh = KMesh.explicit([[0, 0, 0]], A_CELL)
    with pytest.raises(InputError, match="exactly one of the neutron density"):
        bz.evaluate([], mesh, volume=1.0, b0=B0, density=0.1, mu=1.0)
    with pytest.raises(InputError, match="unknown level 'bogus'"):
        bz.evaluate([], mesh, volume=1.0, b0=B0, density=0.1, levels=("bogus",))
    with pytest.raises(InputError, match="second vertex has shape"):
        K.cluster_products(np.zeros(2), np.zeros((3, 2, 2)), np.zeros((3, 3, 3)))
