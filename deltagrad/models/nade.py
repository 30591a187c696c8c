"""NADE, the neural autoregressive density estimator (Larochelle & Murray 2011; SYLLABUS §17,
seed 003 "Autoregressive models").

Notation of the notes: x ∈ {0,1}^n, p(x) = Π_i p(x_i | x_<i), with one hidden layer of size
d whose weights are tied across the n conditionals:

    h_i = σ(W_{:,<i} x_<i + b)              W (d × n), b (d): the hidden bias
    p(x_i = 1 | x_<i) = σ(V_i · h_i + c_i)   V (n × d), c (n): the output bias

(so here b is NADE's hidden bias and c its output bias, as in the notes; the RBM's b and c
are its visible and hidden biases). The pre-activations share a running sum,
a_1 = b, a_{i+1} = a_i + W_{:,i} x_i, so all n conditionals cost O(nd) per example
rather than O(n²d): here one fused op (:class:`NADEConditionals`) runs that sum over the
positions for the whole batch, and the same sum in reverse for the gradient.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend, nn
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..nn import functional as F
from ..tensor import _make, rand, zeros
from .binary_density import bernoulli_log_prob, binary_batch

__all__ = ["NADE", "nade_logits"]


# ----------------------------------------------------------------------------- the conditionals
def _sigmoid_(xp, a):
    """σ(a) in place (scipy's expit on the CPU: one pass, no overflow)."""
    if xp is np:
        from scipy.special import expit
        return expit(a, out=a)
    a[...] = 1 / (1 + xp.exp(-a))
    return a


class NADEConditionals(Function):
    """Logits y (N, n) of p(x_i = 1 | x_<i) from x (N, n), W (d, n), b (d), V (n, d), c (n),
    with the pre-activations laid out position-major, (n, N, d), so the running sum
    a_{i+1} = a_i + W_{:,i} x_i is one row-add per position; the backward runs the same sum
    in reverse (∂ℓ/∂W_{:,k} = Σ_{i>k} δ_i x_k with δ_i = ∂ℓ/∂a_i)."""

    def forward(ctx, x, W, b, V, c):
        xp = backend.array_module(x)
        n = x.shape[1]
        A = xp.empty((n, x.shape[0], W.shape[0]), dtype=W.dtype)
        A[0] = b
        xp.multiply(x.T[:-1, :, None], W.T[:-1, None, :], out=A[1:])   # W_{:,k} x_k at k+1
        for i in range(1, n):                                            # a_i = b + Σ_{k<i}
            A[i] += A[i - 1]
        Hs = _sigmoid_(xp, A)                                            # h_i = σ(a_i)
        ctx.hs = Hs
        ctx.save_for_backward(x, W, b, V, c)
        return (Hs @ V[:, :, None])[:, :, 0].T + c                       # V_i · h_i + c_i

    def release(self):
        super().release()
        self.hs = None

    def backward(ctx, g):
        x, W, b, V, c = ctx.saved_tensors
        if is_grad_enabled():           # create_graph=True: differentiate the Tensor-op form
            from ..autograd import grad as autograd_grad
            need = ctx.needs_input_grad
            inputs = (x, W, b, V, c)
            with enable_grad():
                out = _logits_by_ops(*inputs)
            wanted = [t for t, nd in zip(inputs, need) if nd]
            got = iter(autograd_grad([out], wanted, [g], create_graph=True, allow_unused=True))
            return tuple(next(got) if nd else None for nd in need)
        xa, Wa, Va, ga, Hs = x._data, W._data, V._data, g._data, ctx.hs
        xp = backend.array_module(xa)
        gT = ga.T                                                        # (n, N)
        dV = (gT[:, None, :] @ Hs)[:, 0, :]                              # Σ_N g_i h_i
        D = Hs * (1 - Hs)
        D *= gT[:, :, None]
        D *= Va[:, None, :]                                              # δ_i = ∂ℓ/∂a_i
        db = D.sum((0, 1))
        for i in range(len(D) - 2, 0, -1):                               # Σ_{j≥i} δ_j
            D[i] += D[i + 1]
        dW = xp.zeros_like(Wa)
        dW[:, :-1] = (xa.T[:-1, None, :] @ D[1:])[:, 0, :].T            # Σ_{i>k} δ_i x_k
        dx = None
        if ctx.needs_input_grad[0]:
            dx = xp.zeros_like(xa)
            dx[:, :-1] = (D[1:] @ Wa.T[:-1, :, None])[:, :, 0].T
        return (None if dx is None else _make(dx), _make(dW), _make(db), _make(dV),
                _make(ga.sum(0)))


def _logits_by_ops(x, W, b, V, c):
    """The same logits composed of Tensor ops (an exclusive cumulative sum over positions):
    the reference of the fused op, and its differentiable backward."""
    contrib = x.unsqueeze(-1) * W.t()                   # (N, n, d): W_{:,k} x_k
    a = contrib.cumsum(1) - contrib + b                 # exclusive running sum + b
    return (F.sigmoid(a) * V).sum(-1) + c


def nade_logits(x, W, b, V, c):
    """y_i = V_i · σ(b + Σ_{k<i} W_{:,k} x_k) + c_i for every i, (N, n), in O(n d) per
    example (the fused :class:`NADEConditionals`)."""
    return NADEConditionals.apply(x, W, b, V, c)


def _positive_int(value, name, op):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


class NADE(nn.Module):
    """``NADE(input_dim, hidden_dim)`` for binary vectors, with the ordering x_1..x_n.

    ``forward(x)`` gives the n logits y_i of p(x_i = 1 | x_<i) (N, n); :meth:`log_prob`
    the exact ln p(x) in nats per example; :meth:`sample` draws pixel by pixel.
    W and V start U(−1/√fan_in, 1/√fan_in) (fan_in n and d), b and c at zero.
    """

    def __init__(self, input_dim, hidden_dim, dtype=None):
        super().__init__()
        self.input_dim = _positive_int(input_dim, "input_dim", "NADE")
        self.hidden_dim = _positive_int(hidden_dim, "hidden_dim", "NADE")
        n, d = self.input_dim, self.hidden_dim
        self.W = nn.Parameter((rand(d, n, dtype=dtype) * 2 - 1) * (1 / math.sqrt(n)))
        self.b = nn.Parameter(zeros(d, dtype=dtype))
        self.V = nn.Parameter((rand(n, d, dtype=dtype) * 2 - 1) * (1 / math.sqrt(d)))
        self.c = nn.Parameter(zeros(n, dtype=dtype))

    def extra_repr(self):
        return f"input_dim={self.input_dim}, hidden_dim={self.hidden_dim}"

    def _x(self, x, op):
        return binary_batch(x, self.input_dim, f"NADE.{op}", self.W.dtype,
                            device=self.W.device)

    def forward(self, x):
        """Logits y_i = V_i · σ(a_i) + c_i with a_i = b + Σ_{k<i} W_{:,k} x_k, (N, n)."""
        return nade_logits(self._x(x, "forward"), self.W, self.b, self.V, self.c)

    def log_prob(self, x):
        """ln p(x) = Σ_i ln p(x_i | x_<i) in nats, one value per example (N,)."""
        x = self._x(x, "log_prob")
        return bernoulli_log_prob(nade_logits(x, self.W, self.b, self.V, self.c), x)

    def sample(self, n, generator=None):
        """n samples (n, input_dim) drawn pixel by pixel: x_i ~ p(x_i | x_<i), each draw
        updating the running pre-activation a ← a + W_{:,i} x_i."""
        n = _positive_int(n, "n", "NADE.sample")
        rng = backend.rng(generator)
        with no_grad():
            W, b, V, c = (backend.to_numpy(p.detach()._data) for p in
                          (self.W, self.b, self.V, self.c))
        x = np.zeros((n, self.input_dim), W.dtype)
        a = np.broadcast_to(b, (n, self.hidden_dim)).copy()
        u = rng.random((n, self.input_dim), dtype=W.dtype)
        h = np.empty_like(a)
        for i in range(self.input_dim):
            np.copyto(h, a)
            y = _sigmoid_(np, h) @ V[i] + c[i]
            x[:, i] = u[:, i] < _sigmoid_(np, y)
            a += np.outer(x[:, i], W[:, i])
        return _make(x)
