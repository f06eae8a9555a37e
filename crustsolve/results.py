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
nothing, then take part in the broadcasts that keep every rank's view identical.
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import sys

import numpy as np

from . import __version__


def software_versions() -> dict:
    """Versions of the software stack; PETSc entries only if PETSc is already initialised."""
    import h5py  # noqa: PLC0415

    out = {
        "crustsolve": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
    }
    try:
        import scipy  # noqa: PLC0415
        out["scipy"] = scipy.__version__
    except ImportError:  # pragma: no cover
        pass
    if "petsc4py.PETSc" in sys.modules:
        from .petsc_env import build_info  # noqa: PLC0415
        out.update(build_info())
    else:
        try:
            from mpi4py import MPI  # noqa: PLC0415
            import mpi4py  # noqa: PLC0415
            out["mpi4py_version"] = mpi4py.__version__
            out["mpi_library"] = MPI.Get_library_version().replace("\x00", "").strip().splitlines()[0]
        except ImportError:  # pragma: no cover
            pass
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


def provenance_attrs(config: dict, layout=None, timings=None) -> dict:
    """Root attributes describing how a result was made (strings and JSON strings).

    ``layout`` may be a :class:`crustsolve.parallel.Layout` (its ``describe()`` is
    stored) or a dict; ``timings`` a dict or a :class:`crustsolve.log.Timings`.
    """
    if layout is not None and hasattr(layout, "describe"):
        layout = layout.describe()
    if timings is not None and hasattr(timings, "as_dict"):
        timings = timings.as_dict()
    return {
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
                  mode: str = "w") -> None:
    """Write ``datasets`` = {"group/name": (array, units)} plus provenance, on rank 0.

    The file is written to ``path + '.tmp'`` and renamed, so a crash never leaves a
    half-written result under the final name (``mode='w'``). Collective: all ranks
    call it; rank 0 writes; a barrier follows.
    """
    import h5py  # noqa: PLC0415

    err = None
    if comm is None or comm.rank == 0:
        target = str(path)
        tmp = target + ".tmp" if mode == "w" else target
        try:
            with h5py.File(tmp, mode) as fh:
                for key, value in provenance_attrs(config, layout, timings).items():
                    fh.attrs[key] = value
                for name, (data, units) in datasets.items():
                    if name in fh:
                        del fh[name]
                    dset = fh.create_dataset(name, data=np.asarray(data))
                    dset.attrs["units"] = units
            if tmp != target:
                os.replace(tmp, target)
        except OSError as exc:
            err = f"cannot write results file {target!r}: {exc}"
    if comm is not None:
        err = comm.bcast(err, root=0)
    if err:
        from .errors import CrustsolveError  # noqa: PLC0415
        raise CrustsolveError(err)


def read_provenance(path) -> dict:
    """Root attributes of a results file with JSON strings decoded."""
    import h5py  # noqa: PLC0415

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

    def _root(self) -> bool:
        return self.comm is None or self.comm.rank == 0

    def _bcast(self, obj):
        return obj if self.comm is None else self.comm.bcast(obj, root=0)

    def completed(self) -> list:
        import h5py  # noqa: PLC0415

        keys = []
        if self._root() and os.path.exists(self.path):
            with h5py.File(self.path, "r") as fh:
                grp = fh.get(self.group)
                if grp is not None:
                    keys = sorted(k for k, g in grp.items() if bool(g.attrs.get("complete", False)))
        return self._bcast(keys)

    def save(self, key, arrays: dict, attrs: dict | None = None) -> None:
        import h5py  # noqa: PLC0415

        if self._root():
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
        if self.comm is not None:
            self.comm.Barrier()

    def load(self, key) -> dict:
        import h5py  # noqa: PLC0415

        data = None
        if self._root():
            with h5py.File(self.path, "r") as fh:
                grp = fh[f"{self.group}/{key}"]
                data = {name: ds[()] for name, ds in grp.items()}
        return self._bcast(data)
