"""Linear tetrahedron method with Blöchl corrections for Fermi-surface integrals (pure numpy).

P. E. Blöchl, O. Jepsen and O. K. Andersen, Phys. Rev. B 49, 16223 (1994), Appendix B
(occupation weights w_i of the four corners of a tetrahedron for a linearly interpolated band,
and the correction Δw_i = (1/40) D_T(μ) Σ_j (ε_j − ε_i)). The weights used here were checked
independently against Monte-Carlo integration of linear functions over a tetrahedron
(``tests/response/test_tetrahedra.py``).

Fermi-surface integrals ∫_BZ δ(ε_α − μ) F_α are obtained as ∂/∂μ of the corrected occupation
integrals ∫ θ(μ − ε_α) F_α (central difference in μ; the weights are piecewise polynomials).
Bands are taken in energy order at every corner (band crossings are interpolated across,
the usual limitation of the method).

Mesh: the full n×n×n Monkhorst–Pack mesh of a :class:`~crustsolve.bands.kmesh.KMesh`, every
cube split into 6 tetrahedra along its main diagonal; each tetrahedron carries the BZ fraction
1/(6 n³).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from ..errors import InputError

# Cube corners (bit 0: +x, bit 1: +y, bit 2: +z); 6 tetrahedra sharing the 0–7 diagonal.
_TETS = np.array([(0, 1, 3, 7), (0, 1, 5, 7), (0, 2, 3, 7), (0, 2, 6, 7), (0, 4, 5, 7),
                  (0, 4, 6, 7)])
_CORNERS = np.array([((c >> 0) & 1, (c >> 1) & 1, (c >> 2) & 1) for c in range(8)])


def mesh_tetrahedra(kmesh) -> np.ndarray:
    """(6 n³, 4) indices into ``kmesh.full_points`` of the corners of every tetrahedron."""
    n = int(getattr(kmesh, "n", 0))
    if n < 1:
        raise InputError("the tetrahedron method needs a Monkhorst–Pack mesh (KMesh with n ≥ 1)")
    scale = 2.0 * math.pi / kmesh.a / (2 * n)
    J = np.rint(np.asarray(kmesh.full_points) / scale).astype(np.int64)
    s = 1 if kmesh.shift else 0
    g = np.mod((J - s) // 2, n)                       # grid coordinates 0 … n−1
    idx = np.full((n, n, n), -1, dtype=np.int64)
    idx[g[:, 0], g[:, 1], g[:, 2]] = np.arange(len(J))
    if np.any(idx < 0):
        raise InputError("the k mesh is not a complete n×n×n mesh")
    base = np.indices((n, n, n)).reshape(3, -1).T     # (n³, 3)
    corners = np.mod(base[:, None, :] + _CORNERS[None, :, :], n)   # (n³, 8, 3)
    cidx = idx[corners[..., 0], corners[..., 1], corners[..., 2]]  # (n³, 8)
    return cidx[:, _TETS].reshape(-1, 4)


def occupation_weights(e, mu, blochl=True):
    """Corner weights (…, 4) of ∫_T θ(μ − ε) f for linear ε, f; tetra volume normalised to 1.

    ``e`` (…, 4) corner energies in any order. Returns weights in the same corner order;
    Σ_i w_i f_i is the integral over the tetrahedron divided by its volume.
    """
    with np.errstate(all="ignore"):     # branches not selected by np.where may overflow
        return _occupation_weights(np.asarray(e, dtype=float), mu, blochl)


def _occupation_weights(e, mu, blochl):
    order = np.argsort(e, axis=-1)
    es = np.take_along_axis(e, order, axis=-1)
    e1, e2, e3, e4 = (es[..., i] for i in range(4))
    tiny = 1e-300
    e21, e31, e41 = e2 - e1, e3 - e1, e4 - e1
    e32, e42, e43 = e3 - e2, e4 - e2, e4 - e3
    sd = lambda x: np.where(np.abs(x) > tiny, x, tiny)  # noqa: E731 - safe divisor
    w = np.zeros(es.shape)
    D = np.zeros(es.shape[:-1])
    x = mu - e1
    # e1 < μ ≤ e2
    c1 = (mu > e1) & (mu <= e2)
    C = 0.25 * x**3 / sd(e21 * e31 * e41)
    w1 = np.stack([C * (4 - x * (1 / sd(e21) + 1 / sd(e31) + 1 / sd(e41))),
                   C * x / sd(e21), C * x / sd(e31), C * x / sd(e41)], axis=-1)
    w = np.where(c1[..., None], w1, w)
    D = np.where(c1, 3 * x**2 / sd(e21 * e31 * e41), D)
    # e2 < μ ≤ e3
    c2 = (mu > e2) & (mu <= e3)
    y = mu - e2
    C1 = 0.25 * x**2 / sd(e41 * e31)
    C2 = 0.25 * x * y * (e3 - mu) / sd(e41 * e32 * e31)
    C3 = 0.25 * y**2 * (e4 - mu) / sd(e42 * e32 * e41)
    w2 = np.stack([C1 + (C1 + C2) * (e3 - mu) / sd(e31) + (C1 + C2 + C3) * (e4 - mu) / sd(e41),
                   C1 + C2 + C3 + (C2 + C3) * (e3 - mu) / sd(e32) + C3 * (e4 - mu) / sd(e42),
                   (C1 + C2) * x / sd(e31) + (C2 + C3) * y / sd(e32),
                   (C1 + C2 + C3) * x / sd(e41) + C3 * y / sd(e42)], axis=-1)
    w = np.where(c2[..., None], w2, w)
    D = np.where(c2, 3 / sd(e31 * e41) * (e21 + 2 * y - (e31 + e42) * y**2 / sd(e32 * e42)), D)
    # e3 < μ ≤ e4
    c3 = (mu > e3) & (mu <= e4)
    z = e4 - mu
    C = 0.25 * z**3 / sd(e41 * e42 * e43)
    w3 = np.stack([0.25 - C * z / sd(e41), 0.25 - C * z / sd(e42), 0.25 - C * z / sd(e43),
                   0.25 - C * (4 - z * (1 / sd(e41) + 1 / sd(e42) + 1 / sd(e43)))], axis=-1)
    w = np.where(c3[..., None], w3, w)
    D = np.where(c3, 3 * z**2 / sd(e41 * e42 * e43), D)
    # μ > e4
    w = np.where((mu > e4)[..., None], 0.25, w)
    if blochl:
        # Δw_i = (1/40) D_T(μ) Σ_j (ε_j − ε_i) (Blöchl et al. 1994, eq. (22)); D_T per unit volume.
        w = w + D[..., None] / 40.0 * (es.sum(-1, keepdims=True) - 4 * es)
    out = np.empty_like(w)
    np.put_along_axis(out, order, w, axis=-1)
    return out


class TetrahedronIntegrator:
    """BZ integrals on the full mesh of ``kmesh`` from per-irreducible-point band data.

    ``energies`` (nk, nb) at the mesh's (irreducible) points; values unfolded with
    ``kmesh.full_to_irr``. Tensors F (nk, nb, 3, 3) are unfolded as R F Rᵀ.
    """

    def __init__(self, kmesh, energies):
        self.tets = mesh_tetrahedra(kmesh)
        self.full_to_irr = np.asarray(kmesh.full_to_irr)
        self.ops = np.asarray(kmesh.operations, dtype=float)[np.asarray(kmesh.full_ops)]
        self.E = np.asarray(energies, dtype=float)[self.full_to_irr]      # (nfull, nb)
        self.ntet = len(self.tets)

    def _corner_e(self):
        return self.E[self.tets]                                             # (ntet, 4, nb)

    def density(self, mu):
        """(2/1) × BZ fraction occupied, summed over bands: n V for spin-½ (multiply by 1/V)."""
        e = np.moveaxis(self._corner_e(), 1, -1)                             # (ntet, nb, 4)
        return 2.0 * occupation_weights(e, mu).sum() / self.ntet

    def solve_mu(self, nV):
        lo, hi = float(self.E.min()) - 1.0, float(self.E.max())
        if not (self.density(lo) < nV < self.density(hi)):
            raise InputError("cannot bracket μ for the tetrahedron level (too few bands?)")
        return brentq(lambda m: self.density(m) - nV, lo, hi, xtol=1e-12, rtol=1e-15)

    def fermi_surface(self, mu, F_irr, dmu=None):
        """Σ_α ∫_BZ (BZ fraction) δ(ε_α − μ) F_α, F_irr (nk, nb, 3, 3) → (3, 3).

        ∂/∂μ of the Blöchl-corrected occupation integral (central difference, step dmu MeV,
        default 1e-5 × the energy range of the bands).
        """
        F = _unfold(F_irr, self.full_to_irr, self.ops)
        Fc = F[self.tets]                                                    # (ntet, 4, nb, 3, 3)
        e = np.moveaxis(self._corner_e(), 1, -1)                             # (ntet, nb, 4)
        if dmu is None:
            # Scale from real bands only (padding energies ≥ 1e29 MeV mark absent bands).
            real = self.E[self.E < 1e29]
            dmu = 1e-5 * max(1.0, float(np.ptp(real)) if real.size else 1.0)
        wp = occupation_weights(e, mu + dmu)
        wm = occupation_weights(e, mu - dmu)
        wd = (wp - wm) / (2 * dmu)                                           # (ntet, nb, 4)
        return np.einsum("tbc,tcbij->ij", wd, Fc) / self.ntet


def _unfold(F_irr, full_to_irr, ops):
    """R_f F(k_irr(f)) R_fᵀ for every full point (nfull, nb, 3, 3)."""
    F = np.asarray(F_irr, dtype=float)[full_to_irr]
    return np.einsum("fia,fbac,fjc->fbij", ops, F, ops)
