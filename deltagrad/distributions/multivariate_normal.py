"""The multivariate normal distribution N(μ, Σ) with a full covariance, through its Cholesky
factor Σ = L Lᵀ."""
from __future__ import annotations

import math

import numpy as np

from ..ops.linalg import cholesky, diagonal, matmul, solve_triangular
from ..tensor import Size, Tensor, eye, randn
from . import constraints
from .distribution import Distribution, lazy_property

__all__ = ["MultivariateNormal"]


def batch_mahalanobis(L, x):
    """‖L⁻¹ x‖² over the last dimension: (x − μ)ᵀ Σ⁻¹ (x − μ) for Σ = L Lᵀ (batches broadcast)."""
    batch = np.broadcast_shapes(tuple(L.shape[:-2]), tuple(x.shape[:-1]))
    n = x.shape[-1]
    z = solve_triangular(L.expand(batch + (n, n)), x.expand(batch + (n,)).unsqueeze(-1),
                         upper=False)
    return (z.squeeze(-1) ** 2).sum(-1)


class MultivariateNormal(Distribution):
    """N(loc, Σ) with Σ given as ``covariance_matrix``, ``precision_matrix`` (Σ⁻¹) or
    ``scale_tril`` (L, lower triangular with a positive diagonal, Σ = L Lᵀ):
    log p(x) = −½ (d log 2π + ‖L⁻¹(x − μ)‖²) − Σᵢ log Lᵢᵢ;
    rsample x = μ + L ε with ε ~ N(0, I) (the notes' VAE reparameterisation z = u(x) + A(x) ε
    with Σ = A Aᵀ, here A = L; differentiable in μ and L, hence in Σ);
    H = ½ d (1 + log 2π) + Σᵢ log Lᵢᵢ."""
    arg_constraints = {"loc": constraints.real_vector,
                       "covariance_matrix": constraints.positive_definite,
                       "precision_matrix": constraints.positive_definite,
                       "scale_tril": constraints.lower_cholesky}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        if not isinstance(loc, Tensor) or loc.ndim < 1:
            raise ValueError("MultivariateNormal: loc must be at least one-dimensional.")
        given = [(n, m) for n, m in (("covariance_matrix", covariance_matrix),
                                     ("precision_matrix", precision_matrix),
                                     ("scale_tril", scale_tril)) if m is not None]
        if len(given) != 1:
            raise ValueError("MultivariateNormal: exactly one of covariance_matrix or "
                             "precision_matrix or scale_tril may be specified.")
        name, m = given[0]
        if not isinstance(m, Tensor) or m.ndim < 2:
            raise ValueError(f"MultivariateNormal: {name} matrix must be at least "
                             "two-dimensional, with optional leading batch dimensions")
        d = loc.shape[-1]
        if tuple(m.shape[-2:]) != (d, d):
            raise ValueError(f"MultivariateNormal: {name} of shape {tuple(m.shape)} does not "
                             f"match loc of shape {tuple(loc.shape)} (expected (..., {d}, {d}))")
        try:
            batch = np.broadcast_shapes(tuple(m.shape[:-2]), tuple(loc.shape[:-1]))
        except ValueError:
            raise ValueError(f"MultivariateNormal: the batch shapes of loc {tuple(loc.shape)} "
                             f"and {name} {tuple(m.shape)} do not broadcast") from None
        setattr(self, name, m.expand(batch + (d, d)))
        self.loc = loc.expand(batch + (d,))
        super().__init__(Size(batch), Size((d,)), validate_args)
        if name == "scale_tril":
            self._unbroadcasted_scale_tril = m
        elif name == "covariance_matrix":
            self._unbroadcasted_scale_tril = cholesky(m)
        else:  # Σ = P⁻¹: with P = Lp Lpᵀ, Σ = Lp⁻ᵀ Lp⁻¹
            lp_inv = solve_triangular(cholesky(m), eye(d, dtype=m.dtype, device=m.device),
                                      upper=False)
            self._unbroadcasted_scale_tril = cholesky(matmul(lp_inv.mT, lp_inv))

    @lazy_property
    def scale_tril(self):
        L = self._unbroadcasted_scale_tril
        return L.expand(tuple(self._batch_shape) + tuple(L.shape[-2:]))

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return matmul(L, L.mT).expand(tuple(self._batch_shape) + tuple(L.shape[-2:]))

    @lazy_property
    def precision_matrix(self):
        L = self._unbroadcasted_scale_tril
        d = L.shape[-1]
        l_inv = solve_triangular(L, eye(d, dtype=L.dtype, device=L.device), upper=False)
        return matmul(l_inv.mT, l_inv).expand(tuple(self._batch_shape) + (d, d))

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        L = self._unbroadcasted_scale_tril
        return (L ** 2).sum(-1).expand(tuple(self._batch_shape) + tuple(self._event_shape))

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + matmul(self._unbroadcasted_scale_tril, eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return diagonal(self._unbroadcasted_scale_tril, 0, -2, -1).log().sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        d = self._event_shape[0]
        m = batch_mahalanobis(self._unbroadcasted_scale_tril, value - self.loc)
        return -0.5 * (d * math.log(2 * math.pi) + m) - self._half_log_det()

    def entropy(self):
        d = self._event_shape[0]
        h = 0.5 * d * (1.0 + math.log(2 * math.pi)) + self._half_log_det()
        return h.expand(tuple(self._batch_shape)) if self._batch_shape else h
