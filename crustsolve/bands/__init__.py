"""Band structure of the inner crust: grid, fields, FD Bloch Hamiltonians, eigensolvers,
k-point meshes and the band driver (numerics: ``docs/numerics.md``)."""
from .bandstructure import BandData, SolverSettings, compute_bands
from .eigensolvers import SOLVER_KINDS, EigenResult, make_eigensolver
from .fields import Fields
from .grid import Grid
from .hamiltonian import DEFAULT_ORDER, BlochHamiltonian, gather_dense
from .kmesh import KMesh, KPath, kpath

__all__ = ["Grid", "Fields", "BlochHamiltonian", "DEFAULT_ORDER", "gather_dense", "BandData",
           "SolverSettings", "compute_bands", "SOLVER_KINDS", "EigenResult", "make_eigensolver",
           "KMesh", "KPath", "kpath"]
