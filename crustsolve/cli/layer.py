"""``crustsolve layer``: composition of one inner-crust layer and its periodic mean fields.

Prints the composition (own ETF minimisation, or a published table given with ``--table``)
and writes the field file (schema of ``crustsolve.bands.fields``) that ``crustsolve bands``
and ``run`` read. Every option and both outputs are checked before the composition is
computed; an existing file is replaced only if it holds the same layer (or with
``--overwrite``). Only rank 0 writes; files are written to a temporary name and renamed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import time

import numpy as np

from ..crust import composition, tables
from ..crust.composition import check_density
from ..crust.lattice_fields import build_fields, grid_points_for, write_layer_fields
from ..errors import InputError, check_range
from ..functional import get_functional
from ..functional.pairing import functional_pairing
from ..parallel import describe_os_error, on_root, require_memory
from ..results import Output, identity_json, prepare_outputs, write_atomically
from . import add_memory_argument, add_overwrite_argument, for_option, number_list

#: Peak bytes per grid point while the fields are built, on every rank (measured: 305 B at
#: 48³, 347 B at 32³).
_FIELD_BYTES_PER_POINT = 400.0
#: Range of the constant pairing gap (MeV), as for ``[pairing] value`` of run files (0: none).
_GAP_RANGE = (0.0, 10.0)
#: Range of Z (protons per cluster), as accepted by the ETF minimisation.
_Z_RANGE = (2.0, 200.0)


def register(subparsers):
    p = subparsers.add_parser(
        "layer", help="inner-crust layer from the functional: composition (4th-order ETF or a "
                      "published table), density profiles and periodic mean fields U_n, B_n")
    p.add_argument("--functional", default="BSk24", help="Skyrme/BSk functional (default BSk24)")
    p.add_argument("--density", type=float, required=True, help="mean baryon density n̄ in fm^-3")
    p.add_argument("--lattice", choices=("bcc", "fcc"), default="bcc")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--spacing", type=float, default=None,
                   help="grid spacing in fm (default 1.0; N rounded up to even)")
    g.add_argument("--points", type=int, default=None, help="grid points per side (even)")
    p.add_argument("--z", type=float, default=None,
                   help="protons per cell (default: the functional's equilibrium Z, 40 for BSk24)")
    p.add_argument("--z-scan", default=None, metavar="Z1,Z2,...",
                   help="minimise at each Z and keep the lowest e_ETF (ETF only, no shell corrections)")
    p.add_argument("--table", default=None, metavar="PATH",
                   help="28-column composition table (Pearson et al. 2018 format) instead of "
                        "the ETF minimisation")
    p.add_argument("--gap", default=None, metavar="MeV|functional",
                   help="neutron pair field Δ_n written with the fields: a constant in MeV, or "
                        "'functional' for the functional's LDA pair field (BSk22/24/25/26)")
    p.add_argument("--out", default=None, help="field file to write (HDF5)")
    p.add_argument("--plot", default=None, metavar="PNG",
                   help="PNG of the density profiles and of U_n along [111]")
    add_overwrite_argument(p)
    add_memory_argument(p)
    p.set_defaults(func=run)


def _z_values(text: str) -> list:
    """The Z of ``--z-scan`` (comma-separated numbers in the allowed Z range)."""
    return [check_range("--z-scan Z", z, *_Z_RANGE)
            for z in number_list(text, "--z-scan", "40,50")]


def _check_arguments(args) -> dict:
    """Validate every option before any work; returns the parsed values."""
    with for_option("--functional"):
        name = get_functional(args.functional).name
    check_range("--density", args.density, 0.0, None, lo_open=True, unit="fm^-3")
    if not args.table:
        with for_option("--density"):
            check_density(name, args.density)
    if args.z is not None:
        check_range("--z", args.z, *_Z_RANGE)
    zs = _z_values(args.z_scan) if args.z_scan is not None else None
    if args.gap is not None and args.gap != "functional":
        try:
            args.gap = float(args.gap)
        except ValueError:
            raise InputError(f"--gap {args.gap!r}: give a gap in MeV or 'functional'") from None
        check_range("--gap", args.gap, *_GAP_RANGE, unit="MeV")
    if args.gap == "functional":
        functional_pairing(args.functional)     # a clear error for functionals without one
    if args.points is not None:
        with for_option("--points"):
            grid_points_for(1.0, None, args.points)
    if args.spacing is not None:
        with for_option("--spacing"):
            grid_points_for(1.0, args.spacing, None)
    return {"functional": name, "z_scan": zs}


def _identity(args, parsed) -> dict:
    """What decides the field file (compared before replacing an existing --out)."""
    table = None
    if args.table:
        try:
            with open(args.table, "rb") as fh:
                table = hashlib.sha256(fh.read()).hexdigest()
        except OSError as exc:
            raise InputError(f"--table: cannot read composition table "
                             f"{describe_os_error(exc)}") from None
    return {"command": "layer", "functional": parsed["functional"], "density": args.density,
            "lattice": args.lattice, "spacing": args.spacing, "points": args.points,
            "Z": args.z, "z_scan": parsed["z_scan"], "table_sha256": table, "gap": args.gap}


def _layer(args, zs, log):
    if args.table:
        table = tables.load_table(args.table, functional=args.functional)
        with for_option("--density"):
            return table.layer_at(args.density, lattice=args.lattice)
    if zs:
        best, res = composition.scan_z(args.functional, args.density, zs, lattice=args.lattice)
        for z, e in sorted(res.items()):
            log.info(f"  Z = {z:g}: e_ETF = {e:.6f} MeV/nucleon")
        return best
    return composition.minimise_layer(args.functional, args.density, args.z, lattice=args.lattice)


def _plot(path, lf):
    import matplotlib  # noqa: PLC0415 - optional (extra "plot") and slow: plots only
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the Agg backend
    layer = lf.layer
    r = np.linspace(0.0, layer.R_cell, 400)
    n = lf.fields.n
    d = np.arange(n // 2 + 1)  # [111] from a site to the cube centre (bcc: next site)
    s = d * lf.fields.h * np.sqrt(3.0)
    delta = lf.fields.Delta
    fig, ax = plt.subplots(1, 2 if delta is None else 3, figsize=(10 if delta is None else 15, 4))
    ax[0].plot(r, layer.neutron.density(r), label="n_n")
    ax[0].plot(r, layer.proton.density(r), label="n_p")
    ax[0].set_xlabel("r [fm]")
    ax[0].set_ylabel("density [fm$^{-3}$]")
    ax[0].legend()
    ax[1].plot(s, lf.fields.U[d, d, d], "o-", ms=3)
    ax[1].set_xlabel("distance along [111] [fm]")
    ax[1].set_ylabel("U_n [MeV]")
    if delta is not None:
        ax[2].plot(s, np.asarray(delta)[d, d, d], "o-", ms=3, color="C2")
        ax[2].set_xlabel("distance along [111] [fm]")
        ax[2].set_ylabel(r"pair field $\Delta_n$ [MeV]")
    fig.suptitle(f"{layer.functional}, n̄ = {layer.nbar:g} fm$^{{-3}}$, Z = {layer.Z:g}, "
                 f"A = {layer.A:.1f}, {layer.lattice}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(args, ctx) -> int:
    comm = ctx.comm
    t0 = time.perf_counter()
    parsed = _check_arguments(args)
    identity = on_root(comm, _identity, args, parsed) if args.table else _identity(args, parsed)
    prepare_outputs(comm, [Output("--out", args.out, "fields", identity),
                           Output("--plot", args.plot, "image")],
                    inputs={"--table": args.table or None}, overwrite=args.overwrite)
    layer = on_root(comm, _layer, args, parsed["z_scan"], ctx.log)
    ctx.log.info(layer.summary())
    ctx.log.info(f"  composition time {time.perf_counter() - t0:.1f} s")
    if args.out or args.plot:
        t1 = time.perf_counter()
        a = layer.with_lattice(args.lattice).lattice_constant
        n = grid_points_for(a, args.spacing, args.points)
        require_memory(comm, _FIELD_BYTES_PER_POINT * n**3,
                       f"the fields on a {n}³ grid (a = {a:.4g} fm)",
                       allow=args.allow_oversubscribe_memory,
                       hint="use a larger --spacing or fewer --points")
        lf = build_fields(layer, lattice=args.lattice, spacing=args.spacing, points=args.points,
                          pairing=args.gap)
        f = lf.fields
        ctx.log.info(f"fields: {f.n}^3 points, a = {f.a:.4f} fm, h = {f.h:.4f} fm; "
                     f"U_n in [{f.U.min():.4f}, {f.U.max():.4f}] MeV, "
                     f"B_n in [{f.B.min():.4f}, {f.B.max():.4f}] MeV fm^2 "
                     f"({time.perf_counter() - t1:.1f} s)")
        if args.out:
            stamped = f.replace(provenance={**f.provenance, "identity": identity_json(identity)})
            write_layer_fields(args.out, dataclasses.replace(lf, fields=stamped), comm=comm)
            ctx.log.info(f"wrote {args.out}")
        if args.plot:
            write_atomically(comm, args.plot, lambda tmp: _plot(tmp, lf), "plot")
            ctx.log.info(f"wrote {args.plot}")
    return 0
