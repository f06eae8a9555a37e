#!/usr/bin/env python3
"""Rayleigh–Ritz projection M = Xᴴ A X: SLEPc's ``BV.dot`` (full product) against
crustsolve's :func:`crustsolve.bands.eigensolvers.chebyshev.hermitian_projection` (upper block
triangle), side by side in one process on the same block.

X is an N × n random block (the Chebyshev solver's nb columns), W = A X is stood in for by
a second random block (the cost does not depend on the values; the accuracy check uses
W = X G with X orthonormalised and G real symmetric, so that Xᴴ W = G is Hermitian).
Output: JSON with both times, the ratio and the difference of the two results.

    /usr/bin/python3 benchmarks/projection.py --rows 32768 --cols 1553 --out out/projection.json
    mpiexec -n 2 /usr/bin/python3 benchmarks/projection.py --rows 13824 --cols 1553

No assertions: this measures; ``tests/bands/test_chebyshev.py`` checks correctness.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=13824, help="global rows N (default 24³)")
    p.add_argument("--cols", type=int, default=1553, help="active columns n (default 1350 + 15 %%)")
    p.add_argument("--repeat", type=int, default=3, help="timed repetitions (best is kept)")
    p.add_argument("--out", default=os.path.join(HERE, "out", "projection.json"))
    args = p.parse_args(argv)
    if args.rows < 1 or args.cols < 1 or args.repeat < 1:
        p.error("--rows, --cols and --repeat must be ≥ 1")

    import numpy as np  # noqa: PLC0415
    from mpi4py import MPI  # noqa: PLC0415

    from crustsolve.bands.eigensolvers.chebyshev import _seq_dense, hermitian_projection  # noqa: PLC0415
    from crustsolve.petsc_env import init_petsc  # noqa: PLC0415

    PETSc, SLEPc = init_petsc()
    comm = MPI.COMM_WORLD
    N, n = args.rows, args.cols
    X = SLEPc.BV().create(comm=PETSc.COMM_WORLD)
    X.setSizes(N, n)
    X.setType("mat")
    W = X.duplicate()
    try:
        nloc = X.getSizes()[0][0]
        rng = np.random.default_rng([3, comm.rank])
        for bv in (X, W):
            mat = bv.getMat()
            mat.getDenseArray()[:] = (rng.standard_normal((nloc, n)) +
                                      1j * rng.standard_normal((nloc, n)))
            bv.restoreMat(mat)

        def best(fn):
            times = []
            for _ in range(args.repeat):
                comm.Barrier()
                t0 = time.perf_counter()
                fn()
                comm.Barrier()
                times.append(time.perf_counter() - t0)
            return min(times)

        def full():
            M = W.dot(X)
            M.destroy()

        t_full = best(full)
        t_half = best(lambda: hermitian_projection(X, W, comm))
        # Accuracy on a Hermitian product: W = X G with X orthonormalised and G Hermitian,
        # so Xᴴ W = G is Hermitian (as Xᴴ A X in the solver).
        X.orthogonalize(None)
        G = np.random.default_rng(9).standard_normal((n, n))
        Gm = _seq_dense(PETSc, G + G.T)
        X.copy(W)
        W.multInPlace(Gm, 0, n)
        Gm.destroy()
        M = W.dot(X)
        ref = np.array(M.getDenseArray()) if comm.rank == 0 else None
        M.destroy()
        H = hermitian_projection(X, W, comm)
        flops = 8.0 * N * n * n
        out = None
        if comm.rank == 0:
            out = {"benchmark": "projection", "ranks": comm.size, "rows": N, "cols": n,
                   "repeat": args.repeat,
                   "bv_dot_seconds": t_full, "hermitian_projection_seconds": t_half,
                   "speedup": t_full / t_half,
                   "bv_dot_gflops": flops / t_full / 1e9,
                   "hermitian_projection_gflops_equivalent": flops / t_half / 1e9,
                   "max_rel_diff": float(np.max(np.abs(H - ref)) / np.max(np.abs(ref)))}
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w") as fh:
                json.dump(out, fh, indent=1)
            print(json.dumps(out, indent=1), flush=True)
    finally:
        X.destroy()
        W.destroy()


if __name__ == "__main__":
    main()
