"""``crustsolve`` command line: composes the physics stages; the only place that prints.

Every subcommand lives in ``crustsolve/cli/<name>.py`` with ``register(subparsers)``
and ``run(args, ctx) -> int``. PETSc/SLEPc options (single-dash words such as
``-eps_tol 1e-10``, ``-st_type filter``, ``-log_view``) are separated from
crustsolve's own ``--options`` and handed to ``petsc4py.init``/``slepc4py.init``.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass, field

from .. import __version__
from ..errors import CrustsolveError

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = ("info", "run", "scan", "core", "layer", "bands", "star")


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

    def petsc(self):
        """Initialise complex PETSc/SLEPc with the command line's options → (PETSc, SLEPc)."""
        from ..petsc_env import init_petsc  # noqa: PLC0415

        return init_petsc(self.petsc_args)


def root_io(comm, action) -> None:
    """Run ``action()`` (file output) on rank 0; an I/O failure is raised on every rank."""
    err = None
    if comm.rank == 0:
        try:
            action()
        except OSError as exc:
            err = str(exc)
    err = comm.bcast(err, root=0)
    if err:
        raise CrustsolveError(err)


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


def main(argv=None) -> int:
    """Entry point of the ``crustsolve`` console script; returns the exit code."""
    from mpi4py import MPI  # noqa: PLC0415

    from ..log import Logger  # noqa: PLC0415

    argv = list(sys.argv[1:] if argv is None else argv)
    ours, petsc_args = split_petsc_args(argv)
    # --quiet is accepted anywhere (before or after the subcommand).
    quiet = "--quiet" in ours
    ours = [a for a in ours if a != "--quiet"]
    parser = build_parser()
    args = parser.parse_args(ours)
    comm = MPI.COMM_WORLD
    if args.command is None:
        if comm.rank == 0:
            parser.print_help()
        return 0
    ctx = RunContext(comm=comm, log=Logger(comm, verbose=not quiet), petsc_args=petsc_args)
    try:
        return int(args.func(args, ctx) or 0)
    except CrustsolveError as exc:
        # Our errors are raised identically on every rank (inputs are validated
        # everywhere or broadcast), so each rank can leave cleanly.
        if comm.rank == 0:
            print(f"crustsolve {args.command}: error: {exc}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
