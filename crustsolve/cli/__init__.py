"""``crustsolve`` command line: composes the physics stages; the only place that prints.

Every subcommand lives in ``crustsolve/cli/<name>.py`` with ``register(subparsers)``
and ``run(args, ctx) -> int``. A command validates all its inputs and outputs before
computing (``crustsolve.results.prepare_outputs``), does rank-0-only work through
``crustsolve.parallel.on_root`` (an error there is raised on every rank), and raises
:class:`~crustsolve.errors.CrustsolveError` for anything the user can fix: :func:`main`
prints it as one line from rank 0 and exits 2. PETSc/SLEPc options (single-dash words such as
``-eps_tol 1e-10``, ``-st_type filter``, ``-log_view``) are separated from
crustsolve's own ``--options`` and handed to ``petsc4py.init``/``slepc4py.init``.
"""
from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field

from mpi4py import MPI

from .. import __version__
from ..errors import CrustsolveError, InputError, check_range
from ..log import Logger
from ..parallel import OVERSUBSCRIBE_FLAG, abort_on_uncaught
from ..petsc_env import PetscBuildError, init_petsc, parse_options, unused_options

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = ("info", "run", "reanalyse", "scan", "core", "layer", "bands", "star")


def split_petsc_args(argv):
    """Separate PETSc/SLEPc options from crustsolve's own arguments.

    A PETSc option is a single-dash token of more than two characters
    (``-eps_nev``, ``-log_view``); it takes the following token as its value unless
    that token is itself an option. ``--x`` and ``-h`` belong to crustsolve.
    """
    ours, petsc = [], []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok.startswith("-") and not tok.startswith("--") and len(tok) > 2 and tok[1].isalpha():
            petsc.append(tok)
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            if nxt is not None and not _looks_like_option(nxt):
                petsc.append(nxt)
                i += 1
        else:
            ours.append(tok)
        i += 1
    return ours, petsc


def _looks_like_option(tok: str) -> bool:
    # "-5.5" or "-60,-10" are values; options start with a dash and a letter.
    return len(tok) > 1 and tok[0] == "-" and (tok[1].isalpha() or tok[1] == "-")


@dataclass
class RunContext:
    """What a subcommand gets besides its parsed arguments."""

    comm: object
    log: object
    petsc_args: list = field(default_factory=list)
    #: Set when the command initialised (or reused) PETSc through :meth:`petsc`.
    petsc_used: bool = False

    def petsc(self):
        """Initialise complex PETSc/SLEPc with the command line's options → (PETSc, SLEPc).

        Known options are range-checked first (:func:`crustsolve.petsc_env.check_options`).
        """
        modules = init_petsc(self.petsc_args)
        self.petsc_used = True
        return modules


def number_list(text: str, option: str, example: str = "") -> list:
    """Comma-separated numbers of one option (``--gap-scale 0.25,0.5,1``) → floats; an
    InputError naming the option and the offending word otherwise (``example`` is shown)."""
    hint = f" (give comma-separated numbers, e.g. {example})" if example else ""
    words = [w.strip() for w in str(text).split(",") if w.strip()]
    if not words:
        raise InputError(f"{option} {text!r}: give comma-separated numbers{hint}")
    out = []
    for w in words:
        try:
            out.append(float(w))
        except ValueError:
            raise InputError(f"{option}: {w!r} is not a number{hint}") from None
    return out


@contextmanager
def for_option(name: str, match: str = ""):
    """Re-raise an :class:`InputError` from the block with the command-line option named
    (only errors whose message contains ``match``, when given)."""
    try:
        yield
    except InputError as exc:
        if name in str(exc) or (match and match not in str(exc)):
            raise
        raise type(exc)(f"{name}: {exc}") from None


def add_overwrite_argument(parser) -> None:
    """``--overwrite``: replace existing outputs of another configuration."""
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing output files even if they hold results of "
                             "another configuration (default: refuse)")


def add_memory_argument(parser) -> None:
    """The switch that lets a run exceed its memory estimate."""
    parser.add_argument(OVERSUBSCRIBE_FLAG, dest="allow_oversubscribe_memory",
                        action="store_true",
                        help="run even if the memory estimate exceeds the memory available "
                             "(default: refuse before allocating)")


def linear_range(option: str, start, stop, num, *, lo=None, hi=None, lo_open=False,
                 unit: str = "") -> tuple:
    """Validated ``START STOP NUM`` of a ``--*-range`` option → (start, stop, num).

    START and STOP must lie in [lo, hi] (``lo_open``: lo excluded); NUM must be a finite
    positive integer. The values themselves come from :func:`range_values`, after the
    caller has checked that NUM points fit in memory.
    """
    start = check_range(f"{option} START", start, lo, hi, lo_open=lo_open, unit=unit)
    stop = check_range(f"{option} STOP", stop, lo, hi, lo_open=lo_open, unit=unit)
    if not (isinstance(num, (int, float)) and math.isfinite(num)) or num != int(num) or num < 1:
        raise InputError(f"{option} NUM = {num!r} must be a positive integer")
    return start, stop, int(num)


def range_values(start: float, stop: float, num: int) -> list:
    """NUM equally spaced values from START to STOP (START alone when NUM = 1)."""
    if num == 1:
        return [start]
    return [start + (stop - start) * i / (num - 1) for i in range(num)]


def _report_petsc_options(ctx, command: str, before) -> None:
    """Warn about PETSc options that nothing read (rank 0 prints)."""
    given = list(parse_options(ctx.petsc_args))
    if not ctx.petsc_used:
        if given:
            ctx.log.warning(f"`crustsolve {command}` does not use PETSc; these options were "
                            "ignored: " + " ".join(f"-{n}" for n in given))
        return
    petsc = sys.modules.get("petsc4py.PETSc")
    if petsc is None:  # pragma: no cover - petsc() always imports it
        return
    # This command line's options, and what the command added (run-file [petsc] entries).
    names = list(dict.fromkeys(
        given + [n for n in petsc.Options().getAll() if before is None or n not in before]))
    unused = unused_options(names)
    if unused:
        ctx.log.warning("PETSc option(s) not read by any PETSc/SLEPc object of this run "
                        "(misspelt, or not used by the chosen solver): "
                        + " ".join(f"-{n}" for n in unused))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crustsolve",
        description="Entrainment in neutron stars: superfluid density and effective masses "
                    "of the inner crust (3D band structure, PETSc/SLEPc) and n-p entrainment "
                    "in the core. Units: MeV, fm, fm^-3. PETSc/SLEPc options (-eps_*, -st_*, "
                    "-bv_*, -log_view) may be added anywhere on the command line.")
    parser.add_argument("--version", action="version", version=f"crustsolve {__version__}")
    parser.add_argument("--quiet", action="store_true", help="only print results, no progress")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # stage not installed in this build
            raise
        module.register(sub)
    return parser


def _parse(parser, argv, rank: int):
    """Parse on every rank; only rank 0 prints usage, help or errors (→ (args, exit code))."""
    saved = sys.stdout, sys.stderr
    try:
        if rank != 0:
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        return parser.parse_args(argv), None
    except SystemExit as exc:
        return None, (exc.code if isinstance(exc.code, int) else 2)
    finally:
        if rank != 0:
            sys.stdout.close()
        sys.stdout, sys.stderr = saved


def main(argv=None) -> int:
    """Entry point of the ``crustsolve`` console script; returns the exit code.

    Exit codes: 0 success, 2 bad input or a failed solve (one line on stderr from rank 0),
    1 a missing/real PETSc build or an unexpected error (a bug: traceback; under MPI every
    rank is aborted so none waits forever).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    ours, petsc_args = split_petsc_args(argv)
    # --quiet is accepted anywhere (before or after the subcommand).
    quiet = "--quiet" in ours
    ours = [a for a in ours if a != "--quiet"]
    comm = MPI.COMM_WORLD
    parser = build_parser()
    args, code = _parse(parser, ours, comm.rank)
    if code is not None:
        return code
    if args.command is None:
        if comm.rank == 0:
            parser.print_help()
        return 0
    ctx = RunContext(comm=comm, log=Logger(comm, verbose=not quiet), petsc_args=petsc_args)
    petsc = sys.modules.get("petsc4py.PETSc")
    before = set(petsc.Options().getAll()) if petsc is not None else None
    try:
        code = int(args.func(args, ctx) or 0)
        _report_petsc_options(ctx, args.command, before)
        return code
    except CrustsolveError as exc:
        # Our errors are raised identically on every rank (inputs are validated
        # everywhere or broadcast), so each rank can leave cleanly.
        if comm.rank == 0:
            print(f"crustsolve {args.command}: error: {exc}", file=sys.stderr, flush=True)
        return 2
    except PetscBuildError as exc:
        if comm.rank == 0:
            print(f"crustsolve {args.command}: error: {exc}", file=sys.stderr, flush=True)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug; see the docstring
        if comm.size > 1:
            abort_on_uncaught(comm, exc)
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
