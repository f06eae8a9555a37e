"""Quantum zero-point motion of the ions: mean-square displacement and Debye–Waller smearing.

Physics: ``docs/physics/crust-superfluidity.md``, "Zero-point motion of the ions" (smearing as
in Chamel, PRC 111, 055803 (2025)). For a harmonic Coulomb crystal at T = 0 with one ion of
charge Ze and effective mass m_I* per primitive cell,

    ⟨δr²⟩ = 3ħ u₋₁ / (2 m_I* ω_I*),    ω_I* = (4π Z² e² n_I / m_I*)^{1/2},

with u₋₁ = ⟨ω_p/ω⟩ over the Brillouin zone and the three phonon branches (bcc: 2.79855,
Potekhin's COULIN constants; the fcc value is not confirmed and is therefore refused).
Each Bragg component of a periodic field is multiplied by the isotropic Debye–Waller factor
exp(−G²⟨δr²⟩/6), i.e. the field is convolved with a Gaussian of variance ⟨δr²⟩/3 per axis;
G = 0 is untouched, so means are conserved.
"""
from __future__ import annotations

import math

import numpy as np

from dataclasses import dataclass

from .constants import E2, HBARC
from .errors import ConvergenceError, InputError, check_range
from .fft import FFT, wavevectors

#: u₋₁ = ⟨ω_p/ω⟩ of the pure Coulomb lattice, by lattice type. fcc deliberately absent until
#: confirmed from Baiko, Potekhin & Yakovlev, PRE 64, 057402 (2001), Table I.
U_MINUS_1 = {"bcc": 2.79855}


def ion_plasma_energy(Z: float, n_ion: float, m_ion_c2: float) -> float:
    """ħω_I* = ħc [4π Z² (αħc) n_I / (m_I* c²)]^{1/2} in MeV (n_I in fm⁻³, m_I* c² in MeV)."""
    check_range("Z", Z, 0.0, None, lo_open=True)
    check_range("n_ion", n_ion, 0.0, None, lo_open=True, unit="fm^-3")
    check_range("m_ion_c2", m_ion_c2, 0.0, None, lo_open=True, unit="MeV")
    return HBARC * math.sqrt(4.0 * math.pi * Z**2 * E2 * n_ion / m_ion_c2)


def mean_square_displacement(Z: float, n_ion: float, m_ion_c2: float, lattice: str = "bcc") -> float:
    """⟨δr²⟩ in fm² at T = 0: 3 (ħc)² u₋₁ / (2 m_I* c² ħω_I*)."""
    if lattice not in U_MINUS_1:
        raise InputError(f"lattice = {lattice!r}: the zero-point u_-1 moment is only available for "
                         f"{', '.join(U_MINUS_1)} (the fcc value awaits confirmation from Baiko, "
                         "Potekhin & Yakovlev 2001)")
    hw = ion_plasma_energy(Z, n_ion, m_ion_c2)
    return 3.0 * HBARC**2 * U_MINUS_1[lattice] / (2.0 * m_ion_c2 * hw)


def debye_waller_smear(field: np.ndarray, a: float, msd: float, fft: FFT | None = None) -> np.ndarray:
    """Multiply every Fourier component of a periodic (n,n,n) field by exp(−G²⟨δr²⟩/6).

    ``a`` is the cube side (fm), ``msd`` = ⟨δr²⟩ (fm²). Returns a real array for real input.
    ⟨δr²⟩ = 0 returns an exact copy.
    """
    field = np.asarray(field)
    if field.ndim != 3 or len(set(field.shape)) != 1:
        raise InputError(f"field must be a cubic (n, n, n) array, got shape {field.shape}")
    check_range("a", a, 0.0, None, lo_open=True, unit="fm")
    check_range("mean-square displacement", msd, 0.0, None, unit="fm^2")
    if msd == 0.0:
        return field.copy()
    n = field.shape[0]
    fft = fft or FFT(field.shape)
    gx, gy, gz = wavevectors(n, a)
    g2 = gx**2 + gy**2 + gz**2
    smeared = fft.backward(fft.forward(field) * np.exp(-g2 * msd / 6.0))
    return smeared.real.copy() if np.isrealobj(field) else smeared


@dataclass(frozen=True)
class ZeroPointIteration:
    """One step of the m_I* ↔ ⟨δr²⟩ loop (masses as rest energies in MeV)."""

    iteration: int
    m_ion_c2_in: float
    msd: float
    m_ion_c2_out: float


@dataclass(frozen=True)
class ZeroPointResult:
    m_ion_c2: float           #: converged effective ion mass m_I* c² (MeV)
    msd: float                #: ⟨δr²⟩ at the fixed point (fm²)
    iterations: tuple         #: the ZeroPointIteration log
    converged: bool


def zero_point_self_consistency(effective_ion_mass, Z: float, n_ion: float, m_ion_c2_start: float,
                                lattice: str = "bcc", rtol: float = 1e-4, max_iter: int = 30,
                                mixing: float = 0.7, on_iteration=None,
                                allow_unconverged: bool = False) -> ZeroPointResult:
    """Fixed point of m_I* = F(⟨δr²⟩(m_I*)) (the m_I* ↔ ⟨δr²⟩ iteration of the physics page).

    ``effective_ion_mass(msd) -> m_I* c²`` (MeV) is the expensive step: smear the fields
    with ⟨δr²⟩ = ``msd``, compute bands and ρ_n,s, return (ρ̄ − ρ_n,s)/n_I. Linear mixing
    m ← (1 − β) m + β F. Converged when |F − m| ≤ rtol·m. ``on_iteration`` receives each
    :class:`ZeroPointIteration` (for logs and checkpoints). Raises
    :class:`~crustsolve.errors.ConvergenceError` after ``max_iter`` steps unless
    ``allow_unconverged``.
    """
    check_range("mixing", mixing, 0.0, 1.0, lo_open=True)
    check_range("rtol", rtol, 0.0, None, lo_open=True)
    m = check_range("m_ion_c2_start", m_ion_c2_start, 0.0, None, lo_open=True, unit="MeV")
    log = []
    for it in range(1, int(max_iter) + 1):
        msd = mean_square_displacement(Z, n_ion, m, lattice)
        m_new = float(effective_ion_mass(msd))
        step = ZeroPointIteration(it, m, msd, m_new)
        log.append(step)
        if on_iteration is not None:
            on_iteration(step)
        if not (m_new > 0.0 and math.isfinite(m_new)):
            raise ConvergenceError(f"zero-point loop: effective ion mass became {m_new} MeV at "
                                   f"iteration {it} (⟨δr²⟩ = {msd:.4g} fm²)")
        if abs(m_new - m) <= rtol * m:
            return ZeroPointResult(m_new, mean_square_displacement(Z, n_ion, m_new, lattice),
                                   tuple(log), True)
        m = (1.0 - mixing) * m + mixing * m_new
    if allow_unconverged:
        return ZeroPointResult(m, mean_square_displacement(Z, n_ion, m, lattice), tuple(log), False)
    last = log[-1]
    raise ConvergenceError(
        f"zero-point loop did not converge in {max_iter} iterations: last m_I* c² in/out = "
        f"{last.m_ion_c2_in:.6g}/{last.m_ion_c2_out:.6g} MeV (relative change "
        f"{abs(last.m_ion_c2_out - last.m_ion_c2_in) / last.m_ion_c2_in:.2e} > rtol = {rtol:g})")
