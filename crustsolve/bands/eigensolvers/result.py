"""The outcome of one eigenvalue solve, shared by every eigensolver of :mod:`crustsolve.bands`
(Krylov–Schur and dense in :mod:`~crustsolve.bands.eigensolvers`, Chebyshev in
:mod:`~crustsolve.bands.eigensolvers.chebyshev`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np


@dataclass(frozen=True, eq=False)
class EigenResult:
    """Outcome of one eigenvalue solve (energies in MeV).

    Attributes
    ----------
    eigenvalues : (m,) float, ascending, m = nev (or more with ``extend_clusters``).
    residuals : (m,) float, ‖Ax − λx‖ / max(1 MeV, |λ|) (inf where not converged).
    vectors : SLEPc BV over the matrix's communicator with the m eigenvectors
        (distributed, never gathered), or None when ``want_vectors=False``.
    iterations : restarts (Krylov–Schur, including the multiplicity check) or 1 (dense).
    nconv : number of converged pairs reported by the solver (may exceed m).
    solver : name of the method actually used (e.g. ``"krylovschur"``, ``"lapack"``, or the
        EPS type chosen through the options database).
    seconds : wall-clock time of the solve, s.
    cut_gap : λ_{m+1} − λ_m in MeV (nan when no buffer state is available).
    cut_splits_cluster : True when the cut at m falls inside a degenerate cluster.
    settings : the effective solver settings (after the options database), for provenance.
    """

    eigenvalues: np.ndarray
    residuals: np.ndarray
    vectors: object
    iterations: int
    nconv: int
    solver: str
    seconds: float
    cut_gap: float = math.nan
    cut_splits_cluster: bool = False
    settings: Mapping = field(default_factory=dict)

    @property
    def max_residual(self) -> float:
        return float(np.max(self.residuals)) if len(self.residuals) else 0.0

    def destroy(self) -> None:
        """Free the eigenvector BV (collective over its communicator)."""
        if self.vectors is not None:
            self.vectors.destroy()
