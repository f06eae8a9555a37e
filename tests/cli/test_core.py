"""``crustsolve core`` in-process: the done-when output, files, and clear input errors."""
from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from crustsolve.cli import main
from crustsolve.constants import HBARC, M_N_C2, M_P_C2


def _values(out):
    """{label: number} from the first two columns of the printed single-density table."""
    values = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2:
            values.setdefault(parts[0], parts[1])
    return values


def test_done_when_bsk24_single_density(capsys):
    assert main(["core", "--functional", "BSk24", "--density", "0.16"]) == 0
    out = capsys.readouterr().out
    for label in ("y_p", "m_n⊕/m", "m_p⊕/m", "ρ_np/ρ", "ε_n", "ε_p", "m_n*/m", "m_p*/m", "Φ*/Φ₀"):
        assert label in out, label
    values = _values(out)
    assert float(values["y_p"]) == pytest.approx(0.04847, abs=1e-5)
    assert float(values["ρ_np/ρ"]) == pytest.approx(-0.01882, abs=1e-5)
    assert float(values["Φ*/Φ₀"]) == pytest.approx(-0.2797, abs=1e-4)


@pytest.mark.mpi
def test_density_range_files(shared_tmp_path, comm, capsys, assert_png_plot, matrix_by_iteration):
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
        # ρ̂(T) of the n = 0.3 row against the self-consistent current equations iterated in
        # tests/core/test_finite_t.py (independent of the matrix formula), at the row's composition
        # and 𝒴_q; the CSV holds full precision, the iteration converges to 1e-15
        r = {key: float(val) for key, val in rows[2].items()}
        n_n, n_p = r["n"] * (1 - r["y_p"]), r["n"] * r["y_p"]
        rho = 0.5 * (M_N_C2 + M_P_C2) * r["n"]          # masses "common"
        ref = matrix_by_iteration("SLy4", n_n, n_p, r["Y_n"], r["Y_p"]) / rho
        got = [[r["rhoT_nn_over_rho"], r["rhoT_np_over_rho"]],
               [r["rhoT_np_over_rho"], r["rhoT_pp_over_rho"]]]
        np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-12)
        import h5py

        from crustsolve.results import read_provenance

        with h5py.File(h5_path, "r") as fh:
            assert fh["core/flux_ratio"].shape == (5,)
            assert fh["core/n"].attrs["units"] == "fm^-3"
        prov = read_provenance(h5_path)
        assert prov["config"]["functional"] == "SLy4"
        assert prov["config"]["temperature"] == 0.02
        assert_png_plot(png_path)
    comm.Barrier()


def test_fixed_proton_fraction(capsys):
    assert main(["core", "--functional", "BSk22", "--density", "0.3",
                 "--proton-fraction", "0.1", "--masses", "bare"]) == 0
    out = capsys.readouterr().out
    assert "fixed proton fraction" in out and "y_e" not in out.split("\n", 1)[1]
    v = {key: float(val) for key, val in _values(out).items() if key in ("y_p", "ρ_nn/ρ", "ρ_np/ρ")}
    assert v["y_p"] == 0.1     # printed back as given
    # bare masses break the Galilean sum rule ρ_nn + ρ_np = m_n n_n by ρ_np (1 − m_n/m_p)
    # (ρ = m_n n_n + m_p n_p); the printed 6 digits leave ≤ 1.5e-6 of rounding in the left
    # side, against a breaking of 1e-4 (exactly 0 with common masses)
    n_n, n_p = 0.3 * 0.9, 0.3 * 0.1
    x_n = M_N_C2 * n_n / (M_N_C2 * n_n + M_P_C2 * n_p)
    assert v["ρ_nn/ρ"] + v["ρ_np/ρ"] - x_n == pytest.approx(v["ρ_np/ρ"] * (1 - M_N_C2 / M_P_C2),
                                                          abs=1.5e-6)


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
    v = _values(out)
    # T = 0: Δ_q(T) = Δ_q(0), printed back
    assert float(v["Δ_n(T)"]) == pytest.approx(1.0) and float(v["Δ_p(T)"]) == pytest.approx(0.5)
    # V_L,q = Δ_q/(ħc k_Fq), k_Fq from y_p = 0.04847 of the BSk24 reference table in
    # tests/core/test_entrainment.py (rounded to 5e-6: 1e-4 relative in n_p, so 3.4e-5 in k_Fp,
    # 2e-6 in k_Fn; the printout has 6 digits)
    y_p = 0.04847
    k_n = (3 * math.pi**2 * 0.16 * (1 - y_p)) ** (1 / 3)
    k_p = (3 * math.pi**2 * 0.16 * y_p) ** (1 / 3)
    assert float(v["V_L,n/c"]) == pytest.approx(1.0 / (HBARC * k_n), rel=1e-5)
    assert float(v["V_L,p/c"]) == pytest.approx(0.5 / (HBARC * k_p), rel=5e-5)
