"""The copies around a 2-D convolution's matrix products, as parallel compiled loops
(``ops/conv.py``'s ``im2col``, ``col2im``, ``batch_to_front`` and ``_channels_first`` are
the readable NumPy reference; these give the same numbers, bit for bit).

With the input x (N, C, H, W), kernel (KH, KW), stride s, dilation d and padding p:

- ``im2col``: cols[(c, i, j), col] = x_pad[n, c, oy·s + i·d, ox·s + j·d], one row per
  (channel, kernel offset), one column per (image, output position) -- col = (n, oy, ox),
  or (oy, ox, n) with the batch inner. Rows are split over the threads.
- ``col2im``: its adjoint, x[n, c, iy, ix] = Σ over the (i, j, oy, ox) that read it of
  cols[(c, i, j), col], added kernel offset by kernel offset in the order NumPy's loop adds
  them; written straight in (N, C, H, W) (no transpose afterwards). Channels are split over
  the threads (each owns its output planes, so nothing is shared).
- ``transpose``: (R, K) -> (K, R) in 32 × 32 tiles, and ``swap_leading``: (A, B, P) ->
  (B, A, P); blocks of the output are split over the threads.

NumPy runs each of these copies on one core; they are about 40% of a DCGAN step.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .numba_parallel import OPTIONS, use_threads

__all__ = ["im2col", "col2im", "transpose", "swap_leading"]

TILE = 32  # rows and columns of one tile of the blocked transpose (two 4 KB float32 tiles)


@njit(**OPTIONS)
def _im2col(x, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, inner, pad, cols):
    n, c, h, w = x.shape
    for ch in prange(c):
        if inner:  # the channel as (H, W, N) first: each window copies runs of N numbers
            xt = np.empty((h, w, n), x.dtype)
            for b in range(n):
                for iy in range(h):
                    for ix in range(w):
                        xt[iy, ix, b] = x[b, ch, iy, ix]
        for i in range(kh):
            for j in range(kw):
                r = (ch * kh + i) * kw + j
                for oy in range(oh):
                    iy = oy * sh + i * dh - ph
                    for ox in range(ow):
                        ix = ox * sw + j * dw - pw
                        inside = 0 <= iy < h and 0 <= ix < w
                        if inner:
                            base = (oy * ow + ox) * n
                            for b in range(n):
                                cols[r, base + b] = xt[iy, ix, b] if inside else pad
                        else:
                            for b in range(n):
                                cols[r, (b * oh + oy) * ow + ox] = \
                                    x[b, ch, iy, ix] if inside else pad


@njit(**OPTIONS)
def _col2im(cols, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, inner, out):
    n, c, h, w = out.shape
    for ch in prange(c):
        # the channel's sums as (H, W, N) when the batch is inner (runs of N numbers added
        # at once), else as (N, H, W); every position gets its terms in kernel-offset order
        acc = np.zeros((h, w, n) if inner else (n, h, w), out.dtype)
        for i in range(kh):
            for j in range(kw):
                r = (ch * kh + i) * kw + j
                if inner:
                    for oy in range(oh):
                        iy = oy * sh + i * dh - ph
                        if 0 <= iy < h:
                            for ox in range(ow):
                                ix = ox * sw + j * dw - pw
                                if 0 <= ix < w:
                                    base = (oy * ow + ox) * n
                                    for b in range(n):
                                        acc[iy, ix, b] += cols[r, base + b]
                else:
                    for b in range(n):
                        for oy in range(oh):
                            iy = oy * sh + i * dh - ph
                            if 0 <= iy < h:
                                for ox in range(ow):
                                    ix = ox * sw + j * dw - pw
                                    if 0 <= ix < w:
                                        acc[b, iy, ix] += cols[r, (b * oh + oy) * ow + ox]
        for b in range(n):
            for iy in range(h):
                for ix in range(w):
                    out[b, ch, iy, ix] = acc[iy, ix, b] if inner else acc[b, iy, ix]


@njit(**OPTIONS)
def _transpose(a, out):
    rows, k = a.shape
    tiles_r = (rows + TILE - 1) // TILE
    tiles_k = (k + TILE - 1) // TILE
    for t in prange(tiles_r * tiles_k):
        r0 = (t % tiles_r) * TILE
        k0 = (t // tiles_r) * TILE
        for rr in range(r0, min(r0 + TILE, rows)):
            for kk in range(k0, min(k0 + TILE, k)):
                out[kk, rr] = a[rr, kk]


@njit(**OPTIONS)
def _swap_leading(a, out):
    na, nb, p = a.shape
    for t in prange(na * nb):
        ib = t // na
        ia = t % na
        for q in range(p):
            out[ib, ia, q] = a[ia, ib, q]


def im2col(x, kernel, stride, dilation, pads, out_size, inner, pad_value=0):
    """(C·KH·KW, N·OH·OW) -- (C·KH·KW, OH·OW·N) when ``inner`` -- from x (N, C, H, W)."""
    n, c = x.shape[:2]
    cols = np.empty((c * kernel[0] * kernel[1], n * out_size[0] * out_size[1]), x.dtype)
    use_threads()
    _im2col(np.ascontiguousarray(x), kernel[0], kernel[1], stride[0], stride[1], dilation[0],
            dilation[1], pads[0][0], pads[1][0], out_size[0], out_size[1], inner,
            x.dtype.type(pad_value), cols)
    return cols


def col2im(cols, n, c, in_size, kernel, stride, dilation, pads, out_size, inner):
    """x (N, C, H, W): each entry of ``cols`` added back to the input position it came from
    (what fell on the padding is dropped)."""
    out = np.empty((n, c) + tuple(in_size), cols.dtype)
    use_threads()
    _col2im(np.ascontiguousarray(cols), kernel[0], kernel[1], stride[0], stride[1],
            dilation[0], dilation[1], pads[0][0], pads[1][0], out_size[0], out_size[1], inner,
            out)
    return out


def transpose(a):
    """The contiguous transpose (K, R) of a 2-D array (R, K)."""
    out = np.empty((a.shape[1], a.shape[0]), a.dtype)
    use_threads()
    _transpose(np.ascontiguousarray(a), out)
    return out


def swap_leading(a):
    """(A, B, P) -> contiguous (B, A, P)."""
    out = np.empty((a.shape[1], a.shape[0], a.shape[2]), a.dtype)
    use_threads()
    _swap_leading(np.ascontiguousarray(a), out)
    return out
