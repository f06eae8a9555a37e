"""``crustsolve reanalyse RESULTS.h5``: every level again, with other gaps, from stored bands.

Reads the per-k data of the final band calculation of a ``crustsolve run`` results file
(kept by default, ``kpoint_data = "final"``) and recomputes every level of theory and the
masses for each gap setting — ``--gap-scale`` multiplies the stored Δ_αk, ``--gap`` sets a
constant Δ — and each ``--mu`` (a fixed chemical potential instead of the run's neutron
density), without solving a single eigenproblem (:mod:`crustsolve.response.reanalysis` says
what is exact and what is not redone). With no option it reproduces the run's own numbers.

Writes ``<stem>_reanalysis.csv`` (one row per setting and level variant) and
``<stem>_reanalysis.png`` (superfluid fraction and m_I*/m_I against the Fermi-surface
average gap), or the paths given. Runs on any number of ranks (k-points are shared out).
"""
from __future__ import annotations

import json
import math
import time

import h5py

from ..config import from_dict
from ..errors import InputError, check_range
from ..mainjob import CURRENT_TAGS, layer_kmesh, level_masses
from ..parallel import on_root
from ..response import levels as response_levels
from ..response.matrix_elements import KPointData
from ..response.reanalysis import settings_from_options, with_gaps
from ..response.superfluid import result_from_kpoints
from ..results import Output, prepare_outputs, write_atomically
from ..runfile import RunConfig
from . import add_overwrite_argument, number_list

#: First line of the CSV (also how an existing table is recognised as crustsolve's).
TABLE_HEADER = ("setting,temperature_MeV,mu_MeV,gap_fs_mean_MeV,gap_fs_spread_MeV,level,current,n_s_fm3,"
                "fraction_free,fraction_all,mn_star_over_mn_free,m_ion_star_over_m_ion,"
                "m_ion_star_over_mu")


def register(subparsers):
    p = subparsers.add_parser(
        "reanalyse", help="recompute every level from a results file's stored bands with other "
                          "gaps or chemical potentials (no eigensolves)",
        description="Recompute the superfluid density at every level of theory and the "
                    "masses from the per-k data stored by `crustsolve run`, for each gap "
                    "setting and chemical potential. The zero-point loop is not repeated.")
    p.add_argument("results", help="results file of `crustsolve run` (HDF5)")
    p.add_argument("--gap-scale", metavar="S1,S2,...",
                   help="factors on the stored gaps Δ_αk (e.g. 0.25,0.5,1,2)")
    p.add_argument("--gap", metavar="D1,D2,...", help="constant gaps Δ in MeV")
    p.add_argument("--mu", metavar="MU1,...",
                   help="fixed neutron chemical potentials (MeV) instead of the run's density")
    p.add_argument("--temperature", metavar="T1,...",
                   help="temperatures T (MeV) of the BCS levels at fixed gaps (default 0)")
    p.add_argument("--csv", default=None, help="table (default <stem>_reanalysis.csv)")
    p.add_argument("--plot", default=None, help="PNG (default <stem>_reanalysis.png; '' none)")
    add_overwrite_argument(p)
    p.set_defaults(func=run)


def _read_run(path):
    """(config dict, response inputs, summary values, per-k arrays) of a results file."""
    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"cannot read results file {path!r}: {exc}") from None
    with fh:
        if "summary" not in fh or "config" not in fh.attrs:
            raise InputError(f"{path!r} is not a finished `crustsolve run` results file (no "
                             "summary): finish or resume the run first")
        g = fh["summary"]
        inputs = json.loads(g.attrs.get("response_inputs", "{}") or "{}")
        group = g.attrs.get("final_kpoint_group", "")
        if not inputs or not group:
            raise InputError(f"{path!r} was written by an older crustsolve without the "
                             "re-analysis inputs; run it again")
        if group not in fh:
            raise InputError(f"{path!r} keeps no per-k data of its final band calculation "
                             "(kpoint_data = 'none'); run with kpoint_data = 'final'")
        config = json.loads(fh.attrs["config"])
        summary = {}
        for q in ("n_s", "superfluid_fraction_free", "m_ion_star_over_m_ion"):
            for level in g[q]:
                for tag in g[f"{q}/{level}"]:
                    summary[(q, level, tag)] = float(g[f"{q}/{level}/{tag}"][()])
        kpoints = []
        for key in sorted(fh[group], key=int):
            item = fh[f"{group}/{key}"]
            if not item.attrs.get("complete", False):
                raise InputError(f"{path!r}: k-point {key} of {group} is incomplete")
            kpoints.append({name: item[name][()] for name in item})
    return config, inputs, summary, kpoints


def _share(comm, kpoints):
    """This rank's k-points (round robin over the ranks), sent from rank 0."""
    mine = []
    if comm.rank == 0:
        for i, arrays in enumerate(kpoints):
            owner = i % comm.size
            if owner == 0:
                mine.append(KPointData.from_arrays(arrays))
            else:
                comm.send(arrays, dest=owner, tag=7)
    n = comm.bcast(len(kpoints) if comm.rank == 0 else None, root=0)
    if comm.rank != 0:
        for i in range(n):
            if i % comm.size == comm.rank:
                mine.append(KPointData.from_arrays(comm.recv(source=0, tag=7)))
    return mine


def _rows(result, setting, inputs, temperature):
    levels = level_masses(result, inputs["n_n_free"], inputs["Z"], inputs["ions_per_cell"])
    fs = result.gap_fermi_surface
    out = []
    for level, tags in levels.items():
        mu = result.levels[level].mu
        for tag, m in tags.items():
            out.append({"setting": setting.label, "temperature_MeV": temperature, "mu_MeV": mu,
                        "gap_fs_mean_MeV": fs["mean_MeV"], "gap_fs_spread_MeV": fs["spread_MeV"],
                        "level": level, "current": tag == CURRENT_TAGS[True],
                        "n_s_fm3": m["n_s_fm3"],
                        "fraction_free": m["superfluid_fraction"]["free"],
                        "fraction_all": m["superfluid_fraction"]["all"],
                        "mn_star_over_mn_free": m["mn_star_over_mn"]["free"],
                        "m_ion_star_over_m_ion": m["m_ion_star_over_m_ion"],
                        "m_ion_star_over_mu": m["m_ion_star_over_mu"]})
    return out


def _write_csv(rows, path):
    keys = TABLE_HEADER.split(",")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(TABLE_HEADER + "\n")
        for r in rows:
            fh.write(",".join(r[k] if isinstance(r[k], str) else
                              ("yes" if r[k] is True else "no" if r[k] is False else
                               f"{r[k]:.10g}") for k in keys) + "\n")


def _plot(rows, path):
    import matplotlib  # noqa: PLC0415 - optional (extra "plot") and slow: plots only

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the Agg backend

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    # one line per level variant, temperature and chemical potential (the run's: mu None)
    group = lambda r: (r["level"], r["current"], r["temperature_MeV"], r["mu_fixed"],  # noqa: E731
                       r["setting"].startswith("constant"))
    keys = sorted({group(r) for r in rows},
                  key=lambda k: (response_levels.names().index(k[0]), k[1], k[2], str(k[3]), k[4]))
    many_t = len({k[2] for k in keys}) > 1
    for key in keys:
        level, cur, T, mu, constant = key
        sel = sorted((r for r in rows if group(r) == key), key=lambda r: r["gap_fs_mean_MeV"])
        x = [r["gap_fs_mean_MeV"] for r in sel]
        label = (response_levels.label(level) + (" + current" if cur else "")
                 + (f", T = {T:g} MeV" if many_t else "") + ("" if mu is None else f", μ = {mu:g}")
                 + (", constant gap" if constant else ""))
        style = ("s" if cur else "o") + (":" if constant else "--" if cur else "-")
        axes[0].plot(x, [r["fraction_free"] for r in sel], style, label=label)
        axes[1].plot(x, [r["m_ion_star_over_m_ion"] for r in sel], style, label=label)
    axes[0].set_ylabel(r"$\rho_{n,s}/\rho_{n,f}$ (free neutrons)")
    axes[1].set_ylabel(r"$m_I^\star/m_I$")
    for ax in axes:
        ax.set_xlabel(r"Fermi-surface average gap $\langle\Delta_{\alpha k}\rangle$ (MeV)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args, ctx) -> int:
    comm, log = ctx.comm, ctx.log
    t0 = time.perf_counter()
    scales = number_list(args.gap_scale, "--gap-scale") if args.gap_scale is not None else None
    gaps = number_list(args.gap, "--gap") if args.gap is not None else None
    mus = ([check_range("--mu", m, -100.0, 100.0, unit="MeV")
            for m in number_list(args.mu, "--mu")] if args.mu is not None else [None])
    temps = ([check_range("--temperature", t, 0.0, 50.0, unit="MeV")
              for t in number_list(args.temperature, "--temperature")]
             if args.temperature is not None else [0.0])
    settings = settings_from_options(scales, gaps)
    stem = args.results[:-3] if args.results.endswith(".h5") else args.results
    csv = args.csv if args.csv is not None else f"{stem}_reanalysis.csv"
    png = args.plot if args.plot is not None else f"{stem}_reanalysis.png"
    prepare_outputs(comm, [Output("--csv", csv, "table", table_magic=TABLE_HEADER.encode()),
                           Output("--plot", png or None, "image")],
                    inputs={"RESULTS.h5": args.results}, overwrite=args.overwrite)
    config, inputs, summary, kpoints = on_root(comm, _read_run, args.results)
    cfg = from_dict(RunConfig, config)
    kmesh = layer_kmesh(cfg, inputs["a"])
    mine = _share(comm, kpoints if comm.rank == 0 else None)
    t_read = time.perf_counter() - t0
    log.info(f"{args.results}: {kmesh.nk} irreducible k-point(s), {cfg.pairing.model} gap model "
             f"of the run; read in {t_read:.1f} s")
    rows, reproduced = [], []
    for T, mu, setting in ((T, mu, s) for T in temps for mu in mus for s in settings):
        res = result_from_kpoints(
            with_gaps(mine, setting), kmesh, volume=inputs["a"] ** 3, b0=inputs["b0"],
            levels=cfg.response.levels, density=inputs["density"] if mu is None else None,
            mu=mu, smearing=cfg.response.smearing, tol=cfg.response.degeneracy_tol,
            comm=comm, truncation=True, gap=setting.describe(), layout={}, temperature=T)
        new = _rows(res, setting, inputs, T)
        for r in new:
            r["mu_fixed"] = mu
        rows += new
        # the run's own setting (values exact by construction: defaults or parsed input)
        if mu is None and setting.scale == 1.0 and T == 0.0:
            for r in new:
                tag = CURRENT_TAGS[r["current"]]
                old = summary.get(("n_s", r["level"], tag))
                if old is not None:
                    reproduced.append(abs(r["n_s_fm3"] - old) / abs(old))
    seconds = time.perf_counter() - t0
    log.info(f"{'setting':<22}{'T (MeV)':>8}{'mu (MeV)':>10}{'<Δ>_FS':>9}{'level':>24}"
             f"{'current':>8}{'n_s/n_n,f':>11}{'n_s/n_n':>9}{'m_I*/m_I':>10}")
    for r in rows:
        log.info(f"{r['setting']:<22}{r['temperature_MeV']:>8.3g}{r['mu_MeV']:>10.4f}"
                 f"{r['gap_fs_mean_MeV']:>9.4f}{response_levels.label(r['level']):>24}"
                 f"{'yes' if r['current'] else 'no':>8}{r['fraction_free']:>11.4f}"
                 f"{r['fraction_all']:>9.4f}{r['m_ion_star_over_m_ion']:>10.4f}")
    log.info("<Δ>_FS: Fermi-surface average of Δ_αk; T: temperature of the BCS levels at "
             "fixed gaps (the normal level stays at T = 0); the zero-point loop is not "
             "repeated (⟨δr²⟩ and the smeared fields of the run's final band calculation)")
    if reproduced:
        log.info(f"the run's own numbers (stored gaps, run's density): largest relative "
                   f"difference {max(reproduced):.2e}")
    log.info(f"re-analysis: {len(rows)} rows in {seconds:.2f} s (the run took "
               f"{_run_seconds(args.results, comm):.0f} s)")
    write_atomically(comm, csv, lambda tmp: _write_csv(rows, tmp), "re-analysis table")
    log.info(f"table written to {csv}")
    if png:
        write_atomically(comm, png, lambda tmp: _plot(rows, tmp), "re-analysis plot")
        log.info(f"plot written to {png}")
    return 0


def _run_seconds(path, comm) -> float:
    def read():
        with h5py.File(path, "r") as fh:
            timings = json.loads(fh.attrs.get("timings", "{}") or "{}")
        return float(timings.get("wall_seconds", math.nan))
    return on_root(comm, read)
