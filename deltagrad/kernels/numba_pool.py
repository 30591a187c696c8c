"""2×2 max pooling of stride 2, forward and backward, as parallel compiled loops
(``ops/pooling.py``'s ``window_max`` and ``WindowScatter``, elementwise passes over one
strided slab per kernel offset, are the readable reference for every geometry; this gives
the same numbers).

With the input x (N, C, H, W) and the windows of 2×2 positions that do not overlap (LeNet's,
VGG's and U-Net's pooling):

    y[n, c, oy, ox] = max of x[n, c, 2·oy + i, 2·ox + j] over i, j ∈ {0, 1}
    idx[n, c, oy, ox] = 2·i + j of that maximum: the first one at ties, the last NaN if any
                        (PyTorch's rule: a value wins when it is greater or NaN)
    ∂L/∂x[n, c, 2·oy + i, 2·ox + j] = g[n, c, oy, ox] where 2·i + j = idx, else 0

NumPy makes about six passes per kernel offset (a slab copy, compare, index and maximum
updates) and the backward a masked product per offset; each loop here reads its input once,
split over the threads by (image, channel) plane. Only this window: with its size known to
the compiler the loops unroll; a compiled loop over a window size given at run time measured
slower than NumPy's passes (LeNet's first pool, one thread, by hand: 1.15 ms against
0.63 ms NumPy and 0.46 ms this loop). ``benchmarks/pool_speed.py`` times both paths.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_parallel import OPTIONS, use_threads

__all__ = ["fits", "max_pool2x2", "max_pool2x2_backward"]


def fits(geo) -> bool:
    """Whether the pooling geometry is the 2×2 window of stride 2 without dilation or
    padding."""
    return geo.kernel == (2, 2) and geo.stride == (2, 2) and geo.dilation == (1, 1) and \
        geo.pads == ((0, 0), (0, 0))


@njit(**OPTIONS)
def _forward(x, out, idx):
    n, c = x.shape[:2]
    oh, ow = out.shape[2:]
    for plane in prange(n * c):
        b, ch = plane // c, plane % c
        for oy in range(oh):
            for ox in range(ow):
                best = x[b, ch, 2 * oy, 2 * ox]
                where = 0
                for i in range(2):
                    for j in range(2):
                        v = x[b, ch, 2 * oy + i, 2 * ox + j]
                        if v > best or np.isnan(v):
                            best = v
                            where = 2 * i + j
                out[b, ch, oy, ox] = best
                idx[b, ch, oy, ox] = where


@njit(**OPTIONS)
def _backward(g, idx, gx):
    n, c = g.shape[:2]
    oh, ow = g.shape[2:]
    for plane in prange(n * c):
        b, ch = plane // c, plane % c
        gx[b, ch] = 0  # the rows and columns no window covers (odd H or W) included
        for oy in range(oh):
            for ox in range(ow):
                k = idx[b, ch, oy, ox]
                gx[b, ch, 2 * oy + k // 2, 2 * ox + k % 2] = g[b, ch, oy, ox]


def max_pool2x2(x, idx_dtype):
    """(max, offset index of it) over the 2×2 windows of x (N, C, H, W)."""
    x = np.ascontiguousarray(x)
    out = np.empty(x.shape[:2] + (x.shape[2] // 2, x.shape[3] // 2), x.dtype)
    idx = np.empty(out.shape, idx_dtype)
    use_threads(x.size)
    _forward(x, out, idx)
    return out, idx


def max_pool2x2_backward(g, idx, in_size):
    """∂L/∂x (N, C, *in_size) from the output gradient g and the offsets ``idx`` of the
    maxima."""
    gx = np.empty(g.shape[:2] + tuple(in_size), g.dtype)
    use_threads(gx.size)
    _backward(np.ascontiguousarray(g), np.ascontiguousarray(idx), gx)
    return gx
