"""Locate, initialise and check a *complex* PETSc/SLEPc build.

crustsolve needs complex scalars (Bloch Hamiltonians are complex Hermitian). This
module is the only place that imports petsc4py/slepc4py for the first time:

* when ``PETSC_DIR``/``SLEPC_DIR`` are unset it selects a complex build from the
  places Debian (and most packagers) install them, so ``crustsolve`` works from a
  plain shell;
* it passes command-line PETSc/SLEPc options (``-eps_*``, ``-st_*``, ``-bv_*``,
  ``-log_view`` …) to ``petsc4py.init``/``slepc4py.init``;
* it refuses a real-scalar build with a message that says how to fix it;
* it checks the values of the options crustsolve knows (:func:`check_options`: numbers in
  range, solver types that exist, no option that changes which eigenvalues are computed)
  and tells which options no PETSc object read (:func:`unused_options`).
"""
from __future__ import annotations

import ctypes
import glob
import os
import sys
from contextlib import contextmanager

import mpi4py
import numpy as np
from mpi4py import MPI

from .errors import InputError, check_range

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
        # Here and below: petsc4py/slepc4py only ever imported in this function, after the
        # complex build is selected and petsc4py.init has the options (module docstring).
        from petsc4py import PETSc  # noqa: PLC0415 - see above
        from slepc4py import SLEPc  # noqa: PLC0415 - see above

        require_complex(PETSc.ScalarType)
        if argv:
            check_argv(argv, modules=(PETSc, SLEPc))
            _insert_options(PETSc.Options(), argv)
        return PETSc, SLEPc
    select_complex_build()
    try:
        import petsc4py  # noqa: PLC0415 - after select_complex_build(), before init
        import slepc4py  # noqa: PLC0415 - after select_complex_build(), before init
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise PetscBuildError(
            "crustsolve needs petsc4py and slepc4py built with complex scalars "
            f"(import failed: {exc}). On Debian 12 run scripts/setup.sh; elsewhere set "
            "PETSC_DIR/PETSC_ARCH and SLEPC_DIR to a complex build (see README)."
        ) from exc
    # PETSc takes the first word as the program name; "-c" (python -c) would become an option.
    prog = sys.argv[0] if sys.argv and not sys.argv[0].startswith("-") else "crustsolve"
    args = [prog] + list(argv or [])
    petsc4py.init(args)
    slepc4py.init(args)
    from petsc4py import PETSc  # noqa: PLC0415 - only after petsc4py.init(args)
    from slepc4py import SLEPc  # noqa: PLC0415 - only after slepc4py.init(args)
    require_complex(PETSc.ScalarType)
    if argv:
        check_argv(argv, modules=(PETSc, SLEPc))
    return PETSc, SLEPc


def require_complex(scalar_type) -> None:
    """Raise :class:`PetscBuildError` unless ``scalar_type`` is a complex dtype."""
    if not np.issubdtype(np.dtype(scalar_type), np.complexfloating):
        raise PetscBuildError(
            f"PETSc at PETSC_DIR={os.environ.get('PETSC_DIR')!r} is built with "
            f"scalar type {np.dtype(scalar_type).name}; crustsolve needs complex "
            "scalars (--with-scalar-type=complex). Point PETSC_DIR/SLEPC_DIR at a complex "
            "build (Debian: /usr/lib/petscdir/petsc3.18/x86_64-linux-gnu-complex).")


def parse_options(argv) -> dict:
    """``["-key", "value", "-flag"]`` → ``{"key": "value", "flag": None}`` (order kept)."""
    out = {}
    i = 0
    argv = list(argv or [])
    while i < len(argv):
        key = argv[i]
        if not key.startswith("-"):
            i += 1
            continue
        name = key.lstrip("-")
        if i + 1 < len(argv) and not _is_option(argv[i + 1]):
            out[name] = argv[i + 1]
            i += 2
        else:
            out[name] = None
            i += 1
    return out


def _insert_options(opts, argv):
    """Insert ``-key value`` / ``-flag`` pairs into a PETSc options database."""
    for name, value in parse_options(argv).items():
        opts.setValue(name, "" if value is None else value)


def _is_option(token: str) -> bool:
    # "-5.5" or "-60,-10" are values; options start with a dash and a letter.
    return len(token) > 1 and token[0] == "-" and token[1].isalpha()


def build_info() -> dict:
    """Versions and build properties of the initialised PETSc/SLEPc/MPI stack."""
    PETSc, SLEPc = init_petsc()
    import petsc4py  # noqa: PLC0415 - for __version__; init_petsc() has imported it
    import slepc4py  # noqa: PLC0415 - for __version__; init_petsc() has imported it

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
    modules = init_petsc()
    check_options({f"{prefix}{str(k).lstrip('-')}": (None if v is None else str(v))
                   for k, v in mapping.items()}, label="[petsc] ", modules=modules)
    opts = modules[0].Options()
    inserted = []
    for key, value in mapping.items():
        name = f"{prefix}{str(key).lstrip('-')}"
        if opts.hasName(name):
            continue
        opts.setValue(name, "" if value is None else str(value))
        inserted.append(name)
    return inserted


@contextmanager
def run_options(mapping: dict, warn=None):
    """A run file's ``[petsc]`` options in PETSc's database for the duration of one run.

    Inserts them as :func:`set_default_options` does (the command line wins), and when the
    run ends — normally or by an error — reports those that no PETSc/SLEPc object read through
    ``warn(message)`` and removes every option it inserted, so a later run in the same process
    (tests, scripts driving several runs) starts from the database it found. Yields the names
    inserted.
    """
    inserted = set_default_options(mapping) if mapping else []
    try:
        yield inserted
    finally:
        if inserted:
            unused = unused_options(inserted)
            if unused and warn is not None:
                warn("[petsc] option(s) not read by any PETSc/SLEPc object of this run "
                     "(misspelt, or not used by the chosen solver): "
                     + " ".join(f"-{n}" for n in unused))
            opts = init_petsc()[0].Options()
            for name in inserted:
                opts.delValue(name)


# ---------------------------------------------------------------------------------------------
# Checking option values, and which options were read
# ---------------------------------------------------------------------------------------------

#: Residual tolerance accepted for the eigensolvers (same range as ``[bands] tol`` and
#: ``crustsolve bands --tol``): looser tolerances give energies off by far more than the
#: printed digits, and Krylov–Schur then misses degenerate copies.
EPS_TOL_RANGE = (0.0, 1e-3)

#: Options that would change *which* eigenvalues are computed: crustsolve needs the lowest.
_WHICH_OPTIONS = ("eps_largest_real", "eps_largest_magnitude", "eps_largest_imaginary",
                  "eps_smallest_magnitude", "eps_smallest_imaginary", "eps_target_magnitude",
                  "eps_target_real", "eps_target_imaginary", "eps_all", "eps_non_hermitian",
                  "eps_gen_hermitian", "eps_gen_non_hermitian", "eps_pos_gen_non_hermitian",
                  "eps_gen_indefinite")

#: Known options by name after any prefix: (kind, arguments). Others are passed through.
_RULES = {
    "eps_tol": ("real", EPS_TOL_RANGE[0], EPS_TOL_RANGE[1], True),
    "eps_max_it": ("int", 1),
    "eps_nev": ("int", 1),
    "eps_ncv": ("int", 1),
    "eps_mpd": ("int", 1),
    "ksp_rtol": ("real", 0.0, 1.0, True),
    "ksp_atol": ("real", 0.0, None, False),
    "ksp_max_it": ("int", 1),
    "st_shift": ("real", None, None, False),
    "eps_type": ("type", "SLEPc", "EPS"),
    "st_type": ("type", "SLEPc", "ST"),
    "bv_type": ("type", "SLEPc", "BV"),
    "ksp_type": ("type", "PETSc", "KSP"),
    "pc_type": ("type", "PETSc", "PC"),
}

#: Options PETSc reads at start-up or at exit, never through an object.
_GLOBAL_OPTIONS = ("log_view", "log_summary", "log_view_memory", "options_left", "options_view",
                   "malloc_debug", "malloc_dump", "malloc_view", "memory_view", "objects_dump",
                   "history", "info", "help", "version", "on_error_abort", "no_signal_handler",
                   "fp_trap", "check_pointer_intensity", "log_trace", "use_gpu_aware_mpi")


def _rule_for(name: str):
    for key in (*_RULES, *_WHICH_OPTIONS):
        if name == key or name.endswith("_" + key):
            return key
    return None


def _type_exists(modules, lib: str, cls: str, value: str) -> bool:
    """Whether ``value`` is a type of PETSc/SLEPc class ``cls`` built into this library."""
    PETSc, SLEPc = modules
    klass = getattr(SLEPc if lib == "SLEPc" else PETSc, cls)
    obj = klass().create(comm=PETSc.COMM_SELF)
    try:
        obj.setType(value)
        return True
    except PETSc.Error:
        return False
    finally:
        obj.destroy()


def check_options(options: dict, label: str = "PETSc option -", modules=None) -> None:
    """Refuse known options with bad values (:class:`InputError` naming option and range).

    ``options`` maps names without the dash (``"crust_eps_tol"``) to string values (None
    for a flag); ``label`` prefixes the name in messages (``"[petsc] "`` for run files).
    Checked: ``*eps_tol`` in (0, 1e-3], iteration counts and dimensions ≥ 1, KSP
    tolerances, solver types (``*eps_type``, ``*st_type``, ``*bv_type``, ``*ksp_type``,
    ``*pc_type``) that exist in this build, and options that would make SLEPc compute other
    than the lowest eigenvalues. Deterministic: every rank raises the same error.
    """
    for name, value in options.items():
        key = _rule_for(str(name))
        if key is None:
            continue
        shown = f"{label}{name}"
        if key in _WHICH_OPTIONS:
            raise InputError(f"{shown} is not allowed: crustsolve computes the lowest bands "
                             "(the eigenvalue selection is not an option)")
        kind, *rule = _RULES[key]
        if value is None or str(value).strip() == "":
            raise InputError(f"{shown} needs a value")
        text = str(value).strip()
        if kind == "real":
            lo, hi, lo_open = rule
            try:
                x = float(text)
            except ValueError:
                raise InputError(f"{shown} = {text!r} is not a number") from None
            check_range(shown, x, lo, hi, lo_open=lo_open)
        elif kind == "int":
            try:
                x = int(text)
            except ValueError:
                raise InputError(f"{shown} = {text!r} is not an integer") from None
            check_range(shown, x, rule[0], None)
        else:
            lib, cls = rule
            mods = modules if modules is not None else init_petsc()
            if not _type_exists(mods, lib, cls, text):
                raise InputError(f"{shown} = {text!r}: this {lib} build has no {cls} "
                                 "type of that name")


def check_argv(argv, modules=None) -> None:
    """:func:`check_options` on a command line's PETSc words."""
    check_options(parse_options(argv), modules=modules)


def _petsc_library():
    """The loaded libpetsc as a ctypes library (None if it cannot be found)."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = {line.split()[-1] for line in fh if "libpetsc" in line}
    except OSError:
        return None
    for path in sorted(paths):
        if os.path.basename(path).startswith("libpetsc"):
            try:
                return ctypes.CDLL(path)
            except OSError:
                continue
    return None


def unused_options(names):
    """Those of ``names`` (options in the database, no dash) that no PETSc object read.

    Uses PETSc's own bookkeeping (``PetscOptionsUsed``, the basis of ``-options_left``).
    Options PETSc reads only at start-up or exit (``-log_view`` …) are never reported.
    Returns None when the PETSc library cannot be queried.
    """
    lib = _petsc_library()
    if lib is None or not hasattr(lib, "PetscOptionsUsed"):
        return None
    fn = lib.PetscOptionsUsed
    fn.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]
    fn.restype = ctypes.c_int
    out = []
    for name in names:
        if str(name) in _GLOBAL_OPTIONS:
            continue
        flag = ctypes.c_int(0)
        if fn(None, str(name).encode(), ctypes.byref(flag)) == 0 and not flag.value:
            out.append(str(name))
    return out

