#!/usr/bin/env python3
"""Reduced-basis k-interpolation against direct solves: time and eigenvalue error on one mesh.

The same fields (a field file, e.g. a BSk24 layer from ``crustsolve layer``, or bcc Gaussian
wells) and the same N×N×N target mesh are solved twice, side by side in one process, with
:func:`crustsolve.bands.bandstructure.compute_bands`: directly ("direct", the baseline) and by
Rayleigh–Ritz in a basis from the M×M×M mesh ("interpolated", basis building and held-out
checks included in its wall time). Recorded: wall time of each route, the time per k-point of
each (for the interpolated route after the basis is built), the ratios, the basis size, its
memory, the held-out errors per round, the largest eigenvalue difference over every point and
band (and over the bands below ``--emax`` when given), and the machine load at start and end.

    crustsolve layer --density 0.03 --points 24 --out layer_24.h5
    OMP_NUM_THREADS=1 nice -n 10 python3 benchmarks/interpolation.py --field layer_24.h5 \\
        --nev 300 --kmesh 4 --coarse 2 --out benchmarks/out/interpolation_24.json

No assertions: this measures, the tests (tests/bands/test_interpolation.py) check correctness.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from sectors import _machine  # noqa: E402  (the same machine record as the sectors benchmark)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--field", default=None, help="Fields HDF5 file (else bcc Gaussian wells)")
    p.add_argument("--grid", type=int, default=16, help="points per side without --field")
    p.add_argument("--nev", type=int, default=300)
    p.add_argument("--order", type=int, default=None, help="FD order (default: crustsolve's)")
    p.add_argument("--solver", default="krylovschur", choices=("krylovschur", "chebyshev", "lapack"))
    p.add_argument("--tol", type=float, default=1e-8, help="direct eigen-residual tolerance")
    p.add_argument("--kmesh", type=int, default=4, help="target mesh N (shifted)")
    p.add_argument("--coarse", type=int, default=2, help="coarse mesh M of the basis (shifted)")
    p.add_argument("--interpolate-tol", type=float, default=1e-4, help="held-out tolerance, MeV")
    p.add_argument("--blocks", default="auto", choices=("auto", "on", "off"),
                   help="Fourier blocks of the basis (InterpolationSettings.blocks)")
    p.add_argument("--emax", type=float, default=None, help="also report the error below this energy (MeV)")
    p.add_argument("--out", default=None, help="JSON output (default: stdout only)")
    args = p.parse_args(argv)

    import numpy as np
    from mpi4py import MPI

    from crustsolve.bands import Fields
    from crustsolve.bands.bandstructure import SolverSettings, compute_bands
    from crustsolve.bands.hamiltonian import DEFAULT_ORDER
    from crustsolve.bands.interpolation import InterpolationSettings
    from crustsolve.bands.kmesh import KMesh
    from crustsolve.parallel import Layout

    comm = MPI.COMM_WORLD
    if args.field:
        fields = Fields.read(args.field, comm)
    else:
        fields = Fields.gaussian_wells(args.grid, 20.0, depth=40.0, radius=3.5, lattice="bcc")
    order = DEFAULT_ORDER if args.order is None else args.order
    mesh = KMesh.monkhorst_pack(args.kmesh, fields.a, shift=True)
    settings = SolverSettings(kind=args.solver, nev=args.nev, tol=args.tol)
    record = {"machine": _machine(), "field": args.field or f"bcc wells {args.grid}^3",
              "n": fields.n, "order": order, "nev": args.nev, "solver": args.solver,
              "kmesh": args.kmesh, "irreducible_kpoints": mesh.nk, "coarse": args.coarse,
              "interpolate_tol_MeV": args.interpolate_tol, "ranks": comm.size}
    runs = {}
    for route in ("direct", "interpolated"):
        layout = Layout.create(comm, ngroups=1, nk=mesh.nk)
        interp = (InterpolationSettings(coarse=args.coarse, shift=True, tol=args.interpolate_tol,
                                        blocks=args.blocks)
                  if route == "interpolated" else None)
        t0 = time.perf_counter()
        try:
            data = compute_bands(fields, mesh, settings, layout, order=order, interpolation=interp)
        finally:
            layout.free()
        runs[route] = (data, time.perf_counter() - t0)
    direct, t_direct = runs["direct"]
    interp, t_interp = runs["interpolated"]
    rep = interp.interpolation
    diff = interp.energies - direct.energies
    out = {**record,
           "direct_wall_seconds": t_direct,
           "direct_seconds_per_k": float(np.mean(direct.seconds)),
           "interpolated_wall_seconds": t_interp,
           "interpolated_build_seconds": rep["build_seconds"],
           "interpolated_seconds_per_k": float(np.mean(interp.seconds)),
           "ratio_wall_direct_over_interpolated": t_direct / t_interp,
           "ratio_per_k_direct_over_interpolated":
               float(np.mean(direct.seconds) / np.mean(interp.seconds)),
           "fourier_blocks": rep["fourier_blocks"],
           "fourier_block_bytes": rep["fourier_block_bytes"],
           "basis_size": rep["basis_size"], "stacked_states": rep["stacked_states"],
           "basis_bytes_per_rank": rep["basis_bytes_per_rank"], "rounds": rep["rounds"],
           "held_out_max_error_MeV": rep["held_out_max_error_MeV"],
           "max_abs_error_all_points_MeV": float(np.abs(diff).max()),
           "min_error_all_points_MeV": float(diff.min()),
           "max_abs_error_per_point_MeV": np.abs(diff).max(axis=1).tolist()}
    if args.emax is not None:
        sel = direct.energies <= args.emax
        out["emax_MeV"] = args.emax
        out["max_abs_error_below_emax_MeV"] = float(np.abs(diff[sel]).max()) if sel.any() else math.nan
    out["machine"]["loadavg_at_end"] = os.getloadavg()
    if comm.rank == 0:
        text = json.dumps(out, indent=2)
        print(text)
        if args.out:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")


if __name__ == "__main__":
    main()
