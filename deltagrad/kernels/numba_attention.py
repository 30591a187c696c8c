"""The attention softmax and its backward's element-wise chain as compiled loops
(``ops/attention.py``'s ``_weights_`` and ``scores_grad_`` are the readable reference).

The arrays hold the scores transposed, Sᵀ of shape (B, T′, T) (keys j along axis 1, queries
i along axis 2), so every loop below runs along a row of queries and vectorises. Per batch
element b, with an additive mask M (0 or −∞, shared by the batch):

    forward:   v_ji = s_ji · scale + M_ji,   m_i = max_j v_ji,   e_ji = e^(v_ji − m_i),
               A_ji = e_ji / Σ_j e_ji   (a column of only −∞ gets weights 0, not 0/0);
    backward:  (∂L/∂S)_ji = scale · A_ji · ((∂L/∂A)_ji − c_i),   c_i = Σ_j (∂L/∂A)_ji A_ji.

NumPy makes about nine passes over the (B, T′, T) scores for the forward (scale, mask, max,
finiteness check, subtract, exp, sum, zero check, divide) and three for the backward; here
the forward reads the scores once for the column maxima (``column_max``: a +∞ maximum is
left to the NumPy path) and then makes two passes over each (T′, T) block while it is in
cache (exp and sum, divide); the backward makes one. The arithmetic is float32 as in the
NumPy path, except e^t: ``numba_exp.exp_nonpositive`` (vectorisable; t = v − m ≤ 0),
evaluated in float64 and rounded once to float32. Batch elements are split over Numba's
threads (``numba_parallel.use_threads``).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from .numba_exp import exp_nonpositive
from .numba_parallel import OPTIONS as _PARALLEL, use_threads

__all__ = ["block_max_", "block_softmax_", "column_max", "softmax_columns_", "scores_grad_"]

_OPTIONS = dict(_PARALLEL, fastmath={"contract"})  # contract: a·b + c as one FMA


# One (T′, T) block Sᵀ; inlined into the batched loops below and into numba_heads.py's loop
# over (batch, head) pairs (which Numba's cache checks against its own file only: after
# changing these, touch numba_heads.py too).
_BLOCK = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"},
              inline="always")


@njit(**_BLOCK)
def block_max_(s, mask, scale, has_mask, m):
    """m_i = max_j (s_ji · scale + M_ji) over the keys j of one block Sᵀ, into ``m`` (T,)."""
    J, I = s.shape
    for i in range(I):
        m[i] = -np.inf
    for j in range(J):
        r = s[j]
        for i in range(I):
            v = r[i] * scale + mask[j, i] if has_mask else r[i] * scale
            m[i] = max(m[i], v)  # NaN is skipped here and shows up in e below


@njit(**_BLOCK)
def block_softmax_(s, mask, scale, has_mask, m, z):
    """Aᵀ in place of one block Sᵀ, given its ``block_max_`` ``m`` (no +∞; changed: a
    column of only −∞ gets 0, and weights 0); ``z``: scratch of T numbers."""
    J, I = s.shape
    for i in range(I):
        z[i] = 0.0
        if m[i] == -np.inf:
            m[i] = 0.0
    for j in range(J):
        r = s[j]
        for i in range(I):
            v = r[i] * scale + mask[j, i] if has_mask else r[i] * scale
            e = np.float32(exp_nonpositive(np.float64(v - m[i])))
            r[i] = e
            z[i] += e
    for i in range(I):
        z[i] = np.float32(1.0) / z[i] if z[i] != 0.0 else np.float32(1.0)  # … weights 0
    for j in range(J):
        r = s[j]
        for i in range(I):
            r[i] *= z[i]


@njit(**_OPTIONS)
def _column_max(st, mask, scale, has_mask, m):
    for b in prange(st.shape[0]):
        block_max_(st[b], mask, scale, has_mask, m[b])


@njit(**_OPTIONS)
def _softmax(st, mask, scale, has_mask, m):
    for b in prange(st.shape[0]):
        block_softmax_(st[b], mask, scale, has_mask, m[b].copy(),
                       np.empty(st.shape[2], np.float32))


def column_max(st, mask, scale):
    """(B, T) maxima over the keys of the scaled, masked scores (the first pass)."""
    m = np.empty((st.shape[0], st.shape[2]), np.float32)
    use_threads(st.size)
    _column_max(st, mask if mask is not None else np.empty((0, 0), np.float32),
                np.float32(scale), mask is not None, m)
    return m


def softmax_columns_(st, mask, scale, m):
    """Aᵀ in place of the C-contiguous float32 scores Sᵀ (B, T′, T), given the ``column_max``
    ``m`` (which must hold no +∞: e^(v − m) would then leave the fit); ``mask`` is a
    C-contiguous (T′, T) float32 additive mask or None."""
    use_threads(st.size)
    _softmax(st, mask if mask is not None else np.empty((0, 0), np.float32),
             np.float32(scale), mask is not None, m)


@njit(**_OPTIONS)
def _scores_grad(dat, c, at, scale):
    B, J, I = dat.shape
    for b in prange(B):
        cb = c[b]
        for j in range(J):
            d = dat[b, j]
            a = at[b, j]
            for i in range(I):
                d[i] = (d[i] - cb[i]) * a[i] * scale


def scores_grad_(dat, c, at, scale):
    """(∂L/∂S)ᵀ · scale in place of (∂L/∂A)ᵀ ``dat`` (B, T′, T), from the row terms c (B, T)
    and the weights Aᵀ ``at``, all C-contiguous float32, in one pass."""
    use_threads(dat.size)
    _scores_grad(dat, c, at, np.float32(scale))
