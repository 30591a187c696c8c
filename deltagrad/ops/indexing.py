"""Indexing: ``x[idx]``, ``x[idx] = v``, gather/scatter, index_select, masked_fill, one_hot.

The backward of reading ``x[idx]`` writes the gradient back into zeros at ``idx``; with
integer-array indices a position read twice receives the sum of both gradients
(``np.add.at``), as the chain rule requires.
"""
from __future__ import annotations

import builtins

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..autograd.views import mark_view, shares_memory
from ..tensor import Tensor, _make, _norm_dim
from .elementwise import _xp, as_operand, cast

_pyint = builtins.int


def _convert_index(index, device):
    """Turn Tensors inside an index into arrays; report whether it is advanced indexing."""
    items = index if isinstance(index, tuple) else (index,)
    out, advanced = [], False
    for it in items:
        if isinstance(it, Tensor):
            if it.dtype.kind in "fV":
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
            out.append(it._data if it._device == device else backend.to_device(it._data, device))
            advanced = True
        elif isinstance(it, (list, np.ndarray, range)):
            a = np.asarray(it, dtype=np.int64) if isinstance(it, range) else np.asarray(it)
            if a.dtype.kind in "fV":
                raise IndexError("arrays used as indices must be of integer or bool type")
            out.append(backend.to_device(a, device))
            advanced = True
        elif isinstance(it, slice):
            step = it.step
            if isinstance(step, Tensor):
                step = step.item()
            if step is not None and step <= 0:  # NumPy would reverse: PyTorch refuses
                raise ValueError(f"indexing: slice step must be greater than zero, got {step} "
                                 "(to reverse use flip())")
            out.append(it)
        elif it is None or it is Ellipsis or isinstance(it, (_pyint, np.integer, bool)):
            out.append(it)
        else:
            raise IndexError(f"unsupported index type {type(it).__name__}; expected ints, slices, "
                             "None, Ellipsis, lists or integer/bool tensors")
    return tuple(out), advanced


def _check_bounds(a, idx):
    try:
        return a[idx]
    except IndexError as e:
        raise IndexError(f"index {idx!r} is out of bounds for a tensor of shape {a.shape}: {e}") \
            from None


class GetItem(Function):
    def forward(ctx, x, index, advanced):
        ctx.index, ctx.advanced, ctx.shape = index, advanced, x.shape
        out = _check_bounds(x, index)
        if not advanced and type(out) is not type(x):  # NumPy's scalar copy: a 0-d view instead
            out = x[index + (Ellipsis,)]
        return out

    def backward(ctx, g):
        return IndexScatter.apply(g, index=ctx.index, advanced=ctx.advanced, shape=ctx.shape)


class IndexScatter(Function):
    """zeros(shape) with ``g`` added at ``index`` (repeated indices accumulate)."""

    def forward(ctx, g, index, advanced, shape):
        ctx.index, ctx.advanced = index, advanced
        xp = _xp(g)
        out = xp.zeros(shape, g.dtype)
        if advanced:
            if xp is np:
                np.add.at(out, index, g)
            else:
                from .. import backend
                backend.cupyx().scatter_add(out, index, g)
        else:
            out[index] = g
        return out

    def backward(ctx, gg):
        return GetItem.apply(gg, index=ctx.index, advanced=ctx.advanced)


def getitem(x, index):
    """``x[index]``: basic indexing (ints, slices, None, ...) gives a view of x's memory,
    advanced indexing (integer/bool arrays) a copy, as in PyTorch."""
    idx, advanced = _convert_index(index, x._device)
    out = GetItem.apply(x, index=idx, advanced=advanced)
    if not advanced and shares_memory(out._data, x._data):
        mark_view(out, x, GetItem, {"index": idx, "advanced": False})
    return out


class IndexPut(Function):
    """``out = x.copy(); out[index] = v``: x's gradient is zero at ``index``, v's is g[index]."""

    def forward(ctx, x, v, index, advanced):
        ctx.index, ctx.advanced = index, advanced
        out = x.copy()
        out[index] = v
        return out

    def backward(ctx, g):
        gx = gv = None
        if ctx.needs_input_grad[0]:
            zeros = _make(_xp(g._data).zeros((), g.dtype))
            gx = IndexPut.apply(g, zeros, index=ctx.index, advanced=ctx.advanced)
        if ctx.needs_input_grad[1]:
            gv = GetItem.apply(g, index=ctx.index, advanced=ctx.advanced)
        return gx, gv


def index_put(x, index, value):
    idx, advanced = _convert_index(index, x._device)
    v = as_operand(value, x.dtype, x)
    if v._device != x._device:
        raise RuntimeError(f"__setitem__: value is on {v.device} but the tensor is on {x.device}")
    return IndexPut.apply(x, v, index=idx, advanced=advanced)


def setitem(x, index, value):
    """``x[index] = value``: written in place; recorded in the graph when gradients flow.
    With a basic index this is ``x[index].copy_(value)``, a write through a view (PyTorch's
    rule), so x's history and every alias see it; an advanced index is ``index_put``."""
    from ..autograd.grad_mode import is_grad_enabled
    rec = is_grad_enabled() and (x.requires_grad or (isinstance(value, Tensor)
                                                      and value.requires_grad))
    idx, advanced = _convert_index(index, x._device)
    if rec and not advanced:
        region = getitem(x, index)
        if region._view is not None:
            from .shape import expand
            v = as_operand(value, region.dtype, region)
            try:
                v = expand(v, tuple(region.shape))
            except RuntimeError:
                raise RuntimeError(f"__setitem__: cannot assign a value of shape "
                                   f"{tuple(v.shape)} to an index of shape "
                                   f"{tuple(region.shape)} of a tensor of shape "
                                   f"{tuple(x.shape)}") from None
            region._assign(v, "__setitem__")
            return x
    if not rec:
        target = x._data if advanced else _check_bounds(
            x._data, idx if any(i is Ellipsis for i in idx) else idx + (Ellipsis,))
        x._check_inplace("__setitem__", target=target)
        v = value._data if isinstance(value, Tensor) else value
        try:
            x._data[idx] = v
        except ValueError as e:
            raise RuntimeError(f"__setitem__: cannot assign a value of shape "
                               f"{getattr(v, 'shape', ())} to an index of a tensor of shape "
                               f"{tuple(x.shape)}: {e}") from None
        x._version += 1
        return x
    return x._assign(index_put(x, index, value), "__setitem__")


def index_select(x, dim, index):
    d = _norm_dim(dim, x.ndim, "index_select")
    if not isinstance(index, Tensor):
        index = _make(np.asarray(index, dtype=np.int64))
    if index.ndim > 1:
        raise IndexError(f"index_select: index must be 0-d or 1-d, got shape {tuple(index.shape)}")
    if index.dtype.kind not in "iu":
        raise IndexError(f"index_select: index must be an integer tensor, got {index.dtype}")
    n = x.shape[d] if x.ndim else 1
    if index._data.size and (index._data.min() < 0 or index._data.max() >= n):
        raise IndexError(f"index_select: index out of range: indices must be in [0, {n}) for "
                         f"dim {d} of shape {tuple(x.shape)} (negative indices are not "
                         "wrapped), got min {index._data.min()}, max {index._data.max()}")
    return getitem(x, (slice(None),) * d + (index.reshape(-1),))


def narrow(x, dim, start, length):
    """x[..., start:start + length, ...] along ``dim``; the range must lie inside (PyTorch)."""
    from ..tensor import _index_arg
    d = _norm_dim(dim, x.ndim, "narrow")
    start, length = _index_arg(start, "narrow", "start"), _index_arg(length, "narrow", "length")
    n = x.shape[d] if x.ndim else 1
    if not -n <= start <= n:
        raise IndexError(f"narrow(): start out of range (expected to be in range of [{-n}, {n}], "
                         f"but got {start})")
    if length < 0:
        raise RuntimeError(f"narrow(): length must be non-negative, got {length}")
    start %= n if n else 1
    if start + length > n:
        raise RuntimeError(f"narrow(): start ({start}) + length ({length}) exceeds dimension "
                           f"size ({n}) of dim {d} (input shape {tuple(x.shape)})")
    return getitem(x, (slice(None),) * d + (slice(start, start + length),))


def select(x, dim, index):
    d = _norm_dim(dim, x.ndim, "select")
    return getitem(x, (slice(None),) * d + (index,))


def masked_fill(x, mask, value):
    """x with ``value`` where ``mask`` is True (``mask`` broadcasts to x)."""
    if not isinstance(mask, Tensor) or mask.dtype != backend.bool_:
        raise RuntimeError(f"masked_fill: expected a bool mask tensor, got "
                           f"{getattr(mask, 'dtype', type(mask).__name__)}")
    from .elementwise import where
    v = value if isinstance(value, Tensor) else _make(_xp(x._data).asarray(value, x.dtype))
    if v.dtype != x.dtype:
        v = cast(v, x.dtype)
    out = where(mask, v, x)
    if tuple(out.shape) != tuple(x.shape):
        raise RuntimeError(f"masked_fill: mask of shape {tuple(mask.shape)} does not broadcast to "
                           f"the tensor's shape {tuple(x.shape)}")
    return out


def masked_select(x, mask):
    from .shape import broadcast_tensors
    x, mask = broadcast_tensors(x, mask)
    return getitem(x, mask)


def _gather_index(x, dim, index, op):
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: index must be an integer tensor")
    if index.ndim == 0 and x.ndim == 1:  # a 0-d index counts as one element, as in PyTorch
        index = index.reshape(1)
    if index.ndim != x.ndim:
        raise RuntimeError(f"{op}: index tensor must have the same number of dimensions as the "
                           f"input ({x.ndim}), got {index.ndim} (shape {tuple(index.shape)})")
    d = _norm_dim(dim, x.ndim, op)
    for i, (a, b) in enumerate(zip(index.shape, x.shape)):
        if i != d and a > b:
            raise RuntimeError(f"{op}: size of index {tuple(index.shape)} does not match input "
                               f"{tuple(x.shape)} at dimension {i}")
    idx = index._data
    if idx.size and (idx.min() < 0 or idx.max() >= x.shape[d]):  # no wrapping, as PyTorch
        raise IndexError(f"{op}: index out of range for dimension {d} of size {x.shape[d]}: "
                         f"indices must be in [0, {x.shape[d]}), got min {idx.min()}, max "
                         f"{idx.max()}")
    return d, idx


def _full_index(idx, dim, xp):
    """An advanced-index tuple that picks ``idx`` along ``dim`` and matches positions elsewhere."""
    grids = list(xp.indices(idx.shape, sparse=True))
    grids[dim] = idx
    return tuple(grids)


def gather(x, dim, index):
    """out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (and so on)."""
    d, idx = _gather_index(x, dim, index, "gather")
    out = GetItem.apply(x, index=_full_index(idx, d, _xp(x._data)), advanced=True)
    return out.reshape(()) if index.ndim == 0 else out  # the index's shape


def take_along_dim(x, indices, dim=None):
    """x's values at ``indices`` along ``dim`` (NumPy's take_along_axis): ``gather`` after
    broadcasting x and indices over the other dims; ``dim=None``: of x flattened."""
    if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu":
        raise RuntimeError(f"take_along_dim(): indices must be an integer tensor, got "
                           f"{getattr(indices, 'dtype', type(indices).__name__)}")
    if dim is None:
        return gather(x.reshape(-1), 0, indices.reshape(-1))
    d = _norm_dim(dim, x.ndim, "take_along_dim")
    if indices.ndim != x.ndim:
        raise RuntimeError(f"take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {x.ndim} (shape {tuple(x.shape)}) and "
                           f"{indices.ndim} (shape {tuple(indices.shape)})")
    others = [list(x.shape), list(indices.shape)]
    for o in others:
        o[d] = 1
    try:
        shape = list(np.broadcast_shapes(*map(tuple, others)))
    except ValueError:
        raise RuntimeError(f"take_along_dim(): input of shape {tuple(x.shape)} and indices of "
                           f"shape {tuple(indices.shape)} do not broadcast outside dim {d}") from None
    sx, si = list(shape), list(shape)
    sx[d], si[d] = x.shape[d], indices.shape[d]
    return gather(x.expand(*sx), d, indices.expand(*si))


def scatter_add(x, dim, index, src):
    """x with src[i][j][k] added at x[index[i][j][k]][j][k] (dim 0); repeats accumulate."""
    d, idx = _gather_index(x, dim, index, "scatter_add")
    src = as_operand(src, x.dtype, x)
    if src.ndim != idx.ndim:
        raise RuntimeError("scatter_add: src must have the same number of dimensions as index")
    src = src[tuple(slice(0, s) for s in idx.shape)] if tuple(src.shape) != idx.shape else src
    added = IndexScatter.apply(src, index=_full_index(idx, d, _xp(x._data)), advanced=True,
                               shape=tuple(x.shape))
    return x + added


def scatter(x, dim, index, src=None, value=None):
    """x with positions index along ``dim`` replaced by ``src`` (or a scalar ``value``)."""
    d, idx = _gather_index(x, dim, index, "scatter")
    if src is None:
        src = value
    full = _full_index(idx, d, _xp(x._data))
    if isinstance(src, Tensor):
        src = src[tuple(slice(0, s) for s in idx.shape)] if tuple(src.shape) != idx.shape else src
    return IndexPut.apply(x, as_operand(src, x.dtype, x), index=full, advanced=True)


def one_hot(tensor, num_classes=-1):
    """Integer class indices -> int64 one-hot vectors e_t along a new last dimension."""
    if not isinstance(tensor, Tensor) or tensor.dtype.kind not in "iu":
        raise RuntimeError("one_hot is only applicable to index tensors (int64)")
    a = tensor._data
    if num_classes == -1:
        num_classes = _pyint(a.max()) + 1 if a.size else 0
    if a.size and (a.min() < 0 or a.max() >= num_classes):
        raise RuntimeError(f"one_hot: class values must be in [0, {num_classes}), got range "
                           f"[{_pyint(a.min())}, {_pyint(a.max())}]")
    xp = _xp(a)
    out = xp.zeros(a.shape + (num_classes,), np.int64)
    if a.size:
        xp.put_along_axis(out, a[..., None].astype(np.int64), 1, axis=-1)
    return _make(out)
