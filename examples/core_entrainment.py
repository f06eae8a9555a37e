"""Entrainment in the outer core with the Python API (no MPI, no PETSc needed).

Run:  python examples/core_entrainment.py

1. saturation properties of the BSk24 functional;
2. β-equilibrium composition and the T = 0 entrainment matrix at 0.16 fm⁻³, with the
   parametrisations used in the literature and the fractional flux of a neutron vortex;
3. the same point with superconducting protons at half their critical temperature.
"""
from crustsolve.core import (beta_equilibrium, core_entrainment, entrainment_matrix_t0,
                             parametrisations)
from crustsolve.functional import saturation_properties

FUNCTIONAL = "BSk24"
DENSITY = 0.16  # fm^-3

sat = saturation_properties(FUNCTIONAL)
print(f"{FUNCTIONAL}: n0 = {sat.n0:.4f} fm^-3, E0 = {sat.E0:.3f} MeV, K = {sat.K:.1f} MeV, "
      f"J = {sat.J:.2f} MeV, L = {sat.L:.2f} MeV, M_s*/M = {sat.Ms:.3f}, M_v*/M = {sat.Mv:.3f}")

beta = beta_equilibrium(FUNCTIONAL, DENSITY)
print(f"n = {DENSITY} fm^-3: y_p = {beta.proton_fraction:.5f} "
      f"(y_e = {beta.electron_fraction:.5f}, y_mu = {beta.muon_fraction:.5f})")

rho = entrainment_matrix_t0(FUNCTIONAL, beta.n_n, beta.n_p)
conv = parametrisations(rho)
print(f"Upsilon = {rho.upsilon:.4f}; rho_nn/rho = {rho.rho_nn / rho.rho:.5f}, "
      f"rho_np/rho = {rho.rho_np / rho.rho:.5f}, rho_pp/rho = {rho.rho_pp / rho.rho:.5f}")
print(f"eps_n = {conv.eps_n:.5f}, eps_p = {conv.eps_p:.5f}, "
      f"m_n*/m = {conv.dynamical_mass_n:.5f}, m_p*/m = {conv.dynamical_mass_p:.5f}")
print(f"Phi*/Phi0 = {conv.flux_ratio:.4f} (antiparallel to the neutron circulation)")

tc_p = 0.5  # MeV, an input: the package does not compute pairing gaps
hot = core_entrainment(FUNCTIONAL, DENSITY, temperature=0.5 * tc_p, tc_p=tc_p, gap_n=1.0)
rec = hot.as_record()
print(f"T = {hot.temperature} MeV: Y_n = {rec['Y_n']:.3g}, Y_p = {rec['Y_p']:.4f}, "
      f"rho_np(T)/rho = {rec['rhoT_np_over_rho']:.5f}, Landau velocity of protons "
      f"V_L/c = {rec['VL_p']:.3e}")
