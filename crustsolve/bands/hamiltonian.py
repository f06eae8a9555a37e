"""Finite-difference Bloch Hamiltonian h(k) as a PETSc complex AIJ matrix, with exact ∂h/∂k.

Operator (``docs/physics/crust-superfluidity.md``, "Band structure"), on the periodic part u of
a Bloch state, k in fm⁻¹:

    h(k) = -(∇ + ik)·B(∇ + ik) + U - (i/2){I, ∇ + ik}.

Discretisation (``docs/numerics.md``, "Bloch Hamiltonian"):

* kinetic term in the staggered conservative form T = Σ_d (D_d⁺)ᴴ diag(B_{d,½}) D_d⁺,
  with D⁺ the order-p staggered derivative and B interpolated to the half points r + ½hê_d
  by the matching-order interpolation P (:mod:`crustsolve.bands.stencils`). Per direction,
  with l, l+o ∈ {-p/2+1, …, p/2} and B_{s} ≡ B at the half point s + ½::

      T_{j, j+o} = h⁻² Σ_l a_l a_{l+o} B_{j-l}.

  Hermitian, positive semidefinite, no checkerboard null modes; the composite has
  half-width w = p - 1 per direction (star stencil, 1 + 6w nonzeros per row).
* current term written symmetrically in the same staggered form. From
  ⟨φ|-(i/2){I, ∂}|ψ⟩ = -(i/2) Σ_half I_½ [(Pφ)*(D⁺ψ) - (D⁺φ)*(Pψ)] (one integration by
  parts; I_d interpolated to the half points along d)::

      K_{j, j+o} = -(i/(2h)) Σ_l I_{j-l} (w_l a_{l+o} - a_l w_{l+o}),

  i.e. K = -(i/2)(Pᵀ diag(I) D⁺ - D⁺ᵀ diag(I) P): Hermitian (i times a real antisymmetric
  matrix); for constant I its plane-wave symbol is I π(θ)σ(θ)/h = I·q + O(h^p).
* u-gauge Bloch phase: the entry with displacement d_ij = r_j - r_i (the stencil offset,
  which is the minimal image because n ≥ 2w + 1) is H_ij(k) = H_ij(0) e^{ik·d_ij}; hence the
  exact derivatives (∂h/∂k_d)_ij = i d_ij,d H_ij(k) and (∂²h/∂k_d∂k_e)_ij = -d_ij,d d_ij,e H_ij(k).

Assembly: the k-independent coefficients of the locally owned rows are built once with
numpy (no per-entry loops) in the DMDA's PETSc ordering; each call multiplies them by one
phase per stencil slot and calls ``Mat.createAIJ(csr=...)``.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..petsc_env import init_petsc
from .stencils import check_order, half_point_interpolation, staggered_derivative

#: Default order: 6th, chosen by measured accuracy per unknown. bcc Gaussian wells (a = 20 fm,
#: depth 50 MeV, radius 4 fm), 40 lowest bands at a general k, max error against a converged
#: plane-wave reference (3911 plane waves), for orders 2/4/6/8 (7/19/31/43 nonzeros per row):
#:   h = 1.25 fm (n = 16): 1.84 / 0.31 / 0.093 / 0.038 MeV
#:   h = 1.00 fm (n = 20): 1.08 / 0.13 / 0.027 / 0.008 MeV
#:   h = 0.83 fm (n = 24): 0.72 / 0.061 / 0.0096 / 0.0021 MeV
#: A 10 keV target needs n ≈ 38 at order 4 but n ≈ 24 at order 6 (4× fewer unknowns, and the
#: cost of ~10³ bands scales with the unknowns through orthogonalisation); order 8 gains a
#: further ~1.7× in unknowns but needs n ≥ 15 and a 7-plane halo (16³ subdomains would then
#: carry ghosts ~2.6× their size), so 6 (n ≥ 11, 5-plane halo) is the balanced default.
DEFAULT_ORDER = 6


class BlochHamiltonian:
    """h(k) of the fields on the grid, order-``order`` staggered finite differences.

    Parameters
    ----------
    grid : :class:`~crustsolve.bands.grid.Grid` (its communicator owns every matrix).
    fields : :class:`~crustsolve.bands.fields.Fields` on the same n and a.
    order : even FD order 2 … 16 (default :data:`DEFAULT_ORDER`).

    Matrices returned by :meth:`matrix`, :meth:`dmatrix`, :meth:`d2matrix` are new PETSc
    complex AIJ Mats on the grid's communicator; the caller destroys them (collectively).
    """

    def __init__(self, grid, fields, order: int = DEFAULT_ORDER):
        self._PETSc, _ = init_petsc()  # raises PetscBuildError for a real-scalar build
        self.order = check_order(order)
        self.grid = grid
        self.fields = fields
        n = grid.n
        if fields.n != n:
            raise InputError(f"fields are on an n = {fields.n} grid, the Grid has n = {n}")
        if not np.isclose(fields.a, grid.a, rtol=1e-12, atol=0.0):
            raise InputError(f"fields have cell side a = {fields.a:g} fm, the Grid has "
                             f"a = {grid.a:g} fm")
        w = self.order - 1
        if n < 2 * w + 1:
            raise InputError(
                f"grid too coarse for the stencil: n = {n} points per side, but order "
                f"{self.order} needs n ≥ {2 * w + 1} (its kinetic stencil spans 2·{w}+1 = "
                f"{2 * w + 1} points per direction); use a lower order or a finer grid")
        self._w = w
        self._build()

    # ---------------------------------------------------------------- props
    @property
    def size(self) -> int:
        """Matrix dimension n³."""
        return self.grid.size

    @property
    def stencil_halfwidth(self) -> int:
        """Half-width w = order - 1 of the composite stencil along each axis (grid points)."""
        return self._w

    @property
    def nnz_per_row(self) -> int:
        """Nonzeros per row, 1 + 6w (star stencil)."""
        return 1 + 6 * self._w

    @property
    def has_current(self) -> bool:
        """True when the fields carry a nonzero current field I (breaks E(k) = E(-k))."""
        return self.fields.has_current

    def max_k(self) -> float:
        """Largest allowed |k_d| (fm⁻¹): the grid's Nyquist wave number π/h."""
        return np.pi / self.grid.h

    # -------------------------------------------------------------- assembly
    def _half_point(self, field, d, wts, offs):
        """Interpolate a replicated (n, n, n) field to the half points along axis d."""
        out = np.zeros(field.shape)
        for l_, wl in zip(offs, wts):
            out += wl * np.roll(field, -l_, axis=d)  # f_{s+l} at half point s + 1/2
        return out

    def _kinetic_slots(self, X, name="B", check_positive=True):
        """Per-slot local coefficients of T[X] = Σ_d (D_d⁺)ᴴ diag(X at half points) D_d⁺.

        Returns (diagonal (local box), [off-diagonal slot arrays in the canonical slot order]).
        ``X`` is a replicated (n, n, n) field; with ``check_positive`` its half-point
        interpolation must stay > 0 (the kinetic coefficient B of h must).
        """
        g, h, w = self.grid, self.grid.h, self._w
        offs, a = staggered_derivative(self.order)
        _, wts = half_point_interpolation(self.order)
        lo, hi = int(offs[0]), int(offs[-1])
        coef_a = dict(zip(offs.tolist(), a))
        sl = g.local_slices()
        shape_l = tuple(e - s for s, e in g.local_box)
        X = np.asarray(X, dtype=float)
        diag = np.zeros(shape_l, dtype=complex)
        slots = []
        for d in range(3):
            Xh = self._half_point(X, d, wts, offs)
            if check_positive and Xh.min() <= 0.0:
                idx = tuple(int(i) for i in np.unravel_index(np.argmin(Xh), Xh.shape))
                raise InputError(
                    f"field {name} interpolated to the half points along axis {'xyz'[d]} (order "
                    f"{self.order}) is ≤ 0 (min {Xh.min():g} MeV fm² at half point {idx}); "
                    f"use a smoother {name} or a lower order")
            rolled = {l_: np.roll(Xh, l_, axis=d)[sl] for l_ in offs.tolist()}  # X_{j-l}
            for o in range(-w, w + 1):
                c = np.zeros(shape_l, dtype=complex)
                for l_ in range(max(lo, lo - o), min(hi, hi - o) + 1):
                    c += (coef_a[l_] * coef_a[l_ + o] / h**2) * rolled[l_]
                if o == 0:
                    diag += c
                else:
                    slots.append(c)
        return diag, slots

    def _current_slots(self, I):  # noqa: E741
        """Per-slot local coefficients of the symmetric current term −(i/2){I, ∇} (canonical order)."""
        g, h, w = self.grid, self.grid.h, self._w
        offs, a = staggered_derivative(self.order)
        _, wts = half_point_interpolation(self.order)
        lo, hi = int(offs[0]), int(offs[-1])
        coef_a = dict(zip(offs.tolist(), a))
        coef_w = dict(zip(offs.tolist(), wts))
        sl = g.local_slices()
        shape_l = tuple(e - s for s, e in g.local_box)
        diag = np.zeros(shape_l, dtype=complex)
        slots = []
        for d in range(3):
            Ih = self._half_point(I[d], d, wts, offs)
            rolled_I = {l_: np.roll(Ih, l_, axis=d)[sl] for l_ in offs.tolist()}
            for o in range(-w, w + 1):
                c = np.zeros(shape_l, dtype=complex)
                for l_ in range(max(lo, lo - o), min(hi, hi - o) + 1):
                    kc = coef_w[l_] * coef_a[l_ + o] - coef_a[l_] * coef_w[l_ + o]
                    if kc != 0.0:
                        c += (-0.5j * kc / h) * rolled_I[l_]
                if o == 0:
                    diag += c
                else:
                    slots.append(c)
        return diag, slots

    def _slot_values(self, diag, slots) -> np.ndarray:
        """Stored CSR values (k = 0) from per-slot local arrays, in this matrix's entry order."""
        nslot = 1 + len(slots)
        vals = np.empty((self.grid.local_size, nslot), dtype=complex)
        vals[:, 0] = diag.ravel(order="F")
        for s, c in enumerate(slots, start=1):
            vals[:, s] = c.ravel(order="F")
        return np.take_along_axis(vals, self._order, axis=1).ravel()

    def _build(self):
        g, f, h, w = self.grid, self.fields, self.grid.h, self._w
        sl = g.local_slices()
        I = None if f.I is None or not f.has_current else np.asarray(f.I, dtype=float)  # noqa: E741
        diag, slots = self._kinetic_slots(f.B)
        diag = diag + np.array(f.U, dtype=float)[sl]
        if I is not None:
            cdiag, cslots = self._current_slots(I)
            diag = diag + cdiag
            slots = [s + c for s, c in zip(slots, cslots)]
        slots_disp = []   # per off-diagonal slot: integer displacement in grid spacings
        for d in range(3):
            for o in range(-w, w + 1):
                if o != 0:
                    disp = [0, 0, 0]
                    disp[d] = o
                    slots_disp.append(disp)

        # Local rows in PETSc order: the box flattened with x fastest.
        nloc = g.local_size
        nslot = 1 + len(slots)
        disp = np.array([[0, 0, 0]] + slots_disp, dtype=np.int64)          # (nslot, 3)
        (xs, xe), (ys, ye), (zs, ze) = g.local_box
        ix, iy, iz = (v.ravel(order="F") for v in
                      np.meshgrid(np.arange(xs, xe), np.arange(ys, ye), np.arange(zs, ze),
                                  indexing="ij"))
        n = g.n
        cols = g.petsc_index[(ix[:, None] + disp[None, :, 0]) % n,
                             (iy[:, None] + disp[None, :, 1]) % n,
                             (iz[:, None] + disp[None, :, 2]) % n]
        # Sorted column indices per row (what PETSc's CSR preallocation expects).
        order = np.argsort(cols, axis=1, kind="stable")
        self._order = order
        self._cols = np.take_along_axis(cols, order, axis=1).astype(self._PETSc.IntType).ravel()
        self._vals0 = self._slot_values(diag, slots)
        self._slot = order.astype(np.int16).ravel()     # stencil slot of each stored entry
        self._disp = disp.astype(float) * h              # (nslot, 3) displacement d_ij in fm
        self._indptr = (np.arange(nloc + 1) * nslot).astype(self._PETSc.IntType)
        self._nloc = nloc

    def _check_k(self, k) -> np.ndarray:
        try:
            kv = np.array(k, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise InputError(f"k must be 3 real numbers (fm⁻¹), got {k!r}") from None
        if kv.shape != (3,):
            raise InputError(f"k must have 3 Cartesian components (fm⁻¹), got {np.shape(k)}")
        if not np.all(np.isfinite(kv)):
            raise InputError(f"k = {kv.tolist()} fm⁻¹ is not finite")
        kmax = self.max_k()
        if np.any(np.abs(kv) > kmax * (1 + 1e-12)):
            raise InputError(f"k = {kv.tolist()} fm⁻¹ is outside the allowed range "
                             f"|k_d| ≤ π/h = {kmax:g} fm⁻¹ of this grid (h = {self.grid.h:g} fm)")
        return kv

    def _phases(self, k) -> np.ndarray:
        return np.exp(1j * (self._disp @ self._check_k(k)))   # one phase per stencil slot

    def _assemble(self, slot_factor, vals0=None):
        PETSc = self._PETSc
        vals = (self._vals0 if vals0 is None else vals0) * slot_factor[self._slot]
        N = self.size
        A = PETSc.Mat().createAIJ(size=((self._nloc, N), (self._nloc, N)),
                                  csr=(self._indptr, self._cols, vals),
                                  comm=PETSc.Comm(self.grid.comm))
        A.assemble()
        return A

    def matrix(self, k):
        """h(k) (MeV) as a new Hermitian complex AIJ Mat; k: 3 Cartesian components in fm⁻¹."""
        return self._assemble(self._phases(k))

    @property
    def displacements(self) -> np.ndarray:
        """(nslot, 3) fm: the displacement d of each stencil slot (slot 0: the diagonal), so
        that h(k) = Σ_s e^{ik·d_s} H_s with the k-independent slot matrices H_s."""
        return self._disp.copy()

    def slot_matrix(self, s: int):
        """H_s as a new Mat: the entries of h(0) of stencil slot ``s`` only (one per row)."""
        nslot = len(self._disp)
        if not (0 <= int(s) < nslot):
            raise InputError(f"stencil slot must be in [0, {nslot - 1}], got {s!r}")
        PETSc = self._PETSc
        nloc = self._nloc
        pos = np.flatnonzero(self._slot == int(s))     # one stored entry per local row
        cols = self._cols[pos].astype(PETSc.IntType)
        vals = self._vals0[pos]
        indptr = np.arange(nloc + 1, dtype=PETSc.IntType)
        N = self.size
        A = PETSc.Mat().createAIJ(size=((nloc, N), (nloc, N)), csr=(indptr, cols, vals),
                                  comm=PETSc.Comm(self.grid.comm))
        A.assemble()
        return A

    def dmatrix(self, k, d: int):
        """∂h/∂k_d (MeV fm) as a new Mat: entries i d_ij,d H_ij(k) (exact for the discrete h)."""
        d = self._check_axis(d)
        return self._assemble(self._phases(k) * (1j * self._disp[:, d]))

    def d2matrix(self, k, d: int, e: int):
        """∂²h/∂k_d∂k_e (MeV fm²) as a new Mat: entries -d_ij,d d_ij,e H_ij(k)."""
        d, e = self._check_axis(d), self._check_axis(e)
        return self._assemble(self._phases(k) * (-self._disp[:, d] * self._disp[:, e]))

    def kinetic_vertex(self, coefficient) -> "KineticVertex":
        """k-derivatives of the kinetic operator T[X] with coefficient field X (MeV fm²).

        T[X] = Σ_d (D_d⁺)ᴴ diag(X_½) D_d⁺ has the stencil and u-gauge phases of h, so
        ∂T[X]/∂k is built exactly like :meth:`dmatrix`. X may have any sign (it is not a
        kinetic coefficient of h): the superflow's current-field vertex ∂T[−C_nn n_n]/∂k
        (see ``docs/physics/crust-superfluidity.md``, "current-field term") is one.
        """
        X = np.asarray(coefficient, dtype=float)
        if X.shape != (self.grid.n,) * 3:
            raise InputError(f"kinetic-vertex coefficient has shape {X.shape}, expected "
                             f"{(self.grid.n,) * 3}")
        if not np.all(np.isfinite(X)):
            raise InputError("kinetic-vertex coefficient contains NaN or infinite values")
        diag, slots = self._kinetic_slots(X, check_positive=False)
        return KineticVertex(self, self._slot_values(diag, slots))

    @staticmethod
    def _check_axis(d) -> int:
        if d not in (0, 1, 2):
            raise InputError(f"Cartesian direction must be 0, 1 or 2 (x, y, z), got {d!r}")
        return int(d)

    def destroy(self) -> None:
        """Release the assembly arrays (collective for symmetry with other PETSc owners)."""
        self._cols = self._vals0 = self._slot = self._indptr = self._order = None

    def __repr__(self) -> str:
        return (f"BlochHamiltonian(n={self.grid.n}, a={self.grid.a:g} fm, order={self.order}, "
                f"nnz/row={self.nnz_per_row}, current={self.has_current})")


class KineticVertex:
    """∂T[X]/∂k and ∂²T[X]/∂k² of a kinetic operator sharing a Hamiltonian's stencil.

    Made by :meth:`BlochHamiltonian.kinetic_vertex`; matrices are new PETSc Mats on the
    Hamiltonian's communicator (the caller destroys them).
    """

    def __init__(self, hamiltonian: BlochHamiltonian, vals0: np.ndarray):
        self._H = hamiltonian
        self._vals0 = vals0

    def dmatrix(self, k, d: int):
        """∂T[X]/∂k_d (MeV fm): entries i d_ij,d T_ij(k)."""
        H = self._H
        d = H._check_axis(d)
        return H._assemble(H._phases(k) * (1j * H._disp[:, d]), self._vals0)

    def d2matrix(self, k, d: int, e: int):
        """∂²T[X]/∂k_d∂k_e (MeV fm²): entries −d_ij,d d_ij,e T_ij(k)."""
        H = self._H
        d, e = H._check_axis(d), H._check_axis(e)
        return H._assemble(H._phases(k) * (-H._disp[:, d] * H._disp[:, e]), self._vals0)


def gather_dense(grid, mat) -> np.ndarray:
    """The distributed Mat as a dense natural-order (n³, n³) numpy array on all ranks.

    Rows/columns are ordered as ``array.ravel()`` of an (n, n, n) array indexed [ix, iy, iz].
    Collective; for tests and small grids only (n ≤ 16).
    """
    if grid.n > 16:
        raise InputError(f"gather_dense is for small grids (n ≤ 16), got n = {grid.n}")
    indptr, cols, vals = mat.getValuesCSR()
    rstart, rend = mat.getOwnershipRange()
    rows = np.repeat(np.arange(rstart, rend), np.diff(indptr))
    parts = grid.comm.allgather((rows, np.asarray(cols), np.asarray(vals)))
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts])
    vals = np.concatenate([p[2] for p in parts])
    # PETSc index → natural (C-order ravel of [ix, iy, iz]) index.
    nat = np.empty(grid.size, dtype=np.int64)
    nat[grid.petsc_index.ravel()] = np.arange(grid.size)
    out = np.zeros((grid.size, grid.size), dtype=complex)
    np.add.at(out, (nat[rows], nat[cols]), vals)
    return out
