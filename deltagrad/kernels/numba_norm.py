"""Layer normalisation as compiled row loops (``ops/normalization.py``'s ``Normalize`` is the
readable reference).

Per row x of D features: μ = Σx/D, σ² = Σ(x − μ)²/D (two passes, accumulated in float64),
x̂ = (x − μ)/√(σ² + ε), y = γ ⊙ x̂ + β. The backward, with g = ∂L/∂y and ĝ = γ ⊙ g:
∂L/∂x = (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)) / √(σ² + ε), ∂L/∂γ = Σ_rows g ⊙ x̂, ∂L/∂β = Σ_rows g.
x̂ is not kept: the forward keeps μ and 1/√(σ² + ε) in float64 and the backward recomputes
x̂ from x (the same bits), as PyTorch does, so a layer norm keeps no array of its own.
NumPy makes about six passes over the activations for the forward and eleven for the
backward; each loop here reads a row while it is in cache. x̂ is rounded to the input's dtype
before γ and β are applied, as in the NumPy path; the sums are in float64, so the results
agree with it to the dtype's round-off. The rows are split over Numba's OpenMP pool
(``numba_parallel.py``, from 100K numbers while MKL keeps that pool spinning); they ran on
``deltagrad.threads``' Python helper threads before, whose hand-off (85–230 µs) kept the
transformer's (2048, 128) rows on one thread: forward 272 → 130 µs at 2 threads (by hand).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_parallel import use_threads

__all__ = ["layer_norm_forward", "layer_norm_backward"]

# The backward sums ∂L/∂γ and ∂L/∂β over a fixed number of blocks of rows, shared out among
# the threads, then over the blocks in order: the same numbers at any thread count. With one
# block per thread, the (2048, 128) backward took ~550 µs at 2 threads, no less than at 1;
# with 4 or more blocks a thread, ~300 µs (by hand; each thread's γ and β sums, written every
# row, seem to stall on the other's in the memory system).
ROW_BLOCKS = 16

# "reassoc" lets the row sums run as vector (tree) sums; they are float64 sums of float32 or
# float64 terms, so the order only changes the last bits. No "nnan"/"ninf": NaN and ±inf keep
# their IEEE behaviour. The rows are split over Numba's pool (``numba_parallel``).
OPTIONS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"},
               parallel=True)


@njit(**OPTIONS)
def _forward_rows(x, w, b, eps, has_w, has_b, out, mean, rstd):
    rows, d = x.shape
    for r in prange(rows):
        xr, o = x[r], out[r]
        s = 0.0
        for j in range(d):
            s += xr[j]
        mu = s / d
        s2 = 0.0
        for j in range(d):
            t = xr[j] - mu
            s2 += t * t
        rs = 1.0 / np.sqrt(s2 / d + eps)
        mean[r] = mu
        rstd[r] = rs
        for j in range(d):
            o[j] = (xr[j] - mu) * rs  # x̂, rounded to x's dtype
            if has_w:
                o[j] *= w[j]
            if has_b:
                o[j] += b[j]


@njit(**OPTIONS)
def _backward_rows(g, x, mean, rstd, w, has_w, need_x, gx, gws, gbs):
    rows, d = g.shape
    parts = gws.shape[0]
    for p in prange(parts):  # each part its rows, and its own γ and β sums
        gw, gb = gws[p], gbs[p]
        xh = np.empty(d, x.dtype)
        for r in range(rows * p // parts, rows * (p + 1) // parts):
            gr, xr, mu, rs = g[r], x[r], mean[r], rstd[r]
            m1 = 0.0
            m2 = 0.0
            for j in range(d):
                xh[j] = (xr[j] - mu) * rs  # the forward's x̂, bit for bit
                gj = gr[j]
                gw[j] += gj * xh[j]
                gb[j] += gj
                gh = gj * w[j] if has_w else gj
                m1 += gh
                m2 += gh * xh[j]
            if need_x:
                m1 /= d
                m2 /= d
                out = gx[r]
                for j in range(d):
                    gh = gr[j] * w[j] if has_w else gr[j]
                    out[j] = (gh - xh[j] * m2 - m1) * rs


def layer_norm_forward(x2, w, b, eps):
    """(y, μ, 1/√(σ² + ε)) of the rows of the contiguous (R, D) array ``x2``; γ, β are
    (D,) arrays or None. μ and the root come back as (R,) float64 arrays, from which the
    backward recomputes x̂ exactly (x̂ is not kept: one pass and one array fewer)."""
    rows, d = x2.shape
    dt = x2.dtype
    out = np.empty_like(x2)
    mean, rstd = np.empty(rows), np.empty(rows)
    ww = w if w is not None else np.empty(0, dt)
    bb = b if b is not None else np.empty(0, dt)
    use_threads(x2.size)
    _forward_rows(x2, ww, bb, float(eps), w is not None, b is not None, out, mean, rstd)
    return out, mean, rstd


def layer_norm_backward(g2, x2, mean, rstd, w, need_x):
    """(∂L/∂x or None, ∂L/∂γ, ∂L/∂β) for the (R, D) gradient ``g2`` of the rows ``x2``, with
    the float64 μ and root of :func:`layer_norm_forward`; the parameter gradients are summed
    per block of rows (ROW_BLOCKS of them) in float64, then over the blocks in order."""
    rows, d = g2.shape
    dt = g2.dtype
    gx = np.empty_like(g2) if need_x else np.empty((0, 0), dt)
    use_threads(g2.size)
    parts = max(1, min(ROW_BLOCKS, rows))
    gws = np.zeros((parts, d))
    gbs = np.zeros((parts, d))
    ww = w if w is not None else np.empty(0, dt)
    _backward_rows(g2, x2, mean, rstd, ww, w is not None, need_x, gx, gws, gbs)
    return (gx if need_x else None), gws.sum(0).astype(dt), gbs.sum(0).astype(dt)
