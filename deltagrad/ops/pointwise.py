"""Pointwise functions PyTorch names separately: ``atan2`` and the one-sided clamps
``clamp_min``/``clamp_max``.

atan2(y, x) is the angle of the point (x, y) in (−π, π];
∂/∂y = x / (x² + y²), ∂/∂x = −y / (x² + y²).
"""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import _check_broadcast, _xp, binary_operands, clamp

__all__ = ["atan2", "arctan2", "clamp_min", "clamp_max"]


class Atan2(Function):
    def forward(ctx, y, x):
        if ctx._recording:
            ctx.save_for_backward(y, x)
        return _xp(y).arctan2(y, x)

    def backward(ctx, g):
        y, x = ctx.saved_tensors
        r2 = x * x + y * y
        return g * x / r2, g * (-y) / r2


def atan2(input, other):
    """The angle of (other, input): ``torch.atan2(y, x)``; integers give the default float."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"atan2(): arguments must be Tensors, got {type(input).__name__} and "
                        f"{type(other).__name__}")
    y, x = binary_operands(input, other, "atan2")
    _check_broadcast("atan2", y, x)
    if y.dtype.kind not in "fV":
        from ..backend import get_default_dtype
        y, x = y.to(get_default_dtype()), x.to(get_default_dtype())
    return Atan2.apply(y, x)


arctan2 = atan2


def clamp_min(input, min):
    """max(x, min) with the gradient passing where x ≥ min (``torch.clamp_min``)."""
    if min is None:
        raise TypeError("clamp_min(): argument 'min' must be a number or a Tensor, got None")
    return clamp(input, min=min)


def clamp_max(input, max):
    """min(x, max) with the gradient passing where x ≤ max (``torch.clamp_max``)."""
    if max is None:
        raise TypeError("clamp_max(): argument 'max' must be a number or a Tensor, got None")
    return clamp(input, max=max)
