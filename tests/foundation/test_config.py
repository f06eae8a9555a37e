"""Run-file parsing: unknown keys, wrong types and bad values are errors naming the key."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal, Optional

import pytest

from crustsolve.config import from_dict, load_toml, merge, parse_toml_text, to_dict
from crustsolve.errors import ConfigError, check_range


@dataclass(frozen=True)
class Solver:
    kind: Literal["krylovschur", "lapack"] = "krylovschur"
    tol: float = 1e-8
    nev: int = 10

    def __post_init__(self):
        check_range("solver.tol", self.tol, 0.0, 1.0, lo_open=True)


@dataclass(frozen=True)
class Run:
    density: float
    functional: str = "BSk24"
    kmesh: tuple[int, ...] = (4, 4, 4)
    gap: Optional[float] = None
    solver: Solver = field(default_factory=Solver)
    petsc: dict[str, str] = field(default_factory=dict)


def test_full_file_round_trip(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('density = 0.03\nkmesh = [2, 2, 2]\n[solver]\nkind = "lapack"\ntol = 1e-10\n'
                    '[petsc]\neps_type = "krylovschur"\n')
    run = load_toml(path, Run)
    # floats parsed from the same decimal text as the literals: equal exactly
    assert run.density == 0.03 and run.kmesh == (2, 2, 2)
    assert run.solver == Solver(kind="lapack", tol=1e-10)
    assert run.petsc == {"eps_type": "krylovschur"}
    assert to_dict(run)["solver"]["tol"] == 1e-10
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'density'"):
        run.density = 1.0  # type: ignore[misc]


def test_integer_accepted_for_float_but_not_bool():
    assert from_dict(Run, {"density": 1}).density == 1.0
    with pytest.raises(ConfigError, match="density must be a number"):
        from_dict(Run, {"density": True})


@pytest.mark.parametrize("data, match", [
    ({"density": 0.03, "densty": 1}, r"unknown key\(s\) 'densty'.*allowed: density"),
    ({"density": 0.03, "solver": {"nevv": 3}}, r"unknown key\(s\) 'nevv' in \[solver\]"),
    ({"density": "0.03"}, r"density must be a number, got str"),
    ({"density": 0.03, "solver": {"nev": 2.5}}, r"solver.nev must be an integer"),
    ({"density": 0.03, "solver": {"kind": "arpack"}}, r"solver.kind = 'arpack' is not one of"),
    ({"density": 0.03, "kmesh": 4}, r"kmesh must be an array"),
    ({"density": 0.03, "solver": {"tol": -1.0}}, r"solver.tol = -1.0 is outside the allowed range"),
    ({}, r"required key 'density' is missing"),
])
def test_bad_run_files_name_the_key(data, match):
    with pytest.raises(ConfigError, match=match):
        from_dict(Run, data)


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_toml_text("density = = 1", "x.toml")
    with pytest.raises(ConfigError, match="cannot read run file"):
        load_toml(tmp_path / "nope.toml", Run)


def test_merge_precedence():
    assert merge({"a": 1, "s": {"x": 1, "y": 2}}, {"s": {"y": 3}}) == {"a": 1, "s": {"x": 1, "y": 3}}


@pytest.mark.mpi
def test_load_toml_collective(comm, shared_tmp_path):
    path = shared_tmp_path / "run.toml"
    if comm.rank == 0:
        path.write_text("density = 0.05\n")
    comm.Barrier()
    assert load_toml(path, Run, comm).density == 0.05
    # a bad file fails identically on every rank (no rank left waiting)
    if comm.rank == 0:
        path.write_text("density = 0.05\nfoo = 1\n")
    comm.Barrier()
    with pytest.raises(ConfigError, match="foo"):
        load_toml(path, Run, comm)
