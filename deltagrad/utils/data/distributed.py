"""``DistributedSampler``: each rank reads its own 1/R of the dataset per epoch.

The indices (a permutation seeded by ``seed + epoch`` when shuffling) are padded by repeating
the first ones so every rank gets ⌈n/R⌉ (or cut to ⌊n/R⌋ with ``drop_last``); rank r takes
positions r, r + R, r + 2R, ... Call ``set_epoch(epoch)`` before each epoch: without it every
epoch repeats the same order (a known PyTorch pitfall), which this sampler warns about.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .sampler import Sampler


class DistributedSampler(Sampler):
    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        if num_replicas is None or rank is None:
            from ...distributed import process_group as pg
            g = pg._group("DistributedSampler")
            num_replicas = g.size if num_replicas is None else num_replicas
            rank = g.rank if rank is None else rank
        if not isinstance(num_replicas, numbers.Integral) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got "
                             f"{num_replicas!r}")
        if not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.epoch = 0
        n = len(dataset)
        if drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self._last_epoch_iterated = None

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            if self._last_epoch_iterated == self.epoch:
                warnings.warn("DistributedSampler: this epoch repeats the previous epoch's order "
                              f"(epoch {self.epoch}); call sampler.set_epoch(epoch) at the start "
                              "of every epoch", UserWarning, stacklevel=2)
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            indices = np.arange(n)
        self._last_epoch_iterated = self.epoch
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0:
                reps = math.ceil(pad / max(n, 1))
                indices = np.concatenate([indices] + [indices] * reps)[:self.total_size]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas].tolist())

    def __len__(self):
        return self.num_samples

    def set_epoch(self, epoch):
        self.epoch = int(epoch)
