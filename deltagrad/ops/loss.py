"""Loss functions, stable by construction (log-sum-exp, softplus) and with PyTorch's
``reduction`` ('mean' | 'sum' | 'none')."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor, _make
from .activation import log_softmax, softplus
from .elementwise import _xp, cast

__all__ = ["mse_loss", "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy"]

_REDUCTIONS = ("mean", "sum", "none")


def reduce_loss(loss: Tensor, reduction: str, op: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_same_shape(op, input, target):
    if not isinstance(target, Tensor):
        raise TypeError(f"{op}: target must be a Tensor, got {type(target).__name__}")
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: target shape {tuple(target.shape)} must be the same as input "
                         f"shape {tuple(input.shape)}")
    if target.dtype.kind != "f":
        raise RuntimeError(f"{op}: target must be a floating point tensor, got {target.dtype}")


def mse_loss(input, target, reduction="mean"):
    """Mean squared error (1/n) Σ (x − y)²."""
    _check_same_shape("mse_loss", input, target)
    d = input - target
    return reduce_loss(d * d, reduction, "mse_loss")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """−[p y log σ(x) + (1 − y) log(1 − σ(x))] computed as
    (1 − y) x + (1 + (p − 1) y) softplus(−x), which never takes the log of 0."""
    _check_same_shape("binary_cross_entropy_with_logits", input, target)
    if pos_weight is not None:
        log_weight = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * softplus(-input)
    else:
        loss = (1.0 - target) * input + softplus(-input)
    if weight is not None:
        loss = loss * weight
    return reduce_loss(loss, reduction, "binary_cross_entropy_with_logits")


def _class_weight(weight, n_classes, like, op):
    if weight is None:
        return None
    if tuple(weight.shape) != (n_classes,):
        raise RuntimeError(f"{op}: weight must have shape ({n_classes},) (one per class), got "
                           f"{tuple(weight.shape)}")
    return weight if weight.dtype == like.dtype else cast(weight, like.dtype)


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """−w_t log p_t for log-probabilities ``input`` (N, C, ...) and class indices ``target``.

    'mean' divides by Σ w_t over the non-ignored targets, as PyTorch does.
    """
    if not isinstance(target, Tensor) or target.dtype.kind not in "iu":
        raise RuntimeError(f"nll_loss: expected target of integer class indices (int64), got "
                           f"{getattr(target, 'dtype', type(target).__name__)}")
    if input.ndim < 1 or input.ndim == 1 and target.ndim != 0:
        raise ValueError(f"nll_loss: input shape {tuple(input.shape)} needs a target of shape "
                         f"{tuple(input.shape[:1]) + tuple(input.shape[2:])}")
    batched = input.ndim >= 2
    C = input.shape[1] if batched else input.shape[0]
    expected = (input.shape[0],) + tuple(input.shape[2:]) if batched else ()
    if tuple(target.shape) != expected:
        raise ValueError(f"nll_loss: expected target shape {expected} for input shape "
                         f"{tuple(input.shape)}, got {tuple(target.shape)}")
    t = target._data
    valid = t != ignore_index
    if t.size and ((t[valid] < 0).any() or (t[valid] >= C).any()):
        raise IndexError(f"nll_loss: target values must be in [0, {C}) or ignore_index "
                         f"({ignore_index}); got range [{int(t.min())}, {int(t.max())}]")
    xp = _xp(t)
    safe_t = xp.where(valid, t, 0)
    class_dim = 1 if batched else 0
    idx = _make(safe_t[:, None] if batched and t.ndim == 1 else xp.expand_dims(safe_t, class_dim))
    picked = -input.gather(class_dim, idx).squeeze(class_dim)
    w = _class_weight(weight, C, input, "nll_loss")
    w_t = _make(valid.astype(input.dtype))
    if w is not None:
        w_t = w[_make(safe_t)] * w_t
    loss = picked * w_t
    if reduction == "mean":
        return loss.sum() / w_t.sum()
    return reduce_loss(loss, reduction, "nll_loss")


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Categorical cross-entropy of logits: −Σ_c y_c log softmax(x)_c.

    ``target`` is either class indices (int64, shape (N, ...)) or class probabilities (float,
    the shape of ``input``). log softmax uses the log-sum-exp trick, so logits of 1e4 are fine.
    With ``label_smoothing`` ε the target becomes (1 − ε) e_t + ε/C.
    """
    if not isinstance(target, Tensor):
        raise TypeError(f"cross_entropy: target must be a Tensor, got {type(target).__name__}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"cross_entropy: input must be floating point logits, got {input.dtype}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    class_dim = 1 if input.ndim >= 2 else 0
    C = input.shape[class_dim]
    logp = log_softmax(input, class_dim)
    w = _class_weight(weight, C, input, "cross_entropy")
    wshape = (C,) + (1,) * (input.ndim - class_dim - 1)
    if target.dtype.kind == "f":  # probabilities
        _check_same_shape("cross_entropy", input, target)
        tgt = target * (1.0 - label_smoothing) + label_smoothing / C if label_smoothing else target
        terms = logp * tgt
        if w is not None:
            terms = terms * w.reshape(wshape)
        return reduce_loss(-terms.sum(class_dim), reduction, "cross_entropy")
    loss = nll_loss(logp, target, w, ignore_index, reduction)
    if not label_smoothing:
        return loss
    valid = _make((target._data != ignore_index).astype(input.dtype))
    terms = logp if w is None else logp * w.reshape(wshape)
    smooth = -terms.sum(class_dim) / C * valid
    if reduction == "mean":
        if w is None:
            smooth = smooth.sum() / valid.sum()
        else:
            t = _make(_xp(target._data).where(target._data != ignore_index, target._data, 0))
            smooth = smooth.sum() / (w[t] * valid).sum()
    else:
        smooth = reduce_loss(smooth, reduction, "cross_entropy")
    return loss * (1.0 - label_smoothing) + smooth * label_smoothing
