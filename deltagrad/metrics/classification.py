"""Evaluation metrics: accuracy, error rate, confusion matrix, mean squared error.

Inputs are Tensors (detached here), NumPy/CuPy arrays or lists. Results are plain numbers:
Python floats, and a NumPy array for the confusion matrix. No gradients.

``output`` for classification may be

* scores (logits or probabilities) with a class dimension at dim 1: shape (N, C) or
  (N, C, d1, ...) for targets (N,) or (N, d1, ...) -> prediction ``argmax`` over dim 1;
* one score per sample (same shape as ``target``, or (N, 1) for target (N,)) with
  ``threshold`` given (0 for logits, 0.5 for probabilities) -> prediction ``score > threshold``;
* predicted labels (same shape as ``target``, integer values).

``target`` holds class indices (integers, or floats with integer values such as BCE targets).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor


def _array(x, op, name):
    if isinstance(x, Tensor):
        return backend.to_numpy(x.detach()._data)
    if hasattr(x, "get") and backend.array_module(x) is not np:
        return x.get()
    try:
        return np.asarray(x)
    except Exception:
        raise TypeError(f"{op}: {name} must be a Tensor or an array, got {type(x).__name__}") \
            from None


def _labels(target, op):
    t = _array(target, op, "target")
    if t.dtype.kind == "f":
        if not np.all(t == np.round(t)):
            raise ValueError(f"{op}: target must hold class indices, got non-integer values")
    elif t.dtype.kind not in "iub":
        raise TypeError(f"{op}: target must be integer class indices, got dtype {t.dtype}")
    return t.astype(np.int64)


def _predicted(output, target, threshold, op):
    """(predicted labels, true labels) with equal shapes, from any accepted ``output``."""
    out, tgt = _array(output, op, "output"), _labels(target, op)
    if threshold is not None:
        if out.ndim == tgt.ndim + 1 and out.shape[1] == 1:
            out = out[:, 0]
        if out.shape != tgt.shape:
            raise ValueError(f"{op}: with threshold, output must have the target's shape "
                             f"{tgt.shape} (one score per sample), got {out.shape}")
        return (out > threshold).astype(np.int64), tgt
    if out.ndim == tgt.ndim + 1:
        if out.shape[:1] + out.shape[2:] != tgt.shape:
            raise ValueError(f"{op}: scores of shape {out.shape} don't match target shape "
                             f"{tgt.shape}; expected (N, C, ...) scores for (N, ...) targets")
        if out.shape[1] == 1:
            raise ValueError(f"{op}: output has a single score per sample {out.shape}; pass "
                             "threshold=0 (logits) or threshold=0.5 (probabilities)")
        return out.argmax(1), tgt
    if out.shape != tgt.shape:
        raise ValueError(f"{op}: output shape {out.shape} doesn't fit target shape {tgt.shape}; "
                         "expected labels of the same shape or scores (N, C, ...)")
    if out.dtype.kind == "f" and not np.all(out == np.round(out)):
        raise ValueError(f"{op}: output has the target's shape but non-integer values; for one "
                         "score per sample pass threshold=0 (logits) or 0.5 (probabilities)")
    return out.astype(np.int64), tgt


def accuracy(output, target, threshold=None, top_k=1):
    """Fraction of correct predictions, ``(1/N) Σ_n [ŷ_n = y_n]``. With ``top_k > 1``
    (scores only) a sample is correct when ``y_n`` is among its ``top_k`` highest scores."""
    op = "accuracy"
    if top_k != 1:
        out, tgt = _array(output, op, "output"), _labels(target, op)
        if out.ndim != tgt.ndim + 1 or out.shape[:1] + out.shape[2:] != tgt.shape:
            raise ValueError(f"{op}: top_k={top_k} needs scores (N, C, ...) for targets (N, ...), "
                             f"got {out.shape} and {tgt.shape}")
        if not 1 <= top_k <= out.shape[1]:
            raise ValueError(f"{op}: top_k must be in [1, {out.shape[1]}], got {top_k}")
        top = np.argpartition(-out, top_k - 1, axis=1).take(range(top_k), axis=1)
        hit = (top == np.expand_dims(tgt, 1)).any(1)
    else:
        pred, tgt = _predicted(output, target, threshold, op)
        hit = pred == tgt
    if hit.size == 0:
        raise ValueError(f"{op}: got an empty batch")
    return float(hit.mean())


def error_rate(output, target, threshold=None, top_k=1):
    """``1 - accuracy``: the fraction of misclassified samples."""
    return 1.0 - accuracy(output, target, threshold=threshold, top_k=top_k)


def confusion_matrix(output, target, num_classes=None, threshold=None, normalize=None):
    """``M[i, j]`` = number of samples of true class ``i`` predicted as ``j`` (rows true,
    columns predicted), an int64 (C, C) NumPy array. ``normalize``: ``"true"`` (rows sum to
    1), ``"pred"`` (columns), ``"all"`` or ``None``. ``num_classes`` defaults to the score
    width, or ``max label + 1``."""
    op = "confusion_matrix"
    pred, tgt = _predicted(output, target, threshold, op)
    if num_classes is None:
        out_shape = np.shape(_array(output, op, "output"))
        from_scores = threshold is None and len(out_shape) == tgt.ndim + 1
        num_classes = out_shape[1] if from_scores else \
            int(max(pred.max(initial=-1), tgt.max(initial=-1))) + 1
        num_classes = max(num_classes, 2 if threshold is not None else 1)
    for name, v in (("target", tgt), ("prediction", pred)):
        if v.size and (v.min() < 0 or v.max() >= num_classes):
            raise ValueError(f"{op}: {name} labels must be in [0, {num_classes}), got values in "
                             f"[{v.min()}, {v.max()}]")
    m = np.bincount(tgt.reshape(-1) * num_classes + pred.reshape(-1),
                    minlength=num_classes * num_classes).reshape(num_classes, num_classes)
    if normalize is None:
        return m.astype(np.int64)
    axis = {"true": 1, "pred": 0, "all": None}
    if normalize not in axis:
        raise ValueError(f"{op}: normalize must be 'true', 'pred', 'all' or None, got "
                         f"{normalize!r}")
    total = m.sum(axis=axis[normalize], keepdims=axis[normalize] is not None)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(m / total)


def mse(output, target):
    """Mean squared error ``(1/n) Σ_i (output_i - target_i)²`` over all elements (float64
    accumulation); shapes must match exactly."""
    out, tgt = _array(output, "mse", "output"), _array(target, "mse", "target")
    if out.shape != tgt.shape:
        raise ValueError(f"mse: output shape {out.shape} != target shape {tgt.shape}")
    if out.size == 0:
        raise ValueError("mse: got empty inputs")
    d = out.astype(np.float64) - tgt.astype(np.float64)
    return float(np.mean(d * d))
