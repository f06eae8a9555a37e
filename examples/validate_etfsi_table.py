#!/usr/bin/env python3
"""Compare crustsolve with a whole ETFSI composition table (Pearson et al. MNRAS 481, 2994 (2018)).

Usage:  python examples/validate_etfsi_table.py PATH/2018-PCPFDDG-BSK24.dat [--functional BSk24]

The table (28 columns, CC BY-NC-ND 4.0, distributed in jeromemargueron/nucleardatapy) is never
shipped with crustsolve; without a path (or if the file is absent) the script prints
"skipped" and exits 0. For every row it checks

* profile integrals: 4π n_Λq ∫ f_q r² dr = Z_cl, N_cl (cols 26, 27) and the totals with the
  backgrounds = Z, N; (4π/3) R³ n̄ = A                         → FAIL above 1e-4 relative;
* e_ETF of the tabulated profiles with crustsolve's 4th-order ETF vs col 9 (printed in keV,
  with the finite-proton-size Coulomb term it includes, E_fs; informational);
* μ_n of the neutron gas (B_n k_F² + U_n at n_Bn) vs col 16 (informational).
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

# Run from a source checkout without installing: the repository root holds the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", nargs="?", default=None)
    ap.add_argument("--functional", default=None,
                    help="functional of the table (default: identified by its sha256)")
    args = ap.parse_args(argv)
    if not args.path or not Path(args.path).exists():
        print(f"skipped: no ETFSI table given or found ({args.path!r})")
        return 0
    from crustsolve.crust.composition import gas_chemical_potential  # noqa: PLC0415
    from crustsolve.crust.tables import load_table  # noqa: PLC0415

    table = load_table(args.path, functional=args.functional)
    print(f"{table.path}: {len(table)} rows, functional {table.functional}, sha256 {table.sha256}")
    print(f"{'row':>3} {'nbar':>11} {'Z':>5} {'dZ/Z':>9} {'dN/N':>9} {'dA/A':>9} "
          f"{'e_tab':>9} {'de[keV]':>8} {'E_fs[keV]':>9} {'dmu_n[keV]':>10}")
    worst = 0.0
    fails = 0
    for i in range(len(table)):
        r = table.row(i)
        layer = table.layer(i)
        neu, pro = layer.neutron, layer.proton
        dz = max(abs(pro.cluster_number() / r["Z_cl"] - 1), abs(pro.number() / r["Z"] - 1))
        dn = max(abs(neu.cluster_number() / r["N_cl"] - 1), abs(neu.number() / r["N"] - 1))
        da = abs(4 * math.pi / 3 * r["R_cell"] ** 3 * r["nbar"] / r["A"] - 1)
        bad = max(dz, dn, da) > 1e-4
        fails += bad
        en = layer.energies
        de = (en.total - r["e_ETF"]) * 1e3
        mu = (gas_chemical_potential(table.functional, neu.n_B, pro.n_B) - r["mu_n"]) * 1e3
        if r["nbar"] >= 3e-3:
            worst = max(worst, abs(de))
        print(f"{i:3d} {r['nbar']:11.5e} {r['Z']:5.1f} {dz:9.2e} {dn:9.2e} {da:9.2e} "
              f"{r['e_ETF']:9.5f} {de:8.3f} {1e3 * en.coulomb_proton_size:9.3f} {mu:10.2f}"
              + ("  FAIL" if bad else ""))
    print(f"profile integrals: {len(table) - fails}/{len(table)} rows within 1e-4")
    print(f"max |e_ETF - table| for nbar >= 3e-3: {worst:.3f} keV/nucleon")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
