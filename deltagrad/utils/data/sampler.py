"""Samplers: which indices a ``DataLoader`` visits and in which order (``torch.utils.data``).

Mini-batch gradient descent draws a fresh permutation each epoch (each ``iter``) and walks
it without replacement, so every index appears exactly once per epoch.
"""
from __future__ import annotations

import numbers
from itertools import islice

import numpy as np

from ._random import as_generator, numpy_rng


class Sampler:
    """Iterates over indices of a dataset; subclasses implement ``__iter__`` (and ``__len__``)."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the indices: a new permutation per ``iter`` (without replacement), or
    ``num_samples`` independent uniform draws (``replacement=True``).

    Without replacement and ``num_samples > n``, whole permutations are chained.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = as_generator(generator, "RandomSampler")
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, "
                            f"but got replacement={replacement}")
        if not isinstance(self.num_samples, numbers.Integral) or self.num_samples <= 0:
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, "
                             f"but got num_samples={self.num_samples}")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        """Indices drawn lazily (32 at a time with replacement, one permutation at a time
        without), so ``num_samples=10**10`` costs no memory up front. One permutation (the
        usual epoch) comes straight from the generator; longer streams from a child generator
        seeded by it, so the stream does not depend on what else draws meanwhile."""
        n, m = len(self.data_source), self.num_samples
        rng = numpy_rng(self.generator)
        if not self.replacement and m <= n:
            return iter(rng.permutation(n)[:m].tolist())
        child = np.random.default_rng(rng.integers(0, 2 ** 63))
        return self._draw(child, n, m)

    def _draw(self, rng, n, m):
        chunk = 32 if self.replacement else n
        left = m
        while left > 0:
            k = min(chunk, left)
            yield from (rng.integers(0, n, size=k) if self.replacement
                        else rng.permutation(n)[:k]).tolist()
            left -= k

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a new random order each ``iter`` (without replacement)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = as_generator(generator, "SubsetRandomSampler")

    def __iter__(self):
        perm = numpy_rng(self.generator).permutation(len(self.indices))
        return (self.indices[i] for i in perm.tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights``."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, numbers.Integral) or isinstance(num_samples, bool) \
                or num_samples <= 0:
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer "
                             f"value, but got num_samples={num_samples}")
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.size == 0 or (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and "
                             "not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: can't draw {num_samples} samples without "
                             f"replacement from {np.count_nonzero(w)} non-zero weights")
        self.weights, self.num_samples, self.replacement = w, int(num_samples), replacement
        self.generator = as_generator(generator, "WeightedRandomSampler")

    def __iter__(self):
        idx = numpy_rng(self.generator).choice(self.weights.size, size=self.num_samples,
                                               replace=self.replacement,
                                               p=self.weights / self.weights.sum())
        return iter(idx.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) \
                or batch_size <= 0:
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, "
                             f"but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, int(batch_size), drop_last

    def __iter__(self):
        it, b = iter(self.sampler), self.batch_size
        while True:
            batch = list(islice(it, b))
            if not batch or (self.drop_last and len(batch) < b):
                return
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
