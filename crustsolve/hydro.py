"""Hydrodynamic (classical superfluid) limit: potential flow through the lattice and ion masses.

Physics: ``docs/physics/crust-superfluidity.md``, "hydrodynamics".

* Periodic potential flow: ∇·[ρ_s^loc(r) ∇Φ] = 0 with Φ = x̂_e·r + χ(r), χ periodic,
  lattice at rest; ρ_n,s^{de} = ⟨ρ_s^loc (δ_de + ∂_d χ)⟩_cell. Discretised in the
  conservative (staggered) second-order form Σ_d (D_d⁺)ᵀ diag(ρ at faces) D_d⁺ χ =
  −(D_e⁺)ᵀ ρ_faces,e, solved with PETSc KSP (CG on the symmetric semi-definite operator,
  constant null space removed). Face values are arithmetic means of the two neighbours.
* Leggett-type bounds, the single-sphere induced mass and the Epstein–Baym prescriptions for
  one ion, and the Maxwell-Garnett finite-filling formula.

Densities: any consistent unit (mass or number density); results come in the same unit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ConvergenceError, InputError, check_choice, check_range
from .petsc_env import init_petsc


# ---------------------------------------------------------------------------------------------
# Analytic models
# ---------------------------------------------------------------------------------------------

def single_sphere_ion_mass(rho_in: float, rho_out: float, volume: float, m_rigid: float) -> float:
    """m_I*^hydro = M_rig + V_N (ρ_in − ρ_out)²/(ρ_in + 2ρ_out) (potential flow past a sphere).

    A sphere of volume V_N moving through superfluid at rest; ρ_in/ρ_out are the superfluid
    mass densities inside/outside, M_rig the mass moving rigidly with the sphere.
    """
    check_range("rho_in", rho_in, 0.0, None)
    check_range("rho_out", rho_out, 0.0, None, lo_open=True)
    check_range("volume", volume, 0.0, None)
    return m_rigid + volume * (rho_in - rho_out) ** 2 / (rho_in + 2.0 * rho_out)


#: The three prescriptions of the Epstein–Baym single-ion formula, by the density ρ_s,i = λρ_n,o
#: of the nucleons inside the ion that take part in the superflow:
#: "impenetrable" (Sedrakian, Astrophys. Space Sci. 236, 267 (1996)): ρ_s,i = 0;
#: "all_superfluid" (all nucleons superfluid; Magierski & Bulgac, Nucl. Phys. A738, 143
#: (2004)): ρ_s,i = ρ_n,i + ρ_p,i; "permeable" (Martin & Urban, PRC 94, 065801 (2016)):
#: ρ_s,i = ρ_n,o.
PRESCRIPTIONS = ("impenetrable", "all_superfluid", "permeable")


@dataclass(frozen=True)
class ClusterForHydro:
    """A spherical ion in a neutron superfluid, as the single-sphere model sees it.

    Z_in, N_in: protons and neutrons inside the sphere of radius ``radius`` (fm); n_n_out: the
    neutron density outside (fm⁻³); Z: protons per ion; masses are rest energies (MeV).
    """

    Z: float
    Z_in: float
    N_in: float
    radius: float
    n_n_out: float
    m_n_c2: float
    m_p_c2: float

    @property
    def volume(self) -> float:
        return 4.0 / 3.0 * np.pi * self.radius**3

    @property
    def rho_n_in(self) -> float:
        """ρ_n,i: mean neutron mass density inside the sphere (MeV fm⁻³)."""
        return self.m_n_c2 * self.N_in / self.volume

    @property
    def rho_p_in(self) -> float:
        """ρ_p,i: mean proton mass density inside the sphere (MeV fm⁻³)."""
        return self.m_p_c2 * self.Z_in / self.volume

    @property
    def rho_n_out(self) -> float:
        """ρ_n,o: neutron mass density outside (MeV fm⁻³)."""
        return self.m_n_c2 * self.n_n_out


@dataclass(frozen=True)
class EpsteinBaymMass:
    """Effective mass of one ion by the Epstein–Baym formula for one prescription.

    lam : λ = ρ_s,i/ρ_n,o. m_ion : the prescription's ion mass m_I (MeV); m_displaced :
    m_d = (4/3)πR³ρ_n,o (MeV); m_ion_star : m_I* = m_I + (λ−1)²/(λ+2) m_d (MeV);
    ratio : m_I*/m_I (NaN when m_I = 0).
    """

    prescription: str
    lam: float
    m_ion: float
    m_displaced: float
    m_ion_star: float
    ratio: float


def epstein_baym(cluster: ClusterForHydro, prescription: str) -> EpsteinBaymMass:
    """m_I* = m_I + (λ−1)²/(λ+2) m_d (Epstein & Baym, ApJ 328, 680 (1988)), each prescription's m_I.

    The ratio is m_I*/m_I = 1 + (λ−1)²/(λ+2) · ρ_n,o/(ρ_p,i + ρ_n,i − λρ_n,o) for the first two
    prescriptions, whose m_I = m_I⁰ − (4/3)πR³ρ_s,i with m_I⁰ = (4/3)πR³(ρ_n,i + ρ_p,i):
    impenetrable λ = 0, m_I = m_I⁰ = Z m_p + N m_n; all nucleons superfluid
    λ = (ρ_n,i + ρ_p,i)/ρ_n,o, m_I = 0 (ratio undefined). Permeable ions have λ = 1 (no
    backflow) and m_I = Z m_p (only the protons move with the ion), so m_I* = Z m_p; the
    general m_I⁰ − (4/3)πR³ρ_n,o equals Z m_p only when the neutron density inside equals
    the one outside (``docs/physics/crust-superfluidity.md``, "hydrodynamics").
    """
    check_choice("prescription", prescription, PRESCRIPTIONS)
    cl = cluster
    check_range("n_n_out", cl.n_n_out, 0.0, None, lo_open=True, unit="fm^-3")
    check_range("radius", cl.radius, 0.0, None, lo_open=True, unit="fm")
    V = cl.volume
    m_d = V * cl.rho_n_out
    if prescription == "impenetrable":
        lam, m_I = 0.0, V * (cl.rho_n_in + cl.rho_p_in)
    elif prescription == "all_superfluid":
        lam, m_I = (cl.rho_n_in + cl.rho_p_in) / cl.rho_n_out, 0.0
    else:
        lam, m_I = 1.0, cl.Z * cl.m_p_c2
    m_star = m_I + (lam - 1.0) ** 2 / (lam + 2.0) * m_d
    return EpsteinBaymMass(prescription, lam, m_I, m_d, m_star,
                           m_star / m_I if m_I > 0 else float("nan"))


def maxwell_garnett_superfluid_density(rho_in: float, rho_out: float, filling: float) -> float:
    """ρ_n,s of a dilute cubic array of spheres (filling f = n_I V_N), exact to O(f) (Maxwell-Garnett)."""
    check_range("filling", filling, 0.0, 1.0)
    d = rho_in - rho_out
    return rho_out * (rho_in + 2 * rho_out + 2 * filling * d) / (rho_in + 2 * rho_out - filling * d)


def leggett_bounds(rho: np.ndarray, direction: int = 0) -> tuple:
    """(lower, upper) bounds on ρ_s^{dd} of the potential-flow problem for flow along ``direction``.

    upper = [⟨(⟨ρ⟩_⊥)⁻¹⟩_d]⁻¹ (planar averages first), lower = ⟨[⟨ρ⁻¹⟩_d]⁻¹⟩_⊥.
    """
    rho = np.moveaxis(np.asarray(rho, dtype=float), direction, 0)
    if np.any(rho <= 0):
        raise InputError("leggett_bounds needs a strictly positive density")
    planar = rho.mean(axis=(1, 2))
    upper = 1.0 / np.mean(1.0 / planar)
    lower = np.mean(1.0 / np.mean(1.0 / rho, axis=0))
    return lower, upper


# ---------------------------------------------------------------------------------------------
# Periodic potential flow (PETSc KSP)
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PotentialFlowResult:
    superfluid_density: np.ndarray   #: 3×3 tensor ρ_n,s^{de}, same unit as the input density
    mean_density: float              #: ⟨ρ⟩ of the input
    iterations: tuple                #: KSP iterations per flow direction
    residual_norms: tuple            #: final preconditioned residual norms
    bounds: tuple                    #: Leggett (lower, upper) per direction

    @property
    def fraction(self) -> np.ndarray:
        """ρ_n,s/⟨ρ⟩ (tensor)."""
        return self.superfluid_density / self.mean_density


def _face_values(rho: np.ndarray, d: int) -> np.ndarray:
    return 0.5 * (rho + np.roll(rho, -1, axis=d))


def _operator_csr(rho: np.ndarray, h: float, rstart: int, rend: int):
    """Local rows [rstart, rend) of A = Σ_d (D_d⁺)ᵀ diag(ρ_face,d) D_d⁺ in natural (C) order."""
    n = rho.shape[0]
    rows = np.arange(rstart, rend)
    ix, iy, iz = np.unravel_index(rows, rho.shape)
    cols = [rows]
    vals = [np.zeros(rows.size)]
    for d, idx in enumerate((ix, iy, iz)):
        face = _face_values(rho, d)
        w_plus = face[ix, iy, iz]                  # face i+½
        back = [ix, iy, iz]
        back[d] = (idx - 1) % n
        w_minus = face[back[0], back[1], back[2]]  # face i−½
        fwd = [ix, iy, iz]
        fwd[d] = (idx + 1) % n
        vals[0] += (w_plus + w_minus) / h**2
        cols.append(np.ravel_multi_index(fwd, rho.shape))
        vals.append(-w_plus / h**2)
        cols.append(np.ravel_multi_index(back, rho.shape))
        vals.append(-w_minus / h**2)
    C = np.stack(cols, axis=1)
    V = np.stack(vals, axis=1)
    order = np.argsort(C, axis=1, kind="stable")
    C = np.take_along_axis(C, order, axis=1)
    V = np.take_along_axis(V, order, axis=1)
    indptr = np.arange(0, C.size + 1, C.shape[1], dtype=np.int32)
    return indptr, C.ravel().astype(np.int32), V.ravel()


def potential_flow_superfluid_density(rho_loc: np.ndarray, a: float, comm=None, rtol: float = 1e-10,
                                      max_it: int = 5000, ksp_prefix: str = "crust_hydro_",
                                      directions=(0, 1, 2)) -> PotentialFlowResult:
    """Exact hydrodynamic ρ_n,s tensor of a periodic cell by a PETSc KSP solve.

    ``rho_loc``: local superfluid density on the n³ grid of the cube of side ``a`` (fm),
    replicated on every rank of ``comm``; must be > 0 (an impenetrable region is modelled by
    a small positive density). KSP defaults: CG + GAMG, relative tolerance ``rtol``;
    ``-crust_hydro_ksp_*``/``-crust_hydro_pc_*`` options override. Non-convergence raises
    :class:`~crustsolve.errors.ConvergenceError`. Directions not in ``directions`` are
    filled by cubic symmetry only if the caller asks for them; here they stay NaN.
    """
    PETSc, _ = init_petsc()
    rho = np.asarray(rho_loc, dtype=float)
    if rho.ndim != 3 or len(set(rho.shape)) != 1:
        raise InputError(f"rho_loc must be a cubic (n, n, n) array, got shape {rho.shape}")
    if not np.all(np.isfinite(rho)) or np.any(rho <= 0):
        raise InputError("rho_loc must be finite and strictly positive everywhere "
                         f"(min = {np.nanmin(rho):.3g})")
    check_range("a", a, 0.0, None, lo_open=True, unit="fm")
    n = rho.shape[0]
    h = a / n
    N = n**3
    if n < 3:
        raise InputError(f"the potential-flow grid needs n ≥ 3 points per side, got n = {n}")
    pcomm = PETSc.COMM_WORLD if comm is None else PETSc.Comm(comm)
    mpicomm = pcomm.tompi4py()

    A = PETSc.Mat().createAIJ(size=((PETSc.DECIDE, N), (PETSc.DECIDE, N)), nnz=7, comm=pcomm)
    rstart, rend = A.getOwnershipRange()
    A.destroy()
    indptr, cols, vals = _operator_csr(rho, h, rstart, rend)
    nloc = rend - rstart
    A = PETSc.Mat().createAIJ(size=((nloc, N), (nloc, N)), csr=(indptr, cols, vals), comm=pcomm)
    A.assemble()
    A.setOption(PETSc.Mat.Option.SYMMETRIC, True)
    nullsp = PETSc.NullSpace().create(constant=True, comm=pcomm)
    A.setNullSpace(nullsp)

    ksp = PETSc.KSP().create(comm=pcomm)
    ksp.setOptionsPrefix(ksp_prefix)
    ksp.setOperators(A)
    ksp.setType("cg")
    ksp.getPC().setType("gamg")
    ksp.setTolerances(rtol=rtol, atol=0.0, max_it=max_it)
    ksp.setFromOptions()

    tensor = np.full((3, 3), np.nan)
    its, res, bounds = [], [], []
    b, x = A.createVecs()
    try:
        for e in directions:
            face_e = _face_values(rho, e)
            # rhs = −(D_e⁺)ᵀ w_e: (D⁺ᵀ w)_i = (w_{i−½} − w_{i+½})/h
            rhs = -(np.roll(face_e, 1, axis=e) - face_e) / h
            b.setArray(rhs.ravel()[rstart:rend].astype(b.getArray().dtype))
            x.set(0.0)
            nullsp.remove(b)
            ksp.solve(b, x)
            reason = ksp.getConvergedReason()
            if reason <= 0:
                raise ConvergenceError(
                    f"potential-flow KSP did not converge for flow along {'xyz'[e]} (reason "
                    f"{reason}, {ksp.getIterationNumber()} iterations, residual "
                    f"{ksp.getResidualNorm():.3e}); try -{ksp_prefix}pc_type jacobi or raise max_it")
            chi_local = x.getArray().real.copy()
            # χ is needed on the neighbours of every face: replicate it (fields are small).
            chi = np.concatenate(mpicomm.allgather(chi_local)).reshape(rho.shape)
            for d in range(3):
                face_d = _face_values(rho, d)
                grad = (np.roll(chi, -1, axis=d) - chi) / h
                tensor[d, e] = np.mean(face_d * (grad + (1.0 if d == e else 0.0)))
            its.append(ksp.getIterationNumber())
            res.append(ksp.getResidualNorm())
            bounds.append(leggett_bounds(rho, e))
    finally:
        for obj in (b, x, ksp, nullsp, A):
            obj.destroy()
    return PotentialFlowResult(tensor, float(rho.mean()), tuple(its), tuple(res), tuple(bounds))
