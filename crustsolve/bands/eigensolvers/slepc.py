"""The SLEPc-based eigensolvers: Krylov–Schur and the dense LAPACK reference.

Both are built by :func:`crustsolve.bands.eigensolvers.make_eigensolver` (the one interface)
and return an :class:`~crustsolve.bands.eigensolvers.result.EigenResult`.
Kinds
-----
``"krylovschur"``
    SLEPc Krylov–Schur (``docs/numerics.md``, "Eigensolvers"): HEP,
    ``SMALLEST_REAL``, bounded ``mpd`` (default :func:`default_mpd`), ``ncv`` left to
    SLEPc (≈ nev + mpd), ``-bv_type mat`` (the 3.20+ default, set explicitly because
    Debian's 3.18 defaults to ``svec``), explicit tolerance and a max-iteration guard.
``"lapack"``
    Dense reference: the matrix is gathered to rank 0 of its communicator and solved by
    LAPACK (``scipy.linalg.eigh``, ``zheevr`` on the wanted index range); eigenvalues are
    broadcast and eigenvectors scattered back into a distributed BV. Independent of SLEPc,
    so it checks Krylov–Schur in the tests. Refused above ``max_size`` rows (default
    10 000: a dense complex matrix of 1.6 GB on one rank).

Residuals
---------
``residuals[i] = ‖A x_i − λ_i x_i‖₂ / max(1 MeV, |λ_i|)`` with ‖x_i‖₂ = 1 (the true residual,
recomputed after the solve, not SLEPc's estimate). The SLEPc stopping test is ``ABS``
(‖r‖ ≤ tol, in MeV), which implies the reported residual ≤ tol; ``REL`` (SLEPc's default)
divides by |λ| and never converges at λ = 0, which occurs (the empty lattice at Γ). A solve
is *converged* when at least ``nev`` pairs converged and every reported residual ≤ tol;
otherwise :class:`~crustsolve.errors.ConvergenceError` (on every rank of A's communicator:
the residuals are computed collectively) unless ``allow_unconverged=True``.

Degenerate clusters at the cut
------------------------------
A single-vector Krylov method can miss copies of an exactly degenerate level (high-symmetry
k; measured here: one of six copies at the R point of an 8³ test operator). Krylov–Schur is
therefore followed by a small check solve in the orthogonal complement of the converged
eigenvectors (SLEPc deflation space, options prefix ``<prefix>check_``); states it finds
below the cut are added and the check repeats (``verify_multiplicity``, default on; the
number added is ``settings["multiplicity_check_added"]``; the band driver switches it off at
k-points whose little group is trivial, where no degeneracy is symmetry-enforced).

``buffer`` extra states are computed (and discarded) so that the gap above band ``nev`` is
known. ``EigenResult.cut_gap`` is λ_{nev+1} − λ_nev and ``cut_splits_cluster`` is True when
it is below the cluster tolerance (the energies are still right; the eigenvectors of that
cluster then span only part of the degenerate subspace). ``extend_clusters=True`` instead
returns the whole cluster (more than ``nev`` states) when the buffer holds it.

PETSc/SLEPc options
-------------------
Programmatic defaults are set first, then options are read twice: plain ``-eps_*``,
``-st_*``, ``-bv_*``, ``-ds_*``, ``-rg_*`` (as in SLEPc's examples and as users type them),
then the per-object prefix (default ``crust_``: ``-crust_eps_tol``, ``-crust_st_type`` …,
as firedrake/petsctools do). Precedence: prefixed > plain > programmatic. Options that act
at solve time (``-eps_view``, ``-eps_monitor`` …) must be given with the prefix.
``nev`` below the requested number of states (``-eps_nev``) is an error: the band count is
crustsolve's.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.linalg
import scipy.sparse

from ...errors import ConvergenceError, InputError, check_range
from ...petsc_env import init_petsc
from .result import EigenResult


#: Largest matrix the dense solver accepts by default (rows).
DEFAULT_DENSE_MAX_SIZE = 10_000


def bv_from_local(A, local):
    """A new SLEPc BV on A's communicator holding the columns of ``local`` (the local rows,
    in A's row layout, of an (N, m) array). Collective."""
    _, SLEPc = init_petsc()
    x = A.createVecRight()
    bv = SLEPc.BV().create(comm=A.getComm())
    bv.setSizesFromVec(x, local.shape[1])
    bv.setType("mat")
    for j in range(local.shape[1]):
        x.setArray(np.ascontiguousarray(local[:, j]))
        bv.insertVec(j, x)
    x.destroy()
    return bv


def _enum_name(enum, value) -> str:
    """Name of a petsc4py/slepc4py enum value (``ABS``, ``SMALLEST_REAL`` …)."""
    for key, val in vars(enum).items():
        if not key.startswith("_") and val == value:
            return key
    return str(value)


def default_mpd(nstates: int) -> int:
    """Default Krylov–Schur ``mpd`` for ``nstates`` wanted states (ncv ≈ nstates + mpd).

    min(nstates, max(100, ⌈nstates/2⌉)): the whole ``nstates`` for small problems, ≈ 100 near
    200 states (measured: mpd ≈ 100 beat SLEPc's ncv = 2 nev at 200 and 500 states on 16³),
    ≈ 500 for 10³ states (the practice reported in yambo's SLEPc interface) — a bounded serial
    projected problem of (nev + mpd)² entries.
    """
    return int(min(nstates, max(100, math.ceil(nstates / 2))))


def _default_buffer(nev: int) -> int:
    # A few states beyond the cut: enough to see the gap and to let Krylov–Schur find a
    # missing copy of a degenerate level; 5 % for large nev keeps the overhead bounded.
    return max(4, int(math.ceil(0.05 * nev)))


def _check_int(name, value, lo, hi=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{name} must be an integer, got {value!r}")
    check_range(name, value, lo=lo, hi=hi)
    return int(value)


@dataclass(frozen=True)
class _SolverBase:
    nev: int
    tol: float = 1e-8
    buffer: Optional[int] = None
    want_vectors: bool = True
    allow_unconverged: bool = False
    extend_clusters: bool = False
    cluster_tol: Optional[float] = None

    def _validate(self):
        _check_int("nev (number of bands)", self.nev, 1)
        check_range("eigensolver tol", self.tol, lo=0.0, hi=1.0, lo_open=True)
        if self.buffer is not None:
            _check_int("eigensolver buffer", self.buffer, 0)
        if self.cluster_tol is not None:
            check_range("cluster_tol", self.cluster_tol, lo=0.0, lo_open=True)

    @property
    def nbuffer(self) -> int:
        return _default_buffer(self.nev) if self.buffer is None else int(self.buffer)

    @property
    def degeneracy_tol(self) -> float:
        """Relative distance (× max(1 MeV, |λ|)) below which two levels count as degenerate."""
        # An eigenvalue with residual r is accurate to r (Bauer–Fike, Hermitian), so levels
        # closer than a few tol cannot be told apart; 1e-6 is the floor for tight tol.
        return self.cluster_tol if self.cluster_tol is not None else max(1e-6, 10.0 * self.tol)

    def _check_size(self, N: int) -> None:
        if self.nev > N:
            raise InputError(
                f"nev = {self.nev} bands requested but the matrix has only {N} rows "
                f"(grid points); lower --nev or refine the grid")

    def _finish(self, comm, evals, resid, nconv, iterations, name, t0, settings,
                make_vectors):
        """Sort, cut at nev (clusters), check convergence; collective over ``comm``.

        The tolerance checked is the effective one (``settings["tol"]``: an option such
        as ``-crust_eps_tol`` lowers or raises the bar for the check too).
        """
        tol = float(settings.get("tol", self.tol))
        evals = np.asarray(evals, dtype=float)
        resid = np.asarray(resid, dtype=float)
        order = np.argsort(evals, kind="stable")
        evals, resid = evals[order], resid[order]
        m = self.nev
        rel = self.degeneracy_tol
        cut_gap = math.nan
        splits = False
        if len(evals) > m and np.isfinite(evals[m]):
            cut_gap = float(evals[m] - evals[m - 1])
            scale = max(1.0, abs(float(evals[m - 1])))
            splits = cut_gap <= rel * scale
            if splits and self.extend_clusters:
                while m < len(evals) and evals[m] - evals[m - 1] <= rel * max(1.0, abs(evals[m - 1])):
                    m += 1
                cut_gap = float(evals[m] - evals[m - 1]) if m < len(evals) else math.nan
                splits = m == len(evals)  # cluster reached the end of the buffer
        keep = order[:m]
        evals, resid = evals[:m], resid[:m]
        if len(evals) < m:  # unconverged: pad so the shape is always (nev,)
            evals = np.concatenate([evals, np.full(m - len(evals), np.nan)])
            resid = np.concatenate([resid, np.full(m - len(resid), np.inf)])
        bad = (~np.isfinite(resid)) | (resid > tol)
        converged = nconv >= self.nev and not bad.any()
        if not converged and not self.allow_unconverged:
            worst = np.argsort(-np.where(np.isfinite(resid), resid, np.inf))[:5]
            detail = ", ".join(f"#{i}: λ={evals[i]:.6g} MeV res={resid[i]:.3g}" for i in sorted(worst))
            finite = resid[np.isfinite(resid)]
            worst_res = float(finite.max()) if finite.size else math.inf
            raise ConvergenceError(
                f"{name}: {nconv} of {self.nev} eigenpairs converged to tol {tol:g} after "
                f"{iterations} iterations; max residual of the converged ones {worst_res:.3g}; "
                f"worst: {detail}. Raise --max-it / -crust_eps_max_it, the mpd, or loosen tol "
                f"(or pass allow_unconverged=True)")
        vectors = make_vectors(keep) if self.want_vectors else None
        return EigenResult(eigenvalues=evals, residuals=resid, vectors=vectors,
                           iterations=int(iterations), nconv=int(nconv), solver=name,
                           seconds=time.perf_counter() - t0, cut_gap=cut_gap,
                           cut_splits_cluster=bool(splits), settings=dict(settings))


@dataclass(frozen=True)
class KrylovSchurSolver(_SolverBase):
    """SLEPc Krylov–Schur for the lowest ``nev`` eigenpairs (see module docstring)."""

    max_it: Optional[int] = None
    mpd: Optional[int] = None
    ncv: Optional[int] = None
    options_prefix: str = "crust_"
    bv_type: str = "mat"
    verify_multiplicity: bool = True
    check_nev: int = 8
    max_checks: int = 20

    def __post_init__(self):
        self._validate()
        if self.max_it is not None:
            _check_int("max_it", self.max_it, 1)
        if self.mpd is not None:
            _check_int("mpd", self.mpd, 1)
        if self.ncv is not None:
            _check_int("ncv", self.ncv, 1)
        if not isinstance(self.options_prefix, str):
            raise InputError(f"options_prefix must be a string, got {self.options_prefix!r}")

    @property
    def kind(self) -> str:
        return "krylovschur"

    def configure(self, A):
        """A SLEPc EPS for ``A`` with defaults then options applied (caller destroys it)."""
        PETSc, SLEPc = init_petsc()
        N = A.getSize()[0]
        self._check_size(N)
        nint = min(N, self.nev + self.nbuffer)
        mpd = self.mpd if self.mpd is not None else default_mpd(nint)
        eps = SLEPc.EPS().create(comm=A.getComm())
        eps.setOperators(A)
        eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
        eps.setType(SLEPc.EPS.Type.KRYLOVSCHUR)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.SMALLEST_REAL)
        ncv = self.ncv
        if ncv is not None:
            ncv = min(N, max(ncv, nint))
        elif nint + mpd > N:
            ncv = N  # small matrices: SLEPc rejects ncv > N
        eps.setDimensions(nev=nint, ncv=ncv, mpd=min(mpd, ncv) if ncv else mpd)
        eps.setConvergenceTest(SLEPc.EPS.Conv.ABS)
        eps.setTolerances(tol=self.tol, max_it=self.max_it if self.max_it is not None else 1000)
        eps.getBV().setType(self.bv_type)
        # Plain -eps_* first, then the prefixed ones, so the prefix wins.
        eps.setFromOptions()
        if self.options_prefix:
            eps.setOptionsPrefix(self.options_prefix)
            eps.setFromOptions()
        nev_eff = eps.getDimensions()[0]
        if nev_eff < self.nev:
            eps.destroy()
            raise InputError(
                f"the options database sets eps_nev = {nev_eff} < {self.nev} bands requested; "
                f"the number of bands is set by crustsolve (--nev), drop -eps_nev")
        return eps

    @staticmethod
    def settings_of(eps) -> dict:
        """Effective settings of a configured EPS (for provenance and tests)."""
        _, SLEPc = init_petsc()
        nev, ncv, mpd = eps.getDimensions()
        tol, max_it = eps.getTolerances()
        st = eps.getST()
        return {"eps_type": str(eps.getType()), "nev_internal": int(nev), "ncv": int(ncv),
                "mpd": int(mpd), "tol": float(tol), "max_it": int(max_it),
                "conv_test": _enum_name(SLEPc.EPS.Conv, eps.getConvergenceTest()),
                "which": _enum_name(SLEPc.EPS.Which, eps.getWhichEigenpairs()),
                "problem_type": _enum_name(SLEPc.EPS.ProblemType, eps.getProblemType()),
                "bv_type": str(eps.getBV().getType()), "st_type": str(st.getType()),
                "options_prefix": eps.getOptionsPrefix() or ""}

    def _check_solver(self, A, deflation, nwant, tol):
        """Lowest ``nwant`` eigenpairs of A restricted to the complement of ``deflation``."""
        PETSc, SLEPc = init_petsc()
        N = A.getSize()[0]
        eps = SLEPc.EPS().create(comm=A.getComm())
        eps.setOperators(A)
        eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
        eps.setType(SLEPc.EPS.Type.KRYLOVSCHUR)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.SMALLEST_REAL)
        free = N - len(deflation)
        eps.setDimensions(nev=nwant, ncv=min(free, max(2 * nwant, nwant + 16)))
        eps.setConvergenceTest(SLEPc.EPS.Conv.ABS)
        eps.setTolerances(tol=tol, max_it=self.max_it if self.max_it is not None else 1000)
        eps.getBV().setType(self.bv_type)
        eps.setOptionsPrefix((self.options_prefix or "") + "check_")
        eps.setFromOptions()
        eps.setDeflationSpace(deflation)
        return eps

    def solve(self, A) -> EigenResult:
        """Lowest eigenpairs of the Hermitian matrix ``A`` (collective over its communicator).

        After the Krylov–Schur solve, unless ``verify_multiplicity=False``, a second small
        Krylov–Schur solve in the orthogonal complement of the converged eigenvectors
        (SLEPc deflation space) looks for states below the cut that a single-vector Krylov
        method can miss at exact degeneracies (high-symmetry k); any found are added and
        the check repeats. Tune it with ``-<prefix>check_eps_*`` options.
        """
        PETSc, SLEPc = init_petsc()
        t0 = time.perf_counter()
        N = A.getSize()[0]
        eps = self.configure(A)
        evals, resid, vecs = [], [], []
        # Vectors are needed for the caller and as the deflation space of the check.
        need_vectors = self.want_vectors or self.verify_multiplicity
        try:
            return self._solve(A, eps, t0, N, evals, resid, vecs, need_vectors)
        finally:
            for x in vecs:
                x.destroy()

    def _solve(self, A, eps, t0, N, evals, resid, vecs, need_vectors):
        _, SLEPc = init_petsc()
        try:
            eps.setUp()
            settings = self.settings_of(eps)
            nint = settings["nev_internal"]
            eps.solve()
            nconv = eps.getConverged()
            iterations = eps.getIterationNumber()
            name = str(eps.getType())
            # SLEPc solves the small projected problem on every rank, so the eigenvalues may
            # differ by round-off between ranks: take rank 0's, so that every decision made
            # from them (cluster cut, check, convergence) is the same on all ranks.
            comm = A.getComm().tompi4py()
            lams = comm.bcast([eps.getEigenvalue(i).real for i in range(nconv)], root=0)
            for i in range(nconv):
                lam = lams[i]
                # computeError(ABSOLUTE) is the true ‖Ax − λx‖ for a unit x (collective).
                err = eps.computeError(i, SLEPc.EPS.ErrorType.ABSOLUTE)
                evals.append(lam)
                resid.append(err / max(1.0, abs(lam)))
                if need_vectors:
                    x = A.createVecRight()
                    eps.getEigenvector(i, x)
                    vecs.append(x)
        finally:
            eps.destroy()
        added = 0
        if self.verify_multiplicity and nconv >= nint and nconv < N:
            for _ in range(self.max_checks):
                cut = np.sort(evals)[nint - 1]  # largest energy that must be complete
                slack = self.degeneracy_tol * max(1.0, abs(cut))
                nwant = min(N - len(vecs), self.check_nev)
                chk = self._check_solver(A, vecs, nwant, settings["tol"])
                try:
                    chk.solve()
                    iterations += chk.getIterationNumber()
                    found = 0
                    clams = comm.bcast([chk.getEigenvalue(i).real
                                        for i in range(chk.getConverged())], root=0)
                    for i, lam in enumerate(clams):
                        if lam > cut + slack:
                            continue
                        err = chk.computeError(i, SLEPc.EPS.ErrorType.ABSOLUTE)
                        x = A.createVecRight()
                        chk.getEigenvector(i, x)
                        evals.append(lam)
                        resid.append(err / max(1.0, abs(lam)))
                        vecs.append(x)
                        found += 1
                    nchk = chk.getConverged()
                finally:
                    chk.destroy()
                added += found
                # Stop when nothing new lies below the cut, or the check did not converge
                # (then the energies are still validated by the residual test).
                if found == 0 or found < nchk or len(vecs) >= N:
                    break
        settings["multiplicity_check_added"] = added
        n_take = len(vecs)

        def make_vectors(keep):
            template = A.createVecRight()
            bv = SLEPc.BV().create(comm=A.getComm())
            bv.setSizesFromVec(template, len(keep))
            bv.setType("mat")
            template.destroy()
            for j, i in enumerate(keep):
                if i < n_take:
                    bv.insertVec(j, vecs[int(i)])
            return bv

        return self._finish(A.getComm().tompi4py(), evals, resid, nconv + added, iterations,
                            name, t0, settings, make_vectors)


@dataclass(frozen=True)
class DenseSolver(_SolverBase):
    """Dense LAPACK reference (gather to rank 0, ``scipy.linalg.eigh``, scatter back)."""

    max_size: int = DEFAULT_DENSE_MAX_SIZE

    def __post_init__(self):
        self._validate()
        _check_int("max_size", self.max_size, 1)

    @property
    def kind(self) -> str:
        return "lapack"

    def solve(self, A) -> EigenResult:
        """Lowest eigenpairs of ``A`` by dense LAPACK on rank 0 (collective)."""
        PETSc, SLEPc = init_petsc()
        t0 = time.perf_counter()
        N = A.getSize()[0]
        if N > self.max_size:
            raise InputError(
                f"dense solver refused: the matrix has {N} rows > max_size = {self.max_size} "
                f"(dense storage {16 * N * N / 1e9:.1f} GB on one rank); use the "
                f"'krylovschur' solver or a smaller grid")
        self._check_size(N)
        comm = A.getComm().tompi4py()
        rstart, rend = A.getOwnershipRange()
        indptr, cols, vals = A.getValuesCSR()
        parts = comm.gather((rstart, rend, indptr, cols, vals), root=0)
        m = min(N, self.nev + self.nbuffer)
        payload = None
        X = None
        if comm.rank == 0:
            rows = []
            for (r0, r1, ip, cc, vv) in parts:
                rows.append(scipy.sparse.csr_matrix((vv, cc, ip), shape=(r1 - r0, N)))
            S = scipy.sparse.vstack(rows, format="csr")
            try:
                w, X = scipy.linalg.eigh(S.toarray(), subset_by_index=[0, m - 1],
                                         driver="evr", overwrite_a=True, check_finite=True)
                R = S @ X - X * w
                res = np.linalg.norm(R, axis=0) / np.maximum(1.0, np.abs(w))
                payload = (w, res, None)
            except (ValueError, np.linalg.LinAlgError) as exc:
                payload = (None, None, str(exc))
        w, res, err = comm.bcast(payload, root=0)
        if err is not None:
            raise ConvergenceError(f"dense LAPACK eigensolver failed: {err}")
        ranges = comm.allgather((rstart, rend))
        settings = {"eps_type": "lapack", "nev_internal": m, "tol": self.tol,
                    "max_size": self.max_size, "backend": "scipy.linalg.eigh(driver=evr)"}

        def make_vectors(keep):
            chunks = None
            if comm.rank == 0:
                chunks = [np.ascontiguousarray(X[r0:r1][:, keep]) for (r0, r1) in ranges]
            return bv_from_local(A, comm.scatter(chunks, root=0))

        if not self.want_vectors:
            X = None
        return self._finish(comm, w, res, len(w), 1, "lapack", t0, settings, make_vectors)
