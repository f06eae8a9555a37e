"""Run driver (TOML schema → bands → levels → table + HDF5) and effective masses."""
import math

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from crustsolve.bands import Fields
from crustsolve.config import ConfigError, from_dict, parse_toml_text
from crustsolve.constants import M_N_C2, M_P_C2
from crustsolve.errors import InputError
from crustsolve.log import Logger
from crustsolve.response.driver import ResponseRunConfig, run_config
from crustsolve.response.masses import effective_masses


def _tmp(comm, tmp_path_factory):
    path = tmp_path_factory.mktemp("resp") if comm.rank == 0 else None
    return comm.bcast(str(path) if path is not None else None, root=0)


@pytest.mark.mpi
def test_run_config_cosine(tmp_path_factory, capsys):
    comm = MPI.COMM_WORLD
    d = _tmp(comm, tmp_path_factory)
    Fields.separable_cosine(8, 10.0, V=-4.0).write(f"{d}/f.h5", comm=comm)
    text = f"""
fields = "{d}/f.h5"
nev = 60
solver = "lapack"
kmesh = 2
shift = true
density = 0.01
smearing = [3.0, 2.5, 2.0]
window = 40.0
output = "{d}/out.h5"
[gap]
value = 1.0
[current]
cnn = -3.0
nn = 0.01
[masses]
n_free_profile = 0.008
Z = 40
"""
    cfg = from_dict(ResponseRunConfig, parse_toml_text(text))
    res = run_config(cfg, comm, Logger(comm))
    out = capsys.readouterr().out
    if comm.rank == 0:
        assert "form_b" in out and "window convergence" in out
        with h5py.File(f"{d}/out.h5", "r") as fh:
            T = fh["response/form_a/tensor"][()]
            np.testing.assert_allclose(T, res.tensor("form_a"), rtol=0, atol=0)
            assert fh["response/form_a/tensor"].attrs["units"].startswith("fm^-3")
            assert "config" in fh.attrs
    assert set(res.levels) == {"normal", "intraband", "form_a", "form_b"}
    assert res.mesh["symmetry"] == "Oh"
    # current term −C n²/b0 > 0 for C < 0
    assert res.scalar("form_a", current=True) > res.scalar("form_a")
    comm.Barrier()


def test_config_errors():
    with pytest.raises(ConfigError):
        from_dict(ResponseRunConfig, {"fields": "x.h5"})                 # neither n nor μ
    with pytest.raises(ConfigError):
        from_dict(ResponseRunConfig, {"fields": "x.h5", "density": 0.01, "bogus": 1})
    with pytest.raises(ConfigError):
        from_dict(ResponseRunConfig, {"fields": "x.h5", "density": 0.01,
                                      "levels": ["form_c"]})
    with pytest.raises(ConfigError):
        from_dict(ResponseRunConfig, {"fields": "x.h5", "mu": 5.0, "current": {"cnn": 1.0}})


class _FakeResult:
    """Minimal stand-in with the attributes effective_masses reads (values chosen by hand)."""

    volume = 1000.0
    n_conduction = {"normal": 0.006, "bcs": 0.006}

    def scalar(self, level, current=False):
        return 0.003

    def neutron_density(self, level):
        return 0.01


def test_effective_masses_definitions():
    r = _FakeResult()
    em = effective_masses(r, "form_a", n_free_profile=0.008, Z=40, ions_per_cell=2)
    assert em.mn_star_over_mn == pytest.approx({"profile": 0.008 / 0.003,
                                                "conduction": 0.006 / 0.003,
                                                "all": 0.01 / 0.003})
    assert em.superfluid_fraction["conduction"] == pytest.approx(0.5)
    assert em.entrained_fraction["conduction"] == pytest.approx(0.5)
    n_I = 2 / 1000.0
    rho_bar = M_N_C2 * 0.01 + M_P_C2 * 40 * n_I
    assert em.m_ion_star_MeV == pytest.approx((rho_bar - M_N_C2 * 0.003) / n_I)
    assert em.m_ion_MeV["conduction"] == pytest.approx((rho_bar - M_N_C2 * 0.006) / n_I)
    # ρ_s = ρ_f ⇒ m_I* = m_I (physics doc §6 consistency)
    em2 = effective_masses(r, "form_a", n_free_profile=0.003, Z=40)
    assert em2.m_ion_star_over_m_ion["profile"] == pytest.approx(1.0)
    with pytest.raises(InputError):
        effective_masses(r, "form_a", Z=-1)
    assert math.isnan(effective_masses(r, "x").rho_bar_MeV_fm3)
