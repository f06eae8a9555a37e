"""``crustsolve layer``: composition of one inner-crust layer and its periodic mean fields.

Prints the composition (own ETF minimisation, or a published table given with ``--table``)
and writes the field file (schema of ``crustsolve.bands.fields``) that ``crustsolve bands``
and ``run`` read. Only rank 0 writes; files are written to ``*.tmp`` and renamed.
"""
from __future__ import annotations

import os
import time


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
    p.add_argument("--gap", type=float, default=None, help="constant pairing field Δ_n in MeV")
    p.add_argument("--out", default=None, help="field file to write (HDF5)")
    p.add_argument("--plot", default=None, metavar="PNG",
                   help="PNG of the density profiles and of U_n along [111]")
    p.set_defaults(func=run)


def _layer(args, log):
    from ..crust import composition, tables  # noqa: PLC0415
    if args.table:
        table = tables.load_table(args.table, functional=args.functional)
        return table.layer_at(args.density, lattice=args.lattice)
    composition.check_density(args.functional, args.density)
    if args.z_scan:
        zs = [float(z) for z in args.z_scan.split(",") if z.strip()]
        best, res = composition.scan_z(args.functional, args.density, zs, lattice=args.lattice)
        for z, e in sorted(res.items()):
            log.info(f"  Z = {z:g}: e_ETF = {e:.6f} MeV/nucleon")
        return best
    return composition.minimise_layer(args.functional, args.density, args.z, lattice=args.lattice)


def _plot(path, lf):
    import matplotlib  # noqa: PLC0415
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    layer = lf.layer
    r = np.linspace(0.0, layer.R_cell, 400)
    n = lf.fields.n
    d = np.arange(n // 2 + 1)  # [111] from a site to the cube centre (bcc: next site)
    s = d * lf.fields.h * np.sqrt(3.0)
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    ax[0].plot(r, layer.neutron.density(r), label="n_n")
    ax[0].plot(r, layer.proton.density(r), label="n_p")
    ax[0].set_xlabel("r [fm]")
    ax[0].set_ylabel("density [fm$^{-3}$]")
    ax[0].legend()
    ax[1].plot(s, lf.fields.U[d, d, d], "o-", ms=3)
    ax[1].set_xlabel("distance along [111] [fm]")
    ax[1].set_ylabel("U_n [MeV]")
    fig.suptitle(f"{layer.functional}, n̄ = {layer.nbar:g} fm$^{{-3}}$, Z = {layer.Z:g}, "
                 f"A = {layer.A:.1f}, {layer.lattice}")
    fig.tight_layout()
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    os.replace(tmp, path)


def run(args, ctx) -> int:
    from ..crust.lattice_fields import build_fields, write_layer_fields  # noqa: PLC0415
    comm = ctx.comm
    t0 = time.perf_counter()
    layer = None
    err = None
    if comm.rank == 0:
        try:
            layer = _layer(args, ctx.log)
        except Exception as exc:  # noqa: BLE001 - re-raised on every rank below
            err = exc
    err = comm.bcast(err, root=0)
    if err is not None:
        raise err
    layer = comm.bcast(layer, root=0)
    ctx.log.info(layer.summary())
    ctx.log.info(f"  composition time {time.perf_counter() - t0:.1f} s")
    if args.out or args.plot:
        t1 = time.perf_counter()
        lf = build_fields(layer, lattice=args.lattice, spacing=args.spacing, points=args.points,
                          pairing=args.gap)
        f = lf.fields
        ctx.log.info(f"fields: {f.n}^3 points, a = {f.a:.4f} fm, h = {f.h:.4f} fm; "
                     f"U_n in [{f.U.min():.4f}, {f.U.max():.4f}] MeV, "
                     f"B_n in [{f.B.min():.4f}, {f.B.max():.4f}] MeV fm^2 "
                     f"({time.perf_counter() - t1:.1f} s)")
        if args.out:
            write_layer_fields(args.out, lf, comm=comm)
            ctx.log.info(f"wrote {args.out}")
        if args.plot and comm.rank == 0:
            _plot(args.plot, lf)
            ctx.log.info(f"wrote {args.plot}")
    return 0
