"""Mean fields of one crust layer on the periodic grid, and their HDF5 file format.

The single-neutron Hamiltonian (``docs/physics/crust-superfluidity.md``, "Band structure")

    h = -∇·B(r)∇ + U(r) - (i/2){I(r), ∇},      B = ħ²/2m⊕_n(r),

needs three fields; a fourth, the local pairing field Δ(r), is carried for the response
stage. All arrays are replicated on every rank and indexed ``[ix, iy, iz]`` at
r = (ix, iy, iz)·a/n (see :mod:`crustsolve.bands.grid`).

===========  ==================  ========  =====================================================
name         shape               unit      meaning
===========  ==================  ========  =====================================================
``U``        (n, n, n)           MeV       central mean field U_n(r)
``B``        (n, n, n)           MeV fm²   ħ²/2m⊕_n(r) = ∂E/∂τ_n; must be > 0 everywhere
``I``        (3, n, n, n)        MeV fm    current field I_n = ∂E/∂j_n = -2 Σ_q' C_nq' j_q'
                                           (Skyrme current field; j_q = Im Σ φ*∇φ in
                                           fm⁻⁴). Optional: None ≡ 0 (static ground state).
``Delta``    (n, n, n)           MeV       local pairing field Δ_n(r) (real or complex);
                                           optional, not used in h.
===========  ==================  ========  =====================================================

Values must lie in :data:`VALUE_LIMITS` (nuclear mean fields are tens of MeV; the limits
leave room for test potentials and keep every matrix element far from overflow). The file
format is documented in ``docs/field-file-schema.md``; every field dataset carries a SHA-256
checksum of its values, verified on reading (files written before checksums existed are
read with :attr:`Fields.checksum_status` saying so).
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from typing import Mapping, Optional

import h5py
import numpy as np

from .. import __version__
from ..constants import HBAR2_2MN
from ..errors import InputError, check_choice, check_range
from ..parallel import on_root
from ..results import atomic_write

#: Identifier and version of the HDF5 field-file schema (docs/field-file-schema.md).
FILE_FORMAT = "crustsolve-fields"
FILE_VERSION = 1
UNITS = {"U": "MeV", "B": "MeV fm^2", "I": "MeV fm", "Delta": "MeV"}
#: Largest |value| accepted per field (units of :data:`UNITS`), and the largest cell side.
VALUE_LIMITS = {"U": 1e4, "B": 1e4, "I": 1e4, "Delta": 1e3}
MAX_CELL_SIDE = 1e4  # fm
#: Dataset attribute holding the checksum (hex SHA-256 of the little-endian values).
CHECKSUM_ATTR = "sha256"


def field_checksum(arr) -> str:
    """Hex SHA-256 of a field's values as little-endian float64 (complex128 if complex)."""
    a = np.asarray(arr)
    dtype = "<c16" if a.dtype.kind == "c" else "<f8"
    return hashlib.sha256(np.ascontiguousarray(a, dtype=dtype).tobytes()).hexdigest()


def _first_bad(mask: np.ndarray) -> str:
    idx = tuple(int(i) for i in np.argwhere(mask)[0])
    return f"{int(mask.sum())} point(s), first at index {idx}"


def _as_field(name: str, value, shape, *, allow_complex=False) -> np.ndarray:
    try:
        arr = np.array(value, copy=True)
    except Exception as exc:  # noqa: BLE001 - anything unconvertible is an input error
        raise InputError(f"field {name} cannot be read as an array: {exc}") from None
    if arr.dtype.kind == "c":
        if not allow_complex:
            if np.any(arr.imag != 0):
                raise InputError(f"field {name} must be real, got complex values")
            arr = arr.real
    elif arr.dtype.kind not in "iuf":
        raise InputError(f"field {name} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.complex128 if arr.dtype.kind == "c" else np.float64)
    if arr.shape != shape:
        raise InputError(f"field {name} has shape {arr.shape}, expected {shape}")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"field {name} contains NaN or infinite values at {_first_bad(bad)}")
    limit = VALUE_LIMITS[name]
    big = np.abs(arr) > limit
    if big.any():
        raise InputError(f"field {name} has |values| up to {np.abs(arr).max():.3g} "
                         f"{UNITS[name]} at {_first_bad(big)}; the allowed range is "
                         f"[-{limit:g}, {limit:g}] {UNITS[name]}")
    arr.flags.writeable = False
    return arr


@dataclasses.dataclass(frozen=True, eq=False)  # arrays: no elementwise __eq__/__hash__
class Fields:
    """Frozen container of the mean fields (replicated numpy arrays, read-only).

    ``a`` is the cube side (fm); ``n`` (points per side) is taken from ``U``.
    ``provenance`` is a mapping of strings (source code, functional, layer, ...).
    Construction validates everything and raises :class:`InputError` naming the field
    and the problem (shape, non-cubic grid, NaN/inf, B ≤ 0, a ≤ 0).
    """

    U: np.ndarray
    B: np.ndarray
    a: float
    I: Optional[np.ndarray] = None  # noqa: E741 - the physics name of the field
    Delta: Optional[np.ndarray] = None
    provenance: Mapping[str, str] = dataclasses.field(default_factory=dict)
    #: How the values were checked when read from a file ("" when built in memory).
    checksum_status: str = dataclasses.field(default="", compare=False)

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "a", check_range("cell side a", self.a, lo=0.0, hi=MAX_CELL_SIDE,
                                    lo_open=True, unit="fm"))
        shape = np.shape(self.U)
        if len(shape) != 3:
            raise InputError(f"field U must be a 3D array (n, n, n), got shape {shape}")
        if not (shape[0] == shape[1] == shape[2]):
            raise InputError(f"field U is on a non-cubic grid {shape}; crustsolve needs n×n×n")
        n = shape[0]
        if n < 2:
            raise InputError(f"field U has n = {n} points per side; at least 2 are needed")
        cube = (n, n, n)
        set_(self, "U", _as_field("U", self.U, cube))
        B = _as_field("B", self.B, cube)
        if np.any(B <= 0):
            raise InputError(
                f"field B = ħ²/2m⊕ must be > 0 everywhere; min B = {B.min():g} MeV fm², "
                f"B ≤ 0 at {_first_bad(B <= 0)}")
        set_(self, "B", B)
        if self.I is not None:
            set_(self, "I", _as_field("I", self.I, (3,) + cube))
        if self.Delta is not None:
            set_(self, "Delta", _as_field("Delta", self.Delta, cube, allow_complex=True))
        prov = {}
        for key, val in dict(self.provenance or {}).items():
            prov[str(key)] = str(val)
        set_(self, "provenance", prov)

    # --------------------------------------------------------------- basics
    @property
    def n(self) -> int:
        """Grid points per side."""
        return int(self.U.shape[0])

    @property
    def h(self) -> float:
        """Grid spacing a/n in fm."""
        return self.a / self.n

    @property
    def has_current(self) -> bool:
        """True when a current field I is present and not identically zero."""
        return self.I is not None and bool(np.any(self.I != 0))

    def replace(self, **changes) -> "Fields":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------- constructors
    @staticmethod
    def _axis(n, a):
        n = int(check_range("grid points per side n", n, lo=2))
        a = check_range("cell side a", a, lo=0.0, lo_open=True, unit="fm")
        return n, a, np.arange(n) * (a / n)

    @classmethod
    def uniform(cls, n: int, a: float, U0: float = 0.0, B0: float = HBAR2_2MN, **kw) -> "Fields":
        """Constant U = U0 (MeV) and B = B0 (MeV fm², default ħ²/2m_n): the empty lattice."""
        n, a, _ = cls._axis(n, a)
        U0 = check_range("U0", U0, unit="MeV")
        B0 = check_range("B0", B0, lo=0.0, lo_open=True, unit="MeV fm^2")
        prov = {"source": "Fields.uniform", "U0_MeV": repr(U0), "B0_MeV_fm2": repr(B0)}
        return cls(U=np.full((n,) * 3, U0), B=np.full((n,) * 3, B0), a=a,
                   provenance={**prov, **kw.pop("provenance", {})}, **kw)

    @classmethod
    def separable_cosine(cls, n: int, a: float, V: float, B0: float = HBAR2_2MN,
                         **kw) -> "Fields":
        """U = V Σ_d cos(2π x_d/a) (MeV), constant B = B0: a separable 3D Mathieu potential.

        Its 3D spectrum is a sum of three 1D spectra (``reference.cosine_1d_bands``).
        """
        n, a, x = cls._axis(n, a)
        V = check_range("V", V, unit="MeV")
        B0 = check_range("B0", B0, lo=0.0, lo_open=True, unit="MeV fm^2")
        c = V * np.cos(2.0 * np.pi * x / a)
        U = c[:, None, None] + c[None, :, None] + c[None, None, :]
        prov = {"source": "Fields.separable_cosine", "V_MeV": repr(V), "B0_MeV_fm2": repr(B0)}
        return cls(U=U, B=np.full((n,) * 3, B0), a=a,
                   provenance={**prov, **kw.pop("provenance", {})}, **kw)

    @classmethod
    def gaussian_wells(cls, n: int, a: float, depth: float, radius: float,
                       lattice: str = "bcc", B0: float = HBAR2_2MN, **kw) -> "Fields":
        """Periodic Gaussian wells U = -depth Σ_{sites, T} exp(-|r - R - T|²/radius²) (MeV).

        Sites of the conventional cube: sc (0, 0, 0); bcc adds (a/2)(1, 1, 1); fcc adds
        (a/2)(0, 1, 1), (a/2)(1, 0, 1), (a/2)(1, 1, 0). These are grid points only for even n
        (required, so the grid keeps O_h and the centring translations). Periodic images T
        are summed until exp(-36) ≈ 2e-16. ``depth`` > 0 is an attractive well (MeV),
        ``radius`` in fm. Constant B = B0.
        """
        n, a, x = cls._axis(n, a)
        check_choice("lattice", lattice, ("bcc", "fcc", "sc"))
        depth = check_range("depth", depth, unit="MeV")
        radius = check_range("radius", radius, lo=0.0, lo_open=True, unit="fm")
        B0 = check_range("B0", B0, lo=0.0, lo_open=True, unit="MeV fm^2")
        sites = [(0.0, 0.0, 0.0)]
        if lattice != "sc":
            if n % 2:
                raise InputError(f"a {lattice} lattice needs an even number of grid points per "
                                 f"side (sites at a/2 on grid points), got n = {n}")
            half = a / 2
            sites += ([(half,) * 3] if lattice == "bcc" else
                      [(0.0, half, half), (half, 0.0, half), (half, half, 0.0)])
        nimg = int(math.ceil(6.0 * radius / a)) + 1
        images = np.arange(-nimg, nimg + 1) * a
        U = np.zeros((n,) * 3)
        for site in sites:
            # Separable: exp(-|r|²/ρ²) = Π_d exp(-x_d²/ρ²), each a sum over 1D images.
            g = [np.exp(-((x[:, None] - s - images[None, :]) / radius) ** 2).sum(axis=1)
                 for s in site]
            U -= depth * g[0][:, None, None] * g[1][None, :, None] * g[2][None, None, :]
        prov = {"source": "Fields.gaussian_wells", "lattice": lattice, "depth_MeV": repr(depth),
                "radius_fm": repr(radius), "B0_MeV_fm2": repr(B0)}
        return cls(U=U, B=np.full((n,) * 3, B0), a=a,
                   provenance={**prov, **kw.pop("provenance", {})}, **kw)

    # ----------------------------------------------------------------- I/O
    def write(self, path, comm=None) -> None:
        """Write the fields to an HDF5 file (schema: docs/field-file-schema.md).

        Only rank 0 of ``comm`` writes (default: the calling process writes), to a temporary
        file renamed at the end; collective when ``comm`` is given, and a failure on rank 0
        is raised on every rank.
        """
        on_root(comm, self._write, path, bcast_result=False)

    def _write(self, path) -> None:
        try:
            atomic_write(path, self._fill)
        except Exception as exc:  # noqa: BLE001 - h5py/OS errors are the user's to fix
            raise InputError(f"cannot write field file {str(path)!r}: {exc}") from None

    def _fill(self, path) -> None:
        with h5py.File(path, "w") as f:
            f.attrs["format"] = FILE_FORMAT
            f.attrs["version"] = FILE_VERSION
            f.attrs["cell_side_fm"] = self.a
            f.attrs["grid_points"] = self.n
            f.attrs["index_order"] = "ix,iy,iz; r = (ix,iy,iz)*a/n"
            f.attrs["writer"] = f"crustsolve {__version__}"
            for name in ("U", "B", "I", "Delta"):
                arr = getattr(self, name)
                if arr is not None:
                    ds = f.create_dataset(name, data=arr)
                    ds.attrs["units"] = UNITS[name]
                    ds.attrs[CHECKSUM_ATTR] = field_checksum(arr)
            prov = f.create_group("provenance")
            for key, val in self.provenance.items():
                prov.attrs[key] = val

    @classmethod
    def read(cls, path, comm=None) -> "Fields":
        """Read and validate a field file.

        With ``comm`` (collective), rank 0 reads and validates and broadcasts the arrays
        or the error, so every rank returns the same Fields or raises the same InputError.
        """
        payload = on_root(comm, cls._read_validated, path, bcast_result=False)
        if comm is not None and comm.size > 1:
            payload = _bcast_payload(comm, payload)  # arrays by buffer, not pickled
        return cls(**payload)

    @classmethod
    def _read_validated(cls, path) -> dict:
        """Rank 0: the payload of a field file, validated (InputError otherwise)."""
        try:
            _check_readable(path)
            payload = cls._read_payload(path)
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - h5py/OS errors become input errors
            raise InputError(f"cannot read field file {str(path)!r}: {exc}") from None
        mismatched = payload.pop("_mismatched")
        cls(**payload)  # validate before broadcasting: a bad value is named first
        if mismatched:
            raise InputError(
                f"field {', '.join(mismatched)} in {str(path)!r} does not match its stored "
                "SHA-256 checksum: the file is corrupted (write it again, e.g. with "
                "crustsolve layer)")
        return payload

    @staticmethod
    def _read_payload(path) -> dict:
        with h5py.File(path, "r") as f:
            fmt = f.attrs.get("format")
            if isinstance(fmt, bytes):
                fmt = fmt.decode()
            if fmt != FILE_FORMAT:
                raise InputError(f"{str(path)!r} is not a crustsolve field file "
                                 f"(attribute format = {fmt!r}, expected {FILE_FORMAT!r})")
            version = int(f.attrs.get("version", -1))
            if version != FILE_VERSION:
                raise InputError(f"field file {str(path)!r} has schema version {version}; "
                                 f"this crustsolve reads version {FILE_VERSION}")
            if "cell_side_fm" not in f.attrs:
                raise InputError(f"field file {str(path)!r} lacks the attribute cell_side_fm")
            payload = {"a": float(f.attrs["cell_side_fm"])}
            for name in ("U", "B"):
                if name not in f:
                    raise InputError(f"field file {str(path)!r} lacks the dataset {name}")
            checked, unchecked, mismatched = [], [], []
            for name in ("U", "B", "I", "Delta"):
                if name in f:
                    ds = f[name]
                    units = ds.attrs.get("units")
                    if isinstance(units, bytes):
                        units = units.decode()
                    if units != UNITS[name]:
                        raise InputError(f"field {name} in {str(path)!r} has units {units!r}, "
                                         f"expected {UNITS[name]!r}")
                    payload[name] = ds[()]
                    stored = ds.attrs.get(CHECKSUM_ATTR)
                    if stored is None:
                        unchecked.append(name)
                        continue
                    stored = stored.decode() if isinstance(stored, bytes) else str(stored)
                    (checked if stored == field_checksum(payload[name]) else mismatched
                     ).append(name)
            payload["_mismatched"] = mismatched
            payload["checksum_status"] = (
                f"sha256 verified ({', '.join(checked)})" if not unchecked else
                f"no checksum for {', '.join(unchecked)}: written before crustsolve stored "
                "checksums; integrity not verified")
            n_attr = f.attrs.get("grid_points")
            if n_attr is not None and np.shape(payload["U"])[:1] != (int(n_attr),):
                raise InputError(f"field file {str(path)!r}: grid_points = {int(n_attr)} does "
                                 f"not match field U of shape {np.shape(payload['U'])}")
            prov = {}
            if "provenance" in f:
                for key, val in f["provenance"].attrs.items():
                    prov[key] = val.decode() if isinstance(val, bytes) else str(val)
            payload["provenance"] = prov
        return payload


def _check_readable(path) -> None:
    """Plain-language errors for the usual reasons a field file cannot be opened."""
    name = str(path)
    if not os.path.exists(name):
        raise InputError(f"cannot read field file {name!r}: no such file")
    if os.path.isdir(name):
        raise InputError(f"cannot read field file {name!r}: it is a directory")
    if not os.access(name, os.R_OK):
        raise InputError(f"cannot read field file {name!r}: permission denied")
    if not h5py.is_hdf5(name):
        raise InputError(f"cannot read field file {name!r}: not an HDF5 file")


def _bcast_payload(comm, payload):
    """Broadcast the (validated) payload of rank 0: metadata by pickle, arrays by buffer."""
    meta = None
    if comm.rank == 0:
        meta = {k: ((v.shape, v.dtype.str) if isinstance(v, np.ndarray) else v)
                for k, v in payload.items()}
    meta = comm.bcast(meta, root=0)
    out = {}
    for key, val in meta.items():
        if key in ("U", "B", "I", "Delta"):
            shape, dtype = val
            buf = np.ascontiguousarray(payload[key]) if comm.rank == 0 else np.empty(shape, dtype)
            comm.Bcast(buf, root=0)
            out[key] = buf
        else:
            out[key] = val
    return out
