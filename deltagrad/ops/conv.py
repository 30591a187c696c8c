"""Convolution in any number of spatial dimensions, grouped, strided, dilated and transposed,
from one piece of window code and one matrix product.

Cross-correlation (what CNN libraries call convolution, seed 002 §"Cross-correlation"):

    y[n, o, p] = b_o + Σ_c Σ_k W[o, c, k] · x_pad[n, c, p·s + k·d]

- ``im2col`` views the padded input as windows (N, C, *out, *K) with strides (no copy)
  and lays them out as a matrix (C·K, N·P) -- or (C·K, P·N) for narrow outputs, see
  ``batch_inner`` --; the forward is one GEMM, W (O, C·K) · cols (a batched one per group).
  The forward keeps that matrix for the weight gradient, which multiplies by it again.
- The three linear maps of a convolution are three Functions over the same geometry:
  ``Conv`` (x ↦ y), its adjoint ``ConvTranspose`` (y ↦ x, the input gradient, and the
  transposed-convolution layer) and ``ConvWeightGrad`` ((x, g) ↦ ∂L/∂W). Each one's
  backward is made of the others, so double backward works (gradient penalties).
- ``col2im`` (the adjoint of im2col) accumulates over kernel offsets, not output
  positions: F² strided, vectorised additions of (C, N, *out) slabs for an F×F kernel.

Output size per dimension: ⌊(S + p_left + p_right − d(F − 1) − 1)/s⌋ + 1 (the notes'
⌊(W − F + 2P)/S⌋ + 1 with d = 1).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import prod

import numpy as np

from .. import kernels
from ..kernels import blas
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor, _make
from .elementwise import _xp
from .reduce import sum_array

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "conv_output_size", "conv_transpose_output_size"]


def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1, exact=False):
    """⌊(W − F + 2P)/S⌋ + 1 (with dilation: F becomes d(F − 1) + 1).

    ``exact=True`` raises when the stride does not divide W − F + 2P evenly (the notes ask
    for whole outputs); the default floors as PyTorch does.
    """
    span = dilation * (kernel_size - 1) + 1
    total = size + 2 * padding - span if isinstance(padding, int) else size + sum(padding) - span
    if total < 0:
        raise ValueError(f"conv_output_size: kernel span {span} is larger than the padded input "
                         f"{size + (2 * padding if isinstance(padding, int) else sum(padding))}")
    if exact and total % stride:
        raise ValueError(f"conv_output_size: (W − F + 2P) / S = {total}/{stride} is not an "
                         "integer; the filter does not tile the input")
    return total // stride + 1


def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0,
                               dilation=1):
    """s(n − 1) + d(f − 1) + 1 − 2p + output_padding (the notes: s(n − 1) + f − 2p)."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


@dataclass(frozen=True)
class Geometry:
    """Where the windows of a convolution lie: per spatial dim kernel, stride, dilation,
    padding (left, right), the unpadded input size and the output size; and the channel
    counts of its input and output (0: not known), which choose the column order."""
    kernel: tuple
    stride: tuple
    dilation: tuple
    pads: tuple
    in_size: tuple
    out_size: tuple
    groups: int
    in_channels: int = 0
    out_channels: int = 0

    @property
    def padded(self):
        return tuple(s + lo + hi for s, (lo, hi) in zip(self.in_size, self.pads))


def make_geometry(in_size, kernel, stride, dilation, pads, groups, op="conv", in_channels=0,
                  out_channels=0):
    out = []
    for s, k, st, d, (lo, hi) in zip(in_size, kernel, stride, dilation, pads):
        span = d * (k - 1) + 1
        if s + lo + hi < span:
            raise RuntimeError(f"{op}: kernel size {tuple(kernel)} (dilated span {span}) is larger "
                               f"than the padded input {tuple(in_size)} + padding {tuple(pads)}")
        out.append((s + lo + hi - span) // st + 1)
    return Geometry(tuple(kernel), tuple(stride), tuple(dilation), tuple(pads), tuple(in_size),
                    tuple(out), groups, in_channels, out_channels)


# ----------------------------------------------------------------------------- windows
def _pad(xp, x, pads, value=0):
    if not any(lo or hi for lo, hi in pads):
        return x
    return xp.pad(x, ((0, 0), (0, 0)) + tuple(pads), constant_values=value)


def strided_view(xp, x, shape, strides):
    """A read-only strided view (CuPy's ``as_strided`` takes no ``writeable``)."""
    if xp is np:
        return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)
    return xp.lib.stride_tricks.as_strided(x, shape, strides)


def windows(x_pad, geo: Geometry):
    """A strided view (N, C, *out, *K) of the windows of a padded input (no copy)."""
    xp = _xp(x_pad)
    n, c = x_pad.shape[:2]
    s_n, s_c, *s_sp = x_pad.strides
    shape = (n, c) + geo.out_size + geo.kernel
    strides = (s_n, s_c) + tuple(s * st for s, st in zip(s_sp, geo.stride)) + \
        tuple(s * d for s, d in zip(s_sp, geo.dilation))
    return strided_view(xp, x_pad, shape, strides)


# Two column orders for the (C·K, ·) matrices, chosen per geometry. Copying windows moves
# contiguous runs of the innermost axis; with the batch outermost (N, P) that run is one
# output row (Wo values), with the batch innermost (P, N) it is a whole (Wo, N) block. For
# narrow outputs the second is faster (LeNet's second conv, Wo = 10: im2col 0.45 -> 0.19 ms,
# col2im 1.02 -> 0.47 ms), for wide ones the first (it needs no transpose of the result).
# The batch-inner order pays two transposes, of the input (C rows) and of the output (O rows),
# to speed up the copy of the C·K-row im2col matrix: it only pays where that matrix is the
# larger (DCGAN's first discriminator conv, C·K = 16 < O = 64: forward + backward 3.5 -> 3.0
# ms with the batch outer), and with one output position (P = 1) the two orders are the same
# matrix, which the batch-outer path makes without copying the input twice (DCGAN's last
# conv, forward 0.43 -> 0.12 ms).
BATCH_INNER_BELOW = 16  # output width under which the batch is the innermost column axis


def batch_inner(geo: Geometry) -> bool:
    if not geo.out_size or geo.out_size[-1] >= BATCH_INNER_BELOW or prod(geo.out_size) == 1:
        return False
    return geo.in_channels * prod(geo.kernel) >= geo.out_channels


# Moving the batch axis from innermost to outermost is a transpose of an (A, N) matrix
# (A = everything but the batch). NumPy copies it in one pass that strides through the source
# A times, evicting each cache line before its neighbours are used; copied in blocks of 128
# rows both sides of a block stay in L1 ((12544, 64): 7.4 -> 0.5 ms at 1 thread). The other
# way round NumPy's own pass is as fast (it writes the strided side).
TRANSPOSE_BLOCK = 128  # rows of A per block


def compiled_copy(a, nd) -> bool:
    """Whether im2col / col2im of ``a`` run as the parallel compiled loops of
    ``kernels/numba_im2col.py`` / ``numba_col2im.py`` (the same numbers): the kernel backend
    is Numba, ``a`` is a float32/float64 NumPy array, the convolution is 2-D, and the
    process may use Numba's thread pool."""
    if type(a) is not np.ndarray or a.dtype not in (np.float32, np.float64) or nd != 2 or \
            a.size == 0 or kernels.get_backend() != "numba":
        return False
    from ..kernels.numba_parallel import usable
    return usable()  # (not in a child forked after the pool started)


def batch_to_front(xp, a):
    """(A1, …, N) -> contiguous (N, A1, …): the (A, N) matrix transposed block by block."""
    if xp is not np:
        return xp.ascontiguousarray(xp.moveaxis(a, -1, 0))
    n = a.shape[-1]
    rows = a.reshape(prod(a.shape[:-1]), n)
    out = np.empty((n, rows.shape[0]), a.dtype)
    for i in range(0, rows.shape[0], TRANSPOSE_BLOCK):
        out[:, i:i + TRANSPOSE_BLOCK] = rows[i:i + TRANSPOSE_BLOCK].T
    return out.reshape((n,) + a.shape[:-1])


def im2col(x, geo: Geometry, pad_value=0):
    """(N, C, *S) -> (C·K, N·P) or, for narrow outputs, (C·K, P·N): one row per (channel,
    kernel offset), one column per (image, output position)."""
    xp = _xp(x)
    nd = len(geo.kernel)
    if compiled_copy(x, nd):
        # on one thread NumPy's copy of the window view is as fast (and with one output
        # position it is a view, no copy): the compiled loop only where it is split
        from ..kernels.numba_parallel import splits
        if prod(geo.out_size) > 1 and \
                splits(x.shape[0] * x.shape[1] * prod(geo.kernel) * prod(geo.out_size)):
            from ..kernels.numba_im2col import im2col as compiled
            return compiled(x, geo.kernel, geo.stride, geo.dilation, geo.pads, geo.out_size,
                            batch_inner(geo), pad_value)
    n, c = x.shape[:2]
    rows = c * prod(geo.kernel)
    if not batch_inner(geo):  # windows (N, C, *out, *K) -> (C, *K, N, *out)
        w = windows(_pad(xp, x, geo.pads, pad_value), geo)
        order = (1,) + tuple(range(2 + nd, 2 + 2 * nd)) + (0,) + tuple(range(2, 2 + nd))
        return w.transpose(order).reshape(rows, -1)
    # the input as (C, *S_pad, N), then windows (C, *K, *out, N)
    xt = xp.full((c,) + geo.padded + (n,), pad_value, x.dtype)
    inner = (slice(None),) + tuple(slice(lo, lo + s) for (lo, _), s in
                                   zip(geo.pads, geo.in_size)) + (slice(None),)
    xt[inner] = xp.moveaxis(x, 0, -1)
    s_c, *s_sp, s_n = xt.strides
    shape = (c,) + geo.kernel + geo.out_size + (n,)
    strides = (s_c,) + tuple(s * d for s, d in zip(s_sp, geo.dilation)) + \
        tuple(s * st for s, st in zip(s_sp, geo.stride)) + (s_n,)
    return strided_view(xp, xt, shape, strides).reshape(rows, -1)


def _inside(k, dilation, stride, n_out, pad_lo, size):
    """For kernel offset k along one dim: the output positions o whose input position
    o·s + k·d − p_lo lies inside the unpadded input [0, size), as (slice over o, slice over
    the input), or None when there are none (the window only sees padding there)."""
    offset = k * dilation - pad_lo
    first = max(0, (stride - 1 - offset) // stride)       # ⌈−offset/s⌉, at least 0
    last = min(n_out - 1, (size - 1 - offset) // stride)  # ⌊(size − 1 − offset)/s⌋
    if last < first:
        return None
    return slice(first, last + 1), slice(first * stride + offset,
                                         last * stride + offset + 1, stride)


def col2im(cols, n, c, geo: Geometry, dtype):
    """The adjoint of im2col: add each column's entries back to the input positions they
    came from -- one strided addition of a (C, N, *out) slab per kernel offset, clipped to
    the unpadded input (what fell on the padding has no input to go to) -- and return
    (N, C, *S)."""
    xp = _xp(cols)
    inner = batch_inner(geo)
    if prod(geo.out_size) == 1 and geo.kernel == geo.in_size and \
            not any(lo or hi for lo, hi in geo.pads) and all(d == 1 for d in geo.dilation):
        # one window that is the whole input (DCGAN's 1×1 -> 7×7 and 7×7 -> 1×1 layers):
        # nothing overlaps, col2im only moves the batch to the front ((12544, 64): 6.5 -> 0.7 ms)
        return batch_to_front(xp, cols.reshape((c,) + geo.kernel + (n,)))
    if compiled_copy(cols, len(geo.kernel)):
        from ..kernels.numba_col2im import col2im as compiled
        return compiled(cols, n, c, geo.in_size, geo.kernel, geo.stride, geo.dilation,
                        geo.pads, geo.out_size, inner)
    out = xp.zeros((c,) + geo.in_size + (n,) if inner else (c, n) + geo.in_size, dtype)
    lead = (slice(None),) if inner else (slice(None), slice(None))
    tail = (slice(None),) if inner else ()
    cols = cols.reshape((c,) + geo.kernel + (geo.out_size + (n,) if inner else
                                             (n,) + geo.out_size))
    for k in itertools.product(*(range(kk) for kk in geo.kernel)):
        parts = [_inside(*args) for args in zip(k, geo.dilation, geo.stride, geo.out_size,
                                               (lo for lo, _ in geo.pads), geo.in_size)]
        if None in parts:
            continue
        src = (slice(None),) + k + lead[1:] + tuple(o for o, _ in parts) + tail
        out[lead + tuple(i for _, i in parts) + tail] += cols[src]
    return batch_to_front(xp, out) if inner else xp.ascontiguousarray(out.swapaxes(0, 1))


def _compiled_layout(a, geo) -> bool:
    """Whether the layout moves of ``a`` run as the parallel compiled loops of
    ``kernels/numba_conv_rows.py``: ``compiled_copy``'s conditions, and ``a`` C-contiguous."""
    return compiled_copy(a, len(geo.kernel)) and a.flags.c_contiguous


def _channels_first(y, geo, sums=False):
    """(N, O, *out) -> (O, N·P), or (O, P·N) when the batch is inner; with ``sums``, the
    pair (rows, Σ of each row): a bias gradient."""
    if _compiled_layout(y, geo):
        from ..kernels.numba_conv_rows import channels_first
        return channels_first(y, batch_inner(geo), sums)
    xp = _xp(y)
    t = xp.moveaxis(y, 0, -1) if batch_inner(geo) else y.swapaxes(0, 1)
    rows = xp.ascontiguousarray(t).reshape(y.shape[1], -1)
    # the rows are contiguous: Σ along them is 2.5× faster than over y's axes N, H, W
    # (LeNet's first layer: 147 -> 58 µs, by hand)
    return (rows, sum_array(rows, (1,))) if sums else rows


def _batch_first(rows, n, geo, bias=None):
    """(O, N·P) or (O, P·N), plus the bias (O,) if given -> contiguous (N, O, *out)."""
    if _compiled_layout(rows, geo):
        from ..kernels.numba_conv_rows import batch_first
        return batch_first(rows, bias, n, geo.out_size, batch_inner(geo))
    if bias is not None:
        rows += bias[:, None]
    xp = _xp(rows)
    if batch_inner(geo):
        return batch_to_front(xp, rows.reshape((rows.shape[0],) + geo.out_size + (n,)))
    return xp.ascontiguousarray(rows.reshape((rows.shape[0], n) + geo.out_size).swapaxes(0, 1))


def _by_group(a, groups):
    """(g·A, B) -> (g, A, B): the rows of each group as one matrix of a batched product."""
    return a.reshape(groups, a.shape[0] // groups, a.shape[1])


def _group_product(a, b):
    """The batched product a @ b of grouped matrices. When the contracted length is 1 (the
    input gradient of a depthwise convolution: one output channel per group) it is an outer
    product per group, which a broadcast multiply does ~2.5× faster than stacked GEMMs."""
    return a * b if a.shape[-1] == 1 else blas.matmul(a, b)


# ----------------------------------------------------------------------------- the three maps
def whole_window(geo: Geometry) -> bool:
    """One window that is the whole unpadded input (DCGAN's 1×1 -> 7×7 and 7×7 -> 1×1 layers,
    ungrouped): the convolution is a fully connected layer on the flattened input,
    y (N, O) = x (N, C·K) · W (O, C·K)ᵀ, and its adjoint x (N, C·K) = y (N, O) · W. Written
    batch first, neither product needs a layout copy before or after it (the (C·K, N)
    matrix of im2col is then a transposed view of x)."""
    return geo.groups == 1 and prod(geo.out_size) == 1 and geo.kernel == geo.in_size and \
        not any(lo or hi for lo, hi in geo.pads) and all(d == 1 for d in geo.dilation)


def _direct(x, geo) -> bool:
    """Whether a convolution of ``x`` runs directly (``kernels/numba_conv_direct.py``: one
    input channel, where im2col's matrix is the work): 2-D, ungrouped, stride and dilation 1,
    float32 NumPy input, not one whole window (``whole_window``), and ``compiled_copy``'s
    conditions."""
    return type(x) is np.ndarray and x.dtype == np.float32 and x.ndim == 4 and \
        x.shape[1] == 1 and geo.groups == 1 and all(s == 1 for s in geo.stride) and \
        all(d == 1 for d in geo.dilation) and prod(geo.out_size) > 0 and \
        not whole_window(geo) and compiled_copy(x, 2)


def _conv_forward(x, w, geo, bias=None, cols=None):
    """Y (O, N·P) = W (O, C·K) · cols (C·K, N·P), per group."""
    cols = im2col(x, geo) if cols is None else cols
    o, g = w.shape[0], geo.groups
    w2 = w.reshape(o, -1)
    if whole_window(geo):  # y (N, O) = x (N, C·K) · Wᵀ, with x = colsᵀ
        y = blas.matmul(cols.T, w2.T)
        if y.dtype != x.dtype:
            y = y.astype(x.dtype)
        if bias is not None:
            y += bias
        return y.reshape((x.shape[0], o) + (1,) * len(geo.kernel))
    if g == 1:
        rows = blas.matmul(w2, cols)
    else:
        rows = _group_product(_by_group(w2, g), _by_group(cols, g)).reshape(o, -1)
    if rows.dtype != x.dtype:
        rows = rows.astype(x.dtype)  # bfloat16: NumPy's GEMM sums in float32, then rounds
    return _batch_first(rows, x.shape[0], geo, bias)


def _conv_adjoint(y, w, geo, in_channels, rows=None):
    """cols (C·K, N·P) = Wᵀ · Y, per group, then col2im (``rows``: Y as (O, N·P) if made)."""
    o, g = w.shape[0], geo.groups
    w2 = w.reshape(o, -1)
    if whole_window(geo):  # x (N, C·K) = y (N, O) · W: already batch first, no col2im
        # (the fully connected DCGAN layers: (12544, 64) -> (64, 12544) transpose saved)
        y2 = y.reshape(y.shape[0], o)
        # with one output channel the product is an outer product (one multiply per entry,
        # the same numbers), which a broadcast makes far faster than the GEMM (DCGAN's last
        # discriminator layer's input gradient, (64, 1) · (1, 6272): 0.48 -> 0.04 ms)
        x = y2 * w2 if o == 1 else blas.matmul(y2, w2)
        if x.dtype != y.dtype:
            x = x.astype(y.dtype)
        return x.reshape((y.shape[0], in_channels) + geo.in_size)
    rows = _channels_first(y, geo) if rows is None else rows
    if g == 1:
        cols = blas.matmul(w2.T, rows)
    else:
        cols = _group_product(_by_group(w2, g).transpose(0, 2, 1),
                              _by_group(rows, g)).reshape(-1, rows.shape[1])
    return col2im(cols, y.shape[0], in_channels, geo, y.dtype)


# A weight gradient with a small result and a long contraction (a first layer: few channels,
# many positions) is the slowest shape for OpenBLAS, which does not split the sum: LeNet's
# first, (6 × 50176)·(50176 × 25), takes 1050 µs at 1 thread as one product and 428 µs as 49
# products over 1,024 positions each, summed (benchmarks/blas_small_gemm.py; torch.mm 384 µs).
# Other shapes timed: 2.5–3.1× at (6 × 12544)·(12544 × 25) and (8 × 50176)·(50176 × 8), no
# gain once the result has 1,024 entries.
CHUNKED_BELOW = 1024  # entries of the result O·C·K below which the sum is split
CHUNK = 1024          # positions per partial product
CHUNKED_FROM = 8 * CHUNK


def _chunked_product(rows, cols):
    """rows · colsᵀ as a sum of partial products over blocks of CHUNK columns (one stacked
    matmul over views, then the sum of the blocks, then the remainder)."""
    (o, n), ck = rows.shape, cols.shape[0]
    whole = n // CHUNK * CHUNK
    blocks = whole // CHUNK
    parts = blas.matmul(rows[:, :whole].reshape(o, blocks, CHUNK).transpose(1, 0, 2),
                        cols[:, :whole].reshape(ck, blocks, CHUNK).transpose(1, 2, 0))
    gw = parts.sum(0)
    if whole < n:
        gw += blas.matmul(rows[:, whole:], cols[:, whole:].T)
    return gw


def _conv_weight_grad(x, gy, geo, weight_shape, cols=None, rows=None):
    """∂L/∂W (O, C·K) = G (O, N·P) · colsᵀ, per group (``cols``: im2col(x), ``rows``: G as
    (O, N·P), each if already made)."""
    if cols is None and rows is None and _direct(x, geo) and gy.dtype == x.dtype and \
            type(gy) is np.ndarray:
        from ..kernels.numba_conv_direct import conv_weight_grad
        return conv_weight_grad(np.ascontiguousarray(x), np.ascontiguousarray(gy), geo.pads,
                                geo.kernel).reshape(weight_shape)
    cols = im2col(x, geo) if cols is None else cols
    rows = _channels_first(gy, geo) if rows is None else rows
    g = geo.groups
    if g == 1 and rows.shape[0] * cols.shape[0] < CHUNKED_BELOW and \
            rows.shape[1] >= CHUNKED_FROM and rows.flags.c_contiguous and \
            cols.flags.c_contiguous and rows.dtype == cols.dtype and \
            rows.dtype in (np.float32, np.float64):
        gw = _chunked_product(rows, cols)
    elif g == 1:
        # OpenBLAS is ~1.5× faster with the long axis N·P inner in both operands, and the
        # product is fastest with the longer of C·K and O as its rows (DCGAN, 2 threads: C·K =
        # 16, O = 64: 0.44 -> 0.24 ms; 16 and 128: 0.71 -> 0.41 ms); a transposed cols (the
        # view of one whole window) is used as the contiguous x (N, C·K) it views
        if cols.shape[0] < rows.shape[0] or (cols.T.flags.c_contiguous and
                                            not cols.flags.c_contiguous):
            if type(rows) is np.ndarray and rows.dtype == cols.dtype == gy.dtype and \
                    rows.dtype in (np.float32, np.float64):
                # written straight into an array of the weight's shape, which then owns its
                # memory: the autograd engine copies a gradient that is a view before making
                # it a leaf's .grad (DCGAN's (100, 256, 7, 7): a 5 MB copy a step less)
                gw = np.empty(weight_shape, rows.dtype)
                blas.matmul(rows, cols.T, out=gw.reshape(rows.shape[0], -1))
                return gw
            gw = blas.matmul(rows, cols.T)
        else:
            gw = blas.matmul(cols, rows.T).T
    else:
        gw = _group_product(_by_group(rows, g), _by_group(cols, g).transpose(0, 2, 1))
    if gw.dtype != gy.dtype:
        gw = gw.astype(gy.dtype)  # bfloat16, as in _conv_forward
    return gw.reshape(weight_shape)


class Conv(Function):
    """y = conv(x, W) + b."""

    def forward(ctx, x, w, b=None, geo=None, cols=None):
        ctx.geo = geo
        need_w = ctx.needs_input_grad[1]
        ctx.save_for_backward(x if need_w else None, w if ctx.needs_input_grad[0] else None)
        ctx.direct = cols is None and _direct(x, geo) and w.dtype == x.dtype and \
            (b is None or b.dtype == x.dtype)
        if ctx.direct:  # no im2col matrix, forward or weight gradient
            from ..kernels.numba_conv_direct import conv_forward
            ctx.cols = None
            return conv_forward(np.ascontiguousarray(x), w, b, geo.pads, geo.out_size)
        # the weight gradient multiplies by the same im2col matrix: keep it (x is saved,
        # so the version check still catches an in-place change of x before backward)
        cols = im2col(x, geo) if cols is None else cols
        ctx.cols = cols if need_w else None
        return _conv_forward(x, w, geo, b, cols=cols)

    def release(self):
        super().release()
        self.cols = None

    def backward(ctx, g):
        x, w = ctx.saved_tensors
        # the weight gradient multiplies by g as an (O, N·P) matrix, and so does the input
        # gradient; the bias gradient sums its rows: lay it out once
        want_gb = len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]
        rows = gb = None
        if ctx.direct and x is not None and not is_grad_enabled():
            # one compiled pass over g gives the weight and bias gradients (no layout of g)
            from ..kernels.numba_conv_direct import conv_weight_grad
            gx = ConvTranspose.apply(g, w, geo=ctx.geo, in_channels=1) \
                if w is not None else None  # (lays g out for its own product)
            grads = conv_weight_grad(np.ascontiguousarray(x._data),
                                     np.ascontiguousarray(g._data), ctx.geo.pads,
                                     ctx.geo.kernel, bias=want_gb)
            gw, gb = grads if want_gb else (grads, None)
            return gx, _make(gw), None if gb is None else _make(gb)
        if x is not None and not ctx.direct:  # (recording, a direct layer: the forms below)
            if want_gb and not is_grad_enabled():
                rows, gb = _channels_first(g._data, ctx.geo, sums=True)
                gb = _make(gb)
            else:
                rows = _channels_first(g._data, ctx.geo)
        gx = ConvTranspose.apply(g, w, geo=ctx.geo, in_channels=ctx._inputs_meta[0][0][1],
                                 rows=rows) if w is not None else None
        gw = ConvWeightGrad.apply(x, g, geo=ctx.geo, weight_shape=ctx._inputs_meta[1][0],
                                  cols=ctx.cols, rows=rows) if x is not None else None
        if want_gb and gb is None:
            gb = g.sum((0,) + tuple(range(2, g.ndim)))
        return gx, gw, gb


class ConvTranspose(Function):
    """x = convᵀ(y, W): the adjoint of ``Conv`` in its input (the input gradient, and the
    transposed-convolution layer); the weight keeps the convolution's (O, C/g, *K) layout."""

    def forward(ctx, y, w, b=None, geo=None, in_channels=None, rows=None):
        ctx.geo, ctx.in_channels = geo, in_channels
        need_w = ctx.needs_input_grad[1]
        ctx.save_for_backward(y if need_w else None, w if ctx.needs_input_grad[0] else None)
        # the weight gradient multiplies by y as the same (O, N·P) matrix: keep it
        rows = _channels_first(y, geo) if rows is None else rows
        ctx.rows = rows if need_w else None
        x = _conv_adjoint(y, w, geo, in_channels, rows=rows)
        if b is not None:
            x += b.reshape((-1,) + (1,) * len(geo.kernel))
        return x

    def release(self):
        super().release()
        self.rows = None

    def backward(ctx, gx):
        y, w = ctx.saved_tensors
        # both gradients multiply by im2col(gx): make it once
        cols = im2col(gx._data, ctx.geo) if y is not None and w is not None else None
        gy = Conv.apply(gx, w, geo=ctx.geo, cols=cols) if w is not None else None
        gw = ConvWeightGrad.apply(gx, y, geo=ctx.geo, weight_shape=ctx._inputs_meta[1][0],
                                  cols=cols, rows=ctx.rows) if y is not None else None
        gb = None
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            gb = gx.sum((0,) + tuple(range(2, gx.ndim)))
        return gy, gw, gb


class ConvWeightGrad(Function):
    """∂L/∂W[o, c, k] = Σ_n Σ_p g[n, o, p] · x_pad[n, c, p·s + k·d] (bilinear in x and g)."""

    def forward(ctx, x, gy, geo=None, weight_shape=None, cols=None, rows=None):
        ctx.geo = geo
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              gy if ctx.needs_input_grad[0] else None)
        return _conv_weight_grad(x, gy, geo, weight_shape, cols=cols, rows=rows)

    def backward(ctx, ggw):
        x, gy = ctx.saved_tensors
        gx = ConvTranspose.apply(gy, ggw, geo=ctx.geo, in_channels=ctx._inputs_meta[0][0][1]) \
            if gy is not None else None
        ggy = Conv.apply(x, ggw, geo=ctx.geo) if x is not None else None
        return gx, ggy


# ----------------------------------------------------------------------------- functional API
def _tuple(v, nd, name, op):
    if isinstance(v, (tuple, list)):
        if len(v) != nd:
            raise ValueError(f"{op}: {name} must be an int or a tuple of {nd} ints, got {v}")
        return tuple(int(i) for i in v)
    return (int(v),) * nd


def _check_input(op, x, w, nd, groups, transposed):
    if not isinstance(x, Tensor) or not isinstance(w, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors")
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) "
                           f"input, got shape {tuple(x.shape)}")
    if w.ndim != nd + 2:
        raise RuntimeError(f"{op}: weight must be {nd + 2}-D, got shape {tuple(w.shape)}")
    if groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups}")
    c = x.shape[-nd - 1]
    if transposed:
        if w.shape[0] != c:
            raise RuntimeError(f"{op}: weight of shape {tuple(w.shape)} expects {w.shape[0]} "
                               f"input channels, but the input has {c} (shape {tuple(x.shape)})")
        if c % groups:
            raise RuntimeError(f"{op}: in_channels {c} is not divisible by groups {groups}")
    else:
        if c != w.shape[1] * groups:
            raise RuntimeError(f"{op}: expected input of shape (N, {w.shape[1] * groups}, ...) for "
                               f"weight {tuple(w.shape)} and groups={groups}, got input of shape "
                               f"{tuple(x.shape)}")
        if w.shape[0] % groups:
            raise RuntimeError(f"{op}: out_channels {w.shape[0]} is not divisible by groups "
                               f"{groups}")
    if x.dtype != w.dtype:
        raise RuntimeError(f"{op}: input dtype {x.dtype} and weight dtype {w.dtype} differ")


def _pads(padding, kernel, dilation, stride, nd, op):
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in total)
        raise ValueError(f"{op}: padding must be 'valid', 'same', an int or a tuple, got "
                         f"{padding!r}")
    p = _tuple(padding, nd, "padding", op)
    if any(i < 0 for i in p):
        raise ValueError(f"{op}: padding must be non-negative, got {padding}")
    return tuple((i, i) for i in p)


def _batched(x, nd):
    return (x.unsqueeze(0), True) if x.ndim == nd + 1 else (x, False)


def convnd(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, nd=2):
    op = f"conv{nd}d"
    _check_input(op, input, weight, nd, groups, False)
    x, unbatched = _batched(input, nd)
    kernel = tuple(weight.shape[2:])
    st = _tuple(stride, nd, "stride", op)
    dl = _tuple(dilation, nd, "dilation", op)
    if any(s <= 0 for s in st) or any(d <= 0 for d in dl):
        raise ValueError(f"{op}: stride and dilation must be positive, got {stride}, {dilation}")
    geo = make_geometry(tuple(x.shape[2:]), kernel, st, dl, _pads(padding, kernel, dl, st, nd, op),
                        groups, op, in_channels=x.shape[1], out_channels=weight.shape[0])
    args = (x, weight) if bias is None else (x, weight, bias)
    out = Conv.apply(*args, geo=geo)
    return out.squeeze(0) if unbatched else out


def conv_transposend(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1, nd=2):
    """The transposed convolution: output size s(n − 1) + d(f − 1) + 1 − 2p + output_padding.
    ``weight`` has PyTorch's (in_channels, out_channels/groups, *K) layout."""
    op = f"conv_transpose{nd}d"
    _check_input(op, input, weight, nd, groups, True)
    x, unbatched = _batched(input, nd)
    kernel = tuple(weight.shape[2:])
    st = _tuple(stride, nd, "stride", op)
    dl = _tuple(dilation, nd, "dilation", op)
    pd = _tuple(padding, nd, "padding", op)
    op_ = _tuple(output_padding, nd, "output_padding", op)
    for o, s, d in zip(op_, st, dl):
        if o >= max(s, d):
            raise ValueError(f"{op}: output_padding {output_padding} must be smaller than either "
                             f"stride {stride} or dilation {dilation}")
    out_size = tuple(conv_transpose_output_size(n, k, s, p, o, d) for n, k, s, p, o, d in
                     zip(x.shape[2:], kernel, st, pd, op_, dl))
    if any(o <= 0 for o in out_size):
        raise RuntimeError(f"{op}: output size {out_size} is not positive for input "
                           f"{tuple(x.shape)}")
    # the convolution this is the adjoint of: input = our output, output = our input
    c_out = weight.shape[1] * groups
    geo = Geometry(kernel, st, dl, tuple((p, p) for p in pd), out_size, tuple(x.shape[2:]),
                   groups, in_channels=c_out, out_channels=x.shape[1])
    args = (x, weight) if bias is None else (x, weight, bias)
    out = ConvTranspose.apply(*args, geo=geo, in_channels=c_out)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return convnd(input, weight, bias, stride, padding, dilation, groups, nd=1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return convnd(input, weight, bias, stride, padding, dilation, groups, nd=2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return convnd(input, weight, bias, stride, padding, dilation, groups, nd=3)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                            dilation, nd=1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                            dilation, nd=2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return conv_transposend(input, weight, bias, stride, padding, output_padding, groups,
                            dilation, nd=3)


def _single(op, image, kernel):
    if image.ndim != 2 or kernel.ndim != 2:
        raise RuntimeError(f"{op}: expected a 2-D image (H, W) and a 2-D kernel, got shapes "
                           f"{tuple(image.shape)} and {tuple(kernel.shape)}")
    if kernel.dtype != image.dtype:
        kernel = kernel.to(image.dtype)
    return image.reshape(1, 1, *image.shape), kernel.reshape(1, 1, *kernel.shape)


def correlate2d(image, kernel, padding=0, stride=1):
    """Cross-correlation of one image with one kernel: y[i, j] = Σ_{u,v} K[u, v] X[i+u, j+v]
    (what a CNN layer computes). ``padding`` may be an int, a pair, 'valid' or 'same'."""
    x, k = _single("correlate2d", image, kernel)
    return conv2d(x, k, stride=stride, padding=padding)[0, 0]


def convolve2d(image, kernel, padding=0, stride=1):
    """True convolution: the kernel flipped in both axes, then cross-correlation
    (y[i, j] = Σ_{u,v} K[u, v] X[i−u, j−v]; seed 002)."""
    x, k = _single("convolve2d", image, kernel)
    return conv2d(x, k.flip(2, 3), stride=stride, padding=padding)[0, 0]


__all__ += ["correlate2d", "convolve2d"]
