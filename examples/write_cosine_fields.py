"""Write two example field files for ``crustsolve bands``.

* ``cosine_fields.h5``: separable cosine potential U = V Σ_d cos(2π x_d/a), constant
  B = ħ²/2m_n (its bands are sums of 1D Mathieu bands — a check of the solver);
* ``bcc_wells_fields.h5``: two Gaussian wells per conventional bcc cube (clusters at the
  origin and at the cube centre, both on grid points).

Usage::

    /usr/bin/python3 examples/write_cosine_fields.py [OUTDIR] [--n 24] [--a 20]
    mpiexec -n 2 crustsolve bands OUTDIR/cosine_fields.h5 ...
"""
from __future__ import annotations

import argparse
import os

from crustsolve.bands import Fields


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outdir", nargs="?", default=".")
    p.add_argument("--n", type=int, default=24, help="grid points per side (even)")
    p.add_argument("--a", type=float, default=20.0, help="cube side in fm")
    p.add_argument("--V", type=float, default=5.0, help="cosine amplitude in MeV")
    p.add_argument("--depth", type=float, default=50.0, help="Gaussian well depth in MeV")
    p.add_argument("--radius", type=float, default=4.0, help="Gaussian well radius in fm")
    args = p.parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)

    cos = Fields.separable_cosine(args.n, args.a, args.V,
                                  provenance={"example": "examples/write_cosine_fields.py"})
    path = os.path.join(args.outdir, "cosine_fields.h5")
    cos.write(path)
    print(f"wrote {path}: n = {cos.n}, a = {cos.a:g} fm, V = {args.V:g} MeV")

    wells = Fields.gaussian_wells(args.n, args.a, args.depth, args.radius, lattice="bcc",
                                  provenance={"example": "examples/write_cosine_fields.py"})
    path = os.path.join(args.outdir, "bcc_wells_fields.h5")
    wells.write(path)
    print(f"wrote {path}: n = {wells.n}, a = {wells.a:g} fm, depth = {args.depth:g} MeV, "
          f"radius = {args.radius:g} fm, min U = {wells.U.min():.3f} MeV")


if __name__ == "__main__":
    main()
