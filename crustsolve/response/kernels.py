"""Per-k kernels of the neutron superfluid density at every level of theory (pure numpy).

The physics, with the papers each formula comes from, is in
``docs/physics/crust-superfluidity.md``; the section names below refer to that page.

Inputs per Bloch vector k, for the ``nb`` computed bands (ascending energies):

* ``eps`` (nb,) band energies ε_α(k) in MeV;
* ``vel`` (D, nb, nb) complex, ħv^i_αβ = ⟨αk|∂h/∂k_i|βk⟩ in MeV fm (u-gauge, exact
  k-derivatives of the discrete h);
* ``d2h`` (D, D, nb) real, ⟨αk|∂²h/∂k_i∂k_j|αk⟩ in MeV fm²;
* ``gap`` (nb,) Δ_αk in MeV (real);
* optionally a *second vertex* ``vel2``/``d2h2`` of the same shapes, used in one factor of
  every bilinear form: the current-corrected velocity ∂_k h + ∂_k T[−C_nn n_n] of the
  "current-field term" section (the talk's ∇_Q ε_{k+Q} and v·(v + δv)). Without it the
  second factor is ``vel`` itself.

Output unit: every tensor of :mod:`crustsolve.response` is the superfluid
*number-density equivalent* n_s^{ij} = ρ_n,s^{ij}/m_n in fm⁻³ (free neutrons: n_s = n). The
BZ integral is ∫_BZ d³k/(2π)³ f = (1/V_cell) Σ_k w_k f(k) with Σ_k w_k = 1, and
m_n/ħ² = 1/(2 b0), b0 = ħ²/2m_n (MeV fm²). Each kernel returns the *integrand* in MeV fm²;
the BZ sum and the prefactor 1/(2 b0 V_cell) are applied by the callers
(:mod:`crustsolve.response.bz`).

Levels (integrands before the prefactor; D(α) is α's degenerate cluster, ⟨·⟩_α the
basis-invariant cluster average of :func:`cluster_products`):

* ``normal`` (Fermi-surface formula, Carter, Chamel & Haensel, Nucl. Phys. A748, 675
  (2005)): 2 Σ_α δ(ε_α − μ) ⟨∂_iε ∂_jε⟩_α, δ smeared (:func:`fermi_surface_integrand`).
* ``intraband`` (BCS intraband, Carter, Chamel & Haensel, Nucl. Phys. A759, 441 (2005)):
  Σ_α Δ_α²/E_α³ ⟨∂_iε ∂_jε⟩_α — the velocity-only form, which needs only Hellmann–Feynman
  velocities of the computed bands (:func:`intraband_integrand`). The curvature form
  Σ_α (1 − ξ_α/E_α) ∂_i∂_jε_α, equal after the BZ integral, needs the effective-mass sum
  rule over *all* bands; it is kept as :func:`intraband_curvature_integrand` for checks with
  complete band sets only.
* ``form_a`` (full linear response, diamagnetic + paramagnetic):
  Σ_α (1 − ξ_α/E_α) d2h^{ij}_α + Σ_{α≠β} c_αβ Re[ħv^i_αβ ħv^j_βα] with
  c_αβ = (ξ_αξ_β + Δ_αΔ_β − E_αE_β)/(E_αE_β(E_α+E_β)) (:func:`form_a_integrand`).
* ``form_b`` (full linear response, intraband + interband bracket):
  Σ_α Δ_α²/E_α³ ⟨∂_iε ∂_jε⟩_α + Σ_{α≠β} [g_αβ + c_αβ] Re[ħv^i_αβ ħv^j_βα] with the divided
  difference g_αβ = (ξ_α/E_α − ξ_β/E_β)/(ξ_α − ξ_β); pairs inside one degenerate cluster
  enter with c_αβ alone (:func:`form_b_integrand`). Form A and Form B are equal once the
  band set is complete *and* the k-integral is converged (the intraband parts differ by the
  BZ integral of a total k-derivative); they share no intermediate quantity, so their
  agreement is a check.

For a constant gap the integration by parts behind the velocity-only form is exact. A
state-dependent Δ_αk adds −ξΔ ∇_kΔ·∇_kε/E³ (:func:`gap_gradient_integrand`, with
∇_kΔ_αk from first-order perturbation theory of the band-diagonal gap, computed by the band
engine), which the intraband level and Form B include.

The BCS number equation of all BCS levels is n = (1/V) Σ_k w_k Σ_α (1 − ξ_α/E_α)
(1 − ξ/E = 2v² contains the spin factor). Spin factors and signs are checked against an
independently coded 1D BdG grand potential (``tests/response/test_1d_convention.py``).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
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


def _second(vel, vel2):
    """The second vertex (current-corrected velocity) or ``vel`` itself; shape-checked."""
    if vel2 is None:
        return vel
    vel2 = np.asarray(vel2)
    if vel2.shape != np.shape(vel):
        raise InputError(f"second vertex has shape {vel2.shape}, expected {np.shape(vel)}")
    return vel2


# ----------------------------------------------------------------- BCS factors
def quasiparticle(eps, gap, mu):
    """(ξ, E, ξ/E) with ξ = ε − μ and E = √(ξ² + Δ²) (MeV); ξ/E = sign(ξ) where Δ = 0, 0 at ξ = Δ = 0."""
    xi = np.asarray(eps, dtype=float) - mu
    E = np.hypot(xi, gap)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(E > 0, xi / np.where(E > 0, E, 1.0), 0.0)
    return xi, E, x


def thermal_factors(E, temperature: float):
    """(tanh(E/2T), (1/2T) sech²(E/2T)) of quasiparticle energies E ≥ 0 (MeV); (1, 0) at T = 0.

    1 − 2f(E) = tanh(E/2T) and −2 ∂f/∂E = (1/2T) sech²(E/2T) for the Fermi function f.
    """
    E = np.asarray(E, dtype=float)
    if temperature <= 0:
        return np.ones_like(E), np.zeros_like(E)
    th = np.tanh(E / (2.0 * temperature))
    return th, (1.0 - th * th) / (2.0 * temperature)


def bcs_occupation(eps, gap, mu, temperature: float = 0.0):
    """2v² = 1 − (ξ/E) tanh(E/2T) per band (spin included): the BCS number density integrand."""
    _, E, x = quasiparticle(eps, gap, mu)
    return 1.0 - x * thermal_factors(E, temperature)[0]


def intraband_weight(eps, gap, mu, temperature: float = 0.0):
    """d[(ξ/E) tanh(E/2T)]/dξ + 2∂f/∂E = (Δ²/E²)(tanh(E/2T)/E − (1/2T)sech²(E/2T)) (MeV⁻¹):
    the weight of the velocity-only intraband form (Δ²/E³ at T = 0, → 2δ(ξ) as Δ → 0); the
    second term is the thermal quasiparticles' (normal-fluid, Landau) current."""
    _, E, _ = quasiparticle(eps, gap, mu)
    gap = np.broadcast_to(np.asarray(gap, dtype=float), np.shape(E))
    with np.errstate(invalid="ignore", divide="ignore"):
        if temperature <= 0:
            return np.where(E > 0, gap**2 / np.where(E > 0, E, 1.0) ** 3, 0.0)
        th, s = thermal_factors(E, temperature)
        Es = np.where(E > 0, E, 1.0)
        return np.where(E > 0, gap**2 / Es**2 * (th / Es - s), 0.0)


def paramagnetic_coefficient(xi_a, xi_b, gap_a, gap_b):
    """c_αβ = (ξ_αξ_β + Δ_αΔ_β − E_αE_β)/(E_αE_β(E_α+E_β))  (MeV⁻¹; Form A), ≤ 0 for Δ_αΔ_β ≥ 0.

    Equals −2(u_αv_β − v_αu_β)²/(E_α+E_β) in the BCS amplitudes u² = (1 + ξ/E)/2,
    v² = (1 − ξ/E)/2, uv = Δ/2E. E_αE_β − ξ_αξ_β is evaluated without cancellation when
    ξ_αξ_β ≥ 0.
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


def thermal_pair_coefficients(xi_a, xi_b, gap_a, gap_b, temperature: float):
    """(pair-creation, scattering) parts of Form A's c_αβ at temperature T > 0 (MeV⁻¹).

    c_αβ(T) = −2(u_αv_β − v_αu_β)² (1 − f_α − f_β)/(E_α + E_β)
              − 2(u_αu_β + v_αv_β)² (f_α − f_β)/(E_β − E_α),
    (u v′ − v u′)² = ½[1 − (ξξ′ + ΔΔ′)/(EE′)], (u u′ + v v′)² = ½[1 + (ξξ′ + ΔΔ′)/(EE′)];
    the scattering quotient tends to −∂f/∂E = s/2 at E_α = E_β (s of
    :func:`thermal_factors`). At T → 0 the first is :func:`paramagnetic_coefficient`, the
    second vanishes. The BCS static current response in the band basis (Kubo formula with
    the coherence factors of a time-reversal-odd vertex; Leggett, Rev. Mod. Phys. 47, 331
    (1975) for the uniform case).
    """
    xi_a, xi_b, gap_a, gap_b = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                     for v in (xi_a, xi_b, gap_a, gap_b)))
    Ea, Eb = np.hypot(xi_a, gap_a), np.hypot(xi_b, gap_b)
    q = (xi_a * xi_b + gap_a * gap_b) / (Ea * Eb)
    tha, sa = thermal_factors(Ea, temperature)
    thb, sb = thermal_factors(Eb, temperature)
    pair = -(1.0 - q) * 0.5 * (tha + thb) / (Ea + Eb)
    d = Eb - Ea
    close = np.abs(d) <= 1e-9 * (Ea + Eb)
    with np.errstate(invalid="ignore", divide="ignore"):
        # (f_α − f_β)/(E_β − E_α) = (tanh_β − tanh_α)/(2(E_β − E_α))
        quotient = np.where(close, 0.25 * (sa + sb), (thb - tha) / (2.0 * np.where(close, 1.0, d)))
    scatter = -(1.0 + q) * quotient
    return pair, scatter


def divided_difference_x(xi_a, xi_b, gap_a, gap_b, rel=1e-7, temperature: float = 0.0):
    """g_αβ = (ξ_α/E_α − ξ_β/E_β)/(ξ_α − ξ_β) (MeV⁻¹; Form B), ≥ 0 for equal gaps.

    For |ξ_α − ξ_β| ≤ rel·(E_α+E_β) the derivative d(ξ/E)/dξ = Δ²/E³ at the midpoint is used
    (pairs with unequal gaps and equal ξ must not be passed here: see :func:`form_b_integrand`).
    At T > 0 the divided difference of (ξ/E) tanh(E/2T), whose derivative is
    (Δ²/E³) tanh + (ξ²/E²)(1/2T) sech².
    """
    xi_a, xi_b, gap_a, gap_b = np.broadcast_arrays(*(np.asarray(v, dtype=float)
                                                     for v in (xi_a, xi_b, gap_a, gap_b)))
    Ea, Eb = np.hypot(xi_a, gap_a), np.hypot(xi_b, gap_b)
    d = xi_a - xi_b
    close = np.abs(d) <= rel * (Ea + Eb)
    tha = thermal_factors(Ea, temperature)[0]
    thb = thermal_factors(Eb, temperature)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        direct = (xi_a / Ea * tha - xi_b / Eb * thb) / np.where(close, 1.0, d)
        xm = 0.5 * (xi_a + xi_b)
        gm = 0.5 * (gap_a + gap_b)
        Em = np.hypot(xm, gm)
        thm, sm = thermal_factors(Em, temperature)
        limit = gm**2 / Em**3 * thm + xm**2 / Em**2 * sm
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


def cluster_bounds(labels):
    """[(start, stop)] of the runs of equal labels (degenerate clusters), in order."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        return []
    edges = np.flatnonzero(np.diff(labels)) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [len(labels)]])
    return list(zip(starts.tolist(), stops.tolist()))


def velocity_products(vel, vel2=None):
    """P^{ij}_αβ = Re[ħv^i_αβ ħv2^j_βα] (MeV² fm²), shape (D, D, nb, nb).

    Symmetric under (α, i) ↔ (β, j) exchange only when ``vel2`` is ``vel``; the response
    tensors use its contraction with coefficients symmetric in α ↔ β.
    """
    vel = np.asarray(vel)
    return np.real(np.einsum("iab,jba->ijab", vel, _second(vel, vel2)))


def pair_sum(vel, coef, vel2=None) -> np.ndarray:
    """Σ_{αβ} coef_αβ Re[ħv^i_αβ ħv2^j_βα] (D, D) without forming the (D, D, nb, nb) products."""
    vel = np.asarray(vel)
    v2 = _second(vel, vel2)
    coef = np.asarray(coef, dtype=float)
    D = vel.shape[0]
    out = np.empty((D, D))
    for i in range(D):
        left = vel[i] * coef
        for j in range(D):
            out[i, j] = np.real(np.sum(left * v2[j].T))
    return out


def cluster_products(eps, vel, vel2=None, tol=DEFAULT_DEGENERACY_TOL):
    """Basis-invariant ⟨∂_iε ∂_jε⟩_α (MeV² fm²), shape (nb, D, D).

    Non-degenerate α: Re[ħv^i_αα ħv2^j_αα] (Hellmann–Feynman velocities). In a degenerate
    cluster D the trace (1/|D|) Σ_{β,γ∈D} Re[ħv^i_βγ ħv2^j_γβ] is given to every member; its
    contraction with n̂n̂ is the mean square of the branch velocities along n̂ (eigenvalues of
    n̂·v restricted to D). With ``vel2`` (current-corrected vertex) it is the mean of the
    products of the branch velocities ∂_kε and ∂_Qε_{k+Q}.
    """
    eps, vel = check_kdata(eps, vel)
    v2 = _second(vel, vel2)
    nb = len(eps)
    D = vel.shape[0]
    out = np.empty((nb, D, D))
    for start, stop in cluster_bounds(degenerate_clusters(eps, tol)):
        t = np.real(np.einsum("iab,jba->ij", vel[:, start:stop, start:stop],
                              v2[:, start:stop, start:stop])) / (stop - start)
        out[start:stop] = t
    return out


def band_hessians(eps, vel, d2h, tol=DEFAULT_DEGENERACY_TOL):
    """∂_i∂_jε_α from the effective-mass sum rule over the given bands (MeV fm²), (nb, D, D).

    ∂_i∂_jε_α = ⟨α|∂_i∂_jh|α⟩ + Σ_{β∉D(α)} 2 Re[ħv^i_αβ ħv^j_βα]/(ε_α − ε_β). Exact only for
    a *complete* band set: every band above a truncated set contributes a negative term, so
    deep, nearly flat bands look dispersive when the set is truncated. For checks only.
    """
    eps, vel, d2h = check_kdata(eps, vel, d2h)
    lab = degenerate_clusters(eps, tol)
    P = velocity_products(vel)
    de = eps[:, None] - eps[None, :]
    same = lab[:, None] == lab[None, :]
    inv = np.where(same, 0.0, 2.0 / np.where(same, 1.0, de))
    return np.einsum("ijab,ab->aij", P, inv) + np.moveaxis(d2h, 2, 0)


# ------------------------------------------------------------- integrands
def intraband_integrand(eps, gap, mu, vprod, temperature: float = 0.0):
    """Σ_α w_α ⟨∂_iε ∂_jε⟩_α (MeV fm²), (D, D): the velocity-only intraband form, w of
    :func:`intraband_weight` (Δ²/E³ at T = 0).

    ``vprod`` from :func:`cluster_products` (with the current-corrected vertex for the
    level's current variant).
    """
    return np.einsum("a,aij->ij", intraband_weight(eps, gap, mu, temperature), vprod)


def gap_gradient_integrand(eps, gap, mu, dgap, vel, vel2=None, tol=DEFAULT_DEGENERACY_TOL,
                           temperature: float = 0.0):
    """−Σ_α (ξ_αΔ_α/E_α³) ½(∂_iΔ_α ∂_jε_α + ∂_iε_α ∂_jΔ_α) (MeV fm²), (D, D).

    The part of the intraband form that a k-dependent gap adds: integrating the curvature
    form Σ (1 − ξ/E) ∂_i∂_jε by parts gives Σ ∂_i(ξ/E) ∂_jε with
    ∂(ξ/E) = (Δ²/E³) ∂ξ − (ξΔ/E³) ∂Δ; the first term is :func:`intraband_integrand`, this
    is the second (symmetrised; the BZ integral of the antisymmetric part vanishes). At
    T > 0, ξΔ/E³ becomes −∂_Δ[(ξ/E) tanh(E/2T)] = (ξΔ/E²)(tanh/E − (1/2T) sech²).
    ``dgap`` (D, nb) = ∇_kΔ_αk (MeV fm); ∂ε_α = Re ħv2_αα (the current-corrected vertex
    in the current variant, as in the other factor of :func:`cluster_products`).
    """
    eps, vel, gap = check_kdata(eps, vel, None, gap)
    gap = np.asarray(gap, dtype=float)
    v2 = _second(vel, vel2)
    xi, E, _ = quasiparticle(eps, gap, mu)
    th, s = thermal_factors(E, temperature)
    with np.errstate(invalid="ignore", divide="ignore"):
        Es = np.where(E > 0, E, 1.0)
        w = np.where(E > 0, xi * gap / Es**2 * (th / Es - s), 0.0)
    # a copy: einsum's diagonal is a view of the vertex, which the cluster means below
    # would overwrite
    de = np.array(np.real(np.einsum("iaa->ia", v2)))
    dgap = np.array(dgap, dtype=float)
    # Inside a subspace of equal ε and equal Δ the basis is arbitrary: there the band-wise
    # ∂Δ and ∂ε are replaced by their subspace means (traces, basis invariant).
    lab = degenerate_clusters(eps, tol)
    for start, stop in cluster_bounds(lab):
        if stop - start < 2:
            continue
        sub = degenerate_clusters(gap[start:stop], tol)
        for s0, s1 in cluster_bounds(sub):
            if s1 - s0 > 1:
                sl = slice(start + s0, start + s1)
                dgap[:, sl] = dgap[:, sl].mean(axis=1, keepdims=True)
                de[:, sl] = de[:, sl].mean(axis=1, keepdims=True)
    t = np.einsum("a,ia,ja->ij", w, dgap, de)
    return -0.5 * (t + t.T)


def intraband_curvature_integrand(eps, gap, mu, hess):
    """Σ_α (1 − ξ_α/E_α) ∂_i∂_jε_α (MeV fm²): the curvature form (complete band sets only)."""
    return np.einsum("a,aij->ij", bcs_occupation(eps, gap, mu), hess)


def form_a_integrand(eps, gap, mu, vel, d2h, vel2=None, d2h2=None, temperature: float = 0.0):
    """Form A: diamagnetic Σ_α(1−ξ/E) d2h2_α + paramagnetic Σ_{α≠β} c_αβ Re[v^i_αβ v2^j_βα].

    ``vel2``/``d2h2``: the current-corrected vertex and its second k-derivative (default:
    ``vel``, ``d2h``). Returns (total, diamagnetic, paramagnetic), each (D, D), MeV fm².
    At T > 0: occupation 1 − (ξ/E) tanh(E/2T) and c_αβ(T) of
    :func:`thermal_pair_coefficients` for every pair, α = β included (thermal quasiparticles).
    """
    eps, vel, d2h, gap = check_kdata(eps, vel, d2h, gap)
    xi, E, x = quasiparticle(eps, gap, mu)
    if np.any(E <= 0):
        raise InputError("Form A needs Δ > 0 at ξ = 0 (E = 0 found); use the normal level for Δ = 0")
    d2 = d2h if d2h2 is None else np.asarray(d2h2, dtype=float)
    if temperature > 0:
        pair, scatter = thermal_pair_coefficients(xi[:, None], xi[None, :], gap[:, None],
                                                  gap[None, :], temperature)
        c = pair + scatter
        occ = 1.0 - x * thermal_factors(E, temperature)[0]
    else:
        c = paramagnetic_coefficient(xi[:, None], xi[None, :], gap[:, None], gap[None, :])
        np.fill_diagonal(c, 0.0)
        occ = 1.0 - x
    dia = np.einsum("a,ija->ij", occ, d2)
    para = pair_sum(vel, c, vel2)
    return dia + para, dia, para


def interband_bracket(eps, gap, mu, tol=DEFAULT_DEGENERACY_TOL, temperature: float = 0.0):
    """[g_αβ + c_αβ] (MeV⁻¹), (nb, nb): Form B's interband coefficient.

    Pairs inside one degenerate cluster get c_αβ alone (their g is the intraband weight,
    already in the velocity form); the diagonal is zero. At T > 0: g of (ξ/E) tanh(E/2T),
    and c_αβ(T) (:func:`thermal_pair_coefficients`) outside clusters; inside a cluster only
    its pair-creation part (the scattering part of equal energies is the Landau term of the
    velocity form, :func:`intraband_weight`).
    """
    eps = np.asarray(eps, dtype=float)
    gap = np.broadcast_to(np.asarray(gap, dtype=float), eps.shape)
    xi, E, _ = quasiparticle(eps, gap, mu)
    if np.any(E <= 0):
        raise InputError("Form B needs Δ > 0 at ξ = 0 (E = 0 found); use the normal level for Δ = 0")
    lab = degenerate_clusters(eps, tol)
    same = lab[:, None] == lab[None, :]
    g = divided_difference_x(xi[:, None], xi[None, :], gap[:, None], gap[None, :],
                             temperature=temperature)
    if temperature > 0:
        pair, scatter = thermal_pair_coefficients(xi[:, None], xi[None, :], gap[:, None],
                                                  gap[None, :], temperature)
        bracket = np.where(same, pair, g + pair + scatter)
    else:
        c = paramagnetic_coefficient(xi[:, None], xi[None, :], gap[:, None], gap[None, :])
        bracket = np.where(same, c, g + c)
    np.fill_diagonal(bracket, 0.0)
    return bracket


def form_b_integrand(eps, gap, mu, vel, vel2=None, tol=DEFAULT_DEGENERACY_TOL, vprod=None,
                     temperature: float = 0.0):
    """Form B: velocity-only intraband + interband bracket over all computed pairs (MeV fm²).

    ``vprod``: :func:`cluster_products` of the same vertices, if already computed.
    Returns (intraband (D, D), interband (D, D)).
    """
    eps, vel, gap = check_kdata(eps, vel, None, gap)
    if vprod is None:
        vprod = cluster_products(eps, vel, vel2, tol)
    intra = intraband_integrand(eps, gap, mu, vprod, temperature)
    inter = pair_sum(vel, interband_bracket(eps, gap, mu, tol, temperature), vel2)
    return intra, inter


def gaussian_delta(x, sigma):
    """Normalised Gaussian δ_σ(x) = exp(−x²/σ²)/(σ√π) (MeV⁻¹)."""
    return np.exp(-(x / sigma) ** 2) / (sigma * math.sqrt(math.pi))


def gaussian_occupation(x, sigma):
    """∫_x^∞ δ_σ = ½ erfc(x/σ): the occupation (per spin) matching :func:`gaussian_delta`."""
    return 0.5 * erfc(x / sigma)


def fermi_surface_integrand(eps, mu, sigma, vprod):
    """2 Σ_α δ_σ(ε_α − μ) ⟨∂_iε ∂_jε⟩_α (MeV fm²), (D, D): the Fermi-surface formula, smeared.

    ``vprod`` from :func:`cluster_products`. The factor 2 is the spin factor:
    ρ_s^{ij} = m_n² (2/ħ²) ∫_BZ d³k/(2π)³ Σ_α δ(ε_α−μ) ∂_iε_α∂_jε_α, i.e.
    ρ_s/m_n = (1/(2 b0 V)) Σ_k w_k · [this integrand]; the Δ → 0 limit of the intraband
    integrand (Δ²/E³ → 2δ(ξ)).
    """
    w = gaussian_delta(np.asarray(eps, dtype=float) - mu, sigma)
    return 2.0 * np.einsum("a,aij->ij", w, vprod)


# ---------------------------------------------------------- number equations
def _bracket_root(f, lo, hi, what):
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
        raise InputError(f"cannot bracket the chemical potential for {what}: the computed bands "
                         "cannot hold the requested neutron density (too few bands: raise the "
                         "number of bands, e.g. [bands] nbands or margin, or nev)")
    return brentq(f, lo, hi, xtol=1e-13, rtol=1e-15, maxiter=500)


def density_normal(energies, weights, volume, mu, sigma=0.0):
    """n = (2/V) Σ_k w_k Σ_α f(ε_α − μ) (fm⁻³): step (σ = 0) or ½erfc smearing."""
    e = np.asarray(energies, dtype=float)
    if sigma > 0:
        occ = gaussian_occupation(e - mu, sigma)
    else:
        occ = (e < mu).astype(float) + 0.5 * (e == mu)
    return 2.0 * float(np.tensordot(weights, occ.sum(axis=-1), axes=(0, 0))) / volume


def density_bcs(energies, gaps, weights, volume, mu, temperature: float = 0.0):
    """n = (1/V) Σ_k w_k Σ_α (1 − (ξ_α/E_α) tanh(E_α/2T)) (fm⁻³)."""
    occ = bcs_occupation(energies, gaps, mu, temperature)
    return float(np.tensordot(weights, occ.sum(axis=-1), axes=(0, 0))) / volume


def solve_mu_normal(energies, weights, volume, n, sigma):
    """μ (MeV) with :func:`density_normal` = n at smearing σ > 0."""
    e = np.asarray(energies, dtype=float)
    return _bracket_root(lambda m: density_normal(e, weights, volume, m, sigma) - n,
                         float(e.min()) - 1.0, float(e.max()), "the normal-state level")


def solve_mu_bcs(energies, gaps, weights, volume, n, temperature: float = 0.0):
    """μ (MeV) with :func:`density_bcs` = n."""
    e = np.asarray(energies, dtype=float)
    return _bracket_root(lambda m: density_bcs(e, gaps, weights, volume, m, temperature) - n,
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


# ------------------------------------------------------------- symmetry
def symmetrise(tensor, operations):
    """(1/|ops|) Σ_R R T Rᵀ for Cartesian rank-2 tensors T (D, D) or (..., D, D)."""
    ops = np.asarray(operations, dtype=float)
    return np.einsum("gia,...ab,gjb->...ij", ops, tensor, ops) / len(ops)
