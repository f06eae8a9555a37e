"""``crustsolve run``: the main job.

* ``crustsolve run`` — the embedded default layer (BSk24, n̄ = 0.03 fm⁻³, bcc, quick preset);
* ``crustsolve run RUN.toml`` — a run file (one schema, :class:`crustsolve.runfile.RunConfig`):
  a layer run (``[layer]``), or, with a top-level ``fields = "FILE.h5"`` instead, the
  superfluid-density stage on user-supplied fields;
* flags override the run file, which overrides the preset;
* ``--print-config`` prints the fully resolved configuration as TOML and stops.
"""
from __future__ import annotations

import os

from .. import mainjob  # the module: run_main_job is looked up at call time (tests replace it)
from ..config import read_toml
from ..errors import ConfigError
from ..petsc_env import check_options, parse_options, run_options
from ..response import levels as response_levels
from ..response.driver import run_config
from ..results import Output, prepare_outputs, write_atomically
from ..runfile import identity_of, resolve_config, to_toml
from . import add_memory_argument, add_overwrite_argument


def register(subparsers):
    p = subparsers.add_parser(
        "run", help="the main job: superfluid fraction, m_n*, m_I* of a crustal layer",
        description="Superfluid fraction, effective neutron and ion masses of an inner-crust "
                    "layer at every level of theory, with zero-point motion of the ions and a "
                    "hydrodynamic comparison. Without arguments: BSk24, n̄ = 0.03 fm^-3, bcc, "
                    "quick preset.")
    p.add_argument("config", nargs="?", help="TOML run file (optional)")
    p.add_argument("--preset", choices=("quick", "standard", "production"))
    p.add_argument("--functional", help="functional, e.g. BSk24")
    p.add_argument("--density", type=float, help="mean baryon density n̄ (fm^-3)")
    p.add_argument("--lattice", choices=("bcc", "fcc"))
    p.add_argument("--points", type=int, help="grid points per side of the cube (even)")
    p.add_argument("--order", type=int, help="finite-difference order")
    p.add_argument("--kmesh", type=int, help="Monkhorst-Pack points per direction")
    p.add_argument("--solver", choices=("lapack", "krylovschur", "chebyshev"))
    p.add_argument("--nbands", type=int, help="bands per k (0 = automatic, from --band-margin)")
    p.add_argument("--band-margin", type=float,
                   help="automatic band count: bands reach this many MeV above μ (default 8)")
    p.add_argument("--gap", type=float,
                   help="constant pairing gap Δ (MeV): sets [pairing] model = 'constant'")
    p.add_argument("--gap-scale", type=float,
                   help="factor on the pair field Δ(r) of the functional/profile gap models")
    p.add_argument("--no-zeropoint", action="store_true", help="rigid lattice only")
    p.add_argument("--no-hydro", action="store_true", help="skip the hydrodynamic comparison")
    p.add_argument("--kgroups", type=int, help="number of k-groups (default: automatic)")
    p.add_argument("--output", help="results file (default results.h5)")
    p.add_argument("--plot", help="summary PNG (default results.png; '' for none)")
    p.add_argument("--print-config", action="store_true",
                   help="print the fully resolved run file (TOML) and exit")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its results file")
    add_overwrite_argument(p)
    add_memory_argument(p)
    p.set_defaults(func=run)


def _overrides(args) -> dict:
    o: dict = {}

    def put(section, key, value):
        if value is not None:
            (o.setdefault(section, {}) if section else o)[key] = value

    put(None, "preset", args.preset)
    put("layer", "functional", args.functional)
    put("layer", "density", args.density)
    put("layer", "lattice", args.lattice)
    put("grid", "points", args.points)
    put("grid", "order", args.order)
    put("kmesh", "n", args.kmesh)
    put("bands", "solver", args.solver)
    put("bands", "nbands", args.nbands)
    put("bands", "margin", args.band_margin)
    if args.gap is not None:
        put("pairing", "model", "constant")
    put("pairing", "gap", args.gap)
    put("pairing", "scale", args.gap_scale)
    put(None, "kgroups", args.kgroups)
    put(None, "output", args.output)
    put(None, "plot", args.plot)
    if args.no_zeropoint:
        put("zeropoint", "enabled", False)
    if args.no_hydro:
        put(None, "hydro", False)
    return o


def _relative_to_run_file(data: dict, config_path) -> dict:
    """Input paths in a run file (``fields``, ``[layer] table``) are relative to the file."""
    base = os.path.dirname(os.path.abspath(config_path))
    out = dict(data)
    if isinstance(out.get("fields"), str) and not os.path.isabs(out["fields"]):
        out["fields"] = os.path.join(base, out["fields"])
    layer = out.get("layer")
    if isinstance(layer, dict) and isinstance(layer.get("table"), str) and layer["table"] \
            and not os.path.isabs(layer["table"]):
        out["layer"] = {**layer, "table": os.path.join(base, layer["table"])}
    return out


def run(args, ctx) -> int:
    data = (_relative_to_run_file(read_toml(args.config, ctx.comm), args.config)
            if args.config else {})
    cfg = resolve_config(data, _overrides(args))
    if args.print_config:
        ctx.log.info(to_toml(cfg).rstrip())
        return 0
    modules = ctx.petsc()            # checks the command line's PETSc options
    # the run file's [petsc] entries too, before any output is touched
    check_options({str(k): (None if v is None else str(v)) for k, v in cfg.petsc.items()},
                  label="[petsc] ", modules=modules)
    if cfg.fields:
        return _run_response(args, ctx, cfg)
    petsc_cli = parse_options(ctx.petsc_args)
    inputs = {"RUN.toml": args.config, "[layer] table": cfg.layer.table or None}
    if not args.resume:
        prepare_outputs(ctx.comm, [Output("output", cfg.output, "results",
                                          identity_of(cfg, petsc_cli),
                                          identity_attr="run_config"),
                                   Output("plot", cfg.plot or None, "image")],
                        inputs=inputs, overwrite=args.overwrite)
    else:
        prepare_outputs(ctx.comm, [Output("plot", cfg.plot or None, "image")], inputs=inputs,
                        overwrite=True)
    res = mainjob.run_main_job(cfg, ctx.comm, ctx.log, resume=args.resume,
                               petsc_options=petsc_cli,
                               allow_oversubscribe_memory=args.allow_oversubscribe_memory)
    ctx.log.info(mainjob.summary_text(res))
    ctx.log.info(f"results written to {cfg.output}")
    if cfg.plot:
        write_atomically(ctx.comm, cfg.plot, lambda tmp: plot_summary(res, tmp), "summary plot")
        ctx.log.info(f"summary plot written to {cfg.plot}")
    return 0


def _run_response(args, ctx, cfg) -> int:
    if args.resume:
        raise ConfigError("--resume: a fields-file run (fields = ...) is not restartable; "
                          "run it again")
    if cfg.output:
        prepare_outputs(ctx.comm, [Output("output", cfg.output, "results", identity_of(cfg))],
                        inputs={"RUN.toml": args.config, "fields": cfg.fields},
                        overwrite=args.overwrite)
    with run_options(cfg.petsc, warn=ctx.log.warning):
        run_config(cfg, ctx.comm, ctx.log)
    return 0


def plot_summary(res, path) -> None:
    """Superfluid fraction (both denominators) and m_I* per level, and the zero-point history."""
    import matplotlib  # noqa: PLC0415 - optional (extra "plot") and slow: plots only

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the Agg backend

    fin = res.final
    levels = list(fin.levels)            # every computed level, in registry order
    labels = [response_levels.label(lv) for lv in levels]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
    x = range(len(levels))
    tags = [t for t in ("no_current", "with_current") if any(t in fin.levels[lv] for lv in levels)]
    nan = {"superfluid_fraction": {"free": float("nan"), "all": float("nan")},
           "m_ion_star_over_mu": float("nan")}        # a level without this variant
    width = 0.8 / (2 * len(tags))
    bars = [(ref, tag) for ref in ("free", "all") for tag in tags]
    for j, (ref, tag) in enumerate(bars):
        off = (j - (len(bars) - 1) / 2) * width
        vals = [fin.levels[lv].get(tag, nan)["superfluid_fraction"][ref] for lv in levels]
        name = ("free neutrons n_n,f" if ref == "free" else "all neutrons n_n") + (
            ", with current term" if tag == "with_current" else "")
        axes[0].bar([i + off for i in x], vals, width=width, label=name)
    for j, tag in enumerate(tags):
        off = (j - (len(tags) - 1) / 2) * 0.4
        vals = [fin.levels[lv].get(tag, nan)["m_ion_star_over_mu"] for lv in levels]
        axes[1].bar([i + off for i in x], vals, width=0.4,
                    label="with current term" if tag == "with_current" else "bands")
    if res.hydro:
        pf = res.hydro["potential_flow"]
        axes[0].axhline(pf["superfluid_fraction"]["all"], color="k", ls="--",
                        label="potential flow, m_n n_n(r) (/ all neutrons)")
        axes[1].axhline(pf["m_ion_star_over_mu"], color="k", ls="--", label="potential flow")
        for (name, e), ls in zip(res.hydro["epstein_baym"].items(), (":", "-.", (0, (5, 1)))):
            axes[1].axhline(e["m_ion_star_over_mu"], color="gray", ls=ls,
                            label=f"Epstein–Baym, {name}")
    for ax, title in ((axes[0], r"superfluid fraction $\rho_{n,s}/\rho_{ref}$"),
                      (axes[1], r"effective ion mass $m_I^\star/m_u$")):
        ax.set_xticks(list(x))
        ax.set_xticklabels(labels, rotation=20, ha="right", fontsize=8)
        ax.set_title(title)
        ax.legend(fontsize=7)
    evs = res.evaluations
    axes[2].plot([e.index for e in evs], [e.m_ion_c2_out for e in evs], "o-")
    axes[2].set_xlabel("band calculation (0 = rigid lattice)")
    axes[2].set_ylabel(r"$m_I^\star c^2$ (MeV)")
    axes[2].set_title(f"zero-point loop, <δr²> = {res.msd:.3g} fm²")
    lay = res.layer
    gap_fs = fin.convergence.get("gap_fermi_surface_mean_MeV", float("nan"))
    fig.suptitle(f"{lay.functional}, n̄ = {lay.nbar:g} fm$^{{-3}}$, {lay.lattice}, Z = {lay.Z:g}, "
                 f"A = {lay.A:.0f}; {res.config.pairing.model} gap, ⟨Δ⟩$_{{FS}}$ = {gap_fs:.3g} MeV "
                 f"({res.config.preset} preset; k-mesh and grid not shown converged)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
