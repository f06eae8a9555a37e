"""TOV background and the slow-rotation two-fluid frame-dragging problem.

Geometric units G = c = 1, lengths in km (ε, P in km⁻², masses in km, I in km³).

**Background** (Tolman 1939; Oppenheimer & Volkoff 1939), in Schwarzschild-like
coordinates ds² = −e^ν dt² + e^λ dr² + r²dΩ², e^{−λ} = 1 − 2m/r:

    dm/dr = 4πr²ε,   dP/dr = −(ε + P)(m + 4πr³P)/[r(r − 2m)].

It is integrated in the variable s = √(h_c − h), with h the pseudo-enthalpy of
:mod:`.eos` (h_c at the centre, 0 at the surface): since dP = (ε + P)dh,

    dr/ds = 2s · r(r − 2m)/(m + 4πr³P),   dm/ds = 4πr²ε · dr/ds,

which is regular at the centre (r ∝ s there) and ends exactly at the surface
s_max = √h_c, so no surface search is needed. ν follows in closed form,
ν = ln(1 − 2M/R) − 2h (dν = −2dh; e^{ν(R)} = 1 − 2M/R). Starting values at a tiny
s₀ come from the centre expansion r² = 3(h_c − h)/[2π(ε_c + 3P_c)], m = 4πε_c r³/3
(Lindblom 1992). The crust–core boundary h_t is an integration node.

**Rotation** (Hartle, ApJ 150, 1005 (1967), generalised to two fluids; derivation in
``docs/physics/star.md``, "Two-fluid slow rotation"): with j = e^{−(ν+λ)/2} and
ω = Ω_n ŵ_n + Ω_p ŵ_p,

    (1/r⁴) d/dr (r⁴ j dŵ_X/dr) = −16π e^{(λ−ν)/2} [n_X μ_X − (ε + P) ŵ_X],
    ŵ_X′(0) = 0,   ŵ_X(R) + (R/3) ŵ_X′(R) = 0,

solved as particular (ŵ(0) = 0) + c_X × homogeneous (ŵ(0) = 1, no source), c_X from
the surface condition. φ_X = r⁴ j ŵ_X′ is the second unknown. The quadratures

    Ĩ_X = (8π/3)∫ r⁴ e^{(λ−ν)/2} n_X μ_X dr,   ε̃_X Ĩ_X = (8π/3)∫ r⁴ e^{(λ−ν)/2} ε_X n_X μ_X dr,
    ε^{LT}_{XY} Ĩ_X = (8π/3)∫ r⁴ e^{(λ−ν)/2} n_X μ_X ŵ_Y dr

(LORENE's implementation of Sourie et al., MNRAS 464, 4641 (2017), eqs. C5–C7, translated
to these coordinates) are integrated as extra ODE components. The whole linear
system is advanced with the classical 4th-order Runge–Kutta method on a uniform grid
in s (``n_radial`` steps, shared between core and crust in proportion to their radial
extent, so the crust–core boundary, where n_n μ_n and ε jump, is a grid node); the first step, from the centre, uses the centre expansion
ŵ = ŵ₀ − (8π/5)[x_X − ŵ₀](ε_c + P_c) r² (exact to O(r⁴)). The background is the
adaptive TOV solution evaluated at the Runge–Kutta stage points, so the grid error
is that of the rotation problem alone (measured order 4 in the tests).

Hartle's moment of inertia is I = J/Ω with J = −R⁴ω′(R)/6 for rigid rotation
(Ω_n = Ω_p = Ω). The identity Σ_X Ĩ_X(1 − ε^LT_XX − ε^LT_XY) = I holds exactly in this
discretisation too (both sides are the same linear combination of Runge–Kutta stages, up
to the centre expansion), so it is a consistency check of the bookkeeping; the
independent checks (a separate single-fluid Hartle solver, the LT symmetry
Ĩ_n ε^LT_np = Ĩ_p ε^LT_pn, which is *not* built in) are in ``tests/star/``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import ConvergenceError, InputError, check_range

#: Relative tolerance of the adaptive TOV integration (DOP853).
TOV_RTOL = 1e-10

#: Default number of radial (s-grid) steps of the rotation problem.
DEFAULT_N_RADIAL = 400

_PI = math.pi


@dataclass(frozen=True)
class TOVSolution:
    """Non-rotating star of central pseudo-enthalpy ``h_c`` (geometric units, km).

    ``mass`` (km), ``radius`` (km), ``r_transition`` (km, radius of the crust–core
    boundary, 0 if the star has no core), central ``pressure_c`` and
    ``energy_density_c`` (km⁻²). ``segments`` holds the dense outputs (s_lo, s_hi, sol)
    of the integration pieces; use :meth:`state` to evaluate r, m at s.
    """

    h_c: float
    mass: float
    radius: float
    r_transition: float
    s_transition: float
    pressure_c: float
    energy_density_c: float
    s0: float
    segments: tuple

    @property
    def s_max(self) -> float:
        return math.sqrt(self.h_c)

    def state(self, s):
        """(r, m) in km at s = √(h_c − h) (array); the centre expansion below s₀."""
        s = np.atleast_1d(np.asarray(s, dtype=float))
        r = np.empty_like(s)
        m = np.empty_like(s)
        a = math.sqrt(3.0 / (2.0 * _PI * (self.energy_density_c + 3.0 * self.pressure_c)))
        centre = s < self.s0
        r[centre] = a * s[centre]
        m[centre] = 4.0 * _PI / 3.0 * self.energy_density_c * r[centre] ** 3
        for lo, hi, sol in self.segments:
            sel = (~centre) & (s >= lo) & (s <= hi)
            if np.any(sel):
                y = sol(s[sel])
                r[sel], m[sel] = y[0], y[1]
        return r, m


def _tov_rhs(eos, h_c):
    def rhs(s, y):
        r, m = y
        p, e = eos.pressure_energy_density(float(h_c - s * s))
        drds = 2.0 * s * r * (r - 2.0 * m) / (m + 4.0 * _PI * r**3 * p)
        return [drds, 4.0 * _PI * r * r * e * drds]
    return rhs


def solve_tov(eos, h_c, *, rtol=TOV_RTOL) -> TOVSolution:
    """Integrate the TOV equations from the centre (h = ``h_c``) to the surface (h = 0)."""
    h_c = check_range("central pseudo-enthalpy h_c", h_c, 0.0, eos.h_max, lo_open=True)
    p_c = float(eos.pressure(h_c))
    e_c = float(eos.energy_density(h_c))
    s_max = math.sqrt(h_c)
    s0 = 1e-6 * s_max
    a = math.sqrt(3.0 / (2.0 * _PI * (e_c + 3.0 * p_c)))
    y = [a * s0, 4.0 * _PI / 3.0 * e_c * (a * s0) ** 3]
    h_t = eos.h_transition
    s_t = math.sqrt(h_c - h_t) if 0.0 < h_t < h_c else None
    knots = [s0] + ([s_t] if s_t is not None and s0 < s_t < s_max else []) + [s_max]
    rhs = _tov_rhs(eos, h_c)
    segments = []
    for lo, hi in zip(knots[:-1], knots[1:]):
        sol = solve_ivp(rhs, (lo, hi), y, method="DOP853", rtol=rtol, atol=1e-14,
                        dense_output=True)
        if not sol.success:
            raise ConvergenceError(f"TOV integration failed at h_c = {h_c:g}: {sol.message}")
        segments.append((lo, hi, sol.sol))
        y = sol.y[:, -1]
    radius, mass = float(y[0]), float(y[1])
    if not (radius > 2.0 * mass > 0.0):
        raise ConvergenceError(f"TOV solution at h_c = {h_c:g} is not a star (R = {radius:g} km, "
                               f"M = {mass:g} km)")
    r_t = float(segments[0][2](s_t)[0]) if len(segments) == 2 else 0.0
    return TOVSolution(h_c=h_c, mass=mass, radius=radius, r_transition=r_t,
                       s_transition=s_t if len(segments) == 2 else 0.0, pressure_c=p_c,
                       energy_density_c=e_c, s0=s0, segments=tuple(segments))


@dataclass(frozen=True)
class RotationSolution:
    """Slow-rotation two-fluid quantities of a :class:`TOVSolution` (geometric units, km³).

    ``I_tilde_n``, ``I_tilde_p`` — Ĩ_X; ``eps_tilde_n``, ``eps_tilde_p`` — ε̃_X;
    ``eps_lt`` — ((ε^LT_nn, ε^LT_np), (ε^LT_pn, ε^LT_pp)), crustsolve's index order
    (ε^LT_XY: weight of fluid X, coefficient of Ω_Y; ``docs/physics/star.md``);
    ``I_hartle`` — J/Ω for rigid rotation from the exterior solution;
    ``I_sum`` — Σ_X Ĩ_X(1 − ε^LT_XX − ε^LT_XY) (equals I_hartle up to the grid error);
    ``omega_c`` — ω(0)/Ω for rigid rotation; ``n_radial``, ``n_core_steps``,
    ``n_crust_steps`` — the grid.
    """

    I_tilde_n: float
    I_tilde_p: float
    eps_tilde_n: float
    eps_tilde_p: float
    eps_lt: tuple
    I_hartle: float
    I_sum: float
    omega_c: float
    n_radial: int
    n_core_steps: int
    n_crust_steps: int

    @property
    def I_n(self) -> float:
        return self.I_tilde_n * (1.0 - self.eps_lt[0][0] - self.eps_lt[0][1])

    @property
    def I_p(self) -> float:
        return self.I_tilde_p * (1.0 - self.eps_lt[1][1] - self.eps_lt[1][0])

    @property
    def I_np(self) -> float:
        return self.I_tilde_n * (self.eps_tilde_n - self.eps_lt[0][1])

    @property
    def I_pn(self) -> float:
        return self.I_tilde_p * (self.eps_tilde_p - self.eps_lt[1][0])


# Component layout of the linear Runge–Kutta state.
_W = {"n": 0, "p": 2, "h": 4}          # ŵ at index, φ at index + 1 (particular n, p; homog.)
_A = {"n": 6, "p": 7}                  # Ĩ_X
_B = {"n": 8, "p": 9}                  # ε̃_X Ĩ_X
_C = {("n", "n"): 10, ("n", "p"): 11, ("n", "h"): 12,
      ("p", "n"): 13, ("p", "p"): 14, ("p", "h"): 15}   # ∫ n_X μ_X ŵ_Y
_NSTATE = 16


def _coefficients(eos, tov, s):
    """Background coefficients at the points ``s`` (array) for the linear system."""
    r, m = tov.state(s)
    h = tov.h_c - s * s
    p = eos.pressure(h)
    e = eos.energy_density(h)
    x_n = eos.neutron_fraction_of(h)
    eps_n, eps_p = eos.entrainment(h)
    nu = math.log(1.0 - 2.0 * tov.mass / tov.radius) - 2.0 * h
    f = 1.0 - 2.0 * m / r
    big_e = np.exp(-0.5 * nu) / np.sqrt(f)          # e^{(λ−ν)/2}
    j = np.exp(-0.5 * nu) * np.sqrt(f)              # e^{−(ν+λ)/2}
    drds = 2.0 * s * r * (r - 2.0 * m) / (m + 4.0 * _PI * r**3 * p)
    q = r**4 * big_e * (e + p) * drds               # common factor of every source
    return {"g": drds / (r**4 * j), "q": q, "x": {"n": x_n, "p": 1.0 - x_n},
            "eps": {"n": eps_n, "p": eps_p}}


def _rhs(y, c, k):
    """dy/ds at coefficient index k for the 16-component linear state y."""
    g, q = c["g"][k], c["q"][k]
    x = {X: c["x"][X][k] for X in "np"}
    d = np.empty(_NSTATE)
    for key, i in _W.items():
        w, phi = y[i], y[i + 1]
        d[i] = g * phi
        src = x[key] if key in x else 0.0
        d[i + 1] = -16.0 * _PI * q * (src - w)
    for X in "np":
        d[_A[X]] = 8.0 * _PI / 3.0 * q * x[X]
        d[_B[X]] = 8.0 * _PI / 3.0 * q * x[X] * c["eps"][X][k]
        for Y in ("n", "p", "h"):
            d[_C[(X, Y)]] = 8.0 * _PI / 3.0 * q * x[X] * y[_W[Y]]
    return d


def _centre_start(eos, tov, s1):
    """State at s1 (first grid point) from the centre expansion, exact to O(r1⁴) in ŵ."""
    r1 = float(tov.state(s1)[0][0])
    h_c = tov.h_c
    e_c, p_c = tov.energy_density_c, tov.pressure_c
    x_c = {"n": float(eos.neutron_fraction_of(h_c)), "p": 1.0 - float(eos.neutron_fraction_of(h_c))}
    epsc = dict(zip("np", (float(v) for v in eos.entrainment(h_c))))
    nu_c = math.log(1.0 - 2.0 * tov.mass / tov.radius) - 2.0 * h_c
    e_half = math.exp(-0.5 * nu_c)                     # e^{(λ−ν)/2} = j at the centre
    m1 = float(tov.state(s1)[1][0])
    # ν(h) = ν_c + 2(h_c − h) = ν_c + 2 s²
    j_r1 = math.exp(-0.5 * (nu_c + 2.0 * s1 * s1)) * math.sqrt(1.0 - 2.0 * m1 / r1)
    y = np.zeros(_NSTATE)
    w0 = {"n": 0.0, "p": 0.0, "h": 1.0}
    for key, i in _W.items():
        src = x_c[key] if key in x_c else 0.0
        a2 = -16.0 * _PI / 5.0 * (src - w0[key]) * (e_c + p_c)   # ŵ = ŵ0 + a2 r²/2
        y[i] = w0[key] + 0.5 * a2 * r1 * r1
        y[i + 1] = r1**4 * j_r1 * a2 * r1
    vol = 8.0 * _PI / 3.0 * e_half * (e_c + p_c) * r1**5 / 5.0
    for X in "np":
        y[_A[X]] = vol * x_c[X]
        y[_B[X]] = vol * x_c[X] * epsc[X]
        for Y in ("n", "p", "h"):
            y[_C[(X, Y)]] = vol * x_c[X] * w0[Y]
    return y


def _grid(tov, n_radial):
    """Uniform s-grids of the core and the crust, sharing the boundary node."""
    s_max = tov.s_max
    s_t = tov.s_transition
    if s_t <= 0.0:
        return [np.linspace(0.0, s_max, n_radial + 1)], n_radial, 0
    # Steps are shared in proportion to *radius*, not to s: the crust is thin in s
    # (a few per cent of √h_c) but ~10 % of R, and its coefficients vary fastest.
    n_core = max(2, int(round(n_radial * tov.r_transition / tov.radius)))
    n_crust = max(2, n_radial - n_core)
    grids = [np.linspace(0.0, s_t, n_core + 1), np.linspace(s_t, s_max, n_crust + 1)]
    return grids, n_core, n_crust


def solve_rotation(eos, tov, *, n_radial=DEFAULT_N_RADIAL) -> RotationSolution:
    """Solve the two-fluid frame-dragging problem on ``tov`` with ``n_radial`` RK4 steps."""
    n_radial = int(check_range("n_radial", n_radial, 8, 1_000_000))
    grids, n_core, n_crust = _grid(tov, n_radial)
    y = None
    for gi, grid in enumerate(grids):
        ds = grid[1] - grid[0]
        start = 1 if gi == 0 else 0
        if gi == 0:
            y = _centre_start(eos, tov, grid[1])
        # coefficients at every stage point of this segment in one vectorised call
        stage = np.empty(2 * (len(grid) - 1) + 1)
        stage[0::2] = grid
        stage[1::2] = 0.5 * (grid[:-1] + grid[1:])
        # stay on the segment's side of the (possibly discontinuous) boundary
        eps = 1e-12 * ds
        stage[0] += eps
        stage[-1] -= eps
        c = _coefficients(eos, tov, stage)
        for i in range(start, len(grid) - 1):
            k0, k1, k2 = 2 * i, 2 * i + 1, 2 * i + 2
            d1 = _rhs(y, c, k0)
            d2 = _rhs(y + 0.5 * ds * d1, c, k1)
            d3 = _rhs(y + 0.5 * ds * d2, c, k1)
            d4 = _rhs(y + ds * d3, c, k2)
            y = y + ds / 6.0 * (d1 + 2.0 * d2 + 2.0 * d3 + d4)
    R = tov.radius

    def surface(key):  # ŵ(R) + (R/3)ŵ′(R); j(R) = 1 so ŵ′(R) = φ(R)/R⁴
        i = _W[key]
        return y[i] + y[i + 1] / (3.0 * R**3)

    coef = {X: -surface(X) / surface("h") for X in "np"}
    if not all(np.isfinite(v) for v in coef.values()):
        raise ConvergenceError("frame-dragging surface condition is singular")
    I_t = {X: y[_A[X]] for X in "np"}
    for X in "np":
        if I_t[X] <= 0.0:
            raise InputError(f"the {X} fluid is absent from this star (Ĩ_{X} = 0): the central "
                             "density is below the crust-core transition")
    eps_t = {X: y[_B[X]] / I_t[X] for X in "np"}
    lt = {(X, Y): (y[_C[(X, Y)]] + coef[Y] * y[_C[(X, "h")]]) / I_t[X] for X in "np" for Y in "np"}
    phi_total = sum(y[_W[X] + 1] + coef[X] * y[_W["h"] + 1] for X in "np")
    I_hartle = -phi_total / 6.0
    I_sum = sum(I_t[X] * (1.0 - lt[(X, "n")] - lt[(X, "p")]) for X in "np")
    return RotationSolution(
        I_tilde_n=float(I_t["n"]), I_tilde_p=float(I_t["p"]), eps_tilde_n=float(eps_t["n"]),
        eps_tilde_p=float(eps_t["p"]),
        eps_lt=((float(lt[("n", "n")]), float(lt[("n", "p")])),
                (float(lt[("p", "n")]), float(lt[("p", "p")]))),
        I_hartle=float(I_hartle), I_sum=float(I_sum), omega_c=float(coef["n"] + coef["p"]),
        n_radial=n_core + n_crust, n_core_steps=n_core, n_crust_steps=n_crust)
