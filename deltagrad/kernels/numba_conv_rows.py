"""The layout moves around a 2-D convolution's products as parallel compiled loops
(``ops/conv.py``'s ``_batch_first`` and ``_channels_first`` are the readable NumPy reference;
the same numbers, bit for bit, and the bias terms to round-off).

The products work on rows, one per channel, with one column per (image, output position):
Y (O, N·P), or (O, P·N) with the batch inner. The layers hand on batch-first arrays
(N, O, P). So the forward turns Y + b into y (N, O, P), and the backward turns ∂L/∂y back into
rows G (O, N·P) for both gradient products, and sums them for the bias gradient:

    forward:   y[n, o, q] = Y[o, col(n, q)] + b_o
    backward:  G[o, col(n, q)] = g[n, o, q],   ∂L/∂b_o = Σ_n Σ_q g[n, o, q]

with col(n, q) = n·P + q, or q·N + n when the batch is inner. NumPy makes the bias add and
the transposing copy two passes on one core, and the bias sum a third; here each is one pass
split over the threads (images forward, channels backward), the bias sum accumulated in
float64 in a fixed order whatever the thread count. LeNet's two layers at 2 threads (by hand,
interleaved): forward layout with the bias 0.49 → 0.16 and 0.24 → 0.13 ms, backward layout
with the bias sum 0.41 → 0.24 and 0.24 → 0.15 ms; the LeNet step, three interleaved runs of
60 steps each way: 11.8 → 11.6 ms at 2 threads, 19.3 → 17.0 ms at 1 (by hand). (The bare
transposes alone were no faster than NumPy's blocked copy at one thread: ``numba_col2im.py``.)
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_parallel import OPTIONS, use_threads

__all__ = ["batch_first", "channels_first"]

# "reassoc": the bias sum of each row of g as a vector (tree) sum, the same order every run
_SUM_OPTIONS = dict(OPTIONS, fastmath={"reassoc"})


@njit(**OPTIONS)
def _batch_first(rows, bias, n, inner, out):
    o_count = rows.shape[0]
    p = rows.shape[1] // n
    for b in prange(n):
        for o in range(o_count):
            dst, src = out[b, o], rows[o]
            if bias.size:
                add = bias[o]
                if inner:
                    for q in range(p):
                        dst[q] = src[q * n + b] + add
                else:
                    for q in range(p):
                        dst[q] = src[b * p + q] + add
            elif inner:
                for q in range(p):
                    dst[q] = src[q * n + b]
            else:
                for q in range(p):
                    dst[q] = src[b * p + q]


@njit(**_SUM_OPTIONS)
def _channels_first(g, inner, rows, sums):
    n, o_count, p = g.shape
    for o in prange(o_count):
        dst = rows[o]
        total = 0.0
        for b in range(n):
            src = g[b, o]
            part = 0.0
            if inner and sums.size:  # the copy with the bias gradient's sum in one pass
                for q in range(p):
                    dst[q * n + b] = src[q]
                    part += src[q]
            elif sums.size:
                for q in range(p):
                    dst[b * p + q] = src[q]
                    part += src[q]
            elif inner:
                for q in range(p):
                    dst[q * n + b] = src[q]
            else:
                for q in range(p):
                    dst[b * p + q] = src[q]
            total += part
        if sums.size:
            sums[o] = total


def batch_first(rows, bias, n, out_size, inner):
    """y (N, O, *out_size) from the C-contiguous rows (O, N·P) — (O, P·N) when ``inner`` —
    plus the bias (O,) when it is not None."""
    o = rows.shape[0]
    out = np.empty((n, o) + tuple(out_size), rows.dtype)
    use_threads(rows.size)
    b = np.empty(0, rows.dtype) if bias is None else np.ascontiguousarray(bias, rows.dtype)
    _batch_first(rows, b, n, inner, out.reshape(n, o, -1))
    return out


def channels_first(g, inner, with_sums):
    """rows (O, N·P) — (O, P·N) when ``inner`` — from the C-contiguous g (N, O, *out); with
    ``with_sums`` the pair (rows, Σ over N and the positions per channel (O,) in g's
    dtype)."""
    n, o = g.shape[:2]
    rows = np.empty((o, g.size // o), g.dtype)
    sums = np.empty(o if with_sums else 0, np.float64)
    use_threads(g.size)
    _channels_first(g.reshape(n, o, -1), inner, rows, sums)
    return (rows, sums.astype(g.dtype)) if with_sums else rows
