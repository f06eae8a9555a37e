"""Composition of one inner-crust layer: 4th-order ETF energy of a Wigner–Seitz cell and its
minimisation. Formulas and their sources: ``docs/physics/crust-composition.md``.

Energy per nucleon (the zero of Pearson et al. 2018's e_ETF):

    e = E_cell/A − m_n c²,   E_cell = ∫ E_Sky d³r + E_C + E_e,kin + E_e,ex + Z(m_p + m_e)c² + N m_n c²

* E_Sky: Skyrme/BSk energy density with 4th-order ETF τ_q, J_q (:mod:`.skyrme_local`, :mod:`.etf`);
* E_C = (e²/2)∫₀ᴿ Q(r)²/r² dr, Q(r) = 4π∫₀ʳ (n_p − n_e) r'² dr' (point protons, no proton
  Coulomb exchange: the Pearson et al. 2018 tables have none), plus, by default for BSk
  functionals, the finite-proton-size correction of :func:`proton_size_coulomb_correction`
  (single Gaussian folding, r_p = 0.895 fm; ``proton_size=False`` gives point protons);
* electrons: uniform relativistic Fermi gas n_e = Z/V, with Salpeter's first-order exchange
  (factor Φ(x)).

Profiles: Onsi form (:mod:`.profiles`). At fixed n̄ and Z the free variables are
(A, C_n, a_n, n_Λn, C_p, a_p); n_Λp and n_Bn follow from Z and N = A − Z, n_Bp = 0.

Proton shell (Strutinsky-integral) and pairing corrections are out of scope: ``shell_correction``
is a hook, a callable ``(functional, nbar, Z, neutron, proton) -> MeV per cell`` added to the
energy that is minimised over Z (it is *not* re-minimised over A: the ETFSI corrections are
added perturbatively).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Callable, Optional

import numpy as np
import scipy.optimize

from ..constants import E2, HBARC, M_E_C2, M_N_C2, M_P_C2
from ..errors import ConvergenceError, InputError, check_choice, check_range
from ..functional import chemical_potentials, get_functional, pressure
from . import etf
from .profiles import OnsiProfile, radial_grid, shape_integral
from .skyrme_local import energy_density, spin_orbit_strength

#: Radial midpoint-grid points used for cell energies (converged to < 1e-3 keV/nucleon, tests).
DEFAULT_RADIAL_POINTS = 2000

#: rms radius (fm) of the Gaussian proton charge form factor of the BSk direct Coulomb energy
#: (:func:`proton_size_coulomb_correction`): 0.895 fm, the value behind the Gaussian exponent
#: 0.53401666 fm² = (2/3)(0.895 fm)² of the charge density used for BSk ≥ 15 in
#: ``mgeshelley/etfFinal`` (``srcs/routines.f90``, subroutine ``charge``), i.e. the proton
#: charge radius of Sick, Phys. Lett. B 576, 62 (2003), r_p = 0.895(18) fm. An adopted
#: convention (``docs/physics/crust-composition.md``, "Coulomb"), not read in the BSk papers.
PROTON_CHARGE_RADIUS = 0.895

#: Lattice types and clusters per conventional cube.
LATTICE_SITES = MappingProxyType({"bcc": 2, "fcc": 4})


@dataclass(frozen=True)
class CrustRange:
    """Inner-crust density range of a functional (fm⁻³) with its source."""

    drip: float
    crust_core: float
    equilibrium_Z: int
    source: str


#: Neutron drip and crust–core transition (no pasta) per functional: third-party
#: transcriptions (a public CUTER port, Potekhin's fits, the RoqueMR/repository_phd_roque YAML)
#: of Pearson et al. MNRAS 481, 2994 (2018) and Shchechilin et al. PRC 108, 025805 (2023), not
#: cross-checked against the papers. Equilibrium Z: the ETFSI value over most of the inner
#: crust (the Pearson et al. 2018 tables). Table: ``docs/physics/crust-composition.md``.
_CR_BSK24 = "Pearson et al. 2018; Shchechilin et al. 2023 (third-party transcriptions)"
_CR_YAML = ("crust-core: third-party transcription of Pearson et al. 2018; drip not "
            "documented, BSk24 value used")
CRUST_RANGES = MappingProxyType({
    "BSk22": CrustRange(2.69e-4, 0.071, 40,
                        "Pearson et al. 2018 (third-party transcriptions)"),
    "BSk24": CrustRange(2.56e-4, 0.081, 40, _CR_BSK24),
    "BSk25": CrustRange(2.56e-4, 0.086, 50, _CR_YAML),
    "BSk26": CrustRange(2.56e-4, 0.085, 40, _CR_YAML),
    "BSk31": CrustRange(2.56e-4, 0.081, 40,
                        "not documented for BSk31: BSk24 values (Chamel, Pearson & Shchechilin "
                        "arXiv:2410.01997: Z = 40, composition close to BSk24)"),
    "SLy4": CrustRange(2.56e-4, 0.0759, 40,
                       "drip not documented (BSk24 value); crust-core 0.0759 is Douchin & "
                       "Haensel A&A 380, 151 (2001) (not checked against the paper); Z = 40: "
                       "Pearson et al. PRC 85, 065803 (2012)"),
})


def crust_range(functional) -> CrustRange:
    """Inner-crust range of ``functional`` (name or parameter set); generic BSk24 values otherwise."""
    p = get_functional(functional)
    return CRUST_RANGES.get(p.name, CrustRange(2.56e-4, 0.081, 40,
                                               "not documented for this functional: BSk24 values"))


def check_density(functional, nbar) -> float:
    """Return n̄ if it lies in the inner crust of the functional, else raise InputError."""
    cr = crust_range(functional)
    name = get_functional(functional).name
    return check_range(f"mean baryon density for {name} (inner crust: neutron drip "
                       f"{cr.drip:g} to crust-core transition {cr.crust_core:g}; {cr.source})",
                       nbar, lo=cr.drip, hi=cr.crust_core, lo_open=True, hi_open=True,
                       unit="fm^-3")


@dataclass(frozen=True)
class CellEnergy:
    """Energy per nucleon of a WS cell and its parts (MeV per nucleon).

    ``total`` = nuclear + coulomb + electron_kinetic + electron_exchange + rest_mass_offset
    (+ shell), the e_ETF of Pearson et al. 2018 (rest mass m_n c² subtracted).
    ``coulomb_proton_size`` is the finite-proton-size part of ``coulomb`` (already included in
    it; 0 with point protons), :func:`proton_size_coulomb_correction`.
    """

    total: float
    nuclear: float
    coulomb: float
    electron_kinetic: float
    electron_exchange: float
    rest_mass_offset: float
    shell: float = 0.0
    coulomb_proton_size: float = 0.0


# ----------------------------------------------------------------------------- electrons
def electron_kinetic_energy_density(n_e):
    """Relativistic Fermi-gas energy density minus rest mass (MeV fm⁻³), x = ħc k_e/m_e c².

    ε = m_e⁴c⁵/(8π²ħ³)[x(1+2x²)√(1+x²) − asinh x] − n_e m_e c² (standard, e.g. Shapiro &
    Teukolsky eq. 2.5.4).
    """
    k = (3.0 * np.pi**2 * n_e) ** (1.0 / 3.0)
    x = HBARC * k / M_E_C2
    pref = M_E_C2**4 / HBARC**3 / (8.0 * np.pi**2)
    return pref * (x * (1.0 + 2.0 * x * x) * np.sqrt(1.0 + x * x) - np.arcsinh(x)) - n_e * M_E_C2


def electron_exchange_energy_density(n_e):
    """First-order exchange −¾(3/π)^{1/3} e² n_e^{4/3} Φ(x) (MeV fm⁻³) (Salpeter 1961).

    Φ(x) = 1 − (3/2)[√(1+x²)/x − asinh(x)/x²]²; Φ → −½ for ultra-relativistic electrons
    (Salpeter, ApJ 134, 669 (1961)).
    """
    k = (3.0 * np.pi**2 * n_e) ** (1.0 / 3.0)
    x = HBARC * k / M_E_C2
    phi = 1.0 - 1.5 * (np.sqrt(1.0 + x * x) / x - np.arcsinh(x) / x**2) ** 2
    return -0.75 * (3.0 / np.pi) ** (1.0 / 3.0) * E2 * n_e ** (4.0 / 3.0) * phi


def electron_chemical_potential(n_e) -> float:
    """Ideal-gas μ_e = √((m_ec²)² + (ħc k_e)²) (MeV, rest mass included; no Coulomb/exchange)."""
    k = (3.0 * np.pi**2 * n_e) ** (1.0 / 3.0)
    return float(math.hypot(M_E_C2, HBARC * k))


# ----------------------------------------------------------------------------- proton size
def uses_proton_size(functional) -> bool:
    """Default of ``proton_size``: True for the Brussels–Montreal (BSk) functionals, whose
    published ETF(SI) crust energies include it; False otherwise (SLy4: point protons)."""
    return get_functional(functional).name.upper().startswith("BSK")


def proton_size_coulomb_correction(r, weights, n_jet, rms_radius: float = PROTON_CHARGE_RADIUS
                                   ) -> float:
    """Finite-proton-size change of the direct Coulomb energy (MeV per cell, ≤ 0).

    Single Gaussian folding: the point protons n_p sit in the potential of the charge density
    ρ_ch = G ∗ n_p, with G a normalised Gaussian of mean-square radius ⟨r²⟩ = ``rms_radius``²:

        ΔE = (e²/2) ∫ n_p (G ∗ φ − φ) d³r,   φ(r) = ∫ n_p(r') / |r − r'| d³r'

    (equivalently, both densities folded with a Gaussian of ⟨r²⟩/2). The electrons keep
    interacting with the point protons. With the heat kernel G ∗ φ = exp(s∇²) φ, s = ⟨r²⟩/6,
    and ∇²φ = −4π n_p, this is the local series (derived; tested against the closed form
    for a Gaussian density and against a direct radial convolution)

        ΔE = −2π e² [ s ∫ n_p² − (s²/2) ∫ |∇n_p|² + (s³/6) ∫ (∇²n_p)² ] + O(s⁴),

    whose truncation error is ≲ 1e-4 of ΔE for the crust clusters (< 2 eV/nucleon); to first
    order ΔE = −(π/3) e² ⟨r²⟩ ∫ n_p² d³r.

    Source and status: this is the convention implied by the BSk24 ETFSI table of Pearson et
    al., MNRAS 481, 2994 (2018) (``docs/physics/crust-composition.md``, "Coulomb"), not read in
    the paper. With point
    protons crustsolve's e_ETF of the tabulated profiles exceeds the table by Δe = κ ∫n_p²d³r/A
    with κ = 1.196 MeV fm³ constant to 0.5 % over 2.7e-4 ≤ n̄ ≤ 0.013 fm⁻³ (BSk22/25/26 tables:
    1.185–1.206, also for Z = 50), i.e. a Coulomb finite-size term; an exact single Gaussian
    folding fits it with r_p = 0.898 ± 0.001 fm, the 0.895 fm proton charge radius of the
    Gaussian form factor coded for BSk functionals in ``mgeshelley/etfFinal`` (which folds
    both densities and so gets twice the correction) leaves ≤ 0.11 keV/nucleon in every row.
    No neutron form factor: the table excludes one (∫n_n n_p/∫n_p² varies 2→5 while κ is fixed).

    ``r``, ``weights``: radial grid and volume elements 4πr²dr; ``n_jet``: n_p and its first
    two radial derivatives (rows 0–2) on that grid.
    """
    if not rms_radius >= 0.0:
        raise InputError(f"proton rms charge radius must be >= 0 fm, got {rms_radius!r}")
    r = np.asarray(r, dtype=float)
    n, dn, d2n = n_jet[0], n_jet[1], n_jet[2]
    lap = d2n + 2.0 * dn / r
    s = rms_radius**2 / 6.0
    w = np.asarray(weights, dtype=float)
    series = (s * np.sum(w * n * n) - 0.5 * s * s * np.sum(w * dn * dn)
              + s**3 / 6.0 * np.sum(w * lap * lap))
    return float(-2.0 * np.pi * E2 * series)


# ----------------------------------------------------------------------------- radial fields
@dataclass(frozen=True)
class RadialSolution:
    """Densities, ETF τ_q, J_q and their derivatives on the radial midpoint grid of a cell."""

    r: np.ndarray
    weights: np.ndarray
    nn: np.ndarray   # jet of n_n (5, npts)
    np_: np.ndarray  # jet of n_p
    etf_n: etf.RadialETF
    etf_p: etf.RadialETF
    order: int

    def tau(self, q):
        return (self.etf_n if q == "n" else self.etf_p).tau(self.order)

    def J(self, q):
        return (self.etf_n if q == "n" else self.etf_p).J(self.order)


def radial_solution(functional, neutron: OnsiProfile, proton: OnsiProfile, *, order: int = 4,
                    npts: int = DEFAULT_RADIAL_POINTS, r=None) -> RadialSolution:
    """Evaluate densities and ETF τ, J (orders 0/2/4) on the midpoint grid of the cell
    (or on given radii ``r`` with zero weights)."""
    p = get_functional(functional)
    W0 = spin_orbit_strength(p)
    if r is None:
        r, w = radial_grid(neutron.R, npts)
    else:
        r = np.asarray(r, dtype=float)
        w = np.zeros_like(r)
    nn, np_ = neutron.density_jet(r), proton.density_jet(r)
    fn, fp = etf.effective_mass_ratio_jets(p, nn, np_)
    en = etf.radial_etf(r, nn, fn, 2.0 * nn + np_, p.hbar2_2m_n, W0)
    ep = etf.radial_etf(r, np_, fp, 2.0 * np_ + nn, p.hbar2_2m_p, W0)
    return RadialSolution(r=r, weights=w, nn=nn, np_=np_, etf_n=en, etf_p=ep, order=order)


def cell_energy(functional, nbar: float, Z: float, neutron: OnsiProfile, proton: OnsiProfile, *,
                order: int = 4, npts: int = DEFAULT_RADIAL_POINTS, electron_exchange: bool = True,
                shell_correction: Optional[Callable] = None, proton_size: Optional[bool] = None,
                proton_radius: float = PROTON_CHARGE_RADIUS) -> CellEnergy:
    """e_ETF (MeV/nucleon) of a WS cell with the given profiles (module docstring).

    ``Z`` is the number of protons per cell (fixes n_e = Z/V); A = n̄ V with V = 4πR³/3.
    The profiles are used as given (they are not renormalised to Z).
    ``proton_size``: add the finite-proton-size Coulomb correction
    (:func:`proton_size_coulomb_correction`, rms radius ``proton_radius``); None = the
    functional's default (:func:`uses_proton_size`: on for BSk, off for SLy4); False = point
    protons.
    """
    p = get_functional(functional)
    R = neutron.R
    V = 4.0 * np.pi * R**3 / 3.0
    A = nbar * V
    sol = radial_solution(p, neutron, proton, order=order, npts=npts)
    nn, np_ = sol.nn, sol.np_
    e_sky = energy_density(p, nn[0], np_[0], sol.tau("n"), sol.tau("p"), nn[1][None], np_[1][None],
                           sol.J("n")[None], sol.J("p")[None])
    E_nuc = float(np.sum(e_sky * sol.weights))
    # Coulomb: Q at the cell edges r = (i+1)h by the cumulative midpoint rule, then trapezoid.
    h = R / npts
    edges = (np.arange(npts) + 1.0) * h
    n_e = Z / V
    Q = np.cumsum(sol.weights * np_[0]) - n_e * 4.0 * np.pi * edges**3 / 3.0
    integ = Q**2 / edges**2
    E_C = 0.5 * E2 * h * (np.sum(integ) - 0.5 * integ[-1])
    if proton_size is None:
        proton_size = uses_proton_size(p)
    E_fs = (proton_size_coulomb_correction(sol.r, sol.weights, np_, proton_radius)
            if proton_size else 0.0)
    E_C += E_fs
    E_ek = float(electron_kinetic_energy_density(n_e)) * V
    E_ex = float(electron_exchange_energy_density(n_e)) * V if electron_exchange else 0.0
    E_rest = Z * (M_P_C2 + M_E_C2 - M_N_C2)
    E_sh = 0.0
    if shell_correction is not None:
        E_sh = float(shell_correction(p, nbar, Z, neutron, proton))
    total = (E_nuc + E_C + E_ek + E_ex + E_rest + E_sh) / A
    return CellEnergy(total=total, nuclear=E_nuc / A, coulomb=E_C / A, electron_kinetic=E_ek / A,
                      electron_exchange=E_ex / A, rest_mass_offset=E_rest / A, shell=E_sh / A,
                      coulomb_proton_size=E_fs / A)


# ----------------------------------------------------------------------------- Layer
@dataclass(frozen=True)
class Layer:
    """Composition of one inner-crust layer (frozen).

    Units: densities fm⁻³, lengths fm, energies MeV. ``e_etf`` is the energy per nucleon with
    m_n c² subtracted; ``pressure`` the cell pressure (:func:`edge_pressure`); ``mu_n`` =
    μ_n − m_n c² = e + P/n̄ (Gibbs–Duhem; this is what the Pearson et al. 2018 table lists: its
    μ_n column equals e_ETFSI + P/n̄ to 1e-5, tests); ``mu_n_gas`` = B_n k_F² + U_n of the
    uniform neutron gas at the cell edge (what the band fields give); ``mu_e`` the ideal-gas
    electron chemical potential with m_e c²; ``mu_p`` = μ_p − m_p c² when known (tables).
    In the restricted Onsi family mu_n_gas and mu_n differ slightly (−21 keV at n̄ = 0.03).
    """

    functional: str
    nbar: float
    Z: float
    A: float
    R_cell: float
    neutron: OnsiProfile
    proton: OnsiProfile
    lattice: str = "bcc"
    e_etf: float = float("nan")
    energies: Optional[CellEnergy] = None
    mu_n: float = float("nan")
    mu_e: float = float("nan")
    pressure: float = float("nan")
    mu_n_gas: float = float("nan")
    mu_p: Optional[float] = None
    source: str = ""
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def N(self) -> float:
        return self.A - self.Z

    @property
    def n_n_free(self) -> float:
        """Free-neutron (background) density n_Bn (fm⁻³)."""
        return self.neutron.n_B

    @property
    def lattice_constant(self) -> float:
        """Side of the conventional cube: a = (s A/n̄)^{1/3}, s = 2 (bcc) or 4 (fcc)."""
        return (LATTICE_SITES[self.lattice] * self.A / self.nbar) ** (1.0 / 3.0)

    @property
    def profile_parameters(self) -> dict:
        """The 8 Onsi parameters (Pearson et al. 2018 table names)."""
        return {"a_p": self.proton.a, "C_p": self.proton.C, "a_n": self.neutron.a,
                "C_n": self.neutron.C, "n_lambda_p": self.proton.n_lambda,
                "n_lambda_n": self.neutron.n_lambda, "n_B_p": self.proton.n_B,
                "n_B_n": self.neutron.n_B}

    def with_lattice(self, lattice: str) -> "Layer":
        check_choice("lattice", lattice, tuple(LATTICE_SITES))
        return replace(self, lattice=lattice)

    def summary(self) -> str:
        """Multi-line human-readable description (for the CLI)."""
        pp = self.profile_parameters
        lines = [
            f"layer: functional {self.functional}, n̄ = {self.nbar:.6g} fm^-3 ({self.source})",
            f"  Z = {self.Z:.4g}, A = {self.A:.2f}, N = {self.N:.2f}, R_cell = {self.R_cell:.4f} fm",
            f"  lattice {self.lattice}, cube side a = {self.lattice_constant:.4f} fm "
            f"({LATTICE_SITES[self.lattice]} clusters)",
            f"  neutrons: n_B = {pp['n_B_n']:.6g}, n_Λ = {pp['n_lambda_n']:.6g} fm^-3, "
            f"C = {pp['C_n']:.5f}, a = {pp['a_n']:.5f} fm",
            f"  protons : n_B = {pp['n_B_p']:.3g}, n_Λ = {pp['n_lambda_p']:.6g} fm^-3, "
            f"C = {pp['C_p']:.5f}, a = {pp['a_p']:.5f} fm",
            f"  e_ETF = {self.e_etf:.6f} MeV/nucleon;  P = {self.pressure:.6g} MeV fm^-3",
            f"  μ_n − m_n c² = {self.mu_n:.5f} MeV (e + P/n̄), {self.mu_n_gas:.5f} MeV (gas at the "
            f"edge);  μ_e = {self.mu_e:.5f} MeV" + ("" if self.mu_p is None else
                                                    f";  μ_p − m_p c² = {self.mu_p:.5f} MeV"),
        ]
        if self.energies is not None:
            en = self.energies
            lines.append(f"  parts (MeV/nucleon): nuclear {en.nuclear:.6f}, Coulomb {en.coulomb:.6f}, "
                         f"e-kinetic {en.electron_kinetic:.6f}, e-exchange {en.electron_exchange:.6f}, "
                         f"Z(m_p+m_e-m_n)/A {en.rest_mass_offset:.6f}")
        return "\n".join(lines)


def gas_chemical_potential(functional, n_Bn: float, n_Bp: float = 0.0) -> float:
    """μ_n − m_n c² of the uniform neutron gas at the cell edge (MeV): B_n k_F² + U_n."""
    p = get_functional(functional)
    mu_n, _ = chemical_potentials(p, n_Bn, n_Bp)
    return float(mu_n) - M_N_C2


def edge_pressure(functional, Z: float, R: float, n_Bn: float, n_Bp: float = 0.0) -> float:
    """Cell pressure (MeV fm⁻³) = uniform-matter pressure of the nucleon gas at the cell edge
    (n_Bn, n_Bp) + pressure of the uniform electron gas n_e = Z/V (kinetic + exchange).

    This is the pressure of Pearson et al. PRC 85, 065803 (2012) eq. (B28) (as implemented in
    ``mgeshelley/etfFinal``; not read in the paper); it reproduces the P column of the BSk24
    table at n̄ = 0.030024 to 2e-4 relative (tests). The electron exchange pressure is
    n_e dε_ex/dn_e − ε_ex.
    """
    n_gas = n_Bn + n_Bp
    P_gas = float(pressure(functional, n_gas, (n_Bn - n_Bp) / n_gas)) if n_gas > 0 else 0.0
    n_e = Z / (4.0 * np.pi * R**3 / 3.0)
    eps_e = float(electron_kinetic_energy_density(n_e)) + n_e * M_E_C2
    P_e = n_e * electron_chemical_potential(n_e) - eps_e
    d = 1e-5 * n_e
    deps = (float(electron_exchange_energy_density(n_e + d))
            - float(electron_exchange_energy_density(n_e - d))) / (2.0 * d)
    P_ex = n_e * deps - float(electron_exchange_energy_density(n_e))
    return P_gas + P_e + P_ex


def profiles_from_parameters(nbar: float, Z: float, A: float, C_n: float, a_n: float,
                             n_lambda_n: float, C_p: float, a_p: float, n_B_p: float = 0.0,
                             npts: int = DEFAULT_RADIAL_POINTS):
    """(neutron, proton) profiles with n_Λp and n_Bn fixed by Z and N = A − Z.

    Raises InputError if the constraint gives n_Bn < 0 (the constraint of Onsi et al. 2008).
    """
    R = (3.0 * A / (4.0 * np.pi * nbar)) ** (1.0 / 3.0)
    V = 4.0 * np.pi * R**3 / 3.0
    Ip = shape_integral(C_p, a_p, R, npts)
    In = shape_integral(C_n, a_n, R, npts)
    n_lambda_p = (Z - n_B_p * V) / (4.0 * np.pi * Ip)
    n_B_n = (A - Z - 4.0 * np.pi * n_lambda_n * In) / V
    if n_B_n < 0.0:
        raise InputError(f"profile parameters give a negative neutron background n_Bn = {n_B_n:g}")
    return (OnsiProfile(n_B_n, n_lambda_n, C_n, a_n, R),
            OnsiProfile(n_B_p, n_lambda_p, C_p, a_p, R))


def initial_guess(nbar: float, Z: float) -> np.ndarray:
    """Starting point (A, C_n, a_n, n_Λn, C_p, a_p) for the minimiser.

    Profile parameters from the BSk21 fits of Potekhin et al., A&A 560, A48 (2013)
    (fits of their ``INCRUST`` routine), scaled by (Z/40)^{1/3} for the radii; A from a power
    law through the Pearson et al. 2018 BSk24 table (137.5 at 2.7e-4 and 1077 at 0.030). Only
    a start value.
    """
    n = nbar
    zs = (Z / 40.0) ** (1.0 / 3.0)
    a_p = (0.4316 + 4.704 * n) / (1 - 1253 * n**3)
    a_n = (0.636 + 5.32 * n**0.739) / (1 - 624 * n**3)
    C_p = zs * (5.457 + 14.2 * n**0.601) / (1 - 566 * n**3)
    C_n = zs * (5.728 + 22.2 * n**0.663) / (1 - 144 * n**3)
    n_ln = 0.10085 + 0.0942 * math.sqrt(n) - 1.279 * n
    A = (Z / 40.0) * 137.5 * (n / 2.7e-4) ** (math.log(1077.3 / 137.5) / math.log(0.030024 / 2.7e-4))
    return np.array([A, C_n, a_n, n_ln, C_p, a_p])


def _mu_n_of(p, neutron, proton):
    return gas_chemical_potential(p, neutron.n_B, proton.n_B)


def minimise_layer(functional="BSk24", nbar: float = 0.03, Z: Optional[float] = None, *,
                   lattice: str = "bcc", start=None, order: int = 4,
                   npts: int = DEFAULT_RADIAL_POINTS, electron_exchange: bool = True,
                   shell_correction: Optional[Callable] = None, tol: float = 1e-10,
                   check_crust: bool = True, proton_size: Optional[bool] = None,
                   proton_radius: float = PROTON_CHARGE_RADIUS) -> Layer:
    """Minimise e_ETF over (A, C_n, a_n, n_Λn, C_p, a_p) at fixed n̄ and Z → :class:`Layer`.

    ``Z`` defaults to the functional's equilibrium Z (:data:`CRUST_RANGES`; 40 for BSk24).
    Bounded quasi-Newton (L-BFGS-B) on scaled variables from :func:`initial_guess` (or
    ``start``), restarted once from its own result. Raises ConvergenceError if the optimiser
    fails or ends on a bound, InputError for densities outside the inner crust.
    ``proton_size``, ``proton_radius``: Coulomb finite-proton-size convention, as in
    :func:`cell_energy` (default: on for BSk functionals).
    """
    p = get_functional(functional)
    check_choice("lattice", lattice, tuple(LATTICE_SITES))
    spin_orbit_strength(p)
    if check_crust:
        nbar = check_density(p, nbar)
    if Z is None:
        Z = crust_range(p).equilibrium_Z
    Z = check_range("Z", Z, lo=2.0, hi=200.0)
    x0 = np.asarray(initial_guess(nbar, Z) if start is None else start, dtype=float)
    if x0.size == 6:
        # Proton background start: the 4th-order ETF tail term (n^{1/3}(n'/n)^4 of a profile
        # that vanishes at R) makes a tiny n_Bp > 0 favourable; the Pearson et al. 2018
        # table has n_Bp ~ 1e-9 (drip) to 1e-7 (0.03) fm^-3. So n_Bp is a 7th variable.
        x0 = np.r_[x0, 1e-7]
    scale = x0[:6].copy()

    def unpack(y):
        A, C_n, a_n, nl_n, C_p, a_p = y[:6] * scale
        return profiles_from_parameters(nbar, Z, A, C_n, a_n, nl_n, C_p, a_p,
                                        n_B_p=math.exp(y[6]), npts=npts)

    def fun(y):
        try:
            neu, pro = unpack(y)
            if not (0.0 < pro.n_lambda < 0.2 and 0.0 < neu.n_lambda < 0.2):
                return 1e3
            return cell_energy(p, nbar, Z, neu, pro, order=order, npts=npts,
                               electron_exchange=electron_exchange, proton_size=proton_size,
                               proton_radius=proton_radius).total
        except InputError:
            return 1e3  # outside the physical domain (n_Bn < 0, C > R): reject the step

    # Bounds (scaled): A in [0.3, 3]×start; radii and diffusenesses within a factor 2.5;
    # ln n_Bp in [ln 1e-14, ln 1e-3].
    bounds = [(0.3, 3.0), (0.4, 2.5), (0.4, 2.5), (0.2, 1.8), (0.4, 2.5), (0.4, 2.5),
              (math.log(1e-14), math.log(1e-3))]
    t0 = time.perf_counter()
    y = np.r_[np.ones(6), math.log(max(float(x0[6]), 1e-14))]
    res = None
    nfev = 0
    for _ in range(2):
        # scipy.optimize.minimize looked up at call time (tests replace it).
        res = scipy.optimize.minimize(fun, y, method="L-BFGS-B", bounds=bounds,
                                      options={"ftol": tol, "gtol": 1e-10, "maxiter": 1000,
                                               "eps": 1e-7})
        nfev += res.nfev
        y = res.x
    if not np.isfinite(res.fun) or res.fun >= 1e3:
        raise ConvergenceError(f"ETF minimisation at n̄ = {nbar:g}, Z = {Z:g} found no physical "
                               f"cell ({res.message})")
    on_bound = [i for i, (lo, hi) in enumerate(bounds[:6]) if min(y[i] - lo, hi - y[i]) < 1e-6]
    if on_bound:
        names = ("A", "C_n", "a_n", "n_lambda_n", "C_p", "a_p")
        raise ConvergenceError(f"ETF minimisation at n̄ = {nbar:g}, Z = {Z:g} ended on the bound "
                               f"of {', '.join(names[i] for i in on_bound)}: no interior minimum")
    neu, pro = unpack(y)
    en = cell_energy(p, nbar, Z, neu, pro, order=order, npts=npts,
                     electron_exchange=electron_exchange, shell_correction=shell_correction,
                     proton_size=proton_size, proton_radius=proton_radius)
    A = float(y[0] * scale[0])
    V = 4.0 * np.pi * neu.R**3 / 3.0
    # Two pressures: the edge pressure (gas + electrons; the table's P) and, for information,
    # the thermodynamic n̄² de/dn̄ at fixed Z (envelope theorem: partial derivative at the
    # optimal parameters). They agree only for an unrestricted density; in the Onsi family the
    # envelope value is 1.7 % lower at n̄ = 0.03 (measured), so the edge pressure is used.
    A_, C_n, a_n, nl_n, C_p, a_p = y[:6] * scale

    def e_at(nb):
        nn_, pp_ = profiles_from_parameters(nb, Z, A_, C_n, a_n, nl_n, C_p, a_p,
                                            n_B_p=math.exp(y[6]), npts=npts)
        return cell_energy(p, nb, Z, nn_, pp_, order=order, npts=npts,
                           electron_exchange=electron_exchange, proton_size=proton_size,
                           proton_radius=proton_radius).total

    dn = 1e-4 * nbar
    P = nbar**2 * (e_at(nbar + dn) - e_at(nbar - dn)) / (2.0 * dn)
    P_edge = edge_pressure(p, Z, neu.R, neu.n_B, pro.n_B)
    return Layer(functional=p.name, nbar=float(nbar), Z=float(Z), A=A, R_cell=neu.R,
                 neutron=neu, proton=pro, lattice=lattice, e_etf=en.total, energies=en,
                 mu_n=en.total + P_edge / nbar, mu_n_gas=_mu_n_of(p, neu, pro),
                 pressure=P_edge, mu_e=electron_chemical_potential(Z / V),
                 source=f"ETF order {order} minimisation (crustsolve)",
                 extra={"nfev": nfev, "seconds": time.perf_counter() - t0,
                        "pressure_envelope_MeV_fm3": P,
                        "optimizer_message": str(res.message),
                        "shell_correction": "none" if shell_correction is None else
                        getattr(shell_correction, "__name__", repr(shell_correction))})


def scan_z(functional, nbar: float, Zs, **kw) -> tuple:
    """Minimise at each Z of ``Zs``; returns (best Layer, {Z: e_ETF + shell})."""
    results = {}
    best = None
    for Z in Zs:
        layer = minimise_layer(functional, nbar, Z, **kw)
        results[float(Z)] = layer.energies.total
        if best is None or layer.energies.total < best.energies.total:
            best = layer
    return best, results


def layer_from_profiles(functional, nbar: float, Z: float, A: float, neutron: OnsiProfile,
                        proton: OnsiProfile, *, lattice: str = "bcc", source: str = "",
                        mu_n=None, mu_e=None, mu_p=None, e_etf=None, pressure=None,
                        npts: int = DEFAULT_RADIAL_POINTS, proton_size: Optional[bool] = None
                        ) -> Layer:
    """A :class:`Layer` from given profiles (e.g. a published table); energies recomputed
    with crustsolve's ETF unless ``e_etf`` is given (then ``energies`` still holds ours).
    ``proton_size`` as in :func:`cell_energy`."""
    p = get_functional(functional)
    check_choice("lattice", lattice, tuple(LATTICE_SITES))
    en = cell_energy(p, nbar, Z, neutron, proton, npts=npts, proton_size=proton_size)
    V = 4.0 * np.pi * neutron.R**3 / 3.0
    e = en.total if e_etf is None else float(e_etf)
    P = edge_pressure(p, Z, neutron.R, neutron.n_B, proton.n_B) if pressure is None else float(pressure)
    return Layer(functional=p.name, nbar=float(nbar), Z=float(Z), A=float(A), R_cell=neutron.R,
                 neutron=neutron, proton=proton, lattice=lattice,
                 e_etf=e, energies=en, pressure=P, mu_n_gas=_mu_n_of(p, neutron, proton),
                 mu_n=e + P / nbar if mu_n is None else float(mu_n),
                 mu_e=electron_chemical_potential(Z / V) if mu_e is None else float(mu_e),
                 mu_p=mu_p, source=source)


__all__ = ["CRUST_RANGES", "CellEnergy", "CrustRange", "DEFAULT_RADIAL_POINTS", "LATTICE_SITES",
           "Layer", "PROTON_CHARGE_RADIUS", "RadialSolution", "cell_energy", "edge_pressure",
           "check_density", "crust_range",
           "electron_chemical_potential", "electron_exchange_energy_density",
           "electron_kinetic_energy_density", "gas_chemical_potential", "initial_guess",
           "layer_from_profiles", "minimise_layer", "profiles_from_parameters",
           "proton_size_coulomb_correction", "radial_solution", "scan_z", "uses_proton_size"]
