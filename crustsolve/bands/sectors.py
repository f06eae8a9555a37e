"""Centring-translation sectors: block-diagonalising h(k) by the bcc/fcc centring translations.

The field files hold the conventional cube, which contains 2 clusters (bcc) or 4 (fcc). For an
even number n of points per side, with m = n/2, the centring translations (in grid steps)

    bcc:  t = (m, m, m)                                        group Z₂    = {0, t}
    fcc:  t₁ = (0, m, m), t₂ = (m, 0, m), t₃ = t₁ + t₂ = (m, m, 0)   group Z₂×Z₂ = {0, t₁, t₂, t₃}

are grid vectors. When the fields of h (U, B = ħ²/2m⊕ and the current field I) are invariant
under them, the shifts (T_g u)(r) = u(r + g) commute with the u-gauge Bloch Hamiltonian h(k):
the matrix elements are H_ij(k) = H_ij(0) e^{ik·d_ij} with coefficients built from the fields
around i and j and the stencil displacement d_ij, so H_{i+g, j+g}(k) = H_ij(k)
(:mod:`crustsolve.bands.hamiltonian`). Every g is an involution (2g ≡ 0 mod n), so the
characters χ_σ(g) are real, ±1: χ_σ(t) = (−1)^σ for bcc (σ = 0, 1) and χ_σ(t₁) = (−1)^σ₁,
χ_σ(t₂) = (−1)^σ₂, χ_σ(t₃) = χ_σ(t₁)χ_σ(t₂) for fcc (σ = (σ₁, σ₂), sector index σ₁ + 2σ₂).

Sector matrices (derivation; the standard symmetry-adapted basis, e.g. Dresselhaus, Dresselhaus
& Jorio, *Group Theory* (Springer 2008), ch. 4). A fundamental domain D holds one point of each
orbit {g·j}: bcc z index < m (half the grid), fcc y and z indices < m (a quarter). The
orthonormal symmetric vectors of sector σ are e^σ_j = |G|^{-1/2} Σ_g χ_σ(g) e_{g·j}, j ∈ D; they
span the σ eigenspace of every T_g. With Q_σ the N × N/|G| matrix of these columns,

    H_σ = Q_σᵀ H Q_σ,   H_σ[i, j] = |G|⁻¹ Σ_{g,g'} χ(g)χ(g') H[g·i, g'·j] = Σ_g χ(g) H[i, g·j]

(using H[g·i, g·j] = H[i, j] and χ(g)χ(g') = χ(g + g')), and H = ⊕_σ Q_σ H_σ Q_σᵀ. H_σ is
Hermitian (Q_σ is real), of size N/|G|, and, because the stencil half-width w satisfies
n ≥ 2w + 1 (so m > w and no two images g·j of one point are stencil neighbours of the same i),
it has the nonzeros per row of H. An eigenvector c of H_σ unfolds to the full-grid eigenvector
Q_σ c with the same eigenvalue, norm and residual (H Q_σ = Q_σ H_σ); vectors of different
sectors are orthogonal. Dense Rayleigh–Ritz work per solve, O(N m²) for m states, becomes
|G| solves of O((N/|G|)(m/|G|)²): 1/4 (bcc) or 1/16 (fcc) of it.

Which sector holds how many of the lowest nev states is not known beforehand, so every sector
is solved for more than its share (:data:`SHARE_MARGIN`) and then checked: with E the energy of
the merged state nev (the top of its degenerate cluster with ``extend_clusters``), every sector
whose highest computed eigenvalue does not lie above E + the cluster tolerance is solved again
with more states (warm-started from its own result for Chebyshev) until all do, so that no
state of any sector below or degenerate with the cut is missing (:meth:`CentringSectors.solve`).

Objects: :func:`detect_centring` (which centring group the fields have, and why not),
:class:`CentringSectors` (the Q_σ of one grid; sector matrices, unfolding, the split solve) and
:class:`SectorSolver` (an eigensolver whose ``solve(A)`` goes through the sectors; what
:meth:`crustsolve.bands.bandstructure.SolverSettings.make` returns with sectors on).
Everything is collective over the grid's communicator.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import InputError, check_choice
from ..petsc_env import init_petsc
from .eigensolvers.result import EigenResult

#: Centring groups handled here (``"none"``: no centring symmetry used).
CENTRING_KINDS = ("bcc", "fcc")
#: Run-file/``SolverSettings`` choices: use the sectors when detected, or never.
SECTOR_MODES = ("auto", "off")
#: Default relative tolerance of the invariance test (as for O_h in kmesh.field_symmetry_error).
DEFAULT_TOL = 1e-10
#: First request per sector: SHARE_MARGIN × nev/|G| + EXTRA_STATES (the shares differ by the
#: folding of low-lying plane waves: at Γ of the empty bcc lattice the lowest 7 states split
#: 1 : 6); a sector found short is solved again with GROWTH × its request + EXTRA_STATES.
SHARE_MARGIN = 1.05
EXTRA_STATES = 8
GROWTH = 1.5


def centring_translations(kind: str, n: int) -> np.ndarray:
    """Generators of the centring group in grid steps, shape (r, 3) (r = 1 bcc, 2 fcc).

    ``n`` must be even (the translations are then grid vectors); InputError otherwise.
    """
    kind = check_choice("centring", kind, CENTRING_KINDS)
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise InputError(f"grid points per side n must be an integer ≥ 2, got {n!r}")
    n = int(n)
    if n % 2:
        raise InputError(f"n = {n} points per side is odd: the {kind} centring translations "
                         f"(n/2 grid steps) are not grid vectors; use an even n")
    m = n // 2
    if kind == "bcc":
        return np.array([[m, m, m]], dtype=np.int64)
    return np.array([[0, m, m], [m, 0, m]], dtype=np.int64)


def _group(kind: str, n: int):
    """(elements (|G|, 3) in grid steps, characters (|G| sectors, |G| elements)).

    Element b (bits b₀ b₁) is Σ_i b_i t_i mod n; character of sector σ: (−1)^{popcount(σ & b)}.
    """
    gens = centring_translations(kind, n)
    r = len(gens)
    bits = np.array([[(b >> i) & 1 for i in range(r)] for b in range(2 ** r)], dtype=np.int64)
    elements = np.mod(bits @ gens, n)
    chars = np.array([[(-1.0) ** int(np.sum(bits[s] & bits[b])) for b in range(2 ** r)]
                      for s in range(2 ** r)])
    return elements, chars


def _h_fields(fields):
    """The (name, array) pairs h is built from: U, B and, when present, the components of I."""
    out = [("U", np.asarray(fields.U)), ("B", np.asarray(fields.B))]
    if fields.I is not None and fields.has_current:
        out += [(f"I_{'xyz'[d]}", np.asarray(fields.I[d])) for d in range(3)]
    return out


def translation_deviation(fields, shift) -> tuple:
    """(largest relative deviation, field name) of f(r + shift) from f(r) over the fields of h.

    ``shift`` in grid steps; the deviation of a field is max|f(r + t) − f(r)| / max|f|
    (as in :func:`crustsolve.bands.kmesh.field_symmetry_error`).
    """
    worst, name = 0.0, ""
    for key, f in _h_fields(fields):
        scale = float(np.max(np.abs(f)))
        if scale == 0.0:   # an identically zero field is invariant (exact: no tolerance needed)
            continue
        moved = np.roll(f, shift=tuple(-int(s) for s in shift), axis=(0, 1, 2))
        dev = float(np.max(np.abs(moved - f))) / scale
        if dev > worst or not name:
            worst, name = dev, key
    return worst, name


@dataclass(frozen=True)
class CentringDetection:
    """Outcome of :func:`detect_centring`.

    kind : ``"bcc"``, ``"fcc"`` or None (no centring group usable).
    reason : plain-language statement of what was found (why None, when None).
    deviations : {candidate: largest relative deviation of the fields under its generators}
        (absent for n odd).
    tol : the relative tolerance the deviations were tested against.
    """

    kind: Optional[str]
    reason: str
    deviations: dict
    tol: float

    def __bool__(self) -> bool:
        return self.kind is not None


def detect_centring(fields, tol: float = DEFAULT_TOL) -> CentringDetection:
    """Which centring group leaves the fields of h invariant (fcc preferred: more sectors).

    A candidate is accepted when every generator moves every field of h (U, B, the components
    of I) by at most ``tol`` relative to the field's largest |value|. Refused (kind None, with
    the reason) for odd n or when neither candidate is invariant (the smallest deviation found
    is named). Fields with both (e.g. the empty lattice) get fcc.
    """
    tol = float(tol)
    if not (tol > 0.0 and math.isfinite(tol)):
        raise InputError(f"centring tolerance must be a positive finite number, got {tol!r}")
    n = fields.n
    if n % 2:
        return CentringDetection(None, f"n = {n} points per side is odd: the centring "
                                 "translations (n/2 grid steps) are not grid vectors", {}, tol)
    devs, where = {}, {}
    for kind in ("fcc", "bcc"):
        worst, field = 0.0, ""
        for t in centring_translations(kind, n):
            dev, name = translation_deviation(fields, t)
            if dev > worst or not field:
                worst, field = dev, name
        devs[kind], where[kind] = worst, field
    for kind in ("fcc", "bcc"):
        if devs[kind] <= tol:
            return CentringDetection(kind, f"fields invariant under the {kind} centring "
                                     f"translations (largest relative deviation "
                                     f"{devs[kind]:.3g} ≤ {tol:g})", devs, tol)
    reason = "; ".join(f"{kind}: largest relative deviation {devs[kind]:.3g} (field "
                       f"{where[kind]}) > {tol:g}" for kind in ("bcc", "fcc"))
    return CentringDetection(None, "fields not invariant under a centring translation: "
                             + reason, devs, tol)


@dataclass(frozen=True, eq=False)
class SectorEigenResult(EigenResult):
    """An :class:`EigenResult` of the full problem merged from sector solves.

    Same interface as every EigenResult (``vectors`` are full-grid, in A's row layout). In
    addition ``sector_results`` holds the per-sector results kept for a warm start of the
    next k-point (Chebyshev; empty otherwise); :meth:`destroy` frees them too (collective).
    ``settings["sectors"]`` describes each sector solve.
    """

    sector_results: tuple = ()

    def destroy(self) -> None:
        super().destroy()
        for res in self.sector_results:
            res.destroy()


class CentringSectors:
    """The symmetric bases Q_σ of one grid and the split solve (see module docstring).

    Parameters
    ----------
    grid : :class:`~crustsolve.bands.grid.Grid` (matrices passed in must have its row layout,
        as :class:`~crustsolve.bands.hamiltonian.BlochHamiltonian` makes them).
    kind : ``"bcc"`` or ``"fcc"``. The fields are not checked here: use :meth:`for_fields`
        (or :func:`detect_centring`) unless the invariance is known.

    Sector rows are numbered over the fundamental domain in natural (C) order of
    [ix, iy, iz], independent of the number of ranks, and distributed by PETSc's default
    layout. Collective; call :meth:`destroy` (collective) at the end.
    """

    def __init__(self, grid, kind: str):
        PETSc, _ = init_petsc()
        self.kind = check_choice("centring", kind, CENTRING_KINDS)
        self.grid = grid
        n = grid.n
        elements, chars = _group(self.kind, n)
        self.elements, self.characters = elements, chars
        order = len(elements)
        m = n // 2
        ix, iy, iz = np.indices((n, n, n))
        domain = (iz < m) if self.kind == "bcc" else ((iy < m) & (iz < m))
        self.sector_size = int(np.count_nonzero(domain))
        if self.sector_size * order != grid.size:
            raise AssertionError("fundamental domain does not tile the grid")  # by construction
        dindex = np.full((n, n, n), -1, dtype=np.int64)
        dindex[domain] = np.arange(self.sector_size)   # natural (C) order over D
        # Locally owned rows of A (PETSc order) → grid points.
        rstart, rend = grid.ownership_range
        nat_of_petsc = np.empty(grid.size, dtype=np.int64)
        nat_of_petsc[grid.petsc_index.ravel()] = np.arange(grid.size)
        pts = np.stack(np.unravel_index(nat_of_petsc[rstart:rend], (n, n, n)))   # (3, nloc)
        # Each point p = g·r with r ∈ D: exactly one element g maps p into D (g is an
        # involution, so g·p = r).
        col = np.full(rend - rstart, -1, dtype=np.int64)
        elem = np.full(rend - rstart, -1, dtype=np.int64)
        for b, g in enumerate(elements):
            img = np.mod(pts + g[:, None], n)
            s = dindex[img[0], img[1], img[2]]
            hit = s >= 0
            if np.any(col[hit] >= 0):
                raise AssertionError("two images of one point in the fundamental domain")
            col[hit], elem[hit] = s[hit], b
        if np.any(col < 0):
            raise AssertionError("a grid point without an image in the fundamental domain")
        nloc = rend - rstart
        indptr = np.arange(nloc + 1, dtype=PETSc.IntType)
        cols = col.astype(PETSc.IntType)
        pcomm = PETSc.Comm(grid.comm)
        self._Q, self._Qt = [], []
        try:
            for s in range(order):
                vals = (chars[s, elem] / math.sqrt(order)).astype(complex)
                Q = PETSc.Mat().createAIJ(size=((nloc, grid.size), (PETSc.DECIDE, self.sector_size)),
                                          csr=(indptr, cols, vals), comm=pcomm)
                Q.assemble()
                self._Q.append(Q)
                self._Qt.append(Q.transpose(PETSc.Mat()))   # explicit Qᵀ, for folding vectors
        except Exception:
            self.destroy()
            raise

    @classmethod
    def for_fields(cls, grid, fields, kind: str = "auto", tol: float = DEFAULT_TOL):
        """Sectors of ``grid`` after checking ``fields`` (collective).

        ``kind="auto"``: the detected group, or None when there is none; ``"bcc"``/``"fcc"``:
        that group, or InputError naming the reason (odd n, or the largest relative deviation).
        """
        kind = check_choice("centring", kind, ("auto",) + CENTRING_KINDS)
        det = detect_centring(fields, tol=tol)
        if kind == "auto":
            return cls(grid, det.kind) if det.kind else None
        if fields.n % 2:
            why = det.reason
        elif det.deviations[kind] <= det.tol:
            return cls(grid, kind)
        else:
            why = (f"fields not invariant under the {kind} centring translations: largest "
                   f"relative deviation {det.deviations[kind]:.3g} > tolerance {det.tol:g}")
        raise InputError(f"centring = {kind!r} refused: {why}")

    # ------------------------------------------------------------------ basics
    @property
    def order(self) -> int:
        """|G|: number of sectors (2 bcc, 4 fcc)."""
        return len(self.elements)

    def sector_matrix(self, A, sector: int):
        """H_σ = Q_σᵀ A Q_σ as a new AIJ Mat (caller destroys it; collective)."""
        if A.getSize() != (self.grid.size, self.grid.size):
            raise InputError(f"matrix of size {A.getSize()} does not belong to this grid "
                             f"({self.grid.size} points)")
        return A.PtAP(self._Q[sector])

    def unfold(self, bv, sector: int):
        """Full-grid vectors Q_σ C of the active columns of sector BV ``bv`` (a new BV)."""
        return _bv_product(self._Q[sector], bv)

    def fold(self, bv, sector: int):
        """Sector components Q_σᵀ V of the active columns of full-grid BV ``bv`` (a new BV)."""
        return _bv_product(self._Qt[sector], bv)

    def destroy(self) -> None:
        """Free the Q_σ (collective)."""
        for mats in (getattr(self, "_Q", []), getattr(self, "_Qt", [])):
            for M in mats:
                M.destroy()
            mats.clear()

    def __repr__(self) -> str:
        return (f"CentringSectors({self.kind}, n={self.grid.n}, {self.order} sectors of "
                f"{self.sector_size} rows)")

    # ------------------------------------------------------------------ solve
    def _cap(self, solver) -> int:
        # Chebyshev needs nev < matrix size; the SLEPc and dense solvers accept nev = size.
        return self.sector_size - 1 if getattr(solver, "kind", "") == "chebyshev" else self.sector_size

    def solve(self, solver, A, initial=None) -> SectorEigenResult:
        """Lowest ``solver.nev`` eigenpairs of A from independent sector solves (collective).

        ``solver``: any eigensolver of :mod:`crustsolve.bands.eigensolvers` (its ``nev``,
        tolerance, ``extend_clusters``, ``want_vectors`` apply to the merged result; each
        sector gets a copy with its own nev). ``initial`` (solvers that take warm starts): a
        previous :class:`SectorEigenResult` (each sector restarts from its own result, with
        its final nev), another EigenResult or BV of full-grid vectors (folded into each
        sector), or None.
        """
        t0 = time.perf_counter()
        nev = int(solver.nev)
        if nev > self.grid.size:
            raise InputError(f"nev = {nev} bands requested but the matrix has only "
                             f"{self.grid.size} rows (grid points); lower --nev or refine the grid")
        G, cap = self.order, self._cap(solver)
        warm = getattr(solver, "takes_warm_start", False)
        starts = self._starts(initial, warm)
        first = min(cap, int(math.ceil(SHARE_MARGIN * nev / G)) + EXTRA_STATES)
        requests = [first] * G
        if isinstance(initial, SectorEigenResult) and warm:
            for s, info in enumerate(initial.settings.get("sectors", [])[:G]):
                requests[s] = min(cap, max(requests[s], int(info.get("nev", first))))
        mats, results, folded = [], [None] * G, [st for st in starts if _is_bv(st)]
        solves = [0] * G
        try:
            for s in range(G):
                mats.append(self.sector_matrix(A, s))
            for s in range(G):
                results[s] = self._solve_sector(solver, mats[s], requests[s], starts[s])
                solves[s] += 1
            while True:
                values, labels, m, cut = self._merge(solver, results, nev)
                short = []
                for s in range(G):
                    ev = np.asarray(results[s].eigenvalues, dtype=float)
                    top = float(ev[-1]) if len(ev) else -math.inf
                    if requests[s] >= self.sector_size or not np.isfinite(top):
                        continue   # complete (every state), or unconverged (reported as such)
                    if not top > cut + solver.degeneracy_tol * max(1.0, abs(cut)):
                        short.append(s)
                if not short:
                    break
                for s in short:
                    if requests[s] >= cap:
                        raise InputError(
                            f"nev = {nev} bands need more than the {cap} states the "
                            f"{solver.kind} solver can compute in a {self.kind} sector of "
                            f"{self.sector_size} rows; use sectors = \"off\" or a finer grid")
                    requests[s] = min(cap, int(math.ceil(GROWTH * requests[s])) + EXTRA_STATES)
                    old = results[s]
                    try:
                        results[s] = self._solve_sector(solver, mats[s], requests[s],
                                                        old if warm else None)
                    finally:
                        old.destroy()
                    solves[s] += 1
            merged = self._assemble(solver, results, values, labels, m, requests, solves, t0)
            if warm and solver.want_vectors:
                results = [None] * G   # now owned by the merged result
            return merged
        finally:
            for M in mats:
                M.destroy()
            for res in results:
                if res is not None:
                    res.destroy()
            for bv in folded:
                bv.destroy()

    def _starts(self, initial, warm):
        """Per-sector warm starts (results, or folded BVs the caller must destroy)."""
        G = self.order
        if initial is None or not warm:
            return [None] * G
        if isinstance(initial, SectorEigenResult) and len(initial.sector_results) == G:
            return list(initial.sector_results)
        bv = initial.vectors if hasattr(initial, "eigenvalues") else initial
        if bv is None:
            raise InputError("warm start: the EigenResult carries no vectors")
        if not _is_bv(bv):
            raise InputError("warm start with sectors: pass an EigenResult or a BV of "
                             "full-grid vectors")
        return [self.fold(bv, s) for s in range(G)]

    @staticmethod
    def _solve_sector(solver, M, nev, initial):
        sub = dataclasses.replace(solver, nev=int(nev), extend_clusters=False)
        if initial is not None and getattr(sub, "takes_warm_start", False):
            return sub.solve(M, initial=initial)
        return sub.solve(M)

    @staticmethod
    def _merge(solver, results, nev):
        """Merged ascending energies, their (sector, column) labels, the kept count m and the
        cut energy E (the top of the kept states)."""
        vals, labels = [], []
        for s, res in enumerate(results):
            ev = np.asarray(res.eigenvalues, dtype=float)
            vals.append(ev)
            labels += [(s, j) for j in range(len(ev))]
        values = np.concatenate(vals)
        labels = np.array(labels, dtype=np.int64).reshape(-1, 2)
        key = np.where(np.isfinite(values), values, np.inf)
        # Stable on (energy, sector, column): each sector contributes a leading run of its
        # columns (its energies are ascending), which the unfolding relies on.
        order = np.lexsort((labels[:, 1], labels[:, 0], key))
        values, labels = values[order], labels[order]
        m = min(nev, len(values))
        if solver.extend_clusters:
            while (m < len(values) and np.isfinite(values[m])
                   and values[m] - values[m - 1] <= solver.degeneracy_tol
                   * max(1.0, abs(values[m - 1]))):
                m += 1
        cut = float(values[m - 1]) if np.isfinite(values[m - 1]) else math.inf
        return values, labels, m, cut

    def _assemble(self, solver, results, values, labels, m, requests, solves, t0):
        _, SLEPc = init_petsc()
        G = self.order
        keep = labels[:m]
        resid = np.concatenate([np.asarray(results[s].residuals, dtype=float)[[j]]
                                for s, j in keep]) if m else np.zeros(0)
        counts = [int(np.count_nonzero(keep[:, 0] == s)) for s in range(G)]
        cut_gap = float(values[m] - values[m - 1]) if len(values) > m else math.nan
        slack = solver.degeneracy_tol * max(1.0, abs(float(values[m - 1])))
        splits = bool(np.isfinite(cut_gap) and cut_gap <= slack)
        vectors = None
        if solver.want_vectors:
            vectors = self._unfold_merged(SLEPc, results, keep, counts)
        warm = getattr(solver, "takes_warm_start", False)
        info = []
        for s, res in enumerate(results):
            info.append({"sector": s, "characters": [float(c) for c in self.characters[s]],
                         "size": self.sector_size, "nev": int(requests[s]),
                         "selected": counts[s], "solves": int(solves[s]),
                         "top": float(np.asarray(res.eigenvalues)[-1]),
                         "iterations": int(res.iterations), "seconds": float(res.seconds),
                         "settings": dict(res.settings)})
        settings = {"eps_type": results[0].solver, "tol": float(results[0].settings.get(
            "tol", solver.tol)), "centring": self.kind, "nsectors": G, "sectors": info}
        return SectorEigenResult(
            eigenvalues=values[:m].copy(), residuals=resid, vectors=vectors,
            iterations=int(sum(r.iterations for r in results)),
            nconv=int(sum(r.nconv for r in results)), solver=results[0].solver,
            seconds=time.perf_counter() - t0, cut_gap=cut_gap, cut_splits_cluster=splits,
            settings=settings,
            sector_results=tuple(results) if (warm and solver.want_vectors) else ())

    def _unfold_merged(self, SLEPc, results, keep, counts):
        """Full-grid BV of the kept states in merged order (each sector's leading columns)."""
        m = len(keep)
        x = self._Q[0].createVecLeft()
        out = SLEPc.BV().create(comm=x.getComm())
        out.setSizesFromVec(x, m)
        out.setType("mat")
        x.destroy()
        try:
            for s, res in enumerate(results):
                if counts[s] == 0:
                    continue
                pos = np.nonzero(keep[:, 0] == s)[0]
                bv = res.vectors
                l0, k0 = bv.getActiveColumns()
                bv.setActiveColumns(0, counts[s])
                try:
                    full = self.unfold(bv, s)
                finally:
                    bv.setActiveColumns(l0, k0)
                try:
                    src, dst = full.getMat(), out.getMat()
                    try:
                        d = dst.getDenseArray()
                        d[:, pos] = src.getDenseArray()[:, :counts[s]]
                    finally:
                        full.restoreMat(src)
                        out.restoreMat(dst)
                finally:
                    full.destroy()
        except Exception:
            out.destroy()
            raise
        return out


def _bv_product(M, bv):
    """A new BV holding M·X for the active columns X of ``bv`` (collective)."""
    _, SLEPc = init_petsc()
    lo, hi = bv.getActiveColumns()
    x = M.createVecLeft()
    out = SLEPc.BV().create(comm=x.getComm())
    out.setSizesFromVec(x, max(hi - lo, 1))
    out.setType("mat")
    x.destroy()
    try:
        if hi > lo:
            bv.matMult(M, out)
    except Exception:
        out.destroy()
        raise
    return out


def _is_bv(obj) -> bool:
    return hasattr(obj, "getActiveColumns") and hasattr(obj, "getSizes")


class SectorSolver:
    """An eigensolver whose ``solve(A)`` splits A into centring sectors (same interface).

    Wraps one of the solvers of :mod:`crustsolve.bands.eigensolvers` (``inner``) and a
    :class:`CentringSectors`; attributes of the inner solver (``nev``, ``tol``, ``kind``,
    ``want_vectors`` …) are exposed unchanged, and :class:`WarmStartChain` warm-starts it
    when the inner solver takes warm starts. Results are :class:`SectorEigenResult`.
    """

    def __init__(self, sectors: CentringSectors, inner):
        self.sectors = sectors
        self.inner = inner

    @property
    def takes_warm_start(self) -> bool:
        return bool(getattr(self.inner, "takes_warm_start", False))

    def __getattr__(self, name):
        if name in ("sectors", "inner"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def solve(self, A, initial=None) -> SectorEigenResult:
        return self.sectors.solve(self.inner, A, initial=initial)

    def __repr__(self) -> str:
        return f"SectorSolver({self.inner!r}, {self.sectors!r})"


def sectors_for(grid, fields, mode: str = "auto", tol: float = DEFAULT_TOL):
    """The :class:`CentringSectors` a run uses: ``mode`` ``"auto"`` (when detected) or
    ``"off"`` (None). Collective; the caller destroys a returned object."""
    mode = check_choice("bands.sectors", mode, SECTOR_MODES)
    return None if mode == "off" else CentringSectors.for_fields(grid, fields, "auto", tol=tol)


def with_sectors(solver, sectors: Optional[CentringSectors]):
    """``solver`` wrapped in a :class:`SectorSolver` when ``sectors`` is given, else itself."""
    return solver if sectors is None else SectorSolver(sectors, solver)
