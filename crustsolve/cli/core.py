"""``crustsolve core``: n–p entrainment in uniform neutron-star-core matter.

Composes :func:`crustsolve.core.core_entrainment` over one density or a density
range, prints a table (rank 0), and optionally writes CSV, HDF5 (with provenance)
and a PNG plot of ρ_np/ρ, m_q*/m and Φ*/Φ₀ versus density. The calculation is
cheap and deterministic, so every rank computes the same numbers (errors are then
raised identically everywhere) and rank 0 alone prints and writes.

Densities must lie in the functional's validity range for uniform matter (neutron drip to
the onset of acausality, :func:`crustsolve.core.validity_range`), temperatures below the
degenerate-matter limit; outputs are checked before anything is computed and written
atomically.
"""
from __future__ import annotations

import csv
import math

import numpy as np

from .. import __version__
from ..core import RECORD_UNITS, core_entrainment, validity_range
from ..errors import check_range
from ..functional import available_functionals, get_functional
from ..parallel import require_memory
from ..results import Output, prepare_outputs, write_atomically, write_results
from . import add_memory_argument, add_overwrite_argument, for_option, linear_range, range_values

#: Memory per density point held until the end (measured: 4.1 kB with its record).
_BYTES_PER_POINT = 5e3

#: Columns printed for a density range, with their display labels.
_TABLE_COLUMNS = (
    ("n", "n [fm^-3]"), ("y_p", "y_p"), ("mL_n", "m_n⊕/m"), ("mL_p", "m_p⊕/m"),
    ("Upsilon", "Υ"), ("rho_np_over_rho", "ρ_np/ρ"), ("eps_n", "ε_n"), ("eps_p", "ε_p"),
    ("mstar_n", "m_n*/m"), ("mstar_p", "m_p*/m"), ("flux_ratio", "Φ*/Φ₀"),
)
_TABLE_COLUMNS_T = (
    ("Y_n", "Y_n"), ("Y_p", "Y_p"), ("rhoT_np_over_rho", "ρ_np(T)/ρ"),
    ("rhoT_pp_over_rho", "ρ_pp(T)/ρ"),
)

#: Display labels for the single-density listing (every record field, in this order).
_LABELS = {
    "n": "n", "y_p": "y_p", "y_e": "y_e", "y_mu": "y_μ", "mu_n": "μ_n", "mu_p": "μ_p",
    "mu_e": "μ_e", "beta_residual": "μ_n − μ_p − μ_e", "E_per_A": "E/A", "P_nucleon": "P_N",
    "U_n": "U_n", "U_p": "U_p", "mL_n": "m_n⊕/m", "mL_p": "m_p⊕/m", "C_plus": "C₊",
    "C_minus": "C₋", "Ms": "M_s*/M", "Mv": "M_v*/M", "Upsilon": "Υ",
    "rho_nn_over_rho": "ρ_nn/ρ", "rho_np_over_rho": "ρ_np/ρ", "rho_pp_over_rho": "ρ_pp/ρ",
    "eps_n": "ε_n", "eps_p": "ε_p", "mstar_n": "m_n*/m", "mstar_p": "m_p*/m",
    "mtilde_n": "m̃_n/m", "mtilde_p": "m̃_p/m", "alpha": "α (A–C)", "K_nn": "K^nn",
    "K_np": "K^np", "K_pp": "K^pp", "flux_ratio": "Φ*/Φ₀", "T": "T", "gap_n0": "Δ_n(0)",
    "gap_p0": "Δ_p(0)", "gap_n": "Δ_n(T)", "gap_p": "Δ_p(T)", "Y_n": "Y_n", "Y_p": "Y_p",
    "VL_n": "V_L,n/c", "VL_p": "V_L,p/c", "rhoT_nn_over_rho": "ρ_nn(T)/ρ",
    "rhoT_np_over_rho": "ρ_np(T)/ρ", "rhoT_pp_over_rho": "ρ_pp(T)/ρ",
    "flux_ratio_T": "Φ*(T)/Φ₀",
}


def register(subparsers):
    p = subparsers.add_parser(
        "core", help="n-p entrainment in uniform core matter (beta equilibrium or fixed y_p, "
                     "T = 0 or finite T)",
        description="Entrainment matrix of the neutron-proton superfluid mixture of the "
                    "neutron-star core from a Skyrme/BSk functional, its parametrisations "
                    "(eps_n, eps_p, dynamical masses, Andersson-Comer alpha, Carter K) and the "
                    "fractional flux of a neutron vortex. Units: MeV, fm, fm^-3.")
    p.add_argument("--functional", default="BSk24",
                   help="functional (%s; default BSk24)" % ", ".join(available_functionals()))
    dens = p.add_mutually_exclusive_group(required=True)
    dens.add_argument("--density", type=float, metavar="N", help="baryon density in fm^-3")
    dens.add_argument("--density-range", type=float, nargs=3, metavar=("START", "STOP", "NUM"),
                      help="NUM equally spaced baryon densities from START to STOP (fm^-3)")
    comp = p.add_mutually_exclusive_group()
    comp.add_argument("--beta-equilibrium", action="store_true", default=True,
                      help="npe(mu) matter in beta equilibrium (default)")
    comp.add_argument("--proton-fraction", type=float, metavar="Y",
                      help="fixed proton fraction y_p in [0, 1] instead of beta equilibrium")
    p.add_argument("--no-muons", action="store_true", help="npe matter (no muons) in beta equilibrium")
    p.add_argument("--temperature", type=float, default=0.0, metavar="T",
                   help="temperature in MeV (default 0); T > 0 needs both gaps")
    p.add_argument("--gap-n", type=float, metavar="MEV", help="neutron gap at T = 0 (MeV)")
    p.add_argument("--gap-p", type=float, metavar="MEV", help="proton gap at T = 0 (MeV)")
    p.add_argument("--tc-n", type=float, metavar="MEV",
                   help="neutron critical temperature (MeV), instead of --gap-n")
    p.add_argument("--tc-p", type=float, metavar="MEV",
                   help="proton critical temperature (MeV), instead of --gap-p")
    p.add_argument("--masses", choices=("common", "bare"), default="common",
                   help="bare masses in rho_qq': common m = (m_n+m_p)/2 (default) or m_n != m_p")
    p.add_argument("--csv", metavar="PATH", help="write every quantity to a CSV file")
    p.add_argument("--h5", metavar="PATH", help="write every quantity to an HDF5 file with provenance")
    p.add_argument("--plot", metavar="PNG", help="plot rho_np/rho, m_q*/m and Phi*/Phi0 vs density")
    add_overwrite_argument(p)
    add_memory_argument(p)
    p.set_defaults(func=run)


def _densities(args, comm=None):
    """(densities in fm⁻³, the functional's validity range): the densities checked against
    that range and, for a range, against the memory the NUM points need (before creating
    them)."""
    with for_option("--functional"):
        valid = validity_range(get_functional(args.functional))
    if args.density is not None:
        check_range("--density", args.density, 0.0, None, lo_open=True, unit="fm^-3")
        return [valid.check("--density", args.density)], valid
    start, stop, num = linear_range("--density-range", *args.density_range, lo=0.0,
                                    lo_open=True, unit="fm^-3")
    valid.check("--density-range START", start)
    valid.check("--density-range STOP", stop)
    require_memory(comm, num * _BYTES_PER_POINT, f"--density-range NUM = {num} densities",
                   allow=args.allow_oversubscribe_memory, hint="lower NUM")
    return range_values(start, stop, num), valid


def resolved_config(args, densities=None) -> dict:
    """The fully resolved options of a ``core`` run (stored as HDF5 provenance; also the
    identity an existing ``--h5`` file is compared with)."""
    f = get_functional(args.functional)
    return {
        "command": "core", "functional": f.name, "functional_reference": f.reference,
        "functional_doi": f.doi, "functional_mass_convention": f.mass_convention,
        "hbar2_2m_n": f.hbar2_2m_n, "hbar2_2m_p": f.hbar2_2m_p,
        "densities": _densities(args)[0] if densities is None else list(densities),
        "composition": "fixed proton fraction" if args.proton_fraction is not None
        else ("beta equilibrium, npe" if args.no_muons else "beta equilibrium, npemu"),
        "proton_fraction": args.proton_fraction, "temperature": args.temperature,
        "gap_n": args.gap_n, "gap_p": args.gap_p, "tc_n": args.tc_n, "tc_p": args.tc_p,
        "masses": args.masses,
    }


def _fmt(x) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "—"
    if x == 0.0:
        return "0"
    ax = abs(x)
    return f"{x:.6g}" if 1e-3 <= ax < 1e5 else f"{x:.4e}"


def _write_csv(path, records, config):
    keys = list(records[0])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(f"# crustsolve {__version__} core, functional {config['functional']}, "
                 f"composition: {config['composition']}, masses: {config['masses']}; "
                 "units in the HDF5 output / crustsolve.core.RECORD_UNITS\n")
        writer = csv.writer(fh)
        writer.writerow(keys)
        for rec in records:
            writer.writerow([repr(float(rec[k])) for k in keys])


def _plot(path, records, title, temperature):
    import matplotlib  # noqa: PLC0415 - optional (extra "plot") and slow: plots only
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the Agg backend

    n = [r["n"] for r in records]
    fig, axes = plt.subplots(3, 1, figsize=(6, 8), sharex=True)
    style = "o-" if len(n) < 40 else "-"
    axes[0].plot(n, [r["rho_np_over_rho"] for r in records], style, label="T = 0")
    if any(not math.isnan(r["rhoT_np_over_rho"]) for r in records):
        axes[0].plot(n, [r["rhoT_np_over_rho"] for r in records], style,
                     label=f"T = {temperature:g} MeV")
        axes[0].legend()
    axes[0].set_ylabel(r"$\rho_{np}/\rho$")
    axes[1].plot(n, [r["mstar_n"] for r in records], style, label=r"$m_n^*/m$")
    axes[1].plot(n, [r["mstar_p"] for r in records], style, label=r"$m_p^*/m$")
    axes[1].set_ylabel("dynamical effective mass")
    axes[1].legend()
    axes[2].plot(n, [abs(r["flux_ratio"]) for r in records], style)
    axes[2].set_ylabel(r"$|\Phi_*|/\Phi_0$")
    axes[2].set_xlabel(r"$n$ (fm$^{-3}$)")
    axes[0].set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _check_options(args) -> None:
    check_range("--temperature", args.temperature, 0.0, None, unit="MeV")
    if args.proton_fraction is not None:
        check_range("--proton-fraction", args.proton_fraction, 0.0, 1.0)
    for option, value in (("--gap-n", args.gap_n), ("--gap-p", args.gap_p),
                          ("--tc-n", args.tc_n), ("--tc-p", args.tc_p)):
        if value is not None:
            check_range(option, value, 0.0, None, unit="MeV")


def run(args, ctx) -> int:
    _check_options(args)
    densities, valid = _densities(args, ctx.comm)  # validates the functional and densities
    config = resolved_config(args, densities)
    prepare_outputs(ctx.comm, [Output("--csv", args.csv, "table"),
                               Output("--h5", args.h5, "results", config),
                               Output("--plot", args.plot, "image")],
                    overwrite=args.overwrite)
    points = [core_entrainment(config["functional"], n, proton_fraction=args.proton_fraction,
                               temperature=args.temperature, gap_n=args.gap_n, gap_p=args.gap_p,
                               tc_n=args.tc_n, tc_p=args.tc_p, masses=args.masses,
                               muons=not args.no_muons)
              for n in densities]
    records = [pt.as_record() for pt in points]
    finite_t = args.temperature > 0.0

    ctx.log.info(f"crustsolve core: {config['functional']} ({config['functional_reference']}), "
                 f"{config['composition']}, masses: {config['masses']}, "
                 f"T = {args.temperature:g} MeV")
    below = [n for n in densities if n < valid.n_transition]
    if below and args.proton_fraction is None:
        ctx.log.warning(f"{len(below)} density(ies) below the crust-core transition "
                        f"{valid.n_transition:g} fm^-3 of {valid.functional}: uniform matter "
                        "is not the ground state there (the inner crust is: crustsolve layer)")
    if len(records) == 1:
        rec = records[0]
        width = max(len(v) for v in _LABELS.values())
        for key, label in _LABELS.items():
            value = rec[key]
            if isinstance(value, float) and math.isnan(value):
                continue  # not applicable to this run
            unit, meaning = RECORD_UNITS[key]
            unit = "" if unit == "1" else unit
            ctx.log.info(f"  {label:<{width}}  {_fmt(value):>12}  {unit:<9}  {meaning}")
    else:
        cols = _TABLE_COLUMNS + (_TABLE_COLUMNS_T if finite_t else ())
        widths = [max(11, len(lbl)) for _, lbl in cols]
        ctx.log.info("  ".join(f"{lbl:>{w}}" for (_, lbl), w in zip(cols, widths)))
        for rec in records:
            ctx.log.info("  ".join(f"{_fmt(rec[k]):>{w}}" for (k, _), w in zip(cols, widths)))

    if args.csv:
        write_atomically(ctx.comm, args.csv, lambda tmp: _write_csv(tmp, records, config),
                         "CSV table")
        ctx.log.info(f"wrote {args.csv}")
    if args.h5:
        datasets = {f"core/{k}": (np.array([r[k] for r in records]), RECORD_UNITS[k][0])
                    for k in records[0]}
        write_results(args.h5, ctx.comm, datasets, config, identity=config)
        ctx.log.info(f"wrote {args.h5}")
    if args.plot:
        title = f"{config['functional']}, {config['composition']}"
        write_atomically(ctx.comm, args.plot,
                         lambda tmp: _plot(tmp, records, title, args.temperature), "plot")
        ctx.log.info(f"wrote {args.plot}")
    return 0
