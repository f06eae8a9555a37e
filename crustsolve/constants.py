"""Physical constants of crustsolve, in MeV, fm and fm^-3.

All modules take constants from here; nothing else hard-codes them.
Values are CODATA 2018 (Tiesinga et al., Rev. Mod. Phys. 93, 025010 (2021)). Derived
quantities are computed, not typed in, so they stay consistent with the primary values.
"""
from __future__ import annotations

import math

#: ħc in MeV fm (CODATA 2018).
HBARC = 197.3269804
#: Neutron rest energy m_n c² in MeV.
M_N_C2 = 939.56542
#: Proton rest energy m_p c² in MeV.
M_P_C2 = 938.27209
#: Atomic mass unit m_u c² in MeV.
M_U_C2 = 931.49410
#: Electron rest energy m_e c² in MeV.
M_E_C2 = 0.51099895
#: Muon rest energy m_μ c² in MeV.
M_MU_C2 = 105.6583755
#: Fine-structure constant.
ALPHA = 1.0 / 137.035999084
#: e² = α ħc in MeV fm (Gaussian units, as in 4π Z² e² n_I).
E2 = ALPHA * HBARC

#: ħ²/2m_n in MeV fm² (20.72125).
HBAR2_2MN = HBARC**2 / (2.0 * M_N_C2)
#: ħ²/2m_p in MeV fm² (20.74981).
HBAR2_2MP = HBARC**2 / (2.0 * M_P_C2)
#: ħ²/2m̄ with m̄ = (m_n + m_p)/2, in MeV fm² (20.73552; the Skyrme "20.7355").
HBAR2_2MBAR = HBARC**2 / (M_N_C2 + M_P_C2)

#: Flux quantum is h c / 2e; only ratios Φ*/Φ₀ are used, so no value is needed here.
PI = math.pi
