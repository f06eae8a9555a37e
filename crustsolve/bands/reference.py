"""Independent serial numpy references for the Bloch Hamiltonian (tests only, small grids).

Different routes from :mod:`crustsolve.bands.hamiltonian`, so that agreement is a check:

* stencil weights from a Vandermonde solve (not Fornberg's recursion);
* h(k) applied *matrix-free* to (n, n, n, …) arrays as the composition
  Σ_d D_d⁺(k)ᴴ B_½ D_d⁺(k) - (i/2)[P_d(k)ᴴ I_½ D_d⁺(k) - D_d⁺(k)ᴴ I_½ P_d(k)] + U,
  with the u-gauge phase e^{ik(l-½)h} on each factor (not on the composite entries);
* ∂h/∂k and ∂²h/∂k² by the product rule on these factors (not entry-wise displacements);
* the 1D cosine (Mathieu) spectrum by a plane-wave dense solve, for the separable test.

Dense matrices are returned in the natural order ``array.ravel()`` of [ix, iy, iz] arrays.
"""
from __future__ import annotations

from math import comb

import numpy as np


def vandermonde_weights(nodes, deriv: int) -> np.ndarray:
    """Weights c_j with f^{(deriv)}(0) ≈ Σ_j c_j f(nodes_j), by solving Σ_j c_j x_j^m = m! δ_{m,deriv}."""
    x = np.asarray(nodes, dtype=float)
    m = np.arange(x.size)
    V = x[None, :] ** m[:, None]
    rhs = np.zeros(x.size)
    rhs[deriv] = float(np.prod(np.arange(1, deriv + 1)))
    return np.linalg.solve(V, rhs)


class ReferenceHamiltonian:
    """Matrix-free numpy h(k) of order ``order`` for replicated fields (U, B, I, a)."""

    def __init__(self, U, B, a, order, I=None):  # noqa: E741
        self.U = np.asarray(U, dtype=float)
        self.B = np.asarray(B, dtype=float)
        self.I = None if I is None else np.asarray(I, dtype=float)
        self.n = self.U.shape[0]
        self.h = a / self.n
        p = order // 2
        self.l = np.arange(-p + 1, p + 1)
        self.a_l = vandermonde_weights(self.l - 0.5, 1)   # D⁺ (times 1/h)
        self.w_l = vandermonde_weights(self.l - 0.5, 0)   # P
        self.Bh = [self._interp(self.B, d) for d in range(3)]
        self.Ih = None if self.I is None else [self._interp(self.I[d], d) for d in range(3)]

    @classmethod
    def from_fields(cls, fields, order):
        return cls(fields.U, fields.B, fields.a, order, I=fields.I)

    def _interp(self, f, d):
        return sum(w * np.roll(f, -l_, axis=d) for l_, w in zip(self.l, self.w_l))

    # factors: grid → half points along d, with u-gauge phases and m k-derivatives
    def _mult(self, c, d, k, m):
        x = (self.l - 0.5) * self.h
        return c * np.exp(1j * k[d] * x) * (1j * x) ** m

    def _fwd(self, u, c, d, k, m):
        out = 0
        for l_, cl in zip(self.l, self._mult(c, d, k, m)):
            out = out + cl * np.roll(u, -l_, axis=d)
        return out

    def _adj(self, g, c, d, k, m):
        out = 0
        for l_, cl in zip(self.l, np.conj(self._mult(c, d, k, m))):
            out = out + cl * np.roll(g, l_, axis=d)
        return out

    def _field(self, f, u):
        return f.reshape(f.shape + (1,) * (u.ndim - 3)) * u

    def apply(self, u, k, deriv=()):
        """∂^{deriv}h(k) applied to u of shape (n, n, n) or (n, n, n, m).

        ``deriv`` is () for h, (d,) for ∂h/∂k_d, (d, e) for ∂²h/∂k_d∂k_e.
        """
        k = np.asarray(k, dtype=float)
        order = len(deriv)
        out = np.zeros(u.shape, dtype=complex)
        if order == 0:
            out += self._field(self.U, u)
        D, P = self.a_l / self.h, self.w_l
        for d in range(3):
            if any(e != d for e in deriv):
                continue   # a direction-d term depends on k_d only
            for ml in range(order + 1):
                mr = order - ml
                fac = comb(order, ml)
                out += fac * self._adj(self._field(self.Bh[d], self._fwd(u, D, d, k, mr)), D, d, k, ml)
                if self.Ih is not None:
                    t1 = self._adj(self._field(self.Ih[d], self._fwd(u, D, d, k, mr)), P, d, k, ml)
                    t2 = self._adj(self._field(self.Ih[d], self._fwd(u, P, d, k, mr)), D, d, k, ml)
                    out += fac * (-0.5j) * (t1 - t2)
        return out

    def dense(self, k, deriv=()) -> np.ndarray:
        """Dense (n³, n³) matrix of ∂^{deriv}h(k), natural C-order of [ix, iy, iz]."""
        N = self.n ** 3
        eye = np.eye(N, dtype=complex).reshape((self.n,) * 3 + (N,))
        return self.apply(eye, k, deriv).reshape(N, N)


def cosine_1d_bands(V: float, a: float, B: float, k: float, nG: int = 81) -> np.ndarray:
    """Sorted 1D spectrum (MeV) of -B d²/dx² + V cos(2πx/a) at Bloch k (fm⁻¹).

    Plane-wave basis e^{i(k + mG)x}, |m| ≤ nG//2, G = 2π/a: H = B(k + mG)² δ_mm' + V/2 on
    |m - m'| = 1. Converged to round-off for the low bands with the default cutoff.
    """
    m = np.arange(-(nG // 2), nG // 2 + 1)
    G = 2 * np.pi / a
    H = np.diag(B * (k + m * G) ** 2) + np.diag(np.full(m.size - 1, V / 2), 1) \
        + np.diag(np.full(m.size - 1, V / 2), -1)
    return np.linalg.eigvalsh(H)


def separable_spectrum(ex, ey, ez, count: int) -> np.ndarray:
    """The ``count`` lowest sums ex_i + ey_j + ez_l of three sorted 1D spectra."""
    m = min(len(ex), len(ey), len(ez), count)
    s = ex[:m, None, None] + ey[None, :m, None] + ez[None, None, :m]
    return np.sort(s.ravel())[:count]
