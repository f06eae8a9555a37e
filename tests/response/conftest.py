"""Fixtures shared by the response tests: plane-wave Bloch models (pure numpy) and the
PETSc/SLEPc superfluid-density pipeline on a cosine lattice."""
from __future__ import annotations

import numpy as np
import pytest
from mpi4py import MPI

from crustsolve.bands import BlochHamiltonian, Fields, Grid
from crustsolve.bands.eigensolvers import make_eigensolver
from crustsolve.parallel import Layout
from crustsolve.response import kernels as K
from crustsolve.response.matrix_elements import KPointData
from crustsolve.response.superfluid import superfluid_density

N, A_CELL = 8, 10.0                 # grid points per side, cell (fm) of the models


def _pw_basis(M):
    m = np.arange(-M, M + 1)
    G = np.array(np.meshgrid(m, m, m, indexing="ij")).reshape(3, -1).T * (2 * np.pi / A_CELL)
    return G


def _pw_kdata(k, G, B, V=(0.0, 0.0, 0.0), gap=1.0, nb=None, rng=None, index=0, weight=1.0,
              flow=None):
    """Plane-wave Bloch model: h = B|k+G|² + Σ_d V_d cos(2πx_d/a) (continuum u-gauge h(k)).

    ``flow``: a constant current-field coefficient C_nn n_n (MeV fm²): the vertex −2 flow (k+G).
    """
    q = k[None, :] + G
    h = np.diag(B * (q**2).sum(1)).astype(complex)
    step = 2 * np.pi / A_CELL
    for d, Vd in enumerate(V):
        if Vd:
            diff = G[:, None, :] - G[None, :, :]
            other = [e for e in range(3) if e != d]
            hit = (np.abs(np.abs(diff[..., d]) - step) < 1e-9) & np.all(
                np.abs(diff[..., other]) < 1e-9, axis=-1)
            h += 0.5 * Vd * hit
    eps, U = np.linalg.eigh(h)
    if rng is not None:
        # Arbitrary basis inside degenerate clusters (what an iterative eigensolver returns).
        lab = K.degenerate_clusters(eps, 1e-8)
        for c in np.unique(lab):
            idx = np.flatnonzero(lab == c)
            if len(idx) > 1:
                Z = rng.normal(size=(len(idx),) * 2) + 1j * rng.normal(size=(len(idx),) * 2)
                Qm, _ = np.linalg.qr(Z)
                U[:, idx] = U[:, idx] @ Qm
    nb = len(eps) if nb is None else nb
    U = U[:, :nb]
    vel = np.array([U.conj().T @ np.diag(2 * B * q[:, d]) @ U for d in range(3)])
    d2h = np.zeros((3, 3, nb))
    for d in range(3):
        d2h[d, d] = 2 * B
    cv = cd = None
    if flow is not None:
        cv = np.array([U.conj().T @ np.diag(-2 * flow * q[:, d]) @ U for d in range(3)])
        cd = np.zeros((3, 3, nb))
        for d in range(3):
            cd[d, d] = -2 * flow
    return KPointData(index=index, weight=weight, energies=eps[:nb], velocity=vel, d2h=d2h,
                      gap=np.full(nb, gap), current_vertex=cv, current_d2=cd)


@pytest.fixture(scope="session")
def pw_basis():
    """``pw_basis(M)``: the reciprocal vectors G = 2π m/a, |m_d| ≤ M, of a cell a = 10 fm."""
    return _pw_basis


@pytest.fixture(scope="session")
def pw_kdata():
    """``pw_kdata(k, G, B, ...)``: KPointData of the plane-wave Bloch model (see ``_pw_kdata``)."""
    return _pw_kdata


def _solve(fields, kmesh, *, nev=None, comm=None, ngroups=1, order=4, solver="lapack", **kw):
    comm = MPI.COMM_WORLD if comm is None else comm
    lay = Layout.create(comm, ngroups=ngroups)
    grid = Grid(fields.n, fields.a, comm=lay.kcomm)
    H = BlochHamiltonian(grid, fields, order=order)
    try:
        solver = make_eigensolver(solver, nev=nev or fields.n**3,
                                  tol=1e-8 if solver == "lapack" else 1e-11)
        return superfluid_density(H, kmesh, solver, layout=lay, **kw)
    finally:
        H.destroy()
        grid.destroy()
        lay.free()


def _cosine_fields(V=-4.0):
    return Fields.separable_cosine(N, A_CELL, V=V)


@pytest.fixture(scope="session")
def solve():
    """``solve(fields, kmesh, ...)``: superfluid density through the FD band structure."""
    return _solve


@pytest.fixture(scope="session")
def cosine_fields():
    """``cosine_fields(V)``: separable cosine fields, 8³ points, a = 10 fm."""
    return _cosine_fields
