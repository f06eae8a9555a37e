#!/usr/bin/env python3
"""One BSk24 inner-crust layer: ETF composition at n̄ = 0.03 fm⁻³ (Z = 40), the bcc mean fields
and, optionally, a comparison with the published ETFSI row (Pearson et al. MNRAS 481, 2994 (2018)).

Usage:  python examples/layer_bsk24.py [OUT.h5] [--table PATH/2018-PCPFDDG-BSK24.dat]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crustsolve.crust import build_fields, load_table, minimise_layer, write_layer_fields  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", nargs="?", default=None)
    ap.add_argument("--density", type=float, default=0.030024)
    ap.add_argument("--table", default=None)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    layer = minimise_layer("BSk24", args.density, 40)
    print(layer.summary())
    print(f"minimisation: {time.perf_counter() - t0:.1f} s")
    if args.table and Path(args.table).exists():
        pub = load_table(args.table).layer_at(args.density)
        print("published:", f"A = {pub.A:.2f}, e_ETF = {pub.e_etf:.5f}, μ_n = {pub.mu_n:.4f}")
        for k, v in layer.profile_parameters.items():
            print(f"  {k:11s} {v:12.6g}  published {pub.profile_parameters[k]:12.6g}")
    lf = build_fields(layer, spacing=1.0)
    f = lf.fields
    print(f"fields {f.n}^3, a = {f.a:.3f} fm: U_n(site) = {f.U[0, 0, 0]:.3f} MeV, "
          f"U_n(edge) = {f.U[f.n // 2, 0, 0]:.4f} MeV")
    if args.out:
        write_layer_fields(args.out, lf)
        print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
