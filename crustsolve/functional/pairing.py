"""Neutron ¹S₀ pairing of the BSk functionals: reference gaps, contact strength, LDA pair field.

Every BSk functional of this package carries a density-dependent contact pairing whose
strength v^π_q[n_n, n_p] is not fitted freely: at each density it is fixed so that the BCS
gap equation of uniform matter, with the functional's own effective mass and a cutoff ε_Λ
above the Fermi energy, reproduces a *reference gap* Δ_q(n_n, n_p) taken from microscopic
calculations (Chamel, Goriely & Pearson, Nucl. Phys. A812, 72 (2008); Chamel, Phys. Rev. C
82, 014313 (2010)). In the weak-coupling approximation the gap equation integrates to
(``docs/physics/crust-superfluidity.md``, "Pairing gaps from the functional")::

    v^π_q = −8π²/I_q · (ħ²/2M_q*)^{3/2},
    I_q = √μ_q [2 ln(2μ_q/Δ_q) + Λ(ε_Λ/μ_q)],   μ_q = ħ²k_Fq²/2M_q*,   k_Fq = (3π² n_q)^{1/3},
    Λ(x) = ln(16x) + 2√(1+x) − 2 ln(1 + √(1+x)) − 4,

where I_q is ∫₀^{μ+ε_Λ} √ε dε/√((ε−μ)² + Δ²) for Δ ≪ μ. Which reference curves, cutoff
and extra terms each functional uses is recorded in its :class:`FunctionalPairing` (with the
papers). The reference gap of asymmetric matter interpolates between symmetric matter (SM)
and pure neutron matter (NeuM):

    Δ_n(n_n, n_p) = Δ_SM(n)(1 − |η|) + Δ_NeuM(n_n) η n_n/n,   η = (n_n − n_p)/n,  n = n_n + n_p.

In the local-density approximation (LDA) the neutron pair field of a crustal layer is the
uniform-matter gap of the local strength: Δ_n(r) solves I(Δ) = −8π²(ħ²/2M_n*)^{3/2}/v(r)
with the local μ_n, M_n* (B_n = ħ²/2M_n*) and v(r) = v^π_n[n_n(r), n_p(r)] (plus the
density-gradient term of functionals that have one: none of the built-in ones). The LDA
field is then the reference gap itself, Δ_n(r) = Δ_n(n_n(r), n_p(r)).

:func:`uniform_gap` solves the uniform-matter gap equation by quadrature (no weak-coupling
approximation): the tests use it to check that the strength reproduces the reference curve.

Units: MeV, fm, fm⁻³; v^π in MeV fm³; B_q = ħ²/2M_q* in MeV fm².
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np
from scipy.integrate import quad
from scipy.optimize import brentq

from ..errors import InputError
from .parameters import get_functional
from .skyrme import effective_mass_fields


@dataclass(frozen=True)
class GapCurve:
    """A fitted ¹S₀ gap curve Δ(k_F) = Δ₀ k_F²/(k_F² + k₁²) · (k_F − k₂)²/((k_F − k₂)² + k₃²)
    for k_F < k₂, 0 above (MeV; k in fm⁻¹), k_F = (3π² n_q)^{1/3} of the paired species.

    ``source``: the microscopic calculation fitted and where the parameters are published.
    """

    delta0: float
    k1: float
    k2: float
    k3: float
    source: str

    def __call__(self, kf):
        kf = np.asarray(kf, dtype=float)
        d = (self.delta0 * kf**2 / (kf**2 + self.k1**2)
             * (kf - self.k2)**2 / ((kf - self.k2)**2 + self.k3**2))
        return np.where((kf > 0) & (kf < self.k2), d, 0.0)

    def maximum(self):
        """(k_F, Δ) of the maximum of the curve (fm⁻¹, MeV), by bounded scalar search."""
        from scipy.optimize import minimize_scalar
        r = minimize_scalar(lambda k: -float(self(k)), bounds=(1e-3, self.k2),
                            method="bounded", options={"xatol": 1e-10})
        return float(r.x), float(-r.fun)


@dataclass(frozen=True)
class FunctionalPairing:
    """The neutron pairing a functional was fitted with.

    neutron_matter, symmetric_matter : reference :class:`GapCurve` (Δ_NeuM of k_Fn; Δ_SM of
    the k_F of one species, k_F = (3π² n/2)^{1/3}); eps_lambda : cutoff ε_Λ above the Fermi
    energy (MeV); reference : the papers.
    """

    neutron_matter: GapCurve
    symmetric_matter: GapCurve
    eps_lambda: float
    reference: str


def _lambda(x):
    """Λ(x) = ln(16x) + 2√(1+x) − 2 ln(1+√(1+x)) − 4 (the cutoff term of I_q)."""
    s = np.sqrt(1.0 + x)
    return np.log(16.0 * x) + 2.0 * s - 2.0 * np.log(1.0 + s) - 4.0


# The reference curves (docs/physics/crust-superfluidity.md, "Pairing gaps from the
# functional", says how far each fact was checked). The parameters are those of the Brussels
# HFB code as quoted by two public codes, which agree on which curve is which; the papers'
# tables could not be read, so whether BSk22–26 were fitted to exactly these curves is not
# verified (PAIRING_STATUS is printed with every run that uses them).
_CLS2006 = "Brueckner calculations with the Argonne V18 force (Cao, Lombardo & Schuck, " \
           "PRC 74, 064301 (2006))"
_NEUM = GapCurve(3.37968, 0.556092, 1.38236, 0.327517,
                 "neutron matter, medium polarisation and self-energy: " + _CLS2006)
_SM = GapCurve(11.5586, 0.489932, 1.3142, 0.906146,
               "symmetric matter, medium polarisation: " + _CLS2006)

#: How far the pairing data have been checked (printed and stored with the pair field).
PAIRING_STATUS = ("reference gap curves from public codes quoting the Brussels HFB code, not "
                  "checked against the functionals' papers; cutoff 16 MeV from the BSk papers "
                  "as recalled, not read")

_GCP2013 = ("S. Goriely, N. Chamel, J. M. Pearson, PRC 88, 024308 (2013); strength as in "
            "N. Chamel, PRC 82, 014313 (2010)")

#: The pairing of every functional that has one. BSk23 is not among the built-in sets; BSk31
#: is left out until its density-gradient term (form and units) and cutoff are verified.
PAIRING: Mapping[str, FunctionalPairing] = MappingProxyType({
    **{name: FunctionalPairing(_NEUM, _SM, 16.0, _GCP2013)
       for name in ("BSk22", "BSk24", "BSk25", "BSk26")},
})


def functional_pairing(functional) -> FunctionalPairing:
    """The :class:`FunctionalPairing` of ``functional`` (name or parameter set)."""
    p = get_functional(functional)
    if p.name not in PAIRING:
        why = {"BSk31": " (its density-gradient pairing term and cutoff are not yet verified)"}
        raise InputError(f"functional {p.name!r} has no built-in neutron pairing"
                         f"{why.get(p.name, '')}; functionals with one: {', '.join(PAIRING)}; "
                         "use [pairing] model = 'constant' with gap = ... instead")
    return PAIRING[p.name]


def fermi_momentum(n):
    """k_F = (3π² n)^{1/3} (fm⁻¹) of one spin-½ species of density n (fm⁻³)."""
    return np.cbrt(3.0 * math.pi**2 * np.maximum(np.asarray(n, dtype=float), 0.0))


def reference_gap(functional, n_n, n_p):
    """Δ_n(n_n, n_p) (MeV): the reference neutron gap the functional's pairing reproduces."""
    pp = functional_pairing(functional)
    n_n = np.asarray(n_n, dtype=float)
    n_p = np.asarray(n_p, dtype=float)
    n = n_n + n_p
    with np.errstate(invalid="ignore", divide="ignore"):
        eta = np.where(n > 0, (n_n - n_p) / np.where(n > 0, n, 1.0), 0.0)
        frac = np.where(n > 0, n_n / np.where(n > 0, n, 1.0), 0.0)
    d = (pp.symmetric_matter(fermi_momentum(0.5 * n)) * (1.0 - np.abs(eta))
         + pp.neutron_matter(fermi_momentum(n_n)) * eta * frac)
    return np.maximum(d, 0.0)


def _check_densities(n_n, n_p):
    n_n = np.asarray(n_n, dtype=float)
    n_p = np.asarray(n_p, dtype=float)
    for name, v in (("n_n", n_n), ("n_p", n_p)):
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise InputError(f"{name} must be finite and >= 0 (fm^-3)")
    return n_n, n_p


def weak_coupling_integral(mu, gap, eps_lambda):
    """I = √μ [2 ln(2μ/Δ) + Λ(ε_Λ/μ)] (MeV^{1/2}); μ, Δ > 0 (MeV)."""
    mu = np.asarray(mu, dtype=float)
    return np.sqrt(mu) * (2.0 * np.log(2.0 * mu / gap) + _lambda(eps_lambda / mu))


def pairing_strength(functional, n_n, n_p):
    """v^π_n[n_n, n_p] (MeV fm³, ≤ 0; 0 where the reference gap vanishes), uniform matter."""
    n_n, n_p = _check_densities(n_n, n_p)
    pp = functional_pairing(functional)
    B_n, _ = effective_mass_fields(functional, n_n, n_p)
    gap = reference_gap(functional, n_n, n_p)
    mu = B_n * fermi_momentum(n_n) ** 2
    ok = (gap > 0) & (mu > 0)
    safe_gap = np.where(ok, gap, 1.0)
    safe_mu = np.where(ok, mu, 1.0)
    integral = weak_coupling_integral(safe_mu, safe_gap, pp.eps_lambda)
    return np.where(ok, -8.0 * math.pi**2 * B_n ** 1.5 / integral, 0.0)


def lda_pair_field(functional, n_n, n_p):
    """The LDA neutron pair field Δ_n(r) (MeV) of densities n_n(r), n_p(r) (fm⁻³, arrays of
    one shape): the uniform-matter gap of the local strength v^π_n[n_n(r), n_p(r)] with the
    local M_n*, which is the reference gap by construction of the strength (f_n⁺ = 1 for
    every built-in functional; none of them has a density-gradient pairing term)."""
    n_n, n_p = _check_densities(n_n, n_p)
    return reference_gap(functional, n_n, n_p)


def uniform_gap(strength, B, n, eps_lambda, rtol: float = 1e-10) -> float:
    """Δ (MeV) of the uniform-matter BCS gap equation by quadrature, no weak-coupling step:

        −8π² B^{3/2}/v = ∫₀^{μ+ε_Λ} √ε dε / √((ε−μ)² + Δ²),   μ = B k_F²,

    for one strength v < 0 (MeV fm³), B = ħ²/2M* (MeV fm²) and density n (fm⁻³). 0 if v ≥ 0.
    """
    v, B = float(strength), float(B)
    if v >= 0:
        return 0.0
    mu = B * float(fermi_momentum(n)) ** 2
    target = -8.0 * math.pi**2 * B**1.5 / v

    def integral(gap):
        f = lambda e: math.sqrt(e) / math.hypot(e - mu, gap)  # noqa: E731
        lo = quad(f, 0.0, mu, limit=400, epsabs=0.0, epsrel=1e-12, points=[mu])[0]
        hi = quad(f, mu, mu + eps_lambda, limit=400, epsabs=0.0, epsrel=1e-12)[0]
        return lo + hi

    # I(Δ) decreases monotonically from +∞ (Δ → 0); bracket the root.
    hi = max(mu, 1.0)
    while integral(hi) > target:
        hi *= 4.0
        if hi > 1e6:
            raise InputError(f"uniform gap equation: no solution below 1e6 MeV for v = {v:g}")
    lo = hi
    while integral(lo) < target:
        lo /= 4.0
        if lo < 1e-30:
            return 0.0
    return float(brentq(lambda g: integral(g) - target, lo, hi, rtol=rtol))
