"""Brillouin-zone sums of the response integrands for every level of theory (pure numpy + mpi4py).

Takes the per-k ingredients (:class:`~crustsolve.response.matrix_elements.KPointData`) that
this rank holds, fixes the chemical potential of each level from the neutron number, and sums
the integrands of :mod:`crustsolve.response.kernels` over the mesh:

    n_s^{ij} = ρ_n,s^{ij}/m_n = (1/(2 b0 V_cell)) Σ_k w_k I^{ij}(k)    (fm⁻³)

Reduced (irreducible-wedge) meshes: a tensor at k_irr stands for R T Rᵀ at every full-mesh
point R k_irr of its star (``KMesh.full_to_irr``, ``KMesh.full_ops``), so the sum
(1/N_full) Σ_full R_f T(k_irr(f)) R_fᵀ equals the full-mesh sum exactly (tested).

The levels, their integrands and their number equations are the registry of
:mod:`crustsolve.response.levels` (read at call time): this module has no per-level code, so a
new level of theory does not touch it. The registered levels and number equations are:
  * ``tetrahedron``: n = (2/V) × Blöchl-corrected occupied BZ fraction (linear tetrahedra);
  * ``normal``: n = (2/V) Σ_k w_k Σ_α ½erfc((ε_α − μ_σ)/σ), one μ_σ per smearing width σ;
  * ``intraband``, ``form_a``, ``form_b``: the BCS equation n = (1/V) Σ_k w_k Σ_α (1 − ξ_α/E_α)
    (one μ shared by the three, so they differ only in the response formula).
With a fixed μ instead, every level uses it and reports the density its equation gives.

Current-field variants: when the k-point data carry the current-field vertex, every level
registered with a current variant (all of them today) is also evaluated with the current-corrected velocity in one factor (and, for Form A, the
corrected diamagnetic operator): ``LevelResult.tensor_current``.

Band truncation: the bands above the computed set are missing from every BCS level through
the tails of the BCS factors (Δ²/E³ ~ Δ²/ξ³, the interband bracket ~ Δ/ξ², the occupation
tail Δ²/2ξ² in the number equation) and, for Form A, through the f-sum cancellation of its
diamagnetic and paramagnetic parts. Each level is therefore evaluated a second time on the
bands below μ + f·m (m the band margin, f = :data:`TRUNCATION_FRACTION`) and the difference is
extrapolated with the leading law L(m) = L(∞) − c/m² to an estimate of L(∞) − L(m),
reported as ``LevelResult.truncation``. It is an error estimate, not a correction: on
complete-basis test grids it bounds the measured truncation error (``docs/physics/crust-superfluidity.md``,
"band truncation").

MPI: the caller passes only its own k-points (group leaders; other ranks pass an empty
list) and the world communicator; energies and gaps are all-gathered (nk × nb numbers) to fix
μ identically everywhere, and the tensors are summed with ``Allreduce``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np
from mpi4py import MPI

from ..errors import InputError, NotEnoughBandsError
from . import kernels as K
from . import levels as L

#: Energy (MeV) padding band lists of unequal length: its occupations vanish at every level.
_PAD = 1e30

#: Levels of theory, in the order they are reported, and those computed by default: names of
#: the registry :data:`crustsolve.response.levels.REGISTRY` at import (the evaluation itself
#: always reads the live registry).
LEVELS = L.names()
DEFAULT_LEVELS = L.default_names()

#: Fraction f of the band margin kept in the second evaluation that estimates the truncation.
TRUNCATION_FRACTION = 0.75


@dataclass(frozen=True)
class LevelResult:
    """One level of theory.

    tensor : (3, 3) n_s^{ij} = ρ_n,s^{ij}/m_n (fm⁻³), without the current-field term.
    tensor_current : the same with the current-field vertex (fm⁻³), or None.
    mu : chemical potential (MeV) of this level; density : n from this level's number
    equation at ``mu`` (fm⁻³). error : smearing-extrapolation estimate of the scalar (fm⁻³;
    NaN if none). truncation, truncation_current : band-truncation estimates L(∞) − L of the
    scalars (fm⁻³; NaN if not computed). details : level-specific data.
    """

    name: str
    tensor: np.ndarray
    mu: float
    density: float
    error: float = math.nan
    truncation: float = math.nan
    tensor_current: Optional[np.ndarray] = None
    truncation_current: float = math.nan
    details: Mapping = field(default_factory=dict)

    @property
    def scalar(self) -> float:
        """Tr/3 (fm⁻³): the superfluid density of a cubic crystal."""
        return float(np.trace(self.tensor) / 3.0)

    @property
    def variants(self) -> tuple:
        """(False,) or (False, True): the computed variants (True = with the current field)."""
        return (False,) if self.tensor_current is None else (False, True)

    @property
    def scalar_current(self) -> float:
        """Tr/3 of the current-field variant (fm⁻³; NaN if not computed)."""
        return math.nan if self.tensor_current is None else float(np.trace(self.tensor_current) / 3.0)


def star_operations(kmesh, nk):
    """Per irreducible k: array (m_k, 3, 3) of the operations R_f mapping it to its star."""
    full_to_irr = getattr(kmesh, "full_to_irr", None)
    if full_to_irr is None:
        return [np.eye(3)[None] for _ in range(nk)]
    ops = np.asarray(kmesh.operations, dtype=float)
    full_ops = np.asarray(kmesh.full_ops)
    out = [[] for _ in range(nk)]
    for f, ik in enumerate(np.asarray(full_to_irr)):
        out[int(ik)].append(ops[int(full_ops[f])])
    return [np.array(o) for o in out]


def _star_sum(T, ops):
    """Σ_R R T Rᵀ over the star's operations (T (..., 3, 3))."""
    return np.einsum("gia,...ab,gjb->...ij", ops, T, ops)


def _allreduce(comm, local):
    local = np.asarray(local, dtype=float)
    if comm is None:
        return local.copy()
    out = np.empty_like(local)
    comm.Allreduce(local, out, op=MPI.SUM)
    return out


def _gather_bands(kdata, nk, comm):
    """(E, D, top, maxres): energies and gaps (nk, nb) padded, top band per k, max residual."""
    mine = [(kd.index, kd.energies, kd.gap, kd.max_residual) for kd in kdata]
    gathered = mine if comm is None else [x for part in comm.allgather(mine) for x in part]
    # Different k may keep different numbers of bands (a degenerate cluster split by the
    # eigensolver's cut is dropped): pad with a far-away energy whose occupations are 0.
    nb = max((len(e) for _, e, _, _ in gathered), default=0)
    if nb == 0:
        raise InputError("no band data")
    E = np.full((nk, nb), _PAD)
    D = np.ones((nk, nb))
    top = np.full(nk, np.nan)
    seen = np.zeros(nk, dtype=bool)
    maxres = 0.0
    for ik, e, g, r in gathered:
        E[ik, :len(e)] = e
        D[ik, :len(e)] = g
        top[ik] = e[-1]
        seen[ik] = True
        maxres = max(maxres, r)
    if not seen.all():
        missing = np.flatnonzero(~seen)
        raise InputError(f"k-points without data: {missing[:10].tolist()}")
    return E, D, top, maxres


def _variants(with_current):
    return (False, True) if with_current else (False,)


def _level_sums(kdata, ops, regs, sols, tol, with_current, comm, ctx):
    """Σ_k over this rank's k-points of every per-k level's integrand (star-summed), all-reduced.

    {(level, current): array}; the cluster products of each (k, variant) are shared."""
    acc = {(lv.name, cur): np.zeros(lv.shape(ctx)) for lv in regs
           for cur in lv.variants(with_current)}
    for kd in kdata:
        R = ops[kd.index]
        for cur in _variants(with_current):
            terms = L.KPointTerms(kd.energies, kd.gap, kd.velocity, kd.d2h,
                                  kd.flow_velocity() if cur else None,
                                  kd.flow_d2h() if cur else None, tol, kd.gap_gradient)
            for lv in regs:
                if cur in lv.variants(with_current):
                    acc[(lv.name, cur)] += _star_sum(
                        lv.integrand(terms, sols[lv.number_equation], ctx), R)
    return {key: _allreduce(comm, val) for key, val in acc.items()}


def _evaluate_set(kdata, kmesh, *, volume, b0, levels, density, mu, smearing, tol, comm,
                  ops, nfull, temperature=0.0):
    """Every level on the given band data: ({name: dict}, solutions, E, top, maxres, current)."""
    nk = int(len(kmesh.weights))
    weights = np.asarray(kmesh.weights, dtype=float)
    E, D, top, maxres = _gather_bands(kdata, nk, comm)
    regs = [L.get(lv) for lv in levels]
    equations = {lv.number_equation: lv.equation for lv in regs}
    if any(eq.needs_gap for eq in equations.values()) and not np.any(D != 0):
        raise InputError("BCS levels need a nonzero gap Δ (use the normal level for Δ = 0)")
    bands = L.BandSet(E, D, weights, volume, kmesh, smearing, temperature)
    sols = {name: eq.solve(bands, density, mu) for name, eq in equations.items()}
    with_current = bool(comm.allreduce(any(kd.has_current for kd in kdata), op=_lor())
                        if comm is not None else any(kd.has_current for kd in kdata))
    ctx = L.Context(tuple(kdata), kmesh, bands, b0, tol, comm, with_current)
    sums = _level_sums(kdata, ops, [lv for lv in regs if lv.integrand is not None], sols, tol,
                       with_current, comm, ctx)
    pref = 1.0 / (2.0 * b0 * volume * nfull)
    out = {}
    for lv in regs:
        sol = sols[lv.number_equation]
        if lv.evaluate is not None:
            entry = lv.evaluate(ctx, sol)
        else:
            t = {cur: sums[(lv.name, cur)] * pref for cur in lv.variants(with_current)}
            entry = lv.finish(t[False], t.get(True), sol, ctx)
        out[lv.name] = {"mu": sol.mu, "density": sol.density, **entry}
    return out, sols, E, top, maxres, with_current


def _lor():
    return MPI.LOR


def _subset(kdata, threshold, tol):
    """Each k-point restricted to the bands below ``threshold`` (MeV), whole clusters kept."""
    out = []
    for kd in kdata:
        nkeep = int(np.searchsorted(kd.energies, threshold, side="right"))
        lab = K.degenerate_clusters(kd.energies, tol)
        while 0 < nkeep < kd.nb and lab[nkeep] == lab[nkeep - 1]:
            nkeep -= 1                          # never split a degenerate cluster
        if nkeep == 0:
            raise InputError("the truncation estimate left no band at some k-point")
        out.append(kd.truncated(nkeep))
    return out


def fermi_surface_gap(energies, gaps, weights, mu: float, sigma: float) -> dict:
    """Fermi-surface average of Δ_αk and its spread (MeV).

    ⟨Δ⟩ = Σ_kα w_k g_αk Δ_αk / Σ_kα w_k g_αk with the Gaussian Fermi-surface weight
    g = exp(−(ε_αk − μ)²/σ²) (the δ(ε − μ) of the normal level, smeared by σ); spread =
    √(⟨Δ²⟩ − ⟨Δ⟩²). ``energies``, ``gaps``: (nk, nb) MeV; ``weights``: (nk,) BZ weights.
    """
    E = np.asarray(energies, dtype=float)
    D = np.asarray(gaps, dtype=float)
    g = np.asarray(weights, dtype=float)[:, None] * np.exp(-((E - mu) / sigma) ** 2)
    total = g.sum()
    if not total > 0:
        return {"mean_MeV": math.nan, "spread_MeV": math.nan, "mu_MeV": mu, "sigma_MeV": sigma}
    mean = float((g * D).sum() / total)
    var = float((g * (D - mean) ** 2).sum() / total)
    return {"mean_MeV": mean, "spread_MeV": math.sqrt(max(var, 0.0)), "mu_MeV": float(mu),
            "sigma_MeV": float(sigma)}


def evaluate(kdata: Sequence, kmesh, *, volume: float, b0: float, levels=DEFAULT_LEVELS,
             density: Optional[float] = None, mu: Optional[float] = None,
             smearing=(0.4, 0.3, 0.2), tol=K.DEFAULT_DEGENERACY_TOL, comm=None,
             check_bands: bool = True, truncation: bool = True,
             temperature: float = 0.0) -> dict:
    """Superfluid-density tensors of the requested levels (see module doc). Collective on ``comm``.

    ``kdata``: this rank's KPointData (indices into ``kmesh.points``); ``volume`` V_cell (fm³);
    ``b0`` = ħ²/2m_n (MeV fm²); exactly one of ``density`` (fm⁻³) or ``mu`` (MeV);
    ``smearing`` widths σ (MeV, normal level); ``check_bands``: require the highest computed
    band to lie more than 5σ above μ at every k (off only for model band structures that are
    complete by construction); ``truncation``: estimate the band-truncation error of every
    level (a second evaluation on the bands below μ + f·margin); ``temperature`` T (MeV) of
    the BCS levels (occupations and thermal factors at fixed gaps; the normal and
    tetrahedron levels stay at T = 0).
    Returns {"levels": {name: LevelResult}, "band_margin": MeV, "nb", "nk", "nfull",
    "max_residual", "top_band_min", "has_current", "gap_fermi_surface"} (the last from
    :func:`fermi_surface_gap` at the μ of the first BCS level, else of the first level, with
    σ the largest smearing width).
    """
    levels = L.check_names("levels", levels)
    if (density is None) == (mu is None):
        raise InputError("give exactly one of the neutron density n (fm^-3) or the chemical "
                         "potential mu (MeV)")
    smearing = tuple(float(s) for s in smearing)
    equations = {}
    for name in levels:
        lv = L.get(name)
        equations.setdefault(lv.number_equation, lv.equation)
        if lv.equation.check is not None:
            lv.equation.check(smearing, name)
    nk = int(len(kmesh.weights))
    ops = star_operations(kmesh, nk)
    nfull = sum(len(o) for o in ops)
    temperature = float(temperature)
    if not (math.isfinite(temperature) and temperature >= 0):
        raise InputError(f"temperature = {temperature!r} MeV must be finite and >= 0")
    kw = dict(volume=volume, b0=b0, levels=levels, density=density, mu=mu, smearing=smearing,
              tol=tol, comm=comm, ops=ops, nfull=nfull, temperature=temperature)
    main, sols, E, top, maxres, with_current = _evaluate_set(kdata, kmesh, **kw)
    top_min = float(top.min())
    mu_max = max(m for sol in sols.values() for m in sol.mus)
    margin = top_min - mu_max
    need = max(eq.margin(smearing) for eq in equations.values())
    if check_bands and margin <= need:
        raise NotEnoughBandsError(
            f"not enough bands: the highest computed band reaches down to {top_min:.6g} MeV, "
            f"only {margin:.3g} MeV above μ (need > {need:.3g} MeV); increase the number of "
            "bands")
    trunc = {}
    if truncation and margin > 0:
        f = TRUNCATION_FRACTION
        threshold = mu_max + f * margin
        sub, *_ = _evaluate_set(_subset(kdata, threshold, tol), kmesh, **kw)
        factor = f**2 / (1.0 - f**2)          # L(∞) − L(m) from L(m) − L(f m) for L ∝ −1/m²
        for name, entry in main.items():
            t0 = float(np.trace(entry["tensor"]) / 3) - float(np.trace(sub[name]["tensor"]) / 3)
            tc = math.nan
            if entry.get("tensor_current") is not None:
                tc = (float(np.trace(entry["tensor_current"]) / 3)
                      - float(np.trace(sub[name]["tensor_current"]) / 3))
            trunc[name] = (factor * t0, factor * tc)
    out = {}
    for name in [lv for lv in L.names() if lv in main]:
        e = main[name]
        tr = trunc.get(name, (math.nan, math.nan))
        out[name] = LevelResult(name, e["tensor"], e["mu"], e["density"],
                                error=e.get("error", math.nan), truncation=tr[0],
                                tensor_current=e.get("tensor_current"),
                                truncation_current=tr[1], details=e["details"])
    bcs = [n for n in out if L.get(n).number_equation == "bcs"]
    mu_fs = out[(bcs or list(out))[0]].mu
    weights = np.asarray(kmesh.weights, dtype=float)
    _, D, _, _ = _gather_bands(kdata, nk, comm)     # padded bands have zero weight
    gap_fs = fermi_surface_gap(E, D, weights, mu_fs, max(smearing, default=0.4))
    return {"levels": out, "band_margin": margin, "nb": E.shape[1], "nk": nk, "nfull": nfull,
            "max_residual": maxres, "top_band_min": top_min, "has_current": with_current,
            "truncation_fraction": TRUNCATION_FRACTION if trunc else math.nan,
            "gap_fermi_surface": gap_fs}
