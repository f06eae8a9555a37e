#!/usr/bin/env python3
"""Eigensolver benchmark: crustsolve's Chebyshev solver vs the solvers users would pick.

For each grid the same Bloch Hamiltonian (order-8 staggered FD by default) is built from a
field file (``--field``, a :class:`crustsolve.bands.Fields` HDF5 file, e.g. a BSk24 layer
from the crust stage) or, when none is given, from the fallback: periodic Gaussian wells on
a bcc lattice (30 fm cube, depth 50 MeV, radius 5 fm, as ``benchmarks/bands_stage.py``).
The lowest ``nev`` eigenpairs at a few neighbouring general k-points (a short straight path,
so each k warm-starts the next) are computed by

* ``chebyshev``      — crustsolve's CheFSI (``crustsolve.bands.eigensolvers.chebyshev``); k₀ cold, the
  following k warm-started from the previous k's vectors (with the buffer columns);
* ``ks_nev``         — SLEPc Krylov–Schur with only nev set (HEP, smallest real, ABS test);
* ``ks_tuned``       — crustsolve's Krylov–Schur (bounded mpd, ``--mpd``; multiplicity check
  off, to time the eigensolve alone);
* ``arpack``         — ``scipy.sparse.linalg.eigsh(which="SA")`` on rank 0 (serial);
* ``dense``          — LAPACK (crustsolve's ``lapack`` solver) when N ≤ ``--dense-max``.

All at the same tolerance; every residual is recomputed as ‖Ax − λx‖ / max(1 MeV, |λ|)
and eigenvalues are cross-checked against the Chebyshev result. The baselines run at k₀
only (they have no useful warm start; Krylov–Schur takes one initial vector). Output: JSON
(``benchmarks/out/eigensolvers.json``) with per-k wall times cold and warm, ratios
(baseline / Chebyshev, warm / cold), a per-phase profile of the Chebyshev solver
(filter / orthonormalisation / Rayleigh–Ritz, also as PETSc log stages ``crust_*`` for
``-log_view``), rough achieved rates against a quick measurement of this machine's ZGEMM
rate and memory bandwidth, the process's peak RSS, and machine information (including the
load average: timings on a shared machine are not benchmarks).

    /usr/bin/python3 benchmarks/eigensolvers.py --quick               # 16³, 60 bands, ~1-2 min
    /usr/bin/python3 benchmarks/eigensolvers.py --grids 24 --nev 1350 --field layer_24.h5 \
        --solvers chebyshev --out out/n24_chebyshev.json               # one solver per process,
    /usr/bin/python3 benchmarks/eigensolvers.py ... --solvers ks_tuned ... # side by side
    /usr/bin/python3 benchmarks/report.py out/n24_*.json               # merged table + ratios
    mpiexec -n 2 /usr/bin/python3 benchmarks/eigensolvers.py --quick  # ARPACK/dense on rank 0

Eigenvalues at k₀ are saved per solver beside the JSON and cross-checked between solvers.

No assertions: this measures; the tests check correctness.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

A_CELL = 30.0                  # fm, fallback lattice
DEPTH = 50.0                   # MeV
RADIUS = 5.0                   # fm
K0_FRAC = (0.31, 0.17, 0.07)   # first k in units of π/a (general: no degeneracies)
K_STEP_FRAC = (0.04, 0.03, 0.02)  # step along the path, units of π/a


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def _machine(comm) -> dict:
    from crustsolve.petsc_env import build_info  # noqa: PLC0415

    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cpu_count": os.cpu_count(), "ranks": comm.size,
            "loadavg_at_start": os.getloadavg(),
            "env": {k: os.environ.get(k, "") for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            info["mem_total_gb"] = int(fh.readline().split()[1]) / 1024 ** 2
    except OSError:
        pass
    info.update(build_info())
    return info


def _machine_rates() -> dict:
    """Quick single-core ZGEMM rate (GF/s) and triad bandwidth (GB/s) with numpy."""
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(0)
    n = 600
    a = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    b = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
    a @ b
    t = time.perf_counter()
    reps = 3
    for _ in range(reps):
        a @ b
    zgemm = 8.0 * n ** 3 * reps / (time.perf_counter() - t) / 1e9
    m = 8_000_000
    x, y, z = np.ones(m), np.ones(m), np.empty(m)
    t = time.perf_counter()
    for _ in range(5):
        np.multiply(y, 1.5, out=z)
        np.add(z, x, out=z)
    # the two-pass triad moves ~5 arrays of 8 bytes per element
    bw = 5 * 8.0 * m * 5 / (time.perf_counter() - t) / 1e9
    return {"zgemm_gflops": zgemm, "triad_gbs": bw}


def _fields(args, n):
    from mpi4py import MPI  # noqa: PLC0415

    from crustsolve.bands import Fields  # noqa: PLC0415

    if args.field:
        fields = Fields.read(args.field, MPI.COMM_WORLD)
        if fields.n != n:
            raise SystemExit(f"--field is on an n = {fields.n} grid; run with --grids {fields.n}")
        return fields, {"source": args.field, **fields.provenance}
    return (Fields.gaussian_wells(n, A_CELL, DEPTH, RADIUS, lattice="bcc"),
            {"source": "bcc Gaussian wells", "a_fm": A_CELL, "depth_MeV": DEPTH,
             "radius_fm": RADIUS})


def _residuals(A, evals, bv):
    """max over columns of ‖Ax − λx‖ / max(1, |λ|) (unit vectors), collective."""
    import numpy as np  # noqa: PLC0415

    if bv is None:
        return math.nan
    m = min(len(evals), bv.getActiveColumns()[1])
    W = bv.duplicate()
    try:
        bv.setActiveColumns(0, m)
        W.setActiveColumns(0, m)
        bv.matMult(A, W)
        mx, mw = bv.getMat(), W.getMat()
        try:
            xl, wl = mx.getDenseArray(), mw.getDenseArray()
            lam = np.asarray(evals[:m])
            r2, n2 = np.zeros(m), np.zeros(m)
            for j in range(0, m, 64):   # column chunks: no N × m temporaries
                r2[j:j + 64] = np.sum(np.abs(wl[:, j:j + 64] - xl[:, j:j + 64] * lam[j:j + 64]) ** 2,
                                      axis=0)
                n2[j:j + 64] = np.sum(np.abs(xl[:, j:j + 64]) ** 2, axis=0)
        finally:
            bv.restoreMat(mx)
            W.restoreMat(mw)
    finally:
        W.destroy()
    comm = A.getComm().tompi4py()
    r2 = comm.allreduce(r2)
    n2 = comm.allreduce(n2)
    return float(np.max(np.sqrt(r2 / n2) / np.maximum(1.0, np.abs(evals[:m]))))


def _run_ks_nev(A, nev, tol, max_it):
    """SLEPc Krylov–Schur with only nev set (what a user tries first)."""
    import numpy as np  # noqa: PLC0415

    from crustsolve.petsc_env import init_petsc  # noqa: PLC0415

    PETSc, SLEPc = init_petsc()
    t0 = time.perf_counter()
    eps = SLEPc.EPS().create(comm=A.getComm())
    try:
        eps.setOperators(A)
        eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.SMALLEST_REAL)
        eps.setDimensions(nev=nev)
        eps.setConvergenceTest(SLEPc.EPS.Conv.ABS)
        eps.setTolerances(tol=tol, max_it=max_it)
        eps.solve()
        seconds = time.perf_counter() - t0
        rss_solve = _rss_mb()
        nconv = eps.getConverged()
        m = min(nconv, nev)
        evals = np.array([eps.getEigenvalue(i).real for i in range(m)])
        x = A.createVecRight()
        bv = SLEPc.BV().create(comm=A.getComm())
        bv.setSizesFromVec(x, max(m, 1))
        bv.setType("mat")
        for i in range(m):
            eps.getEigenvector(i, x)
            bv.insertVec(i, x)
        x.destroy()
        order = np.argsort(evals)
        info = {"seconds": seconds, "iterations": eps.getIterationNumber(), "nconv": nconv,
                "peak_rss_mb_solve": rss_solve,
                "ncv_mpd": list(eps.getDimensions()[1:])}
        return evals[order], bv, order, info
    finally:
        eps.destroy()


def _run_arpack(A, nev, tol):
    """scipy eigsh(which='SA') on rank 0; eigenvalues broadcast (vectors not kept)."""
    import numpy as np  # noqa: PLC0415
    import scipy.sparse  # noqa: PLC0415
    import scipy.sparse.linalg  # noqa: PLC0415

    comm = A.getComm().tompi4py()
    r0, r1 = A.getOwnershipRange()
    parts = comm.gather((r0, r1) + tuple(A.getValuesCSR()), root=0)
    payload = None
    if comm.rank == 0:
        N = A.getSize()[0]
        S = scipy.sparse.vstack([scipy.sparse.csr_matrix((v, c, ip), shape=(b - a, N))
                                 for (a, b, ip, c, v) in parts], format="csr")
        t0 = time.perf_counter()
        try:
            w, X = scipy.sparse.linalg.eigsh(S, k=nev, which="SA", tol=tol)
            seconds = time.perf_counter() - t0
            o = np.argsort(w)
            w, X = w[o], X[:, o]
            res = np.linalg.norm(S @ X - X * w, axis=0) / np.maximum(1.0, np.abs(w))
            payload = {"evals": w, "seconds": seconds, "max_residual": float(res.max())}
        except Exception as exc:  # noqa: BLE001 - recorded, not raised
            payload = {"error": f"{type(exc).__name__}: {exc}",
                       "seconds": time.perf_counter() - t0}
    return comm.bcast(payload, root=0)


SOLVERS = ("chebyshev", "ks_nev", "ks_tuned", "arpack", "dense")


def evals_filename(src, n, order, nev, solver):
    """File name of one solver's eigenvalues at k0 (also a glob pattern with src = "*")."""
    return f"evals_{src}_n{n}_o{order}_nev{nev}_k0_{solver}.npy"


def _evals_path(args, n, solver):
    """Eigenvalues at k0 of one solver, beside --out (shared by runs made side by side)."""
    d = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(d, exist_ok=True)
    src = os.path.splitext(os.path.basename(args.field))[0] if args.field else "wells"
    return os.path.join(d, evals_filename(src, n, args.order, args.nev, solver))


def _compare(evals, ref):
    """max |λ − λ_ref| over the wanted bands (None without a reference or a full set)."""
    import numpy as np  # noqa: PLC0415

    if ref is None or evals is None or len(evals) < len(ref):
        return None
    return float(np.max(np.abs(np.asarray(evals)[:len(ref)] - ref)))


def _cross_check(args, n, name, evals):
    """max |λ − λ'| against every other solver whose eigenvalues at k0 are on disk."""
    import numpy as np  # noqa: PLC0415

    out = {}
    for other in SOLVERS:
        path = _evals_path(args, n, other)
        if other != name and os.path.exists(path):
            out[other] = _compare(evals, np.load(path))
    return out


def _subspace_flops(active, N, nb):
    """Real-flop model of the O(N n²) steps of the filter passes (orthonormalisation and
    Rayleigh–Ritz), n = unlocked columns of each pass (``settings["active_columns"]``).

    TSQR: Householder QR + forming Q of the N × n block, 2·8Nn² (complex flops ×4), plus
    the projection against the nb − n locked columns, 2·8Nn(nb − n); Rayleigh–Ritz: XᴴW
    from its upper block triangle (``hermitian_projection``, 8N·n(n + b)/2 with b the
    column block) and X ← XQ, 8Nn² (W is recomputed by SpMM when n ≫ nnz per row, counted
    in the filter's products instead; the dense n×n eigensolve on rank 0 is not counted).
    A warm start from a block without Ritz values adds one Rayleigh–Ritz on the full
    block, not counted either (a lower bound of the rate); from a keep_buffer result (as
    here) it is skipped. (Runs before the half projection did 2·8Nn² in Rayleigh–Ritz.)
    """
    from crustsolve.bands.eigensolvers.chebyshev import _PROJECTION_BLOCK as b  # noqa: PLC0415

    return sum(16.0 * N * n * n + 16.0 * N * n * (nb - n)        # TSQR
               + 4.0 * N * n * (n + min(b, n)) + 8.0 * N * n * n  # XᴴW (half), XQ
               for n in active)


def _spmm_bytes(spmv, N):
    """Memory-traffic model of the filter (bytes): per column and degree step the SpMM reads
    and writes one dense column (the sparse matrix is reused across the block's columns) and
    the three-term recurrence's axpy/scal read 3 and write 2 columns: 7 × 16 B per grid point."""
    return 7.0 * 16.0 * N * spmv


#: crustsolve memory-model kind of each benchmarked solver (None: not modelled).
MEMORY_MODEL_KIND = {"chebyshev": "chebyshev", "ks_tuned": "krylovschur", "ks_nev": None,
                     "arpack": None, "dense": "lapack"}


def memory_model_mb(N, nnz, nev, name, mpd=None):
    """crustsolve's predicted footprint (MB) of one k-point solve by benchmarked solver
    ``name`` (None if not modelled); the measured peak RSS of a process also holds ~150 MB
    of Python/PETSc/MPI start-up."""
    from crustsolve.bands.memory import estimate_memory  # noqa: PLC0415

    kind = MEMORY_MODEL_KIND[name]
    if kind is None:
        return None
    kw = {"mpd": mpd} if kind == "krylovschur" else {}
    return estimate_memory(N, nnz, nev, kind=kind, **kw).group_bytes / 1e6


def _memory_model(N, nnz, args):
    return {name: memory_model_mb(N, nnz, args.nev, name, args.mpd)
            for name, kind in MEMORY_MODEL_KIND.items() if kind is not None}


def _bench_chebyshev(args, H, ks, N, rates, comm):
    import numpy as np  # noqa: PLC0415

    from crustsolve.bands.eigensolvers.chebyshev import ChebyshevSolver  # noqa: PLC0415

    settings = dict(nev=args.nev, tol=args.tol, max_it=args.max_it, degree=args.degree,
                    max_degree=args.max_degree, orth=args.orth, keep_buffer=True,
                    allow_unconverged=args.allow_unconverged)
    if args.max_amplification is not None:
        settings["max_amplification"] = args.max_amplification
    per_k, prev, evals0 = [], None, None
    for j, k in enumerate(ks):
        A = H.matrix(k)
        try:
            res = ChebyshevSolver(**settings).solve(A, initial=prev)
            rss_solve = _rss_mb()       # before this script's own residual check
            st = res.settings
            row = {"k_index": j, "start": "warm" if prev is not None else "cold",
                   "seconds": res.seconds, "iterations": res.iterations, "nconv": res.nconv,
                   "degrees": st["degrees"], "spmv": st["spmv"], "times": st["times"],
                   "max_residual": _residuals(A, res.eigenvalues, res.vectors), "nb": st["nb"],
                   "peak_rss_mb_solve": rss_solve, "history": st["history"],
                   "active_columns": st.get("active_columns"),
                   "initial_rr_skipped": st.get("initial_rr_skipped")}
            active = st.get("active_columns") or [st["nb"]] * len(st["degrees"])
            row["subspace_gflops_model"] = (_subspace_flops(active, N, st["nb"]) / 1e9 /
                                            max(st["times"]["orth"] + st["times"]["rr"], 1e-9))
            nf = st.get("spmv_filter", st["spmv"])
            row["spmm_gbs_model"] = _spmm_bytes(nf, N) / 1e9 / max(st["times"]["filter"], 1e-9)
            row["spmm_gflops"] = 8.0 * H.nnz_per_row * N * nf / 1e9 / max(st["times"]["filter"], 1e-9)
            row["subspace_fraction_of_zgemm"] = row["subspace_gflops_model"] / rates["zgemm_gflops"]
            row["spmm_fraction_of_triad_bw"] = row["spmm_gbs_model"] / rates["triad_gbs"]
            if j == 0:
                evals0 = np.array(res.eigenvalues[:args.nev])
            if j == 1 and args.cold_check:
                cold = ChebyshevSolver(**settings).solve(A)
                row["cold_seconds_same_k"] = cold.seconds
                row["cold_iterations_same_k"] = cold.iterations
                row["max_abs_diff_vs_cold"] = float(np.max(np.abs(cold.eigenvalues[:args.nev] -
                                                                  res.eigenvalues[:args.nev])))
                cold.destroy()
            per_k.append(row)
            if comm.rank == 0:
                print(f"  chebyshev k{j} ({row['start']}): {row['seconds']:.1f} s, "
                      f"{row['iterations']} passes, max residual {row['max_residual']:.1e}",
                      flush=True)
            if prev is not None:
                prev.destroy()
            prev = res
        finally:
            A.destroy()
    if prev is not None:
        prev.destroy()
    warm = [r["seconds"] for r in per_k if r["start"] == "warm"]
    return {"per_k": per_k, "seconds": per_k[0]["seconds"], "cold_seconds": per_k[0]["seconds"],
            "warm_seconds_mean": float(np.mean(warm)) if warm else None}, evals0


def _bench_baseline(name, args, A, N):
    """One baseline at k0 → (record, eigenvalues or None)."""
    from crustsolve.bands.eigensolvers import make_eigensolver  # noqa: PLC0415

    if name == "ks_nev":
        evals, bv, _, info = _run_ks_nev(A, args.nev, args.tol, args.max_it_ks)
        info["max_residual"] = _residuals(A, evals, bv)
        bv.destroy()
        return info, evals
    if name == "ks_tuned":
        res = make_eigensolver("krylovschur", nev=args.nev, tol=args.tol, mpd=args.mpd,
                               max_it=args.max_it_ks, verify_multiplicity=False,
                               allow_unconverged=True).solve(A)
        rss_solve = _rss_mb()
        try:
            return ({"seconds": res.seconds, "iterations": res.iterations, "nconv": res.nconv,
                     "peak_rss_mb_solve": rss_solve,
                     "mpd": res.settings.get("mpd"), "ncv": res.settings.get("ncv"),
                     "max_residual": _residuals(A, res.eigenvalues, res.vectors)},
                    res.eigenvalues)
        finally:
            res.destroy()
    if name == "arpack":
        arp = _run_arpack(A, args.nev, args.tol)
        return arp, arp.pop("evals", None)
    if name == "dense":
        if N > args.dense_max:
            return {"skipped": f"N = {N} > --dense-max {args.dense_max}"}, None
        res = make_eigensolver("lapack", nev=args.nev, tol=args.tol,
                               max_size=args.dense_max).solve(A)
        try:
            return {"seconds": res.seconds, "max_residual": res.max_residual}, res.eigenvalues
        finally:
            res.destroy()
    raise ValueError(name)


def bench_grid(args, n, comm, rates):
    import numpy as np  # noqa: PLC0415

    from crustsolve.bands import BlochHamiltonian, Grid  # noqa: PLC0415

    fields, provenance = _fields(args, n)
    a = fields.a
    grid = Grid(n, a, comm=comm)
    H = BlochHamiltonian(grid, fields, order=args.order)
    N = H.size
    ks = [np.pi / a * (np.array(K0_FRAC) + j * np.array(K_STEP_FRAC)) for j in range(args.nk)]
    out = {"n": n, "N": N, "nev": args.nev, "order": args.order, "tol": args.tol,
           "fields": provenance, "kpoints_fm-1": [list(map(float, k)) for k in ks],
           "nnz_per_row": H.nnz_per_row, "solvers": {},
           "memory_model_mb": _memory_model(N, H.nnz_per_row, args),
           "rss_mb_before_solves": _rss_mb()}   # start-up + fields + Hamiltonian
    # Eigenvalues at k0 are saved per solver; each solver is compared with every solver whose
    # file exists (runs made side by side in separate processes see each other's results).
    try:
        for name in args.solvers:
            if comm.rank == 0:
                print(f"n={n}: {name} ...", flush=True)
            if name == "chebyshev":
                rec, evals = _bench_chebyshev(args, H, ks, N, rates, comm)
            else:
                A = H.matrix(ks[0])
                try:
                    rec, evals = _bench_baseline(name, args, A, N)
                finally:
                    A.destroy()
            rec["peak_rss_mb_after"] = _rss_mb()
            if evals is not None and len(evals) >= args.nev:
                rec["max_abs_diff_vs"] = _cross_check(args, n, name, evals)
                if comm.rank == 0:
                    np.save(_evals_path(args, n, name), np.array(evals[:args.nev]))
            out["solvers"][name] = rec
            if comm.rank == 0 and "seconds" in rec:
                print(f"n={n}: {name} {rec['seconds']:.1f} s", flush=True)
    finally:
        H.destroy()
        grid.destroy()
    out["ratios"] = ratios(out["solvers"])
    return out


def ratios(solvers):
    """Baseline time / Chebyshev cold time (> 1: Chebyshev faster), warm/cold speed-up.

    A baseline stopped by a time limit (``seconds_lower_bound``, set by ``report.py``) gives
    a ``..._at_least`` ratio; the best-baseline ratio uses the finished ones only.
    """
    cheb = solvers.get("chebyshev")
    out = {}
    if not cheb:
        return out
    cold = cheb["cold_seconds"]
    for name in SOLVERS[1:]:
        rec = solvers.get(name)
        if not rec:
            continue
        if rec.get("seconds") is not None and "error" not in rec:
            out[f"{name}_over_chebyshev_cold"] = rec["seconds"] / cold
        elif rec.get("seconds_lower_bound"):
            out[f"{name}_over_chebyshev_cold_at_least"] = rec["seconds_lower_bound"] / cold
    exact = [v for k, v in out.items() if not k.endswith("_at_least")]
    bounds = [v for k, v in out.items() if k.endswith("_at_least")]
    if exact:
        out["best_baseline_over_chebyshev_cold"] = min(exact)
        if bounds and min(bounds) < min(exact):
            out["best_baseline_over_chebyshev_cold_note"] = (
                "a timed-out baseline's lower bound is below the best finished one")
    if cheb.get("warm_seconds_mean"):
        out["chebyshev_cold_over_warm"] = cold / cheb["warm_seconds_mean"]
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="16³, 60 bands, 3 k-points")
    p.add_argument("--grids", type=int, nargs="+", default=[24, 32, 40])
    p.add_argument("--nev", type=int, default=1000)
    p.add_argument("--order", type=int, default=8)
    p.add_argument("--tol", type=float, default=1e-8)
    p.add_argument("--nk", type=int, default=3, help="k-points on the path (first cold)")
    p.add_argument("--field", default=None, help="Fields HDF5 file (else bcc Gaussian wells)")
    p.add_argument("--degree", type=int, default=20)
    p.add_argument("--max-degree", type=int, default=60)
    p.add_argument("--max-amplification", type=float, default=None,
                   help="Chebyshev: cap on the filter's amplification of the bottom of the "
                        "spectrum (default: the solver's)")
    p.add_argument("--orth", default="tsqr")
    p.add_argument("--max-it", type=int, default=200)
    p.add_argument("--mpd", type=int, default=None, help="Krylov–Schur tuned mpd")
    p.add_argument("--max-it-ks", type=int, default=1000)
    p.add_argument("--dense-max", type=int, default=8000)
    p.add_argument("--solvers", nargs="+", choices=SOLVERS, default=list(SOLVERS),
                   help="solvers to run, in this order (eigenvalues at k0 are saved beside "
                        "--out per solver and cross-checked with the others' files)")
    p.add_argument("--allow-unconverged", action="store_true",
                   help="Chebyshev: report instead of failing when max_it is reached "
                        "(memory measurements with --max-it 1)")
    p.add_argument("--no-cold-check", dest="cold_check", action="store_false",
                   help="skip the extra cold solve at k1 (warm vs cold at the same k)")
    p.add_argument("--out", default=os.path.join(HERE, "out", "eigensolvers.json"))
    args, petsc_args = p.parse_known_args(argv)
    if args.quick:
        args.grids, args.nev = [16], 60

    from crustsolve.petsc_env import init_petsc  # noqa: PLC0415

    init_petsc(petsc_args)  # e.g. -log_view
    from mpi4py import MPI  # noqa: PLC0415

    comm = MPI.COMM_WORLD
    report = {"benchmark": "eigensolvers",
              "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "machine": _machine(comm), "args": vars(args),
              "caveat": ("timings on a shared, loaded machine are indicative only; "
                         "see machine.loadavg_*")}
    report["machine"]["rates"] = comm.bcast(_machine_rates() if comm.rank == 0 else None)
    report["grids"] = []
    for n in args.grids:
        report["grids"].append(bench_grid(args, n, comm, report["machine"]["rates"]))
        if comm.rank == 0:
            g = report["grids"][-1]
            line = ", ".join(f"{k} {v.get('seconds', v.get('cold_seconds', float('nan'))):.2f}s"
                             for k, v in g["solvers"].items() if isinstance(v, dict)
                             and ("seconds" in v or "cold_seconds" in v))
            print(f"n={n} N={g['N']} nev={g['nev']}: {line}; ratios {g['ratios']}", flush=True)
    report["machine"]["loadavg_at_end"] = os.getloadavg()
    report["machine"]["peak_rss_mb"] = comm.allreduce(_rss_mb(), op=MPI.MAX)
    if comm.rank == 0:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1, default=float)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
