"""Centring-translation sectors (crustsolve.bands.sectors): detection and refusal, the sector
matrices, and split solves by every eigensolver against the unsplit spectrum.

The reference everywhere is numpy's ``eigh`` of the full h(k), gathered dense on every rank
(``gather_dense``): an independent computation that knows nothing of the sectors, identical
for every rank count. Grids are 8³ at order 4 (stencil half-width 3 < n/2 = 4), so every
solve takes a fraction of a second.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from crustsolve.bands import BlochHamiltonian, Fields, Grid
from crustsolve.bands import sectors as sectors_mod
from crustsolve.bands.eigensolvers import WarmStartChain, make_eigensolver
from crustsolve.bands.hamiltonian import gather_dense
from crustsolve.bands.sectors import (CentringSectors, SectorSolver, detect_centring,
                                      sectors_for)
from crustsolve.errors import InputError

N_SIDE = 8
A_CELL = 12.0   # fm
ORDER = 4
K_GENERAL = np.array([0.11, 0.07, 0.03])   # fm⁻¹, trivial little group
K_GAMMA = np.zeros(3)                      # O_h little group: degenerate levels


def wells(lattice, n=N_SIDE):
    return Fields.gaussian_wells(n, A_CELL, depth=40.0, radius=2.5, lattice=lattice)


class Problem:
    """Grid, h, sectors and the dense reference of one lattice on ``comm`` (destroy it)."""

    def __init__(self, comm, lattice, k, fields=None):
        self.fields = wells(lattice) if fields is None else fields
        self.grid = Grid(self.fields.n, self.fields.a, comm=comm)
        self.H = BlochHamiltonian(self.grid, self.fields, order=ORDER)
        self.sectors = CentringSectors(self.grid, lattice)
        self.A = self.H.matrix(k)
        self.dense = gather_dense(self.grid, self.A)
        self.ref = np.linalg.eigvalsh(self.dense)

    def full_vectors(self, bv, m):
        """(N, m) natural-order array of the first m columns of a full-grid BV (all ranks)."""
        bv.setActiveColumns(0, m)
        mat = bv.getMat()
        local = mat.getDenseArray().copy()
        bv.restoreMat(mat)
        X = np.concatenate(self.grid.comm.allgather(local), axis=0)
        nat = np.empty(self.grid.size, dtype=np.int64)
        nat[self.grid.petsc_index.ravel()] = np.arange(self.grid.size)
        out = np.empty_like(X)
        out[nat] = X
        return out

    def destroy(self):
        self.A.destroy()
        self.sectors.destroy()
        self.H.destroy()
        self.grid.destroy()


@pytest.fixture
def problem(comm):
    made = []

    def make(lattice, k=K_GENERAL, fields=None):
        made.append(Problem(comm, lattice, k, fields))
        return made[-1]

    yield make
    for p in made:
        p.destroy()


def check_eigenpairs(p, res, nev):
    """Energies equal the unsplit spectrum; unfolded vectors are orthonormal eigenvectors."""
    m = len(res.eigenvalues)
    assert m >= nev
    np.testing.assert_allclose(res.eigenvalues, p.ref[:m], rtol=0, atol=1e-10)
    X = p.full_vectors(res.vectors, m)
    R = p.dense @ X - X * res.eigenvalues
    assert np.max(np.linalg.norm(R, axis=0)) < 1e-8
    np.testing.assert_allclose(X.conj().T @ X, np.eye(m), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------- detection
def test_detection_finds_bcc_and_fcc_and_refuses_with_the_reason():
    assert detect_centring(wells("bcc")).kind == "bcc"
    assert detect_centring(wells("fcc")).kind == "fcc"
    sc = detect_centring(wells("sc"))
    assert sc.kind is None and not sc
    assert "largest relative deviation" in sc.reason and "field U" in sc.reason
    assert sc.deviations["bcc"] > 0.1 and sc.deviations["fcc"] > 0.1
    odd = detect_centring(Fields.uniform(9, A_CELL))
    assert odd.kind is None and "n = 9" in odd.reason and "odd" in odd.reason
    # Both groups (the empty lattice): fcc, the one with more sectors.
    assert detect_centring(Fields.uniform(8, A_CELL)).kind == "fcc"


def test_a_current_field_without_the_symmetry_is_detected():
    f = wells("bcc")
    rng = np.random.default_rng(3)
    current = np.zeros((3,) + f.U.shape)
    current[1] = 0.5 * rng.standard_normal(f.U.shape)   # not invariant under (4, 4, 4)
    det = detect_centring(f.replace(I=current))
    assert det.kind is None and "field I_y" in det.reason
    # A current field that is invariant keeps the group.
    sym = current + np.roll(current, (4, 4, 4), axis=(1, 2, 3))
    assert detect_centring(f.replace(I=sym)).kind == "bcc"


@pytest.mark.mpi
def test_refusal_names_the_group_and_the_deviation(comm):
    grid = Grid(N_SIDE, A_CELL, comm=comm)
    try:
        with pytest.raises(InputError, match=r"centring = 'bcc' refused: .*largest relative "
                                             r"deviation [0-9.e+-]+ > tolerance 1e-10"):
            CentringSectors.for_fields(grid, wells("sc"), "bcc")
        with pytest.raises(InputError, match="centring = 'fcc' refused"):
            CentringSectors.for_fields(grid, wells("bcc"), "fcc")
        assert CentringSectors.for_fields(grid, wells("sc"), "auto") is None
        assert sectors_for(grid, wells("bcc"), "off") is None
        with pytest.raises(InputError, match="bands.sectors"):
            sectors_for(grid, wells("bcc"), "on")
        sec = sectors_for(grid, wells("fcc"), "auto")
        assert sec.kind == "fcc" and sec.order == 4 and sec.sector_size == N_SIDE**3 // 4
        sec.destroy()
    finally:
        grid.destroy()
    odd = Grid(9, A_CELL, comm=comm)
    try:
        with pytest.raises(InputError, match="n = 9 points per side is odd"):
            CentringSectors.for_fields(odd, Fields.uniform(9, A_CELL), "bcc")
    finally:
        odd.destroy()


# ---------------------------------------------------------------------------- sector matrices
@pytest.mark.mpi
@pytest.mark.parametrize("lattice", ["bcc", "fcc"])
def test_sector_matrices_follow_the_formula_and_split_the_spectrum(problem, lattice):
    p = problem(lattice)
    sec, n = p.sectors, N_SIDE
    G = sec.order
    elements, chars = sec.elements, sec.characters
    # Fundamental domain in natural order, and the images g·j of its points.
    ix, iy, iz = np.indices((n, n, n))
    dom = (iz < n // 2) if lattice == "bcc" else ((iy < n // 2) & (iz < n // 2))
    pts = np.argwhere(dom)                                           # C order
    flat = lambda q: (q[:, 0] * n + q[:, 1]) * n + q[:, 2]          # noqa: E731
    rows = flat(pts)
    spectra = []
    for s in range(G):
        M = sec.sector_matrix(p.A, s)
        try:
            D = _gather(M)
            # H_σ[i, j] = Σ_g χ_σ(g) H[i, g·j]: the brief's formula, from the dense full h.
            expect = sum(chars[s, b] * p.dense[np.ix_(rows, flat(np.mod(pts + g, n)))]
                         for b, g in enumerate(elements))
            np.testing.assert_allclose(D, expect, rtol=0, atol=1e-12)
            np.testing.assert_allclose(D, D.conj().T, rtol=0, atol=1e-12)
            nnz = np.count_nonzero(np.abs(D) > 0, axis=1)
            assert np.all(nnz == p.H.nnz_per_row)          # same stencil per row
            spectra.append(np.linalg.eigvalsh(D))
        finally:
            M.destroy()
    assert D.shape == (n**3 // G,) * 2
    np.testing.assert_allclose(np.sort(np.concatenate(spectra)), p.ref, rtol=0, atol=1e-10)


def _gather(M):
    """Dense copy of a distributed AIJ Mat in its own (sector) row order, on every rank."""
    indptr, cols, vals = M.getValuesCSR()
    r0, r1 = M.getOwnershipRange()
    nrow = M.getSize()[0]
    rows = np.repeat(np.arange(r0, r1), np.diff(indptr))
    parts = M.getComm().tompi4py().allgather((rows, np.asarray(cols), np.asarray(vals)))
    out = np.zeros((nrow, nrow), dtype=complex)
    for r, c, v in parts:
        np.add.at(out, (r, c), v)
    return out


# ---------------------------------------------------------------------------- split solves
SOLVERS = ["lapack", "krylovschur", "chebyshev"]


@pytest.mark.mpi
@pytest.mark.parametrize("kind", SOLVERS)
@pytest.mark.parametrize("lattice", ["bcc", "fcc"])
@pytest.mark.parametrize("at", ["general", "gamma"])
def test_split_solve_equals_the_unsplit_spectrum(problem, kind, lattice, at):
    p = problem(lattice, K_GENERAL if at == "general" else K_GAMMA)
    nev = 30
    solver = make_eigensolver(kind, nev=nev, tol=1e-10, want_vectors=True)
    res = SectorSolver(p.sectors, solver).solve(p.A)
    try:
        assert len(res.eigenvalues) == nev and res.max_residual <= 1e-10
        check_eigenpairs(p, res, nev)
        info = res.settings["sectors"]
        assert sum(s["selected"] for s in info) == nev and len(info) == p.sectors.order
        # every sector was solved beyond the cut (the verified condition)
        assert all(s["top"] > res.eigenvalues[-1] for s in info)
        gap = p.ref[nev] - p.ref[nev - 1]
        assert res.cut_gap == pytest.approx(gap, abs=1e-9)
        if at == "gamma":
            # degenerate levels are there, with their multiplicities
            assert np.any(np.diff(p.ref[:nev]) < 1e-9)
    finally:
        res.destroy()


@pytest.mark.mpi
@pytest.mark.parametrize("kind", SOLVERS)
def test_a_cluster_at_the_cut_stays_whole(problem, kind):
    p = problem("bcc", K_GAMMA)
    # a cut inside the first degenerate cluster above the 12th level
    d = np.diff(p.ref)
    nev = next(i for i in range(12, 60) if d[i - 1] > 1e-6 and d[i] < 1e-9) + 1
    end = next(j for j in range(nev, 200) if d[j] > 1e-6) + 1       # cluster's last level
    solver = make_eigensolver(kind, nev=nev, tol=1e-10, want_vectors=True, extend_clusters=True)
    res = SectorSolver(p.sectors, solver).solve(p.A)
    try:
        assert len(res.eigenvalues) == end > nev
        check_eigenpairs(p, res, end)
        assert not res.cut_splits_cluster
    finally:
        res.destroy()
    plain = make_eigensolver(kind, nev=nev, tol=1e-10, want_vectors=False)
    res = p.sectors.solve(plain, p.A)
    try:
        assert res.vectors is None and res.cut_splits_cluster
        np.testing.assert_allclose(res.eigenvalues, p.ref[:nev], rtol=0, atol=1e-10)
    finally:
        res.destroy()


@pytest.mark.mpi
@pytest.mark.parametrize("kind", SOLVERS)
def test_a_short_sector_is_solved_again(problem, kind, monkeypatch):
    # No over-request at all: the empty lattice at Γ splits its lowest 7 states 1 : 6
    # between the bcc sectors (G = 0 even; the six |G| = 2π/a odd), so sector −1 is short.
    p = problem("bcc", K_GAMMA, fields=Fields.uniform(N_SIDE, A_CELL, U0=-5.0))
    monkeypatch.setattr(sectors_mod, "SHARE_MARGIN", 1.0)
    monkeypatch.setattr(sectors_mod, "EXTRA_STATES", 0)
    nev = 7
    res = p.sectors.solve(make_eigensolver(kind, nev=nev, tol=1e-10), p.A)
    try:
        np.testing.assert_allclose(res.eigenvalues, p.ref[:nev], rtol=0, atol=1e-10)
        info = res.settings["sectors"]
        assert [s["selected"] for s in info] == [1, 6]
        assert max(s["solves"] for s in info) > 1
        check_eigenpairs(p, res, nev)
    finally:
        res.destroy()


@pytest.mark.mpi
def test_chebyshev_warm_start_chain_goes_sector_by_sector(problem):
    p = problem("fcc")
    solver = SectorSolver(p.sectors, make_eigensolver("chebyshev", nev=24, tol=1e-10,
                                                      want_vectors=True))
    assert solver.takes_warm_start and solver.nev == 24 and solver.kind == "chebyshev"
    chain = WarmStartChain()
    try:
        first = chain.solve(solver, p.A)
        assert len(first.sector_results) == 4 and chain.keeps(first)
        A2 = p.H.matrix(K_GENERAL + np.array([0.01, 0.005, 0.0]))
        try:
            second = chain.solve(solver, A2)
            ref2 = np.linalg.eigvalsh(gather_dense(p.grid, A2))
            np.testing.assert_allclose(second.eigenvalues, ref2[:24], rtol=0, atol=1e-10)
            assert all(s["settings"]["warm_start"] for s in second.settings["sectors"])
            assert chain.keeps(second)
        finally:
            A2.destroy()
    finally:
        chain.close()


@pytest.mark.mpi
def test_band_engine_with_sectors_auto_and_off(comm):
    from crustsolve.bands.bandstructure import SolverSettings, compute_bands  # noqa: PLC0415
    from crustsolve.parallel import Layout  # noqa: PLC0415

    f = wells("bcc")
    kpts = np.array([K_GENERAL, K_GAMMA, [0.0, 0.0, math.pi / A_CELL]])
    layout = Layout.create(comm, ngroups=1)
    try:
        out = {}
        for mode in ("auto", "off"):
            out[mode] = compute_bands(f, kpts, SolverSettings(kind="krylovschur", nev=20,
                                                              tol=1e-10, sectors=mode),
                                      layout, order=ORDER)
        assert out["auto"].settings["centring"] == "bcc"
        assert out["off"].settings["centring"] == "none"
        np.testing.assert_allclose(out["auto"].energies, out["off"].energies, rtol=0, atol=1e-10)
    finally:
        layout.free()
    with pytest.raises(InputError, match="sectors"):
        SolverSettings(sectors="always")


@pytest.mark.mpi
@pytest.mark.parametrize("kind", ["lapack", "chebyshev"])
def test_superfluid_density_is_the_same_with_and_without_sectors(comm, kind):
    # Downstream use of the unfolded vectors: velocity matrix elements, gap, sums over the
    # zone (crustsolve.response) see the same EigenResult interface.
    from crustsolve.bands.kmesh import KMesh  # noqa: PLC0415
    from crustsolve.parallel import Layout  # noqa: PLC0415
    from crustsolve.response.superfluid import superfluid_density  # noqa: PLC0415

    f = wells("bcc")
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    layout = Layout.create(comm, ngroups=1)
    grid = Grid(f.n, f.a, comm=layout.kcomm)
    H = BlochHamiltonian(grid, f, order=ORDER)
    sec = CentringSectors.for_fields(grid, f, "bcc")
    out = {}
    try:
        for mode in ("off", "bcc"):
            solver = make_eigensolver(kind, nev=80, tol=1e-10, want_vectors=True)
            if mode == "bcc":
                solver = SectorSolver(sec, solver)
            out[mode] = superfluid_density(H, km, solver, gap=1.0, mu=10.0, layout=layout,
                                           levels=("normal", "intraband", "form_a", "form_b"))
    finally:
        sec.destroy()
        H.destroy()
        grid.destroy()
        layout.free()
    for level in ("normal", "intraband", "form_a", "form_b"):
        ref = out["off"].tensor(level)
        np.testing.assert_allclose(out["bcc"].tensor(level), ref, rtol=1e-9,
                                   atol=1e-12 * np.max(np.abs(ref)), err_msg=level)
    assert out["bcc"].scalar("form_a") > 0.0
