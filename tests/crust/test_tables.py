"""User-supplied composition tables (28-column format of Pearson et al., MNRAS 481, 2994 (2018)).

Most tests write a small synthetic table from the rows embedded (with citation) in
tests/crust/published.py; one test reads the published file from the directory named by
CRUSTSOLVE_ETFSI_DIR and skips otherwise (the file is never committed).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from crustsolve.crust.tables import COLUMNS, load_table
from crustsolve.errors import InputError
from tests.crust.published import HAVE_TABLE, PUBLISHED_ROWS, TABLE


def _smooth_interpolation(nbar, A, at):
    """A at n̄ = ``at`` from the quadratic in ln n̄ through the three rows nearest to it, and
    the change when the next-nearest row is added (cubic): an estimate of how far any
    reasonable interpolant of the table may lie from the quadratic (written for the test)."""
    x, x0 = np.log(np.asarray(nbar, float)), math.log(at)
    A = np.asarray(A, float)
    near = np.argsort(np.abs(x - x0))[:4]
    quad = np.polyval(np.polyfit(x[near[:3]], A[near[:3]], 2), x0)
    cubic = np.polyval(np.polyfit(x[near], A[near], 3), x0)
    return quad, abs(cubic - quad)


@pytest.fixture()
def small_table(tmp_path, write_crust_table):
    return write_crust_table(tmp_path / "t.dat", [PUBLISHED_ROWS[i] for i in (21, 30, 37, 40)])


def test_unknown_file_needs_functional(small_table):
    with pytest.raises(InputError, match="functional"):
        load_table(small_table)
    t = load_table(small_table, functional="BSk24")
    assert len(t) == 4 and t.functional == "BSk24"


def test_layer_from_row_carries_published_values(small_table):
    t = load_table(small_table, functional="BSk24")
    layer = t.layer(3)
    row = PUBLISHED_ROWS[40]
    assert layer.A == pytest.approx(row["A"]) and layer.Z == 40
    assert layer.e_etf == pytest.approx(row["e_ETF"]) and layer.mu_n == pytest.approx(row["mu_n"])
    assert layer.pressure == pytest.approx(row["P"]) and layer.mu_p == pytest.approx(row["mu_p"])
    # exact: the row's 6-digit values written with %.6E parse back to the same doubles
    assert layer.neutron.C == row["C_n"] and layer.proton.n_B == row["n_B_p"]
    # crustsolve's own ETF energy of the same profiles is attached (within 1 keV here).
    assert abs(layer.energies.total - row["e_ETF"]) < 1e-3
    assert layer.with_lattice("fcc").lattice_constant == pytest.approx(
        (4 * row["A"] / row["nbar"]) ** (1 / 3))


def test_interpolated_layer_is_renormalised(small_table):
    t = load_table(small_table, functional="BSk24")
    layer = t.layer_at(0.025)
    # between rows 37 and 40; measured: PCHIP 1035.16, quadratic 1035.39 ± 0.60
    rows = [PUBLISHED_ROWS[i] for i in (21, 30, 37, 40)]
    want, err = _smooth_interpolation([r["nbar"] for r in rows], [r["A"] for r in rows], 0.025)
    assert layer.A == pytest.approx(want, abs=err)
    assert layer.proton.number() == pytest.approx(40.0, rel=1e-9)
    assert layer.neutron.number() == pytest.approx(layer.A - 40.0, rel=1e-9)
    assert "interpolation" in layer.source
    exact = t.layer_at(PUBLISHED_ROWS[40]["nbar"])
    assert exact.A == pytest.approx(PUBLISHED_ROWS[40]["A"])
    with pytest.raises(InputError, match="outside the table"):
        t.layer_at(0.05)


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_table(tmp_path / "missing.dat")
    bad = tmp_path / "bad.dat"
    bad.write_text("1 2 3\n4 5 6\n")
    with pytest.raises(InputError, match="28"):
        load_table(bad, functional="BSk24")
    txt = tmp_path / "txt.dat"
    txt.write_text("a b c\n")
    with pytest.raises(InputError, match="is not a numeric table"):
        load_table(txt, functional="BSk24")


@pytest.mark.skipif(not HAVE_TABLE, reason="published BSk24 table not available: set "
                    "CRUSTSOLVE_ETFSI_DIR")
def test_published_file_identified_by_sha256():
    t = load_table(TABLE)
    assert t.functional == "BSk24" and len(t) == 74
    with pytest.raises(InputError, match="published BSk24"):
        load_table(TABLE, functional="BSk22")
    layer = t.layer_at(0.03)                       # between rows 39 and 40, Z = 40
    # the rows read directly (not through load_table); measured: PCHIP 1077.0987,
    # quadratic through rows 39–41 1077.0984 ± 0.0036
    raw = np.loadtxt(TABLE)
    want, err = _smooth_interpolation(raw[:, COLUMNS["nbar"]], raw[:, COLUMNS["A"]], 0.03)
    assert layer.Z == 40 and layer.A == pytest.approx(want, abs=err)
    assert layer.proton.number() == pytest.approx(40.0, rel=1e-9)
