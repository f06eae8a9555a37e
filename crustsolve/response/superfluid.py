"""Superfluid-density tensor of the inner-crust neutrons from the band structure.

:func:`superfluid_density` solves h(k) at the k-points of a mesh (each k-group its share, on
its own communicator), forms the band-basis matrix elements on the distributed eigenvectors
(:mod:`crustsolve.response.matrix_elements`), and sums every requested level of theory over
the Brillouin zone (:mod:`crustsolve.response.bz`). Results are identical (to round-off in the
order of the sums) for any number of ranks and k-groups.

Levels (``docs/physics/crust-superfluidity.md``; registered in
:mod:`crustsolve.response.levels`): ``normal`` (Fermi-surface formula, Gaussian
smearing extrapolated to σ → 0), ``tetrahedron`` (the same formula by linear tetrahedra with
Blöchl corrections, opt-in), ``intraband`` (velocity-only BCS intraband form), ``form_a``
(diamagnetic + paramagnetic) and ``form_b`` (intraband + interband bracket). With a
:class:`CurrentTerm` every level is also evaluated with the current-field vertex of the
superflow (``tensor(level, current=True)``).

Units: tensors are n_s^{ij} = ρ_n,s^{ij}/m_n in fm⁻³ (neutron-mass units of mass density).

Band truncation: every level is reported with an estimate of the error caused by the bands
above the computed set (:mod:`crustsolve.response.bz`); the number of bands is set by the
caller through the band margin above μ.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np

from ..bands.kmesh import field_symmetry_error
from ..bands.ksweep import KSweep
from ..constants import HBAR2_2MN
from ..errors import InputError, check_range
from ..parallel import Layout
from . import bz, pairing
from .kernels import DEFAULT_DEGENERACY_TOL
from .matrix_elements import KPointData, kpoint_data
from .pairing import GapSpec  # noqa: F401  (re-exported: the former gap specification)


@dataclass(frozen=True)
class CurrentTerm:
    """The current field a superflow induces, in the local approximation.

    A phase twist Q of the pair field makes the neutrons flow with j_n = n_n(r) Q; the
    Skyrme current field I_n = −2 C_nn j_n (protons at rest) adds −(i/2){I_n, ∇} to h, i.e.
    Q·∂_kT[−C_nn n_n] to first order, with T[X] the kinetic operator of coefficient X. The
    velocity vertex of every level then becomes ∂_k T[B − C_nn n_n] in one factor (Chamel's
    ∇_Q ε_{k+Q} and v·(v + δv)); in pure neutron matter B − C_nn n_n = ħ²/2m_n, so the empty
    lattice gives ρ_s = m_n n_n (Galilean invariance).

    ``cnn`` (MeV fm⁵) and ``nn`` (fm⁻³): scalars or (n, n, n) grids of C_nn(r) (= C₊ of the
    functional) and of the neutron density n_n(r) of the fields; ``coefficient`` may be given
    instead as the product C_nn n_n (MeV fm², e.g. after Debye–Waller smearing).
    """

    cnn: object = None
    nn: object = None
    coefficient: object = None

    def __post_init__(self):
        if self.coefficient is None and (self.cnn is None or self.nn is None):
            raise InputError("current term: give C_nn and n_n, or their product")
        vals = (self.coefficient,) if self.coefficient is not None else (self.cnn, self.nn)
        for v in vals:
            if not np.all(np.isfinite(np.asarray(v, dtype=float))):
                raise InputError("current term: C_nn and n_n must be finite")

    def field(self, n: int) -> np.ndarray:
        """C_nn n_n on the (n, n, n) grid (MeV fm²)."""
        c = (np.asarray(self.coefficient, dtype=float) if self.coefficient is not None
             else np.asarray(self.cnn, dtype=float) * np.asarray(self.nn, dtype=float))
        try:
            return np.broadcast_to(c, (n, n, n)).copy()
        except ValueError:
            raise InputError(f"current term: C_nn n_n has shape {c.shape}, expected a scalar "
                             f"or ({n}, {n}, {n})") from None


@dataclass(frozen=True)
class SuperfluidResult:
    """Superfluid density at every computed level of theory (replicated on all ranks).

    levels : {name: :class:`~crustsolve.response.bz.LevelResult`} (tensors in fm⁻³).
    has_current : the levels carry current-field variants. density : target n (fm⁻³) or
    None if μ was fixed; mu_fixed : MeV or None. volume : V_cell (fm³); b0 : ħ²/2m_n used
    (MeV fm²). nb, nk, nfull : bands per k, k-points computed, full-mesh size. mesh : mesh
    description. gap : gap model. smearing : MeV. band_margin : min_k ε_top − max μ (MeV).
    max_residual : largest eigen-residual. truncation_fraction : f of the band-truncation
    estimate (NaN if not computed). gap_fermi_surface : Fermi-surface average of Δ_αk and
    its spread (:func:`crustsolve.response.bz.fermi_surface_gap`).
    """

    levels: Mapping
    has_current: bool
    density: Optional[float]
    mu_fixed: Optional[float]
    volume: float
    b0: float
    nb: int
    nk: int
    nfull: int
    mesh: Mapping
    gap: Mapping
    smearing: tuple
    band_margin: float
    max_residual: float
    truncation_fraction: float = float("nan")
    layout: Mapping = field(default_factory=dict)
    gap_fermi_surface: Mapping = field(default_factory=dict)

    def _level(self, level):
        if level not in self.levels:
            raise InputError(f"level {level!r} was not computed; have {', '.join(self.levels)}")
        return self.levels[level]

    def tensor(self, level: str, current: bool = False) -> np.ndarray:
        """n_s^{ij} (fm⁻³) of ``level``, its current-field variant if ``current``."""
        lv = self._level(level)
        if current:
            if lv.tensor_current is None:
                raise InputError("no current-field variant was computed (give C_nn and n_n)")
            return np.array(lv.tensor_current)
        return np.array(lv.tensor)

    def scalar(self, level: str, current: bool = False) -> float:
        """Tr/3 of :meth:`tensor` (fm⁻³)."""
        return float(np.trace(self.tensor(level, current)) / 3.0)

    def truncation(self, level: str, current: bool = False) -> float:
        """Band-truncation estimate L(∞) − L of the scalar (fm⁻³; NaN if not computed)."""
        lv = self._level(level)
        return float(lv.truncation_current if current else lv.truncation)

    def neutron_density(self, level: str) -> float:
        """Mean neutron density n̄_n of ``level``'s number equation (fm⁻³)."""
        return float(self.levels[level].density)


def superfluid_density(hamiltonian, kmesh, solver, *, gap: GapSpec = GapSpec(),
                       levels=bz.DEFAULT_LEVELS, layout=None, density: Optional[float] = None,
                       mu: Optional[float] = None, smearing=(0.4, 0.3, 0.2),
                       degeneracy_tol: float = DEFAULT_DEGENERACY_TOL,
                       b0: float = HBAR2_2MN, current: Optional[CurrentTerm] = None,
                       truncation: bool = True, progress=None, checkpoint=None,
                       resume: bool = False) -> SuperfluidResult:
    """Superfluid-density tensors of ``levels`` (collective on ``layout.world``).

    Parameters
    ----------
    hamiltonian : :class:`~crustsolve.bands.BlochHamiltonian` built on ``layout.kcomm``.
    kmesh : :class:`~crustsolve.bands.kmesh.KMesh` (reduced meshes are unfolded exactly; with
        a current field I the mesh must use neither point symmetry nor time reversal).
    solver : an eigensolver from :func:`crustsolve.bands.eigensolvers.make_eigensolver` with
        ``want_vectors=True`` (its ``nev`` is the number of bands).
    gap : a gap model of :mod:`crustsolve.response.pairing` (e.g. ``GapSpec("constant", 1.0)``)
        or a number (constant gap, MeV). density / mu : exactly one: mean neutron density n̄_n
        (fm⁻³) or a fixed chemical potential (MeV). smearing : σ list (MeV) for the normal level.
    b0 : ħ²/2m_n (MeV fm²) defining m_n in ρ_s/m_n (the functional's bare-mass convention).
    current : :class:`CurrentTerm`: also evaluate every level with the current-field vertex.
    truncation : estimate the band-truncation error of every level.
    progress : ``progress(status)`` called on every rank for every k-point after each round
        (:class:`~crustsolve.bands.ksweep.KStatus`: index, done, total, ETA, error).
    checkpoint : a :class:`crustsolve.results.Checkpoint`; every k-point's ingredients
        (:class:`~crustsolve.response.matrix_elements.KPointData`) are saved there after its
        round (rank 0 writes). With ``resume``, k-points already complete in it are loaded
        instead of solved, so an interrupted run continues with identical numbers.
    """
    if layout is None:
        layout = Layout.create(hamiltonian.grid.comm, ngroups=1)
    fields = hamiltonian.fields
    if fields.has_current and (getattr(kmesh, "symmetry", "none") != "none"
                               or getattr(kmesh, "time_reversal", False)):
        raise InputError("a current field I breaks O_h and time reversal: use a full k mesh "
                         "(symmetry 'none', time_reversal False)")
    b0 = check_range("b0 = hbar^2/2m_n", b0, lo=0.0, lo_open=True, unit="MeV fm^2")
    levels = tuple(levels)
    gap = pairing.as_model(gap)
    gap.check(fields)
    gap_k = None                # the per-k gap evaluator, prepared with the first k-point
    vertex = None
    if current is not None:
        coef = current.field(hamiltonian.grid.n)
        ops = getattr(kmesh, "operations", None)
        if ops is not None and len(ops) > 1:
            err = field_symmetry_error(fields.replace(U=coef, B=np.ones_like(coef)), ops)
            if err > 1e-10:     # relative to max |C_nn n_n|, as for U and B
                raise InputError(f"the current-term field C_nn n_n is not invariant under the "
                                 f"k-mesh's point group (relative error {err:.3g}): use a mesh "
                                 "without symmetry reduction")
        vertex = hamiltonian.kinetic_vertex(-coef)

    sweep = KSweep(kmesh.points, layout, weights=kmesh.weights, checkpoint=checkpoint,
                   decode=KPointData.from_arrays, resume=resume, share="leaders")

    def step(point, solve):
        A = hamiltonian.matrix(point.k)
        try:
            res = solve(solver, A, k=point.k)
            return kpoint_data(hamiltonian, point.k, res, index=point.index, weight=point.weight,
                               gap=gap_k, tol=degeneracy_tol, current_vertex=vertex)
        finally:
            A.destroy()

    try:
        gap_k = gap.prepare(hamiltonian, sweep.points[0])
        kdata = sweep.run(step, progress=progress).ordered()
    finally:
        if gap_k is not None:
            gap_k.destroy()

    world = layout.world
    missing = world.allreduce(int(current is not None and any(not kd.has_current for kd in kdata)))
    if missing:     # decided on every rank: only group leaders hold k-point data
        raise InputError("the checkpoint was written without the current-field vertex; "
                         "resume with the same current-term settings")
    return result_from_kpoints(kdata, kmesh, volume=fields.a**3, b0=b0, levels=levels,
                               density=density, mu=mu, smearing=smearing, tol=degeneracy_tol,
                               comm=world, truncation=truncation, gap=gap.describe(),
                               layout=layout.describe())


def result_from_kpoints(kdata, kmesh, *, volume, b0, levels, density, mu, smearing, tol, comm,
                        truncation, gap, layout, temperature: float = 0.0) -> SuperfluidResult:
    """Every level from per-k ingredients already computed (this rank's
    :class:`KPointData`; collective on ``comm``): the last step of
    :func:`superfluid_density`, and all of a re-analysis of a results file. ``gap`` and
    ``layout`` are provenance dicts; ``temperature`` (MeV) as in
    :func:`crustsolve.response.bz.evaluate`."""
    nk = int(len(kmesh.weights))
    out = bz.evaluate(kdata, kmesh, volume=volume, b0=b0, levels=levels, density=density,
                      mu=mu, smearing=smearing, tol=tol, comm=comm, truncation=truncation,
                      temperature=temperature)
    mesh = {"n": int(getattr(kmesh, "n", 0)), "shift": bool(getattr(kmesh, "shift", False)),
            "symmetry": str(getattr(kmesh, "symmetry", "none")),
            "time_reversal": bool(getattr(kmesh, "time_reversal", False)),
            "nk": nk, "nfull": out["nfull"]}
    return SuperfluidResult(
        levels=out["levels"], has_current=bool(out["has_current"]),
        density=None if density is None else float(density),
        mu_fixed=None if mu is None else float(mu), volume=volume, b0=b0, nb=out["nb"],
        nk=nk, nfull=out["nfull"], mesh=mesh, gap=dict(gap),
        smearing=tuple(float(s) for s in smearing), band_margin=out["band_margin"],
        max_residual=out["max_residual"], truncation_fraction=out["truncation_fraction"],
        layout=dict(layout), gap_fermi_surface=out["gap_fermi_surface"])
