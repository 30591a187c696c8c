"""Layer normalisation as compiled row loops (``ops/normalization.py``'s ``Normalize`` is the
readable reference).

Per row x of D features: μ = Σx/D, σ² = Σ(x − μ)²/D (two passes, accumulated in float64),
x̂ = (x − μ)/√(σ² + ε), y = γ ⊙ x̂ + β. The backward, with g = ∂L/∂y and ĝ = γ ⊙ g:
∂L/∂x = (ĝ − mean(ĝ) − x̂ · mean(ĝ ⊙ x̂)) / √(σ² + ε), ∂L/∂γ = Σ_rows g ⊙ x̂, ∂L/∂β = Σ_rows g.
NumPy makes about six passes over the activations for the forward and eleven for the
backward; each loop here reads a row while it is in cache. x̂ is rounded to the input's dtype
before γ and β are applied, as in the NumPy path; the sums are in float64, so the results
agree with it to the dtype's round-off. The loops release the GIL: ``layer_norm_forward`` and
``layer_norm_backward`` run blocks of rows on the threads (``deltagrad.threads``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..threads import parallel, split_count

__all__ = ["layer_norm_forward", "layer_norm_backward"]

# "reassoc" lets the row sums run as vector (tree) sums; they are float64 sums of float32 or
# float64 terms, so the order only changes the last bits. No "nnan"/"ninf": NaN and ±inf keep
# their IEEE behaviour.
OPTIONS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})


@njit(**OPTIONS)
def _forward_rows(x, w, b, eps, has_w, has_b, out, xhat, mean, rstd):
    rows, d = x.shape
    for r in range(rows):
        s = 0.0
        for j in range(d):
            s += x[r, j]
        mu = s / d
        s2 = 0.0
        for j in range(d):
            t = x[r, j] - mu
            s2 += t * t
        rs = 1.0 / np.sqrt(s2 / d + eps)
        mean[r] = mu
        rstd[r] = rs
        for j in range(d):
            xhat[r, j] = (x[r, j] - mu) * rs
            y = xhat[r, j]
            if has_w:
                y = y * w[j]
            if has_b:
                y = y + b[j]
            out[r, j] = y


@njit(**OPTIONS)
def _backward_rows(g, xhat, w, rstd, has_w, need_x, gx, gw, gb):
    rows, d = g.shape
    for r in range(rows):
        m1 = 0.0
        m2 = 0.0
        for j in range(d):
            gj = g[r, j]
            gw[j] += gj * xhat[r, j]
            gb[j] += gj
            gh = gj * w[j] if has_w else gj
            m1 += gh
            m2 += gh * xhat[r, j]
        if need_x:
            m1 /= d
            m2 /= d
            for j in range(d):
                gh = g[r, j] * w[j] if has_w else g[r, j]
                gx[r, j] = (gh - xhat[r, j] * m2 - m1) * rstd[r]


def _blocks(rows, d):
    k = min(split_count(rows * d), rows)
    return [(rows * i // k, rows * (i + 1) // k) for i in range(k)]


def layer_norm_forward(x2, w, b, eps):
    """(y, x̂, μ, 1/√(σ² + ε)) of the rows of the contiguous (R, D) array ``x2``; γ, β are
    (D,) arrays or None. μ and the root come back as (R,) arrays in x's dtype."""
    rows, d = x2.shape
    dt = x2.dtype
    out, xhat = np.empty_like(x2), np.empty_like(x2)
    mean, rstd = np.empty(rows, dt), np.empty(rows, dt)
    ww = w if w is not None else np.empty(0, dt)
    bb = b if b is not None else np.empty(0, dt)
    e = float(eps)
    parallel([(lambda lo=lo, hi=hi: _forward_rows(
        x2[lo:hi], ww, bb, e, w is not None, b is not None, out[lo:hi], xhat[lo:hi],
        mean[lo:hi], rstd[lo:hi])) for lo, hi in _blocks(rows, d)])
    return out, xhat, mean, rstd


def layer_norm_backward(g2, xhat, w, rstd, need_x):
    """(∂L/∂x or None, ∂L/∂γ, ∂L/∂β) for the (R, D) gradient ``g2``; the parameter
    gradients are summed per block of rows in float64, then over the blocks in order."""
    rows, d = g2.shape
    dt = g2.dtype
    gx = np.empty_like(g2) if need_x else np.empty((0, 0), dt)
    blocks = _blocks(rows, d)
    gws = np.zeros((len(blocks), d))
    gbs = np.zeros((len(blocks), d))
    ww = w if w is not None else np.empty(0, dt)
    parallel([(lambda i=i, lo=lo, hi=hi: _backward_rows(
        g2[lo:hi], xhat[lo:hi], ww, rstd[lo:hi], w is not None, need_x,
        gx[lo:hi] if need_x else gx, gws[i], gbs[i])) for i, (lo, hi) in enumerate(blocks)])
    return (gx if need_x else None), gws.sum(0).astype(dt), gbs.sum(0).astype(dt)
