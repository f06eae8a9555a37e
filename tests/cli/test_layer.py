"""``crustsolve layer``: composition printout and field file."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

from crustsolve.bands.fields import Fields
from crustsolve.cli import layer as layer_cli
from crustsolve.errors import InputError
from tests.crust.published import PUBLISHED_ROWS


def test_layer_from_table_writes_field_file(tmp_path, write_crust_table, run_subcommand):
    table = write_crust_table(tmp_path / "t.dat", [PUBLISHED_ROWS[i] for i in (37, 40)])
    out = tmp_path / "f.h5"
    rc, text = run_subcommand(layer_cli, "layer", [
        "--functional", "BSk24", "--density", "0.030024", "--table", str(table),
        "--spacing", "1.3", "--out", str(out)])
    assert rc == 0 and "A = 1077.27" in text and "table" in text
    f = Fields.read(str(out))
    # bcc cube: 2 cells of A/n̄ each, the table row's values
    assert f.n == 32 and f.a == pytest.approx((2 * 1077.27 / 0.0300237) ** (1 / 3), rel=1e-5)
    assert sorted(os.listdir(tmp_path)) == ["f.h5", "t.dat"]
    with pytest.raises(InputError, match="outside the table"):
        run_subcommand(layer_cli, "layer", ["--density", "0.05", "--table", str(table),
                                            "--out", str(tmp_path / "g.h5")])
    assert not (tmp_path / "g.h5").exists()


def test_layer_minimisation_cli(tmp_path, assert_png_plot, run_subcommand):
    out = tmp_path / "f.h5"
    png = tmp_path / "f.png"
    rc, text = run_subcommand(layer_cli, "layer", [
        "--functional", "BSk24", "--density", "0.03", "--points", "24",
        "--lattice", "fcc", "--gap", "0.5", "--out", str(out), "--plot", str(png)])
    assert rc == 0
    assert "Z = 40" in text and "fcc" in text
    # A of the published BSk24 row at n̄ = 0.0300237 (0.5 %, as for the minimisation itself;
    # the 8e-4 lower density moves A by 0.02 %)
    A = float(re.search(r"A = ([0-9.]+)", text).group(1))
    assert A == pytest.approx(PUBLISHED_ROWS[40]["A"], rel=5e-3)
    f = Fields.read(str(out))
    assert f.n == 24 and np.all(f.Delta == 0.5)     # the constant gap as given
    assert f.provenance["lattice"] == "fcc"
    # fcc cube: 4 cells of A/n̄ each (A printed to 6 digits)
    assert f.a == pytest.approx((4 * A / 0.03) ** (1 / 3), rel=1e-5)
    assert_png_plot(png)
    assert sorted(os.listdir(tmp_path)) == ["f.h5", "f.png"]


@pytest.mark.parametrize("density", ["1e-5", "0.1"])
def test_density_outside_crust_is_an_input_error(tmp_path, density, run_subcommand):
    out = tmp_path / "f.h5"
    with pytest.raises(InputError, match="inner crust"):
        run_subcommand(layer_cli, "layer", ["--density", density, "--out", str(out)])
    assert not out.exists()
