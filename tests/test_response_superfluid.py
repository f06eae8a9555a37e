"""Superfluid density from FD band structures (PETSc/SLEPc pipeline; DESIGN.md §4 level 6).

Expected values: the empty-lattice values are computed here independently from the analytic
4th-order staggered FD symbol (all n³ plane waves of the grid), or are analytic continuum
limits (n B/b0, n) with FD-error tolerances; the uniform Skyrme value comes from the core
entrainment module (issue 3).
"""

import numpy as np
import pytest
from mpi4py import MPI

from crustsolve.bands import BlochHamiltonian, Fields, Grid
from crustsolve.bands.eigensolvers import make_eigensolver
from crustsolve.bands.kmesh import KMesh
from crustsolve.constants import HBAR2_2MN
from crustsolve.parallel import Layout
from crustsolve.response.superfluid import CurrentTerm, GapSpec, superfluid_density

N, A_CELL = 8, 10.0


def solve(fields, kmesh, *, nev=None, comm=None, ngroups=1, order=4, solver="lapack", **kw):
    comm = MPI.COMM_WORLD if comm is None else comm
    lay = Layout.create(comm, ngroups=ngroups)
    grid = Grid(fields.n, fields.a, comm=lay.kcomm)
    H = BlochHamiltonian(grid, fields, order=order)
    try:
        solver = make_eigensolver(solver, nev=nev or fields.n**3,
                                  tol=1e-8 if solver == "lapack" else 1e-11)
        return superfluid_density(H, kmesh, solver, layout=lay, **kw)
    finally:
        H.destroy()
        grid.destroy()
        lay.free()


# --------------------------------------------- independent FD empty-lattice reference
def _sigma4(theta):
    """Order-4 staggered symbol σ(θ) = 2(a1 sin(θ/2) + a2 sin(3θ/2)), a = (27, −1)/24, and its
    first two derivatives (numerics conventions §2 item 3)."""
    a1, a2 = 27 / 24, -1 / 24
    s = 2 * (a1 * np.sin(theta / 2) + a2 * np.sin(1.5 * theta))
    s1 = 2 * (a1 * 0.5 * np.cos(theta / 2) + a2 * 1.5 * np.cos(1.5 * theta))
    s2 = 2 * (-a1 * 0.25 * np.sin(theta / 2) - a2 * 2.25 * np.sin(1.5 * theta))
    return s, s1, s2


def fd_empty_lattice_reference(B, n_target, gap, nmesh, b0=HBAR2_2MN):
    """n_s (BCS levels, all n³ bands) of the FD free gas on an nmesh³ shifted MP mesh."""
    h = A_CELL / N
    m = np.arange(N)
    J = (np.arange(nmesh) + 0.5) / nmesh
    ks = np.array(np.meshgrid(J, J, J, indexing="ij")).reshape(3, -1).T * 2 * np.pi / A_CELL
    G = np.array(np.meshgrid(m, m, m, indexing="ij")).reshape(3, -1).T * 2 * np.pi / A_CELL
    q = ks[:, None, :] + G[None]                       # (nk, n³, 3)
    s, s1, s2 = _sigma4(q * h)
    eps = B / h**2 * (s**2).sum(-1)
    d2 = 2 * B * (s1**2 + s * s2)                     # ∂²ε/∂q_i² per direction
    V = A_CELL**3

    def dens(mu):
        xi = eps - mu
        return (1 - xi / np.hypot(xi, gap)).sum() / len(ks) / V

    lo, hi = eps.min() - 10, eps.max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if dens(mid) < n_target else (lo, mid)
    mu = 0.5 * (lo + hi)
    xi = eps - mu
    occ = 1 - xi / np.hypot(xi, gap)
    return (occ[..., None] * d2).sum((0, 1)) / len(ks) / V / (2 * b0), mu


@pytest.mark.mpi
@pytest.mark.parametrize("gap", [0.5, 2.0])
def test_empty_lattice_fd_all_levels(gap):
    B = 0.8 * HBAR2_2MN
    n = 0.01
    f = Fields.uniform(N, A_CELL, U0=-3.0, B0=B)
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    res = solve(f, km, gap=GapSpec("constant", gap), density=n, smearing=(3.0, 2.5, 2.0),
                levels=("intraband", "form_a", "form_b"),
                current=CurrentTerm(cnn=(B - HBAR2_2MN) / n, nn=n))
    ref, mu = fd_empty_lattice_reference(B, n, gap, 2)
    for lv in ("intraband", "form_a", "form_b"):
        T = res.tensor(lv)
        np.testing.assert_allclose(np.diag(T), ref, rtol=1e-9)
        assert abs(T - np.diag(np.diag(T))).max() < 1e-13
        assert res.levels[lv].mu == pytest.approx(mu - 3.0, abs=1e-8)   # U0 = −3 MeV shift
        # continuum limits up to the O(h⁴) stencil error (k_F h ≈ 0.8 here)
        assert res.scalar(lv) == pytest.approx(n * B / HBAR2_2MN, rel=3e-2)
        assert res.scalar(lv, current=True) == pytest.approx(n, rel=3e-2)
    assert abs(res.levels["form_b"].details["interband"]).max() < 1e-14


def cosine_fields(V=-4.0):
    return Fields.separable_cosine(N, A_CELL, V=V)


@pytest.fixture(scope="module")
def cosine_result():
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    return solve(cosine_fields(), km, gap=GapSpec("constant", 1.0), density=0.01,
                 smearing=(3.0, 2.5, 2.0), windows=(5.0, 20.0, 80.0, 1e6))


@pytest.mark.mpi
def test_cosine_form_a_equals_form_b_and_isotropy(cosine_result):
    r = cosine_result
    a, b = r.levels["form_a"], r.levels["form_b"]
    np.testing.assert_allclose(b.tensor, a.tensor, rtol=1e-9, atol=1e-15)
    # cubic symmetry ⇒ isotropic, at every level
    for lv in r.levels.values():
        np.testing.assert_allclose(lv.tensor, lv.scalar * np.eye(3), atol=1e-12 * lv.scalar)
    # interband response raises n_s above intraband; the lattice lowers it below n
    assert r.scalar("intraband") < r.scalar("form_a") < 0.01
    vals = b.details["scalar_per_window"]
    assert abs(vals[0] - a.scalar) > abs(vals[2] - a.scalar)


@pytest.mark.mpi
def test_ibz_equals_full_mesh_fd():
    f = cosine_fields(-3.0)
    kw = dict(gap=GapSpec("constant", 1.0), density=0.01, smearing=(3.0, 2.0),
              levels=("normal", "form_a"), nev=80)
    # Γ-centred: points with non-trivial little groups (Γ, X, M, R) and degenerate clusters
    red = solve(f, KMesh.monkhorst_pack(2, A_CELL, shift=False), **kw)
    full = solve(f, KMesh.full(2, A_CELL, shift=False), **kw)
    for lv in ("normal", "form_a"):
        np.testing.assert_allclose(red.tensor(lv), full.tensor(lv), rtol=1e-8, atol=1e-14)


@pytest.mark.mpi
def test_potential_along_x_only():
    x = np.arange(N) * A_CELL / N
    U = np.broadcast_to(-6.0 * np.cos(2 * np.pi * x / A_CELL)[:, None, None], (N,) * 3)
    f = Fields(U=U.copy(), B=np.full((N,) * 3, HBAR2_2MN), a=A_CELL)
    km = KMesh.full(2, A_CELL, shift=True)
    n = 0.004
    r = solve(f, km, gap=GapSpec("constant", 1.0), density=n, levels=("intraband", "form_a"),
              nev=120)
    for lv in ("intraband", "form_a"):
        T = r.tensor(lv)
        assert T[1, 1] == pytest.approx(T[2, 2], rel=1e-10)
        assert T[1, 1] == pytest.approx(n, rel=1e-2)        # uniform value (FD error ~0.7 %)
        assert T[0, 0] < 0.97 * n


@pytest.mark.mpi
def test_field_gap_constant_equals_constant_gap():
    f0 = cosine_fields(-3.0)
    f = f0.replace(Delta=np.full((N,) * 3, 1.2))
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    kw = dict(density=0.01, levels=("intraband", "form_a", "form_b"), nev=60)
    r1 = solve(f, km, gap=GapSpec("field"), **kw)
    r2 = solve(f0, km, gap=GapSpec("constant", 1.2), **kw)
    for lv in ("intraband", "form_a", "form_b"):
        np.testing.assert_allclose(r1.tensor(lv), r2.tensor(lv), rtol=1e-9, atol=1e-15)


def test_field_gap_varying_form_a_equals_form_b():
    f0 = cosine_fields(-3.0)
    x = np.arange(N) * A_CELL / N
    c = np.cos(2 * np.pi * x / A_CELL)
    D = 1.0 + 0.3 * (c[:, None, None] + c[None, :, None] + c[None, None, :])
    f = f0.replace(Delta=D)
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)     # one k on [111]: 3-fold clusters
    r = solve(f, km, gap=GapSpec("field"), density=0.01, levels=("form_a", "form_b"),
              windows=(1e6,))
    np.testing.assert_allclose(r.tensor("form_b"), r.tensor("form_a"), rtol=1e-9, atol=1e-15)


@pytest.mark.mpi
@pytest.mark.parametrize("solver", ["chebyshev", "krylovschur"])
def test_iterative_solvers_match_dense(solver):
    """Eight k-points of a full 2³ mesh, each group's k-points solved in turn (Chebyshev
    warm-starts each from the previous one): all levels equal the dense-LAPACK result."""
    x = np.arange(N) * A_CELL / N
    U = np.broadcast_to(-6.0 * np.cos(2 * np.pi * x / A_CELL)[:, None, None], (N,) * 3)
    f = Fields(U=U.copy(), B=np.full((N,) * 3, HBAR2_2MN), a=A_CELL)
    km = KMesh.full(2, A_CELL, shift=True)
    kw = dict(gap=GapSpec("constant", 1.0), density=0.004, nev=100,
              levels=("intraband", "form_a", "form_b"), windows=(1e6,))
    ref = solve(f, km, **kw)
    got = solve(f, km, solver=solver, **kw)
    for lv in ref.levels:
        np.testing.assert_allclose(got.tensor(lv), ref.tensor(lv), rtol=1e-8, atol=1e-14)


@pytest.mark.mpi
def test_same_result_any_layout():
    """World layouts (1 group × P ranks, and P groups) reproduce the COMM_SELF result."""
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    kw = dict(gap=GapSpec("constant", 1.0), density=0.01, smearing=(3.0, 2.5, 2.0),
              windows=(5.0, 20.0, 80.0, 1e6),
              levels=("tetrahedron", "normal", "intraband", "form_a", "form_b"))
    ref = solve(cosine_fields(), km, comm=MPI.COMM_SELF, **kw)
    size = MPI.COMM_WORLD.size
    for r in (solve(cosine_fields(), km, **kw), solve(cosine_fields(), km, ngroups=size, **kw)):
        for lv in ref.levels:
            np.testing.assert_allclose(r.tensor(lv), ref.tensor(lv), rtol=1e-10, atol=1e-15)
            assert r.levels[lv].mu == pytest.approx(ref.levels[lv].mu, abs=1e-9)


@pytest.mark.mpi
def test_uniform_skyrme_matter_gives_core_rho_nn():
    from crustsolve.core.entrainment import entrainment_matrix_t0
    from crustsolve.functional import couplings, get_functional
    from crustsolve.functional.skyrme import effective_mass_fields

    name = "BSk24"
    p = get_functional(name)
    n_n, n_p = 0.02, 0.004
    Bn, _ = effective_mass_fields(p, n_n, n_p)
    cplus = float(couplings(p, n_n + n_p).C_plus)
    b0 = p.hbar2_2m_n
    masses = "bare" if p.mass_convention == "separate" else "common"
    core = entrainment_matrix_t0(p, n_n, n_p, masses=masses)
    expected = core.rho_nn / core.m_n_c2                 # fm⁻³ (ρ_nn^loc/m_n)
    a, n = 5.0, 8                                        # k_F h ≈ 0.53: FD error ~ 1e-3
    f = Fields.uniform(n, a, U0=-20.0, B0=float(Bn))
    km = KMesh.monkhorst_pack(3, a, shift=True)
    r = solve(f, km, nev=30, order=4, gap=GapSpec("constant", 1.0), density=n_n, b0=b0,
              levels=("intraband", "form_a"), current=CurrentTerm(cnn=cplus, nn=n_n))
    # the test distinguishes ρ_nn^loc from m_n n_n (C₋ n_p term) and from the band part alone
    assert abs(expected / n_n - 1) > 5e-3
    for lv in ("intraband", "form_a"):
        assert r.scalar(lv, current=True) == pytest.approx(expected, rel=1.5e-3)
