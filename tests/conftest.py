"""Test harness shared by serial and MPI runs.

The same test files run serially (``pytest``) and under ``mpiexec -n 2/3 python -m
pytest -m mpi``. Rules:

* only rank 0 writes pytest's report; the other ranks run silently (their exit
  code still counts: mpiexec fails if any rank fails);
* after each test, Python garbage is collected and PETSc objects are destroyed
  collectively (``PETSc.garbage_cleanup``) before a barrier, as dolfinx does, so
  no rank destroys a parallel object alone;
* ``shared_tmp_path`` is one directory seen by all ranks (rank 0 creates it).
"""
from __future__ import annotations

import gc
import os
import sys

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from mpi4py import MPI  # noqa: E402


def pytest_configure(config):
    if MPI.COMM_WORLD.size > 1 and MPI.COMM_WORLD.rank != 0:
        # Silence the report on non-root ranks; failures still set the exit code.
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            config.pluginmanager.unregister(reporter)
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115


@pytest.fixture
def comm():
    """The world communicator (size 1 in serial runs)."""
    return MPI.COMM_WORLD


@pytest.fixture
def shared_tmp_path(tmp_path_factory):
    """A temporary directory created on rank 0 and shared by all ranks."""
    world = MPI.COMM_WORLD
    path = str(tmp_path_factory.mktemp("shared")) if world.rank == 0 else None
    path = world.bcast(path, root=0)
    import pathlib  # noqa: PLC0415

    return pathlib.Path(path)


@pytest.fixture(autouse=True)
def _collective_cleanup():
    yield
    gc.collect()
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is not None and hasattr(petsc, "garbage_cleanup"):
        petsc.garbage_cleanup(petsc.COMM_WORLD)
    MPI.COMM_WORLD.Barrier()
