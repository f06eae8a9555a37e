"""``crustsolve star`` CLI: table output, CSV, HDF5 with provenance, PNG, clear input errors."""
from __future__ import annotations

import json
import re

import h5py
import numpy as np
import pytest

from crustsolve.cli import star as star_cli
from crustsolve.errors import InputError


def test_star_cli_outputs(tmp_path, assert_png_plot, run_subcommand):
    csv, h5, png = tmp_path / "s.csv", tmp_path / "s.h5", tmp_path / "s.png"
    rc, text = run_subcommand(star_cli, "star", [
        "--functional", "BSk24", "--mass-range", "1.2", "1.6", "2", "--n-radial", "200",
        "--csv", str(csv), "--h5", str(h5), "--plot", str(png)])
    assert rc == 0
    for label in ("M [Msun]", "R [km]", "I [1e45 g cm2]", "ε̃_n", "ε̃_p", "εLT_nn", "εLT_np",
                  "εLT_pn", "εLT_pp", "I_np/I_n", "I_pn/I_p", "M_max"):
        assert label in text
    rows = [ln for ln in csv.read_text().splitlines() if not ln.startswith("#")]
    header = rows[0].split(",")
    data = np.array([[float(v) for v in r.split(",")] for r in rows[1:]])
    assert data.shape == (2, len(header))
    np.testing.assert_allclose(data[:, header.index("mass")], [1.2, 1.6], rtol=1e-6)
    with h5py.File(h5, "r") as fh:
        assert fh["star/I_np_over_I_n"].attrs["units"] == "1"
        assert fh["star/moment_of_inertia"].attrs["units"] == "g cm^2"
        config = json.loads(fh.attrs["config"])
        assert config["eos_transition_density_fm3"] == 0.081    # the documented value
        assert "Pearson" in config["eos_crust_eos"]
        np.testing.assert_allclose(fh["star/mass"][:], [1.2, 1.6], rtol=1e-6)
    assert_png_plot(png)


def test_star_cli_rejects_bad_masses(run_subcommand):
    with pytest.raises(InputError, match=r"--mass = 3\.0 Msun is outside the allowed range "
                                         r"\[0\.5, 2\.279"):
        run_subcommand(star_cli, "star", ["--mass", "3.0"])
    with pytest.raises(InputError, match="--mass"):
        run_subcommand(star_cli, "star", ["--mass", "-1"])
    with pytest.raises(InputError, match="NUM"):
        run_subcommand(star_cli, "star", ["--mass-range", "1", "2", "2.5"])
    with pytest.raises(InputError, match=r"--min-mass"):
        run_subcommand(star_cli, "star", ["--mass", "1.4", "--min-mass", "-1"])


def test_star_through_crustsolve_main(capsys, monkeypatch):
    """Through ``crustsolve.cli.main`` (adds "star" to SUBCOMMANDS if it is not registered)."""
    from crustsolve import cli
    if "star" not in cli.SUBCOMMANDS:
        monkeypatch.setattr(cli, "SUBCOMMANDS", tuple(cli.SUBCOMMANDS) + ("star",))
    assert cli.main(["star", "--mass", "1.4", "--n-radial", "100"]) == 0
    out = capsys.readouterr().out
    # the canonical star of tests/star/test_tov.py (R = 12.59 km, I = 1.58e45 g cm² from an
    # independent computation, same tolerances) and the published M_max = 2.28 M☉
    header, row = out.splitlines()[1:3]
    assert re.match(r"\s*M \[Msun\]\s+R \[km\]\s+I \[1e45 g cm2\]", header) and "I_np/I_n" in header
    mass, radius, inertia = (float(v) for v in row.split()[:3])
    assert mass == pytest.approx(1.4, rel=1e-6)
    assert radius == pytest.approx(12.59, abs=0.05)
    assert inertia == pytest.approx(1.58, rel=0.005)
    assert float(re.search(r"M_max = ([0-9.]+) Msun", out).group(1)) == pytest.approx(2.28, abs=0.006)
    assert cli.main(["star", "--mass", "-5"]) == 2
    assert "--mass = -5.0 Msun is outside the allowed range" in capsys.readouterr().err
