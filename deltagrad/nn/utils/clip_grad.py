r"""Gradient clipping (``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``).

Exploding gradients (seed 000, RNNs: "exploding gradients can easily be stopped through
clipping at threshold level") are tamed by rescaling: with the total norm
``‖g‖_p = (Σ_params ‖g_i‖_p^p)^{1/p}`` over all gradients as one vector, every gradient is
multiplied by ``min(1, max_norm / (‖g‖_p + 10⁻⁶))``.
"""
from __future__ import annotations

import math

import numpy as np

from ...backend import array_module
from ...tensor import Tensor, _make

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    out = []
    for p in parameters:
        if not isinstance(p, Tensor):
            raise TypeError(f"clip_grad: expected Tensors as parameters, got {type(p).__name__}")
        if p._grad is not None:
            out.append(p._grad)
    return out


def _vector_norm(a, p):
    """‖a‖_p of a flattened array (p may be inf, -inf, 0 or any positive number)."""
    xp = array_module(a)
    a = a.reshape(-1)
    if p == 2:
        return xp.sqrt(xp.dot(a, a)) if a.dtype.kind in "fV" else xp.linalg.norm(a)
    if p == math.inf:
        return xp.abs(a).max() if a.size else xp.zeros((), a.dtype)
    if p == -math.inf:
        return xp.abs(a).min() if a.size else xp.full((), math.inf, a.dtype)
    if p == 0:
        return xp.asarray((a != 0).sum(), dtype=a.dtype)
    if p == 1:
        return xp.abs(a).sum()
    return (xp.abs(a) ** p).sum() ** (1.0 / p)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False):
    """The p-norm of the norms of ``tensors`` (= the norm of them all as one vector)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    try:
        norm_type = float(norm_type)
    except (TypeError, ValueError):
        raise ValueError(f"clip_grad_norm_/get_total_norm: norm_type must be a number or 'inf', "
                         f"got {norm_type!r}") from None
    if not tensors:
        return _make(np.zeros((), dtype=np.float32))
    xp = array_module(tensors[0]._data)
    norms = xp.stack([xp.asarray(_vector_norm(t._data, norm_type), dtype=t.dtype)
                      for t in tensors])
    total = xp.asarray(_vector_norm(norms, norm_type), dtype=norms.dtype)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and "
                           "scale the gradients by the non-finite norm anyway, set "
                           "`error_if_nonfinite=False`")
    return _make(total)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale the gradients in place so their total ``norm_type``-norm is at most
    ``max_norm``; returns the total norm before clipping (a 0-d tensor).

    ``foreach`` is accepted for PyTorch compatibility: each gradient is already scaled by one
    vectorised operation.
    """
    grads = _grads(parameters)
    max_norm = float(max_norm)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if not grads:
        return total
    xp = array_module(total._data)
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = xp.minimum(max_norm / (total._data + 1e-6), 1.0)   # NaN stays NaN, as in torch
        for g in grads:
            g._data *= coef
            g._version += 1
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element to ``[−clip_value, clip_value]`` in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        array_module(g._data).clip(g._data, -clip_value, clip_value, out=g._data)
        g._version += 1
