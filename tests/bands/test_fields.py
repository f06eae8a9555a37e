"""Fields container, HDF5 field files (``docs/field-file-schema.md``) and the Grid layout."""
from __future__ import annotations

import dataclasses
import math

import h5py
import numpy as np
import pytest

from crustsolve.bands import Fields, Grid
from crustsolve.constants import HBAR2_2MN
from crustsolve.errors import InputError


def _fields(n=6, a=9.0, current=True, delta=True):
    rng = np.random.default_rng(3)
    return Fields(U=rng.normal(size=(n,) * 3), B=HBAR2_2MN + rng.random((n,) * 3), a=a,
                  I=rng.normal(size=(3, n, n, n)) if current else None,
                  Delta=(1.0 + 0.1j) * rng.random((n,) * 3) if delta else None,
                  provenance={"code": "test", "layer": 7})


def test_constructors():
    f = Fields.uniform(6, 12.0, U0=-3.0)
    # exact: h = 12/6 and the constants are stored as given
    assert f.n == 6 and f.h == 2.0 and np.all(f.U == -3.0) and np.all(f.B == HBAR2_2MN)
    assert f.I is None and not f.has_current and f.provenance["source"] == "Fields.uniform"
    c = Fields.separable_cosine(8, 10.0, V=2.0)
    x = np.arange(8) * 10.0 / 8
    np.testing.assert_allclose(c.U[:, 0, 0], 2 * np.cos(2 * np.pi * x / 10) + 4.0, atol=1e-13)
    np.testing.assert_allclose(c.U, np.transpose(c.U, (1, 2, 0)), atol=1e-13)
    g = Fields.gaussian_wells(10, 20.0, depth=50.0, radius=3.0, lattice="bcc")
    # deepest at both bcc sites, O_h-symmetric on the grid, and periodic images included
    assert g.U[0, 0, 0] == pytest.approx(g.U[5, 5, 5], abs=1e-12)
    # −50 MeV at a site, plus the tails of the 8 nearest wells of the other site at
    # √3·10 fm: 8·50·e^{−300/9} = 1.4e-12 MeV
    assert g.U.min() == pytest.approx(g.U[0, 0, 0])
    assert g.U[0, 0, 0] == pytest.approx(-50.0 - 400.0 * math.exp(-300.0 / 9.0), abs=1e-13)
    np.testing.assert_allclose(g.U, np.transpose(g.U, (2, 0, 1)), atol=1e-12)
    np.testing.assert_allclose(g.U, g.U[::-1][np.r_[-1, 0:9]], atol=1e-12)  # x → -x
    sc = Fields.gaussian_wells(9, 20.0, depth=50.0, radius=3.0, lattice="sc")
    # sc, x = 4a/9 on each axis: the tails of the 8 wells at the cube corners,
    # −50 Π_d (e^{−(x/ρ)²} + e^{−((a−x)/ρ)²}); farther wells are below e^{−90} of these
    x = 4 * 20.0 / 9
    corners = -50.0 * (math.exp(-(x / 3.0) ** 2) + math.exp(-((20.0 - x) / 3.0) ** 2)) ** 3
    assert sc.U[4, 4, 4] == pytest.approx(corners, rel=1e-12)
    assert sc.U[0, 0, 0] == pytest.approx(-50.0, abs=1e-13)
    with pytest.raises(InputError, match="even number"):
        Fields.gaussian_wells(9, 20.0, depth=50.0, radius=3.0, lattice="bcc")
    with pytest.raises(InputError, match="lattice"):
        Fields.gaussian_wells(8, 20.0, depth=50.0, radius=3.0, lattice="hcp")
    fcc = Fields.gaussian_wells(10, 20.0, depth=50.0, radius=3.0, lattice="fcc")
    # the four fcc sites are equivalent; the body centre (5, 5, 5) is not a site
    for site in ((0, 5, 5), (5, 0, 5), (5, 5, 0)):
        assert fcc.U[site] == pytest.approx(fcc.U[0, 0, 0], abs=1e-12)
    assert fcc.U[0, 0, 0] == pytest.approx(fcc.U.min()) and fcc.U[5, 5, 5] > -1.0


def test_fields_are_frozen_and_read_only():
    f = _fields()
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'a'"):
        f.a = 3.0
    with pytest.raises(ValueError, match="assignment destination is read-only"):
        f.U[0, 0, 0] = 1.0


@pytest.mark.parametrize("change, message", [
    (dict(U=np.full((6, 6, 6), np.nan)), r"field U contains NaN"),
    (dict(B=np.full((6, 6, 6), np.inf)), r"field B contains NaN or infinite"),
    (dict(B=-np.ones((6, 6, 6))), r"field B .* must be > 0"),
    (dict(B=np.zeros((6, 6, 6))), r"field B .* must be > 0"),
    (dict(U=np.zeros((6, 6, 5))), r"non-cubic grid"),
    (dict(U=np.zeros((6, 6))), r"field U must be a 3D array"),
    (dict(B=np.ones((5, 5, 5))), r"field B has shape \(5, 5, 5\), expected \(6, 6, 6\)"),
    (dict(I=np.zeros((2, 6, 6, 6))), r"field I has shape"),
    (dict(I=np.full((3, 6, 6, 6), np.nan)), r"field I contains NaN"),
    (dict(Delta=np.zeros((6, 6, 7))), r"field Delta has shape"),
    (dict(a=0.0), r"cell side a"),
    (dict(a=-1.0), r"cell side a"),
    (dict(U=1j * np.ones((6, 6, 6))), r"field U must be real"),
])
def test_validation_errors_name_the_field(change, message):
    f = _fields()
    with pytest.raises(InputError, match=message):
        f.replace(**change)


@pytest.mark.mpi
def test_hdf5_round_trip(comm, shared_tmp_path):
    f = _fields()
    path = shared_tmp_path / "fields.h5"
    f.write(path, comm)
    comm.Barrier()
    g = Fields.read(path, comm)
    for name in ("U", "B", "I", "Delta"):
        np.testing.assert_array_equal(getattr(g, name), getattr(f, name))
    assert g.a == f.a and g.provenance == {"code": "test", "layer": "7"}
    if comm.rank == 0:
        with h5py.File(path, "r") as h:
            assert h.attrs["format"] == "crustsolve-fields" and h.attrs["version"] == 1
            assert h.attrs["grid_points"] == 6 and h.attrs["cell_side_fm"] == 9.0
            assert h["B"].attrs["units"] == "MeV fm^2" and h["I"].attrs["units"] == "MeV fm"
    # optional fields may be absent
    p2 = shared_tmp_path / "plain.h5"
    Fields.uniform(6, 9.0).write(p2, comm)
    comm.Barrier()
    u = Fields.read(p2, comm)
    assert u.I is None and u.Delta is None


def _corrupt(path, name, value):
    with h5py.File(path, "r+") as h:
        h[name][...] = value


@pytest.mark.mpi
@pytest.mark.parametrize("name, value, message", [
    ("U", np.nan, "field U contains NaN"),
    ("B", -1.0, "field B .* must be > 0"),
    ("I", np.inf, "field I contains NaN or infinite"),
])
def test_bad_field_file_raises_on_every_rank(comm, shared_tmp_path, name, value, message):
    path = shared_tmp_path / f"bad_{name}.h5"
    _fields().write(path, comm)
    if comm.rank == 0:
        _corrupt(path, name, value)
    comm.Barrier()
    with pytest.raises(InputError, match=message):
        Fields.read(path, comm)


@pytest.mark.mpi
def test_bad_file_structure_raises_on_every_rank(comm, shared_tmp_path):
    path = shared_tmp_path / "wrong.h5"
    nofile = shared_tmp_path / "missing.h5"
    if comm.rank == 0:
        with h5py.File(path, "w") as h:
            h.attrs["format"] = "crustsolve-fields"
            h.attrs["version"] = 1
            h.attrs["cell_side_fm"] = 10.0
            h.create_dataset("U", data=np.zeros((4, 4, 5))).attrs["units"] = "MeV"
            h.create_dataset("B", data=np.ones((4, 4, 5))).attrs["units"] = "MeV fm^2"
    comm.Barrier()
    with pytest.raises(InputError, match="non-cubic"):
        Fields.read(path, comm)
    with pytest.raises(InputError, match="cannot read field file"):
        Fields.read(nofile, comm)
    if comm.rank == 0:
        with h5py.File(path, "r+") as h:
            h["U"].attrs["units"] = "keV"
    comm.Barrier()
    with pytest.raises(InputError, match="units"):
        Fields.read(path, comm)


@pytest.mark.mpi
@pytest.mark.parametrize("n", (6, 7))
def test_grid_layout_scatter_gather(comm, n):
    grid = Grid(n, 10.0, comm=comm)
    try:
        assert grid.h == pytest.approx(10.0 / n)
        # the PETSc index map agrees with the DMDA's own application ordering (AO)
        ao = grid.da.getAO()
        import petsc4py.PETSc as PETSc  # noqa: PLC0415 - already initialised by Grid
        nat = np.arange(grid.size, dtype=PETSc.IntType)
        ix, iy, iz = nat % n, (nat // n) % n, nat // (n * n)
        np.testing.assert_array_equal(ao.app2petsc(nat.copy()), grid.petsc_index[ix, iy, iz])
        arr = np.random.default_rng(0).normal(size=(n,) * 3) + 1j
        v = grid.scatter(arr)
        assert v.getOwnershipRange() == grid.ownership_range
        np.testing.assert_array_equal(grid.gather(v), arr)
        # a Vec filled through getVecArray (DMDA natural indexing) gathers to the same thing
        w = grid.create_vec()
        (xs, xe), (ys, ye), (zs, ze) = grid.local_box
        grid.da.getVecArray(w)[xs:xe, ys:ye, zs:ze] = arr[xs:xe, ys:ye, zs:ze]
        np.testing.assert_array_equal(grid.gather(w), arr)
        np.testing.assert_array_equal(grid.from_petsc_order(grid.to_petsc_order(arr)), arr)
        xyz = grid.coordinates()
        assert xyz.shape == (3, n, n, n) and xyz[1, 0, 2, 0] == pytest.approx(2 * grid.h)
        v.destroy()
        w.destroy()
    finally:
        grid.destroy()


@pytest.mark.mpi
def test_grid_bad_input(comm):
    with pytest.raises(InputError, match="cell side a"):
        Grid(8, -1.0, comm=comm)
    with pytest.raises(InputError, match="grid points per side"):
        Grid(1, 10.0, comm=comm)
    with pytest.raises(InputError, match="integer"):
        Grid(8.5, 10.0, comm=comm)
    with pytest.raises(InputError, match="integer"):
        Grid("eight", 10.0, comm=comm)
    with pytest.raises(InputError, match="stencil width 7 exceeds"):
        Grid(6, 10.0, comm=comm, stencil_width=7)
