"""Rank-0 logging, timers and progress reporting for long loops.

Physics modules never print; drivers and the CLI hand them a progress callback or
use a :class:`Logger`. Only rank 0 of the logger's communicator writes; the other
ranks' calls are no-ops, so every rank can call the same code path.
"""
from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager


class Logger:
    """Writes human-readable lines (and YAML-like blocks) on rank 0 only.

    Parameters
    ----------
    comm : mpi4py communicator or None (serial)
    stream : file object for rank 0 (default ``sys.stdout``)
    verbose : if False, :meth:`debug` lines are dropped
    """

    def __init__(self, comm=None, stream=None, verbose: bool = True):
        self.rank = 0 if comm is None else comm.rank
        self.stream = stream if stream is not None else sys.stdout
        self.verbose = verbose
        self._t0 = time.perf_counter()

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    def info(self, msg: str = "") -> None:
        if self.rank == 0:
            print(msg, file=self.stream, flush=True)

    def debug(self, msg: str) -> None:
        if self.verbose:
            self.info(msg)

    def warning(self, msg: str) -> None:
        self.info(f"WARNING: {msg}")

    def block(self, title: str, mapping: dict) -> None:
        """A machine-parsable ``title:`` block of ``  key: value`` lines."""
        if self.rank != 0:
            return
        lines = [f"{title}:"]
        for key, value in mapping.items():
            lines.append(f"  {key}: {value}")
        self.info("\n".join(lines))

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def progress(self, total: int, label: str = "step") -> "Progress":
        return Progress(self, total, label)

    def kpoint_progress(self, label: str = "k"):
        """A progress callback for the k-sweep engine (:class:`crustsolve.bands.ksweep.KStatus`):
        one line per k-point with its wall time (or "resumed") and the engine's ETA."""
        start = time.perf_counter()

        def report(status) -> None:
            head = f"[{label} {status.done}/{status.total}] #{status.index}"
            if status.error:
                self.info(f"{head} FAILED: {status.error}")
                return
            took = "resumed" if status.resumed else f"{status.seconds:.1f} s"
            eta = (f"{status.eta_seconds:.1f} s" if math.isfinite(status.eta_seconds)
                   else "unknown until a k-point is solved")
            self.info(f"{head} {took}  elapsed {time.perf_counter() - start:.1f} s  ETA {eta}")

        return report


class Progress:
    """Counts steps of a long loop and prints ``label i/total``, elapsed time and ETA."""

    def __init__(self, log: Logger, total: int, label: str):
        self.log = log
        self.total = int(total)
        self.label = label
        self.done = 0
        self._t0 = time.perf_counter()

    def step(self, message: str = "", count: int = 1) -> None:
        self.done += count
        elapsed = time.perf_counter() - self._t0
        eta = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        extra = f"  {message}" if message else ""
        self.log.info(f"[{self.label} {self.done}/{self.total}] {elapsed:8.1f} s  "
                      f"ETA {eta:8.1f} s{extra}")


class Timings:
    """Accumulates wall-clock seconds per named phase (``with timings('solve'): ...``)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    @contextmanager
    def __call__(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.seconds[name] = self.seconds.get(name, 0.0) + dt
            self.calls[name] = self.calls.get(name, 0) + 1

    def as_dict(self) -> dict:
        return {k: {"seconds": v, "calls": self.calls[k]} for k, v in self.seconds.items()}
