"""Run driver of the superfluid-density stage: config → bands → every level → table + HDF5.

``crustsolve run CONFIG`` with ``fields = "F.h5"`` runs :func:`run_config`; the run-file
schema is :class:`ResponseRunConfig` (TOML keys = field names; nested tables ``[gap]``
(``kind`` = a gap model of :mod:`crustsolve.response.pairing`, and its parameters),
``[current]``, ``[masses]``; example ``examples/response_cosine.toml``)::

    cfg = load_toml(path, ResponseRunConfig, comm)          # crustsolve.config
    result = run_config(cfg, comm, log)                      # collective

Only rank 0 prints (through ``log``) and writes.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal, Optional

import numpy as np

from ..config import to_dict
from ..constants import HBAR2_2MN
from ..errors import InputError, check_range
from . import levels as L
from .masses import effective_masses
from .pairing import GapConfig
from .superfluid import CurrentTerm, superfluid_density

#: HDF5 group of the results.
GROUP = "response"


@dataclass(frozen=True)
class CurrentConfig:
    """[current] current-field vertex of the superflow: constant C_nn (MeV fm⁵) and n_n (fm⁻³)
    (:class:`~crustsolve.response.superfluid.CurrentTerm`)."""

    cnn: Optional[float] = None
    nn: Optional[float] = None

    def __post_init__(self):
        if (self.cnn is None) != (self.nn is None):
            raise InputError("current term: give both cnn (MeV fm^5) and nn (fm^-3), or neither")
        if self.nn is not None:
            check_range("current.nn", self.nn, lo=0.0, unit="fm^-3")
            check_range("current.cnn", self.cnn, lo=-1e4, hi=1e4, unit="MeV fm^5")


@dataclass(frozen=True)
class MassesConfig:
    """[masses] inputs of the effective masses: the free (unbound) neutron density n_n,f of the
    composition, i.e. the background density of the density profile (fm⁻³); protons per
    ion Z; ions per conventional cube (bcc 2, fcc 4)."""

    n_free_profile: Optional[float] = None
    Z: Optional[float] = None
    ions_per_cell: int = 2


@dataclass(frozen=True)
class ResponseRunConfig:
    """Run file of the superfluid-density stage.

    fields : field-file path (``crustsolve.bands`` schema). order : FD order. nev : bands per k.
    solver : "krylovschur" | "chebyshev" | "lapack"; tol : eigen-residual tolerance (MeV-relative).
    kmesh : Monkhorst–Pack points per direction; shift : shifted mesh; symmetry : "auto"
    (O_h if the fields are O_h invariant and carry no current), "oh", "none".
    kgroups : number of k-groups (default automatic). density (fm⁻³) or mu (MeV): exactly one.
    levels : registered levels of theory (:mod:`crustsolve.response.levels`; default: those
    registered as default).
    smearing : Gaussian widths σ (MeV) of the normal level, extrapolated to σ → 0.
    degeneracy_tol : MeV. b0 : ħ²/2m_n (MeV fm²) that defines m_n. output : HDF5 path or "".
    Every level is reported with its band-truncation estimate (the bands above the ``nev``
    computed ones); raise ``nev`` until it is small enough.
    """

    fields: str
    order: int = 4
    nev: int = 50
    solver: Literal["krylovschur", "chebyshev", "lapack"] = "krylovschur"
    tol: float = 1e-8
    kmesh: int = 4
    shift: bool = False
    symmetry: Literal["auto", "oh", "none"] = "auto"
    kgroups: Optional[int] = None
    density: Optional[float] = None
    mu: Optional[float] = None
    levels: tuple[str, ...] = L.default_names()
    smearing: tuple[float, ...] = (0.4, 0.3, 0.2)
    degeneracy_tol: float = 1e-6
    b0: float = HBAR2_2MN
    gap: GapConfig = field(default_factory=GapConfig)
    current: CurrentConfig = field(default_factory=CurrentConfig)
    masses: MassesConfig = field(default_factory=MassesConfig)
    output: str = "response.h5"

    def __post_init__(self):
        if (self.density is None) == (self.mu is None):
            raise InputError("give exactly one of density (fm^-3) or mu (MeV)")
        if self.density is not None:
            check_range("density", self.density, lo=0.0, lo_open=True, unit="fm^-3")
        L.check_names("levels", self.levels)
        if int(self.kmesh) < 1:
            raise InputError(f"kmesh = {self.kmesh} must be ≥ 1")
        if int(self.nev) < 1:
            raise InputError(f"nev = {self.nev} must be ≥ 1")
        for s in self.smearing:
            check_range("smearing", s, lo=0.0, lo_open=True, unit="MeV")


def _mesh(fields, cfg):
    from ..bands.kmesh import KMesh, field_symmetry_error, oh_operations  # noqa: PLC0415

    if fields.has_current:
        return KMesh.monkhorst_pack(cfg.kmesh, fields.a, shift=cfg.shift, symmetry="none",
                                    time_reversal=False)
    sym = cfg.symmetry
    if sym == "auto":
        ops = oh_operations()
        err = field_symmetry_error(fields, ops)            # U and B
        for f in cfg.gap.model().symmetry_fields(fields):
            # The gap's fields must be O_h invariant too (field_symmetry_error checks U, B only).
            err = max(err, field_symmetry_error(
                fields.replace(U=f, B=np.ones_like(fields.B)), ops))
        sym = "oh" if err < 1e-10 else "none"
    return KMesh.monkhorst_pack(cfg.kmesh, fields.a, shift=cfg.shift,
                                symmetry="Oh" if sym == "oh" else "none", time_reversal=True)


def run_config(config: ResponseRunConfig, comm, log):
    """Bands → all levels → summary table (rank 0) → HDF5 (``config.output``). Collective.

    Returns the :class:`~crustsolve.response.superfluid.SuperfluidResult`.
    """
    from ..bands import BlochHamiltonian, Fields, Grid  # noqa: PLC0415
    from ..bands.eigensolvers import make_eigensolver  # noqa: PLC0415
    from ..parallel import Layout  # noqa: PLC0415

    t0 = time.perf_counter()
    fields = Fields.read(config.fields, comm)
    kmesh = _mesh(fields, config)
    layout = Layout.create(comm, ngroups=config.kgroups, nk=kmesh.nk)
    log.block("response layout", {**layout.describe(), "k_points": kmesh.nk,
                                  "full_mesh": kmesh.nfull, "symmetry": kmesh.symmetry})
    gap = config.gap.model()
    current = (None if config.current.cnn is None
               else CurrentTerm(config.current.cnn, config.current.nn))
    grid = Grid(fields.n, fields.a, comm=layout.kcomm)
    H = None
    try:
        H = BlochHamiltonian(grid, fields, order=config.order)
        solver = make_eigensolver(config.solver, nev=config.nev, tol=config.tol,
                                  want_vectors=True)
        result = superfluid_density(H, kmesh, solver, gap=gap, levels=config.levels,
                                    layout=layout, density=config.density, mu=config.mu,
                                    smearing=config.smearing,
                                    degeneracy_tol=config.degeneracy_tol, b0=config.b0,
                                    current=current, progress=log.kpoint_progress("k"))
    finally:
        if H is not None:
            H.destroy()
        grid.destroy()
    log.info(summary_table(result, config))
    if config.output:
        write_result(config.output, result, config, comm, layout,
                     {"wall_seconds": time.perf_counter() - t0})
        log.info(f"results written to {config.output}")
    layout.free()
    return result


def masses_of(result, config: ResponseRunConfig, level: str, current: bool):
    m = config.masses
    return effective_masses(result, level, current=current, n_free=m.n_free_profile,
                            Z=m.Z, ions_per_cell=m.ions_per_cell)


def summary_table(result, config: ResponseRunConfig) -> str:
    """Human-readable table: n_s per level, fractions against both references, m_I*/m_I."""
    refs = ("free", "all") if config.masses.n_free_profile is not None else ("all",)
    lines = ["superfluid density n_s = rho_n,s/m_n (fm^-3) at every level of theory; "
             "'current' = with the current-field vertex of the superflow; 'trunc' = estimated "
             "change if all bands were included"]
    head = (f"{'level':<12}{'current':>8}{'mu MeV':>10}{'n_s':>12}{'trunc':>11}"
            + "".join(f"{'n_s/n_n,f' if r == 'free' else 'n_s/n_n':>11}" for r in refs)
            + f"{'mI*/mI':>10}")
    lines.append(head)
    for name, lv in result.levels.items():
        for cur in lv.variants:
            em = masses_of(result, config, name, cur)
            f = em.superfluid_fraction
            lines.append(f"{name:<12}{'yes' if cur else 'no':>8}{lv.mu:>10.4f}"
                         f"{result.scalar(name, cur):>12.5e}"
                         f"{result.truncation(name, cur):>11.2e}"
                         + "".join(f"{f[r]:>11.5f}" for r in refs)
                         + f"{em.m_ion_star_over_m_ion:>10.5f}")
    lines.append("n_n,f: free (unbound) neutron density given in [masses]; n_n: all neutrons; "
                 "m_I = (rho_bar - rho_n,f)/n_I")
    lines.append(f"bands per k {result.nb}, k-points {result.nk} (full mesh {result.nfull}), "
                 f"band margin above mu {result.band_margin:.3g} MeV, max residual "
                 f"{result.max_residual:.2e}, gap {result.gap}")
    for name, lv in result.levels.items():
        d = lv.details
        if "scalar_per_sigma" in d:                  # levels with the smearing equation
            lines.append(f"{name} smearing: " + ", ".join(
                f"sigma={s:.3g}: {v:.6e}" for s, v in zip(d["sigma_MeV"], d["scalar_per_sigma"]))
                + " (extrapolated to sigma -> 0)")
    return "\n".join(lines)


def write_result(path, result, config, comm, layout=None, timings=None) -> None:
    """HDF5 result (``response/<level>/tensor`` etc.) with provenance; rank 0 writes."""
    from ..results import run_identity, write_results  # noqa: PLC0415

    ds = {}
    for name, lv in result.levels.items():
        ds[f"{GROUP}/{name}/tensor"] = (lv.tensor, "fm^-3 (rho_n,s/m_n)")
        ds[f"{GROUP}/{name}/mu"] = (lv.mu, "MeV")
        ds[f"{GROUP}/{name}/density"] = (lv.density, "fm^-3")
        ds[f"{GROUP}/{name}/smearing_error"] = (lv.error, "fm^-3")
        for cur in lv.variants:
            em = masses_of(result, config, name, cur)
            tag = "with_current" if cur else "no_current"
            ds[f"{GROUP}/{name}/{tag}/n_s"] = (result.scalar(name, cur), "fm^-3 (rho_n,s/m_n)")
            ds[f"{GROUP}/{name}/{tag}/truncation_estimate"] = (result.truncation(name, cur),
                                                               "fm^-3")
            if cur:
                ds[f"{GROUP}/{name}/{tag}/tensor"] = (lv.tensor_current, "fm^-3 (rho_n,s/m_n)")
            for ref, v in em.superfluid_fraction.items():
                ds[f"{GROUP}/{name}/{tag}/superfluid_fraction_{ref}"] = (v, "1")
            for ref, v in em.mn_star_over_mn.items():
                ds[f"{GROUP}/{name}/{tag}/mn_star_over_mn_{ref}"] = (v, "1")
            if math.isfinite(em.m_ion_star_MeV):
                ds[f"{GROUP}/{name}/{tag}/m_ion_star"] = (em.m_ion_star_MeV, "MeV")
            if math.isfinite(em.m_ion_star_over_m_ion):
                ds[f"{GROUP}/{name}/{tag}/m_ion_star_over_m_ion"] = (em.m_ion_star_over_m_ion, "1")
    ds[f"{GROUP}/band_margin"] = (result.band_margin, "MeV")
    ds[f"{GROUP}/b0"] = (result.b0, "MeV fm^2")
    write_results(path, comm, ds, to_dict(config), layout=layout, timings=timings,
                  identity=run_identity(to_dict(config)))
