"""HDF5 results: provenance attributes, atomic writes, checkpoints that survive interruption."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

import crustsolve
from crustsolve.log import Logger, Timings
from crustsolve.parallel import Layout
from crustsolve.results import Checkpoint, read_provenance, write_results


@pytest.mark.mpi
def test_write_results_with_provenance(comm, shared_tmp_path):
    layout = Layout.create(comm, ngroups=1)
    timings = Timings()
    with timings("solve"):
        pass
    path = shared_tmp_path / "r.h5"
    write_results(path, comm, {"bands/energies": (np.arange(6.0).reshape(2, 3), "MeV")},
                  config={"density": 0.03, "solver": {"tol": 1e-8}}, layout=layout, timings=timings)
    prov = read_provenance(path) if comm.rank == 0 else None
    prov = comm.bcast(prov)
    assert prov["config"] == {"density": 0.03, "solver": {"tol": 1e-8}}
    assert prov["layout"]["world_size"] == comm.size
    assert prov["timings"]["solve"]["calls"] == 1
    assert prov["versions"]["numpy"] == np.__version__
    assert prov["crustsolve_version"] == crustsolve.__version__
    if comm.rank == 0:
        with h5py.File(path, "r") as fh:
            assert fh["bands/energies"].attrs["units"] == "MeV"
            np.testing.assert_array_equal(fh["bands/energies"][()], np.arange(6.0).reshape(2, 3))
        assert not (shared_tmp_path / "r.h5.tmp").exists()
    layout.free()


@pytest.mark.mpi
def test_checkpoint_resume(comm, shared_tmp_path):
    path = shared_tmp_path / "ck.h5"
    ck = Checkpoint(path, comm, group="kpoints")
    assert ck.completed() == []
    ck.save("000001", {"e": (np.array([1.0, 2.0]), "MeV")}, attrs={"k_index": 1})
    # an item whose write was interrupted (no 'complete' flag) is not counted
    if comm.rank == 0:
        with h5py.File(path, "a") as fh:
            fh.create_group("kpoints/000002")
    comm.Barrier()
    assert ck.completed() == ["000001"]
    np.testing.assert_array_equal(ck.load("000001")["e"], [1.0, 2.0])
    ck.save("000002", {"e": (np.array([3.0]), "MeV")})  # idempotent overwrite of the partial item
    ck.save("000002", {"e": (np.array([3.0]), "MeV")})
    assert ck.completed() == ["000001", "000002"]


def test_logger_only_rank0_prints(capsys):
    class FakeComm:
        def __init__(self, rank):
            self.rank = rank
    Logger(FakeComm(1)).info("hidden")
    log = Logger(FakeComm(0))
    log.info("shown")
    log.block("layout", {"kgroups": 2})
    prog = log.progress(2, "k")
    prog.step("res 1e-9")
    out = capsys.readouterr().out
    assert "hidden" not in out and "shown" in out and "  kgroups: 2" in out
    assert "[k 1/2]" in out and "ETA" in out
