"""Linear tetrahedron weights (Blöchl et al. 1994) checked by Monte Carlo, and the
tetrahedron Fermi-surface level on the empty lattice (analytic n B/b0)."""
import numpy as np
import pytest

from crustsolve.response.tetrahedra import occupation_weights


@pytest.mark.parametrize("mu", [0.3, 1.1, 1.9, 2.6, 5.0, -1.0])
def test_uncorrected_weights_integrate_linear_functions(mu):
    rng = np.random.default_rng(7)
    e = np.array([0.0, 1.5, 2.2, 3.0])[[2, 0, 3, 1]]   # unsorted on purpose
    f = np.array([1.0, -2.0, 0.5, 3.0])
    # Monte Carlo over the unit-volume tetrahedron (uniform barycentric coordinates)
    lam = rng.dirichlet(np.ones(4), size=400_000)
    eps = lam @ e
    val = lam @ f
    mc = np.mean((eps < mu) * val)
    w = occupation_weights(e, mu, blochl=False)
    assert w @ f == pytest.approx(mc, abs=4e-3)
    assert w.sum() == pytest.approx(np.mean(eps < mu), abs=3e-3)


def test_blochl_correction_conserves_number_and_its_derivative():
    e = np.array([0.2, 1.0, 1.7, 3.1])
    for mu in (0.5, 1.3, 2.5):
        w0 = occupation_weights(e, mu, blochl=False)
        w1 = occupation_weights(e, mu, blochl=True)
        assert w1.sum() == pytest.approx(w0.sum(), abs=1e-14)   # Σ_i Σ_j (ε_j − ε_i) = 0
        d = 1e-6
        dos = (occupation_weights(e, mu + d, False).sum() - occupation_weights(e, mu - d, False).sum()) / (2 * d)
        # D_T(μ) of the correction equals the tetrahedron DOS
        corr = (w1 - w0) / ((e.sum() - 4 * e) / 40.0)
        assert corr[0] == pytest.approx(dos, rel=1e-6)


def test_tetrahedron_level_one_band_model():
    """ε(k) = −t Σ_d cos(k_d a) (one band, no crossings): the tetrahedron level converges to the
    Fermi-surface integral, computed here independently by its Fermi-sea form
    ∫θ(μ−ε) ∂_x²ε on a fine grid (integration by parts of the Fermi-surface formula)."""
    from crustsolve.bands.kmesh import KMesh
    from crustsolve.response import bz
    from crustsolve.response.matrix_elements import KPointData

    a, t, b0, mu = 10.0, 5.0, 20.0, -3.0
    g = (np.arange(160) + 0.5) / 160 * 2 * np.pi - np.pi
    X = np.array(np.meshgrid(g, g, g, indexing="ij"))
    e = -t * np.cos(X).sum(0)
    occ = e < mu
    # ρ/m_n = (1/(2 b0 V)) · 2 · BZ-average of θ(μ−ε) ∂_x²ε, ∂_x²ε = t a² cos(k_x a)
    ref = 2 * np.mean(occ * t * a**2 * np.cos(X[0])) / (2 * b0 * a**3)
    n_ref = 2 * np.mean(occ) / a**3
    out = []
    for nm in (8, 16):
        km = KMesh.monkhorst_pack(nm, a, shift=False)
        kd = []
        for i, k in enumerate(km.points):
            eps = np.array([-t * np.cos(k * a).sum()])
            v = (t * a * np.sin(k * a)).reshape(3, 1, 1).astype(complex)
            d2 = np.zeros((3, 3, 1))
            kd.append(KPointData(i, km.weights[i], eps, v, d2, np.ones(1)))
        r = bz.evaluate(kd, km, volume=a**3, b0=b0, levels=("tetrahedron",), mu=mu,
                        check_bands=False)
        lv = r["levels"]["tetrahedron"]
        np.testing.assert_allclose(lv.tensor, lv.scalar * np.eye(3), atol=1e-12 * lv.scalar)
        assert lv.density == pytest.approx(n_ref, rel=3e-2)     # O(1/n²): 2.6 % at 8³, 0.7 % at 16³
        out.append(lv.scalar)
    assert abs(out[1] - ref) < abs(out[0] - ref) + 1e-3 * ref
    assert out[1] == pytest.approx(ref, rel=2e-2)
    # Unequal band counts (a dropped cluster at the cut) are padded: same result.
    kd2 = [KPointData(d.index, d.weight, np.append(d.energies, 200.0),
                      np.pad(d.velocity, ((0, 0), (0, 1), (0, 1))),
                      np.pad(d.d2h, ((0, 0), (0, 0), (0, 1))), np.ones(2))
           if d.index % 2 else d for d in kd]
    r2 = bz.evaluate(kd2, km, volume=a**3, b0=b0, levels=("tetrahedron",), mu=mu,
                     check_bands=False)
    # (the μ step of the δ weights scales with the band range: agreement to its O(dμ²))
    assert r2["levels"]["tetrahedron"].scalar == pytest.approx(out[1], rel=1e-6)
