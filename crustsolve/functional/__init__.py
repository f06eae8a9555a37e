"""Skyrme / Brussels–Montreal energy-density functionals.

* :mod:`.parameters` — parameter sets as data (BSk22, BSk24, BSk25, BSk26, BSk31, SLy4)
  with citations and the ħ²/2M convention of each;
* :mod:`.skyrme` — local-density functions (arrays): couplings C^n_t, C^τ_t, C±,
  B_q = ħ²/2m_q⊕, current fields I_q, bulk energy density and mean fields U_q;
* :mod:`.uniform` — homogeneous matter: E/A(n, η), pressure, μ_q, effective masses,
  saturation properties.
"""
from .parameters import (FUNCTIONALS, MASS_CONVENTIONS, PairingParameters, SkyrmeParameters,
                         available_functionals, get_functional)
from .skyrme import (SkyrmeCouplings, bulk_energy_density, couplings, current_fields,
                     effective_mass_fields, fermi_wavenumber, kinetic_density_fermi_gas,
                     mean_fields)
from .uniform import (SaturationProperties, UniformMatter, chemical_potentials, energy_density,
                      energy_per_nucleon, isoscalar_effective_mass, isovector_effective_mass,
                      pressure, saturation_properties, symmetric_matter_derivatives,
                      symmetry_energy_derivatives, uniform_matter)

__all__ = [
    "FUNCTIONALS", "MASS_CONVENTIONS", "PairingParameters", "SkyrmeParameters",
    "available_functionals", "get_functional", "SkyrmeCouplings", "bulk_energy_density",
    "couplings", "current_fields", "effective_mass_fields", "fermi_wavenumber",
    "kinetic_density_fermi_gas", "mean_fields", "SaturationProperties", "UniformMatter",
    "chemical_potentials", "energy_density", "energy_per_nucleon", "isoscalar_effective_mass",
    "isovector_effective_mass", "pressure", "saturation_properties",
    "symmetric_matter_derivatives", "symmetry_energy_derivatives", "uniform_matter",
]
