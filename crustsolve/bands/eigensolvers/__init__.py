"""Eigensolvers of the Bloch Hamiltonian behind one interface (collective over A's communicator).

::

    solver = make_eigensolver("krylovschur", nev=50, tol=1e-8)
    res = solver.solve(A)          # res.eigenvalues (nev,) MeV ascending, res.residuals,
    res.destroy()                  # res.vectors (a SLEPc BV or None); destroy is collective

Modules: :mod:`~crustsolve.bands.eigensolvers.result` (:class:`EigenResult`, what every
solver returns), :mod:`~crustsolve.bands.eigensolvers.slepc` (Krylov–Schur and the dense
LAPACK reference; residual definition, degenerate clusters at the cut, PETSc/SLEPc options
and their per-object prefixes), :mod:`~crustsolve.bands.eigensolvers.chebyshev` (Chebyshev
filtered subspace iteration, which takes warm starts). :class:`WarmStartChain` hands a
solver that takes warm starts the previous k-point's result (``docs/numerics.md``).
"""
from __future__ import annotations

from typing import Optional

from ...errors import check_choice
from .chebyshev import ChebyshevSolver
from .result import EigenResult
from .slepc import DEFAULT_DENSE_MAX_SIZE, DenseSolver, KrylovSchurSolver, default_mpd

__all__ = ("SOLVER_KINDS", "DEFAULT_DENSE_MAX_SIZE", "ChebyshevSolver", "DenseSolver",
           "EigenResult", "KrylovSchurSolver", "WarmStartChain", "default_mpd",
           "make_eigensolver")

#: Solver names of :func:`make_eigensolver` (the run-file ``[bands] solver``).
SOLVER_KINDS = ("krylovschur", "lapack", "chebyshev")


class WarmStartChain:
    """Solves a sequence of nearby k-points, each warm-started from the one before.

    ``chain.solve(solver, A)`` passes the previous result to solvers that take a warm start
    (``takes_warm_start``: Chebyshev; in the u-gauge the previous k-point's periodic parts are
    the right start, ``docs/numerics.md``) and keeps the new result for the next call; other
    solvers (Krylov–Schur, dense) are called plainly and nothing is kept. The chain owns the
    kept result: callers destroy a result only if :meth:`keeps` says it is not the kept one,
    and call :meth:`close` at the end. Collective on A's communicator.
    """

    def __init__(self):
        self.previous = None

    def solve(self, solver, A, k=None) -> EigenResult:
        # Solvers that use the Bloch vector itself (``uses_kpoint``: the reduced-basis
        # interpolation assembles its projected h(k) from k) get it when the caller knows it.
        if k is not None and getattr(solver, "uses_kpoint", False):
            return solver.solve(A, k=k)
        if not getattr(solver, "takes_warm_start", False):
            return solver.solve(A)
        res = solver.solve(A, initial=self.previous) if (
            self.previous is not None and self.previous.vectors is not None) else solver.solve(A)
        self.close()
        self.previous = res
        return res

    def keeps(self, result) -> bool:
        """Whether ``result`` is held for the next warm start (then the chain destroys it)."""
        return result is self.previous

    def close(self):
        if self.previous is not None:
            self.previous.destroy()
            self.previous = None


def make_eigensolver(kind: str, nev: int, tol: float = 1e-8, max_it: Optional[int] = None,
                     mpd: Optional[int] = None, ncv: Optional[int] = None,
                     options_prefix: str = "crust_", *, buffer: Optional[int] = None,
                     want_vectors: bool = True, allow_unconverged: bool = False,
                     extend_clusters: bool = False, cluster_tol: Optional[float] = None,
                     verify_multiplicity: bool = True,
                     max_size: int = DEFAULT_DENSE_MAX_SIZE):
    """Build an eigensolver by name (``"krylovschur"`` or ``"lapack"``).

    Parameters
    ----------
    kind : one of :data:`SOLVER_KINDS`.
    nev : number of lowest eigenpairs (bands) wanted.
    tol : residual tolerance (see module docstring; MeV-relative above 1 MeV).
    max_it, mpd, ncv, options_prefix : Krylov–Schur only (default max_it 1000 restarts,
        mpd = :func:`default_mpd` (nev + buffer), ncv from SLEPc, prefix ``crust_``).
    buffer : extra states computed beyond nev for the cluster check (default
        max(4, ⌈0.05 nev⌉)).
    want_vectors : return eigenvectors as a BV (True) or only energies.
    allow_unconverged : return instead of raising :class:`ConvergenceError`.
    extend_clusters : return the full degenerate cluster at the cut.
    cluster_tol : relative degeneracy tolerance (default max(1e-6, 10 tol)).
    verify_multiplicity : Krylov–Schur only: after the solve, search the orthogonal
        complement of the converged vectors for missed copies of degenerate levels.
    max_size : dense solver only: largest accepted matrix dimension.

    Invalid arguments raise :class:`InputError` (identically on every rank).
    """
    kind = check_choice("eigensolver kind", kind, SOLVER_KINDS)
    common = dict(nev=nev, tol=tol, buffer=buffer, want_vectors=want_vectors,
                  allow_unconverged=allow_unconverged, extend_clusters=extend_clusters,
                  cluster_tol=cluster_tol)
    if kind == "krylovschur":
        return KrylovSchurSolver(max_it=max_it, mpd=mpd, ncv=ncv, options_prefix=options_prefix,
                                 verify_multiplicity=verify_multiplicity, **common)
    if kind == "chebyshev":

        # With vectors, keep the buffer columns too: the warm start of the next k-point.
        return ChebyshevSolver(max_it=100 if max_it is None else max_it,
                               keep_buffer=want_vectors, **common)
    return DenseSolver(max_size=max_size, **common)
