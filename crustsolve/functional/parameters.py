"""Skyrme / Brussels–Montreal (BSk) parameter sets, as data with their sources.

Every set is a frozen :class:`SkyrmeParameters`. ``t2x2`` is stored as one number
because BSk22–26 and BSk31 have t₂ = 0 with finite t₂x₂ (Goriely, Chamel & Pearson,
PRC 88, 024308 (2013)); x₂ alone is never needed.

Units: t₀ MeV fm³; t₁, t₂, t₂x₂ MeV fm⁵; t₃ MeV fm^(3+3α); t₄ MeV fm^(5+3β);
t₅ MeV fm^(5+3γ); W₀ MeV fm⁵.

Sources and how far they were checked are in each set's ``source`` field and in
``docs/physics/core-entrainment.md`` ("Parameter sets"); the saturation properties they
imply are tested against the publications in ``tests/functional/test_skyrme.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Optional

from ..constants import HBAR2_2MBAR, HBAR2_2MN, HBAR2_2MP
from ..errors import InputError

#: Kinetic-mass conventions a functional can use (see :attr:`SkyrmeParameters.mass_convention`).
MASS_CONVENTIONS = ("separate", "average")


@dataclass(frozen=True)
class PairingParameters:
    """BSk-type pairing data that travel with a parameter set (not used by the core stage).

    ``eps_lambda`` is the single-particle cutoff ε_Λ (MeV) of the contact pairing
    strength; ``f_*`` are the renormalisation factors f_q^± for even (+) / odd (−)
    nucleon numbers in nuclei; ``kappa_*`` the gradient-pairing coefficients
    (MeV fm⁸, BSk30–32 only). The infinite-matter gap formula built on them is *not*
    implemented: its fitting functions have not been checked against the papers
    (``docs/physics/core-entrainment.md``, "Parameter sets").
    """

    eps_lambda: Optional[float] = None
    f_n_plus: Optional[float] = None
    f_n_minus: Optional[float] = None
    f_p_plus: Optional[float] = None
    f_p_minus: Optional[float] = None
    kappa_n: Optional[float] = None
    kappa_p: Optional[float] = None


@dataclass(frozen=True)
class SkyrmeParameters:
    """One Skyrme-type functional with the t₄, t₅ density-dependent momentum terms.

    ``mass_convention`` records which ħ²/2M the functional was fitted with:
    ``"separate"`` uses ħ²/2M_n and ħ²/2M_p (BSk, as in Pearson et al. MNRAS 481,
    2994 (2018) eq. 33); ``"average"`` uses one ħ²/2m̄ with m̄ = (M_n + M_p)/2 for
    both species (SLy4: Chabanat et al. NPA 635, 231 (1998) quote 20.73553 MeV fm²;
    :data:`crustsolve.constants.HBAR2_2MBAR` = 20.73552). Rest masses are always the
    physical M_n, M_p. A parameter that is not known for a set is nan (BSk31's W₀).
    """

    name: str
    t0: float
    t1: float
    t2: float
    t2x2: float
    t3: float
    x0: float
    x1: float
    x3: float
    alpha: float
    t4: float = 0.0
    x4: float = 0.0
    beta: float = 0.0
    t5: float = 0.0
    x5: float = 0.0
    gamma: float = 0.0
    W0: float = 0.0
    mass_convention: str = "separate"
    pairing: Optional[PairingParameters] = None
    reference: str = ""
    doi: str = ""
    source: str = ""

    def __post_init__(self):
        if self.mass_convention not in MASS_CONVENTIONS:
            raise InputError(f"mass_convention = {self.mass_convention!r} is not one of: "
                             + ", ".join(MASS_CONVENTIONS))

    @property
    def hbar2_2m_n(self) -> float:
        """ħ²/2M used for neutrons in the kinetic term (MeV fm²)."""
        return HBAR2_2MN if self.mass_convention == "separate" else HBAR2_2MBAR

    @property
    def hbar2_2m_p(self) -> float:
        """ħ²/2M used for protons in the kinetic term (MeV fm²)."""
        return HBAR2_2MP if self.mass_convention == "separate" else HBAR2_2MBAR


_GCP2013 = ("S. Goriely, N. Chamel, J. M. Pearson, Phys. Rev. C 88, 024308 (2013), Table II")
_GCP2013_DOI = "10.1103/PhysRevC.88.024308"
_GCP2013_SRC = ("transcribed from RoqueMR/repository_phd_roque eos/bsk/parameters_bsk.yaml; "
                "cross-checked by reproducing the published saturation properties")


def _bsk2013(name, t0, t1, t2x2, t3, t4, t5, x0, x1, x3, x4, x5, beta, W0, fn, fp):
    return SkyrmeParameters(
        name=name, t0=t0, t1=t1, t2=0.0, t2x2=t2x2, t3=t3, x0=x0, x1=x1, x3=x3,
        alpha=1.0 / 12.0, t4=t4, x4=x4, beta=beta, t5=t5, x5=x5, gamma=1.0 / 12.0, W0=W0,
        mass_convention="separate",
        pairing=PairingParameters(eps_lambda=16.0, f_n_plus=fn[0], f_n_minus=fn[1],
                                  f_p_plus=fp[0], f_p_minus=fp[1]),
        reference=_GCP2013, doi=_GCP2013_DOI, source=_GCP2013_SRC)


_SETS = (
    _bsk2013("BSk22", -3978.97, 404.461, -1396.13, 22704.7, -100.0, -150.0,
             0.472558, 0.0627540, 0.514386, 2.0, -11.0, 0.5, 111.109, (1.00, 1.05), (1.07, 1.13)),
    _bsk2013("BSk24", -3970.29, 395.766, -1389.61, 22648.6, -100.0, -150.0,
             0.894371, 0.0563535, 1.05119, 2.0, -11.0, 0.5, 108.405, (1.00, 1.06), (1.09, 1.16)),
    _bsk2013("BSk25", -4068.39, 431.093, -1387.47, 23342.8, -200.0, -150.0,
             1.20467, 0.111366, 1.44777, 2.0, -11.0, 0.5, 108.641, (1.00, 1.05), (1.07, 1.13)),
    _bsk2013("BSk26", -4072.53, 439.536, -1147.70, 23369.1, -100.0, -120.0,
             0.577367, -0.404961, 0.624831, -3.0, -11.0, 1.0 / 6.0, 110.509,
             (1.00, 1.05), (1.10, 1.17)),
    SkyrmeParameters(
        name="BSk31", t0=-2302.01, t1=762.99, t2=0.0, t2x2=-422.29, t3=13797.83,
        x0=0.676655, x1=2.658109, x3=0.83982, alpha=1.0 / 5.0,
        t4=-500.0, x4=5.0, beta=1.0 / 12.0, t5=-40.0, x5=-12.0, gamma=1.0 / 4.0,
        # W0 was not in the transcription: nan, so a spin–orbit term cannot pass silently as 0
        W0=float("nan"),
        mass_convention="separate",
        pairing=PairingParameters(f_n_plus=1.00, f_n_minus=1.06, f_p_plus=1.00, f_p_minus=1.04,
                                  kappa_n=-36630.4, kappa_p=-45207.2),
        reference="S. Goriely, N. Chamel, J. M. Pearson, Phys. Rev. C 93, 034337 (2016)",
        doi="10.1103/PhysRevC.93.034337",
        source=("transcribed from danielpecak/libnest libnest/bsk.py (single third-party "
                "source, not cross-checked against the paper; W0 not transcribed)")),
    SkyrmeParameters(
        name="SLy4", t0=-2488.91, t1=486.82, t2=-546.39, t2x2=(-546.39) * (-1.000),
        t3=13777.0, x0=0.834, x1=-0.344, x3=1.354, alpha=1.0 / 6.0, W0=123.0,
        mass_convention="average",
        reference="E. Chabanat et al., Nucl. Phys. A 635, 231 (1998)",
        doi="10.1016/S0375-9474(98)00180-8",
        source="standard table (identical in many codes); t2x2 = t2 * x2 with x2 = -1"),
)

#: All parameter sets, keyed by name (read-only).
FUNCTIONALS = MappingProxyType({p.name: p for p in _SETS})


def available_functionals() -> tuple:
    """Names of the built-in functionals."""
    return tuple(FUNCTIONALS)


def get_functional(name) -> SkyrmeParameters:
    """Return the parameter set called ``name`` (case-insensitive).

    A :class:`SkyrmeParameters` is passed through unchanged, so every API function
    accepts either a name or a (possibly user-modified) parameter set.
    """
    if isinstance(name, SkyrmeParameters):
        return name
    lookup = {k.lower(): v for k, v in FUNCTIONALS.items()}
    key = str(name).lower()
    if key not in lookup:
        raise InputError(f"functional = {name!r} is unknown; available functionals: "
                         + ", ".join(FUNCTIONALS))
    return lookup[key]
