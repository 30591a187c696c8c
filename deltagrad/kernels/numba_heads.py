"""Multi-head self-attention one head at a time: MKL's products and the softmax in one
compiled loop over the (batch, head) pairs (``ops/attention.py``'s ``_attend`` and
``_attend_backward`` are the readable reference; ``numba_attention.py`` holds their softmax).

For a packed projection [Q | K | V] of shape (N, T, 3E) with h heads of D = E/h features,
each pair (n, i) of batch element and head reads its Q, K, V blocks (T, D) in place
(leading dimension 3E) and, with the weights A (T, T) kept for the backward:

    forward:   S = scale · Q Kᵀ,   A = softmax(S) row by row,   O = A V
    backward:  ∂L/∂V = Aᵀ δ,   ∂L/∂A = δ Vᵀ,   c_t = ⟨δ_t, O_t⟩,
               ∂L/∂S = A ⊙ (∂L/∂A − c) · scale,   ∂L/∂Q = (∂L/∂S) K,   ∂L/∂K = (∂L/∂S)ᵀ Q

with δ = ∂L/∂O. O is written straight into its columns of the (N, T, E) output and the
three gradients into theirs of the (N, T, 3E) gradient, so no head is split or merged by a
copy. Done for all pairs at once (the reference), each product is one batched call over
all heads and the scores (N·h·T·T numbers) make a round trip through memory between the
products and the softmax; here a pair's scores (T·T) stay in the core's cache from the
product that makes them to the one that reads them, as in FlashAttention (Dao et al.
2022), though A itself is kept rather than recomputed. nanoGPT's attention (N 12, h 4,
T 64, D 32) in its training step, one thread: 5.7 ms of batched products alone a step
against 4.3 ms for all of PyTorch's FlashAttention (measured in place, by hand).

``causal``: query t attends keys u ≤ t; the weights after t are 0 and their exponentials
are not computed. The arithmetic is float32 (e^x in float64, ``numba_exp``), as in the
reference; the pairs are split over Numba's threads, each pair's products run on its
thread alone (``set_local_threads(1)``), so the bits do not depend on the thread count.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .mkl_gemm import _NO_TRANS, _ROW_MAJOR, _TRANS, _sgemm, set_local_threads
from .numba_attention import block_max_, block_softmax_
from .numba_parallel import OPTIONS as _PARALLEL, use_threads

__all__ = ["heads_forward", "heads_backward"]

_OPTIONS = dict(_PARALLEL, fastmath={"contract"})  # contract: a·b + c as one FMA
_F32 = 4  # bytes


@njit(**_OPTIONS)
def _forward(qkv, heads, scale, mask, has_mask, out, att):
    N, T, E3 = qkv.shape
    E = E3 // 3
    D = E // heads
    overflow = 0
    for pair in prange(N * heads):
        mkl_threads = set_local_threads(1)
        n = pair // heads
        h = pair - n * heads
        pq = qkv.ctypes.data + (n * T * E3 + h * D) * _F32
        at = att[n, h]  # Aᵀ: keys u along the rows, queries t along the columns
        _sgemm(_ROW_MAJOR, _NO_TRANS, _TRANS, T, T, D, scale, pq + E * _F32, E3, pq, E3,
               0.0, at.ctypes.data, T)                                    # Sᵀ = scale · K Qᵀ
        m, z = np.empty(T, np.float32), np.empty(T, np.float32)
        block_max_(at, mask, np.float32(1.0), has_mask, m)
        for t in range(T):
            if m[t] == np.inf:
                overflow += 1  # e^(s − m) would leave exp_nonpositive's range
        block_softmax_(at, mask, np.float32(1.0), has_mask, m, z)
        _sgemm(_ROW_MAJOR, _TRANS, _NO_TRANS, T, D, T, 1.0, at.ctypes.data, T,
               pq + 2 * E * _F32, E3, 0.0, out.ctypes.data + (n * T * E + h * D) * _F32, E)
        set_local_threads(mkl_threads)
    return overflow


def heads_forward(qkv, heads, scale, mask):
    """(O of shape (N, T, E), Aᵀ of shape (N, h, T, T)) for the C-contiguous float32 packed
    projection ``qkv`` (N, T, 3E) and ``mask``, None or a C-contiguous float32 (T, T)
    additive mask *transposed* (keys along the rows, as Aᵀ); None when a score is +∞, which
    the reference handles by IEEE rules."""
    N, T, E3 = qkv.shape
    out = np.empty((N, T, E3 // 3), np.float32)
    att = np.empty((N, heads, T, T), np.float32)
    use_threads(N * heads * T * T)
    if _forward(qkv, heads, np.float32(scale),
                mask if mask is not None else np.empty((0, 0), np.float32), mask is not None,
                out, att):
        return None
    return out, att


@njit(**_OPTIONS)
def _backward(qkv, att, g, o, heads, scale, grad):
    N, T, E3 = qkv.shape
    E = E3 // 3
    D = E // heads
    for pair in prange(N * heads):
        mkl_threads = set_local_threads(1)
        n = pair // heads
        h = pair - n * heads
        at_ = (n * T * E3 + h * D) * _F32  # the pair's Q (then K, V at +E, +2E) in both
        pq, pk, pv = qkv.ctypes.data + at_, qkv.ctypes.data + at_ + E * _F32, \
            qkv.ctypes.data + at_ + 2 * E * _F32
        gq, gk, gv = grad.ctypes.data + at_, grad.ctypes.data + at_ + E * _F32, \
            grad.ctypes.data + at_ + 2 * E * _F32
        pg = g.ctypes.data + (n * T * E + h * D) * _F32
        at = att[n, h]
        _sgemm(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, T, D, T, 1.0, at.ctypes.data, T, pg, E, 0.0,
               gv, E3)                                                    # ∂L/∂V = Aᵀ δ
        ds = np.empty((T, T), np.float32)
        _sgemm(_ROW_MAJOR, _NO_TRANS, _TRANS, T, T, D, 1.0, pv, E3, pg, E, 0.0,
               ds.ctypes.data, T)                                         # (∂L/∂A)ᵀ = V δᵀ
        c = np.zeros(T, np.float32)
        gn, on = g[n], o[n]
        for t in range(T):
            for d in range(h * D, h * D + D):
                c[t] += gn[t, d] * on[t, d]                               # ⟨δ_t, O_t⟩
        for u in range(T):
            s, w = ds[u], at[u]
            for t in range(T):
                s[t] = (s[t] - c[t]) * w[t] * scale                       # (∂L/∂S)ᵀ
        _sgemm(_ROW_MAJOR, _TRANS, _NO_TRANS, T, D, T, 1.0, ds.ctypes.data, T, pk, E3,
               0.0, gq, E3)                                               # (∂L/∂S) K
        _sgemm(_ROW_MAJOR, _NO_TRANS, _NO_TRANS, T, D, T, 1.0, ds.ctypes.data, T, pq, E3,
               0.0, gk, E3)                                               # (∂L/∂S)ᵀ Q
        set_local_threads(mkl_threads)


def heads_backward(qkv, att, g, o, heads, scale):
    """∂L/∂qkv (N, T, 3E) from δ = ∂L/∂O ``g`` (N, T, E), the output ``o`` and the weights
    Aᵀ ``att`` of :func:`heads_forward` (all C-contiguous float32)."""
    grad = np.empty_like(qkv)
    use_threads(att.size)
    _backward(qkv, att, g, o, heads, np.float32(scale), grad)
    return grad
