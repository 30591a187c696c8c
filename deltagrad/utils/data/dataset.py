"""Datasets: anything with ``__getitem__(i)`` and ``__len__`` (map-style) or ``__iter__``
(iterable-style), as in ``torch.utils.data``.

Batch fast path: a map-style dataset may define ``__getitems__(indices)`` (torch's newer
API) returning the samples at ``indices``. ``TensorDataset`` (and ``Subset`` of it) return a
``StackedBatch``: the samples already stacked column by column with ONE fancy index per
tensor, so a ``DataLoader`` with the default collate never touches single samples in Python.
"""
from __future__ import annotations

import bisect
import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from ... import backend
from ...tensor import Tensor, _make, from_numpy, randperm


class Dataset:
    """A map-style dataset: ``dataset[i]`` is sample ``i`` and ``len(dataset)`` the count."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses implement ``__iter__`` (no indexing, no shuffling)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class StackedBatch(Sequence):
    """Samples ``(x_i, y_i, ...)`` held column-wise: ``fields[k][j]`` is field k of sample j.

    It behaves as the list of samples a collate function expects (``len``, indexing and
    iteration give tuples), and ``default_collate`` returns ``list(fields)`` without work.
    """

    __slots__ = ("fields",)

    def __init__(self, fields):
        self.fields = tuple(fields)
        n = {len(f) for f in self.fields}
        if len(n) > 1:
            raise ValueError(f"StackedBatch: fields have different lengths {sorted(n)}")

    def __len__(self):
        return len(self.fields[0]) if self.fields else 0

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self[k] for k in range(*j.indices(len(self)))]
        return tuple(f[j] for f in self.fields)

    def __repr__(self):
        shapes = [tuple(getattr(f, "shape", (len(f),))) for f in self.fields]
        return f"StackedBatch(len={len(self)}, field_shapes={shapes})"


def _index_rows(t, idx):
    """``t[idx]`` for a 1-D integer index array, on the tensor's device, keeping autograd."""
    if isinstance(t, Tensor):
        if t.requires_grad:
            return t[idx]
        dev = t.device
        return _make(t._data[idx if dev.type == "cpu" else backend.to_device(idx, dev)])
    return t[idx]


class TensorDataset(Dataset):
    """Sample ``i`` is ``(t[i] for t in tensors)``; all tensors share their first dimension.

    NumPy arrays are accepted and wrapped without copying.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        tensors = tuple(from_numpy(t) if isinstance(t, np.ndarray) else t for t in tensors)
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected Tensors or NumPy arrays, got "
                                f"{type(t).__name__}")
            if t.ndim == 0:
                raise ValueError("TensorDataset: 0-d tensors have no samples to index")
        sizes = [t.shape[0] for t in tensors]
        if any(s != sizes[0] for s in sizes):
            raise ValueError(f"TensorDataset: Size mismatch between tensors: first dimensions "
                             f"are {sizes}; all must be equal")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __getitems__(self, indices):
        idx = _as_index_array(indices, len(self), "TensorDataset")
        return StackedBatch(_index_rows(t, idx) for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


def _as_index_array(indices, n, op):
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    if idx.size and (idx.max() >= n or idx.min() < -n):
        bad = idx[(idx >= n) | (idx < -n)][0]
        raise IndexError(f"{op}: index {bad} is out of range for a dataset of length {n}")
    return idx


class ConcatDataset(Dataset):
    """The samples of several datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]).tolist())

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        start = 0 if d == 0 else self.cumulative_sizes[d - 1]
        return self.datasets[d][idx - start]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (in that order)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        self._index_array = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        inner = self._index_array[_as_index_array(indices, len(self), "Subset")]
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__(inner)
        return [self.dataset[int(i)] for i in inner]

    def __len__(self):
        return len(self.indices)


def _split_lengths(lengths, n):
    """Integer lengths, or fractions summing to 1 turned into lengths as ``torch`` does."""
    lengths = list(lengths)
    if lengths and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        out = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
            out.append(int(math.floor(n * frac)))
        for i in range(n - sum(out)):
            out[i % len(out)] += 1
        for i, length in enumerate(out):
            if length == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; "
                              f"this split will be empty", stacklevel=3)
        return out
    for i, length in enumerate(lengths):
        if not isinstance(length, numbers.Integral) or length < 0:
            raise ValueError(f"random_split: lengths must be non-negative ints or fractions "
                             f"summing to 1, got {lengths}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: Sum of input lengths ({sum(lengths)}) does not equal "
                         f"the length of the input dataset ({n})!")
    return [int(x) for x in lengths]


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping random ``Subset`` s of the given ``lengths``.

    ``lengths`` are ints summing to ``len(dataset)`` or fractions summing to 1 (the
    remainder of ``floor(n * frac)`` goes one by one to the first splits, as in torch).
    ``generator`` defaults to the global one (``dg.manual_seed``).
    """
    from ._random import as_generator
    lengths = _split_lengths(lengths, len(dataset))
    perm = randperm(sum(lengths), generator=as_generator(generator, "random_split")).tolist()
    out, offset = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[offset:offset + length]))
        offset += length
    return out
