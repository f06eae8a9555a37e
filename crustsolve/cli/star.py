"""``crustsolve star``: moments of inertia and Lense–Thirring couplings of a two-fluid star.

Composes :func:`crustsolve.star.mass_radius_curve` for one mass or a mass range,
prints M, R, Hartle's I, the fluid fractions, ε̃_n, ε̃_p, the four ε^LT_XY and
I_np/I_n, I_pn/I_p (rank 0), and optionally writes CSV, HDF5 (with provenance) and
a PNG of the couplings versus mass. The computation is cheap and deterministic, so
every rank computes the same numbers (errors are raised identically everywhere)
and rank 0 alone prints and writes.
"""
from __future__ import annotations

import csv

import numpy as np

from .. import __version__
from ..errors import check_range
from ..parallel import require_memory
from ..results import Output, prepare_outputs, write_atomically, write_results
from ..star import RESULT_UNITS, eos_description, mass_radius_curve, maximum_mass, unified_eos
from ..star.eos import CORE_EOS_OPTIONS
from ..star.model import DEFAULT_MIN_MASS
from ..star.pearson2018 import FITTED_FUNCTIONALS
from ..star.tov import DEFAULT_N_RADIAL
from . import add_memory_argument, add_overwrite_argument, for_option, linear_range, range_values

#: Memory per star held until the end (measured: 29 kB with its record).
_BYTES_PER_STAR = 32e3

#: Columns printed for every star, with their display labels and the scale applied.
_COLUMNS = (
    ("mass", "M [Msun]", 1.0), ("radius", "R [km]", 1.0),
    ("moment_of_inertia", "I [1e45 g cm2]", 1e-45), ("fraction_n", "Ĩn/Ĩ"),
    ("fraction_p", "Ĩp/Ĩ"), ("eps_tilde_n", "ε̃_n"), ("eps_tilde_p", "ε̃_p"),
    ("eps_lt_nn", "εLT_nn"), ("eps_lt_np", "εLT_np"), ("eps_lt_pn", "εLT_pn"),
    ("eps_lt_pp", "εLT_pp"), ("I_np_over_I_n", "I_np/I_n"), ("I_pn_over_I_p", "I_pn/I_p"),
    ("omega_c_over_Omega", "ω(0)/Ω"),
)


def register(subparsers):
    p = subparsers.add_parser(
        "star", help="moments of inertia and Lense-Thirring couplings of a two-fluid "
                     "neutron star of given mass",
        description="Slowly rotating two-fluid neutron star (GR, first order in the rotation "
                    "rates): TOV structure for a unified EoS (core from the functional in "
                    "beta equilibrium, crust from the Pearson et al. 2018 fits), Hartle's I, "
                    "the fluid moments of inertia, averaged entrainment eps~_X, the "
                    "Lense-Thirring couplings eps^LT_XY and I_np/I_n, I_pn/I_p. The neutron "
                    "fluid is restricted to the core. Units: Msun, km, g cm^2.")
    p.add_argument("--functional", default="BSk24",
                   help="functional with a unified crust EoS (%s; default BSk24)"
                   % ", ".join(FITTED_FUNCTIONALS))
    masses = p.add_mutually_exclusive_group(required=True)
    masses.add_argument("--mass", type=float, metavar="M", help="gravitational mass in Msun")
    masses.add_argument("--mass-range", type=float, nargs=3, metavar=("START", "STOP", "NUM"),
                        help="NUM equally spaced masses from START to STOP (Msun)")
    p.add_argument("--core-eos", choices=CORE_EOS_OPTIONS, default="functional",
                   help="core EoS: the functional in beta equilibrium (default) or the Pearson "
                        "et al. 2018 fit (composition and entrainment still from the functional)")
    p.add_argument("--transition-density", type=float, metavar="N",
                   help="crust-core transition density in fm^-3 (default: tabulated value, "
                        "BSk22 0.071, BSk24 0.081)")
    p.add_argument("--min-mass", type=float, default=DEFAULT_MIN_MASS, metavar="M",
                   help=f"lowest accepted mass in Msun (default {DEFAULT_MIN_MASS})")
    p.add_argument("--n-radial", type=int, default=DEFAULT_N_RADIAL, metavar="N",
                   help=f"radial steps of the rotation solver (default {DEFAULT_N_RADIAL})")
    p.add_argument("--csv", metavar="PATH", help="write every quantity to a CSV file")
    p.add_argument("--h5", metavar="PATH",
                   help="write every quantity to an HDF5 file with provenance")
    p.add_argument("--plot", metavar="PNG", help="plot I_np/I_n, eps~_n and eps^LT versus mass")
    add_overwrite_argument(p)
    add_memory_argument(p)
    p.set_defaults(func=run)


def _masses(args, comm=None):
    """The masses of the run (Msun); a range is checked against the memory its NUM stars
    need before they are created."""
    if args.mass is not None:
        return [check_range("--mass", args.mass, 0.0, None, lo_open=True, unit="Msun")]
    start, stop, num = linear_range("--mass-range", *args.mass_range, lo=0.0, lo_open=True,
                                    unit="Msun")
    require_memory(comm, num * _BYTES_PER_STAR, f"--mass-range NUM = {num} stars",
                   allow=getattr(args, "allow_oversubscribe_memory", False), hint="lower NUM")
    return range_values(start, stop, num)


def resolved_config(args, eos, mmax, masses=None) -> dict:
    """The fully resolved options of a ``star`` run (stored as HDF5 provenance; also the
    identity an existing ``--h5`` file is compared with)."""
    masses = _masses(args) if masses is None else list(masses)
    config = {"command": "star", "functional": args.functional, "masses": masses,
              "core_eos": args.core_eos, "transition_density": args.transition_density,
              "min_mass": args.min_mass, "n_radial": args.n_radial,
              "maximum_mass_Msun": mmax.mass, "radius_at_maximum_mass_km": mmax.radius,
              "index_order": "eps_lt_XY: weight of fluid X, coefficient of Omega_Y "
                             "(docs/physics/star.md)",
              "argv": {k: v for k, v in vars(args).items()
                       if k not in ("func", "overwrite", "allow_oversubscribe_memory")}}
    config.update({f"eos_{k}": v for k, v in eos_description(eos).items()})
    return config


def _fmt(x) -> str:
    if x == 0.0:
        return "0"
    ax = abs(x)
    return f"{x:.5g}" if 1e-3 <= ax < 1e5 else f"{x:.4e}"


def _write_csv(path, records, config):
    keys = list(records[0])
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write(f"# crustsolve {__version__} star, EoS: {config['eos_name']}; "
                 f"M_max = {config['maximum_mass_Msun']:.5f} Msun; "
                 f"{config['index_order']}\n")
        fh.write("# units: " + ", ".join(f"{k} [{RESULT_UNITS[k]}]" for k in keys) + "\n")
        writer = csv.writer(fh)
        writer.writerow(keys)
        for rec in records:
            writer.writerow([repr(float(rec[k])) for k in keys])


def _plot(path, records, title):
    import matplotlib  # noqa: PLC0415 - optional (extra "plot") and slow: plots only
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the Agg backend

    m = [r["mass"] for r in records]
    style = "o-" if len(m) < 40 else "-"
    fig, axes = plt.subplots(3, 1, figsize=(6, 8), sharex=True)
    axes[0].plot(m, [r["eps_tilde_n"] for r in records], style, label=r"$\tilde\varepsilon_n$")
    axes[0].plot(m, [r["I_np_over_I_n"] for r in records], style, label=r"$I_{np}/I_n$")
    axes[0].legend()
    axes[0].set_ylabel("neutron fluid")
    for key, lbl in (("eps_lt_nn", "nn"), ("eps_lt_np", "np"), ("eps_lt_pn", "pn"),
                     ("eps_lt_pp", "pp")):
        axes[1].plot(m, [r[key] for r in records], style, label=rf"$\varepsilon^{{LT}}_{{{lbl}}}$")
    axes[1].legend(ncol=2)
    axes[1].set_ylabel("Lense-Thirring")
    axes[2].plot(m, [r["moment_of_inertia"] / 1e45 for r in records], style, label="I (Hartle)")
    axes[2].plot(m, [r["I_tilde_n"] / 1e45 for r in records], style, label=r"$\tilde I_n$")
    axes[2].plot(m, [r["I_tilde_p"] / 1e45 for r in records], style, label=r"$\tilde I_p$")
    axes[2].legend()
    axes[2].set_ylabel(r"$10^{45}$ g cm$^2$")
    axes[2].set_xlabel(r"$M$ ($M_\odot$)")
    axes[0].set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args, ctx) -> int:
    masses = _masses(args, ctx.comm)
    check_range("--min-mass", args.min_mass, 0.0, None, unit="Msun")
    check_range("--n-radial", args.n_radial, 8, 1_000_000)
    options = {"core_eos": args.core_eos}
    if args.transition_density is not None:
        options["transition_density"] = check_range(
            "--transition-density", args.transition_density, 0.0, None, lo_open=True,
            unit="fm^-3")
    # Outputs first: the equation of state and the maximum mass take seconds.
    prepare_outputs(ctx.comm, [Output("--csv", args.csv, "table"),
                               Output("--h5", args.h5, "results", None),
                               Output("--plot", args.plot, "image")],
                    overwrite=args.overwrite)
    with for_option("--transition-density", match="transition_density"):
        eos = unified_eos(args.functional, **options)
    mmax = maximum_mass(eos=eos)
    # Name the command-line option in the error, with the range this EoS allows.
    opt = "--mass" if args.mass is not None else "--mass-range"
    masses = [check_range(opt, m, args.min_mass, round(mmax.mass, 4), unit="Msun")
              for m in masses]
    config = resolved_config(args, eos, mmax, masses)
    # The identity is known only now (it includes the EoS): check an existing --h5 again.
    prepare_outputs(ctx.comm, [Output("--h5", args.h5, "results", config)],
                    overwrite=args.overwrite)
    stars = mass_radius_curve(args.functional, masses, n_radial=args.n_radial,
                              min_mass=args.min_mass, eos=eos)
    records = [s.as_record() for s in stars]

    ctx.log.info(f"crustsolve star: {eos.name}; M_max = {mmax.mass:.4f} Msun at "
                 f"R = {mmax.radius:.3f} km; neutron fluid in the core only "
                 f"(n >= {config['eos_transition_density_fm3']:g} fm^-3)")
    labels = [c[1] for c in _COLUMNS]
    widths = [max(9, len(lbl)) for lbl in labels]
    ctx.log.info("  ".join(f"{lbl:>{w}}" for lbl, w in zip(labels, widths)))
    for rec in records:
        cells = [_fmt(rec[c[0]] * (c[2] if len(c) > 2 else 1.0)) for c in _COLUMNS]
        ctx.log.info("  ".join(f"{v:>{w}}" for v, w in zip(cells, widths)))

    if args.csv:
        write_atomically(ctx.comm, args.csv, lambda tmp: _write_csv(tmp, records, config),
                         "CSV table")
        ctx.log.info(f"wrote {args.csv}")
    if args.h5:
        datasets = {f"star/{k}": (np.array([r[k] for r in records]), RESULT_UNITS[k])
                    for k in records[0]}
        write_results(args.h5, ctx.comm, datasets, config, identity=config)
        ctx.log.info(f"wrote {args.h5}")
    if args.plot:
        write_atomically(ctx.comm, args.plot, lambda tmp: _plot(tmp, records, eos.name), "plot")
        ctx.log.info(f"wrote {args.plot}")
    return 0
