"""Reductions over dimensions: sum, mean, var/std, max/min, logsumexp, prod, norm, cumsum."""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor, _make, _norm_dim
from .elementwise import _xp, cast

_pyint = builtins.int

values_indices = namedtuple("values_indices", ["values", "indices"])


def norm_dims(dim, ndim, op):
    """``dim`` (None, int or tuple) as a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        dims = tuple(dim)
    else:
        dims = (dim,)  # checked by _norm_dim (an int, not a float, bool or string)
    if len(dims) == 0:
        return tuple(range(ndim))
    out = [_norm_dim(d, ndim, op) for d in dims]
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}(): dim {dims} names a dimension more than once "
                           f"(input has {ndim} dims)")
    if ndim == 0:
        return ()
    return tuple(sorted(out))


def _kept_shape(shape, dims):
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _expand_back(g: Tensor, shape, dims, keepdim):
    """A gradient of a reduction, broadcast back over the reduced dimensions."""
    if not keepdim:
        g = g.reshape(_kept_shape(shape, dims))
    return g.expand(shape)


#: the most terms one float32 accumulator adds before its partial sum is passed on
_BLOCK = 256
#: reductions this long in the general path accumulate in float64 (float32 for float16)
_LONG = 1 << 14


def _sum_leading(x2):
    """Σ over axis 0 of a C-contiguous (m, n) float array, as a cascade of matrix-vector
    products with a vector of ones: while m > B, one GEMV over the (B, k·n) view (row b holds
    rows b·k … b·k+k−1) folds B rows into each of k·n partial sums, and the (k, n) partials
    are summed the same way. Each accumulator adds at most B terms per level (log_B m levels)
    instead of m: 10⁷ rows of 0.1 are off by ~1e-7 relative, not 15 %; the first GEMV touches
    all the data once, so it is as fast as the single naive one."""
    xp = _xp(x2)
    m, n = x2.shape
    rest = None
    while m > _BLOCK:
        k = m // _BLOCK
        r = m - _BLOCK * k
        if r:  # the last r < B rows
            part = xp.ones(r, x2.dtype) @ x2[_BLOCK * k:]
            rest = part if rest is None else rest + part
        x2 = (xp.ones(_BLOCK, x2.dtype) @ x2[:_BLOCK * k].reshape(_BLOCK, k * n)).reshape(k, n)
        m = k
    out = xp.ones(m, x2.dtype) @ x2
    return out if rest is None else out + rest


def _sum_trailing(x2):
    """Σ over axis 1 of a C-contiguous (m, n) float array: blocks of B consecutive terms
    summed by one GEMV while n is a multiple of B, NumPy's pairwise sum for other long rows."""
    xp = _xp(x2)
    m, n = x2.shape
    while n > _BLOCK and n % _BLOCK == 0:
        x2 = (x2.reshape(-1, _BLOCK) @ xp.ones(_BLOCK, x2.dtype)).reshape(m, n // _BLOCK)
        n //= _BLOCK
    if n > _BLOCK:
        return x2.sum(axis=1)
    return x2 @ xp.ones(n, x2.dtype)


def sum_array(x, axes, keepdims=False):
    """Σ of an array over ``axes``, accurate to float32 round-off however long the reduction.

    When the axes are leading and/or trailing ones of a contiguous float array (a bias
    gradient Σ_batch δ, a per-row mean, BatchNorm's Σ over N, H, W), the sums are blocked
    matrix-vector products with vectors of ones (``_sum_leading``, ``_sum_trailing``): BLAS does
    them 4-6× faster than NumPy's reduction over short rows (2048×128: ~15 µs against 42 µs),
    and the blocking keeps every accumulator short. Otherwise NumPy's sum: pairwise (accurate)
    over a whole contiguous array, else accumulated in float64 when more than 2¹⁴ terms meet
    in one sum (float16 always in float32, as PyTorch does)."""
    nd = x.ndim
    axes = tuple(axes)
    kind, size = x.dtype.kind, x.dtype.itemsize
    out_shape = (_kept_shape(x.shape, axes) if keepdims else
                 tuple(s for i, s in enumerate(x.shape) if i not in axes))
    if (nd >= 2 and 0 < len(axes) < nd and kind == "f" and size >= 4
            and x.flags.c_contiguous and x.size >= 4096):
        lead = 0
        while lead in axes:
            lead += 1
        trail = 0
        while nd - 1 - trail in axes:
            trail += 1
        if lead + trail == len(axes):
            y = x
            if trail:
                y = _sum_trailing(y.reshape(-1, int(np.prod(x.shape[nd - trail:]))))
            if lead:
                y = _sum_leading(y.reshape(int(np.prod(x.shape[:lead])), -1))
            return y.reshape(out_shape)
    if kind == "f" and size < 8:
        count = 1
        for a in axes:
            count *= x.shape[a]
        full = len(axes) == nd and x.flags.c_contiguous  # NumPy: one pairwise sum, accurate
        if size < 4 or (count > _LONG and not full):
            acc = np.float32 if size < 4 else np.float64
            return x.sum(axis=axes, keepdims=keepdims, dtype=acc).astype(x.dtype, copy=False)
    return x.sum(axis=axes, keepdims=keepdims)


class Sum(Function):
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return sum_array(x, dims, keepdim)

    def backward(ctx, g):
        if is_grad_enabled():  # recording: stay differentiable in g
            return _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        return _make(_broadcast_back(g._data, ctx.shape, ctx.dims, ctx.keepdim))


def _broadcast_back(g, shape, dims, keepdim):
    """``_expand_back`` on arrays: a read-only broadcast view, for a backward without a graph."""
    if not keepdim:
        g = g.reshape(_kept_shape(shape, dims))
    return _xp(g).broadcast_to(g, shape)


def sum(x, dim=None, keepdim=False, dtype=None):
    """Σ over ``dim``; integer and bool tensors sum to int64 as in PyTorch."""
    if dtype is not None:
        x = cast(x, dtype)
    elif x.dtype.kind in "biu":
        x = cast(x, backend.int64)
    return Sum.apply(x, dims=norm_dims(dim, x.ndim, "sum"), keepdim=keepdim)


class Mean(Function):
    """(1/n) Σ over ``dims``: the sum, then × 1/n (in the input's dtype: the numbers of
    ``sum(x) * (1/n)``) as one node; ∂/∂x = g/n broadcast back over the reduced dims."""

    def forward(ctx, x, dims, keepdim, n):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.scale = x.dtype.type(1.0 / n)
        return _xp(x).multiply(sum_array(x, dims, keepdim), ctx.scale)

    def backward(ctx, g):
        if is_grad_enabled():  # recording: stay differentiable in g
            return _expand_back(g * ctx.scale, ctx.shape, ctx.dims, ctx.keepdim)
        return _make(_broadcast_back(g._data * ctx.scale, ctx.shape, ctx.dims, ctx.keepdim))


def mean(x, dim=None, keepdim=False, dtype=None):
    """(1/n) Σ over ``dim``."""
    if dtype is not None:
        x = cast(x, dtype)
    if x.dtype.kind not in "fV":  # V: bfloat16
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {x.dtype}")
    dims = norm_dims(dim, x.ndim, "mean")
    n = 1
    for d in dims:
        n *= x.shape[d]
    if n:
        return Mean.apply(x, dims=dims, keepdim=keepdim, n=n)
    return Sum.apply(x, dims=dims, keepdim=keepdim) * float("nan")


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """Σ(x − x̄)² / (n − correction); ``unbiased=True`` is correction 1 (the default)."""
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    dims = norm_dims(dim, x.ndim, "var")
    n = 1
    for d in dims:
        n *= x.shape[d]
    if x.dtype.kind not in "fV":
        raise RuntimeError(f"var(): expected a floating point tensor, got {x.dtype}")
    dev = x - mean(x, dims, keepdim=True)
    denom = builtins.max(n - correction, 0)
    s = Sum.apply(dev * dev, dims=dims, keepdim=keepdim)
    if denom > 0:
        return s * (1.0 / denom)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 degrees of freedom: inf or nan
        return s / 0.0


class StdFromVar(Function):
    """σ = √v; ∂σ/∂v = 1/(2σ), taken as 0 where σ = 0 (a constant input has a zero gradient,
    PyTorch's rule, where a plain square root would give 0·∞ = NaN)."""

    def forward(ctx, v):
        out = _xp(v).sqrt(v)
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        out, = ctx.saved_tensors
        from .elementwise import where
        zero = out == 0
        return where(zero, g * 0.0, g / (where(zero, out + 1.0, out) * 2.0))


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """√var (see ``var``)."""
    return StdFromVar.apply(var(x, dim, unbiased, keepdim, correction=correction))


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, dim, keepdim)


class Amax(Function):
    """max over ``dims``; the gradient is shared evenly among tied maxima (as PyTorch's amax)."""

    def forward(ctx, x, dims, keepdim, sign):
        xp = _xp(x)
        out = x.max(axis=dims, keepdims=True) if sign > 0 else x.min(axis=dims, keepdims=True)
        if ctx._recording:
            mask = (x == out)
            ctx.save_for_backward((mask / mask.sum(axis=dims, keepdims=True)).astype(x.dtype))
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return out if keepdim else xp.squeeze(out, axis=dims)

    def backward(ctx, g):
        share, = ctx.saved_tensors
        return _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) * share


def _check_nonempty(x, dims, op):
    for d in dims:
        if x.shape[d] == 0:
            raise IndexError(f"{op}(): expected reduction dim {d} to have non-zero size, "
                             f"input shape {tuple(x.shape)}")
    if x.numel() == 0 and not dims:
        raise RuntimeError(f"{op}(): cannot reduce an empty tensor")


def amax(x, dim=(), keepdim=False):
    dims = norm_dims(dim, x.ndim, "amax")
    _check_nonempty(x, dims, "amax")
    return _extreme(x, dims, keepdim, 1)


def amin(x, dim=(), keepdim=False):
    dims = norm_dims(dim, x.ndim, "amin")
    _check_nonempty(x, dims, "amin")
    return _extreme(x, dims, keepdim, -1)


def _extreme(x, dims, keepdim, sign):
    if x.dtype.kind not in "fV":
        a = x._data.max(axis=dims, keepdims=keepdim) if sign > 0 else \
            x._data.min(axis=dims, keepdims=keepdim)
        return _make(a)
    return Amax.apply(x, dims=dims, keepdim=keepdim, sign=sign)


def _max_min(x, dim, keepdim, sign, op):
    if dim is None:
        _check_nonempty(x, tuple(range(x.ndim)), op)
        return _extreme(x, norm_dims(None, x.ndim, op), False, sign)
    if isinstance(dim, Tensor):  # torch.max(a, b): elementwise
        from .elementwise import maximum, minimum
        return maximum(x, dim) if sign > 0 else minimum(x, dim)
    d = _norm_dim(dim, x.ndim, op)
    if x.ndim:
        _check_nonempty(x, (d,), op)
    idx = argmax(x, d, keepdim=True) if sign > 0 else argmin(x, d, keepdim=True)
    if x.ndim == 0:
        return values_indices(x.clone(), _make(_xp(x._data).zeros((), np.int64)))
    from .indexing import gather
    values = gather(x, d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return values_indices(values, idx)


def max(x, dim=None, keepdim=False):
    """max of all elements, ``(values, indices)`` along ``dim``, or elementwise with a tensor."""
    return _max_min(x, dim, keepdim, 1, "max")


def min(x, dim=None, keepdim=False):
    return _max_min(x, dim, keepdim, -1, "min")


def _arg(x, dim, keepdim, fn, op):
    a = x._data
    if a.dtype == backend.bool_:
        raise RuntimeError(f"{op}(): does not support bool input (shape {tuple(x.shape)})")
    if dim is None:
        if a.size == 0:
            raise RuntimeError(f"{op}(): expected a non-empty tensor")
        r = getattr(a.reshape(-1), fn)()
        out = _make(_xp(a).asarray(r, dtype=np.int64))
        return out.reshape((1,) * a.ndim) if keepdim else out
    d = _norm_dim(dim, a.ndim, op)
    if a.ndim == 0:
        return _make(_xp(a).zeros((), np.int64))
    if a.shape[d] == 0:
        raise IndexError(f"{op}(): expected reduction dim {d} to have non-zero size")
    return _make(getattr(a, fn)(axis=d, keepdims=keepdim).astype(np.int64))


def argmax(x, dim=None, keepdim=False):
    return _arg(x, dim, keepdim, "argmax", "argmax")


def argmin(x, dim=None, keepdim=False):
    return _arg(x, dim, keepdim, "argmin", "argmin")


class LogSumExp(Function):
    """log Σ exp(x), computed as m + log Σ exp(x − m) with m = max x; ∂/∂x = softmax(x)."""

    def forward(ctx, x, dims, keepdim):
        xp = _xp(x)
        m = x.max(axis=dims, keepdims=True) if x.size else xp.zeros(
            _kept_shape(x.shape, dims), x.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        with np.errstate(divide="ignore"):  # a row of only −inf: log 0 = −inf, as PyTorch
            out = xp.log(sum_array(xp.exp(x - m), dims, keepdims=True)) + m
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        res = out if keepdim else xp.squeeze(out, axis=dims)
        ctx.save_for_backward(x, res)
        return res

    def backward(ctx, g):
        x, out = ctx.saved_tensors  # out is this node's output: differentiable again
        kept = _kept_shape(ctx.shape, ctx.dims)
        with np.errstate(invalid="ignore"):  # a row of only −inf: −inf − (−inf) = NaN, silently
            return _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) * (
                x - out.reshape(kept)).exp()


def logsumexp(x, dim=None, keepdim=False):
    if x.dtype.kind not in "fV":
        x = cast(x, backend.get_default_dtype())
    return LogSumExp.apply(x, dims=norm_dims(dim, x.ndim, "logsumexp"), keepdim=keepdim)


class Prod(Function):
    """Π over ``dims``; ∂/∂x_i = Π_{j≠i} x_j.

    Without zeros this is out / x_i (differentiable again, so double backward works); with
    zeros the products of the others come from exclusive cumulative products (no division).
    """

    def forward(ctx, x, dim, keepdim):
        ctx.shape, ctx.dim, ctx.keepdim = x.shape, dim, keepdim
        with np.errstate(invalid="ignore", over="ignore"):  # inf·0 = NaN, silently
            out = x.prod() if dim is None else x.prod(axis=dim, keepdims=keepdim)
        if ctx._recording:
            ctx.has_zero = bool((x == 0).any())
            ctx.save_for_backward(_prod_of_others(x, dim) if ctx.has_zero else x,
                                  None if ctx.has_zero else out)
        return out

    def backward(ctx, g):
        first, out = ctx.saved_tensors
        dims = tuple(range(len(ctx.shape))) if ctx.dim is None else (ctx.dim,)
        keep = ctx.keepdim and ctx.dim is not None
        g = _expand_back(g, ctx.shape, dims, keep)
        if ctx.has_zero:
            return g * first
        return g * _expand_back(out, ctx.shape, dims, keep) / first


def _prod_of_others(x, dim):
    """Π_{j≠i} x_j along ``dim`` (all elements if None) as exclusive cumulative products."""
    xp = _xp(x)
    ax = 0 if dim is None else dim
    flat = x.reshape(-1) if dim is None else x
    n = flat.shape[ax]
    ones = xp.ones_like(xp.take(flat, [0], axis=ax))
    head = xp.take(flat, range(n - 1), axis=ax)
    before = xp.cumprod(xp.concatenate([ones, head], axis=ax), axis=ax)
    tail = xp.take(xp.flip(flat, axis=ax), range(n - 1), axis=ax)
    after = xp.flip(xp.cumprod(xp.concatenate([ones, tail], axis=ax), axis=ax), axis=ax)
    return (before * after).reshape(x.shape)


def prod(x, dim=None, keepdim=False, dtype=None):
    """Π over all elements or along one ``dim`` (PyTorch's prod takes one dim)."""
    if dtype is not None:
        x = cast(x, dtype)
    elif x.dtype.kind in "biu":
        x = cast(x, backend.int64)
    d = None if dim is None else _norm_dim(dim, x.ndim, "prod")
    if x.ndim == 0:
        return x.clone()
    return Prod.apply(x, dim=d, keepdim=keepdim if d is not None else False)


class Norm2(Function):
    """‖x‖₂ = √Σx²; ∂/∂x = x/‖x‖ (0 where the norm is 0, the subgradient PyTorch uses)."""

    def forward(ctx, x, dims, keepdim):
        xp = _xp(x)
        out = xp.sqrt(sum_array(x * x, dims, keepdims=True))
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        res = out if keepdim else xp.squeeze(out, axis=dims)
        ctx.save_for_backward(x, res)
        return res

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        from .elementwise import where
        out = out.reshape(_kept_shape(ctx.shape, ctx.dims))
        safe = where(out == 0, out + 1.0, out)
        scale = where(out == 0, out * 0.0, x / safe)
        return _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim) * scale


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    """The p-norm (p = 'fro', 2, 1, inf, -inf or any positive number) over ``dim``."""
    if dtype is not None:
        x = cast(x, dtype)
    if x.dtype.kind not in "fV":
        raise RuntimeError(f"norm(): expected a floating point tensor, got {x.dtype}")
    dims = norm_dims(dim, x.ndim, "norm")
    if p in ("fro", 2, 2.0):
        return Norm2.apply(x, dims=dims, keepdim=keepdim)
    if p in (float("inf"), "inf"):
        return amax(x.abs(), dims, keepdim)
    if p in (float("-inf"), "-inf"):
        return amin(x.abs(), dims, keepdim)
    if p == 1:
        return sum(x.abs(), dims, keepdim)
    if p == 0:
        return sum((x != 0).to(x.dtype), dims, keepdim)
    if isinstance(p, str):
        raise ValueError(f"norm(): unsupported norm type {p!r}")
    return sum(x.abs() ** p, dims, keepdim) ** (1.0 / p)


class Cumsum(Function):
    def forward(ctx, x, dim):
        ctx.dim = dim
        if x.dtype.kind in "fV" and x.dtype.itemsize < 8 and x.shape[dim] > _BLOCK:
            # a running sum cannot be blocked: accumulate in float64 (PyTorch's CPU rule)
            return _xp(x).cumsum(x, axis=dim, dtype=np.float64).astype(x.dtype)
        return _xp(x).cumsum(x, axis=dim)

    def backward(ctx, g):
        return cumsum(g.flip(ctx.dim), ctx.dim).flip(ctx.dim)


def accumulation_dtype(x, dtype=None):
    """The input of a running sum or product: cast to ``dtype`` if given, else integers and
    bools accumulate in int64 (torch.cumsum/cumprod)."""
    if dtype is not None:
        return cast(x, dtype)
    return cast(x, backend.int64) if x.dtype.kind in "biu" else x


def cumsum(x, dim, dtype=None):
    x = accumulation_dtype(x, dtype)
    if x.ndim == 0:
        return x.clone()
    return Cumsum.apply(x, dim=_norm_dim(dim, x.ndim, "cumsum"))


def _logical_dims(x, dim, op):
    """all/any reduce nothing for an empty dim list (PyTorch), unlike sum's 'all dims'."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)) and len(dim) == 0:
        return ()
    return norm_dims(dim, x.ndim, op)


def _logical_result(x, r):
    """bool, except uint8 in, uint8 out (PyTorch's legacy rule for all/any)."""
    r = _xp(x._data).asarray(r)
    return _make(r.astype(np.uint8) if x.dtype == np.uint8 else r)


def all(x, dim=None, keepdim=False):
    dims = _logical_dims(x, dim, "all")
    return _logical_result(x, x._data.all(axis=dims, keepdims=keepdim))


def any(x, dim=None, keepdim=False):
    dims = _logical_dims(x, dim, "any")
    return _logical_result(x, x._data.any(axis=dims, keepdims=keepdim))


def count_nonzero(x, dim=None):
    dims = None if dim is None else norm_dims(dim, x.ndim, "count_nonzero")
    return _make(_xp(x._data).asarray((x._data != 0).sum(axis=dims), dtype=np.int64))
