"""The normal distribution N(μ, σ²)."""
from __future__ import annotations

import math

from ..ops.elementwise import erf
from ..ops.special import erfinv
from ..tensor import Size, randn
from .distribution import LocationScale

__all__ = ["Normal"]


class Normal(LocationScale):
    """N(loc, scale²) elementwise: log p(x) = −(x − μ)²/(2σ²) − log σ − ½ log 2π;
    rsample x = μ + σ ε with ε ~ N(0, 1) (the notes' reparameterisation trick z = μ_x + σ_x·ε:
    differentiable in μ and σ)."""

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.scale ** 2

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - \
            math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def icdf(self, value):
        """μ + σ √2 erf⁻¹(2p − 1), the quantile function."""
        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        """½ + ½ log 2π + log σ."""
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()
