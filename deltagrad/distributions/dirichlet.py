"""The Dirichlet distribution on the simplex and its two-category case, the Beta distribution."""
from __future__ import annotations

from ..ops.shape import stack
from ..ops.special import digamma, lgamma
from ..tensor import Size, Tensor
from . import constraints
from .distribution import Distribution, broadcast_all
from .gamma import standard_gamma

__all__ = ["Dirichlet", "Beta"]


class Dirichlet(Distribution):
    """p(x) = Γ(α₀) / Πᵢ Γ(αᵢ) · Πᵢ xᵢ^{αᵢ−1} on the simplex, α₀ = Σᵢ αᵢ (the last dimension
    is the event); rsample x = G / ΣG with Gᵢ ~ Γ(αᵢ, 1) (differentiable in α)."""
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if not isinstance(concentration, Tensor) or concentration.ndim < 1:
            raise ValueError("Dirichlet: `concentration` parameter must be at least "
                             "one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:], validate_args)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def variance(self):
        a0 = self.concentration.sum(-1, keepdim=True)
        return self.concentration * (a0 - self.concentration) / (a0 ** 2 * (a0 + 1))

    def rsample(self, sample_shape=Size()):
        shape = tuple(self._extended_shape(sample_shape))
        g = standard_gamma(self.concentration.expand(shape))
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        a = self.concentration
        return ((a - 1) * value.log()).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1)

    def entropy(self):
        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return lgamma(a).sum(-1) - lgamma(a0) - (k - a0) * digamma(a0) - \
            ((a - 1.0) * digamma(a)).sum(-1)


class Beta(Distribution):
    """Beta(a, b) on [0, 1] with a = ``concentration1``, b = ``concentration0``: the first
    coordinate of Dirichlet((a, b)); mean a/(a + b), variance ab/((a + b)²(a + b + 1))."""
    arg_constraints = {"concentration1": constraints.positive,
                       "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = broadcast_all(concentration1, concentration0)
        self._dirichlet = Dirichlet(stack([self.concentration1, self.concentration0], -1),
                                    validate_args=validate_args)
        super().__init__(self._dirichlet.batch_shape, Size(), validate_args)

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return self._dirichlet.concentration.sub(1).select(-1, 0) / \
            (self.concentration1 + self.concentration0 - 2)

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total ** 2 * (total + 1))

    def rsample(self, sample_shape=Size()):
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        heads_tails = stack([value, 1.0 - value], -1)
        return self._dirichlet.log_prob(heads_tails)

    def entropy(self):
        return self._dirichlet.entropy()
