"""a + b, a − b and a · b of two arrays of one shape, split over the threads (``ops/
elementwise.py``'s ``shared`` calls NumPy's ufuncs on one thread below deltagrad.threads'
2M numbers, and this at more than one thread from ``numba_parallel``'s bar on).

One IEEE operation per element, so the numbers are NumPy's, bit for bit (−0, ±inf and NaN
included). The residual additions and the GELU backward's product g · f′ of nanoGPT's step
at 2 threads (by hand, µs on NumPy's one thread / here): (768, 128) a + b 40 / 22,
(768, 512) a · b 371 / 200.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_parallel import OPTIONS, splits, usable, use_threads

__all__ = ["OPERATIONS", "serves", "apply"]

_ADD, _SUB, _MUL = 0, 1, 2
OPERATIONS = {np.add: _ADD, np.subtract: _SUB, np.multiply: _MUL}


@njit(**OPTIONS)
def _apply(op, a, b, out):
    for i in prange(out.size):
        if op == _ADD:
            out[i] = a[i] + b[i]
        elif op == _SUB:
            out[i] = a[i] - b[i]
        else:
            out[i] = a[i] * b[i]


def serves(fn, a, b) -> bool:
    """Whether ``fn(a, b)`` runs here: an operation of OPERATIONS on two C-contiguous NumPy
    arrays of one shape and one float dtype, large enough to split over the threads
    (``numba_parallel.splits``), in a process that may use Numba's pool."""
    return (fn in OPERATIONS and type(a) is np.ndarray and type(b) is np.ndarray
            and a.shape == b.shape and a.dtype == b.dtype
            and a.dtype in (np.float32, np.float64)
            and a.flags.c_contiguous and b.flags.c_contiguous
            and splits(a.size) and usable())


def apply(fn, a, b):
    """fn(a, b) as a new array (the arrays as ``serves`` asks)."""
    out = np.empty_like(a)
    use_threads(a.size)
    _apply(OPERATIONS[fn], a.reshape(-1), b.reshape(-1), out.reshape(-1))
    return out
