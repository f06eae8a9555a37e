"""Fixtures shared by the command-line tests."""
from __future__ import annotations

import numpy as np
import pytest


def _assert_png_plot(path):
    """``path`` is a PNG image with something drawn on it (more than one colour)."""
    import matplotlib.image  # noqa: PLC0415

    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG file"
    img = matplotlib.image.imread(str(path))
    assert img.ndim == 3 and min(img.shape[:2]) >= 100, img.shape
    assert len(np.unique(img.reshape(-1, img.shape[-1]), axis=0)) > 1, f"{path} is blank"


@pytest.fixture(scope="session")
def assert_png_plot():
    """``assert_png_plot(path)``: the check of a ``--plot`` file (a PNG with something drawn)."""
    return _assert_png_plot
