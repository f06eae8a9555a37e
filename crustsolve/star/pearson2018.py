"""Analytic fits of the unified BSk22/24/25/26 equations of state (Pearson et al. 2018).

J. M. Pearson, N. Chamel, A. Y. Potekhin, A. F. Fantina, C. Ducoin, A. K. Dutta and
S. Goriely, "Unified equations of state for cold non-accreting neutron stars with
Brussels–Montreal functionals – I. Role of symmetry energy", MNRAS 481, 2994 (2018),
doi:10.1093/mnras/sty2413, Appendix C:

* eq. (C1), Table C1 — energy per nucleon e_eq(n̄) of β-equilibrated matter (MeV,
  relative to m_n c²; the constant −9.1536 MeV is the ⁵⁶Fe ground state), so that the
  mass-energy density is ρc² = n̄ (m_n c² + e_eq(n̄)) (their eq. 4);
* eq. (C4), Table C2 — ζ = log₁₀(P / dyn cm⁻²) as a function of
  ξ = log₁₀(ρ / g cm⁻³), with ρ the mass-energy density.

The fits cover the outer crust, inner crust and core in one expression; their
quoted rms errors are at the per-cent level. crustsolve uses them only for the
*crust* (n̄ below the crust–core transition): the core comes from the functional
itself in β-equilibrium (:mod:`crustsolve.star.eos`).

Provenance of the numbers: the Table C1/C2 coefficients were transcribed from the
public repository ``RoqueMR/repository_phd_roque`` (``eos/bsk/parameters_bsk.yaml``,
which cites the paper). They were checked here: (i) the BSk24 composition fit (Table C7)
in the same file agrees with an independent transcription of that table; (ii) the fitted
P(n̄) and e(n̄) reproduce the BSk24 ETFSI inner-crust table of the same paper to 2.1 % at
worst (rms < 1 %) in P and 0.15 MeV in e, i.e. within the fit's own accuracy
(``tests/star/test_eos.py``, which reads the table from ``CRUSTSOLVE_ETFSI_DIR`` and is
skipped without it).
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np

from ..constants import M_N_C2
from ..errors import InputError
from .gr_units import MEV_FM3_TO_DYN_CM2, MEV_FM3_TO_G_CM3

#: e_eq at zero density: energy per nucleon of ⁵⁶Fe relative to m_n c² (MeV),
#: the constant term of Pearson et al. (2018) eq. (C1).
E_GROUND_STATE = -9.1536

#: Table C1 coefficients p1…p14 (eq. C1) per functional.
_TABLE_C1 = {
    "BSk22": (7.02e8, 1.133e11, 6.19e7, 4.54e6, 5.46e5, 15.24, 0.0683, 8.86, 4611.0,
              48.07, 2.697, 81.7, 7.05, 1.50),
    "BSk24": (6.59e8, 9.49e10, 6.95e7, 5.63e6, 6.51e5, 19.37, 0.1028, 4.09, 6726.0,
              29.57, 2.6728, 19.51, 4.39, 1.75),
    "BSk25": (6.411e8, 8.76e10, 7.40e7, 6.31e6, 7.13e5, 22.11, 0.1217, 2.54, 8317.0,
              25.63, 2.507, 7.92, 3.92, 2.06),
    "BSk26": (1.3995e8, 1.066e9, 7.472e8, 3.599e7, 2.906e6, 0.3051, -0.54068, 388.5, 776.5,
              15.435, 2.2483, 0.3029, 18.66, 0.569),
}

#: Table C2 coefficients p1…p23 (eq. C4) per functional.
_TABLE_C2 = {
    "BSk22": (6.682, 5.651, 0.00459, 0.14359, 2.681, 11.972, 13.993, 1.2904, 2.665, -27.787,
              2.0140, 4.09, 14.135, 28.03, -1.921, 1.08, 14.89, 0.098, 11.67, 4.75, -0.037,
              14.10, 11.9),
    "BSk24": (6.795, 5.552, 0.00435, 0.13963, 3.636, 11.943, 13.848, 1.3031, 3.644, -30.840,
              2.2322, 4.65, 14.290, 30.08, -2.080, 1.10, 14.71, 0.099, 11.66, 5.00, -0.095,
              14.15, 9.1),
    "BSk25": (7.210, 5.196, 0.00328, 0.12516, 4.624, 12.16, 9.348, 1.6624, 4.660, -28.232,
              2.0638, 5.27, 14.365, 29.10, -2.130, 0.865, 14.66, 0.069, 11.65, 6.30, -0.172,
              14.18, 8.6),
    "BSk26": (3.672, 7.844, 0.00876, 0.22604, 3.129, 11.939, 13.738, 1.3389, 3.112, -23.031,
              1.6264, 4.83, 14.272, 23.28, -1.542, 2.10, 15.31, 0.083, 11.66, 6.16, -0.042,
              14.18, 14.8),
}

#: Functionals with a Pearson et al. (2018) unified-EoS fit (read-only).
FITTED_FUNCTIONALS = tuple(_TABLE_C1)

#: Reference string stored with results.
REFERENCE = ("J. M. Pearson et al., MNRAS 481, 2994 (2018), App. C, eqs. (C1), (C4), "
             "Tables C1, C2; doi:10.1093/mnras/sty2413")

TABLES = MappingProxyType({"C1": MappingProxyType(_TABLE_C1),
                           "C2": MappingProxyType(_TABLE_C2)})


def _key(name) -> str:
    lookup = {k.lower(): k for k in _TABLE_C1}
    key = lookup.get(str(getattr(name, "name", name)).lower())
    if key is None:
        raise InputError(f"functional = {getattr(name, 'name', name)!r} has no Pearson et al. "
                         f"(2018) unified-EoS fit; available: {', '.join(FITTED_FUNCTIONALS)}")
    return key


def energy_per_nucleon(functional, n):
    """e_eq(n̄) in MeV relative to m_n c² — Pearson et al. (2018) eq. (C1), Table C1.

    ``n``: mean baryon density n̄ in fm⁻³ (array or scalar).
    """
    p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14 = _TABLE_C1[_key(functional)]
    n = np.asarray(n, dtype=float)
    w1 = 1.0 / (1.0 + p9 * n)
    w2 = 1.0 / (1.0 + (p13 * n) ** p14)
    low = ((p1 * n) ** (7.0 / 6.0) * (1.0 + np.sqrt(p4 * n)) * w1
           / ((1.0 + np.sqrt(p2 * n)) * (1.0 + np.sqrt(p3 * n)) * (1.0 + np.sqrt(p5 * n))))
    mid = p6 * n**p7 * (1.0 + p8 * n) * (1.0 - w1) * w2
    high = (p10 * n) ** p11 * (1.0 - w2) / (1.0 + p12 * n)
    return E_GROUND_STATE + low + mid + high


def energy_density(functional, n):
    """Mass-energy density ε = n̄ (m_n c² + e_eq(n̄)) in MeV fm⁻³ (Pearson et al. 2018 eq. 4)."""
    n = np.asarray(n, dtype=float)
    return n * (M_N_C2 + energy_per_nucleon(functional, n))


def pressure_of_energy_density(functional, eps):
    """P(ρ) in MeV fm⁻³ from ε = ρc² in MeV fm⁻³ — Pearson et al. (2018) eq. (C4), Table C2."""
    (p1, p2, p3, p4, p5, p6, p7, p8, p9, p10, p11, p12, p13, p14, p15, p16, p17, p18, p19,
     p20, p21, p22, p23) = _TABLE_C2[_key(functional)]
    xi = np.log10(np.asarray(eps, dtype=float) * MEV_FM3_TO_G_CM3)
    zeta = ((p1 + p2 * xi + p3 * xi**3) / (1.0 + p4 * xi) / (np.exp(p5 * (xi - p6)) + 1.0)
            + (p7 + p8 * xi) / (np.exp(p9 * (p6 - xi)) + 1.0)
            + (p10 + p11 * xi) / (np.exp(p12 * (p13 - xi)) + 1.0)
            + (p14 + p15 * xi) / (np.exp(p16 * (p17 - xi)) + 1.0)
            + p18 / (1.0 + (p20 * (xi - p19)) ** 2)
            + p21 / (1.0 + (p23 * (xi - p22)) ** 2))
    return 10.0**zeta / MEV_FM3_TO_DYN_CM2


def pressure(functional, n):
    """P(n̄) in MeV fm⁻³: eq. (C4) evaluated at ρ(n̄) of eq. (C1)."""
    return pressure_of_energy_density(functional, energy_density(functional, n))
