"""Products composed from matmul and broadcasting: ``baddbmm``, ``addbmm``, ``kron``, ``cross``.

    baddbmm:  out_b = β·input_b + α·(A_b B_b)
    addbmm:   out   = β·input   + α·Σ_b A_b B_b
    kron:     (A ⊗ B)[i·p + k, j·q + l] = A[i, j] · B[k, l]   (any number of dimensions)
    cross:    a × b = (a₂b₃ − a₃b₂, a₃b₁ − a₁b₃, a₁b₂ − a₂b₁) along a dimension of size 3
"""
from __future__ import annotations

import numbers

from ..backend import bool_
from ..tensor import Tensor, _norm_dim, ones_like
from .linalg import bmm
from .shape import broadcast_tensors, cat
from .indexing import narrow

__all__ = ["baddbmm", "addbmm", "kron", "cross"]


def _tensor(x, op, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, got {type(x).__name__}")
    return x


def _scaled_sum(op, input, product, beta, alpha):
    """β·input + α·product, input broadcast to the product's shape."""
    for name, v in (("beta", beta), ("alpha", alpha)):
        if not isinstance(v, numbers.Number) or isinstance(v, bool):
            raise TypeError(f"{op}(): {name} must be a number, got {type(v).__name__}")
    try:
        input.expand(*product.shape)
    except RuntimeError:
        raise RuntimeError(f"{op}(): input of shape {tuple(input.shape)} does not broadcast to "
                           f"the product's shape {tuple(product.shape)}") from None
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:      # PyTorch ignores input: NaN and ∞ do not propagate, its gradient is 0
        return scaled + input.masked_fill(ones_like(input, dtype=bool_), 0.0)
    return (input if beta == 1 else input * beta) + scaled


def _batches(op, batch1, batch2):
    _tensor(batch1, op, "batch1")
    _tensor(batch2, op, "batch2")
    if batch1.ndim != 3 or batch2.ndim != 3:
        raise RuntimeError(f"{op}(): batch1 and batch2 must be 3-D, got shapes "
                           f"{tuple(batch1.shape)} and {tuple(batch2.shape)}")
    return bmm(batch1, batch2)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """β·input + α·(batch1 @ batch2), batch by batch (``torch.baddbmm``)."""
    _tensor(input, "baddbmm", "input")
    return _scaled_sum("baddbmm", input, _batches("baddbmm", batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """β·input + α·Σ_b batch1_b @ batch2_b (``torch.addbmm``)."""
    _tensor(input, "addbmm", "input")
    return _scaled_sum("addbmm", input, _batches("addbmm", batch1, batch2).sum(0), beta, alpha)


def kron(input, other):
    """The Kronecker product: every element of ``input`` times a whole block ``other``."""
    _tensor(input, "kron", "input")
    _tensor(other, "kron", "other")
    n = max(input.ndim, other.ndim)
    a = input.reshape(*([1] * (n - input.ndim) + list(input.shape)))
    b = other.reshape(*([1] * (n - other.ndim) + list(other.shape)))
    interleaved_a, interleaved_b = [], []
    for sa, sb in zip(a.shape, b.shape):
        interleaved_a += [sa, 1]
        interleaved_b += [1, sb]
    blocks = a.reshape(*interleaved_a) * b.reshape(*interleaved_b)
    return blocks.reshape(*[sa * sb for sa, sb in zip(a.shape, b.shape)])


def cross(input, other, dim=None):
    """The vector product along ``dim`` (default: the first dimension of size 3, as
    ``torch.cross``; ``torch.linalg.cross`` uses −1)."""
    _tensor(input, "cross", "input")
    _tensor(other, "cross", "other")
    if input.ndim != other.ndim:
        raise RuntimeError(f"cross(): inputs must have the same number of dimensions, got "
                           f"shapes {tuple(input.shape)} and {tuple(other.shape)}")
    a, b = broadcast_tensors(input, other)
    if dim is None:
        sizes3 = [d for d, s in enumerate(a.shape) if s == 3]
        if not sizes3:
            raise RuntimeError(f"cross(): no dimension of size 3 in input of shape "
                               f"{tuple(a.shape)}")
        d = sizes3[0]
    else:
        d = _norm_dim(dim, a.ndim, "cross")
        if a.shape[d] != 3:
            raise RuntimeError(f"cross(): inputs dimension {d} must have length 3, got shapes "
                               f"{tuple(input.shape)} and {tuple(other.shape)}")
    a1, a2, a3 = (narrow(a, d, i, 1) for i in range(3))
    b1, b2, b3 = (narrow(b, d, i, 1) for i in range(3))
    return cat([a2 * b3 - a3 * b2, a3 * b1 - a1 * b3, a1 * b2 - a2 * b1], d)
