"""A 2-D convolution of single-channel images computed directly, forward and weight gradient,
as parallel compiled loops (``ops/conv.py``'s im2col + GEMM is the readable reference; the
same numbers to float32 round-off).

With one input channel (a network's first layer on grey images: LeNet's 1 → 6, 5×5, padding
2) the products are tiny (K = 25 rows) and im2col's matrix is the work: a (25, N·784) copy of
the batch, 5 MB for 64 MNIST images, written and read twice a step (forward, weight
gradient). Here, per image (split over the threads), with x_pad the zero-padded image:

    forward:        y[n, o, oy, ox] = (Σ_i Σ_j W[o, i, j] · x_pad[n, oy + i, ox + j]) + b_o
    weight grad:    ∂L/∂W[o, i, j] = Σ_n Σ_oy Σ_ox g[n, o, oy, ox] · x_pad[n, oy + i, ox + j]

each inner loop one long run over the image (vectorised): the outputs are computed on a grid
as wide as the padded image, so that a kernel offset (i, j) is one shift of the flattened
image, and the extra columns are dropped. The weight gradient (and the bias gradient Σ g
with it) sums each image's terms in float32 as vector (tree) sums and the images' partial
sums in float64, in a fixed order whatever the thread count. LeNet's first layer, 64 images,
by hand: forward 1.04 → 0.55 ms at 2 threads, 1.43 → 0.80 at 1; weight gradient (with the
im2col it needs) 1.34 → 0.53 and 2.29 → 0.72 ms. Stride and dilation 1 only (``ops/conv.py``'s ``_direct``
says when this path runs).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_parallel import OPTIONS, use_threads

__all__ = ["conv_forward", "conv_weight_grad"]


# "reassoc": the weight gradient's dot products as vector (tree) sums, the same order every run
_SUM_OPTIONS = dict(OPTIONS, fastmath={"reassoc", "contract"})


@njit(**OPTIONS)
def _padded(x, n, ph, pw, out):
    """out (flat, zeroed) ← the image x[n] (H, W) with ph/pw zero rows/columns each side, in
    rows of ``row`` = W + 2·pw numbers."""
    h, w = x.shape[1], x.shape[2]
    row = w + 2 * pw
    out[:] = 0.0
    for r in range(h):
        src = x[n, r]
        base = (ph + r) * row + pw
        for c in range(w):
            out[base + c] = src[c]


@njit(**OPTIONS)
def _forward(x, w, bias, ph, pw, out):
    n_img, h, wd = x.shape
    o_count, kh, kw = w.shape
    oh, ow = out.shape[2], out.shape[3]
    row = wd + 2 * pw             # the padded image's row length: outputs are computed on an
    span = oh * row               # (OH, row) grid, so that every kernel offset (i, j) is one
    for n in prange(n_img):       # long run, acc[k] += W[o, i, j] · x_pad[k + i·row + j];
        xp = np.empty((h + 2 * ph + 1) * row, x.dtype)  # the last kw − 1 columns are dropped
        _padded(x, n, ph, pw, xp)
        acc = np.empty(span, x.dtype)
        for o in range(o_count):
            acc[:] = 0.0
            for i in range(kh):
                for j in range(kw):
                    wv = w[o, i, j]
                    src = xp[i * row + j:i * row + j + span]
                    for k in range(span):
                        acc[k] += wv * src[k]
            b = bias[o]
            for oy in range(oh):
                dst = out[n, o, oy]
                for ox in range(ow):
                    dst[ox] = acc[oy * row + ox] + b


@njit(**_SUM_OPTIONS)
def _weight_grad(x, g, ph, pw, partial, bias_partial):
    n_img, h, wd = x.shape
    o_count, oh, ow = g.shape[1], g.shape[2], g.shape[3]
    kh, kw = partial.shape[2], partial.shape[3]
    row = wd + 2 * pw
    span = oh * row
    for n in prange(n_img):
        xp = np.empty((h + 2 * ph + 1) * row, x.dtype)
        _padded(x, n, ph, pw, xp)
        gs = np.zeros(span, x.dtype)  # g[n, o] on the (OH, row) grid, zeros in the extra columns
        for o in range(o_count):
            for oy in range(oh):
                src = g[n, o, oy]
                for ox in range(ow):
                    gs[oy * row + ox] = src[ox]
            if bias_partial.size:  # Σ of g[n, o], for the bias gradient
                total = np.float32(0.0)
                for k in range(span):
                    total += gs[k]
                bias_partial[n, o] = total
            for i in range(kh):
                for j in range(kw):
                    win = xp[i * row + j:i * row + j + span]
                    total = np.float32(0.0)
                    for k in range(span):
                        total += gs[k] * win[k]
                    partial[n, o, i, j] = total


def conv_forward(x, w, bias, pads, out_size):
    """y (N, O, OH, OW) of C-contiguous float32 x (N, 1, H, W) and w (O, 1, KH, KW), with
    ``bias`` (O,) or None and ``pads`` ((top, bottom), (left, right)) of zeros."""
    n, o = x.shape[0], w.shape[0]
    out = np.empty((n, o) + tuple(out_size), x.dtype)
    use_threads(out.size * w.shape[2] * w.shape[3])
    b = np.zeros(o, x.dtype) if bias is None else np.ascontiguousarray(bias, x.dtype)
    _forward(x[:, 0], np.ascontiguousarray(w[:, 0]), b, pads[0][0], pads[1][0], out)
    return out


def conv_weight_grad(x, g, pads, kernel, bias=False):
    """∂L/∂W (O, 1, KH, KW) from x (N, 1, H, W) and ∂L/∂y g (N, O, OH, OW), C-contiguous;
    with ``bias``, the pair (∂L/∂W, ∂L/∂b (O,)), the bias sums taken while g is in cache."""
    n, o = g.shape[:2]
    partial = np.empty((n, o) + tuple(kernel), np.float64)
    bias_partial = np.empty((n, o) if bias else (0, 0), np.float64)
    use_threads(g.size * kernel[0] * kernel[1])
    _weight_grad(x[:, 0], g, pads[0][0], pads[1][0], partial, bias_partial)
    gw = partial.sum(axis=0).astype(x.dtype)[:, None]
    return (gw, bias_partial.sum(axis=0).astype(x.dtype)) if bias else gw
