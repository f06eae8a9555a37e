"""Hostile inputs: every one gives one clean line from rank 0 (exit 2) or a named warning,
and never a traceback, a hang, a destroyed file or a stray temporary file.

:data:`HOSTILE` is the table of the inputs tried (command line, expected exit code, a
fragment of the message, files that must survive byte for byte, files that must not appear).
Each case runs in-process through :func:`crustsolve.cli.main` in a fresh copy of a directory
of prepared files; marked ``mpi``, so the whole table also runs on 2 and 3 ranks, where a
rank-0-only error that is not shared would hang — the watchdog turns that into a failure.
"""
from __future__ import annotations

import faulthandler
import hashlib
import json
import os
import shutil
import sys

import pytest

#: Seconds a case may take before the watchdog ends the process (a deadlock fails the run).
CASE_TIMEOUT = 120

_MINIMAL_SCAN = '[grid]\npoints = 8\n[kmesh]\nn = 1\n[zeropoint]\nenabled = false\n'

# (id, argv, exit code, fragment of stderr (code 2) or stdout warning (code 0), options)
# options: keep = files that must be unchanged, absent = files that must not exist,
#          toml = text of argv[1] written before the run, patch_memory = free bytes to fake.
HOSTILE = [
    # ---- bands: outputs
    ("B01", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "cos8.h5"], 2,
     "same file as the input", {"keep": ["cos8.h5"]}),
    ("B02", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "adir"], 2,
     "is a directory", {"absent": ["adir.tmp"]}),
    ("B03", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "missing/b.h5"], 2,
     "'missing' does not exist", {}),
    ("B04", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "notes.txt"], 2,
     "--overwrite", {"keep": ["notes.txt"]}),
    ("B05", ["bands", "cos8.h5", "--order", "4", "--nev", "5", "--out", "prev.h5"], 2,
     "solver.nev: 4 there, 5 now", {"keep": ["prev.h5"]}),
    ("B42", ["bands", "cos8.h5", "--order", "4", "--out", ""], 2, "--out: an empty", {}),
    ("B46", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "o.h5", "--plot", "o.h5"],
     2, "name the same file", {}),
    ("B31", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "o.h5", "--plot",
             "missing/x.png"], 2, "'missing' does not exist", {"absent": ["o.h5"]}),
    ("B32", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "o.h5", "--plot",
             "x.xyz"], 2, "unknown image format '.xyz'", {"absent": ["o.h5"]}),
    # ---- bands: field files
    ("B06", ["bands", "missing.h5"], 2, "'missing.h5': no such file", {}),
    ("B07", ["bands", "notes.txt"], 2, "not an HDF5 file", {"keep": ["notes.txt"]}),
    ("B43", ["bands", "adir"], 2, "it is a directory", {}),
    ("B08", ["bands", "u1e300.h5", "--order", "4", "--nev", "4", "--out", "o.h5"], 2,
     "field U has |values| up to 1e+300 MeV", {}),
    ("B09", ["bands", "corrupt.h5", "--order", "4", "--nev", "4", "--out", "o.h5"], 2,
     "does not match its stored SHA-256 checksum", {}),
    # ---- bands: numbers
    ("B10", ["bands", "cos8.h5", "--order", "4", "--nev", "0"], 2, "--nev = 0", {}),
    ("B11", ["bands", "cos8.h5", "--order", "4", "--nev", "-3"], 2, "--nev = -3", {}),
    ("B12", ["bands", "cos8.h5", "--order", "4", "--nev", "600"], 2, "--nev 600: the grid", {}),
    ("B15", ["bands", "cos8.h5", "--order", "4", "--kmesh", "0"], 2, "--kmesh = 0", {}),
    ("B16", ["bands", "cos8.h5", "--order", "4", "--kmesh", "-2"], 2, "--kmesh = -2", {}),
    ("B17", ["bands", "cos8.h5", "--order", "4", "--kpath", "GQ"], 2, "--kpath: k path 'GQ'", {}),
    ("B18", ["bands", "cos8.h5", "--order", "4", "--kpath", "G"], 2, "--kpath: k path 'G'", {}),
    ("B19", ["bands", "cos8.h5", "--order", "4", "--kpath", "GX", "--points", "0"], 2,
     "--points: points per segment = 0", {}),
    ("B20", ["bands", "cos8.h5", "--order", "4", "--tol", "0"], 2, "--tol", {}),
    ("B21", ["bands", "cos8.h5", "--order", "4", "--tol", "nan"], 2, "--tol", {}),
    ("B22", ["bands", "cos8.h5", "--order", "4", "--tol", "0.5"], 2, "(0, 0.001]", {}),
    ("B23", ["bands", "cos8.h5", "--order", "4", "--tol", "-1"], 2, "--tol", {}),
    ("B24", ["bands", "cos8.h5", "--order", "3"], 2, "--order", {}),
    ("B25", ["bands", "cos8.h5", "--order", "0"], 2, "--order", {}),
    ("B26", ["bands", "cos8.h5", "--order", "40"], 2, "--order: order = 40", {}),
    ("B27", ["bands", "cos8.h5", "--order", "4", "--kgroups", "0"], 2, "--kgroups = 0", {}),
    ("B28", ["bands", "cos8.h5", "--order", "4", "--kgroups", "5"], 2, "positive divisor", {}),
    ("B29", ["bands", "cos8.h5", "--order", "4", "--max-it", "0"], 2, "--max-it = 0", {}),
    ("B30", ["bands", "cos8.h5", "--order", "4", "--mpd", "0"], 2, "--mpd = 0", {}),
    ("B41", ["bands", "u64.h5", "--solver", "lapack", "--nev", "4"], 2,
     "--solver lapack: the matrix has 262144 rows", {}),
    # ---- bands: memory (the free memory is faked so the outcome does not depend on the host)
    ("B13", ["bands", "u64.h5", "--nev", "20000"], 2, "--allow-oversubscribe-memory",
     {"patch_memory": 4e9}),
    ("B14", ["bands", "cos8.h5", "--order", "4", "--kmesh", "512"], 2,
     "not enough memory: --kmesh 512", {"patch_memory": 4e9}),
    ("B51", ["bands", "u64.h5", "--nev", "100", "--kmesh", "2", "--interpolate", "4"], 2,
     "--allow-oversubscribe-memory", {"patch_memory": 4e9}),
    # ---- bands: PETSc options
    ("B33", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "-crust_eps_type", "foo"], 2,
     "-crust_eps_type = 'foo'", {"absent": ["bands.h5"]}),
    ("B34", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "-crust_eps_tol", "abc"], 2,
     "-crust_eps_tol = 'abc' is not a number", {}),
    ("B35", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "-crust_eps_tol", "1e-2"], 2,
     "-crust_eps_tol = 0.01 is outside the allowed range (0, 0.001]", {}),
    ("B38", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "-crust_eps_max_it", "-5"], 2,
     "-crust_eps_max_it = -5", {}),
    ("B39", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "-crust_eps_largest_real"], 2,
     "-crust_eps_largest_real is not allowed", {}),
    ("B40", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "-crust_st_type", "bogus"], 2,
     "-crust_st_type = 'bogus'", {}),
    ("B44", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "-crust_eps_ncv", "abc"], 2,
     "-crust_eps_ncv = 'abc' is not an integer", {}),
    ("B45", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "-crust_eps_mpd", "0"], 2,
     "-crust_eps_mpd = 0", {}),
    ("B36", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "o.h5",
             "-bogus_option_xyz"], 0, "-bogus_option_xyz", {}),
    ("B37", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "o.h5", "--solver",
             "lapack", "-crust_eps_tol", "1e-9"], 0, "-crust_eps_tol", {}),
    ("B47", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "o.h5", "--solver",
             "chebyshev", "-eps_type", "lapack"], 0, "-eps_type", {}),
    ("B48", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--interpolate", "-1"], 2,
     "--interpolate = -1", {}),
    ("B49", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--kpath", "GX",
             "--interpolate", "2"], 2, "--interpolate works with --kmesh, not with --kpath", {}),
    ("B50", ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--kmesh", "2",
             "--interpolate", "1", "--interpolate-tol", "0"], 2, "--interpolate-tol = 0", {}),
    # ---- layer
    ("L01", ["layer", "--density", "0.03", "--z-scan", "abc"], 2, "--z-scan: 'abc'", {}),
    ("L02", ["layer", "--density", "0.03", "--z-scan", ","], 2, "--z-scan ','", {}),
    ("L03", ["layer", "--density", "0.03", "--z-scan", "40,nan"], 2, "--z-scan Z = nan", {}),
    ("L04", ["layer", "--density", "0.03", "--z-scan", "-10"], 2, "--z-scan Z = -10", {}),
    ("L05", ["layer", "--density", "1"], 2, "--density: mean baryon density", {}),
    ("L06", ["layer", "--density", "nan"], 2, "--density = nan", {}),
    ("L07", ["layer", "--density", "-0.03"], 2, "--density = -0.03", {}),
    ("L08", ["layer", "--density", "0.03", "--points", "7", "--out", "x.h5"], 2, "--points", {}),
    ("L09", ["layer", "--density", "0.03", "--points", "0", "--out", "x.h5"], 2, "--points", {}),
    ("L10", ["layer", "--density", "0.03", "--points", "100000", "--out", "x.h5"], 2,
     "--points", {}),
    ("L11", ["layer", "--density", "0.03", "--spacing", "0", "--out", "x.h5"], 2,
     "--spacing", {}),
    ("L12", ["layer", "--density", "0.03", "--spacing", "-1", "--out", "x.h5"], 2,
     "--spacing", {}),
    ("L13", ["layer", "--density", "0.03", "--spacing", "1e-3", "--out", "x.h5"], 2,
     "--spacing", {}),
    ("L14", ["layer", "--density", "0.03", "--points", "12", "--out", "cos8.h5"], 2,
     "--overwrite", {"keep": ["cos8.h5"]}),
    ("L15", ["layer", "--density", "0.03", "--points", "12", "--out", "notes.txt"], 2,
     "not an HDF5 file", {"keep": ["notes.txt"]}),
    ("L16", ["layer", "--density", "0.03", "--points", "12", "--out", "adir"], 2,
     "is a directory", {"absent": ["adir.tmp"]}),
    ("L17", ["layer", "--density", "0.03", "--points", "12", "--out", "missing/x.h5"], 2,
     "'missing' does not exist", {}),
    ("L18", ["layer", "--density", "0.03", "--points", "12", "--plot", "missing/x.png"], 2,
     "'missing' does not exist", {}),
    ("L19", ["layer", "--density", "0.03", "--points", "12", "--plot", "x.xyz"], 2,
     "unknown image format", {}),
    ("L20", ["layer", "--density", "0.03", "--table", "missing.dat"], 2, "missing.dat", {}),
    ("L21", ["layer", "--density", "0.03", "--table", "notes.txt"], 2, "not a numeric table",
     {"keep": ["notes.txt"]}),
    ("L22", ["layer", "--density", "0.03", "--gap", "-1", "--out", "x.h5"], 2, "--gap = -1", {}),
    ("L23", ["layer", "--density", "0.03", "--gap", "nan", "--out", "x.h5"], 2, "--gap = nan", {}),
    ("L24", ["layer", "--density", "0.03", "--z", "0"], 2, "--z = 0", {}),
    ("L25", ["layer", "--density", "0.03", "--z", "nan"], 2, "--z = nan", {}),
    ("L26", ["layer", "--density", "0.03", "--z", "1000"], 2, "--z = 1000", {}),
    ("L27", ["layer", "--functional", "foo", "--density", "0.03"], 2, "--functional", {}),
    ("L28", ["layer", "--density", "0.03", "--table", "notes.txt", "--out", "notes.txt"], 2,
     "same file as the input --table", {"keep": ["notes.txt"]}),
    ("L29", ["layer", "--density", "0.03", "--points", "12", "--out", "x.h5", "--plot", "x.h5"],
     2, "name the same file", {}),
    ("L30", ["layer", "--density", "0.03", "--points", "512", "--out", "x.h5"], 2,
     "not enough memory: the fields on a 512³ grid", {"patch_memory": 4e9, "absent": ["x.h5"]}),
    # ---- scan (all refused before the first layer is computed)
    ("S01", ["scan", "nonutf8.toml"], 2, "is not UTF-8 text", {}),
    ("S02", ["scan", "bad.toml"], 2, "not valid TOML", {}),
    ("S03", ["scan", "missing.toml"], 2, "missing.toml", {}),
    ("S04", ["scan", "adir"], 2, "Is a directory", {}),
    ("S05", ["scan", "s.toml"], 2, "'densities' must be", {"toml": 'densities = "x"\n'}),
    ("S06", ["scan", "s.toml"], 2, "'densities' must be", {"toml": "densities = []\n"}),
    ("S07", ["scan", "s.toml"], 2, "densities[1] = 0.5", {
        "toml": 'densities = [0.03, 0.5]\noutput = "s.h5"\n' + _MINIMAL_SCAN,
        "absent": ["s_0.03.h5"]}),
    ("S08", ["scan", "s.toml"], 2, "appears twice", {
        "toml": "densities = [0.03, 0.03]\n" + _MINIMAL_SCAN, "absent": ["results_0.03.h5"]}),
    ("S09", ["scan", "s.toml"], 2, "'densities' must be", {"toml": "densities = [true]\n"}),
    ("S10", ["scan", "s.toml"], 2, "'missing' does not exist",
     {"toml": 'densities = [0.03]\noutput = "missing/r.h5"\n'}),
    ("S11", ["scan", "s.toml"], 2, "grid.points: 12 there, 14 now", {
        "toml": 'densities = [0.03]\noutput = "st.h5"\n[grid]\npoints = 14\n',
        "keep": ["st_0.03.h5"]}),
    ("S12", ["scan", "s.toml", "-crust_eps_tol", "abc"], 2, "-crust_eps_tol = 'abc'",
     {"toml": "densities = [0.03]\n"}),
    ("S13", ["scan", "s.toml"], 2, "[petsc] eps_tol = 'abc'",
     {"toml": 'densities = [0.03]\n[petsc]\neps_tol = "abc"\n'}),
    ("S14", ["scan", "s.toml"], 2, "not an HDF5 file", {
        "toml": 'densities = [0.03]\noutput = "notes.txt"\n', "keep": ["notes.txt_0.03.h5"]}),
    ("S15", ["scan", "s.toml"], 2, "'densities' must be", {"toml": "densities = [0.03, nan]\n"}),
    ("S19", ["scan", "s.toml"], 2, "'SLy4' has no built-in neutron pairing",
     {"toml": 'densities = [0.03]\n[layer]\nfunctional = "SLy4"\n'}),
    ("S20", ["scan", "s.toml"], 2, "pairing.scale = 0.0 is outside",
     {"toml": 'densities = [0.03]\n[pairing]\nscale = 0.0\n'}),
    ("S21", ["scan", "s.toml"], 2, "pairing.kind is no longer a run-file key",
     {"toml": 'densities = [0.03]\n[pairing]\nkind = "constant"\n'}),
    ("S22", ["scan", "s.toml"], 2, "kmesh.interpolate = -2 is outside the allowed range",
     {"toml": 'densities = [0.03]\n[kmesh]\ninterpolate = -2\n'}),
    ("S23", ["scan", "s.toml"], 2, "kmesh.interpolate_tol = 0.0 MeV is outside",
     {"toml": 'densities = [0.03]\n[kmesh]\ninterpolate = 2\ninterpolate_tol = 0.0\n'}),
    ("A01", ["reanalyse", "none.h5"], 2, "cannot read results file", {}),
    ("A02", ["reanalyse", "none.h5", "--gap", "1,x"], 2, "--gap: 'x' is not a number", {}),
    ("A03", ["reanalyse", "none.h5", "--temperature", "-1"], 2, "--temperature = -1", {}),
    ("A04", ["reanalyse", "none.h5", "--gap-scale", "inf"], 2, "--gap-scale = inf", {}),
    ("S16", ["scan", "s_0.03.h5"], 2, "same file as the input RUN.toml",
     {"toml": 'densities = [0.03]\noutput = "s"\n', "keep": ["s_0.03.h5"]}),
    # ---- core
    ("C01", ["core", "--density", "4.9"], 2, "validity range of BSk24 uniform matter", {}),
    ("C02", ["core", "--density", "1e-6"], 2, "validity range of BSk24 uniform matter", {}),
    ("C03", ["core", "--density", "0.16", "--temperature", "1e6", "--gap-n", "1", "--gap-p",
             "1"], 2, "assume degenerate matter", {}),
    ("C04", ["core", "--density-range", "0.1", "0.5", "1e9"], 2,
     "--allow-oversubscribe-memory", {"patch_memory": 4e9}),
    ("C05", ["core", "--density-range", "0.1", "0.5", "nan"], 2, "NUM = nan", {}),
    ("C06", ["core", "--density-range", "0.1", "0.5", "inf"], 2, "NUM = inf", {}),
    ("C07", ["core", "--density-range", "0.1", "0.5", "-3"], 2, "NUM = -3", {}),
    ("C08", ["core", "--density", "nan"], 2, "--density = nan", {}),
    ("C09", ["core", "--density", "inf"], 2, "--density = inf", {}),
    ("C10", ["core", "--density", "0.16", "--csv", "missing/x.csv"], 2, "does not exist", {}),
    ("C11", ["core", "--density", "0.16", "--csv", "adir"], 2, "is a directory", {}),
    ("C12", ["core", "--density", "0.16", "--plot", "x.xyz"], 2, "unknown image format", {}),
    ("C13", ["core", "--density", "0.16", "--plot", "missing/x.png"], 2, "does not exist", {}),
    ("C14", ["core", "--density", "0.16", "--h5", "notes.txt"], 2, "not an HDF5 file",
     {"keep": ["notes.txt"]}),
    ("C15", ["core", "--density", "0.2", "--h5", "prevcore.h5"], 2,
     "densities: [0.16] there, [0.2] now", {"keep": ["prevcore.h5"]}),
    ("C16", ["core", "--density", "0.16", "--csv", "x.out", "--h5", "x.out"], 2,
     "name the same file", {}),
    ("C17", ["core", "--density", "0.16", "--proton-fraction", "nan"], 2, "--proton-fraction", {}),
    ("C18", ["core", "--density", "0.16", "--gap-n", "nan"], 2, "--gap-n = nan", {}),
    ("C19", ["core", "--density", "0.16", "--gap-n", "-1"], 2, "--gap-n = -1", {}),
    ("C20", ["core", "--density", "0.16", "--tc-n", "inf"], 2, "--tc-n = inf", {}),
    ("C22", ["core", "--density", "0.16", "--temperature", "nan"], 2, "--temperature = nan", {}),
    ("C23", ["core", "--density", "0.16", "--h5", "adir"], 2, "is a directory", {}),
    ("C24", ["core", "--density-range", "0.1", "5", "3"], 2, "--density-range STOP = 5", {}),
    ("C25", ["core", "--density", "0.16", "--csv", "notes.txt"], 2,
     "not a table written by crustsolve", {"keep": ["notes.txt"]}),
    ("C21", ["core", "--density", "0.16", "-eps_tol", "1e-9"], 0,
     "does not use PETSc; these options were ignored: -eps_tol", {}),
    # ---- star
    ("T01", ["star", "--mass-range", "1", "2", "nan"], 2, "NUM = nan", {}),
    ("T02", ["star", "--mass-range", "1", "2", "inf"], 2, "NUM = inf", {}),
    ("T03", ["star", "--mass-range", "1", "2", "1e9"], 2, "--allow-oversubscribe-memory",
     {"patch_memory": 4e9}),
    ("T04", ["star", "--mass", "nan"], 2, "--mass = nan", {}),
    ("T05", ["star", "--mass", "3"], 2, "--mass = 3.0 Msun is outside the allowed range", {}),
    ("T06", ["star", "--mass", "0"], 2, "--mass = 0.0", {}),
    ("T07", ["star", "--mass", "1.4", "--n-radial", "5"], 2, "--n-radial = 5", {}),
    ("T08", ["star", "--mass", "1.4", "--min-mass", "nan"], 2, "--min-mass = nan", {}),
    ("T09", ["star", "--mass", "1.4", "--transition-density", "0.5"], 2,
     "--transition-density: transition_density = 0.5", {}),
    ("T10", ["star", "--mass", "1.4", "--functional", "SLy4"], 2, "'SLy4' has no Pearson", {}),
    ("T11", ["star", "--mass", "1.4", "--plot", "x.xyz"], 2, "unknown image format", {}),
    ("T12", ["star", "--mass", "1.4", "--csv", "missing/x.csv"], 2, "does not exist", {}),
    ("T13", ["star", "--mass", "1.4", "--h5", "notes.txt"], 2, "not an HDF5 file",
     {"keep": ["notes.txt"]}),
    ("T14", ["star", "--mass", "1.4", "--transition-density", "nan"], 2,
     "--transition-density = nan", {}),
    ("T15", ["star", "--mass", "1.4", "--csv", "x.out", "--plot", "x.out"], 2,
     "name the same file", {}),
    # ---- the command line itself
    ("G01", ["bogus"], 2, "invalid choice: 'bogus'", {}),
    ("G02", ["core", "--density", "abc"], 2, "invalid float value: 'abc'", {}),
    ("G03", ["bands"], 2, "FIELDS.h5", {}),
]


def _md5(path) -> str:
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read()).hexdigest()


def make_pristine(directory) -> None:
    """The prepared files of :data:`HOSTILE`, written by rank 0 into ``directory``."""
    import h5py
    import numpy as np

    from crustsolve.bands import Fields
    from crustsolve.runfile import identity_of, resolve_config
    from crustsolve.results import identity_json

    d = str(directory)
    Fields.separable_cosine(8, 16.0, -6.0).write(f"{d}/cos8.h5")
    Fields.uniform(64, 40.0, -20.0).write(f"{d}/u64.h5")
    shutil.copy(f"{d}/cos8.h5", f"{d}/u1e300.h5")
    with h5py.File(f"{d}/u1e300.h5", "r+") as fh:
        u = fh["U"][()]
        u[0, 0, 0] = 1e300
        fh["U"][...] = u
    shutil.copy(f"{d}/cos8.h5", f"{d}/corrupt.h5")
    corrupt_raw_value(f"{d}/corrupt.h5", "U", 37)
    with open(f"{d}/notes.txt", "w", encoding="utf-8") as fh:
        fh.write("my precious notes\n")
    with open(f"{d}/notes.txt_0.03.h5", "w", encoding="utf-8") as fh:
        fh.write("not a layer file\n")
    with open(f"{d}/nonutf8.toml", "wb") as fh:
        fh.write(b"densities = [0.03]\n# caf\xe9\n")
    with open(f"{d}/bad.toml", "w", encoding="utf-8") as fh:
        fh.write("densities = [0.03\n")
    os.makedirs(f"{d}/adir")
    # A layer file of a scan made with a 12³ grid (the scan of S11 asks for 14³).
    cfg = resolve_config({"layer": {"density": 0.03}, "grid": {"points": 12},
                          "output": "st_0.03.h5", "plot": ""})
    with h5py.File(f"{d}/st_0.03.h5", "w") as fh:
        fh.attrs["run_config"] = identity_json(identity_of(cfg))
        g = fh.create_group("summary")
        for name, value in (("nbar", 0.03), ("Z", 40.0), ("A", 1000.0)):
            g[name] = np.float64(value)


def corrupt_raw_value(path, name: str, index: int) -> None:
    """Overwrite one stored float64 of dataset ``name`` behind HDF5's back (bit rot)."""
    import h5py

    with h5py.File(path, "r") as fh:
        offset = fh[name].id.get_offset()
    with open(path, "r+b") as fh:
        fh.seek(offset + 8 * index)
        fh.write(b"\x00\x00\x00\x00\x00\x00\xf0\x3f")  # 1.0


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A directory shared by all ranks with the prepared files and two earlier results."""
    from mpi4py import MPI

    from crustsolve.cli import main

    world = MPI.COMM_WORLD
    path = str(tmp_path_factory.mktemp("hostile")) if world.rank == 0 else None
    path = world.bcast(path, root=0)
    if world.rank == 0:
        make_pristine(path)
    world.Barrier()
    assert main(["bands", f"{path}/cos8.h5", "--order", "4", "--nev", "4",
                 "--out", f"{path}/prev.h5"]) == 0
    assert main(["core", "--density", "0.16", "--h5", f"{path}/prevcore.h5"]) == 0
    return path


@pytest.fixture
def watchdog():
    """End the process if a case hangs (a deadlock must fail the run, not block it)."""
    faulthandler.dump_traceback_later(CASE_TIMEOUT, exit=True, file=sys.__stderr__)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def clean_petsc_options():
    """Options a case adds to PETSc's database do not leak into later tests."""
    from crustsolve.petsc_env import init_petsc

    PETSc, _ = init_petsc()
    before = set(PETSc.Options().getAll())
    yield
    opts = PETSc.Options()
    for name in list(opts.getAll()):
        if name not in before:
            opts.delValue(name)


@pytest.fixture
def case_dir(pristine, comm, monkeypatch):
    """A fresh copy of the prepared files, as the working directory of every rank."""
    path = f"{pristine}_case" if comm.rank == 0 else None
    if comm.rank == 0:
        shutil.rmtree(path, ignore_errors=True)
        shutil.copytree(pristine, path)
    path = comm.bcast(path, root=0)
    comm.Barrier()
    monkeypatch.chdir(path)
    yield path
    comm.Barrier()


@pytest.mark.mpi
@pytest.mark.parametrize("cid, argv, code, fragment, opts", HOSTILE, ids=[c[0] for c in HOSTILE])
def test_hostile_input(cid, argv, code, fragment, opts, comm, case_dir, capsys, monkeypatch,
                       watchdog, clean_petsc_options):
    from crustsolve import parallel
    from crustsolve.cli import main

    if "toml" in opts and comm.rank == 0:
        with open(argv[1], "w", encoding="utf-8") as fh:
            fh.write(opts["toml"])
    if "patch_memory" in opts:
        monkeypatch.setattr(parallel, "free_memory", lambda: (opts["patch_memory"], "test"))
    keep = {f: _md5(f) for f in opts.get("keep", [])} if comm.rank == 0 else {}
    comm.Barrier()
    rc = main(list(argv))
    out, err = capsys.readouterr()
    assert rc == code, (cid, out, err)
    assert "Traceback" not in err
    if comm.rank == 0:
        if code == 2:
            lines = err.strip().splitlines()
            assert len(lines) >= 1 and fragment in lines[-1], (cid, err)
            assert all(line.startswith(("crustsolve", "usage", " ")) for line in lines), err
        else:
            assert "WARNING" in out and fragment in out, (cid, out)
        for name, digest in keep.items():
            assert os.path.exists(name) and _md5(name) == digest, f"{cid} changed {name}"
        for name in opts.get("absent", []):
            assert not os.path.exists(name), f"{cid} left {name}"
        strays = [f for f in os.listdir(".") if ".tmp" in f]
        assert not strays, f"{cid} left temporary files {strays}"
    else:
        assert err == "", f"rank {comm.rank} printed: {err}"


def test_table_ids_are_unique():
    ids = [c[0] for c in HOSTILE]
    assert len(ids) == len(set(ids))
    assert len(HOSTILE) >= 130


# --------------------------------------------------------------------------- outputs
@pytest.mark.mpi
def test_overwrite_replaces_a_file_of_another_configuration(case_dir, comm, watchdog,
                                                            clean_petsc_options):
    import h5py

    from crustsolve.cli import main

    assert main(["bands", "cos8.h5", "--order", "4", "--nev", "5", "--out", "prev.h5"]) == 2
    assert main(["bands", "cos8.h5", "--order", "4", "--nev", "5", "--out", "prev.h5",
                 "--overwrite"]) == 0
    # The same configuration again is a plain re-run: allowed without --overwrite.
    assert main(["bands", "cos8.h5", "--order", "4", "--nev", "5", "--out", "prev.h5"]) == 0
    if comm.rank == 0:
        with h5py.File("prev.h5", "r") as fh:
            assert fh["bands/energies"].shape == (1, 5)
            identity = json.loads(fh.attrs["identity"])
        assert identity["solver"]["nev"] == 5 and set(identity["fields_sha256"]) == {"U", "B"}


@pytest.mark.mpi
def test_petsc_options_recorded_and_in_the_identity(case_dir, comm, watchdog,
                                                    clean_petsc_options):
    import h5py

    from crustsolve.cli import main

    assert main(["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "o.h5",
                 "-crust_eps_tol", "1e-9"]) == 0
    if comm.rank == 0:
        with h5py.File("o.h5", "r") as fh:
            options = json.loads(fh.attrs["petsc_options"])
            identity = json.loads(fh.attrs["identity"])
        assert options["crust_eps_tol"] == "1e-9"
        assert identity["petsc_options"] == {"crust_eps_tol": "1e-9"}
    # Another tolerance is another configuration.
    assert main(["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "o.h5",
                 "-crust_eps_tol", "1e-10"]) == 2


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    from crustsolve.results import atomic_write

    target = tmp_path / "r.txt"
    target.write_text("old")

    def failing(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, failing)
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["r.txt"]
    atomic_write(target, lambda tmp: open(tmp, "w", encoding="utf-8").write("new"))
    assert target.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600


@pytest.mark.mpi
def test_resume_check_and_fresh_results_file(comm, shared_tmp_path, watchdog):
    """The pieces the main job starts and resumes its results file with."""
    from crustsolve.errors import InputError
    from crustsolve.results import check_resume, start_results_file

    path = shared_tmp_path / "run.h5"
    notes = shared_tmp_path / "notes.txt"
    if comm.rank == 0:
        notes.write_text("text")
    comm.Barrier()
    with pytest.raises(InputError, match="no results file"):
        check_resume(comm, path, {"a": 1})
    with pytest.raises(InputError, match="is not an HDF5 results file"):
        check_resume(comm, notes, {"a": 1})
    start_results_file(comm, path, {"a": 1, "grid": {"points": 12}})
    check_resume(comm, path, {"a": 1, "grid": {"points": 12}})
    with pytest.raises(InputError, match=r"grid\.points: 12 there, 14 now"):
        check_resume(comm, path, {"a": 1, "grid": {"points": 14}})


def test_identity_difference_names_the_first_key():
    from crustsolve.results import identity_difference

    assert identity_difference({"a": 1, "b": {"c": 2.0}}, {"a": 1, "b": {"c": 2.0}}) is None
    assert identity_difference({"b": {"c": 2}}, {"b": {"c": 3}}) == "b.c: 2 there, 3 now"
    assert identity_difference({"a": 1}, {"a": 1, "x": [1]}) == "x: absent there, [1] now"
    assert identity_difference({"a": float("nan")}, {"a": float("nan")}) is None


# --------------------------------------------------------------------------- collectives
@pytest.mark.mpi
def test_on_root_shares_a_rank0_error_with_every_rank(comm, watchdog, tmp_path):
    from crustsolve.errors import ConfigError, InputError
    from crustsolve.parallel import on_root

    def fails():
        raise ConfigError("only rank 0 saw this")

    with pytest.raises(ConfigError, match="only rank 0 saw this"):
        on_root(comm, fails)
    with pytest.raises(InputError, match="No such file"):
        on_root(comm, open, str(tmp_path / "absent" / "x"))
    assert on_root(comm, lambda: comm.rank + 41) == 41     # rank 0's result everywhere
    comm.Barrier()


@pytest.mark.mpi
def test_memory_check_is_collective_and_can_be_overridden(comm, watchdog, monkeypatch):
    from crustsolve import parallel
    from crustsolve.errors import InputError

    monkeypatch.setattr(parallel, "free_memory", lambda: (1e9, "test"))
    # Only rank 0 asks for too much: every rank must refuse.
    need = 2e9 if comm.rank == 0 else 1.0
    with pytest.raises(InputError, match="not enough memory: the thing needs an estimated"):
        parallel.require_memory(comm, need, "the thing", hint="lower it")
    report = parallel.require_memory(comm, need, "the thing", allow=True)
    assert report["oversubscribed"] is True
    assert parallel.require_memory(comm, 1e6, "the thing")["oversubscribed"] is False


def test_free_memory_sees_the_address_space_limit():
    import resource

    from crustsolve.parallel import free_memory

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = 2**40 if hard == resource.RLIM_INFINITY else min(hard, 2**40)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        avail, source = free_memory()
        assert avail <= limit and source
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.mark.mpi
def test_allow_oversubscribe_memory_lets_a_run_go_ahead(case_dir, comm, capsys, monkeypatch,
                                                        watchdog, clean_petsc_options):
    from crustsolve import parallel
    from crustsolve.cli import main

    monkeypatch.setattr(parallel, "free_memory", lambda: (1e6, "test"))
    argv = ["bands", "cos8.h5", "--order", "4", "--nev", "4", "--out", "o.h5"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    if comm.rank == 0:
        assert "not enough memory" in err and "only 1 MB are available (test)" in err
    assert main(argv + ["--allow-oversubscribe-memory"]) == 0
    if comm.rank == 0:
        assert "going ahead as asked" in capsys.readouterr().out


# --------------------------------------------------------------------------- field files
def test_field_checksums_detect_bit_rot_and_old_files_stay_readable(tmp_path):
    import h5py
    import numpy as np

    from crustsolve.bands import Fields
    from crustsolve.errors import InputError

    path = tmp_path / "f.h5"
    f = Fields.separable_cosine(8, 16.0, -6.0)
    f.write(path)
    back = Fields.read(path)
    assert back.checksum_status == "sha256 verified (U, B)"
    np.testing.assert_array_equal(back.U, f.U)
    corrupt_raw_value(path, "B", 3)
    with pytest.raises(InputError, match=r"field B in .* does not match its stored SHA-256"):
        Fields.read(path)
    old = tmp_path / "old.h5"
    f.write(old)
    with h5py.File(old, "r+") as fh:
        for name in ("U", "B"):
            del fh[name].attrs["sha256"]
    assert Fields.read(old).checksum_status.startswith("no checksum for U, B")


@pytest.mark.mpi
def test_bands_notes_a_field_file_without_checksums(comm, shared_tmp_path, capsys,
                                                    clean_petsc_options):
    import h5py

    from crustsolve.bands import Fields
    from crustsolve.cli import main

    path = shared_tmp_path / "old.h5"
    if comm.rank == 0:
        Fields.separable_cosine(8, 16.0, -6.0).write(path)
        with h5py.File(path, "r+") as fh:
            for name in ("U", "B"):
                del fh[name].attrs["sha256"]
    comm.Barrier()
    assert main(["bands", str(path), "--order", "4", "--nev", "4",
                 "--out", str(shared_tmp_path / "b.h5")]) == 0
    if comm.rank == 0:
        assert "note:" in capsys.readouterr().out


@pytest.mark.parametrize("name, value, match", [
    ("U", 2e4, r"field U has \|values\| up to 2e\+04 MeV"),
    ("B", 1e5, r"field B has \|values\| up to 1e\+05 MeV fm\^2"),
])
def test_field_values_outside_their_range_are_refused(name, value, match):
    import numpy as np

    from crustsolve.bands import Fields
    from crustsolve.errors import InputError

    f = Fields.uniform(4, 10.0)
    arr = np.array(getattr(f, name))
    arr[1, 2, 3] = value
    with pytest.raises(InputError, match=match):
        f.replace(**{name: arr})


# --------------------------------------------------------------------------- run files, options
def test_non_utf8_run_file_names_the_line(tmp_path):
    from crustsolve.config import read_toml
    from crustsolve.errors import ConfigError

    path = tmp_path / "r.toml"
    path.write_bytes(b"a = 1\nb = 2\n# \xff\n")
    with pytest.raises(ConfigError, match=r"not UTF-8 text .*byte 0xff on line 3"):
        read_toml(path)


@pytest.mark.parametrize("options, match", [
    ({"crust_eps_tol": "0"}, r"-crust_eps_tol = 0\.0 is outside the allowed range \(0, 0\.001\]"),
    ({"eps_tol": None}, "-eps_tol needs a value"),
    ({"crust_check_eps_max_it": "2.5"}, "-crust_check_eps_max_it = '2.5' is not an integer"),
    ({"ksp_rtol": "2"}, r"-ksp_rtol = 2\.0 is outside"),
    ({"crust_bv_type": "nope"}, "no BV type of that name"),
    ({"pc_type": "nope"}, "no PC type of that name"),
    ({"eps_target_real": None}, "is not allowed"),
])
def test_petsc_option_values_are_checked(options, match):
    from crustsolve.errors import InputError
    from crustsolve.petsc_env import check_options

    with pytest.raises(InputError, match=match):
        check_options(options)


def test_good_petsc_options_pass_and_unused_ones_are_found(clean_petsc_options):
    from crustsolve.petsc_env import check_options, init_petsc, unused_options

    check_options({"crust_eps_tol": "1e-10", "crust_eps_type": "lapack", "st_type": "shift",
                   "log_view": None, "eps_view": None})
    PETSc, SLEPc = init_petsc()
    opts = PETSc.Options()
    opts.setValue("reliability_never_read", "1")
    opts.setValue("reliability_read", "1")
    assert opts.getInt("reliability_read") == 1
    assert unused_options(["reliability_never_read", "reliability_read"]) == [
        "reliability_never_read"]


# --------------------------------------------------------------------------- scan
def test_scan_layer_names_are_unique_and_readable():
    from crustsolve.cli.scan import layer_file

    assert layer_file("r", 0.03) == "r_0.03.h5"
    assert layer_file("r", 0.03000001) != layer_file("r", 0.03000004)
    assert float(layer_file("r", 0.03000001)[2:-3]) == 0.03000001


@pytest.mark.mpi
def test_scan_skips_a_complete_layer_of_the_same_configuration(case_dir, comm, monkeypatch,
                                                               watchdog, clean_petsc_options):
    """A layer file with this scan's configuration and a summary is reused without
    computing; the summary table is written from it."""
    import h5py
    import numpy as np

    from crustsolve import mainjob, runfile
    from crustsolve.cli import main
    from crustsolve.runfile import identity_of
    from crustsolve.results import identity_json

    text = 'densities = [0.03]\noutput = "ok.h5"\n' + _MINIMAL_SCAN
    cfg = runfile.resolve_config({"layer": {"density": 0.03}, "grid": {"points": 8},
                                  "kmesh": {"n": 1}, "zeropoint": {"enabled": False},
                                  "output": "ok_0.03.h5", "plot": ""})
    if comm.rank == 0:
        with open("s.toml", "w", encoding="utf-8") as fh:
            fh.write(text)
        with h5py.File("ok_0.03.h5", "w") as fh:
            fh.attrs["run_config"] = identity_json(identity_of(cfg))
            g = fh.create_group("summary")
            for name, value in (("nbar", 0.03), ("Z", 40.0), ("A", 1075.6)):
                g[name] = np.float64(value)
            g["superfluid_fraction_free/normal/with_current"] = 0.25
            g["superfluid_fraction_all/normal/with_current"] = 0.2
            g["m_ion_star_over_m_ion/normal/with_current"] = 1.5
    comm.Barrier()

    def must_not_run(*a, **k):
        raise AssertionError("the complete layer was computed again")

    monkeypatch.setattr(mainjob, "run_main_job", must_not_run)
    assert main(["scan", "s.toml"]) == 0
    if comm.rank == 0:
        rows = open("ok_scan.csv", encoding="utf-8").read().splitlines()
        assert rows[0].strip().split(",")[:3] == ["nbar", "Z", "A"]
        assert float(rows[1].split(",")[3]) == pytest.approx(0.25, rel=1e-12)  # read back
        assert os.path.getsize("ok_scan.png") > 1000
    # Again: the table of the first scan is crustsolve's and may be replaced.
    assert main(["scan", "s.toml"]) == 0
    # With a command-line PETSc option the configuration differs: refused, not reused.
    assert main(["scan", "s.toml", "-crust_eps_tol", "1e-9"]) == 2


# --------------------------------------------------------------------------- core validity
def test_core_validity_range_is_causal_and_above_drip():
    from crustsolve.core import sound_speed_squared, validity_range

    v = validity_range("BSk24")
    assert v.n_min == pytest.approx(2.56e-4)
    assert 1.0 < v.n_max < 1.2
    assert sound_speed_squared("BSk24", v.n_max) == pytest.approx(1.0, abs=1e-4)
    assert sound_speed_squared("BSk24", 0.5) < 1.0 < sound_speed_squared("BSk24", 1.3)


def test_core_temperature_must_keep_matter_degenerate():
    from crustsolve.core import core_entrainment
    from crustsolve.errors import InputError

    ok = core_entrainment("BSk24", 0.16, temperature=0.5, gap_n=1.0, gap_p=1.0)
    assert ok.temperature == 0.5
    with pytest.raises(InputError, match=r"temperature = 5 MeV is outside the validity range "
                                         r"\[0, 1\.\d+\] MeV at n = 0\.16 fm\^-3"):
        core_entrainment("BSk24", 0.16, temperature=5.0, gap_n=1.0, gap_p=1.0)
