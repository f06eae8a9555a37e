"""The main job: run files, presets, an end-to-end tiny layer, resume = straight run."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from crustsolve.cli import main
from crustsolve.errors import ConfigError, InputError
from crustsolve.mainjob import free_gas_levels_per_MeV, number_of_bands
from crustsolve.runfile import PRESETS, BandsConfig, resolve_config

#: A tiny layer: low density (few neutrons per cell), coarse grid, Γ-only... quick to run in CI.
#: The coarse grid compresses the spectrum, so many bands are needed to pass μ by 2 MeV.
TINY = {"layer": {"density": 0.001}, "grid": {"points": 12, "order": 4}, "bands": {"nbands": 1250},
        "kmesh": {"n": 1, "shift": False}, "zeropoint": {"max_iter": 2, "rtol": 1e-3},
        "plot": "", "kpoint_data": "all", "pairing": {"model": "constant", "gap": 1.0}}


def test_presets_and_overrides():
    q = resolve_config()
    # == on density: the schema's default literal read back, exact by construction
    assert q.preset == "quick" and q.layer.functional == "BSk24" and q.layer.density == 0.03
    assert q.grid.points == PRESETS["quick"]["grid"]["points"]
    s = resolve_config({"preset": "standard", "grid": {"points": 30}}, {"layer": {"density": 0.05}})
    assert s.bands.solver == "chebyshev" and s.grid.points == 30 and s.layer.density == 0.05


@pytest.mark.parametrize("data, match", [
    ({"layr": {}}, r"unknown key\(s\) 'layr'"),
    ({"layer": {"density": "0.03"}}, r"layer.density must be a number"),
    ({"layer": {"density": -0.03}}, r"layer.density = -0.03 fm\^-3 is outside the allowed range"),
    ({"grid": {"points": 13}}, r"grid.points = 13 must be an even number"),
    ({"preset": "fast"}, r"preset = 'fast' is not one of"),
    ({"pairing": {"model": "constant", "gap": 0}},
     r"pairing.gap = 0.0 MeV is outside the allowed range"),
    ({"pairing": {"value": 1.0}}, r"pairing.value is no longer a run-file key: use pairing.gap"),
    ({"pairing": {"model": "profile"}}, r"pairing.model = 'profile' reads Delta\(r\) from a "
                                        r"fields file"),
    ({"pairing": {"scale": 0}}, r"pairing.scale = 0.0 is outside the allowed range"),
    ({"nev": 60}, r"nev is no longer a run-file key: use bands.nbands"),
    ({"kmesh": 4}, r"kmesh is no longer a run-file key: use \[kmesh\] n"),
    ({"gap": {"value": 1.0}}, r"gap is no longer a run-file key: use \[pairing\]"),
    ({"current": {"cnn": 1.0, "nn": 0.01}}, r"current does not apply to a layer run"),
    ({"response": {"mu": 5.0}}, r"response.mu does not apply to a layer run"),
    ({"fields": "f.h5", "layer": {"density": 0.03}, "response": {"mu": 5.0}},
     r"layer does not apply to a fields-file run"),
    ({"fields": "f.h5", "grid": {"points": 20}, "response": {"mu": 5.0}},
     r"grid.points does not apply to a fields-file run"),
    ({"response": {"levels": ["normal"]}},
     r"zeropoint.level = 'form_a' is not among response.levels \(normal\)"),
    ({"zeropoint": {"smear": "B"}}, r"zeropoint.smear = 'B' is not one of"),
    ({"bands": {"margin": 1.0}}, r"bands.margin = 1.0 MeV is outside the allowed range"),
    ({"bands": {"buffer": 0.3}}, r"bands.buffer is no longer a run-file key: use bands.margin"),
])
def test_invalid_run_files(data, match):
    with pytest.raises(ConfigError, match=match):
        resolve_config(data)


def test_number_of_bands():
    # free gas: n = 0.02 fm⁻³ → k_F = (3π² 0.02)^{1/3} = 0.84 fm⁻¹; V = 1000 fm³:
    # dN/dε = V k_F/(4π² b0) = 1000 · 0.8398/(39.478 · 20.721) = 1.0266 levels per MeV
    dos = free_gas_levels_per_MeV(1000.0, 0.02, 20.72124855009137)
    assert dos == pytest.approx(1000 * (3 * np.pi**2 * 0.02) ** (1 / 3)
                                / (4 * np.pi**2 * 20.72124855009137), rel=1e-14)
    assert dos == pytest.approx(1.0266, rel=1e-4)
    # 2 clusters × N = 100 neutrons → 100 levels, + 1.4 × 10 levels/MeV × 8 MeV = 112 more
    assert number_of_bands(BandsConfig(margin=8.0), 200.0, 10**3, 10.0) == 212
    assert number_of_bands(BandsConfig(nbands=150), 200.0, 10**3, 10.0) == 150
    with pytest.raises(InputError, match="grid has only"):
        number_of_bands(BandsConfig(), 2000.0, 8**3, 10.0)


def test_cli_reports_bad_run_file(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text("[layer]\ndensity = 0.03\nfoo = 1\n")
    assert main(["run", str(path)]) == 2
    assert "unknown key(s) 'foo' in [layer]" in capsys.readouterr().err


def _toml_value(v):
    return str(v).lower() if isinstance(v, bool) else repr(v).replace("'", '"')


def _write_toml(path, data):
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for sec, d in data.items():
        if isinstance(d, dict):
            lines.append(f"[{sec}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in d.items()]
    path.write_text("\n".join(lines) + "\n")


def _summary(path):
    with h5py.File(path, "r") as fh:
        g = fh["summary"]
        out = {name: g[name][()] for name in ("msd", "A")}
        for q in ("n_s", "superfluid_fraction_free", "superfluid_fraction_all",
                  "m_ion_star_over_m_ion", "truncation_estimate"):
            for lv in g[q]:
                for tag in g[f"{q}/{lv}"]:
                    out[f"{q}/{lv}/{tag}"] = g[f"{q}/{lv}/{tag}"][()]
        return out


@pytest.mark.slow
@pytest.mark.mpi
def test_tiny_layer_end_to_end_and_resume(comm, shared_tmp_path, monkeypatch):
    from mpi4py import MPI

    from crustsolve.log import Logger
    from crustsolve.mainjob import run_main_job
    from crustsolve.zeropoint import mean_square_displacement

    monkeypatch.chdir(shared_tmp_path)
    run_file = shared_tmp_path / "tiny.toml"
    if comm.rank == 0:
        _write_toml(run_file, {**TINY, "output": "straight.h5"})
    comm.Barrier()
    # the straight run through the Python API (the command line is exercised by the resume)
    res = run_main_job(resolve_config({**TINY, "output": "straight.h5"}), comm, Logger(comm))
    straight = _summary(shared_tmp_path / "straight.h5") if comm.rank == 0 else None

    # the default keeps only the final band calculation's per-k data (what re-analysis needs):
    # rewrite a copy of the finished file as a run with kpoint_data = "final" would
    import dataclasses
    import shutil

    from crustsolve.mainjob import write_main_results
    if comm.rank == 0:
        shutil.copy(shared_tmp_path / "straight.h5", shared_tmp_path / "compact.h5")
        with h5py.File(shared_tmp_path / "straight.h5", "r") as fh:
            assert list(fh["evaluations"]) == ["00", "01", "02"]      # kpoint_data = "all"
    comm.Barrier()
    final_cfg = dataclasses.replace(res.config, kpoint_data="final")
    write_main_results(str(shared_tmp_path / "compact.h5"),
                       dataclasses.replace(res, config=final_cfg), comm, None)
    if comm.rank == 0:
        with h5py.File(shared_tmp_path / "compact.h5", "r") as fh:
            assert list(fh["evaluations"]) == ["02"]
            assert list(fh["evaluations/02"]) == ["kpoints_nb1250"]
        assert _summary(shared_tmp_path / "compact.h5").keys() == straight.keys()

    # zero-point loop at a fixed point
    assert res.converged and len(res.evaluations) == 3
    last = res.evaluations[-1]
    assert abs(last.m_ion_c2_out - last.m_ion_c2_in) <= 1e-3 * last.m_ion_c2_in
    n_ion = 2 / (res.layer.lattice_constant ** 3)
    assert res.msd == pytest.approx(mean_square_displacement(res.layer.Z, n_ion, last.m_ion_c2_out),
                                    rel=2e-3)
    if comm.rank == 0:
        # the two denominators of every fraction: free neutrons of the composition, all neutrons
        from crustsolve.crust import build_fields
        lay = res.layer
        n_mean = float(np.mean(build_fields(lay, points=TINY["grid"]["points"]).densities["n_n"]))
        for lv in last.levels:
            for tag, m in last.levels[lv].items():
                n_s = straight[f"n_s/{lv}/{tag}"]
                assert straight[f"superfluid_fraction_free/{lv}/{tag}"] == pytest.approx(
                    n_s / lay.n_n_free, rel=1e-13)
                n_all = n_s / straight[f"superfluid_fraction_all/{lv}/{tag}"]
                # n̄_n of the band number equation = mean of the input density profile
                assert n_all == pytest.approx(n_mean, rel=1e-10)

    # the same job on one rank gives the same numbers as on all ranks
    if comm.size > 1:
        serial = None
        if comm.rank == 0:
            serial = run_main_job(resolve_config({**TINY, "output": "serial.h5"}), MPI.COMM_SELF,
                                  Logger(MPI.COMM_SELF, verbose=False))
            for level, tags in last.levels.items():
                for tag, m in tags.items():
                    assert serial.final.levels[level][tag]["n_s_fm3"] == pytest.approx(
                        m["n_s_fm3"], rel=1e-9)
        comm.Barrier()

    # interrupted run: a copy of the straight run that lost everything after the rigid lattice
    if comm.rank == 0:
        import shutil
        shutil.copy(shared_tmp_path / "straight.h5", shared_tmp_path / "resumed.h5")
        with h5py.File(shared_tmp_path / "resumed.h5", "a") as fh:
            del fh["summary"]
            for name in sorted(fh["evaluations"])[1:]:
                del fh[f"evaluations/{name}"]
    comm.Barrier()
    assert main(["run", str(run_file), "--output", "resumed.h5", "--resume"]) == 0
    if comm.rank == 0:
        resumed = _summary(shared_tmp_path / "resumed.h5")
        assert resumed.keys() == straight.keys()
        for key in straight:
            np.testing.assert_allclose(resumed[key], straight[key], rtol=1e-12, err_msg=key)
    # resuming with another configuration is refused
    assert main(["run", str(run_file), "--output", "resumed.h5", "--resume", "--gap", "2.0"]) == 2


@pytest.mark.slow
def test_scan_is_resumable(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run_file = tmp_path / "scan.toml"
    tiny = {**TINY, "zeropoint": {"enabled": False}, "hydro": False, "output": "scan.h5"}
    _write_toml(run_file, tiny)
    run_file.write_text("densities = [0.001, 0.0012]\n" + run_file.read_text())
    assert main(["scan", str(run_file)]) == 0
    rows = (tmp_path / "scan_scan.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("nbar,Z,A")
    assert (tmp_path / "scan_scan.png").stat().st_size > 0
    first = (tmp_path / "scan_0.001.h5").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["scan", str(run_file)]) == 0            # everything complete: nothing recomputed
    assert "already complete, skipped" in capsys.readouterr().out
    assert (tmp_path / "scan_0.001.h5").stat().st_mtime_ns == first
    assert (tmp_path / "scan_scan.csv").read_text().splitlines() == rows
    bad = tmp_path / "bad.toml"
    bad.write_text("densities = []\n")
    assert main(["scan", str(bad)]) == 2


def test_run_file_paths_are_relative_to_the_file(tmp_path):
    from crustsolve.cli.run import _relative_to_run_file
    cfg = tmp_path / "sub" / "run.toml"
    out = _relative_to_run_file({"fields": "f.h5", "layer": {"table": "t.dat"}, "output": "o.h5"}, cfg)
    assert out["fields"] == str(tmp_path / "sub" / "f.h5")
    assert out["layer"]["table"] == str(tmp_path / "sub" / "t.dat")
    assert out["output"] == "o.h5"                       # outputs stay relative to the cwd
    assert _relative_to_run_file({"fields": "/abs/f.h5"}, cfg)["fields"] == "/abs/f.h5"
