"""LeakyReLU forward and backward as one compiled pass each (``ops/activation.py``'s
``LeakyReLU.value`` / ``derivative`` are the readable NumPy reference; these give the same
numbers).

    y = x if x > 0 else s·x,        ∂L/∂x = g if x > 0 else s·g

NumPy makes two passes forward (s·x, then the maximum) and four backward (the mask, the
masked affine map to 1 or s, the product with g), each through a temporary as large as x;
here one loop reads x (and g) once and writes once, split over the threads for large arrays
(``numba_parallel``). NaN stays NaN (x > 0 is false, s·NaN is NaN), as in NumPy.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_parallel import OPTIONS, use_threads

__all__ = ["leaky_relu_forward", "leaky_relu_backward"]


@njit(**OPTIONS)
def _forward(x, slope, y):
    for i in prange(x.size):
        v = x[i]
        y[i] = v if v > 0 else v * slope


@njit(**OPTIONS)
def _backward(g, x, slope, gx):
    for i in prange(x.size):
        gx[i] = g[i] if x[i] > 0 else g[i] * slope


def leaky_relu_forward(x, negative_slope):
    """y for the contiguous array ``x`` (any shape)."""
    y = np.empty_like(x)
    use_threads(x.size)
    _forward(x.reshape(-1), x.dtype.type(negative_slope), y.reshape(-1))
    return y


def leaky_relu_backward(g, x, negative_slope):
    """∂L/∂x for the contiguous arrays ``g`` and ``x`` of one shape and dtype."""
    gx = np.empty_like(g)
    use_threads(x.size)
    _backward(g.reshape(-1), x.reshape(-1), x.dtype.type(negative_slope), gx.reshape(-1))
    return gx
