"""crustsolve: entrainment in neutron stars from one microscopic framework.

Units everywhere: MeV, fm, fm^-3 (see :mod:`crustsolve.constants`).
PETSc/SLEPc are imported lazily through :mod:`crustsolve.petsc_env`, so the
uniform-matter modules work without them.
"""
__version__ = "0.1.0"
