"""Onsi density profiles: derivatives, integrals, and published BSk24 ETFSI rows.

Published values: rows of the BSk24 ETFSI inner-crust table of Pearson et al., MNRAS 481, 2994
(2018), embedded with their citation in ``tests/crust/published.py``; the full table is never
committed — ``examples/validate_etfsi_table.py`` reads it from a path.
"""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crustsolve.crust.profiles import OnsiProfile, shape_integral
from tests.crust.published import HAVE_TABLE, PUBLISHED_ROWS, TABLE


@pytest.mark.parametrize("i", sorted(PUBLISHED_ROWS))
def test_profile_integrals_reproduce_published_Z_N_A(i, profiles):
    row = PUBLISHED_ROWS[i]
    neu, pro = profiles(row)
    # Cluster numbers 4π n_Λ ∫f r² dr: printed to 6 digits.
    assert pro.cluster_number() == pytest.approx(row["Z_cl"], rel=2e-5)
    assert neu.cluster_number() == pytest.approx(row["N_cl"], rel=2e-5)
    # Totals with the backgrounds: Z, N; and (4π/3)R³n̄ = A.
    assert pro.number() == pytest.approx(row["Z"], rel=1e-4)
    assert neu.number() == pytest.approx(row["N"], rel=1e-4)
    assert 4.0 * math.pi / 3.0 * row["R_cell"] ** 3 * row["nbar"] == pytest.approx(row["A"], rel=1e-4)


def test_half_density_radius_and_edge():
    p = OnsiProfile(0.01, 0.08, 7.9, 1.05, 20.46)
    jet = p.shape_jet(np.array([7.9, 20.46 - 1e-3, 20.46 - 1e-9]))
    assert jet[0, 0] == pytest.approx(0.5, abs=1e-14)       # f(C) = 1/2 exactly
    # f and derivatives → 0 at R: exact, the jet is set to 0.0 where g exceeds its cut
    assert np.all(jet[:, 1:] == 0.0)
    assert p.density(np.array([25.0]))[0] == 0.01            # background outside: n_B itself


def test_shape_jet_matches_finite_differences():
    p = OnsiProfile(0.0, 1.0, 7.35, 0.594, 20.46)
    r = np.linspace(0.5, 19.0, 37)
    jet = p.shape_jet(r)
    h = 1e-3
    # 4th-order central differences of each derivative from the one below it.
    for k in range(1, 5):
        fd = (-p.shape_jet(r + 2 * h)[k - 1] + 8 * p.shape_jet(r + h)[k - 1]
              - 8 * p.shape_jet(r - h)[k - 1] + p.shape_jet(r - 2 * h)[k - 1]) / (12 * h)
        scale = np.max(np.abs(jet[k]))
        assert np.max(np.abs(fd - jet[k])) < 1e-8 * max(scale, 1.0)


def test_shape_integral_converged():
    a = shape_integral(7.94, 1.06, 20.46, 2000)
    b = shape_integral(7.94, 1.06, 20.46, 20000)
    assert a == pytest.approx(b, rel=1e-9)


def test_invalid_profile_rejected():
    from crustsolve.errors import InputError
    with pytest.raises(InputError, match=r"0 < C < R; got a = 1.0, C = 25.0, R = 20.0 fm"):
        OnsiProfile(0.0, 0.1, 25.0, 1.0, 20.0)
    with pytest.raises(InputError, match=r"background density n_B = -0.001 fm\^-3 must be >= 0"):
        OnsiProfile(-1e-3, 0.1, 7.0, 1.0, 20.0)


def _script():
    return Path(__file__).resolve().parents[2] / "examples" / "validate_etfsi_table.py"


def test_validation_script_skips_without_path():
    out = subprocess.run([sys.executable, str(_script())], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0
    assert "skipped" in out.stdout.lower()


@pytest.mark.skipif(not HAVE_TABLE, reason="published BSk24 table not available: set "
                    "CRUSTSOLVE_ETFSI_DIR (never committed; CC BY-NC-ND 4.0)")
def test_validation_script_on_full_table():
    out = subprocess.run([sys.executable, str(_script()), str(TABLE)], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "74 rows" in out.stdout
    assert "FAIL" not in out.stdout
