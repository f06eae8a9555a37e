"""Finite-difference coefficients of selectable even order for the staggered kinetic term.

All coefficients are *computed* (Fornberg's recursion, B. Fornberg, Math. Comp. 51, 699
(1988)), never tabulated, so any even order works. The discretisation they serve is the
staggered conservative form (``docs/numerics.md``, "Stencils", where the choice is explained):

* :func:`staggered_derivative` — D⁺, grid points → half points::

      (D⁺ f)_{j+1/2} = (1/h) Σ_l a_l f_{j+l},   l = -p+1 … p   (order 2p, 2p points)

  2nd order: a = (-1, 1); 4th order: (1, -27, 27, -1)/24 for l = -1, 0, 1, 2.
* :func:`half_point_interpolation` — the matching-order interpolation P, grid → half points::

      f_{j+1/2} ≈ Σ_l w_l f_{j+l},   same offsets l (2nd: (1, 1)/2; 4th: (-1, 9, 9, -1)/16).

  Used to put B (and the current field I) on half points, and as the operator P in the
  symmetric current term. *Why local polynomial and not Fourier interpolation:* it has the
  same order as D⁺ (so it does not limit the accuracy of the stencil), it is local (a
  user's non-smooth field does not spread Gibbs oscillations over the whole cell) and it
  needs no FFT. Positivity of B on the half points is checked by the Hamiltonian.
* :func:`centred_derivative` — the centred first derivative (offsets -p … p), provided
  for completeness; the current term does *not* use it (it is built from P and D⁺, see
  :mod:`crustsolve.bands.hamiltonian`).

Symbols (plane wave f_j = e^{iθj}, θ = q h):

* D⁺:  (i/h) σ(θ),  σ(θ) = 2 Σ_{l≥1} a_l sin((l - 1/2) θ)  (≈ θ),
* P:   π(θ) = 2 Σ_{l≥1} w_l cos((l - 1/2) θ)  (≈ 1),

so the free-gas FD dispersion of T = (D⁺)ᴴ B D⁺ is B σ(θ)²/h² per direction
(:func:`fd_dispersion`), which vanishes only at θ = 0 mod 2π: no checkerboard null modes.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError

#: Highest order accepted (the composite kinetic stencil has half-width order - 1).
MAX_ORDER = 16


def check_order(order) -> int:
    """Return ``order`` as int if it is an even integer in [2, MAX_ORDER]; else InputError."""
    try:
        p2 = int(order)
    except (TypeError, ValueError):
        raise InputError(f"order must be an even integer, got {order!r}") from None
    if p2 != order or p2 < 2 or p2 % 2 or p2 > MAX_ORDER:
        raise InputError(
            f"order = {order!r} is not allowed: the finite-difference order must be an even "
            f"integer between 2 and {MAX_ORDER}")
    return p2


def fornberg_weights(x0: float, nodes, max_deriv: int) -> np.ndarray:
    """Weights c[m, j] with f^{(m)}(x0) ≈ Σ_j c[m, j] f(nodes[j]) for m = 0 … max_deriv.

    Fornberg's recursion (Math. Comp. 51, 699 (1988), algorithm of Table 1); exact for
    polynomials of degree < len(nodes). Units: nodes in grid spacings, so a derivative
    of order m must still be divided by h**m.
    """
    x = np.asarray(nodes, dtype=float)
    npts = x.size
    c = np.zeros((max_deriv + 1, npts))
    c[0, 0] = 1.0
    c1 = 1.0
    c4 = x[0] - x0
    for i in range(1, npts):
        mn = min(i, max_deriv)
        c2 = 1.0
        c5 = c4
        c4 = x[i] - x0
        for j in range(i):
            c3 = x[i] - x[j]
            c2 *= c3
            if j == i - 1:
                for m in range(mn, 0, -1):
                    c[m, i] = c1 * (m * c[m - 1, i - 1] - c5 * c[m, i - 1]) / c2
                c[0, i] = -c1 * c5 * c[0, i - 1] / c2
            for m in range(mn, 0, -1):
                c[m, j] = (c4 * c[m, j] - m * c[m - 1, j]) / c3
            c[0, j] = c4 * c[0, j] / c3
        c1 = c2
    return c


def staggered_offsets(order) -> np.ndarray:
    """Grid offsets l = -p+1 … p used by the order-2p staggered stencils (half point j+1/2)."""
    p = check_order(order) // 2
    return np.arange(-p + 1, p + 1)


def staggered_derivative(order):
    """(offsets l, coefficients a_l) of the staggered first derivative D⁺ of even ``order``.

    (D⁺f)_{j+1/2} = (1/h) Σ_l a_l f_{j+l}; error O(h^order). Antisymmetric: a_{1-l} = -a_l.
    """
    offs = staggered_offsets(order)
    w = fornberg_weights(0.0, offs - 0.5, 1)[1]
    return offs, w


def half_point_interpolation(order):
    """(offsets l, weights w_l) of the order-``order`` interpolation to the half point j+1/2.

    f_{j+1/2} ≈ Σ_l w_l f_{j+l}; symmetric (w_{1-l} = w_l), Σ w_l = 1, error O(h^order).
    """
    offs = staggered_offsets(order)
    w = fornberg_weights(0.0, offs - 0.5, 0)[0]
    return offs, w


def centred_derivative(order):
    """(offsets m = -p … p, coefficients) of the centred first derivative of even ``order``.

    (Df)_j = (1/h) Σ_m c_m f_{j+m}. Not used by the Hamiltonian (its symbol vanishes at the
    Nyquist mode, the reason for the staggered form); provided for tests and post-processing.
    """
    p = check_order(order) // 2
    offs = np.arange(-p, p + 1)
    return offs, fornberg_weights(0.0, offs, 1)[1]


def derivative_symbol(order, theta):
    """σ(θ) with D⁺ e^{iθj} = (i/h) σ(θ) e^{iθ(j+1/2)}; σ(θ) = θ + O(θ^{order+1})."""
    offs, a = staggered_derivative(order)
    theta = np.asarray(theta, dtype=float)
    pos = offs >= 1
    return 2.0 * np.sum(a[pos] * np.sin(np.multiply.outer(theta, offs[pos] - 0.5)), axis=-1)


def interpolation_symbol(order, theta):
    """π(θ) with P e^{iθj} = π(θ) e^{iθ(j+1/2)}; π(θ) = 1 + O(θ^order)."""
    offs, w = half_point_interpolation(order)
    theta = np.asarray(theta, dtype=float)
    pos = offs >= 1
    return 2.0 * np.sum(w[pos] * np.cos(np.multiply.outer(theta, offs[pos] - 0.5)), axis=-1)


def fd_dispersion(q, h: float, order, B: float) -> np.ndarray:
    """Free-gas eigenvalue (MeV) of the order-``order`` staggered kinetic term for wave vector q.

    E(q) = (B/h²) Σ_d σ(q_d h)², q in fm⁻¹ (last axis = Cartesian component), h in fm,
    B = ħ²/2m⊕ in MeV fm². Exact for the discrete matrix; → B|q|² as h → 0 with error O(h^order).
    """
    q = np.asarray(q, dtype=float)
    return B / h**2 * np.sum(derivative_symbol(order, q * h) ** 2, axis=-1)
