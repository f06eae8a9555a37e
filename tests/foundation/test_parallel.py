"""World → k-group layout: group sizes, ownership of k-points, automatic choice."""
from __future__ import annotations

import pytest

from crustsolve.errors import InputError
from crustsolve.parallel import Layout, choose_ngroups


def test_choose_ngroups_rules():
    assert choose_ngroups(4) == 4                      # no constraint: one rank per group
    assert choose_ngroups(6, nk=2) == 2                # never more groups than k-points
    assert choose_ngroups(4, nk=10, bytes_per_group=8e9, bytes_per_rank_available=5e9) == 2
    assert choose_ngroups(4, nk=10, bytes_per_group=1e12, bytes_per_rank_available=1e9) == 1
    assert choose_ngroups(3, nk=10) == 3


@pytest.mark.mpi
@pytest.mark.parametrize("ngroups", [None, 1])
def test_layout_partitions_kpoints(comm, ngroups):
    layout = Layout.create(comm, ngroups=ngroups, nk=7)
    assert layout.kcomm.size * layout.ngroups == comm.size
    assert layout.xcomm.size == layout.ngroups
    mine = layout.owned_indices(7)
    # each k-point owned by exactly one group
    owners = comm.allgather((layout.group, tuple(mine)))
    by_group = {g: ks for g, ks in owners}
    flat = sorted(k for ks in by_group.values() for k in ks)
    assert flat == list(range(7))
    assert layout.describe()["kgroups"] == layout.ngroups
    layout.free()


@pytest.mark.mpi
def test_layout_rejects_non_divisor(comm):
    bad = comm.size + 1
    with pytest.raises(InputError, match="kgroups"):
        Layout.create(comm, ngroups=bad)
