"""Connectionist temporal classification (Graves et al. 2006): ``F.ctc_loss``.

A target l of length L is extended with blanks, l' = (b, l₁, b, l₂, …, l_L, b) of length
2L + 1. With y_t(k) the output probabilities (given as log y), the forward variables

    α_1(1) = y_1(b),  α_1(2) = y_1(l₁),
    α_t(s) = (α_{t−1}(s) + α_{t−1}(s−1) [+ α_{t−1}(s−2) if l'_s ≠ b and l'_s ≠ l'_{s−2}]) · y_t(l'_s)

and the backward variables β (the same recursion run from the end) are kept as logarithms
(sums by log-sum-exp), so long sequences do not underflow. Then

    p(l | x) = α_T(2L + 1) + α_T(2L),    loss = −ln p(l | x),
    ∂loss/∂ln y_t(k) = −(1/p) Σ_{s: l'_s = k} α_t(s) β_t(s) / y_t(k).

(PyTorch's kernel returns ∂loss/∂(logits) of a log_softmax instead, y_t(k) + the above; the
two agree once they pass back through the log_softmax that produced ``log_probs``.)
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor, _make
from .loss import _check_reduction

__all__ = ["ctc_loss"]

_NEG_INF = -np.inf


def _logsumexp(*arrays):
    """log Σ exp over the given arrays, elementwise, −∞ when all are −∞."""
    stacked = np.stack(arrays)
    m = stacked.max(axis=0)
    safe = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(stacked - safe).sum(axis=0))


def _shifted(a, k):
    """a moved k places to higher s along the last axis (−∞ coming in): entry s is a[s − k]."""
    out = np.full(a.shape, _NEG_INF)
    if k < a.shape[-1]:
        out[..., k:] = a[..., :-k]
    return out


def _ahead(a, k):
    """Entry s is a[s + k] (−∞ past the end)."""
    out = np.full(a.shape, _NEG_INF)
    if k < a.shape[-1]:
        out[..., :-k] = a[..., k:]
    return out


def _extended_labels(targets, target_lengths, blank):
    """l' per sample, (N, 2·max L + 1), padded with blank; the skip mask l'_s ≠ b, ≠ l'_{s−2}."""
    n = len(target_lengths)
    width = 2 * (max(target_lengths) if n else 0) + 1
    ext = np.full((n, width), blank, dtype=np.int64)
    for i, labels in enumerate(targets):
        ext[i, 1:2 * len(labels):2] = labels
    skip = np.zeros_like(ext, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip


def _forward_backward(lp, targets, input_lengths, target_lengths, blank):
    """Per-sample −ln p(l | x) and the log α, log β tables (T, N, 2·max L + 1)."""
    T, N, _ = lp.shape
    ext, skip = _extended_labels(targets, target_lengths, blank)
    S = ext.shape[1]
    lengths = np.asarray(target_lengths)
    valid = np.arange(S)[None, :] < (2 * lengths + 1)[:, None]                # (N, S)
    emit = np.where(valid, np.take_along_axis(lp, np.broadcast_to(ext, (T, N, S)), axis=2),
                    _NEG_INF)                                                  # (T, N, S)
    alpha = np.full((T, N, S), _NEG_INF)
    start = np.full((N, S), _NEG_INF)
    start[:, 0] = 0.0
    start[:, 1:2] = np.where(lengths[:, None] > 0, 0.0, _NEG_INF)
    if T:
        alpha[0] = start + emit[0]
    for t in range(1, T):
        prev = alpha[t - 1]
        two_back = np.where(skip, _shifted(prev, 2), _NEG_INF)
        alpha[t] = _logsumexp(prev, _shifted(prev, 1), two_back) + emit[t]
    beta = np.full((T, N, S), _NEG_INF)
    rows = np.arange(N)
    last = np.asarray(input_lengths) - 1
    end = np.full((N, S), _NEG_INF)
    end[rows, 2 * lengths] = 0.0
    end[rows, np.maximum(2 * lengths - 1, 0)] = np.where(lengths > 0, 0.0, end[rows, 0])
    skip_next = np.zeros_like(skip)                          # whether s + 2 may skip to s
    skip_next[:, :-2] = skip[:, 2:]
    for t in range(T - 1, -1, -1):
        if t + 1 < T:
            nxt = beta[t + 1]
            recur = _logsumexp(nxt, _ahead(nxt, 1),
                               np.where(skip_next, _ahead(nxt, 2), _NEG_INF)) + emit[t]
        else:
            recur = np.full((N, S), _NEG_INF)
        beta[t] = np.where((t == last)[:, None], end + emit[t],
                           np.where((t < last)[:, None], recur, _NEG_INF))
    final = alpha[np.maximum(last, 0), rows]                                   # (N, S)
    log_p = _logsumexp(final[rows, 2 * lengths],
                       np.where(lengths > 0, final[rows, np.maximum(2 * lengths - 1, 0)],
                                _NEG_INF))
    no_frames = np.where(lengths == 0, 0.0, _NEG_INF)       # empty input: p = 1 iff L = 0
    log_p = np.where(last >= 0, log_p, no_frames)
    return -log_p, alpha, beta, ext


class CTCLoss(Function):
    """Per-sample −ln p(l | x) of (T, N, C) log-probabilities; float64 inside."""

    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        lp = backend.to_numpy(log_probs).astype(np.float64)
        nll, alpha, beta, ext = _forward_backward(lp, targets, input_lengths, target_lengths,
                                                  blank)
        infinite = ~np.isfinite(nll)
        if ctx._recording:
            ctx.grad_table = _gradient(lp, nll, alpha, beta, ext, input_lengths,
                                       infinite if zero_infinity else np.zeros_like(infinite))
            ctx.save_for_backward(log_probs)
        xp = backend.array_module(log_probs)
        ctx.dtype, ctx.xp = log_probs.dtype, xp
        if zero_infinity:
            nll = np.where(infinite, 0.0, nll)
        out = nll.astype(log_probs.dtype)
        return out if xp is np else xp.asarray(out)

    def backward(ctx, g):
        log_probs, = ctx.saved_tensors
        table = ctx.grad_table.astype(ctx.dtype)
        table = table if ctx.xp is np else ctx.xp.asarray(table)
        return CTCLossGradient.apply(g, log_probs, table=table)


class CTCLossGradient(Function):
    """g_n · ∂loss_n/∂ln y (the table from the forward–backward pass); its own derivative
    with respect to the log-probabilities is not implemented (nor is it in PyTorch)."""

    def forward(ctx, g, log_probs, table):
        ctx.table = table
        return g.reshape(1, -1, 1) * table

    def backward(ctx, gg):
        if ctx.needs_input_grad[1]:
            raise RuntimeError("ctc_loss: the second derivative with respect to log_probs is "
                               "not implemented (PyTorch has none either)")
        return (gg * _make(ctx.table)).sum((0, 2)), None


def _gradient(lp, nll, alpha, beta, ext, input_lengths, zeroed):
    """−exp(ln Σ_{s: l'_s = k} α_t(s) β_t(s) − ln y_t(k) + loss) for t < T_n, else 0."""
    T, N, C = lp.shape
    ab = alpha + beta
    m = ab.max(axis=2, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    summed = np.zeros((T, N, C))
    rows = np.broadcast_to(np.arange(N)[:, None], ext.shape)
    np.add.at(summed, (slice(None), rows, ext), np.exp(ab - m))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        grad = -np.exp(np.log(summed) + m - lp + nll[None, :, None])
    live = np.arange(T)[:, None] < np.asarray(input_lengths)[None, :]
    grad = np.where(live[:, :, None], grad, 0.0)
    return np.where(zeroed[None, :, None], 0.0, grad)


def _lengths(op, name, value, n):
    if isinstance(value, Tensor):
        value = backend.to_numpy(value._data)
        if value.dtype.kind not in "iu":
            raise RuntimeError(f"{op}: {name} must be integers, got {value.dtype}")
    arr = np.atleast_1d(np.asarray(value))
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: {name} must be integers, got {arr.dtype}")
    if arr.shape != (n,):
        raise RuntimeError(f"{op}: {name} must be of size batch_size {n}, got shape "
                           f"{arr.shape}")
    if (arr < 0).any():
        raise RuntimeError(f"{op}: {name} must be non-negative, got {arr.tolist()}")
    return [int(v) for v in arr]


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """The CTC loss of (T, N, C) (or unbatched (T, C)) log-probabilities against targets
    given padded (N, S) or concatenated (Σ L_n,); 'mean' divides each loss by its target
    length, then averages over the batch (``F.ctc_loss``)."""
    op = "ctc_loss"
    _check_reduction(reduction, op)
    if not isinstance(log_probs, Tensor) or not isinstance(targets, Tensor):
        raise TypeError(f"{op}: log_probs and targets must be Tensors")
    if log_probs.dtype.kind not in "fV":
        raise RuntimeError(f"{op}: log_probs must be floating point, got {log_probs.dtype}")
    unbatched = log_probs.ndim == 2
    if log_probs.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected log_probs of shape (T, N, C) or (T, C), got "
                           f"{tuple(log_probs.shape)}")
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    T, N, C = lp.shape
    if not isinstance(blank, numbers.Integral) or not 0 <= blank < C:
        raise RuntimeError("blank must be in label range")
    tg = backend.to_numpy(targets._data)
    if tg.dtype.kind not in "iu":                 # PyTorch takes float labels as int64
        tg = tg.astype(np.int64)
    if unbatched:
        tg = tg.reshape(1, -1)
    in_lens = _lengths(op, "input_lengths", input_lengths, N)
    tg_lens = _lengths(op, "target_lengths", target_lengths, N)
    for v in in_lens:
        if v > T:
            raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got "
                               f"value {v}")
    if tg.ndim == 2:
        if tg.shape[0] != N:
            raise RuntimeError(f"{op}: targets of shape {tg.shape} must have batch size {N}")
        width = max(tg_lens) if N else 0
        if tg.shape[1] < width:
            raise RuntimeError(f"Expected tensor to have size at least {width} at dimension 1, "
                               f"but got size {tg.shape[1]} for argument #2 'targets'")
        labels = [tg[i, :n] for i, n in enumerate(tg_lens)]
    elif tg.ndim == 1:
        if tg.shape[0] != sum(tg_lens):
            raise RuntimeError(f"{op}: concatenated targets have {tg.shape[0]} labels but "
                               f"target_lengths sum to {sum(tg_lens)}")
        bounds = np.cumsum([0] + tg_lens)
        labels = [tg[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    else:
        raise RuntimeError(f"{op}: targets must be (N, S) or 1-D, got shape {tg.shape}")
    for lab in labels:
        if lab.size and (lab.min() < 0 or lab.max() >= C):
            raise RuntimeError(f"{op}: target labels must be in [0, {C}), got min {lab.min()}, "
                               f"max {lab.max()}")
    losses = CTCLoss.apply(lp, targets=labels, input_lengths=in_lens, target_lengths=tg_lens,
                           blank=int(blank), zero_infinity=bool(zero_infinity))
    if reduction == "none":
        return losses.squeeze(0) if unbatched else losses
    if reduction == "sum":
        return losses.sum()
    divisor = _make(np.maximum(np.asarray(tg_lens, dtype=np.float64), 1.0).astype(
        losses.dtype)).to(losses.device)
    return (losses / divisor).mean()
