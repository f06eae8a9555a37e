"""Gravitational constants and the conversions between nuclear and geometric units.

crustsolve's nuclear stages work in MeV, fm and fm⁻³ (:mod:`crustsolve.constants`);
the stellar-structure stage works internally in geometric units G = c = 1 with
lengths in km (masses as GM/c² in km, energy densities and pressures as Gε/c⁴ in
km⁻², moments of inertia as GI/c² in km³). Only the constants needed for that are
defined here; they are candidates for :mod:`crustsolve.constants`.

Sources:

* G = 6.67430×10⁻¹¹ m³ kg⁻¹ s⁻² — CODATA 2018 (Tiesinga et al., Rev. Mod. Phys. 93,
  025010 (2021));
* c = 299 792 458 m s⁻¹ and e = 1.602 176 634×10⁻¹⁹ C (so 1 MeV = 1.602 176 634×10⁻¹³ J)
  — exact in the SI since 2019 (CODATA 2018);
* nominal solar mass parameter (GM)☉ = 1.327 124 4×10²⁰ m³ s⁻² — IAU 2015
  Resolution B3 (Prša et al., AJ 152, 41 (2016)); M☉ = (GM)☉/G.

Derived values (checked in the tests against hand evaluations): 1 MeV fm⁻³ × G/c⁴ =
1.3238×10⁻⁶ km⁻²; GM☉/c² = 1.476 625 km; I[g cm²] = I[km³] × 1.3466×10⁴³.
"""
from __future__ import annotations

#: Newtonian constant of gravitation G in m³ kg⁻¹ s⁻² (CODATA 2018).
G_SI = 6.67430e-11
#: Speed of light c in m s⁻¹ (exact).
C_SI = 299792458.0
#: 1 MeV in J (exact since the 2019 SI redefinition).
MEV_J = 1.602176634e-13
#: Nominal solar mass parameter (GM)☉ in m³ s⁻² (IAU 2015 Resolution B3).
GM_SUN_SI = 1.3271244e20
#: Solar mass in kg, (GM)☉/G.
M_SUN_KG = GM_SUN_SI / G_SI

#: GM☉/c² in km (1.476625 km): one solar mass in geometric length units.
M_SUN_KM = GM_SUN_SI / C_SI**2 * 1e-3
#: Energy density or pressure: 1 MeV fm⁻³ (= 1.602176634×10³² Pa) × G/c⁴, in km⁻².
MEV_FM3_TO_KM2 = MEV_J * 1e45 * G_SI / C_SI**4 * 1e6
#: Moment of inertia: GI/c² in km³ → I in g cm² (multiply by this).
KM3_TO_G_CM2 = 1e9 * C_SI**2 / G_SI * 1e7
#: Mass-energy density: 1 MeV c⁻² fm⁻³ in g cm⁻³ (1.78266×10¹²).
MEV_FM3_TO_G_CM3 = MEV_J / C_SI**2 * 1e3 * 1e39
#: Pressure: 1 MeV fm⁻³ in dyn cm⁻² (1.602176634×10³³).
MEV_FM3_TO_DYN_CM2 = MEV_J * 1e45 * 10.0
