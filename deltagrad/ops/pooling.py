"""Pooling over windows (max, average, adaptive), max-unpooling and nearest upsampling,
on the same window geometry as convolution (``ops.conv.windows``).

- Max pooling keeps, per window, the index of its maximum; the backward sends each
  output gradient to that one input position (``WindowScatter``), and the backward of that
  picks the same positions again (``WindowPick``), so double backward works.
- Average pooling is a window sum divided by the number of counted positions
  (``count_include_pad``); the sum's adjoint broadcasts each gradient over its window.
Both accumulate over kernel offsets (F² vectorised steps), never over output positions.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .. import kernels
from ..autograd.function import Function
from ..tensor import Tensor, _make
from .conv import Geometry, _pad, _tuple, windows
from .elementwise import _xp, require_float

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "max_unpool1d", "max_unpool2d",
           "max_unpool3d", "interpolate", "upsample_nearest"]


def _offset_slices(geo: Geometry):
    """For each kernel offset k: (flat index of k, the strided slice of the padded input)."""
    for flat, k in enumerate(itertools.product(*(range(kk) for kk in geo.kernel))):
        yield flat, k, (slice(None), slice(None)) + tuple(
            slice(ki * d, ki * d + st * (o - 1) + 1, st)
            for ki, d, st, o in zip(k, geo.dilation, geo.stride, geo.out_size))


def _crop(a, geo):
    return a[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for (lo, _), s in
                                                zip(geo.pads, geo.in_size))]


def _flat_windows(x, geo, pad_value):
    w = windows(_pad(_xp(x), x, geo.pads, pad_value), geo)
    return w.reshape(w.shape[:2 + len(geo.kernel)] + (-1,))


class WindowScatter(Function):
    """Input-shaped zeros with g[n, c, p] added at the window position idx[n, c, p]."""

    def forward(ctx, g, idx, geo):
        ctx.idx, ctx.geo = idx, geo
        if _compiled(g, geo):
            from ..kernels.numba_pool import max_pool2x2_backward
            return max_pool2x2_backward(g, idx, geo.in_size)
        xp = _xp(g)
        out = xp.zeros(g.shape[:2] + geo.padded, g.dtype)
        disjoint = all(st >= d * (k - 1) + 1 for st, d, k in
                       zip(geo.stride, geo.dilation, geo.kernel))
        for flat, _, dst in _offset_slices(geo):
            view = out[dst]
            if disjoint:  # each input position belongs to one window: write, don't add
                xp.multiply(g, idx == flat, out=view)
            else:
                xp.add(view, g, out=view, where=idx == flat)
        return _crop(out, geo)

    def backward(ctx, gg):
        return WindowPick.apply(gg, idx=ctx.idx, geo=ctx.geo)


class WindowPick(Function):
    """out[n, c, p] = x at the window position idx[n, c, p] (the adjoint of WindowScatter)."""

    def forward(ctx, x, idx, geo):
        ctx.idx, ctx.geo = idx, geo
        flat = _flat_windows(x, geo, 0)
        return _xp(x).take_along_axis(flat, idx[..., None].astype(np.intp), -1)[..., 0]

    def backward(ctx, g):
        return WindowScatter.apply(g, idx=ctx.idx, geo=ctx.geo)


def _compiled(a, geo):
    """Whether a max pooling (forward, or backward from the gradient ``a``) runs as the
    compiled loops of ``kernels/numba_pool.py`` (the same numbers): 2×2 windows of stride 2,
    the kernel backend is Numba, ``a`` is a float32/float64 NumPy array, and the process may
    use Numba's pool."""
    if type(a) is not np.ndarray or a.dtype not in (np.float32, np.float64) or \
            len(geo.kernel) != 2 or a.size == 0 or kernels.get_backend() != "numba":
        return False
    from ..kernels.numba_parallel import usable
    from ..kernels.numba_pool import fits
    return fits(geo) and usable()


def window_max(x, geo):
    """(max, index of the maximal offset) over each window, as an elementwise max over the K
    strided slabs x_pad[k + s·p] (one per kernel offset k), on arrays. The index is the first
    maximum's at ties and the last NaN's when there is one (PyTorch's rule: a value wins when
    it is greater or NaN)."""
    n_offsets = math.prod(geo.kernel)
    idx_dtype = np.int8 if n_offsets < 2 ** 7 else np.int16 if n_offsets < 2 ** 15 else np.intp
    if _compiled(x, geo):
        from ..kernels.numba_pool import max_pool2x2
        return max_pool2x2(x, idx_dtype)
    xp = _xp(x)
    fill = -np.inf if x.dtype.kind in "fV" else np.iinfo(x.dtype).min
    x_pad = _pad(xp, x, geo.pads, fill)
    out = idx = step = None
    for flat, _, src in _offset_slices(geo):
        if out is None:  # a copy even when the slab is all of x: out is written to
            out = xp.array(x_pad[src], order="C", copy=True)
            idx, step = xp.zeros(out.shape, idx_dtype), xp.empty(out.shape, idx_dtype)
            continue
        # one contiguous copy of the slab: NumPy compares strided slabs ~8× slower
        slab = xp.ascontiguousarray(x_pad[src])
        # offsets come in increasing order, so the index of the (first) maximum is
        # max(idx, flat · [slab > out or slab is NaN]): strictly greater keeps the first at
        # ties
        wins = slab > out
        if x.dtype.kind == "f":
            wins |= xp.isnan(slab)
        xp.multiply(wins, flat, out=step, dtype=idx_dtype)
        xp.maximum(idx, step, out=idx)
        xp.maximum(out, slab, out=out)
    return out, idx


class MaxPool(Function):
    """max over each window (:func:`window_max`); idx keeps the first offset that holds the
    maximum (PyTorch's choice at ties) for the backward."""

    def forward(ctx, x, geo):
        out, ctx.idx = window_max(x, geo)
        ctx.geo = geo
        return out

    def backward(ctx, g):
        return WindowScatter.apply(g, idx=ctx.idx, geo=ctx.geo)


class WindowSum(Function):
    """Σ over each window of the zero-padded input."""

    def forward(ctx, x, geo):
        ctx.geo = geo
        nd = len(geo.kernel)
        return windows(_pad(_xp(x), x, geo.pads, 0), geo).sum(
            axis=tuple(range(-nd, 0)))

    def backward(ctx, g):
        return WindowBroadcast.apply(g, geo=ctx.geo)


class WindowBroadcast(Function):
    """Each g[n, c, p] added to every input position of window p (adjoint of WindowSum)."""

    def forward(ctx, g, geo):
        ctx.geo = geo
        out = _xp(g).zeros(g.shape[:2] + geo.padded, g.dtype)
        for _, _, dst in _offset_slices(geo):
            out[dst] += g
        return _crop(out, geo)

    def backward(ctx, gg):
        return WindowSum.apply(gg, geo=ctx.geo)


def _pool_geometry(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode):
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}-D (unbatched) or {nd + 2}-D (batched) "
                           f"input, got shape {tuple(x.shape)}")
    k = _tuple(kernel_size, nd, "kernel_size", op)
    s = k if stride is None or stride == [] or stride == () else _tuple(stride, nd, "stride", op)
    p = _tuple(padding, nd, "padding", op)
    d = _tuple(dilation, nd, "dilation", op)
    for name, vals, low in (("kernel_size", k, 1), ("stride", s, 1), ("padding", p, 0),
                            ("dilation", d, 1)):
        if min(vals) < low:
            raise RuntimeError(f"{op}: {name} must be {'non-negative' if low == 0 else 'positive'}"
                               f", got {name}={vals} (input shape {tuple(x.shape)})")
    for ki, pi in zip(k, p):
        if pi > ki // 2:
            raise RuntimeError(f"{op}: pad should be at most half of effective kernel size, but got "
                               f"pad={padding} and kernel_size={kernel_size}")
    size = tuple(x.shape[-nd:])
    out, pads = [], []
    for n, ki, si, pi, di in zip(size, k, s, p, d):
        span = di * (ki - 1) + 1
        if n + 2 * pi < span:
            raise RuntimeError(f"{op}: kernel size {k} is larger than the padded input {size} "
                               f"with padding {p} (input shape {tuple(x.shape)})")
        if ceil_mode:
            o = math.ceil((n + 2 * pi - span) / si) + 1
            if (o - 1) * si >= n + pi:  # the last window must start inside the input
                o -= 1
        else:
            o = (n + 2 * pi - span) // si + 1
        extra = max(0, (o - 1) * si + span - (n + 2 * pi))
        out.append(o)
        pads.append((pi, pi + extra))
    return Geometry(k, s, d, tuple(pads), size, tuple(out), 1), p


def _batch(x, nd):
    return (x.unsqueeze(0), True) if x.ndim == nd + 1 else (x, False)


def _max_pool(x, kernel_size, stride, padding, dilation, ceil_mode, return_indices, nd):
    op = f"max_pool{nd}d"
    geo, _ = _pool_geometry(op, x, nd, kernel_size, stride, padding, dilation, ceil_mode)
    xb, unbatched = _batch(x, nd)
    out = MaxPool.apply(xb, geo=geo)
    if not return_indices:
        return out.squeeze(0) if unbatched else out
    idx = out.grad_fn.idx if out.grad_fn is not None else window_max(xb._data, geo)[1]
    k = np.unravel_index(backend_np(idx), geo.kernel)
    grids = np.indices(geo.out_size, sparse=True)
    pos = [g * s - lo + ki * d for g, s, (lo, _), ki, d in
           zip(grids, geo.stride, geo.pads, k, geo.dilation)]
    flat = np.ravel_multi_index(tuple(np.broadcast_arrays(*pos)), geo.in_size).astype(np.int64)
    indices = _make(flat)
    if unbatched:
        return out.squeeze(0), indices.squeeze(0)
    return out, indices


def backend_np(a):
    from ..backend import to_numpy
    return to_numpy(a)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """max over each kernel window (gradient to the window's argmax)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3)


def _avg_pool(x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override,
              nd):
    op = f"avg_pool{nd}d"
    require_float(x, op, allow=("int64",))  # int64: PyTorch truncates; other ints raise
    geo, p = _pool_geometry(op, x, nd, kernel_size, stride, padding, 1, ceil_mode)
    xb, unbatched = _batch(x, nd)
    total = WindowSum.apply(xb, geo=geo)
    if x.dtype.kind not in "fV":  # int64: Σ/n truncated toward zero, as PyTorch
        xp = _xp(x._data)
        t = total._data
        if divisor_override:
            n = divisor_override
        else:
            n = _window_count(xp, x.dtype, geo, p, count_include_pad, nd)
        out = _make(xp.sign(t) * (xp.abs(t) // n))
    elif divisor_override:
        out = total * (1.0 / divisor_override)
    else:
        count = _window_count(_xp(x._data), x.dtype, geo, p, count_include_pad, nd)
        out = total * _make((1.0 / count).astype(x.dtype))
    return out.squeeze(0) if unbatched else out


def _window_count(xp, dtype, geo, p, count_include_pad, nd):
    """The number of terms each window's mean divides by (1, 1, *out_size)."""
    ones = xp.ones((1, 1) + geo.in_size, dtype)
    if count_include_pad:  # padding counts, the extra ceil_mode margin does not
        ones = xp.pad(ones, ((0, 0), (0, 0)) + tuple((pi, pi) for pi in p),
                      constant_values=1)
        geo_c = Geometry(geo.kernel, geo.stride, geo.dilation,
                         tuple((0, hi - pi) for (_, hi), pi in zip(geo.pads, p)),
                         tuple(n + 2 * pi for n, pi in zip(geo.in_size, p)), geo.out_size, 1)
    else:
        geo_c = geo
    return windows(_pad(xp, ones, geo_c.pads, 0), geo_c).sum(axis=tuple(range(-nd, 0)))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """mean over each kernel window."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2)


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 3)


# ----------------------------------------------------------------------------- adaptive
def _adaptive_bounds(size, out):
    """PyTorch's windows: [⌊i·S/O⌋, ⌈(i+1)·S/O⌉) for output cell i."""
    return [((i * size) // out, -((-(i + 1) * size) // out)) for i in range(out)]


def _out_size(output_size, x, nd, op):
    sizes = _tuple(output_size, nd, "output_size", op) if not isinstance(output_size, (
        tuple, list)) else tuple(output_size)
    if len(sizes) != nd:
        raise ValueError(f"{op}: output_size must have {nd} entries, got {output_size}")
    out = tuple(x.shape[-nd + i] if s is None else int(s) for i, s in enumerate(sizes))
    if min(out) < 0:
        raise RuntimeError(f"{op}: output_size must be non-negative, got {output_size}")
    return out


def _empty_cells(x, out, nd):
    """The (…, *out) result of an adaptive pooling to a size with a 0 in it (as PyTorch)."""
    return x[(Ellipsis,) + (slice(0, 0),) * nd].reshape(tuple(x.shape[:-nd]) + out)


def _adaptive_avg(x, output_size, nd):
    op = f"adaptive_avg_pool{nd}d"
    require_float(x, op)
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}-D or {nd + 2}-D input, got shape "
                           f"{tuple(x.shape)}")
    out = _out_size(output_size, x, nd, op)
    if 0 in out:
        return _empty_cells(x, out, nd)
    size = tuple(x.shape[-nd:])
    if all(s % o == 0 for s, o in zip(size, out)):
        k = tuple(s // o for s, o in zip(size, out))
        return _avg_pool(x, k, k, 0, False, True, None, nd)
    # a linear map per dimension: averaging matrices A (O × S), applied as matrix products
    y = x
    for axis in range(nd):
        s, o = size[axis], out[axis]
        a = np.zeros((o, s), dtype=x.dtype)
        for i, (lo, hi) in enumerate(_adaptive_bounds(s, o)):
            a[i, lo:hi] = 1.0 / (hi - lo)
        dim = y.ndim - nd + axis
        y = (y.movedim(dim, -1) @ _make(a.T)).movedim(-1, dim)
    return y


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg(input, output_size, 1)


def adaptive_avg_pool2d(input, output_size):
    """Average pooling to a fixed output size (PyTorch's window rule)."""
    return _adaptive_avg(input, output_size, 2)


def adaptive_avg_pool3d(input, output_size):
    return _adaptive_avg(input, output_size, 3)


def _adaptive_max(x, output_size, return_indices, nd):
    op = f"adaptive_max_pool{nd}d"
    if x.ndim not in (nd + 1, nd + 2):
        raise RuntimeError(f"{op}: expected a {nd + 1}-D or {nd + 2}-D input, got shape "
                           f"{tuple(x.shape)}")
    out = _out_size(output_size, x, nd, op)
    if 0 in out:
        empty = _empty_cells(x, out, nd)
        return (empty, empty.to(np.int64)) if return_indices else empty
    size = tuple(x.shape[-nd:])
    lead = x.ndim - nd
    cells, idxs = [], []
    for cell in itertools.product(*(_adaptive_bounds(s, o) for s, o in zip(size, out))):
        region = x[(Ellipsis,) + tuple(slice(lo, hi) for lo, hi in cell)]
        flat = region.flatten(lead)
        v, i = flat.max(-1)
        cells.append(v)
        if return_indices:
            local = np.unravel_index(i._data, tuple(hi - lo for lo, hi in cell))
            glob = tuple(li + lo for li, (lo, _) in zip(local, cell))
            idxs.append(np.ravel_multi_index(glob, size))
    from .shape import stack
    y = stack(cells, -1).reshape(tuple(x.shape[:lead]) + out)
    if return_indices:
        ind = _make(np.stack(idxs, -1).reshape(tuple(x.shape[:lead]) + out).astype(np.int64))
        return y, ind
    return y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max(input, output_size, return_indices, 2)


# ----------------------------------------------------------------------------- unpooling
def _max_unpool(x, indices, kernel_size, stride, padding, output_size, nd):
    op = f"max_unpool{nd}d"
    if not isinstance(indices, Tensor) or tuple(indices.shape) != tuple(x.shape):
        raise RuntimeError(f"{op}: indices must be a Tensor of the input's shape "
                           f"{tuple(x.shape)}, got {getattr(indices, 'shape', None)}")
    k = _tuple(kernel_size, nd, "kernel_size", op)
    s = k if stride is None else _tuple(stride, nd, "stride", op)
    p = _tuple(padding, nd, "padding", op)
    xb, unbatched = _batch(x, nd)
    ib = indices.unsqueeze(0) if unbatched else indices
    if output_size is None:
        out = tuple((n - 1) * si - 2 * pi + ki for n, si, pi, ki in zip(x.shape[-nd:], s, p, k))
    else:
        out = tuple(output_size)[-nd:]
    n, c = xb.shape[:2]
    total = int(np.prod(out))
    idx = ib._data.reshape(n, c, -1)
    if idx.size and (idx.min() < 0 or idx.max() >= total):
        raise RuntimeError(f"{op}: found an invalid max index {int(idx.max())} for an output of "
                           f"size {out}")
    from .indexing import IndexScatter
    index = (np.arange(n)[:, None, None], np.arange(c)[None, :, None], idx)
    y = IndexScatter.apply(xb.reshape(n, c, -1), index=index, advanced=True,
                           shape=(n, c, total)).reshape((n, c) + out)
    return y.squeeze(0) if unbatched else y


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """Place each value at the position max pooling took it from; zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


# ----------------------------------------------------------------------------- upsampling
def upsample_nearest(x, size=None, scale_factor=None):
    """Nearest-neighbour resize: output position j reads input ⌊j · S_in / S_out⌋."""
    nd = x.ndim - 2
    if nd < 1:
        raise RuntimeError(f"upsample: expected an (N, C, ...) input, got shape {tuple(x.shape)}")
    if (size is None) == (scale_factor is None):
        raise ValueError("upsample: give exactly one of size or scale_factor")
    if size is not None:
        out = _tuple(size, nd, "size", "upsample")
        scales = [i / o for i, o in zip(x.shape[2:], out)]
    else:
        sf = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,) * nd
        out = tuple(int(math.floor(i * f)) for i, f in zip(x.shape[2:], sf))
        scales = [1.0 / f for f in sf]
    y = x
    from .indexing import index_select
    for axis, (n_in, n_out, sc) in enumerate(zip(x.shape[2:], out, scales)):
        src = np.minimum(np.floor(np.arange(n_out) * sc).astype(np.int64), n_in - 1)
        if n_out != n_in or (src != np.arange(n_in)).any():
            y = index_select(y, axis + 2, _make(src))
    return y


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    if mode != "nearest":
        raise NotImplementedError(f"interpolate: mode {mode!r} is not implemented; "
                                  "deltagrad provides mode='nearest'")
    return upsample_nearest(input, size, scale_factor)
