"""Where a parameter or a value may lie (``torch.distributions.constraints``): each constraint's
``check(value)`` is a bool tensor over the batch (event dimensions already reduced)."""
from __future__ import annotations

__all__ = ["Constraint", "real", "real_vector", "positive", "unit_interval", "boolean", "simplex",
           "integer_interval", "interval", "half_open_interval", "lower_cholesky",
           "positive_definite", "independent", "dependent", "dependent_property",
           "is_dependent"]


class Constraint:
    is_discrete = False
    event_dim = 0

    def check(self, value):
        raise NotImplementedError(f"{type(self).__name__} must implement check")

    def __repr__(self):
        return type(self).__name__.lstrip("_") + "()"


class _Real(Constraint):
    def check(self, value):
        return value == value  # not NaN (±inf allowed, as in PyTorch)


class _GreaterThan(Constraint):
    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return value > self.lower_bound

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _Interval(Constraint):
    def __init__(self, lower_bound, upper_bound, closed_right=True):
        self.lower_bound, self.upper_bound, self.closed_right = lower_bound, upper_bound, \
            closed_right

    def check(self, value):
        upper = value <= self.upper_bound if self.closed_right else value < self.upper_bound
        return (value >= self.lower_bound) & upper

    def __repr__(self):
        name = "Interval" if self.closed_right else "HalfOpenInterval"
        return f"{name}(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _IntegerInterval(Constraint):
    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return ((value % 1) == 0) & (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _Independent(Constraint):
    """``base`` on every element, reduced (all) over the last ``reinterpreted_batch_ndims``."""

    def __init__(self, base, reinterpreted_batch_ndims):
        self.base_constraint = base
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims
        self.is_discrete = base.is_discrete
        self.event_dim = base.event_dim + reinterpreted_batch_ndims

    def check(self, value):
        ok = self.base_constraint.check(value)
        n = self.reinterpreted_batch_ndims
        if ok.ndim < n:
            raise ValueError(f"expected value.dim() >= {n} but got {ok.ndim}")
        return ok.reshape(tuple(ok.shape[:ok.ndim - n]) + (-1,)).all(-1) if n else ok

    def __repr__(self):
        return f"IndependentConstraint({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        lower = (value.tril() == value).reshape(tuple(value.shape[:-2]) + (-1,)).all(-1)
        return lower & (value.diagonal(0, -2, -1) > 0).all(-1)


class _PositiveDefinite(Constraint):
    event_dim = 2

    def check(self, value):
        import numpy as np
        from ..tensor import _make
        a = value.detach().numpy() if value.requires_grad else value.numpy()
        sym = np.isclose(a, np.swapaxes(a, -1, -2), atol=1e-6).all((-2, -1))
        batch = a.reshape((-1,) + a.shape[-2:])
        pd = np.array([_is_pd(m) for m in batch], dtype=bool).reshape(a.shape[:-2])
        return _make(np.asarray(sym & pd))


def _is_pd(m):
    import numpy as np
    try:
        np.linalg.cholesky(m)
        return True
    except np.linalg.LinAlgError:
        return False


class _Dependent(Constraint):
    """A constraint that depends on other parameters (not checked by ``validate_args``)."""

    def check(self, value):
        raise ValueError("cannot determine the validity of a dependent constraint")


class dependent_property(property):
    """A ``support`` computed from the distribution's parameters (``Uniform``)."""


def is_dependent(constraint):
    return isinstance(constraint, _Dependent)


real = _Real()
real_vector = _Independent(real, 1)
positive = _GreaterThan(0.0)
unit_interval = _Interval(0.0, 1.0)
boolean = _Boolean()
simplex = _Simplex()
lower_cholesky = _LowerCholesky()
positive_definite = _PositiveDefinite()
dependent = _Dependent()
integer_interval = _IntegerInterval
interval = _Interval
independent = _Independent


def half_open_interval(lower_bound, upper_bound):
    return _Interval(lower_bound, upper_bound, closed_right=False)
