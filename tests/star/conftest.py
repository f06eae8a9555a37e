"""Fixtures shared by the star-stage tests."""
from __future__ import annotations

import math

import pytest
from scipy.integrate import solve_ivp


def _independent_hartle(K, gamma, h_c):
    """Single-fluid Hartle (1967) I = J/Ω of a polytrope, integrated in r (written for the test).

    ω̄″ = −(4/r − 4πr(ε+P)e^λ) ω̄′ + 16π(ε+P)e^λ ω̄, ω̄(0) = 1, ω̄′(0) = 0;
    J = R⁴ω̄′(R)/6, Ω = ω̄(R) + 2J/R³.
    """
    rho_c = (math.expm1(h_c) * (gamma - 1.0) / (gamma * K)) ** (1.0 / (gamma - 1.0))

    def eps_of(p):
        rho = (max(p, 0.0) / K) ** (1.0 / gamma)
        return rho + p / (gamma - 1.0)

    p_c = K * rho_c**gamma
    e_c = eps_of(p_c)

    def rhs(r, y):
        m, p, w, dw = y
        e = eps_of(p)
        el = 1.0 / (1.0 - 2.0 * m / r)
        dp = -(e + p) * (m + 4 * math.pi * r**3 * p) * el / r**2
        ddw = -(4.0 / r - 4 * math.pi * r * (e + p) * el) * dw + 16 * math.pi * (e + p) * el * w
        return [4 * math.pi * r**2 * e, dp, dw, ddw]

    surface = lambda r, y: y[1]  # noqa: E731
    surface.terminal = True
    r0 = 1e-6
    a2 = 16 * math.pi / 5.0 * (e_c + p_c)        # ω̄ = 1 + a2 r²/2 near the centre
    y0 = [4 * math.pi / 3 * e_c * r0**3, p_c, 1.0 + 0.5 * a2 * r0**2, a2 * r0]
    sol = solve_ivp(rhs, (r0, 100.0), y0, events=surface, rtol=1e-12, atol=1e-16,
                    method="DOP853")
    R = sol.t_events[0][0]
    m, _, w, dw = sol.y_events[0][0]
    J = R**4 * dw / 6.0
    return m, R, J / (w + 2.0 * J / R**3)


@pytest.fixture(scope="session")
def independent_hartle():
    """``independent_hartle(K, gamma, h_c)`` → (M, R, I) of a polytrope from a direct
    integration in r, independent of crustsolve.star."""
    return _independent_hartle
