"""Radial Taylor jets: a function together with its first four r-derivatives.

The 4th-order ETF densities (:mod:`.etf`) need derivatives up to order 4 of
the nucleon densities n_q(r) and of the effective-mass ratios f_q(r) = B_q/(ħ²/2M_q), which
are nonlinear functions of n_n, n_p. Carrying every quantity as a jet ``(F, F', F'', F''', F'''')``
with exact product (Leibniz) and composition (Faà di Bruno) rules gives those derivatives
to machine precision without finite differences.

A jet is a numpy array of shape (5, ...): axis 0 is the derivative order 0..4.
"""
from __future__ import annotations

import numpy as np

#: Binomial coefficients C(k, j) for k ≤ 4 (Leibniz rule).
_BINOM = ((1,), (1, 1), (1, 2, 1), (1, 3, 3, 1), (1, 4, 6, 4, 1))


def constant(value, like) -> np.ndarray:
    """Jet of a constant with the shape of jet ``like``."""
    out = np.zeros_like(like, dtype=float)
    out[0] = value
    return out


def mul(a, b) -> np.ndarray:
    """Jet of the product a·b (Leibniz rule)."""
    out = np.empty(np.broadcast_shapes(np.shape(a), np.shape(b)))
    for k in range(5):
        out[k] = sum(_BINOM[k][j] * a[j] * b[k - j] for j in range(k + 1))
    return out


def compose(phi, a) -> np.ndarray:
    """Jet of φ(a(r)) given ``phi`` = (φ, φ', φ'', φ''', φ'''') evaluated at a(r) (Faà di Bruno)."""
    p0, p1, p2, p3, p4 = phi
    a1, a2, a3, a4 = a[1], a[2], a[3], a[4]
    return np.array([
        p0 * np.ones_like(a1),
        p1 * a1,
        p2 * a1**2 + p1 * a2,
        p3 * a1**3 + 3.0 * p2 * a1 * a2 + p1 * a3,
        p4 * a1**4 + 6.0 * p3 * a1**2 * a2 + p2 * (3.0 * a2**2 + 4.0 * a1 * a3) + p1 * a4,
    ])


def power(a, p: float) -> np.ndarray:
    """Jet of a**p for a > 0."""
    x = a[0]
    phi = [x**p]
    c = 1.0
    for k in range(1, 5):
        c *= p - (k - 1)
        phi.append(c * x ** (p - k))
    return compose(phi, a)


def reciprocal(a) -> np.ndarray:
    """Jet of 1/a."""
    return power(a, -1.0)
