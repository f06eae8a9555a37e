"""``crustsolve bands FIELDS.h5``: band energies on a k-mesh or a high-symmetry path.

Reads a field file (``crustsolve.bands.fields`` schema), builds the FD Bloch Hamiltonian of
the requested order on every k-group, solves for the lowest ``--nev`` bands at every k with
the chosen eigensolver, prints the memory estimate, the layout and per-k progress with
residuals (rank 0), and writes energies, residuals, k-points and weights to HDF5
(``--out``); ``--plot`` draws the bands (PNG; a path gives the usual band-structure plot).

PETSc/SLEPc options on the same command line reach the solver: ``-crust_eps_*`` (or plain
``-eps_*``), ``-crust_st_*``, ``-crust_bv_*``, ``-log_view``.
"""
from __future__ import annotations

import json

import h5py
import numpy as np

from ..bands.bandstructure import SolverSettings, compute_bands
from ..bands.interpolation import InterpolationSettings, interpolation_summary
from ..bands.fields import Fields, field_checksum
from ..bands.hamiltonian import DEFAULT_ORDER
from ..bands.kmesh import (SYMMETRY_TOL, KMesh, field_symmetry_error, invariant_operations,
                            kpath, oh_operations)
from ..bands.memory import (band_run_bytes_per_rank, estimate_memory, fields_bytes, format_bytes,
                            interpolation_bytes_per_rank, kmesh_bytes, nnz_per_row_for_order)
from ..bands.stencils import check_order
from ..errors import InputError, check_range
from ..parallel import Layout, require_memory
from ..petsc_env import parse_options
from ..results import Output, prepare_outputs, write_atomically, write_results
from . import add_memory_argument, add_overwrite_argument, for_option

#: HDF5 group of the band data in the output file.
GROUP = "bands"


def register(subparsers):
    p = subparsers.add_parser(
        "bands", help="band energies ε_α(k) of a field file on a k-mesh or a k-path (SLEPc)",
        description="Lowest bands of the FD Bloch Hamiltonian of FIELDS.h5 on a Monkhorst–Pack "
                    "mesh (reduced by O_h when the fields allow it) or on a high-symmetry path of "
                    "the simple-cubic zone. Energies in MeV, k in fm^-1. PETSc/SLEPc options "
                    "(-crust_eps_*, -eps_*, -crust_st_*, -crust_bv_*, -log_view) are passed through.")
    p.add_argument("fields", metavar="FIELDS.h5", help="field file (U, B, [I]) on an n³ grid")
    p.add_argument("--order", type=int, default=None, help="FD order (even; default crustsolve.bands.DEFAULT_ORDER)")
    p.add_argument("--nev", type=int, default=50, help="number of bands (default 50)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--kmesh", type=int, default=None, metavar="N",
                   help="N×N×N Monkhorst–Pack mesh (default: Γ only, N = 1)")
    g.add_argument("--kpath", default=None, metavar="LABELS",
                   help="high-symmetry path through G, X, M, R (e.g. GXMGRX)")
    p.add_argument("--shift", action="store_true", help="shifted (not Γ-centred) mesh")
    p.add_argument("--interpolate", type=int, default=0, metavar="M",
                   help="solve the --kmesh points by Rayleigh–Ritz in a reduced basis built from "
                        "the states of the M×M×M mesh (same shift) and checked at held-out "
                        "points (0 = solve every point directly, the default)")
    p.add_argument("--interpolate-tol", type=float, default=1e-4, metavar="MeV",
                   help="largest accepted eigenvalue error at the held-out points (default 1e-4)")
    p.add_argument("--points", type=int, default=10, help="k-points per path segment (default 10)")
    p.add_argument("--symmetry", choices=("auto", "oh", "none"), default="auto",
                   help="point group of the mesh reduction: auto (the subgroup of O_h that "
                        "leaves the fields invariant; none with a current field), oh (refused "
                        "unless the fields have all of O_h), none (default auto)")
    p.add_argument("--no-time-reversal", action="store_true",
                   help="do not identify k with -k (automatic with a current field)")
    p.add_argument("--solver", choices=("krylovschur", "chebyshev", "lapack"),
                   default="krylovschur",
                   help="eigensolver (default krylovschur; chebyshev = filtered subspace "
                        "iteration, warm-started along each group's k-points; lapack = dense, "
                        "small grids only)")
    p.add_argument("--no-warm-start", dest="warm_start", action="store_false",
                   help="chebyshev: start every k-point from random vectors")
    p.add_argument("--tol", type=float, default=1e-8, help="residual tolerance (default 1e-8)")
    p.add_argument("--max-it", type=int, default=None, help="Krylov–Schur restarts limit (default 1000)")
    p.add_argument("--mpd", type=int, default=None, help="Krylov–Schur max projected dimension")
    p.add_argument("--multiplicity-check", choices=("auto", "always", "never"), default="auto",
                   help="Krylov–Schur: search for missed copies of degenerate levels after the "
                        "solve; auto = only at k with a non-trivial little group (default)")
    p.add_argument("--sectors", choices=("auto", "off"), default="auto",
                   help="split every solve into the bcc/fcc centring-translation sectors when "
                        "the fields have that symmetry (auto, default) or never (off)")
    p.add_argument("--allow-unconverged", action="store_true",
                   help="keep going when a k-point does not converge (residuals are stored)")
    p.add_argument("--kgroups", type=int, default=None,
                   help="number of k-groups (divides the MPI ranks; default from the memory estimate)")
    p.add_argument("--out", default="bands.h5", help="output HDF5 file (default bands.h5)")
    p.add_argument("--plot", default=None, metavar="PNG", help="write a band plot")
    add_overwrite_argument(p)
    add_memory_argument(p)
    p.set_defaults(func=run)


def _choose_symmetry(args, fields, log):
    time_reversal = not args.no_time_reversal
    if fields.has_current:
        if time_reversal:
            log.info("symmetry: current field present -> no time reversal")
        time_reversal = False
        if args.symmetry == "oh":
            raise InputError("--symmetry oh is invalid with a current field (it breaks O_h); "
                             "use --symmetry none")
        return "none", time_reversal, "current field breaks O_h"
    if args.symmetry == "none":
        return "none", time_reversal, "requested"
    if args.symmetry == "oh":
        err = field_symmetry_error(fields, oh_operations())
        if err > SYMMETRY_TOL:
            raise InputError(f"--symmetry oh requested but the fields are not O_h invariant "
                             f"(max relative deviation {err:.2e}); use --symmetry auto (the "
                             "subgroup of O_h the fields have) or none")
        return "Oh", time_reversal, f"fields O_h invariant (deviation {err:.1e})"
    ops = invariant_operations(fields)
    if len(ops) == 48:
        return "Oh", time_reversal, "fields O_h invariant"
    if len(ops) == 1:
        return "none", time_reversal, "fields have no symmetry of O_h besides the identity"
    return ops, time_reversal, (f"fields invariant under {len(ops)} of the 48 operations of "
                                "O_h (not all)")


def _check_arguments(args) -> None:
    """Everything that can be checked from the command line alone (same on every rank)."""
    check_range("--nev", args.nev, 1, None)
    if args.max_it is not None:
        check_range("--max-it", args.max_it, 1, None)
    if args.mpd is not None:
        check_range("--mpd", args.mpd, 1, None)
    if args.kgroups is not None:
        check_range("--kgroups", args.kgroups, 1, None)
    if args.kmesh is not None:
        check_range("--kmesh", args.kmesh, 1, None)
    check_range("--interpolate", args.interpolate, 0, None)
    if args.interpolate and args.kpath is not None:
        raise InputError("--interpolate works with --kmesh, not with --kpath")
    check_range("--interpolate-tol", args.interpolate_tol, 0.0, None, lo_open=True, unit="MeV")
    if args.kpath is not None:
        with for_option("--kpath" if args.points >= 1 else "--points"):
            kpath(1.0, args.kpath, args.points)  # labels and points per segment


def _identity(args, fields, order, settings, petsc_args) -> dict:
    """What decides the numbers of a bands run (compared before replacing --out)."""
    sums = {name: field_checksum(getattr(fields, name)) for name in ("U", "B", "I", "Delta")
            if getattr(fields, name) is not None}
    kpoints = ({"kpath": args.kpath, "points": args.points} if args.kpath is not None else
               {"kmesh": args.kmesh or 1, "shift": bool(args.shift), "symmetry": args.symmetry,
                "time_reversal": not args.no_time_reversal})
    if args.interpolate:
        kpoints["interpolate"] = {"coarse": args.interpolate, "tol_MeV": args.interpolate_tol}
    return {"command": "bands", "fields_sha256": sums, "a_fm": fields.a, "order": order,
            "solver": settings.as_dict(), "kpoints": kpoints,
            "petsc_options": parse_options(petsc_args)}


def run(args, ctx) -> int:
    PETSc, _ = ctx.petsc()
    log = ctx.log
    comm = ctx.comm
    order = DEFAULT_ORDER if args.order is None else args.order
    with for_option("--order"):
        nnz = nnz_per_row_for_order(order)
        check_order(order)
    _check_arguments(args)
    with for_option("--tol"):
        settings = SolverSettings(kind=args.solver, nev=args.nev, tol=args.tol,
                                  max_it=args.max_it, mpd=args.mpd,
                                  allow_unconverged=args.allow_unconverged,
                                  multiplicity_check=args.multiplicity_check,
                                  warm_start=args.warm_start, sectors=args.sectors)
        settings.make()  # validate before reading anything big
    fields = Fields.read(args.fields, comm)
    n, a = fields.n, fields.a
    identity = _identity(args, fields, order, settings, ctx.petsc_args)
    prepare_outputs(comm, [Output("--out", args.out, "results", identity),
                           Output("--plot", args.plot, "image")],
                    inputs={"FIELDS.h5": args.fields}, overwrite=args.overwrite)
    log.info(f"fields: {args.fields}  n = {n}  a = {a:g} fm  h = {fields.h:.4g} fm  "
             f"current: {'yes' if fields.has_current else 'no'}")
    if fields.checksum_status.startswith("no checksum"):
        log.info(f"note: {args.fields}: {fields.checksum_status}")
    if args.solver == "lapack" and n**3 > settings.max_size:
        raise InputError(f"--solver lapack: the matrix has {n**3} rows (n = {n}), more than "
                         f"the {settings.max_size} the dense solver accepts; use --solver "
                         "krylovschur or chebyshev")
    held = fields_bytes(n, fields.I is not None, fields.Delta is not None)

    is_path = args.kpath is not None
    if is_path:
        kset = kpath(a, args.kpath, args.points)
        log.info(f"k-path {args.kpath}: {kset.nk} points")
        sym_desc = {"kpath": args.kpath, "points_per_segment": args.points}
    else:
        symmetry, tr, why = _choose_symmetry(args, fields, log)
        nmesh = 1 if args.kmesh is None else args.kmesh
        require_memory(comm, held + kmesh_bytes(nmesh, not isinstance(symmetry, str)
                                                  or symmetry != "none"),
                       f"--kmesh {nmesh} ({nmesh**3} k-points before reduction)",
                       allow=args.allow_oversubscribe_memory, hint="lower --kmesh")
        with for_option("--kmesh"):
            kset = KMesh.monkhorst_pack(nmesh, a, shift=args.shift, symmetry=symmetry,
                                        time_reversal=tr)
        log.info(f"k-mesh {nmesh}³ {'shifted' if args.shift else 'Γ-centred'}: {kset.nfull} "
                 f"points -> {kset.nk} irreducible (symmetry {kset.symmetry}, time reversal "
                 f"{'on' if tr else 'off'}; {why})")
        sym_desc = {"kmesh": nmesh, "shift": bool(args.shift), "symmetry": kset.symmetry,
                    "time_reversal": bool(tr), "symmetry_reason": why}

    if settings.nev > n**3:
        raise InputError(f"--nev {settings.nev}: the grid has only {n**3} points (n = {n}); "
                         "lower --nev or refine the grid")
    est = estimate_memory(n**3, nnz, args.nev, kind=args.solver,
                          mpd=args.mpd, index_bytes=np.dtype(PETSc.IntType).itemsize)
    log.info(f"memory estimate per k-group: {format_bytes(est.group_bytes)} "
             f"(matrix {format_bytes(est.matrix_bytes)}, basis {format_bytes(est.basis_bytes)}, "
             f"eigenvectors {format_bytes(est.eigenvector_bytes)}, projected problem "
             f"{format_bytes(est.projected_bytes)} per rank"
             + (f", dense {format_bytes(est.dense_bytes)} on group rank 0" if est.dense_bytes else "")
             + ")")
    with for_option("--kgroups"):
        layout = Layout.create(comm, ngroups=args.kgroups, nk=kset.nk,
                               memory_per_group=est.group_bytes)
    try:
        desc = layout.describe()
        per_rank = band_run_bytes_per_rank(est, desc["ranks_per_group"], kset.nk,
                                           fields=held)
        interp = None
        if args.interpolate:
            interp = InterpolationSettings(coarse=args.interpolate, shift=bool(args.shift),
                                           tol=args.interpolate_tol)
            nb_basis = interp.bands_per_point(args.nev)
            extra = interpolation_bytes_per_rank(n**3, desc["ranks_per_group"], args.nev,
                                                 nb_basis, args.interpolate**3 * nb_basis)
            log.info(f"reduced basis: at most {extra['basis_functions_max']} functions from "
                     f"{args.interpolate**3} coarse k-points × {nb_basis} states, about "
                     f"{format_bytes(extra['bytes_per_rank'])} more per rank")
            per_rank += extra["bytes_per_rank"]
        mem = require_memory(comm, per_rank, f"{args.nev} bands of a {n}³ grid with "
                             f"{args.solver}", allow=args.allow_oversubscribe_memory,
                             hint="lower --nev, use a coarser grid or more nodes")
        if mem["oversubscribed"]:
            log.warning(f"memory estimate {format_bytes(mem['bytes_on_node'])} exceeds the "
                        f"{format_bytes(mem['available_bytes'])} available "
                        f"({mem['available_source']}); going ahead as asked")
        log.info(f"layout: {desc['world_size']} ranks -> {desc['kgroups']} k-group(s) of "
                 f"{desc['ranks_per_group']} rank(s) ({desc['chosen_by']}); about "
                 f"{format_bytes(est.per_rank_bytes(desc['ranks_per_group']))} per rank")
        log.info(f"solver: {args.solver}  nev = {args.nev}  tol = {args.tol:g}  order = {order}"
                 + (f"  PETSc options: {' '.join(ctx.petsc_args)}" if ctx.petsc_args else ""))
        width = len(str(kset.nk))

        def progress(status):
            k = ", ".join(f"{x:+.4f}" for x in status.k)
            head = f"[k {status.done:>{width}}/{status.total}] #{status.index}"
            if status.error is not None:
                log.info(f"{head} ({k}) FAILED: {status.error}")
                return
            rep = status.summary
            flag = "  (band nev degenerate with nev+1)" if rep.cut_splits_cluster else ""
            log.info(f"{head} k = ({k}) fm^-1  group {rep.group}"
                     f"  ε = {rep.energies[0]:.4f} … {rep.energies[-1]:.4f} MeV  "
                     f"max res {rep.max_residual:.1e}  it {rep.iterations}  {rep.seconds:.2f} s"
                     f"  ETA {status.eta_seconds:.0f} s{flag}")

        data = compute_bands(fields, kset, settings, layout, order=order, progress=progress,
                             interpolation=interp, log=log.info)

        datasets = {
            f"{GROUP}/energies": (data.energies, "MeV"),
            f"{GROUP}/residuals": (data.residuals, "1"),
            f"{GROUP}/kpoints": (data.kpoints, "fm^-1"),
            f"{GROUP}/weights": (data.weights, "1"),
            f"{GROUP}/iterations": (data.iterations, "1"),
            f"{GROUP}/seconds": (data.seconds, "s"),
            f"{GROUP}/cut_splits_cluster": (data.cut_splits_cluster.astype(np.int8), "1"),
            f"{GROUP}/cut_gap": (data.cut_gap, "MeV"),
        }
        if is_path:
            datasets[f"{GROUP}/path_distance"] = (kset.distance, "fm^-1")
            datasets[f"{GROUP}/label_index"] = (np.array([i for i, _ in kset.labels]), "1")
            sym_desc["labels"] = [lab for _, lab in kset.labels]
        else:
            datasets[f"{GROUP}/multiplicities"] = (kset.multiplicities, "1")
            datasets[f"{GROUP}/full_kpoints"] = (kset.full_points, "fm^-1")
            datasets[f"{GROUP}/full_to_irr"] = (kset.full_to_irr, "1")
        config = {"command": "bands", "fields_file": str(args.fields), "n": n, "a_fm": a,
                  "order": order, "solver": settings.as_dict(), "kpoints": sym_desc,
                  "petsc_args": list(ctx.petsc_args), "memory_estimate": est.describe(),
                  "eps_type_used": data.solver, "centring_sectors": data.settings["centring"],
                  "fields_provenance": dict(fields.provenance)}
        config["fields_checksums"] = fields.checksum_status
        if data.interpolation is not None:
            rep = data.interpolation
            config["interpolation"] = rep
            datasets[f"{GROUP}/interpolation_held_out_kpoints"] = (
                np.array(rep["held_out_kpoints"]), "fm^-1")
            log.info(interpolation_summary(rep))
        write_results(args.out, comm, datasets, config, layout=layout,
                      timings=dict(data.timings), identity=identity)
        if data.settings["centring"] != "none":
            log.info(f"each solve split into the {data.settings['centring']} centring-translation "
                     "sectors (--sectors off to solve the full matrix)")
        log.info(f"wrote {args.out}: {data.nk} k-points × {data.nev} bands; max residual "
                 f"{data.max_residual:.2e}; wall {data.timings['wall_seconds']:.1f} s")
        nsplit = int(data.cut_splits_cluster.sum())
        if nsplit:
            log.warning(f"at {nsplit} k-point(s) band {data.nev} is degenerate with band "
                        f"{data.nev + 1}: the last cluster is cut (energies are correct; use a "
                        f"different --nev for quantities that need complete clusters)")
        if args.plot:
            write_atomically(comm, args.plot,
                             lambda tmp: plot_bands(tmp, data, kset if is_path else None),
                             "plot")
            log.info(f"wrote {args.plot}")
    finally:
        layout.free()
    return 0


def plot_bands(path, data, kpath_obj=None) -> None:
    """Band energies vs path distance (or vs k index for a mesh) as a PNG (matplotlib Agg)."""
    import matplotlib  # noqa: PLC0415 - optional (extra "plot") and slow: plots only

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after choosing the Agg backend

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    if kpath_obj is not None:
        x = kpath_obj.distance
        for pos in kpath_obj.label_positions:
            ax.axvline(pos, color="0.7", lw=0.6)
        ax.set_xticks(kpath_obj.label_positions)
        ax.set_xticklabels([lab for _, lab in kpath_obj.labels])
        ax.set_xlim(x[0], x[-1])
        ax.set_xlabel("k path")
    else:
        x = np.arange(data.nk)
        ax.set_xlabel("irreducible k index")
    ax.plot(x, data.energies, color="C0", lw=0.9, marker="." if kpath_obj is None else None)
    ax.set_ylabel("ε (MeV)")
    ax.set_title(f"{data.nev} bands, a = {data.a:g} fm, order {data.order}, {data.solver}")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def read_bands(path) -> dict:
    """Arrays and decoded config of a ``crustsolve bands`` output file (for tests and users)."""
    with h5py.File(path, "r") as fh:
        out = {name: ds[()] for name, ds in fh[GROUP].items()}
        out["config"] = json.loads(fh.attrs["config"])
    return out
