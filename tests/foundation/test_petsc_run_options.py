"""A run file's [petsc] options live in PETSc's database for one run only
(crustsolve.petsc_env.run_options): the command line wins, options nothing read are
reported, and every option the run inserted is gone afterwards, also after an error."""
from __future__ import annotations

import pytest

from crustsolve.errors import InputError
from crustsolve.petsc_env import init_petsc, run_options


def test_run_options_are_removed_and_unread_ones_reported():
    PETSc, _ = init_petsc()
    opts = PETSc.Options()
    opts.setValue("runopt_cmdline", "7")            # as if given on the command line
    before = set(opts.getAll())
    warnings = []
    try:
        with run_options({"runopt_cmdline": "3", "runopt_read": "5", "runopt_unread": "1"},
                         warn=warnings.append) as inserted:
            assert sorted(inserted) == ["runopt_read", "runopt_unread"]
            assert opts.getInt("runopt_cmdline") == 7           # the command line wins
            assert opts.getInt("runopt_read") == 5
        assert set(opts.getAll()) == before                     # the run's own are gone
        assert opts.getInt("runopt_cmdline") == 7               # the command line's stays
        assert len(warnings) == 1 and warnings[0].endswith(": -runopt_unread")
    finally:
        opts.delValue("runopt_cmdline")


def test_run_options_are_removed_after_an_error():
    PETSc, _ = init_petsc()
    opts = PETSc.Options()
    before = set(opts.getAll())
    with pytest.raises(InputError, match="the run failed"):
        with run_options({"runopt_error": "1"}):
            assert "runopt_error" in opts.getAll()
            raise InputError("the run failed")
    assert set(opts.getAll()) == before


def test_bad_run_options_are_refused_before_anything_is_inserted():
    PETSc, _ = init_petsc()
    before = set(PETSc.Options().getAll())
    with pytest.raises(InputError, match=r"eps_tol"):
        with run_options({"eps_tol": "abc"}):
            pytest.fail("the body must not run")
    assert set(PETSc.Options().getAll()) == before
