"""Band-basis matrix elements from distributed eigenvectors (PETSc/SLEPc, group communicator).

For one Bloch vector k, with the computed eigenvectors Ψ = [ψ_1 … ψ_nb] held in a SLEPc ``BV``
distributed over the k-group's communicator (never gathered on one rank), this module forms
the small nb×nb matrices

* ħv^i = Ψᴴ (∂h/∂k_i) Ψ (MeV fm) — ``BV.matProject`` (BVMatProject: one BVMatMult and one
  block dot, the result replicated on every rank of the group as a sequential dense Mat);
* Ψᴴ (∂²h/∂k_i∂k_j) Ψ (MeV fm²), of which the band-diagonal part is used;
* Ψᴴ Δ̂ Ψ for a local pair field Δ(r) (MeV), a diagonal Mat on the same layout;
* optionally the current-field vertex ħw^i = Ψᴴ ∂T[−C_nn n_n]/∂k_i Ψ (MeV fm) and its
  band-diagonal second derivative: the change of the velocity vertex caused by the current
  field a superflow induces (``docs/physics/crust-superfluidity.md``, current-field term).

Derivatives are the exact k-derivatives of the u-gauge FD matrix (``BlochHamiltonian.dmatrix``,
``.d2matrix``; ``docs/numerics.md``, u-gauge), so Hellmann–Feynman and the effective-mass sum
rule hold to round-off within the complete band set.

The gaps Δ_αk come from a gap model of :mod:`crustsolve.response.pairing`.
Degenerate subspaces: with a local pair field the
band-diagonal gap Δ_αk = ∫_cell |φ_αk|² Δ(r) d³r depends on the basis chosen inside a
degenerate cluster; there Ψᴴ Δ̂ Ψ is diagonalised and every matrix element is rotated with the
same unitary, so the gaps are its eigenvalues (BCS pairs the states that diagonalise Δ̂ in the
cluster). The response formulas themselves are invariant under rotations within a cluster of
equal gaps (see :mod:`crustsolve.response.kernels`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from mpi4py import MPI

from ..bands.eigensolvers.chebyshev import hermitian_projection
from ..errors import InputError
from .kernels import DEFAULT_DEGENERACY_TOL, degenerate_clusters
from .pairing import as_model


@dataclass(frozen=True, eq=False)
class KPointData:
    """Response ingredients of one k-point (replicated, small).

    index : k index in the mesh's ``points``; weight : BZ weight (Σ = 1).
    energies (nb,) MeV ascending; velocity (3, nb, nb) complex MeV fm; d2h (3, 3, nb) MeV fm²
    (band-diagonal ⟨α|∂_i∂_jh|α⟩); gap (nb,) MeV (Δ_αk); max_residual of the eigensolve.
    current_vertex (3, nb, nb) complex MeV fm and current_d2 (3, 3, nb) MeV fm²: the
    current-field vertex ħw and ⟨α|∂²T[−C_nn n_n]|α⟩, or None when no current term is asked.
    gap_gradient (3, nb) MeV fm: ∇_kΔ_αk of a k-dependent gap (None for a constant gap).
    """

    index: int
    weight: float
    energies: np.ndarray
    velocity: np.ndarray
    d2h: np.ndarray
    gap: np.ndarray
    max_residual: float = 0.0
    current_vertex: Optional[np.ndarray] = None
    current_d2: Optional[np.ndarray] = None
    gap_gradient: Optional[np.ndarray] = None

    @property
    def nb(self) -> int:
        return len(self.energies)

    @property
    def has_current(self) -> bool:
        return self.current_vertex is not None

    def flow_velocity(self) -> np.ndarray:
        """ħ(v + w): the current-corrected velocity vertex (MeV fm)."""
        return self.velocity + self.current_vertex

    def flow_d2h(self) -> np.ndarray:
        """⟨α|∂²h + ∂²T[−C_nn n_n]|α⟩ (MeV fm²)."""
        return self.d2h + self.current_d2

    def truncated(self, nkeep: int) -> "KPointData":
        """The same k-point restricted to its lowest ``nkeep`` bands."""
        cv = None if self.current_vertex is None else self.current_vertex[:, :nkeep, :nkeep]
        cd = None if self.current_d2 is None else self.current_d2[:, :, :nkeep]
        dg = None if self.gap_gradient is None else self.gap_gradient[:, :nkeep]
        return KPointData(self.index, self.weight, self.energies[:nkeep],
                          self.velocity[:, :nkeep, :nkeep], self.d2h[:, :, :nkeep],
                          self.gap[:nkeep], self.max_residual, cv, cd, dg)

    def to_arrays(self) -> dict:
        """{name: (array, units)} for a checkpoint (float64/complex128). The Hermitian
        vertex matrices are stored as their upper triangles (``*_upper``, row-major), half
        the size; :meth:`from_arrays` mirrors them back."""
        out = {"index": (self.index, "1"), "weight": (self.weight, "1"),
               "energies": (self.energies, "MeV"),
               "velocity_upper": (_pack_hermitian(self.velocity), "MeV fm"),
               "d2h": (self.d2h, "MeV fm^2"), "gap": (self.gap, "MeV"),
               "max_residual": (self.max_residual, "1")}
        if self.current_vertex is not None:
            out["current_vertex_upper"] = (_pack_hermitian(self.current_vertex), "MeV fm")
            out["current_d2"] = (self.current_d2, "MeV fm^2")
        if self.gap_gradient is not None:
            out["gap_gradient"] = (self.gap_gradient, "MeV fm")
        return out

    @classmethod
    def from_arrays(cls, data: dict) -> "KPointData":
        """Inverse of :meth:`to_arrays` (values as read back from the checkpoint)."""
        nb = len(data["energies"])
        cv = data.get("current_vertex_upper")
        cd = data.get("current_d2")
        dg = data.get("gap_gradient")
        return cls(index=int(data["index"]), weight=float(data["weight"]),
                   energies=np.asarray(data["energies"]),
                   velocity=_unpack_hermitian(data["velocity_upper"], nb),
                   d2h=np.asarray(data["d2h"]), gap=np.asarray(data["gap"]),
                   max_residual=float(data["max_residual"]),
                   current_vertex=None if cv is None else _unpack_hermitian(cv, nb),
                   current_d2=None if cd is None else np.asarray(cd),
                   gap_gradient=None if dg is None else np.asarray(dg))


def _pack_hermitian(M) -> np.ndarray:
    """Upper triangles (diagonal included) of (D, nb, nb) Hermitian matrices, (D, nb(nb+1)/2)."""
    M = np.asarray(M)
    iu = np.triu_indices(M.shape[-1])
    return M[:, iu[0], iu[1]]


def _unpack_hermitian(packed, nb: int) -> np.ndarray:
    """Inverse of :func:`_pack_hermitian`: the lower triangle is the conjugate of the upper."""
    packed = np.asarray(packed)
    iu = np.triu_indices(nb)
    out = np.zeros((packed.shape[0], nb, nb), dtype=complex)
    out[:, iu[0], iu[1]] = packed
    out[:, iu[1], iu[0]] = packed.conj()
    out[:, np.arange(nb), np.arange(nb)] = packed[:, iu[0] == iu[1]].real
    return out


def project(bv, mat) -> np.ndarray:
    """Ψᴴ A Ψ for a Hermitian A as a replicated (nb, nb) complex numpy array.

    Y = AΨ by ``BV.matMult``, then only the upper block triangle of ΨᴴY is formed
    (:func:`crustsolve.bands.eigensolvers.chebyshev.hermitian_projection`: half the flops of the full
    product), reduced to rank 0 of the BV's communicator and broadcast. Collective.
    """
    l, k = bv.getActiveColumns()
    Y = bv.duplicate()
    try:
        Y.setActiveColumns(l, k)
        bv.matMult(mat, Y)
        comm = bv.getComm().tompi4py()
        H = hermitian_projection(bv, Y, comm)
    finally:
        Y.destroy()
    out = np.ascontiguousarray(H) if comm.rank == 0 else np.empty((k - l, k - l), dtype=complex)
    comm.Bcast(out, root=0)
    return out


def block_diagonal_elements(bv, mat, labels) -> np.ndarray:
    """Ψᴴ A Ψ restricted to the blocks of equal ``labels`` (degenerate clusters), (nb, nb).

    Entries outside the blocks are zero. Cost O(N nb) instead of the O(N nb²) of
    :func:`project`: Y = AΨ by ``BV.matMult``, then local column products of the
    distributed dense arrays, summed over the BV's communicator.
    """
    nb = len(labels)
    # Y with bv's active columns: bv may hold more (a Chebyshev result keeps its buffer
    # columns, inactive, for the next k-point's warm start).
    Y = bv.duplicate()
    try:
        Y.setActiveColumns(*bv.getActiveColumns())
        bv.matMult(mat, Y)
        X = bv.getMat()
        Ym = Y.getMat()
        try:
            xl = X.getDenseArray()
            yl = Ym.getDenseArray()
            local = np.zeros((nb, nb), dtype=complex)
            start = 0
            while start < nb:
                stop = start + 1
                while stop < nb and labels[stop] == labels[start]:
                    stop += 1
                local[start:stop, start:stop] = xl[:, start:stop].conj().T @ yl[:, start:stop]
                start = stop
        finally:
            Y.restoreMat(Ym)
            bv.restoreMat(X)
    finally:
        Y.destroy()
    comm = bv.getComm().tompi4py()
    out = np.empty_like(local)
    comm.Allreduce(local, out, op=MPI.SUM)
    return out


def _is_zero(mat) -> bool:
    """True when a Mat has no nonzero entry (∂²h/∂k_d∂k_e, d ≠ e, of a star stencil)."""
    return mat.norm() == 0.0


def _rotate(mats, blocks):
    """Wᴴ M W for block-diagonal W given as [(start, stop, W_b)]; M (..., nb, nb), in place.

    Cost O(nb² Σ|b|) instead of the O(nb³) of a dense product.
    """
    for s0, s1, Wb in blocks:
        mats[..., s0:s1, :] = np.swapaxes(Wb.conj(), 0, 1) @ mats[..., s0:s1, :]
        mats[..., :, s0:s1] = mats[..., :, s0:s1] @ Wb
    return mats


def _band_diagonal_d2(hamiltonian_like, k, bv, labels, nb):
    """Blocks of ⟨α|∂_i∂_jX|β⟩ inside degenerate clusters (3, 3, nb, nb) for X = h or a vertex."""
    d2full = np.zeros((3, 3, nb, nb), dtype=complex)
    for d in range(3):
        for e in range(d, 3):
            d2A = hamiltonian_like.d2matrix(k, d, e)
            try:
                if d == e or not _is_zero(d2A):
                    d2full[d, e] = block_diagonal_elements(bv, d2A, labels)
            finally:
                d2A.destroy()
            d2full[e, d] = d2full[d, e]
    return d2full


def gap_gradient(eps, gapmat, vel, labels) -> np.ndarray:
    """∇_kΔ_αk (3, nb) MeV fm of band-diagonal gaps Δ_αk = ⟨αk|Δ̂|αk⟩ of a local pair field.

    Δ̂ is a multiplication operator, k-independent in the u-gauge, so first-order perturbation
    theory of the states gives ∂_iΔ_α = 2 Re Σ_{β∉D(α)} Δ_αβ ħv^i_βα/(ε_α − ε_β) over the
    computed bands (``gapmat`` = Ψᴴ Δ̂ Ψ and ``vel`` in the basis that diagonalises Δ̂ inside
    each degenerate cluster D; pairs inside a cluster do not contribute at first order).
    The omitted bands contribute through Δ_αβ, the Fourier components of Δ(r) at the
    momentum transfer, which fall off with ε_β: a smooth pair field needs no far bands.
    """
    de = eps[:, None] - eps[None, :]
    same = labels[:, None] == labels[None, :]
    inv = np.where(same, 0.0, 1.0 / np.where(same, 1.0, de))
    # Σ_β Δ_αβ v_βα/(ε_α − ε_β), for each direction
    return 2.0 * np.real(np.einsum("ab,iba,ab->ia", gapmat, vel, inv))


def kpoint_data(hamiltonian, k, result, *, index: int = 0, weight: float = 1.0,
                gap=0.0, tol=DEFAULT_DEGENERACY_TOL, current_vertex=None) -> KPointData:
    """Matrix elements of one solved k-point (collective on the Hamiltonian's communicator).

    ``result`` is an ``EigenResult`` with ``vectors`` (a BV). ``gap``: a per-k gap evaluator
    from :meth:`crustsolve.response.pairing.GapModel.prepare` (its ``band_gaps`` gives Δ_αk
    from the energies and Ψᴴ·mat·Ψ, and the rotations inside degenerate clusters, which
    every matrix element follows), or a number: a constant Δ (MeV).
    ``current_vertex``: a :class:`~crustsolve.bands.hamiltonian.KineticVertex` of the
    current-field coefficient −C_nn n_n, or None.
    """
    bv = result.vectors
    if bv is None:
        raise InputError("the eigensolver must return eigenvectors (want_vectors=True)")
    eps = np.asarray(result.eigenvalues, dtype=float)
    nb = len(eps)
    if bv.getActiveColumns()[1] != nb:
        raise InputError(f"eigenvector basis has {bv.getActiveColumns()[1]} columns, "
                         f"expected {nb}")
    vel = np.empty((3, nb, nb), dtype=complex)
    for d in range(3):
        dA = hamiltonian.dmatrix(k, d)
        try:
            vel[d] = project(bv, dA)
        finally:
            dA.destroy()
    # Only the band-diagonal ⟨α|∂²h|α⟩ enters the formulas; the blocks inside degenerate
    # clusters are kept so that a rotation of the cluster basis (field gap) stays exact.
    labels = degenerate_clusters(eps, tol)
    d2full = _band_diagonal_d2(hamiltonian, k, bv, labels, nb)
    cvel = cd2full = None
    if current_vertex is not None:
        cvel = np.empty((3, nb, nb), dtype=complex)
        for d in range(3):
            dW = current_vertex.dmatrix(k, d)
            try:
                cvel[d] = project(bv, dW)
            finally:
                dW.destroy()
        cd2full = _band_diagonal_d2(current_vertex, k, bv, labels, nb)
    if not hasattr(gap, "band_gaps"):
        gap = as_model(gap).prepare(hamiltonian, k)
    gaps, blocks, gapmat = gap.band_gaps(eps, lambda mat: project(bv, mat), tol)
    gaps = np.asarray(gaps, dtype=float)
    if blocks:
        if gapmat is not None:
            gapmat = _rotate(np.array(gapmat)[None], blocks)[0]
        vel = _rotate(vel, blocks)
        d2full = _rotate(d2full, blocks)    # block diagonal: stays block diagonal
        if cvel is not None:
            cvel = _rotate(cvel, blocks)
            cd2full = _rotate(cd2full, blocks)
    d2h = np.real(np.einsum("ijaa->ija", d2full))
    cd2 = None if cd2full is None else np.real(np.einsum("ijaa->ija", cd2full))
    maxres = float(np.max(result.residuals)) if len(result.residuals) else 0.0
    keep = nb
    if getattr(result, "cut_splits_cluster", False):
        # The eigensolver's cut falls inside a degenerate cluster: the kept part of that
        # cluster is an arbitrary subspace, so interband terms with it are basis dependent
        # (breaks T(Rk) = R T(k) Rᵀ at the 1e-6 level). Drop the whole top cluster.
        top = labels[-1]
        keep = int(np.count_nonzero(labels != top))
        if keep == 0:
            raise InputError("every computed band belongs to one degenerate cluster; increase nev")
    dgap = None if gapmat is None else gap_gradient(eps, gapmat, vel, labels)
    out = KPointData(index=int(index), weight=float(weight), energies=eps, velocity=vel,
                     d2h=d2h, gap=gaps, max_residual=maxres, current_vertex=cvel,
                     current_d2=cd2, gap_gradient=dgap)
    return out if keep == nb else out.truncated(keep)
