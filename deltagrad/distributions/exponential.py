"""The exponential distribution with rate λ, and the Laplace distribution (two-sided)."""
from __future__ import annotations

import math

from ..tensor import Size, rand
from . import constraints
from .distribution import Distribution, LocationScale, broadcast_all

__all__ = ["Exponential", "Laplace"]


def _open_uniform(shape, like):
    """u ~ U(0, 1) strictly inside (the inverse CDFs take log u and log(1 − u))."""
    import numpy as np
    tiny = float(np.finfo(like.dtype).tiny)
    return rand(*shape, dtype=like.dtype, device=like.device).clamp(min=tiny, max=1 - 1e-7)


class Exponential(Distribution):
    """p(x) = λ e^{−λx} on x ≥ 0: log p = log λ − λx, H = 1 − log λ, mean 1/λ, variance 1/λ²;
    rsample x = −log(u)/λ with u ~ U(0, 1)."""
    arg_constraints = {"rate": constraints.positive}
    support = constraints.interval(0.0, float("inf"))
    has_rsample = True

    def __init__(self, rate, validate_args=None):
        self.rate, = broadcast_all(rate)
        super().__init__(self.rate.shape, Size(), validate_args)

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return self.rate * 0

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate ** -2

    def rsample(self, sample_shape=Size()):
        u = _open_uniform(self._extended_shape(sample_shape), self.rate)
        return -u.log() / self.rate

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-value).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()


class Laplace(LocationScale):
    """p(x) = exp(−|x − μ|/b) / (2b): log p = −log 2b − |x − μ|/b, H = 1 + log 2b, variance 2b²;
    rsample by the inverse CDF x = μ − b sign(v) log(1 − |v|), v ~ U(−1, 1)."""

    @property
    def stddev(self):
        return self.scale * math.sqrt(2)

    @property
    def variance(self):
        return 2 * self.scale ** 2

    def rsample(self, sample_shape=Size()):
        v = _open_uniform(self._extended_shape(sample_shape), self.loc) * 2 - 1
        return self.loc - self.scale * v.sign() * (-v.abs()).log1p()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = value - self.loc
        return 0.5 - 0.5 * z.sign() * (-(z.abs()) / self.scale).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()
