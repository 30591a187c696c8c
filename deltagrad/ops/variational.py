"""The Gaussian parts of a VAE's negative ELBO as single nodes (Kingma & Welling 2014;
SYLLABUS §13): the reparameterized draw and the analytic KL to the prior N(0, I).

With σ = e^(½ ln σ²):

    z = μ + σ ⊙ ε                    ∂z/∂μ = 1,  ∂z/∂ln σ² = ½ σ ε,  ∂z/∂ε = σ
    KL = −½ Σ_j (1 + ln σ_j² − μ_j² − σ_j²)    ∂KL/∂μ_j = μ_j,  ∂KL/∂ln σ_j² = ½(σ_j² − 1)

Composed from elementwise ops these are 4 and 7 nodes, each a pass over the (N, M) arrays
and a node for the engine to walk; here each is one pass forward and one backward. A
backward that records a graph (``create_graph=True``) uses the same formulas on Tensors.
"""
from __future__ import annotations

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor, _make
from .elementwise import _xp, quiet_fp
from .reduce import sum_array

__all__ = ["reparameterize", "kl_to_standard_normal"]


class Reparameterize(Function):
    """z = μ + e^(½ ln σ²) ε; σ is kept for the backward."""

    def forward(ctx, mu, logvar, eps):
        xp = _xp(mu)
        with quiet_fp():
            sigma = xp.exp(logvar * 0.5)
        ctx.save_for_backward(logvar, eps, sigma)
        z = sigma * eps
        z += mu
        return z

    def backward(ctx, g):
        logvar, eps, sigma = ctx.saved_tensors
        need = ctx.needs_input_grad
        if is_grad_enabled():  # recording: σ again as a function of ln σ²
            sigma = (logvar * 0.5).exp()
            return (g if need[0] else None, g * eps * sigma * 0.5 if need[1] else None,
                    g * sigma if need[2] else None)
        ga, s = g._data, sigma._data
        gs = ga * s if need[1] or need[2] else None
        glv = None
        if need[1]:
            glv = gs * eps._data
            glv *= 0.5
        return (g if need[0] else None, None if glv is None else _make(glv),
                _make(gs) if need[2] else None)


def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """z = μ + σ ⊙ ε with σ = e^(½ ln σ²), one node (μ, ln σ² and ε of one shape)."""
    _same_shape("reparameterize", mu, logvar, eps)
    return Reparameterize.apply(mu, logvar, eps)


class KLToStandardNormal(Function):
    """KL(N(μ, σ²) ‖ N(0, I)) summed over the last dimension; σ² is kept for the backward."""

    def forward(ctx, mu, logvar):
        xp = _xp(mu)
        with quiet_fp():
            var = xp.exp(logvar)
        terms = logvar + 1
        terms -= mu * mu
        terms -= var
        out = xp.asarray(sum_array(terms, (terms.ndim - 1,)))  # (1-d: a NumPy scalar)
        out *= -0.5
        ctx.save_for_backward(mu, logvar, var)
        return out

    def backward(ctx, g):
        mu, logvar, var = ctx.saved_tensors
        need = ctx.needs_input_grad
        if is_grad_enabled():  # recording: σ² again as a function of ln σ²
            g = g.unsqueeze(-1)
            return (g * mu if need[0] else None,
                    g * ((logvar.exp() - 1.0) * 0.5) if need[1] else None)
        ga = g._data[..., None]
        gmu = _make(ga * mu._data) if need[0] else None
        glv = None
        if need[1]:
            glv = var._data - 1
            glv *= 0.5
            glv *= ga
            glv = _make(glv)
        return gmu, glv


def kl_to_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """−½ Σ_j (1 + ln σ_j² − μ_j² − σ_j²) over the last dimension, one node: the analytic KL
    of q = N(μ, diag σ²) from the prior N(0, I), one value per row."""
    _same_shape("kl_to_standard_normal", mu, logvar)
    if mu.ndim == 0:
        raise ValueError("kl_to_standard_normal: mu and logvar need a latent dimension, got "
                         "0-d tensors")
    return KLToStandardNormal.apply(mu, logvar)


def _same_shape(op, *tensors):
    names = ("mu", "logvar", "eps")
    for name, t in zip(names, tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
        if t.dtype.kind not in "fV":
            raise TypeError(f"{op}: {name} must be a floating point tensor, got {t.dtype}")
    shape, dtype = tuple(tensors[0].shape), tensors[0].dtype
    for name, t in zip(names[1:], tensors[1:]):
        if tuple(t.shape) != shape or t.dtype != dtype:
            raise ValueError(f"{op}: {name} must have mu's shape {shape} and dtype {dtype}, got "
                             f"{tuple(t.shape)} and {t.dtype}")
