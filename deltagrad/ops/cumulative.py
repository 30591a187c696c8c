"""The running product ``cumprod``: yᵢ = Π_{j≤i} xⱼ along one dimension.

∂L/∂xₖ = Σ_{i≥k} gᵢ · Π_{j≤i, j≠k} xⱼ. Without zeros this is (reverse cumsum of g·y)ₖ / xₖ;
with a zero in a slice the division fails, so there the products that leave xₖ out are formed
directly (xₖ replaced by 1, then a cumulative product): O(n²) per slice, only where needed.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..tensor import _make, _norm_dim
from .elementwise import _xp, cast

__all__ = ["cumprod"]


def _reverse_cumsum(a, axis, xp):
    return xp.flip(xp.cumsum(xp.flip(a, axis=axis), axis=axis), axis=axis)


def _grad_with_zeros(x, g, xp):
    """Σ_{i≥k} gᵢ Π_{j≤i, j≠k} xⱼ for x, g whose last axis is the scanned one."""
    n = x.shape[-1]
    eye = xp.eye(n, dtype=bool)
    others = xp.where(eye, xp.ones((), x.dtype), x[..., None, :])       # [..., k, j]
    products = xp.cumprod(others, axis=-1)                               # [..., k, i]
    upper = xp.triu(xp.ones((n, n), dtype=x.dtype))                      # i ≥ k
    return (products * upper * g[..., None, :]).sum(axis=-1)


class Cumprod(Function):
    def forward(ctx, x, dim):
        ctx.dim = dim
        out = _xp(x).cumprod(x, axis=dim)
        if ctx._recording:
            ctx.save_for_backward(x, out)
        return out

    def backward(ctx, g):
        x, out = ctx.saved_tensors
        xd, gd = x._data, g._data
        xp = _xp(xd)
        if not (xd == 0).any():
            return _make(_reverse_cumsum(gd * out._data, ctx.dim, xp) / xd)
        moved_x, moved_g = xp.moveaxis(xd, ctx.dim, -1), xp.moveaxis(gd, ctx.dim, -1)
        return _make(xp.moveaxis(_grad_with_zeros(moved_x, moved_g, xp), -1, ctx.dim))


def cumprod(input, dim, *, dtype=None):
    """yᵢ = Π_{j≤i} xⱼ along ``dim`` (``torch.cumprod``; integers accumulate in int64)."""
    from ..tensor import Tensor
    if not isinstance(input, Tensor):
        raise TypeError(f"cumprod(): argument 'input' must be a Tensor, got "
                        f"{type(input).__name__}")
    x = input
    if dtype is not None:
        x = cast(x, dtype)
    elif x.dtype.kind in "biu":
        x = cast(x, backend.int64)
    if x.ndim == 0:
        return x.clone()
    d = _norm_dim(dim, x.ndim, "cumprod")
    if x.dtype.kind not in "fV":
        return _make(np.cumprod(x._data, axis=d) if _xp(x._data) is np
                     else _xp(x._data).cumprod(x._data, axis=d))
    return Cumprod.apply(x, dim=d)
