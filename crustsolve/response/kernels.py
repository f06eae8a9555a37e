"""Per-k kernels of the neutron superfluid density at every level of theory (pure numpy).

Conventions (``shared/physics/crust-superfluidity.md`` §4–§5; all formulas below carry their
section number there):

* Inputs per Bloch vector k, for the ``nb`` computed bands:
  ``eps`` (nb,) band energies ε_α(k) in MeV;
  ``vel`` (D, nb, nb) complex, ħv^i_αβ = ⟨αk|∂h/∂k_i|βk⟩ in MeV fm (u-gauge, §4.1);
  ``d2h`` (D, D, nb) real, ⟨αk|∂²h/∂k_i∂k_j|αk⟩ in MeV fm²;
  ``gap`` (nb,) Δ_αk in MeV (real; its sign matters only in Δ_αΔ_β of the interband terms). ``D`` is the dimension (3 in crustsolve; 1 in the 1D check).
* Output unit: every tensor returned by :mod:`crustsolve.response` is the superfluid
  *number-density equivalent* n_s^{ij} = ρ_n,s^{ij}/m_n in fm⁻³ (a mass density in units of
  m_n fm⁻³). Uniform free neutrons give n_s = n. The BZ integral is
  ∫_BZ d³k/(2π)³ f = (1/V_cell) Σ_k w_k f(k) with Σ_k w_k = 1, and m_n/ħ² = 1/(2 b0),
  b0 = ħ²/2m_n (MeV fm²; :data:`crustsolve.constants.HBAR2_2MN` unless the functional uses
  another bare mass). Each kernel here returns the *integrand* Σ_α(...) in MeV fm²; the BZ
  sum and the prefactor 1/(2 b0 V_cell) are applied by :func:`bz_prefactor` callers.

Levels (integrand, before the prefactor 1/(2 b0 V_cell)):

* ``normal`` (§5.2, CCH 2005 eqs. (3.23), (4.7) with the spin factor 2):
  2 · 2 Σ_α δ(ε_α − μ) ∂_iε_α ∂_jε_α  → :func:`fermi_surface_integrand` (δ smeared);
  number equation n = (2/V) Σ_k w_k Σ_α θ(μ − ε_α) (smeared: ½ erfc).
* ``intraband`` (§5.3): Σ_α (1 − ξ_α/E_α) ∂_i∂_jε_α, ∂_i∂_jε_α from the effective-mass sum
  rule (§4.1) over the computed bands, degenerate partners excluded (see :func:`band_hessians`).
* ``form_a`` (§5.5 Form A): Σ_α (1 − ξ_α/E_α) d2h^{ij}_α
  + Σ_{α≠β} c_αβ Re[ħv^i_αβ ħv^j_βα],  c_αβ = (ξ_αξ_β + Δ_αΔ_β − E_αE_β)/(E_αE_β(E_α+E_β)).
* ``form_b`` (§5.5 Form B): intraband + Σ_{α≠β in window} [g_αβ + c_αβ] Re[ħv^i_αβ ħv^j_βα],
  g_αβ = (ξ_α/E_α − ξ_β/E_β)/(ξ_α − ξ_β); degenerate pairs (excluded from the sum rule)
  enter with c_αβ alone (which is 0 for equal gaps, the §9.4 "Δ²/E³ limit" statement in the
  form that needs no division by ε_α − ε_β).
  BCS number equation (all BCS levels): n = (1/V) Σ_k w_k Σ_α (1 − ξ_α/E_α) (§5.3; 1 − ξ/E = 2v²
  contains the spin factor).

Form A = Form B when every band of the (finite) Hamiltonian is included and the window covers
all pairs (derived in the module docs of :mod:`crustsolve.response`; tested). Spin factors and
signs were confirmed against an independently coded 1D BdG grand potential
(``tests/test_response_1d_convention.py``, physics doc §5.8).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erfc

from ..errors import InputError

#: Default absolute tolerance (MeV) below which two band energies count as degenerate.
DEFAULT_DEGENERACY_TOL = 1e-6


def check_kdata(eps, vel, d2h=None, gap=None):
    """Validate the shapes of one k-point's ingredients; return numpy arrays."""
    eps = np.asarray(eps, dtype=float)
    vel = np.asarray(vel)
    if eps.ndim != 1:
        raise InputError(f"band energies must be 1D (nb,), got shape {eps.shape}")
    nb = len(eps)
    if vel.ndim != 3 or vel.shape[1:] != (nb, nb):
        raise InputError(f"velocity matrix elements must have shape (D, {nb}, {nb}), got {vel.shape}")
    out = [eps, vel]
    if d2h is not None:
        d2h = np.asarray(d2h, dtype=float)
        D = vel.shape[0]
        if d2h.shape != (D, D, nb):
            raise InputError(f"d2h must have shape ({D}, {D}, {nb}), got {d2h.shape}")
        out.append(d2h)
    if gap is not None:
        gap = np.broadcast_to(np.asarray(gap, dtype=float), (nb,))
        if not np.all(np.isfinite(gap)):
            raise InputError("pairing gaps Δ_αk must be finite (MeV)")
        out.append(gap)
    return out


# ----------------------------------------------------------------- BCS factors
def quasiparticle(eps, gap, mu):
    """(ξ, E, ξ/E) with ξ = ε − μ and E = √(ξ² + Δ²) (MeV); ξ/E = sign(ξ) where Δ = 0, 0 at ξ = Δ = 0."""
    xi = np.asarray(eps, dtype=float) - mu
    E = np.hypot(xi, gap)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(E > 0, xi / np.where(E > 0, E, 1.0), 0.0)
    return xi, E, x


def bcs_occupation(eps, gap, mu):
    """2v² = 1 − ξ/E per band (spin included): the BCS number density integrand (§5.3)."""
    return 1.0 - quasiparticle(eps, gap, mu)[2]


def paramagnetic_coefficient(xi_a, xi_b, gap_a, gap_b):
    """c_αβ = (ξ_αξ_β + Δ_αΔ_β − E_αE_β)/(E_αE_β(E_α+E_β))  (MeV⁻²; §5.5 Form A), ≤ 0.

    Equals −2(u_αv_β − v_αu_β)²/(E_α+E_β)/(…) in the BCS amplitudes (derived; checked in the
    1D test). E_αE_β − ξ_αξ_β is evaluated without cancellation when ξ_αξ_β ≥ 0.
    Arrays broadcast. Requires E_α, E_β > 0.
    """
    xi_a, xi_b, gap_a, gap_b = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                     for v in (xi_a, xi_b, gap_a, gap_b)))
    Ea, Eb = np.hypot(xi_a, gap_a), np.hypot(xi_b, gap_b)
    p = xi_a * xi_b
    EE = Ea * Eb
    # E_aE_b − ξ_aξ_b = (ξ_a²Δ_b² + Δ_a²ξ_b² + Δ_a²Δ_b²)/(E_aE_b + ξ_aξ_b) when ξ_aξ_b ≥ 0.
    stable = (xi_a**2 * gap_b**2 + gap_a**2 * xi_b**2 + gap_a**2 * gap_b**2) / np.where(
        p >= 0, EE + p, 1.0)
    diff = np.where(p >= 0, stable, EE - p)
    return (gap_a * gap_b - diff) / (EE * (Ea + Eb))


def divided_difference_x(xi_a, xi_b, gap_a, gap_b, rel=1e-7):
    """g_αβ = (ξ_α/E_α − ξ_β/E_β)/(ξ_α − ξ_β) (MeV⁻¹; §5.5 Form B), ≥ 0 for equal gaps.

    For |ξ_α − ξ_β| ≤ rel·(E_α+E_β) the derivative d(ξ/E)/dξ = Δ²/E³ at the midpoint is used
    (pairs with unequal gaps and equal ξ must not be passed here: see :func:`form_b_integrand`).
    """
    xi_a, xi_b, gap_a, gap_b = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                     for v in (xi_a, xi_b, gap_a, gap_b)))
    Ea, Eb = np.hypot(xi_a, gap_a), np.hypot(xi_b, gap_b)
    d = xi_a - xi_b
    close = np.abs(d) <= rel * (Ea + Eb)
    with np.errstate(invalid="ignore", divide="ignore"):
        direct = (xi_a / Ea - xi_b / Eb) / np.where(close, 1.0, d)
        xm = 0.5 * (xi_a + xi_b)
        gm = 0.5 * (gap_a + gap_b)
        Em = np.hypot(xm, gm)
        limit = gm**2 / Em**3
    return np.where(close, limit, direct)


# ------------------------------------------------------------ band structure
def degenerate_clusters(eps, tol=DEFAULT_DEGENERACY_TOL):
    """Integer label per band; bands of one label are degenerate (chained |Δε| ≤ tol, MeV).

    ``eps`` must be ascending (eigensolver order).
    """
    eps = np.asarray(eps, dtype=float)
    if len(eps) == 0:
        return np.zeros(0, dtype=np.int64)
    if np.any(np.diff(eps) < -tol):
        raise InputError("band energies must be sorted in ascending order")
    return np.concatenate([[0], np.cumsum(np.diff(eps) > tol)]).astype(np.int64)


def velocity_products(vel):
    """P^{ij}_αβ = Re[ħv^i_αβ ħv^j_βα] (MeV² fm²), shape (D, D, nb, nb)."""
    vel = np.asarray(vel)
    return np.real(np.einsum("iab,jba->ijab", vel, vel))


def band_hessians(eps, vel, d2h, tol=DEFAULT_DEGENERACY_TOL):
    """∂_i∂_jε_α from the effective-mass sum rule over the computed bands (MeV fm²), (nb, D, D).

    §4.1: ∂_i∂_jε_α = ⟨α|∂_i∂_jh|α⟩ + Σ_{β∉D(α)} 2 Re[ħv^i_αβ ħv^j_βα]/(ε_α − ε_β),
    where D(α) is α's degenerate cluster. Excluding the partners makes Σ_{α∈D} ∂_i∂_jε_α the
    basis-invariant trace of the degenerate second-order effective Hamiltonian (its branches
    need not be analytic, their sum is). Truncation error: the bands above the computed set
    are missing (negative terms); small for bands far below the top.
    """
    eps, vel, d2h = check_kdata(eps, vel, d2h)
    lab = degenerate_clusters(eps, tol)
    P = velocity_products(vel)
    de = eps[:, None] - eps[None, :]
    same = lab[:, None] == lab[None, :]
    inv = np.where(same, 0.0, 2.0 / np.where(same, 1.0, de))
    return np.einsum("ijab,ab->aij", P, inv) + np.moveaxis(d2h, 2, 0)


def cluster_velocity_products(eps, vel, tol=DEFAULT_DEGENERACY_TOL):
    """Basis-invariant ∂_iε_α ∂_jε_α (MeV² fm²), shape (nb, D, D).

    Non-degenerate α: Re[ħv^i_αα ħv^j_αα] (Hellmann–Feynman). In a degenerate cluster D the
    trace (1/|D|) Σ_{β,γ∈D} Re[ħv^i_βγ ħv^j_γβ] is given to every member; its contraction with
    n̂n̂ is the mean square of the branch velocities along n̂ (eigenvalues of n̂·v restricted to D).
    """
    eps, vel = check_kdata(eps, vel)
    lab = degenerate_clusters(eps, tol)
    nb = len(eps)
    D = vel.shape[0]
    out = np.empty((nb, D, D))
    start = 0
    while start < nb:
        stop = start + 1
        while stop < nb and lab[stop] == lab[start]:
            stop += 1
        sub = vel[:, start:stop, start:stop]
        t = np.real(np.einsum("iab,jba->ij", sub, sub)) / (stop - start)
        out[start:stop] = t
        start = stop
    return out


# ------------------------------------------------------------- integrands
def intraband_integrand(eps, gap, mu, hess):
    """Σ_α (1 − ξ_α/E_α) ∂_i∂_jε_α (MeV fm²), (D, D). §5.3 (CCH A759; Chamel 2025 "intraband")."""
    occ = bcs_occupation(eps, gap, mu)
    return np.einsum("a,aij->ij", occ, hess)


def form_a_integrand(eps, gap, mu, vel, d2h, P=None):
    """Form A (§5.5): diamagnetic Σ_α(1−ξ/E)d2h_α + paramagnetic Σ_{α≠β} c_αβ P_αβ (MeV fm²).

    Returns (total, diamagnetic, paramagnetic), each (D, D).
    """
    eps, vel, d2h, gap = check_kdata(eps, vel, d2h, gap)
    xi, E, x = quasiparticle(eps, gap, mu)
    if np.any(E <= 0):
        raise InputError("Form A needs Δ > 0 at ξ = 0 (E = 0 found); use the normal level for Δ = 0")
    if P is None:
        P = velocity_products(vel)
    c = paramagnetic_coefficient(xi[:, None], xi[None, :], gap[:, None], gap[None, :])
    np.fill_diagonal(c, 0.0)
    dia = np.einsum("a,ija->ij", 1.0 - x, d2h)
    para = np.einsum("ijab,ab->ij", P, c)
    return dia + para, dia, para


def form_b_integrand(eps, gap, mu, vel, hess, windows=(math.inf,), tol=DEFAULT_DEGENERACY_TOL,
                     P=None):
    """Form B (§5.5): intraband + interband bracket over pairs with |ξ_α|, |ξ_β| ≤ W (MeV fm²).

    ``hess`` from :func:`band_hessians` (same ``tol``). Returns (intraband (D, D),
    interband (nW, D, D)) for every window W in ``windows`` (MeV; ``inf`` = all pairs).
    Degenerate pairs (excluded from the sum rule) contribute c_αβ P_αβ for every window.
    """
    eps, vel, gap = check_kdata(eps, vel, None, gap)
    xi, E, x = quasiparticle(eps, gap, mu)
    if np.any(E <= 0):
        raise InputError("Form B needs Δ > 0 at ξ = 0 (E = 0 found); use the normal level for Δ = 0")
    if P is None:
        P = velocity_products(vel)
    lab = degenerate_clusters(eps, tol)
    same = lab[:, None] == lab[None, :]
    c = paramagnetic_coefficient(xi[:, None], xi[None, :], gap[:, None], gap[None, :])
    g = divided_difference_x(xi[:, None], xi[None, :], gap[:, None], gap[None, :])
    bracket = np.where(same, c, g + c)
    np.fill_diagonal(bracket, 0.0)
    intra = intraband_integrand(eps, gap, mu, hess)
    inter = []
    axi = np.abs(xi)
    for W in windows:
        inside = (axi[:, None] <= W) & (axi[None, :] <= W)
        coef = np.where(inside | same, bracket, 0.0)
        inter.append(np.einsum("ijab,ab->ij", P, coef))
    return intra, np.array(inter)


def gaussian_delta(x, sigma):
    """Normalised Gaussian δ_σ(x) = exp(−x²/σ²)/(σ√π) (MeV⁻¹)."""
    return np.exp(-(x / sigma) ** 2) / (sigma * math.sqrt(math.pi))


def gaussian_occupation(x, sigma):
    """∫_x^∞ δ_σ = ½ erfc(x/σ): the occupation (per spin) matching :func:`gaussian_delta`."""
    return 0.5 * erfc(x / sigma)


def fermi_surface_integrand(eps, mu, sigma, vprod):
    """2 Σ_α δ_σ(ε_α − μ) ∂_iε_α ∂_jε_α (MeV fm²), (D, D): §5.2 with Gaussian smearing σ (MeV).

    ``vprod`` from :func:`cluster_velocity_products`. The factor 2 is the spin factor:
    ρ_s^{ij} = m_n² (2/ħ²) ∫_BZ d³k/(2π)³ Σ_α δ(ε_α−μ) ∂_iε_α∂_jε_α (§5.2, tensor form of K),
    i.e. ρ_s/m_n = (1/(2 b0 V)) Σ_k w_k · [this integrand]. It equals the Δ → 0 limit of the
    intraband integrand after integration by parts (2θ(μ−ε)∂²ε → 2δ(ε−μ)(∂ε)²).
    """
    w = gaussian_delta(np.asarray(eps, dtype=float) - mu, sigma)
    return 2.0 * np.einsum("a,aij->ij", w, vprod)


# ---------------------------------------------------------- number equations
def _bracket_root(f, lo, hi, what):
    from scipy.optimize import brentq  # noqa: PLC0415

    flo, fhi = f(lo), f(hi)
    grow = 0
    while flo > 0 and grow < 60:
        lo -= max(1.0, abs(lo)) * 2.0
        flo = f(lo)
        grow += 1
    grow = 0
    while fhi < 0 and grow < 60:
        hi += max(1.0, abs(hi)) * 2.0
        fhi = f(hi)
        grow += 1
    if flo > 0 or fhi < 0:
        raise InputError(f"cannot bracket the chemical potential for {what}")
    return brentq(f, lo, hi, xtol=1e-13, rtol=1e-15, maxiter=500)


def density_normal(energies, weights, volume, mu, sigma=0.0):
    """n = (2/V) Σ_k w_k Σ_α f(ε_α − μ) (fm⁻³): step (σ = 0) or ½erfc smearing (§5.2, CCH (4.7))."""
    e = np.asarray(energies, dtype=float)
    if sigma > 0:
        occ = gaussian_occupation(e - mu, sigma)
    else:
        occ = (e < mu).astype(float) + 0.5 * (e == mu)
    return 2.0 * float(np.tensordot(weights, occ.sum(axis=-1), axes=(0, 0))) / volume


def density_bcs(energies, gaps, weights, volume, mu):
    """n = (1/V) Σ_k w_k Σ_α (1 − ξ_α/E_α) (fm⁻³) (§5.3)."""
    occ = bcs_occupation(energies, gaps, mu)
    return float(np.tensordot(weights, occ.sum(axis=-1), axes=(0, 0))) / volume


def solve_mu_normal(energies, weights, volume, n, sigma):
    """μ (MeV) with :func:`density_normal` = n at smearing σ > 0."""
    e = np.asarray(energies, dtype=float)
    return _bracket_root(lambda m: density_normal(e, weights, volume, m, sigma) - n,
                         float(e.min()) - 1.0, float(e.max()), "the normal-state level")


def solve_mu_bcs(energies, gaps, weights, volume, n):
    """μ (MeV) with :func:`density_bcs` = n."""
    e = np.asarray(energies, dtype=float)
    return _bracket_root(lambda m: density_bcs(e, gaps, weights, volume, m) - n,
                         float(e.min()) - 1.0, float(e.max()), "the BCS levels")


def extrapolate_sigma(sigmas, values):
    """Least-squares fit value(σ) = a + b σ² (Gaussian smearing error is O(σ²)); returns (a, spread).

    ``values`` (nσ, ...) tensors; spread = max |fit − value| over the points (a convergence
    estimate; the smearing error of the Fermi-surface integral is even in σ for a smooth DOS).
    """
    s = np.asarray(sigmas, dtype=float)
    v = np.asarray(values, dtype=float)
    if len(s) == 1:
        return v[0], np.full(v.shape[1:], math.nan)
    A = np.stack([np.ones_like(s), s**2], axis=1)
    flat = v.reshape(len(s), -1)
    coef, *_ = np.linalg.lstsq(A, flat, rcond=None)
    fit = A @ coef
    a = coef[0].reshape(v.shape[1:])
    spread = np.abs(fit - flat).max(axis=0).reshape(v.shape[1:])
    return a, spread


# ----------------------------------------------------------- current term
def local_current_term(cnn, nn, b0, dim=3):
    """Local current-field term n_s^{ij,cur} = −δ_ij ⟨C_nn(r) n_n(r)²⟩_cell / b0 (fm⁻³).

    §5.6 term (1) with the induced current taken at its local-density value δj_n(r) = n_n(r)Q
    (protons at rest): the Skyrme energy −C_nn j_n² adds −C_nn n_n² Q² to Ω/V, hence
    ρ/m_n = (m_n/ħ²)∂²(Ω/V)/∂Q² gains −C_nn n_n²/b0. With B_n = b0 + C_nn n_n + C_np n_p
    (C_nn = C₊, C_np = C₋ of :mod:`crustsolve.functional.skyrme`) the uniform-matter total
    is n_n(1 + C_np n_p/b0) = ρ_nn^loc/m_n (§5.6) and n_n for pure neutrons (§9.4, item 1).
    In a crystal this is the local-density approximation of the induced current (the full
    RPA-type self-consistency of §5.6 is not implemented). ``cnn`` in MeV fm⁵, ``nn`` in fm⁻³
    (scalars or grid arrays), ``b0`` = ħ²/2m_n in MeV fm².
    """
    val = -float(np.mean(np.asarray(cnn, dtype=float) * np.asarray(nn, dtype=float) ** 2)) / b0
    return val * np.eye(dim)


# ------------------------------------------------------------- symmetry
def symmetrise(tensor, operations):
    """(1/|ops|) Σ_R R T Rᵀ for Cartesian rank-2 tensors T (D, D) or (..., D, D)."""
    ops = np.asarray(operations, dtype=float)
    return np.einsum("gia,...ab,gjb->...ij", ops, tensor, ops) / len(ops)
