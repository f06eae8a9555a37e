"""FD Bloch Hamiltonian: the checks listed in ``docs/numerics.md``, "Checks in the test suite".

Tests marked ``mpi`` are collective and pass at any communicator size (they compare the
gathered matrices with the serial numpy reference, which every rank computes identically).
"""
from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from crustsolve.bands import BlochHamiltonian, Fields, Grid, gather_dense
from crustsolve.bands.reference import (ReferenceHamiltonian, cosine_1d_bands,
                                        separable_spectrum)
from crustsolve.bands.stencils import (centred_derivative, derivative_symbol, fd_dispersion,
                                       interpolation_symbol)
from crustsolve.constants import HBAR2_2MN
from crustsolve.errors import InputError

K_GENERIC = np.array([0.11, -0.07, 0.05])  # fm⁻¹, no symmetry


def _rough_fields(n, a, current=True, seed=7):
    """Position-dependent U, B and I (random, so no accidental symmetry)."""
    rng = np.random.default_rng(seed)
    return Fields(U=5 * rng.normal(size=(n,) * 3), B=HBAR2_2MN * (1 + 0.3 * rng.random((n,) * 3)),
                  a=a, I=rng.normal(size=(3, n, n, n)) if current else None)


def _smooth_fields(n, a, current=False):
    """sc Gaussian well with a smooth position-dependent B (and optionally a smooth I)."""
    f = Fields.gaussian_wells(n, a, depth=30.0, radius=2.0, lattice="sc")
    x = np.arange(n) * a / n
    c = np.cos(2 * np.pi * x / a)
    B = HBAR2_2MN * (1 + 0.1 * (c[:, None, None] + 0.5 * c[None, :, None] * c[None, None, :]))
    I = None  # noqa: E741
    if current:
        s = np.sin(2 * np.pi * x / a)
        cube = (n, n, n)
        I = np.array([np.broadcast_to(3.0 + s[None, :, None], cube),   # noqa: E741
                      np.broadcast_to(0.5 * c[:, None, None], cube),
                      np.full(cube, -1.0)])
    return f.replace(B=B, I=I)


class _Built:
    """Grid + Hamiltonian with collective cleanup."""

    def __init__(self, fields, order, comm):
        self.grid = Grid(fields.n, fields.a, comm=comm)
        self.H = BlochHamiltonian(self.grid, fields, order=order)

    def dense(self, k, deriv=()):
        mk = {0: self.H.matrix, 1: self.H.dmatrix, 2: self.H.d2matrix}[len(deriv)]
        A = mk(k, *deriv)
        try:
            return gather_dense(self.grid, A)
        finally:
            A.destroy()

    def close(self):
        self.H.destroy()
        self.grid.destroy()


def _eigh(k, built):
    return np.linalg.eigh(built.dense(k))


# --------------------------------------------------------------------- assembly
@pytest.mark.mpi
@pytest.mark.parametrize("order, n", [(2, 5), (4, 8), (6, 11)])
def test_assembly_matches_numpy_reference(comm, order, n):
    """PETSc CSR assembly = matrix-free composition (D⁺)ᴴBD⁺ + current, incl. ∂h and ∂²h."""
    f = _rough_fields(n, 1.1 * n)
    ref = ReferenceHamiltonian.from_fields(f, order)
    b = _Built(f, order, comm)
    try:
        assert b.H.stencil_halfwidth == order - 1 and b.H.nnz_per_row == 1 + 6 * (order - 1)
        assert b.H.size == n**3
        # random probes X: the gathered PETSc matrix times X = the matrix-free reference on X
        X = np.random.default_rng(1).normal(size=(n**3, 16)) + 0j
        for deriv in [(), (0,), (1,), (2,), (0, 0), (2, 2), (0, 1)]:
            D = b.dense(K_GENERIC, deriv)
            R = ref.apply(X.reshape((n,) * 3 + (16,)), K_GENERIC, deriv).reshape(n**3, 16)
            scale = np.abs(R).max() or 1.0
            np.testing.assert_allclose(D @ X, R, rtol=0, atol=1e-13 * scale, err_msg=str(deriv))
            if deriv == (0, 1):
                # exact: a star stencil has no displacement along two axes, every entry is
                # multiplied by d_x d_y = 0.0
                assert not D.any()
    finally:
        b.close()


@pytest.mark.mpi
def test_same_matrix_on_any_number_of_ranks_and_k_groups(comm):
    """World, self and split (k-group) communicators give the same matrix."""
    f = _smooth_fields(8, 9.0, current=True)
    k = np.array([0.2, 0.0, -0.1])
    serial = _Built(f, 4, MPI.COMM_SELF)
    world = _Built(f, 4, comm)
    sub = comm.Split(color=comm.rank % 2, key=comm.rank)
    group = _Built(f, 4, sub)
    try:
        # Entries are formed elementwise from the same replicated fields, but on local blocks
        # of different length and alignment, and numpy does not promise the same rounding
        # for a vectorised body and a scalar tail (FMA): allow ~100 ulp of the largest entry;
        # a layout error would be O(1)
        S = serial.dense(k)
        tol = 1e-14 * np.abs(S).max()
        np.testing.assert_allclose(world.dense(k), S, rtol=0, atol=tol)
        np.testing.assert_allclose(group.dense(k), S, rtol=0, atol=tol)
        dS = serial.dense(k, (1,))
        np.testing.assert_allclose(world.dense(k, (1,)), dS, rtol=0, atol=1e-14 * np.abs(dS).max())
    finally:
        group.close()
        world.close()
        serial.close()
        sub.Free()


# -------------------------------------------------------------- Hermiticity, symmetry
@pytest.mark.mpi
@pytest.mark.parametrize("current", (False, True))
def test_hermitian_with_variable_B_and_current(comm, current):
    f = _rough_fields(8, 8.8, current=current)
    b = _Built(f, 4, comm)
    try:
        for mk, args in [(b.H.matrix, ()), (b.H.dmatrix, (2,)), (b.H.d2matrix, (0, 0))]:
            A = mk(K_GENERIC, *args)
            if comm.size == 1:   # PETSc 3.18 checks Hermiticity for (seq)aij only
                assert A.isHermitian(1e-12)
            # A x = Aᴴ x for a random x, in PETSc at any communicator size
            x, y = A.createVecs()
            x.setRandom()
            z = y.duplicate()
            A.mult(x, y)
            A.multHermitian(x, z)
            z.axpy(-1.0, y)
            assert z.norm() <= 1e-13 * y.norm()
            for vec in (x, y, z):
                vec.destroy()
            D = gather_dense(b.grid, A)
            np.testing.assert_allclose(D, D.conj().T, atol=1e-13 * np.abs(D).max())
            A.destroy()
    finally:
        b.close()


def test_k_plus_G_and_time_reversal(comm):
    a, n = 8.0, 8
    G = 2 * np.pi / a
    k = np.array([0.13, -0.21, 0.08])
    for current in (False, True):
        b = _Built(_smooth_fields(n, a, current=current), 4, MPI.COMM_SELF)
        try:
            e = np.linalg.eigvalsh(b.dense(k))
            for shift in ([G, 0, 0], [0, G, -G], [-G, G, G]):
                np.testing.assert_allclose(np.linalg.eigvalsh(b.dense(k + np.array(shift))), e,
                                           atol=1e-10 * np.abs(e).max())
            e_minus = np.linalg.eigvalsh(b.dense(-k))
            if current:
                assert np.abs(e_minus - e).max() > 1e-2   # the current field breaks E(k) = E(-k)
            else:
                np.testing.assert_allclose(e_minus, e, atol=1e-10 * np.abs(e).max())
        finally:
            b.close()


# ---------------------------------------------------------- k-derivatives
def _nondegenerate(e, tol):
    gaps = np.diff(e)
    ok = np.ones(e.size, bool)
    ok[:-1] &= gaps > tol
    ok[1:] &= gaps > tol
    return np.flatnonzero(ok)


@pytest.mark.parametrize("current", (False, True))
def test_hellmann_feynman(current):
    """dε/dk_d by central differences = ⟨α|∂h/∂k_d|α⟩ for non-degenerate bands."""
    a, n, dk = 8.0, 7, 1e-6
    b = _Built(_smooth_fields(n, a, current=current), 4, MPI.COMM_SELF)
    k = np.array([0.13, -0.21, 0.08])
    try:
        e, v = _eigh(k, b)
        idx = _nondegenerate(e, 0.05)   # gap (MeV) ≫ dk·|v|, so no level crosses in the step
        assert idx.size > 250
        for d in range(3):
            step = np.zeros(3)
            step[d] = dk
            fd = (np.linalg.eigvalsh(b.dense(k + step)) - np.linalg.eigvalsh(b.dense(k - step))) / (2 * dk)
            hf = np.einsum("ia,ij,ja->a", v.conj(), b.dense(k, (d,)), v).real
            # measured agreement ~5e-7 relative (the central difference's O(dk²) + round-off)
            np.testing.assert_allclose(fd[idx], hf[idx], rtol=0, atol=2e-6 * np.abs(hf).max())
    finally:
        b.close()


def test_effective_mass_sum_rule_all_bands():
    """∂²ε_n/∂k_d∂k_e = ⟨n|∂²h|n⟩ + Σ_{m≠n} 2Re[v^d_nm v^e_mn]/(ε_n - ε_m), all bands (dense),

    checked as directional second derivatives ∂_u² along axes and diagonals (mixed terms).

    The identity is exact for the discrete matrix; the check is limited by the 4th-order
    central difference of the eigenvalues used as the left side (measured 2e-5 relative for
    bands separated by > 0.5 MeV: round-off/dk² and near-crossings). Dropping the interband
    sum fails by O(1), so the tolerance is decisive.
    """
    a, n = 8.0, 7
    b = _Built(_smooth_fields(n, a, current=True), 4, MPI.COMM_SELF)
    k = np.array([0.13, -0.21, 0.08])
    try:
        e, v = _eigh(k, b)
        idx = _nondegenerate(e, 0.5)
        assert idx.size > 50
        de = e[:, None] - e[None, :]
        np.fill_diagonal(de, np.inf)
        vel = [v.conj().T @ b.dense(k, (d,)) @ v for d in range(3)]
        curv = {(d, e_): np.einsum("ia,ij,ja->a", v.conj(), b.dense(k, (d, e_)), v).real
                for d in range(3) for e_ in range(3)}
        dk = 3e-4
        # directional second derivatives ∂_u² (mixed d ≠ e terms enter through u = (x+z)/√2 …)
        for u in ([1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, -1, 1]):
            u = np.array(u, float) / np.linalg.norm(u)
            vu = sum(u[d] * vel[d] for d in range(3))
            intra = sum(u[d] * u[e_] * curv[d, e_] for d in range(3) for e_ in range(3))
            rule = intra + (2 * np.abs(vu) ** 2 / de).sum(axis=1)

            def eps(s):
                return np.linalg.eigvalsh(b.dense(k + s * dk * u))

            fd = (-eps(2) + 16 * eps(1) - 30 * e + 16 * eps(-1) - eps(-2)) / (12 * dk**2)
            scale = np.abs(fd[idx]).max()
            np.testing.assert_allclose(rule[idx], fd[idx], rtol=0, atol=1e-4 * scale)
            assert np.abs(intra[idx] - fd[idx]).max() > 100 * 1e-4 * scale
    finally:
        b.close()


@pytest.mark.mpi
def test_empty_lattice_velocity_is_diagonal_in_plane_waves(comm):
    """u-gauge: for constant U, B the plane waves diagonalise h(k) and ∂h/∂k exactly."""
    n, a = 7, 9.0
    b = _Built(Fields.uniform(n, a, U0=-2.0), 4, comm)
    k = np.array([0.17, -0.05, 0.31])
    try:
        m = np.fft.fftfreq(n, 1.0 / n)
        x = np.arange(n) * a / n
        w1 = np.exp(2j * np.pi * np.outer(x / a, m)) / np.sqrt(n)   # (x, m)
        F = np.einsum("ia,jb,kc->ijkabc", w1, w1, w1).reshape(n**3, n**3)
        H = b.dense(k)
        assert np.abs(H @ (b.dense(k, (0,))) - b.dense(k, (0,)) @ H).max() < 1e-10 * np.abs(H).max() ** 2
        for deriv in [(), (0,), (1,), (2,), (0, 0), (1, 2)]:
            M = F.conj().T @ b.dense(k, deriv) @ F
            off = M - np.diag(np.diag(M))
            assert np.abs(off).max() < 1e-12 * max(np.abs(M).max(), 1.0), deriv
        # the diagonal of h is the analytic FD dispersion at q = k + G
        G = 2 * np.pi / a * np.stack(np.meshgrid(m, m, m, indexing="ij"), -1).reshape(-1, 3)
        Mh = np.diag(F.conj().T @ H @ F).real
        np.testing.assert_allclose(Mh, fd_dispersion(k + G, a / n, 4, HBAR2_2MN) - 2.0, atol=1e-10)
    finally:
        b.close()


# ------------------------------------------------- free gas: spectrum and accuracy
@pytest.mark.parametrize("order, n", [(2, 8), (4, 8)])
def test_free_gas_whole_spectrum_no_checkerboard_modes(order, n):
    """Constant B: every eigenvalue equals the staggered FD dispersion; nothing spurious."""
    a = 8.0
    k = np.array([0.0, 0.05, 0.1])
    b = _Built(Fields.uniform(n, a), order, MPI.COMM_SELF)
    try:
        e = np.linalg.eigvalsh(b.dense(k))
        m = np.arange(n)
        G = 2 * np.pi / a * np.stack(np.meshgrid(m, m, m, indexing="ij"), -1).reshape(-1, 3)
        analytic = np.sort(fd_dispersion(k + G, a / n, order, HBAR2_2MN))
        np.testing.assert_allclose(e, analytic, atol=1e-10 * e.max())
        # the lowest eigenvalues are the continuum plane waves |k + G|² (to the FD error)
        Gmin = 2 * np.pi / a * np.array([[0, 0, 0], [0, 0, -1], [0, -1, 0]])
        exact = np.sort(HBAR2_2MN * ((k + Gmin) ** 2).sum(1))
        np.testing.assert_allclose(e[:3], exact, rtol=0.05)
        # contrast: the centred form DᴴBD (same G set, analytic symbol) has 2³ copies of the
        # lowest level (checkerboard modes at the Nyquist G) below 1 MeV; the staggered has one
        offs, c = centred_derivative(order)
        th = (k + G) * a / n
        centred = HBAR2_2MN * np.sum(np.sum(c * np.sin(th[..., None] * offs), -1) ** 2, -1) / (a / n) ** 2
        assert exact[0] < 1.0 < exact[1]
        assert np.sum(centred < 1.0) == 8
        assert np.sum(e < 1.0) == 1
    finally:
        b.close()


@pytest.mark.mpi
@pytest.mark.parametrize("order", (2, 4, 6, 8))
def test_order_of_accuracy_free_gas(comm, order):
    """Plane wave e^{iG·r} at Bloch k: FD eigenvalue vs ħ²q²/2m, error ∝ h^order."""
    a = 10.0
    k = np.array([0.12, -0.08, 0.05])
    G = 2 * np.pi / a * np.array([2.0, 1.0, -1.0])
    q = k + G
    ns = [16, 20, 24, 32]
    errs = []
    for n in ns:
        b = _Built(Fields.uniform(n, a), order, comm)
        try:
            r = b.grid.coordinates()
            pw = np.exp(1j * np.einsum("d,dijk->ijk", G, r))
            x = b.grid.scatter(pw)
            A = b.H.matrix(k)
            y = A.createVecLeft()
            A.mult(x, y)
            hpw = b.grid.gather(y)
            E = np.vdot(pw, hpw).real / pw.size
            # the plane wave is an exact eigenvector with the analytic discrete dispersion
            assert np.abs(hpw - E * pw).max() < 1e-10 * abs(E)
            assert E == pytest.approx(fd_dispersion(q, a / n, order, HBAR2_2MN), rel=1e-12)
            errs.append(abs(E - HBAR2_2MN * q @ q))
            for obj in (A, x, y):
                obj.destroy()
        finally:
            b.close()
    slope = np.polyfit(np.log(a / np.array(ns)), np.log(errs), 1)[0]
    # measured 0.03–0.15 below the order (pre-asymptotic at n = 16); none above it
    assert slope == pytest.approx(order, abs=0.3), (order, slope, errs)


def _lowest(A, count):
    import scipy.sparse as sp  # noqa: PLC0415
    import scipy.sparse.linalg as sla  # noqa: PLC0415
    indptr, cols, vals = A.getValuesCSR()
    N = A.getSize()[0]
    S = sp.csr_matrix((vals, cols, indptr), shape=(N, N))
    w = sla.eigsh(S, k=count, which="SA", tol=1e-12, return_eigenvectors=False, v0=np.ones(N))
    return np.sort(w.real)


@pytest.mark.parametrize("order, ns", [(2, [8, 12, 16]), (4, [8, 12, 16]), (6, [12, 16, 20]),
                                       (8, [16, 18, 20])])
def test_order_of_accuracy_separable_cosine(order, ns):
    """3D spectrum of U = V Σ cos(2πx_d/a) vs sums of 1D plane-wave spectra, error ∝ h^order."""
    a, V, count = 8.0, 10.0, 6
    k = np.array([0.11, 0.23, -0.31])
    exact = separable_spectrum(*[cosine_1d_bands(V, a, HBAR2_2MN, kd) for kd in k], count)
    errs = []
    for n in ns:
        b = _Built(Fields.separable_cosine(n, a, V), order, MPI.COMM_SELF)
        try:
            A = b.H.matrix(k)
            errs.append(np.abs(_lowest(A, count) - exact).max())
            A.destroy()
        finally:
            b.close()
    slope = np.polyfit(np.log(a / np.array(ns)), np.log(errs), 1)[0]
    # measured 0.0–0.21 below the order (order 8: 7.79 on n = 16–20); none above it
    assert slope == pytest.approx(order, abs=0.3), (order, slope, errs)


def test_current_term_continuum_limit():
    """Constant I: plane-wave eigenvalue = Bσ²/h² + I·πσ/h → B q² + I·q (error ∝ h^order)."""
    a, order = 10.0, 4
    Ivec = np.array([3.0, -1.0, 0.5])
    k = np.array([0.12, -0.08, 0.05])
    G = 2 * np.pi / a * np.array([1.0, 0.0, -1.0])
    q = k + G
    errs = []
    for n in (8, 12, 16):
        f = Fields.uniform(n, a).replace(I=np.broadcast_to(Ivec[:, None, None, None], (3, n, n, n)))
        b = _Built(f, order, MPI.COMM_SELF)
        try:
            r = b.grid.coordinates()
            pw = np.exp(1j * np.einsum("d,dijk->ijk", G, r)).ravel()
            hp = b.dense(k) @ pw
            E = np.vdot(pw, hp).real / pw.size
            th = q * a / n
            sig, pi_ = derivative_symbol(order, th), interpolation_symbol(order, th)
            expect = HBAR2_2MN * np.sum(sig**2) / (a / n) ** 2 + np.sum(Ivec * pi_ * sig) / (a / n)
            assert E == pytest.approx(expect, rel=1e-12)
            assert np.abs(hp - E * pw).max() < 1e-10 * abs(E)
            errs.append(abs(E - HBAR2_2MN * q @ q - Ivec @ q))
        finally:
            b.close()
    slope = np.polyfit(np.log(a / np.array([8, 12, 16])), np.log(errs), 1)[0]
    assert slope == pytest.approx(order, abs=0.3), slope     # measured 3.94


@pytest.mark.slow
def test_default_order_accuracy():
    """The default order (6) beats order 4 and 2 on a Gaussian well at equal h (see DEFAULT_ORDER)."""
    from crustsolve.bands import DEFAULT_ORDER  # noqa: PLC0415
    a, count = 12.0, 10
    k = np.array([0.05, 0.1, -0.07])
    ref_b = _Built(Fields.gaussian_wells(24, a, depth=50.0, radius=2.5, lattice="sc"), 8,
                   MPI.COMM_SELF)
    A = ref_b.H.matrix(k)
    ref = _lowest(A, count)
    A.destroy()
    ref_b.close()
    err = {}
    for order in (2, 4, DEFAULT_ORDER):
        b = _Built(Fields.gaussian_wells(12, a, depth=50.0, radius=2.5, lattice="sc"), order,
                   MPI.COMM_SELF)
        A = b.H.matrix(k)
        err[order] = np.abs(_lowest(A, count) - ref).max()
        A.destroy()
        b.close()
    assert err[DEFAULT_ORDER] < err[4] / 3 < err[2] / 9, err


# ------------------------------------------------------------------ bad input
@pytest.mark.mpi
def test_bad_input_is_input_error(comm):
    f8 = Fields.uniform(8, 8.0)
    grid = Grid(8, 8.0, comm=comm)
    try:
        with pytest.raises(InputError, match=r"n = 8 .*order 8 needs n ≥ 15"):
            BlochHamiltonian(grid, f8, order=8)
        with pytest.raises(InputError, match=r"n = 8 .*order 6 needs n ≥ 11"):
            BlochHamiltonian(grid, f8, order=6)
        with pytest.raises(InputError, match="order"):
            BlochHamiltonian(grid, f8, order=3)
        with pytest.raises(InputError, match="n = 6 grid"):
            BlochHamiltonian(grid, Fields.uniform(6, 8.0), order=2)
        with pytest.raises(InputError, match="cell side"):
            BlochHamiltonian(grid, Fields.uniform(8, 9.0), order=2)
        H = BlochHamiltonian(grid, f8, order=4)
        for bad, msg in [([np.nan, 0, 0], "not finite"), ([0, np.inf, 0], "not finite"),
                         ([0, 0, 4.0], "outside the allowed range"), ([0.1, 0.2], "3 Cartesian"),
                         ("x", "3 real numbers")]:
            with pytest.raises(InputError, match=msg):
                H.matrix(bad)
        with pytest.raises(InputError, match="direction"):
            H.dmatrix([0, 0, 0], 3)
        H.destroy()
    finally:
        grid.destroy()


@pytest.mark.mpi
def test_B_nonpositive_at_half_points_is_input_error(comm):
    """A positive but violently oscillating B can overshoot below zero when interpolated."""
    n = 8
    B = np.full((n,) * 3, 1e-3)
    B[:4] = 50.0   # a step: order-4 interpolation undershoots to ≈ -3 MeV fm² next to it
    f = Fields(U=np.zeros((n,) * 3), B=B, a=8.0)
    grid = Grid(n, 8.0, comm=comm)
    try:
        with pytest.raises(InputError, match="half points"):
            BlochHamiltonian(grid, f, order=4)
    finally:
        grid.destroy()
