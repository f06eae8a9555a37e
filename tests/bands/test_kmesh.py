"""k-point meshes: exact weights, irreducible counts against brute-force orbit enumeration,
IBZ sums of symmetric functions, reduced symmetry, paths and bad input."""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest

from crustsolve.bands.kmesh import (KMesh, check_kpoints, invariant_operations, kpath,
                                    little_group_order, oh_operations, symmetry_label,
                                    stabilizer)
from crustsolve.errors import InputError

A = 30.0  # fm


def brute_force_orbits(n, shift, ops):
    """Count orbits of the mesh under ``ops`` with exact fractions (independent code path).

    Points are fractions of 2π/a reduced modulo 1 into [0, 1); the orbit of each point is the
    set of images; orbits are collected as frozensets.
    """
    off = Fraction(1, 2 * n) if shift else Fraction(0)
    pts = [tuple(Fraction(m, n) + off for m in mm) for mm in itertools.product(range(n), repeat=3)]
    orbits = set()
    for p in pts:
        orbit = set()
        for R in ops:
            img = tuple(sum(int(R[i][j]) * p[j] for j in range(3)) % 1 for i in range(3))
            orbit.add(img)
        orbits.add(frozenset(orbit))
    sizes = sorted(len(o) for o in orbits)
    return len(orbits), sizes


def all_signed_permutations():
    ops = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            ops.append([[signs[r] if c == perm[r] else 0 for c in range(3)] for r in range(3)])
    return ops


def test_oh_has_48_distinct_orthogonal_operations():
    ops = oh_operations()
    assert ops.shape == (48, 3, 3)
    assert len({R.tobytes() for R in ops}) == 48
    for R in ops:
        assert np.array_equal(R @ R.T, np.eye(3, dtype=int))
    assert np.array_equal(ops[0], np.eye(3, dtype=int))


def test_4x4x4_gamma_centred_count():
    km = KMesh.monkhorst_pack(4, A)
    count, _ = brute_force_orbits(4, False, all_signed_permutations())
    assert count == 10  # multisets of size 3 from {0, 1/4, 1/2}
    assert km.nk == count


@pytest.mark.parametrize("n,shift", [(1, False), (2, False), (2, True), (3, False), (3, True),
                                     (4, False), (4, True), (5, False), (6, True)])
def test_counts_and_multiplicities_match_brute_force(n, shift):
    km = KMesh.monkhorst_pack(n, A, shift=shift)
    count, sizes = brute_force_orbits(n, shift, all_signed_permutations())
    assert km.nk == count
    assert sorted(km.multiplicities.tolist()) == sizes
    assert km.multiplicities.sum() == km.nfull == n**3
    assert math.fsum(km.weights) == pytest.approx(1.0, abs=1e-15)


def test_weights_are_exact_integer_ratios():
    km = KMesh.monkhorst_pack(6, A, shift=True)
    assert km.multiplicities.dtype.kind == "i"
    # exact: each weight is one correctly rounded division m/n³
    np.testing.assert_array_equal(km.weights, km.multiplicities / km.nfull)
    assert sum(Fraction(int(m), km.nfull) for m in km.multiplicities) == 1


def _oh_symmetric(k, a=A):
    """A smooth O_h-invariant, reciprocal-lattice-periodic function of k."""
    c = np.cos(k * a)
    s2 = np.sin(k * a / 2) ** 2
    return c.sum(-1) + 0.3 * (c[..., 0] * c[..., 1] + c[..., 1] * c[..., 2] + c[..., 0] * c[..., 2]) \
        + 0.7 * np.prod(s2, axis=-1) + 0.2 * (s2**3).sum(-1)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7])
@pytest.mark.parametrize("shift", [False, True])
def test_ibz_sums_equal_full_mesh_sums(n, shift):
    km = KMesh.monkhorst_pack(n, A, shift=shift)
    full = KMesh.full(n, A, shift=shift)
    assert full.nk == n**3
    f_irr = _oh_symmetric(km.points)
    f_full = _oh_symmetric(full.points)
    assert km.integrate(f_irr) == pytest.approx(f_full.mean(), abs=1e-13)
    # unfolding reproduces the function on the full mesh (full_points order)
    np.testing.assert_allclose(km.unfold(f_irr), _oh_symmetric(km.full_points), atol=1e-12)


def test_full_to_irr_and_operations_are_consistent():
    km = KMesh.monkhorst_pack(4, A, shift=False)
    G = 2 * math.pi / A
    for ifull in range(km.nfull):
        R = km.operations[km.full_ops[ifull]]
        k_irr = km.points[km.full_to_irr[ifull]]
        d = (R @ k_irr - km.full_points[ifull]) / G
        np.testing.assert_allclose(d, np.round(d), atol=1e-12)  # equal modulo G


def test_irreducible_points_lie_in_the_wedge():
    km = KMesh.monkhorst_pack(6, A, shift=True)
    f = km.fractional
    assert np.all(f[:, 0] >= f[:, 1] - 1e-12) and np.all(f[:, 1] >= f[:, 2] - 1e-12)
    assert np.all(f[:, 2] >= -1e-12) and np.all(f <= 0.5 + 1e-12)


def test_without_time_reversal_and_no_symmetry():
    km = KMesh.monkhorst_pack(3, A, symmetry="none", time_reversal=False)
    assert km.nk == 27 and np.all(km.multiplicities == 1)
    km_tr = KMesh.monkhorst_pack(3, A, symmetry="none", time_reversal=True)
    count, sizes = brute_force_orbits(3, False, [np.eye(3, dtype=int), -np.eye(3, dtype=int)])
    assert km_tr.nk == count == 14  # k ≡ −k pairs plus Γ
    assert sorted(km_tr.multiplicities.tolist()) == sizes


@pytest.mark.parametrize("shift", [False, True])
def test_broken_symmetry_subgroup(shift):
    """A flow along z: stabiliser of z (C4v, 8 operations), without time reversal."""
    ops = stabilizer([0, 0, 1])
    assert len(ops) == 8
    km = KMesh.monkhorst_pack(4, A, shift=shift, symmetry=[0, 0, 1], time_reversal=False)
    count, sizes = brute_force_orbits(4, shift, [R.tolist() for R in ops])
    assert km.nk == count
    assert sorted(km.multiplicities.tolist()) == sizes
    # a function symmetric under C4v but odd in kz sums correctly over the reduced mesh
    full = KMesh.full(4, A, shift=shift)

    def f(k):
        return np.cos(k[:, 0] * A) * np.cos(k[:, 1] * A) + np.sin(k[:, 2] * A) + 0.1 * np.sin(k[:, 2] * A / 2)**2

    assert km.integrate(f(km.points)) == pytest.approx(f(full.points).mean(), abs=1e-13)
    # O_h with inversion would get this sum wrong whenever the mesh sees the odd part
    oh = KMesh.monkhorst_pack(4, A, shift=shift)
    assert oh.nk < km.nk


def test_explicit_group_and_validation():
    ops = oh_operations()[:1]
    km = KMesh.monkhorst_pack(2, A, symmetry=ops, time_reversal=False)
    assert km.nk == 8
    with pytest.raises(InputError, match="not a group|closed"):
        KMesh.monkhorst_pack(2, A, symmetry=[np.eye(3, dtype=int), [[0, 1, 0], [0, 0, 1], [1, 0, 0]]])
    with pytest.raises(InputError, match="signed permutation"):
        KMesh.monkhorst_pack(2, A, symmetry=[np.eye(3, dtype=int), 2 * np.eye(3, dtype=int)])
    with pytest.raises(InputError, match="symmetry"):
        KMesh.monkhorst_pack(2, A, symmetry="D4h-ish")


def test_kpath_geometry():
    p = kpath(A, "GXMGRX", 5)
    assert p.nk == 5 * 5 + 1
    assert [lab for _, lab in p.labels] == ["Γ", "X", "M", "Γ", "R", "X"]
    G = 2 * math.pi / A
    np.testing.assert_allclose(p.points[0], 0.0)
    np.testing.assert_allclose(p.points[5], [0, G / 2, 0])
    np.testing.assert_allclose(p.points[10], [G / 2, G / 2, 0])
    np.testing.assert_allclose(p.points[-1], [0, G / 2, 0])
    seg = [G / 2, G / 2, G / math.sqrt(2), G * math.sqrt(3) / 2, G / math.sqrt(2)]
    np.testing.assert_allclose(p.label_positions, np.concatenate([[0], np.cumsum(seg)]), rtol=1e-12)
    assert np.all(np.diff(p.distance) > 0)
    check_kpoints(p.points, A)  # on the zone boundary is inside


def test_bad_input():
    with pytest.raises(InputError, match="outside the Brillouin zone"):
        KMesh.explicit([[0.0, 0.0, 1.01 * math.pi / A]], A)
    with pytest.raises(InputError, match="NaN"):
        KMesh.explicit([[0.0, float("nan"), 0.0]], A)
    with pytest.raises(InputError, match="shape"):
        KMesh.explicit([[0.0, 0.0]], A)
    with pytest.raises(InputError, match="k-mesh size"):
        KMesh.monkhorst_pack(0, A)
    with pytest.raises(InputError, match="integer"):
        KMesh.monkhorst_pack(2.5, A)
    with pytest.raises(InputError, match="cell side"):
        KMesh.monkhorst_pack(2, -1.0)
    with pytest.raises(InputError, match="k path"):
        kpath(A, "GZX")
    with pytest.raises(InputError, match="points per segment"):
        kpath(A, "GX", 0)
    with pytest.raises(InputError, match="weights"):
        KMesh.explicit([[0, 0, 0], [0.01, 0, 0]], A, weights=[1, -1])
    km = KMesh.explicit([[0, 0, 0], [0.01, 0, 0]], A, weights=[1, 3])
    np.testing.assert_allclose(km.weights, [0.25, 0.75])


def test_little_group_orders():
    G = 2 * math.pi / A
    cases = {(0, 0, 0): 48, (0, 0.5, 0): 16, (0.5, 0.5, 0): 16, (0.5, 0.5, 0.5): 48,
             (0, 0.2, 0): 8, (0.2, 0.2, 0): 4, (0.2, 0.2, 0.2): 6, (0.31, 0.17, 0.07): 1,
             (0.5, 0.17, 0.07): 2}
    for frac, order in cases.items():
        assert little_group_order(np.array(frac) * G, A) == order, frac
    # −k on the zone face is the same point modulo G
    assert little_group_order(np.array([-0.5, 0.5, 0.5]) * G, A) == 48


def _fields_from(U):
    from crustsolve.bands import Fields
    from crustsolve.constants import HBAR2_2MN
    return Fields(U=np.ascontiguousarray(U), B=np.full(U.shape, HBAR2_2MN), a=A)


@pytest.mark.parametrize("case", ["cos_x", "cos_x_odd", "cos_x_cos_2y", "separable", "random"])
def test_invariant_subgroup_of_fields(case):
    """The subgroup of O_h a field keeps, against the operations written down from its
    analytic form; and the mesh reduced by it (with time reversal) has the orbits of an
    exact-fraction count."""
    n = 8
    x = 2 * np.pi * np.arange(n) / n
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    U, keep = {
        # x ↦ ±x, (y, z) any signed permutation: D_4h, 16 operations
        "cos_x": (np.cos(X), lambda R: abs(R[0, 0]) == 1),
        # the odd part in x removes x ↦ −x: C_4v, 8 operations
        "cos_x_odd": (np.cos(X) + 0.5 * np.sin(2 * X), lambda R: R[0, 0] == 1),
        # x ↦ ±x and y ↦ ±y separately: D_2h, 8 operations
        "cos_x_cos_2y": (np.cos(X) + 0.3 * np.cos(2 * Y),
                         lambda R: abs(R[0, 0]) == 1 and abs(R[1, 1]) == 1),
        "separable": (np.cos(X) + np.cos(Y) + np.cos(Z), lambda R: True),
        "random": (np.random.default_rng(3).normal(size=(n,) * 3), lambda R: R[0, 0] == 1
                   and R[1, 1] == 1 and R[2, 2] == 1),
    }[case]
    ops = invariant_operations(_fields_from(-5.0 * U))
    expected = {np.array(R).tobytes() for R in oh_operations() if keep(np.array(R))}
    assert {R.tobytes() for R in ops} == expected
    assert symmetry_label(ops) == {48: "Oh", 1: "none"}.get(len(expected),
                                                          f"order-{len(expected)} subgroup of Oh")
    for shift in (False, True):
        km = KMesh.monkhorst_pack(4, A, shift=shift, symmetry=ops, time_reversal=True)
        with_tr = [R.tolist() for R in ops] + [(-R).tolist() for R in ops]
        count, sizes = brute_force_orbits(4, shift, with_tr)
        assert km.nk == count
        assert sorted(km.multiplicities.tolist()) == sizes
