"""Batch, layer and group normalisation: one fused operation over different sets of axes.

All three standardise x over a set of axes A and apply a per-feature affine map
(notes 004 §4.3.2, Batch Normalization, with m the number of values reduced):

    μ = (1/m) Σ_A x,   σ² = (1/m) Σ_A (x − μ)²,   x̂ = (x − μ)/√(σ² + ε),   y = γ ⊙ x̂ + β

batch_norm reduces over the batch and spatial axes (one μ per channel), layer_norm over the
trailing ``normalized_shape`` axes (one μ per sample), group_norm over each group of
channels and the spatial axes. The backward is fused, with δ = ∂L/∂y:

    ∂L/∂x̂ = δ ⊙ γ,   ∂L/∂γ = Σ δ ⊙ x̂,   ∂L/∂β = Σ δ,
    ∂L/∂x = (1/√(σ² + ε)) (∂L/∂x̂ − mean_A(∂L/∂x̂) − x̂ ⊙ mean_A(∂L/∂x̂ ⊙ x̂)).

When μ and σ² are fixed numbers (batch_norm in eval mode: the running statistics) the last
line is just ∂L/∂x = ∂L/∂x̂ / √(σ² + ε).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor, _make
from .elementwise import _xp
from .. import kernels
from .reduce import _LONG, sum_array

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "rms_norm",
           "local_response_norm"]


class Normalize(Function):
    """y = γ ⊙ (x − μ)/√(σ² + ε) + β with μ, σ² over ``axes`` (or given: ``stats``).

    Inputs are x, then γ if ``has_weight``, then β if there is a bias; γ and β are already
    shaped to broadcast against x. With ``running=(mean, var)`` arrays and batch statistics,
    those are updated in place: r ← (1 − momentum) r + momentum · s, with the unbiased
    variance m/(m − 1) σ² (PyTorch's convention). Saves x (by reference), γ, μ and 1/√(σ² + ε).
    """

    def forward(ctx, x, *affine, axes, eps, has_weight, stats=None, running=None,
                momentum=0.1):
        xp = _xp(x)
        w = affine[0] if has_weight else None
        b = affine[-1] if len(affine) > has_weight else None
        ctx.axes, ctx.eps, ctx.has_weight, ctx.has_bias = axes, eps, has_weight, \
            len(affine) > has_weight
        ctx.batch_stats = stats is None
        ctx.fused = stats is None and running is None and _fused_layer_norm(x, w, b, axes)
        ctx.fused_batch = stats is None and compiled_batch_norm(x, w, b, axes)
        if ctx.fused_batch:  # per-channel compiled loops (kernels/numba_batch_norm.py)
            from ..kernels.numba_batch_norm import batch_norm_forward
            n, c = x.shape[:2]
            out, mean, var, rstd = batch_norm_forward(
                x.reshape(n, c, -1), None if w is None else w.reshape(-1),
                None if b is None else b.reshape(-1), eps)
            if running is not None:
                m = x.size // c
                rm, rv = running
                rm *= 1.0 - momentum
                rm += momentum * mean
                rv *= 1.0 - momentum
                rv += (momentum * m / (m - 1)) * var
            kept = (1, c) + (1,) * (x.ndim - 2)
            ctx.xhat = None
            ctx.save_for_backward(x, w, mean.reshape(kept), rstd.reshape(kept))
            return out.reshape(x.shape)
        if ctx.fused:  # the compiled row loops (kernels/numba_norm.py), same formulas
            from ..kernels.numba_norm import layer_norm_forward
            d = math.prod(x.shape[x.ndim - len(axes):])
            out, mean, rstd = layer_norm_forward(
                x.reshape(-1, d), None if w is None else w.reshape(-1),
                None if b is None else b.reshape(-1), eps)
            kept = x.shape[:x.ndim - len(axes)] + (1,) * len(axes)
            ctx.xhat, ctx.stats64 = None, (mean, rstd)  # x̂ is recomputed from these
            ctx.save_for_backward(x, w, mean.astype(x.dtype).reshape(kept),
                                  rstd.astype(x.dtype).reshape(kept))
            return out.reshape(x.shape)
        if stats is None:
            mean = sum_array(x, axes, True) * x.dtype.type(mean_size(x.shape, axes) ** -1)
            out = x - mean
            var = _sum_of_products(out, out, axes) / (x.size // max(mean.size, 1))
            if running is not None:
                m = x.size // max(mean.size, 1)
                rm, rv = running
                rm *= 1.0 - momentum
                rm += momentum * mean.reshape(rm.shape)
                rv *= 1.0 - momentum
                rv += (momentum * m / (m - 1)) * var.reshape(rv.shape)
        else:
            mean = stats[0].astype(x.dtype)  # a copy: the running stats may change later
            var = stats[1].astype(x.dtype, copy=False)
            out = None
        rstd = 1.0 / xp.sqrt(var + x.dtype.type(eps))
        xhat = None
        folded = rstd.shape if w is None else np.broadcast_shapes(rstd.shape, w.shape)
        if math.prod(folded) < x.size:  # μ, σ and γ per channel (batch/group norm): fold
            scale = rstd if w is None else rstd * w
            if out is None:
                out = x * scale
                out += (-mean * scale) if b is None else (b - mean * scale)
                b = None
            else:
                out *= scale
        else:  # μ, σ per sample and γ per feature (layer norm): x̂ is kept for the backward
            if out is None:
                out = x - mean
            out *= rstd
            xhat = out
            if w is not None:
                out = out * w
        if b is not None:
            out = out + b if out is xhat else out.__iadd__(b)
        ctx.xhat = xhat if xhat is not out else xhat.copy()
        ctx.save_for_backward(x, w, mean, rstd)
        return out

    def release(self):
        super().release()
        self.xhat = self.stats64 = None

    def backward(ctx, g):
        x, w, mean, rstd = ctx.saved_tensors
        if not is_grad_enabled():
            grads = _normalize_backward_arrays(ctx, g._data, x._data,
                                               None if w is None else w._data,
                                               mean._data, rstd._data)
            return tuple(None if a is None else _make(a) for a in grads)
        # create_graph=True: the same formulas in recorded Tensor operations; μ and σ
        # depend on x, so they are rebuilt as a graph of x
        axes, need = ctx.axes, ctx.needs_input_grad
        if ctx.batch_stats and x.requires_grad:
            mean = x.mean(axes, keepdim=True)
            xc = x - mean
            rstd = ((xc * xc).mean(axes, keepdim=True) + ctx.eps).rsqrt()
            xhat = xc * rstd
        else:
            xhat = (x - mean) * rstd
        gxhat = g * w if w is not None else g
        gx = gw = gb = None
        if need[0]:
            if ctx.batch_stats:
                gx = (gxhat - gxhat.mean(axes, keepdim=True)
                      - xhat * (gxhat * xhat).mean(axes, keepdim=True)) * rstd
            else:
                gx = gxhat * rstd
        if ctx.has_weight and need[1]:
            gw = g * xhat  # the engine sums it back to γ's shape
        if ctx.has_bias and need[-1]:
            gb = g
        return (gx,) + ((gw,) if ctx.has_weight else ()) + ((gb,) if ctx.has_bias else ())


def _fused_layer_norm(x, w, b, axes) -> bool:
    """Whether layer normalisation of ``x`` runs as compiled row loops: the kernel backend is
    Numba, the statistics are over the trailing axes, γ and β (if any) are per feature, and
    the arrays are contiguous float32/float64 NumPy arrays."""
    k = len(axes)
    if type(x) is not np.ndarray or x.dtype not in (np.float32, np.float64) or \
            not x.flags.c_contiguous or not 0 < k < x.ndim or x.size == 0 or \
            axes != tuple(range(x.ndim - k, x.ndim)):
        return False
    for t in (w, b):
        if t is not None and (type(t) is not np.ndarray or t.dtype != x.dtype or
                              t.shape[-k:] != x.shape[-k:] or t.size != math.prod(x.shape[-k:])
                              or not t.flags.c_contiguous):
            return False
    return kernels.get_backend() == "numba"


def compiled_batch_norm(x, w, b, axes) -> bool:
    """Whether batch normalisation of ``x`` with batch statistics runs as the compiled
    per-channel loops: the kernel backend is Numba, the statistics are over the batch and
    spatial axes of a contiguous float32/float64 NumPy array, γ and β (if any) are
    contiguous arrays of one number per channel in x's dtype, and the process may use
    Numba's thread pool."""
    if type(x) is not np.ndarray or x.dtype not in (np.float32, np.float64) or \
            not x.flags.c_contiguous or x.ndim < 2 or x.size == 0 or \
            axes != (0,) + tuple(range(2, x.ndim)):
        return False
    for t in (w, b):
        if t is not None and (type(t) is not np.ndarray or t.dtype != x.dtype or
                              t.size != x.shape[1] or t.ndim != x.ndim - 1 or
                              t.shape[0] != x.shape[1] or not t.flags.c_contiguous):
            return False
    if kernels.get_backend() != "numba":
        return False
    from ..kernels.numba_parallel import usable
    return usable()  # (not in a child forked after the pool started)


def _normalize_backward_arrays(ctx, g, x, w, mean, rstd):
    """The fused backward on arrays (first-order gradients): 2 temporaries, ~11 passes."""
    axes, need = ctx.axes, ctx.needs_input_grad
    if getattr(ctx, "fused_batch", False) and type(g) is np.ndarray and g.dtype == x.dtype:
        from ..kernels.numba_batch_norm import batch_norm_backward
        n, c = x.shape[:2]
        gx, gw, gb = batch_norm_backward(np.ascontiguousarray(g).reshape(n, c, -1),
                                         x.reshape(n, c, -1),
                                         None if w is None else w.reshape(-1),
                                         mean.reshape(-1), rstd.reshape(-1), bool(need[0]))
        return ((None if gx is None else gx.reshape(x.shape),)
                + ((gw.reshape(w.shape) if need[1] else None,) if ctx.has_weight else ())
                + ((gb.reshape(ctx._inputs_meta[-1][0]) if need[-1] else None,)
                   if ctx.has_bias else ()))
    if getattr(ctx, "fused", False) and type(g) is np.ndarray and g.dtype == x.dtype:
        from ..kernels.numba_norm import layer_norm_backward
        d = math.prod(x.shape[x.ndim - len(axes):])
        gx, gw, gb = layer_norm_backward(np.ascontiguousarray(g).reshape(-1, d),
                                         x.reshape(-1, d), *ctx.stats64,
                                         None if w is None else w.reshape(-1), bool(need[0]))
        return ((None if gx is None else gx.reshape(x.shape),)
                + ((gw.reshape(w.shape) if need[1] else None,) if ctx.has_weight else ())
                + ((gb.reshape(ctx._inputs_meta[-1][0]) if need[-1] else None,)
                   if ctx.has_bias else ()))
    xhat = ctx.xhat  # kept by the forward (layer norm), else recomputed
    if xhat is None:
        xhat = x - mean
        xhat *= rstd
    gw = gb = gx = None
    bshape = ctx._inputs_meta[-1][0] if ctx.has_bias else None
    per_stat = tuple(sorted(axes))  # γ or β shaped like the statistics: broadcast over A
    if need[0] and ctx.batch_stats and \
            (w is None or _broadcast_axes(w.shape, x.shape) == per_stat) and \
            (bshape is None or _broadcast_axes(bshape, x.shape) == per_stat):
        # batch norm: γ, β, μ and σ per channel, so mean_A(∂L/∂x̂) = γ Σδ / m and
        # mean_A(∂L/∂x̂ ⊙ x̂) = γ Σ(δ ⊙ x̂) / m, the sums ∂L/∂β and ∂L/∂γ already make:
        # ∂L/∂x = γ/√(σ² + ε) (δ − Σδ/m − x̂ Σ(δ ⊙ x̂)/m), 8 passes instead of 11
        sum_g = sum_array(g, axes, True)
        sum_gxhat = _sum_of_products(g, xhat, axes)
        scale = rstd if w is None else rstd * w
        per_value = scale * x.dtype.type(1 / mean_size(x.shape, axes))
        gx = g * scale
        gx -= xhat * (per_value * sum_gxhat)
        gx -= per_value * sum_g
        gw = sum_gxhat.reshape(w.shape) if ctx.has_weight and need[1] else None
        gb = sum_g.reshape(bshape) if ctx.has_bias and need[-1] else None
        return (gx,) + ((gw,) if ctx.has_weight else ()) + ((gb,) if ctx.has_bias else ())
    if ctx.has_weight and need[1]:
        gw = _sum_of_products(g, xhat, _broadcast_axes(w.shape, x.shape)).reshape(w.shape)
    if ctx.has_bias and need[-1]:
        gb = sum_array(g, _broadcast_axes(bshape, x.shape), True).reshape(bshape)
    if need[0]:
        gxhat = g * w if w is not None else g.copy()
        if ctx.batch_stats:
            m = mean_size(x.shape, axes)
            m1 = sum_array(gxhat, axes, True) * x.dtype.type(1 / m)
            m2 = _sum_of_products(gxhat, xhat, axes) * x.dtype.type(1 / m)
            gxhat -= xhat * m2  # (x̂ may be the forward's: not changed in place)
            gxhat -= m1
        gxhat *= rstd
        gx = gxhat
    return (gx,) + ((gw,) if ctx.has_weight else ()) + ((gb,) if ctx.has_bias else ())


def _broadcast_axes(small_shape, shape):
    """The axes of ``shape`` over which an array of ``small_shape`` was broadcast."""
    lead = len(shape) - len(small_shape)
    return tuple(range(lead)) + tuple(lead + i for i, s in enumerate(small_shape)
                                      if s == 1 and shape[lead + i] != 1)


def mean_size(shape, axes):
    """The number of values each mean over ``axes`` averages."""
    return max(math.prod(shape[i] for i in axes), 1)


def _sum_of_products(a, b, axes):
    """Σ over ``axes`` of a ⊙ b, keeping dims, in one pass without a temporary (einsum; on
    the (rows, features) matrix when the axes are the leading or trailing ones)."""
    xp = _xp(a)
    nd, axes = a.ndim, tuple(axes)
    kept_shape = tuple(1 if i in axes else s for i, s in enumerate(a.shape))
    edge = axes == tuple(range(len(axes))) or axes == tuple(range(nd - len(axes), nd))
    if a.dtype.kind == "V" or (edge and a.dtype.itemsize < 8 and
                               math.prod(a.shape) // math.prod(kept_shape) > _LONG):
        # einsum adds a long leading/trailing axis naively (10⁶ rows: 3e-5 off), and has no
        # bfloat16 ('V') kernel: the blocked sum
        return sum_array(a * b, axes, True)
    if nd > 2 and 0 < len(axes) < nd and a.flags.c_contiguous and b.flags.c_contiguous \
            and a.shape == b.shape:
        if axes == tuple(range(len(axes))):
            a2 = a.reshape(-1, math.prod(a.shape[len(axes):]))
            return xp.einsum("ij,ij->j", a2, b.reshape(a2.shape)).reshape(kept_shape)
        if axes == tuple(range(nd - len(axes), nd)):
            a2 = a.reshape(math.prod(a.shape[:nd - len(axes)]), -1)
            return xp.einsum("ij,ij->i", a2, b.reshape(a2.shape)).reshape(kept_shape)
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[:a.ndim]
    kept = "".join(c for i, c in enumerate(letters) if i not in axes)
    out = xp.einsum(f"{letters},{letters}->{kept}", a, b)
    return out.reshape(tuple(1 if i in axes else s for i, s in enumerate(a.shape)))


def _check_param(op, name, t, shape, input):
    if t is None:
        return
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")
    if tuple(t.shape) != tuple(shape):
        raise RuntimeError(f"{op}: {name} has shape {tuple(t.shape)}, expected {tuple(shape)} "
                           f"for input of shape {tuple(input.shape)}")
    if t.dtype != input.dtype and name in ("weight", "bias"):
        raise RuntimeError(f"{op}: {name} is {t.dtype} but the input is {input.dtype}; "
                           "convert one of them (module.to(dtype) or input.to(dtype))")


def _normalize(x, weight, bias, affine_shape, axes, eps, **kw):
    affine = [t if tuple(t.shape) == affine_shape else t.reshape(affine_shape)
              for t in (weight, bias) if t is not None]
    return Normalize.apply(x, *affine, axes=axes, eps=eps, has_weight=weight is not None, **kw)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation over (N, C, *) input: statistics per channel over N and *.

    In training the batch's μ and σ² are used (and the running statistics, if given, are
    updated in place); otherwise the running statistics are.
    """
    op = "batch_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"{op}: expected input of shape (N, C, *), got {tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param(op, name, t, (c,), input)
    axes = (0,) + tuple(range(2, input.ndim))
    affine_shape = (c,) + (1,) * (input.ndim - 2)
    if training:
        if not eps >= 0:  # ε < 0: √(σ² + ε) of a near-constant channel is NaN
            raise ValueError(f"{op}: eps must be non-negative during training, but got {eps} "
                             "(ε = 0 is the notes' exact formula; PyTorch also refuses 0)")
        if input.numel() // max(c, 1) <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {tuple(input.shape)}")
        if (running_mean is None) != (running_var is None):
            raise ValueError(f"{op}: give both running_mean and running_var, or neither")
        running = None if running_mean is None else (running_mean._data, running_var._data)
        out = _normalize(input, weight, bias, affine_shape, axes, eps, running=running,
                         momentum=float(momentum))
        if running is not None:
            running_mean._version += 1
            running_var._version += 1
        return out
    if running_mean is None or running_var is None:
        raise ValueError(f"{op}: running_mean and running_var must be defined in evaluation "
                         "mode (training=False)")
    stats = (running_mean._data.reshape(affine_shape), running_var._data.reshape(affine_shape))
    return _normalize(input, weight, bias, affine_shape, axes, eps, stats=stats)


def trailing_shape(op, input, normalized_shape) -> tuple:
    """``normalized_shape`` as a tuple, checked to be the input's trailing dims."""
    if isinstance(normalized_shape, numbers.Integral):
        normalized_shape = (normalized_shape,)
    shape = tuple(int(s) for s in normalized_shape)
    k = len(shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != shape:
        raise RuntimeError(f"{op}: given normalized_shape={list(shape)}, expected input with "
                           f"shape [*, {', '.join(map(str, shape))}], but got input of size "
                           f"{list(input.shape)}")
    return shape


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Layer normalisation: statistics per sample over the trailing ``normalized_shape``."""
    op = "layer_norm"
    shape = trailing_shape(op, input, normalized_shape)
    k = len(shape)
    _check_param(op, "weight", weight, shape, input)
    _check_param(op, "bias", bias, shape, input)
    axes = tuple(range(input.ndim - k, input.ndim))
    return _normalize(input, weight, bias, shape, axes, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Group normalisation (Wu & He 2018): the C channels of (N, C, *) input form
    ``num_groups`` groups; statistics per sample and group over its channels and *."""
    op = "group_norm"
    if input.ndim < 2:
        raise RuntimeError(f"{op}: expected input of shape (N, C, *), got {tuple(input.shape)}")
    n, c = input.shape[0], input.shape[1]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"{op}: expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {list(input.shape)} and "
                           f"num_groups={num_groups}")
    _check_param(op, "weight", weight, (c,), input)
    _check_param(op, "bias", bias, (c,), input)
    if input.numel() // num_groups == 1:  # PyTorch's check: a single value to normalise
        raise ValueError(f"{op}: expected more than 1 value per group when training, got "
                         f"input size {list(input.shape)} and num_groups={num_groups}")
    grouped = input.reshape(n, num_groups, c // num_groups, -1)
    out = _normalize(grouped, weight, bias, (num_groups, c // num_groups, 1), (2, 3), eps)
    return out.reshape(tuple(input.shape))


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Instance normalisation (Ulyanov et al. 2016): every (sample, channel) of (N, C, *)
    input standardised over its spatial dims * (group_norm with one channel per group).

    With running statistics given, training updates them with the batch average of the
    per-instance μ and unbiased σ²; ``use_input_stats=False`` normalises with them instead."""
    op = "instance_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"{op}: expected input of shape (N, C, *) with at least one spatial "
                         f"dimension, got {tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        _check_param(op, name, t, (c,), input)
    if not use_input_stats:
        return batch_norm(input, running_mean, running_var, weight, bias, False, momentum, eps)
    spatial = input.numel() // max(input.shape[0] * c, 1)
    if spatial <= 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size "
                         f"{list(input.shape)}")
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: give both running_mean and running_var, or neither")
    if running_mean is not None:
        x = input._data.reshape(input.shape[0], c, -1)
        xp = _xp(x)
        mean = x.mean(axis=(0, 2))
        var = x.var(axis=2, ddof=1).mean(axis=0)
        running_mean._data[...] = (1 - momentum) * running_mean._data + momentum * mean
        running_var._data[...] = (1 - momentum) * running_var._data + momentum * xp.asarray(var)
        running_mean._version += 1
        running_var._version += 1
    return group_norm(input, c, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """Root-mean-square normalisation (Zhang & Sennrich 2019) over the trailing
    ``normalized_shape``: y = x / √(mean(x²) + ε) ⊙ γ (ε defaults to the dtype's eps)."""
    op = "rms_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    shape = trailing_shape(op, input, normalized_shape)
    k = len(shape)
    _check_param(op, "weight", weight, shape, input)
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    axes = tuple(range(input.ndim - k, input.ndim))
    out = input * ((input * input).mean(axes, keepdim=True) + eps).rsqrt()
    return out if weight is None else out * weight


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalisation across channels (Krizhevsky et al. 2012):
    b_c = a_c / (k + α/n · Σ_{c' ∈ window(c)} a_{c'}²)^β, a window of n = ``size`` channels
    (⌊n/2⌋ before c, ⌊(n−1)/2⌋ after, zeros beyond the edges)."""
    op = "local_response_norm"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} "
                         "dimensions)")
    if not isinstance(size, numbers.Integral) or size < 1:
        raise ValueError(f"{op}: size must be a positive int, got {size!r}")
    if input.numel() == 0:
        return input.clone()
    from .shape import pad
    c = input.shape[1]
    squares = (input * input).movedim(1, -1)
    padded = pad(squares, (size // 2, (size - 1) // 2)).movedim(-1, 1)
    window = padded.narrow(1, 0, c)
    for i in range(1, size):
        window = window + padded.narrow(1, i, c)
    return input / (window * (alpha / size) + k) ** beta
