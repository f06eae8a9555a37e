"""Band energies ε_α(k) over a set of k-points, in parallel over k-groups.

::

    layout = Layout.create(MPI.COMM_WORLD, ngroups=None, nk=kmesh.nk)
    data = compute_bands(fields, kmesh, SolverSettings(nev=50), layout, order=4,
                         progress=lambda status: ...)

Each k-group builds its own :class:`~crustsolve.bands.grid.Grid` and
:class:`~crustsolve.bands.hamiltonian.BlochHamiltonian` on ``layout.kcomm``; the k-loop is the
k-sweep engine's (:class:`~crustsolve.bands.ksweep.KSweep`): each group solves its contiguous
chunk of k-points in rounds, and after every round the per-k reports (energies, residuals,
timings; a few kB) are all-gathered over the world communicator, so

* every rank ends with the complete :class:`BandData` (energies are small);
* the progress callback sees every group's k-points on every rank (the caller prints on
  rank 0), in k order within a round;
* an error in one group (e.g. an unconverged solve) is re-raised on *every* rank after the
  round, never on a subset of ranks.

Nothing here prints. Eigenvectors are not kept (``want_vectors=False``).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Optional

import numpy as np

from ..errors import InputError, check_choice, check_range
from ..petsc_env import EPS_TOL_RANGE
from .eigensolvers import DEFAULT_DENSE_MAX_SIZE, make_eigensolver
from .grid import Grid
from .hamiltonian import DEFAULT_ORDER, BlochHamiltonian
from .kmesh import little_group_order
from .interpolation import InterpolationSettings, build_interpolating_solver
from .kmesh import invariant_operations
from .ksweep import KSweep
from .sectors import SECTOR_MODES, sectors_for, with_sectors


@dataclass(frozen=True)
class SolverSettings:
    """Eigensolver choice and parameters (see :func:`~crustsolve.bands.eigensolvers.make_eigensolver`)."""

    kind: str = "krylovschur"
    nev: int = 50
    tol: float = 1e-8
    max_it: Optional[int] = None
    mpd: Optional[int] = None
    ncv: Optional[int] = None
    buffer: Optional[int] = None
    options_prefix: str = "crust_"
    allow_unconverged: bool = False
    max_size: int = DEFAULT_DENSE_MAX_SIZE
    #: Krylov–Schur multiplicity check: "auto" (only at k with a non-trivial little group
    #: in O_h, where symmetry can force degeneracies), "always" or "never".
    multiplicity_check: str = "auto"
    #: Chebyshev only: start each k-point from the previous one of the group's chunk.
    warm_start: bool = True
    #: Centring-translation sectors (:mod:`crustsolve.bands.sectors`): "auto" splits every
    #: solve into the bcc/fcc sectors when the fields have that symmetry, "off" never.
    sectors: str = "auto"

    def __post_init__(self):
        check_choice("multiplicity_check", self.multiplicity_check, ("auto", "always", "never"))
        check_choice("sectors", self.sectors, SECTOR_MODES)
        # The same range as -eps_tol: looser residuals give wrong energies with exit 0.
        check_range("tol", self.tol, EPS_TOL_RANGE[0], EPS_TOL_RANGE[1], lo_open=True)

    def make(self, want_vectors: bool = False, verify_multiplicity: bool = True,
             centring=None):
        """The eigensolver object (validates the settings; raises InputError).

        ``centring``: a :class:`~crustsolve.bands.sectors.CentringSectors` (from
        :func:`~crustsolve.bands.sectors.sectors_for` with ``self.sectors``) to split every
        solve into its sectors, or None for the full matrix.
        """
        solver = make_eigensolver(self.kind, self.nev, tol=self.tol, max_it=self.max_it,
                                  mpd=self.mpd, ncv=self.ncv, options_prefix=self.options_prefix,
                                  buffer=self.buffer, want_vectors=want_vectors,
                                  allow_unconverged=self.allow_unconverged,
                                  max_size=self.max_size,
                                  verify_multiplicity=verify_multiplicity)
        return with_sectors(solver, centring)

    def verify_at(self, k, a: float) -> bool:
        """Whether the multiplicity check runs at wave vector ``k`` (fm⁻¹)."""
        if self.multiplicity_check != "auto":
            return self.multiplicity_check == "always"
        return little_group_order(k, a) > 1

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True, eq=False)
class KPointReport:
    """What one k-point solve produced (the progress callback's argument).

    ``energies``/``residuals`` are (nev,) arrays (MeV / dimensionless), ``seconds`` the
    wall time of assembly + solve, ``error`` a message when the solve failed.
    """

    index: int
    group: int
    k: tuple
    energies: np.ndarray
    residuals: np.ndarray
    iterations: int
    nconv: int
    seconds: float
    assembly_seconds: float
    cut_splits_cluster: bool
    cut_gap: float
    solver: str
    error: Optional[str] = None
    error_type: str = ""

    @property
    def max_residual(self) -> float:
        r = self.residuals[np.isfinite(self.residuals)]
        return float(r.max()) if r.size else math.inf


@dataclass(frozen=True, eq=False)
class BandData:
    """Band energies on a set of k-points (identical on every rank).

    Attributes
    ----------
    kpoints : (nk, 3) Cartesian k, fm⁻¹.
    weights : (nk,) integration weights (sum 1; equal weights for a path).
    energies : (nk, nev) MeV, ascending per k.
    residuals : (nk, nev) ‖h u − ε u‖ / max(1 MeV, |ε|).
    iterations, seconds, groups : (nk,) per-k solver iterations, wall seconds, owning group.
    cut_splits_cluster : (nk,) bool, band nev is degenerate with band nev+1 at that k.
    cut_gap : (nk,) ε_{nev+1} − ε_nev, MeV (nan if unknown).
    solver : eigensolver name; settings : solver settings; order : FD order.
    timings : seconds per phase summed over this group's k-points and the total wall time.
    """

    kpoints: np.ndarray
    weights: np.ndarray
    energies: np.ndarray
    residuals: np.ndarray
    iterations: np.ndarray
    seconds: np.ndarray
    groups: np.ndarray
    cut_splits_cluster: np.ndarray
    cut_gap: np.ndarray
    solver: str
    order: int
    a: float
    settings: Mapping = field(default_factory=dict)
    timings: Mapping = field(default_factory=dict)
    #: reduced-basis report (basis size, held-out errors, memory) or None for direct solves
    interpolation: Optional[Mapping] = None

    @property
    def nk(self) -> int:
        return len(self.kpoints)

    @property
    def nev(self) -> int:
        return self.energies.shape[1]

    @property
    def max_residual(self) -> float:
        return float(np.max(self.residuals))


def compute_bands(fields, kpoints, settings: SolverSettings, layout, *, order: Optional[int] = None,
                  progress: Optional[Callable] = None, interpolation=None,
                  log: Optional[Callable] = None) -> BandData:
    """Lowest ``settings.nev`` band energies at every k of ``kpoints`` (collective on the world).

    Parameters
    ----------
    fields : :class:`~crustsolve.bands.fields.Fields` (replicated; defines n and a of the grid).
    kpoints : a :class:`~crustsolve.bands.kmesh.KMesh` / :class:`~crustsolve.bands.kmesh.KPath`
        (anything with ``points`` (nk, 3) fm⁻¹ and ``weights``), or an (nk, 3) array.
    settings : :class:`SolverSettings`.
    layout : :class:`crustsolve.parallel.Layout` (world → k-groups).
    order : FD order (default :data:`crustsolve.bands.DEFAULT_ORDER`).
    progress : ``progress(status: KStatus)`` (:class:`~crustsolve.bands.ksweep.KStatus`, whose
        ``summary`` is the k-point's :class:`KPointReport`, None when it failed), called on
        every rank for every k-point, after each round.
    interpolation : :class:`~crustsolve.bands.interpolation.InterpolationSettings` or None.
        When given, each k-group first builds a reduced basis from the coarse mesh with
        ``settings``' solver (checked at held-out points of ``kpoints``), then solves every
        k-point by Rayleigh–Ritz in it; the report is :attr:`BandData.interpolation`.
    log : ``log(message)`` for the basis-building phases (called on every rank).

    Raises :class:`InputError` for bad input and :class:`ConvergenceError` when a k-point did
    not converge (unless ``settings.allow_unconverged``) — on every rank.
    """
    t_start = time.perf_counter()
    order = DEFAULT_ORDER if order is None else order
    if interpolation is not None and not isinstance(interpolation, InterpolationSettings):
        raise InputError("interpolation must be an InterpolationSettings or None")
    if hasattr(kpoints, "points"):
        pts = np.asarray(kpoints.points, dtype=float)
        weights = getattr(kpoints, "weights", None)
    else:
        pts = np.asarray(kpoints, dtype=float)
        weights = None
    sweep = KSweep(pts, layout, weights=weights, share="all")
    pts, weights = sweep.points, sweep.weights
    # Validates the settings on every rank; the second variant skips the multiplicity check
    # at generic k (see SolverSettings.multiplicity_check).
    # Chebyshev warm starts need the previous k-point's vectors (one block of nb columns).
    warm = settings.warm_start and settings.kind == "chebyshev"
    settings.make(want_vectors=warm)   # validate before building anything collective
    solvers = {}
    nk = len(pts)
    n = fields.n
    if settings.nev > n**3:
        raise InputError(f"nev = {settings.nev} bands requested but the grid has only "
                         f"{n**3} points (n = {n}); lower --nev or refine the grid")
    nev = settings.nev
    times = {"assembly": 0.0, "solve": 0.0}

    def step(point, solve):
        t0 = time.perf_counter()
        A = H.matrix(point.k)
        t1 = time.perf_counter()
        try:
            res = solve(solvers[settings.verify_at(point.k, fields.a)], A, k=point.k)
        finally:
            A.destroy()
        times["assembly"] += t1 - t0
        times["solve"] += time.perf_counter() - t1
        return KPointReport(
            index=point.index, group=layout.group, k=tuple(point.k.tolist()),
            energies=np.asarray(res.eigenvalues), residuals=np.asarray(res.residuals),
            iterations=res.iterations, nconv=res.nconv, seconds=time.perf_counter() - t0,
            assembly_seconds=t1 - t0, cut_splits_cluster=res.cut_splits_cluster,
            cut_gap=res.cut_gap, solver=res.solver)

    grid = Grid(n, fields.a, comm=layout.kcomm)
    H = centring = interp_report = None
    try:
        H = BlochHamiltonian(grid, fields, order=order)
        centring = sectors_for(grid, fields, settings.sectors)
        for verify in (True, False):
            solvers[verify] = settings.make(want_vectors=warm, verify_multiplicity=verify,
                                            centring=centring)
        kmax = H.max_k()
        if np.any(np.abs(pts) > kmax * (1 + 1e-12)):
            i = int(np.argwhere(np.abs(pts) > kmax * (1 + 1e-12))[0][0])
            raise InputError(f"k point #{i} = {pts[i].tolist()} fm^-1 exceeds π/h = {kmax:.6g} "
                             "fm^-1 of the grid")
        if interpolation is not None:
            basis_solver, interp_report = interpolating_solver(
                H, fields, settings, interpolation, pts, centring, log)
            solvers = {True: basis_solver, False: basis_solver}
        out = sweep.run(step, progress=progress)
    finally:
        if H is not None:
            H.destroy()
        if centring is not None:
            centring.destroy()
        grid.destroy()
    reports = out.ordered()
    if interpolation is not None:
        # every group built its own basis (identical inputs); report group 0's
        interp_report = layout.world.bcast(interp_report, root=0)
    energies = np.array([rep.energies for rep in reports]).reshape(nk, nev)
    residuals = np.array([rep.residuals for rep in reports]).reshape(nk, nev)
    iterations = np.array([rep.iterations for rep in reports], dtype=np.int64)
    seconds = np.array([rep.seconds for rep in reports])
    groups = np.array([rep.group for rep in reports], dtype=np.int64)
    splits = np.array([rep.cut_splits_cluster for rep in reports], dtype=bool)
    gaps = np.array([rep.cut_gap for rep in reports], dtype=float)
    solver_name = reports[-1].solver if reports else settings.kind
    t_asm, t_solve = times["assembly"], times["solve"]
    timings = {"assembly_seconds_this_group": t_asm, "solve_seconds_this_group": t_solve,
               "wall_seconds": time.perf_counter() - t_start}
    return BandData(kpoints=pts, weights=weights, energies=energies, residuals=residuals,
                    iterations=iterations, seconds=seconds, groups=groups,
                    cut_splits_cluster=splits, cut_gap=gaps, solver=solver_name, order=int(order),
                    a=float(fields.a), timings=timings,
                    settings={**settings.as_dict(),
                              "centring": centring.kind if centring is not None else "none"},
                    interpolation=interp_report)


def interpolating_solver(H, fields, settings: SolverSettings, interpolation, targets,
                         centring=None, log=None):
    """The :class:`~crustsolve.bands.interpolation.ReducedBasisSolver` of one k-group and its
    report: basis states and held-out references from ``settings``' solver (with vectors,
    ``interpolation.bands_per_point(nev)`` bands, sectors as configured); images under the
    subgroup of O_h that leaves U and B invariant and under time reversal (none with a
    current field). Collective on H's grid."""
    images = not fields.has_current
    ops = invariant_operations(fields) if images else None
    nb = interpolation.bands_per_point(settings.nev)
    if nb > H.size:
        raise InputError(f"interpolation basis_bands = {nb} exceeds the {H.size} grid points")
    direct = replace(settings, nev=nb, warm_start=False).make(
        want_vectors=True, verify_multiplicity=True, centring=centring)
    solver, report = build_interpolating_solver(H, direct, settings.nev, interpolation, targets,
                                                images=images, operations=ops,
                                                time_reversal=images, progress=log)
    report["images"] = bool(images)
    report["image_operations"] = 2 * len(ops) if images else 1
    report["direct_solver"] = settings.kind
    return solver, report
