"""The registry of the pairing-gap models (crustsolve.response.pairing).

Expected names come from the registry. A fake model registered in a monkeypatched copy of
the registry flows through the run-file schema and ``superfluid_density`` with no other
module edited: a new gap model touches ``crustsolve/response/pairing.py`` only.
"""
import dataclasses
import re
from types import MappingProxyType
from typing import ClassVar

import numpy as np
import pytest

from crustsolve.config import from_dict
from crustsolve.errors import ConfigError, InputError
from crustsolve.response import pairing


@dataclasses.dataclass(frozen=True)
class DoubledGap(pairing.GapModel):
    """Test model: Δ_αk = 2 × half for every band and k."""

    name: ClassVar[str] = "doubled"
    description: ClassVar[str] = "test only: twice a constant"
    half: float = pairing.parameter(0.5, "MeV", "half the gap", lo=0.0)

    def describe(self):
        return {"model": self.name, "half_MeV": self.half}

    def prepare(self, hamiltonian, k0):
        return pairing.UniformGaps(2.0 * self.half)


@pytest.fixture
def fake_registry(monkeypatch):
    reg = MappingProxyType({**pairing.REGISTRY, DoubledGap.name: DoubledGap})
    monkeypatch.setattr(pairing, "REGISTRY", reg)
    return reg


def test_registry_entries():
    assert pairing.names()
    for name, cls in pairing.registry().items():
        assert cls.name == name and cls.description
        model = cls()                                  # every parameter has a default
        assert model.describe()["model"] == name
        for f in pairing.parameters(cls):
            assert f.metadata["description"]


def test_unknown_gap_model_names_the_key_value_and_allowed():
    allowed = re.escape(", ".join(pairing.names()))
    with pytest.raises(InputError, match=f"unknown gap model 'bcs' in pairing.model; allowed: {allowed}$"):
        pairing.make("bcs")
    with pytest.raises(InputError, match=f"unknown gap model 'bcs' in pairing.model; allowed: {allowed}$"):
        pairing.GapSpec("bcs")
    from crustsolve.runfile import resolve_config

    with pytest.raises(ConfigError, match=rf"\[pairing\] unknown gap model 'bcs' in pairing.model; "
                                          rf"allowed: {allowed}$"):
        resolve_config({"fields": "x.h5", "response": {"neutron_density": 0.01},
                        "pairing": {"model": "bcs"}})


def test_parameters_are_validated():
    with pytest.raises(InputError, match=r"pairing.gap = -1.0 MeV is outside the allowed range"):
        pairing.ConstantGap(-1.0)
    with pytest.raises(InputError, match=r"pairing.gap must be a number, got True"):
        pairing.ConstantGap(True)
    with pytest.raises(InputError, match=r"gap model 'constant' has no parameter\(s\) scale; "
                                         r"its parameters: gap"):
        pairing.make("constant", scale=2.0)
    from crustsolve.runfile import resolve_config

    base = {"fields": "x.h5", "response": {"neutron_density": 0.01}}
    with pytest.raises(ConfigError, match=r"pairing.gap does not apply to gap model 'profile' "
                                          r"\(its parameters: scale\)"):
        resolve_config({**base, "pairing": {"model": "profile", "gap": 2.0}})
    with pytest.raises(ConfigError, match=r"pairing.gap = -0.5 MeV is outside"):
        resolve_config({**base, "pairing": {"model": "constant", "gap": -0.5}})
    with pytest.raises(ConfigError, match=r"pairing.kind is no longer a run-file key: use "
                                          r"pairing.model"):
        resolve_config({**base, "pairing": {"kind": "constant"}})
    with pytest.raises(ConfigError, match=r"pairing.model = 'functional' needs a layer run"):
        resolve_config({**base, "pairing": {"model": "functional"}})
    with pytest.raises(ConfigError, match=r"pairing.model = 'profile' reads Delta\(r\) from a "
                                          r"fields file"):
        resolve_config({"pairing": {"model": "profile"}})
    # the default gap model by kind of run
    assert resolve_config(base).pairing.model == "profile"
    assert resolve_config({}).pairing.model == "functional"
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 'width' in \[pairing\]"):
        resolve_config({**base, "pairing": {"width": 2.0}})
    cfg = resolve_config({**base, "pairing": {"model": "profile", "scale": 0.5}})
    assert isinstance(cfg.pairing.gap_model(), pairing.ProfileGap)
    assert cfg.pairing.gap_model().scale == pytest.approx(0.5, rel=1e-15)


def test_gapspec_alias_and_provenance():
    c = pairing.GapSpec("constant", 1.2)
    assert isinstance(c, pairing.ConstantGap)
    assert c.describe() == {"model": "constant", "gap_MeV": pytest.approx(1.2, rel=1e-15)}
    f = pairing.GapSpec("field", scale=0.7)             # "field": the former name of "profile"
    assert isinstance(f, pairing.ProfileGap)
    assert f.describe() == {"model": "profile", "scale": pytest.approx(0.7, rel=1e-15)}
    assert isinstance(pairing.as_model(0.8), pairing.ConstantGap)
    with pytest.raises(InputError, match=r"gap must be a gap model .* or a number \(MeV\), "
                                         r"got 'big'"):
        pairing.as_model("big")


def test_per_k_gaps_of_the_models():
    eps = np.array([-3.0, 1.0, 1.0, 1.0 + 1e-9, 4.0])       # one 3-fold cluster (tol 1e-6)
    rng = np.random.default_rng(3)
    M = rng.normal(size=(5, 5)) + 1j * rng.normal(size=(5, 5))
    M = 0.5 * (M + M.conj().T)                                # Ψᴴ Δ̂ Ψ of a real Δ(r)
    gaps, blocks, mat = pairing.UniformGaps(1.5).band_gaps(eps, lambda mat: M, 1e-6)
    np.testing.assert_allclose(gaps, 1.5, rtol=1e-15)
    assert blocks == [] and mat is None
    gaps, blocks, mat = pairing.ProjectedFieldGaps(object()).band_gaps(eps, lambda mat: M, 1e-6)
    assert mat is M
    # outside the cluster the band-diagonal elements, inside it the eigenvalues of its block
    np.testing.assert_allclose(gaps[[0, 4]], np.real(np.diag(M))[[0, 4]], rtol=1e-15)
    np.testing.assert_allclose(gaps[1:4], np.linalg.eigvalsh(M[1:4, 1:4]), rtol=1e-12)
    (s0, s1, W), = blocks
    assert (s0, s1) == (1, 4)
    np.testing.assert_allclose(W.conj().T @ M[1:4, 1:4] @ W, np.diag(gaps[1:4]), atol=1e-12)


def test_fake_model_in_the_run_file_schema(fake_registry):
    cfg_cls = pairing.config_class()                          # schema of the patched registry
    cfg = from_dict(cfg_cls, {"model": "doubled", "half": 0.6}, prefix="pairing")
    model = cfg.gap_model()
    assert isinstance(model, DoubledGap) and model.half == pytest.approx(0.6, rel=1e-15)
    with pytest.raises(ConfigError, match=r"pairing.half does not apply to gap model 'constant'"):
        from_dict(cfg_cls, {"model": "constant", "half": 0.6}, prefix="pairing")
    assert pairing.make("doubled", half=0.3).describe() == {
        "model": "doubled", "half_MeV": pytest.approx(0.3, rel=1e-15)}


@pytest.mark.mpi
def test_fake_model_flows_through_superfluid_density(fake_registry, cosine_fields, solve):
    """A registered model's per-k gaps are what the levels use: Δ = 2 × 0.6 MeV from the fake
    model gives the numbers of the constant 1.2 MeV gap (the same gap arrays, bit for bit)."""
    from crustsolve.bands.kmesh import KMesh

    km = KMesh.monkhorst_pack(2, 10.0, shift=True)
    kw = dict(density=0.01, levels=("intraband", "form_b"), nev=60)
    fake = solve(cosine_fields(-3.0), km, gap=pairing.make("doubled", half=0.6), **kw)
    ref = solve(cosine_fields(-3.0), km, gap=pairing.GapSpec("constant", 1.2), **kw)
    assert fake.gap == {"model": "doubled", "half_MeV": pytest.approx(0.6, rel=1e-15)}
    for lv in kw["levels"]:
        np.testing.assert_allclose(fake.tensor(lv), ref.tensor(lv), rtol=1e-14, atol=0)
