"""Hydrodynamic (classical superfluid) limit: potential flow through the lattice and ion masses.

Physics: ``shared/physics/crust-superfluidity.md`` §8.

* Periodic potential flow (§8.1): ∇·[ρ_s^loc(r) ∇Φ] = 0 with Φ = x̂_e·r + χ(r), χ periodic,
  lattice at rest; ρ_n,s^{de} = ⟨ρ_s^loc (δ_de + ∂_d χ)⟩_cell. Discretised in the
  conservative (staggered) second-order form Σ_d (D_d⁺)ᵀ diag(ρ at faces) D_d⁺ χ =
  −(D_e⁺)ᵀ ρ_faces,e, solved with PETSc KSP (CG on the symmetric semi-definite operator,
  constant null space removed). Face values are arithmetic means of the two neighbours.
* Leggett-type bounds and the single-sphere (Epstein–Baym-type) induced mass (§8.2), and the
  Maxwell-Garnett finite-filling formula (§8.3).

Densities: any consistent unit (mass or number density); results come in the same unit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ConvergenceError, InputError, check_choice, check_range


# ---------------------------------------------------------------------------------------------
# Analytic models
# ---------------------------------------------------------------------------------------------

def single_sphere_ion_mass(rho_in: float, rho_out: float, volume: float, m_rigid: float) -> float:
    """m_I*^hydro = M_rig + V_N (ρ_in − ρ_out)²/(ρ_in + 2ρ_out)  (§8.2).

    A sphere of volume V_N moving through superfluid at rest; ρ_in/ρ_out are the superfluid
    mass densities inside/outside, M_rig the mass moving rigidly with the sphere.
    """
    check_range("rho_in", rho_in, 0.0, None)
    check_range("rho_out", rho_out, 0.0, None, lo_open=True)
    check_range("volume", volume, 0.0, None)
    return m_rigid + volume * (rho_in - rho_out) ** 2 / (rho_in + 2.0 * rho_out)


#: Named prescriptions for the superfluid inside a cluster (fraction λ of the inside neutrons
#: that is superfluid). "impenetrable": λ = 0, the whole cluster moves rigidly (textbook added
#: mass ½ρ_out V_N). "all_superfluid": λ = 1, only the protons move rigidly. "permeable": the
#: free neutrons flow through the cluster unhindered (ρ_in = ρ_out, no backflow) and only the
#: bound nucleons move rigidly — crustsolve's definition; the λ prescriptions of Chamel's
#: 2605.25600 are not confirmed (physics ref. §8.2).
PRESCRIPTIONS = ("impenetrable", "all_superfluid", "permeable")


@dataclass(frozen=True)
class ClusterForHydro:
    """A spherical cluster in a neutron gas, as the single-sphere model sees it (masses in MeV/c²,
    densities in fm⁻³, radius in fm)."""

    Z: float
    N_in: float            #: neutrons inside the sphere (bound + the free ones inside)
    radius: float          #: sphere radius R_N
    n_n_out: float         #: neutron density outside (free neutron gas)
    m_n_c2: float
    m_p_c2: float


def single_sphere_prescription(cluster: ClusterForHydro, prescription: str) -> float:
    """Effective ion mass m_I* c² (MeV) of one cluster in the dilute limit (§8.2)."""
    check_choice("prescription", prescription, PRESCRIPTIONS)
    V = 4.0 / 3.0 * np.pi * cluster.radius**3
    rho_out = cluster.m_n_c2 * cluster.n_n_out
    m_p = cluster.Z * cluster.m_p_c2
    if prescription == "impenetrable":
        return single_sphere_ion_mass(0.0, rho_out, V, m_p + cluster.N_in * cluster.m_n_c2)
    if prescription == "all_superfluid":
        return single_sphere_ion_mass(cluster.m_n_c2 * cluster.N_in / V, rho_out, V, m_p)
    bound = cluster.N_in - cluster.n_n_out * V
    return single_sphere_ion_mass(rho_out, rho_out, V, m_p + bound * cluster.m_n_c2)


def maxwell_garnett_superfluid_density(rho_in: float, rho_out: float, filling: float) -> float:
    """ρ_n,s of a dilute cubic array of spheres (filling f = n_I V_N), exact to O(f) (§8.3)."""
    check_range("filling", filling, 0.0, 1.0)
    d = rho_in - rho_out
    return rho_out * (rho_in + 2 * rho_out + 2 * filling * d) / (rho_in + 2 * rho_out - filling * d)


def leggett_bounds(rho: np.ndarray, direction: int = 0) -> tuple:
    """(lower, upper) bounds on ρ_s^{dd} of the potential-flow problem for flow along ``direction``.

    upper = [⟨(⟨ρ⟩_⊥)⁻¹⟩_d]⁻¹ (planar averages first), lower = ⟨[⟨ρ⁻¹⟩_d]⁻¹⟩_⊥ (§8.1).
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
    """Exact hydrodynamic ρ_n,s tensor of a periodic cell (§8.1) by a PETSc KSP solve.

    ``rho_loc``: local superfluid density on the n³ grid of the cube of side ``a`` (fm),
    replicated on every rank of ``comm``; must be > 0 (an impenetrable region is modelled by
    a small positive density). KSP defaults: CG + GAMG, relative tolerance ``rtol``;
    ``-crust_hydro_ksp_*``/``-crust_hydro_pc_*`` options override. Non-convergence raises
    :class:`~crustsolve.errors.ConvergenceError`. Directions not in ``directions`` are
    filled by cubic symmetry only if the caller asks for them; here they stay NaN.
    """
    from .petsc_env import init_petsc  # noqa: PLC0415

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
