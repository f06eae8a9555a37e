"""Inner-crust layers from the functional (physics: ``docs/physics/crust-composition.md``).

* :mod:`.profiles` — Onsi-parametrised density profiles of a Wigner–Seitz cell;
* :mod:`.etf` — 4th-order extended Thomas–Fermi τ_q, J_q (spherical);
* :mod:`.skyrme_local` — gradient / spin–orbit terms of the BSk energy density and U_q;
* :mod:`.composition` — cell energy, minimisation over A and the profile → :class:`Layer`;
* :mod:`.tables` — layers from a user-supplied (published) composition table;
* :mod:`.lattice_fields` — periodic U_n, B_n, Δ_n on the bcc/fcc conventional cube → Fields.
"""
from .composition import (CRUST_RANGES, CellEnergy, Layer, cell_energy, check_density,
                          crust_range, gas_chemical_potential, layer_from_profiles,
                          minimise_layer, profiles_from_parameters, scan_z)
from .lattice_fields import LayerFields, build_fields, write_layer_fields
from .profiles import OnsiProfile
from .tables import CompositionTable, load_table

__all__ = ["CRUST_RANGES", "CellEnergy", "CompositionTable", "Layer", "LayerFields", "OnsiProfile",
           "build_fields", "cell_energy", "check_density", "crust_range",
           "gas_chemical_potential", "layer_from_profiles", "load_table", "minimise_layer",
           "profiles_from_parameters", "scan_z", "write_layer_fields"]
