#!/usr/bin/env python3
"""Centring-translation sectors: per-k time of a solve with and without the bcc/fcc sectors.

The same h(k) (a field file, e.g. a BSk24 layer from ``crustsolve layer``, or bcc Gaussian
wells) at a general k is solved for the lowest ``--nev`` states by each solver of
``--solvers`` twice, side by side in one process: on the full matrix ("full", the baseline)
and split into the centring sectors detected from the fields
(:class:`crustsolve.bands.sectors.CentringSectors`, "sectors"). Recorded per solver: wall
time of each route (the sector route includes building the sector matrices and unfolding the
eigenvectors), the ratio full / sectors, the largest eigenvalue difference between the two
routes, the largest residual of each (recomputed on the full matrix for the unfolded vectors),
the per-sector requests and re-solves, and the machine load (``os.getloadavg``) at start and
end. With ``--repeat r`` the two routes alternate r times and the minimum time is kept.

    crustsolve layer --density 0.03 --points 24 --out layer_24.h5
    OMP_NUM_THREADS=1 nice -n 10 python3 benchmarks/sectors.py --field layer_24.h5 \\
        --nev 300 --solvers krylovschur chebyshev --out benchmarks/out/sectors_24.json

No assertions: this measures, the tests (tests/bands/test_sectors.py) check correctness.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

K_FRAC = (0.31, 0.17, 0.07)  # general k in units of π/a (trivial little group), as eigensolvers.py


def _machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "loadavg_at_start": os.getloadavg(),
            "env": {k: os.environ.get(k, "") for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def _full_residual(A, res) -> float:
    """max ‖A x − λ x‖ / max(1, |λ|) over the result's vectors (unit norm), on the full A."""
    import numpy as np  # noqa: PLC0415

    bv = res.vectors
    worst = 0.0
    x = A.createVecRight()
    y = A.createVecRight()
    try:
        for j, lam in enumerate(res.eigenvalues):
            bv.copyVec(j, x)
            A.mult(x, y)
            y.axpy(-lam, x)
            worst = max(worst, y.norm() / max(1.0, abs(float(lam))) / x.norm())
    finally:
        x.destroy()
        y.destroy()
    return float(np.float64(worst))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--field", default=None, help="Fields HDF5 file (else bcc Gaussian wells)")
    p.add_argument("--grid", type=int, default=24, help="points per side without --field")
    p.add_argument("--nev", type=int, default=300)
    p.add_argument("--order", type=int, default=None, help="FD order (default: crustsolve's)")
    p.add_argument("--tol", type=float, default=1e-8)
    p.add_argument("--solvers", nargs="+", default=["krylovschur", "chebyshev"],
                   choices=["krylovschur", "chebyshev", "lapack"])
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--out", default=os.path.join(HERE, "out", "sectors.json"))
    args = p.parse_args(argv)

    import numpy as np  # noqa: PLC0415
    from mpi4py import MPI  # noqa: PLC0415

    from crustsolve.bands import BlochHamiltonian, Fields, Grid  # noqa: PLC0415
    from crustsolve.bands.eigensolvers import make_eigensolver  # noqa: PLC0415
    from crustsolve.bands.hamiltonian import DEFAULT_ORDER  # noqa: PLC0415
    from crustsolve.bands.sectors import CentringSectors, detect_centring  # noqa: PLC0415

    comm = MPI.COMM_WORLD
    report = {"benchmark": "sectors", "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                   time.gmtime()),
              "machine": _machine(), "args": vars(args), "ranks": comm.size,
              "caveat": "timings on a shared machine are indicative only; see machine.loadavg_*"}
    if args.field:
        fields = Fields.read(args.field, comm)
        source = {"source": args.field, **fields.provenance}
    else:
        fields = Fields.gaussian_wells(args.grid, 30.0, 50.0, 5.0, lattice="bcc")
        source = {"source": "bcc Gaussian wells, a = 30 fm, depth 50 MeV, radius 5 fm"}
    order = DEFAULT_ORDER if args.order is None else args.order
    det = detect_centring(fields)
    report.update({"fields": source, "n": fields.n, "N": fields.n ** 3, "order": order,
                   "nev": args.nev, "centring": det.kind, "detection": det.reason,
                   "k_frac_pi_over_a": K_FRAC})
    if det.kind is None:
        raise SystemExit(f"no centring symmetry: {det.reason}")
    grid = Grid(fields.n, fields.a, comm=comm)
    H = BlochHamiltonian(grid, fields, order=order)
    k = np.array(K_FRAC) * math.pi / fields.a
    t = time.perf_counter()
    sectors = CentringSectors(grid, det.kind)
    report["sector_setup_seconds"] = time.perf_counter() - t
    A = H.matrix(k)
    t = time.perf_counter()
    for s in range(sectors.order):
        sectors.sector_matrix(A, s).destroy()
    report["sector_matrices_seconds"] = time.perf_counter() - t
    report["solvers"] = {}
    for kind in args.solvers:
        # General k: no multiplicity check (as the band engine does there).
        solver = make_eigensolver(kind, nev=args.nev, tol=args.tol, want_vectors=True,
                                  verify_multiplicity=False, max_size=20000)
        entry = {"full_seconds": [], "sectors_seconds": []}
        ev = {}
        for _ in range(args.repeat):
            for route in ("full", "sectors"):
                t = time.perf_counter()
                res = solver.solve(A) if route == "full" else sectors.solve(solver, A)
                entry[f"{route}_seconds"].append(time.perf_counter() - t)
                ev[route] = np.asarray(res.eigenvalues)
                entry[f"{route}_max_residual"] = _full_residual(A, res)
                if route == "sectors":
                    entry["sector_solves"] = [{k2: v for k2, v in info.items() if k2 != "settings"}
                                              for info in res.settings["sectors"]]
                else:
                    entry["full_iterations"] = int(res.iterations)
                res.destroy()
                if comm.rank == 0:
                    print(f"{kind} {route}: {entry[f'{route}_seconds'][-1]:.2f} s", flush=True)
        entry["full_best"] = min(entry["full_seconds"])
        entry["sectors_best"] = min(entry["sectors_seconds"])
        entry["ratio_full_over_sectors"] = entry["full_best"] / entry["sectors_best"]
        entry["max_eigenvalue_difference_MeV"] = float(np.max(np.abs(ev["full"] - ev["sectors"])))
        report["solvers"][kind] = entry
        if comm.rank == 0:
            print(f"{kind}: full {entry['full_best']:.2f} s, sectors {entry['sectors_best']:.2f} s, "
                  f"ratio {entry['ratio_full_over_sectors']:.2f}, max dλ "
                  f"{entry['max_eigenvalue_difference_MeV']:.2e} MeV", flush=True)
    A.destroy()
    sectors.destroy()
    H.destroy()
    grid.destroy()
    report["machine"]["loadavg_at_end"] = os.getloadavg()
    if comm.rank == 0:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1, default=float)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
