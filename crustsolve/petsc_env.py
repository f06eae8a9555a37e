"""Locate, initialise and check a *complex* PETSc/SLEPc build.

crustsolve needs complex scalars (Bloch Hamiltonians are complex Hermitian). This
module is the only place that imports petsc4py/slepc4py for the first time:

* when ``PETSC_DIR``/``SLEPC_DIR`` are unset it selects a complex build from the
  places Debian (and most packagers) install them, so ``crustsolve`` works from a
  plain shell;
* it passes command-line PETSc/SLEPc options (``-eps_*``, ``-st_*``, ``-bv_*``,
  ``-log_view`` …) to ``petsc4py.init``/``slepc4py.init``;
* it refuses a real-scalar build with a message that says how to fix it.
"""
from __future__ import annotations

import glob
import os
import sys

#: Where packaged complex builds live (Debian/Ubuntu layout first).
_COMPLEX_PETSC_GLOBS = (
    "/usr/lib/petscdir/petsc*/*-complex",
    "/usr/lib/petscdir/petsc-complex",
    "/usr/lib/petscdir/*/*-complex",
)
_COMPLEX_SLEPC_GLOBS = (
    "/usr/lib/slepcdir/slepc*/*-complex",
    "/usr/lib/slepcdir/slepc-complex",
    "/usr/lib/slepcdir/*/*-complex",
)


class PetscBuildError(RuntimeError):
    """PETSc/SLEPc missing, or built with real scalars."""


def _first_existing(patterns):
    for pat in patterns:
        for path in sorted(glob.glob(pat), reverse=True):
            if os.path.isdir(path):
                return os.path.realpath(path)
    return None


def select_complex_build(environ=None) -> dict:
    """Point PETSC_DIR/SLEPC_DIR at a complex build if the user did not choose one.

    Returns a dict describing the choice (``petsc_dir``, ``slepc_dir``, ``source``:
    ``"environment"`` or ``"auto"``). Python paths of the selected builds are put
    first on ``sys.path`` so their petsc4py/slepc4py win over any other copy.
    """
    env = os.environ if environ is None else environ
    choice = {"source": "environment"}
    if not env.get("PETSC_DIR"):
        found = _first_existing(_COMPLEX_PETSC_GLOBS)
        if found:
            env["PETSC_DIR"] = found
            env.pop("PETSC_ARCH", None)
            choice["source"] = "auto"
    if not env.get("SLEPC_DIR"):
        found = _first_existing(_COMPLEX_SLEPC_GLOBS)
        if found:
            env["SLEPC_DIR"] = found
            choice["source"] = "auto"
    for var in ("SLEPC_DIR", "PETSC_DIR"):
        root = env.get(var)
        if root:
            arch = env.get("PETSC_ARCH", "") if var == "PETSC_DIR" else ""
            for cand in (os.path.join(root, arch, "lib", "python3", "dist-packages"),
                         os.path.join(root, "lib", "python3", "dist-packages")):
                if os.path.isdir(cand) and cand not in sys.path:
                    sys.path.insert(0, cand)
    choice["petsc_dir"] = env.get("PETSC_DIR")
    choice["slepc_dir"] = env.get("SLEPC_DIR")
    return choice


def init_petsc(argv=None):
    """Initialise petsc4py and slepc4py once and return ``(PETSc, SLEPc)``.

    ``argv`` is a list of PETSc/SLEPc options (e.g. ``["-eps_tol", "1e-10"]``);
    it only takes effect on the first call. Later calls return the same modules.
    Raises :class:`PetscBuildError` if the modules are missing or real-valued.
    """
    if "petsc4py.PETSc" in sys.modules and "slepc4py.SLEPc" in sys.modules:
        # PETSc is initialised once per process (by us or by the caller); later
        # options go into its options database.
        from petsc4py import PETSc  # noqa: PLC0415
        from slepc4py import SLEPc  # noqa: PLC0415

        require_complex(PETSc.ScalarType)
        if argv:
            _insert_options(PETSc.Options(), argv)
        return PETSc, SLEPc
    select_complex_build()
    try:
        import petsc4py  # noqa: PLC0415
        import slepc4py  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise PetscBuildError(
            "crustsolve needs petsc4py and slepc4py built with complex scalars "
            f"(import failed: {exc}). On Debian 12 run scripts/setup.sh; elsewhere set "
            "PETSC_DIR/PETSC_ARCH and SLEPC_DIR to a complex build (see README)."
        ) from exc
    args = [sys.argv[0] if sys.argv else "crustsolve"] + list(argv or [])
    petsc4py.init(args)
    slepc4py.init(args)
    from petsc4py import PETSc  # noqa: PLC0415
    from slepc4py import SLEPc  # noqa: PLC0415
    require_complex(PETSc.ScalarType)
    return PETSc, SLEPc


def require_complex(scalar_type) -> None:
    """Raise :class:`PetscBuildError` unless ``scalar_type`` is a complex dtype."""
    import numpy as np  # noqa: PLC0415

    if not np.issubdtype(np.dtype(scalar_type), np.complexfloating):
        raise PetscBuildError(
            f"PETSc at PETSC_DIR={os.environ.get('PETSC_DIR')!r} is built with "
            f"scalar type {np.dtype(scalar_type).name}; crustsolve needs complex "
            "scalars (--with-scalar-type=complex). Point PETSC_DIR/SLEPC_DIR at a complex "
            "build (Debian: /usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-complex).")


def _insert_options(opts, argv):
    """Insert ``-key value`` / ``-flag`` pairs into a PETSc options database."""
    i = 0
    while i < len(argv):
        key = argv[i]
        if not key.startswith("-"):
            i += 1
            continue
        name = key.lstrip("-")
        if i + 1 < len(argv) and not _is_option(argv[i + 1]):
            opts.setValue(name, argv[i + 1])
            i += 2
        else:
            opts.setValue(name, "")
            i += 1


def _is_option(token: str) -> bool:
    # "-5.5" or "-60,-10" are values; options start with a dash and a letter.
    return len(token) > 1 and token[0] == "-" and token[1].isalpha()


def build_info() -> dict:
    """Versions and build properties of the initialised PETSc/SLEPc/MPI stack."""
    PETSc, SLEPc = init_petsc()
    import numpy as np  # noqa: PLC0415
    import petsc4py  # noqa: PLC0415
    import slepc4py  # noqa: PLC0415
    from mpi4py import MPI  # noqa: PLC0415
    import mpi4py  # noqa: PLC0415

    pv = PETSc.Sys.getVersion()
    sv = SLEPc.Sys.getVersion()
    index_bytes = np.dtype(PETSc.IntType).itemsize
    return {
        "petsc_version": ".".join(map(str, pv)),
        "slepc_version": ".".join(map(str, sv)),
        "petsc4py_version": petsc4py.__version__,
        "slepc4py_version": slepc4py.__version__,
        "mpi4py_version": mpi4py.__version__,
        "mpi_library": MPI.Get_library_version().replace("\x00", "").strip().splitlines()[0],
        "scalar_type": np.dtype(PETSc.ScalarType).name,
        "index_size_bits": 8 * index_bytes,
        "petsc_dir": os.environ.get("PETSC_DIR", ""),
        "slepc_dir": os.environ.get("SLEPC_DIR", ""),
    }


def set_default_options(mapping: dict, prefix: str = "") -> list:
    """Put a run file's ``[petsc]`` options into PETSc's database without overriding the
    command line: a key already given (e.g. ``-crust_eps_tol`` on the command line) wins.

    ``mapping`` = {"eps_tol": "1e-10", "st_type": "filter"}; ``prefix`` e.g. ``"crust_"``.
    Returns the option names actually inserted.
    """
    PETSc, _ = init_petsc()
    opts = PETSc.Options()
    inserted = []
    for key, value in mapping.items():
        name = f"{prefix}{str(key).lstrip('-')}"
        if opts.hasName(name):
            continue
        opts.setValue(name, "" if value is None else str(value))
        inserted.append(name)
    return inserted
