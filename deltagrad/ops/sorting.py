"""Ordering: ``sort``, ``argsort``, ``topk``, ``unique`` (PyTorch's names, arguments and results).

The order itself is not differentiable, but the values picked by ``sort``/``topk`` are: they are
``gather(x, dim, indices)``, so ∂L/∂x is ∂L/∂values scattered back to the positions they came
from (zeros elsewhere), the same backward as indexing.
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from ..tensor import Tensor, _make, _norm_dim
from .elementwise import _xp
from .indexing import GetItem, _full_index

_pyint, _pybool = builtins.int, builtins.bool

sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])

__all__ = ["sort", "argsort", "msort", "topk", "unique"]


def _check_tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind == "c":
        raise RuntimeError(f"{op}(): complex tensors have no order")


def _order(a, axis, descending):
    """Stable ascending (or descending) order along ``axis``; NaN counts as the largest value,
    as in PyTorch. Descending keeps equal elements in their original order: sort the reversed
    array ascending (stably), reverse the result and map the positions back."""
    xp = _xp(a)
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    rev = xp.flip(a, axis)
    idx = xp.flip(xp.argsort(rev, axis=axis, kind="stable"), axis)
    return (n - 1) - idx


def _top_k_order(a, axis, largest, k):
    """The first k of the stable order along ``axis`` without sorting the rest (a language
    model's top-k over a 50,000-word vocabulary): a partition (O(n)) finds the k-th value t;
    the k picked are those strictly beyond t plus, in their original order, as many equal to t
    as are needed (NaN counting as the largest); only those k are then sorted."""
    xp = _xp(a)
    m = xp.moveaxis(a, axis, -1)
    rows, n = m.shape[:-1], m.shape[-1]
    m2 = m.reshape(-1, n)
    kth = n - k if largest else k - 1
    t = xp.take_along_axis(m2, xp.argpartition(m2, kth, axis=1)[:, kth:kth + 1], axis=1)
    nan_a, nan_t = xp.isnan(m2), xp.isnan(t)
    if largest:
        beyond = (m2 > t) | (nan_a & ~nan_t)
    else:
        beyond = (m2 < t) | (~nan_a & nan_t)
    tie = (m2 == t) | (nan_a & nan_t)
    need = k - beyond.sum(1, keepdims=True)
    chosen = beyond | (tie & (xp.cumsum(tie, axis=1) <= need))
    keep = xp.nonzero(chosen)[1].reshape(-1, k)  # k per row, in their original order
    order = _order(xp.take_along_axis(m2, keep, axis=1), 1, largest)
    idx = xp.take_along_axis(keep, order, axis=1).reshape(rows + (k,))
    return xp.moveaxis(idx, -1, axis)


def _picked(x, dim, idx):
    """``gather(x, dim, idx)`` as a differentiable read (``idx`` is valid by construction)."""
    return GetItem.apply(x, index=_full_index(idx, dim, _xp(x._data)), advanced=True)


def _sorted_parts(x, dim, descending, k, op):
    """The first ``k`` entries of the stable order along ``dim``: (values, int64 indices)."""
    if x.ndim == 0:  # PyTorch: the 0-d tensor itself (k may be 0 or 1), index 0
        _norm_dim(dim, 0, op)
        if k is not None and k > 1:
            raise RuntimeError(f"{op}(): selected index k={k} is out of range for a 0-d tensor")
        return _picked(x.reshape(1), 0, np.zeros((1,), np.int64)).reshape(()), \
            _make(np.zeros((), np.int64))
    d = _norm_dim(dim, x.ndim, op)
    n = x.shape[d]
    if k is not None and 0 < k and 8 * k < n and n > 64:
        idx = _top_k_order(x._data, d, descending, k)
    else:
        idx = _order(x._data, d, descending)
        if k is not None:
            idx = idx[(slice(None),) * d + (slice(0, k),)]
    idx = idx.astype(np.int64, copy=False)
    return _picked(x, d, idx), _make(idx)


def sort(input, dim=-1, descending=False, stable=False):
    """``(values, indices)`` with values = input sorted along ``dim`` (ascending unless
    ``descending``) and values = input.gather(dim, indices). Ties keep their original order
    (always stable, which is one of the orders ``stable=False`` allows)."""
    _check_tensor(input, "sort")
    values, indices = _sorted_parts(input, dim, _pybool(descending), None, "sort")
    return sort_result(values, indices)


def argsort(input, dim=-1, descending=False, stable=False):
    """The int64 indices that sort ``input`` along ``dim`` (``sort(...).indices``)."""
    _check_tensor(input, "argsort")
    if input.ndim == 0:
        return _make(np.zeros((), np.int64))
    d = _norm_dim(dim, input.ndim, "argsort")
    return _make(_order(input._data, d, _pybool(descending)).astype(np.int64, copy=False))


def msort(input):
    """``sort(input, dim=0).values``."""
    return sort(input, dim=0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) entries along ``dim`` and their int64 indices, in order."""
    _check_tensor(input, "topk")
    if not isinstance(k, (_pyint, np.integer)) or isinstance(k, _pybool):
        raise TypeError(f"topk(): argument 'k' must be an int, got {type(k).__name__}")
    n = input.shape[_norm_dim(dim, input.ndim, "topk")] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k={k} is out of range (dimension {dim} has "
                           f"size {n}; expected 0 <= k <= {n})")
    values, indices = _sorted_parts(input, dim, _pybool(largest), _pyint(k), "topk")
    return topk_result(values, indices)


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values of ``input`` in ascending order (``torch.unique``), optionally with
    ``inverse`` (int64, input = output[inverse]) and ``counts`` (int64). With ``dim`` the distinct
    slices along that dimension. Not differentiable (as in PyTorch)."""
    _check_tensor(input, "unique")
    a = input._data
    xp = _xp(a)
    if dim is None:
        flat = a.reshape(-1)
        vals, inv, counts = xp.unique(flat, return_inverse=True, return_counts=True)
        inv = inv.reshape(a.shape)
    else:
        if a.ndim == 0:
            raise IndexError("unique(): dim is not allowed for a 0-d tensor")
        d = _norm_dim(dim, a.ndim, "unique")
        if a.shape[d] == 0:
            vals = a
            inv = xp.zeros((0,), np.int64)
            counts = xp.zeros((0,), np.int64)
        else:
            vals, inv, counts = xp.unique(a, axis=d, return_inverse=True, return_counts=True)
            inv = inv.reshape(-1)
    out = [_make(xp.ascontiguousarray(vals))]
    if return_inverse:
        out.append(_make(inv.astype(np.int64)))
    if return_counts:
        out.append(_make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)
