"""Star stage: unit conversions, the Pearson et al. (2018) crust fits and the unified EoS tables."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from crustsolve.errors import InputError
from crustsolve.star import gr_units, lepton_energy_density, pearson2018, unified_eos
from crustsolve.constants import M_E_C2, HBARC
from crustsolve.core import lepton_chemical_potential

#: Directory with the unmodified Pearson et al. (2018) ETFSI tables (never committed); the
#: test that needs them is skipped when CRUSTSOLVE_ETFSI_DIR is not set.
_ETFSI_DIR = os.environ.get("CRUSTSOLVE_ETFSI_DIR", "")
ETFSI_BSK24 = Path(_ETFSI_DIR, "2018-PCPFDDG-BSK24.dat") if _ETFSI_DIR else None


def test_geometric_units_match_reference_values():
    # Reference conversions: GM☉/c² = 1.47663 km, I[g cm²] = I[km³] × 1.34663×10⁴³.
    assert gr_units.M_SUN_KM == pytest.approx(1.47663, rel=1e-5)
    assert gr_units.KM3_TO_G_CM2 == pytest.approx(1.34663e43, rel=1e-4)
    # 1 MeV fm⁻³ = 1.602176634×10³² Pa; G/c⁴ = 6.67430e-11/299792458⁴ = 8.26264e-45 m/J.
    # Product 1.32383e-12 m⁻² = 1.32383e-6 km⁻² (by hand, CODATA 2018).
    assert gr_units.MEV_FM3_TO_KM2 == pytest.approx(1.32383e-6, rel=1e-5)
    assert gr_units.MEV_FM3_TO_G_CM3 == pytest.approx(1.78266e12, rel=1e-5)


def test_lepton_gas_limits_and_thermodynamics():
    # ultra-relativistic limit: ε → (3/4) n μ with μ = ħc k_F
    n = 10.0
    k = (3 * math.pi**2 * n) ** (1 / 3)
    assert lepton_energy_density(n, M_E_C2) == pytest.approx(0.75 * n * HBARC * k, rel=1e-5)
    # non-relativistic limit: ε → n m + (3/5) n k_F²/2m
    n = 1e-12
    k = (3 * math.pi**2 * n) ** (1 / 3)
    kin = 0.6 * n * (HBARC * k) ** 2 / (2 * M_E_C2)
    assert lepton_energy_density(n, M_E_C2) - n * M_E_C2 == pytest.approx(kin, rel=1e-3)
    # dε/dn = μ = √(m² + (ħc k_F)²)
    n, dn = 0.01, 1e-7
    mu = math.hypot(M_E_C2, HBARC * (3 * math.pi**2 * n) ** (1 / 3))
    d = (lepton_energy_density(n + dn, M_E_C2) - lepton_energy_density(n - dn, M_E_C2)) / (2 * dn)
    assert d == pytest.approx(mu, rel=1e-7)


def test_pearson_fit_basic_properties():
    n = np.logspace(-9, np.log10(1.5), 400)
    for name in pearson2018.FITTED_FUNCTIONALS:
        p = pearson2018.pressure(name, n)
        assert np.all(np.diff(p) > 0.0)
        # n̄ → 0: ⁵⁶Fe at rest, e = (M(⁵⁶Fe) − 56 m_n)c²/56 with the atomic mass 55.934936 u
        # (AME), u = 931.49410242 MeV, m_n = 939.56542052 MeV: −9.15369 MeV; the fit's constant
        # is printed to 1e-4 MeV (the density terms are 6e-8 MeV at 1e-15 fm⁻³)
        e0 = (55.934936 * 931.49410242 - 56 * 939.56542052) / 56
        assert float(pearson2018.energy_per_nucleon(name, 1e-15)) == pytest.approx(e0, abs=2e-4)
    with pytest.raises(InputError, match="SLy4"):
        pearson2018.pressure("SLy4", 0.1)


@pytest.mark.skipif(ETFSI_BSK24 is None or not ETFSI_BSK24.is_file(),
                    reason="Pearson et al. 2018 ETFSI table not available: set "
                    "CRUSTSOLVE_ETFSI_DIR")
def test_pearson_fit_reproduces_the_etfsi_inner_crust_table():
    """The transcribed C1/C2 coefficients reproduce the same paper's ETFSI table.

    Columns: 1 n̄ (fm⁻³), 8 P (MeV fm⁻³), 10 e_ETFSI (MeV per nucleon, m_n c² subtracted);
    column map in ``crustsolve.crust.tables``. The fits' own accuracy is ~1-2 %.
    """
    d = np.loadtxt(ETFSI_BSK24)
    n, p, e = d[:, 0], d[:, 7], d[:, 9]
    rel = pearson2018.pressure("BSk24", n) / p - 1.0
    assert np.max(np.abs(rel)) < 0.025
    assert np.sqrt(np.mean(rel**2)) < 0.01
    assert np.max(np.abs(pearson2018.energy_per_nucleon("BSk24", n) - e)) < 0.2


@pytest.fixture(scope="module")
def bsk24():
    return unified_eos("BSk24")


def test_unified_eos_is_continuous_and_consistent(bsk24):
    eos = bsk24
    info = dict(eos.info)
    assert info["transition_density_fm3"] == 0.081     # the documented value, read back
    h_t = eos.h_transition
    below, above = h_t * (1 - 1e-9), h_t * (1 + 1e-9)
    assert eos.pressure(above) == pytest.approx(eos.pressure(below), rel=1e-6)
    # ε jumps by the (small) mismatch between the crust fit and the functional's core
    assert abs(eos.energy_density(above) / eos.energy_density(below) - 1.0) < 0.02
    # neutron fluid only in the core (exact: the crust spline interpolates zeros)
    assert eos.neutron_fraction_of(below) == 0.0
    # x_n = n_n/n = 1 − y_p at the core edge: y_p of BSk24 at 0.081 fm⁻³ from the published
    # fit (Pearson et al. 2018 eq. C17, Table C7; ~1 % accurate), no muons (μ_e = 85 MeV)
    p1, p2, p3, p4, p5, p6, p7 = (0.0021, 0.581, 9.874, 16.20, 39.20, -0.148, 4.0)
    n_t = 0.081
    y_e = (p1 + p2 * n_t + p6 * n_t**1.5 + p3 * n_t**p7) / (1 + p4 * n_t**1.5 + p5 * n_t**p7)
    assert float(lepton_chemical_potential(y_e * n_t, M_E_C2)) < 105.658
    assert 1.0 - eos.neutron_fraction_of(above) == pytest.approx(y_e, rel=0.01)
    assert eos.baryon_density(above) == pytest.approx(0.081, rel=1e-6)
    # dP/dh = ε + P, the definition of the pseudo-enthalpy, in crust and core
    for h in (0.3 * h_t, 0.9 * h_t, 1.5 * h_t, 0.3, 0.8):
        dh = 1e-6 * h
        dpdh = (eos.pressure(h + dh) - eos.pressure(h - dh)) / (2 * dh)
        assert dpdh == pytest.approx(eos.energy_density(h) + eos.pressure(h), rel=2e-4)


def test_unified_eos_core_reproduces_beta_equilibrium(bsk24):
    # y_p of BSk24 from the published composition fit (Pearson et al. 2018 eq. C17,
    # Table C7, third-party transcription): 0.11562 at n = 0.40 fm⁻³.
    from scipy.optimize import brentq
    h = brentq(lambda x: bsk24.baryon_density(x) - 0.40, bsk24.h_transition * 1.01, 1.0)
    assert 1.0 - bsk24.neutron_fraction_of(h) == pytest.approx(0.11562, rel=0.01)
    eps_n, eps_p = bsk24.entrainment(h)
    x_n = bsk24.neutron_fraction_of(h)
    assert eps_n * x_n == pytest.approx(eps_p * (1.0 - x_n), rel=1e-6)


def test_unified_eos_bad_input():
    with pytest.raises(InputError, match="transition_density"):
        unified_eos("BSk25")
    with pytest.raises(InputError, match="SLy4"):
        unified_eos("SLy4")
    with pytest.raises(InputError, match="core_eos"):
        unified_eos("BSk24", core_eos="magic")
