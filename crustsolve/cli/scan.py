"""``crustsolve scan RUN.toml``: the main job over a list of densities, resumable.

The run file is a main-job run file (see ``crustsolve run``) plus a top-level
``densities = [...]`` (fm⁻³). Each layer writes ``<stem>_<n̄>.h5`` (``stem`` = the run file's
``output`` without ``.h5``); a layer whose file already has its summary is skipped, so an
interrupted scan continues where it stopped (an incomplete layer resumes from its
checkpoints). At the end: a table and ``<stem>_scan.png`` (superfluid fraction and m_I*/m_I
versus n̄) and ``<stem>_scan.csv``.
"""
from __future__ import annotations

import math
import os

from ..errors import ConfigError


def register(subparsers):
    p = subparsers.add_parser("scan", help="the main job over a list of densities (resumable)")
    p.add_argument("config", help="TOML run file with densities = [...] (fm^-3)")
    p.set_defaults(func=run)


def _layer_done(path, comm) -> bool:
    import h5py  # noqa: PLC0415

    done = False
    if comm.rank == 0 and os.path.exists(path):
        try:
            with h5py.File(path, "r") as fh:
                done = "summary" in fh
        except OSError:
            done = False
    return comm.bcast(done, root=0)


def _read_summary(path) -> dict:
    import h5py  # noqa: PLC0415

    with h5py.File(path, "r") as fh:
        g = fh["summary"]
        out = {"nbar": float(g["nbar"][()]), "Z": float(g["Z"][()]), "A": float(g["A"][()])}
        for level in g["superfluid_fraction_free"]:
            for tag in g[f"superfluid_fraction_free/{level}"]:
                out[f"fraction_{level}_{tag}"] = float(
                    g[f"superfluid_fraction_free/{level}/{tag}"][()])
                out[f"allneutrons_fraction_{level}_{tag}"] = float(
                    g[f"superfluid_fraction_all/{level}/{tag}"][()])
                out[f"mI_{level}_{tag}"] = float(g[f"m_ion_star_over_m_ion/{level}/{tag}"][()])
    return out


def run(args, ctx) -> int:
    from ..mainjob import resolve_config, run_main_job  # noqa: PLC0415
    from .run import _read_toml  # noqa: PLC0415

    data = _read_toml(args.config, ctx.comm)
    densities = data.pop("densities", None)
    if not isinstance(densities, list) or not densities or not all(
            isinstance(d, (int, float)) and not isinstance(d, bool) and d > 0 for d in densities):
        raise ConfigError(f"{args.config}: 'densities' must be a non-empty array of positive "
                          f"numbers (fm^-3), got {densities!r}")
    base = resolve_config(data)      # validates everything else once, before any work
    stem = base.output[:-3] if base.output.endswith(".h5") else base.output
    ctx.petsc()
    rows = []
    for i, nbar in enumerate(densities):
        out = f"{stem}_{nbar:.6g}.h5"
        ctx.log.info(f"=== scan layer {i + 1}/{len(densities)}: n̄ = {nbar:g} fm^-3 → {out}")
        if not _layer_done(out, ctx.comm):
            layer = dict(data.get("layer", {}), density=float(nbar))
            cfg = resolve_config({**data, "layer": layer, "output": out, "plot": ""})
            run_main_job(cfg, ctx.comm, ctx.log, resume=os.path.exists(out))
        else:
            ctx.log.info("  already complete, skipped")
        if ctx.comm.rank == 0:
            rows.append(_read_summary(out))
    if ctx.comm.rank == 0:
        _write_table(rows, f"{stem}_scan.csv", ctx.log)
        _plot(rows, f"{stem}_scan.png")
        ctx.log.info(f"scan summary: {stem}_scan.csv, {stem}_scan.png")
    ctx.comm.Barrier()
    return 0


def _write_table(rows, path, log) -> None:
    keys = list(rows[0])
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(keys) + "\n")
        for r in rows:
            fh.write(",".join(f"{r.get(k, math.nan):.8g}" for k in keys) + "\n")
    show = [k for k in keys if k.startswith("fraction_") and k.endswith("with_current")]
    log.info(f"{'nbar':>10}{'A':>9}" + "".join(f"{k[9:-13]:>12}" for k in show))
    for r in rows:
        log.info(f"{r['nbar']:>10.4g}{r['A']:>9.1f}" + "".join(f"{r[k]:>12.4f}" for k in show))


def _plot(rows, path) -> None:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

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
