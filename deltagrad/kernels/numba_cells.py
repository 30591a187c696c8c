"""The recurrent cells of ``ops/recurrent.py`` as compiled loops: one call per layer and way.

The NumPy cells (``_LSTMCell``, ``_GRUCell``, ``_RNNCell``) are the reference: each step is
9–15 NumPy calls, each a pass over the (G·H, B) gate arrays, and the backward factors are a
second loop (``prepare_backward``). Here each step is one Numba loop over the H·B units that

* forward: adds A_x[t] + W_hh hᵀ, applies the gate nonlinearities, updates the state and
  writes the caches (the same caches as the NumPy cell, so the rest of the layer is shared);
* backward: forms the local derivatives and δ_t = ∂L/∂a_t in the same pass (no separate
  ``prepare_backward``), and the carried ∂L/∂c_{t−1} (LSTM) or direct ∂L/∂h_{t−1} (GRU);

and all T steps of a layer, with their matrix products W_hh hᵀ and W_hhᵀ δ_t, run inside
one compiled call each way (``sequence_forward``, ``sequence_backward``), written once for
the three cells.

The formulas are those of the NumPy cells (see their docstrings); σ(a) = ½ tanh(a/2) + ½
with the ½ folded into the weights, as there. Float32 arrays are computed in float64 inside
the loop and rounded once when stored, with tanh from ``rational_tanh`` (vectorisable, ≤ 1
float32 ulp). A float64 forward is the NumPy cells' loop (see FLOAT64 below; the kernels
themselves would call libm's exact tanh), so float64 results equal the NumPy path's to
round-off. Compiled code is cached on disk (``cache=True``).
"""
from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit, types
from numba.extending import overload

from ..ops.recurrent import _GRUCell, _LSTMCell, _RNNCell
from .rational_tanh import P, Q, SATURATION

__all__ = ["CELLS", "tanh_float32", "lstm_forward", "lstm_backward", "gru_forward",
           "gru_backward", "rnn_forward", "rnn_backward", "sequence_forward",
           "sequence_backward"]

# error_model="numpy": a division by zero gives inf/NaN instead of a Python exception check
# (the check would stop the loops from vectorising); "contract" allows fused multiply-adds
# and nothing else, so NaN and ±inf keep their IEEE behaviour.
OPTIONS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})

_P0, _P1, _P2, _P3, _P4, _P5, _P6 = P
_Q0, _Q1, _Q2, _Q3 = Q


@njit(**OPTIONS)
def _rational_tanh(x):
    """x·P(x²)/Q(x²) in float64 (Horner), ±1 for |x| ≥ 9; NaN stays NaN."""
    x = np.float64(x)
    s = x * x
    num = ((((((_P6 * s + _P5) * s + _P4) * s + _P3) * s + _P2) * s + _P1) * s + _P0) * x
    den = ((_Q3 * s + _Q2) * s + _Q1) * s + _Q0
    y = num / den
    if abs(x) >= SATURATION:
        y = 1.0 if x > 0 else -1.0
    return y


def tanh_like(x, like):
    """tanh(x) to the precision of ``like``'s dtype (compiled: see the overload below)."""
    return math.tanh(x)


@overload(tanh_like)
def _tanh_like(x, like):
    if like.dtype == types.float32:
        return lambda x, like: _rational_tanh(x)
    return lambda x, like: math.tanh(x)


def _flat(a):
    return a.reshape(a.size)


_flat = njit(**OPTIONS)(_flat)


@njit(**OPTIONS)
def tanh_float32(x, out):
    """out = tanh(x) elementwise over float32 arrays with the rational approximation."""
    xs, ys = _flat(x), _flat(out)
    for k in range(xs.size):
        ys[k] = _rational_tanh(xs[k])


# ----------------------------------------------------------------------------- LSTM
@njit(**OPTIONS)
def lstm_forward(ax, gh, c_prev, act, c, tc, h):
    """a = ax + gh (4H, B), gates i, f, g, o = σ, σ, tanh, σ; c = f c_prev + i g;
    h = o tanh(c). Writes act (4H, B), c, tc = tanh(c) and h (H, B)."""
    ax, gh, c_prev, act, c, tc, h = (_flat(ax), _flat(gh), _flat(c_prev), _flat(act),
                                     _flat(c), _flat(tc), _flat(h))
    n = c.size
    for k in range(n):
        i = 0.5 * tanh_like(ax[k] + gh[k], act) + 0.5
        f = 0.5 * tanh_like(ax[n + k] + gh[n + k], act) + 0.5
        g = tanh_like(ax[2 * n + k] + gh[2 * n + k], act)
        o = 0.5 * tanh_like(ax[3 * n + k] + gh[3 * n + k], act) + 0.5
        ck = f * c_prev[k] + i * g
        tk = tanh_like(ck, act)
        act[k], act[n + k], act[2 * n + k], act[3 * n + k] = i, f, g, o
        c[k] = ck
        tc[k] = tk
        h[k] = o * tk


@njit(**OPTIONS)
def lstm_backward(dh, dc, act, c_prev, tc, da, dc_prev):
    """dc_t = dc + dh o (1 − tanh² c); δ_i = dc_t g i(1−i), δ_f = dc_t c_prev f(1−f),
    δ_g = dc_t i (1−g²), δ_o = dh tanh(c) o(1−o); dc_prev = dc_t f. (dc_prev may be dc,
    but then LLVM's alias check fails and the loop runs unvectorised.)"""
    dh, dc, act, c_prev, tc, da, dc_prev = (_flat(dh), _flat(dc), _flat(act), _flat(c_prev),
                                            _flat(tc), _flat(da), _flat(dc_prev))
    n = dh.size
    for k in range(n):
        i, f, g, o = act[k], act[n + k], act[2 * n + k], act[3 * n + k]
        t = tc[k]
        d = dh[k]
        dct = dc[k] + d * o * (1.0 - t * t)
        da[k] = dct * g * i * (1.0 - i)
        da[n + k] = dct * c_prev[k] * f * (1.0 - f)
        da[2 * n + k] = dct * i * (1.0 - g * g)
        da[3 * n + k] = d * t * o * (1.0 - o)
        dc_prev[k] = dct * f


# ----------------------------------------------------------------------------- GRU
@njit(**OPTIONS)
def gru_forward(ax, gh, h_prev, rz, n_gate, ghn, h):
    """r, z = σ(ax + gh) (first 2H rows), n = tanh(ax_n + r ghn) with ghn = W_hn h + b_hn,
    h = n + z (h_prev − n). Writes rz (2H, B), n, ghn and h (H, B)."""
    ax, gh, h_prev, rz, n_gate, ghn, h = (_flat(ax), _flat(gh), _flat(h_prev), _flat(rz),
                                          _flat(n_gate), _flat(ghn), _flat(h))
    n = h.size
    for k in range(n):
        r = 0.5 * tanh_like(ax[k] + gh[k], rz) + 0.5
        z = 0.5 * tanh_like(ax[n + k] + gh[n + k], rz) + 0.5
        hn = gh[2 * n + k]
        nk = tanh_like(ax[2 * n + k] + r * hn, rz)
        rz[k], rz[n + k] = r, z
        ghn[k] = hn
        n_gate[k] = nk
        h[k] = nk + z * (h_prev[k] - nk)


@njit(**OPTIONS)
def gru_backward(dh, rz, n_gate, ghn, h_prev, da, dgh, direct):
    """δ_n = dh (1−z)(1−n²), δ_r = δ_n ghn r(1−r), δ_z = dh (h_prev − n) z(1−z) into da;
    the recurrent δ (δ_r, δ_z, δ_n r) into dgh; direct = dh z (the part of ∂L/∂h_prev
    that does not go through W_hh)."""
    dh, rz, n_gate, ghn, h_prev, da, dgh, direct = (
        _flat(dh), _flat(rz), _flat(n_gate), _flat(ghn), _flat(h_prev), _flat(da),
        _flat(dgh), _flat(direct))
    n = dh.size
    for k in range(n):
        r, z, nk = rz[k], rz[n + k], n_gate[k]
        d = dh[k]
        dan = d * (1.0 - z) * (1.0 - nk * nk)
        dar = dan * ghn[k] * r * (1.0 - r)
        daz = d * (h_prev[k] - nk) * z * (1.0 - z)
        da[k], da[n + k], da[2 * n + k] = dar, daz, dan
        dgh[k], dgh[n + k], dgh[2 * n + k] = dar, daz, dan * r
        direct[k] = d * z


# ----------------------------------------------------------------------------- RNN
@njit(**OPTIONS)
def rnn_forward(ax, gh, h, relu):
    """h = tanh(ax + gh), or max(ax + gh, 0) when relu (NaN passes through)."""
    ax, gh, h = _flat(ax), _flat(gh), _flat(h)
    if relu:
        for k in range(h.size):
            a = ax[k] + gh[k]
            h[k] = 0.0 if a <= 0.0 else a
    else:
        for k in range(h.size):
            h[k] = tanh_like(ax[k] + gh[k], h)


@njit(**OPTIONS)
def rnn_backward(dh, h, da, relu):
    """δ = dh (1 − h²) for tanh, dh [h > 0] for ReLU."""
    dh, h, da = _flat(dh), _flat(h), _flat(da)
    if relu:
        for k in range(da.size):
            da[k] = dh[k] if h[k] > 0.0 else 0.0
    else:
        for k in range(da.size):
            da[k] = dh[k] * (1.0 - h[k] * h[k])


# ----------------------------------------------------------------------------- whole layers
# The steps above, run for all T steps of a layer in ONE compiled call each way, so that
# Python is entered twice per layer instead of 2T times (each entry costs a dispatch that
# unboxes every array argument, and a matrix product call). The recurrent product
# W_hh h_{t−1}ᵀ is np.dot inside the loop: Numba hands it to BLAS's gemm as NumPy does
# (measured for the 64 products (512, 128)·(128, 32) of a step: 2.69 ms against NumPy's
# 2.71 ms at 1 thread).
#
# The loops are written once. Which cell they run is the type of their first argument, a
# named tuple of the arrays the cell's steps read and write besides the loop's own; the
# step functions below are chosen by that type when a loop is compiled (the overloads).
LSTMArrays = namedtuple("LSTMArrays", "act tc c_before c_after c_new")
GRUArrays = namedtuple("GRUArrays", "rz n ghn h_before")
RNNArrays = namedtuple("RNNArrays", "h_after relu")


@njit(**OPTIONS)
def _lstm_forward_step(cell, t, ax, gh, h_prev, h):
    lstm_forward(ax, gh, cell.c_before[t], cell.act[t], cell.c_new[t], cell.tc[t], h)


@njit(**OPTIONS)
def _gru_forward_step(cell, t, ax, gh, h_prev, h):
    gru_forward(ax, gh, h_prev, cell.rz[t], cell.n[t], cell.ghn[t], h)


@njit(**OPTIONS)
def _rnn_forward_step(cell, t, ax, gh, h_prev, h):
    rnn_forward(ax, gh, h, cell.relu)


@njit(**OPTIONS)
def _lstm_carry_padded(cell, t, m):
    """c_t = c_{t−1} where the step is padding (m false), the new c_t elsewhere."""
    _carry_padded(m, cell.c_new[t], cell.c_before[t], cell.c_after[t])


@njit(**OPTIONS)
def _no_cell_state(cell, t, m):
    pass


@njit(**OPTIONS)
def _lstm_backward_step(cell, t, dS, dS_prev, dX, dG):
    lstm_backward(dS[0], dS[1], cell.act[t], cell.c_before[t], cell.tc[t], dX, dS_prev[1])
    dS_prev[0] = 0.0


@njit(**OPTIONS)
def _gru_backward_step(cell, t, dS, dS_prev, dX, dG):
    gru_backward(dS[0], cell.rz[t], cell.n[t], cell.ghn[t], cell.h_before[t], dX, dG,
                 dS_prev[0])


@njit(**OPTIONS)
def _rnn_backward_step(cell, t, dS, dS_prev, dX, dG):
    rnn_backward(dS[0], cell.h_after[t], dX, cell.relu)
    dS_prev[0] = 0.0


STEPS = {  # per cell: forward step, carry of a padded step's cell state, backward step
    LSTMArrays: (_lstm_forward_step, _lstm_carry_padded, _lstm_backward_step),
    GRUArrays: (_gru_forward_step, _no_cell_state, _gru_backward_step),
    RNNArrays: (_rnn_forward_step, _no_cell_state, _rnn_backward_step),
}


def forward_step(cell, t, ax, gh, h_prev, h):
    """Step t of the cell whose arrays are ``cell``: h_t into h, its caches at index t.
    ``ax`` = A_x[t], ``gh`` = W_hh h_{t−1}ᵀ (+ b_hn)."""
    STEPS[type(cell)][0](cell, t, ax, gh, h_prev, h)


def carry_cell_state(cell, t, m):
    """At the steps where ``m`` is false the LSTM's c_t is c_{t−1} (other cells: nothing)."""
    STEPS[type(cell)][1](cell, t, m)


def backward_step(cell, t, dS, dS_prev, dX, dG):
    """δ_t = ∂L/∂a_t into dX (the GRU's recurrent δ into dG) from dS = (∂L/∂h_t[, ∂L/∂c_t]);
    into dS_prev the part of ∂L/∂(h_{t−1}[, c_{t−1}]) that does not go through W_hh."""
    STEPS[type(cell)][2](cell, t, dS, dS_prev, dX, dG)


@overload(forward_step)
def _forward_step_by_cell(cell, t, ax, gh, h_prev, h):
    step = STEPS[cell.instance_class][0]
    return lambda cell, t, ax, gh, h_prev, h: step(cell, t, ax, gh, h_prev, h)


@overload(carry_cell_state)
def _carry_cell_state_by_cell(cell, t, m):
    carry = STEPS[cell.instance_class][1]
    return lambda cell, t, m: carry(cell, t, m)


@overload(backward_step)
def _backward_step_by_cell(cell, t, dS, dS_prev, dX, dG):
    step = STEPS[cell.instance_class][2]
    return lambda cell, t, dS, dS_prev, dX, dG: step(cell, t, dS, dS_prev, dX, dG)


@njit(**OPTIONS)
def _carry_padded(m, new, before, after):
    """after = new in the columns b where m[b], before elsewhere (a padded step keeps the
    state)."""
    for j in range(after.shape[0]):
        for b in range(after.shape[1]):
            after[j, b] = new[j, b] if m[b] else before[j, b]


@njit(**OPTIONS)
def sequence_forward(cell, order, ax, w_hh, b_hn, h_before, h_after, out, mask, gh):
    """For t in ``order``: gh = W_hh h_{t−1}ᵀ (+ b_hn), the cell's step writes h_t into
    out[t]. With a ``mask`` (T, B) a padded step carries the state (h_after[t] = h_before[t],
    also c for the LSTM) and outputs zero; without one, ``out`` is ``h_after``."""
    for t in order:
        np.dot(w_hh, h_before[t], gh)
        if b_hn is not None:
            for j in range(gh.shape[0]):
                for b in range(gh.shape[1]):
                    gh[j, b] += b_hn[j]
        forward_step(cell, t, ax[t], gh, h_before[t], out[t])
        if mask is not None:
            m = mask[t]
            _carry_padded(m, out[t], h_before[t], h_after[t])
            carry_cell_state(cell, t, m)
            out_t = out[t]
            for j in range(out_t.shape[0]):
                for b in range(out_t.shape[1]):
                    out_t[j, b] *= m[b]


STORE_EVERY = 8  # steps whose δ blocks are stored into the (G·H, T, B) layout together


@njit(**OPTIONS)
def _store_blocks(blocks, times, n, dst):
    """dst[t_k] = blocks[k] for the first n steps t_k = times[k]. dst is the (T, G·H, B) view
    of a (G·H, T, B) array: row j of n consecutive steps is one run of n·B numbers there,
    written together (each block written alone would touch a new page per row)."""
    for j in range(blocks.shape[1]):
        for k in range(n):
            t = times[k]
            for b in range(blocks.shape[2]):
                dst[t, j, b] = blocks[k, j, b]


@njit(**OPTIONS)
def sequence_backward(cell, steps, gyT, mask, dS, w_hhT, dX, dG):
    """Backpropagation through time, for t in ``steps`` (the forward order reversed), with
    dS = (∂L/∂h_t[, ∂L/∂c_t]) carried: dS[0] += gyT[t]; the cell's step writes δ_t, stored
    into dX[t] (the GRU's recurrent δ into dG[t]; dG None: the same δ);
    ∂L/∂h_{t−1} = W_hhᵀ δ_t + the cell's direct term. A padded step (mask[t, b] false)
    passes dS by unchanged. Returns dS at the initial state. The steps work on contiguous
    (G·H, B) blocks, stored STORE_EVERY steps at a time: dX and dG may be strided."""
    dS_prev = np.empty_like(dS)
    kept = np.zeros_like(dS)
    product = np.empty_like(dS[0])
    blocks = np.empty((STORE_EVERY,) + dX.shape[1:], dX.dtype)
    blocks_rec = blocks if dG is None else np.empty_like(blocks)
    times = np.empty(STORE_EVERY, np.int64)
    n = 0
    for t in steps:
        dh = dS[0]
        dh += gyT[t]
        if mask is not None:  # the padded columns skip the cell: kept aside, zero inside
            m = mask[t]
            for s in range(dS.shape[0]):
                for j in range(dS.shape[1]):
                    for b in range(dS.shape[2]):
                        kept[s, j, b] = 0.0 if m[b] else dS[s, j, b]
                        dS[s, j, b] = dS[s, j, b] if m[b] else 0.0
        backward_step(cell, t, dS, dS_prev, blocks[n], blocks_rec[n])
        np.dot(w_hhT, blocks_rec[n], product)
        dh_prev = dS_prev[0]
        dh_prev += product
        if mask is not None:
            dS_prev += kept
        dS, dS_prev = dS_prev, dS
        times[n] = t
        n += 1
        if n == STORE_EVERY or t == steps[-1]:
            _store_blocks(blocks, times, n, dX)
            if dG is not None:
                _store_blocks(blocks_rec, times, n, dG)
            n = 0
    return dS


# ----------------------------------------------------------------------------- cells
class _CompiledLoops:
    """The forward and backward loops of ``ops/recurrent.py``'s cells as one compiled call
    each (``sequence_forward``/``sequence_backward``); the cell classes below say which
    arrays their steps use (``arrays``). FLOAT64: a float64 forward stays the NumPy cell's
    loop. Its tanh must then be exact, and libm's tanh in a compiled loop (one call per
    element) is slower than NumPy's vectorised passes: a float64 LSTM layer's forward took
    93 ms against 43 ms. The backward has no tanh, so it is compiled in both dtypes."""

    def forward_sequence(self, seq, ax, w_hh, b_hn, outT, mask):
        if ax.dtype != np.float32:  # see FLOAT64 above
            return super().forward_sequence(seq, ax, w_hh, b_hn, outT, mask)
        gh = np.empty((w_hh.shape[0], ax.shape[2]), ax.dtype)
        sequence_forward(self.arrays(seq), np.asarray(seq.order, np.int64), ax, w_hh, b_hn,
                         seq.hT_before, seq.hT_after, outT, mask, gh)

    def backward_sequence(self, seq, gyT, mask, dh, dc, w_hhT, dX, dG):
        dS = np.empty((1 + self.has_cell,) + dh.shape, dh.dtype)  # (∂L/∂h_t[, ∂L/∂c_t])
        dS[0] = dh
        if self.has_cell:
            dS[1] = dc
        dS = sequence_backward(self.arrays(seq), np.asarray(seq.order[::-1], np.int64), gyT,
                               mask, dS, w_hhT, dX, dG if self.separate_hidden_bias else None)
        return dS[0], (dS[1] if self.has_cell else None)


# The arrays are made per call and not kept: seq → cell → seq would be a reference cycle,
# and the caches would wait for the garbage collector instead of going with the graph.
class NumbaLSTMCell(_CompiledLoops, _LSTMCell):
    """``_LSTMCell`` with its loops compiled (same caches, same results)."""

    def arrays(self, seq):
        return LSTMArrays(self.act, self.tc, seq.c_before, seq.c_after, self.c)


class NumbaGRUCell(_CompiledLoops, _GRUCell):
    """``_GRUCell`` with its loops compiled."""

    def arrays(self, seq):
        return GRUArrays(self.rz, self.n, self.ghn, seq.hT_before)


class NumbaRNNCell(_CompiledLoops, _RNNCell):
    """``_RNNCell`` with its loops compiled."""

    def arrays(self, seq):
        return RNNArrays(seq.hT_after, self.relu)


CELLS = {"LSTM": NumbaLSTMCell, "GRU": NumbaGRUCell, "RNN": NumbaRNNCell}
