"""The Poisson distribution over counts k = 0, 1, 2, ..."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..ops.elementwise import where
from ..ops.special import lgamma
from ..tensor import Size, _make
from . import constraints
from .distribution import Distribution, broadcast_all

__all__ = ["Poisson"]


class _NonNegativeInteger(constraints.Constraint):
    is_discrete = True

    def check(self, value):
        return (value >= 0) & ((value % 1) == 0)

    def __repr__(self):
        return "IntegerGreaterThan(lower_bound=0)"


class Poisson(Distribution):
    """P(k) = λᵏ e^{−λ} / k!: log P = k log λ − λ − log Γ(k + 1); mean = variance = λ.
    No reparameterized sample (counts are discrete), as in PyTorch."""
    arg_constraints = {"rate": constraints.interval(0.0, float("inf"))}
    support = _NonNegativeInteger()

    def __init__(self, rate, validate_args=None):
        self.rate, = broadcast_all(rate)
        super().__init__(self.rate.shape, Size(), validate_args)

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        lam = np.broadcast_to(backend.to_numpy(self.rate._data), shape)
        k = backend.rng(None).poisson(lam).astype(self.rate.dtype)
        return _make(backend.to_device(k, self.rate.device))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        # k log λ with 0 · log 0 = 0 (λ = 0 puts all its mass on k = 0): log of a safe λ
        zero = value == 0
        k_log_rate = where(zero, 0.0, value * where(zero, 1.0, rate).log())
        return k_log_rate - rate - lgamma(value + 1)
