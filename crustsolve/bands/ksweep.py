"""The k-sweep engine: the one loop over k-points that every band calculation runs through.

::

    sweep = KSweep(points, layout, checkpoint=ck, resume=True, share="leaders")
    out = sweep.run(step, progress=lambda status: ...)

``step(point, solve)`` is the physics of one k-point, collective on ``layout.kcomm``: it builds
h(k), calls ``solve(eigensolver, A)`` and returns a *per-k record* — whatever the caller keeps
(energies and residuals for ``crustsolve bands``; the response ingredients
:class:`~crustsolve.response.matrix_elements.KPointData` for the superfluid density), never
the eigenvectors. The engine owns everything around it:

* **which k-points this group does** — contiguous chunks (:meth:`Layout.owned_indices`), so
  consecutive k-points of a group are neighbours;
* **the warm-start chain** — ``solve`` hands each solver that takes a warm start the previous
  k-point's result of the same group (Chebyshev; in the u-gauge the previous periodic parts
  are the right start, ``docs/numerics.md``) and destroys every eigen-result the chain does
  not keep once the step returns;
* **per-k checkpoint and resume** — after every round the group leaders' new records are
  gathered to world rank 0 and written to the :class:`~crustsolve.results.Checkpoint` (each
  record marked complete last), and with ``resume`` the complete ones are loaded instead of
  solved, so an interrupted run continues with identical numbers;
* **progress with ETA** — after every round every rank sees one :class:`KStatus` per k-point
  of the round (in k order) with the wall time and the estimated time left;
* **errors on every rank** — a :class:`~crustsolve.errors.CrustsolveError` raised by a step
  (on every rank of its group, by contract) is re-raised on every rank of the world after the
  round's records are saved, naming the k-point.

Records are kept on the group leaders only (``share="leaders"``: large records, every other
rank's list is empty) or all-gathered to every rank (``share="all"``: small records, which
then travel as the statuses' summaries).

Nothing here prints or parses files.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import (ConfigError, ConvergenceError, CrustsolveError, InputError,
                      NotEnoughBandsError, check_choice)
from ..parallel import on_root
from ..results import Checkpoint
from .eigensolvers import WarmStartChain

#: Error classes a failed step may raise, restored by name on every rank.
_ERRORS = {cls.__name__: cls for cls in (ConvergenceError, InputError, ConfigError,
                                          NotEnoughBandsError, CrustsolveError)}


@dataclass(frozen=True)
class KPoint:
    """One k-point of the sweep: its index in the mesh, Cartesian k (fm⁻¹), weight."""

    index: int
    k: np.ndarray
    weight: float


@dataclass(frozen=True)
class KStatus:
    """What the progress callback sees for one k-point (the same on every rank).

    ``summary`` is the step's lightweight description of its record (``summarize``), ``seconds``
    the wall time of the step (0 for a record loaded on resume), ``done``/``total`` the k-points
    finished so far, ``eta_seconds`` the estimated time left from the mean time per solved round
    (nan before the first solved round), ``error`` the message when the step failed.
    """

    index: int
    group: int
    k: tuple
    seconds: float
    done: int
    total: int
    eta_seconds: float
    resumed: bool = False
    summary: Any = None
    error: Optional[str] = None
    error_type: str = ""


class SweepSolve:
    """The ``solve`` callable handed to a step: warm-started solves whose results the engine
    destroys after the step, except the one the chain keeps for the next k-point."""

    def __init__(self, chain: WarmStartChain):
        self.chain = chain
        self.results = []

    def __call__(self, solver, A, k=None):
        res = self.chain.solve(solver, A, k=k)
        self.results.append(res)
        return res

    def release(self) -> None:
        for res in self.results:
            if not self.chain.keeps(res):
                res.destroy()
        self.results = []


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Records of a sweep: ``records`` {k index: record} (all k-points with ``share="all"``,
    this group's on its leader with ``share="leaders"``, empty elsewhere), ``statuses`` one
    :class:`KStatus` per k-point (every rank, k order), ``wall_seconds`` of the sweep."""

    records: dict
    statuses: tuple
    wall_seconds: float

    def ordered(self) -> list:
        """The records this rank holds, in k order."""
        return [self.records[i] for i in sorted(self.records)]


class KSweep:
    """Runs a per-k step over ``points`` in k-groups (collective on ``layout.world``).

    Parameters
    ----------
    points : (nk, 3) Cartesian k-points, fm⁻¹ (validated finite).
    weights : (nk,) integration weights (default equal, summing to 1).
    layout : :class:`crustsolve.parallel.Layout` (world → k-groups).
    checkpoint : :class:`crustsolve.results.Checkpoint` or None; with it, records must have
        ``to_arrays()`` and ``decode`` must rebuild them (``decode(arrays) -> record``).
    resume : load the checkpoint's complete records instead of solving them.
    share : ``"leaders"`` or ``"all"`` (see the module docstring).
    """

    def __init__(self, points, layout, *, weights=None, checkpoint=None,
                 decode: Optional[Callable] = None, resume: bool = False,
                 share: str = "leaders"):
        pts = np.asarray(points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
            raise InputError(f"k points must have shape (nk, 3) with nk ≥ 1, got {pts.shape}")
        if not np.all(np.isfinite(pts)):
            raise InputError("k points contain NaN or infinite components")
        self.points = pts
        self.weights = (np.full(len(pts), 1.0 / len(pts)) if weights is None
                        else np.asarray(weights, dtype=float))
        if self.weights.shape != (len(pts),):
            raise InputError(f"k weights must have shape ({len(pts)},), got {self.weights.shape}")
        self.layout = layout
        self.checkpoint = checkpoint
        if checkpoint is not None and decode is None:
            raise InputError("a checkpointed k-sweep needs decode(arrays) -> record")
        self.decode = decode
        self.resume = bool(resume)
        self.share = check_choice("share", share, ("leaders", "all"))

    @property
    def nk(self) -> int:
        return len(self.points)

    def _cached(self) -> dict:
        if self.checkpoint is None or not self.resume:
            return {}
        return {int(key): self.decode(self.checkpoint.load(key))
                for key in self.checkpoint.completed()}

    def run(self, step: Callable, *, summarize: Optional[Callable] = None,
            progress: Optional[Callable] = None) -> SweepResult:
        """Run ``step(KPoint, solve) -> record`` at every k-point.

        ``summarize(record)`` gives the small picklable summary shown to ``progress`` on every
        rank (default None); with ``share="all"`` the record itself is the summary (it is
        all-gathered once, as part of the status) and ``summarize`` must not be given.
        ``progress(status: KStatus)`` is called on every rank for every k-point after each
        round. Raises the first failed step's error on every rank.
        """
        if self.share == "all":
            if summarize is not None:
                raise InputError('share="all" shares the records themselves: no summarize')
            summarize = _itself
        layout = self.layout
        world, leader = layout.world, layout.kcomm.rank == 0
        t_start = time.perf_counter()
        mine = layout.owned_indices(self.nk)
        nrounds = max(world.allgather(len(mine)))
        cached = self._cached()
        # Rounds with at least one k-point to solve, for the ETA.
        chunks = [layout.indices_of(g, self.nk) for g in range(layout.ngroups)]
        to_solve = sum(1 for r in range(nrounds)
                       if any(r < len(c) and c[r] not in cached for c in chunks))
        records, statuses = {}, []
        chain = WarmStartChain()
        done, solved_seconds, solved_rounds = 0, 0.0, 0
        try:
            for r in range(nrounds):
                t_round = time.perf_counter()
                record = status = None
                if r < len(mine):
                    point = KPoint(mine[r], self.points[mine[r]], float(self.weights[mine[r]]))
                    record, status = self._one(point, step, chain, cached, summarize)
                news = sorted((st for st in world.allgather(status if leader else None)
                               if st is not None), key=lambda st: st.index)
                if self.share == "all":         # the record travelled as its own summary
                    records.update((st.index, st.summary) for st in news if not st.error)
                elif record is not None and leader:
                    records[status.index] = record
                if self.checkpoint is not None:
                    fresh = status is not None and not status.resumed and not status.error
                    self._save_round(record if fresh else None)
                if any(not st.resumed for st in news):
                    solved_seconds += time.perf_counter() - t_round
                    solved_rounds += 1
                eta = (solved_seconds / solved_rounds * max(to_solve - solved_rounds, 0)
                       if solved_rounds else math.nan)
                for st in news:
                    done += 1
                    full = dataclasses.replace(st, done=done, total=self.nk, eta_seconds=eta)
                    statuses.append(full)
                    if progress is not None:
                        progress(full)
                failed = [st for st in news if st.error]
                if failed:
                    st = failed[0]
                    cls = _ERRORS.get(st.error_type, CrustsolveError)
                    raise cls(f"k point #{st.index} k = {np.round(st.k, 6).tolist()} fm^-1: "
                              f"{st.error}")
        finally:
            chain.close()
        statuses.sort(key=lambda s: s.index)
        return SweepResult(records, tuple(statuses), time.perf_counter() - t_start)

    def _one(self, point, step, chain, cached, summarize):
        """One k-point of this group, loaded from the checkpoint or solved (collective on the
        group). Returns (record or None, status without the progress fields)."""
        group = self.layout.group
        k = tuple(point.k.tolist())
        if point.index in cached:
            rec = cached[point.index]
            return rec, KStatus(point.index, group, k, 0.0, 0, 0, math.nan, True,
                                summarize(rec) if summarize else None)
        t0 = time.perf_counter()
        solve = SweepSolve(chain)
        try:
            rec = step(point, solve)
        except CrustsolveError as exc:     # raised on every rank of this group
            return None, KStatus(point.index, group, k, time.perf_counter() - t0, 0, 0,
                                 math.nan, False, None, str(exc), type(exc).__name__)
        finally:
            solve.release()
        return rec, KStatus(point.index, group, k, time.perf_counter() - t0, 0, 0, math.nan,
                            False, summarize(rec) if summarize else None)

    def _save_round(self, record) -> None:
        """Gather this round's new records (group leaders) to world rank 0, which writes them;
        a failed write raises on every rank (no rank is left waiting)."""
        world = self.layout.world
        new = world.gather(record if self.layout.kcomm.rank == 0 else None, root=0)

        def write():
            local = Checkpoint(self.checkpoint.path, None, self.checkpoint.group)
            for item in new:
                if item is not None:
                    local.save(f"{item.index:06d}", item.to_arrays())

        on_root(world, write, bcast_result=False)


def _itself(record):
    return record


__all__: Sequence[str] = ("KPoint", "KStatus", "KSweep", "SweepResult", "SweepSolve")
