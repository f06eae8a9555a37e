"""Band structure of the inner crust: grid, fields, FD Bloch Hamiltonians (issue #4)."""
from .fields import Fields
from .grid import Grid
from .hamiltonian import DEFAULT_ORDER, BlochHamiltonian, gather_dense

__all__ = ["Grid", "Fields", "BlochHamiltonian", "DEFAULT_ORDER", "gather_dense"]
