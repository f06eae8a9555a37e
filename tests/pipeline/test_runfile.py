"""The one run-file schema of ``crustsolve run`` (crustsolve.runfile): the README's table is
the schema's, ``--print-config`` gives a run file that reads back to the same configuration
for both kinds of run, and it computes and writes nothing."""
from __future__ import annotations

import pathlib

import pytest

from crustsolve.cli import main
from crustsolve.config import parse_toml_text
from crustsolve.runfile import RunConfig, resolve_config, schema_markdown, schema_rows, to_toml

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_table_is_the_schema():
    text = README.read_text(encoding="utf-8")
    begin, end = "<!-- run-file schema: begin -->\n", "\n<!-- run-file schema: end -->"
    table = text[text.index(begin) + len(begin):text.index(end)]
    assert table == schema_markdown(), ("README's run-file table differs from the schema: "
                                        "paste crustsolve.runfile.schema_markdown() into it")


def test_every_key_is_documented():
    rows = schema_rows()
    undocumented = [name for name, _, _, doc in rows if not doc]
    assert undocumented == []
    # a key in every table of the schema, nested ones expanded
    assert {"layer.density", "bands.margin", "kmesh.symmetry", "pairing.gap", "pairing.model",
            "response.levels", "zeropoint.level", "current.cnn", "masses.Z",
            "kpoint_data"} <= {name for name, *_ in rows}


@pytest.mark.parametrize("data", [
    {},
    {"preset": "standard", "layer": {"density": 0.05, "Z": 50.0},
     "response": {"levels": ["normal", "form_a"]}, "petsc": {"eps_tol": "1e-9"}},
    {"fields": "f.h5", "grid": {"order": 4}, "bands": {"nbands": 60},
     "kmesh": {"n": 3, "symmetry": "none"}, "pairing": {"model": "profile", "scale": 0.5},
     "response": {"mu": 5.0, "smearing": [3.0, 2.0]}, "current": {"cnn": -3.0, "nn": 0.01},
     "masses": {"n_free_profile": 0.008}},
])
def test_printed_configuration_reads_back(data):
    cfg = resolve_config(data)
    again = resolve_config(parse_toml_text(to_toml(cfg)))
    assert again == cfg
    assert isinstance(again, RunConfig)


def test_print_config_on_the_command_line_writes_nothing(tmp_path, monkeypatch, capsys, comm):
    if comm.size > 1:
        pytest.skip("serial command-line check")
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run.toml"
    run.write_text('[layer]\ndensity = 0.02\n[bands]\nmargin = 10.0\n', encoding="utf-8")
    assert main(["run", str(run), "--kmesh", "3", "--print-config"]) == 0
    out = capsys.readouterr().out
    cfg = resolve_config(parse_toml_text(out))
    assert (cfg.layer.density, cfg.bands.margin, cfg.kmesh.n) == (0.02, 10.0, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.toml"]     # no results, no plot
    assert main(["run", str(run), "--density", "-1", "--print-config"]) == 2
    assert "layer.density = -1.0 fm^-3 is outside the allowed range" in capsys.readouterr().err
