"""Cubic periodic finite-difference grid on a communicator (PETSc DMDA, complex scalars).

Conventions (``docs/numerics.md``, "Grid"):

* ``n`` points per side, cube side ``a`` (fm), spacing h = a/n (fm);
* numpy arrays are indexed ``[ix, iy, iz]`` and point (ix, iy, iz) sits at
  r = (ix, iy, iz)·h, so a cluster centred on a grid point keeps the grid's O_h symmetry;
* PETSc's DMDA numbers the ``x`` index fastest, so the *natural* index of point
  (ix, iy, iz) is ix + n·iy + n²·iz; the *PETSc* (global) index groups the points of each
  rank's box contiguously (rank order, x fastest inside the box). :attr:`Grid.petsc_index`
  maps one to the other; :meth:`Grid.scatter` / :meth:`Grid.gather` move replicated numpy
  arrays into distributed Vecs and back.

The DMDA is periodic in x, y and z with a star stencil. Its stencil width only matters
for ghosted (matrix-free) use; the assembled Hamiltonian needs only the ownership layout,
which does not depend on it.
"""
from __future__ import annotations

import numpy as np
from mpi4py import MPI

from ..errors import InputError, check_range
from ..petsc_env import init_petsc


class Grid:
    """Periodic n×n×n grid of a cube of side ``a`` (fm) distributed over ``comm``.

    Parameters
    ----------
    n : points per side (≥ 2).
    a : cube side in fm (> 0).
    comm : mpi4py communicator (default ``MPI.COMM_WORLD``); all PETSc objects of this
        grid live on ``PETSc.Comm(comm)``. Construction is collective.
    stencil_width : ghost width of the DMDA (default 1). Must not exceed the smallest
        local box extent chosen by PETSc; checked on every rank identically.

    Call :meth:`destroy` (collective) when done.
    """

    def __init__(self, n: int, a: float, comm=None, stencil_width: int = 1):
        PETSc, _ = init_petsc()
        if comm is None:
            comm = MPI.COMM_WORLD
        try:
            integral = not isinstance(n, bool) and int(n) == n
        except (TypeError, ValueError):
            integral = False
        if not integral:
            raise InputError(f"grid points per side n must be an integer, got {n!r}")
        self.n = int(check_range("grid points per side n", n, lo=2))
        self.a = check_range("cell side a", a, lo=0.0, lo_open=True, unit="fm")
        self.h = self.a / self.n
        if int(stencil_width) != stencil_width or stencil_width < 0:
            raise InputError(f"stencil_width must be a non-negative integer, got {stencil_width!r}")
        self.comm = comm
        self.stencil_width = int(stencil_width)
        pcomm = PETSc.Comm(comm)
        periodic = (PETSc.DM.BoundaryType.PERIODIC,) * 3
        star = PETSc.DMDA.StencilType.STAR
        # First find PETSc's partition with width 1 (always valid when every rank gets a
        # point), check it against the requested width on every rank identically, then
        # build the DMDA with that partition fixed: a too-wide stencil would otherwise
        # fail only on the ranks with thin boxes and hang the others.
        if comm.size > self.n ** 3:
            raise InputError(f"{comm.size} ranks are more than the {self.n}^3 grid points")
        probe = PETSc.DMDA().create(dim=3, dof=1, sizes=(self.n,) * 3, boundary_type=periodic,
                                    stencil_type=star, stencil_width=1, comm=pcomm)
        ranges = tuple(np.array(r, dtype=np.int64) for r in probe.getOwnershipRanges())
        probe.destroy()
        thinnest = int(min(r.min() for r in ranges))
        if self.stencil_width > thinnest:
            raise InputError(
                f"DMDA stencil width {self.stencil_width} exceeds the thinnest local box "
                f"({thinnest} points) of the n = {self.n} grid on {comm.size} ranks; use "
                f"fewer ranks per k-group or a larger grid")
        self.da = PETSc.DMDA().create(
            dim=3, dof=1, sizes=(self.n,) * 3, boundary_type=periodic, stencil_type=star,
            stencil_width=self.stencil_width,
            ownership_ranges=tuple(np.asarray(r, dtype=PETSc.IntType) for r in ranges), comm=pcomm)
        #: Points per rank along x, y, z (replicated; identical on all ranks).
        self.ownership_ranges = ranges
        self._boxes = self._all_boxes()
        self.petsc_index = self._petsc_index()
        (xs, xe), (ys, ye), (zs, ze) = self.da.getRanges()
        #: This rank's box ((xs, xe), (ys, ye), (zs, ze)) in grid indices.
        self.local_box = ((xs, xe), (ys, ye), (zs, ze))
        self.local_size = (xe - xs) * (ye - ys) * (ze - zs)
        start = int(self.petsc_index[xs, ys, zs])
        #: This rank's rows [start, end) in the PETSc ordering.
        self.ownership_range = (start, start + self.local_size)

    # ------------------------------------------------------------------ layout
    def _all_boxes(self):
        """Boxes of all ranks in rank order (rank = px + mx·(py + my·pz), PETSc's DMDA rule)."""
        edges = [np.concatenate(([0], np.cumsum(r))) for r in self.ownership_ranges]
        mx, my, mz = (len(r) for r in self.ownership_ranges)
        boxes = []
        for pz in range(mz):
            for py in range(my):
                for px in range(mx):
                    boxes.append(((int(edges[0][px]), int(edges[0][px + 1])),
                                  (int(edges[1][py]), int(edges[1][py + 1])),
                                  (int(edges[2][pz]), int(edges[2][pz + 1]))))
        return boxes

    def _petsc_index(self) -> np.ndarray:
        """(n, n, n) int64 array: PETSc global index of grid point [ix, iy, iz]."""
        idx = np.empty((self.n,) * 3, dtype=np.int64)
        start = 0
        for (xs, xe), (ys, ye), (zs, ze) in self._boxes:
            nx, ny, nz = xe - xs, ye - ys, ze - zs
            local = start + np.arange(nx * ny * nz, dtype=np.int64).reshape(nz, ny, nx)
            idx[xs:xe, ys:ye, zs:ze] = local.transpose(2, 1, 0)  # x fastest inside the box
            start += nx * ny * nz
        return idx

    @property
    def size(self) -> int:
        """Total number of grid points n³."""
        return self.n ** 3

    @property
    def boxes(self):
        """Boxes ((xs, xe), (ys, ye), (zs, ze)) of all ranks, in rank order."""
        return list(self._boxes)

    def local_slices(self):
        """numpy slices of this rank's box in an (n, n, n) array."""
        return tuple(slice(s, e) for s, e in self.local_box)

    # ------------------------------------------------------------- coordinates
    def axis(self) -> np.ndarray:
        """1D coordinates x_i = i·h (fm), i = 0 … n-1."""
        return np.arange(self.n) * self.h

    def coordinates(self) -> np.ndarray:
        """(3, n, n, n) array of positions r = (ix, iy, iz)·h in fm (replicated)."""
        x = self.axis()
        return np.array(np.meshgrid(x, x, x, indexing="ij"))

    # ----------------------------------------------------------- vec transfer
    def create_vec(self):
        """A new distributed (global, PETSc-ordered) complex Vec of this grid. Caller destroys."""
        return self.da.createGlobalVec()

    def scatter(self, array, vec=None):
        """Copy a replicated (n, n, n) numpy array into a distributed Vec (PETSc ordering).

        Every rank must pass the same array; each copies its own box. Returns ``vec`` (a
        new Vec when None; the caller destroys it).
        """
        arr = np.asarray(array)
        if arr.shape != (self.n,) * 3:
            raise InputError(f"array shape {arr.shape} does not match the grid ({self.n},)*3")
        if vec is None:
            vec = self.create_vec()
        local = arr[self.local_slices()]
        # The local part of a DMDA global Vec is the box with x fastest (Fortran order).
        vec.getArray()[:] = local.ravel(order="F")
        return vec

    def gather(self, vec) -> np.ndarray:
        """Return the distributed Vec as a natural-order (n, n, n) complex array on all ranks.

        Collective (MPI Allgatherv over ``comm``).
        """
        local = np.ascontiguousarray(vec.getArray(readonly=True), dtype=np.complex128)
        if local.size != self.local_size:
            raise InputError(f"Vec has local size {local.size}, the grid box has {self.local_size}")
        counts = [(xe - xs) * (ye - ys) * (ze - zs) for (xs, xe), (ys, ye), (zs, ze) in self._boxes]
        displs = np.concatenate(([0], np.cumsum(counts)[:-1])).tolist()
        flat = np.empty(self.size, dtype=np.complex128)
        self.comm.Allgatherv(local, [flat, counts, displs, MPI.C_DOUBLE_COMPLEX])
        out = np.empty((self.n,) * 3, dtype=np.complex128)
        for ((xs, xe), (ys, ye), (zs, ze)), c, d in zip(self._boxes, counts, displs):
            out[xs:xe, ys:ye, zs:ze] = flat[d:d + c].reshape((xe - xs, ye - ys, ze - zs), order="F")
        return out

    def to_petsc_order(self, array) -> np.ndarray:
        """Flatten an (n, n, n) (or (n, n, n, ...)) array into the global PETSc ordering."""
        arr = np.asarray(array)
        out = np.empty((self.size,) + arr.shape[3:], dtype=arr.dtype)
        out[self.petsc_index.ravel()] = arr.reshape((self.size,) + arr.shape[3:])
        return out

    def from_petsc_order(self, flat) -> np.ndarray:
        """Inverse of :meth:`to_petsc_order`: global PETSc-ordered data → (n, n, n, ...) array."""
        flat = np.asarray(flat)
        return flat[self.petsc_index.ravel()].reshape((self.n,) * 3 + flat.shape[1:])

    # --------------------------------------------------------------- cleanup
    def destroy(self) -> None:
        """Destroy the DMDA (collective on ``comm``)."""
        if getattr(self, "da", None) is not None:
            self.da.destroy()
            self.da = None

    def __repr__(self) -> str:
        return f"Grid(n={self.n}, a={self.a:g} fm, h={self.h:g} fm, ranks={self.comm.size})"
