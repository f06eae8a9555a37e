"""The main job: one crustal layer (functional, n̄) → superfluid fraction, m_n*, m_I*.

Pipeline (DESIGN.md §2, physics ref. crust-superfluidity.md §5–§8):

1. composition: ETF minimisation (:func:`crustsolve.crust.minimise_layer`) or a published
   table (:func:`crustsolve.crust.load_table`);
2. periodic fields on the conventional cube (:func:`crustsolve.crust.build_fields`);
3. zero-point loop (§7): ⟨δr²⟩(m_I*) → Debye–Waller smearing of the chosen fields →
   bands on the k-mesh → ρ_n,s at every level (:func:`crustsolve.response.superfluid_density`)
   → m_I* = (ρ̄ − ρ_n,s)/n_I of the driving level → repeat to a fixed point. The first band
   calculation is the rigid lattice (⟨δr²⟩ = 0), reported as such;
4. hydrodynamic comparison (§8): potential flow of ρ_s^loc = m_n n_n(r) through the same grid,
   and the single-sphere prescriptions.

Every k-point of every band calculation is checkpointed in the results file
(``evaluations/<i>/kpoints/<k>``); ``resume=True`` reuses completed items and gives the same
numbers as an uninterrupted run. Nothing here prints: progress goes to ``log`` (rank 0).
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np

from .config import from_dict, merge, to_dict
from .constants import HBAR2_2MN, M_N_C2, M_P_C2
from .errors import ConfigError, InputError, NotEnoughBandsError, check_range

LEVEL_LABELS = {"normal": "normal (Fermi surface)", "intraband": "BCS intraband",
                "form_a": "full response (A)", "form_b": "full response (B)"}


# ---------------------------------------------------------------------------------------------
# Run-file schema
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LayerConfig:
    """[layer]: which crustal layer. ``table`` = path of a published composition table (used
    instead of the ETF minimisation); ``Z`` = protons per cluster (default: the functional's)."""

    functional: str = "BSk24"
    density: float = 0.03
    lattice: Literal["bcc", "fcc"] = "bcc"
    Z: Optional[float] = None
    table: str = ""

    def __post_init__(self):
        check_range("layer.density", self.density, 0.0, None, lo_open=True, unit="fm^-3")


@dataclass(frozen=True)
class GridConfig:
    """[grid]: points per side of the conventional cube (even) and FD order."""

    points: int = 20
    order: int = 6

    def __post_init__(self):
        if self.points < 8 or self.points % 2:
            raise InputError(f"grid.points = {self.points} must be an even number ≥ 8")


@dataclass(frozen=True)
class BandsConfig:
    """[bands]: eigensolver; ``nbands`` 0 = occupied levels × (1 + ``buffer``). If the bands
    end less than 5σ_max above μ, the band calculation is repeated with 30 % more bands."""

    solver: Literal["lapack", "krylovschur", "chebyshev"] = "lapack"
    nbands: int = 0
    buffer: float = 0.3
    tol: float = 1e-8

    def __post_init__(self):
        check_range("bands.buffer", self.buffer, 0.0, 2.0)
        check_range("bands.tol", self.tol, 0.0, 1e-3, lo_open=True)
        if self.nbands < 0:
            raise InputError(f"bands.nbands = {self.nbands} must be ≥ 0 (0 = automatic)")


@dataclass(frozen=True)
class KMeshConfig:
    """[kmesh]: Monkhorst–Pack n×n×n of the simple-cubic zone, reduced by O_h + time reversal."""

    n: int = 2
    shift: bool = True

    def __post_init__(self):
        if not 1 <= self.n <= 64:
            raise InputError(f"kmesh.n = {self.n} is outside the allowed range [1, 64]")


@dataclass(frozen=True)
class PairingConfig:
    """[pairing]: constant gap Δ (MeV) for every band and k (physics ref. §5.7 option i)."""

    gap: float = 1.0

    def __post_init__(self):
        check_range("pairing.gap", self.gap, 0.0, 10.0, lo_open=True, unit="MeV")


@dataclass(frozen=True)
class ZeroPointConfig:
    """[zeropoint]: quantum zero-point motion of the ions (§7). ``smear``: fields smeared by
    the Debye–Waller factor ("U" only, or "UB" for U_n and B_n). ``level``: the level of theory
    whose ρ_n,s drives m_I* (with the local current-field term if ``current``)."""

    enabled: bool = True
    smear: Literal["U", "UB"] = "U"
    level: Literal["normal", "intraband", "form_a", "form_b"] = "form_b"
    current: bool = True
    rtol: float = 1e-2
    max_iter: int = 6
    mixing: float = 1.0

    def __post_init__(self):
        check_range("zeropoint.rtol", self.rtol, 0.0, 1.0, lo_open=True)
        check_range("zeropoint.mixing", self.mixing, 0.0, 1.0, lo_open=True)
        if self.max_iter < 1:
            raise InputError(f"zeropoint.max_iter = {self.max_iter} must be ≥ 1")


@dataclass(frozen=True)
class MainJobConfig:
    """The whole run file (TOML). ``preset`` chooses defaults (quick, standard, production);
    every key can be overridden. ``output``: results file; ``plot``: summary PNG ("" = none)."""

    preset: Literal["quick", "standard", "production"] = "quick"
    layer: LayerConfig = field(default_factory=LayerConfig)
    grid: GridConfig = field(default_factory=GridConfig)
    bands: BandsConfig = field(default_factory=BandsConfig)
    kmesh: KMeshConfig = field(default_factory=KMeshConfig)
    pairing: PairingConfig = field(default_factory=PairingConfig)
    zeropoint: ZeroPointConfig = field(default_factory=ZeroPointConfig)
    hydro: bool = True
    kgroups: Optional[int] = None
    output: str = "results.h5"
    plot: str = "results.png"
    petsc: dict[str, str] = field(default_factory=dict)


#: Precision presets (measured on the 2-core development machine; see README). The standard
#: and production grids use the Chebyshev solver: at ~1350 bands it beat Krylov–Schur cold at
#: 24³ and 32³ and warm-starts each k-point from the previous one (benchmarks/README.md).
PRESETS = {
    "quick": {"grid": {"points": 20, "order": 6}, "bands": {"solver": "lapack"},
              "kmesh": {"n": 2, "shift": True}, "zeropoint": {"rtol": 1e-2, "max_iter": 6}},
    "standard": {"grid": {"points": 28, "order": 6}, "bands": {"solver": "chebyshev"},
                 "kmesh": {"n": 4, "shift": True}, "zeropoint": {"rtol": 3e-3, "max_iter": 10}},
    "production": {"grid": {"points": 40, "order": 6}, "bands": {"solver": "chebyshev"},
                   "kmesh": {"n": 6, "shift": True}, "zeropoint": {"rtol": 1e-3, "max_iter": 15}},
}


def resolve_config(file_data: Optional[dict] = None, overrides: Optional[dict] = None) -> MainJobConfig:
    """Preset < run file < command-line overrides → validated :class:`MainJobConfig`."""
    data = merge(file_data or {}, overrides or {})
    preset = data.get("preset", "quick")
    if preset not in PRESETS:
        raise ConfigError(f"preset = {preset!r} is not one of: {', '.join(PRESETS)}")
    return from_dict(MainJobConfig, merge(PRESETS[preset], data))


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Evaluation:
    """One band calculation of the zero-point loop."""

    index: int
    msd: float                 #: ⟨δr²⟩ used for the smearing (fm²)
    m_ion_c2_in: float         #: m_I* c² that gave ⟨δr²⟩ (MeV; nan for the rigid lattice)
    fractions: dict            #: {level: {"no_current"/"with_current": ρ_s/ρ_f (profile)}}
    masses: dict               #: {level: {...}} m_n*/m_n, m_I*/m_I (see _level_masses)
    m_ion_c2_out: float        #: m_I* c² of the driving level (MeV)
    convergence: dict          #: band margin, residual, window/smearing convergence
    seconds: float


@dataclass(frozen=True)
class MainJobResult:
    config: MainJobConfig
    layer: object
    evaluations: tuple
    converged: bool
    msd: float
    hydro: dict
    seconds: float

    @property
    def final(self) -> Evaluation:
        return self.evaluations[-1]


# ---------------------------------------------------------------------------------------------
# Pieces
# ---------------------------------------------------------------------------------------------

def _layer(cfg: LayerConfig):
    from .crust import load_table, minimise_layer  # noqa: PLC0415

    if cfg.table:
        table = load_table(cfg.table, functional=cfg.functional)
        return table.layer_at(cfg.density).with_lattice(cfg.lattice)
    return minimise_layer(cfg.functional, cfg.density, cfg.Z, lattice=cfg.lattice)


def number_of_bands(cfg: BandsConfig, n_neutrons_cell: float, npoints: int) -> int:
    """Bands per k: the occupied spin-degenerate levels (N_cell/2) times (1 + buffer)."""
    if cfg.nbands:
        nb = cfg.nbands
    else:
        nb = int(math.ceil(0.5 * n_neutrons_cell * (1.0 + cfg.buffer)))
    if nb >= npoints:
        raise InputError(f"{nb} bands requested but the grid has only {npoints} points; "
                         "refine [grid] points or lower [bands] nbands/buffer")
    return nb


def _smeared_fields(base, msd: float, smear: str):
    from dataclasses import replace  # noqa: PLC0415

    from .zeropoint import debye_waller_smear  # noqa: PLC0415

    if msd == 0.0:
        return base
    U = debye_waller_smear(np.asarray(base.U), base.a, msd)
    B = debye_waller_smear(np.asarray(base.B), base.a, msd) if smear == "UB" else base.B
    prov = dict(base.provenance)
    prov["debye_waller"] = f"<dr^2> = {msd:.6g} fm^2 applied to {'U_n, B_n' if smear == 'UB' else 'U_n'}"
    return replace(base, U=U, B=B, provenance=prov)


def _level_masses(result, layer, ions_per_cell: int) -> tuple:
    from .response.masses import effective_masses  # noqa: PLC0415

    fractions, masses = {}, {}
    for name in result.levels:
        fractions[name], masses[name] = {}, {}
        for cur in ((False, True) if result.current_term is not None else (False,)):
            em = effective_masses(result, name, current=cur, n_free_profile=layer.n_n_free,
                                  Z=layer.Z, ions_per_cell=ions_per_cell)
            tag = "with_current" if cur else "no_current"
            fractions[name][tag] = em.superfluid_fraction.get("profile", math.nan)
            masses[name][tag] = {
                "n_s_fm3": em.n_s,
                "superfluid_fraction": dict(em.superfluid_fraction),
                "mn_star_over_mn": dict(em.mn_star_over_mn),
                "m_ion_star_c2_MeV": em.m_ion_star_MeV,
                "m_ion_star_over_m_ion": dict(em.m_ion_star_over_m_ion),
            }
    return fractions, masses


def _convergence(result) -> dict:
    out = {"band_margin_MeV": result.band_margin, "max_residual": result.max_residual,
           "nbands": result.nb, "kpoints": result.nk, "full_mesh": result.nfull}
    for name, lv in result.levels.items():
        out[f"{name}_error_fm3"] = lv.error
    if "form_b" in result.levels:
        d = result.levels["form_b"].details
        out["form_b_windows_MeV"] = list(d.get("windows_MeV", []))
        out["form_b_scalar_per_window"] = list(d.get("scalar_per_window", []))
    return out


def hydrodynamic_comparison(layer_fields, layer, comm) -> dict:
    """§8: potential flow of ρ_s^loc = m_n n_n(r) on the grid, and single-sphere prescriptions."""
    from .hydro import (PRESCRIPTIONS, ClusterForHydro, potential_flow_superfluid_density,  # noqa: PLC0415
                        single_sphere_prescription)

    n_n = np.asarray(layer_fields.densities["n_n"], dtype=float)
    flow = potential_flow_superfluid_density(n_n, layer_fields.a, comm=comm)
    n_s = float(np.trace(flow.superfluid_density) / 3.0)
    ions = {"bcc": 2, "fcc": 4}[layer.lattice]
    n_I = ions / layer_fields.a**3
    n_n_mean = float(n_n.mean())
    rho_bar = M_N_C2 * n_n_mean + M_P_C2 * layer.Z * n_I
    m_I = (rho_bar - M_N_C2 * layer.n_n_free) / n_I
    out = {"potential_flow": {
        "n_s_fm3": n_s, "fraction_of_free": n_s / layer.n_n_free,
        "fraction_of_all": n_s / n_n_mean,
        "m_ion_star_over_m_ion": (rho_bar - M_N_C2 * n_s) / n_I / m_I,
        "leggett_bounds_fm3": [list(b) for b in flow.bounds],
        "ksp_iterations": list(flow.iterations)}}
    # Sphere: the neutron half-density radius; N_in from the radial profile.
    R_N = layer.neutron.C
    r = np.linspace(0.0, R_N, 4001)
    N_in = float(np.trapz(4 * np.pi * r**2 * layer.neutron.density(r), r))
    cl = ClusterForHydro(Z=layer.Z, N_in=N_in, radius=R_N, n_n_out=layer.n_n_free,
                         m_n_c2=M_N_C2, m_p_c2=M_P_C2)
    out["single_sphere"] = {p: single_sphere_prescription(cl, p) / m_I for p in PRESCRIPTIONS}
    out["single_sphere_radius_fm"] = R_N
    return out


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------

def _check_resume(path, cfg_json: str, comm) -> None:
    import h5py  # noqa: PLC0415

    err = None
    if comm.rank == 0:
        if not os.path.exists(path):
            err = f"--resume: no results file {path!r} to resume from"
        else:
            with h5py.File(path, "r") as fh:
                old = fh.attrs.get("run_config")
            if old is None:
                err = f"--resume: {path!r} was not written by crustsolve run (no run_config)"
            elif json.loads(old) != json.loads(cfg_json):
                err = (f"--resume: the configuration differs from the one that started {path!r}; "
                       "resume with the same run file and flags, or start a new run")
    err = comm.bcast(err, root=0)
    if err:
        raise InputError(err)


def _start_file(path, cfg_json: str, comm) -> None:
    import h5py  # noqa: PLC0415

    if comm.rank == 0:
        with h5py.File(path, "w") as fh:
            fh.attrs["run_config"] = cfg_json
    comm.Barrier()


def run_main_job(cfg: MainJobConfig, comm, log, *, resume: bool = False) -> MainJobResult:
    """Run the layer pipeline (collective on ``comm``); see the module docstring."""
    from .bands import BlochHamiltonian, Grid  # noqa: PLC0415
    from .bands.eigensolvers import make_eigensolver  # noqa: PLC0415
    from .bands.kmesh import KMesh  # noqa: PLC0415
    from .bands.memory import estimate_memory, nnz_per_row_for_order  # noqa: PLC0415
    from .crust import build_fields  # noqa: PLC0415
    from .parallel import Layout  # noqa: PLC0415
    from .petsc_env import init_petsc, set_default_options  # noqa: PLC0415
    from .response.superfluid import CurrentTerm, GapSpec, superfluid_density  # noqa: PLC0415
    from .results import Checkpoint  # noqa: PLC0415
    from .zeropoint import mean_square_displacement, zero_point_self_consistency  # noqa: PLC0415

    t_start = time.perf_counter()
    init_petsc()
    if cfg.petsc:
        set_default_options(cfg.petsc)
    # What decides the numbers (output and plot paths may change between run and resume).
    cfg_json = json.dumps({k: v for k, v in to_dict(cfg).items() if k not in ("output", "plot")},
                          sort_keys=True)
    if resume:
        _check_resume(cfg.output, cfg_json, comm)
    else:
        _start_file(cfg.output, cfg_json, comm)

    # 1-2. composition and fields (deterministic, recomputed on resume)
    t0 = time.perf_counter()
    layer = _layer(cfg.layer)
    log.info(layer.summary())
    lf = build_fields(layer, lattice=cfg.layer.lattice, points=cfg.grid.points,
                      pairing=cfg.pairing.gap)
    base = lf.fields
    ions = {"bcc": 2, "fcc": 4}[layer.lattice]
    n_cell = ions * layer.N
    nb = number_of_bands(cfg.bands, n_cell, base.n**3)
    n_n_mean = float(np.mean(lf.densities["n_n"]))
    log.info(f"fields: {base.n}^3 points, a = {base.a:.4f} fm, h = {base.h:.4f} fm, order "
             f"{cfg.grid.order}; {n_cell:.1f} neutrons per cube → {nb} bands per k "
             f"({time.perf_counter() - t0:.1f} s)")

    kmesh = KMesh.monkhorst_pack(cfg.kmesh.n, base.a, shift=cfg.kmesh.shift, symmetry="Oh",
                                 time_reversal=True)
    mem = estimate_memory(base.n**3, nnz_per_row_for_order(cfg.grid.order), nb,
                          cfg.bands.solver, n_matrices=4)
    layout = Layout.create(comm, ngroups=cfg.kgroups, nk=kmesh.nk,
                           memory_per_group=mem.group_bytes)
    log.block("layout", {**layout.describe(), "memory": mem.describe(),
                         "k_points_irreducible": kmesh.nk,
                         "full_mesh": kmesh.nfull, "bands": nb, "solver": cfg.bands.solver})
    current = CurrentTerm(lf.densities["C_plus"], lf.densities["n_n"])
    gap = GapSpec("constant", cfg.pairing.gap)
    evaluations = []

    nbands = [nb]          # grows if a band calculation ends too close above μ

    def band_calculation(i, fields):
        while True:
            ck = Checkpoint(cfg.output, comm, group=f"evaluations/{i:02d}/kpoints_nb{nbands[0]}")
            grid = Grid(fields.n, fields.a, comm=layout.kcomm)
            H = None
            prog = log.progress(kmesh.nk, f"band calculation {i} ({nbands[0]} bands) k")
            try:
                H = BlochHamiltonian(grid, fields, order=cfg.grid.order)
                solver = make_eigensolver(cfg.bands.solver, nev=nbands[0], tol=cfg.bands.tol,
                                          want_vectors=True)
                return superfluid_density(
                    H, kmesh, solver, gap=gap, layout=layout, density=n_n_mean, b0=HBAR2_2MN,
                    current=current, checkpoint=ck, resume=resume,
                    progress=lambda done, total: prog.step(count=done - prog.done)
                    if done > prog.done else None)
            except NotEnoughBandsError as exc:
                more = int(math.ceil(1.3 * nbands[0]))
                if cfg.bands.nbands or more >= fields.n**3:
                    raise
                log.warning(f"{exc}; repeating with {more} bands")
                nbands[0] = more
            finally:
                if H is not None:
                    H.destroy()
                grid.destroy()

    def evaluate(msd: float, m_in: float) -> float:
        i = len(evaluations)
        te = time.perf_counter()
        result = band_calculation(i, _smeared_fields(base, msd, cfg.zeropoint.smear))
        fractions, masses = _level_masses(result, layer, ions)
        drive = masses[cfg.zeropoint.level]["with_current" if cfg.zeropoint.current
                                            and result.current_term is not None else "no_current"]
        m_out = drive["m_ion_star_c2_MeV"]
        ev = Evaluation(i, msd, m_in, fractions, masses, m_out, _convergence(result),
                        time.perf_counter() - te)
        evaluations.append(ev)
        log.info(f"band calculation {i}: <dr^2> = {msd:.4g} fm^2 → m_I* c² = {m_out:.6g} MeV, "
                 "superfluid fraction " + ", ".join(
                     f"{k} {v.get('with_current', v['no_current']):.4f}" for k, v in fractions.items())
                 + f" ({ev.seconds:.1f} s)")
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

    hydro = hydrodynamic_comparison(lf, layer, comm) if cfg.hydro else {}
    layout.free()
    out = MainJobResult(cfg, layer, tuple(evaluations), converged, msd, hydro,
                        time.perf_counter() - t_start)
    write_main_results(cfg.output, out, comm, layout)
    return out


def _last_mass(evaluations) -> float:
    return evaluations[-1].m_ion_c2_out if evaluations else math.nan


def write_main_results(path, res: MainJobResult, comm, layout) -> None:
    """Summary datasets + provenance into the results file (rank 0), next to the checkpoints."""
    import h5py  # noqa: PLC0415

    from .results import provenance_attrs  # noqa: PLC0415

    if comm.rank == 0:
        with h5py.File(path, "a") as fh:
            for key, value in provenance_attrs(to_dict(res.config), layout,
                                               {"wall_seconds": res.seconds}).items():
                fh.attrs[key] = value
            if "summary" in fh:
                del fh["summary"]
            g = fh.create_group("summary")
            lay = res.layer
            for name, val, unit in (("nbar", lay.nbar, "fm^-3"), ("Z", lay.Z, "1"),
                                    ("A", lay.A, "1"), ("n_n_free", lay.n_n_free, "fm^-3"),
                                    ("msd", res.msd, "fm^2"),
                                    ("zero_point_converged", res.converged, "1")):
                g.create_dataset(name, data=val).attrs["units"] = unit
            g.attrs["layer"] = lay.summary()
            g.attrs["evaluations"] = json.dumps([_jsonable(e.__dict__) for e in res.evaluations])
            g.attrs["hydro"] = json.dumps(_jsonable(res.hydro))
            fin = res.final
            for level, tags in fin.fractions.items():
                for tag, v in tags.items():
                    g.create_dataset(f"superfluid_fraction/{level}/{tag}", data=v).attrs["units"] = "1"
            for level, tags in fin.masses.items():
                for tag, m in tags.items():
                    d = g.create_dataset(f"m_ion_star_over_m_ion/{level}/{tag}",
                                         data=m["m_ion_star_over_m_ion"].get("profile", math.nan))
                    d.attrs["units"] = "1"
                    d = g.create_dataset(f"mn_star_over_mn/{level}/{tag}",
                                         data=m["mn_star_over_mn"].get("profile", math.nan))
                    d.attrs["units"] = "1"
    comm.Barrier()


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


def summary_text(res: MainJobResult) -> str:
    """The printed summary of a main-job run."""
    cfg, fin, lay = res.config, res.final, res.layer
    rigid = res.evaluations[0]
    lines = [f"=== crustsolve main job: {lay.functional}, n̄ = {lay.nbar:g} fm^-3, {lay.lattice}, "
             f"Z = {lay.Z:g}, A = {lay.A:.1f}, n_n,free = {lay.n_n_free:.5g} fm^-3 ===",
             f"{'level':<24}{'rho_s/rho_f':>12}{'(+current)':>12}{'m_n*/m_n':>10}{'m_I*/m_I':>10}"
             f"{'rigid: rho_s/rho_f':>20}"]
    for level, tags in fin.fractions.items():
        m = fin.masses[level]
        tag = "with_current" if "with_current" in m else "no_current"
        lines.append(f"{LEVEL_LABELS.get(level, level):<24}{tags['no_current']:>12.4f}"
                     f"{tags.get('with_current', math.nan):>12.4f}"
                     f"{m[tag]['mn_star_over_mn'].get('profile', math.nan):>10.4f}"
                     f"{m[tag]['m_ion_star_over_m_ion'].get('profile', math.nan):>10.4f}"
                     f"{rigid.fractions[level].get(tag, math.nan):>20.4f}")
    lines.append("(fractions and m_n* relative to the free-neutron background density of the "
                 "profile; m_I* = (rho_bar - rho_n,s)/n_I)")
    if cfg.zeropoint.enabled:
        lines.append(f"zero-point motion: <dr^2> = {res.msd:.4g} fm^2 after "
                     f"{len(res.evaluations) - 1} iteration(s), "
                     f"{'converged' if res.converged else 'NOT converged'} (rtol "
                     f"{cfg.zeropoint.rtol:g}, driving level {cfg.zeropoint.level}"
                     f"{' + current' if cfg.zeropoint.current else ''})")
    if res.hydro:
        pf = res.hydro["potential_flow"]
        ss = res.hydro["single_sphere"]
        lines.append(f"hydrodynamics (rho_s^loc = m_n n_n(r)): rho_s/rho_f = "
                     f"{pf['fraction_of_free']:.4f}, m_I*/m_I = {pf['m_ion_star_over_m_ion']:.4f}; "
                     "single sphere m_I*/m_I: " + ", ".join(f"{k} {v:.3f}" for k, v in ss.items()))
    c = fin.convergence
    lines.append(f"convergence ({cfg.preset} preset): grid {cfg.grid.points}^3 order "
                 f"{cfg.grid.order}, k-mesh {cfg.kmesh.n}^3{' shifted' if cfg.kmesh.shift else ''} "
                 f"({c['kpoints']} irreducible), {c['nbands']} bands, band margin above mu "
                 f"{c['band_margin_MeV']:.3g} MeV, max residual {c['max_residual']:.1e}")
    if "form_b_windows_MeV" in c:
        lines.append("  form B window convergence: " + ", ".join(
            f"W={w:.3g} MeV: {v:.5g}" for w, v in zip(c["form_b_windows_MeV"],
                                                      c["form_b_scalar_per_window"])))
    lines.append(f"  smearing-extrapolation error of the normal level: "
                 f"{c.get('normal_error_fm3', math.nan):.2e} fm^-3; wall time {res.seconds:.0f} s")
    return "\n".join(lines)
