"""Core stage: uniform npeμ matter, n–p entrainment at T = 0 and finite T, vortex flux.

Independent of PETSc. Modules:

* :mod:`.beta` — β-equilibrium npeμ composition (bracketing root finder), muon onset;
* :mod:`.entrainment` — T = 0 entrainment matrix (η–Υ closed form, unequal-mass
  option), transport velocities, ε_q, dynamical and momentum-frame masses, α,
  Carter's K, fractional vortex flux Φ*/Φ₀;
* :mod:`.finite_t` — BCS Δ(T)/Δ(0) (also with superflow), Yosida functions (also with
  superflow), the
  matrix formula for ρ̂(T), Landau critical velocities;
* :mod:`.point` — everything at one density in one call (what the CLI prints);
* :mod:`.validity` — the density range (neutron drip to causality) and the temperature
  range (degenerate matter) where the results mean something.
"""
from .beta import (BetaEquilibrium, beta_equilibrium, lepton_chemical_potential, muon_density,
                   muon_onset_density)
from .entrainment import (MASS_OPTIONS, EntrainmentMatrix, EntrainmentParametrisations,
                          entrainment_masses, entrainment_matrix_t0, parametrisations,
                          transport_velocities, upsilon)
from .finite_t import (GAP_TO_TC, bcs_gap_ratio, bcs_gap_with_superflow, critical_temperature,
                       entrainment_matrix_finite_t, gap_at_temperature, generalised_yosida,
                       landau_velocity, yosida, zero_temperature_gap)
from .point import RECORD_UNITS, CoreEntrainmentPoint, core_entrainment, core_entrainment_scan
from .validity import (ValidityRange, degenerate_temperature_limit, sound_speed_squared,
                       validity_range)

__all__ = [
    "BetaEquilibrium", "beta_equilibrium", "lepton_chemical_potential", "muon_density",
    "muon_onset_density", "MASS_OPTIONS", "EntrainmentMatrix", "EntrainmentParametrisations",
    "entrainment_masses", "entrainment_matrix_t0", "parametrisations", "transport_velocities",
    "upsilon", "GAP_TO_TC", "bcs_gap_ratio", "bcs_gap_with_superflow", "critical_temperature",
    "entrainment_matrix_finite_t", "gap_at_temperature", "generalised_yosida",
    "landau_velocity", "yosida", "zero_temperature_gap", "RECORD_UNITS",
    "CoreEntrainmentPoint", "core_entrainment", "core_entrainment_scan", "ValidityRange",
    "degenerate_temperature_limit", "sound_speed_squared", "validity_range",
]
