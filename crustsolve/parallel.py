"""Communicator layout: ``COMM_WORLD`` split into k-groups (``docs/numerics.md``).

::

    world (P ranks)
     ├─ kcomm: Split(color = group)          all PETSc objects of one k-group live here
     └─ xcomm: Split(color = rank in group)  links equal subdomains across groups (field reductions)

The number of groups G divides P. When the user does not choose it, the largest G
is taken such that G ≤ number of k-points and the estimated memory per rank of a
group (estimate_bytes_per_group / (P/G)) fits in the memory available per rank.
The choice and the estimate are reported by :meth:`Layout.describe` so drivers can
print them before a run.
"""
from __future__ import annotations

import math
import os
import resource
import sys
import traceback
from dataclasses import dataclass, field

from mpi4py import MPI

from .errors import CrustsolveError, InputError

#: Command-line switch that lets a run go ahead although its memory estimate exceeds what
#: the node has free (named in the refusal message).
OVERSUBSCRIBE_FLAG = "--allow-oversubscribe-memory"
#: Python, numpy, PETSc/SLEPc and MPI after start-up, per rank (allowance added by
#: :func:`require_memory`; measured 100–200 MB).
PROCESS_BASELINE_BYTES = 150e6


def available_memory_bytes() -> int:
    """Physical memory of this node in bytes (``MemTotal``; a safe upper bound)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 8 * 1024**3


def free_memory() -> tuple:
    """(bytes, source): the memory this process may still allocate on its node.

    The smallest of ``MemAvailable`` (/proc/meminfo), the free part of the cgroup limit
    (a batch job's allocation) and the address-space limit (``ulimit -v``); ``MemTotal``
    when none of them is readable.
    """
    candidates = []
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    candidates.append((int(line.split()[1]) * 1024, "MemAvailable"))
                    break
    except (OSError, ValueError, IndexError):
        pass
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            with open(limit, encoding="ascii") as fh:
                text = fh.read().strip()
            if text != "max" and int(text) < 2**60:
                with open(usage, encoding="ascii") as fh:
                    used = int(fh.read().strip())
                candidates.append((max(0, int(text) - used), "cgroup limit"))
            break
        except (OSError, ValueError):
            continue
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY:
            candidates.append((soft, "ulimit -v"))
    except (OSError, ValueError):  # pragma: no cover
        pass
    if not candidates:
        return available_memory_bytes(), "MemTotal"
    return min(candidates)


def _format_bytes(b: float) -> str:
    return f"{b / 1e9:.3g} GB" if b >= 1e8 else f"{b / 1e6:.3g} MB"


def require_memory(comm, bytes_per_rank: float, what: str, *, allow: bool = False,
                   hint: str = "") -> dict:
    """Refuse (collectively) a step whose estimated memory exceeds what its nodes have free.

    ``bytes_per_rank`` is this rank's estimate of what the step allocates (ranks may differ);
    :data:`PROCESS_BASELINE_BYTES` is added for the process itself. The ranks sharing a node
    add up their estimates and compare them with :func:`free_memory` of that node; if any
    node is short, every rank raises the same :class:`InputError` naming ``what``, the
    estimate, the memory available, ``hint`` (what to lower) and :data:`OVERSUBSCRIBE_FLAG`
    — unless ``allow`` (then the shortfall is only reported in the returned dict). Call it
    before allocating. ``comm`` None means a serial run.
    """
    need = float(bytes_per_rank) + PROCESS_BASELINE_BYTES
    if not math.isfinite(need) or need < 0:
        need = math.inf
    avail, source = free_memory()
    on_node, ranks = need, 1
    if comm is not None and comm.size > 1:
        node = comm.Split_type(MPI.COMM_TYPE_SHARED, key=comm.rank)
        try:
            on_node, ranks = node.allreduce(need, op=MPI.SUM), node.size
            avail, source = node.bcast((avail, source), root=0)
        finally:
            node.Free()
        # The worst node decides for everyone, so every rank takes the same branch.
        ratio = on_node / avail if avail > 0 else math.inf
        _, on_node, ranks, avail, source = comm.allreduce(
            (ratio, on_node, ranks, avail, source), op=MPI.MAX)
    short = on_node > avail
    if short and not allow:
        shared = f" ({ranks} ranks on the node)" if ranks > 1 else ""
        raise InputError(
            f"not enough memory: {what} needs an estimated {_format_bytes(on_node)}{shared} "
            f"but only {_format_bytes(avail)} are available ({source}); "
            + (f"{hint}, " if hint else "")
            + f"or pass {OVERSUBSCRIBE_FLAG} to run anyway")
    return {"what": what, "bytes_on_node": on_node, "ranks_on_node": ranks,
            "available_bytes": avail, "available_source": source, "oversubscribed": short}


def on_root(comm, fn, *args, bcast_result: bool = True, **kwargs):
    """Run ``fn(*args, **kwargs)`` on rank 0 only and share the outcome with every rank.

    The result is broadcast (pickled) unless ``bcast_result=False`` (then the other ranks
    get None). If ``fn`` raises on rank 0, every rank raises: a crustsolve error with its
    class and message; an ``OSError`` as an :class:`InputError` naming the file; anything
    else (a bug) is re-raised with its traceback on rank 0 while the other ranks raise a
    :class:`CrustsolveError`, so no rank is left waiting in a collective. ``comm`` None
    means a serial run.
    """
    root = comm is None or comm.rank == 0
    result, failure, bug = None, None, None
    if root:
        try:
            result = fn(*args, **kwargs)
        except CrustsolveError as exc:
            failure = (_picklable(type(exc)), str(exc))
        except OSError as exc:
            failure = (InputError, describe_os_error(exc))
        except Exception as exc:  # noqa: BLE001 - shared so that no rank waits forever
            failure = (CrustsolveError, f"rank 0 failed with {type(exc).__name__}: {exc}")
            bug = exc
    if comm is not None and comm.size > 1:
        shared = comm.bcast((None if failure or not bcast_result else result, failure),
                            root=0)
        if not root:
            result, failure = shared
    if bug is not None:
        raise bug
    if failure is not None:
        cls, message = failure
        raise cls(message) from None
    return result


def _picklable(cls):
    # Exception classes of crustsolve pickle by reference; anything else travels as the base.
    return cls if cls.__module__.startswith("crustsolve") else CrustsolveError


def describe_os_error(exc: OSError) -> str:
    """One line for a file-system error: the file, then the reason."""
    name = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    if exc.filename2 is not None:
        return f"{name!r} -> {exc.filename2!r}: {reason}"
    return f"{name!r}: {reason}" if name else reason


def abort_on_uncaught(comm, exc: BaseException) -> None:
    """Last resort for an unexpected exception under MPI: print it and abort every rank.

    An exception raised on some ranks only would leave the others waiting forever in their
    next collective; MPI_Abort ends the whole job instead (exit code 1).
    """
    sys.stderr.write(f"[rank {comm.rank}] unexpected error, aborting all ranks:\n")
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    sys.stderr.flush()
    comm.Abort(1)


def choose_ngroups(nranks: int, nk: int | None = None, bytes_per_group: float | None = None,
                   bytes_per_rank_available: float | None = None,
                   safety: float = 0.8) -> int:
    """Largest divisor G of ``nranks`` with G ≤ nk whose per-rank memory fits.

    A group of P/G ranks shares ``bytes_per_group`` (the distributed part of a
    k-point solve), so each rank needs about ``bytes_per_group * G / P``.
    """
    if nranks < 1:
        raise InputError(f"nranks = {nranks} must be ≥ 1")
    best = 1
    for g in range(1, nranks + 1):
        if nranks % g:
            continue
        if nk is not None and g > max(1, nk):
            continue
        if bytes_per_group is not None and bytes_per_rank_available is not None:
            if bytes_per_group * g / nranks > safety * bytes_per_rank_available:
                continue
        best = g
    return best


@dataclass(frozen=True)
class Layout:
    """World, k-group and cross-group communicators, and who owns which k-points."""

    world: object
    kcomm: object
    xcomm: object
    ngroups: int
    group: int
    chosen_by: str = "user"
    memory_estimate_bytes: float | None = field(default=None, compare=False)

    @classmethod
    def create(cls, world=None, ngroups: int | None = None, nk: int | None = None,
               memory_per_group: float | None = None,
               memory_per_rank_available: float | None = None) -> "Layout":
        """Split ``world`` into k-groups (collective).

        ``ngroups`` None → automatic (see :func:`choose_ngroups`); an explicit value
        must divide the number of ranks (error otherwise, raised on every rank).
        """
        if world is None:
            world = MPI.COMM_WORLD
        size = world.size
        if ngroups is None:
            if memory_per_rank_available is None and memory_per_group is not None:
                ranks_on_node = int(os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE",
                                                   os.environ.get("MPI_LOCALNRANKS", size)))
                memory_per_rank_available = available_memory_bytes() / max(1, ranks_on_node)
            ngroups = choose_ngroups(size, nk, memory_per_group, memory_per_rank_available)
            chosen_by = "auto"
        else:
            chosen_by = "user"
            if not isinstance(ngroups, int) or ngroups < 1 or size % ngroups:
                raise InputError(
                    f"kgroups = {ngroups!r} must be a positive divisor of the number of "
                    f"MPI ranks ({size})")
        per_group = size // ngroups
        group = world.rank // per_group
        kcomm = world.Split(color=group, key=world.rank)
        xcomm = world.Split(color=kcomm.rank, key=group)
        return cls(world, kcomm, xcomm, ngroups, group, chosen_by, memory_per_group)

    def owned_indices(self, nk: int) -> list:
        """k indices handled by this group: contiguous chunks (keeps warm-start locality)."""
        return self.indices_of(self.group, nk)

    def indices_of(self, group: int, nk: int) -> list:
        """k indices handled by k-group ``group`` (the same chunking on every rank)."""
        base, extra = divmod(nk, self.ngroups)
        start = group * base + min(group, extra)
        stop = start + base + (1 if group < extra else 0)
        return list(range(start, stop))

    def describe(self) -> dict:
        d = {
            "world_size": self.world.size,
            "kgroups": self.ngroups,
            "ranks_per_group": self.world.size // self.ngroups,
            "chosen_by": self.chosen_by,
        }
        if self.memory_estimate_bytes is not None:
            d["memory_estimate_per_group_GB"] = round(self.memory_estimate_bytes / 1e9, 3)
        return d

    def free(self) -> None:
        """Free the split communicators (collective)."""
        for c in (self.kcomm, self.xcomm):
            try:
                c.Free()
            except Exception:  # noqa: BLE001 - already freed
                pass
