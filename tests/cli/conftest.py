"""Fixtures shared by the command-line tests."""
from __future__ import annotations

import argparse
import io

import numpy as np
import pytest
from mpi4py import MPI

from crustsolve.cli import RunContext
from crustsolve.log import Logger


def _assert_png_plot(path):
    """``path`` is a PNG image with something drawn on it (more than one colour)."""
    import matplotlib.image  # noqa: PLC0415

    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file"
    img = matplotlib.image.imread(str(path))
    assert img.ndim == 3 and min(img.shape[:2]) >= 100, img.shape
    assert len(np.unique(img.reshape(-1, img.shape[-1]), axis=0)) > 1, f"{path} is blank"


@pytest.fixture(scope="session")
def assert_png_plot():
    """``assert_png_plot(path)``: the check of a ``--plot`` file (a PNG with something drawn)."""
    return _assert_png_plot


def _run_subcommand(module, name, argv):
    """Run the subcommand ``name`` of the CLI module ``module`` in-process with ``argv`` →
    (its exit code, the text its log printed)."""
    parser = argparse.ArgumentParser()
    module.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args([name, *argv])
    stream = io.StringIO()
    ctx = RunContext(comm=MPI.COMM_WORLD, log=Logger(MPI.COMM_WORLD, stream=stream))
    return args.func(args, ctx), stream.getvalue()


@pytest.fixture(scope="session")
def run_subcommand():
    """``run_subcommand(module, name, argv)`` → (exit code, printed text) of one subcommand."""
    return _run_subcommand
