"""The registry of the pairing-gap models Δ_αk of the superfluid-density stage.

A gap model is a frozen dataclass (a subclass of :class:`GapModel`) whose fields are its
parameters (declared with :func:`parameter`: default, unit, allowed range, meaning), with a
``name`` (the run-file ``[pairing] model``), a ``description`` (provenance), :meth:`GapModel.check`
(validates the fields the model reads), :meth:`GapModel.symmetry_fields` (the scalar fields
Δ depends on: a symmetry-reduced k-mesh needs them invariant) and :meth:`GapModel.prepare`,
which returns the per-k evaluator: ``band_gaps(energies, project, tol)`` gives the per-band
gaps Δ_αk (MeV) of one k-point from what the band engine provides there — the band energies
(MeV, ascending) and ``project(mat)`` = Ψᴴ·mat·Ψ on the computed eigenvectors — plus the
unitary rotations inside degenerate clusters that the other matrix elements must follow
(:func:`crustsolve.response.matrix_elements.kpoint_data` applies them) and, for a
k-dependent gap, the matrix Ψᴴ Δ̂ Ψ from which the band engine forms ∇_kΔ_αk (None for a
k-independent gap).

Registered models (``docs/physics/crust-superfluidity.md``, "Levels of theory (constant or
band-diagonal gap Δ_αk)"):

* ``constant``: Δ_αk = ``gap`` (MeV) for every band and k (the constant-gap BCS levels of
  Carter, Chamel & Haensel, Nucl. Phys. A759, 441 (2005));
* ``profile``: Δ_αk = ∫_cell |φ_αk|² Δ(r) d³r × ``scale``, the band-diagonal matrix element of
  the pair field Δ(r) of the field file, diagonalised inside each degenerate cluster (BCS
  pairs the states that diagonalise Δ̂ there; :func:`rotate_degenerate`);
* ``functional``: the same with the LDA pair field of the layer's functional
  (:func:`crustsolve.functional.pairing.lda_pair_field`), which a layer run puts into its
  fields (the default of layer runs).

**What a new gap model touches.** This module only (plus its tests): subclass
:class:`GapModel` with its parameters and ``prepare``, and add it to :data:`REGISTRY`. The
run-file schema (:data:`GapConfig`, the ``[pairing]`` table of
:class:`crustsolve.runfile.RunConfig`: ``model`` plus every registered parameter), its
validation, the provenance (``SuperfluidResult.gap``), the k-mesh symmetry check and
:func:`crustsolve.response.superfluid.superfluid_density` go through the registry.

Units: MeV for gaps; a parameter's unit is in its declaration.
"""
from __future__ import annotations

import dataclasses
import math
from types import MappingProxyType
from typing import ClassVar, Mapping, Optional

import numpy as np

from ..errors import InputError, check_range
from ..petsc_env import init_petsc
from .kernels import DEFAULT_DEGENERACY_TOL, degenerate_clusters


def parameter(default: float, unit: str, description: str, lo: Optional[float] = None,
              hi: Optional[float] = None, lo_open: bool = False):
    """A gap-model parameter: a dataclass field with its unit, range and meaning."""
    return dataclasses.field(default=default, metadata={
        "unit": unit, "description": description, "lo": lo, "hi": hi, "lo_open": lo_open})


def parameters(model) -> tuple:
    """The :class:`dataclasses.Field` of every parameter of a model class or instance."""
    return tuple(f for f in dataclasses.fields(model) if "unit" in f.metadata)


class GapModel:
    """Base of the gap models (see the module docstring). Subclasses are frozen dataclasses."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    def __post_init__(self):
        for f in parameters(self):
            m = f.metadata
            value = getattr(self, f.name)
            if isinstance(value, bool):
                raise InputError(f"pairing.{f.name} must be a number, got {value!r}")
            object.__setattr__(self, f.name, check_range(
                f"pairing.{f.name}", value, lo=m["lo"], hi=m["hi"], lo_open=m["lo_open"],
                unit=m["unit"] or None))

    def describe(self) -> dict:
        """Provenance: {"model": name, parameter_unit: value, ...}."""
        raise NotImplementedError

    def check(self, fields) -> None:
        """Validate what the model reads from the Bloch-Hamiltonian ``fields`` (InputError)."""

    def symmetry_fields(self, fields) -> tuple:
        """The real (n, n, n) fields Δ depends on (must be invariant under a reduced mesh's
        point group)."""
        return ()

    def prepare(self, hamiltonian, k0):
        """The per-k evaluator (``band_gaps``, ``destroy``) for ``hamiltonian`` (collective on
        its communicator; ``k0`` (fm⁻¹) is a k-point whose matrix may serve as a template)."""
        raise NotImplementedError


class UniformGaps:
    """Per-k evaluator of a k- and band-independent gap Δ (MeV)."""

    def __init__(self, value: float):
        self.value = float(value)

    def band_gaps(self, energies, project, tol):
        """(Δ_αk (nb,) MeV, rotations [], None) : the same Δ for every band and k."""
        return np.full(len(energies), self.value), [], None

    def destroy(self) -> None:
        """Nothing to free."""


def diagonal_field_matrix(grid, field, template):
    """Diagonal PETSc Mat diag(field) (natural (n, n, n) numpy array) on ``template``'s layout."""
    PETSc, _ = init_petsc()
    vec = grid.scatter(np.asarray(field, dtype=complex))
    D = PETSc.Mat().createAIJ(size=template.getSizes(), nnz=(1, 0), comm=template.getComm())
    D.setUp()
    D.setDiagonal(vec)
    D.assemble()
    vec.destroy()
    return D


def rotate_degenerate(energies, gapmat, tol=DEFAULT_DEGENERACY_TOL):
    """Unitaries diagonalising ``gapmat`` inside each degenerate cluster.

    Returns (blocks, gaps): blocks = [(start, stop, W_block)] for clusters of size > 1, and
    gaps[α] = (Wᴴ gapmat W)_αα (real; gapmat is Hermitian for a real Δ(r)).
    """
    nb = len(energies)
    lab = degenerate_clusters(energies, tol)
    gaps = np.real(np.diag(gapmat)).copy()
    blocks = []
    start = 0
    while start < nb:
        stop = start + 1
        while stop < nb and lab[stop] == lab[start]:
            stop += 1
        if stop - start > 1:
            blk = gapmat[start:stop, start:stop]
            w, v = np.linalg.eigh(0.5 * (blk + blk.conj().T))
            blocks.append((start, stop, v))
            gaps[start:stop] = w
        start = stop
    return blocks, gaps


class ProjectedFieldGaps:
    """Per-k evaluator of a local pair field: Δ_αk are the eigenvalues of Ψᴴ Δ̂ Ψ inside each
    degenerate cluster (the diagonal elsewhere); owns the diagonal PETSc Mat of Δ(r)."""

    def __init__(self, mat):
        self.mat = mat

    def band_gaps(self, energies, project, tol):
        """(Δ_αk (nb,) MeV, [(start, stop, W)] rotations inside degenerate clusters,
        Ψᴴ Δ̂ Ψ (nb, nb) MeV before the rotations)."""
        gapmat = project(self.mat)
        blocks, gaps = rotate_degenerate(energies, gapmat, tol)
        return gaps, blocks, gapmat

    def destroy(self) -> None:
        """Free the PETSc Mat (collective on its communicator)."""
        if self.mat is not None:
            self.mat.destroy()
            self.mat = None


@dataclasses.dataclass(frozen=True)
class ConstantGap(GapModel):
    """Δ_αk = value for every band and k."""

    name: ClassVar[str] = "constant"
    description: ClassVar[str] = "constant gap Δ (MeV) for every band and k"
    gap: float = parameter(1.0, "MeV", "the gap Δ", lo=0.0)

    def describe(self) -> dict:
        return {"model": self.name, "gap_MeV": self.gap}

    def prepare(self, hamiltonian, k0):
        return UniformGaps(self.gap)


@dataclasses.dataclass(frozen=True)
class ProfileGap(GapModel):
    """Δ_αk = ⟨αk|Δ(r)|αk⟩ × scale, Δ(r) the (real) pair field of the fields."""

    name: ClassVar[str] = "profile"
    description: ClassVar[str] = ("band-diagonal matrix element of the fields' pair field "
                                  "Δ(r), times scale, diagonalised in degenerate clusters")
    scale: float = parameter(1.0, "", "factor multiplying Δ(r)")

    def describe(self) -> dict:
        return {"model": self.name, "scale": self.scale}

    def check(self, fields) -> None:
        if fields.Delta is None:
            raise InputError(f"pairing.model = {self.name!r} needs a pair field Delta(r) in the "
                             "fields; use model = 'constant' with gap = ... for fields without one")
        dre = np.real(fields.Delta)
        if np.max(np.abs(np.imag(fields.Delta)), initial=0.0) > 1e-12 * max(1.0, np.abs(dre).max()):
            raise InputError("the pairing field Delta(r) must be real (gauge its phase away)")

    def symmetry_fields(self, fields) -> tuple:
        return () if fields.Delta is None else (np.real(fields.Delta),)

    def prepare(self, hamiltonian, k0):
        A0 = hamiltonian.matrix(k0)
        try:
            return ProjectedFieldGaps(diagonal_field_matrix(
                hamiltonian.grid, np.real(hamiltonian.fields.Delta) * self.scale, A0))
        finally:
            A0.destroy()


@dataclasses.dataclass(frozen=True)
class FunctionalGap(ProfileGap):
    """Δ_αk = ⟨αk|Δ_n(r)|αk⟩ × scale with the LDA pair field Δ_n(r) of the layer's functional
    (a layer run builds it into the fields: :func:`crustsolve.functional.pairing.lda_pair_field`)."""

    name: ClassVar[str] = "functional"
    description: ClassVar[str] = ("band-diagonal matrix element of the functional's LDA pair "
                                  "field Δ_n(r), times scale (layer runs)")


#: The former name of :class:`ProfileGap`.
FieldGap = ProfileGap

#: The gap models by name (the run-file ``[pairing] model``).
REGISTRY: Mapping[str, type] = MappingProxyType(
    {m.name: m for m in (FunctionalGap, ConstantGap, ProfileGap)})


def registry() -> Mapping[str, type]:
    """The registry as it is now (:data:`REGISTRY`, looked up at call time)."""
    return REGISTRY


def names() -> tuple:
    """Every registered gap model."""
    return tuple(registry())


def model_class(kind, key: str = "pairing.model") -> type:
    """The registered model class called ``kind``; else an InputError naming the key, the
    value and the allowed names."""
    reg = registry()
    if not isinstance(kind, str) or kind not in reg:
        raise InputError(f"unknown gap model {kind!r} in {key}; allowed: {', '.join(reg)}")
    return reg[kind]


def make(kind: str = "constant", **params) -> GapModel:
    """A gap model from its name and parameters (unknown parameters are errors)."""
    cls = model_class(kind)
    allowed = [f.name for f in parameters(cls)]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InputError(f"gap model {kind!r} has no parameter(s) {', '.join(unknown)}; its "
                         f"parameters: {', '.join(allowed) or 'none'}")
    return cls(**params)


def GapSpec(kind: str = "constant", value: float = 1.0, scale: float = 1.0) -> GapModel:
    """The former gap specification, kept as a thin alias: ``GapSpec("constant", Δ)`` or
    ``GapSpec("field", scale=s)`` ("field" is the former name of "profile"); each model takes
    the arguments it has."""
    cls = model_class("profile" if kind == "field" else kind)
    given = {"gap": value, "scale": scale}
    return cls(**{f.name: given[f.name] for f in parameters(cls) if f.name in given})


def as_model(gap) -> GapModel:
    """``gap`` if it is a :class:`GapModel`; a number is a constant gap (MeV)."""
    if isinstance(gap, GapModel):
        return gap
    if isinstance(gap, (int, float)) and not isinstance(gap, bool) and math.isfinite(gap):
        return ConstantGap(float(gap))
    raise InputError(f"gap must be a gap model ({', '.join(names())}) or a number (MeV), got "
                     f"{gap!r}")


def config_class(reg: Optional[Mapping[str, type]] = None) -> type:
    """The run-file schema of ``[pairing]`` for the models of ``reg`` (default: the registry):
    ``model`` plus every model's parameters with their defaults. A parameter of another model
    than ``model`` must keep its default. ``.gap_model()`` builds the model."""
    reg = registry() if reg is None else reg
    fields, seen = [], {}
    for cls in reg.values():
        for f in parameters(cls):
            if f.name in seen:
                if seen[f.name] != (f.default, f.metadata["unit"]):
                    raise InputError(f"gap parameter {f.name!r} is declared twice with "
                                     "different defaults or units")
                continue
            seen[f.name] = (f.default, f.metadata["unit"])
            fields.append((f.name, float, dataclasses.field(default=f.default)))

    def post_init(self):
        cls = reg.get(self.model)
        if cls is None:
            raise InputError(f"unknown gap model {self.model!r} in pairing.model; allowed: "
                             f"{', '.join(reg)}")
        own = {f.name for f in parameters(cls)}
        for name, (default, unit) in seen.items():
            if name not in own and getattr(self, name) != default:
                raise InputError(f"pairing.{name} does not apply to gap model {self.model!r} "
                                 f"(its parameters: {', '.join(sorted(own)) or 'none'})")
        self.gap_model()                                # validates the parameters

    def gap_model(self) -> GapModel:
        cls = reg[self.model]
        return cls(**{f.name: getattr(self, f.name) for f in parameters(cls)})

    return dataclasses.make_dataclass(
        "GapConfig", [("model", str, dataclasses.field(default=next(iter(reg))))] + fields,
        frozen=True, namespace={
            "__post_init__": post_init, "gap_model": gap_model, "__module__": __name__,
            "__doc__": "[pairing] model = one of the registered gap models, and its parameters "
                       "(crustsolve.response.pairing)."})


#: The ``[pairing]`` table of run files, built from :data:`REGISTRY` at import.
GapConfig = config_class(REGISTRY)
