"""The k-sweep engine (crustsolve.bands.ksweep) with fake steps and solvers: which k-points
each group does, the warm-start chain, checkpoint/resume, progress and errors on every rank.

The physics of a step is not tested here (test_cli_bands and test_response_superfluid run
the real steps through the engine against dense references)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from mpi4py import MPI

from crustsolve.bands.ksweep import KSweep
from crustsolve.errors import ConvergenceError, InputError
from crustsolve.parallel import Layout
from crustsolve.results import Checkpoint

NK = 7


def points(nk=NK):
    return np.column_stack([np.linspace(0.0, 0.3, nk), np.zeros(nk), np.zeros(nk)])


@dataclass(frozen=True)
class Record:
    index: int
    value: np.ndarray   # depends only on k: the same whichever group computes it

    def to_arrays(self):
        return {"index": (self.index, "1"), "value": (self.value, "1")}

    @classmethod
    def from_arrays(cls, data):
        return cls(int(data["index"]), np.asarray(data["value"]))


def value_at(k):
    return np.array([math.sin(3.0 * k[0]) + 1.0, k[0] ** 2])


class FakeResult:
    def __init__(self, k, initial):
        self.k = k
        self.initial = initial
        self.vectors = object()
        self.destroyed = False

    def destroy(self):
        self.destroyed = True


class FakeSolver:
    def __init__(self, warm):
        self.takes_warm_start = warm
        self.results = []

    def solve(self, A, initial=None):
        res = FakeResult(A, initial)
        self.results.append(res)
        return res


def make_step(solver, calls, fail_at=None):
    def step(point, solve):
        calls.append(point.index)
        if point.index == fail_at:
            raise ConvergenceError("3 of 10 eigenpairs converged")
        solve(solver, float(point.k[0]))
        return Record(point.index, value_at(point.k))
    return step


@pytest.mark.mpi
@pytest.mark.parametrize("share", ["all", "leaders"])
def test_every_kpoint_is_solved_once_and_reported_in_order(comm, share):
    for ngroups in sorted({1, comm.size}):
        layout = Layout.create(comm, ngroups=ngroups)
        try:
            calls, seen = [], []
            out = KSweep(points(), layout, share=share).run(
                make_step(FakeSolver(False), calls), progress=seen.append)
            solved = sorted(sum(comm.allgather(calls if layout.kcomm.rank == 0 else []),
                                []))
            assert solved == list(range(NK))
            assert [st.done for st in seen] == list(range(1, NK + 1))
            assert all(st.total == NK for st in seen)
            assert sorted(st.index for st in out.statuses) == list(range(NK))
            held = comm.allgather(sorted(out.records))
            if share == "all":
                assert all(h == list(range(NK)) for h in held)
            else:
                assert sorted(sum(held, [])) == list(range(NK))     # each k on one leader
                if layout.kcomm.rank != 0:
                    assert held[comm.rank] == []
            for rec in out.ordered():
                np.testing.assert_array_equal(rec.value, value_at(points()[rec.index]))
            # ETA: finite once a round was solved, and zero after the last one
            assert seen[-1].eta_seconds == pytest.approx(0.0, abs=1e-12)
            assert all(math.isfinite(st.eta_seconds) and st.eta_seconds >= 0 for st in seen)
        finally:
            layout.free()


def test_warm_start_chain_passes_the_previous_result_and_destroys_the_rest(comm):
    layout = Layout.create(MPI.COMM_SELF, ngroups=1)
    try:
        warm = FakeSolver(True)
        KSweep(points(4), layout).run(make_step(warm, []))
        assert warm.results[0].initial is None
        for prev, res in zip(warm.results, warm.results[1:]):
            assert res.initial is prev          # k-point i starts from i − 1
        assert all(res.destroyed for res in warm.results)   # the kept one at the end too
        cold = FakeSolver(False)
        KSweep(points(4), layout).run(make_step(cold, []))
        assert all(res.initial is None and res.destroyed for res in cold.results)
    finally:
        layout.free()


@pytest.mark.mpi
def test_failure_is_raised_on_every_rank_and_resume_solves_only_what_is_missing(
        comm, shared_tmp_path):
    path = shared_tmp_path / "sweep.h5"
    layout = Layout.create(comm, ngroups=comm.size if NK >= comm.size else 1)
    try:
        ck = Checkpoint(path, comm, group="kpoints")
        calls = []
        with pytest.raises(ConvergenceError, match=r"k point #3 k = \[0\.15, 0\.0, 0\.0\] "
                                                   r"fm\^-1: 3 of 10 eigenpairs converged"):
            KSweep(points(), layout, checkpoint=ck, decode=Record.from_arrays).run(
                make_step(FakeSolver(False), calls, fail_at=3))
        saved = {int(key) for key in ck.completed()}
        assert 3 not in saved and saved        # the rounds before the failure are kept
        first = set(sum(comm.allgather(calls if layout.kcomm.rank == 0 else []), []))

        calls2, seen = [], []
        out = KSweep(points(), layout, checkpoint=ck, decode=Record.from_arrays,
                     resume=True, share="all").run(make_step(FakeSolver(False), calls2),
                                                   progress=seen.append)
        again = set(sum(comm.allgather(calls2 if layout.kcomm.rank == 0 else []), []))
        assert again == set(range(NK)) - saved
        assert first >= saved
        assert {st.index for st in seen if st.resumed} == saved
        assert all(st.seconds == 0.0 for st in seen if st.resumed)   # set, not measured
        assert sorted(out.records) == list(range(NK))
        for rec in out.ordered():
            np.testing.assert_array_equal(rec.value, value_at(points()[rec.index]))
        assert {int(key) for key in ck.completed()} == set(range(NK))
    finally:
        layout.free()


@pytest.mark.parametrize("pts, weights, message", [
    (np.zeros((3, 2)), None, r"k points must have shape \(nk, 3\) with nk ≥ 1, got \(3, 2\)"),
    (np.zeros((0, 3)), None, r"got \(0, 3\)"),
    (np.full((2, 3), np.nan), None, "k points contain NaN or infinite components"),
    (np.zeros((2, 3)), np.ones(3), r"k weights must have shape \(2,\), got \(3,\)"),
])
def test_bad_points_are_refused(comm, pts, weights, message):
    layout = Layout.create(MPI.COMM_SELF, ngroups=1)
    try:
        with pytest.raises(InputError, match=message):
            KSweep(pts, layout, weights=weights)
    finally:
        layout.free()


def test_checkpoint_needs_a_decoder(comm, tmp_path):
    layout = Layout.create(MPI.COMM_SELF, ngroups=1)
    try:
        with pytest.raises(InputError, match=r"needs decode\(arrays\) -> record"):
            KSweep(points(), layout, checkpoint=Checkpoint(tmp_path / "x.h5"))
        with pytest.raises(InputError, match="share"):
            KSweep(points(), layout, share="everyone")
        with pytest.raises(InputError, match='share="all" shares the records themselves'):
            KSweep(points(), layout, share="all").run(make_step(FakeSolver(False), []),
                                                      summarize=str)
    finally:
        layout.free()
