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

ETFSI = Path(os.environ.get("CRUSTSOLVE_ETFSI_DIR", Path(__file__).resolve().parents[2]
                            / "shared" / "data" / "etfsi-pearson2018"))


def test_geometric_units_match_reference_values():
    # core-entrainment.md §1: M☉ = 1.47663 km, I[g cm²] = I[km³] × 1.34663×10⁴³.
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
        e = pearson2018.energy_per_nucleon(name, n)
        # ⁵⁶Fe ground state at low density (e → −9.1536 MeV relative to m_n c²)
        assert e[0] == pytest.approx(pearson2018.E_GROUND_STATE, abs=0.5)
    with pytest.raises(InputError, match="SLy4"):
        pearson2018.pressure("SLy4", 0.1)


@pytest.mark.skipif(not (ETFSI / "2018-PCPFDDG-BSK24.dat").exists(),
                    reason="Pearson et al. 2018 ETFSI table not available")
def test_pearson_fit_reproduces_the_etfsi_inner_crust_table():
    """The transcribed C1/C2 coefficients reproduce the same paper's ETFSI table.

    Columns: 1 n̄ (fm⁻³), 8 P (MeV fm⁻³), 10 e_ETFSI (MeV per nucleon, m_n c² subtracted);
    see shared/data/etfsi-pearson2018/README.md. The fits' own accuracy is ~1-2 %.
    """
    d = np.loadtxt(ETFSI / "2018-PCPFDDG-BSK24.dat")
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
    assert info["transition_density_fm3"] == 0.081
    h_t = eos.h_transition
    below, above = h_t * (1 - 1e-9), h_t * (1 + 1e-9)
    assert eos.pressure(above) == pytest.approx(eos.pressure(below), rel=1e-6)
    # ε jumps by the (small) mismatch between the crust fit and the functional's core
    assert abs(eos.energy_density(above) / eos.energy_density(below) - 1.0) < 0.02
    # neutron fluid only in the core
    assert eos.neutron_fraction_of(below) == 0.0
    assert 0.9 < eos.neutron_fraction_of(above) < 1.0
    assert eos.baryon_density(above) == pytest.approx(0.081, rel=1e-6)
    # dP/dh = ε + P, the definition of the pseudo-enthalpy, in crust and core
    for h in (0.3 * h_t, 0.9 * h_t, 1.5 * h_t, 0.3, 0.8):
        dh = 1e-6 * h
        dpdh = (eos.pressure(h + dh) - eos.pressure(h - dh)) / (2 * dh)
        assert dpdh == pytest.approx(eos.energy_density(h) + eos.pressure(h), rel=2e-4)


def test_unified_eos_core_reproduces_beta_equilibrium(bsk24):
    # y_p of BSk24 from the published composition fit (Pearson et al. 2018 eq. C17,
    # Table C7, as listed in core-entrainment.md §9.2): 0.11562 at n = 0.40 fm⁻³.
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
