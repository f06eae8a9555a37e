"""Bloch wave vectors: Monkhorst–Pack meshes, O_h reduction, high-symmetry paths.

The FD grid spans the conventional cube of side a (fm), so the Brillouin zone used here is the
simple-cubic zone of edge 2π/a (bcc/fcc bands fold into it; ``docs/numerics.md``, "Grid"
and "k-meshes and symmetry"). Wave vectors are Cartesian, in fm⁻¹, inside the zone (−π/a, π/a]³.

Meshes are handled in exact integers: a point of an n×n×n mesh is J ∈ ℤ³ with
k = J · (2π/a) / (2n); Γ-centred meshes have even J (k = m/n · 2π/a), shifted meshes odd J
(k = (m + ½)/n · 2π/a, the classic Monkhorst–Pack choice for even n). Both meshes are mapped
onto themselves by every operation of O_h (signed permutations of the axes), so the reduction
works on integers, and weights are ratios of integer multiplicities (they sum to one exactly in
integer arithmetic: Σ multiplicity = n³).

Symmetry: ``symmetry="Oh"`` (48 operations, default), ``"none"`` (identity only), a direction
(3-vector: the stabiliser of that direction in O_h, e.g. when a flow or current along it
breaks O_h), or an explicit list of 3×3 integer matrices forming a group of signed
permutations. With ``time_reversal=True`` the operations −R are added (E(−k) = E(k); valid
without current fields). O_h contains inversion, so time reversal adds nothing to it.
:func:`invariant_operations` finds the subgroup of O_h that leaves given fields invariant
(runs with ``symmetry = "auto"`` reduce their meshes by it).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..errors import InputError, check_range

#: Fractional coordinates (units of 2π/a) of the simple-cubic special points.
SC_POINTS = MappingProxyType({
    "G": (0.0, 0.0, 0.0),
    "X": (0.0, 0.5, 0.0),
    "M": (0.5, 0.5, 0.0),
    "R": (0.5, 0.5, 0.5),
})
#: Plot labels of the special points.
SC_LABELS = MappingProxyType({"G": "Γ", "X": "X", "M": "M", "R": "R"})


def oh_operations() -> np.ndarray:
    """The 48 operations of O_h as integer 3×3 matrices (signed permutation matrices).

    Order: identity first; then permutations × sign patterns.
    """
    ops = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            R = np.zeros((3, 3), dtype=np.int64)
            for row, (col, s) in enumerate(zip(perm, signs)):
                R[row, col] = s
            ops.append(R)
    ops.sort(key=lambda R: (not np.array_equal(R, np.eye(3, dtype=np.int64)),))
    return np.array(ops)


def stabilizer(direction, operations=None) -> np.ndarray:
    """Operations R of ``operations`` (default O_h) with R·direction = direction."""
    v = np.asarray(direction, dtype=float)
    if v.shape != (3,) or not np.all(np.isfinite(v)) or not np.any(v):
        raise InputError(f"symmetry direction must be a non-zero finite 3-vector, got {direction!r}")
    ops = oh_operations() if operations is None else np.asarray(operations)
    keep = [R for R in ops if np.allclose(R @ v, v, atol=1e-12 * np.linalg.norm(v))]
    return np.array(keep)


def _as_group(symmetry) -> tuple:
    """(name, operations) from the ``symmetry`` argument; validates an explicit group."""
    if isinstance(symmetry, str):
        key = symmetry.lower()
        if key == "oh":
            return "Oh", oh_operations()
        if key == "none":
            return "none", np.eye(3, dtype=np.int64)[None]
        raise InputError(f"symmetry = {symmetry!r} is not one of: Oh, none, a direction "
                         "(3-vector) or a list of 3×3 signed-permutation matrices")
    arr = np.asarray(symmetry)
    if arr.shape == (3,):
        ops = stabilizer(arr)
        return f"stabilizer{tuple(np.asarray(symmetry, dtype=float).tolist())}", ops
    if arr.ndim != 3 or arr.shape[1:] != (3, 3):
        raise InputError(f"symmetry operations must have shape (nops, 3, 3), got {arr.shape}")
    if not np.all(np.isfinite(arr.astype(float))) or not np.array_equal(arr, np.round(arr)):
        raise InputError("symmetry operations must be integer matrices")
    ops = arr.astype(np.int64)
    for R in ops:
        if not (np.all(np.abs(R).sum(axis=0) == 1) and np.all(np.abs(R).sum(axis=1) == 1)):
            raise InputError(f"symmetry operation {R.tolist()} is not a signed permutation "
                             "(not an operation of the cubic group O_h)")
    keys = {R.tobytes() for R in ops}
    if np.eye(3, dtype=np.int64).tobytes() not in keys:
        raise InputError("symmetry operations must contain the identity")
    for R, S in itertools.product(ops, ops):
        if (R @ S).tobytes() not in keys:
            raise InputError("symmetry operations are not closed under multiplication (not a group)")
    uniq = {R.tobytes(): R for R in ops}
    return symmetry_label(uniq), np.array(list(uniq.values()))


def _with_time_reversal(ops: np.ndarray) -> np.ndarray:
    allops = {R.tobytes(): R for R in ops}
    for R in ops:
        allops.setdefault((-R).tobytes(), -R)
    return np.array(list(allops.values()))


@dataclass(frozen=True, eq=False)
class KMesh:
    """A set of Bloch wave vectors with integration weights.

    Attributes
    ----------
    a : cube side, fm.
    points : (nk, 3) Cartesian k in fm⁻¹ (irreducible points for a reduced mesh).
    weights : (nk,) float, sum 1 (= multiplicities / nfull).
    multiplicities : (nk,) int, number of full-mesh points each point stands for.
    nfull : number of points of the full mesh (Σ multiplicities).
    n : mesh points per direction (0 for explicit lists).
    shift : shifted (True) or Γ-centred (False) mesh.
    symmetry : name of the point group used.
    time_reversal : whether k ≡ −k was used.
    full_points : (nfull, 3) Cartesian k of the full mesh (fm⁻¹).
    full_to_irr : (nfull,) index into ``points`` of each full-mesh point.
    full_ops : (nfull,) index into ``operations`` of R with R·k_irr ≡ k_full (mod G).
    operations : (nops, 3, 3) integer matrices (including −R with time reversal).
    """

    a: float
    points: np.ndarray
    weights: np.ndarray
    multiplicities: np.ndarray
    nfull: int
    n: int
    shift: bool
    symmetry: str
    time_reversal: bool
    full_points: np.ndarray
    full_to_irr: np.ndarray
    full_ops: np.ndarray
    operations: np.ndarray

    def __post_init__(self):
        # Frozen means frozen: the arrays are shared, so make them read-only.
        for name in ("points", "weights", "multiplicities", "full_points", "full_to_irr",
                     "full_ops", "operations"):
            arr = np.array(getattr(self, name))
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @property
    def nk(self) -> int:
        return len(self.points)

    @property
    def fractional(self) -> np.ndarray:
        """Points in units of 2π/a."""
        return self.points * self.a / (2.0 * math.pi)

    # ------------------------------------------------------------ constructors
    @classmethod
    def monkhorst_pack(cls, n: int, a: float, shift: bool = False, symmetry="Oh",
                       time_reversal: bool = True) -> "KMesh":
        """n×n×n mesh of the simple-cubic zone reduced by ``symmetry`` (see module doc).

        ``shift=False``: Γ-centred, k = m/n · 2π/a; ``shift=True``: k = (m + ½)/n · 2π/a.
        """
        n = _check_n(n)
        a = check_range("cell side a", a, lo=0.0, lo_open=True, unit="fm")
        name, ops = _as_group(symmetry)
        if time_reversal:
            ops = _with_time_reversal(ops)
        J = _mesh_integers(n, shift)                                  # (N, 3), in (−n, n]
        two_n = 2 * n
        # Images of every point under every operation, wrapped back into (−n, n].
        images = np.einsum("gij,pj->gpi", ops, J)
        images = _wrap(images, n)
        codes = _encode(images, n)                                    # (nops, N)
        # Representative: the orbit member with the largest code, i.e. largest kx, then ky,
        # then kz — for O_h the wedge kx ≥ ky ≥ kz ≥ 0.
        rep_code = codes.max(axis=0)
        uniq, inverse, counts = np.unique(rep_code, return_inverse=True, return_counts=True)
        # Order irreducible points like their first appearance in the full mesh.
        first = np.full(len(uniq), len(J), dtype=np.int64)
        np.minimum.at(first, inverse, np.arange(len(J)))
        order = np.argsort(first, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        full_to_irr = rank[inverse]
        irr_codes = uniq[order]
        irr_J = _decode(irr_codes, n)
        mult = counts[order].astype(np.int64)
        assert mult.sum() == len(J)
        # Operation taking the irreducible point to each full point: R·J_irr ≡ J_full.
        irr_images = _encode(_wrap(np.einsum("gij,pj->gpi", ops, irr_J[full_to_irr]), n), n)
        full_codes = _encode(J, n)
        match = irr_images == full_codes[None, :]
        full_ops = np.argmax(match, axis=0)
        assert match[full_ops, np.arange(len(J))].all()
        scale = 2.0 * math.pi / a / two_n
        return cls(a=a, points=irr_J * scale, weights=mult / float(len(J)), multiplicities=mult,
                   nfull=len(J), n=n, shift=bool(shift), symmetry=name,
                   time_reversal=bool(time_reversal), full_points=J * scale,
                   full_to_irr=full_to_irr.astype(np.int64), full_ops=full_ops.astype(np.int64),
                   operations=ops)

    @classmethod
    def full(cls, n: int, a: float, shift: bool = False) -> "KMesh":
        """The unreduced n×n×n mesh (every point weight 1/n³)."""
        return cls.monkhorst_pack(n, a, shift=shift, symmetry="none", time_reversal=False)

    @classmethod
    def explicit(cls, points, a: float, weights=None) -> "KMesh":
        """A user list of k (fm⁻¹, Cartesian, each component in [−π/a, π/a]).

        ``weights`` default to equal; they are normalised to sum 1.
        """
        a = check_range("cell side a", a, lo=0.0, lo_open=True, unit="fm")
        pts = check_kpoints(points, a)
        if weights is None:
            w = np.full(len(pts), 1.0 / len(pts))
        else:
            w = np.asarray(weights, dtype=float)
            if w.shape != (len(pts),) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
                raise InputError(f"k weights must be {len(pts)} finite non-negative numbers "
                                 "with a positive sum")
            w = w / w.sum()
        ident = np.eye(3, dtype=np.int64)[None]
        return cls(a=a, points=pts, weights=w, multiplicities=np.ones(len(pts), dtype=np.int64),
                   nfull=len(pts), n=0, shift=False, symmetry="none", time_reversal=False,
                   full_points=pts.copy(), full_to_irr=np.arange(len(pts)),
                   full_ops=np.zeros(len(pts), dtype=np.int64), operations=ident)

    # ----------------------------------------------------------------- sums
    def integrate(self, values) -> np.ndarray:
        """Σ_k w_k f(k) for per-point values of shape (nk, ...) (BZ average)."""
        v = np.asarray(values)
        if v.shape[:1] != (self.nk,):
            raise InputError(f"values must have leading dimension nk = {self.nk}, got {v.shape}")
        return np.tensordot(self.weights, v, axes=(0, 0))

    def unfold(self, values) -> np.ndarray:
        """Per-point values (nk, ...) of scalar functions copied to the full mesh (nfull, ...)."""
        v = np.asarray(values)
        if v.shape[:1] != (self.nk,):
            raise InputError(f"values must have leading dimension nk = {self.nk}, got {v.shape}")
        return v[self.full_to_irr]


@dataclass(frozen=True, eq=False)
class KPath:
    """A piecewise-straight path through special points, for band plots.

    Attributes
    ----------
    a : cube side, fm.
    points : (nk, 3) Cartesian k in fm⁻¹.
    distance : (nk,) cumulative path length in fm⁻¹ (the plot's x axis).
    labels : tuple of (index into points, label) of the special points.
    weights : (nk,) equal weights (a path is not an integration mesh).
    """

    a: float
    points: np.ndarray
    distance: np.ndarray
    labels: tuple
    weights: np.ndarray

    def __post_init__(self):
        for name in ("points", "distance", "weights"):
            arr = np.array(getattr(self, name))
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    @property
    def nk(self) -> int:
        return len(self.points)

    @property
    def label_positions(self) -> np.ndarray:
        return self.distance[[i for i, _ in self.labels]]


def kpath(a: float, labels: str = "GXMGRX", points_per_segment: int = 10) -> KPath:
    """High-symmetry path of the simple-cubic zone through ``labels`` (letters G, X, M, R).

    Each segment has ``points_per_segment`` intervals (its start point included, its end
    point only for the last segment), so nk = (len(labels) − 1)·points_per_segment + 1.
    """
    a = check_range("cell side a", a, lo=0.0, lo_open=True, unit="fm")
    if isinstance(points_per_segment, bool) or int(points_per_segment) != points_per_segment:
        raise InputError(f"points per segment must be an integer, got {points_per_segment!r}")
    pps = int(check_range("points per segment", points_per_segment, lo=1, hi=10_000))
    if not isinstance(labels, str):
        labels = "".join(labels)
    seq = labels.upper().replace("Γ", "G")
    if len(seq) < 2 or any(c not in SC_POINTS for c in seq):
        raise InputError(f"k path {labels!r} must be at least two of the letters "
                         f"{', '.join(SC_POINTS)} (G = Γ), e.g. GXMGRX")
    scale = 2.0 * math.pi / a
    pts, tick = [], []
    for s, (p, q) in enumerate(zip(seq[:-1], seq[1:])):
        if p == q:
            raise InputError(f"k path {labels!r} repeats {p} in a row (zero-length segment)")
        P, Q = np.array(SC_POINTS[p]), np.array(SC_POINTS[q])
        tick.append((len(pts), SC_LABELS[p]))
        last = s == len(seq) - 2
        for t in np.arange(pps + (1 if last else 0)) / pps:
            pts.append((P + t * (Q - P)) * scale)
    tick.append((len(pts) - 1, SC_LABELS[seq[-1]]))
    pts = np.array(pts)
    step = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    dist = np.concatenate([[0.0], np.cumsum(step)])
    return KPath(a=a, points=pts, distance=dist, labels=tuple(tick),
                 weights=np.full(len(pts), 1.0 / len(pts)))


def little_group_order(k, a: float, operations=None, tol: float = 1e-9) -> int:
    """Number of operations R (default O_h) with R·k ≡ k modulo the sc reciprocal lattice.

    ``k`` Cartesian in fm⁻¹. Order 1 means a generic point: no symmetry-enforced degeneracy
    there, even for fields of a bcc/fcc lattice folded into the conventional cube (the
    folding sectors k + G are only mixed by operations of the little group). Used to decide
    where the eigensolver's multiplicity check is worth its cost.
    """
    ops = oh_operations() if operations is None else np.asarray(operations)
    f = np.asarray(k, dtype=float) * a / (2.0 * math.pi)
    d = np.einsum("gij,j->gi", ops, f) - f
    return int(np.sum(np.all(np.abs(d - np.round(d)) < tol, axis=1)))


def _operation_errors(arrays, n: int, ops) -> np.ndarray:
    """Per operation R: max over ``arrays`` of |f(R r) − f(r)| / max|f| (R on grid indices)."""
    idx = np.indices((n, n, n)).reshape(3, -1)
    out = np.zeros(len(ops))
    for g, R in enumerate(ops):
        j = np.mod(np.asarray(R) @ idx, n)
        for f in arrays:
            scale = max(float(np.max(np.abs(f))), 1e-300)
            diff = np.max(np.abs(f[j[0], j[1], j[2]].ravel() - f.ravel())) / scale
            out[g] = max(out[g], float(diff))
    return out


def field_symmetry_error(fields, operations=None) -> float:
    """max over R and over U, B of |f(R r) − f(r)| / max|f| on the grid (default R ∈ O_h).

    Point (ix, iy, iz) sits at r = i·h and R acts on the integer indices modulo n — about the
    grid origin, which for even n is the same as about the cell centre. A value ≲ 1e-10 means
    the fields (hence the band energies, E(Rk) = E(k)) have the symmetry, so a mesh may be
    reduced by it.
    """
    ops = oh_operations() if operations is None else np.asarray(operations)
    return float(np.max(_operation_errors((fields.U, fields.B), fields.n, ops)))


#: Relative deviation below which a field counts as invariant under an operation.
SYMMETRY_TOL = 1e-10


def invariant_operations(fields, extra=(), tol: float = SYMMETRY_TOL) -> np.ndarray:
    """The subgroup of O_h leaving U, B and every (n, n, n) array of ``extra`` invariant.

    An operation R is kept when the largest relative deviation |f(R r) − f(r)| / max|f|
    (as in :func:`field_symmetry_error`) is at most ``tol``. The kept set of exact symmetries
    is a group; should the tolerance cut through a near-symmetry so that it is not closed,
    only the identity is returned (no reduction is always correct). A field with one cosine
    along x, for example, keeps the 16 operations that map the x axis onto ±x (D_4h).
    """
    ops = oh_operations()
    err = _operation_errors((fields.U, fields.B, *extra), fields.n, ops)
    kept = ops[err <= tol]
    keys = {R.tobytes() for R in kept}
    if not all((R @ S).tobytes() in keys for R in kept for S in kept):
        return ops[:1]
    return kept


def symmetry_label(operations) -> str:
    """"Oh" for all 48 operations, "none" for the identity alone, else "order-N subgroup of
    Oh" (the name a k-mesh reduced by ``operations`` carries)."""
    nops = len(operations)
    return {48: "Oh", 1: "none"}.get(nops, f"order-{nops} subgroup of Oh")


def check_kpoints(points, a: float) -> np.ndarray:
    """Validate Cartesian k (fm⁻¹): finite and inside the zone, |k_d| ≤ π/a (with 1e-12 slack)."""
    pts = np.asarray(points, dtype=float)
    if pts.ndim == 1 and pts.shape == (3,):
        pts = pts[None]
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise InputError(f"k points must have shape (nk, 3), got {pts.shape}")
    if not np.all(np.isfinite(pts)):
        bad = np.argwhere(~np.isfinite(pts))[0]
        raise InputError(f"k point #{bad[0]} has a NaN/infinite component: {pts[bad[0]].tolist()}")
    kmax = math.pi / a
    out = np.abs(pts) > kmax * (1 + 1e-12)
    if out.any():
        i = int(np.argwhere(out)[0][0])
        raise InputError(f"k point #{i} = {pts[i].tolist()} fm^-1 is outside the Brillouin zone "
                         f"[-π/a, π/a]³ = [-{kmax:.6g}, {kmax:.6g}]³ fm^-1 (a = {a:g} fm)")
    return pts


# ------------------------------------------------------------------ integer helpers
def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise InputError(f"k-mesh size n must be an integer, got {n!r}")
    return int(check_range("k-mesh size n", n, lo=1, hi=512))


def _mesh_integers(n: int, shift: bool) -> np.ndarray:
    """Integer coordinates J (k = J/(2n) · 2π/a) of the mesh, wrapped into (−n, n]."""
    m = np.arange(n)
    j1 = 2 * m + (1 if shift else 0)
    J = np.stack(np.meshgrid(j1, j1, j1, indexing="ij"), axis=-1).reshape(-1, 3)
    return _wrap(J, n)


def _wrap(J, n: int):
    """Reduce integers modulo 2n into (−n, n] (k into (−π/a, π/a])."""
    return n - np.mod(n - J, 2 * n)


def _encode(J, n: int):
    base = 2 * n + 1
    Jp = J + n  # in (0, 2n]
    return (Jp[..., 0] * base + Jp[..., 1]) * base + Jp[..., 2]


def _decode(codes, n: int) -> np.ndarray:
    base = 2 * n + 1
    z = codes % base
    y = (codes // base) % base
    x = codes // base**2
    return np.stack([x, y, z], axis=-1) - n
