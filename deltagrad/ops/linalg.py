"""Matrix products: ``matmul`` (batched, broadcast, vector cases) and the fused ``linear``."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor, _make
from .elementwise import _xp
from ..tensor import result_type
from .elementwise import cast


class MatMul(Function):
    """C = A B for inputs of rank >= 2 (batch dims broadcast): ∂L/∂A = G Bᵀ, ∂L/∂B = Aᵀ G."""

    def forward(ctx, a, b):
        ctx.save_for_backward(b if ctx.needs_input_grad[0] else None,
                              a if ctx.needs_input_grad[1] else None)
        return _xp(a).matmul(a, b)

    def backward(ctx, g):
        b, a = ctx.saved_tensors
        ga = MatMul.apply(g, b.mT) if b is not None else None
        gb = MatMul.apply(a.mT, g) if a is not None else None
        return ga, gb


def _check(op, a, b):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{op}: expected Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise RuntimeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                           f"multiplied ({ka} != {kb} in the contracted dimension)")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
        except ValueError:
            raise RuntimeError(f"{op}: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} "
                               "do not broadcast") from None


def matmul(a, b):
    """The matrix product with NumPy/PyTorch rules for 1-d arguments and batch broadcasting."""
    _check("matmul", a, b)
    if a.dtype != b.dtype:
        dt = result_type(a, b)
        a, b = cast(a, dt), cast(b, dt)
    if a.ndim >= 2 and b.ndim >= 2:
        return MatMul.apply(a, b)
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    out = MatMul.apply(a2, b2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    if a.ndim == 1:
        out = out.squeeze(-1 if b.ndim == 1 else -2)
    return out


def mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {tuple(a.shape)} and "
                           f"{tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise RuntimeError(f"bmm: expected 3-D tensors with the same batch size, got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def mv(a, v):
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got shapes {tuple(a.shape)} "
                           f"and {tuple(v.shape)}")
    return matmul(a, v)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return matmul(a, b)


inner = vdot = dot


def outer(a, b):
    return a.reshape(-1, 1) * b.reshape(1, -1)


ger = outer


class Linear(Function):
    """y = x Wᵀ + b for x of shape (..., in), W of shape (out, in) (PyTorch's layout).

    Backward (the notes' δ form): ∂L/∂x = δ W, ∂L/∂W = δᵀ x, ∂L/∂b = Σ_batch δ.
    """

    def forward(ctx, x, w, b=None):
        need = ctx.needs_input_grad
        ctx.save_for_backward(x if len(need) > 1 and need[1] else None,
                              w if need and need[0] else None)
        # one GEMM on (N·…, in): NumPy's stacked matmul loops over the batch (~5× slower)
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        # a non-contiguous x (a batch-first RNN output) was just copied: keep the copy for
        # ∂L/∂W rather than copying again (x itself stays saved for the version check)
        ctx.x2 = x2 if len(need) > 1 and need[1] and not _xp(x).may_share_memory(x2, x) \
            else None
        n_in, n_out = w.shape[1], w.shape[0]
        if b is not None and n_out > 2 * n_in and x2.shape[0] > 1:
            # an expanding layer: the bias rides in the GEMM as a column of ones, [x | 1]·[W | b]ᵀ,
            # instead of one more pass over the (larger) output
            xp = _xp(x)
            xa = xp.empty((x2.shape[0], n_in + 1), x.dtype)
            xa[:, :n_in] = x2
            xa[:, n_in] = 1
            out = xa @ xp.concatenate([w, b[:, None]], 1).T
        else:
            out = x2 @ w.T
            if b is not None:
                out += b
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (n_out,))

    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gw = gb = None
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gx = None
        if w is not None:
            gx = MatMul.apply(g2, w) if g.ndim >= 2 else matmul(g, w)
            if g.ndim > 2:
                gx = gx.reshape(tuple(g.shape[:-1]) + (w.shape[-1],))
        if x is not None:
            if ctx.x2 is not None and not is_grad_enabled():  # (double backward needs x's graph)
                x2 = _make(ctx.x2)
            else:
                x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
            gw = MatMul.apply(g2.mT, x2)
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            gb = g2.sum(0)
        return gx, gw, gb

    def release(self):
        super().release()
        self.x2 = None


def linear(input, weight, bias=None):
    """``F.linear``: x Wᵀ + b."""
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        raise RuntimeError(f"linear: input shape {tuple(input.shape)} does not match weight shape "
                           f"{tuple(weight.shape)} (expected input[..., {weight.shape[-1]}])")
    if weight.ndim != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                           f"{tuple(weight.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"linear: input dtype {input.dtype} and weight dtype {weight.dtype} "
                           "differ; convert the input with .to(weight.dtype)")
    if bias is None:
        return Linear.apply(input, weight)
    if tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"linear: bias shape {tuple(bias.shape)} does not match "
                           f"out_features {weight.shape[0]}")
    return Linear.apply(input, weight, bias)
