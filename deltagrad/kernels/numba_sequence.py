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

At more than one thread the batch is split into P equal groups of columns (``batch_parts``),
one per thread, and each thread runs the whole loop on its columns: the columns are
independent sequences, so the threads never wait for each other inside the loop (one
parallel region a sequence, not one a step). Every per-step array is laid out by part,
(T, P, ·, B/P), so each part's blocks are contiguous and the cell kernels are the same
flat loops; each thread's products run on that thread alone (``set_local_threads(1)``). A
product's columns come out the same whether it has 16 columns or 32, so the results are the
bits of the one-part loop (tested). LSTM layer, T 64, B 32, H 128, 2 threads, the loops
alone (by hand): forward 4.4 → 2.7 ms, backward 4.7 → 3.2 ms. (Tried once before, when
Numba's prange ran on a TBB pool beside MKL's OpenMP pool, and dropped then as no faster;
see ``numba_parallel.py`` for that finding.)

The input projections A_x[t] = [W_ih | b]·[x_tᵀ; 1] are made inside the loop too, a few
steps at a time on each part's thread, just before their steps read them: no (T, G·H, B)
array (4 MB for the LSTM above) goes out to memory and back, and at 2 threads the
projection no longer runs as 64 two-thread products of 32 columns. The same layer, forward /
forward and backward (by hand, ``/tmp`` script): 1 thread 7.7 / 21.5 → 6.2 / 18.1 ms, 2
threads 5.0 / 13.6 → 4.1 / 12.7 ms. Those steps' inputs stand side by side as the columns
of one product with W_ih, packed once per sequence (``_project_steps``; PROJECTION_COLUMNS
// Bp steps: 8 at Bp 16, 4 at Bp 32), and each step copies its block out for the cell
(``_step_block``): one (512, 65)·(65, 128) product costs 87 µs where eight of 16 columns
cost 125 (one thread, by hand). About 128 columns keep the product's output in L2: with 256
the copies read it back from further out and the loop ran slower than with one product per
step.

Not compiled here: variable lengths (a mask), float64 (its forward cell is NumPy's, see
``numba_cells.FLOAT64``), and the NumPy BLAS; the Python loop serves those.

The cells are chosen by ``mode`` inside the loop (LSTM, GRU, RNN with tanh or ReLU), with the
caches each keeps (``ops/recurrent.py``'s ``_LSTMCell`` …) passed as ``cache1…3`` (empty
arrays where a cell keeps fewer).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from . import numba_parallel
from .mkl_gemm import pack, packed_product, set_local_threads
from .numba_cells import (OPTIONS, gru_backward, gru_forward, lstm_backward, lstm_forward,
                          rnn_backward, rnn_forward)

__all__ = ["MODES", "batch_parts", "sequence_forward", "sequence_backward", "weight_rows"]

MODES = {"LSTM": 0, "GRU": 1, "RNN_TANH": 2, "RNN_RELU": 3}
_LSTM, _GRU, _RELU = 0, 1, 3
# time steps whose δ blocks are kept together and stored into δ's (G·H, T, B) layout at once
CHUNK = 8
# the input projections of a part's next steps are one product of about this many columns
# (see ``_project_steps``)
PROJECTION_COLUMNS = 128
MIN_PART_COLUMNS = 8  # a part of the batch has at least this many columns (one AVX vector)
_PARALLEL = dict(OPTIONS, parallel=True)


def batch_parts(B):
    """P, the number of equal column groups the compiled loop splits a batch of B into: the
    largest P ≤ the thread count (``deltagrad.get_num_threads()``, capped at Numba's pool)
    that divides B with at least MIN_PART_COLUMNS columns each; 1 where the pool cannot run
    (a forked child, ``numba_parallel.usable``)."""
    if not numba_parallel.usable():
        return 1
    P = numba_parallel.use_threads(numba_parallel.MIN_SPLIT_ELEMENTS)
    while P > 1 and (B % P or B // P < MIN_PART_COLUMNS):
        P -= 1
    return P


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
def _store(delta, lo, hi, blocks, b0):
    """delta[:, lo:hi, b0:b0 + Bp] = the blocks of steps lo … hi−1 ((hi − lo, G·H, Bp)): each
    row of δ gets (hi − lo) contiguous runs of Bp numbers, each copied as a row slice (a loop
    over three indices ran 1.6× slower: 1.05 against 0.65 ms for the 64 steps of an LSTM
    layer, H 128, B 32; by hand)."""
    Bp = blocks.shape[2]
    for r in range(delta.shape[0]):
        for s in range(hi - lo):
            run, block_row = delta[r, lo + s, b0:b0 + Bp], blocks[s, r]
            for b in range(Bp):
                run[b] = block_row[b]


@njit(**OPTIONS)
def _rows_into(out, t, batch_major, hT, b0):
    """The step's output rows hT (H, Bp)ᵀ into out[t, b0:b0 + Bp] of a (T, B, H) array, or
    out[b0:b0 + Bp, t] of a (B, T, H) one (``batch_major``)."""
    for b in range(hT.shape[1]):
        row = out[b0 + b, t] if batch_major else out[t, b0 + b]
        for j in range(hT.shape[0]):
            row[j] = hT[j, b]


@njit(**OPTIONS)
def _add_rows(hT, gy, t, batch_major, b0):
    """hT (H, Bp) += the step's output gradient for columns b0 … b0 + Bp − 1: gy[t]ᵀ of a
    (T, B, H) array, or gy[:, t]ᵀ of a (B, T, H) one (``batch_major``: a batch-first model's,
    read where it lies)."""
    for b in range(hT.shape[1]):
        row = gy[b0 + b, t] if batch_major else gy[t, b0 + b]
        for j in range(hT.shape[0]):
            hT[j, b] += row[j]


@njit(**OPTIONS)
def projection_steps(Bp):
    """How many steps' input projections one product makes: PROJECTION_COLUMNS // Bp (≥ 1)."""
    return max(1, PROJECTION_COLUMNS // Bp)


@njit(**OPTIONS)
def _project_steps(w_ih_packed, GH, x, s, reverse, xw, aw, b0, Bp):
    """The input projections A_x[t] = [W_ih | b]·[x_tᵀ; 1] of the next loop steps from s on
    (as many as xw holds blocks of Bp columns), for this part's columns b0 … b0 + Bp − 1, as
    one product (G·H, I[+1])·(I[+1], steps·Bp) into aw (W_ih packed once per sequence);
    returns lo, the first time index of these steps (step t's block: columns
    (t − lo)·Bp …). x_tᵀ (and the row of ones, when W_ih carries the bias as its last column)
    is first copied into xw's block; the blocks of steps past the sequence's end keep what
    they held (their columns come out unused)."""
    T, _, I = x.shape
    steps = xw.shape[1] // Bp
    n = min(steps, T - s)
    lo = T - s - n if reverse else s
    for q in range(n):
        for b in range(Bp):
            row = x[lo + q, b0 + b]
            for i in range(I):
                xw[i, q * Bp + b] = row[i]
        if xw.shape[0] > I:  # the bias column's row of ones
            for b in range(Bp):
                xw[I, q * Bp + b] = 1.0
    packed_product(w_ih_packed, GH, xw, aw)
    return lo


@njit(**OPTIONS)
def _step_block(aw, q, ax):
    """ax (G·H, Bp) = step q's block of columns of aw (a contiguous block for the cell)."""
    Bp = ax.shape[1]
    for r in range(ax.shape[0]):
        src, dst = aw[r, q * Bp:(q + 1) * Bp], ax[r]
        for b in range(Bp):
            dst[b] = src[b]


@njit(**OPTIONS)
def _forward_part(mode, w_ih, w_hh, b_hh, x, h_ext, c_ext, cache1, cache2, cache3, gh, ys,
                  batch_major, reverse, p):
    """The forward loop on part p of the batch (see ``sequence_forward``)."""
    T = x.shape[0]
    GH = w_hh.shape[0]
    Bp = gh.shape[2]
    b0 = p * Bp
    w_packed = pack(w_hh, Bp, False)
    steps = projection_steps(Bp)
    w_ih_packed = pack(w_ih, steps * Bp, False)
    xw = np.zeros((w_ih.shape[1], steps * Bp), gh.dtype)
    aw = np.empty((GH, steps * Bp), gh.dtype)
    ax = np.empty((GH, Bp), gh.dtype)
    g = gh[p]
    lo = 0
    for s in range(T):
        t = T - 1 - s if reverse else s
        before, after = _slots(t, reverse)
        if s % steps == 0:
            lo = _project_steps(w_ih_packed, GH, x, s, reverse, xw, aw, b0, Bp)
        _step_block(aw, t - lo, ax)
        packed_product(w_packed, GH, h_ext[before, p], g)
        if mode == _LSTM:
            lstm_forward(ax, g, c_ext[before, p], cache1[t, p], c_ext[after, p],
                         cache2[t, p], h_ext[after, p])
        elif mode == _GRU:
            for r in range(b_hh.size):
                g[r] += b_hh[r]
            gru_forward(ax, g, h_ext[before, p], cache1[t, p], cache2[t, p], cache3[t, p],
                        h_ext[after, p])
        else:
            rnn_forward(ax, g, h_ext[after, p], mode == _RELU)
        _rows_into(ys, t, batch_major, h_ext[after, p], b0)


@njit(**_PARALLEL)
def _forward_parts(mode, w_ih, w_hh, b_hh, x, h_ext, c_ext, cache1, cache2, cache3, gh, ys,
                   batch_major, reverse):
    for p in prange(gh.shape[0]):
        mkl_threads = set_local_threads(1)
        _forward_part(mode, w_ih, w_hh, b_hh, x, h_ext, c_ext, cache1, cache2, cache3, gh,
                      ys, batch_major, reverse, p)
        set_local_threads(mkl_threads)


def sequence_forward(mode, w_ih, w_hh, b_hh, x, h_ext, c_ext, cache1, cache2, cache3, gh, ys,
                     batch_major, reverse):
    """Steps t = 0 … T−1 (T−1 … 0 when ``reverse``) on each of the P parts of the batch
    (``batch_parts``; P = gh.shape[0], the parts on their own threads when P > 1): the input
    projections A_x[t] = [W_ih | b]·[x_tᵀ; 1] of a few steps at a time (``_project_steps``:
    they stay in cache until their steps, and no (T, G·H, B) array is made), then per step
    gh = W_hh h_{t−1}ᵀ (+ b_hh for the GRU, when b_hh is not empty) and the cell, which
    writes h_t (and c_t) into ``h_ext``/``c_ext`` and its caches: LSTM (act, tc, —), GRU
    (rz, n, ghn), RNN (—); and h_t as rows into the output ys ((T, B, H), or (B, T, H) when
    ``batch_major``) while the step is in cache (a copy after the loop read it back from
    memory). x is (T, B, I) in any layout; w_ih is (G·H, I), or (G·H, I + 1) with the bias
    as its last column. Arrays by part: the caches (T, P, ·, Bp), h_ext and c_ext
    (T + 1, P, H, Bp), gh (P, G·H, Bp)."""
    _on_parts(_forward_part, _forward_parts, gh.shape[0],
              (mode, w_ih, w_hh, b_hh, x, h_ext, c_ext, cache1, cache2, cache3, gh, ys,
               batch_major, reverse))


@njit(**_PARALLEL)
def _fill_rows(x, x_batch_major, ys, ys_batch_major, h0, reverse, rows):
    T, B, I = rows.shape[0], rows.shape[1], x.shape[2]
    for t in prange(T):
        before = t + 1 if reverse else t - 1
        for b in range(B):
            out = rows[t, b]
            xr = x[b, t] if x_batch_major else x[t, b]
            if before < 0 or before == T:
                h = h0[b]
            else:
                h = ys[b, before] if ys_batch_major else ys[before, b]
            for i in range(I):
                out[i] = xr[i]
            for j in range(h.size):
                out[I + j] = h[j]


def _as_stored(a):
    """A (T, B, ·) array as the C-contiguous array it is stored in, (T, B, ·) or (B, T, ·)
    (a batch-first model's), with whether it is the latter; another layout is copied."""
    if a.flags.c_contiguous:
        return a, False
    if a.transpose(1, 0, 2).flags.c_contiguous:
        return a.transpose(1, 0, 2), True
    return np.ascontiguousarray(a), False


def weight_rows(x, ys, h0, reverse, rows):
    """rows (T, B, I + H) ← [x_t | h_{t−1}] (h_{t+1} when ``reverse``), the right-hand side of
    the weight gradients δ [x_t | h_{t−1}] over all steps: x (T, B, I) and the layer's
    outputs ys (T, B, H), read where they lie when stored (T, B, ·) or (B, T, ·); h0 (B, H)
    at the first step. The steps are split over the threads: as NumPy copies on one thread
    these took ~0.26 ms of an LSTM layer's backward at 2 threads (T 64, B 32, I 64, H 128;
    by hand)."""
    numba_parallel.use_threads(rows.size)
    _fill_rows(*_as_stored(x), *_as_stored(ys), np.ascontiguousarray(h0), reverse, rows)
    return rows


def _on_parts(one, each, parts, args):
    """``one(*args, 0)`` on this thread when the batch is one part, else ``each(*args)``:
    every part on its own thread of the pool."""
    if parts == 1:
        one(*args, 0)
    else:
        each(*args)


@njit(**OPTIONS)
def _backward_part(mode, w_back, gy, batch_major, dh, dc, h_ext, c_ext, cache1, cache2,
                   cache3, delta, delta_rec, gx, gx_batch_major, reverse, p):
    """The backward loop on part p of the batch (see ``sequence_backward``)."""
    GH, T, B = delta.shape
    H = dh.shape[1]
    Bp = dh.shape[2]
    b0 = p * Bp
    rows = w_back.shape[1]  # H, or H + I when the product gives ∂L/∂x_t too
    w_packed = pack(w_back, Bp, True)  # [W_hh | W_ih]ᵀ, packed from it as it lies
    d_steps = np.empty((CHUNK, GH, Bp), dh.dtype)    # δ_t of one chunk of steps
    d_recs = np.empty((CHUNK, GH, Bp), dh.dtype) if mode == _GRU else d_steps  # the GRU's
    # ∂L/∂h_t in the first H rows; ∂L/∂x_tᵀ below them when gx is wanted
    grads, grads_prev = np.empty((rows, Bp), dh.dtype), np.empty((rows, Bp), dh.dtype)
    grads[:H] = dh[p]
    dc_t = dc[p].copy()                      # ∂L/∂c_t
    direct = np.empty((H, Bp), dh.dtype)     # the GRU's dh ⊙ z
    dc_prev = np.empty_like(dc_t)            # never written in place (see lstm_backward)
    for s in range(T):
        t = s if reverse else T - 1 - s
        before, after = _slots(t, reverse)
        lo, hi = _chunk_of(t, T)
        d_step, d_rec = d_steps[t - lo], d_recs[t - lo]
        dh_t = grads[:H]
        _add_rows(dh_t, gy, t, batch_major, b0)
        if mode == _LSTM:
            lstm_backward(dh_t, dc_t, cache1[t, p], c_ext[before, p], cache2[t, p], d_step,
                          dc_prev)
            dc_t, dc_prev = dc_prev, dc_t
            packed_product(w_packed, rows, d_step, grads_prev)
        elif mode == _GRU:
            gru_backward(dh_t, cache1[t, p], cache2[t, p], cache3[t, p], h_ext[before, p],
                         d_step, d_rec, direct)
            packed_product(w_packed, rows, d_rec, grads_prev)
            grads_prev[:H] += direct
        else:
            rnn_backward(dh_t, h_ext[after, p], d_step, mode == _RELU)
            packed_product(w_packed, rows, d_step, grads_prev)
        if rows > H:  # ∂L/∂x_t = (W_ihᵀ δ_t)ᵀ into its rows of gx
            _rows_into(gx, t, gx_batch_major, grads_prev[H:], b0)
        if t == (hi - 1 if reverse else lo):  # the chunk's last step: its δ into place
            _store(delta, lo, hi, d_steps, b0)
            if mode == _GRU:
                _store(delta_rec, lo, hi, d_recs, b0)
        grads, grads_prev = grads_prev, grads
    dh[p] = grads[:H]
    dc[p] = dc_t


@njit(**_PARALLEL)
def _backward_parts(mode, w_back, gy, batch_major, dh, dc, h_ext, c_ext, cache1, cache2,
                    cache3, delta, delta_rec, gx, gx_batch_major, reverse):
    for p in prange(dh.shape[0]):
        mkl_threads = set_local_threads(1)
        _backward_part(mode, w_back, gy, batch_major, dh, dc, h_ext, c_ext, cache1, cache2,
                       cache3, delta, delta_rec, gx, gx_batch_major, reverse, p)
        set_local_threads(mkl_threads)


def sequence_backward(mode, w_back, gy, batch_major, dh, dc, h_ext, c_ext, cache1, cache2,
                      cache3, delta, delta_rec, gx, gx_batch_major, reverse):
    """Backpropagation through time over the steps of ``sequence_forward``, last step first,
    on each part of the batch: ∂L/∂h_t += the output gradient of step t (``_add_rows``); the
    cell gives δ_t = ∂L/∂a_t into a contiguous block of a CHUNK-step buffer, which is stored
    into ``delta[:, lo:hi]`` (the part's columns) once per chunk (the GRU's recurrent δ into
    ``delta_rec``): one contiguous run per row of δ instead of a 128-byte piece per step
    (LSTM layer forward and backward, T 64, B 32, H 128, one thread, interleaved A/B by
    hand: 31.0 → 29.3 ms median); ∂L/∂h_{t−1} = W_hhᵀ δ_t (+ the cell's direct term).

    ``w_back`` is W_hh (G·H, H), or [W_hh | W_ih] (G·H, H + I) when the input gradient is
    made in the loop too (not for the GRU, whose W_hh multiplies another δ, nor for parts of
    fewer than ``blas.NARROW`` columns, see ``ops/recurrent._compiled_backward``): then one
    product a step gives [W_hh | W_ih]ᵀ δ_t, ∂L/∂h_{t−1} in its first H rows and ∂L/∂x_tᵀ in
    the others, written as rows into gx ((T, B, I), or (B, T, I) when ``gx_batch_major``; empty
    otherwise) while they are in cache. MKL's rows of a product do not depend on the rows
    beside them (tested: the same bits as W_hhᵀ δ_t alone), and these 64 more rows cost far
    less than the one (I, G·H)·(G·H, T·B) product after the loop: LSTM, T 64, B 32, H 128,
    I 64, one thread (by hand): the 64 steps' products 2.72 → 2.99 ms, where W_ihᵀ δ took
    1.3–2.3 ms (~60 GFLOP/s; the per-step products run at ~115).

    ``dh`` and ``dc`` (P, H, Bp) hold the gradients of the final state (dc: of the LSTM's
    cell state; any array of that shape for the other cells) and receive (∂L/∂h_0,
    ∂L/∂c_0) by part."""
    _on_parts(_backward_part, _backward_parts, dh.shape[0],
              (mode, w_back, gy, batch_major, dh, dc, h_ext, c_ext, cache1, cache2, cache3,
               delta, delta_rec, gx, gx_batch_major, reverse))
