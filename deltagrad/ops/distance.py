"""Vector lengths and angles: ``F.normalize``, ``F.cosine_similarity``, ``F.pairwise_distance``.

Composed from differentiable ops (norm, clamp, division, sum), so their gradients and second
derivatives come from those ops.
"""
from __future__ import annotations

import numpy as np

from ..autograd.grad_mode import no_grad
from .. import backend
from ..tensor import Tensor, _make, _norm_dim
from .elementwise import clamp, where

__all__ = ["normalize", "cosine_similarity", "pairwise_distance", "pdist"]  # (cdist: dg.cdist)


def _tensor_arg(x, op, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind not in "fV":
        raise RuntimeError(f"{op}(): expected a floating point tensor for '{name}', got {x.dtype}")


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """v / max(‖v‖_p, ε) for every vector v along ``dim`` (``F.normalize``)."""
    _tensor_arg(input, "normalize", "input")
    if out is not None:
        raise TypeError("normalize(): out= is not supported; assign the result instead")
    _norm_dim(dim, input.ndim, "normalize")
    denom = clamp(input.norm(p, dim, keepdim=True), min=eps)
    return input / denom


def _clamped_norm(x, dim, eps):
    """‖x‖₂ along ``dim`` whose value is clamped below at ε but whose gradient is the norm's,
    as PyTorch clamps the norms in place under no_grad."""
    n = x.norm(2, dim, keepdim=True)
    with no_grad():
        shift = clamp(n, min=eps) - n
    return n + shift


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """cos θ = Σ (x₁/max(‖x₁‖, ε)) (x₂/max(‖x₂‖, ε)) along ``dim`` (inputs broadcast)."""
    _tensor_arg(x1, "cosine_similarity", "x1")
    _tensor_arg(x2, "cosine_similarity", "x2")
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise RuntimeError(f"cosine_similarity(): x1 of shape {tuple(x1.shape)} and x2 of shape "
                           f"{tuple(x2.shape)} do not broadcast") from None
    _norm_dim(dim, len(shape), "cosine_similarity")
    a, b = x1.expand(shape), x2.expand(shape)
    if a.dtype != b.dtype:
        from ..tensor import result_type
        dt = result_type(a, b)
        a, b = a.to(dt), b.to(dt)
    return ((a / _clamped_norm(a, dim, eps)) * (b / _clamped_norm(b, dim, eps))).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """‖x₁ − x₂ + ε‖_p along the last dimension (``F.pairwise_distance``)."""
    _tensor_arg(x1, "pairwise_distance", "x1")
    _tensor_arg(x2, "pairwise_distance", "x2")
    d = x1 - x2 + eps
    return d.norm(p, -1 if d.ndim else None, keepdim=keepdim)


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """d[..., i, j] = ‖x₁[..., i, :] − x₂[..., j, :]‖_p for batches of row vectors
    (``torch.cdist``), computed from the differences (exact, also at zero distance)."""
    _tensor_arg(x1, "cdist", "x1")
    _tensor_arg(x2, "cdist", "x2")
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist(): x1 {tuple(x1.shape)} and x2 {tuple(x2.shape)} must be "
                           "(..., P, M) and (..., R, M) with the same M")
    if p < 0:
        raise RuntimeError(f"cdist(): only supports non-negative p values, got {p}")
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    return diff.norm(p, -1)


def pdist(input, p=2.0):
    """‖x_i − x_j‖_p for every pair of rows i < j of an (N, M) input, in row-major order of
    the pairs: the upper triangle of cdist(x, x) without its diagonal (``F.pdist``)."""
    _tensor_arg(input, "pdist", "input")
    if input.ndim != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.ndim}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    rows, cols = np.triu_indices(n, 1)
    i, j = (_make(a.astype(np.int64)).to(input.device) for a in (rows, cols))
    diff = input[i] - input[j]
    # equal rows: distance 0 with gradient 0 for every p (PyTorch's), not 0 · ∞ = NaN
    same = _make((backend.to_numpy(diff._data) == 0).all(-1, keepdims=True)).to(input.device)
    safe = where(same, _make(np.ones((), diff.dtype)).to(input.device), diff)
    return where(same.squeeze(-1), _make(np.zeros((), diff.dtype)).to(input.device),
                 safe.norm(p, -1))
