"""The registry of the levels of theory (crustsolve.response.levels).

Every expectation is taken from the registry itself (no list of level names here), so the
tests keep holding when a level is added. The fake level registered below (twice the BCS
intraband integrand) flows through ``bz.evaluate``, the response-stage table and results
file, and the main-job table, results file and plot, with no other module edited: the
proof that a new level touches ``crustsolve/response/levels.py`` only.
"""
import dataclasses
import math
import re
from types import MappingProxyType, SimpleNamespace

import h5py
import numpy as np
import pytest
from mpi4py import MPI

from crustsolve.bands.kmesh import KMesh
from crustsolve.constants import HBAR2_2MN
from crustsolve.errors import ConfigError, InputError
from crustsolve.response import bz
from crustsolve.response import kernels as K
from crustsolve.response import levels as L

A_CELL = 10.0
B0 = HBAR2_2MN
FAKE = "fake_twice_intraband"


def _fake_integrand(terms, sol, ctx):
    return 2.0 * K.intraband_integrand(terms.energies, terms.gap, sol.mu, terms.vprod)


def _fake_level(default=True):
    return L.Level(FAKE, "fake level (2 × intraband)", "test only", "Levels of theory", "bcs",
                   default=default, kernel=K.intraband_integrand, integrand=_fake_integrand,
                   finish=L.simple_finish)


@pytest.fixture
def fake_registry(monkeypatch):
    """The registry with the fake level appended (a monkeypatched copy)."""
    reg = MappingProxyType({**L.REGISTRY, FAKE: _fake_level()})
    monkeypatch.setattr(L, "REGISTRY", reg)
    return reg


def _kdata(pw_basis, pw_kdata, mesh, flow=0.3):
    """Plane-wave model bands (a weak cosine potential) with the current-field vertex."""
    G = pw_basis(2)
    return [pw_kdata(k, G, B0, (-2.0, -2.0, -2.0), 1.0, 60, None, i, w, flow)
            for i, (k, w) in enumerate(zip(mesh.points, mesh.weights))]


def _evaluate(pw_basis, pw_kdata, levels, mesh=None):
    mesh = KMesh.monkhorst_pack(3, A_CELL, shift=True) if mesh is None else mesh
    return bz.evaluate(_kdata(pw_basis, pw_kdata, mesh), mesh, volume=A_CELL**3, b0=B0,
                       levels=levels,
                       density=0.01, smearing=(3.0, 2.5, 2.0), check_bands=False)


def _superfluid_result(out):
    from crustsolve.response.superfluid import SuperfluidResult

    return SuperfluidResult(
        levels=out["levels"], has_current=out["has_current"], density=0.01, mu_fixed=None,
        volume=A_CELL**3, b0=B0, nb=out["nb"], nk=out["nk"], nfull=out["nfull"], mesh={},
        gap={"kind": "constant", "value_MeV": 1.0}, smearing=(3.0, 2.5, 2.0),
        band_margin=out["band_margin"], max_residual=out["max_residual"],
        truncation_fraction=out["truncation_fraction"])


# ------------------------------------------------------------------------------- registry
def test_registry_entries_are_complete():
    assert L.names() and set(L.default_names()) <= set(L.names())
    for name, lv in L.registry().items():
        assert lv.name == name and lv.label and lv.reference
        assert lv.section in open("docs/physics/crust-superfluidity.md").read()
        assert lv.number_equation in L.NUMBER_EQUATIONS
        assert (lv.integrand is None) != (lv.evaluate is None)
        assert lv.describe()["section"].startswith(L.PHYSICS_PAGE)
    assert bz.LEVELS == L.names() and bz.DEFAULT_LEVELS == L.default_names()
    with pytest.raises(InputError, match="unknown number equation 'exact'; allowed: "
                       + re.escape(", ".join(L.NUMBER_EQUATIONS))):
        L.Level("x", "x", "x", "x", "exact", integrand=_fake_integrand, finish=L.simple_finish)
    with pytest.raises(InputError, match="exactly one of a per-k integrand"):
        L.Level("x", "x", "x", "x", "bcs")


def test_unknown_level_names_name_the_key_value_and_allowed():
    allowed = re.escape(", ".join(L.names()))
    mesh = KMesh.explicit([[0, 0, 0]], A_CELL)
    with pytest.raises(InputError, match=f"unknown level 'bogus' in levels; allowed: {allowed}$"):
        bz.evaluate([], mesh, volume=1.0, b0=B0, density=0.1, levels=("normal", "bogus"))
    from crustsolve.runfile import resolve_config

    with pytest.raises(ConfigError, match=f"unknown level 'form_c' in response.levels; "
                                          f"allowed: {allowed}$"):
        resolve_config({"fields": "x.h5", "response": {"neutron_density": 0.01,
                                                       "levels": ["form_c"]}})

    defaults = re.escape(", ".join(L.default_names()))
    # the driving level must be one the main job computes (the default levels)
    not_default = [n for n in L.names() if n not in L.default_names()]
    for bad in ["bogus"] + not_default:
        with pytest.raises(ConfigError, match=rf"\[zeropoint\] unknown level '{bad}' in "
                                              rf"zeropoint.level; allowed: {defaults}$"):
            resolve_config({"zeropoint": {"level": bad}})
    assert resolve_config({"zeropoint": {"level": L.default_names()[0]}}).zeropoint.level \
        == L.default_names()[0]


# ------------------------------------------------------------------- one module suffices
def test_fake_level_flows_through_bz_evaluate(fake_registry, pw_basis, pw_kdata):
    out = _evaluate(pw_basis, pw_kdata, ("intraband", FAKE))
    assert list(out["levels"]) == ["intraband", FAKE]           # registry order
    ib, fake = out["levels"]["intraband"], out["levels"][FAKE]
    # 2 × the same sums: exact up to the last bit (scaling by 2 commutes with rounding)
    np.testing.assert_allclose(fake.tensor, 2 * ib.tensor, rtol=1e-15, atol=0)
    np.testing.assert_allclose(fake.tensor_current, 2 * ib.tensor_current, rtol=1e-15, atol=0)
    assert fake.mu == pytest.approx(ib.mu, rel=1e-15)           # one BCS μ for both
    assert fake.truncation == pytest.approx(2 * ib.truncation, rel=1e-12)
    assert fake.tensor_current is not None and math.isfinite(fake.truncation_current)


def test_level_without_current_variant(monkeypatch, pw_basis, pw_kdata):
    lv = dataclasses.replace(_fake_level(), current_variant=False)
    monkeypatch.setattr(L, "REGISTRY", MappingProxyType({**L.REGISTRY, FAKE: lv}))
    out = _evaluate(pw_basis, pw_kdata, ("intraband", FAKE))
    assert out["levels"]["intraband"].variants == (False, True)
    assert out["levels"][FAKE].variants == (False,)
    assert math.isnan(out["levels"][FAKE].truncation_current)


def test_every_level_in_the_response_table_and_results_file(fake_registry, tmp_path, pw_basis,
                                                            pw_kdata):
    """Every registered level (the fake one included) through the response stage's table and
    HDF5 writer (``crustsolve.response.driver``)."""
    from crustsolve.response.driver import summary_table, write_result
    from crustsolve.runfile import resolve_config

    cfg = resolve_config({"fields": "x.h5", "output": "",
                          "response": {"neutron_density": 0.01, "levels": list(L.names())}})
    mesh = KMesh.monkhorst_pack(3, A_CELL, shift=True)
    res = _superfluid_result(_evaluate(pw_basis, pw_kdata, cfg.response.levels, mesh))
    assert tuple(res.levels) == L.names()
    rows = [ln.split() for ln in summary_table(res, cfg).splitlines()]
    for name in L.names():
        # one row per variant ("<name> smearing: ..." lines are not rows of the table)
        assert [r[1] for r in rows if r[:1] == [name] and r[1] != "smearing:"] == ["no", "yes"]
    path = tmp_path / "resp.h5"
    write_result(str(path), res, cfg, MPI.COMM_SELF)
    with h5py.File(path, "r") as fh:
        assert set(fh["response"]) - {"band_margin", "b0"} == set(L.names())
        for name in L.names():
            np.testing.assert_array_equal(fh[f"response/{name}/tensor"][()], res.tensor(name))
            assert set(fh[f"response/{name}"]) >= {"no_current", "with_current"}


def test_every_default_level_in_the_main_job_outputs(fake_registry, tmp_path, monkeypatch,
                                                     pw_basis, pw_kdata):
    """The main job's summary table, results file (``summary/<quantity>/<level>/<variant>``)
    and plot show every default level of the registry, labelled by it (the fake included)."""
    import matplotlib.figure

    from crustsolve import mainjob, runfile
    from crustsolve.cli.run import plot_summary

    res = _superfluid_result(_evaluate(pw_basis, pw_kdata, L.default_names()))
    layer = SimpleNamespace(nbar=0.02, Z=40.0, A=300.0, n_n_free=0.008, functional="BSk24",
                            lattice="bcc", summary=lambda: "test layer")
    levels = mainjob.level_masses(res, layer.n_n_free, layer.Z, 2)
    ev = mainjob.Evaluation(0, 0.0, math.nan, levels,
                            levels[FAKE]["with_current"]["m_ion_star_c2_MeV"],
                            mainjob._convergence(res), (), {}, 0.0)
    cfg = runfile.resolve_config({"zeropoint": {"enabled": False, "level": FAKE},
                                  "kpoint_data": "none"})
    job = mainjob.MainJobResult(cfg, layer, (ev,), True, 0.0, 0.0)

    text = mainjob.summary_text(job)
    for name in L.default_names():
        assert sum(ln.startswith(L.label(name)) for ln in text.splitlines()) == 2   # 2 variants

    path = tmp_path / "main.h5"
    h5py.File(path, "w").close()
    mainjob.write_main_results(str(path), job, MPI.COMM_SELF, None)
    with h5py.File(path, "r") as fh:
        for q in ("n_s", "superfluid_fraction_free", "m_ion_star_over_m_ion"):
            assert list(fh[f"summary/{q}"]) == sorted(L.default_names())
            for name in L.default_names():
                assert set(fh[f"summary/{q}/{name}"]) == {"no_current", "with_current"}
        assert fh[f"summary/n_s/{FAKE}/with_current"][()] == pytest.approx(
            res.scalar(FAKE, True), rel=1e-15)

    seen = {}
    original = matplotlib.figure.Figure.savefig

    def spy(fig, *args, **kw):
        seen["ticks"] = [t.get_text() for t in fig.axes[0].get_xticklabels()]
        return original(fig, *args, **kw)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    plot_summary(job, str(tmp_path / "main.png"))
    assert seen["ticks"] == [L.label(n) for n in L.default_names()]
    assert (tmp_path / "main.png").stat().st_size > 0
