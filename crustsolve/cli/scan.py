"""``crustsolve scan RUN.toml``: the main job over a list of densities, resumable.

The run file is a main-job run file (see ``crustsolve run``) plus a top-level
``densities = [...]`` (fm⁻³, distinct, each inside the crust of the functional or the range
of its table: all are checked before the first layer is computed). Each layer writes
``<stem>_<n̄>.h5`` (``stem`` = the run file's ``output`` without ``.h5``; n̄ written as the
shortest decimal that reads back as the same number, so names are unique). A layer file is
reused only if its stored configuration (``run_config``, with the command-line PETSc
options) is the one this scan would run: complete → skipped, started → resumed from its
checkpoints; a file of another configuration (or not a layer file) is refused unless
``--overwrite``, which computes the layer again. At the end: ``<stem>_scan.csv`` and
``<stem>_scan.png`` (superfluid fraction and m_I*/m_I versus n̄).
"""
from __future__ import annotations

import math
import os

import h5py

from .. import mainjob  # the module: run_main_job is looked up at call time (tests replace it)
from ..config import read_toml
from ..crust import check_density, load_table
from ..errors import ConfigError, InputError
from ..parallel import on_root
from ..petsc_env import check_options, parse_options
from ..results import Output, identity_difference, prepare_outputs, read_identity, write_atomically
from ..runfile import identity_of, resolve_config
from . import add_memory_argument, add_overwrite_argument

#: How the scan table starts (its first columns); identifies it as crustsolve's.
TABLE_HEADER = "nbar,Z,A,"


def register(subparsers):
    p = subparsers.add_parser("scan", help="the main job over a list of densities (resumable)")
    p.add_argument("config", help="TOML run file with densities = [...] (fm^-3)")
    add_overwrite_argument(p)
    add_memory_argument(p)
    p.set_defaults(func=run)


def layer_file(stem: str, nbar: float) -> str:
    """File of one layer: the shortest decimal that reads back as the same float, so two
    different densities never share a file (``0.03`` → ``<stem>_0.03.h5``)."""
    return f"{stem}_{float(nbar)!r}.h5"


def _densities(data: dict, source) -> list:
    densities = data.pop("densities", None)
    if not isinstance(densities, list) or not densities or not all(
            isinstance(d, (int, float)) and not isinstance(d, bool) and math.isfinite(d)
            and d > 0 for d in densities):
        raise ConfigError(f"{source}: 'densities' must be a non-empty array of positive finite "
                          f"numbers (fm^-3), got {densities!r}")
    out = [float(d) for d in densities]
    seen = set()
    for d in out:
        if d in seen:
            raise ConfigError(f"{source}: densities: {d!r} fm^-3 appears twice")
        seen.add(d)
    return out


def _table_range(path, functional) -> tuple:
    nb = load_table(path, functional=functional).column("nbar")
    return float(nb.min()), float(nb.max())


def _check_layers(configs, comm) -> None:
    """Every density of the list in the crust of its functional (or its table), before any
    layer is computed."""
    tables = {}
    for i, cfg in enumerate(configs):
        nbar = cfg.layer.density
        where = f"densities[{i}] = {nbar!r} fm^-3"
        if cfg.layer.table:
            key = (cfg.layer.table, cfg.layer.functional)
            if key not in tables:
                tables[key] = on_root(comm, _table_range, *key)
            lo, hi = tables[key]
            if not lo * (1 - 1e-4) <= nbar <= hi * (1 + 1e-4):
                raise ConfigError(f"{where} is outside the range [{lo:g}, {hi:g}] fm^-3 of the "
                                  f"table {cfg.layer.table!r}")
        else:
            try:
                check_density(cfg.layer.functional, nbar)
            except InputError as exc:
                raise ConfigError(f"{where}: {exc}") from None


def _layer_state(path, identity) -> str:
    """"done" (complete file of this configuration), "resume" (started) or "new"."""
    if not os.path.exists(path):
        return "new"
    status, stored = read_identity(path, "run_config")
    if status != "ok" or identity_difference(stored, identity):
        return "new"  # only reached with --overwrite (prepare_outputs refused otherwise)
    with h5py.File(path, "r") as fh:
        return "done" if "summary" in fh else "resume"


def _read_summary(path) -> dict:
    try:
        with h5py.File(path, "r") as fh:
            g = fh["summary"]
            out = {"nbar": float(g["nbar"][()]), "Z": float(g["Z"][()]), "A": float(g["A"][()])}
            for level in g["superfluid_fraction_free"]:
                for tag in g[f"superfluid_fraction_free/{level}"]:
                    out[f"fraction_{level}_{tag}"] = float(
                        g[f"superfluid_fraction_free/{level}/{tag}"][()])
                    out[f"allneutrons_fraction_{level}_{tag}"] = float(
                        g[f"superfluid_fraction_all/{level}/{tag}"][()])
                    out[f"mI_{level}_{tag}"] = float(
                        g[f"m_ion_star_over_m_ion/{level}/{tag}"][()])
    except KeyError as exc:
        raise InputError(f"layer file {path!r}: its summary is incomplete ({exc}); pass "
                         "--overwrite to compute the layer again") from None
    return out


def run(args, ctx) -> int:
    comm = ctx.comm
    data = read_toml(args.config, comm)
    densities = _densities(data, args.config)
    base = resolve_config(data)      # validates everything else once, before any work
    stem = base.output[:-3] if base.output.endswith(".h5") else base.output
    modules = ctx.petsc()            # checks the command line's PETSc options
    check_options({str(k): (None if v is None else str(v)) for k, v in base.petsc.items()},
                  label="[petsc] ", modules=modules)
    configs = []
    for nbar in densities:
        layer = dict(data.get("layer", {}), density=nbar)
        configs.append(resolve_config({**data, "layer": layer, "output": layer_file(stem, nbar),
                                       "plot": ""}))
    _check_layers(configs, comm)
    petsc_cli = parse_options(ctx.petsc_args)
    identities = [identity_of(cfg, petsc_cli) for cfg in configs]
    csv, png = f"{stem}_scan.csv", f"{stem}_scan.png"
    prepare_outputs(
        comm, [Output(f"the layer file of n̄ = {cfg.layer.density!r}", cfg.output, "results",
                      ident, identity_attr="run_config")
               for cfg, ident in zip(configs, identities)]
        + [Output("the scan table", csv, "table", table_magic=TABLE_HEADER.encode()),
           Output("the scan plot", png, "image")],
        inputs={"RUN.toml": args.config, "[layer] table": base.layer.table or None},
        overwrite=args.overwrite)
    rows = []
    for i, (cfg, ident) in enumerate(zip(configs, identities)):
        out = cfg.output
        ctx.log.info(f"=== scan layer {i + 1}/{len(configs)}: n̄ = {cfg.layer.density:g} fm^-3 "
                     f"→ {out}")
        state = on_root(comm, _layer_state, out, ident)
        if state == "done":
            ctx.log.info("  already complete, skipped (same configuration)")
        else:
            mainjob.run_main_job(cfg, comm, ctx.log, resume=state == "resume",
                                 petsc_options=petsc_cli,
                                 allow_oversubscribe_memory=args.allow_oversubscribe_memory)
        rows.append(on_root(comm, _read_summary, out))
    write_atomically(comm, csv, lambda tmp: _write_table(rows, tmp), "scan table")
    _log_table(rows, ctx.log)
    write_atomically(comm, png, lambda tmp: _plot(rows, tmp), "scan plot")
    ctx.log.info(f"scan summary: {csv}, {png}")
    return 0


def _write_table(rows, path) -> None:
    keys = list(rows[0])
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(keys) + "\n")
        for r in rows:
            fh.write(",".join(f"{r.get(k, math.nan):.8g}" for k in keys) + "\n")


def _log_table(rows, log) -> None:
    keys = list(rows[0])
    show = [k for k in keys if k.startswith("fraction_") and k.endswith("with_current")]
    log.info(f"{'nbar':>10}{'A':>9}" + "".join(f"{k[9:-13]:>12}" for k in show))
    for r in rows:
        log.info(f"{r['nbar']:>10.4g}{r['A']:>9.1f}" + "".join(f"{r[k]:>12.4f}" for k in show))


def _plot(rows, path) -> None:
    import matplotlib  # noqa: PLC0415 - optional (extra "plot") and slow: plots only

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the Agg backend

    nbar = [r["nbar"] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for key in rows[0]:
        if key.startswith("fraction_") and key.endswith("with_current"):
            level = key[len("fraction_"):-len("_with_current")]
            axes[0].plot(nbar, [r[key] for r in rows], "o-", label=level)
            axes[1].plot(nbar, [r[f"mI_{level}_with_current"] for r in rows], "o-", label=level)
    axes[0].set_ylabel(r"$\rho_{n,s}/\rho_{n,f}$")
    axes[1].set_ylabel(r"$m_I^\star/m_I$")
    for ax in axes:
        ax.set_xlabel(r"$\bar n$ (fm$^{-3}$)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
