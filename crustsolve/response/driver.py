"""Run driver of the superfluid-density stage: config → bands → every level → table + HDF5.

``crustsolve run CONFIG`` with ``fields = "F.h5"`` runs :func:`run_config`; the run file is
the one schema of ``crustsolve run`` (:class:`crustsolve.runfile.RunConfig`: ``[grid]``
order, ``[bands]``, ``[kmesh]``, ``[pairing]``, ``[response]``, ``[current]``, ``[masses]``;
example ``examples/response_cosine.toml``)::

    cfg = resolve_config(read_toml(path, comm))              # crustsolve.runfile
    result = run_config(cfg, comm, log)                      # collective

Only rank 0 prints (through ``log``) and writes.
"""
from __future__ import annotations

import math
import time

import numpy as np

from ..bands import BlochHamiltonian, Fields, Grid
from ..bands.bandstructure import SolverSettings, interpolating_solver
from ..bands.eigensolvers import make_eigensolver
from ..bands.interpolation import interpolation_summary
from ..bands.sectors import sectors_for, with_sectors
from ..bands.kmesh import (SYMMETRY_TOL, KMesh, field_symmetry_error, invariant_operations,
                           oh_operations)
from ..config import to_dict
from ..constants import HBAR2_2MN
from ..errors import InputError
from ..mainjob import free_gas_levels_per_MeV, number_of_bands as layer_bands
from ..parallel import Layout
from ..results import write_results
from ..runfile import identity_of
from .masses import effective_masses
from .superfluid import CurrentTerm, superfluid_density

#: HDF5 group of the results.
GROUP = "response"


def _mesh(fields, cfg):
    km = cfg.kmesh
    if fields.has_current:
        return KMesh.monkhorst_pack(km.n, fields.a, shift=km.shift, symmetry="none",
                                    time_reversal=False)
    if km.symmetry == "none":
        return KMesh.monkhorst_pack(km.n, fields.a, shift=km.shift, symmetry="none",
                                    time_reversal=True)
    # The gap's fields must be invariant too (the bands only see U and B).
    extra = tuple(cfg.pairing.gap_model().symmetry_fields(fields))
    if km.symmetry == "oh":
        err = field_symmetry_error(fields, oh_operations())
        for f in extra:
            err = max(err, field_symmetry_error(fields.replace(U=f, B=np.ones_like(fields.B))))
        if err > SYMMETRY_TOL:
            raise InputError(f"[kmesh] symmetry = \"oh\" but the fields are not O_h invariant "
                             f"(max relative deviation {err:.2e}); use \"auto\" (the subgroup "
                             "of O_h the fields have) or \"none\"")
        ops = oh_operations()
    else:
        ops = invariant_operations(fields, extra)
    return KMesh.monkhorst_pack(km.n, fields.a, shift=km.shift, symmetry=ops,
                                time_reversal=True)


def number_of_bands(cfg, fields) -> int:
    """``bands.nbands``, or automatic: the occupied levels of n̄_n plus the free-gas level
    density times the margin (:func:`crustsolve.mainjob.number_of_bands`)."""
    volume = fields.a**3
    n_cell = 0.0 if cfg.response.neutron_density is None else cfg.response.neutron_density * volume
    dos = free_gas_levels_per_MeV(volume, cfg.response.neutron_density or 0.0, b0_of(cfg))
    return layer_bands(cfg.bands, n_cell, fields.n**3, dos)


def b0_of(cfg) -> float:
    """ħ²/2m_n (MeV fm²) of a fields-file run."""
    return HBAR2_2MN if cfg.response.b0 is None else cfg.response.b0


def run_config(config, comm, log):
    """Bands → all levels → summary table (rank 0) → HDF5 (``config.output``). Collective.

    ``config`` : a fields-file :class:`crustsolve.runfile.RunConfig`. Returns the
    :class:`~crustsolve.response.superfluid.SuperfluidResult`.
    """
    if not config.fields:
        raise InputError("run_config needs a fields-file run (fields = \"F.h5\")")
    t0 = time.perf_counter()
    fields = Fields.read(config.fields, comm)
    kmesh = _mesh(fields, config)
    nev = number_of_bands(config, fields)
    layout = Layout.create(comm, ngroups=config.kgroups, nk=kmesh.nk)
    log.block("response layout", {**layout.describe(), "k_points": kmesh.nk,
                                  "full_mesh": kmesh.nfull, "symmetry": kmesh.symmetry,
                                  "bands": nev})
    gap = config.pairing.gap_model()
    current = (None if config.current.cnn is None
               else CurrentTerm(config.current.cnn, config.current.nn))
    r = config.response
    grid = Grid(fields.n, fields.a, comm=layout.kcomm)
    H = centring = interpolation = None
    try:
        H = BlochHamiltonian(grid, fields, order=config.grid.order)
        # [bands] sectors: split each solve by the bcc/fcc centring translations.
        centring = sectors_for(grid, fields, config.bands.sectors)
        solver = with_sectors(make_eigensolver(config.bands.solver, nev=nev,
                                               tol=config.bands.tol, want_vectors=True),
                              centring)
        if config.kmesh.interpolate:
            solver, interpolation = interpolating_solver(
                H, fields, SolverSettings(kind=config.bands.solver, nev=nev,
                                          tol=config.bands.tol, sectors=config.bands.sectors),
                config.kmesh.interpolation(), kmesh.points, centring, log.info)
            log.info(interpolation_summary(interpolation))
        result = superfluid_density(H, kmesh, solver, gap=gap, levels=r.levels,
                                    layout=layout, density=r.neutron_density, mu=r.mu,
                                    smearing=r.smearing, degeneracy_tol=r.degeneracy_tol,
                                    b0=b0_of(config), current=current,
                                    progress=log.kpoint_progress("k"))
    finally:
        if H is not None:
            H.destroy()
        if centring is not None:
            centring.destroy()
        grid.destroy()
    log.info(summary_table(result, config))
    if config.output:
        write_result(config.output, result, config, comm, layout,
                     {"wall_seconds": time.perf_counter() - t0}, interpolation)
        log.info(f"results written to {config.output}")
    layout.free()
    return result


def masses_of(result, config, level: str, current: bool):
    m = config.masses
    return effective_masses(result, level, current=current, n_free=m.n_free_profile,
                            Z=m.Z, ions_per_cell=m.ions_per_cell)


def summary_table(result, config) -> str:
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


def write_result(path, result, config, comm, layout=None, timings=None,
                 interpolation=None) -> None:
    """HDF5 result (``response/<level>/tensor`` etc.) with provenance; rank 0 writes.
    ``interpolation``: the reduced-basis report, stored in the config attribute."""
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
    cfg = to_dict(config)
    if interpolation is not None:
        cfg["interpolation"] = interpolation
    write_results(path, comm, ds, cfg, layout=layout, timings=timings,
                  identity=identity_of(config))
