"""Global entrainment of a slowly rotating neutron star with the Python API (docs/physics/star.md).

Run:  python examples/star_glitch_couplings.py

1. the unified BSk24 EoS (core: the functional in β-equilibrium; crust: Pearson et al.
   2018 fits) and its maximum mass;
2. a 1.4 M☉ star: Hartle's I, the fluid moments of inertia, averaged nuclear entrainment
   ε̃_X, the Lense–Thirring couplings ε^LT_XY, and the couplings I_np/I_n, I_pn/I_p that
   glitch models use — frame dragging cancels most of the nuclear entrainment coupling;
3. the same quantities versus mass.
"""
from crustsolve.star import mass_radius_curve, maximum_mass, star_model, unified_eos

eos = unified_eos("BSk24")
mmax = maximum_mass(eos=eos)
print(f"{eos.name}: M_max = {mmax.mass:.4f} Msun at R = {mmax.radius:.3f} km "
      f"(central n = {mmax.central_baryon_density:.3f} fm^-3)")

s = star_model("BSk24", 1.4, eos=eos)
print(f"M = {s.mass:.3f} Msun, R = {s.radius:.3f} km, I = {s.moment_of_inertia:.4e} g cm^2, "
      f"crust {s.crust_thickness:.3f} km thick")
print(f"  I~_n = {s.I_tilde_n:.4e}, I~_p = {s.I_tilde_p:.4e} g cm^2 "
      f"(fractions {s.fraction_n:.4f}, {s.fraction_p:.4f})")
print(f"  eps~_n = {s.eps_tilde_n:.5f}, eps~_p = {s.eps_tilde_p:.5f}")
print(f"  eps_LT: nn = {s.eps_lt_nn:.5f}, np = {s.eps_lt_np:.5f}, "
      f"pn = {s.eps_lt_pn:.5f}, pp = {s.eps_lt_pp:.5f}")
print(f"  I_np/I_n = {s.I_np_over_I_n:.5f} (eps~_n = {s.eps_tilde_n:.5f} without frame "
      f"dragging), I_pn/I_p = {s.I_pn_over_I_p:.5f}, omega(0)/Omega = {s.omega_c_over_Omega:.4f}")
print(f"  checks: sum rule {s.moment_of_inertia_check:.1e}, "
      f"LT symmetry {s.lt_symmetry_residual:.1e}")

print(f"{'M':>6} {'R':>8} {'I/1e45':>8} {'eps~_n':>8} {'I_np/I_n':>9}")
for s in mass_radius_curve("BSk24", [1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2], eos=eos):
    print(f"{s.mass:6.2f} {s.radius:8.3f} {s.moment_of_inertia / 1e45:8.4f} "
          f"{s.eps_tilde_n:8.5f} {s.I_np_over_I_n:9.5f}")
