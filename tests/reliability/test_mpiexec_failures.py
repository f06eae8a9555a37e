"""Rank-0-only failures under a real ``mpiexec -n 2``: each must end the whole job with one
clean line (exit 2), or — for an unexpected exception on one rank — abort every rank; a
regression must fail by timeout here instead of hanging the suite.

The first three inputs hung forever before rank-0 errors were shared (rank 0 failed while
rank 1 waited in a broadcast). Serial test: it starts its own MPI jobs.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

#: Seconds an MPI job may take (a few seconds when it works).
JOB_TIMEOUT = 90

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(shutil.which("mpiexec") is None, reason="no mpiexec")


def _env():
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    return env


def _mpirun(args, cwd, nranks=2):
    try:
        return subprocess.run(["mpiexec", "-n", str(nranks), sys.executable, *args], cwd=cwd,
                              env=_env(), capture_output=True, text=True, timeout=JOB_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"mpiexec -n {nranks} {' '.join(args)} hung (> {JOB_TIMEOUT} s): "
                    f"{exc.stderr}")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from crustsolve.bands import Fields

    d = tmp_path_factory.mktemp("mpi_hostile")
    Fields.separable_cosine(8, 16.0, -6.0).write(d / "cos8.h5")
    (d / "nonutf8.toml").write_bytes(b"densities = [0.03]\n# caf\xe9\n")
    return d


@pytest.mark.parametrize("argv, fragment", [
    (["scan", "nonutf8.toml"], "is not UTF-8 text"),
    (["core", "--density", "0.16", "--plot", "x.xyz"], "unknown image format '.xyz'"),
    (["star", "--mass", "1.4", "--plot", "x.xyz"], "unknown image format '.xyz'"),
    (["layer", "--density", "0.03", "--z-scan", "abc"], "--z-scan: 'abc' is not a number"),
    (["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "cos8.h5"],
     "same file as the input"),
    (["bands", "cos8.h5", "--order", "4", "--nev", "4", "-crust_eps_type", "foo"],
     "-crust_eps_type = 'foo'"),
], ids=["scan-non-utf8", "core-plot-format", "star-plot-format", "layer-z-scan",
        "bands-out-is-input", "bands-bad-eps-type"])
def test_rank0_error_ends_every_rank(files, argv, fragment):
    before = hashlib.md5((files / "cos8.h5").read_bytes()).hexdigest()
    p = _mpirun(["-m", "crustsolve", *argv], files)
    ours = [ln for ln in p.stderr.splitlines() if ln.startswith("crustsolve")]
    assert p.returncode == 2, p.stderr
    assert "Traceback" not in p.stderr
    assert len(ours) == 1 and fragment in ours[0], p.stderr   # printed by rank 0 only
    assert hashlib.md5((files / "cos8.h5").read_bytes()).hexdigest() == before


def test_unexpected_error_on_one_rank_aborts_the_job(files):
    """A bug raising on rank 0 only, while rank 1 waits in a collective: MPI_Abort, not a
    hang."""
    script = (
        "from mpi4py import MPI\n"
        "import crustsolve.cli.core as core\n"
        "def broken(args, ctx):\n"
        "    if ctx.comm.rank == 0:\n"
        "        raise RuntimeError('bug on rank 0')\n"
        "    ctx.comm.Barrier()\n"
        "core.run = broken\n"
        "from crustsolve.cli import main\n"
        "import sys\n"
        "sys.exit(main(['core', '--density', '0.16']))\n")
    # register() stores the function when the parser is built, after the patch above.
    p = _mpirun(["-c", script], files)
    assert p.returncode not in (0, 2), p.stderr
    assert "bug on rank 0" in p.stderr and "aborting all ranks" in p.stderr
