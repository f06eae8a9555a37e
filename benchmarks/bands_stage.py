#!/usr/bin/env python3
"""Band-stage benchmark: time and memory per k-point, Krylov–Schur vs SciPy ARPACK.

For each grid (default 24³ and 32³) and band count (default 200 and 500) the same Bloch
Hamiltonian (FD of the default order, periodic Gaussian wells on a bcc lattice in a 30 fm cube, a
general k) is diagonalised

* by crustsolve's eigensolver interface (SLEPc Krylov–Schur, bounded mpd, tol 1e-8), and
* by ``scipy.sparse.linalg.eigsh(which="SA")`` on the same matrix converted to SciPy CSR,
  with the same tolerance (ARPACK's tol is relative to |λ|; the reported residuals of both
  are recomputed as ‖Ax − λx‖ / max(1 MeV, |λ|)),

each in a fresh serial subprocess so the peak resident memory (``ru_maxrss``) of one k-point
solve is measured cleanly (baseline after imports and assembly is subtracted). A subprocess
that exceeds ``--timeout`` seconds is killed and recorded as a timeout. Results, ratios
(ARPACK / Krylov–Schur), the memory estimate of ``crustsolve.bands.memory`` and machine
information go to JSON (default ``benchmarks/out/bands_stage.json``).

    /usr/bin/python3 benchmarks/bands_stage.py --quick          # 16³, 50 bands (~1 min)
    /usr/bin/python3 benchmarks/bands_stage.py                  # 24³/32³ × 200/500 (long)
    /usr/bin/python3 benchmarks/bands_stage.py --grids 24 --nev 200 --timeout 900

No assertions: this measures, the tests check correctness.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

A_CELL = 30.0       # fm
DEPTH = 50.0        # MeV (attractive Gaussian wells)
RADIUS = 5.0        # fm
K_FRAC = (0.31, 0.17, 0.07)  # general k in units of π/a (no degeneracies)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def _build(n: int, order: int):
    """The benchmark matrix on COMM_SELF → (grid, H, A, k)."""
    import math  # noqa: PLC0415

    from mpi4py import MPI  # noqa: PLC0415

    from crustsolve.bands import BlochHamiltonian, Fields, Grid  # noqa: PLC0415

    fields = Fields.gaussian_wells(n, A_CELL, DEPTH, RADIUS, lattice="bcc")
    grid = Grid(n, A_CELL, comm=MPI.COMM_SELF)
    H = BlochHamiltonian(grid, fields, order=order)
    k = [f * math.pi / A_CELL for f in K_FRAC]
    return grid, H, H.matrix(k), k


def worker(method: str, n: int, nev: int, order: int, tol: float, mpd) -> dict:
    """One k-point solve in this process; returns a JSON-able dict."""
    import numpy as np  # noqa: PLC0415

    from crustsolve.petsc_env import init_petsc  # noqa: PLC0415

    init_petsc()
    t0 = time.perf_counter()
    grid, H, A, k = _build(n, order)
    t_asm = time.perf_counter() - t0
    out = {"method": method, "n": n, "N": n**3, "nev": nev, "order": order, "tol": tol,
           "assembly_seconds": t_asm}
    if method == "krylovschur":
        from crustsolve.bands.bandstructure import SolverSettings  # noqa: PLC0415

        # Exactly what `crustsolve bands` does at this k (the multiplicity check runs only
        # where the little group is non-trivial; the benchmark k is generic).
        settings = SolverSettings(kind="krylovschur", nev=nev, tol=tol, mpd=mpd)
        verify = settings.verify_at(k, A_CELL)
        solver = settings.make(want_vectors=False, verify_multiplicity=verify)
        out["multiplicity_check"] = verify
        base = _rss_mb()
        t0 = time.perf_counter()
        res = solver.solve(A)
        out.update(seconds=time.perf_counter() - t0, eigenvalues=res.eigenvalues.tolist(),
                   max_residual=res.max_residual, iterations=res.iterations,
                   settings=res.settings)
    elif method == "arpack":
        import scipy.sparse  # noqa: PLC0415
        import scipy.sparse.linalg  # noqa: PLC0415

        indptr, cols, vals = A.getValuesCSR()
        S = scipy.sparse.csr_matrix((vals, cols, indptr), shape=A.getSize())
        base = _rss_mb()
        t0 = time.perf_counter()
        w, X = scipy.sparse.linalg.eigsh(S, k=nev, which="SA", tol=tol)
        secs = time.perf_counter() - t0
        order_ = np.argsort(w)
        w, X = w[order_], X[:, order_]
        res = np.linalg.norm(S @ X - X * w, axis=0) / np.maximum(1.0, np.abs(w))
        out.update(seconds=secs, eigenvalues=w.tolist(), max_residual=float(res.max()))
    else:
        raise SystemExit(f"unknown method {method}")
    out["peak_rss_MB"] = _rss_mb()
    out["solver_rss_delta_MB"] = out["peak_rss_MB"] - base
    A.destroy()
    H.destroy()
    grid.destroy()
    return out


def run_case(method, n, nev, order, tol, mpd, timeout):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", method, "--n", str(n),
           "--nev1", str(nev), "--order", str(order), "--tol", repr(tol)]
    if mpd is not None:
        cmd += ["--mpd", str(mpd)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"method": method, "status": "timeout", "timeout_seconds": timeout}
    if proc.returncode != 0:
        return {"method": method, "status": "error", "stderr": proc.stderr[-2000:]}
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1]
    out = json.loads(line)
    out["status"] = "ok"
    out["process_seconds"] = time.perf_counter() - t0
    return out


def machine_info() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "hostname": platform.node()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            info["mem_total_GB"] = round(int(fh.readline().split()[1]) / 1024**2, 2)
        info["loadavg"] = os.getloadavg()
    except OSError:
        pass
    try:
        from crustsolve.petsc_env import build_info  # noqa: PLC0415
        import scipy  # noqa: PLC0415

        info.update(build_info())
        info["scipy"] = scipy.__version__
    except Exception as exc:  # noqa: BLE001 - informational
        info["software_error"] = str(exc)
    return info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="16³ grid, 50 bands (for testing)")
    p.add_argument("--grids", type=int, nargs="+", default=[24, 32])
    p.add_argument("--nev", type=int, nargs="+", default=[200, 500])
    p.add_argument("--order", type=int, default=None,
                   help="FD order (default crustsolve.bands.DEFAULT_ORDER)")
    p.add_argument("--tol", type=float, default=1e-8)
    p.add_argument("--mpd", type=int, default=None, help="Krylov–Schur mpd (default crustsolve's)")
    p.add_argument("--methods", nargs="+", default=["krylovschur", "arpack"])
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per solve subprocess")
    p.add_argument("--out", default=os.path.join(HERE, "out", "bands_stage.json"))
    # internal: one solve in this process
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--nev1", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.order is None:
        from crustsolve.bands import DEFAULT_ORDER  # noqa: PLC0415

        args.order = DEFAULT_ORDER
    if args.worker:
        print(json.dumps(worker(args.worker, args.n, args.nev1, args.order, args.tol, args.mpd)),
              flush=True)
        return 0
    if args.quick:
        args.grids, args.nev = [16], [50]

    from crustsolve.bands.memory import estimate_memory, nnz_per_row_for_order  # noqa: PLC0415

    cases = []
    t_all = time.perf_counter()
    for n in args.grids:
        for nev in args.nev:
            case = {"n": n, "N": n**3, "nev": nev, "order": args.order, "tol": args.tol,
                    "a_fm": A_CELL, "k_frac_pi_over_a": K_FRAC,
                    "memory_estimate": estimate_memory(n**3, nnz_per_row_for_order(args.order),
                                                       nev, mpd=args.mpd).describe(1)}
            for method in args.methods:
                print(f"[bands_stage] {n}³ nev={nev} {method} ...", flush=True)
                r = run_case(method, n, nev, args.order, args.tol, args.mpd, args.timeout)
                case[method] = r
                if r.get("status") == "ok":
                    print(f"[bands_stage]   {r['seconds']:.2f} s, +{r['solver_rss_delta_MB']:.0f} MB, "
                          f"max res {r['max_residual']:.1e}", flush=True)
                else:
                    print(f"[bands_stage]   {r.get('status')}", flush=True)
            ks, ar = case.get("krylovschur", {}), case.get("arpack", {})
            if ks.get("status") == "ok" and ar.get("status") == "ok":
                import numpy as np  # noqa: PLC0415

                case["ratio_time_arpack_over_ks"] = ar["seconds"] / ks["seconds"]
                case["ratio_mem_arpack_over_ks"] = (ar["solver_rss_delta_MB"]
                                                    / max(ks["solver_rss_delta_MB"], 1e-3))
                case["max_abs_eigenvalue_diff_MeV"] = float(np.max(np.abs(
                    np.array(ks["eigenvalues"]) - np.array(ar["eigenvalues"]))))
            for r in (ks, ar):
                r.pop("eigenvalues", None)  # keep the JSON small
            case["loadavg_after"] = os.getloadavg()
            cases.append(case)
            # Written after every case, so an interrupted run keeps what it measured.
            _write(args, cases, time.perf_counter() - t_all, complete=False)
    _write(args, cases, time.perf_counter() - t_all, complete=True)
    print(f"[bands_stage] wrote {args.out}", flush=True)
    return 0


def _write(args, cases, seconds, complete) -> None:
    result = {"benchmark": "bands_stage", "quick": bool(args.quick),
              "complete": complete, "ranks": 1, "machine": machine_info(), "cases": cases,
              "total_seconds": seconds,
              "notes": "one serial k-point solve per subprocess; time = EPSSolve/eigsh wall "
                       "seconds; memory = peak RSS increase during the solve (MB); ratios "
                       "ARPACK / Krylov-Schur (>1: Krylov-Schur better); the machine is shared, "
                       "see loadavg"}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh, indent=1)
    os.replace(tmp, args.out)


if __name__ == "__main__":
    sys.exit(main())
