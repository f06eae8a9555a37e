"""Neutron superfluid density and effective masses from the band structure.

Modules
-------
levels           the registry of the levels of theory (name, label, formula, number equation, evaluation)
kernels          per-k integrands of every level of theory (pure numpy; ``docs/physics/crust-superfluidity.md``)
bz               Brillouin-zone sums, chemical potentials, IBZ unfolding, MPI reduction
matrix_elements  ħv = Ψᴴ ∂h/∂k Ψ etc. on distributed SLEPc BV eigenvectors
superfluid       superfluid_density(hamiltonian, kmesh, solver, ...) -> SuperfluidResult
masses           m_n*/m_n (three references), m_I*, m_I*/m_I, superfluid/entrained fractions
driver           run_config(config, comm, log): a fields-file run of crustsolve.runfile

Unit convention: tensors are n_s^{ij} = ρ_n,s^{ij}/m_n in fm⁻³ (free neutrons: n_s = n).
PETSc-dependent modules are imported lazily, so ``kernels``/``bz``/``masses`` work without it.
"""
from .bz import LEVELS, LevelResult
from .masses import EffectiveMasses, effective_masses

__all__ = ["LEVELS", "LevelResult", "EffectiveMasses", "effective_masses"]
