"""The run-file schema of ``crustsolve run``: one tree of frozen dataclasses for every run.

A run either builds a crustal layer (table ``[layer]``: composition → fields → zero-point loop
→ hydrodynamics, :func:`crustsolve.mainjob.run_main_job`) or reads user-supplied fields
(top-level ``fields = "F.h5"`` instead of ``[layer]``: the superfluid density of those fields,
:func:`crustsolve.response.driver.run_config`). Both read the same tables with the same names
and defaults: ``[grid]`` (order; points only for layers), ``[bands]``, ``[kmesh]``,
``[pairing]`` (a gap model of :mod:`crustsolve.response.pairing`), ``[response]`` (levels,
smearing, …). Some tables apply to one kind of run only (``[layer]``, ``[zeropoint]``,
``hydro`` to layers; ``[current]``, ``[masses]`` and the density/μ of ``[response]`` to
fields files) and are refused for the other.

Precedence: preset < run file < command line (:func:`resolve_config`). Keys of the former
fields-file schema (``nev``, ``order``, ``kmesh = 4``, ``[gap]`` …) are errors naming the key
that replaces them. The README's table of keys is :func:`schema_markdown` (a test keeps them
equal) and ``crustsolve run --print-config`` prints :func:`to_toml` of the resolved run.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Literal, Optional

from .config import from_dict, merge, to_dict
from .errors import ConfigError, InputError, check_range
from .response import levels as response_levels
from .functional.pairing import functional_pairing
from .response.pairing import GapConfig
from .results import run_identity


def key(default=dataclasses.MISSING, doc: str = "", *, factory=None):
    """A schema field with its meaning (shown in the README table and ``--print-config``)."""
    if factory is not None:
        return field(default_factory=factory, metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass(frozen=True)
class LayerConfig:
    """[layer]: which crustal layer."""

    functional: str = key("BSk24", "Skyrme/BSk functional")
    density: float = key(0.03, "mean baryon density n̄ of the layer (fm⁻³)")
    lattice: Literal["bcc", "fcc"] = key("bcc", "ion lattice")
    Z: Optional[float] = key(None, "protons per cluster (default: the functional's ETF minimum)")
    table: str = key("", "published composition table used instead of the ETF minimisation")

    def __post_init__(self):
        check_range("layer.density", self.density, 0.0, None, lo_open=True, unit="fm^-3")


@dataclass(frozen=True)
class GridConfig:
    """[grid]: the real-space grid of the conventional cube."""

    points: int = key(20, "points per side (even; layers only: a fields file has its own grid)")
    order: int = key(6, "finite-difference order of the stencils")

    def __post_init__(self):
        if self.points < 8 or self.points % 2:
            raise InputError(f"grid.points = {self.points} must be an even number ≥ 8")


@dataclass(frozen=True)
class BandsConfig:
    """[bands]: eigensolver and band count. ``nbands`` 0 = automatic: enough bands to reach
    ``margin`` MeV above μ at every k (estimated from the free-neutron density of states, then
    checked; a layer run repeats the band calculation with more bands when the computed set
    ends below 90 % of the margin). The margin controls the band-truncation error of every BCS
    level (reported as its truncation estimate): measured on complete-basis grids with
    Δ = 1 MeV, 8 MeV leaves ≲ 0.5 % in the intraband and Form-B levels and ≲ 1 % in Form A."""

    solver: Literal["lapack", "krylovschur", "chebyshev"] = key("lapack", "eigensolver")
    nbands: int = key(0, "bands per k (0 = automatic from margin)")
    margin: float = key(8.0, "automatic band count: the bands reach this far above μ (MeV)")
    tol: float = key(1e-8, "eigen-residual tolerance (relative to max(1 MeV, |ε|))")
    sectors: Literal["auto", "off"] = key("auto", "split each solve into the bcc/fcc "
                                          "centring-translation sectors when the fields have "
                                          "them (auto) or never (off)")

    def __post_init__(self):
        check_range("bands.margin", self.margin, 2.0, 100.0, unit="MeV")
        check_range("bands.tol", self.tol, 0.0, 1e-3, lo_open=True)
        if self.nbands < 0:
            raise InputError(f"bands.nbands = {self.nbands} must be ≥ 0 (0 = automatic)")


@dataclass(frozen=True)
class KMeshConfig:
    """[kmesh]: Monkhorst–Pack n×n×n of the simple-cubic zone."""

    n: int = key(2, "points per direction")
    shift: bool = key(True, "shifted (true) or Γ-centred mesh")
    symmetry: Literal["auto", "oh", "none"] = key(
        "auto", "point-group reduction: auto = the subgroup of O_h that leaves the fields "
        "(and a pair-field profile) invariant, none with a current field; oh = all of O_h "
        "(refused when the fields lack it); none = time reversal only")
    interpolate: int = key(0, "M > 0: solve the mesh by Rayleigh–Ritz in a reduced basis built "
                           "from the states of the M×M×M mesh (same shift) and their "
                           "symmetry images, checked at held-out k-points; 0 = solve every k directly")
    interpolate_tol: float = key(1e-4, "largest eigenvalue error (MeV) accepted at the "
                                 "held-out k-points (the basis is enlarged until it holds)")

    def __post_init__(self):
        if not 1 <= self.n <= 64:
            raise InputError(f"kmesh.n = {self.n} is outside the allowed range [1, 64]")
        if not 0 <= self.interpolate <= 64:
            raise InputError(f"kmesh.interpolate = {self.interpolate} is outside the allowed "
                             "range [0, 64] (0 = direct)")
        check_range("kmesh.interpolate_tol", self.interpolate_tol, 0.0, 1.0, lo_open=True,
                    unit="MeV")

    def interpolation(self):
        """The :class:`~crustsolve.bands.interpolation.InterpolationSettings`, or None (direct)."""
        if not self.interpolate:
            return None
        from .bands.interpolation import InterpolationSettings
        return InterpolationSettings(coarse=self.interpolate, shift=self.shift,
                                     tol=self.interpolate_tol)


@dataclass(frozen=True)
class ResponseConfig:
    """[response]: which levels of theory and how they are evaluated."""

    levels: tuple[str, ...] = key(
        factory=response_levels.default_names,
        doc="levels of theory (crustsolve.response.levels); default: the registered defaults")
    smearing: tuple[float, ...] = key((0.4, 0.3, 0.2), "Gaussian widths σ (MeV) of the normal "
                                      "level, extrapolated to σ → 0")
    degeneracy_tol: float = key(1e-6, "energy difference (MeV) below which bands are one "
                                "degenerate cluster")
    neutron_density: Optional[float] = key(None, "fields files: mean neutron density n̄_n "
                                           "(fm⁻³) that fixes μ")
    mu: Optional[float] = key(None, "fields files: a fixed chemical potential (MeV) instead")
    b0: Optional[float] = key(None, "fields files: ħ²/2m_n (MeV fm²) that defines m_n "
                              "(default the bare value); layers use their functional's")

    def __post_init__(self):
        response_levels.check_names("response.levels", self.levels)
        for s in self.smearing:
            check_range("response.smearing", s, lo=0.0, lo_open=True, unit="MeV")
        check_range("response.degeneracy_tol", self.degeneracy_tol, lo=0.0, lo_open=True,
                    unit="MeV")
        if self.neutron_density is not None:
            check_range("response.neutron_density", self.neutron_density, lo=0.0,
                        lo_open=True, unit="fm^-3")
        if self.b0 is not None:
            check_range("response.b0", self.b0, lo=0.0, lo_open=True, unit="MeV fm^2")


@dataclass(frozen=True)
class ZeroPointConfig:
    """[zeropoint] (layers): quantum zero-point motion of the ions."""

    enabled: bool = key(True, "run the zero-point loop (false: rigid lattice only)")
    smear: Literal["all", "U"] = key(
        "all", "what the Debye–Waller factor acts on: all = U_n, B_n, C_nn n_n, the pair field "
        "Δ_n and the hydrodynamic density; U = U_n only")
    # Form A: its value at each k needs no k-derivative of band quantities; with the
    # functional's state-dependent gaps Form B (an integration by parts over the zone) jumps
    # by tens of per cent between nearby lattices on the quick preset's single k-point.
    level: str = key("form_a", "level of theory whose ρ_n,s drives m_I* (one computed by "
                     "default)")
    current: bool = key(True, "drive with the level's current-field variant")
    rtol: float = key(1e-2, "relative tolerance of the m_I* fixed point")
    max_iter: int = key(6, "most iterations of the loop")
    mixing: float = key(1.0, "linear mixing of m_I* between iterations")

    def __post_init__(self):
        response_levels.check_name("zeropoint.level", self.level,
                                   allowed=response_levels.default_names())
        check_range("zeropoint.rtol", self.rtol, 0.0, 1.0, lo_open=True)
        check_range("zeropoint.mixing", self.mixing, 0.0, 1.0, lo_open=True)
        if self.max_iter < 1:
            raise InputError(f"zeropoint.max_iter = {self.max_iter} must be ≥ 1")


@dataclass(frozen=True)
class CurrentConfig:
    """[current] (fields files): current-field vertex of the superflow with a constant C_nn
    (MeV fm⁵) and n_n (fm⁻³) (:class:`~crustsolve.response.superfluid.CurrentTerm`); layers
    take C_nn(r) n_n(r) from their functional."""

    cnn: Optional[float] = key(None, "C_nn (MeV fm⁵)")
    nn: Optional[float] = key(None, "n_n (fm⁻³)")

    def __post_init__(self):
        if (self.cnn is None) != (self.nn is None):
            raise InputError("current term: give both cnn (MeV fm^5) and nn (fm^-3), or neither")
        if self.nn is not None:
            check_range("current.nn", self.nn, lo=0.0, unit="fm^-3")
            check_range("current.cnn", self.cnn, lo=-1e4, hi=1e4, unit="MeV fm^5")


@dataclass(frozen=True)
class MassesConfig:
    """[masses] (fields files): inputs of the effective masses that a layer run knows from
    its composition."""

    n_free_profile: Optional[float] = key(None, "free (unbound) neutron density n_n,f (fm⁻³)")
    Z: Optional[float] = key(None, "protons per ion")
    ions_per_cell: int = key(2, "ions per conventional cube (bcc 2, fcc 4)")


@dataclass(frozen=True)
class RunConfig:
    """The whole run file (TOML) of ``crustsolve run``."""

    preset: Literal["quick", "standard", "production"] = key(
        "quick", "defaults of grid, solver, k-mesh and zero-point tolerance")
    fields: str = key("", "field file (HDF5) of a fields-file run; empty: a layer run")
    layer: LayerConfig = key(factory=LayerConfig, doc="")
    grid: GridConfig = key(factory=GridConfig, doc="")
    bands: BandsConfig = key(factory=BandsConfig, doc="")
    kmesh: KMeshConfig = key(factory=KMeshConfig, doc="")
    pairing: GapConfig = key(factory=GapConfig, doc="")
    response: ResponseConfig = key(factory=ResponseConfig, doc="")
    zeropoint: ZeroPointConfig = key(factory=ZeroPointConfig, doc="")
    current: CurrentConfig = key(factory=CurrentConfig, doc="")
    masses: MassesConfig = key(factory=MassesConfig, doc="")
    hydro: bool = key(True, "layers: hydrodynamic comparison (potential flow, Epstein–Baym)")
    kgroups: Optional[int] = key(None, "number of k-groups (default automatic)")
    output: str = key("results.h5", "results file (HDF5)")
    plot: str = key("results.png", "layers: summary plot (PNG; empty for none)")
    kpoint_data: Literal["final", "all", "none"] = key(
        "final", "layers: per-k response data kept in the results file when the run ends (of "
        "the final band calculation, of all, or none)")
    petsc: dict[str, str] = key(factory=dict, doc="PETSc/SLEPc options (the command line "
                                "still overrides them)")

    def __post_init__(self):
        gap = self.pairing.gap_model()
        if self.fields:
            r = self.response
            if (r.neutron_density is None) == (r.mu is None):
                raise InputError("a fields-file run needs exactly one of "
                                 "response.neutron_density (fm^-3) or response.mu (MeV)")
            if self.bands.nbands == 0 and r.neutron_density is None:
                raise InputError("bands.nbands = 0 (automatic) needs response.neutron_density; "
                                 "give bands.nbands with response.mu")
            if gap.name == "functional":
                raise InputError("pairing.model = 'functional' needs a layer run (the pair field "
                                 "is built from the layer's densities); for a fields file use "
                                 "'profile' (its Delta(r)) or 'constant' with gap = ...")
        else:
            if gap.name == "profile":
                raise InputError("pairing.model = 'profile' reads Delta(r) from a fields file; a "
                                 "layer run uses 'functional' (its functional's pair field) or "
                                 "'constant' with gap = ...")
            if gap.name == "constant":
                check_range("pairing.gap", gap.gap, 0.0, 10.0, lo_open=True, unit="MeV")
            else:
                check_range("pairing.scale", gap.scale, 0.0, 10.0, lo_open=True)
                functional_pairing(self.layer.functional)   # has one, or says why not
            if self.zeropoint.level not in self.response.levels:
                raise InputError(f"zeropoint.level = {self.zeropoint.level!r} is not among "
                                 f"response.levels ({', '.join(self.response.levels)})")


#: The former name of :class:`RunConfig` (layer runs).
MainJobConfig = RunConfig

#: Precision presets (measured on the 2-core development machine; see README). The standard
#: and production grids use the Chebyshev solver: at ~1350 bands it beat Krylov–Schur cold at
#: 24³ and 32³ and warm-starts each k-point from the previous one (benchmarks/README.md).
PRESETS = {
    "quick": {"grid": {"points": 20, "order": 6}, "bands": {"solver": "lapack"},
              "kmesh": {"n": 2, "shift": True}, "zeropoint": {"rtol": 1e-2, "max_iter": 6}},
    "standard": {"grid": {"points": 28, "order": 6}, "bands": {"solver": "chebyshev"},
                 "kmesh": {"n": 4, "shift": True}, "zeropoint": {"rtol": 3e-3, "max_iter": 10}},
    "production": {"grid": {"points": 40, "order": 6}, "bands": {"solver": "chebyshev"},
                   "kmesh": {"n": 6, "shift": True}, "zeropoint": {"rtol": 1e-3, "max_iter": 15}},
}

#: Keys of the former fields-file schema and of earlier layer schemas → the key now.
RENAMED = {
    "nev": "bands.nbands", "order": "grid.order", "solver": "bands.solver", "tol": "bands.tol",
    "kmesh": "[kmesh] n", "shift": "kmesh.shift", "symmetry": "kmesh.symmetry",
    "density": "response.neutron_density (fields files) or layer.density (layers)",
    "mu": "response.mu", "levels": "response.levels", "smearing": "response.smearing",
    "degeneracy_tol": "response.degeneracy_tol", "b0": "response.b0",
    "gap": "[pairing] (model, gap, scale)",
    "pairing.kind": "pairing.model", "pairing.value": "pairing.gap (constant model)",
    "bands.buffer": "bands.margin (the energy in MeV the computed bands reach above μ)",
}

#: Tables and keys that apply to one kind of run only.
LAYER_ONLY = ("layer", "zeropoint", "hydro", "plot", "kpoint_data", "grid.points")
FIELDS_ONLY = ("current", "masses", "response.neutron_density", "response.mu", "response.b0")


def _has(data: dict, dotted: str) -> bool:
    head, _, rest = dotted.partition(".")
    if head not in data:
        return False
    return not rest or (isinstance(data[head], dict) and rest in data[head])


def _check_keys(data: dict) -> None:
    """Former keys and keys of the other kind of run, each with an error naming the key."""
    for old, new in RENAMED.items():
        if _has(data, old) and not (old == "kmesh" and isinstance(data["kmesh"], dict)):
            raise ConfigError(f"{old} is no longer a run-file key: use {new}")
    fields_run = bool(data.get("fields"))
    wrong = FIELDS_ONLY if not fields_run else LAYER_ONLY
    for k in wrong:
        if _has(data, k):
            what = ("a layer run (it builds them from [layer])" if not fields_run
                    else "a fields-file run (fields = ... gives the grid and the fields)")
            raise ConfigError(f"{k} does not apply to {what}")


def _drop(data: dict, dotted) -> dict:
    out = dict(data)
    for k in dotted:
        head, _, rest = k.partition(".")
        if head in out and not rest:
            del out[head]
        elif head in out and isinstance(out[head], dict):
            out[head] = {kk: v for kk, v in out[head].items() if kk != rest}
    return out


def resolve_config(file_data: Optional[dict] = None,
                   overrides: Optional[dict] = None) -> RunConfig:
    """Preset < run file < command-line overrides → validated :class:`RunConfig`."""
    data = merge(file_data or {}, overrides or {})
    _check_keys(data)
    preset = data.get("preset", "quick")
    if preset not in PRESETS:
        raise ConfigError(f"preset = {preset!r} is not one of: {', '.join(PRESETS)}")
    base = PRESETS[preset]
    if data.get("fields"):
        base = _drop(base, LAYER_ONLY)         # the fields file has its grid; no zero-point loop
    # The gap model by kind of run: the functional's pair field for layers, the file's Δ(r)
    # for fields files.
    base = merge(base, {"pairing": {"model": "profile" if data.get("fields") else "functional"}})
    return from_dict(RunConfig, merge(base, data))


def identity_of(cfg: RunConfig, petsc_options=None) -> dict:
    """What decides the numbers of a run: the configuration without the output names and the
    kept per-k data, plus the command-line PETSc options (stored when a run starts, compared
    on resume and before a layer file is reused)."""
    return run_identity(to_dict(cfg), petsc_options, ignore=("output", "plot", "kpoint_data"))


# ---------------------------------------------------------------------------------------------
# The schema as text: TOML of a resolved run, and the README table of keys
# ---------------------------------------------------------------------------------------------

def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def to_toml(cfg: RunConfig) -> str:
    """The fully resolved configuration as a TOML run file: the keys that apply to this kind
    of run, unset ones (None) as comments; reading it back gives the same :class:`RunConfig`."""
    data = _drop(to_dict(cfg), LAYER_ONLY if cfg.fields else FIELDS_ONLY)
    top, tables = [], []
    for name, value in data.items():
        if isinstance(value, dict):
            lines = [f"[{name}]"]
            for k, v in value.items():
                lines.append(f"# {k} = (unset)" if v is None else f"{k} = {_toml_value(v)}")
            tables.append("\n".join(lines))
        elif value is None:
            top.append(f"# {name} = (unset)")
        else:
            top.append(f"{name} = {_toml_value(value)}")
    return "\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n"


def _type_text(tp) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin is typing.Union:
        return " or ".join(_type_text(a) for a in args if a is not type(None))
    if origin is tuple:
        return f"array of {_type_text(args[0])}"
    if origin is dict:
        return "table"
    return {int: "integer", float: "number", str: "string", bool: "boolean"}.get(tp, str(tp))


def _default_text(f) -> str:
    if f.default is not dataclasses.MISSING:
        v = f.default
    elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        v = f.default_factory()  # type: ignore[misc]
    else:
        return "required"
    if v is None:
        return "unset"
    if isinstance(v, dict) and not v:
        return "{}"
    return f"`{_toml_value(v)}`"


def schema_rows(cls=RunConfig, prefix: str = "") -> list:
    """(key, type, default, meaning) of every key of the schema, tables expanded."""
    rows = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        name = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(tp):
            rows.extend(schema_rows(tp, prefix=f"{name}."))
            continue
        doc = f.metadata.get("doc", "")
        if not doc and cls is GapConfig:
            doc = {"model": "gap model (crustsolve.response.pairing): 'functional' (the "
                            "layer functional's LDA pair field; default of layer runs), "
                            "'profile' (the fields file's Delta(r); default of fields-file "
                            "runs) or 'constant'",
                   "gap": "constant model: the gap Δ (MeV)",
                   "scale": "functional and profile models: factor on Δ(r)"}.get(f.name, "")
        rows.append((name, _type_text(tp), _default_text(f), doc))
    return rows


def schema_markdown() -> str:
    """The README's table of run-file keys (defaults before presets)."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, tp, default, doc in schema_rows():
        lines.append(f"| `{name}` | {tp} | {default} | {doc} |")
    return "\n".join(lines)
