"""Write the cosine-lattice field file of ``response_cosine.toml`` and run the response stage.

    python examples/response_cosine.py [--fields-only]
    mpiexec -n 2 python examples/response_cosine.py
"""
import os
import sys

from mpi4py import MPI

from crustsolve.bands import Fields
from crustsolve.config import read_toml
from crustsolve.log import Logger
from crustsolve.response.driver import run_config
from crustsolve.runfile import resolve_config

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    comm = MPI.COMM_WORLD
    os.chdir(HERE)
    Fields.separable_cosine(8, 10.0, V=-4.0).write("response_cosine_fields.h5", comm=comm)
    if "--fields-only" in sys.argv:
        return
    cfg = resolve_config(read_toml("response_cosine.toml", comm))
    run_config(cfg, comm, Logger(comm))


if __name__ == "__main__":
    main()
