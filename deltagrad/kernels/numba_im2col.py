"""im2col of a 2-D convolution as a parallel compiled loop (``ops/conv.py``'s ``im2col``, a
strided view of the windows copied by NumPy, is the readable reference; this gives the same
numbers, bit for bit).

With the input x (N, C, H, W), kernel (KH, KW), stride s, dilation d and padding p (filled
with ``pad``):

    cols[(c, i, j), col] = x_pad[n, c, oy·s + i·d, ox·s + j·d]

one row per (channel, kernel offset), one column per (image, output position): col =
(n, oy, ox) -- rows split over the threads, each written in order -- or (oy, ox, n) with the
batch inner -- channels split over the threads, each channel first turned to (H, W, N) so
that every window position copies a run of N numbers. NumPy copies the strided view on one
core (the batch-inner order also pads and transposes the whole input first). DCGAN's
largest, (64, 128, 14, 14) -> (2048, 3136): 6.2 ms NumPy, 5.5 ms here at 1 thread, 3.1 ms
at 2 on a quiet machine (a busy second core gives nothing back). On one thread the two are
about even (DCGAN's and LeNet's layers: 0.16 vs 0.17, 1.46 vs 1.60, 0.24 vs 0.30 ms; with
one output position NumPy's is a view, 0.03 vs 1.7 ms), so ``ops/conv.py`` calls this only
for work that is split over the threads.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_parallel import OPTIONS, use_threads

__all__ = ["im2col"]


@njit(**OPTIONS)
def _batch_outer(x, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, pad, cols):
    n, c, h, w = x.shape
    for r in prange(c * kh * kw):
        ch = r // (kh * kw)
        i = (r // kw) % kh
        j = r % kw
        for b in range(n):
            for oy in range(oh):
                iy = oy * sh + i * dh - ph
                for ox in range(ow):
                    ix = ox * sw + j * dw - pw
                    cols[r, (b * oh + oy) * ow + ox] = \
                        x[b, ch, iy, ix] if 0 <= iy < h and 0 <= ix < w else pad


@njit(**OPTIONS)
def _batch_inner(x, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, pad, cols):
    n, c, h, w = x.shape
    for ch in prange(c):
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
                        base = (oy * ow + ox) * n
                        if 0 <= iy < h and 0 <= ix < w:
                            for b in range(n):
                                cols[r, base + b] = xt[iy, ix, b]
                        else:
                            for b in range(n):
                                cols[r, base + b] = pad


def im2col(x, kernel, stride, dilation, pads, out_size, inner, pad_value=0):
    """(C·KH·KW, N·OH·OW) -- (C·KH·KW, OH·OW·N) when ``inner`` -- from x (N, C, H, W)."""
    n, c = x.shape[:2]
    cols = np.empty((c * kernel[0] * kernel[1], n * out_size[0] * out_size[1]), x.dtype)
    use_threads(cols.size)
    copy = _batch_inner if inner else _batch_outer
    copy(np.ascontiguousarray(x), kernel[0], kernel[1], stride[0], stride[1], dilation[0],
         dilation[1], pads[0][0], pads[1][0], out_size[0], out_size[1],
         x.dtype.type(pad_value), cols)
    return cols
