"""Run driver (fields-file runs of the one run-file schema → bands → levels → table + HDF5)
and effective masses."""
import math

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from crustsolve.bands import Fields
from crustsolve.config import ConfigError, parse_toml_text
from crustsolve.constants import M_N_C2, M_P_C2
from crustsolve.errors import InputError
from crustsolve.log import Logger
from crustsolve.response.driver import run_config
from crustsolve.runfile import resolve_config
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
output = "{d}/out.h5"
[grid]
order = 4
[bands]
nbands = 60
solver = "lapack"
[kmesh]
n = 2
shift = true
[response]
neutron_density = 0.01
smearing = [3.0, 2.5, 2.0]
[pairing]
model = "constant"
gap = 1.0
[current]
cnn = -3.0
nn = 0.01
[masses]
n_free_profile = 0.008
Z = 40
"""
    cfg = resolve_config(parse_toml_text(text))
    res = run_config(cfg, comm, Logger(comm))
    out = capsys.readouterr().out
    if comm.rank == 0:
        # the table names both denominators and the current variant of every level
        assert "n_s/n_n,f" in out and "n_s/n_n " in out and "trunc" in out
        rows = [ln.split() for ln in out.splitlines() if ln.split()[:1] == ["form_b"]]
        assert [r[1] for r in rows] == ["no", "yes"]
        n_s = float(rows[0][3])
        assert float(rows[0][5]) == pytest.approx(n_s / 0.008, abs=1e-5)   # printed to 5 digits
        assert float(rows[0][6]) == pytest.approx(n_s / 0.01, rel=1e-4)
        with h5py.File(f"{d}/out.h5", "r") as fh:
            T = fh["response/form_a/tensor"][()]
            np.testing.assert_array_equal(T, res.tensor("form_a"))       # written and read back
            assert fh["response/form_a/tensor"].attrs["units"].startswith("fm^-3")
            assert fh["response/form_b/with_current/superfluid_fraction_free"][()] == \
                pytest.approx(res.scalar("form_b", True) / 0.008, rel=1e-14)
            assert "config" in fh.attrs
    assert set(res.levels) == {"normal", "intraband", "form_a", "form_b"}
    assert res.mesh["symmetry"] == "Oh"
    # a constant C_nn n_n = −0.03 MeV fm² multiplies every velocity vertex by (B + 0.03)/B
    # in one factor: exact for the velocity-only levels
    B = 20.72124855009137
    for lv in ("normal", "intraband"):
        assert res.scalar(lv, current=True) == pytest.approx(res.scalar(lv) * (B + 0.03) / B,
                                                             rel=1e-10)
    comm.Barrier()


@pytest.mark.parametrize("data, match", [
    ({"fields": "x.h5"}, r"exactly one of response.neutron_density \(fm\^-3\) or response.mu"),
    ({"fields": "x.h5", "response": {"neutron_density": 0.01}, "bogus": 1},
     r"unknown key\(s\) 'bogus'"),
    ({"fields": "x.h5", "response": {"neutron_density": 0.01, "window": 40.0}},
     r"unknown key\(s\) 'window' in \[response\]"),
    ({"fields": "x.h5", "response": {"neutron_density": 0.01, "levels": ["form_c"]}},
     r"unknown level 'form_c' in response.levels"),
    ({"fields": "x.h5", "response": {"mu": 5.0}, "bands": {"nbands": 10},
      "current": {"cnn": 1.0}}, "give both cnn"),
    ({"fields": "x.h5", "response": {"mu": 5.0}},
     r"bands.nbands = 0 \(automatic\) needs response.neutron_density"),
])
def test_config_errors(data, match):
    with pytest.raises(ConfigError, match=match):
        resolve_config(data)


class _FakeResult:
    """Minimal stand-in with the attributes effective_masses reads (values chosen by hand)."""

    volume = 1000.0

    def scalar(self, level, current=False):
        return 0.003

    def neutron_density(self, level):
        return 0.01


def test_effective_masses_definitions():
    """Hand values: n_s = 0.003, n_n,f = 0.008, n̄_n = 0.01 fm⁻³, Z = 40, 2 ions in 1000 fm³."""
    r = _FakeResult()
    em = effective_masses(r, "form_a", n_free=0.008, Z=40, ions_per_cell=2)
    assert em.mn_star_over_mn == pytest.approx({"free": 0.008 / 0.003, "all": 0.01 / 0.003},
                                               rel=1e-14)
    assert em.superfluid_fraction == pytest.approx({"free": 0.375, "all": 0.3}, rel=1e-14)
    assert em.entrained_fraction == pytest.approx({"free": 0.625, "all": 0.7}, rel=1e-14)
    n_I = 2 / 1000.0
    rho_bar = M_N_C2 * 0.01 + M_P_C2 * 40 * n_I
    assert em.m_ion_star_MeV == pytest.approx((rho_bar - M_N_C2 * 0.003) / n_I, rel=1e-14)
    assert em.m_ion_MeV == pytest.approx((rho_bar - M_N_C2 * 0.008) / n_I, rel=1e-14)
    # ρ_s = ρ_n,f ⇒ m_I* = m_I
    em2 = effective_masses(r, "form_a", n_free=0.003, Z=40)
    assert em2.m_ion_star_over_m_ion == pytest.approx(1.0, rel=1e-14)
    with pytest.raises(InputError, match="Z = -1"):
        effective_masses(r, "form_a", Z=-1)
    # without Z no ion mass; without n_n,f no m_I*/m_I
    assert math.isnan(effective_masses(r, "x").rho_bar_MeV_fm3)
    assert math.isnan(effective_masses(r, "x", Z=40).m_ion_star_over_m_ion)


def test_fields_run_mesh_uses_the_subgroup_of_fields_and_pair_field(tmp_path):
    """O_h-symmetric U, B with a pair-field profile Δ(x) = 1 + 0.2 cos(2πx/a): the mesh of a
    fields-file run (symmetry "auto") is reduced by the 16 operations mapping x onto ±x only;
    "oh" is refused naming the deviation; with the constant model the full O_h is used."""
    from crustsolve.response.driver import _mesh
    n, a = 8, 10.0
    f = Fields.separable_cosine(n, a, V=-4.0)
    x = np.arange(n) * a / n
    gap = np.broadcast_to(1.0 + 0.2 * np.cos(2 * np.pi * x / a)[:, None, None], (n,) * 3)
    f = f.replace(Delta=gap.astype(complex).copy())
    f.write(str(tmp_path / "f.h5"), comm=MPI.COMM_SELF)

    def cfg(model, symmetry):
        extra = 'gap = 1.0' if model == "constant" else ''
        return resolve_config(parse_toml_text(f"""
fields = "{tmp_path}/f.h5"
[kmesh]
n = 4
shift = true
symmetry = "{symmetry}"
[response]
neutron_density = 0.01
[pairing]
model = "{model}"
{extra}
"""))
    km = _mesh(f, cfg("profile", "auto"))
    assert km.symmetry == "order-16 subgroup of Oh" and km.nk == 6
    assert {abs(int(R[0, 0])) for R in km.operations} == {1}
    assert _mesh(f, cfg("constant", "auto")).symmetry == "Oh"
    with pytest.raises(InputError, match=r'symmetry = "oh" but the fields are not O_h '
                                         r'invariant \(max relative deviation'):
        _mesh(f, cfg("profile", "oh"))
