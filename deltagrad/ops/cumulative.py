"""The running product ``cumprod``: yᵢ = Π_{j≤i} xⱼ along one dimension.

∂L/∂xₖ = Σ_{i≥k} gᵢ · Π_{j≤i, j≠k} xⱼ. Without zeros this is (reverse cumsum of g·y)ₖ / xₖ;
with a zero in a slice the division fails, so there the products that leave xₖ out are formed
directly (xₖ replaced by 1, then a cumulative product): O(n²) per slice, only where needed.
"""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import _make, _norm_dim
from .elementwise import _xp, quiet_fp, where

__all__ = ["cumprod"]


def _reverse_cumsum(t, dim):
    """out_k = Σ_{i≥k} t_i along ``dim``."""
    return t.flip(dim).cumsum(dim).flip(dim)


def _grad_with_zeros(x, g):
    """Σ_{i≥k} gᵢ Π_{j≤i, j≠k} xⱼ for x, g whose last axis is the scanned one."""
    n = x.shape[-1]
    xp = _xp(x._data)
    eye = _make(xp.eye(n, dtype=bool))
    others = where(eye, _make(xp.ones((), x.dtype)), x.unsqueeze(-2))     # [..., k, j]
    products = cumprod(others, -1)                                        # [..., k, i]
    upper = _make(xp.triu(xp.ones((n, n), dtype=x.dtype)))                # i ≥ k
    return (products * upper * g.unsqueeze(-2)).sum(-1)


class Cumprod(Function):
    """Built from differentiable ops in backward, so second derivatives come too."""

    def forward(ctx, x, dim):
        ctx.dim = dim
        with quiet_fp():                      # inf · 0 = NaN silently, as in PyTorch
            out = _xp(x).cumprod(x, axis=dim)
        if ctx._recording:
            ctx.has_zero = bool((x == 0).any())
            ctx.save_for_backward(x, None if ctx.has_zero else out)
        return out

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        d = ctx.dim
        if not ctx.has_zero:
            return _reverse_cumsum(g * out, d) / x
        moved = _grad_with_zeros(x.movedim(d, -1), g.movedim(d, -1))
        return moved.movedim(-1, d)


def cumprod(input, dim, *, dtype=None):
    """yᵢ = Π_{j≤i} xⱼ along ``dim`` (``torch.cumprod``; integers accumulate in int64)."""
    from ..tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"cumprod(): argument 'input' must be a Tensor, got "
                        f"{type(input).__name__}")
    from .reduce import accumulation_dtype
    x = accumulation_dtype(input, dtype)
    if x.ndim == 0:
        return x.clone()
    d = _norm_dim(dim, x.ndim, "cumprod")
    if x.dtype.kind not in "fV":
        return _make(np.cumprod(x._data, axis=d) if _xp(x._data) is np
                     else _xp(x._data).cumprod(x._data, axis=d))
    return Cumprod.apply(x, dim=d)
