"""A recurrent layer's whole time loop as one compiled call, with MKL's products inside it.

``ops/recurrent.py`` runs the loop of a layer in Python: per time step one product
a_t = A_x[t] + W_hh h_{t−1}ᵀ (``blas.matmul``) and one cell (``numba_cells.py``), forward
and backward. When MKL runs the products (``blas.py``) and the cells are compiled, the loop
itself is compiled here, and the Python work between the kernels goes (the dispatch of two
calls with 3–8 array arguments each, slicing, the checks of ``blas.matmul``: about 20 µs a
step at one thread, LSTM T 64, B 32, H 128). Its first use on a machine compiles it (about
8 s for all the cells' loops here, once; later processes load it from Numba's on-disk cache,
as every kernel in this package).

**Rows, one per sequence.** The loop works on the batch's rows, as the model's tensors are
laid out and as oneDNN's RNN does: step t's gate inputs are a (B, G·H) block, each sequence
one row of G·H numbers, and a cell kernel of ``numba_cells.py`` runs on a step's rows in one
call (as blocks of H units, their gates i, f, g, o H apart, as in a row). So

* the per-step product is h_{t−1} (B, H)·W_hhᵀ, W_hhᵀ packed once per sequence as the right
  operand of ``numba_gemm.py``'s products (on a processor with AVX-512; MKL's packed products,
  ``mkl_gemm.pack``, elsewhere: ``OWN_PRODUCTS``), and h_{t−1} is read where the previous step
  wrote it;
* each step copies h_t into its rows of the output, (T, B, H) or a batch-first model's
  (B, T, H), and the backward adds ∂L/∂y_t from there and copies ∂L/∂x_t into its rows:
  contiguous rows each way;
* the backward's δ_t = ∂L/∂a_t is written once, as rows of a (T·B, G·H) array that the
  weight-gradient product reads as it lies;
* the weight gradient [∂W_ih | ∂b | ∂W_hh] = δᵀ·[x_t | 1 | h_{t−1}] is one product over
  all steps (``ops/recurrent._over_steps``), its other operand ``rows``
  (T·B, I + 1 + H) written by the forward: the step inputs copied in before their
  projection (the 1 where W_ih carries the bias as a column) and h_t in the columns of the
  next step, whose product reads them there.

Against the loop this replaced, which kept the (G·H, B) orientation of the NumPy cells and
moved the model's rows in and out of it (per step at one thread, LSTM T 64, B 32, H 128, by
hand: the output gradient's transposes 7.9 µs, δ's stores into a (G·H, T·B) layout 8.6 µs,
h_t's and ∂L/∂x_t's rows 2.4 and 2.6 µs; after the loop, the weight gradient's right operand
assembled 0.5 ms and the bias gradient's Σ δ 0.2 ms), the layer's forward and backward went
from 18.11 to 17.15 ms, PyTorch's taking 15.84 (one process, interleaved, 60 rounds:
``python benchmarks/layer_ab.py 4a39484``, ``benchmarks/results/layer_ab.json`` at 9f60d1f),
and to 14.67 ms (PyTorch's 15.33) with ``numba_gemm.py``'s products (the same file since).

**Parts.** At more than one thread the batch is split into P equal groups of rows
(``batch_parts``), one per thread, and each thread runs the whole loop on its rows: the rows
are independent sequences, so the threads never wait for each other inside the loop (one
parallel region a sequence, not one a step). A part's rows of a step are one block of every
(T, B, ·) array; each thread's products run on that thread alone (``set_local_threads(1)``).
Every array keeps its (T, B, ·) order whatever P is, so the weight gradient sums its T·B
terms in one order and the results are the bits of the one-part loop (tested). (Tried once
before, when Numba's prange ran on a TBB pool beside MKL's OpenMP pool, and dropped then as
no faster; see ``numba_parallel.py`` for that finding.)

**Projections a few steps at a time.** The input projections A_x[t] = [x_t | 1]·[W_ih | b]ᵀ
are made inside the loop, for PROJECTION_ROWS // (B/P) steps at a time in one product (their
rows copied together first), just before those steps read them: they stay in cache (no
(T, B, G·H) array goes out to memory and back), and at 2 threads each part's projection runs
on its own thread.

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
from . import numba_gemm
from .mkl_gemm import pack, packed_product, product, set_local_threads
from .numba_cells import (OPTIONS, gru_backward, gru_forward, lstm_backward, lstm_forward,
                          rnn_backward, rnn_forward)

__all__ = ["MODES", "batch_parts", "sequence_forward", "sequence_backward"]

MODES = {"LSTM": 0, "GRU": 1, "RNN_TANH": 2, "RNN_RELU": 3}
_LSTM, _GRU, _RELU = 0, 1, 3
# the input projections of a part's next steps are one product of about this many rows
PROJECTION_ROWS = 128
MIN_PART_ROWS = 8  # a part of the batch has at least this many rows
# the per-step products in ``numba_gemm`` (AVX-512 processors), else MKL's packed products
OWN_PRODUCTS = numba_gemm.AVX512
_PARALLEL = dict(OPTIONS, parallel=True)


def batch_parts(B):
    """P, the number of equal groups of rows the compiled loop splits a batch of B into: the
    largest P ≤ the thread count (``deltagrad.get_num_threads()``, capped at Numba's pool)
    that divides B with at least MIN_PART_ROWS rows each; 1 where the pool cannot run
    (a forked child, ``numba_parallel.usable``)."""
    if not numba_parallel.usable():
        return 1
    P = numba_parallel.use_threads(numba_parallel.MIN_SPLIT_ELEMENTS)
    while P > 1 and (B % P or B // P < MIN_PART_ROWS):
        P -= 1
    return P


@njit(**OPTIONS)
def _slots(t, reverse):
    """(before, after): the indices of the states before and after step t in the carried
    (T + 1, …) arrays, whose extra slot holds the initial state (``ops/recurrent._Sequence``)."""
    return (t + 1, t) if reverse else (t, t + 1)


@njit(**OPTIONS)
def _packed(w, m, transposed, own):
    """The right operand B = w (or wᵀ when ``transposed``) of a step's products with m rows,
    packed once: (MKL's packed matrix, ``numba_gemm``'s panels), the one not used empty."""
    if own:
        return np.empty(0, np.uint8), numba_gemm.pack(w, transposed)
    return pack(w, m, transposed), np.empty((0, 0, 0), np.float32)


@njit(**OPTIONS)
def _product(a, packed, out, own):
    """out = a·B for B packed by ``_packed`` (for a of the row count given there)."""
    if own:
        numba_gemm.product(a, packed[1], out)
    else:
        packed_product(a, packed[0], out.shape[1], out)


@njit(**OPTIONS)
def _row(a, t, b, batch_major):
    """Row b of step t of a (T, B, ·) array, or of a (B, T, ·) one (``batch_major``)."""
    return a[b, t] if batch_major else a[t, b]


@njit(**OPTIONS)
def _copy(src, dst):
    for j in range(dst.size):
        dst[j] = src[j]


@njit(**OPTIONS)
def projection_steps(Bp):
    """How many steps' input projections one product makes: PROJECTION_ROWS // Bp (≥ 1)."""
    return max(1, PROJECTION_ROWS // Bp)


@njit(**OPTIONS)
def _project_steps(w_ih_packed, w_ih, x, x_batch_major, s, reverse, rows, xw, aw, b0, Bp,
                   own):
    """The input projections [x_t | 1]·[W_ih | b]ᵀ of the next loop steps from s on (as many
    as aw holds blocks of B/P rows), for this part's rows b0 … b0 + B/P − 1, as one product
    into aw; returns lo, the first time index of these steps (step t's rows in aw:
    (t − lo)·B/P …). x_t's rows (and the 1 of the bias column, when W_ih (G·H, I + 1)
    carries one) are first copied into xw, the product's left operand, and into their
    columns of ``rows`` (T, B, ·), which the weight gradient reads later. A last, shorter
    group of steps is an unpacked product in MKL (its packed operand is for the full row
    count)."""
    T = rows.shape[0]
    I = x.shape[2]
    K = w_ih.shape[1]
    steps = projection_steps(Bp)
    n = min(steps, T - s)
    lo = T - s - n if reverse else s
    for q in range(n):
        for b in range(Bp):
            src, dst, row = (_row(x, lo + q, b0 + b, x_batch_major), rows[lo + q, b0 + b],
                             xw[q * Bp + b])
            for i in range(I):
                dst[i] = row[i] = src[i]
            if K > I:
                dst[I] = row[I] = 1.0
    if own or n == steps:
        _product(xw[:n * Bp], w_ih_packed, aw[:n * Bp], own)
    else:
        product(xw[:n * Bp], w_ih, True, aw[:n * Bp])
    return lo


@njit(**OPTIONS)
def _forward_part(mode, w_ih, w_hh, b_hh, x, x_batch_major, h0, rows, c_ext, cache1, cache2,
                  cache3, gh, ys, batch_major, reverse, own, p):
    """The forward loop on part p of the batch (see ``sequence_forward``)."""
    T, _, R = rows.shape
    GH, H = w_hh.shape
    K = R - H  # the columns of [x_t | 1]; h_{t−1} in the H after them
    Bp = gh.shape[1]
    b0 = p * Bp
    w_packed = _packed(w_hh, Bp, True, own)  # W_hhᵀ
    steps = projection_steps(Bp)
    w_ih_packed = _packed(w_ih, steps * Bp, True, own)
    xw = np.empty((steps * Bp, K), gh.dtype)
    aw = np.empty((steps * Bp, GH), gh.dtype)
    g = gh[p]
    h_prev, h = h0[b0:b0 + Bp].copy(), np.empty((Bp, H), gh.dtype)  # h_{t−1}, h_t
    first = T - 1 if reverse else 0
    for b in range(Bp):
        _copy(h_prev[b], rows[first, b0 + b, K:])
    lo = 0
    for s in range(T):
        t = T - 1 - s if reverse else s
        before, after = _slots(t, reverse)
        following = t - 1 if reverse else t + 1  # the step that reads h_t
        if s % steps == 0:
            lo = _project_steps(w_ih_packed, w_ih, x, x_batch_major, s, reverse, rows, xw, aw,
                                b0, Bp, own)
        _product(rows[t, b0:b0 + Bp, K:], w_packed, g, own)
        ax, part = aw[(t - lo) * Bp:(t - lo + 1) * Bp], slice(b0, b0 + Bp)
        if mode == _LSTM:
            lstm_forward(ax, g, c_ext[before, part], cache1[t, part], c_ext[after, part],
                         cache2[t, part], h, H)
        elif mode == _GRU:
            for b in range(Bp):
                gb = g[b]
                for j in range(b_hh.size):
                    gb[j] += b_hh[j]
            gru_forward(ax, g, h_prev, cache1[t, part], cache2[t, part], cache3[t, part], h, H)
        else:
            rnn_forward(ax, g, h, mode == _RELU)
        for b in range(Bp):  # h_t into the output and into the next step's h_{t−1} columns
            _copy(h[b], _row(ys, t, b0 + b, batch_major))
            if 0 <= following < T:
                _copy(h[b], rows[following, b0 + b, K:])
        h_prev, h = h, h_prev


@njit(**_PARALLEL)
def _forward_parts(mode, w_ih, w_hh, b_hh, x, x_batch_major, h0, rows, c_ext, cache1, cache2,
                   cache3, gh, ys, batch_major, reverse, own):
    for p in prange(gh.shape[0]):
        mkl_threads = set_local_threads(1)
        _forward_part(mode, w_ih, w_hh, b_hh, x, x_batch_major, h0, rows, c_ext, cache1,
                      cache2, cache3, gh, ys, batch_major, reverse, own, p)
        set_local_threads(mkl_threads)


def sequence_forward(mode, w_ih, w_hh, b_hh, x, h0, rows, c_ext, cache1, cache2, cache3, gh,
                     ys, batch_major, reverse):
    """Steps t = 0 … T−1 (T−1 … 0 when ``reverse``) on each of the P parts of the batch
    (``batch_parts``; P = gh.shape[0], the parts on their own threads when P > 1): the input
    projections of a few steps at a time (``_project_steps``), then per step
    gh = h_{t−1}·W_hhᵀ (+ b_hh for the GRU, when b_hh is not empty) and the cell on each row,
    which writes h_t into its row of the output ys ((T, B, H), or (B, T, H) when
    ``batch_major``) and of ``rows`` (the next step's h_{t−1}), c_t into ``c_ext``, and its
    caches: LSTM (act, tc, —), GRU (rz, n, ghn), RNN (—).

    x (T, B, I), read where it lies when it is stored (T, B, I) or as a batch-first model's
    (B, T, I) (another layout is copied first); h0 (B, H); w_ih (G·H, I), or (G·H, I + 1) with the bias as its last
    column. ``rows`` (T, B, I [+ 1] + H) receives [x_t | 1 | h_{t−1}]; the caches (T, B, ·);
    c_ext (T + 1, B, H), the initial c in its extra slot (``_slots``); gh (P, B/P, G·H),
    work space by part."""
    xs, x_batch_major = _as_stored(x)
    _on_parts(_forward_part, _forward_parts, gh.shape[0],
              (mode, w_ih, w_hh, b_hh, xs, x_batch_major, h0, rows, c_ext, cache1, cache2,
               cache3, gh, ys, batch_major, reverse, OWN_PRODUCTS))


def _as_stored(a):
    """A (T, B, ·) array as the C-contiguous array it is stored in, (T, B, ·) or (B, T, ·)
    (a batch-first model's), with whether it is the latter; another layout is copied."""
    if a.flags.c_contiguous:
        return a, False
    if a.transpose(1, 0, 2).flags.c_contiguous:
        return a.transpose(1, 0, 2), True
    return np.ascontiguousarray(a), False


def _on_parts(one, each, parts, args):
    """``one(*args, 0)`` on this thread when the batch is one part, else ``each(*args)``:
    every part on its own thread of the pool."""
    if parts == 1:
        one(*args, 0)
    else:
        each(*args)


@njit(**OPTIONS)
def _backward_part(mode, w_back, gy, batch_major, dh, dc, rows, c_ext, cache1, cache2, cache3,
                   ys, ys_batch_major, delta, delta_rec, gx, gx_batch_major, reverse, own, p):
    """The backward loop on part p of the batch (see ``sequence_backward``)."""
    T, _, GH = delta.shape
    Bp, H = dh.shape[1], dh.shape[2]
    K = rows.shape[2] - H
    b0 = p * Bp
    columns = w_back.shape[1]  # H, or H + I when the product gives ∂L/∂x_t too
    w_packed = _packed(w_back, Bp, False, own)  # [W_hh | W_ih] as it lies
    # ∂L/∂h_t in the first H columns; ∂L/∂x_t after them when gx is wanted
    grads, grads_prev = np.empty((Bp, columns), dh.dtype), np.empty((Bp, columns), dh.dtype)
    grads[:, :H] = dh[p]
    dh_t = np.empty((Bp, H), dh.dtype)       # ∂L/∂h_t with the step's output gradient
    dc_t = dc[p].copy()                      # ∂L/∂c_t
    dc_prev = np.empty_like(dc_t)            # never written in place (see lstm_backward)
    direct = np.empty((Bp, H), dh.dtype)     # the GRU's dh ⊙ z
    h = np.empty((Bp, H), dh.dtype)          # the GRU's h_{t−1}, the RNN's h_t
    for s in range(T):
        t = s if reverse else T - 1 - s
        before, after = _slots(t, reverse)
        part = slice(b0, b0 + Bp)
        for b in range(Bp):
            carried, gy_t, d = grads[b], _row(gy, t, b0 + b, batch_major), dh_t[b]
            for j in range(H):
                d[j] = carried[j] + gy_t[j]
        if mode == _LSTM:
            lstm_backward(dh_t, dc_t, cache1[t, part], c_ext[before, part], cache2[t, part],
                          delta[t, part], dc_prev, H)
            dc_t, dc_prev = dc_prev, dc_t
        elif mode == _GRU:
            for b in range(Bp):
                _copy(rows[t, b0 + b, K:], h[b])
            gru_backward(dh_t, cache1[t, part], cache2[t, part], cache3[t, part], h,
                         delta[t, part], delta_rec[t, part], direct, H)
        else:
            for b in range(Bp):
                _copy(_row(ys, t, b0 + b, ys_batch_major), h[b])
            rnn_backward(dh_t, h, delta[t, part], mode == _RELU)
        _product(delta_rec[t, b0:b0 + Bp], w_packed, grads_prev, own)
        if mode == _GRU:
            grads_prev[:, :H] += direct
        if columns > H:  # ∂L/∂x_t = δ_t W_ih into its rows of gx
            for b in range(Bp):
                _copy(grads_prev[b, H:], _row(gx, t, b0 + b, gx_batch_major))
        grads, grads_prev = grads_prev, grads
    dh[p] = grads[:, :H]
    dc[p] = dc_t


@njit(**_PARALLEL)
def _backward_parts(mode, w_back, gy, batch_major, dh, dc, rows, c_ext, cache1, cache2, cache3,
                    ys, ys_batch_major, delta, delta_rec, gx, gx_batch_major, reverse, own):
    for p in prange(dh.shape[0]):
        mkl_threads = set_local_threads(1)
        _backward_part(mode, w_back, gy, batch_major, dh, dc, rows, c_ext, cache1, cache2,
                       cache3, ys, ys_batch_major, delta, delta_rec, gx, gx_batch_major,
                       reverse, own, p)
        set_local_threads(mkl_threads)


def sequence_backward(mode, w_back, gy, dh, dc, rows, c_ext, cache1, cache2, cache3, ys,
                      delta, delta_rec, gx, reverse):
    """Backpropagation through time over the steps of ``sequence_forward``, last step first,
    on each part of the batch: ∂L/∂h_t += the output gradient of step t; the cell gives
    δ_t = ∂L/∂a_t into its rows of ``delta`` (T, B, G·H) (the GRU's recurrent δ into
    ``delta_rec``; else pass ``delta`` twice), and ∂L/∂h_{t−1} = δ_t W_hh (+ the cell's
    direct term).

    ``w_back`` is W_hh (G·H, H), or [W_hh | W_ih] (G·H, H + I) when the input gradient is
    made in the loop too: then one product a step gives δ_t [W_hh | W_ih], ∂L/∂h_{t−1} in its
    first H columns and ∂L/∂x_t in the others, copied into the rows of gx ((T, B, I), stored
    as such or as (B, T, I); an empty array when not wanted).

    gy, the output gradient (T, B, H), and ys, the outputs (read by the RNN's cell), are read
    where they lie when stored (T, B, H) or (B, T, H); another layout is copied first.
    ``dh`` and ``dc`` (P, B/P, H) hold the gradients of the final state (dc: of the LSTM's
    cell state; any array of that shape for the other cells) and receive (∂L/∂h_0,
    ∂L/∂c_0) by part."""
    gys, batch_major = _as_stored(gy)
    yss, ys_batch_major = _as_stored(ys)
    gxs, gx_batch_major = _as_stored(gx) if gx.size else (gx, False)
    _on_parts(_backward_part, _backward_parts, dh.shape[0],
              (mode, w_back, gys, batch_major, dh, dc, rows, c_ext, cache1, cache2, cache3,
               yss, ys_batch_major, delta, delta_rec, gxs, gx_batch_major, reverse,
               OWN_PRODUCTS))
