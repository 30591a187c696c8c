"""Loss functions with PyTorch's names, arguments and ``reduction`` ('mean' | 'sum' | 'none'),
stable by construction (log-sum-exp, softplus, logs clamped at −100 like PyTorch), and the
notes' extras: SSE, the ½-sum squared error, the sparsity penalty KL(ρ‖ρ̂), L1/L2 penalties.

Softmax + cross-entropy is one fused node (:class:`CrossEntropy`), as in PyTorch.
The deprecated ``size_average`` / ``reduce`` arguments are accepted and override
``reduction`` exactly as in PyTorch.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor, _make
from . import elementwise as E
from .activation import log_softmax, softmax, softplus
from .elementwise import _xp, cast

__all__ = ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "nll_loss", "cross_entropy", "gaussian_nll_loss",
           "kl_div", "sse_loss", "half_sse_loss", "sparsity_kl", "l1_penalty", "l2_penalty",
           "poisson_nll_loss"]

_REDUCTIONS = ("mean", "sum", "none")


# ----------------------------------------------------------------------------- helpers
def _quiet(loss_fn):
    """A loss meets ±inf in ordinary use (inf − inf, 0·inf): IEEE NaN/inf without NumPy's
    RuntimeWarnings, as PyTorch (one errstate per loss call, not per op)."""
    @functools.wraps(loss_fn)
    def quiet_loss(*args, **kwargs):
        with E.quiet_fp():
            return loss_fn(*args, **kwargs)
    return quiet_loss


def _legacy(size_average, reduce, reduction):
    """PyTorch's mapping of the deprecated flags: reduce=False → 'none', else size_average
    (default True) → 'mean' / 'sum'."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use "
                  f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    return reduction


def _check_reduction(reduction, op, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{op}: reduction must be one of {allowed}, got {reduction!r}")


def reduce_loss(loss: Tensor, reduction: str, op: str) -> Tensor:
    _check_reduction(reduction, op)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_tensor(op, name, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")


def _check_same_shape(op, input, target):
    """Elementwise losses: a floating ``target`` of exactly the input's shape."""
    _check_tensor(op, "input", input)
    _check_tensor(op, "target", target)
    if input.dtype.kind not in "fV":
        raise RuntimeError(f"{op}: input must be a floating point tensor, got {input.dtype}")
    if target.dtype.kind not in "fV":
        raise RuntimeError(f"{op}: target must be a floating point tensor like the input "
                           f"(shape {tuple(input.shape)}), got {target.dtype} of shape "
                           f"{tuple(target.shape)}; convert it with target.float()")
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{op}: target shape {tuple(target.shape)} must be the same as input "
                         f"shape {tuple(input.shape)}")
    if target.dtype != input.dtype:
        target = cast(target, input.dtype)
    return target


def _elementwise_weight(op, weight, input):
    if weight is None:
        return None
    _check_tensor(op, "weight", weight)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{op}: weight shape {tuple(weight.shape)} must be the same as input "
                         f"shape {tuple(input.shape)}")
    return weight


def _weighted_mean(loss, weight, reduction, op):
    """Σ w ℓ / Σ w for 'mean' (PyTorch's weighted mse_loss / l1_loss)."""
    _check_reduction(reduction, op)
    loss = loss * weight
    if reduction == "mean":
        return loss.sum() / weight.sum()
    return loss.sum() if reduction == "sum" else loss


# ----------------------------------------------------------------------------- regression
@_quiet
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error (1/n) Σ (x − y)² (seed 004 §2.1); with ``weight``: Σ w(x − y)² / Σ w."""
    reduction = _legacy(size_average, reduce, reduction)
    target = _check_same_shape("mse_loss", input, target)
    d = input - target
    w = _elementwise_weight("mse_loss", weight, input)
    if w is not None:
        return _weighted_mean(d * d, w, reduction, "mse_loss")
    return reduce_loss(d * d, reduction, "mse_loss")


def sse_loss(input, target):
    """Sum of squared errors J = Σ_i (y[i] − ŷ[i])² (seed 002 §1.2.2: J = Σ L(y, ŷ) with the
    square loss L = (y − ŷ)²)."""
    return mse_loss(input, target, reduction="sum")


def half_sse_loss(input, target):
    """The notes' cost J = ½ Σ (d − y)² (seed 000 §3.3: J = ½(d − y)² per pattern), whose
    gradient is −(d − y): the delta rule's w ← w + α(d − y)x."""
    return mse_loss(input, target, reduction="sum") * 0.5


@_quiet
def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error (1/n) Σ |x − y|; ∂/∂x = sign(x − y) (0 at 0)."""
    reduction = _legacy(size_average, reduce, reduction)
    target = _check_same_shape("l1_loss", input, target)
    d = (input - target).abs()
    w = _elementwise_weight("l1_loss", weight, input)
    if w is not None:
        return _weighted_mean(d, w, reduction, "l1_loss")
    return reduce_loss(d, reduction, "l1_loss")


@_quiet
def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber: ½d² where |d| < δ, δ(|d| − ½δ) elsewhere, d = x − y. With ``weight`` the 'mean'
    is the plain mean of w·ℓ (PyTorch's choice, unlike mse_loss)."""
    _check_reduction(reduction, "huber_loss")
    target = _check_same_shape("huber_loss", input, target)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    d = input - target
    ad = d.abs()
    loss = E.where(ad < delta, d * d * 0.5, (ad - 0.5 * delta) * delta)
    w = _elementwise_weight("huber_loss", weight, input)
    if w is not None:
        loss = loss * w
    return reduce_loss(loss, reduction, "huber_loss")


@_quiet
def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Smooth L1: ½d²/β where |d| < β, |d| − ½β elsewhere (= Huber/β); β = 0 is L1."""
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, "smooth_l1_loss")
    target = _check_same_shape("smooth_l1_loss", input, target)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    if beta == 0:
        return l1_loss(input, target, reduction=reduction)
    d = input - target
    ad = d.abs()
    loss = E.where(ad < beta, d * d * (0.5 / beta), ad - 0.5 * beta)
    return reduce_loss(loss, reduction, "smooth_l1_loss")


@_quiet
def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Gaussian negative log-likelihood ½(ln σ² + (x − y)²/σ²) (+ ½ ln 2π if ``full``)
    (seed 004 §1.2: regression, homo-/heteroscedastic).

    ``var`` σ² is a Tensor of the input's shape (heteroscedastic: one per output), or of a
    shape with exactly one dimension of size 1 where the input's differs, or the input's
    shape without its last dimension (homoscedastic over that dimension), or a float.
    σ² is clamped to ≥ ``eps`` for the value only; the gradient passes as if unclamped
    (PyTorch's ``no_grad`` clamp).
    """
    op = "gaussian_nll_loss"
    _check_reduction(reduction, op)
    target = _check_same_shape(op, input, target)
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError(f"{op}: var has negative entry/entries ({var})")
        var = _make(_xp(input._data).full(input.shape, var, dtype=input.dtype))
    _check_tensor(op, "var", var)
    if bool((var._data < 0).any()):
        raise ValueError(f"{op}: var has negative entry/entries")
    shape, vshape = tuple(input.shape), tuple(var.shape)
    if vshape != shape:
        if shape[:-1] == vshape:
            var = var.unsqueeze(-1)
        elif not (len(vshape) == len(shape) and sum(v for s, v in zip(shape, vshape)
                                                    if s != v) == 1):
            raise ValueError(f"{op}: var shape {vshape} is incorrect for input shape {shape}: "
                             f"expected {shape} (heteroscedastic), {shape[:-1]} or a shape "
                             "with a single dimension of size 1 where the input's differs "
                             "(homoscedastic)")
    if var.dtype != input.dtype:
        var = cast(var, input.dtype)
    var = var + (E.clamp(var.detach(), min=eps) - var.detach())
    d = input - target
    loss = (var.log() + d * d / var) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction, op)


# ----------------------------------------------------------------------------- binary
class BinaryCrossEntropy(Function):
    """ℓ = −w[y max(ln p, −100) + (1 − y) max(ln(1 − p), −100)] (seed 000 §4.3, seed 001).

    ∂ℓ/∂p = w(p − y) / max(p(1 − p), 1e−12) (PyTorch's, finite at p ∈ {0, 1});
    ∂ℓ/∂y = w(max(ln(1 − p), −100) − max(ln p, −100)).
    """

    def forward(ctx, p, y, w):
        log_p, log_1mp = _clamped_logs(_xp(p), p)
        loss = -(y * log_p + (1 - y) * log_1mp)
        if w is not None:
            loss *= w
        ctx.save_for_backward(p, y, w)
        return loss

    def backward(ctx, g):
        p, y, w = ctx.saved_tensors
        gw = g if w is None else g * w
        gp = gy = None
        if ctx.needs_input_grad[0]:
            gp = gw * (p - y) / E.clamp(p * (1.0 - p), min=1e-12)
        if ctx.needs_input_grad[1]:
            if is_grad_enabled():  # recording: keep ∂ℓ/∂y differentiable in p
                pos, below = p > 0, p < 1
                log_p = E.where(pos, E.maximum(E.where(pos, p, 1.0).log(), -100.0), -100.0)
                log_1mp = E.where(below, E.maximum(E.log1p(-E.where(below, p, 0.0)), -100.0),
                                  -100.0)
                gy = gw * (log_1mp - log_p)
            else:
                log_p, log_1mp = _clamped_logs(_xp(p._data), p._data)
                gy = gw * _make(log_1mp - log_p)
        return gp, gy


def _clamped_logs(xp, p):
    """max(ln p, −100) and max(ln(1 − p), −100) without ever evaluating ln 0."""
    tiny = p.dtype.type(0)
    log_p = xp.maximum(xp.log(xp.where(p > 0, p, 1)), -100)
    log_p = xp.where(p > 0, log_p, -100).astype(p.dtype)
    log_1mp = xp.maximum(xp.log1p(-xp.where(p < 1, p, tiny)), -100)
    log_1mp = xp.where(p < 1, log_1mp, -100).astype(p.dtype)
    return log_p, log_1mp


@_quiet
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """BCE of probabilities p: −[y ln p + (1 − y) ln(1 − p)], logs clamped at −100 (PyTorch).

    ``weight`` rescales each element (broadcast to the input's shape).
    """
    op = "binary_cross_entropy"
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    target = _check_same_shape(op, input, target)
    xp = _xp(input._data)
    if input._data.size and not bool(((input._data >= 0) & (input._data <= 1)).all()):  # NaN too
        raise RuntimeError(f"{op}: all elements of input should be between 0 and 1 "
                           "(probabilities; NaN is not one); for logits use "
                           "binary_cross_entropy_with_logits")
    t = target._data
    if t.size and not bool(((t >= 0) & (t <= 1)).all()):
        raise RuntimeError(f"{op}: all elements of target should be between 0 and 1, got "
                           f"values in [{t.min()}, {t.max()}]")
    w = None
    if weight is not None:
        _check_tensor(op, "weight", weight)
        try:
            np.broadcast_shapes(tuple(weight.shape), tuple(input.shape))
        except ValueError:
            raise ValueError(f"{op}: weight shape {tuple(weight.shape)} cannot be broadcast to "
                             f"input shape {tuple(input.shape)}") from None
        w = xp.broadcast_to(weight._data.astype(input.dtype, copy=False), input.shape)
    loss = BinaryCrossEntropy.apply(input, target, w=w)
    return reduce_loss(loss, reduction, op)


class BinaryCrossEntropyWithLogits(Function):
    """ℓ = (1 − y)x − ln σ(x) with ln σ(x) = min(x, 0) − ln(1 + e^(−|x|)): the BCE of logits
    as one node (PyTorch's formula; e^(−|x|) ≤ 1, so nothing overflows).

    ∂ℓ/∂x = σ(x) − y, with σ(x) = max(e, [x ≥ 0]) / (1 + e), e = e^(−|x|) kept from the
    forward; ∂ℓ/∂y = −x. ``dims``: ℓ summed over these dimensions in the same node.
    """

    def forward(ctx, x, y, dims=()):
        ctx.dims = dims
        if _compiled_bce(x, y, dims):  # kernels/numba_bce.py: the same formula to round-off
            from ..kernels.numba_bce import bce_with_logits_forward
            rows = x.shape[0] if dims else 1
            loss, s = bce_with_logits_forward(x.reshape(rows, -1), y.reshape(rows, -1),
                                              bool(dims))
            ctx.save_for_backward(x, y, None)
            ctx.sigmoid = s.reshape(x.shape)
            return loss if dims else loss.reshape(x.shape)
        ctx.sigmoid = None
        xp = _xp(x)
        e = xp.asarray(xp.abs(x))              # (a 0-d input gives a NumPy scalar)
        xp.negative(e, out=e)
        xp.exp(e, out=e)                       # e^(−|x|)
        loss = xp.asarray(xp.subtract(1, y, dtype=x.dtype))
        loss *= x
        t = xp.asarray(xp.minimum(x, 0))
        loss -= t
        loss += xp.log1p(e, out=t)
        ctx.save_for_backward(x, y, e)
        if dims:
            from .reduce import sum_array
            loss = xp.asarray(sum_array(loss, dims))
        return loss

    def backward(ctx, g):
        x, y, e = ctx.saved_tensors
        if ctx.dims:  # the gradient of the sum: g broadcast over the summed dimensions
            kept = tuple(1 if i in ctx.dims else n for i, n in enumerate(x.shape))
            g = g.reshape(kept) if is_grad_enabled() else _make(g._data.reshape(kept))
        gx = gy = None
        if is_grad_enabled():  # recording: the same formulas, differentiable
            if ctx.needs_input_grad[0]:
                gx = g * (E.sigmoid(x) - y)
            if ctx.needs_input_grad[1]:
                gy = -g * x
            return gx, gy
        if ctx.needs_input_grad[0]:
            if ctx.sigmoid is not None:    # σ(x) from the compiled forward
                s = ctx.sigmoid - y._data
            else:
                xp, xa, ea = _xp(g._data), x._data, e._data
                s = xp.maximum(ea, xa >= 0, dtype=ea.dtype)
                s /= ea + 1
                s -= y._data
            s *= g._data
            gx = _make(s)
        if ctx.needs_input_grad[1]:
            gy = _make(-(g._data * x._data))
        return gx, gy


def _compiled_bce(x, y, dims) -> bool:
    """Whether ``BinaryCrossEntropyWithLogits`` runs as the compiled pass: the kernel backend
    is Numba, the logits and targets are non-empty C-contiguous float32 NumPy arrays of one
    shape, and the loss is element-wise or summed over every dimension but the first."""
    if type(x) is not np.ndarray or type(y) is not np.ndarray or x.dtype != np.float32 or \
            y.dtype != np.float32 or x.shape != y.shape or x.size == 0 or \
            not (x.flags.c_contiguous and y.flags.c_contiguous) or \
            dims not in ((), tuple(range(1, x.ndim))):
        return False
    from .. import kernels
    return kernels.get_backend() == "numba"


@_quiet
def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """BCE of logits x: −w[p_c y ln σ(x) + (1 − y) ln(1 − σ(x))], computed as
    (1 − y)x + (1 + (p_c − 1)y)·softplus(−x), which never takes the log of 0 (seed 002 §1.5);
    without ``pos_weight`` one node, :class:`BinaryCrossEntropyWithLogits`.

    ``weight`` rescales each element (broadcast); ``pos_weight`` p_c weighs the positives of
    class c (broadcast along the last dimension, shape (C,)).
    """
    op = "binary_cross_entropy_with_logits"
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    target = _check_same_shape(op, input, target)
    if pos_weight is not None:
        _check_tensor(op, "pos_weight", pos_weight)
        _check_broadcast(op, "pos_weight", pos_weight, input)
        loss = (1.0 - target) * input + ((pos_weight - 1.0) * target + 1.0) * softplus(-input)
    else:
        loss = BinaryCrossEntropyWithLogits.apply(input, target)
    if weight is not None:
        _check_tensor(op, "weight", weight)
        _check_broadcast(op, "weight", weight, input)
        loss = loss * weight
    return reduce_loss(loss, reduction, op)


def bce_with_logits_per_example(input, target):
    """Σ of the BCE of logits over every dimension but the first, one value per example:
    −ln p(y | logits) for independent Bernoulli pixels (a VAE's reconstruction term), as one
    node (:class:`BinaryCrossEntropyWithLogits` with its row sums)."""
    op = "bce_with_logits_per_example"
    target = _check_same_shape(op, input, target)
    if input.ndim == 0:
        raise ValueError(f"{op}: expected an input with a batch dimension, got a 0-d tensor")
    with E.quiet_fp():
        return BinaryCrossEntropyWithLogits.apply(input, target,
                                                  dims=tuple(range(1, input.ndim)))


def _check_broadcast(op, name, t, input):
    try:
        out = np.broadcast_shapes(tuple(t.shape), tuple(input.shape))
    except ValueError:
        out = None
    if out != tuple(input.shape):
        raise ValueError(f"{op}: {name} shape {tuple(t.shape)} cannot be broadcast to input "
                         f"shape {tuple(input.shape)}")


# ----------------------------------------------------------------------------- categorical
def _class_weight(weight, n_classes, like, op):
    if weight is None:
        return None
    _check_tensor(op, "weight", weight)
    if tuple(weight.shape) != (n_classes,):
        raise RuntimeError(f"{op}: weight must have shape ({n_classes},) (one per class), got "
                           f"{tuple(weight.shape)}")
    return weight if weight.dtype == like.dtype else cast(weight, like.dtype)


def _class_targets(op, input, target, ignore_index):
    """Check an integer class-index target against ``input`` (N, C, d1, ...) or (C,).

    Returns (C, class_dim, index array with ignored entries set to 0, valid mask).
    """
    _check_tensor(op, "input", input)
    if input.dtype.kind not in "fV":
        raise RuntimeError(f"{op}: input must be floating point, got {input.dtype}")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension, got a 0-d tensor")
    class_dim = 1 if input.ndim >= 2 else 0
    C = input.shape[class_dim]
    expected = (input.shape[0],) + tuple(input.shape[2:]) if class_dim else ()
    if tuple(target.shape) != expected:
        raise ValueError(f"{op}: expected a class-index target of shape {expected} for input "
                         f"of shape {tuple(input.shape)} (N, C, d1, ...), got target shape "
                         f"{tuple(target.shape)}")
    t = target._data
    xp = _xp(t)
    if t.size and not 0 <= ignore_index < C and 0 <= t.min() and t.max() < C:
        return C, class_dim, t.copy(), xp.ones(t.shape, bool)  # every target a class
    valid = t != ignore_index
    if t.size:
        bad = valid & ((t < 0) | (t >= C))
        if bool(bad.any()):
            raise IndexError(f"{op}: target class index {int(t[bad].ravel()[0])} is out of "
                             f"bounds: expected values in [0, {C}) (C = {C} classes) or "
                             f"ignore_index ({ignore_index})")
    return C, class_dim, xp.where(valid, t, 0), valid


def _check_int_target(op, target, input):
    _check_tensor(op, "target", target)
    if target.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: expected a target of integer class indices (int64) of shape "
                           f"{_index_shape(input)}, got {target.dtype} of shape "
                           f"{tuple(target.shape)}")


def _index_shape(input):
    return (input.shape[0],) + tuple(input.shape[2:]) if input.ndim >= 2 else ()


@_quiet
def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """−w_t log p_t for log-probabilities ``input`` (N, C, d1, ...) and class indices
    ``target`` (N, d1, ...) (seed 004 §2.1's NLL with a categorical p).

    'mean' divides by Σ w_t over the non-ignored targets, as PyTorch does.
    """
    op = "nll_loss"
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    _check_tensor(op, "input", input)
    _check_int_target(op, target, input)
    C, class_dim, safe_t, valid = _class_targets(op, input, target, ignore_index)
    xp = _xp(safe_t)
    idx = _make(xp.expand_dims(safe_t, class_dim).astype(np.int64))
    picked = -input.gather(class_dim, idx).squeeze(class_dim)
    w = _class_weight(weight, C, input, op)
    w_t = _make(valid.astype(input.dtype))
    if w is not None:
        w_t = w[_make(safe_t.astype(np.int64))] * w_t
    loss = picked * w_t
    if reduction == "mean":
        return loss.sum() / w_t.sum()
    return loss.sum() if reduction == "sum" else loss


class CrossEntropy(Function):
    """Fused log-softmax + cross-entropy, one loss per sample:

    ℓ_n = Σ_c a_nc (lse_n − x_nc), lse_n = log Σ_c e^(x_nc) (max-shifted),
    ∂ℓ_n/∂x_nc = A_n softmax(x)_nc − a_nc, A_n = Σ_c a_nc,

    where a_nc = w_c q_nc holds the (smoothed, weighted) target distribution; with
    one-hot q this is softmax regression's ∇ = −(e_t − ŷ) (seed 002 §1.6). A one-hot
    target is passed sparse, as ``index`` (class positions) and ``w_t`` (their weights):
    ℓ_n = w_t (lse_n − x_nt), without a dense (N, C) array.

    ``reduction`` 'sum' or 'mean' (Σ_n ℓ_n / ``denom``) is done in the same node, with the
    numbers of the sum and division nodes it replaces (whose four forward and backward nodes
    cost ~0.15 ms a step of small Tensor work).
    """

    def forward(ctx, x, class_dim, a=None, index=None, w_t=None, reduction="none", denom=None):
        ctx.compiled = _compiled_rows(x, class_dim, a)
        if ctx.compiled:  # kernels/numba_cross_entropy.py: the same formula to round-off
            from ..kernels.numba_cross_entropy import cross_entropy_forward
            target = index.reshape(-1)
            loss, s = cross_entropy_forward(x, target, w_t.astype(np.float32, copy=False))
            ctx.class_dim = class_dim
            ctx.save_for_backward(x, s, None, index, w_t[:, None])
        else:
            with E.quiet_fp():  # ±inf logits: IEEE results without warnings, as PyTorch
                loss = ctx._forward(_xp(x), x, class_dim, a, index, w_t)
        ctx.reduction, ctx.loss_shape, ctx.denom = reduction, loss.shape, denom
        if reduction == "none":
            return loss
        from .reduce import sum_array
        total = sum_array(loss, tuple(range(loss.ndim)))
        if reduction == "sum":
            return total
        denom = _xp(loss).asarray(denom, dtype=loss.dtype)
        if denom:
            return np.true_divide(total, denom)
        with E.quiet_fp():  # no valid target: 0/0 = NaN, as PyTorch
            return np.true_divide(total, denom)

    def _loss_grad(ctx, g):
        """∂L/∂ℓ from the gradient of the node's output: the backward of the division and the
        sum it holds (the same numbers as their nodes). A Tensor (a graph is recorded) comes
        back in the per-sample losses' shape; an array of a reduced loss stays 0-d (it
        broadcasts)."""
        if ctx.reduction == "none":
            return g
        recording = isinstance(g, Tensor)
        xp = _xp(g._data if recording else g)
        if ctx.reduction == "mean":
            denom = xp.asarray(ctx.denom, dtype=g.dtype)
            g = g / (_make(denom) if recording else denom)
        return g.expand(ctx.loss_shape) if recording else g

    def _forward(ctx, xp, x, class_dim, a, index, w_t):
        shifted = x - x.max(axis=class_dim, keepdims=True)
        e = xp.exp(shifted)
        total = e.sum(axis=class_dim, keepdims=True)
        lse = xp.log(total)
        if a is None:
            A = xp.expand_dims(w_t, class_dim)
            loss = (A * (lse - xp.take_along_axis(shifted, index, class_dim))).squeeze(class_dim)
        else:
            A = a.sum(axis=class_dim, keepdims=True)
            loss = (a * (lse - shifted)).sum(axis=class_dim)
        e /= total  # softmax, kept for the backward
        ctx.class_dim = class_dim
        ctx.save_for_backward(x, e, a, index, A)
        return loss

    def backward(ctx, g):
        x, s, a, index, A = ctx.saved_tensors
        cd = ctx.class_dim
        if is_grad_enabled():  # recording: the same formula in Tensor ops
            gd = ctx._loss_grad(g).unsqueeze(cd)
            if a is None:
                xp = _xp(x._data)
                classes = xp.arange(x.shape[cd]).reshape((-1,) + (1,) * (x.ndim - cd - 1))
                a = _make((index._data == classes) * A._data)
            return gd * (softmax(x, cd) * A - a)
        xp = _xp(s._data)
        g = ctx._loss_grad(g._data)
        gd = xp.expand_dims(g, cd) if g.ndim else g
        gA = gd * A._data
        if ctx.compiled:
            from ..kernels.numba_cross_entropy import cross_entropy_backward
            ga = np.ascontiguousarray(gA.reshape(-1), dtype=np.float32)
            return _make(cross_entropy_backward(s._data, index._data.reshape(-1), ga))
        grad = s._data * gA
        if a is None:  # subtract g·w_t at the target class
            picked = xp.take_along_axis(grad, index._data, cd) - gA
            xp.put_along_axis(grad, index._data, picked, cd)
        else:
            grad -= a._data * gd
        return _make(grad)


def _compiled_rows(x, class_dim, a) -> bool:
    """Whether ``CrossEntropy`` runs as the compiled row loops: the kernel backend is Numba
    and the input is C-contiguous float32 NumPy logits (N, C ≥ 1) with class-index targets."""
    if a is not None or type(x) is not np.ndarray or x.dtype != np.float32 or x.ndim != 2 or \
            class_dim != 1 or x.shape[1] == 0 or not x.flags.c_contiguous:
        return False
    from .. import kernels
    return kernels.get_backend() == "numba"


@_quiet
def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Categorical cross-entropy of logits: −Σ_c w_c y_c log softmax(x)_c (seed 000 §4.4,
    seed 004 §2.1), with PyTorch's semantics for every combination:

    * ``target`` of class indices (int64, shape (N, d1, ...) for input (N, C, d1, ...), or ()
      for input (C,)); ``ignore_index`` entries contribute nothing; 'mean' divides by Σ w_t.
    * ``target`` of class probabilities (float, the input's shape: one-hot or soft);
      'mean' divides by the number of samples N·d1·...
    * ``label_smoothing`` ε mixes the target with the uniform distribution: (1 − ε)q + ε/C.

    One fused node (log-sum-exp, never log 0): logits of 1e4 are fine in float32.
    """
    op = "cross_entropy"
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    _check_tensor(op, "input", input)
    _check_tensor(op, "target", target)
    if input.dtype.kind not in "fV":
        raise RuntimeError(f"{op}: input must be floating point logits, got {input.dtype}")
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dimension (C,) or (N, C, ...), got a "
                         "0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    class_dim = 1 if input.ndim >= 2 else 0
    C = input.shape[class_dim]
    w = _class_weight(weight, C, input, op)
    wshape = (C,) + (1,) * (input.ndim - class_dim - 1)
    xp = _xp(input._data)
    eps = float(label_smoothing)
    if target.dtype.kind in "fV":
        if ignore_index != -100:
            raise RuntimeError(f"{op}: ignore_index is not supported for floating point "
                               "(class probability) targets")
        if tuple(target.shape) != tuple(input.shape):
            raise ValueError(
                f"{op}: a floating target is read as class probabilities and must have the "
                f"input's shape {tuple(input.shape)}, got {tuple(target.shape)}; for class "
                f"indices pass an int64 tensor of shape {_index_shape(input)}")
        target = target if target.dtype == input.dtype else cast(target, input.dtype)
        if target.requires_grad or (w is not None and w.requires_grad):
            return _soft_cross_entropy(input, target, w, wshape, class_dim, C, eps, reduction)
        q = target._data * (1 - eps) + eps / C if eps else target._data
        a = q * w._data.reshape(wshape) if w is not None else q
        denom = input.numel() // C if C else 0
    else:
        if target.dtype.kind not in "iu":
            raise RuntimeError(f"{op}: target must hold int64 class indices of shape "
                               f"{_index_shape(input)} or float class probabilities of shape "
                               f"{tuple(input.shape)}, got {target.dtype}")
        C, class_dim, safe_t, valid = _class_targets(op, input, target, ignore_index)
        dt = input.dtype
        w_t = valid.astype(dt) if w is None else w._data[safe_t] * valid
        index = xp.expand_dims(safe_t, class_dim).astype(np.int64, copy=False)
        denom = w_t.sum()
        if not eps:  # one-hot: the sparse form
            return CrossEntropy.apply(input, class_dim=class_dim, index=index, w_t=w_t,
                                      reduction=reduction, denom=denom)
        onehot = index == xp.arange(C).reshape(wshape)
        a = onehot * xp.expand_dims(w_t * dt.type(1 - eps), class_dim)
        wc = xp.full(wshape, 1, dt) if w is None else w._data.reshape(wshape)
        a += wc * xp.expand_dims(valid, class_dim) * dt.type(eps / C)
    # 'mean' divides by Σ w_t (indices) or by the number of samples (probabilities)
    return CrossEntropy.apply(input, class_dim=class_dim, a=a.astype(input.dtype, copy=False),
                              reduction=reduction, denom=denom)


def _soft_cross_entropy(input, target, w, wshape, class_dim, C, eps, reduction):
    """Composite form for a target (or weight) that needs a gradient itself."""
    tgt = target * (1.0 - eps) + eps / C if eps else target
    terms = log_softmax(input, class_dim) * tgt
    if w is not None:
        terms = terms * w.reshape(wshape)
    return reduce_loss(-terms.sum(class_dim), reduction, "cross_entropy")


@_quiet
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """KL(P‖Q) pointwise as y(ln y − x) for ``input`` x = ln q and ``target`` y = p (0 where
    y = 0), or e^y(y − x) with ``log_target``; 'batchmean' divides the sum by the batch size
    (the true KL per sample), 'mean' by the number of elements (PyTorch's default)."""
    op = "kl_div"
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op, _REDUCTIONS + ("batchmean",))
    target = _check_same_shape(op, input, target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        pos = target > 0
        safe = E.where(pos, target, 1.0)
        loss = E.where(pos, target * safe.log(), 0.0) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return reduce_loss(loss, reduction, op)


# ----------------------------------------------------------------------------- regularizers
def sparsity_kl(rho, rho_hat, reduction="sum", eps=1e-6):
    """The sparse autoencoder's penalty Σ_j KL(ρ‖ρ̂_j) (seed 000, Sparse AE:
    J_sparse = J + β Σ_j KL(ρ‖ρ̂_j)), with the Bernoulli KL

        KL(ρ‖ρ̂) = ρ ln(ρ/ρ̂) + (1 − ρ) ln((1 − ρ)/(1 − ρ̂)),

    ``rho`` ρ the target mean activation (a number, e.g. 0.05) and ``rho_hat`` ρ̂_j
    the mean activation of each hidden unit over the batch (``h.mean(0)`` of sigmoid units).
    ρ̂ is clamped to [eps, 1 − eps] so a saturated unit gives a large, finite penalty.
    ``reduction``: 'sum' over units (the notes' form), 'mean' or 'none'.
    """
    op = "sparsity_kl"
    _check_tensor(op, "rho_hat", rho_hat)
    if rho_hat.dtype.kind not in "fV":
        raise RuntimeError(f"{op}: rho_hat must be floating point, got {rho_hat.dtype}")
    rho = float(rho.item() if isinstance(rho, Tensor) else rho)
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"{op}: rho must be a probability in [0, 1], got {rho}")
    r = E.clamp(rho_hat, min=eps, max=1.0 - eps)
    kl = r * 0.0
    if rho > 0:  # 0·ln 0 = 0: a zero ρ or 1 − ρ drops its term
        kl = kl + (math.log(rho) - r.log()) * rho
    if rho < 1:
        kl = kl + (math.log1p(-rho) - (1.0 - r).log()) * (1 - rho)
    return reduce_loss(kl, reduction, op)


def _params(params, op):
    if isinstance(params, Tensor):
        return [params]
    out = list(params)
    for p in out:
        _check_tensor(op, "every parameter", p)
    if not out:
        raise ValueError(f"{op}: got no parameters")
    return out


def l1_penalty(params, lambd=1.0):
    """ℓ¹ weight penalty g(φ) = λ Σ_i |φ_i| over all ``params`` (a Tensor or an iterable such as
    ``model.parameters()``); gradient λ sign(φ) (seed 004 §4.3.1, seed 001's λ|h|₁ on codes)."""
    ps = _params(params, "l1_penalty")
    total = ps[0].abs().sum()
    for p in ps[1:]:
        total = total + p.abs().sum()
    return total * lambd


def l2_penalty(params, lambd=1.0):
    """ℓ² weight penalty g(φ) = (λ/2) Σ_i φ_i² over all ``params``; gradient λφ, the same
    update as ``SGD(weight_decay=λ)`` (seed 004 §4.3.1)."""
    ps = _params(params, "l2_penalty")
    total = (ps[0] * ps[0]).sum()
    for p in ps[1:]:
        total = total + (p * p).sum()
    return total * (0.5 * lambd)


@_quiet
def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Poisson negative log-likelihood of counts y with rate λ: λ − y ln λ, given
    ln λ (``log_input``: e^x − y x) or λ (x − y ln(x + ε)); ``full`` adds Stirling's
    ln y! ≈ y ln y − y + ½ ln(2π y) where y > 1."""
    op = "poisson_nll_loss"
    _check_tensor(op, "input", input)
    _check_tensor(op, "target", target)
    reduction = _legacy(size_average, reduce, reduction)
    _check_reduction(reduction, op)
    if log_input:
        loss = E.exp(input) - target * input
    else:
        loss = input - target * E.log(input + eps)
    if full:
        stirling = target * E.log(target) - target + 0.5 * E.log(2 * math.pi * target)
        loss = loss + stirling.masked_fill(target <= 1, 0.0)
    return reduce_loss(loss, reduction, op)
