"""Sub-pixel rearrangement (Shi et al. 2016): ``F.pixel_shuffle`` and ``F.pixel_unshuffle``.

pixel_shuffle moves r² channels into an r×r block of pixels,
(*, C·r², H, W) → (*, C, H·r, W·r) with out[c, h·r + i, w·r + j] = in[c·r² + i·r + j, h, w];
pixel_unshuffle is its inverse. Both are one reshape, one permute and one reshape, so the
gradient is the inverse rearrangement.
"""
from __future__ import annotations

import builtins

import numpy as np

from ..tensor import Tensor

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def check_factor(factor, op, name):
    if not isinstance(factor, (builtins.int, np.integer)) or isinstance(factor, builtins.bool):
        raise TypeError(f"{op}(): argument '{name}' must be an int, got {type(factor).__name__}")
    if factor <= 0:
        raise RuntimeError(f"{op}(): {name} must be greater than 0, but got {factor}")
    return builtins.int(factor)


def _check(input, factor, op, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, got {type(input).__name__}")
    factor = check_factor(factor, op, name)
    if input.ndim < 3:
        raise RuntimeError(f"{op}(): expected an input of at least 3 dimensions (*, C, H, W), "
                           f"got shape {tuple(input.shape)}")
    return factor


def pixel_shuffle(input, upscale_factor):
    """(*, C·r², H, W) → (*, C, H·r, W·r)."""
    r = _check(input, upscale_factor, "pixel_shuffle", "upscale_factor")
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle(): the channel dimension of the input must be "
                           f"divisible by upscale_factor² = {r * r}, but input.size(-3)={c}")
    n = len(lead)
    x = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    x = x.permute(tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2))
    return _new(x.reshape(tuple(lead) + (c // (r * r), h * r, w * r)))


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H·r, W·r) → (*, C·r², H, W)."""
    r = _check(input, downscale_factor, "pixel_unshuffle", "downscale_factor")
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle(): the height ({h}) and width ({w}) of the input "
                           f"must be divisible by downscale_factor={r}")
    n = len(lead)
    x = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    x = x.permute(tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3))
    return _new(x.reshape(tuple(lead) + (c * r * r, h // r, w // r)))


def _new(out):
    """A new tensor as in PyTorch: when the reshapes could all be views (r = 1, size-1 sides)
    the result would alias the input, and a write into it would change the input."""
    return out.clone() if out._is_view() else out
