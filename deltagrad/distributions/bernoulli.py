"""The Bernoulli distribution over {0, 1}."""
from __future__ import annotations

from ..ops.loss import binary_cross_entropy_with_logits
from ..tensor import Size, rand
from . import constraints
from .distribution import (Distribution, broadcast_all, lazy_property, logits_to_probs,
                           probs_to_logits)

__all__ = ["Bernoulli"]


def _one_of(name, probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: either `probs` or `logits` must be specified, but not both")


class Bernoulli(Distribution):
    """P(x = 1) = p = σ(logits): log p(x) = x log p + (1 − x) log(1 − p), computed as
    −BCE-with-logits (stable for large |logits|); H = BCE(logits, p)."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        _one_of("Bernoulli", probs, logits)
        if probs is not None:
            self.probs, = broadcast_all(probs)
            shape = self.probs.shape
        else:
            self.logits, = broadcast_all(logits)
            shape = self.logits.shape
        super().__init__(shape, Size(), validate_args)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=True)

    @property
    def param_shape(self):
        return (self.probs if "probs" in self.__dict__ else self.logits).shape

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        m = (self.probs >= 0.5).to(self.probs.dtype)
        return m.masked_fill(self.probs == 0.5, float("nan"))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        p = self.probs.detach()
        u = rand(*shape, dtype=p.dtype, device=p.device)
        return (u < p.expand(shape)).to(p.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        from ..tensor import arange
        values = arange(2, dtype=self.probs.dtype if "probs" in self.__dict__
                        else self.logits.dtype)
        values = values.reshape((-1,) + (1,) * len(self._batch_shape))
        return values.expand((2,) + tuple(self._batch_shape)) if expand else values


