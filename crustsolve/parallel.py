"""Communicator layout: ``COMM_WORLD`` split into k-groups (DESIGN.md §3 "Parallel layout").

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

import os
from dataclasses import dataclass, field

from .errors import InputError


def available_memory_bytes() -> int:
    """Physical memory of this node in bytes (``MemTotal``; a safe upper bound)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 8 * 1024**3


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
            from mpi4py import MPI  # noqa: PLC0415
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
        base, extra = divmod(nk, self.ngroups)
        start = self.group * base + min(self.group, extra)
        stop = start + base + (1 if self.group < extra else 0)
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
