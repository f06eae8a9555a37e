#!/usr/bin/env python3
"""Energy-window route of Form B, measured against the all-bands route (accuracy side).

Form B of the superfluid density (velocity-only intraband term + interband bracket,
``crustsolve.response``) needs, in principle, only the bands near μ: its intraband weight
Δ²/E³ and its bracket decay away from the Fermi level. An interval eigensolver (polynomial
filter on [μ−W, μ+W]) would then compute only those bands, with μ taken from elsewhere.
This script measures what the route would give: for every window W, Form B from the bands
inside the window, at the all-bands μ, compared with the all-bands result, and how many bands
the window holds (what an interval solver would have to compute).

    /usr/bin/python3 benchmarks/energy_window.py --field LAYER.h5 --kmesh 2 3 --order 6

All bands come from dense LAPACK (exact for the grid), so the differences are the route's
own truncation error, not solver noise. JSON to ``benchmarks/out/energy_window.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


def window_form_b(kdata, kmesh, mu, W, b0, volume, tol):
    """Form B (velocity-only intraband + interband bracket, Tr/3, fm⁻³) from the bands whose
    degenerate cluster lies inside |ε − μ| ≤ W, at the all-bands μ: what an interval
    eigensolver would give. Also the mean number of bands kept per k."""
    import numpy as np  # noqa: PLC0415

    from crustsolve.response import bz  # noqa: PLC0415
    from crustsolve.response import kernels as K  # noqa: PLC0415

    ops = bz.star_operations(kmesh, len(kmesh.weights))
    nfull = sum(len(o) for o in ops)
    total, kept = 0.0, []
    for kd in kdata:
        eps = np.asarray(kd.energies)
        lab = K.degenerate_clusters(eps, tol)
        keep = np.flatnonzero(np.isin(lab, lab[np.abs(eps - mu) <= W]))
        kept.append(len(keep))
        v = kd.velocity[:, keep][:, :, keep]
        intra, inter = K.form_b_integrand(eps[keep], np.asarray(kd.gap)[keep], mu, v, tol=tol)
        total += len(ops[kd.index]) * float(np.trace(intra + inter)) / 3.0
    return total / (2.0 * b0 * volume * nfull), kept


def analyse(args, nmesh, fields, density, comm):
    import numpy as np  # noqa: PLC0415

    from crustsolve.bands import BlochHamiltonian, Grid  # noqa: PLC0415
    from crustsolve.bands.eigensolvers import make_eigensolver  # noqa: PLC0415
    from crustsolve.bands.kmesh import KMesh  # noqa: PLC0415
    from crustsolve.constants import HBAR2_2MN  # noqa: PLC0415
    from crustsolve.response import bz  # noqa: PLC0415
    from crustsolve.response.kernels import DEFAULT_DEGENERACY_TOL as TOL  # noqa: PLC0415
    from crustsolve.response.matrix_elements import kpoint_data  # noqa: PLC0415

    kmesh = KMesh.monkhorst_pack(nmesh, fields.a, shift=True, symmetry="Oh", time_reversal=True)
    grid = Grid(fields.n, fields.a, comm=comm)
    H = BlochHamiltonian(grid, fields, order=args.order)
    solver = make_eigensolver("lapack", nev=args.nev, tol=1e-9, max_size=fields.n ** 3)
    kdata = []
    t0 = time.perf_counter()
    try:
        for ik, k in enumerate(kmesh.points):
            A = H.matrix(k)
            res = solver.solve(A)
            try:
                kdata.append(kpoint_data(H, k, res, index=ik, weight=kmesh.weights[ik],
                                         gap=args.gap, tol=TOL))
            finally:
                res.destroy()
                A.destroy()
            if comm.rank == 0:
                print(f"  mesh {nmesh}: k {ik + 1}/{kmesh.nk} ({time.perf_counter() - t0:.0f} s)",
                      flush=True)
    finally:
        H.destroy()
        grid.destroy()
    V = fields.a ** 3
    full = bz.evaluate(kdata, kmesh, volume=V, b0=HBAR2_2MN, levels=("intraband", "form_b"),
                       density=density, tol=TOL, check_bands=False, truncation=False)
    fb = full["levels"]["form_b"]
    mu = fb.mu
    ref = fb.scalar
    nall = float(np.mean([kd.nb for kd in kdata]))
    rows = []
    for W in args.windows:
        val, kept = window_form_b(kdata, kmesh, mu, W, HBAR2_2MN, V, TOL)
        rows.append({"W_MeV": W, "bands_in_window_mean": float(np.mean(kept)),
                     "fraction_of_all_bands": float(np.mean(kept)) / nall,
                     "window_route_ns": val, "window_route_rel_error": val / ref - 1.0})
    return {"kmesh": nmesh, "nk_irreducible": kmesh.nk, "bands_all": nall, "mu_MeV": mu,
            "form_b_all_bands_ns": ref, "n_bcs": fb.density,
            "intraband_ns": full["levels"]["intraband"].scalar, "windows": rows,
            "seconds": time.perf_counter() - t0}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--field", required=True, help="layer field file (crustsolve layer)")
    p.add_argument("--order", type=int, default=6)
    p.add_argument("--kmesh", type=int, nargs="+", default=[2, 3])
    p.add_argument("--nev", type=int, default=None,
                   help="bands (default: 1.3 × the occupied count from the field provenance)")
    p.add_argument("--gap", type=float, default=1.0, help="constant Δ (MeV), as the main job")
    p.add_argument("--windows", type=float, nargs="+", default=[1, 2, 3, 5, 10, 20, 40])
    p.add_argument("--out", default=os.path.join(HERE, "out", "energy_window.json"))
    args = p.parse_args(argv)

    from crustsolve.petsc_env import init_petsc  # noqa: PLC0415

    init_petsc([])
    from mpi4py import MPI  # noqa: PLC0415

    from crustsolve.bands import Fields  # noqa: PLC0415

    comm = MPI.COMM_WORLD
    fields = Fields.read(args.field, comm)
    prov = dict(fields.provenance)
    # Mean neutron density of the layer (as the main job): clusters per cube × (A − Z) / a³.
    sites = int(prov["clusters_per_cube"])
    neutrons = float(prov["A"]) - float(prov["Z"])
    density = sites * neutrons / fields.a ** 3
    if args.nev is None:
        args.nev = int(math.ceil(1.3 * sites * neutrons / 2))
    report = {"field": args.field, "order": args.order, "gap_MeV": args.gap,
              "density_fm-3": density, "nev": args.nev, "meshes": []}
    for m in args.kmesh:
        report["meshes"].append(analyse(args, m, fields, density, comm))
        if comm.rank == 0:
            r = report["meshes"][-1]
            print(f"mesh {m}³ shifted ({r['nk_irreducible']} k): μ = {r['mu_MeV']:.4f} MeV, "
                  f"n_s(Form B, all {r['bands_all']:.0f} bands) = {r['form_b_all_bands_ns']:.6e}")
            for w in r["windows"]:
                print(f"  W = {w['W_MeV']:5.1f} MeV: {w['bands_in_window_mean']:7.1f} bands "
                      f"({100 * w['fraction_of_all_bands']:5.1f} %), window route "
                      f"{100 * w['window_route_rel_error']:+8.3f} %", flush=True)
    if comm.rank == 0:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1, default=float)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
