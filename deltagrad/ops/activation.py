"""Activation functions that are more than one pointwise op: softmax, log-softmax, softplus.

softmax(x)_i = e^(x_i − m) / Σ_j e^(x_j − m) with m = max_j x_j (log-sum-exp trick), so
logits of magnitude 1e4 in float32 stay finite. Jacobian: ∂s_i/∂x_j = s_i(δ_ij − s_j).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import _norm_dim
from .elementwise import _xp, cast
from .. import backend

__all__ = ["softmax", "log_softmax", "softplus"]


class Softmax(Function):
    def forward(ctx, x, dim):
        xp = _xp(x)
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        ctx.dim = dim
        ctx.save_for_backward(e)
        return e

    def backward(ctx, g):
        s, = ctx.saved_tensors
        # vector-Jacobian product with s_i(δ_ij − s_j): s ⊙ (g − Σ_j g_j s_j)
        return s * (g - (g * s).sum(ctx.dim, keepdim=True))


class LogSoftmax(Function):
    def forward(ctx, x, dim):
        xp = _xp(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        ctx.dim = dim
        ctx.save_for_backward(out)
        return out

    def backward(ctx, g):
        out, = ctx.saved_tensors
        return g - out.exp() * g.sum(ctx.dim, keepdim=True)


def _prepare(x, dim, dtype, op):
    if dtype is not None:
        x = cast(x, dtype)
    elif x.dtype.kind != "f":
        x = cast(x, backend.get_default_dtype())
    if dim is None:  # PyTorch's legacy implicit dim
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return x, (_norm_dim(dim, x.ndim, op) if x.ndim else None)


def softmax(input, dim=None, dtype=None):
    x, d = _prepare(input, dim, dtype, "softmax")
    return Softmax.apply(x, dim=d)


def log_softmax(input, dim=None, dtype=None):
    x, d = _prepare(input, dim, dtype, "log_softmax")
    return LogSoftmax.apply(x, dim=d)


class Softplus(Function):
    """(1/β) log(1 + e^(βx)), linear above ``threshold``; ∂/∂x = σ(βx)."""

    def forward(ctx, x, beta, threshold):
        xp = _xp(x)
        bx = x * beta
        out = (xp.logaddexp(bx, 0) / beta).astype(x.dtype)
        out = xp.where(bx > threshold, x, out)
        ctx.beta, ctx.threshold = beta, threshold
        ctx.save_for_backward(x)
        return out

    def backward(ctx, g):
        x, = ctx.saved_tensors
        from .elementwise import where
        bx = x * ctx.beta
        return where(bx > ctx.threshold, g, g * bx.sigmoid())


def softplus(input, beta=1.0, threshold=20.0):
    return Softplus.apply(input, beta=beta, threshold=threshold)
