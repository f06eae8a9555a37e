"""Fixtures shared by the crust tests (the published rows themselves are in ``published.py``)."""
from __future__ import annotations

import pytest

from crustsolve.crust.profiles import OnsiProfile


def _profiles(row):
    R = row["R_cell"]
    return (OnsiProfile(row["n_B_n"], row["n_lambda_n"], row["C_n"], row["a_n"], R),
            OnsiProfile(row["n_B_p"], row["n_lambda_p"], row["C_p"], row["a_p"], R))


@pytest.fixture(scope="session")
def profiles():
    """``profiles(row)``: the neutron and proton Onsi profiles of a published row."""
    return _profiles
