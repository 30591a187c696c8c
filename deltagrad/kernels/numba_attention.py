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

from .numba_exp import exp_nonpositive
from .numba_parallel import OPTIONS as _PARALLEL, use_threads

__all__ = ["column_max", "softmax_columns_", "scores_grad_"]

_OPTIONS = dict(_PARALLEL, fastmath={"contract"})  # contract: a·b + c as one FMA


@njit(**_OPTIONS)
def _column_max(st, mask, scale, has_mask, m):
    B, J, I = st.shape
    for b in prange(B):
        mb = m[b]
        for i in range(I):
            mb[i] = -np.inf
        for j in range(J):
            s = st[b, j]
            for i in range(I):
                v = s[i] * scale + mask[j, i] if has_mask else s[i] * scale
                mb[i] = max(mb[i], v)  # NaN is skipped here and shows up in e below


@njit(**_OPTIONS)
def _softmax(st, mask, scale, has_mask, m):
    B, J, I = st.shape
    for b in prange(B):
        z = np.zeros(I, np.float32)
        mb = np.empty(I, np.float32)
        for i in range(I):
            mb[i] = m[b, i] if m[b, i] > -np.inf else np.float32(0.0)  # a column of only −∞
        for j in range(J):
            s = st[b, j]
            for i in range(I):
                v = s[i] * scale + mask[j, i] if has_mask else s[i] * scale
                e = np.float32(exp_nonpositive(np.float64(v - mb[i])))
                s[i] = e
                z[i] += e
        for i in range(I):
            z[i] = np.float32(1.0) / z[i] if z[i] != 0.0 else np.float32(1.0)  # … weights 0
        for j in range(J):
            s = st[b, j]
            for i in range(I):
                s[i] *= z[i]


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
