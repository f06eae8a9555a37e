"""``crustsolve info``: the software stack, checked (exit 1 if PETSc is real or missing)."""
from __future__ import annotations

import json
import platform
import sys

import h5py
import numpy as np
import scipy

from .. import __version__
from ..petsc_env import PetscBuildError, build_info


def register(subparsers):
    p = subparsers.add_parser(
        "info", help="versions of crustsolve and its PETSc/SLEPc/MPI stack; checks complex scalars")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.set_defaults(func=run)


def collect(ctx) -> dict:
    """Everything ``info`` reports; ``petsc_error`` is set instead of PETSc fields on failure."""
    out = {"crustsolve": __version__, "python": platform.python_version(),
           "python_executable": sys.executable, "numpy": np.__version__}
    try:
        ctx.petsc()
        out.update(build_info())
    except PetscBuildError as exc:
        out["petsc_error"] = str(exc)
    try:
        import pyfftw  # noqa: PLC0415 - optional (extra "fft"): reported if installed
        out["pyfftw"] = pyfftw.__version__
    except ImportError:
        out["pyfftw"] = "absent (numpy FFT fallback)"
    out["scipy"] = scipy.__version__
    out["h5py"] = h5py.__version__
    try:
        import matplotlib  # noqa: PLC0415 - optional (extra "plot"): reported if installed
        out["matplotlib"] = matplotlib.__version__
    except ImportError:
        out["matplotlib"] = "absent"
    out["mpi_ranks"] = ctx.comm.size
    return out


def run(args, ctx) -> int:
    info = collect(ctx)
    if args.json:
        ctx.log.info(json.dumps(info, indent=1, sort_keys=True))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            ctx.log.info(f"{key:<{width}}  {value}")
    if "petsc_error" in info:
        ctx.log.info(f"ERROR: {info['petsc_error']}")
        return 1
    return 0
