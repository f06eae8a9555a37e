"""ETF energy of a Wigner–Seitz cell and the composition minimisation (issue #6).

Published values: BSk24 ETFSI table of Pearson et al., MNRAS 481, 2994 (2018) (rows embedded in
tests/test_crust_profiles.py with the citation). Expected numbers are never computed by the
code under test.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from crustsolve.constants import HBARC, M_E_C2
from crustsolve.crust import composition as comp
from crustsolve.errors import ConvergenceError, InputError
from test_crust_profiles import PUBLISHED_ROWS, profiles


def _e(i, **kw):
    row = PUBLISHED_ROWS[i]
    neu, pro = profiles(row)
    return comp.cell_energy("BSk24", row["nbar"], row["Z"], neu, pro, **kw), row


@pytest.mark.parametrize("i", [40, 50, 60])
def test_tabulated_profiles_energy_within_1keV(i):
    """e_ETF of the published profiles within 1 keV/nucleon (n̄ = 0.030, 0.0666, 0.0687 fm⁻³).

    Measured: +0.80, +0.32, +0.34 keV (an independent evaluation in crust-composition.md §2.8
    found +0.8 and +0.25 keV with the same conventions).
    """
    en, row = _e(i)
    assert abs(en.total - row["e_ETF"]) < 1.0e-3


#: Rows with 3e-3 ≤ n̄ < 0.025 fm⁻³, where the issue's 1 keV target is NOT met.
LOW_ROWS = [21, 30, 37]


@pytest.mark.parametrize("i", LOW_ROWS)
@pytest.mark.xfail(strict=True, reason="issue #6 target e_ETF within 1 keV for n̄ ≥ 3e-3 not met "
                   "below n̄ ≈ 0.025: measured +2.79 (3.2e-3), +1.64 (9.2e-3), +1.12 keV (0.021); "
                   "the excess is 1.01 % of E_C in every row (Coulomb convention of the Brussels "
                   "code unresolved, crust-composition.md §2.8)")
def test_tabulated_profiles_energy_within_1keV_low_density(i):
    en, row = _e(i)
    assert abs(en.total - row["e_ETF"]) < 1.0e-3


@pytest.mark.parametrize("i", [0] + LOW_ROWS)
def test_tabulated_profiles_energy_deviation_is_one_percent_of_coulomb(i):
    """LOOSER BOUND, stated on purpose: for n̄ < 0.025 the deviation from the table is not within
    1 keV but is a fixed 1.01 % of the Coulomb energy per nucleon in every row (drip: +14.2 keV
    = 1.011 % of 1.399 MeV). This test pins that systematic (0.95–1.10 % of E_C, i.e. ≤ 3 keV
    above 3e-3) so any other change of the energy is caught; see the xfail test above."""
    en, row = _e(i)
    dev = en.total - row["e_ETF"]
    assert 0.0095 < dev / en.coulomb < 0.0110
    if row["nbar"] >= 3e-3:
        assert abs(dev) < 3.0e-3


def test_energy_converged_in_radial_grid():
    a, _ = _e(40, npts=comp.DEFAULT_RADIAL_POINTS)
    b, _ = _e(40, npts=8 * comp.DEFAULT_RADIAL_POINTS)
    assert abs(a.total - b.total) < 1e-6           # < 1 eV/nucleon
    c, _ = _e(0, npts=comp.DEFAULT_RADIAL_POINTS)
    d, _ = _e(0, npts=8 * comp.DEFAULT_RADIAL_POINTS)
    assert abs(c.total - d.total) < 2e-5           # drip cell R = 49.5 fm: < 20 eV


def test_energy_parts_add_up_and_second_order_is_lower():
    en, row = _e(40)
    parts = (en.nuclear + en.coulomb + en.electron_kinetic + en.electron_exchange
             + en.rest_mass_offset + en.shell)
    assert en.total == pytest.approx(parts, abs=1e-12)
    # §2.8: 2nd-order ETF is 5.5 keV lower than 4th order at n̄ = 0.03 (independent evaluation).
    e2, _ = _e(40, order=2)
    assert (e2.total - en.total) * 1e3 == pytest.approx(-6.3, abs=1.0)


@pytest.mark.parametrize("i", [0, 21, 40, 50])
def test_edge_pressure_reproduces_published_P(i):
    row = PUBLISHED_ROWS[i]
    P = comp.edge_pressure("BSk24", row["Z"], row["R_cell"], row["n_B_n"], row["n_B_p"])
    assert P == pytest.approx(row["P"], rel=5e-4)


def test_electron_gas_limits():
    # Non-relativistic limit: ε_kin = (3/5) n E_F with E_F = ħ²k²/2m_e.
    n = 1e-12
    k = (3 * math.pi**2 * n) ** (1 / 3)
    ef = (HBARC * k) ** 2 / (2 * M_E_C2)
    assert comp.electron_kinetic_energy_density(n) == pytest.approx(0.6 * n * ef, rel=1e-4)
    # Ultra-relativistic: ε ≈ (3/4) n ħc k; exchange Φ → −1/2 (positive exchange energy).
    n = 1e-3
    k = (3 * math.pi**2 * n) ** (1 / 3)
    eps = comp.electron_kinetic_energy_density(n) + n * M_E_C2   # with rest mass
    assert eps == pytest.approx(0.75 * n * HBARC * k, rel=1e-3)
    assert comp.electron_exchange_energy_density(n) > 0
    slater = 0.75 * (3 / math.pi) ** (1 / 3) * (1 / 137.035999084 * HBARC) * n ** (4 / 3)
    assert comp.electron_exchange_energy_density(n) == pytest.approx(0.5 * slater, rel=5e-3)


def test_minimisation_reproduces_published_row():
    """n̄ = 0.030024 fm⁻³, Z = 40: A within 0.5 %, profile parameters within 1 % of the BSk24 row
    (measured: A −0.03 %, parameters ≤ 0.1 %; about 4 s)."""
    row = PUBLISHED_ROWS[40]
    layer = comp.minimise_layer("BSk24", row["nbar"], 40)
    assert layer.A == pytest.approx(row["A"], rel=5e-3)
    assert layer.R_cell == pytest.approx(row["R_cell"], rel=2e-3)
    pp = layer.profile_parameters
    for key in ("a_p", "C_p", "a_n", "C_n", "n_lambda_p", "n_lambda_n", "n_B_n"):
        assert pp[key] == pytest.approx(row[key], rel=1e-2), key
    # Energy: same 1 keV criterion (measured +0.84 keV; published e_ETF is ETF, no SI).
    assert abs(layer.e_etf - row["e_ETF"]) < 1e-3
    # Pressure (edge formula) and μ_n = e + P/n̄. The published μ_n is the ETFSI value
    # (e_ETFSI − e_ETF = +0.77 keV here), so allow 2 keV.
    assert layer.pressure == pytest.approx(row["P"], rel=1e-3)
    assert abs(layer.mu_n - row["mu_n"]) < 2e-3
    assert layer.lattice_constant == pytest.approx((2 * layer.A / layer.nbar) ** (1 / 3))
    assert layer.Z == 40 and layer.N == pytest.approx(layer.A - 40)


def test_shell_correction_hook_is_added():
    row = PUBLISHED_ROWS[40]
    neu, pro = profiles(row)
    base = comp.cell_energy("BSk24", row["nbar"], 40, neu, pro)

    def shell(functional, nbar, Z, neutron, proton):
        return 0.8  # MeV per cell

    en = comp.cell_energy("BSk24", row["nbar"], 40, neu, pro, shell_correction=shell)
    assert en.shell == pytest.approx(0.8 / row["A"], rel=1e-3)
    assert en.total - base.total == pytest.approx(en.shell, rel=1e-9)


@pytest.mark.parametrize("nbar", [1e-4, 2.5e-4, 0.0815, 0.2, float("nan"), "x"])
def test_density_outside_inner_crust_rejected(nbar):
    with pytest.raises(InputError, match="inner crust"):
        comp.minimise_layer("BSk24", nbar, 40)


def test_bsk31_needs_spin_orbit_strength():
    with pytest.raises(InputError, match="W0"):
        comp.minimise_layer("BSk31", 0.03, 40)


def test_negative_background_rejected():
    with pytest.raises(InputError, match="negative neutron background"):
        comp.profiles_from_parameters(0.03, 40, 100.0, 7.9, 1.05, 0.08, 7.3, 0.59)


def test_failed_minimisation_raises_convergence_error(monkeypatch):
    import scipy.optimize

    class Fail:
        x = np.array([3.0, 1, 1, 1, 1, 1, math.log(1e-7)])   # ends on the A bound
        fun = 1.0
        nfev = 1
        message = "forced"

    monkeypatch.setattr(scipy.optimize, "minimize", lambda *a, **k: Fail())
    with pytest.raises(ConvergenceError, match="bound"):
        comp.minimise_layer("BSk24", 0.03, 40)


def test_crust_range_documented_for_bsk24():
    cr = comp.crust_range("BSk24")
    assert cr.drip == 2.56e-4 and cr.crust_core == 0.081 and cr.equilibrium_Z == 40


@pytest.mark.slow
def test_z_scan_returns_lowest_energy():
    """Z scan (ETF only, no shell correction): e(Z) is flat at n̄ = 0.03 (≲ keV over Z = 36–44
    for BSk21, crust-composition.md §3.4); the scan must return its lowest entry."""
    best, energies = comp.scan_z("BSk24", 0.030024, [38, 42])
    assert set(energies) == {38.0, 42.0}
    assert best.energies.total == min(energies.values())
    assert abs(energies[38.0] - energies[42.0]) < 5e-3
