"""Chebyshev-filtered subspace iteration (crustsolve.bands.eigensolvers.chebyshev) against dense LAPACK
and SLEPc Krylov–Schur, serially and under ``mpiexec -n 2/3 python -m pytest -m mpi``.

Test matrices are built here (3D periodic 2nd-order FD Laplacian with Bloch phases plus a
cubic-symmetric cosine potential, assembled from CSR arrays): at k = 0 the spectrum has
exact 3- and 6-fold degeneracies, so cuts inside clusters can be tested. Every rank runs
every test; nothing is raised or skipped on a subset of ranks.
"""
from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from crustsolve.errors import ConvergenceError, InputError
from crustsolve.petsc_env import init_petsc

PETSc, SLEPc = init_petsc()

from crustsolve.bands.eigensolvers.chebyshev import (  # noqa: E402
    ChebyshevSolver, default_buffer, gershgorin_bounds, hermitian_projection, lanczos_bounds)
from crustsolve.bands.eigensolvers import EigenResult, make_eigensolver  # noqa: E402

B0 = 20.72  # ħ²/2m, MeV fm²
L = 10.0    # cube side, fm
TOL = 1e-9


def fd_matrix(n, k=(0.0, 0.0, 0.0), V=-20.0, comm=None, hermitian=True):
    """−B∇² (u-gauge Bloch phases) + V Σ_d cos(2π x_d / L), natural ordering, AIJ."""
    comm = PETSc.COMM_WORLD if comm is None else comm
    N = n ** 3
    h = L / n
    size, rank = comm.getSize(), comm.getRank()
    counts = [N // size + (1 if r < N % size else 0) for r in range(size)]
    rstart = sum(counts[:rank])
    nloc = counts[rank]
    rows = np.arange(rstart, rstart + nloc)
    idx = np.unravel_index(rows, (n, n, n))
    u1 = np.cos(2 * np.pi * np.arange(n) * h / L)
    cols = [rows]
    vals = [(V * (u1[idx[0]] + u1[idx[1]] + u1[idx[2]]) + 6 * B0 / h ** 2).astype(complex)]
    for d in range(3):
        for s in (1, -1):
            nid = [a.copy() for a in idx]
            nid[d] = (nid[d] + s) % n
            cols.append(np.ravel_multi_index(nid, (n, n, n)))
            phase = np.exp(1j * s * k[d] * h)
            if not hermitian and d == 0 and s == 1:
                phase = 1.3 * phase  # breaks Hermiticity
            vals.append(np.full(nloc, -B0 / h ** 2 * phase))
    cols = np.stack(cols, axis=1)
    vals = np.stack(vals, axis=1)
    order = np.argsort(cols, axis=1)
    cols = np.take_along_axis(cols, order, 1).ravel().astype(PETSc.IntType)
    vals = np.take_along_axis(vals, order, 1).ravel()
    indptr = np.arange(0, 7 * nloc + 1, 7, dtype=PETSc.IntType)
    A = PETSc.Mat().createAIJ(size=((nloc, N), (nloc, N)), csr=(indptr, cols, vals), comm=comm)
    A.assemble()
    return A


def dense_of(A):
    """The whole matrix as a numpy array on every rank."""
    comm = A.getComm().tompi4py()
    r0, r1 = A.getOwnershipRange()
    ip, c, v = A.getValuesCSR()
    N = A.getSize()[0]
    D = np.zeros((N, N), dtype=complex)
    for (a, b, ip, c, v) in comm.allgather((r0, r1, ip, c, v)):
        rows = np.repeat(np.arange(a, b), np.diff(ip))
        D[rows, c] = v
    return D


def gather_bv(bv):
    """All active columns of a BV as an (N, m) array on every rank."""
    mat = bv.getMat()
    try:
        local = np.array(mat.getDenseArray())
    finally:
        bv.restoreMat(mat)
    return np.concatenate(bv.getComm().tompi4py().allgather(local), axis=0)


def projector(X):
    return X @ X.conj().T


def clusters(w, rel=1e-6):
    """Index ranges [(start, stop)] of degenerate clusters of sorted eigenvalues."""
    out, s = [], 0
    for i in range(1, len(w) + 1):
        if i == len(w) or w[i] - w[i - 1] > rel * max(1.0, abs(w[i - 1])):
            out.append((s, i))
            s = i
    return out


# ---------------------------------------------------------------------------------------
@pytest.mark.mpi
def test_degenerate_cut_matches_dense_and_krylovschur():
    """n = 8, k = 0: cut at nev = 24 falls inside the 3-fold cluster 23–25."""
    A = fd_matrix(8)
    D = dense_of(A)
    w, U = np.linalg.eigh(D)
    cl = clusters(w[:40])
    assert (23, 26) in cl  # the test's premise: a 3-fold level straddles the cut
    nev = 24
    res = ChebyshevSolver(nev=nev, tol=TOL).solve(A)
    ext = ChebyshevSolver(nev=nev, tol=TOL, extend_clusters=True).solve(A)
    ks = make_eigensolver("krylovschur", nev=nev, tol=TOL).solve(A)
    try:
        assert isinstance(res, EigenResult) and res.solver == "chebyshev"
        assert res.eigenvalues.shape == (nev,)
        assert np.all(res.residuals <= TOL)
        np.testing.assert_allclose(res.eigenvalues, w[:nev], atol=1e-9, rtol=0)
        np.testing.assert_allclose(res.eigenvalues, ks.eigenvalues, atol=1e-8, rtol=0)
        # multiplicities: the same cluster structure as the dense spectrum
        assert [len(range(*c)) for c in clusters(res.eigenvalues)] == \
            [min(e, nev) - s for (s, e) in cl if s < nev]
        assert res.cut_splits_cluster and res.cut_gap < 1e-6
        # the extended result holds the whole cluster and the true gap above it
        assert len(ext.eigenvalues) == 26 and not ext.cut_splits_cluster
        np.testing.assert_allclose(ext.eigenvalues, w[:26], atol=1e-9, rtol=0)
        assert abs(ext.cut_gap - (w[26] - w[25])) < 1e-6
        # invariant subspaces: projectors onto whole clusters (not vectors)
        X = gather_bv(res.vectors)
        Xe = gather_bv(ext.vectors)
        np.testing.assert_allclose(X.conj().T @ X, np.eye(nev), atol=1e-10)
        np.testing.assert_allclose(projector(X[:, :23]), projector(U[:, :23]), atol=1e-7)
        np.testing.assert_allclose(projector(Xe), projector(U[:, :26]), atol=1e-7)
        # the vector of the split cluster lies inside that cluster's eigenspace
        Pc = projector(U[:, 23:26])
        np.testing.assert_allclose(Pc @ X[:, 23], X[:, 23], atol=1e-7)
        # true residuals, recomputed independently
        R = D @ X - X * res.eigenvalues
        assert np.linalg.norm(R, axis=0).max() <= 2 * TOL * max(1.0, np.abs(w[:nev]).max())
    finally:
        for r in (res, ext, ks):
            r.destroy()
        A.destroy()


@pytest.mark.mpi
def test_general_k_matches_dense_and_lapack():
    A = fd_matrix(10, k=(0.11, 0.23, 0.31))
    w = np.linalg.eigvalsh(dense_of(A))
    res = ChebyshevSolver(nev=30, tol=TOL).solve(A)
    ref = make_eigensolver("lapack", nev=30, tol=TOL).solve(A)
    try:
        np.testing.assert_allclose(res.eigenvalues, w[:30], atol=1e-9, rtol=0)
        np.testing.assert_allclose(res.eigenvalues, ref.eigenvalues, atol=1e-9, rtol=0)
        P1, P2 = projector(gather_bv(res.vectors)), projector(gather_bv(ref.vectors))
        np.testing.assert_allclose(P1, P2, atol=1e-7)
        st = res.settings
        assert st["nb"] == 30 + default_buffer(30)
        assert len(st["degrees"]) == res.iterations
        assert all(4 <= d <= 60 for d in st["degrees"])
    finally:
        res.destroy()
        ref.destroy()
        A.destroy()


@pytest.mark.mpi
def test_independent_of_rank_count():
    """The same solve on COMM_WORLD (distributed) and COMM_SELF (serial on each rank)."""
    k = (0.2, 0.0, 0.1)
    Aw = fd_matrix(8, k=k)
    As = fd_matrix(8, k=k, comm=PETSc.COMM_SELF)
    solver = ChebyshevSolver(nev=20, tol=TOL)
    rw = solver.solve(Aw)
    rs = solver.solve(As)
    try:
        np.testing.assert_allclose(rw.eigenvalues, rs.eigenvalues, atol=1e-10, rtol=0)
        # same random start (drawn independently of the rank layout) ⇒ same path
        assert abs(rw.iterations - rs.iterations) <= 1
        Xs = gather_bv(rs.vectors)
        Xw = gather_bv(rw.vectors)
        np.testing.assert_allclose(projector(Xw), projector(Xs), atol=1e-7)
        # every rank holds bitwise-identical results (exact: rank 0's Rayleigh–Ritz solution
        # is broadcast; the ranks' decisions depend on it)
        comm = MPI.COMM_WORLD
        assert all(np.array_equal(e, rw.eigenvalues) for e in comm.allgather(rw.eigenvalues))
        assert len(set(comm.allgather(rw.iterations))) == 1
    finally:
        rw.destroy()
        rs.destroy()
        Aw.destroy()
        As.destroy()


@pytest.mark.mpi
def test_warm_start_agrees_and_takes_fewer_iterations():
    k1 = np.array([0.10, 0.05, 0.02])
    k2 = k1 + np.array([0.04, 0.03, 0.02])  # the next k on a path
    A1, A2 = fd_matrix(10, k=k1), fd_matrix(10, k=k2)
    w2 = np.linalg.eigvalsh(dense_of(A2))
    nev = 24
    carry = ChebyshevSolver(nev=nev, tol=TOL, keep_buffer=True)
    solver = ChebyshevSolver(nev=nev, tol=TOL)
    r1 = carry.solve(A1)
    cold = solver.solve(A2)
    warm = solver.solve(A2, initial=r1)            # BV incl. buffer columns
    warm_nev = solver.solve(A2, initial=cold)      # same k, only nev columns given
    try:
        assert r1.vectors.getActiveColumns() == (0, nev)          # the eigenvectors ...
        assert r1.vectors.getSizes()[1] == nev + default_buffer(nev)  # ... + the buffer
        for r in (cold, warm, warm_nev):
            np.testing.assert_allclose(r.eigenvalues, w2[:nev], atol=1e-9, rtol=0)
        np.testing.assert_allclose(projector(gather_bv(warm.vectors)),
                                   projector(gather_bv(cold.vectors)), atol=1e-7)
        assert warm.settings["warm_start"] and warm.settings["warm_columns"] == 34
        assert warm.iterations < cold.iterations
        assert warm.settings["spmv"] < cold.settings["spmv"]
        assert warm_nev.iterations < cold.iterations
        # A keep_buffer result carries the Ritz values of all its columns: the first filter
        # pass starts at once (no iteration-0 Rayleigh–Ritz); otherwise the block is
        # projected first.
        assert len(r1.settings["buffer_ritz_values"]) == default_buffer(nev)
        assert warm.settings["initial_rr_skipped"]
        assert warm.settings["history"][0][0] == 1
        assert not warm_nev.settings["initial_rr_skipped"]
        assert warm_nev.settings["history"][0][0] == 0
        # Different block size (buffer 5): the carried Ritz values do not fit, RR first.
        other = ChebyshevSolver(nev=nev, tol=TOL, buffer=5).solve(A2, initial=r1)
        try:
            assert not other.settings["initial_rr_skipped"]
            np.testing.assert_allclose(other.eigenvalues, w2[:nev], atol=1e-9, rtol=0)
        finally:
            other.destroy()
    finally:
        for r in (r1, cold, warm, warm_nev):
            r.destroy()
        A1.destroy()
        A2.destroy()


@pytest.mark.mpi
def test_warm_start_from_vecs_and_local_array():
    A = fd_matrix(8, k=(0.1, 0.1, 0.0))
    solver = ChebyshevSolver(nev=12, tol=TOL, keep_buffer=True)
    r0 = solver.solve(A)
    vecs = []
    try:
        bv = r0.vectors
        for j in range(bv.getActiveColumns()[1]):
            x = A.createVecRight()
            col = bv.getColumn(j)
            col.copy(x)
            bv.restoreColumn(j, col)
            vecs.append(x)
        mat = bv.getMat()
        local = np.array(mat.getDenseArray())
        bv.restoreMat(mat)
        rv = solver.solve(A, initial=vecs)
        ra = solver.solve(A, initial=local)
        try:
            # converged subspace given back: no filter pass needed
            assert rv.iterations == 0 and ra.iterations == 0
            np.testing.assert_allclose(rv.eigenvalues, r0.eigenvalues, atol=1e-10, rtol=0)
            np.testing.assert_allclose(ra.eigenvalues, r0.eigenvalues, atol=1e-10, rtol=0)
        finally:
            rv.destroy()
            ra.destroy()
        with pytest.raises(InputError, match="warm start"):
            solver.solve(A, initial=np.zeros((local.shape[0] + 1, 3)))
    finally:
        for x in vecs:
            x.destroy()
        r0.destroy()
        A.destroy()


@pytest.mark.mpi
def test_unconverged_raises_with_residuals():
    A = fd_matrix(8, k=(0.1, 0.2, 0.3))
    calls = []
    try:
        with pytest.raises(ConvergenceError, match=r"res=.*max_it"):
            ChebyshevSolver(nev=20, tol=1e-12, max_it=1, degree=4).solve(A)
        res = ChebyshevSolver(nev=20, tol=1e-12, max_it=1, degree=4, allow_unconverged=True,
                              monitor=lambda *a: calls.append(a)).solve(A)
        try:
            assert res.iterations == 1 and res.max_residual > 1e-12
            assert res.eigenvalues.shape == (20,)
            assert len(calls) == 1 and calls[0][0] == 1 and calls[0][3] == 4
        finally:
            res.destroy()
    finally:
        A.destroy()


@pytest.mark.mpi
def test_monitor_and_orthogonalisation_variants():
    A = fd_matrix(8, k=(0.1, 0.2, 0.3))
    w = np.linalg.eigvalsh(dense_of(A))
    seen = []
    try:
        for orth in ("tsqr", "svqb", "chol"):
            res = ChebyshevSolver(nev=16, tol=TOL, orth=orth,
                                  monitor=lambda *a: seen.append(a)).solve(A)
            try:
                np.testing.assert_allclose(res.eigenvalues, w[:16], atol=1e-9, rtol=0)
                assert [c[0] for c in seen] == list(range(1, res.iterations + 1))
                assert seen[-1][1] == 16 and seen[-1][2] <= TOL
                t = res.settings["times"]
                assert set(t) == {"bounds", "filter", "orth", "rr"}
            finally:
                res.destroy()
            seen.clear()
    finally:
        A.destroy()


@pytest.mark.mpi
def test_spectral_bounds():
    A = fd_matrix(8, k=(0.3, 0.0, 0.0))
    w = np.linalg.eigvalsh(dense_of(A))
    try:
        lo, hi = gershgorin_bounds(A)
        assert lo <= w[0] and hi >= w[-1]
        b = lanczos_bounds(A, steps=30, fraction=0.05)
        assert b.upper >= w[-1] and b.upper <= hi + 1e-12
        # the lowest Ritz value of 30 Lanczos steps: Kaniel–Paige bounds its error by
        # (λ_N − λ₁)(tan φ₀ / T₂₉(1 + 2γ))² ≈ 2e-7 for γ = (λ₂ − λ₁)/(λ_N − λ₂) = 0.063 and a
        # random start (tan φ₀ ≈ √N); measured 1.2e-11
        assert b.lower == pytest.approx(w[0], abs=1e-6)
        assert b.lower < b.cut < b.upper
    finally:
        A.destroy()


@pytest.mark.mpi
def test_hermitian_projection_matches_dense_product():
    # Xᴴ A X from the upper block triangle (Rayleigh–Ritz) against the dense product of the
    # gathered arrays: 300 active columns behind 7 leading ones, i.e. two full column
    # blocks and a partial one, the leading offset included.
    comm = MPI.COMM_WORLD
    A = fd_matrix(8, k=(0.3, -0.2, 0.1))
    x = A.createVecRight()
    X = SLEPc.BV().create(comm=A.getComm())
    X.setSizesFromVec(x, 307)
    X.setType("mat")
    x.destroy()
    W = X.duplicate()
    try:
        r0, r1 = A.getOwnershipRange()
        rng = np.random.default_rng(5)
        full = rng.standard_normal((512, 307)) + 1j * rng.standard_normal((512, 307))
        mat = X.getMat()
        mat.getDenseArray()[:] = full[r0:r1]
        X.restoreMat(mat)
        X.setActiveColumns(7, 307)
        W.setActiveColumns(7, 307)
        X.matMult(A, W)
        H = hermitian_projection(X, W, comm)
        D = dense_of(A)   # collective
        on_rank0_only = comm.allreduce(int((H is None) == (comm.rank != 0)), op=MPI.MIN)
        assert on_rank0_only == 1
        err = None
        if comm.rank == 0:
            Xa = full[:, 7:]
            ref = Xa.conj().T @ D @ Xa
            err = [float(np.max(np.abs(H - ref)) / np.max(np.abs(ref))),
                   float(np.max(np.abs(H - H.conj().T)))]
        err = comm.bcast(err, root=0)
        assert err[0] < 1e-13
        assert err[1] == 0.0   # exactly Hermitian, as zheevd expects
    finally:
        for obj in (X, W, A):
            obj.destroy()


@pytest.mark.mpi
def test_density_of_states_estimate_of_the_cut():
    """The Lanczos (Gauss-quadrature) estimate of λ at a given fraction of the spectrum,
    which sets the first damping edge, lands near the eigenvalue with that index (exact
    spectrum by dense diagonalisation; one random vector, so only within ±30 %)."""
    A = fd_matrix(12, k=(0.3, 0.1, 0.0))
    w = np.linalg.eigvalsh(dense_of(A))
    try:
        for fraction in (0.03, 0.1, 0.2):
            cut = lanczos_bounds(A, fraction=fraction).cut
            count = int(np.searchsorted(w, cut))
            assert 0.7 * fraction * len(w) <= count <= 1.3 * fraction * len(w), (fraction, count)
    finally:
        A.destroy()


@pytest.mark.mpi
def test_density_of_states_damping_edge(monkeypatch):
    """edge_estimate=True keeps the Lanczos estimate of λ_nb as the damping edge while the top
    Ritz value lies above it; an estimate below λ_nev (forced here) is dropped after the
    first pass; estimates just above λ_nev cost no extra passes. All agree with dense
    diagonalisation."""
    from crustsolve.bands.eigensolvers import chebyshev as cheb  # noqa: PLC0415

    A = fd_matrix(12, k=(0.3, 0.1, 0.0))
    w = np.linalg.eigvalsh(dense_of(A))
    nev = 60
    real_bounds = cheb.lanczos_bounds

    def bounds_with_cut(cut):
        # lanczos_bounds with its density-of-states estimate of λ_nb replaced by ``cut``
        def bounds(*args, **kwargs):
            return cheb.SpectralBounds(**{**real_bounds(*args, **kwargs).__dict__,
                                          "cut": float(cut)})
        return bounds

    results = []
    try:
        kept = ChebyshevSolver(nev=nev, tol=TOL, edge_estimate=True).solve(A)
        results.append(kept)
        assert kept.settings["estimated_edge_passes"] >= 1
        np.testing.assert_allclose(kept.eigenvalues, w[:nev], atol=1e-9, rtol=0)

        monkeypatch.setattr(cheb, "lanczos_bounds", bounds_with_cut(w[nev // 2]))
        dropped = ChebyshevSolver(nev=nev, tol=TOL, edge_estimate=True).solve(A)
        results.append(dropped)
        assert dropped.settings["initial_cut"] == pytest.approx(w[nev // 2])
        assert dropped.settings["estimated_edge_passes"] == 0
        np.testing.assert_allclose(dropped.eigenvalues, w[:nev], atol=1e-9, rtol=0)

        # An estimate just above λ_nev: either a Ritz value above it drops it, or the edge
        # is held at the Ritz value a quarter into the buffer; the cut states keep their
        # distance from the damped interval: no more passes than with the estimate off.
        q = -(-(default_buffer(nev)) // 4)
        off = ChebyshevSolver(nev=nev, tol=TOL, edge_estimate=False).solve(A)
        results.append(off)
        for fraction in (0.2, 0.9, 2.0):
            just_above = w[nev - 1] + fraction * (w[nev - 1 + q] - w[nev - 1])
            monkeypatch.setattr(cheb, "lanczos_bounds", bounds_with_cut(just_above))
            close = ChebyshevSolver(nev=nev, tol=TOL, edge_estimate=True).solve(A)
            results.append(close)
            assert close.settings["damping_edge"] >= w[nev - 1 + q]
            assert close.iterations <= off.iterations
            np.testing.assert_allclose(close.eigenvalues, w[:nev], atol=1e-9, rtol=0)
    finally:
        for r in results:
            r.destroy()
        A.destroy()


@pytest.mark.mpi
def test_bad_input():
    A = fd_matrix(4)  # 64 rows
    bad = fd_matrix(4, k=(0.3, 0.0, 0.0), hermitian=False)
    try:
        with pytest.raises(InputError, match="nev"):
            ChebyshevSolver(nev=64).solve(A)
        with pytest.raises(InputError, match="nev"):
            ChebyshevSolver(nev=100).solve(A)
        with pytest.raises(InputError, match="Hermitian"):
            ChebyshevSolver(nev=4).solve(bad)
        for kwargs, message in (
                ({"tol": 0.0}, r"eigensolver tol = 0.0 is outside the allowed range \(0, 1\]"),
                ({"tol": -1e-8}, r"eigensolver tol = -1e-08 is outside the allowed range"),
                ({"nev": 0}, r"nev \(number of bands\) = 0 is outside the allowed range"),
                ({"degree": 0}, r"Chebyshev degree = 0 is outside the allowed range"),
                ({"orth": "qr"}, r"orth = 'qr' is not one of: tsqr, svqb, chol"),
                ({"buffer": -1}, r"eigensolver buffer = -1 is outside the allowed range"),
                ({"max_it": 0}, r"max_it = 0 is outside the allowed range"),
                ({"nev": 2.5}, r"nev \(number of bands\) must be an integer, got 2.5")):
            with pytest.raises(InputError, match=message):
                ChebyshevSolver(**{"nev": 4, **kwargs})
        # small matrix with nev + buffer ≥ N: exact Rayleigh–Ritz in the whole space
        res = ChebyshevSolver(nev=60, tol=TOL).solve(A)
        try:
            w = np.linalg.eigvalsh(dense_of(A))
            np.testing.assert_allclose(res.eigenvalues, w[:60], atol=1e-9, rtol=0)
            assert res.iterations == 0
        finally:
            res.destroy()
    finally:
        A.destroy()
        bad.destroy()


@pytest.mark.mpi
def test_bloch_hamiltonian_bcc_wells():
    """On crustsolve's BlochHamiltonian: bcc Gaussian wells, order 4, 10³ grid."""
    from crustsolve.bands import BlochHamiltonian, Fields, Grid, gather_dense

    grid = Grid(n=10, a=12.0, comm=MPI.COMM_WORLD)
    fields = Fields.gaussian_wells(10, 12.0, depth=50.0, radius=2.5, lattice="bcc")
    H = BlochHamiltonian(grid, fields, order=4)
    A = H.matrix((0.0, 0.0, 0.0))          # Γ: O_h degeneracies
    A2 = H.matrix((0.05, 0.02, 0.01))
    try:
        w = np.linalg.eigvalsh(gather_dense(grid, A))
        w2 = np.linalg.eigvalsh(gather_dense(grid, A2))
        res = ChebyshevSolver(nev=20, tol=TOL, keep_buffer=True).solve(A)
        warm = ChebyshevSolver(nev=20, tol=TOL).solve(A2, initial=res)
        cold = ChebyshevSolver(nev=20, tol=TOL).solve(A2)
        try:
            np.testing.assert_allclose(res.eigenvalues, w[:20], atol=1e-8, rtol=0)
            np.testing.assert_allclose(warm.eigenvalues, w2[:20], atol=1e-8, rtol=0)
            np.testing.assert_allclose(cold.eigenvalues, w2[:20], atol=1e-8, rtol=0)
            # less work from the previous k-point's vectors (stencil products: a pass
            # count alone does not always separate them on so small a problem)
            assert warm.settings["spmv"] < cold.settings["spmv"]
        finally:
            for r in (res, warm, cold):
                r.destroy()
    finally:
        A.destroy()
        A2.destroy()
        H.destroy()
        grid.destroy()
