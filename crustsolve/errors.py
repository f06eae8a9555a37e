"""Exceptions and input checks shared by all stages.

Every check names the parameter, the value given and the allowed range, so a user
never has to read a traceback from deep inside PETSc.
"""
from __future__ import annotations

import math


class CrustsolveError(Exception):
    """Base class of crustsolve's own errors (the CLI prints these without a traceback)."""


class InputError(CrustsolveError, ValueError):
    """A parameter is outside its allowed range or of the wrong kind."""


class ConfigError(InputError):
    """A run file (TOML) has an unknown key, a wrong type or a bad value."""


class NotEnoughBandsError(InputError):
    """The computed bands do not reach far enough above the chemical potential."""


class ConvergenceError(CrustsolveError, RuntimeError):
    """An iterative solve did not converge to the requested tolerance."""


def check_range(name: str, value, lo=None, hi=None, *, lo_open=False, hi_open=False,
                unit: str = "") -> float:
    """Return ``float(value)`` if it is finite and within [lo, hi] (open ends optional).

    Raises :class:`InputError` naming ``name``, the value and the allowed range.
    """
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    u = f" {unit}" if unit else ""
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    rng = f"{'(' if (lo_open or lo is None) else '['}{lo_s}, {hi_s}{')' if (hi_open or hi is None) else ']'}"
    bad = not math.isfinite(x)
    if lo is not None:
        bad |= x <= lo if lo_open else x < lo
    if hi is not None:
        bad |= x >= hi if hi_open else x > hi
    if bad:
        raise InputError(f"{name} = {value!r}{u} is outside the allowed range {rng}{u}")
    return x


def check_choice(name: str, value, choices) -> object:
    """Return ``value`` if it is one of ``choices``; otherwise an error listing them."""
    if value not in choices:
        listed = ", ".join(map(str, choices))
        raise InputError(f"{name} = {value!r} is not one of: {listed}")
    return value
