"""Batch normalisation in training mode as parallel compiled loops over the channels
(``ops/normalization.py``'s ``Normalize`` is the readable reference).

For x seen as (N, C, S) -- S the spatial positions -- each channel c has m = N·S values:
μ_c = Σx/m, σ²_c = Σ(x − μ_c)²/m (two passes, float64 sums), r_c = 1/√(σ²_c + ε),
y = γ_c r_c (x − μ_c) + β_c. The backward, with δ = ∂L/∂y and x̂ = (x − μ_c) r_c:
∂L/∂β_c = Σδ, ∂L/∂γ_c = Σ δ x̂, ∂L/∂x = γ_c r_c (δ − ∂L/∂β_c/m − x̂ ∂L/∂γ_c/m).
NumPy makes about six passes over the activations for the forward and eight for the
backward, on one core; here the forward reads x three times and writes y once, the backward
reads δ and x twice and writes ∂L/∂x once, and the channels are split over the threads.
The sums are in float64, so results agree with the NumPy path to the dtype's round-off.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_parallel import OPTIONS, use_threads

__all__ = ["batch_norm_forward", "batch_norm_backward"]

# "reassoc" lets the channel sums run as vector (tree) sums of float64 terms -- the order only
# changes the last bits -- and "contract" fuses multiply-adds; no "nnan"/"ninf", so NaN and
# ±inf keep their IEEE behaviour
FAST = dict(OPTIONS, fastmath={"reassoc", "contract"})


@njit(**FAST)
def _forward(x, w, b, eps, has_w, has_b, out, mean, var, rstd):
    n, c, s = x.shape
    m = n * s
    for ch in prange(c):
        total = 0.0
        for i in range(n):
            for j in range(s):
                total += x[i, ch, j]
        mu = total / m
        total2 = 0.0
        for i in range(n):
            for j in range(s):
                t = x[i, ch, j] - mu
                total2 += t * t
        v = total2 / m
        r = 1.0 / np.sqrt(v + eps)
        mean[ch] = mu
        var[ch] = v
        rstd[ch] = r
        scale = r * w[ch] if has_w else r
        shift = b[ch] if has_b else 0.0
        for i in range(n):
            for j in range(s):
                out[i, ch, j] = (x[i, ch, j] - mu) * scale + shift


@njit(**FAST)
def _backward(g, x, w, mean, rstd, has_w, need_x, gx, sum_g, sum_gxhat):
    n, c, s = g.shape
    m = n * s
    for ch in prange(c):
        mu = mean[ch]
        r = rstd[ch]
        sg = 0.0
        sgx = 0.0
        for i in range(n):
            for j in range(s):
                gij = g[i, ch, j]
                sg += gij
                sgx += gij * ((x[i, ch, j] - mu) * r)
        sum_g[ch] = sg
        sum_gxhat[ch] = sgx
        if need_x:
            scale = r * w[ch] if has_w else r
            a = sgx / m
            b0 = sg / m
            for i in range(n):
                for j in range(s):
                    xhat = (x[i, ch, j] - mu) * r
                    gx[i, ch, j] = scale * (g[i, ch, j] - xhat * a - b0)


def batch_norm_forward(x3, w, b, eps):
    """(y, μ, σ², 1/√(σ² + ε)) for the contiguous (N, C, S) array ``x3``; γ, β are (C,)
    arrays or None. The statistics come back as (C,) arrays in x's dtype."""
    n, c, s = x3.shape
    dt = x3.dtype
    out = np.empty_like(x3)
    mean, var, rstd = np.empty(c), np.empty(c), np.empty(c)
    use_threads(x3.size)
    _forward(x3, w if w is not None else np.empty(0, dt), b if b is not None else np.empty(0, dt),
             float(eps), w is not None, b is not None, out, mean, var, rstd)
    return out, mean.astype(dt), var.astype(dt), rstd.astype(dt)


def batch_norm_backward(g3, x3, w, mean, rstd, need_x):
    """(∂L/∂x or None, Σδ x̂, Σδ) per channel for the (N, C, S) gradient ``g3`` (the last two
    as (C,) arrays in g's dtype: ∂L/∂γ and ∂L/∂β)."""
    n, c, s = g3.shape
    dt = g3.dtype
    gx = np.empty_like(g3) if need_x else np.empty((0, 0, 0), dt)
    sum_g, sum_gxhat = np.empty(c), np.empty(c)
    use_threads(g3.size)
    _backward(g3, x3, w if w is not None else np.empty(0, dt), mean, rstd, w is not None,
              need_x, gx, sum_g, sum_gxhat)
    return (gx if need_x else None), sum_gxhat.astype(dt), sum_g.astype(dt)
