"""Test harness shared by serial and MPI runs.

The same test files run serially (``pytest``) and under ``mpiexec -n 2/3 python -m
pytest -m mpi``. Rules:

* only rank 0 writes pytest's report; the other ranks run silently (their exit
  code still counts: mpiexec fails if any rank fails);
* after each test, Python garbage is collected and PETSc objects are destroyed
  collectively (``PETSc.garbage_cleanup``) before a barrier, as dolfinx does, so
  no rank destroys a parallel object alone;
* ``shared_tmp_path`` is one directory seen by all ranks (rank 0 creates it).

Helpers used by tests in more than one directory are fixtures at the end of this file; those of
one directory are in that directory's ``conftest.py``. Test modules never import each other.
"""
from __future__ import annotations

import gc
import os
import sys

import numpy as np
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


# ------------------------------------------------ helpers shared by tests in several directories
# Fixtures returning plain functions (imports of crustsolve happen only when they are used).

def _write_crust_table(path, rows):
    from crustsolve.crust.tables import COLUMNS  # noqa: PLC0415

    data = np.zeros((len(rows), 28))
    for k, row in enumerate(rows):
        for key, val in row.items():
            data[k, COLUMNS[key]] = val
        data[k, COLUMNS["A_cl"]] = row["Z_cl"] + row["N_cl"]
        data[k, COLUMNS["flag"]] = 1
    np.savetxt(path, data, fmt="%.6E")
    return path


@pytest.fixture(scope="session")
def write_crust_table():
    """``write_crust_table(path, rows)``: a 28-column composition table (Pearson et al. 2018
    format) from rows keyed like ``crustsolve.crust.tables.COLUMNS``; returns ``path``.
    Used by tests/crust/test_tables.py and tests/cli/test_layer.py."""
    return _write_crust_table


def _entrainment_matrix_by_iteration(name, n_n, n_p, y_n, y_p):
    """Independent route: iterate the physical current equations to self-consistency.

    j_q = n_q Q_q − n_q (m_q⊕/ħ) 𝒴_q 𝕧_q,  𝕧_q = ħQ_q/m_q⊕ + I_q(j)/ħ,
    ρ_q = (m/m_q⊕) ħ j_q + m n_q I_q/ħ, with I_q from the functional's current fields.
    Uses SLy4-type common kinetic mass so B_q of the functional is the entrainment B_q.
    """
    from crustsolve.constants import HBARC, M_N_C2, M_P_C2  # noqa: PLC0415
    from crustsolve.functional import current_fields, effective_mass_fields  # noqa: PLC0415

    M = 0.5 * (M_N_C2 + M_P_C2)
    b_n, b_p = (float(b) for b in effective_mass_fields(name, n_n, n_p))
    cols = []
    for V in ((1e-3, 0.0), (0.0, 1e-3)):  # unit-ish superfluid velocities (units of c)
        q = np.array(V) * M / HBARC
        j = np.array([n_n, n_p]) * q
        for _ in range(200):
            i_n, i_p = (float(x) for x in current_fields(name, n_n, n_p, j[0], j[1]))
            vv = np.array([(2 * b_n * q[0] + i_n), (2 * b_p * q[1] + i_p)]) / HBARC
            j_new = np.array([n_n, n_p]) * (q - HBARC / (2 * np.array([b_n, b_p]))
                                            * np.array([y_n, y_p]) * vv)
            if np.allclose(j_new, j, rtol=1e-15, atol=0):
                break
            j = j_new
        i_n, i_p = (float(x) for x in current_fields(name, n_n, n_p, j[0], j[1]))
        rho_cur = M * (2 * np.array([b_n, b_p]) * j + np.array([n_n, n_p]) * np.array([i_n, i_p]))
        cols.append(rho_cur / HBARC / 1e-3)
    return np.array(cols).T


@pytest.fixture(scope="session")
def matrix_by_iteration():
    """``matrix_by_iteration(name, n_n, n_p, y_n, y_p)``: the entrainment matrix from iterating
    the current equations to self-consistency (an independent route). Used by
    tests/core/test_finite_t.py and tests/cli/test_core.py."""
    return _entrainment_matrix_by_iteration
