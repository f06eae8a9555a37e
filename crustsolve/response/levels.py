"""The registry of the levels of theory of the superfluid density (pure numpy + mpi4py).

One :class:`Level` per level of theory, in :data:`REGISTRY` (the order is the order of
every table, results file and plot). A level carries its name (the key used in run files,
in ``summary/<quantity>/<level>/<variant>`` of the main-job results and in
``response/<level>/...`` of the response stage), the human label of tables and plots, the
formula reference (paper and section of ``docs/physics/crust-superfluidity.md``), the number
equation that fixes its chemical potential (:data:`NUMBER_EQUATIONS`: Gaussian smearing,
linear tetrahedra or BCS), whether it has a current-field variant, whether it is computed
by default, and its evaluation:

* a per-k integrand (``integrand(terms, solution, ctx)``, usually a function of
  :mod:`crustsolve.response.kernels`, named in ``kernel``) that
  :func:`crustsolve.response.bz.evaluate` star-sums and sums over the zone, then multiplies
  by 1/(2 b0 V_cell N_full) and hands to ``finish`` (which builds the tensor and details);
* or a whole-zone evaluation ``evaluate(ctx, solution)`` (the tetrahedron level, which
  integrates the interpolated bands over tetrahedra instead of summing per k).

Every tensor is n_s^{ij} = ρ_n,s^{ij}/m_n in fm⁻³; integrands are in MeV fm²
(:mod:`crustsolve.response.kernels`).

**What a new level touches.** A new level of theory touches this module only: write its
integrand (new per-k physics goes into :mod:`crustsolve.response.kernels`, with its tests)
and register a :class:`Level` in :data:`REGISTRY`. :mod:`crustsolve.response.bz` (zone sums,
chemical potentials, truncation estimate), the run-file validation (``response.levels`` and
``zeropoint.level`` of :class:`crustsolve.runfile.RunConfig`), the summary tables, the
results files and the plots iterate this registry. A level with a new kind of number equation adds a
:class:`NumberEquation` to :data:`NUMBER_EQUATIONS` here too.

Tests replace :data:`REGISTRY` by a copy with an extra level (``monkeypatch``); every user of
the registry therefore looks it up at call time (:func:`registry`), never at import.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Callable, Mapping, Optional

import numpy as np

from ..errors import InputError
from . import kernels as K
from .tetrahedra import TetrahedronIntegrator

#: The page every formula reference points into.
PHYSICS_PAGE = "docs/physics/crust-superfluidity.md"


# ---------------------------------------------------------------------------------------------
# What the evaluations receive
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BandSet:
    """All k-points' bands, replicated on every rank: what the number equations need.

    energies, gaps : (nk, nb) MeV (padded with far-away energies); weights : (nk,) BZ
    weights (Σ = 1); volume : V_cell (fm³); kmesh : the k-mesh (for tetrahedra);
    smearing : the Gaussian widths σ (MeV) of the smearing equation; temperature : T (MeV)
    of the BCS levels (their occupations and thermal factors; 0 = ground state).
    """

    energies: np.ndarray
    gaps: np.ndarray
    weights: np.ndarray
    volume: float
    kmesh: object
    smearing: tuple
    temperature: float = 0.0


@dataclass(frozen=True)
class Solution:
    """A solved number equation.

    mu : the chemical potential reported with the levels that use it (MeV); density : n of
    this equation at ``mu`` (fm⁻³); mus : every μ solved (MeV; the band-margin check uses the
    largest); data : equation-specific (per-σ μ, the tetrahedron integrator).
    """

    mu: float
    density: float
    mus: tuple
    data: Mapping = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class KPointTerms:
    """One k-point's ingredients for one variant of the velocity vertex.

    energies (nb,) MeV, gap (nb,) MeV, velocity (3, nb, nb) MeV fm, d2h (3, 3, nb) MeV fm²
    (:class:`~crustsolve.response.matrix_elements.KPointData`); velocity2/d2h2: the
    current-corrected vertex of the current variant, None otherwise; tol: degeneracy
    tolerance (MeV); gap_gradient (3, nb) MeV fm: ∇_kΔ_αk of a k-dependent gap, or None. ``vprod`` (cluster products of the velocities) is computed once and
    shared by the levels that need it.
    """

    energies: np.ndarray
    gap: np.ndarray
    velocity: np.ndarray
    d2h: np.ndarray
    velocity2: Optional[np.ndarray]
    d2h2: Optional[np.ndarray]
    tol: float
    gap_gradient: Optional[np.ndarray] = None

    @cached_property
    def vprod(self) -> np.ndarray:
        """⟨∂_iε ∂_jε⟩_α per band (nb, 3, 3), MeV² fm² (:func:`kernels.cluster_products`)."""
        return K.cluster_products(self.energies, self.velocity, self.velocity2, self.tol)


@dataclass(frozen=True, eq=False)
class Context:
    """Everything a whole-zone evaluation or a ``finish`` may use (one band set).

    kdata : this rank's KPointData; kmesh; bands : :class:`BandSet`; b0 = ħ²/2m_n (MeV fm²);
    tol : degeneracy tolerance (MeV); comm : world communicator or None; with_current : the
    k-point data carry the current-field vertex.
    """

    kdata: tuple
    kmesh: object
    bands: BandSet
    b0: float
    tol: float
    comm: object
    with_current: bool


# ---------------------------------------------------------------------------------------------
# Number equations
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NumberEquation:
    """How a level's chemical potential is fixed from the neutron density (or μ given).

    solve(bands, density, mu) → :class:`Solution` (exactly one of density (fm⁻³), mu (MeV)).
    needs_gap : the equation needs a nonzero gap somewhere. check(bands_smearing, level) :
    validates the settings (raises InputError). margin(smearing) : how far (MeV) the
    highest computed band must lie above μ.
    """

    name: str
    formula: str
    solve: Callable
    needs_gap: bool = False
    check: Optional[Callable] = None
    margin: Callable = lambda smearing: 0.0


def _solve_smearing(b: BandSet, density, mu) -> Solution:
    """One μ_σ per width σ from n = (2/V) Σ_k w_k Σ_α ½erfc((ε − μ_σ)/σ); μ_σ of min σ reported."""
    per = {s: (K.solve_mu_normal(b.energies, b.weights, b.volume, density, s)
               if mu is None else float(mu)) for s in b.smearing}
    s0 = min(b.smearing)
    return Solution(per[s0], K.density_normal(b.energies, b.weights, b.volume, per[s0], s0),
                    tuple(per.values()), {"mu_per_sigma": per})


def _check_smearing(smearing, level):
    if not smearing or min(smearing) <= 0:
        raise InputError(f"the {level} level needs smearing widths σ > 0 MeV")


def _solve_bcs(b: BandSet, density, mu) -> Solution:
    """μ from the BCS equation n = (1/V) Σ_k w_k Σ_α (1 − (ξ_α/E_α) tanh(E_α/2T))."""
    T = b.temperature
    m = (K.solve_mu_bcs(b.energies, b.gaps, b.weights, b.volume, density, T) if mu is None
         else float(mu))
    return Solution(m, K.density_bcs(b.energies, b.gaps, b.weights, b.volume, m, T), (m,))


def _solve_tetrahedron(b: BandSet, density, mu) -> Solution:
    """μ from the Blöchl-corrected linear-tetrahedron occupied fraction, n = (2/V) × fraction."""
    tetra = TetrahedronIntegrator(b.kmesh, b.energies)
    m = tetra.solve_mu(density * b.volume) if mu is None else float(mu)
    return Solution(m, tetra.density(m) / b.volume, (m,), {"integrator": tetra})


#: Number equations by name (``docs/physics/crust-superfluidity.md``, "Levels of theory").
NUMBER_EQUATIONS: Mapping[str, NumberEquation] = MappingProxyType({
    "smearing": NumberEquation(
        "smearing", "n = (2/V) Σ_k w_k Σ_α ½erfc((ε_α − μ_σ)/σ), one μ_σ per width σ",
        _solve_smearing, check=_check_smearing, margin=lambda smearing: 5.0 * max(smearing)),
    "tetrahedron": NumberEquation(
        "tetrahedron", "n = (2/V) × Blöchl-corrected occupied BZ fraction (linear tetrahedra)",
        _solve_tetrahedron),
    "bcs": NumberEquation(
        "bcs", "n = (1/V) Σ_k w_k Σ_α (1 − ξ_α/E_α)", _solve_bcs, needs_gap=True),
})


# ---------------------------------------------------------------------------------------------
# Levels
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Level:
    """One level of theory (see the module docstring).

    name : key in run files and results files; label : human label of tables and plots;
    reference : paper(s) of the formula; section : section of
    ``docs/physics/crust-superfluidity.md``; number_equation : key of
    :data:`NUMBER_EQUATIONS`; current_variant : also evaluated with the current-field vertex
    when the k-point data carry it; default : computed unless the caller chooses levels.
    kernel : the :mod:`~crustsolve.response.kernels` function of the per-k integrand (None
    for a whole-zone evaluation). integrand(terms, solution, ctx) → array (parts..., 3, 3)
    in MeV fm² (per k, before the star sum); finish(t, t_current, solution, ctx) → dict with
    "tensor", "tensor_current" (fm⁻³; None without the current variant), "details" and
    optionally "error" (fm⁻³), from the zone sums t (× 1/(2 b0 V N_full)). evaluate(ctx,
    solution) → the same dict, for a level that is not a per-k sum (collective on ctx.comm).
    """

    name: str
    label: str
    reference: str
    section: str
    number_equation: str
    current_variant: bool = True
    default: bool = True
    kernel: Optional[Callable] = None
    integrand: Optional[Callable] = None
    shape: Callable = lambda ctx: (3, 3)
    finish: Optional[Callable] = None
    evaluate: Optional[Callable] = None

    def __post_init__(self):
        if (self.evaluate is None) == (self.integrand is None):
            raise InputError(f"level {self.name!r}: give exactly one of a per-k integrand or "
                             "a whole-zone evaluation")
        if self.integrand is not None and self.finish is None:
            raise InputError(f"level {self.name!r}: a per-k integrand needs a finish")
        if self.number_equation not in NUMBER_EQUATIONS:
            raise InputError(f"level {self.name!r}: unknown number equation "
                             f"{self.number_equation!r}; allowed: {', '.join(NUMBER_EQUATIONS)}")

    @property
    def equation(self) -> NumberEquation:
        return NUMBER_EQUATIONS[self.number_equation]

    def variants(self, with_current: bool) -> tuple:
        """(False,) or (False, True): the velocity-vertex variants evaluated."""
        return (False, True) if (with_current and self.current_variant) else (False,)

    def describe(self) -> dict:
        """Provenance: name, label, formula reference, number equation."""
        return {"name": self.name, "label": self.label, "reference": self.reference,
                "section": f"{PHYSICS_PAGE}, {self.section}",
                "number_equation": self.equation.formula}


def simple_finish(t, t_current, solution, ctx) -> dict:
    """A level whose integrand is its tensor: tensor = zone sum (fm⁻³), no details."""
    return {"tensor": t, "tensor_current": t_current, "details": {}}


# normal -------------------------------------------------------------------------------------
def _normal_integrand(terms: KPointTerms, sol: Solution, ctx) -> np.ndarray:
    per = sol.data["mu_per_sigma"]
    return np.array([K.fermi_surface_integrand(terms.energies, per[s], s, terms.vprod)
                     for s in ctx.bands.smearing])


def _normal_finish(t, t_current, sol: Solution, ctx) -> dict:
    """Extrapolate the per-σ tensors a + bσ² to σ → 0; error = the extrapolation spread."""
    smearing = ctx.bands.smearing
    ext, spread = K.extrapolate_sigma(smearing, t)
    ext_c = None if t_current is None else K.extrapolate_sigma(smearing, t_current)[0]
    return {"tensor": ext, "tensor_current": ext_c,
            "error": float(np.trace(spread) / 3) if np.all(np.isfinite(spread)) else math.nan,
            "details": {"method": "gaussian smearing, a + b σ² extrapolation",
                        "sigma_MeV": list(smearing),
                        "scalar_per_sigma": [float(np.trace(v) / 3) for v in t],
                        "mu_per_sigma": [sol.data["mu_per_sigma"][s] for s in smearing]}}


# tetrahedron --------------------------------------------------------------------------------
def _tetrahedron_evaluate(ctx: Context, sol: Solution) -> dict:
    """Fermi-surface tensors by linear tetrahedra (δ weights = ∂/∂μ of the occupation
    weights), symmetrised over the mesh's point group (fm⁻³). Collective on ``ctx.comm``."""
    tetra = sol.data["integrator"]
    nk, nb = ctx.bands.energies.shape
    comm = ctx.comm
    out = {}
    for cur in ((False, True) if ctx.with_current else (False,)):
        vp_mine = [(kd.index, K.cluster_products(kd.energies, kd.velocity,
                                                 kd.flow_velocity() if cur else None, ctx.tol))
                   for kd in ctx.kdata]
        vp_all = vp_mine if comm is None else [x for part in comm.allgather(vp_mine)
                                               for x in part]
        F = np.zeros((nk, nb, 3, 3))
        for ik, vp in vp_all:
            F[ik, :len(vp)] = 2.0 * vp            # spin factor, as in fermi_surface_integrand
        t = tetra.fermi_surface(sol.mu, F) / (2.0 * ctx.b0 * ctx.bands.volume)
        # The 6-tetrahedra split of each cube (along [111]) is not O_h symmetric: average the
        # tensor over the mesh's point group (exact for the BZ integral of a symmetric crystal).
        out[cur] = K.symmetrise(t, getattr(ctx.kmesh, "operations", np.eye(3)[None]))
    return {"tensor": out[False], "tensor_current": out.get(True), "details": {
        "method": "linear tetrahedra with Blöchl corrections, δ weights = ∂/∂μ of the "
                  "occupation weights"}}


# BCS levels ---------------------------------------------------------------------------------
def _gap_gradient_term(terms: KPointTerms, mu: float, T: float):
    if terms.gap_gradient is None:
        return 0.0
    return K.gap_gradient_integrand(terms.energies, terms.gap, mu, terms.gap_gradient,
                                    terms.velocity, terms.velocity2, terms.tol, T)


def _intraband_integrand(terms: KPointTerms, sol: Solution, ctx) -> np.ndarray:
    T = ctx.bands.temperature
    return (K.intraband_integrand(terms.energies, terms.gap, sol.mu, terms.vprod, T)
            + _gap_gradient_term(terms, sol.mu, T))


def _form_a_integrand(terms: KPointTerms, sol: Solution, ctx) -> np.ndarray:
    tot, dia, para = K.form_a_integrand(terms.energies, terms.gap, sol.mu, terms.velocity,
                                        terms.d2h, vel2=terms.velocity2, d2h2=terms.d2h2,
                                        temperature=ctx.bands.temperature)
    return np.array([tot, dia, para])


def _form_a_finish(t, t_current, sol, ctx) -> dict:
    details = {"diamagnetic": t[1], "paramagnetic": t[2]}
    if t_current is not None:
        details.update(diamagnetic_current=t_current[1], paramagnetic_current=t_current[2])
    return {"tensor": t[0], "tensor_current": None if t_current is None else t_current[0],
            "details": details}


def _form_b_integrand(terms: KPointTerms, sol: Solution, ctx) -> np.ndarray:
    T = ctx.bands.temperature
    intra, inter = K.form_b_integrand(terms.energies, terms.gap, sol.mu, terms.velocity,
                                      terms.velocity2, terms.tol, vprod=terms.vprod,
                                      temperature=T)
    return np.array([intra + _gap_gradient_term(terms, sol.mu, T), inter])


def _form_b_finish(t, t_current, sol, ctx) -> dict:
    details = {"intraband": t[0], "interband": t[1]}
    if t_current is not None:
        details.update(intraband_current=t_current[0], interband_current=t_current[1])
    return {"tensor": t[0] + t[1],
            "tensor_current": None if t_current is None else t_current[0] + t_current[1],
            "details": details}


_CCH_NORMAL = "Carter, Chamel & Haensel, Nucl. Phys. A748, 675 (2005), eqs. 3.23 and 4.7"
_CCH_BCS = ("Carter, Chamel & Haensel, Nucl. Phys. A759, 441 (2005); Chamel, PRC 111, 045803 "
            "(2025)")
_LEVELS_SECTION = "Levels of theory"

#: The levels of theory, in the order they are reported (module docstring).
REGISTRY: Mapping[str, Level] = MappingProxyType({lv.name: lv for lv in (
    # Opt-in: it interpolates energy-ordered bands linearly across band crossings, which
    # converges slowly with the mesh when folded bands cross near μ (measured: empty lattice
    # in a 10 fm cube, +21 %, −13 %, +15 % at 6³, 8³, 10³ while the smearing level is within
    # 0.7 %; one smooth band: 3.2 %, 0.9 %, 0.45 % at 8³, 16³, 24³). Use it for crystals with
    # gapped bands near μ.
    Level("tetrahedron", "normal (tetrahedra)", _CCH_NORMAL, _LEVELS_SECTION, "tetrahedron",
          default=False, evaluate=_tetrahedron_evaluate),
    Level("normal", "normal (Fermi surface)", _CCH_NORMAL, _LEVELS_SECTION, "smearing",
          kernel=K.fermi_surface_integrand, integrand=_normal_integrand,
          shape=lambda ctx: (len(ctx.bands.smearing), 3, 3), finish=_normal_finish),
    Level("intraband", "BCS intraband", _CCH_BCS, _LEVELS_SECTION, "bcs",
          kernel=K.intraband_integrand, integrand=_intraband_integrand, finish=simple_finish),
    Level("form_a", "full response (A)",
          "second-order BdG energy under the phase twist; Almirante & Urban, PRL 135, 132701 "
          "(2025) for the geometric term", _LEVELS_SECTION, "bcs",
          kernel=K.form_a_integrand, integrand=_form_a_integrand,
          shape=lambda ctx: (3, 3, 3), finish=_form_a_finish),
    Level("form_b", "full response (B)",
          "Form A integrated by parts in its intraband part (velocity-only intraband term + "
          "interband bracket); " + _CCH_BCS, _LEVELS_SECTION, "bcs",
          kernel=K.form_b_integrand, integrand=_form_b_integrand,
          shape=lambda ctx: (2, 3, 3), finish=_form_b_finish),
)})


# ---------------------------------------------------------------------------------------------
# Look-ups (always through the live registry, so that a test may replace it)
# ---------------------------------------------------------------------------------------------

def registry() -> Mapping[str, Level]:
    """The registry as it is now (:data:`REGISTRY`, looked up at call time)."""
    return REGISTRY


def names() -> tuple:
    """Every registered level, in report order."""
    return tuple(registry())


def default_names() -> tuple:
    """The levels computed by default, in report order."""
    return tuple(n for n, lv in registry().items() if lv.default)


def label(name: str) -> str:
    """The human label of ``name`` (the name itself for an unregistered one)."""
    lv = registry().get(name)
    return lv.label if lv is not None else name


def check_name(key: str, value, allowed=None) -> str:
    """``value`` if it is a registered level (and in ``allowed`` if given), else an InputError
    naming the key, the value and the allowed names."""
    choices = names() if allowed is None else tuple(allowed)
    if not isinstance(value, str) or value not in choices:
        raise InputError(f"unknown level {value!r} in {key}; allowed: {', '.join(choices)}")
    return value


def check_names(key: str, values) -> tuple:
    """Every entry of ``values`` checked by :func:`check_name`; returns them as a tuple."""
    return tuple(check_name(key, v) for v in values)


def get(name: str, key: str = "levels") -> Level:
    """The registered :class:`Level` called ``name`` (error as :func:`check_name`)."""
    return registry()[check_name(key, name)]
