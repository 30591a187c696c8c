"""A recurrent layer's whole time loop as one compiled call, with MKL's products inside it.

``ops/recurrent.py`` runs the loop of a layer in Python: per time step one product
a_t = A_x[t] + W_hh h_{t−1}ᵀ (``blas.matmul``) and one cell (``numba_cells.py``), forward
and backward. When MKL runs the products (``blas.py``) and the cells are compiled, the loop
itself is compiled here: W_hh (W_hhᵀ for the backward, read from W_hh with MKL's transpose
flag, no copy) is packed once per sequence into MKL's
internal layout (``mkl_gemm.pack``), each step's product reads it from there
(``cblas_sgemm_compute``, which gives the same bits as ``cblas_sgemm``), and the cell kernels
are the same functions, so every array and every result is the Python loop's, bit for bit
(tested, at 1 and 2 threads). What goes is the Python work between the kernels (the dispatch
of two calls with 3–8 array arguments each, slicing and the checks of ``blas.matmul``: about
20 µs a step against ~50 µs of product and ~30 µs of cell at one thread, LSTM T 64, B 32,
H 128), and the packed products take 44 µs a step forward and 50 backward instead of 54 and
62 (measured by hand). LSTM layer forward and backward at one thread, same process, the
Python loop against this one: 29.1 → 23.6 ms (by hand, ``/tmp`` A/B script, not committed).

Its first use on a machine compiles it (about 7.6 s for the LSTM and GRU loops here, once;
later processes load it from Numba's on-disk cache, as every kernel in this package).

Tried and dropped: splitting the batch into one part per thread, each thread running the
whole loop on its columns (no synchronisation needed: the columns are independent
sequences). On this project's 2-core machine it was no faster than one thread with MKL's
2-thread products (two compute-bound threads at once slow each other there).

Not compiled here: variable lengths (a mask), float64 (its forward cell is NumPy's, see
``numba_cells.FLOAT64``), and the NumPy BLAS; the Python loop serves those.

The cells are chosen by ``mode`` inside the loop (LSTM, GRU, RNN with tanh or ReLU), with the
caches each keeps (``ops/recurrent.py``'s ``_LSTMCell`` …) passed as ``cache1…3`` (empty
arrays where a cell keeps fewer).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .mkl_gemm import pack, packed_product
from .numba_cells import (OPTIONS, gru_backward, gru_forward, lstm_backward, lstm_forward,
                          rnn_backward, rnn_forward)

__all__ = ["MODES", "sequence_forward", "sequence_backward"]

MODES = {"LSTM": 0, "GRU": 1, "RNN_TANH": 2, "RNN_RELU": 3}
_LSTM, _GRU, _RELU = 0, 1, 3
# time steps whose δ blocks are kept together and stored into δ's (G·H, T, B) layout at once
CHUNK = 8


@njit(**OPTIONS)
def _slots(t, reverse):
    """(before, after): the indices of the states before and after step t in the carried
    (T + 1, …) arrays, whose extra slot holds the initial state (``ops/recurrent._Sequence``)."""
    return (t + 1, t) if reverse else (t, t + 1)


@njit(**OPTIONS)
def _chunk_of(t, T):
    """(lo, hi): the CHUNK-aligned steps lo … hi−1 that hold step t."""
    lo = t - t % CHUNK
    return lo, min(lo + CHUNK, T)


@njit(**OPTIONS)
def _store(delta, lo, hi, blocks):
    """delta[:, lo:hi] = the blocks of steps lo … hi−1 ((hi − lo, G·H, B)): each row of δ
    gets one contiguous run of (hi − lo)·B numbers."""
    for r in range(delta.shape[0]):
        for s in range(hi - lo):
            for b in range(delta.shape[2]):
                delta[r, lo + s, b] = blocks[s, r, b]


@njit(**OPTIONS)
def _rows_into(out, t, batch_major, hT):
    """The step's output rows hT (H, B)ᵀ into out[t] of a (T, B, H) array, or out[:, t] of a
    (B, T, H) one (``batch_major``)."""
    for b in range(hT.shape[1]):
        row = out[b, t] if batch_major else out[t, b]
        for j in range(hT.shape[0]):
            row[j] = hT[j, b]


@njit(**OPTIONS)
def _add_rows(hT, gy, t, batch_major):
    """hT (H, B) += the step's output gradient, gy[t]ᵀ of a (T, B, H) array, or gy[:, t]ᵀ of a
    (B, T, H) one (``batch_major``: a batch-first model's, read where it lies)."""
    for b in range(hT.shape[1]):
        row = gy[b, t] if batch_major else gy[t, b]
        for j in range(hT.shape[0]):
            hT[j, b] += row[j]


@njit(**OPTIONS)
def sequence_forward(mode, w_hh, b_hh, ax, h_ext, c_ext, cache1, cache2, cache3, gh, ys,
                     batch_major, reverse):
    """Steps t = 0 … T−1 (T−1 … 0 when ``reverse``): gh = W_hh h_{t−1}ᵀ (+ b_hh for the GRU,
    when b_hh is not empty), then the cell writes h_t (and c_t) into ``h_ext``/``c_ext`` and
    its caches: LSTM (act, tc, —), GRU (rz, n, ghn), RNN (—); and h_t as rows into the
    output ys ((T, B, H), or (B, T, H) when ``batch_major``) while the step is in cache (a
    copy after the loop read it back from memory)."""
    T = ax.shape[0]
    G = w_hh.shape[0]
    w_packed = pack(w_hh, gh.shape[1], False)
    for s in range(T):
        t = T - 1 - s if reverse else s
        before, after = _slots(t, reverse)
        packed_product(w_packed, G, h_ext[before], gh)
        if mode == _LSTM:
            lstm_forward(ax[t], gh, c_ext[before], cache1[t], c_ext[after], cache2[t],
                         h_ext[after])
        elif mode == _GRU:
            for r in range(b_hh.size):
                gh[r] += b_hh[r]
            gru_forward(ax[t], gh, h_ext[before], cache1[t], cache2[t], cache3[t],
                        h_ext[after])
        else:
            rnn_forward(ax[t], gh, h_ext[after], mode == _RELU)
        _rows_into(ys, t, batch_major, h_ext[after])


@njit(**OPTIONS)
def sequence_backward(mode, w_hh, gy, batch_major, dh, dc, h_ext, c_ext, cache1, cache2,
                      cache3, delta, delta_rec, reverse):
    """Backpropagation through time over the steps of ``sequence_forward``, last step first:
    ∂L/∂h_t += the output gradient of step t (``_add_rows``); the cell gives δ_t = ∂L/∂a_t into a contiguous block of a CHUNK-step
    buffer, which is stored into ``delta[:, lo:hi]`` once per chunk (the GRU's recurrent δ
    into ``delta_rec``): one contiguous run per row of δ instead of a 128-byte piece per step
    (LSTM layer forward and backward, T 64, B 32, H 128, one thread, interleaved A/B by
    hand: 31.0 → 29.3 ms median); ∂L/∂h_{t−1} = W_hhᵀ δ_t (+ the cell's direct term).
    ``dh`` and ``dc`` (LSTM; ∂L/∂c) are the gradients of the final state, used as scratch.
    Returns (∂L/∂h_0, ∂L/∂c_0) in hᵀ layout (dc unchanged for the other cells)."""
    GH, T, B = delta.shape
    H = w_hh.shape[1]
    w_packed = pack(w_hh, B, True)  # W_hhᵀ, packed from W_hh as it lies
    d_steps = np.empty((CHUNK, GH, B), dh.dtype)    # δ_t of one chunk of steps
    d_recs = np.empty((CHUNK, GH, B), dh.dtype) if mode == _GRU else d_steps  # the GRU's
    direct = np.empty_like(dh)                 # the GRU's dh ⊙ z
    dh_prev = np.empty_like(dh)
    dc_prev = np.empty_like(dc)                # never written in place (see lstm_backward)
    for s in range(T):
        t = s if reverse else T - 1 - s
        before, after = _slots(t, reverse)
        lo, hi = _chunk_of(t, T)
        d_step, d_rec = d_steps[t - lo], d_recs[t - lo]
        _add_rows(dh, gy, t, batch_major)
        if mode == _LSTM:
            lstm_backward(dh, dc, cache1[t], c_ext[before], cache2[t], d_step, dc_prev)
            dc, dc_prev = dc_prev, dc
            packed_product(w_packed, H, d_step, dh_prev)
        elif mode == _GRU:
            gru_backward(dh, cache1[t], cache2[t], cache3[t], h_ext[before], d_step, d_rec,
                         direct)
            packed_product(w_packed, H, d_rec, dh_prev)
            dh_prev += direct
        else:
            rnn_backward(dh, h_ext[after], d_step, mode == _RELU)
            packed_product(w_packed, H, d_step, dh_prev)
        if t == (hi - 1 if reverse else lo):  # the chunk's last step: its δ into place
            _store(delta, lo, hi, d_steps)
            if mode == _GRU:
                _store(delta_rec, lo, hi, d_recs)
        dh, dh_prev = dh_prev, dh
    return dh, dc

