"""col2im, the adjoint of a 2-D convolution's im2col, as a parallel compiled loop
(``ops/conv.py``'s ``col2im`` is the readable NumPy reference; this gives the same numbers,
bit for bit).

With the input x (N, C, H, W), kernel (KH, KW), stride s, dilation d and padding p, im2col
made cols[(c, i, j), col] = x_pad[n, c, oy·s + i·d, ox·s + j·d], one column per (image,
output position): col = (n, oy, ox), or (oy, ox, n) with the batch inner. col2im adds each
entry back where it came from:

    x[n, c, iy, ix] = Σ over the (i, j, oy, ox) with oy·s + i·d − p = iy, ox·s + j·d − p = ix
                      of cols[(c, i, j), col]

kernel offset by kernel offset, in the order NumPy's loop adds them. NumPy makes one strided
addition of a (C, N, OH, OW) slab per offset into a (C, H, W, N) array, then transposes it
to (N, C, H, W); here each channel's sums stay in a small buffer (its H·W·N numbers, in
L2) and are written straight into (N, C, H, W), and the channels are split over the threads
(each owns its output planes). DCGAN's largest (2048 × 3136 columns to (64, 128, 14, 14)):
8.1 -> 2.8 ms at 2 threads, 8.2 -> 2.7 ms at 1.

The batch transposes around the products were tried as compiled loops too and were no
faster than NumPy's blocked copy ((12544, 64): 0.55 vs 0.47 ms at 1 thread).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_parallel import OPTIONS, use_threads

__all__ = ["col2im"]


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


def col2im(cols, n, c, in_size, kernel, stride, dilation, pads, out_size, inner):
    """x (N, C, H, W): each entry of ``cols`` added back to the input position it came from
    (what fell on the padding is dropped)."""
    out = np.empty((n, c) + tuple(in_size), cols.dtype)
    use_threads(cols.size)
    _col2im(np.ascontiguousarray(cols), kernel[0], kernel[1], stride[0], stride[1],
            dilation[0], dilation[1], pads[0][0], pads[1][0], out_size[0], out_size[1], inner,
            out)
    return out
