"""3D FFTs of periodic fields: pyfftw when available, numpy otherwise.

One small backend switch (the mpi4py-fft pattern): callers ask for
``FFT(shape, backend=...)`` and use ``forward``/``backward``; nothing else in
crustsolve imports pyfftw. Fields are replicated on every rank (they are small
next to the eigenvectors), so these transforms are serial. pyfftw runs single-
threaded by default (MPI ranks already use the cores); ``threads`` overrides.
"""
from __future__ import annotations

import numpy as np

from .errors import check_choice

BACKENDS = ("auto", "pyfftw", "numpy")


def pyfftw_available() -> bool:
    try:
        import pyfftw  # noqa: F401, PLC0415 - optional (extra "fft"): is it installed?
    except ImportError:
        return False
    return True


class FFT:
    """Complex-to-complex 3D transform of arrays of a fixed shape.

    ``forward(f)`` = Σ_r f(r) e^{-iG·r} (numpy's unnormalised convention);
    ``backward(F)`` is its inverse (includes 1/N).
    """

    def __init__(self, shape, backend: str = "auto", threads: int = 1):
        check_choice("fft backend", backend, BACKENDS)
        if backend == "auto":
            backend = "pyfftw" if pyfftw_available() else "numpy"
        self.shape = tuple(int(s) for s in shape)
        self.backend = backend
        self.threads = int(threads)
        if backend == "pyfftw":
            import pyfftw  # noqa: PLC0415 - optional: only this backend needs it

            self._a = pyfftw.empty_aligned(self.shape, dtype="complex128")
            self._b = pyfftw.empty_aligned(self.shape, dtype="complex128")
            self._fwd = pyfftw.FFTW(self._a, self._b, axes=(0, 1, 2), direction="FFTW_FORWARD",
                                    threads=self.threads, flags=("FFTW_ESTIMATE",))
            self._bwd = pyfftw.FFTW(self._b, self._a, axes=(0, 1, 2), direction="FFTW_BACKWARD",
                                    threads=self.threads, flags=("FFTW_ESTIMATE",))

    def forward(self, f: np.ndarray) -> np.ndarray:
        if self.backend == "numpy":
            return np.fft.fftn(f)
        self._a[...] = f
        return self._fwd().copy()

    def backward(self, F: np.ndarray) -> np.ndarray:
        if self.backend == "numpy":
            return np.fft.ifftn(F)
        self._b[...] = F
        # pyfftw's FFTW.__call__ normalises the backward transform by 1/N by default.
        return self._bwd().copy()


def wavevectors(n: int, a: float) -> tuple:
    """Reciprocal-lattice vectors G_d (fm⁻¹) of an n³ grid on a cube of side a, FFT order."""
    g = 2.0 * np.pi * np.fft.fftfreq(n, d=a / n)
    return np.meshgrid(g, g, g, indexing="ij")
