"""CLI skeleton, PETSc build selection and options pass-through."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from crustsolve.cli import main, split_petsc_args
from crustsolve.petsc_env import PetscBuildError, init_petsc, require_complex


def test_split_petsc_args():
    ours, petsc = split_petsc_args(
        ["bands", "f.h5", "--nev", "20", "-eps_tol", "1e-10", "-log_view", "--order", "4",
         "-st_filter_range", "-60,-10", "-eps_target", "-5.5", "-h"])
    assert ours == ["bands", "f.h5", "--nev", "20", "--order", "4", "-h"]
    assert petsc == ["-eps_tol", "1e-10", "-log_view", "-st_filter_range", "-60,-10",
                     "-eps_target", "-5.5"]


def test_info_reports_complex_build(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "complex128" in out and "slepc_version" in out and "mpi_ranks" in out


def test_petsc_options_reach_the_database():
    PETSc, _ = init_petsc()
    assert main(["info", "-crust_test_option", "1e-11", "--json"]) == 0
    assert PETSc.Options().getReal("crust_test_option") == pytest.approx(1e-11)


def test_require_complex_refuses_real_scalars():
    require_complex(np.complex128)
    with pytest.raises(PetscBuildError, match="needs complex scalars"):
        require_complex(np.float64)


def _fake_real_petsc(root):
    """A stand-in PETSC_DIR whose petsc4py reports real scalars."""
    pkg = root / "lib" / "python3" / "dist-packages"
    for name, mod in (("petsc4py", "PETSc"), ("slepc4py", "SLEPc")):
        d = pkg / name
        d.mkdir(parents=True)
        (d / "__init__.py").write_text("__version__ = '0.0'\ndef init(args=None):\n    pass\n")
        (d / f"{mod}.py").write_text(textwrap.dedent("""
            import numpy
            ScalarType = numpy.float64
            IntType = numpy.int32
        """))
    return root


def test_real_build_gives_clear_error_and_nonzero_exit(tmp_path):
    root = _fake_real_petsc(tmp_path / "petsc-real")
    env = dict(os.environ, PETSC_DIR=str(root), SLEPC_DIR=str(root))
    proc = subprocess.run([sys.executable, "-m", "crustsolve", "info"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "float64" in proc.stdout and "needs complex scalars" in proc.stdout


def test_no_subcommand_prints_help(capsys):
    assert main([]) == 0
    assert "COMMAND" in capsys.readouterr().out


def test_run_file_petsc_options_do_not_override_command_line():
    from crustsolve.petsc_env import set_default_options
    PETSc, _ = init_petsc(["-crust_cmdline_opt", "7"])
    inserted = set_default_options({"cmdline_opt": "3", "runfile_opt": "5"}, prefix="crust_")
    assert inserted == ["crust_runfile_opt"]
    assert PETSc.Options().getInt("crust_cmdline_opt") == 7
    assert PETSc.Options().getInt("crust_runfile_opt") == 5
