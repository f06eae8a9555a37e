"""Extended Thomas–Fermi kinetic and spin-current densities in spherical symmetry.

Orders 0, 2 and 4 with position-dependent effective mass and spin–orbit: Brack, Guet &
Håkansson, Phys. Rep. 123, 275 (1985), in the local form of the public code
``mgeshelley/etfFinal`` (``calc_tau_4_no_spin``, ``calc_tau_4_so``, ``calc_J_4_q``), whose
expressions were transcribed (``docs/physics/crust-composition.md``, "ETF kinetic and
spin-current densities"). The local 4th-order form is used (it is what U_q needs); its
equality with the integrated form (partial integration) is tested in
``tests/crust/test_etf.py``.

Notation per species q: n ≡ n_q, f ≡ f_q = M_q/M*_q, h ≡ ħ²/2M_q, K = (3π²)^{-2/3},
A ≡ n + n_q (so W_q = (W0/2) A' r̂), primes = d/dr. Inputs are jets (:mod:`.jets`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..functional import get_functional
from . import jets
from .skyrme_local import _t2

_K = (3.0 * np.pi**2) ** (-2.0 / 3.0)
_TF = 0.6 * (3.0 * np.pi**2) ** (2.0 / 3.0)


def effective_mass_ratio_jets(functional, nn, np_):
    """Jets of f_n, f_p (M_q/M*_q) from the density jets (effective mass of CGP 2009 App. A)."""
    p = get_functional(functional)
    _, _, t2c, t2d = _t2(p)
    n = nn + np_
    nb = jets.power(n, p.beta) if p.t4 else None
    ng = jets.power(n, p.gamma) if p.t5 else None
    out = []
    for nq, h in ((nn, p.hbar2_2m_n), (np_, p.hbar2_2m_p)):
        b = 0.25 * p.t1 * ((1.0 + 0.5 * p.x1) * n - (0.5 + p.x1) * nq) + 0.25 * (t2c * n + t2d * nq)
        if p.t4:
            b = b + 0.25 * p.t4 * jets.mul(nb, (1.0 + 0.5 * p.x4) * n - (0.5 + p.x4) * nq)
        if p.t5:
            b = b + 0.25 * p.t5 * jets.mul(ng, (1.0 + 0.5 * p.x5) * n + (0.5 + p.x5) * nq)
        f = b / h
        f[0] += 1.0
        out.append(f)
    return out[0], out[1]


@dataclass(frozen=True)
class RadialETF:
    """ETF densities of one species on a radial grid: τ (fm⁻⁵) by order and J_r (fm⁻⁴)."""

    tau0: np.ndarray
    tau2: np.ndarray
    tau4: np.ndarray
    J2: np.ndarray
    J4: np.ndarray

    def tau(self, order: int = 4) -> np.ndarray:
        return self.tau0 + (self.tau2 if order >= 2 else 0.0) + (self.tau4 if order >= 4 else 0.0)

    def J(self, order: int = 4) -> np.ndarray:
        return (self.J2 if order >= 2 else 0.0 * self.J2) + (self.J4 if order >= 4 else 0.0)


def radial_etf(r, nq, fq, Aq, h: float, W0: float, *, tiny: float = 1e-40) -> RadialETF:
    """τ_q and J_q (radial component) at radii ``r`` from the jets of n_q, f_q and A_q = n + n_q.

    Where n_q < ``tiny`` (a proton profile with no background, beyond its cut-off) all
    gradient corrections are set to 0; they vanish there analytically (n^{1/3}·(n'/n)^k → 0).
    """
    ok = nq[0] > tiny
    n = np.where(ok, nq[0], 1.0)
    n1, n2, n3, n4 = nq[1], nq[2], nq[3], nq[4]
    f, f1, f2, f3, f4 = fq
    A1, A2, A3 = Aq[1], Aq[2], Aq[3]
    W = 0.5 * W0 * A1
    lap_n = n2 + 2.0 * n1 / r
    lap_f = f2 + 2.0 * f1 / r
    tau0 = _TF * np.where(ok, nq[0], 0.0) ** (5.0 / 3.0)
    tau2 = (n1**2 / (36.0 * n) + lap_n / 3.0 + f1 * n1 / (6.0 * f) + n * lap_f / (6.0 * f)
            - n * f1**2 / (12.0 * f**2) + n * W**2 / (2.0 * h**2 * f**2))
    J2 = -n * W / (h * f)
    c = _K * n ** (1.0 / 3.0) / 4320.0
    t4a = c * (24.0 / n * (n4 + 4.0 * n3 / r)
               - 8.0 / n**2 * (11.0 * n3 * n1 + 7.0 * n2**2 + 36.0 * n2 * n1 / r - (n1 / r) ** 2)
               + (8.0 / 3.0) / n**3 * (81.0 * n2 * n1**2 + 70.0 * n1**3 / r)
               - 96.0 * (n1 / n) ** 4)
    t4b = c * (-36.0 / f * (f4 + 4.0 * f3 / r)
               + 18.0 / f**2 * (4.0 * f3 * f1 + 3.0 * f2**2 + 4.0 * f2 * f1 / r - 4.0 * (f1 / r) ** 2)
               - 144.0 * f2 * f1**2 / f**3 + 54.0 * (f1 / f) ** 4)
    t4c = c * (12.0 / (f * n) * (3.0 * f1 * n3 + 2.0 * f2 * n2 - 2.0 * f3 * n1 + 6.0 * f1 * n2 / r
                                 - 4.0 * f2 * n1 / r + 2.0 * f1 * n1 / r**2)
               + 12.0 / (n * f**2) * (f1 * f2 * n1 - 2.0 * n2 * f1**2 - 2.0 * n1 * f1**2 / r)
               - 4.0 / (f * n**2) * (11.0 * f2 * n1**2 + 32.0 * f1 * n1 * n2 + 26.0 * f1 * n1**2 / r)
               + 30.0 * (f1 * n1 / (f * n)) ** 2 + (260.0 / 3.0) * f1 * (n1 / n) ** 3 / f)
    wh = W0 / h
    t4so = (_K * wh**2 / 16.0 * n ** (1.0 / 3.0) / f**2
            * (0.5 * (2.0 * A1 * A3 + A2**2 + 6.0 * A1 * A2 / r - (A1 / r) ** 2)
               - (A1 / f) * (f2 * A1 + 2.0 * f1 * A2 + 2.0 * f1 * A1 / r)
               + 0.75 * (A1 / f) ** 2 * (2.0 * f1**2 - 0.25 * (wh * A1) ** 2)
               + (n1 * A1 / (3.0 * f * n)) * (f * (A2 + A1 / r) - f1 * A1)))
    J4 = (_K * wh / 8.0 * n ** (1.0 / 3.0) / f
          * (-A3 - 2.0 * A2 / r + 2.0 * A1 / r**2 + (f2 * A1 + f1 * A2 + f1 * A1 / r) / f
             - (A1 / f**2) * (f1**2 - (0.5 * wh) ** 2 * A1**2)
             - (n1 / (3.0 * n)) * (A2 + A1 / r - f1 * A1 / f)))
    zero = np.zeros_like(tau0)
    return RadialETF(tau0=tau0, tau2=np.where(ok, tau2, zero),
                     tau4=np.where(ok, t4a + t4b + t4c + t4so, zero),
                     J2=np.where(ok, J2, zero), J4=np.where(ok, J4, zero))
