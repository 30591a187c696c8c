"""Ordering: ``sort``, ``argsort``, ``topk``, ``kthvalue``, ``median``, ``unique``,
``searchsorted``, ``bucketize`` (PyTorch's names, arguments and results).

The order itself is not differentiable, but the values picked by ``sort``/``topk`` are: they are
``gather(x, dim, indices)``, so ∂L/∂x is ∂L/∂values scattered back to the positions they came
from (zeros elsewhere), the same backward as indexing.
"""
from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from .. import backend
from ..tensor import Tensor, _make, _norm_dim
from .elementwise import _xp
from .indexing import GetItem, _full_index

_pyint, _pybool = builtins.int, builtins.bool

sort_result = namedtuple("sort", ["values", "indices"])
topk_result = namedtuple("topk", ["values", "indices"])
kthvalue_result = namedtuple("kthvalue", ["values", "indices"])
median_result = namedtuple("median", ["values", "indices"])

__all__ = ["sort", "argsort", "msort", "topk", "kthvalue", "median", "unique", "searchsorted",
           "bucketize"]


def _check_tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind == "c":
        raise RuntimeError(f"{op}(): complex tensors have no order")


def _int_arg(v, op, name):
    """An int argument; an integer 0-d tensor counts (``x.topk(torch.tensor(2))``)."""
    if isinstance(v, Tensor) and v.ndim == 0 and v.dtype.kind in "iu":
        return _pyint(v.item())
    if not isinstance(v, (_pyint, np.integer)) or isinstance(v, _pybool):
        raise TypeError(f"{op}(): argument '{name}' must be an int, got {type(v).__name__}")
    return _pyint(v)


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
        xp = _xp(x._data)
        return _picked(x.reshape(1), 0, xp.zeros((1,), np.int64)).reshape(()), \
            _make(xp.zeros((), np.int64))
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
        return _make(_xp(input._data).zeros((), np.int64))
    d = _norm_dim(dim, input.ndim, "argsort")
    return _make(_order(input._data, d, _pybool(descending)).astype(np.int64, copy=False))


def msort(input):
    """``sort(input, dim=0).values``."""
    return sort(input, dim=0).values


def topk(input, k, dim=-1, largest=True, sorted=True):
    """The ``k`` largest (or smallest) entries along ``dim`` and their int64 indices, in order."""
    _check_tensor(input, "topk")
    k = _int_arg(k, "topk", "k")
    n = input.shape[_norm_dim(dim, input.ndim, "topk")] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk(): selected index k={k} is out of range (dimension {dim} has "
                           f"size {n}; expected 0 <= k <= {n})")
    values, indices = _sorted_parts(input, dim, _pybool(largest), _pyint(k), "topk")
    return topk_result(values, indices)


def _kth(x, k, dim, keepdim, op, nan_first=False):
    """Entry k (0-based) of the stable ascending order along ``dim``, as (values, indices);
    with ``nan_first`` a row holding NaN gives its first NaN (median propagates NaN)."""
    if x.ndim == 0:
        _norm_dim(dim, 0, op)
        if k != 0:
            raise RuntimeError(f"{op}(): k={k + 1} is out of range for a 0-d tensor")
        return x.clone(), _make(np.zeros((), np.int64))
    d = _norm_dim(dim, x.ndim, op)
    n = x.shape[d]
    if not 0 <= k < n:
        raise RuntimeError(f"{op}(): selected index k={k + 1} is out of range for dimension "
                           f"{d} of size {n} (expected 1 <= k <= {n})" if op == "kthvalue" else
                           f"{op}(): cannot take the {op} of an empty dimension {d}")
    a = x._data
    xp = _xp(a)
    idx = xp.take(_order(a, d, False), [k], axis=d)
    if nan_first and a.dtype.kind in "fV":
        nan = xp.isnan(a)
        has = nan.any(axis=d, keepdims=True)
        idx = xp.where(has, xp.argmax(nan, axis=d, keepdims=True), idx)
    idx = idx.astype(np.int64)
    values = _picked(x, d, idx)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return values, _make(idx.copy())


def kthvalue(input, k, dim=-1, keepdim=False):
    """The k-th smallest entry (k = 1 is the minimum) along ``dim`` and its int64 index."""
    _check_tensor(input, "kthvalue")
    k = _int_arg(k, "kthvalue", "k")
    return kthvalue_result(*_kth(input, k - 1, dim, keepdim, "kthvalue"))


def median(input, dim=None, keepdim=False):
    """The lower median (entry ⌊(n − 1)/2⌋ of the sorted values; NaN if any is NaN): of all
    elements as a 0-d tensor, or ``(values, indices)`` along ``dim``."""
    _check_tensor(input, "median")
    if dim is None:
        if input.numel() == 0:
            return _make(_xp(input._data).full((), np.nan, input.dtype))
        flat = input.reshape(-1)
        return _kth(flat, (flat.shape[0] - 1) // 2, 0, False, "median", nan_first=True)[0]
    n = input.shape[_norm_dim(dim, input.ndim, "median")] if input.ndim else 1
    return median_result(*_kth(input, (n - 1) // 2, dim, keepdim, "median", nan_first=True))


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None,
                 sorter=None):
    """For each value, the index where it would be inserted into ``sorted_sequence`` (its last
    dimension sorted ascending) to keep it sorted: the first such index, or the last with
    ``right`` (or ``side='right'``). A 1-D sequence serves every value; otherwise the leading
    dimensions of sequence and values match row by row."""
    for name, t in (("sorted_sequence", sorted_sequence), ("values", values)):
        if not isinstance(t, Tensor) and not (name == "values" and
                                             isinstance(t, (_pyint, float))):
            raise TypeError(f"searchsorted(): argument '{name}' must be a Tensor, got "
                            f"{type(t).__name__}")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted(): side can only be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise RuntimeError("searchsorted(): side and right can't be set to opposites")
        right = side == "right"
    seq = backend.to_numpy(sorted_sequence._data)
    scalar = not isinstance(values, Tensor)
    v = np.asarray(values) if scalar else backend.to_numpy(values._data)
    if sorter is not None:
        order = backend.to_numpy(sorter._data).astype(np.int64)
        seq = np.take_along_axis(seq, order, axis=-1)
    how = "right" if right else "left"
    if seq.ndim <= 1:
        out = np.searchsorted(seq.reshape(-1), v, side=how)
    else:
        if v.ndim == 0 or seq.shape[:-1] != v.shape[:-1]:
            raise RuntimeError(f"searchsorted(): boundaries tensor should be 1 dimension or the "
                               f"first N-1 dimensions of boundaries tensor and input value tensor "
                               f"must match, but we got boundaries tensor {list(seq.shape)} and "
                               f"input value tensor {list(v.shape)}")
        rows_s = seq.reshape(-1, seq.shape[-1])
        rows_v = v.reshape(-1, v.shape[-1])
        out = np.stack([np.searchsorted(s_, v_, side=how) for s_, v_ in zip(rows_s, rows_v)]) \
            .reshape(v.shape) if rows_s.shape[0] else np.zeros(v.shape, np.int64)
    out = np.asarray(out, dtype=np.int32 if out_int32 else np.int64)
    dev = sorted_sequence.device
    return _make(backend.to_device(out, dev))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    """The bucket of each input among 1-D ascending ``boundaries``: i with
    boundaries[i−1] < x ≤ boundaries[i] (with ``right``: boundaries[i−1] ≤ x < boundaries[i])."""
    if not isinstance(boundaries, Tensor) or boundaries.ndim != 1:
        raise RuntimeError(f"bucketize(): boundaries must be a 1-D tensor, got "
                           f"{getattr(boundaries, 'shape', type(boundaries).__name__)}")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


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
