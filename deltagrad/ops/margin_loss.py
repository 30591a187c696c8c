"""Margin and embedding losses (PyTorch's formulas, y the target, [z]₊ = max(0, z)):

    margin_ranking:       [−y (x₁ − x₂) + margin]₊
    hinge_embedding:      x where y = 1,  [margin − x]₊ where y = −1
    triplet_margin:       [margin + d(a, p) − d(a, n)]₊,  d = ‖· − · + ε‖_p  (swap: d(a, n) ←
                          min(d(a, n), d(p, n)))
    cosine_embedding:     1 − cos(x₁, x₂) where y = 1,  [cos(x₁, x₂) − margin]₊ where y = −1
    soft_margin:          ln(1 + e^{−y x})
    multilabel_soft_margin: −(1/C) Σ_c w_c (y_c ln σ(x_c) + (1 − y_c) ln σ(−x_c))
    multi_margin:         (1/C) Σ_{i ≠ y} w_y [margin − x_y + x_i]₊^p,  p ∈ {1, 2}
    multilabel_margin:    (1/C) Σ_{j ∈ Y} Σ_{i ∉ Y} [1 − (x_j − x_i)]₊  (Y: the target classes,
                          listed up to the first −1)
    triplet_margin_with_distance: triplet_margin with any distance function d

Each is composed from differentiable ops, so the gradients are theirs (the kinks pass the
gradient where the argument of [·]₊ is ≥ 0, as PyTorch's clamp_min).
"""
from __future__ import annotations

import numbers

import numpy as np

from ..tensor import Tensor, _make
from .activation import logsigmoid, softplus
from .distance import pairwise_distance
from .elementwise import clamp, minimum, where
from .loss import _check_reduction, _legacy, _quiet, reduce_loss

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "triplet_margin_loss",
           "cosine_embedding_loss", "soft_margin_loss", "multilabel_soft_margin_loss",
           "multi_margin_loss", "multilabel_margin_loss", "triplet_margin_with_distance_loss"]


def _tensors(op, **named):
    for name, t in named.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be a Tensor, got "
                            f"{type(t).__name__}")


def _reduction(op, size_average, reduce, reduction):
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    return reduction


def _zeros_like(t):
    return _make(np.zeros((), t.dtype)).to(t.device)


@_quiet
def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """[−y (x₁ − x₂) + margin]₊: x₁ should rank above x₂ where y = 1, below where y = −1."""
    op = "margin_ranking_loss"
    _tensors(op, input1=input1, input2=input2, target=target)
    reduction = _reduction(op, size_average, reduce, reduction)
    if not input1.ndim == input2.ndim == target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {tuple(input1.shape)}, input2: "
                           f"{tuple(input2.shape)}, target: {tuple(target.shape)} ")
    return reduce_loss(clamp(-target * (input1 - input2) + margin, min=0.0), reduction, op)


@_quiet
def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where y = 1 and [margin − x]₊ where y = −1 (x a distance, y = ±1)."""
    op = "hinge_embedding_loss"
    _tensors(op, input=input, target=target)
    reduction = _reduction(op, size_average, reduce, reduction)
    zero = _zeros_like(input)
    below_margin = where(target != 1, clamp(margin - input, min=0.0), zero)
    distance = where(target != -1, input, zero)
    return reduce_loss(below_margin + distance, reduction, op)


@_quiet
def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """[margin + d(a, p) − d(a, n)]₊ with d the pairwise p-norm distance (Schroff et al.)."""
    op = "triplet_margin_loss"
    _tensors(op, anchor=anchor, positive=positive, negative=negative)
    reduction = _reduction(op, size_average, reduce, reduction)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {anchor.ndim}D, "
                           f"positive {positive.ndim}D, and negative {negative.ndim}D inputs")
    if margin <= 0:
        raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got "
                         f"{margin} instead")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return reduce_loss(clamp(margin + d_pos - d_neg, min=0.0), reduction, op)


@_quiet
def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 − cos where y = 1, [cos − margin]₊ where y = −1; cos = x₁·x₂ / √((‖x₁‖² + ε)(‖x₂‖²
    + ε)) over the last dimension, ε = 1e-12 (PyTorch's)."""
    op = "cosine_embedding_loss"
    _tensors(op, input1=input1, input2=input2, target=target)
    reduction = _reduction(op, size_average, reduce, reduction)
    if target.ndim == 1 and input1.ndim != 2:
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if target.ndim == 0 and input1.ndim != 1:
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if tuple(input1.shape) != tuple(input2.shape):
        raise RuntimeError(f"{op}: input1 {tuple(input1.shape)} and input2 "
                           f"{tuple(input2.shape)} must have the same shape")
    eps = 1e-12
    dot = (input1 * input2).sum(-1)
    cos = dot / (((input1 * input1).sum(-1) + eps) * ((input2 * input2).sum(-1) + eps)).sqrt()
    zero = _zeros_like(cos)
    pos = where(target == 1, 1 - cos, zero)
    neg = where(target == -1, clamp(cos - margin, min=0.0), zero)
    return reduce_loss(pos + neg, reduction, op)


@_quiet
def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """ln(1 + e^{−y x}): the logistic loss of y = ±1 labels."""
    op = "soft_margin_loss"
    _tensors(op, input=input, target=target)
    reduction = _reduction(op, size_average, reduce, reduction)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: target shape {tuple(target.shape)} must be the same as input "
                         f"shape {tuple(input.shape)}")
    return reduce_loss(softplus(-target * input), reduction, op)


@_quiet
def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """−(1/C) Σ_c w_c (y_c ln σ(x_c) + (1 − y_c) ln σ(−x_c)) per sample (C the last dim)."""
    op = "multilabel_soft_margin_loss"
    _tensors(op, input=input, target=target)
    reduction = _reduction(op, size_average, reduce, reduction)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: target shape {tuple(target.shape)} must be the same as input "
                         f"shape {tuple(input.shape)}")
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    classes = input.shape[-1] if input.ndim else 1
    loss = loss.sum(-1) / classes if input.ndim else loss
    return reduce_loss(loss, reduction, op)


@_quiet
def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """(1/C) Σ_{i ≠ y} w_y [margin − x_y + x_i]₊^p: the multi-class hinge loss (p = 1 or 2)."""
    op = "multi_margin_loss"
    _tensors(op, input=input, target=target)
    reduction = _reduction(op, size_average, reduce, reduction)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{op}: expected input of shape (N, C) or (C,), got "
                           f"{tuple(input.shape)}")
    x = input if input.ndim == 2 else input.unsqueeze(0)
    y = target.reshape(-1)
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: target must be class indices (int64), got {target.dtype}")
    n, c = x.shape
    if y.shape[0] != n:
        raise RuntimeError(f"inconsistent target size, expected {n} but got "
                           f"{tuple(target.shape)}")
    labels = y._data
    if labels.size and (labels.min() < 0 or labels.max() >= c):
        raise IndexError(f"{op}: target {int(labels.min())}..{int(labels.max())} is out of "
                         f"bounds for {c} classes")
    if weight is not None:
        _tensors(op, weight=weight)
        if tuple(weight.shape) != (c,):
            raise RuntimeError(f"{op}: weight must be a 1-D tensor of size {c}, got "
                               f"{tuple(weight.shape)}")
    x_y = x.gather(1, y.reshape(-1, 1))
    hinge = clamp(margin - x_y + x, min=0.0)
    if p == 2:
        hinge = hinge * hinge
    if weight is not None:
        hinge = hinge * weight[y].reshape(-1, 1)
    others = np.ones((n, c), dtype=bool)
    others[np.arange(n), np.asarray(labels).reshape(-1)] = False
    hinge = where(_make(others).to(x.device), hinge, _zeros_like(hinge))
    loss = hinge.sum(1) / c
    return reduce_loss(loss if input.ndim == 2 else loss.reshape(()), reduction, op)


@_quiet
def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """(1/C) Σ_{j ∈ Y} Σ_{i ∉ Y} [1 − (x_j − x_i)]₊: every target class above every other by a
    margin of 1; ``target`` (like input, int64) lists the classes Y, ended by the first −1."""
    op = "multilabel_margin_loss"
    _tensors(op, input=input, target=target)
    reduction = _reduction(op, size_average, reduce, reduction)
    if input.ndim > 2:
        raise RuntimeError(f"{op}: expected input of shape (C,) or (N, C), got "
                           f"{tuple(input.shape)}")
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: target must be class indices (int64), got {target.dtype}")
    if tuple(target.shape) != tuple(input.shape):
        raise RuntimeError(f"{op}: inconsistent target size: {tuple(target.shape)} for input "
                           f"of size {tuple(input.shape)}")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    n, c = x.shape
    labels = np.asarray(target._data).reshape(n, c)
    listed = np.cumprod(labels != -1, axis=1).astype(bool)          # before the first −1
    if ((labels < -1) | (labels >= c)).any():
        raise RuntimeError(f"{op}: target values must be class indices in [0, {c}) or -1, "
                           f"got {labels.min()}..{labels.max()}")
    indices = np.where(listed, labels, 0)
    is_target = np.zeros((n, c), bool)
    rows = np.broadcast_to(np.arange(n)[:, None], (n, c))
    is_target[rows[listed], indices[listed]] = True
    x_target = x.gather(1, _make(indices).to(x.device))                 # (N, J)
    hinge = clamp(1 - (x_target.unsqueeze(2) - x.unsqueeze(1)), min=0.0)  # (N, J, I)
    pairs = listed[:, :, None] & ~is_target[:, None, :]
    hinge = where(_make(pairs).to(x.device), hinge, _zeros_like(hinge))
    loss = hinge.sum((1, 2)) / c
    return reduce_loss(loss if input.ndim == 2 else loss.reshape(()), reduction, op)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """[margin + d(a, p) − d(a, n)]₊ with any ``distance_function`` (default: the pairwise
    2-norm distance); ``swap`` uses min(d(a, n), d(p, n))."""
    op = "triplet_margin_with_distance_loss"
    _tensors(op, anchor=anchor, positive=positive, negative=negative)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have "
                           f"the same number of dimensions, but got: anchor {anchor.ndim}D, "
                           f"positive {positive.ndim}D, and negative {negative.ndim}D inputs")
    distance = pairwise_distance if distance_function is None else distance_function
    d_pos, d_neg = distance(anchor, positive), distance(anchor, negative)
    if swap:
        d_neg = minimum(d_neg, distance(positive, negative))
    return reduce_loss(clamp(margin + d_pos - d_neg, min=0.0), reduction, op)
