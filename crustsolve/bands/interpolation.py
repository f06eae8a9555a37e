"""Reduced-basis k-interpolation of the Bloch bands (Shirley's optimal basis, Rayleigh–Ritz).

In the u-gauge the periodic parts u_αk of the Bloch states change smoothly with k, so the
states of a few coarse k-points span, to high accuracy, the occupied and low unoccupied
states at every k (E. L. Shirley, Phys. Rev. B 54, 16464 (1996); D. Prendergast and
S. G. Louie, Phys. Rev. B 80, 235126 (2009)). With an orthonormal basis Φ (N × M, M ≪ N)
built from them, the band problem at any k is the Rayleigh–Ritz problem

    Φᴴ h(k) Φ c = ε c,     ψ = Φ c,

whose eigenvalues are variational upper bounds of the exact ones, index by index (Cauchy
interlacing): the only error is the basis, and it is measured, not assumed
(``docs/numerics.md``, "Reduced-basis k-interpolation"):

* every Ritz pair carries its residual ‖h(k)ψ − εψ‖ / max(1 MeV, |ε|) with the full sparse
  h(k) — for an isolated level the eigenvalue error is at most ‖r‖²/δ (Kato–Temple, δ the
  distance to the next level), and at most ‖r‖ in any case;
* :func:`held_out_errors` solves chosen k-points directly and compares.

Basis: the computed states of the irreducible points of a coarse mesh and their images
under the point group of the fields, u_{Rk}(r) = u_k(R⁻¹r) (signed permutations of the grid
indices about the origin, :func:`crustsolve.bands.kmesh.field_symmetry_error`), added block
by block to a :class:`BasisBuilder` (Gram–Schmidt against the basis so far, then a
rank-revealing step that keeps only directions adding more than ``threshold`` of weight:
the images and neighbouring k-points are nearly linearly dependent).

:class:`ReducedBasisSolver` has the interface of the other eigensolvers (``solve(A)`` with
A = h(k) assembled by :class:`~crustsolve.bands.hamiltonian.BlochHamiltonian`), so the k-sweep
engine, the matrix elements and the response levels use it unchanged: the projected matrix
is formed as Φᴴ(AΦ) (one sparse-times-dense product and one block inner product per k),
and the Ritz vectors Φc are returned as a BV for the matrix elements.

Memory: Φ holds M columns of the grid's local rows (16 M N_loc bytes per rank), plus one
block of states and the gathered states of one coarse k-point while the basis is built.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np
import scipy.linalg
from mpi4py import MPI

from ..errors import ConvergenceError, InputError, check_range
from ..petsc_env import init_petsc
from .eigensolvers.result import EigenResult
from .eigensolvers.slepc import bv_from_local
from .kmesh import oh_operations

#: Largest memory (bytes, replicated per rank) the "auto" choice gives the Fourier blocks.
BLOCKS_AUTO_BYTES = 4e9

#: Default overlap-eigenvalue threshold of the rank-revealing step (columns are unit vectors,
#: so this is the weight, relative to one state, of a discarded direction).
DEFAULT_THRESHOLD = 1e-8


def bv_local_array(bv) -> np.ndarray:
    """A copy of the local rows of the active columns of a SLEPc BV, (N_loc, m) complex."""
    lo, hi = bv.getActiveColumns()
    X = bv.getMat()
    try:
        out = np.array(X.getDenseArray()[:, lo:hi], dtype=complex, copy=True)
    finally:
        bv.restoreMat(X)
    return out


def image_operations(k, a: float, operations=None, time_reversal: bool = False,
                     tol: float = 1e-9):
    """The operations giving distinct images of k: a list of (R, conjugate, R'k).

    R runs over ``operations`` (default O_h); R'k = Rk, and with ``time_reversal`` also
    R'k = −Rk with ``conjugate`` True (u_{−k} = u_k* for real fields without current:
    h(−k) = h(k)* in the u-gauge). Two images count as the same when they differ by less
    than ``tol`` fm⁻¹ (no reduction modulo reciprocal vectors: the basis only needs states,
    and u at Rk + G is e^{-iG·r} u at Rk, a different function).
    """
    ops = oh_operations() if operations is None else np.asarray(operations)
    k = np.asarray(k, dtype=float)
    out = []
    for conjugate in ((False, True) if time_reversal else (False,)):
        for R in ops:
            kr = -(R @ k) if conjugate else R @ k
            if not any(np.max(np.abs(kr - q)) < tol for _, _, q in out):
                out.append((np.asarray(R), conjugate, kr))
    return out


def _grid_image_permutation(grid, R) -> np.ndarray:
    """Index array p (PETSc order) with (u ∘ R⁻¹)[i] = u[p[i]] for u in PETSc order.

    Point i sits at r = i·h; u'(r) = u(R⁻¹ r) = u(Rᵀ r) (R orthogonal), indices modulo n.
    """
    n = grid.n
    idx = np.indices((n, n, n)).reshape(3, -1)
    j = np.mod(np.asarray(R).T @ idx, n)
    src = np.empty(grid.size, dtype=np.int64)
    src[grid.petsc_index.ravel()] = grid.petsc_index[j[0], j[1], j[2]]
    return src


def _gather_columns(grid, local) -> np.ndarray:
    """All rows (PETSc order) of a row-distributed (N_loc, m) array, on every rank."""
    comm = grid.comm
    if comm.size == 1:
        return local
    m = local.shape[1]
    counts = np.array(comm.allgather(local.shape[0] * m), dtype=np.int64)
    full = np.empty((grid.size, m), dtype=complex)
    comm.Allgatherv(np.ascontiguousarray(local), [full, counts, None, MPI.C_DOUBLE_COMPLEX])
    return full


def symmetry_images(grid, states, k, a: float, operations=None, time_reversal: bool = False):
    """Images of the local states at k: yields (R'k, local array) per image of
    :func:`image_operations`, u_{Rk} = u_k ∘ R⁻¹ and u_{−Rk} = (u_k ∘ R⁻¹)*.

    ``states``: (N_loc, m) local rows of the u-gauge states at k (PETSc order). The identity
    (k itself) comes first. A generator (one image in memory at a time); collective
    (gathers the columns when the grid is distributed), so every rank must consume it fully.
    """
    pairs = image_operations(k, a, operations, time_reversal)
    full = _gather_columns(grid, states)
    rows = slice(*grid.ownership_range)
    for R, conjugate, kr in pairs:
        src = _grid_image_permutation(grid, R)[rows]
        image = full[src]
        yield kr, np.ascontiguousarray(image.conj() if conjugate else image)


def _allreduce(comm, local):
    out = np.empty_like(local)
    comm.Allreduce(np.ascontiguousarray(local), out, op=MPI.SUM)
    return out


class BasisBuilder:
    """Grows an orthonormal basis block by block (collective on ``grid.comm``).

    Each added block Q (unit-norm states, (N_loc, m)) is orthogonalised against the basis so
    far twice (classical Gram–Schmidt with re-orthogonalisation), then its own overlap
    QᴴQ is diagonalised and only directions of weight above ``threshold`` are kept (the
    rank-revealing step: a direction's weight is the squared norm of what the states add to
    the basis), normalised, orthogonalised once more and Cholesky-orthonormalised. Only Φ and
    one block are held: O(N M) memory, O(N M m) work per block.
    """

    def __init__(self, grid, threshold: float = DEFAULT_THRESHOLD):
        check_range("interpolation basis threshold", threshold, lo=0.0, hi=1e-2, lo_open=True)
        self.grid = grid
        self.threshold = float(threshold)
        self.phi = np.zeros((grid.local_size, 0), dtype=complex)
        self.kpoints = []
        self.nstacked = 0
        self.discarded_weight = 0.0

    def _project_out(self, Q):
        if self.phi.shape[1]:
            for _ in range(2):
                Q -= self.phi @ _allreduce(self.grid.comm, self.phi.conj().T @ Q)
        return Q

    def add(self, states, k=None) -> int:
        """Add one block of states; returns the number of new basis functions."""
        Q = np.array(states, dtype=complex, copy=True)
        self.nstacked += Q.shape[1]
        if k is not None:
            self.kpoints.append(np.asarray(k, dtype=float))
        Q = self._project_out(Q)
        G = _allreduce(self.grid.comm, Q.conj().T @ Q)
        lam, V = np.linalg.eigh(0.5 * (G + G.conj().T))
        keep = lam > self.threshold
        if np.any(~keep):
            self.discarded_weight = max(self.discarded_weight, float(lam[~keep].max()))
        if not np.any(keep):
            return 0
        Q = self._project_out(Q @ (V[:, keep] / np.sqrt(lam[keep])))
        Q = _orthonormalise(self.grid, Q)
        self.phi = np.hstack([self.phi, Q])
        return int(Q.shape[1])

    def basis(self) -> "ReducedBasis":
        if self.phi.shape[1] == 0:
            raise InputError("reduced basis: no states to build it from")
        ks = np.array(self.kpoints) if self.kpoints else np.zeros((0, 3))
        return ReducedBasis(self.grid, self.phi, ks, self.nstacked, self.threshold,
                            self.discarded_weight)


@dataclass
class ReducedBasis:
    """Orthonormal basis Φ of the grid's local rows (N_loc, M) on ``grid.comm``.

    ``source_kpoints`` (K, 3) fm⁻¹: the k of every stacked state set (images included);
    ``nstacked``: columns before compression; ``discarded_weight``: largest weight (squared
    norm of the part new to the basis) of a dropped direction.
    """

    grid: object
    phi: np.ndarray
    source_kpoints: np.ndarray
    nstacked: int
    threshold: float
    discarded_weight: float

    @property
    def size(self) -> int:
        """M, the number of basis functions."""
        return int(self.phi.shape[1])

    @property
    def memory_bytes(self) -> int:
        """Bytes of Φ on this rank."""
        return int(self.phi.nbytes)

    @classmethod
    def from_states(cls, grid, state_sets, *, threshold: float = DEFAULT_THRESHOLD,
                    kpoints=None) -> "ReducedBasis":
        """Orthonormalise blocks of states (a list of (N_loc, m_i) local arrays) with a
        :class:`BasisBuilder`. Collective."""
        builder = BasisBuilder(grid, threshold)
        if not state_sets:
            raise InputError("reduced basis: no states to build it from")
        ks = [None] * len(state_sets) if kpoints is None else list(kpoints)
        for block, k in zip(state_sets, ks):
            builder.add(block, k)
        return builder.basis()

    def project(self, A, hermitian: bool = True):
        """(Φᴴ A Φ replicated (M, M), AΦ local (N_loc, M)) for a Mat A on the grid (made
        exactly Hermitian when ``hermitian``). Collective."""
        y = _mat_times(A, self.phi)
        Hs = _allreduce(self.grid.comm, self.phi.conj().T @ y)
        return (0.5 * (Hs + Hs.conj().T) if hermitian else Hs), y


def _mat_times(A, X) -> np.ndarray:
    """A·X for a distributed Mat A and local rows X (N_loc, m): local rows of the product."""
    PETSc, _ = init_petsc()
    nloc, m = X.shape
    Xm = PETSc.Mat().createDense(size=((nloc, A.getSize()[1]), (None, m)),
                                 array=np.array(X, order="F"), comm=A.getComm())
    Y = None
    try:
        Y = A.matMult(Xm)
        return np.array(Y.getDenseArray(), dtype=complex, copy=True)
    finally:
        Xm.destroy()
        if Y is not None:
            Y.destroy()


@dataclass(frozen=True)
class FourierBlocks:
    """Φᴴ h(k) Φ = B₀ + Σ_s (e^{ik·d_s} B_s + h.c.) over the stencil displacements d_s with
    a positive first nonzero component (the slot of −d_s holds B_sᴴ, h being Hermitian).

    ``displacements`` (P, 3) fm; ``diagonal`` (M, M); ``blocks`` (P, M, M), replicated.
    """

    displacements: np.ndarray
    diagonal: np.ndarray
    blocks: np.ndarray

    @classmethod
    def build(cls, basis, hamiltonian) -> "FourierBlocks":
        """Project each slot matrix of ``hamiltonian`` on ``basis`` (collective): one sparse
        product with one entry per row and one block inner product per kept slot."""
        disp = hamiltonian.displacements
        keep = [0] + [s for s in range(1, len(disp)) if _positive(disp[s])]
        mats = []
        for s in keep:
            H_s = hamiltonian.slot_matrix(s)
            try:
                mats.append(basis.project(H_s, hermitian=False)[0])
            finally:
                H_s.destroy()
        D0 = 0.5 * (mats[0] + mats[0].conj().T)
        return cls(disp[keep[1:]].copy(), D0, np.array(mats[1:]))

    @property
    def nbytes(self) -> int:
        return int(self.diagonal.nbytes + self.blocks.nbytes)

    def matrix(self, k) -> np.ndarray:
        """Φᴴ h(k) Φ (M, M), Hermitian."""
        ph = np.exp(1j * (self.displacements @ np.asarray(k, dtype=float)))
        S = np.tensordot(ph, self.blocks, axes=1)
        return self.diagonal + S + S.conj().T


def _positive(d) -> bool:
    nz = np.flatnonzero(np.abs(d) > 0)
    return bool(nz.size) and d[nz[0]] > 0


def _orthonormalise(grid, phi):
    """Φ L^{-H} with L Lᴴ = ΦᴴΦ (one Cholesky re-orthonormalisation, collective)."""
    S2 = _allreduce(grid.comm, phi.conj().T @ phi)
    S2 = 0.5 * (S2 + S2.conj().T)
    L = np.linalg.cholesky(S2)
    return scipy.linalg.solve_triangular(L, phi.conj().T, lower=True).conj().T


@dataclass
class ReducedBasisSolver:
    """Eigensolver by Rayleigh–Ritz in a :class:`ReducedBasis` (same interface as the others).

    ``solve(A)`` returns the lowest ``nev`` Ritz pairs of A = h(k): eigenvalues (upper bounds
    of the exact ones, index by index), relative residuals ‖Aψ − εψ‖/max(1 MeV, |ε|) with
    the full sparse A, and the Ritz vectors Φc as a BV. ``residual_tol``: a solve whose
    largest residual exceeds it raises :class:`ConvergenceError` (default: no limit; the
    accuracy is controlled by :func:`held_out_errors`). ``buffer`` extra Ritz values give
    the cut gap and the cluster test at nev, as for the other solvers.
    """

    basis: ReducedBasis
    nev: int
    buffer: int = 4
    want_vectors: bool = True
    residual_tol: float = math.inf
    cluster_tol: float = 1e-6
    settings: Mapping = field(default_factory=dict)
    #: :class:`FourierBlocks` of the basis: with them ``solve(A, k=k)`` assembles Φᴴh(k)Φ
    #: from k in O(P M²) instead of projecting A (O(N M²)); the residuals then come from one
    #: sparse product with the nev + buffer Ritz vectors.
    blocks: Optional[FourierBlocks] = None

    def __post_init__(self):
        if not isinstance(self.nev, (int, np.integer)) or self.nev < 1:
            raise InputError(f"nev (number of bands) must be a positive integer, got {self.nev!r}")
        if self.nev + self.buffer > self.basis.size:
            raise InputError(
                f"the reduced basis has {self.basis.size} functions, fewer than the "
                f"{self.nev} bands (+{self.buffer} buffer) asked for; build it from more "
                "states (more bands per coarse k-point, or a denser coarse mesh)")

    @property
    def kind(self) -> str:
        return "reduced-basis"

    @property
    def uses_kpoint(self) -> bool:
        """True with Fourier blocks: the k-sweep passes k to :meth:`solve`."""
        return self.blocks is not None

    @property
    def degeneracy_tol(self) -> float:
        return self.cluster_tol

    def solve(self, A, k=None) -> EigenResult:
        """Lowest ``nev`` Ritz pairs of A = h(k) (collective on the basis' communicator).

        With :attr:`blocks` and ``k`` the projected matrix is assembled from k (A is then
        used only for the residuals)."""
        t0 = time.perf_counter()
        comm = self.basis.grid.comm
        if self.blocks is not None and k is not None:
            Hs, Y = self.blocks.matrix(k), None
        else:
            Hs, Y = self.basis.project(A)
        m = self.nev + self.buffer
        payload = None
        if comm.rank == 0:      # one rank solves; its outcome (or its error) reaches all
            try:
                w, C = scipy.linalg.eigh(Hs, subset_by_index=[0, m - 1], driver="evr",
                                         overwrite_a=True, check_finite=True)
                payload = (w, C, None)
            except (ValueError, np.linalg.LinAlgError) as exc:
                payload = (None, None, str(exc))
        w, C, err = comm.bcast(payload, root=0)
        if err is not None:
            raise ConvergenceError(f"reduced-basis solve: dense eigensolver failed: {err}")
        X = self.basis.phi @ C                       # Ritz vectors, local rows
        R = (Y @ C if Y is not None else _mat_times(A, X)) - X * w
        res = np.sqrt(_allreduce(comm, np.sum(np.abs(R) ** 2, axis=0)))
        res = res / np.maximum(1.0, np.abs(w))
        del R, Y
        nev = self.nev
        cut_gap = float(w[nev] - w[nev - 1])
        splits = cut_gap <= self.cluster_tol * max(1.0, abs(float(w[nev - 1])))
        worst = float(res[:nev].max())
        if worst > self.residual_tol:
            i = int(np.argmax(res[:nev]))
            raise ConvergenceError(
                f"reduced-basis solve: Ritz residual {worst:.3g} of band #{i} "
                f"(ε = {w[i]:.6g} MeV) exceeds residual_tol = {self.residual_tol:g}; "
                "enlarge the basis (denser coarse mesh or more bands per coarse k-point)")
        vectors = bv_from_local(A, X[:, :nev]) if self.want_vectors else None
        settings = {"eps_type": "reduced-basis", "basis_size": self.basis.size,
                    "threshold": self.basis.threshold, **dict(self.settings)}
        return EigenResult(eigenvalues=np.asarray(w[:nev], dtype=float),
                           residuals=np.asarray(res[:nev], dtype=float), vectors=vectors,
                           iterations=1, nconv=nev, solver="reduced-basis",
                           seconds=time.perf_counter() - t0, cut_gap=cut_gap,
                           cut_splits_cluster=bool(splits), settings=settings)


def add_states(builder, states, k, *, images: bool, operations=None,
               time_reversal: bool = False) -> None:
    """Add the local states at k, and with ``images`` their images under ``operations``
    (default O_h) and, with ``time_reversal``, −R (:func:`symmetry_images`), to ``builder``."""
    grid = builder.grid
    pairs = (symmetry_images(grid, states, k, grid.a, operations, time_reversal) if images
             else [(k, states)])
    for kr, ur in pairs:
        builder.add(ur, kr)


def add_coarse_states(builder, hamiltonian, solver, kpoints, *, images: bool = True,
                      operations=None, time_reversal: bool = False, progress=None) -> None:
    """Direct solves at each k of ``kpoints`` ((K, 3) fm⁻¹), their states (and with
    ``images`` their images under ``operations``, default O_h, and with ``time_reversal``
    under −R: the caller checks that the fields have these symmetries) added to ``builder``.
    ``solver`` must return vectors. Collective on the Hamiltonian's grid.
    ``progress(i, K, seconds)`` after each k.
    """
    kpoints = np.asarray(kpoints, dtype=float).reshape(-1, 3)
    for i, k in enumerate(kpoints):
        t0 = time.perf_counter()
        A = hamiltonian.matrix(k)
        try:
            res = solver.solve(A)
        finally:
            A.destroy()
        try:
            if res.vectors is None:
                raise InputError("the basis solver must return eigenvectors (want_vectors=True)")
            u = bv_local_array(res.vectors)
        finally:
            res.destroy()
        add_states(builder, u, k, images=images, operations=operations,
                   time_reversal=time_reversal)
        if progress is not None:
            progress(i, len(kpoints), time.perf_counter() - t0)


def basis_from_solves(hamiltonian, solver, kpoints, *, threshold: float = DEFAULT_THRESHOLD,
                      images: bool = True, operations=None, time_reversal: bool = False,
                      progress=None) -> ReducedBasis:
    """:func:`add_coarse_states` at ``kpoints`` into a new :class:`ReducedBasis`."""
    builder = BasisBuilder(hamiltonian.grid, threshold)
    add_coarse_states(builder, hamiltonian, solver, kpoints, images=images,
                      operations=operations, time_reversal=time_reversal, progress=progress)
    return builder.basis()


@dataclass(frozen=True)
class HeldOutCheck:
    """Direct vs interpolated bands at held-out k-points.

    ``kpoints`` (K, 3) fm⁻¹; ``max_error`` (K,) MeV: largest |ε_interp − ε_direct| over the
    bands with ε_direct ≤ ``emax``; ``min_error`` (K,) MeV: the most negative
    ε_interp − ε_direct (Rayleigh–Ritz bounds make it ≥ −(direct solver's error)).
    """

    kpoints: np.ndarray
    max_error: np.ndarray
    min_error: np.ndarray
    emax: float
    nbands_compared: np.ndarray

    @property
    def worst(self) -> float:
        return float(np.max(self.max_error)) if len(self.max_error) else 0.0

    @property
    def worst_index(self) -> int:
        return int(np.argmax(self.max_error))


def held_out_errors(hamiltonian, direct_solver, basis_solver, kpoints,
                    emax: float = math.inf, keep_states: bool = False):
    """Solve the held-out ``kpoints`` directly and by the basis; compare the energies up to
    ``emax`` (MeV). Returns a :class:`HeldOutCheck`, and with ``keep_states`` also the list of
    the direct solves' local states (to enlarge the basis with). Collective."""
    ks = np.asarray(kpoints, dtype=float).reshape(-1, 3)
    mx, mn, nc, kept = [], [], [], []
    for k in ks:
        A = hamiltonian.matrix(k)
        try:
            d = direct_solver.solve(A)
            r = basis_solver.solve(A)
        finally:
            A.destroy()
        if keep_states:
            kept.append(bv_local_array(d.vectors))
        for res in (d, r):
            res.destroy()
        m = min(len(d.eigenvalues), len(r.eigenvalues))
        ed, er = np.asarray(d.eigenvalues[:m]), np.asarray(r.eigenvalues[:m])
        sel = ed <= emax
        diff = er[sel] - ed[sel]
        mx.append(float(np.max(np.abs(diff))) if diff.size else 0.0)
        mn.append(float(np.min(diff)) if diff.size else 0.0)
        nc.append(int(np.count_nonzero(sel)))
    check = HeldOutCheck(ks, np.array(mx), np.array(mn), float(emax), np.array(nc))
    return (check, kept) if keep_states else check


@dataclass(frozen=True)
class InterpolationSettings:
    """How a k-sweep builds and checks its reduced basis.

    coarse : M of the M×M×M coarse mesh whose states (and their symmetry images) make the
        basis; shift : shifted coarse mesh; tol : largest accepted eigenvalue error (MeV) at
        the held-out k-points; threshold : overlap-eigenvalue cut of the rank-revealing
        step; basis_bands : states per coarse k (default nev + max(8, ⌈nev/5⌉)); holdout :
        number of held-out k-points (the target points farthest from every basis k);
        max_rounds : basis enlargements (each adds the worst held-out k's states) before
        the run stops with an error; emax : compare bands up to this energy (MeV);
        blocks : "on" / "off" / "auto" — assemble Φᴴh(k)Φ per k from the projected stencil
        slots (:class:`FourierBlocks`, one projection per slot up front, then O(P M²) per k)
        instead of projecting h(k) at every k (O(N M²)); "auto" uses them when the sweep has
        more k-points than kept slots (so they pay) and they fit in
        :data:`BLOCKS_AUTO_BYTES`.
    """

    coarse: int
    shift: bool = False
    tol: float = 1e-4
    threshold: float = DEFAULT_THRESHOLD
    basis_bands: Optional[int] = None
    holdout: int = 2
    max_rounds: int = 3
    emax: float = math.inf
    blocks: str = "auto"

    def __post_init__(self):
        for name, lo in (("coarse", 1), ("holdout", 1), ("max_rounds", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise InputError(f"interpolation {name} = {v!r} must be an integer >= {lo}")
        check_range("interpolation tol", self.tol, lo=0.0, lo_open=True, unit="MeV")
        check_range("interpolation basis threshold", self.threshold, lo=0.0, hi=1e-2,
                    lo_open=True)
        if self.basis_bands is not None and (isinstance(self.basis_bands, bool) or
                                             int(self.basis_bands) != self.basis_bands or
                                             self.basis_bands < 1):
            raise InputError(f"interpolation basis_bands = {self.basis_bands!r} must be a "
                             "positive integer")
        if self.blocks not in ("auto", "on", "off"):
            raise InputError(f"interpolation blocks = {self.blocks!r} must be 'auto', 'on' "
                             "or 'off'")
        if not (isinstance(self.emax, (int, float)) and not math.isnan(self.emax)):
            raise InputError(f"interpolation emax = {self.emax!r} must be a number (MeV)")

    def bands_per_point(self, nev: int) -> int:
        if self.basis_bands is not None:
            if self.basis_bands < nev:
                raise InputError(f"interpolation basis_bands = {self.basis_bands} is below "
                                 f"the {nev} bands asked for")
            return int(self.basis_bands)
        return int(nev + max(8, math.ceil(nev / 5)))

    def as_dict(self) -> dict:
        return {"coarse": self.coarse, "shift": self.shift, "tol": self.tol,
                "threshold": self.threshold, "basis_bands": self.basis_bands,
                "holdout": self.holdout, "max_rounds": self.max_rounds, "emax": self.emax,
                "blocks": self.blocks}


def _farthest(targets, sources, count, exclude=()):
    """Indices of up to ``count`` target points farthest from every source point."""
    t = np.asarray(targets, dtype=float)
    d = np.min(np.linalg.norm(t[:, None, :] - np.asarray(sources)[None, :, :], axis=2), axis=1)
    # Ties (common on regular meshes) go to the larger |k|: near the zone boundary the
    # folded bands mix most and the basis is least accurate there (measured).
    scale = max(float(d.max()), 1e-300)
    key = np.lexsort((-np.linalg.norm(t, axis=1), -np.round(d / scale, 6)))
    order = [int(i) for i in key if int(i) not in exclude]
    return order[:count]


def build_interpolating_solver(hamiltonian, direct_solver, nev: int, settings, targets, *,
                               images: bool, operations=None, time_reversal: bool = False,
                               progress=None):
    """Build the basis from the coarse mesh, check it at held-out target k-points and
    enlarge it until the eigenvalue error there is below ``settings.tol``. Collective.

    ``direct_solver`` returns vectors and at least ``nev`` bands (it makes the basis states
    and the held-out references); ``targets`` (nk, 3) fm⁻¹: the k-points the sweep will
    solve; ``images``: whether to use the fields' symmetry, ``operations`` (default O_h; the
    caller checks the fields have it) and with ``time_reversal`` −R too: the coarse mesh is
    reduced by them and every state's images are used. ``progress(message)`` reports each
    phase.
    Returns (:class:`ReducedBasisSolver`, report dict). Raises :class:`ConvergenceError`
    when the tolerance is not reached after ``settings.max_rounds`` enlargements.
    """
    from .kmesh import KMesh

    t0 = time.perf_counter()
    grid = hamiltonian.grid
    say = progress or (lambda msg: None)
    ops = oh_operations() if operations is None else np.asarray(operations)
    time_reversal = bool(images and time_reversal)
    coarse = KMesh.monkhorst_pack(settings.coarse, grid.a, shift=settings.shift,
                                  symmetry=ops if images else "none",
                                  time_reversal=time_reversal)
    say(f"reduced basis: direct solves at {coarse.nk} coarse k-point(s) of the "
        f"{settings.coarse}³ {'shifted ' if settings.shift else ''}mesh"
        + (f" (with their images under {coarse.symmetry}"
           + (" and time reversal)" if time_reversal else ")") if images else ""))
    builder = BasisBuilder(grid, settings.threshold)
    add_coarse_states(
        builder, hamiltonian, direct_solver, coarse.points, images=images, operations=ops,
        time_reversal=time_reversal,
        progress=lambda i, n, sec: say(f"  coarse k {i + 1}/{n}: {sec:.1f} s"))
    targets = np.asarray(targets, dtype=float).reshape(-1, 3)
    chosen = _farthest(targets, np.array(builder.kpoints), settings.holdout)
    used = set(chosen)
    rounds = []
    while True:
        basis = builder.basis()
        ks = basis.source_kpoints
        solver = ReducedBasisSolver(basis, nev)
        check, kept = held_out_errors(hamiltonian, direct_solver, solver, targets[chosen],
                                      emax=settings.emax, keep_states=True)
        rounds.append({"basis_size": basis.size, "stacked_states": basis.nstacked,
                       "holdout_indices": list(chosen), "max_error_MeV": check.max_error.tolist(),
                       "min_error_MeV": check.min_error.tolist()})
        say(f"reduced basis: {basis.size} functions from {basis.nstacked} states; held-out "
            f"max |Δε| = {check.worst:.2e} MeV at {len(chosen)} k-point(s) (tol "
            f"{settings.tol:g} MeV)")
        if check.worst <= settings.tol:
            break
        if len(rounds) > settings.max_rounds:
            raise ConvergenceError(
                f"reduced-basis interpolation: held-out eigenvalue error {check.worst:.3g} MeV "
                f"exceeds interpolate_tol = {settings.tol:g} MeV after {settings.max_rounds} "
                f"basis enlargement(s) (basis {basis.size} functions); use a denser coarse "
                "mesh, more basis_bands, or a looser tolerance")
        w = check.worst_index
        add_states(builder, kept[w], targets[chosen[w]], images=images, operations=ops,
                   time_reversal=time_reversal)
        del kept
        more = _farthest(targets, np.array(builder.kpoints), 1, exclude=used)
        chosen = [c for i, c in enumerate(chosen) if i != w] + more
        used.update(more)
        if not chosen:     # every target point is in the basis now
            chosen = [int(np.argmax(check.max_error))]
    nslots = 1 + sum(int(_positive(d)) for d in hamiltonian.displacements[1:])
    block_bytes = int(16 * nslots * basis.size ** 2)
    use_blocks = (settings.blocks == "on" or settings.blocks == "auto" and
                  len(targets) > nslots and block_bytes <= BLOCKS_AUTO_BYTES)
    if use_blocks:
        tb = time.perf_counter()
        solver = ReducedBasisSolver(basis, nev, blocks=FourierBlocks.build(basis, hamiltonian))
        say(f"reduced basis: {nslots} projected stencil slots ({block_bytes / 1e6:.0f} MB) in "
            f"{time.perf_counter() - tb:.1f} s")
    report = {"settings": settings.as_dict(), "basis_size": basis.size,
              "fourier_blocks": bool(use_blocks),
              "fourier_block_bytes": block_bytes if use_blocks else 0,
              "stacked_states": basis.nstacked, "discarded_weight": basis.discarded_weight,
              "basis_bytes_per_rank": basis.memory_bytes, "coarse_irreducible": coarse.nk,
              "basis_kpoints": ks.tolist(), "rounds": rounds,
              "held_out_kpoints": targets[chosen].tolist(),
              "held_out_max_error_MeV": check.worst, "build_seconds": time.perf_counter() - t0}
    return solver, report


def interpolation_summary(report) -> str:
    """One line describing a reduced-basis report (for the run log)."""
    return (f"reduced basis: {report['basis_size']} functions from {report['stacked_states']} "
            f"states ({report['basis_bytes_per_rank'] / 1e6:.1f} MB per rank); held-out max "
            f"|Δε| {report['held_out_max_error_MeV']:.2e} MeV (tol "
            f"{report['settings']['tol']:g} MeV) after {len(report['rounds'])} round(s); built "
            f"in {report['build_seconds']:.1f} s")
