"""Star stage: global two-fluid entrainment of a slowly rotating neutron star.

TOV structure for a unified equation of state consistent with a Skyrme/BSk
functional (core from the functional in β-equilibrium, crust from the Pearson et
al. 2018 fits), Hartle's moment of inertia, and the two-fluid slow-rotation
frame-dragging problem giving Ĩ_X, ε̃_X, the Lense–Thirring couplings ε^LT_XY and
I_XY/I_X (``docs/physics/star.md``). Independent of PETSc. Modules:

* :mod:`.gr_units` — G, c, M☉ and the MeV fm⁻³ ↔ km⁻² conversions;
* :mod:`.pearson2018` — Pearson et al. (2018) analytic unified-EoS fits (crust);
* :mod:`.eos` — EoS in the pseudo-enthalpy: unified BSk, polytrope, uniform density;
* :mod:`.tov` — TOV background and the two-fluid frame-dragging solver;
* :mod:`.model` — star of given mass, M–R sequences, maximum mass.
"""
from .eos import (CORE_EOS_OPTIONS, CRUST_CORE_TRANSITION, PolytropeEoS, TabulatedEoS,
                  UniformDensityEoS, core_point, lepton_energy_density, unified_eos)
from .model import (DEFAULT_MIN_MASS, RESULT_UNITS, MaximumMass, StarResult, eos_description,
                    mass_radius_curve, maximum_mass, star_from_central_enthalpy, star_model)
from .tov import DEFAULT_N_RADIAL, RotationSolution, TOVSolution, solve_rotation, solve_tov

__all__ = [
    "CORE_EOS_OPTIONS", "CRUST_CORE_TRANSITION", "PolytropeEoS", "TabulatedEoS",
    "UniformDensityEoS", "core_point", "lepton_energy_density", "unified_eos",
    "DEFAULT_MIN_MASS", "RESULT_UNITS", "MaximumMass", "StarResult", "eos_description",
    "mass_radius_curve", "maximum_mass", "star_from_central_enthalpy", "star_model",
    "DEFAULT_N_RADIAL", "RotationSolution", "TOVSolution", "solve_rotation", "solve_tov",
]
