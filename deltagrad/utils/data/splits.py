"""Model selection: hold-out split, k-fold and leave-one-out cross-validation.

Each helper splits what it is given:

* an ``int`` n -> sorted NumPy ``int64`` index arrays into ``range(n)``;
* a dataset (anything with ``len`` and indexing) -> ``Subset`` s of it.

``holdout_split`` returns one ``(train, test)`` pair; ``kfold`` and ``leave_one_out`` return
a lazy iterator of ``k`` ``(train, validation)`` pairs (leave-one-out over 60,000 samples
would not fit in memory as a list). Folds are disjoint, cover every index once, and their
sizes differ by at most one (the first ``n % k`` folds get the extra sample).

``stratify``: per-sample class labels (array, list or Tensor), or ``True`` to use the
dataset's ``targets``; each class is then spread over the splits in proportion.
``generator`` (``dg.Generator``, int seed or ``None`` for the global one) drives shuffling.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ...tensor import Tensor
from ._random import as_generator, numpy_rng
from .dataset import Subset


def _size_of(data, op):
    if isinstance(data, numbers.Integral) and not isinstance(data, bool):
        if data < 0:
            raise ValueError(f"{op}: the number of samples must be >= 0, got {data}")
        return int(data)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__") and \
            not isinstance(data, (str, bytes)):
        return len(data)
    raise TypeError(f"{op}: expected an int (number of samples) or a dataset, got "
                    f"{type(data).__name__}")


def _wrap(data, *index_arrays):
    if isinstance(data, numbers.Integral):
        return index_arrays
    return tuple(Subset(data, idx.tolist()) for idx in index_arrays)


def _labels(data, stratify, n, op):
    if stratify is None or stratify is False:
        return None
    if stratify is True:
        if not hasattr(data, "targets"):
            raise ValueError(f"{op}: stratify=True needs a dataset with a .targets attribute; "
                             "pass the labels instead")
        stratify = data.targets
    if isinstance(stratify, Tensor):
        stratify = stratify.detach().numpy()
    y = np.asarray(stratify).reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"{op}: stratify has {y.shape[0]} labels but there are {n} samples")
    return y


def _stratified_order(y, rng):
    """Indices grouped by class (random order inside each class when ``rng`` is given)."""
    tie = rng.permutation(y.shape[0]) if rng is not None else np.arange(y.shape[0])
    return np.lexsort((tie, y))


def holdout_split(data, test_size=0.2, *, shuffle=True, stratify=None, generator=None):
    """Split into ``(train, test)``: ``test_size`` is a fraction in (0, 1) (rounded up) or a
    count. Without shuffling the test part is the last ``n_test`` samples."""
    op = "holdout_split"
    n = _size_of(data, op)
    if isinstance(test_size, numbers.Integral) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, numbers.Real) and 0 < test_size < 1:
        n_test = math.ceil(test_size * n)
    else:
        raise ValueError(f"{op}: test_size must be a fraction in (0, 1) or an int, got "
                         f"{test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(f"{op}: test_size={test_size!r} leaves {n_test} test and "
                         f"{n - n_test} training samples out of {n}; both must be non-empty")
    y = _labels(data, stratify, n, op)
    rng = numpy_rng(as_generator(generator, op)) if shuffle else None
    if y is None:
        order = rng.permutation(n) if shuffle else np.arange(n)
        test = order[n - n_test:]
    else:
        classes, counts = np.unique(y, return_counts=True)
        quota = counts * n_test / n
        take = np.floor(quota).astype(np.int64)
        extra = np.argsort(-(quota - take), kind="stable")[:n_test - take.sum()]
        take[extra] += 1
        order = _stratified_order(y, rng)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        test = np.concatenate([order[s + c - t:s + c] for s, c, t in zip(starts, counts, take)])
    mask = np.zeros(n, dtype=bool)
    mask[test] = True
    return _wrap(data, np.flatnonzero(~mask), np.flatnonzero(mask))


def _fold_ids(n, k, order):
    """``fold[i]`` = the fold of sample ``i``: ``order`` cut into ``k`` near-equal pieces."""
    sizes = np.full(k, n // k, dtype=np.int64)
    sizes[:n % k] += 1
    fold = np.empty(n, dtype=np.int64)
    fold[order] = np.repeat(np.arange(k), sizes)
    return fold


def kfold(data, k=5, *, shuffle=False, stratify=None, generator=None):
    """``k`` ``(train, validation)`` pairs; each sample is in exactly one validation fold."""
    op = "kfold"
    n = _size_of(data, op)
    if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 2:
        raise ValueError(f"{op}: k must be an int >= 2, got {k!r}")
    if k > n:
        raise ValueError(f"{op}: cannot have k={k} folds with only {n} samples")
    y = _labels(data, stratify, n, op)
    rng = numpy_rng(as_generator(generator, op)) if shuffle else None
    if y is None:
        fold = _fold_ids(n, k, rng.permutation(n) if shuffle else np.arange(n))
    else:
        fold = np.empty(n, dtype=np.int64)
        fold[_stratified_order(y, rng)] = np.arange(n) % k
    return _folds(data, fold, k)


def _folds(data, fold, k):
    for j in range(k):
        in_fold = fold == j
        yield _wrap(data, np.flatnonzero(~in_fold), np.flatnonzero(in_fold))


def leave_one_out(data):
    """``n`` pairs ``(all but i, [i])`` for ``i = 0 .. n-1`` (k-fold with ``k = n``)."""
    n = _size_of(data, "leave_one_out")
    if n < 2:
        raise ValueError(f"leave_one_out: needs at least 2 samples, got {n}")
    return _folds(data, np.arange(n), n)
