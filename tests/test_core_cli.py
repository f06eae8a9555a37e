"""``crustsolve core`` in-process: the done-when output, files, and clear input errors."""
from __future__ import annotations

import csv

import pytest

from crustsolve.cli import main


def test_done_when_bsk24_single_density(capsys):
    assert main(["core", "--functional", "BSk24", "--density", "0.16"]) == 0
    out = capsys.readouterr().out
    for label in ("y_p", "m_n⊕/m", "m_p⊕/m", "ρ_np/ρ", "ε_n", "ε_p", "m_n*/m", "m_p*/m", "Φ*/Φ₀"):
        assert label in out, label
    values = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            values.setdefault(parts[0], parts[1])
    assert float(values["y_p"]) == pytest.approx(0.04847, abs=1e-5)
    assert float(values["ρ_np/ρ"]) == pytest.approx(-0.01882, abs=1e-5)
    assert float(values["Φ*/Φ₀"]) == pytest.approx(-0.2797, abs=1e-4)


@pytest.mark.mpi
def test_density_range_files(shared_tmp_path, comm, capsys):
    csv_path = shared_tmp_path / "core.csv"
    h5_path = shared_tmp_path / "core.h5"
    png_path = shared_tmp_path / "core.png"
    rc = main(["core", "--functional", "SLy4", "--density-range", "0.1", "0.5", "5",
               "--temperature", "0.02", "--tc-n", "0.1", "--gap-p", "0.5",
               "--csv", str(csv_path), "--h5", str(h5_path), "--plot", str(png_path)])
    assert rc == 0
    if comm.rank == 0:
        out = capsys.readouterr().out
        assert "Φ*/Φ₀" in out and "Y_p" in out
        with open(csv_path, encoding="utf-8") as fh:
            rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
        assert len(rows) == 5
        assert float(rows[0]["n"]) == pytest.approx(0.1)
        assert float(rows[-1]["n"]) == pytest.approx(0.5)
        assert float(rows[2]["rhoT_np_over_rho"]) > float(rows[2]["rho_np_over_rho"])
        import h5py

        from crustsolve.results import read_provenance

        with h5py.File(h5_path, "r") as fh:
            assert fh["core/flux_ratio"].shape == (5,)
            assert fh["core/n"].attrs["units"] == "fm^-3"
        prov = read_provenance(h5_path)
        assert prov["config"]["functional"] == "SLy4"
        assert prov["config"]["temperature"] == 0.02
        assert png_path.stat().st_size > 1000
    comm.Barrier()


def test_fixed_proton_fraction(capsys):
    assert main(["core", "--functional", "BSk22", "--density", "0.3",
                 "--proton-fraction", "0.1", "--masses", "bare"]) == 0
    out = capsys.readouterr().out
    assert "fixed proton fraction" in out and "y_e" not in out.split("\n", 1)[1]


@pytest.mark.parametrize("argv,message", [
    (["--functional", "BSk99", "--density", "0.16"], "available functionals: BSk22"),
    (["--density", "-0.1"], "--density"),
    (["--density", "0.16", "--proton-fraction", "1.5"], "--proton-fraction"),
    (["--density", "0.16", "--temperature", "-1"], "--temperature"),
    (["--density", "0.16", "--temperature", "0.1"], "gaps"),
    (["--density-range", "0.1", "0.2", "2.5"], "NUM"),
])
def test_bad_input_gives_clear_error(argv, message, capsys):
    assert main(["core", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err


def test_gaps_at_t0_give_landau_velocities(capsys):
    assert main(["core", "--density", "0.16", "--gap-n", "1.0", "--gap-p", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "V_L,n/c" in out and "Δ_n(T)" in out
