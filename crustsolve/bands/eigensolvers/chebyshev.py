"""Block Chebyshev-filtered subspace iteration (CheFSI) on SLEPc BV objects.

Lowest ``nev`` eigenpairs of a complex Hermitian PETSc matrix ``A`` (collective over A's
communicator)::

    solver = ChebyshevSolver(nev=50, tol=1e-8)
    res = solver.solve(A)                 # cold start (random block)
    res2 = solver.solve(A2, initial=res)  # warm start from the previous k-point's vectors
    res.destroy(); res2.destroy()

Algorithm
---------
Chebyshev-filtered subspace iteration as in Zhou, Saad, Tiago & Chelikowsky, J. Comput.
Phys. 219 (2006) 172 (the scaled three-term Chebyshev filter), Zhou & Li, Linear
Algebra Appl. 435 (2011) 480 (Lanczos upper bounds), and the non-SCF form used by SPARC
(``ChebyshevFiltering``/``CheFSI``) and ChASE (Winkelmann et al., ACM TOMS 45 (2019) 21:
locking, buffer ("nex") vectors, degree chosen from the residuals):

1. **Bounds.** ``lanczos_steps`` plain Lanczos steps from a random vector give Ritz values
   θ₁ ≤ … ≤ θ_k and the last β. Upper bound b = θ_k + |β_k| + margin·(θ_k − θ₁), capped by
   the Gershgorin bound (rigorous, AIJ matrices only). θ₁ estimates λ_min (used only to
   scale the filter). The spectral weights |s₁ⱼ|² of the Lanczos Ritz values estimate the
   density of states; the first damping edge a (≈ λ_nb) is read off it (ChASE's approach)
   and kept while the top Ritz values lie above it (``edge_estimate``, item 7).
2. **Filter.** X ← C_m((A − c)/e) X on the active (unlocked) columns with c = (a+b)/2,
   e = (b−a)/2 and the scaled recurrence (values at θ₁ normalised to ~1, no overflow), one
   ``BV.matMult`` (``MatMatMult`` SpMM) per degree and BLAS axpys on the local rows.
3. **Orthonormalisation.** ``BV.orthogonalize`` of the active columns against the locked
   ones and each other. Default block type TSQR (Householder, stable for any conditioning,
   one pass); ``orth="svqb"``/``"chol"`` apply SVQB/Cholesky-QR twice (CholQR2), and fall
   back to TSQR in an iteration whose filtered block is predicted too ill-conditioned
   (condition ≈ |C_m(t_min)|, estimated from the Ritz values as in ChASE).
4. **Rayleigh–Ritz.** W = A X (``BV.matMult``), M = Xᴴ W (upper block triangle only,
   :func:`hermitian_projection`: half the flops of ``BV.dot``/``BV.matProject``; W is kept
   for the residuals), dense ``scipy.linalg.eigh`` on
   rank 0 of the communicator, broadcast (every rank then uses bitwise-identical Ritz
   values and rotations, so every branch below is taken identically on all ranks),
   ``BV.multInPlace`` on X and W.
5. **Residuals and locking.** rᵢ = ‖Axᵢ − μᵢxᵢ‖ / max(1 MeV, |μᵢ|) from the local rows of
   W − Xdiag(μ) with one reduction to rank 0 (and a broadcast). The leading run of columns
   with rᵢ ≤ lock_factor·tol (default 0.1 tol) is locked (leading BV columns: excluded from
   the filter, the orthogonalisation and the projection). Locking at tol itself stalls the
   last columns just above tol: the locked vectors' errors bound the others' residuals.
6. **Stopping over whole clusters.** Done when columns 0 … nev−1 have converged and every
   Ritz pair above the cut that may belong to the cluster at the cut (|μᵢ − μ_nev| within
   the cluster tolerance plus its own residual) has converged too, so a degenerate cluster
   is never split between converged and unconverged vectors. (A residual test cannot see a
   cluster member missing from the block altogether; the buffer guards against that, and
   ``settings["cut_gap_converged"]`` says whether the gap above the cut was measured with
   a converged Ritz pair.)
7. **Adaptive degree.** For each unconverged wanted column the filter degree that brings
   its residual to tol is predicted from |C_m(tᵢ)| ≈ cosh(m·acosh|tᵢ|) (tᵢ = (μᵢ − c)/e for
   the next interval); the next degree is the largest of these, clamped to [min_degree,
   max_degree] and capped so that the amplification of the bottom of the spectrum,
   |C_m(t(λ_min))|, stays below ``max_amplification`` (1e12): beyond that, the
   residual-level components along the lowest (locked) eigenvectors left in the other
   columns swamp the states near the cut and the iteration diverges (observed at 16³,
   order 8, with degree 60; 1e12–1e13 converged on the benchmark layers, 16³–40³). The
   next interval starts at the largest Ritz value a (ChASE), or at the estimate of λ_nb
   while that is lower (``edge_estimate``): after a cold first pass the top Ritz values lie
   far above λ_nb, so a = μ_nb would leave those states undamped and, through the cap,
   force a low degree (second pass: 13 at 32³, 11 at 24³; with the estimate 15 and 22,
   measured on the benchmark layers). The estimate is
   dropped once a wanted Ritz value (an upper bound of its eigenvalue) reaches it, and the
   edge is never put below the Ritz value a quarter into the buffer (the cut states keep
   their distance from the damped interval). The top buffer columns above the estimate
   stay unconverged; a warm start takes over the estimate (``settings["damping_edge"]``).

Warm start: ``initial`` (a BV, an :class:`EigenResult`, a sequence of Vecs, or a
(local rows × m) array in A's row layout) is used unchanged as the starting block (in the
u-gauge the previous k-point's periodic parts are the right start, ``docs/numerics.md``);
missing columns are filled with random vectors; a Rayleigh–Ritz step precedes the first
filter, so its Ritz values set the first interval and degree. Pass the result of a solve
with ``keep_buffer=True`` to carry the buffer columns over as well: that result also
carries its Ritz values (``settings["buffer_ritz_values"]`` beside ``eigenvalues``), so
the first filter pass starts at once (as in ChASE), with the damping interval from those
values and the capped degree, and the initial Rayleigh–Ritz step — one O(N·nb²) step in
about seven of a warm k-point — is skipped. The filter is linear, so rotating the block
first would not change the filtered subspace; the first pass only loses the per-column
degrees, which a warm block far from convergence at the cap does not use.

Random vectors (start block, Lanczos) come from numpy generators seeded per fixed chunk of
global rows, so a solve follows the same path on any number of ranks (SLEPc 3.18's BV
random fills depend on the layout).

Profiling: PETSc log stages and events ``crust_filter``, ``crust_orth``, ``crust_rr``
(``-log_view``); per-phase wall times are also returned in ``EigenResult.settings``.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, ClassVar, Optional

import numpy as np
from mpi4py import MPI
from scipy.linalg import blas, eigh, eigh_tridiagonal

from ...errors import ConvergenceError, InputError, check_range
from ...petsc_env import init_petsc
from .result import EigenResult  # one result type for every solver


#: PETSc log stage/event names (shown by ``-log_view``).
LOG_NAMES = ("crust_filter", "crust_orth", "crust_rr")

ORTH_TYPES = ("tsqr", "svqb", "chol", "gs")

# Cholesky-QR2/SVQB2 lose orthogonality (error ~ κ² ε per pass) and break down near
# κ ~ 1e8; above this predicted condition number an iteration uses TSQR instead.
_CHOLQR_MAX_COND = 1e6


def default_buffer(nev: int) -> int:
    """Buffer columns beyond nev: max(10, ⌈0.15 nev⌉) (as in Octopus and ChASE)."""
    return max(10, int(math.ceil(0.15 * nev)))


@dataclass(frozen=True)
class SpectralBounds:
    """Spectral information used to build the filter (MeV).

    lower : estimate of λ_min (smallest Lanczos Ritz value; scales the filter).
    upper : upper bound of λ_max used as the filter's right end.
    cut : initial estimate of λ_nb (from the Lanczos density of states).
    lanczos_upper : θ_max + |β| + margin·width, before the Gershgorin cap.
    gershgorin_upper : Gershgorin bound (inf when A is not AIJ).
    steps : Lanczos steps taken.
    """

    lower: float
    upper: float
    cut: float
    lanczos_upper: float
    gershgorin_upper: float
    steps: int


@contextmanager
def _logged(PETSc, name):
    # Stage and event with the same name: the stage gives a separate -log_view section,
    # the event a line in the main table. petsc4py looks both up by name (no duplicates).
    stage = PETSc.Log.Stage(name)
    event = PETSc.Log.Event(name)
    stage.push()
    event.begin()
    try:
        yield
    finally:
        event.end()
        stage.pop()


@contextmanager
def _local(bv):
    """Local rows of the active, non-leading columns of ``bv`` as an (nloc, k−l) view."""
    mat = bv.getMat()
    try:
        yield mat.getDenseArray()
    finally:
        bv.restoreMat(mat)


def _axpy(y, x, alpha):
    """y ← y + alpha·x in place (BLAS zaxpy on the contiguous local block)."""
    if y.size:
        blas.zaxpy(x.ravel(order="K"), y.ravel(order="K"), a=alpha)


def _scal(y, alpha):
    if y.size:
        blas.zscal(alpha, y.ravel(order="K"))


def _seq_dense(PETSc, array):
    """A sequential dense PETSc Mat holding ``array`` (square, replicated)."""
    n = array.shape[0]
    mat = PETSc.Mat().createDense((n, n), comm=PETSc.COMM_SELF)
    mat.setUp()
    mat.getDenseArray()[:] = array
    mat.assemble()
    return mat


#: Column-block width of :func:`hermitian_projection` (its extra cost over the exact upper
#: triangle is about block/(2n) of the full product: 8 % at n = 1553).
_PROJECTION_BLOCK = 128


def hermitian_projection(X, W, comm):
    """Xᴴ W on rank 0 (None on the other ranks), for W = A X with A Hermitian.

    The product is Hermitian, so only its upper block triangle is computed — column blocks
    of width ``_PROJECTION_BLOCK``, ``zgemm`` with the conjugate transpose on the local
    rows, ≈ (1/2 + block/(2n)) of the flops of the full product that SLEPc's ``BVDot``
    computes — summed over the ranks onto rank 0 (the only rank that solves) and mirrored:
    the strict upper triangle and the real part of the diagonal define the result, which
    is exactly Hermitian as LAPACK's ``zheevd`` expects. X and W: BVs with the same active
    columns (n of them) and row layout. Collective over ``comm``.
    """
    bs = _PROJECTION_BLOCK
    with _local(X) as xl, _local(W) as wl:
        n = xl.shape[1]
        M = np.zeros((n, n), dtype=complex, order="F")
        if xl.shape[0]:
            for j0 in range(0, n, bs):
                j1 = min(n, j0 + bs)
                M[:j1, j0:j1] = blas.zgemm(1.0, xl[:, :j1], wl[:, j0:j1], trans_a=2)
    total = np.empty_like(M) if comm.rank == 0 else None
    comm.Reduce(M, total, op=MPI.SUM, root=0)
    del M
    if comm.rank != 0:
        return None
    upper = np.triu(total, 1)
    H = upper + upper.conj().T
    H[np.diag_indices(n)] = total.diagonal().real
    return H


def gershgorin_bounds(A):
    """(lower, upper) Gershgorin bounds of a Hermitian AIJ matrix; (−inf, inf) otherwise.

    Collective. Uses the real part of the diagonal (Hermitian) and Σ_{j≠i}|a_ij| per row;
    min/max reductions are exact, so every rank gets the same numbers.
    """
    comm = A.getComm().tompi4py()
    if "aij" not in str(A.getType()).lower():
        return -math.inf, math.inf
    rstart, rend = A.getOwnershipRange()
    indptr, cols, vals = A.getValuesCSR()
    nloc = rend - rstart
    rows = np.repeat(np.arange(rstart, rend), np.diff(indptr))
    diag_mask = cols == rows
    local = rows - rstart
    radius = np.bincount(local[~diag_mask], weights=np.abs(vals[~diag_mask]), minlength=nloc)
    diag = np.bincount(local[diag_mask], weights=vals[diag_mask].real, minlength=nloc)
    lo = float(np.min(diag - radius)) if nloc else math.inf
    hi = float(np.max(diag + radius)) if nloc else -math.inf
    return comm.allreduce(lo, op=MPI.MIN), comm.allreduce(hi, op=MPI.MAX)


_RANDOM_CHUNK = 4096


def _random_block(rstart: int, rend: int, ncols: int, seed: int) -> np.ndarray:
    """Rows rstart..rend−1 of a global (N × ncols) complex normal random block.

    The global block is cut into fixed chunks of rows, each drawn from its own generator
    seeded by (seed, chunk), so every rank draws only (about) its own rows and the block
    does not depend on the number of ranks (SLEPc 3.18's BV random fills do).
    """
    out = np.empty((rend - rstart, ncols), dtype=complex)
    if rend <= rstart or ncols == 0:
        return out
    C = _RANDOM_CHUNK
    for chunk in range(rstart // C, (rend - 1) // C + 1):
        g = np.random.default_rng([int(seed), chunk])
        vals = g.standard_normal((C, ncols, 2))
        lo, hi = max(rstart, chunk * C), min(rend, (chunk + 1) * C)
        blk = vals[lo - chunk * C:hi - chunk * C]
        out[lo - rstart:hi - rstart] = blk[..., 0] + 1j * blk[..., 1]
    return out


def _random_vec(A, seed):
    """A random unit vector, independent of the number of ranks."""
    x = A.createVecRight()
    rstart, rend = x.getOwnershipRange()
    x.setArray(_random_block(rstart, rend, 1, seed)[:, 0])
    x.normalize()
    return x


def lanczos_bounds(A, steps: int = 100, fraction: float = 0.05, margin: float = 0.05,
                   seed: int = 1) -> SpectralBounds:
    """Spectral bounds and a density-of-states estimate of λ at ``fraction`` of the spectrum.

    Plain Lanczos (no reorthogonalisation: only the extreme Ritz values and the spectral
    weights are used). The upper bound θ_k + |β_k| is Zhou & Li's (2011) safeguarded bound,
    widened by ``margin`` of the estimated width and capped by Gershgorin. The tridiagonal
    problem is solved on rank 0 and broadcast (identical numbers on every rank).
    Collective over A's communicator.
    """
    PETSc, SLEPc = init_petsc()
    comm = A.getComm().tompi4py()
    N = A.getSize()[0]
    steps = max(2, min(int(steps), N))
    v = _random_vec(A, seed)
    v_old = v.duplicate()
    w = v.duplicate()
    alphas, betas = [], []
    beta = 0.0
    try:
        for _ in range(steps):
            A.mult(v, w)
            alpha = w.dot(v).real  # vᴴAv (PETSc: w.dot(v) = vᴴ w)
            w.axpy(-alpha, v)
            if beta:
                w.axpy(-beta, v_old)
            beta = w.norm()
            alphas.append(alpha)
            betas.append(beta)
            if beta <= 1e-12 * max(1.0, abs(alpha)):  # invariant subspace found
                break
            v_old, v, w = v, w, v_old
            v.scale(1.0 / beta)
    finally:
        for vec in (v, v_old, w):
            vec.destroy()
    gl, gu = gershgorin_bounds(A)
    payload = None
    if comm.rank == 0:
        k = len(alphas)
        theta, S = eigh_tridiagonal(np.array(alphas), np.array(betas[:k - 1]))
        width = max(theta[-1] - theta[0], 1e-12 * max(1.0, abs(theta[-1])))
        lup = float(theta[-1] + abs(betas[-1]) + margin * width)
        upper = min(lup, gu)
        lower = float(theta[0])
        # Spectral weights τⱼ of a random start vector (Gauss quadrature of its spectral
        # measure): the fraction of eigenvalues below the node θⱼ is estimated by the
        # midpoint Σ_{i<j} τᵢ + τⱼ/2 and interpolated linearly between nodes. (Reading
        # it off the cumulative step sum puts the estimate a whole node too low: below
        # λ_nev at 16³–32³, so the first filter pass damped wanted states.)
        tau = np.abs(S[0, :]) ** 2
        tau = tau / tau.sum()
        counting = np.cumsum(tau) - 0.5 * tau
        cut = float(np.interp(fraction, counting, theta))
        # Keep the damping edge strictly inside (lower, upper).
        cut = float(min(max(cut, lower + 1e-3 * (upper - lower)), upper - 1e-2 * (upper - lower)))
        payload = SpectralBounds(lower=lower, upper=float(upper), cut=cut, lanczos_upper=lup,
                                 gershgorin_upper=float(gu), steps=k)
    return comm.bcast(payload, root=0)


def hermitian_defect(A, seed: int = 7) -> float:
    """|yᴴAx − (Ay)ᴴx| / (‖Ax‖‖y‖ + ‖Ay‖‖x‖) for random x, y (0 for Hermitian A).

    A randomized check (two products) that works for any Mat type; collective, the value is
    broadcast from rank 0.
    """
    PETSc, SLEPc = init_petsc()
    comm = A.getComm().tompi4py()
    x = _random_vec(A, seed)
    y = _random_vec(A, seed + 1)
    ax, ay = A.createVecLeft(), A.createVecLeft()
    try:
        A.mult(x, ax)
        A.mult(y, ay)
        s1 = ax.dot(y)  # yᴴ A x
        s2 = x.dot(ay)  # (Ay)ᴴ x
        scale = ax.norm() * y.norm() + ay.norm() * x.norm()
    finally:
        for vec in (x, y, ax, ay):
            vec.destroy()
    value = abs(s1 - s2) / scale if scale > 0 else 0.0
    return comm.bcast(float(value), root=0)


def _cheb_value(m: int, t: float) -> float:
    """|C_m(t)| for |t| ≥ 1 (cosh form), 1 inside [−1, 1]."""
    at = abs(t)
    if at <= 1.0:
        return 1.0
    return math.cosh(min(m * math.acosh(at), 700.0))


def _check_int(name, value, lo):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer, got {value!r}")
    check_range(name, value, lo=lo)
    return int(value)


@dataclass(frozen=True)
class ChebyshevSolver:
    """Block Chebyshev-filtered subspace iteration for the lowest ``nev`` eigenpairs.

    ``solve(A, initial=previous_result)`` warm-starts from another k-point's vectors
    (:attr:`takes_warm_start`; the drivers pass the previous k-point of their chunk).

    Parameters
    ----------
    nev : wanted eigenpairs (bands).
    tol : residual tolerance on ‖Ax − λx‖ / max(1 MeV, |λ|) (as in ``eigensolvers``).
    max_it : maximum number of filter passes.
    degree : filter degree of the first pass (later passes adapt).
    buffer : extra columns, default max(10, ⌈0.15 nev⌉) (:func:`default_buffer`).
    min_degree, max_degree : clamp of the adaptive degree.
    per_column_degree : give each column the degree its own residual needs (ChASE), rather
        than the largest one to all.
    max_amplification : cap on |C_m(t_min)|, the filter's amplification of the bottom of
        the spectrum relative to the damped interval. Components along the locked (and
        lowest) eigenvectors survive in the other columns at the level of the residual
        tolerance and round-off; amplified beyond ~1/(tol·ε)^(1/2) (≈ 7e11 at tol 1e-8)
        they swamp the columns near the cut and the iteration diverges, so the degree is
        capped at acosh(max_amplification)/acosh|t_min|. This binds on the realistic
        fields: 1e12 (default) allows degree 22 at 24³ where 1e10 allowed 19, and
        converged on the benchmark layers 16³–40³.
    lock_factor : a column is locked once its residual is ≤ lock_factor·tol (0: never
        lock). Locked vectors are fixed; every active column is kept orthogonal to them, so
        their errors (≈ their residuals) set a floor for the residuals of the others: locking
        at tol itself stalls the last columns just above tol.
    edge_estimate : keep an estimate of λ_nb as the damping edge while the largest Ritz
        value lies above it: the Lanczos density-of-states estimate in a cold start, the
        previous solve's edge (``settings["damping_edge"]``) in a warm start from a
        keep_buffer result. Dropped for good once a wanted Ritz value reaches it. False:
        the interval starts at the largest Ritz value after the first pass.
    orth : block orthonormalisation, ``"tsqr"`` (default), ``"svqb"``, ``"chol"`` (both
        applied twice), or ``"gs"`` (SLEPc's refined Gram–Schmidt, column by column).
    lanczos_steps, bound_margin : spectral bounds (see :func:`lanczos_bounds`).
    want_vectors : return the eigenvectors as a BV.
    allow_unconverged : return unconverged results instead of raising ConvergenceError.
    extend_clusters : return the whole degenerate cluster at the cut (more than nev).
    cluster_tol : relative degeneracy tolerance, default max(1e-6, 10 tol).
    check_hermitian : randomized Hermiticity check of A (InputError if it fails).
    keep_buffer : keep all nb columns in ``vectors``: the m eigenvectors are the active
        columns, the buffer Ritz vectors follow them (inactive): the best warm start for the
        next k-point (``solve(A, initial=result)`` uses every column of the BV).
    seed : seed of the random start block and Lanczos vector (results do not depend on
        the number of ranks: SLEPc generates random BV columns globally).
    monitor : optional callable ``monitor(iteration, nconv, max_residual, degree)``,
        called on every rank with identical arguments after each Rayleigh–Ritz step
        (iteration 0 is the Rayleigh–Ritz of a warm start without Ritz values, degree 0).
    """

    nev: int
    tol: float = 1e-8
    max_it: int = 100
    degree: int = 20
    buffer: Optional[int] = None
    min_degree: int = 4
    max_degree: int = 60
    max_amplification: float = 1e12
    lock_factor: float = 0.1
    edge_estimate: bool = True
    per_column_degree: bool = True
    orth: str = "tsqr"
    lanczos_steps: int = 100
    bound_margin: float = 0.05
    want_vectors: bool = True
    allow_unconverged: bool = False
    extend_clusters: bool = False
    cluster_tol: Optional[float] = None
    check_hermitian: bool = True
    keep_buffer: bool = False
    seed: int = 0
    monitor: Optional[Callable] = None

    #: The drivers pass the previous k-point's result as ``initial`` (ClassVar, not a field).
    takes_warm_start: ClassVar[bool] = True

    def __post_init__(self):
        _check_int("nev (number of bands)", self.nev, 1)
        check_range("eigensolver tol", self.tol, lo=0.0, hi=1.0, lo_open=True)
        _check_int("max_it", self.max_it, 1)
        _check_int("Chebyshev degree", self.degree, 1)
        _check_int("min_degree", self.min_degree, 1)
        _check_int("max_degree", self.max_degree, self.min_degree)
        if self.buffer is not None:
            _check_int("eigensolver buffer", self.buffer, 0)
        if self.orth not in ORTH_TYPES:
            raise InputError(f"orth = {self.orth!r} is not one of: {', '.join(ORTH_TYPES)}")
        _check_int("lanczos_steps", self.lanczos_steps, 2)
        check_range("bound_margin", self.bound_margin, lo=0.0)
        check_range("max_amplification", self.max_amplification, lo=10.0)
        check_range("lock_factor", self.lock_factor, lo=0.0, hi=1.0)
        if self.cluster_tol is not None:
            check_range("cluster_tol", self.cluster_tol, lo=0.0, lo_open=True)
        if self.monitor is not None and not callable(self.monitor):
            raise InputError(f"monitor must be callable, got {self.monitor!r}")

    @property
    def kind(self) -> str:
        return "chebyshev"

    @property
    def nbuffer(self) -> int:
        return default_buffer(self.nev) if self.buffer is None else int(self.buffer)

    @property
    def degeneracy_tol(self) -> float:
        """Relative gap (× max(1 MeV, |λ|)) below which two levels count as degenerate."""
        return self.cluster_tol if self.cluster_tol is not None else max(1e-6, 10.0 * self.tol)

    # ------------------------------------------------------------------ building blocks
    def _filter(self, A, X, Y, Z, degrees, a, b, a0, lock):
        """Scaled Chebyshev filter on columns lock..nb−1 of X, column j to degree degrees[j].

        Zhou et al. (2006): damp [a, b], normalise at a0 (≈ λ_min). ``degrees`` is
        non-decreasing, so finished columns form a growing leading block (as in ChASE):
        they are copied into X and leave the active range of all three BVs, so later
        steps (SpMM and axpys) skip them. The result is left in X.
        """
        nb = lock + len(degrees)
        degrees = np.asarray(degrees, dtype=int)
        e = 0.5 * (b - a)
        c = 0.5 * (b + a)
        sigma = e / (a0 - c)
        sigma1 = sigma
        gamma = 2.0 / sigma1

        def set_active(lo, hi):
            for bv in (X, Y, Z):
                bv.setActiveColumns(lo, hi)

        def retire(cur, lo, step):
            # Columns whose degree is reached: keep their values (copy into X) and move
            # the leading boundary past them.
            hi = lock + int(np.searchsorted(degrees, step, side="right"))
            if hi > lo and cur is not X:
                cur.setActiveColumns(lo, hi)
                X.setActiveColumns(lo, hi)
                with _local(cur) as src, _local(X) as dst:
                    dst[:] = src
            return hi

        lo = lock
        set_active(lo, nb)
        X.matMult(A, Y)
        with _local(X) as xl, _local(Y) as yl:
            # Y = (σ₁/e)(A X − c X)
            _axpy(yl, xl, -c)
            _scal(yl, sigma1 / e)
        lo = retire(Y, lo, 1)
        cur_old, cur, nxt = X, Y, Z
        for step in range(2, int(degrees[-1]) + 1):
            if lo >= nb:
                break
            set_active(lo, nb)
            sigma2 = 1.0 / (gamma - sigma)
            cur.matMult(A, nxt)
            with _local(cur_old) as ol, _local(cur) as cl, _local(nxt) as nl:
                # Z = 2(σ₂/e)(A Y − c Y) − σσ₂ X
                _axpy(nl, cl, -c)
                _scal(nl, 2.0 * sigma2 / e)
                _axpy(nl, ol, -sigma * sigma2)
            cur_old, cur, nxt = cur, nxt, cur_old
            sigma = sigma2
            lo = retire(cur, lo, step)
        set_active(lock, nb)

    def _orthonormalize(self, SLEPc, X, kind):
        blk = {"tsqr": SLEPc.BV.OrthogBlockType.TSQR, "svqb": SLEPc.BV.OrthogBlockType.SVQB,
               "chol": SLEPc.BV.OrthogBlockType.CHOL, "gs": SLEPc.BV.OrthogBlockType.GS}[kind]
        X.setOrthogonalization(block=blk)
        X.orthogonalize(None)
        if kind in ("svqb", "chol"):
            X.orthogonalize(None)  # second pass: CholQR2 / SVQB2

    def _rayleigh_ritz(self, PETSc, A, X, W, lock, nb, comm, nnz_per_row):
        """RR on columns lock..nb; returns Ritz values, absolute residual norms and the
        number of matrix–vector products (``nnz_per_row``: A's mean, see below)."""
        X.setActiveColumns(lock, nb)
        W.setActiveColumns(lock, nb)
        X.matMult(A, W)
        H = hermitian_projection(X, W, comm)  # Xᴴ A X on the active block, rank 0 only
        n = nb - lock
        nspmv = n
        w = np.empty(n)
        Q = np.empty((n, n), dtype=complex)
        status = np.zeros(1, dtype=np.int64)
        message = None
        if comm.rank == 0:
            try:
                w0, Q0 = eigh(H, driver="evd")
                w[:] = w0
                Q[:] = Q0
            except (ValueError, np.linalg.LinAlgError) as exc:
                status[0] = 1
                message = str(exc)
        del H
        # Rank 0's solution goes to every rank (buffer broadcasts, no pickling): all ranks
        # then rotate with bitwise-identical Q and take identical decisions.
        comm.Bcast(status, root=0)
        if status[0]:
            message = comm.bcast(message, root=0)
            raise ConvergenceError(f"chebyshev: dense Rayleigh–Ritz eigensolve failed: {message}")
        comm.Bcast(w, root=0)
        comm.Bcast(Q, root=0)
        full = np.zeros((nb, nb), dtype=Q.dtype)
        full[lock:nb, lock:nb] = Q
        Qm = _seq_dense(PETSc, full)
        try:
            X.multInPlace(Qm, lock, nb)
            # W ← W Q costs 8·N·n² flops (ZGEMM), W ← A X 8·N·n·nnz (SpMM, ~4× slower per
            # flop here): for n ≫ nnz per row the fresh product is several times cheaper, and
            # exact (no accumulated rounding in the residuals).
            if n > 4 * nnz_per_row:
                X.matMult(A, W)
                nspmv += n
            else:
                W.multInPlace(Qm, lock, nb)
        finally:
            Qm.destroy()
        r2 = np.zeros(nb - lock)
        with _local(X) as xl, _local(W) as wl:
            # In column chunks: a whole-block temporary would be another N × n array.
            for j in range(0, xl.shape[1] if xl.size else 0, 64):
                d = wl[:, j:j + 64] - xl[:, j:j + 64] * w[np.newaxis, j:j + 64]
                r2[j:j + 64] = np.einsum("ij,ij->j", d.real, d.real) + \
                    np.einsum("ij,ij->j", d.imag, d.imag)
        r2 = comm.reduce(np.ascontiguousarray(r2, dtype=float), op=MPI.SUM, root=0)
        return w, comm.bcast(None if r2 is None else np.sqrt(r2), root=0), nspmv

    @staticmethod
    def _nnz_per_row(A) -> float:
        """Average stored nonzeros per row of A (collective; 1 for matrices without info)."""
        try:
            return max(1.0, float(A.getInfo(A.InfoType.GLOBAL_SUM)["nz_used"]) / A.getSize()[0])
        except Exception:  # noqa: BLE001 - shell matrices: treat as sparse
            return 1.0

    def _needed(self, mu, res, nev):
        """Columns that must converge: 0..nev−1 and any pair that may join the cut cluster."""
        nb = len(mu)
        need = np.zeros(nb, dtype=bool)
        need[:nev] = True
        ref = mu[nev - 1]
        slack = self.degeneracy_tol * max(1.0, abs(ref))
        for i in range(nev, nb):
            # An unconverged Ritz value may still drop by up to its absolute residual.
            if mu[i] - ref <= slack + res[i] * max(1.0, abs(mu[i])):
                need[i] = True
            else:
                break
        return need

    def _degree_cap(self, a, b, a0):
        """Largest degree with |C_m(t(a0))| ≤ max_amplification (see class docstring)."""
        e = 0.5 * (b - a)
        t = abs((a0 - 0.5 * (b + a)) / e)
        if t <= 1.0 + 1e-12:
            return self.max_degree
        cap = int(math.acosh(self.max_amplification) / math.acosh(t))
        return max(self.min_degree, min(self.max_degree, cap))

    def _next_degrees(self, mu, res, need, conv, lock, a, b, a0):
        """Per-column filter degrees for columns lock..nb−1 (non-decreasing, capped).

        An unconverged needed column gets the degree predicted to bring its residual to
        tol; a converged but unlocked one the degree to reach the locking threshold;
        buffer columns the largest needed degree (they are filtered for the others' sake).
        The running maximum makes the list non-decreasing (see :meth:`_filter`).
        """
        e = 0.5 * (b - a)
        c = 0.5 * (b + a)
        cap = self._degree_cap(a, b, a0)
        nb = len(mu)
        pred = np.full(nb - lock, self.min_degree, dtype=int)
        for i in range(lock, nb):
            if not need[i]:
                continue
            target = self.tol if not conv[i] else max(self.lock_factor * self.tol, 1e-300)
            t = abs((mu[i] - c) / e)
            if t <= 1.0 + 1e-12:
                pred[i - lock] = cap  # inside the damped interval: only the buffer helps
                continue
            ratio = max(res[i] / target, 1.0)
            pred[i - lock] = math.ceil(math.acosh(ratio) / math.acosh(t)) + 1
        pred = np.clip(pred, self.min_degree, cap)
        top = int(pred[need[lock:]].max()) if need[lock:].any() else int(pred.max())
        pred[~need[lock:]] = top
        if not self.per_column_degree:
            pred[:] = int(pred.max())
        return np.maximum.accumulate(pred)

    @staticmethod
    def _prior_ritz_values(initial, nb):
        """Ritz values of all nb columns of a keep_buffer EigenResult, else None."""
        settings = getattr(initial, "settings", None) or {}
        values = np.concatenate([np.asarray(initial.eigenvalues, dtype=float),
                                 np.asarray(settings.get("buffer_ritz_values", []), dtype=float)])
        if len(values) != nb or not np.all(np.isfinite(values)):
            return None
        return values

    def _fill_initial(self, PETSc, A, X, initial, nb):
        """Copy the warm-start block into X's first columns; returns how many were copied
        and whether they are an EigenResult's vectors (orthonormal)."""
        N = A.getSize()[0]
        rstart, rend = A.getOwnershipRange()
        nloc = rend - rstart
        comm = A.getComm().tompi4py()

        def agree(ok_here: bool) -> bool:
            # Row layouts are per rank: decide together so that all ranks raise or none.
            return bool(comm.allreduce(int(ok_here), op=MPI.MIN))

        from_result = isinstance(initial, EigenResult) or hasattr(initial, "eigenvalues")
        if from_result:
            initial = initial.vectors
            if initial is None:
                raise InputError("warm start: the EigenResult carries no vectors")
        if isinstance(initial, np.ndarray):
            arr = initial if initial.ndim == 2 else initial[:, np.newaxis]
            if not agree(arr.shape[0] == nloc):
                raise InputError(
                    "warm start: the array must hold the locally owned rows of the matrix "
                    "(PETSc ordering) on every rank; the row counts differ on at least one "
                    f"rank (here {arr.shape[0]} rows, {nloc} owned)")
            m = min(arr.shape[1], nb)
            X.setActiveColumns(0, m)
            with _local(X) as xl:
                xl[:] = arr[:, :m]
            return m, from_result
        if hasattr(initial, "getActiveColumns") and hasattr(initial, "getSizes"):
            (nl, ng), ncols = initial.getSizes()
            if not agree(ng == N and nl == nloc):
                raise InputError(
                    f"warm start: the BV has {ng} rows ({nl} local), the matrix {N} ({nloc})")
            l0, k0 = initial.getActiveColumns()
            initial.setActiveColumns(0, ncols)
            m = min(ncols, nb)
            try:
                X.setActiveColumns(0, m)
                with _local(X) as xl, _local(initial) as il:
                    xl[:] = il[:, :m]
            finally:
                initial.setActiveColumns(l0, k0)
            return m, from_result
        vecs = list(initial)
        m = min(len(vecs), nb)
        for j in range(m):
            if vecs[j].getSize() != N:
                raise InputError(f"warm start: vector {j} has {vecs[j].getSize()} rows, "
                                 f"the matrix {N}")
            X.insertVec(j, vecs[j])
        return m, from_result

    # ------------------------------------------------------------------------ solve
    def solve(self, A, initial=None) -> EigenResult:
        """Lowest ``nev`` eigenpairs of the Hermitian matrix A (collective over its comm)."""
        PETSc, SLEPc = init_petsc()
        t0 = time.perf_counter()
        comm = A.getComm().tompi4py()
        N, Ncols = A.getSize()
        if N != Ncols:
            raise InputError(f"the matrix must be square, got {N} × {Ncols}")
        if self.nev >= N:
            raise InputError(
                f"nev = {self.nev} bands requested but the matrix has only {N} rows; the "
                f"Chebyshev solver needs nev < matrix size (use the dense 'lapack' solver "
                f"for the full spectrum, or refine the grid)")
        if self.check_hermitian:
            defect = hermitian_defect(A, seed=self.seed + 101)
            if not defect <= 1e-10:
                raise InputError(
                    f"the matrix is not Hermitian (randomized test |yᴴAx − (Ay)ᴴx| / scale = "
                    f"{defect:.3g} > 1e-10); the Chebyshev solver needs a Hermitian matrix")
        nb = min(N, self.nev + self.nbuffer)
        nev = self.nev
        nnz_per_row = self._nnz_per_row(A)   # once: it picks the cheaper W update in RR
        times = {"bounds": 0.0, "filter": 0.0, "orth": 0.0, "rr": 0.0}
        tb = time.perf_counter()
        bounds = lanczos_bounds(A, steps=self.lanczos_steps, fraction=nb / N,
                                margin=self.bound_margin, seed=self.seed + 11)
        times["bounds"] = time.perf_counter() - tb
        b = bounds.upper
        a0 = bounds.lower

        x = A.createVecRight()
        X = SLEPc.BV().create(comm=A.getComm())
        X.setSizesFromVec(x, nb)
        X.setType("mat")
        x.destroy()
        Y = Z = None
        history = []
        degrees = []
        active = []   # unlocked columns in each filter pass (for flop counts)
        spmv_filter = 0  # column products inside the filter (the rest: Rayleigh–Ritz)
        spmv = 0
        try:
            Y = X.duplicate()
            Z = X.duplicate()
            ncopied, given_orthonormal = 0, False
            if initial is not None:
                ncopied, given_orthonormal = self._fill_initial(PETSc, A, X, initial, nb)
            if ncopied < nb:
                X.setActiveColumns(ncopied, nb)
                rstart, rend = A.getOwnershipRange()
                with _local(X) as xl:
                    xl[:] = _random_block(rstart, rend, nb - ncopied, self.seed + 1)

            lock = 0
            mu = np.zeros(nb)
            res = np.full(nb, np.inf)
            conv = np.zeros(nb, dtype=bool)
            need = np.zeros(nb, dtype=bool)
            need[:nev] = True
            a = bounds.cut
            edge_est = bounds.cut if (self.edge_estimate and initial is None) else None
            edge_est_passes = 0   # Rayleigh–Ritz steps after which the edge was the estimate
            quarter_buffer = -(-(nb - nev) // 4)
            degree = int(self.degree)
            degs = None
            iterations = 0
            done = False

            def rr_step():
                nonlocal spmv
                tr = time.perf_counter()
                with _logged(PETSc, "crust_rr"):
                    w, r, nspmv = self._rayleigh_ritz(PETSc, A, X, Z, lock, nb, comm,
                                                      nnz_per_row)
                spmv += nspmv
                times["rr"] += time.perf_counter() - tr
                mu[lock:] = w
                res[lock:] = r / np.maximum(1.0, np.abs(w))

            def assess():
                nonlocal lock, a, done, need, conv
                conv = res <= self.tol
                need = self._needed(mu, res, nev)
                # Lock the leading run of columns converged well below tol (ChASE-style
                # locking): they leave the filter, the orthogonalisation and the projection.
                nl = lock
                while nl < nb and res[nl] <= self.lock_factor * self.tol:
                    nl += 1
                lock = nl
                done = bool(np.all(conv[need]))
                a = damping_edge()

            def damping_edge():
                # The next damping interval starts at the largest Ritz value (≥ λ_nb), or
                # at an estimate of λ_nb while that is lower (edge_estimate): far from
                # convergence the top Ritz values lie far above λ_nb, so the states between
                # would not be damped and the amplification cap would force a low degree;
                # the top buffer columns are damped by the estimate and stay unconverged,
                # so a warm start reuses the estimate too. It is dropped for good once a
                # wanted Ritz value (an upper bound of its eigenvalue) reaches it.
                # Never below the Ritz value a quarter into the buffer (an upper bound of
                # λ there): an estimate just above λ_nev would leave the cut states next to
                # the damped interval, where the filter barely separates them (a stall).
                nonlocal edge_est, edge_est_passes
                edge = float(mu[nb - 1])
                if edge_est is not None:
                    if mu[nev - 1] >= edge_est:
                        edge_est = None
                    else:
                        floor = float(mu[min(nb - 1, nev - 1 + quarter_buffer)])
                        if max(edge_est, floor) < edge:
                            edge = max(edge_est, floor)
                            edge_est_passes += 1
                return float(min(edge, b - 1e-3 * (b - a0)))

            def notify(it, deg):
                maxres = float(np.max(res[need]))
                history.append((it, int(np.count_nonzero(conv[:nev])), maxres, deg))
                if self.monitor is not None:
                    self.monitor(it, int(np.count_nonzero(conv[:nev])), maxres, deg)

            prior = None
            if given_orthonormal and ncopied == nb and nb < N:
                prior = self._prior_ritz_values(initial, nb)
            if prior is not None:
                # Warm start from a keep_buffer result: filter at once (see module doc).
                mu[:] = prior
                if self.edge_estimate:
                    edge_est = (getattr(initial, "settings", None) or {}).get("damping_edge")
                a = damping_edge()
                degs = np.full(nb, self._degree_cap(a, b, min(a0, float(mu[0]))))
            elif initial is not None or nb == N:
                to = time.perf_counter()
                with _logged(PETSc, "crust_orth"):
                    # TSQR once for a warm start: the given block may be rank deficient. The
                    # vectors of an EigenResult are orthonormal already (in the u-gauge the
                    # inner product does not depend on k), so then only the random fill is
                    # orthonormalised, against them (saves one O(N nb²) step per k).
                    X.setActiveColumns(ncopied if given_orthonormal else 0, nb)
                    if X.getActiveColumns()[0] < nb:
                        self._orthonormalize(SLEPc, X, "tsqr")
                times["orth"] += time.perf_counter() - to
                rr_step()
                assess()
                notify(0, 0)
                if not done and nb < N:
                    degs = self._next_degrees(mu, res, need, conv, lock, a, b, min(a0, mu[0]))

            while not done and iterations < self.max_it and nb < N:
                iterations += 1
                a = min(a, b - 1e-3 * (b - a0))
                if iterations > 1 or initial is not None:
                    a0 = min(a0, float(mu[0]))  # Ritz values are upper bounds of λ_min too
                if a0 >= a:
                    a0 = a - 0.5 * (b - a)
                if iterations == 1 and initial is None:
                    degs = np.full(nb - lock, min(int(self.degree), self._degree_cap(a, b, a0)))
                degree = int(degs[-1])
                tf = time.perf_counter()
                with _logged(PETSc, "crust_filter"):
                    for bv in (X, Y, Z):
                        bv.setActiveColumns(lock, nb)
                    self._filter(A, X, Y, Z, degs, a, b, a0, lock)
                spmv += int(np.sum(degs))
                spmv_filter += int(np.sum(degs))
                times["filter"] += time.perf_counter() - tf
                degrees.append(degree)
                active.append(nb - lock)
                kind = self.orth
                if kind in ("svqb", "chol"):
                    # Predicted condition of the filtered block (ChASE): amplification of
                    # the lowest Ritz value relative to the damped interval.
                    e, c = 0.5 * (b - a), 0.5 * (b + a)
                    lowest = float(mu[lock]) if (iterations > 1 or initial is not None) else a0
                    if _cheb_value(degree, (lowest - c) / e) > _CHOLQR_MAX_COND:
                        kind = "tsqr"
                to = time.perf_counter()
                with _logged(PETSc, "crust_orth"):
                    X.setActiveColumns(lock, nb)
                    self._orthonormalize(SLEPc, X, kind)
                times["orth"] += time.perf_counter() - to
                rr_step()
                assess()
                notify(iterations, degree)
                if not done:
                    degs = self._next_degrees(mu, res, need, conv, lock, a, b, min(a0, mu[0]))

            # ---- result
            order = np.argsort(mu, kind="stable")
            X.setActiveColumns(0, nb)
            if np.any(order != np.arange(nb)):
                # A late Ritz value below a locked one (rare): permute the columns.
                perm = np.zeros((nb, nb))
                perm[order, np.arange(nb)] = 1.0
                Pm = _seq_dense(PETSc, perm)
                try:
                    X.multInPlace(Pm, 0, nb)
                finally:
                    Pm.destroy()
                mu, res, conv, need = mu[order], res[order], conv[order], need[order]
            ref = mu[nev - 1]
            slack = self.degeneracy_tol * max(1.0, abs(ref))
            m = nev
            if self.extend_clusters:
                while m < nb and mu[m] - ref <= slack:
                    m += 1
            cut_gap = float(mu[m] - mu[m - 1]) if m < nb else math.nan
            splits = bool(m >= nb or cut_gap <= slack)
            nconv = int(np.count_nonzero(conv[:nev]))
            converged = bool(np.all(conv[need]))
            if not converged and not self.allow_unconverged:
                bad = np.nonzero(need & ~conv)[0]
                worst = bad[np.argsort(-res[bad])][:5]
                detail = ", ".join(f"#{i}: λ={mu[i]:.6g} MeV res={res[i]:.3g}"
                                   for i in sorted(worst))
                raise ConvergenceError(
                    f"chebyshev: {nconv} of {nev} eigenpairs converged to tol {self.tol:g} "
                    f"after {iterations} filter passes (last degree {degree}); max residual "
                    f"{float(np.max(res[need])):.3g}; worst: {detail}. Raise max_it or the "
                    f"degree/buffer, loosen tol, or pass allow_unconverged=True")
            settings = {
                "eps_type": "chebyshev", "nev": nev, "nb": nb, "tol": float(self.tol),
                "max_it": int(self.max_it), "orth": self.orth, "degrees": degrees,
                "lower_bound": bounds.lower, "upper_bound": bounds.upper,
                "lanczos_upper": bounds.lanczos_upper,
                "gershgorin_upper": bounds.gershgorin_upper, "initial_cut": bounds.cut,
                "lanczos_steps": bounds.steps, "warm_start": initial is not None,
                "warm_columns": ncopied, "initial_rr_skipped": prior is not None,
                "estimated_edge_passes": int(edge_est_passes),
                # Start of the next damping interval (the warm start's edge estimate).
                "damping_edge": float(a),
                "spmv": int(spmv), "spmv_filter": int(spmv_filter),
                "locked": int(lock),
                "cluster_needed": int(np.count_nonzero(need)),
                "cut_gap_converged": bool(m < nb and conv[m]),
                "buffer_columns": int(nb - m) if self.keep_buffer else 0,
                # Ritz values of the buffer columns kept in ``vectors`` (warm starts).
                "buffer_ritz_values": [float(v) for v in mu[m:nb]] if self.keep_buffer else [],
                "times": dict(times), "history": history, "active_columns": active,
            }
            if self.want_vectors:
                if not self.keep_buffer:
                    X.resize(m, copy=True)
                # With keep_buffer the BV still holds all nb columns (the buffer beyond the
                # active ones), which a warm start at the next k-point uses.
                X.setActiveColumns(0, m)
                vectors, X = X, None
            else:
                vectors = None
            return EigenResult(eigenvalues=mu[:m].copy(), residuals=res[:m].copy(),
                               vectors=vectors, iterations=int(iterations), nconv=nconv,
                               solver="chebyshev", seconds=time.perf_counter() - t0,
                               cut_gap=cut_gap, cut_splits_cluster=splits, settings=settings)
        finally:
            for bv in (X, Y, Z):
                if bv is not None:
                    bv.destroy()
