"""Superfluid density from FD band structures (the PETSc/SLEPc pipeline) against independent values.

References, each computed here without the package's response code:

* the FD free gas (all n³ plane waves of the grid, with the analytic staggered-FD symbol);
* the separable cosine lattice U = V Σ_d cos(2πx_d/a): its FD Hamiltonian is exactly the sum
  of three 1D problems in the grid-Fourier basis (FD symbol on the diagonal, V/2 couplings),
  so every level follows from 1D diagonalisations with formulas written in this file;
* finite-Q calculations of the current-field vertex: eigenvalue differences of the twisted
  Hamiltonian (intraband level) and the mixed derivative ∂²Ω/∂A∂Q of the BdG grand
  potential (Form A), both from dense Hamiltonian matrices;
* the complete band set (every eigenvector of the grid) for the band-truncation estimate;
* the core module's ρ_nn for uniform Skyrme matter.
"""
import math

import numpy as np
import pytest
from mpi4py import MPI

from crustsolve.bands import BlochHamiltonian, Fields, Grid
from crustsolve.bands.hamiltonian import gather_dense
from crustsolve.bands.kmesh import KMesh
from crustsolve.constants import HBAR2_2MN
from crustsolve.errors import InputError
from crustsolve.response.superfluid import CurrentTerm, GapSpec

N, A_CELL = 8, 10.0
B0 = HBAR2_2MN


# --------------------------------------------------------- order-4 staggered FD symbol
def _sigma4(theta):
    """σ(θ) = 2(a1 sin(θ/2) + a2 sin(3θ/2)), a = (27, −1)/24, and its first two derivatives."""
    a1, a2 = 27 / 24, -1 / 24
    s = 2 * (a1 * np.sin(theta / 2) + a2 * np.sin(1.5 * theta))
    s1 = 2 * (a1 * 0.5 * np.cos(theta / 2) + a2 * 1.5 * np.cos(1.5 * theta))
    s2 = 2 * (-a1 * 0.25 * np.sin(theta / 2) - a2 * 2.25 * np.sin(1.5 * theta))
    return s, s1, s2


# ---------------------------------------------------------------- reference BCS levels
def _clusters(e, tol=1e-7):
    """[(start, stop)] of the runs of (nearly) equal sorted energies."""
    edges = np.flatnonzero(np.diff(e) > tol) + 1
    return list(zip(np.concatenate([[0], edges]), np.concatenate([edges, [len(e)]])))


def reference_levels(eps, vel, d2, mu, gap, sigmas):
    """One k-point's integrands, diagonal components (3,) in MeV fm²: normal (per σ),
    intraband (Δ²/E³ times the cluster trace of v^i v^i), Form A (1 − ξ/E)d2 + c|v|², Form B
    (intraband + (g + c)|v|², pairs inside clusters with c only). ``d2`` (3, nb)."""
    xi = eps - mu
    E = np.hypot(xi, gap)
    occ = 1 - xi / E
    P = np.einsum("iab,iba->iab", vel, vel).real           # |v^i_ab|² per direction
    vv = np.zeros((3, len(eps)))
    same = np.zeros((len(eps),) * 2, dtype=bool)
    for s0, s1 in _clusters(eps):
        vv[:, s0:s1] = np.trace(P[:, s0:s1, s0:s1], axis1=1, axis2=2)[:, None] / (s1 - s0)
        same[s0:s1, s0:s1] = True
    Ea, Eb = E[:, None], E[None, :]
    xa, xb = xi[:, None], xi[None, :]
    c = (xa * xb + gap**2 - Ea * Eb) / (Ea * Eb * (Ea + Eb))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(same, 0.0, (xa / Ea - xb / Eb) / np.where(same, 1.0, xa - xb))
    np.fill_diagonal(c, 0.0)
    intra = np.sum(gap**2 / E**3 * vv, axis=1)
    normal = [2 * np.sum(np.exp(-(xi / s) ** 2) / (s * math.sqrt(math.pi)) * vv, axis=1)
              for s in sigmas]
    return {"normal": np.array(normal), "intraband": intra,
            "form_a": np.sum(occ * d2, axis=1) + np.sum(c * P, axis=(1, 2)),
            "form_b": intra + np.sum((g + c) * P, axis=(1, 2))}


# ---------------------------------------------------------------- FD free gas
def fd_free_gas_reference(B, mu, gap, nmesh):
    """Form A and the intraband level of the FD free gas (all n³ plane waves), fixed μ."""
    h = A_CELL / N
    m = np.arange(N)
    J = (np.arange(nmesh) + 0.5) / nmesh
    ks = np.array(np.meshgrid(J, J, J, indexing="ij")).reshape(3, -1).T * 2 * np.pi / A_CELL
    G = np.array(np.meshgrid(m, m, m, indexing="ij")).reshape(3, -1).T * 2 * np.pi / A_CELL
    s, s1, s2 = _sigma4((ks[:, None, :] + G[None]) * h)
    eps = B / h**2 * (s**2).sum(-1)
    v = 2 * B * s * s1 / h                            # ∂ε/∂q_i per direction
    d2 = 2 * B * (s1**2 + s * s2)                     # ∂²ε/∂q_i²
    xi = eps - mu
    E = np.hypot(xi, gap)
    pref = 1 / (len(ks) * A_CELL**3 * 2 * B0)
    return {"form_a": np.sum((1 - xi / E)[..., None] * d2, axis=(0, 1)) * pref,
            "intraband": np.sum((gap**2 / E**3)[..., None] * v**2, axis=(0, 1)) * pref,
            "density": np.sum(1 - xi / E) / (len(ks) * A_CELL**3)}


@pytest.mark.mpi
@pytest.mark.parametrize("gap", [0.5, 2.0])
def test_free_gas_every_level_and_galilean_current_vertex(gap, solve):
    """FD free gas, complete band set: every level against the FD-symbol reference; the
    current vertex with C_nn n_n = B − b0 replaces B by b0 in one factor (and in the
    diamagnetic operator), which turns ρ_s = m_n² n/m⊕ into m_n n in the continuum limit
    (Galilean invariance); on the grid every level is multiplied by b0/B exactly."""
    B, mu = 0.8 * B0, 9.0
    f = Fields.uniform(N, A_CELL, U0=0.0, B0=B)
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    res = solve(f, km, gap=GapSpec("constant", gap), mu=mu, levels=("intraband", "form_a",
                "form_b"), current=CurrentTerm(coefficient=B - B0), truncation=False)
    ref = fd_free_gas_reference(B, mu, gap, 2)
    # dense eigenvectors to 1e-13; sums of ~4000 terms: 1e-9 relative
    np.testing.assert_allclose(np.diag(res.tensor("form_a")), ref["form_a"], rtol=1e-9)
    np.testing.assert_allclose(np.diag(res.tensor("intraband")), ref["intraband"], rtol=1e-9)
    np.testing.assert_allclose(np.diag(res.tensor("form_b")), ref["intraband"], rtol=1e-9)
    n = ref["density"]
    assert res.levels["form_a"].density == pytest.approx(n, rel=1e-10)
    np.testing.assert_allclose(np.diag(res.tensor("form_a", current=True)),
                               ref["form_a"] * B0 / B, rtol=1e-9)
    for lv in ("form_a", "intraband", "form_b"):
        np.testing.assert_allclose(res.tensor(lv, current=True), res.tensor(lv) * B0 / B,
                                   rtol=1e-9, atol=1e-16)


@pytest.mark.mpi
def test_free_gas_with_a_uniform_pair_field_is_the_empty_lattice(solve):
    """Δ(r) = const through the pair-field model (band-diagonal matrix elements, rotations in
    the degenerate clusters of the empty lattice, ∇_kΔ from perturbation theory, which must
    vanish): every level equals the FD free-gas reference of the constant gap."""
    B, mu, gap = 0.8 * B0, 9.0, 1.3
    f = Fields.uniform(N, A_CELL, U0=0.0, B0=B).replace(Delta=np.full((N,) * 3, gap))
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    res = solve(f, km, gap=GapSpec("field"), mu=mu, levels=("intraband", "form_a", "form_b"),
                truncation=False)
    ref = fd_free_gas_reference(B, mu, gap, 2)
    np.testing.assert_allclose(np.diag(res.tensor("form_a")), ref["form_a"], rtol=1e-9)
    np.testing.assert_allclose(np.diag(res.tensor("intraband")), ref["intraband"], rtol=1e-9)
    np.testing.assert_allclose(np.diag(res.tensor("form_b")), ref["intraband"], rtol=1e-9)
    assert res.gap_fermi_surface["mean_MeV"] == pytest.approx(gap, rel=1e-12)
    assert res.gap_fermi_surface["spread_MeV"] < 1e-9


# ----------------------------------------------------------- separable cosine lattice
def cosine_1d(k, V, B=B0):
    """1D FD problem in the grid-Fourier basis: energies, velocity and ∂²ε matrices."""
    h = A_CELL / N
    q = k + 2 * np.pi * np.arange(N) / A_CELL
    s, s1, s2 = _sigma4(q * h)
    H = np.diag(B * s**2 / h**2) + 0.5 * V * (np.roll(np.eye(N), 1, 0) + np.roll(np.eye(N), -1, 0))
    e, U = np.linalg.eigh(H)
    v = U.T @ np.diag(2 * B * s * s1 / h) @ U
    d2 = np.einsum("ia,i,ia->a", U, 2 * B * (s1**2 + s * s2), U)
    return e, v, d2


def cosine_3d_reference(kmesh, V, mu, gap, sigmas):
    """Mesh means of the diagonal tensor components n_s^{ii} (fm⁻³) from products of 1D
    solutions (all N³ bands); ``V`` one amplitude or one per direction (MeV)."""
    I = np.eye(N)
    Vs = np.broadcast_to(np.asarray(V, dtype=float), (3,))
    tot = {}
    for k, w in zip(kmesh.points, kmesh.weights):
        one = [cosine_1d(kd, Vd) for kd, Vd in zip(k, Vs)]
        e = (one[0][0][:, None, None] + one[1][0][None, :, None] + one[2][0][None, None, :]).ravel()
        order = np.argsort(e, kind="stable")
        vel = np.array([np.kron(np.kron(one[0][1], I), I), np.kron(np.kron(I, one[1][1]), I),
                        np.kron(np.kron(I, I), one[2][1])])[:, order][:, :, order]
        zero = np.zeros(N)
        d2 = np.array([(one[0][2][:, None, None] + zero[None, :, None] + zero[None, None, :]),
                       (zero[:, None, None] + one[1][2][None, :, None] + zero[None, None, :]),
                       (zero[:, None, None] + zero[None, :, None] + one[2][2][None, None, :])]
                      ).reshape(3, -1)[:, order]
        for key, val in reference_levels(e[order], vel, d2, mu, gap, sigmas).items():
            tot[key] = tot.get(key, 0.0) + w * val
    pref = 1 / (A_CELL**3 * 2 * B0)
    return {key: val * pref for key, val in tot.items()}


@pytest.mark.mpi
def test_separable_cosine_every_level_against_1d_reference(solve):
    """Complete band set, constant gap, fixed μ: normal (per smearing width), intraband, Form A
    and Form B equal the products-of-1D reference; the tensors are isotropic."""
    V, mu, gap, sig = -4.0, 9.0, 1.0, (3.0, 2.5, 2.0)
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    res = solve(Fields.separable_cosine(N, A_CELL, V=V), km, gap=GapSpec("constant", gap),
                mu=mu, smearing=sig, truncation=False)
    ref = cosine_3d_reference(KMesh.full(2, A_CELL, shift=True), V, mu, gap, sig)
    # round-off of the dense solve and of sums over 512² pairs: 1e-9 relative
    np.testing.assert_allclose(res.levels["normal"].details["scalar_per_sigma"],
                               ref["normal"].mean(axis=1), rtol=1e-9)
    for lv in ("intraband", "form_a", "form_b"):
        assert res.scalar(lv) == pytest.approx(ref[lv].mean(), rel=1e-9), lv
        T = res.tensor(lv)
        np.testing.assert_allclose(T, res.scalar(lv) * np.eye(3), atol=1e-10 * res.scalar(lv))


# ---------------------------------------------------------------- current vertex, finite Q
def _dense_h(fields, k, comm=MPI.COMM_SELF, deriv=None):
    grid = Grid(fields.n, fields.a, comm=comm)
    H = BlochHamiltonian(grid, fields, order=4)
    try:
        A = H.matrix(k) if deriv is None else H.dmatrix(k, deriv)
        D = gather_dense(grid, A)
        A.destroy()
        return D
    finally:
        H.destroy()
        grid.destroy()


def _kinetic(f, k, deriv=None):
    """T[−f](k) (or ∂T[−f]/∂k_d) from two ordinary Hamiltonians: T[c − f] − T[c]."""
    c = 10.0 + np.abs(f).max()
    shape = f.shape
    return (_dense_h(Fields(U=np.zeros(shape), B=c - f, a=A_CELL), k, deriv=deriv)
            - _dense_h(Fields(U=np.zeros(shape), B=np.full(shape, c), a=A_CELL), k, deriv=deriv))


def _modulated():
    x = np.arange(N) * A_CELL / N
    c = np.cos(2 * np.pi * x / A_CELL)
    cos3 = c[:, None, None] + c[None, :, None] + c[None, None, :]
    U = -4.0 * cos3
    B = B0 * (1.0 + 0.05 * cos3)
    f = 3.0 + 1.2 * cos3                              # C_nn n_n, MeV fm²
    return Fields(U=U, B=B, a=A_CELL), f


K_GENERIC = np.array([0.071, -0.113, 0.157])          # no degeneracies at this k


def test_kinetic_vertex_is_the_derivative_of_the_kinetic_operator():
    """The current vertex ∂T[−f]/∂k equals the k-derivative of T[−f] built from ordinary
    Hamiltonians (including a negative coefficient)."""
    fields, f = _modulated()
    grid = Grid(N, A_CELL, comm=MPI.COMM_SELF)
    H = BlochHamiltonian(grid, fields, order=4)
    try:
        W = H.kinetic_vertex(-f)
        for d in range(3):
            M = W.dmatrix(K_GENERIC, d)
            got = gather_dense(grid, M)
            M.destroy()
            np.testing.assert_allclose(got, _kinetic(f, K_GENERIC, d), atol=1e-11)
    finally:
        H.destroy()
        grid.destroy()


def test_current_vertex_intraband_against_twisted_eigenvalues(solve):
    """Intraband level with the current vertex = Σ Δ²/E³ ∂_kε · ∂_Qε, both derivatives by
    central differences of eigenvalues: k ± δ, and h(k) + T[−f](k ± Qê) − T[−f](k)."""
    fields, f = _modulated()
    gap, mu, d = 1.0, 12.0, 1e-6
    km = KMesh.explicit([K_GENERIC], A_CELL)
    res = solve(fields, km, gap=GapSpec("constant", gap), mu=mu, levels=("intraband",),
                current=CurrentTerm(coefficient=f), comm=MPI.COMM_SELF, truncation=False)
    h0 = _dense_h(fields, K_GENERIC)
    T0 = _kinetic(f, K_GENERIC)
    e0 = np.linalg.eigvalsh(h0)
    tot = tot0 = 0.0
    for i in range(3):
        dk = np.zeros(3)
        dk[i] = d
        vk = (np.linalg.eigvalsh(_dense_h(fields, K_GENERIC + dk))
              - np.linalg.eigvalsh(_dense_h(fields, K_GENERIC - dk))) / (2 * d)
        vq = (np.linalg.eigvalsh(h0 + _kinetic(f, K_GENERIC + dk) - T0)
              - np.linalg.eigvalsh(h0 + _kinetic(f, K_GENERIC - dk) - T0)) / (2 * d)
        wgt = gap**2 / np.hypot(e0 - mu, gap) ** 3
        tot += np.sum(wgt * vk * (vk + vq))
        tot0 += np.sum(wgt * vk * vk)
    pref = 1 / (A_CELL**3 * 2 * B0 * 3)
    # δ = 1e-6 fm⁻¹ stays below the smallest level splittings; eigenvalue round-off 1e-13 MeV
    # gives velocity errors ~1e-7 MeV fm: 1e-6 relative
    assert res.scalar("intraband") == pytest.approx(tot0 * pref, rel=1e-6)
    assert res.scalar("intraband", current=True) == pytest.approx(tot * pref, rel=1e-6)


def test_current_vertex_form_a_against_mixed_derivative_of_omega(solve):
    """Form A with the current vertex = ∂²Ω/∂A∂Q of the BdG grand potential with Δ·1 (complete
    basis), spin-up particles at k+A+Q with Q·∂T[−f]; the holes are the time-reversed
    spin-down partners at −k+Q+A, whose conjugate Hamiltonian is h(k−Q−A) − Q·∂T[−f](k−Q−A)
    (h(−p)* = h(p) for real fields, and the vertex is odd)."""
    fields, f = _modulated()
    gap, mu, d = 1.0, 12.0, 1e-3
    km = KMesh.explicit([K_GENERIC], A_CELL)
    res = solve(fields, km, gap=GapSpec("constant", gap), mu=mu, levels=("form_a",),
                current=CurrentTerm(coefficient=f), comm=MPI.COMM_SELF, truncation=False)
    I = np.eye(N**3)

    def omega(A, Q, i):
        e = np.zeros(3)
        e[i] = 1.0
        kp, kh = K_GENERIC + (A + Q) * e, K_GENERIC - (A + Q) * e
        hp = _dense_h(fields, kp) + Q * _kinetic(f, kp, i)
        hh = _dense_h(fields, kh) - Q * _kinetic(f, kh, i)
        H = np.block([[hp - mu * I, gap * I], [gap * I, -(hh - mu * I)]])
        E = np.linalg.eigvalsh(H)
        return np.trace(hh - mu * I).real - E[E > 0].sum()

    mixed = 0.0
    for i in range(3):
        om = {(sa, sq): omega(sa * d, sq * d, i) for sa in (-1, 1) for sq in (-1, 1)}
        mixed += (om[1, 1] - om[1, -1] - om[-1, 1] + om[-1, -1]) / (4 * d * d)
    pref = 1 / (A_CELL**3 * 2 * B0 * 3)
    # O(d²) truncation and round-off ~1e-16·|Ω|/d² (|Ω| ~ 1e4 MeV): 1e-5 relative
    assert res.scalar("form_a", current=True) == pytest.approx(mixed * pref, rel=2e-5)


# ---------------------------------------------------------------- band truncation
@pytest.mark.slow
def test_band_truncation_against_the_complete_band_set(solve):
    """bcc wells (a = 20 fm, 10³ grid, depth 40 MeV), Δ = 1 MeV: the complete band set (1000
    bands) against the bands below μ + 8 and μ + 16 MeV. Every BCS level moves towards the
    complete value as the margin grows, is within 5 % at 8 MeV, and the reported truncation
    estimate has the sign of the error and 0.4–2.5 times its size (measured: intraband
    +1.0 %/+0.74 %, Form A −4.0 %/−3.1 %, Form B +1.7 %/+1.7 % at 8 MeV)."""
    a, n, dens = 20.0, 10, 0.03
    f = Fields.gaussian_wells(n, a, depth=40.0, radius=4.0, lattice="bcc")
    km = KMesh.monkhorst_pack(2, a, shift=True)          # one irreducible k-point
    kw = dict(gap=GapSpec("constant", 1.0), density=dens, levels=("intraband", "form_a",
              "form_b"), comm=MPI.COMM_SELF)
    full = solve(f, km, nev=n**3, truncation=False, **kw)
    e = np.linalg.eigvalsh(_dense_h(f, km.points[0]))
    mu = full.levels["form_b"].mu
    errs = {}
    for margin in (8.0, 16.0):
        part = solve(f, km, nev=int(np.searchsorted(e, mu + margin)), **kw)
        for lv in kw["levels"]:
            ref = full.scalar(lv)
            err = ref - part.scalar(lv)
            est = part.truncation(lv)
            errs.setdefault(lv, []).append(abs(err))
            assert np.sign(est) == np.sign(err), (lv, margin)
            assert 0.4 * abs(err) < abs(est) < 2.5 * abs(err), (lv, margin, err, est)
    for lv, (e8, e16) in errs.items():
        assert e16 < e8 < 0.05 * full.scalar(lv), lv


# ------------------------------------------------------------------ mesh, solvers, layout
@pytest.mark.mpi
def test_ibz_equals_full_mesh_fd(cosine_fields, solve):
    f = cosine_fields(-3.0)
    kw = dict(gap=GapSpec("constant", 1.0), density=0.01, smearing=(3.0, 2.0),
              levels=("normal", "form_a", "form_b"), nev=80,
              current=CurrentTerm(coefficient=2.0))
    # Γ-centred: points with non-trivial little groups (Γ, X, M, R) and degenerate clusters
    red = solve(f, KMesh.monkhorst_pack(2, A_CELL, shift=False), **kw)
    full = solve(f, KMesh.full(2, A_CELL, shift=False), **kw)
    for lv in kw["levels"]:
        for cur in (False, True):
            np.testing.assert_allclose(red.tensor(lv, cur), full.tensor(lv, cur), rtol=1e-8,
                                       atol=1e-14)


@pytest.mark.mpi
def test_potential_along_x_only(solve):
    """U(x) only (no symmetry reduction), complete band set, fixed μ: the anisotropic tensor
    of every BCS level against the products-of-1D reference (y and z see the free gas)."""
    x = np.arange(N) * A_CELL / N
    U = np.broadcast_to(-6.0 * np.cos(2 * np.pi * x / A_CELL)[:, None, None], (N,) * 3)
    f = Fields(U=U.copy(), B=np.full((N,) * 3, HBAR2_2MN), a=A_CELL)
    km = KMesh.full(2, A_CELL, shift=True)
    mu, gap = 6.0, 1.0
    r = solve(f, km, gap=GapSpec("constant", gap), mu=mu, levels=("intraband", "form_a",
              "form_b"), truncation=False)
    ref = cosine_3d_reference(km, (-6.0, 0.0, 0.0), mu, gap, (1.0,))
    for lv in ("intraband", "form_a", "form_b"):
        T = r.tensor(lv)
        np.testing.assert_allclose(np.diag(T), ref[lv], rtol=1e-9, err_msg=lv)
        assert T[1, 1] == pytest.approx(T[2, 2], rel=1e-10)


@pytest.mark.mpi
def test_mesh_reduced_by_the_fields_subgroup_equals_the_full_mesh(solve):
    """Fields with only part of O_h (U(x, y) with an odd part in x: the four operations
    diag(1, ±1, ±1), with time reversal eight): every level's anisotropic tensor, with and
    without the current vertex, from the mesh reduced by that subgroup equals the
    unreduced mesh without time reversal (each k solved)."""
    from crustsolve.bands.kmesh import invariant_operations
    x = 2 * np.pi * np.arange(N) / N
    X, Y = np.meshgrid(x, x, indexing="ij")
    U2 = -6.0 * np.cos(X) - 2.0 * np.sin(2 * X) - 3.0 * np.cos(Y)
    f = Fields(U=np.repeat(U2[:, :, None], N, axis=2), B=np.full((N,) * 3, HBAR2_2MN), a=A_CELL)
    ops = invariant_operations(f)
    assert len(ops) == 4
    # Γ-centred 3³: points with non-trivial little groups, 27 → 8 (|k_d| ∈ {0, 2π/3a})
    red = KMesh.monkhorst_pack(3, A_CELL, shift=False, symmetry=ops, time_reversal=True)
    full = KMesh.full(3, A_CELL, shift=False)
    assert red.nk == 8 and full.nk == 27
    kw = dict(gap=GapSpec("constant", 1.0), mu=8.0, smearing=(2.0,), nev=120,
              levels=("normal", "intraband", "form_a", "form_b"),
              current=CurrentTerm(coefficient=2.0))
    r_red, r_full = solve(f, red, **kw), solve(f, full, **kw)
    for lv in kw["levels"]:
        for cur in (False, True):
            T = r_full.tensor(lv, cur)
            assert abs(T[0, 0] - T[1, 1]) > 1e-3 * abs(T[0, 0])      # anisotropic
            np.testing.assert_allclose(r_red.tensor(lv, cur), T, rtol=1e-9,
                                       atol=1e-12 * np.abs(T).max(), err_msg=f"{lv} {cur}")


@pytest.mark.mpi
def test_field_gap_constant_equals_constant_gap(cosine_fields, solve):
    f0 = cosine_fields(-3.0)
    f = f0.replace(Delta=np.full((N,) * 3, 1.2))
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    kw = dict(density=0.01, levels=("intraband", "form_a", "form_b"), nev=60)
    r1 = solve(f, km, gap=GapSpec("field"), **kw)
    r2 = solve(f0, km, gap=GapSpec("constant", 1.2), **kw)
    for lv in kw["levels"]:
        np.testing.assert_allclose(r1.tensor(lv), r2.tensor(lv), rtol=1e-9, atol=1e-15)


def test_field_gap_invariant_under_degenerate_rotations(cosine_fields, solve):
    """A varying Δ(r): the gaps are diagonalised inside degenerate clusters, so the result does
    not depend on the eigensolver's basis there: the [111] k-point of the shifted mesh (3-fold
    clusters) solved by dense LAPACK and by Krylov–Schur (another basis) agree."""
    f0 = cosine_fields(-3.0)
    x = np.arange(N) * A_CELL / N
    c = np.cos(2 * np.pi * x / A_CELL)
    D = 1.0 + 0.3 * (c[:, None, None] + c[None, :, None] + c[None, None, :])
    f = f0.replace(Delta=D)
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    kw = dict(gap=GapSpec("field"), density=0.01, levels=("form_a", "form_b"), nev=60,
              comm=MPI.COMM_SELF)
    a = solve(f, km, **kw)
    b = solve(f, km, solver="krylovschur", **kw)
    for lv in kw["levels"]:
        np.testing.assert_allclose(b.tensor(lv), a.tensor(lv), rtol=1e-7, atol=1e-14)


@pytest.mark.mpi
@pytest.mark.parametrize("solver", ["chebyshev", "krylovschur"])
def test_iterative_solvers_match_dense(solver, solve):
    """Eight k-points of a full 2³ mesh, each group's k-points solved in turn (Chebyshev
    warm-starts each from the previous one): all levels equal the dense-LAPACK result."""
    x = np.arange(N) * A_CELL / N
    U = np.broadcast_to(-6.0 * np.cos(2 * np.pi * x / A_CELL)[:, None, None], (N,) * 3)
    f = Fields(U=U.copy(), B=np.full((N,) * 3, HBAR2_2MN), a=A_CELL)
    km = KMesh.full(2, A_CELL, shift=True)
    kw = dict(gap=GapSpec("constant", 1.0), density=0.004, nev=100,
              levels=("intraband", "form_a", "form_b"), current=CurrentTerm(coefficient=1.5))
    ref = solve(f, km, **kw)
    got = solve(f, km, solver=solver, **kw)
    for lv in ref.levels:
        for cur in (False, True):
            np.testing.assert_allclose(got.tensor(lv, cur), ref.tensor(lv, cur), rtol=1e-8,
                                       atol=1e-14)
        assert got.truncation(lv) == pytest.approx(ref.truncation(lv), rel=1e-6, abs=1e-14)


@pytest.mark.mpi
def test_same_result_any_layout(cosine_fields, solve):
    """World layouts (1 group × P ranks, and P groups) reproduce the COMM_SELF result."""
    km = KMesh.monkhorst_pack(2, A_CELL, shift=True)
    kw = dict(gap=GapSpec("constant", 1.0), density=0.01, smearing=(3.0, 2.5, 2.0), nev=120,
              levels=("tetrahedron", "normal", "intraband", "form_a", "form_b"),
              current=CurrentTerm(cnn=-3.0, nn=0.01))
    ref = solve(cosine_fields(), km, comm=MPI.COMM_SELF, **kw)
    size = MPI.COMM_WORLD.size
    for r in (solve(cosine_fields(), km, **kw), solve(cosine_fields(), km, ngroups=size, **kw)):
        for lv in ref.levels:
            for cur in (False, True):
                np.testing.assert_allclose(r.tensor(lv, cur), ref.tensor(lv, cur), rtol=1e-10,
                                           atol=1e-15)
            assert r.levels[lv].mu == pytest.approx(ref.levels[lv].mu, abs=1e-9)


@pytest.mark.mpi
def test_uniform_skyrme_matter_gives_core_rho_nn(solve):
    """Uniform n–p matter, protons at rest: Form A with the current vertex is ρ_nn^loc of the
    core module (B − C_nn n_n = ħ²/2m_n + C_np n_p), up to the FD curvature error."""
    from crustsolve.core.entrainment import entrainment_matrix_t0
    from crustsolve.functional import couplings, get_functional
    from crustsolve.functional.skyrme import effective_mass_fields

    name = "BSk24"
    p = get_functional(name)
    n_n, n_p = 0.02, 0.004
    Bn, _ = effective_mass_fields(p, n_n, n_p)
    cplus = float(couplings(p, n_n + n_p).C_plus)
    b0 = p.hbar2_2m_n
    masses = "bare" if p.mass_convention == "separate" else "common"
    core = entrainment_matrix_t0(p, n_n, n_p, masses=masses)
    expected = core.rho_nn / core.m_n_c2                 # fm⁻³ (ρ_nn^loc/m_n)
    a, n = 5.0, 8                                        # k_F h ≈ 0.53: FD error ~ 1e-3
    f = Fields.uniform(n, a, U0=-20.0, B0=float(Bn))
    km = KMesh.monkhorst_pack(3, a, shift=True)
    r = solve(f, km, nev=n**3, order=4, gap=GapSpec("constant", 1.0), density=n_n, b0=b0,
              levels=("intraband", "form_a"), current=CurrentTerm(cnn=cplus, nn=n_n),
              truncation=False)
    # the test distinguishes ρ_nn^loc from m_n n_n (C₋ n_p term) and from the band part alone
    assert abs(expected / n_n - 1) > 5e-3
    # complete band set: Form A is n B/b0 times the FD curvature factor (2.3e-3 below 1 for
    # these occupations); the current vertex turns B into B − C_nn n_n = b0 + C_np n_p
    assert r.scalar("form_a", current=True) == pytest.approx(expected, rel=3e-3)
    assert r.scalar("form_a", current=True) == pytest.approx(
        expected * r.scalar("form_a") / (n_n * float(Bn) / b0), rel=1e-9)
    # one velocity factor carries B − C_nn n_n: the ratio is exact on any mesh
    assert r.scalar("intraband", current=True) == pytest.approx(
        r.scalar("intraband") * (float(Bn) - cplus * n_n) / float(Bn), rel=1e-10)


def test_current_term_input_errors(cosine_fields, solve):
    with pytest.raises(InputError, match="give C_nn and n_n, or their product"):
        CurrentTerm(cnn=1.0)
    with pytest.raises(InputError, match="must be finite"):
        CurrentTerm(coefficient=float("nan"))
    with pytest.raises(InputError, match=r"expected a scalar or \(8, 8, 8\)"):
        CurrentTerm(coefficient=np.ones((4, 4, 4))).field(8)
    x = np.arange(N) * A_CELL / N
    lopsided = np.broadcast_to(np.cos(2 * np.pi * x / A_CELL)[:, None, None], (N,) * 3).copy()
    with pytest.raises(InputError, match="not invariant under the k-mesh's point group"):
        solve(cosine_fields(), KMesh.monkhorst_pack(2, A_CELL, shift=True), nev=60,
              gap=GapSpec("constant", 1.0), density=0.01, current=CurrentTerm(coefficient=lopsided),
              comm=MPI.COMM_SELF)
