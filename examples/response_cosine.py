"""Write the cosine-lattice field file of ``response_cosine.toml`` and run the response stage.

    python examples/response_cosine.py [--fields-only]
    mpiexec -n 2 python examples/response_cosine.py
"""
import os
import sys

from mpi4py import MPI

from crustsolve.bands import Fields
from crustsolve.config import load_toml
from crustsolve.log import Logger
from crustsolve.response.driver import ResponseRunConfig, run_config

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    comm = MPI.COMM_WORLD
    os.chdir(HERE)
    Fields.separable_cosine(8, 10.0, V=-4.0).write("response_cosine_fields.h5", comm=comm)
    if "--fields-only" in sys.argv:
        return
    cfg = load_toml("response_cosine.toml", ResponseRunConfig, comm)
    run_config(cfg, comm, Logger(comm))


if __name__ == "__main__":
    main()
