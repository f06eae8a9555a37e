"""The main job: one crustal layer (functional, n̄) → superfluid fraction, m_n*, m_I*.

Pipeline (``docs/physics/crust-superfluidity.md``):

1. composition: ETF minimisation (:func:`crustsolve.crust.minimise_layer`) or a published
   table (:func:`crustsolve.crust.load_table`);
2. periodic fields on the conventional cube (:func:`crustsolve.crust.build_fields`);
3. zero-point loop: ⟨δr²⟩(m_I*) → Debye–Waller smearing of the fields that depend on the
   ion positions → bands on the k-mesh → ρ_n,s at every level
   (:func:`crustsolve.response.superfluid_density`) → m_I* = (ρ̄ − ρ_n,s)/n_I of the driving
   level → repeat to a fixed point. The first band calculation is the rigid lattice
   (⟨δr²⟩ = 0), reported as such;
4. hydrodynamic comparison: potential flow of ρ_s^loc = m_n n_n(r) through the same grid,
   and the Epstein–Baym single-ion prescriptions.

Every k-point of every band calculation is checkpointed in the results file
(``evaluations/<i>/kpoints/<k>``); ``resume=True`` reuses completed items and gives the same
numbers as an uninterrupted run. Nothing here prints: progress goes to ``log`` (rank 0).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

import h5py
import numpy as np

from .bands import BlochHamiltonian, Grid
from .bands.bandstructure import SolverSettings, interpolating_solver
from .bands.eigensolvers import make_eigensolver
from .bands.interpolation import interpolation_summary
from .bands.kmesh import KMesh
from .bands.sectors import sectors_for, with_sectors
from .bands.memory import (band_run_bytes_per_rank, estimate_memory, fields_bytes,
                           nnz_per_row_for_order)
from .config import to_dict
from .constants import HBAR2_2MN, M_N_C2, M_P_C2, M_U_C2
from .crust import build_fields, load_table, minimise_layer
from .crust.composition import check_density
from .errors import InputError, NotEnoughBandsError
from .functional import get_functional
from .functional.pairing import PAIRING_STATUS
from .hydro import PRESCRIPTIONS, ClusterForHydro, epstein_baym, potential_flow_superfluid_density
from .parallel import Layout, on_root, require_memory
from .petsc_env import init_petsc, run_options
from .response import levels as response_levels
from .response.masses import effective_masses, fractions, ion_masses
from .response.superfluid import CurrentTerm, superfluid_density
from .results import Checkpoint, atomic_write, check_resume, provenance_attrs, start_results_file
from .runfile import BandsConfig, LayerConfig, MainJobConfig, identity_of
from .zeropoint import debye_waller_smear, mean_square_displacement, zero_point_self_consistency

#: What the Debye–Waller smearing acts on, by the [zeropoint] smear choice.
SMEARED_FIELDS = {"U": ("U_n",),
                  "all": ("U_n", "B_n", "C_nn n_n (current-field vertex)",
                          "n_n (hydrodynamic density)")}


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """One band calculation of the zero-point loop."""

    index: int
    msd: float                 #: ⟨δr²⟩ used for the smearing (fm²)
    m_ion_c2_in: float         #: m_I* c² that gave ⟨δr²⟩ (MeV; nan for the rigid lattice)
    levels: dict               #: {level: {"no_current"/"with_current": {...}}} (level_masses)
    m_ion_c2_out: float        #: m_I* c² of the driving level (MeV)
    convergence: dict          #: band margin, residual, smearing error, truncation fraction
    smeared: tuple             #: what the Debye–Waller factor was applied to
    hydro: dict                #: the hydrodynamic comparison on this lattice ({} if off)
    seconds: float

    def fraction(self, level: str, reference: str = "free", current: bool = False) -> float:
        """ρ_n,s/ρ_ref of ``level`` (reference "free" or "all")."""
        return self.levels[level][CURRENT_TAGS[current]]["superfluid_fraction"][reference]


@dataclass(frozen=True)
class MainJobResult:
    config: MainJobConfig
    layer: object
    evaluations: tuple
    converged: bool
    msd: float
    seconds: float
    #: What a re-analysis of the final band calculation needs besides its per-k data:
    #: density (n̄_n, fm⁻³), b0 (MeV fm²), a (fm), ions_per_cell, n_n_free (fm⁻³), Z.
    response_inputs: dict = None

    @property
    def hydro(self) -> dict:
        """The hydrodynamic comparison on the final (smeared) lattice."""
        return self.final.hydro

    @property
    def final(self) -> Evaluation:
        return self.evaluations[-1]


# ---------------------------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------------------------

def _layer(cfg: LayerConfig):
    if cfg.table:
        table = load_table(cfg.table, functional=cfg.functional)
        return table.layer_at(cfg.density).with_lattice(cfg.lattice)
    return minimise_layer(cfg.functional, cfg.density, cfg.Z, lattice=cfg.lattice)


def free_gas_levels_per_MeV(volume: float, n_free: float, b0: float = HBAR2_2MN) -> float:
    """Spin-degenerate levels per MeV at the Fermi energy of a free neutron gas of density n_free
    in the volume (fm³): dN/dε = V k_F/(4π² b0), k_F = (3π² n_free)^{1/3}."""
    k_f = (3.0 * math.pi**2 * max(n_free, 1e-8)) ** (1.0 / 3.0)
    return volume * k_f / (4.0 * math.pi**2 * b0)


def layer_kmesh(cfg: MainJobConfig, a: float) -> KMesh:
    """The k-mesh of a layer run on the cube of side ``a`` (fm): the layer fields are O_h
    invariant by construction ("auto" = "Oh"), with time reversal."""
    return KMesh.monkhorst_pack(cfg.kmesh.n, a, shift=cfg.kmesh.shift,
                                symmetry="none" if cfg.kmesh.symmetry == "none" else "Oh",
                                time_reversal=True)


def number_of_bands(cfg: BandsConfig, n_neutrons_cell: float, npoints: int,
                    levels_per_MeV: float) -> int:
    """Bands per k: the occupied spin-degenerate levels (N_cell/2) plus the levels up to
    ``cfg.margin`` above μ (1.4 × ``levels_per_MeV`` × margin: the measured level density of
    the crust layers exceeds the free-gas one by about 30 %), or ``cfg.nbands``."""
    if cfg.nbands:
        nb = cfg.nbands
    else:
        nb = int(math.ceil(0.5 * n_neutrons_cell + 1.4 * levels_per_MeV * cfg.margin))
    if nb >= npoints:
        raise InputError(f"{nb} bands requested but the grid has only {npoints} points; "
                         "refine [grid] points or lower [bands] nbands/margin")
    return nb


@dataclass(frozen=True)
class LatticeInputs:
    """What one band calculation of the zero-point loop needs from the lattice.

    fields : the Bloch-Hamiltonian fields; current : the current-field term (C_nn n_n);
    n_n : the neutron density of the hydrodynamic comparison (fm⁻³); smeared : the names of
    the smeared quantities (empty for the rigid lattice).
    """

    fields: object
    current: object
    n_n: np.ndarray
    smeared: tuple


def _lattice_inputs(lf, msd: float, smear: str) -> LatticeInputs:
    """The layer's inputs with the Debye–Waller factor exp(−G²⟨δr²⟩/6) applied (⟨δr²⟩ = msd)."""
    base = lf.fields
    coef = np.asarray(lf.densities["C_plus"]) * np.asarray(lf.densities["n_n"])
    n_n = np.asarray(lf.densities["n_n"])
    if msd == 0.0:
        return LatticeInputs(base, CurrentTerm(coefficient=coef), n_n, ())

    def dw(f):
        return debye_waller_smear(np.asarray(f), base.a, msd)

    names = SMEARED_FIELDS[smear]
    changes = {"U": dw(base.U)}
    if smear == "all":
        changes["B"] = dw(base.B)
        coef, n_n = dw(coef), dw(n_n)
        if base.Delta is not None:         # the LDA pair field moves with the clusters too
            changes["Delta"] = dw(base.Delta)
            names = names + ("Delta_n (pair field)",)
    prov = dict(base.provenance)
    prov["debye_waller"] = f"<dr^2> = {msd:.6g} fm^2 applied to {', '.join(names)}"
    return LatticeInputs(base.replace(provenance=prov, **changes),
                         CurrentTerm(coefficient=coef), n_n, names)


#: Tags of the two variants of every level in results and tables.
CURRENT_TAGS = {False: "no_current", True: "with_current"}


def level_masses(result, n_free: float, Z: float, ions_per_cell: int) -> dict:
    """{level: {tag: masses and fractions}} against the free neutrons n_free (fm⁻³) of the
    composition and all neutrons; Z protons per ion."""
    out = {}
    for name, lv in result.levels.items():
        out[name] = {}
        for cur in lv.variants:
            em = effective_masses(result, name, current=cur, n_free=n_free,
                                  Z=Z, ions_per_cell=ions_per_cell)
            out[name][CURRENT_TAGS[cur]] = {
                "n_s_fm3": em.n_s,
                "truncation_estimate_fm3": result.truncation(name, cur),
                "superfluid_fraction": dict(em.superfluid_fraction),
                "mn_star_over_mn": dict(em.mn_star_over_mn),
                "m_ion_star_c2_MeV": em.m_ion_star_MeV,
                "m_ion_star_over_mu": em.m_ion_star_over_mu,
                "m_ion_star_over_m_ion": em.m_ion_star_over_m_ion,
            }
    return out


def _convergence(result) -> dict:
    fs = result.gap_fermi_surface
    out = {"band_margin_MeV": result.band_margin, "max_residual": result.max_residual,
           "nbands": result.nb, "kpoints": result.nk, "full_mesh": result.nfull,
           "truncation_fraction": result.truncation_fraction,
           "gap_fermi_surface_mean_MeV": fs.get("mean_MeV", math.nan),
           "gap_fermi_surface_spread_MeV": fs.get("spread_MeV", math.nan),
           "gap_fermi_surface_sigma_MeV": fs.get("sigma_MeV", math.nan)}
    for name, lv in result.levels.items():
        out[f"{name}_smearing_error_fm3"] = lv.error
    return out


def hydrodynamic_comparison(n_n, a: float, layer, comm) -> dict:
    """Potential flow of ρ_s^loc = m_n n_n(r) on the grid, and the Epstein–Baym prescriptions.

    ``n_n`` (fm⁻³) on the (n, n, n) grid of the cube of side ``a`` (fm). Fractions are given
    against the free neutrons of the composition and against all neutrons; the potential-flow
    fraction of the free neutrons exceeds 1 because ρ_s^loc counts the neutrons bound in the
    clusters too. m_I* of every model is given in atomic mass units (m_u) so that it can be
    compared with the band-structure levels; m_I*/m_I uses each model's own m_I.
    """
    n_n = np.asarray(n_n, dtype=float)
    flow = potential_flow_superfluid_density(n_n, a, comm=comm)
    n_s = float(np.trace(flow.superfluid_density) / 3.0)
    ions = {"bcc": 2, "fcc": 4}[layer.lattice]
    n_I = ions / a**3
    n_all = float(n_n.mean())
    refs = {"free": layer.n_n_free, "all": n_all}
    fr = fractions(n_s, refs)
    im = ion_masses(n_s, n_all, layer.Z, n_I, layer.n_n_free)
    out = {"potential_flow": {
        "n_s_fm3": n_s, "superfluid_fraction": fr["superfluid_fraction"],
        "mn_star_over_mn": fr["mn_star_over_mn"],
        "m_ion_star_over_mu": im["m_ion_star_over_mu"],
        "m_ion_star_over_m_ion": im["m_ion_star_over_m_ion"],
        "local_superfluid_density": "m_n n_n(r) (every neutron, bound or free)",
        "leggett_bounds_fm3": [list(b) for b in flow.bounds],
        "ksp_iterations": list(flow.iterations)}}
    # One ion: a sphere of the neutron half-density radius; N_in, Z_in from the radial profiles.
    R_N = layer.neutron.C
    r = np.linspace(0.0, R_N, 4001)
    shell = 4 * np.pi * r**2
    N_in = float(np.trapz(shell * layer.neutron.density(r), r))
    Z_in = float(np.trapz(shell * layer.proton.density(r), r))
    cl = ClusterForHydro(Z=layer.Z, Z_in=Z_in, N_in=N_in, radius=R_N, n_n_out=layer.n_n_free,
                         m_n_c2=M_N_C2, m_p_c2=M_P_C2)
    eb = {}
    for pr in PRESCRIPTIONS:
        e = epstein_baym(cl, pr)
        eb[pr] = {"lambda": e.lam, "m_ion_over_mu": e.m_ion / M_U_C2,
                  "m_ion_star_over_mu": e.m_ion_star / M_U_C2, "m_ion_star_over_m_ion": e.ratio}
    out["epstein_baym"] = eb
    out["sphere"] = {"radius_fm": R_N, "definition": "neutron half-density radius C_n",
                     "N_in": N_in, "Z_in": Z_in}
    return out


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------

def run_main_job(cfg: MainJobConfig, comm, log, *, resume: bool = False,
                 petsc_options=None, allow_oversubscribe_memory: bool = False) -> MainJobResult:
    """Run the layer pipeline (collective on ``comm``); see the module docstring.

    The caller checks the outputs first (:func:`crustsolve.results.prepare_outputs`). The
    results file is started (or, with ``resume``, checked against the configuration) only
    after the inputs, the layout and the memory estimates have been validated, so a failing
    run never touches an existing file. ``petsc_options``: the command-line PETSc options,
    part of the configuration that decides the numbers.
    """
    init_petsc()
    with run_options(cfg.petsc, warn=log.warning):
        return _run_main_job(cfg, comm, log, resume, petsc_options, allow_oversubscribe_memory)


def _run_main_job(cfg, comm, log, resume, petsc_options, allow_oversubscribe_memory):
    """The pipeline of :func:`run_main_job`, with the run file's PETSc options in place."""
    t_start = time.perf_counter()
    # What decides the numbers (output and plot paths may change between run and resume).
    identity = identity_of(cfg, petsc_options)
    if resume:
        check_resume(comm, cfg.output, identity)
    if not cfg.layer.table:
        check_density(cfg.layer.functional, cfg.layer.density)
    mem_hint = "lower [grid] points or [bands] nbands/margin"
    require_memory(comm, 400.0 * cfg.grid.points**3, f"the layer fields on a {cfg.grid.points}^3 "
                   "grid", allow=allow_oversubscribe_memory, hint=mem_hint)

    # 1-2. composition and fields (deterministic, recomputed on resume)
    t0 = time.perf_counter()
    layer = _layer(cfg.layer)
    log.info(layer.summary())
    gap = cfg.pairing.gap_model()
    lf = build_fields(layer, lattice=cfg.layer.lattice, points=cfg.grid.points,
                      pairing="functional" if gap.name == "functional" else None)
    base = lf.fields
    b0 = get_functional(layer.functional).hbar2_2m_n
    ions = {"bcc": 2, "fcc": 4}[layer.lattice]
    n_cell = ions * layer.N
    dos = free_gas_levels_per_MeV(base.a**3, layer.n_n_free, b0)
    nb = number_of_bands(cfg.bands, n_cell, base.n**3, dos)
    n_n_mean = float(np.mean(lf.densities["n_n"]))
    log.info(f"fields: {base.n}^3 points, a = {base.a:.4f} fm, h = {base.h:.4f} fm, order "
             f"{cfg.grid.order}; {n_cell:.1f} neutrons per cube → {nb} bands per k "
             f"(margin {cfg.bands.margin:g} MeV above μ; {time.perf_counter() - t0:.1f} s)")

    kmesh = layer_kmesh(cfg, base.a)
    mem = estimate_memory(base.n**3, nnz_per_row_for_order(cfg.grid.order), nb,
                          cfg.bands.solver, n_matrices=4)
    layout = Layout.create(comm, ngroups=cfg.kgroups, nk=kmesh.nk,
                           memory_per_group=mem.group_bytes)
    require_memory(comm, band_run_bytes_per_rank(mem, layout.describe()["ranks_per_group"],
                                                 kmesh.nk, fields_bytes(base.n, False, True)),
                   f"a band calculation with {nb} bands", allow=allow_oversubscribe_memory,
                   hint=mem_hint)
    if not resume:
        start_results_file(comm, cfg.output, identity)
    log.block("layout", {**layout.describe(), "memory": mem.describe(),
                         "k_points_irreducible": kmesh.nk,
                         "full_mesh": kmesh.nfull, "bands": nb, "solver": cfg.bands.solver})
    if base.Delta is not None:
        d = np.asarray(base.Delta)
        log.info(f"neutron pair field of {layer.functional} (LDA, {cfg.pairing.model} model, "
                 f"scale {gap.scale:g}): Delta_n from {d.min():.4g} to {d.max():.4g} MeV, "
                 f"cell mean {d.mean():.4g} MeV; {PAIRING_STATUS}")
    evaluations = []

    nbands = [nb]          # grows if a band calculation ends below μ + margin
    interpolation_reports = {}   # band calculation → reduced-basis report

    def band_calculation(i, inputs):
        fields = inputs.fields
        while True:
            ck = Checkpoint(cfg.output, comm, group=f"evaluations/{i:02d}/kpoints_nb{nbands[0]}")
            grid = Grid(fields.n, fields.a, comm=layout.kcomm)
            H = centring = None
            progress = log.kpoint_progress(f"band calculation {i} ({nbands[0]} bands) k")
            try:
                H = BlochHamiltonian(grid, fields, order=cfg.grid.order)
                # [bands] sectors: split each solve by the bcc/fcc centring translations.
                centring = sectors_for(grid, fields, cfg.bands.sectors)
                solver = with_sectors(make_eigensolver(cfg.bands.solver, nev=nbands[0],
                                                       tol=cfg.bands.tol, want_vectors=True),
                                      centring)
                if cfg.kmesh.interpolate:
                    # the fields change with every zero-point iteration: a basis per calculation
                    solver, report = interpolating_solver(
                        H, fields, SolverSettings(kind=cfg.bands.solver, nev=nbands[0],
                                                  tol=cfg.bands.tol, sectors=cfg.bands.sectors),
                        cfg.kmesh.interpolation(), kmesh.points, centring, log.info)
                    log.info(interpolation_summary(report))
                    interpolation_reports[i] = report
                result = superfluid_density(
                    H, kmesh, solver, gap=gap, levels=cfg.response.levels,
                    smearing=cfg.response.smearing, degeneracy_tol=cfg.response.degeneracy_tol,
                    layout=layout, density=n_n_mean, b0=b0,
                    current=inputs.current, checkpoint=ck, resume=resume, progress=progress)
                # 10 % slack: a repeat costs a whole band calculation
                short = cfg.bands.margin - result.band_margin
                if cfg.bands.nbands or result.band_margin >= 0.9 * cfg.bands.margin:
                    return result
                more = int(math.ceil(nbands[0] + 1.4 * dos * short + 1))
                if more >= fields.n**3:
                    return result
                log.warning(f"the computed bands end {result.band_margin:.3g} MeV above μ, "
                            f"less than the {cfg.bands.margin:g} MeV margin; repeating with "
                            f"{more} bands")
                nbands[0] = more
            except NotEnoughBandsError as exc:
                more = int(math.ceil(1.3 * nbands[0]))
                if cfg.bands.nbands or more >= fields.n**3:
                    raise
                log.warning(f"{exc}; repeating with {more} bands")
                nbands[0] = more
            finally:
                if H is not None:
                    H.destroy()
                if centring is not None:
                    centring.destroy()
                grid.destroy()

    def evaluate(msd: float, m_in: float) -> float:
        i = len(evaluations)
        te = time.perf_counter()
        inputs = _lattice_inputs(lf, msd, cfg.zeropoint.smear)
        if inputs.smeared:
            log.info(f"Debye–Waller smearing, <dr^2> = {msd:.4g} fm^2, applied to "
                     + ", ".join(inputs.smeared))
        result = band_calculation(i, inputs)
        levels = level_masses(result, layer.n_n_free, layer.Z, ions)
        driving = levels[cfg.zeropoint.level]
        drive = driving[CURRENT_TAGS[cfg.zeropoint.current and CURRENT_TAGS[True] in driving]]
        m_out = drive["m_ion_star_c2_MeV"]
        hydro = hydrodynamic_comparison(inputs.n_n, base.a, layer, comm) if cfg.hydro else {}
        conv = _convergence(result)
        if i in interpolation_reports:
            rep = interpolation_reports[i]
            conv.update({"interpolation_basis_size": rep["basis_size"],
                         "interpolation_held_out_max_error_MeV": rep["held_out_max_error_MeV"],
                         "interpolation_rounds": len(rep["rounds"]),
                         "interpolation_basis_bytes_per_rank": rep["basis_bytes_per_rank"],
                         "interpolation_build_seconds": rep["build_seconds"]})
        ev = Evaluation(i, msd, m_in, levels, m_out, conv, inputs.smeared,
                        hydro, time.perf_counter() - te)
        evaluations.append(ev)
        log.info(f"band calculation {i}: <dr^2> = {msd:.4g} fm^2 → m_I* c² = {m_out:.6g} MeV, "
                 "rho_s/rho_n,f " + ", ".join(
                     f"{k} {ev.fraction(k, current=CURRENT_TAGS[True] in levels[k]):.4f}"
                     for k in levels)
                 + f"{' (with current term)' if result.has_current else ''} "
                 f"({ev.seconds:.1f} s)")
        return m_out

    # 3. rigid lattice, then the zero-point loop
    m_rigid = evaluate(0.0, math.nan)
    converged, msd = True, 0.0
    if cfg.zeropoint.enabled:
        if layer.lattice != "bcc":
            raise InputError("the zero-point loop needs u_-1 of the lattice; only bcc is "
                             "confirmed (set [zeropoint] enabled = false for fcc)")
        n_I = ions / base.a**3
        res = zero_point_self_consistency(
            lambda s: evaluate(s, _last_mass(evaluations)), layer.Z, n_I, m_rigid,
            lattice=layer.lattice, rtol=cfg.zeropoint.rtol, max_iter=cfg.zeropoint.max_iter,
            mixing=cfg.zeropoint.mixing, allow_unconverged=True,
            on_iteration=lambda st: log.info(
                f"zero-point iteration {st.iteration}: m_I* c² in {st.m_ion_c2_in:.6g} → out "
                f"{st.m_ion_c2_out:.6g} MeV, <dr^2> = {st.msd:.4g} fm^2"))
        converged, msd = res.converged, res.msd
        msd_final = mean_square_displacement(layer.Z, n_I, res.m_ion_c2, layer.lattice)
        msd = msd_final
        if not converged:
            log.warning(f"zero-point loop not converged in {cfg.zeropoint.max_iter} iterations "
                        f"(rtol {cfg.zeropoint.rtol:g}); results of the last iteration reported")

    layout.free()
    out = MainJobResult(cfg, layer, tuple(evaluations), converged, msd,
                        time.perf_counter() - t_start,
                        {"density": n_n_mean, "b0": b0, "a": base.a, "ions_per_cell": ions,
                         "n_n_free": layer.n_n_free, "Z": layer.Z})
    write_main_results(cfg.output, out, comm, layout)
    return out


def _last_mass(evaluations) -> float:
    return evaluations[-1].m_ion_c2_out if evaluations else math.nan


def _final_kpoint_group(fh, index: int):
    """Name of the per-k group the final band calculation used (its largest band count)."""
    ev = fh.get(f"evaluations/{index:02d}")
    if ev is None:
        return None
    names = [n for n in ev if n.startswith("kpoints_nb")]
    return f"evaluations/{index:02d}/" + max(names, key=lambda n: int(n[len("kpoints_nb"):])) \
        if names else None


def write_main_results(path, res: MainJobResult, comm, layout) -> None:
    """Summary datasets + provenance, and the per-k data the configuration keeps (rank 0).

    The file is rewritten into a temporary file and renamed, so the per-k data of the
    band calculations that are not kept (``kpoint_data``) take no space.

    Layout (``docs/results-files.md``): ``summary/<quantity>/<level>/<variant>`` with variant
    ``no_current`` or ``with_current`` and quantity one of ``n_s``, ``truncation_estimate``,
    ``superfluid_fraction_free``, ``superfluid_fraction_all``, ``mn_star_over_mn_free``,
    ``mn_star_over_mn_all``, ``m_ion_star_over_m_ion``, ``m_ion_star_over_mu``.
    """
    def fill(name):
        with h5py.File(path, "r") as old, h5py.File(name, "w") as fh:
            for key, value in old.attrs.items():
                fh.attrs[key] = value
            keep = res.config.kpoint_data
            final = _final_kpoint_group(old, res.final.index)
            for ev in old.get("evaluations", {}):
                for grp in old[f"evaluations/{ev}"]:
                    full = f"evaluations/{ev}/{grp}"
                    if keep == "all" or (keep == "final" and full == final):
                        old.copy(full, fh.require_group(f"evaluations/{ev}"), name=grp)
            for key, value in provenance_attrs(to_dict(res.config), layout,
                                               {"wall_seconds": res.seconds}).items():
                fh.attrs[key] = value
            g = fh.create_group("summary")
            lay = res.layer
            for name, val, unit in (("nbar", lay.nbar, "fm^-3"), ("Z", lay.Z, "1"),
                                    ("A", lay.A, "1"), ("n_n_free", lay.n_n_free, "fm^-3"),
                                    ("msd", res.msd, "fm^2"),
                                    ("zero_point_converged", res.converged, "1")):
                g.create_dataset(name, data=val).attrs["units"] = unit
            g.attrs["layer"] = lay.summary()
            g.attrs["debye_waller_smeared"] = ", ".join(res.final.smeared) or "nothing (rigid lattice)"
            g.attrs["evaluations"] = json.dumps([_jsonable(e.__dict__) for e in res.evaluations])
            g.attrs["hydro"] = json.dumps(_jsonable(res.hydro))
            g.attrs["response_inputs"] = json.dumps(_jsonable(res.response_inputs or {}))
            g.attrs["final_kpoint_group"] = final or ""
            conv = res.final.convergence
            for q in ("mean", "spread"):
                g.create_dataset(f"gap_fermi_surface_{q}",
                                 data=conv[f"gap_fermi_surface_{q}_MeV"]).attrs["units"] = "MeV"
            for level, tags in res.final.levels.items():
                for tag, m in tags.items():
                    for q, val, unit in (
                            ("n_s", m["n_s_fm3"], "fm^-3 (rho_n,s/m_n)"),
                            ("truncation_estimate", m["truncation_estimate_fm3"], "fm^-3"),
                            ("superfluid_fraction_free", m["superfluid_fraction"]["free"], "1"),
                            ("superfluid_fraction_all", m["superfluid_fraction"]["all"], "1"),
                            ("mn_star_over_mn_free", m["mn_star_over_mn"]["free"], "1"),
                            ("mn_star_over_mn_all", m["mn_star_over_mn"]["all"], "1"),
                            ("m_ion_star_over_m_ion", m["m_ion_star_over_m_ion"], "1"),
                            ("m_ion_star_over_mu", m["m_ion_star_over_mu"], "1")):
                        g.create_dataset(f"{q}/{level}/{tag}", data=val).attrs["units"] = unit

    on_root(comm, atomic_write, path, fill, bcast_result=False)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _fmt(v, spec=".4f"):
    return f"{v:{spec}}" if v is not None and math.isfinite(v) else "n/a"


def summary_text(res: MainJobResult) -> str:
    """The printed summary of a main-job run (levels labelled by :mod:`crustsolve.response.levels`)."""
    cfg, fin, lay = res.config, res.final, res.layer
    rigid = res.evaluations[0]
    n_all = float("nan")
    for tags in fin.levels.values():
        m = tags["no_current"]
        n_all = m["n_s_fm3"] / m["superfluid_fraction"]["all"]
        break
    lines = [f"=== crustsolve main job: {lay.functional}, n̄ = {lay.nbar:g} fm^-3, {lay.lattice}, "
             f"Z = {lay.Z:g}, A = {lay.A:.1f} ===",
             f"neutrons: free (unbound, composition) n_n,f = {lay.n_n_free:.5g} fm^-3, all "
             f"n_n = {n_all:.5g} fm^-3",
             f"{'level':<24}{'current':>8}{'n_s/n_n,f':>11}{'n_s/n_n':>10}{'m_n*/m_n':>10}"
             f"{'m_I*/m_I':>10}{'m_I*/m_u':>10}{'trunc.':>9}{'rigid n_s/n_n,f':>17}"]
    for level, tags in fin.levels.items():
        for tag, m in tags.items():
            r = rigid.levels[level][tag]
            rel_tr = (m["truncation_estimate_fm3"] / m["n_s_fm3"]
                      if m["n_s_fm3"] else float("nan"))
            lines.append(f"{response_levels.label(level):<24}"
                         f"{'yes' if tag == 'with_current' else 'no':>8}"
                         f"{_fmt(m['superfluid_fraction']['free']):>11}"
                         f"{_fmt(m['superfluid_fraction']['all']):>10}"
                         f"{_fmt(m['mn_star_over_mn']['free']):>10}"
                         f"{_fmt(m['m_ion_star_over_m_ion']):>10}"
                         f"{_fmt(m['m_ion_star_over_mu'], '.1f'):>10}"
                         f"{_fmt(100 * rel_tr, '+.2f') + '%':>9}"
                         f"{_fmt(r['superfluid_fraction']['free']):>17}")
    lines.append("n_s = rho_n,s/m_n; 'current' = with the current-field vertex of the superflow; "
                 "m_n* relative to the free neutrons; m_I* = (rho_bar - rho_n,s)/n_I, "
                 "m_I = (rho_bar - rho_n,f)/n_I; 'trunc.' = estimated change of n_s if all bands "
                 "were included")
    c = fin.convergence
    lines.append(f"pairing: {cfg.pairing.model} gap model ("
                 + (f"Δ = {cfg.pairing.gap:g} MeV" if cfg.pairing.model == "constant"
                    else f"LDA pair field of {lay.functional} x {cfg.pairing.scale:g}")
                 + f"); Fermi-surface average of Δ_αk {_fmt(c['gap_fermi_surface_mean_MeV'])} "
                 f"MeV, spread {_fmt(c['gap_fermi_surface_spread_MeV'])} MeV (Gaussian weight, "
                 f"σ = {c['gap_fermi_surface_sigma_MeV']:g} MeV)")
    if cfg.zeropoint.enabled:
        lines.append(f"zero-point motion: <dr^2> = {res.msd:.4g} fm^2 after "
                     f"{len(res.evaluations) - 1} iteration(s), "
                     f"{'converged' if res.converged else 'NOT converged'} (rtol "
                     f"{cfg.zeropoint.rtol:g}, driving level {cfg.zeropoint.level}"
                     f"{' with current' if cfg.zeropoint.current else ''}); Debye–Waller "
                     f"smearing applied to {', '.join(fin.smeared) or 'nothing'}")
    if res.hydro:
        pf = res.hydro["potential_flow"]
        lines.append(f"hydrodynamics, potential flow of rho_s^loc = m_n n_n(r) (all neutrons "
                     f"superfluid, bound ones included): n_s/n_n,f = "
                     f"{pf['superfluid_fraction']['free']:.4f}, n_s/n_n = "
                     f"{pf['superfluid_fraction']['all']:.4f}, m_I*/m_I = "
                     f"{pf['m_ion_star_over_m_ion']:.4f}, m_I*/m_u = "
                     f"{pf['m_ion_star_over_mu']:.1f}")
        sph = res.hydro["sphere"]
        parts = []
        for name, e in res.hydro["epstein_baym"].items():
            parts.append(f"{name} (lambda = {e['lambda']:.3g}): m_I*/m_u = "
                         f"{e['m_ion_star_over_mu']:.1f}, m_I*/m_I = "
                         f"{_fmt(e['m_ion_star_over_m_ion'], '.3f')}")
        lines.append(f"Epstein–Baym single ion (R = {sph['radius_fm']:.3g} fm, the neutron "
                     "half-density radius; each prescription's own m_I): " + "; ".join(parts))
    c = fin.convergence
    lines.append(f"convergence ({cfg.preset} preset): grid {cfg.grid.points}^3 order "
                 f"{cfg.grid.order}, k-mesh {cfg.kmesh.n}^3{' shifted' if cfg.kmesh.shift else ''} "
                 f"({c['kpoints']} irreducible; not shown converged), {c['nbands']} bands, band "
                 f"margin above mu {c['band_margin_MeV']:.3g} MeV, max residual "
                 f"{c['max_residual']:.1e}")
    registry = response_levels.registry()
    smeared = [lv for lv in fin.levels
               if lv in registry and registry[lv].number_equation == "smearing"]
    lines.append("  " + "".join(f"smearing-extrapolation error of the {lv} level: "
                                f"{c.get(f'{lv}_smearing_error_fm3', math.nan):.2e} fm^-3; "
                                for lv in smeared) + f"wall time {res.seconds:.0f} s")
    return "\n".join(lines)
