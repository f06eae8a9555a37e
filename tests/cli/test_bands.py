"""``crustsolve bands`` end to end, the k-group driver and the memory estimate.

Reference energies come from a dense numpy diagonalisation of the gathered matrix of the
BlochHamiltonian on COMM_SELF — independent of the eigensolver, driver and layout code
under test.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from crustsolve.bands import BlochHamiltonian, Fields, Grid, gather_dense
from crustsolve.bands.bandstructure import SolverSettings, compute_bands
from crustsolve.bands.kmesh import KMesh, kpath
from crustsolve.bands.memory import estimate_memory, nnz_per_row_for_order
from crustsolve.cli import main
from crustsolve.bands.kmesh import field_symmetry_error
from crustsolve.cli.bands import read_bands
from crustsolve.errors import ConvergenceError, InputError
from crustsolve.parallel import Layout

N, A, V = 8, 16.0, -6.0
NEV = 10


def dense_reference(fields, kpts, nev, order=4):
    from mpi4py import MPI

    grid = Grid(fields.n, fields.a, comm=MPI.COMM_SELF)
    H = BlochHamiltonian(grid, fields, order=order)
    out = []
    try:
        for k in kpts:
            M = H.matrix(k)
            out.append(np.linalg.eigvalsh(gather_dense(grid, M))[:nev])
            M.destroy()
    finally:
        H.destroy()
        grid.destroy()
    return np.array(out)


@pytest.fixture
def cosine_file(comm, shared_tmp_path):
    path = shared_tmp_path / "cos.h5"
    Fields.separable_cosine(N, A, V).write(str(path), comm=comm)
    comm.Barrier()
    return path


@pytest.mark.mpi
@pytest.mark.parametrize("solver", ["krylovschur", "chebyshev", "lapack"])
def test_cli_mesh_matches_dense(comm, cosine_file, shared_tmp_path, capsys, solver):
    out = shared_tmp_path / f"bands_{solver}.h5"
    rc = main(["bands", str(cosine_file), "--order", "4", "--nev", str(NEV), "--kmesh", "3",
               "--solver", solver, "--tol", "1e-9", "--out", str(out)])
    assert rc == 0
    data = read_bands(str(out)) if comm.rank == 0 else None
    data = comm.bcast(data, root=0)
    ref = dense_reference(Fields.separable_cosine(N, A, V), data["kpoints"], NEV)
    np.testing.assert_allclose(data["energies"], ref, atol=1e-8)
    assert data["energies"].shape == (4, NEV)          # 3³ Γ-centred mesh → 4 IBZ points
    assert data["multiplicities"].sum() == 27
    assert math.fsum(data["weights"]) == pytest.approx(1.0)
    assert np.all(data["residuals"] <= 1e-9)
    assert data["config"]["kpoints"]["symmetry"] == "Oh"
    if comm.rank == 0:
        text = capsys.readouterr().out
        assert "memory estimate per k-group" in text and "layout:" in text
        assert "max res" in text and "[k 4/4]" in text


@pytest.mark.mpi
def test_cli_path_plot_and_kgroups(comm, cosine_file, shared_tmp_path, assert_png_plot):
    out = shared_tmp_path / "path.h5"
    png = shared_tmp_path / "path.png"
    rc = main(["bands", str(cosine_file), "--order", "4", "--nev", "6", "--kpath", "GXMR",
               "--points", "2", "--kgroups", str(comm.size), "--out", str(out), "--plot", str(png)])
    assert rc == 0
    data = comm.bcast(read_bands(str(out)) if comm.rank == 0 else None, root=0)
    path = kpath(A, "GXMR", 2)
    np.testing.assert_allclose(data["kpoints"], path.points)
    np.testing.assert_allclose(data["path_distance"], path.distance)
    ref = dense_reference(Fields.separable_cosine(N, A, V), path.points, 6)
    np.testing.assert_allclose(data["energies"], ref, atol=1e-7)
    if comm.rank == 0:
        assert_png_plot(png)


@pytest.mark.mpi
def test_cli_options_pass_through(comm, cosine_file, shared_tmp_path):
    from crustsolve.petsc_env import init_petsc

    PETSc, _ = init_petsc()
    out = shared_tmp_path / "opts.h5"
    try:
        rc = main(["bands", str(cosine_file), "--order", "4", "--nev", "4", "--out", str(out),
                   "-crust_eps_type", "lapack"])
        assert rc == 0
        data = comm.bcast(read_bands(str(out)) if comm.rank == 0 else None, root=0)
        assert data["config"]["eps_type_used"] == "lapack"
        assert data["config"]["petsc_args"] == ["-crust_eps_type", "lapack"]
    finally:
        PETSc.Options().delValue("crust_eps_type")


@pytest.mark.mpi
def test_cli_errors_exit_2(comm, cosine_file, shared_tmp_path, capsys):
    out = str(shared_tmp_path / "x.h5")
    cos = str(cosine_file)
    cases = [
        ([cos, "--nev", str(N**3 + 1)], "--nev 513: the grid has only 512 points (n = 8)"),
        ([str(shared_tmp_path / "missing.h5")], "cannot read field file"),
        ([cos, "--kmesh", "0"], "--kmesh = 0 is outside the allowed range [1, inf)"),
        ([cos, "--kpath", "GQ"], "k path 'GQ' must be at least two of the letters"),
        ([cos, "--tol", "nan"], "--tol: tol = nan is outside the allowed range (0, 0.001]"),
        ([cos, "--order", "12"], "n = 8 points per side, but order 12 needs n ≥ 23"),
        ([cos, "--nev", "10", "--max-it", "1", "--tol", "1e-12"],
         "0 of 10 eigenpairs converged to tol 1e-12 after 1 iterations"),
    ]
    for args, message in cases:
        argv = ["bands", *args, "--out", out]
        if "--order" not in args:
            argv += ["--order", "4"]
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        if comm.rank == 0:     # the CLI reports on rank 0
            assert message in err, (argv, err)


@pytest.mark.mpi
def test_driver_groups_do_not_change_results(comm):
    fields = Fields.separable_cosine(N, A, V)
    km = KMesh.monkhorst_pack(2, A, shift=True)
    seen = []
    results = []
    for ngroups in sorted({1, comm.size}):
        layout = Layout.create(comm, ngroups=ngroups)
        try:
            data = compute_bands(fields, km, SolverSettings(nev=NEV, tol=1e-10), layout, order=4,
                                 progress=lambda st: seen.append((st.done, st.total)))
        finally:
            layout.free()
        results.append(data)
        assert sorted(set(data.groups.tolist())) == list(range(min(ngroups, km.nk)))
    ref = dense_reference(fields, km.points, NEV)
    for data in results:
        np.testing.assert_allclose(data.energies, ref, atol=1e-9)
        assert data.max_residual <= 1e-10
    assert seen[-1] == (km.nk, km.nk)


@pytest.mark.mpi
def test_driver_chebyshev_warm_start_along_a_path(comm):
    """Chebyshev along a k-path: each k starts from the previous one of the group's chunk.
    Warm and cold runs give the dense energies; warm starts save filter passes."""
    fields = Fields.gaussian_wells(12, A, depth=40.0, radius=3.0, lattice="bcc")
    path = kpath(A, "GX", 4)
    runs = {}
    for warm in (True, False):
        layout = Layout.create(comm, ngroups=1)
        try:
            runs[warm] = compute_bands(
                fields, path, SolverSettings(kind="chebyshev", nev=NEV, tol=1e-10,
                                             warm_start=warm), layout, order=4)
        finally:
            layout.free()
    ref = dense_reference(fields, path.points, NEV)
    for data in runs.values():
        np.testing.assert_allclose(data.energies, ref, atol=1e-8)
        assert data.max_residual <= 1e-10
    assert runs[True].iterations[0] == runs[False].iterations[0]      # k0 is cold in both
    assert runs[True].iterations[1:].sum() < runs[False].iterations[1:].sum()


@pytest.mark.mpi
def test_driver_raises_on_every_rank(comm):
    fields = Fields.separable_cosine(N, A, V)
    layout = Layout.create(comm, ngroups=comm.size)
    try:
        with pytest.raises(ConvergenceError, match="k point #"):
            compute_bands(fields, KMesh.full(2, A), SolverSettings(nev=NEV, tol=1e-13, max_it=1),
                          layout, order=4)
        with pytest.raises(InputError, match="k points"):
            compute_bands(fields, np.array([[0.0, np.nan, 0.0]]), SolverSettings(nev=4), layout,
                          order=4)
        with pytest.raises(InputError, match="exceeds"):
            compute_bands(fields, np.array([[10.0, 0.0, 0.0]]), SolverSettings(nev=4), layout,
                          order=4)
        with pytest.raises(InputError, match="only 512 points"):
            compute_bands(fields, KMesh.full(1, A), SolverSettings(nev=600), layout, order=4)
        loose = compute_bands(fields, KMesh.full(1, A),
                              SolverSettings(nev=NEV, tol=1e-13, max_it=1, allow_unconverged=True),
                              layout, order=4)
        assert loose.energies.shape == (1, NEV)
    finally:
        layout.free()


@pytest.mark.mpi
def test_cli_reduces_by_the_subgroup_the_fields_have(comm, shared_tmp_path, capsys):
    """U = V cos(2πx/a) keeps D_4h (16 operations): the shifted 4³ mesh has 6 irreducible
    points (|J_x| ∈ {1, 3}, an unordered pair |J_y|, |J_z|), not 32 (time reversal alone) or
    1 (O_h); energies against the dense reference; --symmetry oh is refused by name."""
    from crustsolve.constants import HBAR2_2MN
    x = np.arange(N) * A / N
    U = np.broadcast_to(V * np.cos(2 * np.pi * x / A)[:, None, None], (N,) * 3).copy()
    path = shared_tmp_path / "cosx.h5"
    f = Fields(U=U, B=np.full((N,) * 3, HBAR2_2MN), a=A)
    f.write(str(path), comm=comm)
    comm.Barrier()
    out = shared_tmp_path / "bands_cosx.h5"
    args = ["bands", str(path), "--order", "4", "--nev", str(NEV), "--kmesh", "4", "--shift",
            "--solver", "lapack"]
    assert main(args + ["--out", str(out)]) == 0
    data = comm.bcast(read_bands(str(out)) if comm.rank == 0 else None, root=0)
    assert data["energies"].shape == (6, NEV) and data["multiplicities"].sum() == 64
    assert data["config"]["kpoints"]["symmetry"] == "order-16 subgroup of Oh"
    np.testing.assert_allclose(data["energies"], dense_reference(f, data["kpoints"], NEV),
                               atol=1e-8)
    capsys.readouterr()
    assert main(args + ["--symmetry", "oh", "--out", str(shared_tmp_path / "x.h5")]) == 2
    if comm.rank == 0:
        err = capsys.readouterr().err
        assert "--symmetry oh requested but the fields are not O_h invariant" in err


def test_symmetry_check_of_fields():
    from crustsolve.bands.kmesh import oh_operations

    ops = oh_operations()
    assert field_symmetry_error(Fields.separable_cosine(N, A, V), ops) < 1e-12
    f = Fields.separable_cosine(N, A, V)
    U = np.array(f.U)
    U[1, 2, 3] += 1.0
    # the image of (1, 2, 3) under a permutation differs by the added 1 MeV; max|U| = 3|V|
    # (U(1, 2, 3) = V(cos π/4 + cos π/2 + cos 3π/4) + 1 = 1)
    assert field_symmetry_error(f.replace(U=U), ops) == pytest.approx(1.0 / (3 * abs(V)),
                                                                      rel=1e-12)


def test_memory_estimate():
    assert nnz_per_row_for_order(2) == 7 and nnz_per_row_for_order(4) == 19
    with pytest.raises(InputError, match="stencil order must be an even integer ≥ 2, got 3"):
        nnz_per_row_for_order(3)
    npts = 32**3
    est = estimate_memory(npts, 19, 500)
    assert est.ncv == 525 + 263  # nev + buffer + default_mpd
    assert est.matrix_bytes == npts * 19 * 20 + (npts + 1) * 4
    assert est.basis_bytes == npts * (est.ncv + 4) * 16
    assert est.projected_bytes == 4 * est.ncv**2 * 16
    assert est.per_rank_bytes(4) < est.per_rank_bytes(1) == est.group_bytes
    assert estimate_memory(npts, 19, 1000).group_bytes > est.group_bytes
    dense = estimate_memory(16**3, 19, 50, kind="lapack")
    assert dense.root_bytes == 3 * 16**6 * 16
    assert dense.per_rank_bytes(8) > dense.root_bytes
    assert set(est.describe(2)) >= {"group_total_GB", "per_rank_GB", "ncv"}
    with pytest.raises(InputError, match="eigensolver kind = 'arpack' is not one of"):
        estimate_memory(100, 7, 10, kind="arpack")
    # Chebyshev: blocks of nb = nev + ⌈0.15 nev⌉ columns (X, Y, Z, TSQR work, warm start)
    cheb = estimate_memory(npts, 19, 1000, kind="chebyshev")
    assert cheb.ncv == 1150
    assert cheb.basis_bytes + cheb.eigenvector_bytes >= 5 * npts * 1150 * 16
    assert cheb.projected_bytes == 5 * 1150**2 * 16   # replicated, ≪ the blocks


def test_multiplicity_check_policy():
    G = 2 * math.pi / A
    auto = SolverSettings(nev=4)
    assert auto.verify_at([0, 0, 0], A) and auto.verify_at([0.5 * G, 0.1 * G, 0.2 * G], A)
    assert not auto.verify_at([0.31 * G, 0.17 * G, 0.07 * G], A)
    assert SolverSettings(multiplicity_check="always").verify_at([0.31 * G, 0.17 * G, 0.07 * G], A)
    assert not SolverSettings(multiplicity_check="never").verify_at([0, 0, 0], A)
    with pytest.raises(InputError, match="multiplicity_check"):
        SolverSettings(multiplicity_check="sometimes")


@pytest.mark.mpi
def test_driver_degenerate_zone_face_of_folded_bcc(comm):
    """bcc wells in the conventional cube: on the sc zone face every band is 2-fold degenerate
    (folding), although the little group there has order 2 only; R has larger multiplets.
    The driver must return every copy (multiplicity check in "auto" mode)."""
    fields = Fields.gaussian_wells(10, A, 40.0, 2.5, lattice="bcc")
    G = 2 * math.pi / A
    km = KMesh.explicit(np.array([[0.5, 0.17, 0.07], [0.5, 0.5, 0.5]]) * G, A)
    layout = Layout.create(comm, ngroups=1)
    try:
        data = compute_bands(fields, km, SolverSettings(nev=12, tol=1e-10), layout, order=4)
    finally:
        layout.free()
    ref = dense_reference(fields, km.points, 12)
    # pairs on the face: exact degeneracy of the folded bands, to dense round-off
    np.testing.assert_allclose(ref[0][0::2], ref[0][1::2], rtol=0, atol=1e-9)
    np.testing.assert_allclose(data.energies, ref, atol=1e-8)
