"""The base of every distribution (``torch.distributions.Distribution``): shapes, argument and
sample validation, and the shared helpers (broadcasting parameters, probabilities ↔ logits).

A distribution has a ``batch_shape`` (independent, differently parameterised copies) and an
``event_shape`` (the shape of one draw); ``sample(sample_shape)`` has shape
sample_shape + batch_shape + event_shape and ``log_prob(value)`` has the batch shape.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..tensor import Size, Tensor, tensor
from . import constraints

__all__ = ["Distribution", "LocationScale", "broadcast_all", "logits_to_probs", "probs_to_logits",
           "lazy_property", "sum_rightmost"]


class lazy_property:
    """Computed on first access and then stored on the instance (``probs`` from ``logits``)."""

    def __init__(self, fn):
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __get__(self, obj, cls=None):
        if obj is None:
            return self
        value = self.fn(obj)
        obj.__dict__[self.fn.__name__] = value
        return value


def broadcast_all(*values):
    """The parameters as Tensors of one shape: numbers take the dtype of the tensors given
    (the default dtype when there are none), then all broadcast (``broadcast_tensors``)."""
    dtype = next((v.dtype for v in values if isinstance(v, Tensor)), None)
    device = next((v.device for v in values if isinstance(v, Tensor)), None)
    ts = []
    for v in values:
        if isinstance(v, Tensor):
            ts.append(v)
        elif isinstance(v, numbers.Number):
            ts.append(tensor(float(v), dtype=dtype or backend.get_default_dtype(), device=device))
        else:
            raise ValueError(f"input arguments must all be instances of numbers.Number or "
                             f"Tensor, got {type(v).__name__}")
    try:
        shape = np.broadcast_shapes(*(tuple(t.shape) for t in ts))
    except ValueError:
        raise ValueError(f"the parameters' shapes {[tuple(t.shape) for t in ts]} do not "
                         "broadcast") from None
    return tuple(t if tuple(t.shape) == shape else t.expand(shape) for t in ts)


def _eps(dtype):
    return float(np.finfo(dtype).eps)


def clamp_probs(probs):
    e = _eps(probs.dtype)
    return probs.clamp(min=e, max=1 - e)


def probs_to_logits(probs, is_binary=False):
    """log p (categorical) or log p − log(1 − p) (binary), with p kept off 0 and 1."""
    p = clamp_probs(probs)
    return (p.log() - (-p).log1p()) if is_binary else p.log()


def logits_to_probs(logits, is_binary=False):
    """σ(logits) (binary) or softmax over the last dimension (categorical)."""
    return logits.sigmoid() if is_binary else logits.softmax(-1)


def sum_rightmost(value, dim):
    """Σ over the last ``dim`` dimensions."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.ndim - dim]) + (-1,)).sum(-1)


class Distribution:
    has_rsample = False
    has_enumerate_support = False
    _validate_args = True  # PyTorch validates by default (``__debug__``)
    arg_constraints: dict = {}
    support = None

    @staticmethod
    def set_default_validate_args(value):
        if value not in (True, False):
            raise ValueError(f"set_default_validate_args: expected True or False, got {value!r}")
        Distribution._validate_args = value

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            for param, constraint in self.arg_constraints.items():
                if constraints.is_dependent(constraint):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None),
                                                             lazy_property):
                    continue  # e.g. probs computed from the logits given
                value = getattr(self, param)
                if not bool(constraint.check(value).all()):
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape "
                        f"{tuple(value.shape)}) of distribution {self!r} to satisfy the "
                        f"constraint {constraint!r}, but found invalid values:\n{value}")

    # ------------------------------------------------------------------ shapes
    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def expand(self, batch_shape, _instance=None):
        """The same distribution with its batch broadcast to ``batch_shape`` (the parameters
        are expanded views, not copies; a size can only grow from 1)."""
        batch_shape = Size(batch_shape)
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        nb = len(self._batch_shape)
        for name, value in self.__dict__.items():
            if isinstance(value, Tensor) and tuple(value.shape[:nb]) == tuple(self._batch_shape):
                try:
                    new.__dict__[name] = value.expand(tuple(batch_shape) +
                                                      tuple(value.shape[nb:]))
                except RuntimeError:
                    raise ValueError(f"{type(self).__name__}.expand: batch shape "
                                     f"{tuple(self._batch_shape)} cannot be expanded to "
                                     f"{tuple(batch_shape)}") from None
        new._batch_shape = batch_shape
        return new

    def _extended_shape(self, sample_shape=Size()):
        if not isinstance(sample_shape, (tuple, list)):
            raise TypeError(f"{type(self).__name__}: sample_shape must be a tuple/Size, got "
                            f"{type(sample_shape).__name__}")
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    # ------------------------------------------------------------------ interface
    def sample(self, sample_shape=Size()):
        """A draw of shape sample_shape + batch_shape + event_shape, outside the graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=Size()):
        raise NotImplementedError(f"{type(self).__name__} has no reparameterized sample "
                                  "(rsample); use sample(), or a score-function estimator")

    def sample_n(self, n):
        return self.sample(Size((n,)))

    def log_prob(self, value):
        raise NotImplementedError(f"{type(self).__name__} does not implement log_prob")

    def entropy(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement entropy")

    def perplexity(self):
        return self.entropy().exp()

    @property
    def mean(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mean")

    @property
    def mode(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement mode")

    @property
    def variance(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement variance")

    @property
    def stddev(self):
        return self.variance.sqrt()

    def _validate_sample(self, value):
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        n_event = len(self._event_shape)
        if tuple(value.shape[value.ndim - n_event:]) != tuple(self._event_shape) or \
                value.ndim < n_event:
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{tuple(value.shape)} vs {tuple(self._event_shape)}.")
        expected = tuple(self._batch_shape) + tuple(self._event_shape)
        for i, j in zip(reversed(tuple(value.shape)), reversed(expected)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{tuple(value.shape)} vs {expected}.")
        support = self.support
        if not bool(support.check(value).all()):
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape "
                             f"{tuple(value.shape)}) to be within the support ({support!r}) of "
                             f"the distribution {self!r}, but found invalid values:\n{value}")

    def __repr__(self):
        parts = []
        for name in (k for k in self.arg_constraints if k in self.__dict__):
            v = self.__dict__[name]
            parts.append(f"{name}: {v if v.numel() == 1 else tuple(v.shape)}")
        return f"{type(self).__name__}({', '.join(parts)})"


class LocationScale(Distribution):
    """A family p(x) = f((x − loc)/scale)/scale with real ``loc`` and positive ``scale``
    (Normal, Laplace): the parameters, broadcast together, and mean = mode = loc."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, Size(), validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc
