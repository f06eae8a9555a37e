"""Eigensolver interface: dense vs Krylov–Schur (multiplicities, 1/2/3 ranks), residuals,
convergence errors, options pass-through, bad input, degenerate clusters at the cut.

The test operator is built here, independently of crustsolve.bands.hamiltonian: a 7-point
periodic Laplacian in the u-gauge (phase e^{ik·d} on every coupling) plus the separable
potential V0 Σ_d cos(2π x_d / a), which is O_h symmetric, so Γ and R have degenerate levels.
The reference spectrum is numpy's ``eigvalsh`` of the same matrix built with scipy on every
rank, so it is identical for every rank count.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse

from crustsolve.bands.eigensolvers import (DenseSolver, KrylovSchurSolver, make_eigensolver)
from crustsolve.errors import ConvergenceError, InputError
from crustsolve.petsc_env import init_petsc

B0 = 20.0       # MeV fm², ħ²/2m-like
A_CELL = 12.0   # fm
V0 = -6.0       # MeV


def model_csr(n, a, k, v0=V0):
    """scipy CSR of −B ∇_k² + V on n³ points (natural order ix + n iy + n² iz)."""
    h = a / n
    idx = np.arange(n**3)
    ix, iy, iz = idx % n, (idx // n) % n, idx // n**2
    coords = (ix, iy, iz)
    x = np.stack(coords) * h
    diag = 6.0 * B0 / h**2 + v0 * np.cos(2 * np.pi * x / a).sum(axis=0)
    rows, cols, vals = [idx], [idx], [diag.astype(complex)]
    for d in range(3):
        for s in (+1, -1):
            shifted = [c.copy() for c in coords]
            shifted[d] = (shifted[d] + s) % n
            j = shifted[0] + n * shifted[1] + n**2 * shifted[2]
            rows.append(idx)
            cols.append(j)
            # u-gauge: the coupling to the neighbour at displacement s·h·e_d carries e^{i k_d s h}
            vals.append(np.full(n**3, -B0 / h**2 * np.exp(1j * k[d] * s * h)))
    S = scipy.sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                shape=(n**3, n**3))
    S.sum_duplicates()
    S.sort_indices()
    return S


def petsc_matrix(comm, S):
    """Distribute the rows of S over ``comm`` as a PETSc complex AIJ matrix."""
    PETSc, _ = init_petsc()
    N = S.shape[0]
    base, extra = divmod(N, comm.size)
    r0 = comm.rank * base + min(comm.rank, extra)
    r1 = r0 + base + (1 if comm.rank < extra else 0)
    loc = S[r0:r1]
    A = PETSc.Mat().createAIJ(size=((r1 - r0, N), (r1 - r0, N)),
                              csr=(loc.indptr.astype(PETSc.IntType), loc.indices.astype(PETSc.IntType),
                                   loc.data.astype(PETSc.ScalarType)),
                              comm=PETSc.Comm(comm))
    A.assemble()
    return A


def clusters(evals, tol=1e-6):
    """Multiplicities of consecutive degenerate groups."""
    sizes = [1]
    for a, b in zip(evals[:-1], evals[1:]):
        if b - a <= tol * max(1.0, abs(a)):
            sizes[-1] += 1
        else:
            sizes.append(1)
    return sizes


KPOINTS = {
    "Gamma": (0.0, 0.0, 0.0),
    "R": (math.pi / A_CELL,) * 3,
    "generic": (0.11, -0.07, 0.23),
}


@pytest.mark.mpi
@pytest.mark.parametrize("kname", sorted(KPOINTS))
def test_dense_and_krylovschur_agree_with_multiplicities(comm, kname):
    n, nev = 8, 24
    S = model_csr(n, A_CELL, KPOINTS[kname])
    ref = np.linalg.eigvalsh(S.toarray())[:nev]
    A = petsc_matrix(comm, S)
    dense = make_eigensolver("lapack", nev, tol=1e-10).solve(A)
    ks = make_eigensolver("krylovschur", nev, tol=1e-10).solve(A)
    try:
        assert dense.eigenvalues.shape == ks.eigenvalues.shape == (nev,)
        np.testing.assert_allclose(dense.eigenvalues, ref, atol=1e-9)
        np.testing.assert_allclose(ks.eigenvalues, ref, atol=1e-8)
        # multiplicities (whole clusters below the last one, which the cut may split)
        c_ref, c_ks, c_dense = clusters(ref), clusters(ks.eigenvalues), clusters(dense.eigenvalues)
        assert c_ks[:-1] == c_ref[:-1] and c_dense[:-1] == c_ref[:-1]
        if kname != "generic":
            assert max(c_ref) >= 3  # the test really has degenerate levels
        assert ks.max_residual <= 1e-10 and dense.max_residual <= 1e-10
        assert ks.solver == "krylovschur" and dense.solver == "lapack"
        # every rank holds the same numbers, bit for bit: required, not a float tolerance
        # question — the cluster cut and the convergence test are taken on each rank from
        # these values, and a one-ulp difference could split the ranks' decisions
        allv = comm.allgather(ks.eigenvalues)
        for v in allv:
            np.testing.assert_array_equal(v, allv[0])
    finally:
        dense.destroy()
        ks.destroy()
        A.destroy()


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["krylovschur", "lapack"])
def test_vectors_are_orthonormal_eigenvectors(comm, kind):
    n, nev = 6, 10
    S = model_csr(n, A_CELL, KPOINTS["generic"])
    A = petsc_matrix(comm, S)
    res = make_eigensolver(kind, nev, tol=1e-10).solve(A)
    try:
        bv = res.vectors
        assert bv.getSizes()[1] == nev
        assert bv.getSizes()[0][1] == n**3
        y = A.createVecLeft()
        mine = []
        for j in range(nev):
            v = bv.getColumn(j)
            A.mult(v, y)
            y.axpy(-res.eigenvalues[j], v)
            mine.append(y.norm() / max(1.0, abs(res.eigenvalues[j])))
            assert abs(v.norm() - 1.0) < 1e-10
            bv.restoreColumn(j, v)
        y.destroy()
        assert max(mine) < 1e-9
        # the reported residuals are these ‖Av − λv‖/max(1, |λ|) (computed by SLEPc or scipy):
        # equal to round-off ~1e-16 ‖A‖ ≈ 5e-15
        np.testing.assert_allclose(res.residuals, mine, rtol=0, atol=1e-13)
    finally:
        res.destroy()
        A.destroy()


@pytest.mark.mpi
def test_no_vectors_when_not_wanted(comm):
    S = model_csr(6, A_CELL, KPOINTS["Gamma"])
    ref = np.linalg.eigvalsh(S.toarray())[:5]
    A = petsc_matrix(comm, S)
    try:
        for kind in ("krylovschur", "lapack"):
            res = make_eigensolver(kind, 5, want_vectors=False).solve(A)
            assert res.vectors is None
            assert res.residuals.shape == (5,) and np.all(res.residuals <= 1e-8)
            # the energies are still right: Hermitian (Bauer–Fike) error ≤ residual ≤
            # tol·max(1, |λ|) = 1e-8 · 7.7
            np.testing.assert_allclose(res.eigenvalues, ref, rtol=0, atol=1e-7)
            assert res.seconds >= 0 and res.nconv >= 5 and res.iterations >= 1
    finally:
        A.destroy()


@pytest.mark.mpi
def test_unconverged_raises_with_residuals(comm):
    A = petsc_matrix(comm, model_csr(8, A_CELL, KPOINTS["generic"]))
    try:
        solver = make_eigensolver("krylovschur", 20, tol=1e-12, max_it=1, want_vectors=False)
        with pytest.raises(ConvergenceError, match=r"res="):
            solver.solve(A)
        loose = make_eigensolver("krylovschur", 20, tol=1e-12, max_it=1, want_vectors=False,
                                 allow_unconverged=True)
        res = loose.solve(A)
        assert res.eigenvalues.shape == (20,)
        assert res.nconv < 20 or np.any(res.residuals > 1e-12)
    finally:
        A.destroy()


@pytest.mark.mpi
def test_options_reach_the_solver(comm):
    PETSc, _ = init_petsc()
    A = petsc_matrix(comm, model_csr(6, A_CELL, KPOINTS["generic"]))
    opts = PETSc.Options()
    solver = KrylovSchurSolver(nev=6, tol=1e-9)
    try:
        eps = solver.configure(A)
        base = solver.settings_of(eps)
        eps.destroy()
        assert base["tol"] == 1e-9 and base["max_it"] == 1000 and base["bv_type"] == "mat"
        assert base["eps_type"] == "krylovschur" and base["options_prefix"] == "crust_"
        # options inserted through init_petsc (what the CLI does) and through PETSc.Options()
        init_petsc(["-crust_eps_max_it", "77", "-eps_tol", "1e-7", "-crust_bv_type", "svec"])
        opts.setValue("eps_max_it", "55")  # plain: lower precedence than the prefixed one
        eps = solver.configure(A)
        got = solver.settings_of(eps)
        eps.destroy()
        assert got["max_it"] == 77
        assert got["tol"] == pytest.approx(1e-7)
        assert got["bv_type"] == "svec"
        # a solve honours them and reports them
        res = solver.solve(A)
        assert res.settings["max_it"] == 77 and res.settings["bv_type"] == "svec"
        res.destroy()
        # an option that changes the method itself
        opts.setValue("crust_eps_type", "lapack")
        res = solver.solve(A)
        assert res.solver == "lapack"
        res.destroy()
        # the number of bands is crustsolve's
        opts.setValue("crust_eps_nev", "2")
        with pytest.raises(InputError, match="eps_nev"):
            solver.configure(A)
    finally:
        for key in ("crust_eps_max_it", "eps_tol", "crust_bv_type", "eps_max_it", "crust_eps_type",
                    "crust_eps_nev"):
            opts.delValue(key)
        A.destroy()


@pytest.mark.mpi
def test_cluster_at_the_cut(comm):
    n = 6
    S = model_csr(n, A_CELL, KPOINTS["Gamma"])
    ref = np.linalg.eigvalsh(S.toarray())
    sizes = clusters(ref[:20])
    assert sizes[0] == 1 and sizes[1] >= 3  # ground state, then a degenerate level
    A = petsc_matrix(comm, S)
    try:
        for kind in ("lapack", "krylovschur"):
            split = make_eigensolver(kind, 2, tol=1e-10, want_vectors=False).solve(A)
            assert split.cut_splits_cluster
            assert split.cut_gap == pytest.approx(0.0, abs=1e-6)
            whole = make_eigensolver(kind, 1 + sizes[1], tol=1e-10, want_vectors=False).solve(A)
            # the gap above the whole cluster, from the dense spectrum (each level is good to
            # its residual, ≤ 1e-10 · 6 MeV)
            assert not whole.cut_splits_cluster
            assert whole.cut_gap == pytest.approx(ref[1 + sizes[1]] - ref[sizes[1]], abs=1e-8)
            ext = make_eigensolver(kind, 2, tol=1e-10, extend_clusters=True).solve(A)
            assert len(ext.eigenvalues) == 1 + sizes[1] and not ext.cut_splits_cluster
            assert ext.vectors.getSizes()[1] == 1 + sizes[1]
            np.testing.assert_allclose(ext.eigenvalues, ref[:1 + sizes[1]], atol=1e-8)
            ext.destroy()
    finally:
        A.destroy()


@pytest.mark.mpi
def test_bad_input(comm):
    A = petsc_matrix(comm, model_csr(4, A_CELL, KPOINTS["Gamma"]))
    try:
        with pytest.raises(InputError, match="only 64 rows"):
            make_eigensolver("krylovschur", 65).solve(A)
        with pytest.raises(InputError, match="only 64 rows"):
            make_eigensolver("lapack", 65).solve(A)
        with pytest.raises(InputError, match="max_size"):
            make_eigensolver("lapack", 4, max_size=50).solve(A)
    finally:
        A.destroy()
    with pytest.raises(InputError, match="eigensolver kind"):
        make_eigensolver("arnoldi-magic", 4)
    with pytest.raises(InputError, match="nev"):
        make_eigensolver("krylovschur", 0)
    with pytest.raises(InputError, match="nev"):
        make_eigensolver("lapack", 2.5)
    with pytest.raises(InputError, match="tol"):
        make_eigensolver("krylovschur", 4, tol=float("nan"))
    with pytest.raises(InputError, match="max_it"):
        make_eigensolver("krylovschur", 4, max_it=0)
    assert isinstance(make_eigensolver("lapack", 3), DenseSolver)


def test_small_matrix_full_spectrum():
    """nev close to N: Krylov–Schur must cap ncv at N and still agree with dense."""
    from mpi4py import MPI

    comm = MPI.COMM_SELF
    S = model_csr(3, A_CELL, KPOINTS["generic"])
    A = petsc_matrix(comm, S)
    try:
        ks = make_eigensolver("krylovschur", 25, tol=1e-10, want_vectors=False).solve(A)
        w = np.linalg.eigvalsh(S.toarray())
        np.testing.assert_allclose(ks.eigenvalues, w[:25], atol=1e-8)
        # λ₂₆ is in the capped basis too: the gap above the cut (levels good to 1e-10·|λ|)
        assert ks.cut_gap == pytest.approx(w[25] - w[24], abs=1e-8)
    finally:
        A.destroy()
