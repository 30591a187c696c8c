"""Turning a list of samples into a batch, with ``torch.utils.data.default_collate``'s rules.

=====================  ==========================================================
sample element         batch element
=====================  ==========================================================
Tensor (shape S)       Tensor (N, *S) stacked along a new first dim
NumPy array / scalar   Tensor (N, *S) of the same dtype
float                  float64 Tensor (N,)  (as torch: Python floats are doubles)
int / bool             int64 / bool Tensor (N,)
str / bytes            the list of them
dict                   dict with each key collated
namedtuple             the same namedtuple of collated fields
tuple / list           a LIST of collated fields (torch turns tuples into lists)
=====================  ==========================================================

A ``StackedBatch`` (from a dataset's ``__getitems__``) is already stacked: its fields are
returned as a list of Tensors (NumPy fields wrapped without copying), with no per-sample work.
"""
from __future__ import annotations

import collections.abc as abc

import numpy as np

from ... import backend
from ...tensor import Tensor, _make, as_tensor, tensor
from .dataset import StackedBatch

_ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        "found {}")


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _stack_tensors(batch):
    first = batch[0]
    for i, t in enumerate(batch):
        if not isinstance(t, Tensor):
            raise TypeError(f"default_collate: entry 0 is a Tensor but entry {i} is "
                            f"{type(t).__name__}")
        if t.shape != first.shape:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, "
                               f"but got {tuple(first.shape)} at entry 0 and {tuple(t.shape)} "
                               f"at entry {i}")
    if any(t.requires_grad for t in batch):
        from ...ops.shape import stack
        return stack(batch, 0)
    xp = backend.array_module(first._data)
    return _make(xp.stack([t._data if t.device == first.device else
                           backend.to_device(t._data, first.device) for t in batch]))


def default_collate(batch):
    """Stack a list of samples into a batch (see the module table)."""
    if isinstance(batch, StackedBatch):
        return [default_convert(f) for f in batch.fields]
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind in "OSUV":
            raise TypeError(_ERR.format(elem.dtype))
        try:
            return as_tensor(np.stack(batch))
        except ValueError as e:
            raise RuntimeError(f"default_collate: stack expects each array to be equal size "
                               f"({e})") from None
    if isinstance(elem, np.generic):
        if elem.dtype.kind in "OSUV":
            raise TypeError(_ERR.format(elem.dtype))
        return as_tensor(np.array(batch))
    if isinstance(elem, float):
        return tensor(batch, dtype=backend.float64)
    if isinstance(elem, (bool, int)):
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, abc.Mapping):
        out = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if _is_namedtuple(elem):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               "equal size")
        fields = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(_ERR.format(type(elem)))


def default_convert(data):
    """Without batching (``batch_size=None``): NumPy arrays and scalars become Tensors,
    containers are converted element-wise, everything else is left alone."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)):
        return data if data.dtype.kind in "OSUV" else as_tensor(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, abc.Mapping):
        out = {k: default_convert(v) for k, v in data.items()}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if _is_namedtuple(data):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, abc.Sequence):
        try:
            return type(data)([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data
