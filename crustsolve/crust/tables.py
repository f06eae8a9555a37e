"""Compositions from a user-supplied table → :class:`~crustsolve.crust.composition.Layer`.

Reads the 28-column, header-less format of the ETFSI inner-crust tables of Pearson et al.,
MNRAS 481, 2994 (2018), as distributed in ``jeromemargueron/nucleardatapy``
(``version-1.0/nucleardatapy/data/crust/2018-PCPFDDG-BSK*.dat``). Those files are licensed
CC BY-NC-ND 4.0 and are **never shipped with crustsolve**: the user gives their path.
Column map (1-based; established by reproducing the Z, N, A columns from the profile
integrals; ``docs/physics/crust-composition.md``, "Published tables"):

 1 n̄ · 2 Z · 3 Y_e · 4 N · 5 A · 6 R_cell · 7 ⟨(n−n̄)²⟩/n̄² · 8 P · 9 e_ETF · 10 e_ETFSI ·
 11 ρ · 12 flag (1 ETFSI integer Z, 0 ETF-only) · 13 E_SI/A · 14 E_pair/A · 15 μ_p−m_pc² ·
 16 μ_n−m_nc² · 17 μ_e · 18 a_p · 19 C_p · 20 a_n · 21 C_n · 22 n_Λp · 23 n_Λn · 24 n_Bp ·
 25 n_Bn · 26 Z_cl · 27 N_cl · 28 A_cl

Any table with the same 28 columns (e.g. from another code) can be used.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
from scipy.interpolate import PchipInterpolator

from ..errors import InputError, check_choice
from .composition import LATTICE_SITES, Layer, layer_from_profiles
from .profiles import OnsiProfile

#: 0-based column indices of the 28-column format (module docstring).
COLUMNS = MappingProxyType({
    "nbar": 0, "Z": 1, "Ye": 2, "N": 3, "A": 4, "R_cell": 5, "inhomogeneity": 6, "P": 7,
    "e_ETF": 8, "e_ETFSI": 9, "rho": 10, "flag": 11, "e_SI": 12, "e_pair": 13, "mu_p": 14,
    "mu_n": 15, "mu_e": 16, "a_p": 17, "C_p": 18, "a_n": 19, "C_n": 20, "n_lambda_p": 21,
    "n_lambda_n": 22, "n_B_p": 23, "n_B_n": 24, "Z_cl": 25, "N_cl": 26, "A_cl": 27})

#: sha256 of the published files as distributed by nucleardatapy: provenance only.
KNOWN_SHA256 = MappingProxyType({
    "77d3032dbdbc053bb3b0f1651861c67a2bfe1cff6549b485eec1c1416d6b137f": "BSk24",
    "4afadadf9589d612cc6963d375f4bd74b9f736df0b01076dcaebf33e35badb32": "BSk22",
    "aefe67300cd71f8922b95125f054be96c83990cf25b9f6baaa0e294e5da1a0d2": "BSk25",
    "b2f9991c49f4538914f782846d6603921a72ac2352993085da88a66f3b7b14d5": "BSk26",
})
CITATION = ("Pearson, Chamel, Potekhin, Fantina, Ducoin, Dutta & Goriely, MNRAS 481, 2994 (2018) "
            "(ETFSI table as distributed in jeromemargueron/nucleardatapy)")


@dataclass(frozen=True)
class CompositionTable:
    """A loaded table: ``data`` (rows × 28, read-only), ``path``, ``sha256``, ``functional``
    (from the sha256 when it is a known published file, else as given)."""

    data: np.ndarray
    path: str
    sha256: str
    functional: str

    def column(self, name: str) -> np.ndarray:
        return self.data[:, COLUMNS[name]]

    def __len__(self):
        return self.data.shape[0]

    def row(self, i: int) -> dict:
        return {k: float(self.data[i, j]) for k, j in COLUMNS.items()}

    def layer(self, i: int, *, lattice: str = "bcc", functional=None) -> Layer:
        """Layer of row ``i`` with the published profiles and chemical potentials; ``e_etf`` is
        the published e_ETF, ``energies`` crustsolve's ETF evaluation of the same profiles."""
        check_choice("lattice", lattice, tuple(LATTICE_SITES))
        r = self.row(i)
        R = r["R_cell"]
        neu = OnsiProfile(r["n_B_n"], r["n_lambda_n"], r["C_n"], r["a_n"], R)
        pro = OnsiProfile(r["n_B_p"], r["n_lambda_p"], r["C_p"], r["a_p"], R)
        layer = layer_from_profiles(functional or self.functional, r["nbar"], r["Z"], r["A"], neu,
                                    pro, lattice=lattice,
                                    source=f"table {Path(self.path).name} row {i} ({CITATION})",
                                    mu_n=r["mu_n"], mu_e=r["mu_e"], mu_p=r["mu_p"],
                                    e_etf=r["e_ETF"], pressure=r["P"])
        return layer

    def nearest_row(self, nbar: float) -> int:
        return int(np.argmin(np.abs(np.log(self.column("nbar") / nbar))))

    def layer_at(self, nbar: float, *, lattice: str = "bcc", functional=None,
                 rel_tol: float = 1e-4) -> Layer:
        """Layer at ``nbar``: the row itself if one matches to ``rel_tol``, otherwise monotone
        cubic (PCHIP) interpolation in ln n̄ of A, n_Bn, n_Λn, C_n, a_n, n_Λp, C_p, a_p, n_Bp
        between rows of the same Z, with n_Λp and n_Bn
        renormalised so the cell holds exactly Z protons and A − Z neutrons."""
        nb = self.column("nbar")
        if not (nb.min() * (1 - rel_tol) <= nbar <= nb.max() * (1 + rel_tol)):
            raise InputError(f"mean baryon density {nbar:g} fm^-3 is outside the table "
                             f"{self.path!r} range [{nb.min():g}, {nb.max():g}]")
        i = self.nearest_row(nbar)
        if abs(nb[i] / nbar - 1.0) <= rel_tol:
            return self.layer(i, lattice=lattice, functional=functional)
        Z = self.data[i, COLUMNS["Z"]]
        same = np.flatnonzero(self.column("Z") == Z)
        # Only a contiguous run of rows with this Z that brackets n̄.
        lo = hi = i
        while lo - 1 in same:
            lo -= 1
        while hi + 1 in same:
            hi += 1
        idx = np.arange(lo, hi + 1)
        if len(idx) < 2 or not (nb[idx].min() <= nbar <= nb[idx].max()):
            raise InputError(f"n̄ = {nbar:g} fm^-3 is not bracketed by table rows of the same Z "
                             f"(nearest row {i}, Z = {Z:g}); pick a tabulated density")
        x = np.log(nb[idx])

        def interp(name):
            return float(PchipInterpolator(x, self.data[idx, COLUMNS[name]])(math.log(nbar)))

        A = interp("A")
        R = (3.0 * A / (4.0 * math.pi * nbar)) ** (1.0 / 3.0)
        V = 4.0 * math.pi * R**3 / 3.0
        neu0 = OnsiProfile(interp("n_B_n"), interp("n_lambda_n"), interp("C_n"), interp("a_n"), R)
        pro0 = OnsiProfile(max(interp("n_B_p"), 0.0), interp("n_lambda_p"), interp("C_p"),
                           interp("a_p"), R)
        In, Ip = neu0.shape_integral(), pro0.shape_integral()
        n_l_p = (Z - pro0.n_B * V) / (4.0 * math.pi * Ip)
        n_B_n = (A - Z - 4.0 * math.pi * neu0.n_lambda * In) / V
        neu = OnsiProfile(n_B_n, neu0.n_lambda, neu0.C, neu0.a, R)
        pro = OnsiProfile(pro0.n_B, n_l_p, pro0.C, pro0.a, R)
        return layer_from_profiles(functional or self.functional, nbar, Z, A, neu, pro,
                                   lattice=lattice, mu_n=interp("mu_n"), mu_e=interp("mu_e"),
                                   mu_p=interp("mu_p"), e_etf=interp("e_ETF"), pressure=interp("P"),
                                   source=(f"table {Path(self.path).name}, PCHIP interpolation "
                                           f"rows {lo}-{hi} ({CITATION})"))


def load_table(path, functional=None) -> CompositionTable:
    """Load a 28-column composition table from ``path`` (InputError if missing or malformed).

    ``functional`` defaults to the one identified by the file's sha256 (published files); a
    given ``functional`` that contradicts a published file's sha256 is an error.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read composition table {str(path)!r}: {exc}") from None
    sha = hashlib.sha256(raw).hexdigest()
    try:
        data = np.loadtxt(path, ndmin=2)
    except ValueError as exc:
        raise InputError(f"composition table {str(path)!r} is not a numeric table: {exc}") from None
    if data.shape[1] != 28:
        raise InputError(f"composition table {str(path)!r} has {data.shape[1]} columns; the "
                         "Pearson et al. 2018 format has 28 (see crustsolve.crust.tables)")
    if not np.all(np.isfinite(data)):
        raise InputError(f"composition table {str(path)!r} contains non-finite values")
    known = KNOWN_SHA256.get(sha)
    if functional is None:
        functional = known
        if functional is None:
            raise InputError(f"composition table {str(path)!r} is not a known published file; "
                             "say which functional it belongs to")
    elif known is not None and str(functional).lower() != known.lower():
        raise InputError(f"composition table {str(path)!r} is the published {known} table, "
                         f"not {functional}")
    data.flags.writeable = False
    return CompositionTable(data=data, path=str(path), sha256=sha, functional=str(functional))
