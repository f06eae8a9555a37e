"""Local (inhomogeneous) Skyrme/BSk energy density and mean fields beyond uniform matter.

:mod:`crustsolve.functional` supplies the bulk terms (C^n_t, C^τ_t, B_q). This module adds,
in the form of Chamel, Goriely & Pearson, PRC 80, 065804 (2009), as coded in
``mgeshelley/etfFinal`` ``eval_skyrme_energy_density`` (expressions transcribed; formulas in
``docs/physics/crust-composition.md``, "Energy of a cell"):

* the gradient terms (t1, t2, t4, t5 with their n^β, n^γ dependences),
* the spin–orbit term Σ_q J_q·W_q with W_q = (W0/2)∇(n + n_q) (no J² terms for BSk/SLy4),
* the central field U_q = δE/δn_q with the ∇n, Δn and ∇·J contributions.

Its uniform limit is tested against :func:`crustsolve.functional.bulk_energy_density` and
:func:`crustsolve.functional.mean_fields`. t₂ and t₂x₂ enter separately through
t₂(2+x₂) = 2t₂ + t₂x₂, t₂(2x₂+1) = 2t₂x₂ + t₂ (BSk: t₂ = 0, only t₂x₂).

Gradients are arrays with a leading component axis (shape (d, ...)); d = 1 for the radial
direction of a spherical cell, d = 3 on a 3D grid. Units: n fm⁻³, τ fm⁻⁵, ∇n fm⁻⁴, Δn fm⁻⁵,
J fm⁻⁴, energies MeV fm⁻³, fields MeV.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..functional import effective_mass_fields, get_functional


def spin_orbit_strength(functional) -> float:
    """W0 (MeV fm⁵) of the functional; InputError if it is not known (e.g. BSk31 here)."""
    p = get_functional(functional)
    if not np.isfinite(p.W0):
        raise InputError(f"the spin-orbit strength W0 of {p.name} is not known "
                         f"(W0 = {p.W0!r}); the ETF crust functional needs it")
    return float(p.W0)


def _dot(a, b):
    return np.sum(np.asarray(a) * np.asarray(b), axis=0)


def _t2(p):
    """(t2(2+x2), t2(2x2+1), t2(1+x2/2), t2(1/2+x2)) from t2 and the product t2x2."""
    return (2.0 * p.t2 + p.t2x2, 2.0 * p.t2x2 + p.t2, p.t2 + 0.5 * p.t2x2, 0.5 * p.t2 + p.t2x2)


def energy_density(functional, n_n, n_p, tau_n, tau_p, grad_n, grad_p, J_n=None, J_p=None):
    """Skyrme energy density E_Sky (MeV fm⁻³, rest mass excluded).

    ``grad_q`` = ∇n_q and ``J_q`` (spin-current vector) carry a leading component axis.
    J_q = None drops the spin–orbit energy.
    """
    p = get_functional(functional)
    t2a, t2b, _, _ = _t2(p)
    n = n_n + n_p
    grad = grad_n + grad_p
    g2 = _dot(grad, grad)
    gq2 = _dot(grad_n, grad_n) + _dot(grad_p, grad_p)
    ntau = n * (tau_n + tau_p)
    nqtq = n_n * tau_n + n_p * tau_p
    nq2 = n_n**2 + n_p**2
    nb, ng = n**p.beta, n**p.gamma
    e = (p.hbar2_2m_n * tau_n + p.hbar2_2m_p * tau_p
         + 0.25 * p.t0 * ((2.0 + p.x0) * n**2 - (2.0 * p.x0 + 1.0) * nq2)
         + p.t3 / 24.0 * n**p.alpha * ((2.0 + p.x3) * n**2 - (2.0 * p.x3 + 1.0) * nq2)
         + 0.125 * (p.t1 * (2.0 + p.x1) + t2a) * ntau
         + 0.125 * (t2b - p.t1 * (2.0 * p.x1 + 1.0)) * nqtq
         + (3.0 * p.t1 * (2.0 + p.x1) - t2a) / 32.0 * g2
         - (3.0 * p.t1 * (2.0 * p.x1 + 1.0) + t2b) / 32.0 * gq2)
    if p.t4:
        nngq = _dot(grad, n_n * grad_n + n_p * grad_p)
        e = e + 0.25 * p.t4 * nb * ((1.0 + 0.5 * p.x4) * (ntau + 0.75 * g2)
                                    - (0.5 + p.x4) * (nqtq + 0.75 * gq2))
        e = e + p.beta / 8.0 * p.t4 * nb / n * ((1.0 + 0.5 * p.x4) * n * g2
                                                - (0.5 + p.x4) * nngq)
    if p.t5:
        e = e + 0.25 * p.t5 * ng * ((1.0 + 0.5 * p.x5) * (ntau - 0.25 * g2)
                                    + (0.5 + p.x5) * (nqtq - 0.25 * gq2))
    if J_n is not None and (np.any(J_n) or np.any(J_p)):
        e = e + 0.5 * spin_orbit_strength(p) * (_dot(J_n, 2.0 * grad_n + grad_p) + _dot(J_p, 2.0 * grad_p + grad_n))
    return e


def effective_mass_ratios(functional, n_n, n_p):
    """(f_n, f_p) with f_q = M_q/M*_q = B_q/(ħ²/2M_q)."""
    p = get_functional(functional)
    B_n, B_p = effective_mass_fields(p, n_n, n_p)
    return B_n / p.hbar2_2m_n, B_p / p.hbar2_2m_p


def mean_field(functional, species, n_n, n_p, tau_n, tau_p, grad_n, grad_p, lap_n, lap_p,
               divJ_n=0.0, divJ_p=0.0):
    """Central field U_q = δE/δn_q at fixed τ, J (MeV): the Euler–Lagrange derivative of
    :func:`energy_density`.

    ``species`` is "n" or "p"; Coulomb is not included (add it for protons). Tested against a
    finite-difference functional derivative of the discretised energy and, in the uniform
    limit, against :func:`crustsolve.functional.mean_fields`.
    """
    p = get_functional(functional)
    _, _, t2c, t2d = _t2(p)
    if species == "n":
        nq, tq, gq, lq, dJq = n_n, tau_n, grad_n, lap_n, divJ_n
    elif species == "p":
        nq, tq, gq, lq, dJq = n_p, tau_p, grad_p, lap_p, divJ_p
    else:
        raise ValueError(f"species must be 'n' or 'p', got {species!r}")
    n = n_n + n_p
    tau = tau_n + tau_p
    grad = grad_n + grad_p
    lap = lap_n + lap_p
    dJ = divJ_n + divJ_p
    g2 = _dot(grad, grad)
    a, b, c = p.alpha, p.beta, p.gamma
    u = (p.t0 * ((1.0 + 0.5 * p.x0) * n - (0.5 + p.x0) * nq)
         + 0.25 * p.t1 * ((1.0 + 0.5 * p.x1) * (tau - 1.5 * lap) - (0.5 + p.x1) * (tq - 1.5 * lq))
         + 0.25 * (t2c * (tau + 0.5 * lap) + t2d * (tq + 0.5 * lq))
         + p.t3 / 12.0 * ((1.0 + 0.5 * p.x3) * (2.0 + a) * n ** (a + 1.0)
                          - (0.5 + p.x3) * (2.0 * n**a * nq + a * n ** (a - 1.0) * (n_n**2 + n_p**2))))
    if p.t4:
        sq = (_dot(grad_n, grad_n) + _dot(grad_p, grad_p)
              + 4.0 * (n_n * tau_n + n_p * tau_p) - 2.0 * (n_n * lap_n + n_p * lap_p))
        u = u + p.t4 / 8.0 * (
            (1.0 + 0.5 * p.x4) * n ** (b - 1.0) * (2.0 * (1.0 + b) * n * tau
                                                   - (2.0 * b + 3.0) * (0.5 * b * g2 + n * lap))
            + (0.5 + p.x4) * n ** (b - 2.0) * (3.0 * b * n * _dot(grad, gq) + 3.0 * n**2 * lq
                                               - 2.0 * n**2 * tq + b * (b - 1.0) * nq * g2
                                               + b * n * nq * lap - 0.5 * b * n * sq))
    if p.t5:
        s5 = (n_n * tau_n + n_p * tau_p) - 0.25 * (_dot(grad_n, grad_n) + _dot(grad_p, grad_p))
        u = u + p.t5 / 4.0 * n ** (c - 1.0) * (
            (1.0 + 0.5 * p.x5) * ((1.0 + c) * n * tau + 0.25 * c * g2 + 0.5 * n * lap)
            + (0.5 + p.x5) * (n * tq + 0.5 * n * lq + c * s5 + 0.5 * c * _dot(grad, gq)))
    if np.any(dJ) or np.any(dJq):
        u = u - 0.5 * spin_orbit_strength(p) * (dJ + dJq)
    return u
