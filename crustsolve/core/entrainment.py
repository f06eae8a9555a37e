"""Neutron–proton entrainment in uniform matter at T = 0 and its parametrisations.

Mass currents ρ_q = Σ_q′ ρ_qq′ V_q′ with superfluid velocities V_q = ħ∇φ_q/2m_q. With a
common bare mass m (default, m = (M_n + M_p)/2, for which the Skyrme current terms are exactly
Galilean invariant)::

    ρ_np = ρ_pn = −(2m²/ħ²) C₋ n_n n_p = ¼ρ(1 − η²)(1 − Υ),
    ρ_nn = ½ρ(1 + η) − ρ_np,   ρ_pp = ½ρ(1 − η) − ρ_np,
    Υ = 1 + (2m/ħ²) C₋ n = m/m_v*(n)

(derived from the TDHF mass current; announced in Chamel & Allard, arXiv:2102.02474
(Part I) and Chamel & Haensel, PRC 73, 045802 (2006)). The option
``masses="bare"`` uses M_n ≠ M_p; the Galilean sum rule then fails at
relative order (M_n − M_p)/M ≈ 1.4×10⁻³. Derivation and properties:
``docs/physics/core-entrainment.md``, "Mass currents and the entrainment matrix at T = 0".

Mass densities are given as ρc² in MeV fm⁻³ (1 MeV c⁻² fm⁻³ = 1.7827×10¹² g cm⁻³);
only ratios such as ρ_np/ρ are unit-free.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..constants import HBAR2_2MBAR, HBAR2_2MN, HBAR2_2MP, M_N_C2, M_P_C2
from ..errors import InputError, check_choice, check_range
from ..functional import couplings, get_functional

#: Bare-mass options for the entrainment matrix.
MASS_OPTIONS = ("common", "bare")


def entrainment_masses(masses: str = "common"):
    """(m_n c², m_p c², ħ²/2m_n, ħ²/2m_p) used for entrainment under option ``masses``.

    ``"common"``: m = (M_n + M_p)/2 for both; ``"bare"``: M_n and M_p.
    """
    check_choice("masses", masses, MASS_OPTIONS)
    if masses == "common":
        m = 0.5 * (M_N_C2 + M_P_C2)
        return m, m, HBAR2_2MBAR, HBAR2_2MBAR
    return M_N_C2, M_P_C2, HBAR2_2MN, HBAR2_2MP


def check_species_densities(n_n, n_p):
    """Validate n_n, n_p ≥ 0 (fm⁻³) with n = n_n + n_p > 0; return floats."""
    n_n = check_range("neutron density n_n", n_n, 0.0, None, unit="fm^-3")
    n_p = check_range("proton density n_p", n_p, 0.0, None, unit="fm^-3")
    if n_n + n_p <= 0.0:
        raise InputError("density n = n_n + n_p must be positive, got 0 fm^-3")
    return n_n, n_p


@dataclass(frozen=True)
class EntrainmentMatrix:
    """Symmetric 2×2 entrainment matrix ρ_qq′ (ρc² in MeV fm⁻³).

    ``m_n_c2``, ``m_p_c2`` are the bare masses used (MeV); ``upsilon`` = Υ (only
    meaningful for a common mass); ``yosida_n``, ``yosida_p`` the Yosida factors
    (0 at T = 0); ``masses`` the mass option. At T > 0 the matrix refers to the
    frame where the normal (quasiparticle) fluid is at rest.
    """

    functional: str
    n_n: float
    n_p: float
    rho_nn: float
    rho_np: float
    rho_pp: float
    m_n_c2: float
    m_p_c2: float
    upsilon: float
    masses: str = "common"
    yosida_n: float = 0.0
    yosida_p: float = 0.0

    @property
    def rho_pn(self) -> float:
        return self.rho_np

    @property
    def rho_n(self) -> float:
        """Scalar neutron mass density m_n n_n (×c², MeV fm⁻³)."""
        return self.m_n_c2 * self.n_n

    @property
    def rho_p(self) -> float:
        """Scalar proton mass density m_p n_p (×c², MeV fm⁻³)."""
        return self.m_p_c2 * self.n_p

    @property
    def rho(self) -> float:
        """Total mass density ρ = ρ_n + ρ_p (×c², MeV fm⁻³)."""
        return self.rho_n + self.rho_p

    @property
    def det(self) -> float:
        """det ρ̂ = ρ_nn ρ_pp − ρ_np² ((MeV fm⁻³)²)."""
        return self.rho_nn * self.rho_pp - self.rho_np**2

    def as_array(self) -> np.ndarray:
        """ρ̂ as a 2×2 array, index 0 = neutrons, 1 = protons."""
        return np.array([[self.rho_nn, self.rho_np], [self.rho_np, self.rho_pp]])


def upsilon(functional, n) -> float:
    """Υ = 1 + (2m/ħ²) C₋(n) n = m/m_v*(n), common m = (M_n + M_p)/2."""
    n = check_range("density n", n, 0.0, None, lo_open=True, unit="fm^-3")
    return float(1.0 + couplings(functional, n).C_minus * n / HBAR2_2MBAR)


def entrainment_matrix_t0(functional, n_n, n_p, *, masses: str = "common") -> EntrainmentMatrix:
    """T = 0 entrainment matrix of uniform n-p matter (closed forms).

    ``masses="common"``: the η–Υ closed form; ``"bare"``: ρ_nn = m_n n_n +
    (2m_n²/ħ²) C₋ n_n n_p, ρ_pp = m_p n_p + (2m_p²/ħ²) C₋ n_n n_p,
    ρ_np = −(2 m_n m_p/ħ²) C₋ n_n n_p.
    """
    p = get_functional(functional)
    n_n, n_p = check_species_densities(n_n, n_p)
    m_n, m_p, h_n, h_p = entrainment_masses(masses)
    n = n_n + n_p
    c_minus = float(couplings(p, n).C_minus)
    ups = 1.0 + c_minus * n / HBAR2_2MBAR
    if masses == "common":
        eta = (n_n - n_p) / n
        rho = m_n * n
        rho_np = 0.25 * rho * (1.0 - eta**2) * (1.0 - ups)
        rho_nn = 0.5 * rho * (1.0 + eta) - rho_np
        rho_pp = 0.5 * rho * (1.0 - eta) - rho_np
    else:
        # (2 m_q m_q′/ħ²) c² = m_q c² / (ħ²/2m_q′)
        rho_nn = m_n * n_n + m_n * c_minus * n_n * n_p / h_n
        rho_pp = m_p * n_p + m_p * c_minus * n_n * n_p / h_p
        rho_np = -m_n * c_minus * n_n * n_p / h_p
    return EntrainmentMatrix(functional=p.name, n_n=n_n, n_p=n_p, rho_nn=rho_nn, rho_np=rho_np,
                             rho_pp=rho_pp, m_n_c2=m_n, m_p_c2=m_p, upsilon=ups, masses=masses)


def transport_velocities(matrix: EntrainmentMatrix, V_n, V_p):
    """Physical velocities v_q = (Σ_q′ ρ_qq′ V_q′)/(m_q n_q); arrays broadcast.

    Undefined (nan) for a species of zero density.
    """
    V_n = np.asarray(V_n, dtype=float)
    V_p = np.asarray(V_p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_n = (matrix.rho_nn * V_n + matrix.rho_np * V_p) / matrix.rho_n if matrix.n_n > 0 \
            else np.full(np.broadcast(V_n, V_p).shape, np.nan)
        v_p = (matrix.rho_np * V_n + matrix.rho_pp * V_p) / matrix.rho_p if matrix.n_p > 0 \
            else np.full(np.broadcast(V_n, V_p).shape, np.nan)
    return v_n, v_p


@dataclass(frozen=True)
class EntrainmentParametrisations:
    """Every common parametrisation of a (T = 0) entrainment matrix.

    Definitions and sources: ``docs/physics/core-entrainment.md``, "Parametrisations".

    * ``eps_n``, ``eps_p`` — Prix/Andersson ε_q: p_q = m_q[v_q + ε_q(v_q′ − v_q)],
      ε_n = −ρ_np ρ_p/det ρ, ε_p = −ρ_np ρ_n/det ρ;
    * ``dynamical_mass_n/p`` — m_q*/m_q = 1 − ε_q = ρ_q′q′ ρ_q/det ρ (Chamel 2008;
      Prix et al. 2002) — *not* the Landau mass m_q⊕;
    * ``momentum_frame_mass_n/p`` — m̃_q/m_q = ρ_q/ρ_qq (Chamel & Haensel 2006;
      Living Rev. Relativ. 11, 10 (2008) §10.3);
    * ``alpha`` — Andersson–Comer/Prix α (LORENE ``alpha_eos``) with
      E = E₀ + α(Δv/c)², 2α = ε_n ρ_n c² = −ρ_np ρ_n ρ_p/det ρ (MeV fm⁻³);
    * ``carter_K`` — K^{XY} = m_X m_Y (ρ̂⁻¹)_{XY} (×c², MeV fm³), p_X = Σ_Y K^{XY} n_Y v_Y;
    * ``flux_ratio`` — Φ*/Φ₀ = (ρ_pn/ρ_pp)(m_p/m_n), the flux carried by a neutron
      vortex (Sedrakian & Shakhabasyan 1980; Alpar, Langer & Sauls 1984; derivation in
      ``docs/physics/core-entrainment.md``, "Fractional magnetic flux of a neutron vortex");
      negative = antiparallel to the neutron circulation.

    Fields that need a species absent from the matter are nan.
    """

    eps_n: float
    eps_p: float
    dynamical_mass_n: float
    dynamical_mass_p: float
    momentum_frame_mass_n: float
    momentum_frame_mass_p: float
    alpha: float
    carter_K: tuple
    flux_ratio: float


def _div(a, b):
    return a / b if b != 0.0 else float("nan")


def parametrisations(matrix: EntrainmentMatrix) -> EntrainmentParametrisations:
    """Convert ρ_qq′ into ε_q, m_q*, m̃_q, α, Carter's K and Φ*/Φ₀.

    The ε/m* conversions assume the Galilean sum rules (T = 0); they are applied
    to the given matrix as it is.
    """
    det = matrix.det
    rn, rp = matrix.rho_n, matrix.rho_p
    eps_n = _div(-matrix.rho_np * rp, det)
    eps_p = _div(-matrix.rho_np * rn, det)
    if det != 0.0:
        inv = np.linalg.inv(matrix.as_array())
        mm = np.array([matrix.m_n_c2, matrix.m_p_c2])
        carter = tuple(map(tuple, (mm[:, None] * mm[None, :] * inv).tolist()))
    else:
        carter = ((float("nan"),) * 2,) * 2
    return EntrainmentParametrisations(
        eps_n=eps_n, eps_p=eps_p,
        dynamical_mass_n=1.0 - eps_n, dynamical_mass_p=1.0 - eps_p,
        momentum_frame_mass_n=_div(rn, matrix.rho_nn), momentum_frame_mass_p=_div(rp, matrix.rho_pp),
        alpha=0.5 * _div(-matrix.rho_np * rn * rp, det),
        carter_K=carter,
        flux_ratio=_div(matrix.rho_np, matrix.rho_pp) * matrix.m_p_c2 / matrix.m_n_c2)
