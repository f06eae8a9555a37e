"""``crustsolve reanalyse``: the levels again from stored per-k data, without eigensolves.

Independent checks: with no option it must give the run's own stored numbers; with a constant
gap it must give what a separate *run* with that constant gap computes (a different gap model
through the whole pipeline, the same bands); on 1, 2 and 3 ranks the same numbers.
"""
from __future__ import annotations

import csv

import h5py
import pytest

from crustsolve.cli import main
from crustsolve.runfile import resolve_config

#: A tiny layer (as in test_mainjob), rigid lattice, the functional's pair field.
TINY = {"layer": {"density": 0.001}, "grid": {"points": 12, "order": 4},
        "bands": {"nbands": 1250}, "kmesh": {"n": 1, "shift": False},
        "zeropoint": {"enabled": False}, "hydro": False, "plot": ""}


def _stored(path):
    out = {}
    with h5py.File(path, "r") as fh:
        g = fh["summary/n_s"]
        for level in g:
            for tag in g[level]:
                out[(level, tag == "with_current")] = float(g[f"{level}/{tag}"][()])
        out["gap_fs"] = float(fh["summary/gap_fermi_surface_mean"][()])
    return out


def _table(path):
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {(r["setting"], r["level"], r["current"] == "yes"): r for r in rows}


@pytest.mark.slow
@pytest.mark.mpi
def test_reanalyse_reproduces_the_run_and_a_constant_gap_run(comm, shared_tmp_path,
                                                            monkeypatch):
    from crustsolve.log import Logger
    from crustsolve.mainjob import run_main_job

    monkeypatch.chdir(shared_tmp_path)
    run_main_job(resolve_config({**TINY, "output": "functional.h5"}), comm, Logger(comm))
    run_main_job(resolve_config({**TINY, "output": "constant.h5",
                                 "pairing": {"model": "constant", "gap": 0.8}}),
                 comm, Logger(comm))
    assert main(["reanalyse", "functional.h5", "--gap-scale", "1,2", "--gap", "0.8",
                 "--csv", "re.csv", "--plot", "re.png"]) == 0
    if comm.rank == 0:
        own, const = _stored("functional.h5"), _stored("constant.h5")
        table = _table("re.csv")
        assert len(own) > 2
        for key, n_s in own.items():
            if key == "gap_fs":
                continue
            level, cur = key
            # no eigensolve, the same per-k data: the run's numbers to round-off
            assert float(table[("scale 1", level, cur)]["n_s_fm3"]) == pytest.approx(
                n_s, rel=1e-8)
            # the constant-gap run solved the same Hamiltonian with another gap model
            assert float(table[("constant 0.8 MeV", level, cur)]["n_s_fm3"]) == pytest.approx(
                const[key], rel=1e-8)
        first = next(iter(table.values()))["level"]
        assert float(table[("scale 1", first, False)]["gap_fs_mean_MeV"]) == pytest.approx(
            own["gap_fs"], rel=1e-10)
        assert ("scale 2", first, False) in table
        with open("re.png", "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_reanalyse_refuses_bad_input(tmp_path, capsys):
    assert main(["reanalyse", str(tmp_path / "none.h5")]) == 2
    assert "cannot read results file" in capsys.readouterr().err
    with h5py.File(tmp_path / "other.h5", "w") as fh:
        fh["x"] = 1.0
    assert main(["reanalyse", str(tmp_path / "other.h5"), "--csv", str(tmp_path / "a.csv"),
                 "--plot", ""]) == 2
    assert "is not a finished `crustsolve run` results file" in capsys.readouterr().err
    assert main(["reanalyse", str(tmp_path / "other.h5"), "--gap-scale", "0.5,abc"]) == 2
    assert "--gap-scale: 'abc' is not a number" in capsys.readouterr().err
    assert main(["reanalyse", str(tmp_path / "other.h5"), "--gap-scale", "-1"]) == 2
    assert "--gap-scale = -1.0 is outside the allowed range" in capsys.readouterr().err
