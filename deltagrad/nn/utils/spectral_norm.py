"""Spectral normalisation (Miyato et al. 2018), PyTorch's first API:
``nn.utils.spectral_norm(module, name='weight', n_power_iterations=1, eps=1e-12, dim=None)``.

The weight, seen as a matrix W (``dim`` first, the rest flattened), is divided by its largest
singular value σ(W), estimated by power iteration from the kept vectors u, v:

    v ← W^T u / ‖W^T u‖,   u ← W v / ‖W v‖,   σ ≈ uᵀ W v,   W_SN = W / σ.

Training runs ``n_power_iterations`` steps per forward (u, v are buffers ``weight_u``,
``weight_v``, updated in place); evaluation uses them as they are. The trainable parameter is
``weight_orig``; gradients flow through σ too (u, v are constants).
"""
from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...ops.distance import normalize

__all__ = ["spectral_norm", "remove_spectral_norm", "weight_matrix"]


def weight_matrix(weight, dim):
    """The weight as a matrix with ``dim`` as rows and everything else flattened."""
    if dim != 0:
        weight = weight.permute(dim, *(d for d in range(weight.ndim) if d != dim))
    return weight.reshape(weight.shape[0], -1)


class SpectralNorm:
    """The forward pre-hook that sets ``module.<name>`` = ``<name>_orig`` / σ."""

    def __init__(self, name, n_power_iterations, dim, eps):
        if n_power_iterations <= 0:
            raise ValueError(f"Expected n_power_iterations to be positive, but got "
                             f"n_power_iterations={n_power_iterations}")
        self.name, self.n_power_iterations, self.dim, self.eps = (name, n_power_iterations,
                                                                  dim, eps)

    def compute_weight(self, module, do_power_iteration):
        weight = getattr(module, self.name + "_orig")
        u, v = getattr(module, self.name + "_u"), getattr(module, self.name + "_v")
        w = weight_matrix(weight, self.dim)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    v.copy_(normalize(w.t().mv(u), dim=0, eps=self.eps))
                    u.copy_(normalize(w.mv(v), dim=0, eps=self.eps))
            u, v = u.clone(), v.clone()
        sigma = u.dot(w.mv(v))
        return weight / sigma

    def __call__(self, module, inputs):
        setattr(module, self.name, self.compute_weight(module, module.training))


def spectral_norm(module, name="weight", n_power_iterations=1, eps=1e-12, dim=None):
    """Divide ``module.<name>`` by its spectral norm before every forward."""
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, SpectralNorm) and hook.name == name:
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter "
                               f"{name}")
    weight = module._parameters.get(name)
    if weight is None:
        raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
    if dim is None:
        from ..conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    fn = SpectralNorm(name, n_power_iterations, dim, eps)
    with no_grad():
        h, w = weight_matrix(weight, dim).shape
        u = normalize(weight.new_empty(h).normal_(0, 1), dim=0, eps=eps)
        v = normalize(weight.new_empty(w).normal_(0, 1), dim=0, eps=eps)
    del module._parameters[name]
    module.register_parameter(name + "_orig", weight)
    setattr(module, name, weight.detach())
    module.register_buffer(name + "_u", u)
    module.register_buffer(name + "_v", v)
    module.register_forward_pre_hook(fn)
    return module


def remove_spectral_norm(module, name="weight"):
    """Put back ``module.<name>`` as one parameter holding W / σ (no more power iteration)."""
    from .weight_norm import remove_reparametrization
    return remove_reparametrization(module, SpectralNorm, name, "spectral_norm",
                                    parameters=("_orig",), buffers=("_u", "_v"),
                                    do_power_iteration=False)
