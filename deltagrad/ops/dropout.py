"""Dropout (inverted) and alpha dropout: multiply by a random mask drawn once in forward.

Inverted dropout (notes 001 §10, 003 "Dropout"): each unit is kept with probability 1 − p
and the kept units are scaled by 1/(1 − p) during training, so nothing changes at test time
(the notes' "multiply the weights by the keep probability at test time", folded into training).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["dropout", "alpha_dropout", "dropout1d", "dropout2d", "dropout3d"]

#: λ·α of SELU: alpha dropout sets a dropped unit to SELU's saturation value −λα
_SELU_SCALED_ALPHA = 1.7580993408473766


class MaskedScale(Function):
    """y = x ⊙ m + c for a constant random mask m (and offset c); ∂L/∂x = δ ⊙ m."""

    def forward(ctx, x, mask, offset):
        ctx.save_for_backward(mask)
        out = x * mask
        if offset is not None:
            out += offset
        return out

    def backward(ctx, g):
        mask, = ctx.saved_tensors
        return g * mask


def _check_p(p, op):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(x: Tensor, p: float, generator=None, shape=None):
    """A float mask of x's shape (or ``shape``, broadcastable to it), dtype and device:
    1 with probability 1 − p, else 0."""
    shape = tuple(x.shape) if shape is None else shape
    draw = backend.rng(generator).random(shape, dtype=np.float32) >= p
    return backend.to_device(draw.astype(x.dtype), x.device)


def _apply(x, mask, offset, inplace, op):
    out = MaskedScale.apply(x, mask=mask, offset=offset)
    return x._assign(out, op) if inplace else out


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator=None) -> Tensor:
    """Inverted dropout: y = x ⊙ m / (1 − p), m_i ~ Bernoulli(1 − p); identity in eval."""
    _check_p(p, "dropout")
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        mask = backend.xp_for(input.device).zeros(tuple(input.shape), input.dtype)
    else:
        mask = _keep_mask(input, p, generator)
        mask *= mask.dtype.type(1.0 / (1.0 - p))
    return _apply(input, mask, None, inplace, "dropout_")


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False,
                  generator=None) -> Tensor:
    """Alpha dropout (Klambauer et al. 2017) for SELU networks: keeps mean 0 and variance 1.

    A dropped unit is set to α′ = −λα, then y = a·x̃ + b with
    a = ((1 − p)(1 + p α′²))^(−1/2) and b = −a α′ p, i.e. y = a m x + a λα (p − 1 + m).
    """
    _check_p(p, "alpha_dropout")
    if not training or p == 0.0 or input.numel() == 0:
        return input
    xp = backend.xp_for(input.device)
    if p == 1.0:
        zero = xp.zeros(tuple(input.shape), input.dtype)
        return _apply(input, zero, None, inplace, "alpha_dropout_")
    keep = _keep_mask(input, p, generator)
    alpha = _SELU_SCALED_ALPHA
    a = 1.0 / math.sqrt((alpha * alpha * p + 1) * (1 - p))
    t = input.dtype.type
    offset = (keep - 1) * t(alpha * a) + t(alpha * a * p)
    keep *= t(a)
    return _apply(input, keep, offset, inplace, "alpha_dropout_")


def _channel_lead(input, nd, op):
    """How many leading dimensions get their own draw, with PyTorch's rules (and warnings) for
    the shapes it still accepts: dropout1d takes (C, L) or (N, C, L) only; dropout2d draws per
    (dim 0, dim 1) of any input of 2+ dimensions, so a 3-D input is (N, C, L) and a 2-D one is
    dropped elementwise; dropout3d treats anything but (N, C, D, H, W) as unbatched."""
    nd_in = input.ndim
    if nd == 1:
        if nd_in not in (2, 3):
            raise RuntimeError(f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                               f"{tuple(input.shape)}")
        return nd_in - 1
    if nd_in not in (nd + 1, nd + 2):
        warnings.warn(f"{op}: received a {nd_in}-D input to {op}, which is deprecated and will "
                      f"result in an error in a future release (as in PyTorch); use dropout for "
                      f"elementwise dropout: {op} expects {nd + 1}-D or {nd + 2}-D input",
                      UserWarning, stacklevel=4)
    if nd == 2:
        if nd_in < 2:
            raise RuntimeError(f"{op}: feature dropout requires at least 2 dimensions in the "
                               f"input, got shape {tuple(input.shape)}")
        if nd_in == 3:
            warnings.warn(f"{op}: received a 3-D input and, as PyTorch, assuming channel-wise 1D "
                          "dropout: the input is read as (N, C, L); use dropout1d to say so",
                          UserWarning, stacklevel=4)
        return 2
    if nd_in == 0:
        raise RuntimeError(f"{op}: feature dropout requires at least 1 dimension, got a 0-d "
                           "input")
    return 2 if nd_in == nd + 2 else 1


def _channel_dropout(input, p, training, inplace, nd, generator=None):
    """Zero whole channels: one Bernoulli(1 − p) draw per (sample, channel), survivors scaled
    by 1/(1 − p) (Tompson et al. 2015; neighbouring pixels are too correlated for per-element
    dropout to regularise a convolutional feature map)."""
    op = f"dropout{nd}d"
    _check_p(p, op)
    lead = _channel_lead(input, nd, op)
    if not training or p == 0.0 or input.numel() == 0:
        return input
    shape = tuple(input.shape[:lead]) + (1,) * (input.ndim - lead)
    if p == 1.0:
        mask = backend.xp_for(input.device).zeros(shape, input.dtype)
    else:
        mask = _keep_mask(input, p, generator, shape)
        mask *= mask.dtype.type(1.0 / (1.0 - p))
    return _apply(input, mask, None, inplace, op + "_")


def dropout1d(input, p=0.5, training=True, inplace=False, generator=None):
    return _channel_dropout(input, p, training, inplace, 1, generator)


def dropout2d(input, p=0.5, training=True, inplace=False, generator=None):
    return _channel_dropout(input, p, training, inplace, 2, generator)


def dropout3d(input, p=0.5, training=True, inplace=False, generator=None):
    return _channel_dropout(input, p, training, inplace, 3, generator)
