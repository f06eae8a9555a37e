"""Response kernels and BZ sums on analytic plane-wave models (pure numpy, no PETSc).

Expected values are analytic (empty lattice: n_s = n B/b0, i.e. ρ_s = m_n² n/m⊕; with the
current term n_s = n) or physics-doc numbers (§5.5 table), never produced by the code under test.
"""
import math

import numpy as np
import pytest

from crustsolve.bands.kmesh import KMesh
from crustsolve.constants import HBAR2_2MN
from crustsolve.response import bz
from crustsolve.response import kernels as K
from crustsolve.response.matrix_elements import KPointData

A_CELL = 10.0                       # fm
B0 = HBAR2_2MN


def pw_basis(M):
    m = np.arange(-M, M + 1)
    G = np.array(np.meshgrid(m, m, m, indexing="ij")).reshape(3, -1).T * (2 * np.pi / A_CELL)
    return G


def pw_kdata(k, G, B, V=(0.0, 0.0, 0.0), gap=1.0, nb=None, rng=None, index=0, weight=1.0):
    """Plane-wave Bloch model: h = B|k+G|² + Σ_d V_d cos(2πx_d/a) (continuum u-gauge h(k))."""
    q = k[None, :] + G
    h = np.diag(B * (q**2).sum(1)).astype(complex)
    step = 2 * np.pi / A_CELL
    for d, Vd in enumerate(V):
        if Vd:
            diff = G[:, None, :] - G[None, :, :]
            other = [e for e in range(3) if e != d]
            hit = (np.abs(np.abs(diff[..., d]) - step) < 1e-9) & np.all(
                np.abs(diff[..., other]) < 1e-9, axis=-1)
            h += 0.5 * Vd * hit
    eps, U = np.linalg.eigh(h)
    if rng is not None:
        # Arbitrary basis inside degenerate clusters (what an iterative eigensolver returns).
        lab = K.degenerate_clusters(eps, 1e-8)
        for c in np.unique(lab):
            idx = np.flatnonzero(lab == c)
            if len(idx) > 1:
                Z = rng.normal(size=(len(idx),) * 2) + 1j * rng.normal(size=(len(idx),) * 2)
                Qm, _ = np.linalg.qr(Z)
                U[:, idx] = U[:, idx] @ Qm
    nb = len(eps) if nb is None else nb
    U = U[:, :nb]
    vel = np.array([U.conj().T @ np.diag(2 * B * q[:, d]) @ U for d in range(3)])
    d2h = np.zeros((3, 3, nb))
    for d in range(3):
        d2h[d, d] = 2 * B
    return KPointData(index=index, weight=weight, energies=eps[:nb], velocity=vel, d2h=d2h,
                      gap=np.full(nb, gap))


def run(mesh, G, B, V=(0, 0, 0), gap=1.0, nb=None, seed=1, **kw):
    rng = np.random.default_rng(seed) if seed is not None else None
    kd = [pw_kdata(k, G, B, V, gap, nb, rng, i, w)
          for i, (k, w) in enumerate(zip(mesh.points, mesh.weights))]
    kw.setdefault("density", 0.02)
    return bz.evaluate(kd, mesh, volume=A_CELL**3, b0=B0, **kw)


@pytest.fixture(scope="module")
def G3():
    return pw_basis(3)


@pytest.mark.parametrize("gap", [0.3, 1.0, 4.0])
def test_empty_lattice_bcs_levels_exact(G3, gap):
    """Folded plane waves, random bases in degenerate clusters: n_s = n B/b0 at every BCS level."""
    B = 0.8 * B0
    mesh = KMesh.monkhorst_pack(4, A_CELL, shift=False)     # Γ-centred: many degeneracies
    out = run(mesh, G3, B, gap=gap, nb=120, levels=("intraband", "form_a", "form_b"),
              windows=(5 * gap, 20 * gap))
    n = 0.02
    for name in ("intraband", "form_a", "form_b"):
        lv = out["levels"][name]
        assert lv.density == pytest.approx(n, rel=1e-12)
        np.testing.assert_allclose(lv.tensor, n * B / B0 * np.eye(3), rtol=1e-10, atol=1e-14)
    fb = out["levels"]["form_b"]
    np.testing.assert_allclose(fb.details["interband"], 0, atol=1e-14)
    # current term with C_nn = (B − b0)/n restores n_s = n (Galilean invariance, §9.4 item 1)
    cur = K.local_current_term((B - B0) / n, n, B0)
    np.testing.assert_allclose(out["levels"]["form_a"].tensor + cur, n * np.eye(3), rtol=1e-10,
                               atol=1e-14)


def test_empty_lattice_normal_level(G3):
    """Fermi-surface formula (smearing → 0) on a dense-enough mesh: n B/b0 within 1 %."""
    B = B0
    mesh = KMesh.monkhorst_pack(8, A_CELL, shift=True)
    out = run(mesh, G3, B, nb=120, levels=("normal",), smearing=(3.0, 2.5, 2.0))
    lv = out["levels"]["normal"]
    assert lv.scalar == pytest.approx(0.02, rel=1e-2)
    np.testing.assert_allclose(lv.tensor, lv.scalar * np.eye(3), atol=1e-12)


def test_velocity_products_invariant_in_degenerate_clusters(G3):
    k = np.zeros(3)
    a = pw_kdata(k, G3, B0, rng=None)
    b = pw_kdata(k, G3, B0, rng=np.random.default_rng(3))
    pa = K.cluster_velocity_products(a.energies, a.velocity, 1e-8)
    pb = K.cluster_velocity_products(b.energies, b.velocity, 1e-8)
    np.testing.assert_allclose(pa, pb, atol=1e-9)
    ha = K.band_hessians(a.energies, a.velocity, a.d2h, 1e-8)
    hb = K.band_hessians(b.energies, b.velocity, b.d2h, 1e-8)
    np.testing.assert_allclose(ha, hb, atol=1e-9)


def test_form_a_equals_form_b_periodic_potential():
    """Complete basis (all plane waves of the model): Form A = Form B(all pairs); windows converge."""
    G = pw_basis(2)
    mesh = KMesh.monkhorst_pack(3, A_CELL, shift=True)
    out = run(mesh, G, B0, V=(-6.0, -6.0, -6.0), gap=1.5, density=0.01, seed=None,
              levels=("intraband", "form_a", "form_b"), windows=(5.0, 15.0, 60.0, math.inf))
    a = out["levels"]["form_a"]
    b = out["levels"]["form_b"]
    np.testing.assert_allclose(b.tensor, a.tensor, rtol=1e-9, atol=1e-14)
    # cubic symmetry ⇒ isotropic tensor
    np.testing.assert_allclose(a.tensor, a.scalar * np.eye(3), atol=1e-12 * a.scalar)
    per_w = b.details["scalar_per_window"]
    errs = [abs(v - a.scalar) for v in per_w]
    assert errs[-1] < 1e-12 * a.scalar
    assert errs[2] < errs[0]
    # the interband term raises n_s above the intraband value and the potential lowers it
    assert out["levels"]["intraband"].scalar < a.scalar < 0.01


def test_ibz_equals_full_mesh():
    G = pw_basis(2)
    kw = dict(V=(-5.0, -5.0, -5.0), gap=1.0, density=0.01, seed=None,
              levels=("normal", "intraband", "form_a"), smearing=(2.0, 1.5))
    red = run(KMesh.monkhorst_pack(4, A_CELL, shift=True), G, B0, **kw)
    full = run(KMesh.full(4, A_CELL, shift=True), G, B0, **kw)
    for name in ("normal", "intraband", "form_a"):
        np.testing.assert_allclose(red["levels"][name].tensor, full["levels"][name].tensor,
                                   rtol=1e-10, atol=1e-16)
        assert red["levels"][name].mu == pytest.approx(full["levels"][name].mu, abs=1e-10)


def test_potential_along_x_only():
    """U(x) only: ρ^{yy} = ρ^{zz} = uniform value n B/b0 exactly; ρ^{xx} below it."""
    G = pw_basis(2)
    mesh = KMesh.full(3, A_CELL, shift=True)
    out = run(mesh, G, B0, V=(-8.0, 0.0, 0.0), gap=1.0, density=0.01, seed=None,
              levels=("intraband", "form_a"))
    for name in ("intraband", "form_a"):
        T = out["levels"][name].tensor
        assert T[1, 1] == pytest.approx(0.01, rel=1e-9)
        assert T[2, 2] == pytest.approx(0.01, rel=1e-9)
        assert T[0, 0] < 0.01
        assert abs(T[0, 1]) < 1e-12


# ------------------------------------------------------------- 1D: Δ → 0
def test_delta_to_zero_1d_gives_fermi_surface_value():
    """1D cosine lattice (physics doc §5.5: V0 = 15, μ = 60, ħ²/2m = 1): the normal-state
    Fermi-surface value 0.92863, and intraband = Form B → it as Δ → 0."""
    NG = 41
    Gs = 2 * np.pi * (np.arange(NG) - NG // 2)

    def data(k):
        h = np.diag((k + Gs) ** 2) + 15.0 * (np.eye(NG, k=1) + np.eye(NG, k=-1))
        e, U = np.linalg.eigh(h)
        return e, (U.T @ np.diag(2 * (k + Gs)) @ U)[None], np.full((1, 1, NG), 2.0)

    ks = -np.pi + 2 * np.pi * (np.arange(2000) + 0.5) / 2000
    rows = [data(k) for k in ks]
    sig = (0.6, 0.45, 0.3)
    fs = []
    for s in sig:
        t = n = 0.0
        for e, v, d in rows:
            t += K.fermi_surface_integrand(e, 60.0, s, K.cluster_velocity_products(e, v))[0, 0]
            n += 2 * K.gaussian_occupation(e - 60.0, s).sum()
        fs.append(t / n / 2)          # ρ_s/ρ = (integrand/2b0)/n with b0 = 1
    normal, spread = K.extrapolate_sigma(sig, np.array(fs))
    assert normal == pytest.approx(0.92863, abs=3e-5)
    devs = []
    for gap in (0.2, 0.1):
        t = tb = n = 0.0
        g = np.full(NG, gap)
        for e, v, d in rows:
            h = K.band_hessians(e, v, d)
            t += K.intraband_integrand(e, g, 60.0, h)[0, 0]
            i_, inter = K.form_b_integrand(e, g, 60.0, v, h)
            tb += i_[0, 0] + inter[0, 0, 0]
            n += K.bcs_occupation(e, g, 60.0).sum()
        assert t / n / 2 == pytest.approx(normal, abs=3e-4)
        assert tb / n / 2 == pytest.approx(normal, abs=3e-4)
        devs.append(abs(t / n / 2 - normal))
    assert devs[1] < devs[0]          # converging as Δ → 0


def test_coefficients_limits():
    # degenerate equal-gap pair: c = 0 and g = Δ²/E³ (§5.5 property (ii))
    xi, d = 0.7, 1.3
    assert K.paramagnetic_coefficient(xi, xi, d, d) == pytest.approx(0.0, abs=1e-15)
    assert K.divided_difference_x(xi, xi, d, d) == pytest.approx(d**2 / math.hypot(xi, d) ** 3)
    # bracket vanishes as Δ → 0 (§5.5 property (i))
    for (a, b) in ((1.0, 3.0), (-2.0, 5.0), (-1.0, -4.0)):
        br = K.divided_difference_x(a, b, 1e-6, 1e-6) + K.paramagnetic_coefficient(a, b, 1e-6, 1e-6)
        assert abs(br) < 1e-10
    # c = −2(u_a v_b − v_a u_b)²/(E_a + E_b) with BCS amplitudes
    a, b, da, db = 0.4, -1.7, 0.9, 1.4
    Ea, Eb = math.hypot(a, da), math.hypot(b, db)
    ua, va = math.sqrt((1 + a / Ea) / 2), math.sqrt((1 - a / Ea) / 2)
    ub, vb = math.sqrt((1 + b / Eb) / 2), math.sqrt((1 - b / Eb) / 2)
    ref = -2 * (ua * vb - va * ub) ** 2 / (Ea + Eb) / (Ea * Eb) * (Ea * Eb)
    assert K.paramagnetic_coefficient(a, b, da, db) * (Ea + Eb) == pytest.approx(
        -2 * (ua * vb - va * ub) ** 2, rel=1e-12)
    assert ref < 0


def test_input_errors():
    from crustsolve.errors import InputError
    mesh = KMesh.explicit([[0, 0, 0]], A_CELL)
    with pytest.raises(InputError):
        bz.evaluate([], mesh, volume=1.0, b0=B0, density=0.1, mu=1.0)
    with pytest.raises(InputError):
        bz.evaluate([], mesh, volume=1.0, b0=B0, density=0.1, levels=("bogus",))
