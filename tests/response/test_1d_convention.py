"""1D cosine-lattice convention check of the response kernels.

An independently coded BdG grand potential Ω(Q) in a plane-wave basis (ħ²/2m = 1, a = 1,
h(k) = (k+G)² δ_GG' + V0 (δ_{G,G'+b} + δ_{G,G'−b}), b = 2π, gap Δ·1 on the complete basis,
fixed in the superfluid frame) is differentiated twice in Q by finite differences and
compared with the response kernels (Form A, Form B, intraband), which only receive band
energies and ⟨α|∂h/∂k|β⟩. Reference numbers: ∂²Ω/∂Q² = 9.831602 at V0 = 3, μ = 60, Δ = 2, and
the V0 = 15, μ = 60 table (``docs/physics/crust-superfluidity.md``, "checks").

The current-field vertex of the superflow is checked the same way: the current field
I = −2 f(x) Q induced by the flow adds −(i/2){I, ∇ + ip} = Q·∂_pT[−f] to the Hamiltonian of a
state of Bloch vector p (T[X] the kinetic operator of coefficient X); with a probe A of the
current (p → p + A for every state), ∂²Ω/∂A∂Q = Form A with the current vertex in one factor,
at every k-point (second-order perturbation theory).
"""

import numpy as np
import pytest

from crustsolve.response import kernels as K

NG = 41
G = 2.0 * np.pi * (np.arange(NG) - NG // 2)


def h_pw(k, V0):
    h = np.diag((k + G) ** 2) + V0 * (np.eye(NG, k=1) + np.eye(NG, k=-1))
    return h


def omega(Q, V0, mu, delta, ks):
    """Ω(Q) = ∫dk/2π [Tr(h(k−Q) − μ) − Σ_{E_n>0} E_n], gap Δ·1 (complete basis)."""
    tot = 0.0
    I = np.eye(NG)
    for k in ks:
        hp = h_pw(k + Q, V0) - mu * I
        hm = h_pw(k - Q, V0) - mu * I
        H = np.block([[hp, delta * I], [delta * I, -hm]])
        E = np.linalg.eigvalsh(H)
        tot += np.trace(hm) - E[E > 0].sum()
    return tot / len(ks)          # ∫_{-π}^{π} dk/2π = mean over the uniform mesh


def kernel_inputs(k, V0):
    eps, U = np.linalg.eigh(h_pw(k, V0))
    dh = np.diag(2.0 * (k + G))
    vel = (U.conj().T @ dh @ U)[None]
    d2h = np.full((1, 1, NG), 2.0)
    return eps, vel, d2h


def formulas(V0, mu, delta, ks):
    """k-means of Form A, Form B (velocity intraband + bracket), the intraband level, and n."""
    a = bi = intra = n = 0.0
    for k in ks:
        eps, vel, d2h = kernel_inputs(k, V0)
        gap = np.full(NG, delta)
        a += K.form_a_integrand(eps, gap, mu, vel, d2h)[0][0, 0]
        i_, inter = K.form_b_integrand(eps, gap, mu, vel)
        intra += i_[0, 0]
        bi += i_[0, 0] + inter[0, 0]
        n += K.bcs_occupation(eps, gap, mu).sum()
    m = len(ks)
    return a / m, bi / m, intra / m, n / m


def fd_d2_omega(V0, mu, delta, ks, dq):
    """Central second difference ∂²Ω/∂Q² at Q = 0 (the independent side of the checks)."""
    om = [omega(q, V0, mu, delta, ks) for q in (-dq, 0.0, dq)]
    return (om[0] - 2 * om[1] + om[2]) / dq**2


def kmesh(nk):
    return -np.pi + 2 * np.pi * (np.arange(nk) + 0.5) / nk


@pytest.mark.slow
def test_fd_grand_potential_matches_formulas_v0_3():
    V0, mu, delta = 3.0, 60.0, 2.0
    ks = kmesh(2000)
    d2 = fd_d2_omega(V0, mu, delta, ks, dq=1e-3)
    a, b, intra, n = formulas(V0, mu, delta, ks)
    assert d2 == pytest.approx(9.831602, abs=2e-5)     # the reference number
    assert a == pytest.approx(9.831601, abs=2e-6)
    # Form B's velocity-only intraband part equals the curvature form after the k-integral:
    # 2000 points resolve the Δ = 2 peak (δk v_F ≈ 0.05 ≪ Δ), so A = B to 1e-7.
    assert b == pytest.approx(a, rel=1e-7)
    assert a == pytest.approx(d2, abs=2e-5)


def test_formulas_v0_3_fast():
    """Same check with the reference numbers, formulas only (fast; FD Ω is the slow test)."""
    a, b, intra, n = formulas(3.0, 60.0, 2.0, kmesh(2000))
    assert a == pytest.approx(9.831601, abs=2e-6)
    assert b == pytest.approx(a, rel=1e-7)


def test_fd_grand_potential_small_mesh():
    """FD ∂²Ω/∂Q² = Form A on the same (coarse) k mesh: mesh-independent identity."""
    V0, mu, delta = 3.0, 60.0, 2.0
    ks = kmesh(64)
    d2 = fd_d2_omega(V0, mu, delta, ks, dq=2e-3)
    a, b, intra, n = formulas(V0, mu, delta, ks)
    # Shifting k by ±Q on a discrete mesh is not a relabelling, so agreement is only
    # up to the mesh error of the smooth (Δ = 2) integrand; the 2000-point test is tight.
    assert a == pytest.approx(d2, rel=2e-3)


@pytest.mark.parametrize("delta, intra_ref, full_ref", [
    pytest.param(0.02, 0.92865, 0.92865, marks=pytest.mark.slow),
    (2.0, 0.92229, 0.92872), (8.0, 0.87211, 0.93322)])
def test_table_v0_15(delta, intra_ref, full_ref):
    # Δ = 0.02 needs δk ≲ Δ/v_F ~ 1e-3: use a denser mesh there.
    nk = 16000 if delta < 0.1 else 2000
    a, b, intra, n = formulas(15.0, 60.0, delta, kmesh(nk))
    # ρ_s/ρ = (∂²Ω/2b0)/n with b0 = ħ²/2m = 1 (the kernels' integrand is ∂²Ω).
    assert intra / (2 * n) == pytest.approx(intra_ref, abs=6e-5)
    assert b / (2 * n) == pytest.approx(full_ref, abs=6e-5)
    # Form A against the velocity-only Form B: equal after the k-integral (mesh error)
    assert a == pytest.approx(b, rel=5e-5)


# ----------------------------------------------------------- current-field vertex
def current_vertex_pw(p, f0, f1):
    """∂_pT[−f] = −((p+G) + (p+G')) f̃(G − G') for f(x) = f0 + 2 f1 cos(2πx) (plane waves)."""
    q = p + G
    ft = f0 * np.eye(NG) + f1 * (np.eye(NG, k=1) + np.eye(NG, k=-1))
    return -(q[:, None] + q[None, :]) * ft


def omega_current(A, Q, V0, mu, delta, f0, f1, ks):
    """Ω(A, Q): spin-up particles at k+Q+A with the current-field term Q·∂T[−f](k+Q+A); the
    holes are the time-reversed spin-down partners at −k+Q+A (conjugation flips the sign of
    the odd vertex)."""
    tot = 0.0
    I = np.eye(NG)
    for k in ks:
        hp = h_pw(k + A + Q, V0) + Q * current_vertex_pw(k + A + Q, f0, f1)
        hm = h_pw(k - Q - A, V0) - Q * current_vertex_pw(k - Q - A, f0, f1)
        H = np.block([[hp - mu * I, delta * I], [delta * I, -(hm - mu * I)]])
        E = np.linalg.eigvalsh(H)
        tot += np.trace(hm - mu * I) - E[E > 0].sum()
    return tot / len(ks)


def current_formulas(V0, mu, delta, f0, f1, ks):
    """Form A and Form B with the current vertex w = ∂T[−f]/∂k in one factor."""
    a = b = 0.0
    for k in ks:
        eps, U = np.linalg.eigh(h_pw(k, V0))
        q = k + G
        ft = f0 * np.eye(NG) + f1 * (np.eye(NG, k=1) + np.eye(NG, k=-1))
        w = current_vertex_pw(k, f0, f1)
        vel = (U.T @ np.diag(2.0 * q) @ U)[None]
        v2 = vel + (U.T @ w @ U)[None]
        d2 = np.full((1, 1, NG), 2.0)
        d2w = np.einsum("ia,ij,ja->a", U, -2.0 * ft, U)     # ⟨α|∂²T[−f]/∂k²|α⟩
        gap = np.full(NG, delta)
        a += K.form_a_integrand(eps, gap, mu, vel, d2, vel2=v2, d2h2=d2 + d2w[None, None])[0][0, 0]
        i_, inter = K.form_b_integrand(eps, gap, mu, vel, v2)
        b += i_[0, 0] + inter[0, 0]
    return a / len(ks), b / len(ks)


@pytest.mark.parametrize("f0, f1", [(0.0, 0.0), (0.3, 0.0), (0.25, 0.1)])
def test_current_vertex_against_mixed_derivative_of_omega(f0, f1):
    """∂²Ω/∂A∂Q by central differences = Form A with the current vertex, at single k-points
    (an identity of second-order perturbation theory); without the current field it is the
    ordinary ∂²Ω/∂Q²."""
    V0, mu, delta = 3.0, 60.0, 2.0
    for k in (0.37, -1.91, 2.6):
        ks = np.array([k])
        # Step: the O(d²) error is ≤ 6e-7 relative at d = 1e-2, while the round-off of the
        # eigenvalue sums (|Ω| ≈ 200, ~1e-13 absolute, depends on the BLAS threading) over
        # 4d² reaches 1e-5 relative at d = 1e-3 — so the larger step is the accurate one.
        d = 1e-2
        om = {(sa, sq): omega_current(sa * d, sq * d, V0, mu, delta, f0, f1, ks)
              for sa in (-1, 1) for sq in (-1, 1)}
        mixed = (om[1, 1] - om[1, -1] - om[-1, 1] + om[-1, -1]) / (4 * d * d)
        a, _ = current_formulas(V0, mu, delta, f0, f1, ks)
        assert a == pytest.approx(mixed, rel=1e-5), k


def test_current_vertex_uniform_coefficient_is_galilean():
    """Constant f = 1 − b (ħ²/2m = 1 → b): the vertex rescales every velocity by b, so both
    forms scale by b exactly — the uniform-matter statement ρ_s = m n_n with b = ħ²/2m_bare."""
    V0, mu, delta = 3.0, 60.0, 2.0
    ks = kmesh(400)
    a0, b0 = current_formulas(V0, mu, delta, 0.0, 0.0, ks)
    a1, b1 = current_formulas(V0, mu, delta, 0.4, 0.0, ks)
    assert a1 == pytest.approx(0.6 * a0, rel=1e-12)
    assert b1 == pytest.approx(0.6 * b0, rel=1e-12)


# ------------------------------------------------ state-dependent gap Δ_αk = ⟨αk|Δ(x)|αk⟩
def gap_operator(D0, D1):
    """Δ(x) = D0 + D1 cos(2πx) in the plane-wave basis (a real, local pair field)."""
    return D0 * np.eye(NG) + 0.5 * D1 * (np.eye(NG, k=1) + np.eye(NG, k=-1))


def band_gaps(k, V0, Dmat):
    eps, U = np.linalg.eigh(h_pw(k, V0))
    return eps, U, np.real(np.diag(U.conj().T @ Dmat @ U))


def test_gap_gradient_against_finite_differences():
    """∇_kΔ_αk by first-order perturbation theory (the band engine's formula) against a
    central difference of the band-diagonal gaps (no degeneracies at this k)."""
    from crustsolve.response.matrix_elements import gap_gradient

    V0, Dmat, k, dk = 15.0, gap_operator(1.0, 0.8), 0.37 * np.pi, 1e-5
    eps, vel, _ = kernel_inputs(k, V0)
    _, U, _ = band_gaps(k, V0, Dmat)
    got = gap_gradient(eps, U.conj().T @ Dmat @ U, vel, np.arange(NG))[0]
    fd = (band_gaps(k + dk, V0, Dmat)[2] - band_gaps(k - dk, V0, Dmat)[2]) / (2 * dk)
    low = slice(0, 12)                  # bands well inside the complete 41-wave basis
    np.testing.assert_allclose(got[low], fd[low], rtol=1e-6, atol=1e-8)


def test_state_dependent_gap_form_a_equals_form_b():
    """With Δ_αk varying from band to band and with k, the curvature (diamagnetic) form and
    the velocity form agree after the k-integral only with the ∇_kΔ term; Form A and Form B
    then agree. Complete basis, dense mesh: the curvature form is exact here."""
    from crustsolve.response.matrix_elements import gap_gradient

    V0, mu, Dmat = 15.0, 60.0, gap_operator(2.0, 1.5)
    sums = dict(curv=0.0, vel=0.0, grad=0.0, a=0.0, b=0.0)
    ks = kmesh(400)
    for k in ks:
        eps, vel, d2h = kernel_inputs(k, V0)
        _, U, gaps = band_gaps(k, V0, Dmat)
        dgap = gap_gradient(eps, U.conj().T @ Dmat @ U, vel, np.arange(NG))
        hess = K.band_hessians(eps, vel, d2h)
        sums["curv"] += K.intraband_curvature_integrand(eps, gaps, mu, hess)[0, 0]
        vprod = K.cluster_products(eps, vel)
        sums["vel"] += K.intraband_integrand(eps, gaps, mu, vprod)[0, 0]
        sums["grad"] += K.gap_gradient_integrand(eps, gaps, mu, dgap, vel)[0, 0]
        sums["a"] += K.form_a_integrand(eps, gaps, mu, vel, d2h)[0][0, 0]
        intra, inter = K.form_b_integrand(eps, gaps, mu, vel)
        sums["b"] += intra[0, 0] + inter[0, 0] + K.gap_gradient_integrand(
            eps, gaps, mu, dgap, vel)[0, 0]
    s = {key: v / len(ks) for key, v in sums.items()}
    assert abs(s["grad"]) > 1e-3 * abs(s["vel"])          # the term matters here
    assert s["vel"] + s["grad"] == pytest.approx(s["curv"], rel=1e-6)
    assert s["b"] == pytest.approx(s["a"], rel=1e-6)


# ------------------------------------------------------------------ finite temperature
def omega_t(Q, V0, mu, delta, ks, T):
    """Ω(Q, T) = ∫dk/2π [Tr(h(k−Q) − μ) − T Σ_n ln(1 + e^{−e_n/T})] over all BdG eigenvalues
    e_n (→ Ω(Q) of ``omega`` as T → 0), gap Δ·1 fixed."""
    tot = 0.0
    I = np.eye(NG)
    for k in ks:
        hp = h_pw(k + Q, V0) - mu * I
        hm = h_pw(k - Q, V0) - mu * I
        e = np.linalg.eigvalsh(np.block([[hp, delta * I], [delta * I, -hm]]))
        tot += np.trace(hm) - T * np.logaddexp(0.0, -e / T).sum()
    return tot / len(ks)


@pytest.mark.parametrize("T", [0.5, 1.5])
def test_finite_temperature_against_the_grand_potential(T):
    """At T > 0 (fixed gap) Form A, Form B and the intraband level with thermal factors
    against ∂²Ω(Q, T)/∂Q² by central differences, on one mesh (V0 = 3, μ = 60, Δ = 2); the
    normal-fluid (thermal quasiparticle) term lowers the response below its T = 0 value."""
    V0, mu, delta, dq = 3.0, 60.0, 2.0, 2e-3
    ks = kmesh(400)
    om = [omega_t(q, V0, mu, delta, ks, T) for q in (-dq, 0.0, dq)]
    d2 = (om[0] - 2 * om[1] + om[2]) / dq**2
    a = b = a0 = 0.0
    for k in ks:
        eps, vel, d2h = kernel_inputs(k, V0)
        gap = np.full(NG, delta)
        a += K.form_a_integrand(eps, gap, mu, vel, d2h, temperature=T)[0][0, 0]
        i_, inter = K.form_b_integrand(eps, gap, mu, vel, temperature=T)
        b += i_[0, 0] + inter[0, 0]
        a0 += K.form_a_integrand(eps, gap, mu, vel, d2h)[0][0, 0]
    a, b, a0 = a / len(ks), b / len(ks), a0 / len(ks)
    assert a == pytest.approx(d2, rel=2e-3)       # the mesh error of shifting k by ±Q
    assert b == pytest.approx(a, rel=1e-5)
    assert a < a0 - 1e-3 * a0


def test_free_gas_normal_fluid_is_the_yosida_function():
    """Uniform gas (V0 = 0): ρ_s(T)/ρ = 1 − Y(T), Y the Yosida function of the core module
    (its own quadrature), at fixed gap Δ and T = 0.6 Δ, from the intraband level."""
    from crustsolve.core.finite_t import yosida

    mu, delta, T = 60.0, 2.0, 1.2
    ks = kmesh(4000)
    intra = n = 0.0
    for k in ks:
        eps, vel, d2h = kernel_inputs(k, 0.0)
        gap = np.full(NG, delta)
        intra += K.intraband_integrand(eps, gap, mu, K.cluster_products(eps, vel),
                                       temperature=T)[0, 0]
        n += K.bcs_occupation(eps, gap, mu, T).sum()
    frac = intra / (2 * n)                             # b0 = 1
    assert frac == pytest.approx(1.0 - yosida(T, delta), abs=2e-3)


def test_gap_gradient_term_leaves_its_inputs_alone():
    """The degenerate-subspace means act on copies (the vertex is shared by every level)."""
    rng = np.random.default_rng(5)
    eps = np.array([-1.0, 0.5, 0.5, 2.0])
    gap = np.array([1.0, 1.2, 1.2, 0.9])                  # a subspace of equal ε and Δ
    vel = rng.normal(size=(3, 4, 4)) + 1j * rng.normal(size=(3, 4, 4))
    vel = vel + vel.conj().transpose(0, 2, 1)
    dgap = rng.normal(size=(3, 4))
    v0, d0 = vel.copy(), dgap.copy()
    K.gap_gradient_integrand(eps, gap, 0.3, dgap, vel)
    np.testing.assert_array_equal(vel, v0)
    np.testing.assert_array_equal(dgap, d0)
