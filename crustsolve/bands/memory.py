"""Memory estimate of one k-point solve (bytes), for the printed estimate and the layout chooser.

The estimate counts what dominates (summary in ``docs/numerics.md``, "Parallel layout"):

* the Hamiltonian in AIJ storage: nnz·(scalar + index) + (N + 1)·index, times the number of
  matrices held at once (h(k), plus ∂h/∂k_d when velocities are wanted);
* Krylov–Schur: the basis of ``ncv`` vectors of N complex scalars (BV, distributed), a few
  work vectors, the projected problem (SLEPc DS: ≈ 4 dense ncv×ncv matrices, *replicated on
  every rank* — the serial part that makes a bounded ``mpd`` matter) and the returned
  eigenvectors (nev columns, distributed);
* dense LAPACK: the full N×N matrix plus LAPACK's workspace (≈ 2 N² in all with ``zheevr``)
  and the wanted eigenvectors, all on *rank 0* of the group;
* Chebyshev (:mod:`crustsolve.bands.eigensolvers.chebyshev`): three BVs of nb = nev + buffer columns (the
  block X and the two recurrence/Rayleigh–Ritz work blocks Y, Z), one more block of
  workspace for SLEPc's TSQR, and the Lanczos vectors (distributed), the previous k-point's
  block kept for the warm start (nb columns, distributed), and the projected nb×nb problem
  (Hermitian matrix, eigenvectors, the sequential rotation matrix and LAPACK workspace:
  ≈ 5 nb² scalars, replicated). Checked against the measured peak of one cold filter pass
  at 48³ with nb = 1553 (benchmarks/README.md): 10.7 GB measured, 8.6 GB without the TSQR
  block — hence that block.

``distributed_bytes`` is divided among the ranks of a k-group, ``replicated_bytes`` is held by
every rank, ``root_bytes`` only by rank 0 of the group. Per-rank figures are upper bounds of
the rank with most (rank 0). Python/PETSc/MPI start-up (~100–200 MB per rank) is not counted
there (:func:`crustsolve.parallel.require_memory` adds it); :func:`band_run_bytes_per_rank`
adds the replicated fields and the band energies, and :func:`kmesh_bytes` the k-mesh, for the
check made before a ``crustsolve bands`` run allocates anything.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

from ..errors import InputError, check_choice, check_range
from .eigensolvers import default_mpd
from .eigensolvers.chebyshev import default_buffer

SCALAR_BYTES = 16  # complex128


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes needed by one k-group for one k-point solve (see module docstring).

    ``ncv`` is the Krylov basis size (Krylov–Schur) or the block size nb (Chebyshev).
    """

    npoints: int
    nev: int
    ncv: int
    kind: str
    matrix_bytes: float
    basis_bytes: float
    eigenvector_bytes: float
    projected_bytes: float
    dense_bytes: float

    @property
    def distributed_bytes(self) -> float:
        """Split among the ranks of the group (matrix, basis, eigenvectors)."""
        if self.kind == "lapack":
            return self.matrix_bytes + self.eigenvector_bytes
        return self.matrix_bytes + self.basis_bytes + self.eigenvector_bytes

    @property
    def replicated_bytes(self) -> float:
        """Held by every rank of the group (Krylov–Schur projected problem)."""
        return self.projected_bytes

    @property
    def root_bytes(self) -> float:
        """Held only by rank 0 of the group (dense LAPACK)."""
        return self.dense_bytes

    @property
    def group_bytes(self) -> float:
        """Total over the group for one rank (the ``memory_per_group`` of the layout chooser)."""
        return self.distributed_bytes + self.replicated_bytes + self.dense_bytes

    def per_rank_bytes(self, ranks_per_group: int) -> float:
        """Bytes on the busiest rank of a group of ``ranks_per_group`` ranks."""
        p = max(1, int(ranks_per_group))
        return self.distributed_bytes / p + self.replicated_bytes + self.root_bytes

    def describe(self, ranks_per_group: Optional[int] = None) -> dict:
        gb = 1e9
        d = {"grid_points": self.npoints, "nev": self.nev, "ncv": self.ncv, "solver": self.kind,
             "matrix_GB": round(self.matrix_bytes / gb, 4),
             "basis_GB": round(self.basis_bytes / gb, 4),
             "eigenvectors_GB": round(self.eigenvector_bytes / gb, 4),
             "projected_GB_per_rank": round(self.projected_bytes / gb, 4),
             "dense_GB_rank0": round(self.dense_bytes / gb, 4),
             "group_total_GB": round(self.group_bytes / gb, 4)}
        if ranks_per_group is not None:
            d["per_rank_GB"] = round(self.per_rank_bytes(ranks_per_group) / gb, 4)
        return d


def nnz_per_row_for_order(order: int) -> int:
    """Nonzeros per row of the staggered FD Hamiltonian of ``order`` (star stencil).

    The composite kinetic stencil of an order-p staggered D⁺ has half-width w = p − 1 per axis,
    so a row holds 1 + 6w entries (``crustsolve.bands.hamiltonian``: ``H.nnz_per_row``).
    """
    if isinstance(order, bool) or int(order) != order or order < 2 or order % 2:
        raise InputError(f"stencil order must be an even integer ≥ 2, got {order!r}")
    return 1 + 6 * (int(order) - 1)


def estimate_memory(npoints: int, nnz_per_row: int, nev: int, kind: str = "krylovschur",
                    ncv: Optional[int] = None, mpd: Optional[int] = None, buffer: Optional[int] = None,
                    n_matrices: int = 1, index_bytes: int = 4) -> MemoryEstimate:
    """Estimate the memory of one k-point solve (bytes; see module docstring).

    Parameters
    ----------
    npoints : matrix dimension N (grid points n³).
    nnz_per_row : nonzeros per row of the Hamiltonian.
    nev : bands wanted.
    kind : ``"krylovschur"``, ``"lapack"`` or ``"chebyshev"``.
    ncv, mpd, buffer : Krylov–Schur dimensions; defaults as in
        :func:`crustsolve.bands.eigensolvers.make_eigensolver` (buffer max(4, ⌈0.05 nev⌉),
        mpd ``default_mpd(nev + buffer)``, ncv = nev + buffer + mpd, capped at N). For
        ``"chebyshev"`` the buffer defaults to
        :func:`crustsolve.bands.eigensolvers.chebyshev.default_buffer` and ncv, mpd are ignored.
    n_matrices : AIJ matrices alive at once (1 for energies; 4 with ∂h/∂k).
    index_bytes : 4 or 8 (PETSc built with 64-bit indices).
    """
    N = int(check_range("grid points", npoints, lo=1))
    nnz = int(check_range("nonzeros per row", nnz_per_row, lo=1))
    nev = int(check_range("nev", nev, lo=1))
    kind = check_choice("eigensolver kind", kind, ("krylovschur", "lapack", "chebyshev"))
    matrix = n_matrices * (N * nnz * (SCALAR_BYTES + index_bytes) + (N + 1) * index_bytes)
    if kind == "chebyshev":
        nb = min(N, nev + (default_buffer(nev) if buffer is None else int(buffer)))
        lanczos = 32  # allowance for the bounds' Lanczos (3 vectors, no basis kept) + work vectors
        return MemoryEstimate(N, nev, nb, kind, float(matrix),
                              basis_bytes=float(N) * (4 * nb + lanczos) * SCALAR_BYTES,
                              eigenvector_bytes=float(N) * nb * SCALAR_BYTES,
                              projected_bytes=5.0 * nb * nb * SCALAR_BYTES, dense_bytes=0.0)
    buf = max(4, math.ceil(0.05 * nev)) if buffer is None else int(buffer)
    nint = min(N, nev + buf)
    if ncv is None:
        mpd_ = default_mpd(nint) if mpd is None else int(mpd)
        ncv = min(N, nint + mpd_)
    ncv = int(min(N, max(int(ncv), nint)))
    eigvecs = float(N) * nint * SCALAR_BYTES
    if kind == "lapack":
        return MemoryEstimate(N, nev, 0, kind, float(matrix), 0.0, eigvecs, 0.0,
                              dense_bytes=3.0 * N * N * SCALAR_BYTES)
    # BV basis plus ~4 work vectors; DS holds ~4 ncv×ncv complex matrices on every rank.
    basis = float(N) * (ncv + 4) * SCALAR_BYTES
    projected = 4.0 * ncv * ncv * SCALAR_BYTES
    return MemoryEstimate(N, nev, ncv, kind, float(matrix), basis, eigvecs, projected, 0.0)


def format_bytes(b: float) -> str:
    """Human-readable size (MB/GB)."""
    return f"{b / 1e9:.2f} GB" if b >= 1e9 else f"{b / 1e6:.1f} MB"


#: Peak bytes per point of the full n³ Monkhorst–Pack mesh while it is reduced (measured:
#: 5.04 kB with the 48 operations of O_h, 0.30 kB without, at n = 16–48; with margin).
_KMESH_BYTES_PER_POINT = {True: 5.2e3, False: 0.32e3}


def kmesh_bytes(n: int, reduced: bool = True) -> float:
    """Peak memory (bytes, every rank) of building an n×n×n mesh and its reduction
    (``reduced``: by the 48 operations of O_h; otherwise identity and time reversal)."""
    n = int(check_range("k-mesh size n", n, lo=1))
    return float(n) ** 3 * _KMESH_BYTES_PER_POINT[bool(reduced)]


def fields_bytes(n: int, has_current: bool = False, has_gap: bool = False) -> float:
    """Replicated mean fields on every rank (U, B, [I], [Δ]); twice while being read."""
    per_point = 8.0 * (2 + (3 if has_current else 0) + (2 if has_gap else 0))
    return 2.0 * per_point * float(n) ** 3


def band_run_bytes_per_rank(est: MemoryEstimate, ranks_per_group: int, nk: int,
                            fields: float = 0.0) -> float:
    """What the busiest rank of a ``crustsolve bands`` run holds: one k-point solve
    (``est``), the replicated fields and energies/residuals of all nk k-points (plus the
    gathered per-round reports)."""
    band_data = 64.0 * max(1, int(nk)) * est.nev
    return est.per_rank_bytes(ranks_per_group) + fields + band_data


def interpolation_bytes_per_rank(npoints: int, ranks_per_group: int, nev: int,
                                 basis_bands: int, stacked_states: int) -> dict:
    """Upper estimate of what the reduced-basis interpolation adds per rank (bytes).

    M ≤ min(N, stacked states) basis functions (before the rank-revealing step removes any):
    Φ and AΦ (16 M N_loc each, AΦ during a solve), the Ritz vectors and residuals
    (2 × 16 (nev + 4) N_loc), one block of states being added (16 basis_bands N_loc) and the
    gathered states of one coarse k-point while its images are formed (16 basis_bands N,
    replicated on every rank of the group). The projected matrix and its eigenvectors
    (2 × 16 M², replicated) and the Gram–Schmidt products (16 M basis_bands) are included.
    Returns {"basis_functions_max", "bytes_per_rank"}.
    """
    N = int(npoints)
    nloc = math.ceil(N / max(1, int(ranks_per_group)))
    M = min(N, int(stacked_states))
    b = 16.0 * (2 * M * nloc + 2 * (nev + 4) * nloc + basis_bands * nloc + basis_bands * N
                + 2 * M * M + M * basis_bands)
    return {"basis_functions_max": M, "bytes_per_rank": b}
