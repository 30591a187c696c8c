"""Cross-entropy of float32 logits with class-index targets as compiled row loops
(``ops/loss.py``'s ``CrossEntropy`` is the readable reference).

For logits x (N, C), targets t_n and per-sample weights w_n (0 for an ignored target):

    forward:   m_n = max_c x_nc,  Z_n = Σ_c e^(x_nc − m_n),  lse_n = m_n + log Z_n,
               ℓ_n = w_n (lse_n − x_nt),  softmax s_nc = e^(x_nc − m_n) / Z_n (kept);
    backward:  ∂L/∂x_nc = g_n w_n (s_nc − [c = t_n]).

NumPy makes about eight passes over the (N, C) logits for the forward (max, subtract, exp,
sum, log, gather, divide) and, along a short class axis, its reductions dominate. Here each
row is read twice while it is in cache (the maximum, then e^t with the sum), and written once
as the softmax. e^t is
``numba_exp.exp_nonpositive`` (t = x − m ≤ 0) evaluated in float64 and rounded once; the
rest is float32 arithmetic like the reference's (the row sum in vector lanes, the softmax as
e^t times 1/Z: within an ulp of NumPy's e^t/Z). The backward is the reference's two float32
operations (s·g w, then − g w at the target), in one pass. One thread: a row loop of this
size is shorter than a wake-up of Numba's pool (``numba_parallel.py``).

NaN and ±∞ give what the NumPy path gives: a row holding NaN or +∞ has a NaN loss and a
NaN softmax (NaN − m, ∞ − ∞), and a row of only −∞ too (−∞ − (−∞)).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .numba_exp import exp_nonpositive

__all__ = ["cross_entropy_forward", "cross_entropy_backward"]

# "reassoc" lets the row sum run as a vector (tree) sum -- only its last bits depend on the
# order, as with NumPy's pairwise sum -- and "contract" fuses multiply-adds; no "nnan"/"ninf":
# NaN and ±∞ keep their IEEE behaviour
_OPTIONS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract", "reassoc"})


@njit(**_OPTIONS)
def _forward(x, target, weight, loss, softmax):
    n, c = x.shape
    maxima = np.empty(n, np.float32)  # a loop of its own: fused with the next, LLVM
    for i in range(n):                # vectorises neither (measured 2× slower)
        row = x[i]
        m = np.float32(-np.inf)  # NaN entries are skipped here and give NaN through e below
        for j in range(c):
            m = max(m, row[j])
        maxima[i] = m
    for i in range(n):
        row, out, m = x[i], softmax[i], maxima[i]
        total = np.float32(0.0)
        for j in range(c):
            e = np.float32(exp_nonpositive(np.float64(row[j] - m)))
            out[j] = e
            total += e
        lse = np.float32(math.log(total))
        loss[i] = weight[i] * (lse - (row[target[i]] - m))
        inv = np.float32(1.0) / total
        for j in range(c):
            out[j] *= inv


@njit(**_OPTIONS)
def _backward(softmax, target, ga, grad):
    n, c = softmax.shape
    for i in range(n):
        a = ga[i]
        s = softmax[i]
        out = grad[i]
        for j in range(c):
            out[j] = s[j] * a
        t = target[i]
        out[t] = out[t] - a


def cross_entropy_forward(x, target, weight):
    """(ℓ (N,), softmax (N, C)) of C-contiguous float32 logits ``x`` (N, C), int64 targets
    (N,) (ignored ones already set to a valid class) and float32 weights w_n (N,)."""
    n, c = x.shape
    loss = np.empty(n, np.float32)
    softmax = np.empty((n, c), np.float32)
    _forward(x, target, weight, loss, softmax)
    return loss, softmax


def cross_entropy_backward(softmax, target, ga):
    """∂L/∂x (N, C) = s − onehot(t) scaled per row by ``ga`` = g_n w_n (float32, (N,))."""
    grad = np.empty_like(softmax)
    _backward(softmax, target, ga, grad)
    return grad
