#!/usr/bin/env python3
"""Merge eigensolver benchmark JSON files (``eigensolvers.py --solvers ...`` run per solver,
side by side) into one summary JSON with ratios and a markdown table.

    /usr/bin/python3 benchmarks/report.py benchmarks/out/n24_*.json benchmarks/out/n32_*.json \
        --json benchmarks/out/summary.json --markdown benchmarks/out/summary.md

For every grid: per-solver wall time of the first k-point (cold), Chebyshev's warm-start time,
the max residual, the max |λ − λ_ref| against the run that wrote the reference eigenvalues,
the process's peak RSS next to crustsolve's memory model (``crustsolve.bands.memory``), and
the ratios baseline / Chebyshev-cold (> 1: Chebyshev faster). A solver that hit its time limit
is listed with the limit as a lower bound of its time (``--limits name=seconds``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from eigensolvers import evals_filename, memory_model_mb, ratios  # noqa: E402

ORDER = ("chebyshev", "ks_tuned", "ks_nev", "arpack", "dense")   # table rows


def _load(paths):
    grids = {}
    machines = []
    for p in paths:
        with open(p) as fh:
            rep = json.load(fh)
        machines.append({"file": os.path.basename(p), "started_utc": rep.get("started_utc"),
                         "loadavg_at_start": rep["machine"].get("loadavg_at_start"),
                         "loadavg_at_end": rep["machine"].get("loadavg_at_end"),
                         "peak_rss_mb": rep["machine"].get("peak_rss_mb"),
                         "rates": rep["machine"].get("rates"),
                         "ranks": rep["machine"].get("ranks")})
        for g in rep["grids"]:
            key = (g["n"], g["nev"], g.get("order"), rep["machine"].get("ranks", 1))
            slot = grids.setdefault(key, {k: g[k] for k in ("n", "N", "nev", "order", "tol",
                                                              "nnz_per_row")})
            slot.setdefault("rss_mb_before_solves", {})
            slot["ranks"] = rep["machine"].get("ranks", 1)
            slot.setdefault("solvers", {})
            for name, rec in g["solvers"].items():
                rec = dict(rec)
                rec["rss_mb_before_solves"] = g.get("rss_mb_before_solves")
                rec["file"] = os.path.basename(p)
                rec["dir"] = os.path.dirname(os.path.abspath(p))
                rec["process_peak_rss_mb"] = rep["machine"].get("peak_rss_mb")
                slot["solvers"][name] = rec
    return grids, machines


def _cross_check(slot):
    """max |λ − λ'| at k0 between every pair of solvers whose eigenvalue files exist
    (``eigensolvers.py`` saves them beside its JSON as evals_*_n{n}_o{order}_nev{nev}_k0_{solver}.npy)."""
    import glob  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    evals = {}
    for name, rec in slot["solvers"].items():
        if "file" not in rec:
            continue
        pattern = os.path.join(rec["dir"], evals_filename("*", slot["n"], slot["order"],
                                                          slot["nev"], name))
        found = sorted(glob.glob(pattern))
        if found:
            evals[name] = np.load(found[-1])
    for name, rec in slot["solvers"].items():
        if name in evals:
            rec["max_abs_diff_vs"] = {o: float(np.max(np.abs(evals[name] - e)))
                                      for o, e in evals.items() if o != name}


def summarise(grids, limits):
    out = []
    for key in sorted(grids):
        slot = grids[key]
        sol = slot["solvers"]
        for name, secs in limits.get(slot["n"], {}).items():
            if name not in sol:
                sol[name] = {"seconds_lower_bound": secs, "note": f"not finished in {secs:.0f} s"}
        for name, rec in sol.items():
            m = memory_model_mb(slot["N"], slot["nnz_per_row"], slot["nev"], name)
            if m is not None:
                rec["memory_model_mb"] = m
        _cross_check(slot)
        slot["ratios"] = ratios(sol)
        out.append(slot)
    return out


def _rss_text(name, rec) -> str:
    """Peak RSS growth during the (first) solve over the process's RSS before any solve
    (start-up, fields, Hamiltonian), when recorded; else the whole process's peak (marked *)."""
    solve = rec.get("peak_rss_mb_solve")
    if name == "chebyshev" and rec.get("per_k"):
        solve = rec["per_k"][0].get("peak_rss_mb_solve")
    base = rec.get("rss_mb_before_solves")
    if solve is not None and base is not None:
        return f"{solve - base:.0f}"
    peak = rec.get("process_peak_rss_mb")
    return "—" if peak is None else f"{peak:.0f}*"


def markdown(rows) -> str:
    lines = ["| grid | N | bands | ranks | solver | cold s | warm s | iters | max res | "
             "max dλ (MeV) | solve RSS MB | model MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]

    def f(x, fmt):
        return "—" if x is None else format(x, fmt)

    for slot in rows:
        for name in ORDER:
            rec = slot["solvers"].get(name)
            if rec is None:
                continue
            if "skipped" in rec:
                lines.append(f"| {slot['n']}³ | {slot['N']} | {slot['nev']} | {slot['ranks']} | "
                             f"{name} | skipped: {rec['skipped']} | | | | | | |")
                continue
            if "seconds_lower_bound" in rec:
                cold = f"> {rec['seconds_lower_bound']:.0f}"
            else:
                cold = f(rec.get("cold_seconds", rec.get("seconds")), ".1f")
            warm = f(rec.get("warm_seconds_mean"), ".1f")
            iters = rec.get("iterations")
            if name == "chebyshev" and rec.get("per_k"):
                iters = "/".join(str(r["iterations"]) for r in rec["per_k"])
                res = max(r["max_residual"] for r in rec["per_k"])
            else:
                res = rec.get("max_residual")
            lines.append(
                f"| {slot['n']}³ | {slot['N']} | {slot['nev']} | {slot['ranks']} | {name} | {cold} | "
                f"{warm} | {iters if iters is not None else '—'} | {f(res, '.1e')} | "
                f"{f(max((v for v in (rec.get('max_abs_diff_vs') or {}).values() if v is not None), default=None), '.1e')} | "
                f"{_rss_text(name, rec)} | {f(rec.get('memory_model_mb'), '.0f')} |")
        r = slot["ratios"]
        if r:
            lines.append("")
            lines.append(f"{slot['n']}³ ratios: " + ", ".join(
                f"{k} = {v:.2f}" if isinstance(v, float) else f"{k}: {v}" for k, v in r.items()))
            lines.append("")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--limits", nargs="*", default=[],
                   help="n:solver=seconds for runs stopped by their time limit")
    p.add_argument("--json", default=None)
    p.add_argument("--markdown", default=None)
    args = p.parse_args(argv)
    limits = {}
    for item in args.limits:
        grid, rest = item.split(":", 1)
        name, secs = rest.split("=", 1)
        limits.setdefault(int(grid), {})[name] = float(secs)
    grids, machines = _load(args.files)
    rows = summarise(grids, limits)
    md = markdown(rows)
    print(md)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"grids": rows, "runs": machines}, fh, indent=1)
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(md + "\n")


if __name__ == "__main__":
    main()
