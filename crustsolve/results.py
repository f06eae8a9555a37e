"""HDF5 results with provenance, and per-item checkpoints for restartable runs.

Layout conventions (every stage follows them; documented in ``docs/results-files.md``):

* root attributes ``crustsolve_version``, ``created``, ``command``, and JSON strings
  ``config`` (the fully resolved configuration), ``versions`` (Python, numpy,
  h5py, PETSc, SLEPc, petsc4py, slepc4py, mpi4py, MPI library, scalar type, index
  size), ``layout`` (communicator layout) and ``timings``;
* every dataset carries a ``units`` attribute (MeV, fm, fm^-3, 1 …);
* per-item results of long loops (k-points, densities) live in groups
  ``<group>/<key>`` written idempotently; a group is complete only when its
  ``complete`` attribute is true, so an interrupted run resumes at the first
  incomplete item (:class:`Checkpoint`).

Only rank 0 opens files for writing; other ranks call the same functions and do
nothing, then take part in the broadcasts that keep every rank's view identical (an error
on rank 0 is raised on every rank, :func:`crustsolve.parallel.on_root`).

Outputs are protected before anything is computed (:func:`prepare_outputs`, collective):
an output path must not be an input, a directory, a missing directory or named twice, and
an existing file is replaced only when it holds results of the same configuration (its
stored ``identity``) unless the user passed ``--overwrite``. Files are then written to a
temporary file in the same directory and renamed (:func:`atomic_write`), so a failing run
never leaves a truncated file under the final name.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime
import importlib.util
import json
import os
import platform
import sys
import tempfile
from typing import Optional

import h5py
import mpi4py
import numpy as np
import scipy
from mpi4py import MPI

from . import __version__
from .errors import InputError
from .parallel import describe_os_error, on_root
from .petsc_env import build_info

#: Image formats a plot may be written in (matplotlib's Agg backend, by file suffix).
IMAGE_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps", ".ps", ".tif", ".tiff",
                  ".webp")
#: First bytes of the image formats crustsolve writes (an existing plot may be replaced).
_IMAGE_MAGIC = (b"\x89PNG", b"%PDF", b"<?xml", b"<svg", b"\xff\xd8", b"%!PS", b"II*\x00",
                b"MM\x00*", b"RIFF")
#: First bytes of the CSV tables crustsolve writes.
_TABLE_MAGIC = b"# crustsolve"
#: How the user allows an existing file of another configuration to be replaced.
OVERWRITE_FLAG = "--overwrite"


def software_versions() -> dict:
    """Versions of the software stack; PETSc entries only if PETSc is already initialised."""
    out = {
        "crustsolve": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "scipy": scipy.__version__,
    }
    if "petsc4py.PETSc" in sys.modules:
        out.update(build_info())
    else:
        out["mpi4py_version"] = mpi4py.__version__
        out["mpi_library"] = MPI.Get_library_version().replace("\x00", "").strip().splitlines()[0]
    return out


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def petsc_options_in_use() -> Optional[dict]:
    """The PETSc options database ({name: value}) if PETSc is initialised, else None."""
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is None:
        return None
    return {str(k): (None if v is None else str(v)) for k, v in petsc.Options().getAll().items()}


def provenance_attrs(config: dict, layout=None, timings=None, identity=None) -> dict:
    """Root attributes describing how a result was made (strings and JSON strings).

    ``layout`` may be a :class:`crustsolve.parallel.Layout` (its ``describe()`` is
    stored) or a dict; ``timings`` a dict or a :class:`crustsolve.log.Timings`;
    ``identity`` what decides the numbers (:func:`prepare_outputs` compares it before
    replacing the file). ``petsc_options`` records the PETSc options database when PETSc
    is initialised (command line and run-file ``[petsc]`` entries).
    """
    if layout is not None and hasattr(layout, "describe"):
        layout = layout.describe()
    if timings is not None and hasattr(timings, "as_dict"):
        timings = timings.as_dict()
    extra = {}
    if identity is not None:
        extra["identity"] = identity_json(identity)
    options = petsc_options_in_use()
    if options is not None:
        extra["petsc_options"] = json.dumps(options, sort_keys=True)
    return {**extra,
        "crustsolve_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
        "hostname": platform.node(),
        "config": json.dumps(_jsonable(config or {}), sort_keys=True),
        "versions": json.dumps(_jsonable(software_versions()), sort_keys=True),
        "layout": json.dumps(_jsonable(layout or {}), sort_keys=True),
        "timings": json.dumps(_jsonable(timings or {}), sort_keys=True),
        "units": "MeV, fm, fm^-3",
    }


def write_results(path, comm, datasets: dict, config: dict, layout=None, timings=None,
                  mode: str = "w", identity=None) -> None:
    """Write ``datasets`` = {"group/name": (array, units)} plus provenance, on rank 0.

    With ``mode='w'`` the file is written to a temporary file in the same directory and
    renamed (:func:`atomic_write`), so a crash never leaves a half-written result under the
    final name; ``mode='a'`` adds to an existing file in place. Collective: all ranks call
    it; rank 0 writes; an error is raised on every rank. ``identity``: see
    :func:`provenance_attrs` (call :func:`prepare_outputs` first to protect existing files).
    """
    target = str(path)
    attrs = provenance_attrs(config, layout, timings, identity) if (
        comm is None or comm.rank == 0) else None

    def fill(name):
        with h5py.File(name, mode) as fh:
            for key, value in attrs.items():
                fh.attrs[key] = value
            for dname, (data, units) in datasets.items():
                if dname in fh:
                    del fh[dname]
                dset = fh.create_dataset(dname, data=np.asarray(data))
                dset.attrs["units"] = units

    def write():
        try:
            if mode == "w":
                atomic_write(target, fill)
            else:
                fill(target)
        except OSError as exc:
            raise InputError(f"cannot write results file {target!r}: "
                             f"{describe_os_error(exc)}") from None

    on_root(comm, write, bcast_result=False)


# ---------------------------------------------------------------------------------------------
# Protecting outputs
# ---------------------------------------------------------------------------------------------

def atomic_write(path, writer) -> None:
    """Call ``writer(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    The temporary file is hidden (``.<name>.<random>.tmp<suffix>``: the suffix is kept so
    writers that choose the format from it, like matplotlib, still work) and removed if the
    writer fails. Rank-local: call it on the rank that writes.
    """
    path = str(path)
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{base}.",
                               suffix=".tmp" + os.path.splitext(base)[1])
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_atomically(comm, path, writer, what: str) -> None:
    """Collective :func:`atomic_write` on rank 0; an error is raised on every rank."""
    def write():
        try:
            atomic_write(path, writer)
        except OSError as exc:
            raise InputError(f"cannot write {what} {str(path)!r}: "
                             f"{describe_os_error(exc)}") from None

    on_root(comm, write, bcast_result=False)


def identity_json(identity) -> str:
    """Canonical JSON of an identity (sorted keys), as stored in the ``identity`` attribute."""
    return json.dumps(_jsonable(identity), sort_keys=True)


def run_identity(config: dict, petsc_options=None, ignore=("output", "plot")) -> dict:
    """What decides the numbers of a main-job run: the resolved configuration without the
    output names, plus the command-line PETSc options (``petsc_command_line``) when any
    were given. Store ``identity_json(run_identity(...))`` when a run starts and compare
    it on resume (:func:`identity_difference`)."""
    out = {k: v for k, v in _jsonable(config).items() if k not in ignore}
    if petsc_options:
        out["petsc_command_line"] = _jsonable(dict(petsc_options))
    return out


def identity_difference(old, new, prefix: str = "") -> Optional[str]:
    """The first difference between two identities (``"key: A there, B now"``), or None."""
    old, new = _jsonable(old), _jsonable(new)
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in old:
                return f"{where}: absent there, {new[key]!r} now"
            if key not in new:
                return f"{where}: {old[key]!r} there, absent now"
            diff = identity_difference(old[key], new[key], where)
            if diff:
                return diff
        return None
    both_nan = isinstance(old, float) and isinstance(new, float) and old != old and new != new
    if old != new and not both_nan:
        return f"{prefix or 'value'}: {old!r} there, {new!r} now"
    return None


@dataclasses.dataclass(frozen=True)
class Output:
    """One file a command will write, for :func:`prepare_outputs`.

    ``option`` names it in messages (``"--out"``); ``kind`` is ``"results"`` (HDF5 with a
    stored identity), ``"fields"`` (a field file), ``"table"`` (CSV written by crustsolve)
    or ``"image"`` (a plot; ``table_magic``: how such a table starts); ``identity`` is compared with the one stored in an existing
    file (attribute ``identity_attr`` at the root or in its ``provenance`` group). With
    ``identity`` None an existing crustsolve file passes (the caller checks again once the
    identity is known); any other existing file is still refused.
    """

    option: str
    path: Optional[str]
    kind: str = "results"
    identity: Optional[dict] = None
    identity_attr: str = "identity"
    #: First bytes that mark a table as crustsolve's (an existing one may be replaced).
    table_magic: bytes = _TABLE_MAGIC


def prepare_outputs(comm, outputs, *, inputs: Optional[dict] = None,
                    overwrite: bool = False) -> None:
    """Check every output of a command before anything is computed (collective).

    ``outputs`` is a list of :class:`Output` (those with ``path`` None are skipped);
    ``inputs`` maps option names to the files the command reads. Refused, with the option
    and the path named: an empty name, a directory, a missing or read-only directory, an
    image suffix matplotlib cannot write, two outputs naming the same file, an output that
    is one of the inputs, and an existing file that is not crustsolve's output of the same
    configuration (unless ``overwrite``). Rank 0 checks; every rank raises the same
    :class:`InputError`.
    """
    outputs = [o for o in outputs if o.path is not None]
    on_root(comm, _check_outputs, outputs, dict(inputs or {}), bool(overwrite),
            bcast_result=False)


def _check_outputs(outputs, inputs, overwrite) -> None:
    seen = {}
    for out in outputs:
        path = str(out.path)
        if not path.strip():
            raise InputError(f"{out.option}: an empty string is not a file name")
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(f"{seen[real]} and {out.option} name the same file {path!r}; "
                             "a file cannot be written twice")
        seen[real] = out.option
        for opt, src in inputs.items():
            if src is not None and _same_file(path, str(src)):
                raise InputError(f"{out.option} {path!r} is the same file as the input {opt} "
                                 f"{str(src)!r}; writing it would destroy the input")
        if os.path.isdir(path):
            raise InputError(f"{out.option} {path!r} is a directory; give a file name")
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise InputError(f"{out.option} {path!r}: the directory "
                             f"{os.path.dirname(path) or directory!r} does not exist")
        if not os.access(directory, os.W_OK | os.X_OK):
            raise InputError(f"{out.option} {path!r}: the directory "
                             f"{os.path.dirname(path) or directory!r} is not writable")
        if out.kind == "image":
            if importlib.util.find_spec("matplotlib") is None:
                raise InputError(f"{out.option} {path!r}: plots need matplotlib, which is not "
                                 "installed (pip install matplotlib), or leave out the option")
            suffix = os.path.splitext(path)[1].lower()
            if suffix not in IMAGE_SUFFIXES:
                raise InputError(f"{out.option} {path!r}: unknown image format "
                                 f"{suffix or '(no suffix)'!r}; use one of "
                                 f"{', '.join(IMAGE_SUFFIXES)}")
        if os.path.lexists(path) and not overwrite:
            problem = _existing_problem(out, path)
            if problem:
                raise InputError(f"{out.option} {path!r} {problem}; choose another file name, "
                                 f"or pass {OVERWRITE_FLAG} to replace it")


def check_resume(comm, path, identity, *, attr: str = "run_config",
                 option: str = "--resume") -> None:
    """Refuse (collectively) to resume from ``path`` unless it is a crustsolve results file
    whose stored identity (attribute ``attr``) equals ``identity``; the message names the
    first difference. Rank 0 reads; every rank raises the same :class:`InputError`."""
    def check():
        name = str(path)
        if not os.path.exists(name):
            raise InputError(f"{option}: no results file {name!r} to resume from")
        if os.path.isdir(name):
            raise InputError(f"{option}: {name!r} is a directory, not a results file")
        status, stored = read_identity(name, attr)
        if status == "not-hdf5":
            raise InputError(f"{option}: {name!r} is not an HDF5 results file")
        if status != "ok":
            raise InputError(f"{option}: {name!r} records no configuration to resume "
                             "(not written by this command)")
        diff = identity_difference(stored, identity)
        if diff:
            raise InputError(f"{option}: the configuration differs from the one that started "
                             f"{name!r} ({diff}); resume with the same run file, flags and "
                             "PETSc options, or start a new run")

    on_root(comm, check, bcast_result=False)


def start_results_file(comm, path, identity, *, attr: str = "run_config") -> None:
    """Create ``path`` holding only ``identity`` (attribute ``attr``), replacing any old file
    in one rename (collective; call :func:`prepare_outputs` first). Checkpoints are then
    added to it as the run goes (:class:`Checkpoint`)."""
    def fill(name):
        with h5py.File(name, "w") as fh:
            fh.attrs[attr] = identity_json(identity)

    write_atomically(comm, path, fill, "results file")


def _same_file(a: str, b: str) -> bool:
    if os.path.exists(a) and os.path.exists(b):
        try:
            return os.path.samefile(a, b)
        except OSError:
            pass
    return os.path.realpath(a) == os.path.realpath(b)


def read_identity(path, attr: str = "identity"):
    """The identity stored in an HDF5 file (root or ``provenance`` attribute), decoded.

    Returns ``(status, identity)`` with status ``"ok"``, ``"missing"`` (a crustsolve file
    without one), ``"foreign"`` (HDF5 not written by crustsolve) or ``"not-hdf5"``.
    """
    try:
        fh = h5py.File(path, "r")
    except OSError:
        return "not-hdf5", None
    with fh:
        places = [fh.attrs]
        if "provenance" in fh and isinstance(fh["provenance"], h5py.Group):
            places.append(fh["provenance"].attrs)
        for attrs in places:
            if attr in attrs:
                raw = attrs[attr]
                raw = raw.decode() if isinstance(raw, bytes) else str(raw)
                try:
                    return "ok", json.loads(raw)
                except ValueError:
                    return "missing", None
        ours = "crustsolve_version" in fh.attrs or "format" in fh.attrs or "run_config" in fh.attrs
        return ("missing" if ours else "foreign"), None


def _existing_problem(out: Output, path: str) -> Optional[str]:
    """Why an existing file must not be replaced silently (None: it may be)."""
    if not os.path.isfile(path):
        return "exists and is not a regular file"
    if out.kind == "image":
        with open(path, "rb") as fh:
            head = fh.read(8)
        return None if head.startswith(_IMAGE_MAGIC) else "exists and is not an image"
    if out.kind == "table":
        with open(path, "rb") as fh:
            head = fh.read(len(out.table_magic))
        return (None if head == out.table_magic
                else "exists and is not a table written by crustsolve")
    status, stored = read_identity(path, out.identity_attr)
    if out.identity is None and status in ("ok", "missing"):
        return None  # identity not known yet: the caller checks again with it
    if status == "not-hdf5":
        return "exists and is not an HDF5 file"
    if status == "foreign":
        return "exists and was not written by crustsolve"
    if status == "missing":
        return ("exists and records no configuration to compare with (written by another "
                "command or an older crustsolve)")
    diff = identity_difference(stored, out.identity)
    if diff:
        return f"holds results of a different configuration ({diff})"
    return None


def read_provenance(path) -> dict:
    """Root attributes of a results file with JSON strings decoded."""
    out = {}
    with h5py.File(path, "r") as fh:
        for key, value in fh.attrs.items():
            if isinstance(value, bytes):
                value = value.decode()
            if key in ("config", "versions", "layout", "timings"):
                value = json.loads(value)
            out[key] = value
    return out


class Checkpoint:
    """Per-item results in ``<path>:/<group>/<key>`` for restartable loops.

    ``completed()`` lists keys whose group has ``complete = True`` (read on rank 0,
    broadcast). ``save(key, arrays)`` writes one item idempotently (rank 0) and marks
    it complete last, so a crash during the write leaves it incomplete. ``load(key)``
    returns the arrays on every rank.
    """

    def __init__(self, path, comm=None, group: str = "items"):
        self.path = str(path)
        self.comm = comm
        self.group = group

    def _read_completed(self) -> list:
        if not os.path.exists(self.path):
            return []
        try:
            fh = h5py.File(self.path, "r")
        except OSError:
            raise InputError(f"checkpoint file {self.path!r} is not an HDF5 file") from None
        with fh:
            grp = fh.get(self.group)
            if grp is None:
                return []
            return sorted(k for k, g in grp.items() if bool(g.attrs.get("complete", False)))

    def completed(self) -> list:
        """Keys of the complete items (rank 0 reads; every rank gets the list)."""
        return on_root(self.comm, self._read_completed)

    def _write(self, key, arrays, attrs) -> None:
        with h5py.File(self.path, "a") as fh:
            name = f"{self.group}/{key}"
            if name in fh:
                del fh[name]
            grp = fh.create_group(name)
            for aname, (data, units) in arrays.items():
                dset = grp.create_dataset(aname, data=np.asarray(data))
                dset.attrs["units"] = units
            for aname, value in (attrs or {}).items():
                grp.attrs[aname] = value
            grp.attrs["complete"] = True
            fh.flush()

    def save(self, key, arrays: dict, attrs: dict | None = None) -> None:
        """Write one item (rank 0), marked complete last; collective."""
        on_root(self.comm, self._write, key, arrays, attrs, bcast_result=False)

    def _read(self, key) -> dict:
        with h5py.File(self.path, "r") as fh:
            grp = fh[f"{self.group}/{key}"]
            return {name: ds[()] for name, ds in grp.items()}

    def load(self, key) -> dict:
        """The arrays of one item on every rank."""
        return on_root(self.comm, self._read, key)
