"""``nn.utils.parametrizations``: weight normalisation and spectral normalisation as
parametrizations (the newer API; the tensors live under ``module.parametrizations.weight``).

    weight_norm:   w = g · v / ‖v‖         (originals g = ``original0``, v = ``original1``)
    spectral_norm: W_SN = W / σ(W), σ ≈ uᵀ W v by power iteration (u, v are buffers ``_u``,
                   ``_v`` of the parametrization; 15 iterations at registration, then
                   ``n_power_iterations`` per read in training mode)
"""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...ops.distance import normalize
from ..module import Module
from . import parametrize
from .spectral_norm import weight_matrix
from .weight_norm import norm_except_dim, weight_from_norm

__all__ = ["weight_norm", "spectral_norm"]


class _WeightNorm(Module):
    def __init__(self, dim=0):
        super().__init__()
        self.dim = -1 if dim is None else dim

    def forward(self, weight_g, weight_v):
        return weight_from_norm(weight_g, weight_v, self.dim)

    def right_inverse(self, weight):
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module, name="weight", dim=0):
    """Reparametrize ``module.<name>`` as g · v / ‖v‖ (norm over all dims but ``dim``)."""
    parametrize.register_parametrization(module, name, _WeightNorm(dim), unsafe=True)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight, n_power_iterations=1, dim=0, eps=1e-12):
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [-{ndim}, "
                             f"{ndim - 1}] but got {dim})")
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.dim = dim % ndim
        self.eps = eps
        if ndim > 1:
            self.n_power_iterations = n_power_iterations
            w = weight_matrix(weight, self.dim)
            h, k = w.shape
            with no_grad():
                self.register_buffer("_u", normalize(w.new_empty(h).normal_(0, 1), dim=0,
                                                     eps=eps))
                self.register_buffer("_v", normalize(w.new_empty(k).normal_(0, 1), dim=0,
                                                     eps=eps))
            self._power_method(w, 15)

    def _power_method(self, w, n):
        """u ← W v / ‖W v‖, v ← Wᵀ u / ‖Wᵀ u‖, n times, in place."""
        with no_grad():
            for _ in range(n):
                self._u.copy_(normalize(w.mv(self._v), dim=0, eps=self.eps))
                self._v.copy_(normalize(w.t().mv(self._u), dim=0, eps=self.eps))

    def forward(self, weight):
        if weight.ndim == 1:
            return normalize(weight, dim=0, eps=self.eps)
        w = weight_matrix(weight, self.dim)
        if self.training:
            self._power_method(w, self.n_power_iterations)
        u, v = self._u.clone(), self._v.clone()
        return weight / u.dot(w.mv(v))

    def right_inverse(self, value):
        return value


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Reparametrize ``module.<name>`` as W / σ(W) (``dim`` 1 for transposed convolutions)."""
    weight = getattr(module, name, None)
    if weight is None:
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    if dim is None:
        from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    parametrize.register_parametrization(
        module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
