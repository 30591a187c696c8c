"""The recurrent cells of ``ops/recurrent.py`` as compiled loops: one pass per time step.

The NumPy cells (``_LSTMCell``, ``_GRUCell``, ``_RNNCell``) are the reference: each step is
9–15 NumPy calls, each a pass over the (G·H, B) gate arrays, and the backward factors are a
second loop (``prepare_backward``). Here each step is one Numba loop over the H·B units that

* forward: adds A_x[t] + W_hh hᵀ, applies the gate nonlinearities, updates the state and
  writes the caches (the same caches as the NumPy cell, so the rest of the layer is shared);
* backward: forms the local derivatives and δ_t = ∂L/∂a_t in the same pass (no separate
  ``prepare_backward``), and the carried ∂L/∂c_{t−1} (LSTM) or direct ∂L/∂h_{t−1} (GRU).

The formulas are those of the NumPy cells (see their docstrings); σ(a) = ½ tanh(a/2) + ½,
the kernels halving a themselves (the NumPy cells fold the ½ into the weights; halving is
exact in floating point, so both see the same a/2, and the kernels spare the loop two weight
copies a sequence). A float32 forward step is float32 arithmetic, as PyTorch's, with tanh
from ``rational_tanh`` evaluated in float32 (vectorisable; within 5 float32 ulp, see there).
Evaluated in float64 and rounded once, that tanh was within 0.63 ulp, but the LSTM cell took
24 µs a step (H 128, B 32) against 12.5 µs in float32; the layer's outputs stay as close to
the exact ones as PyTorch's own float32 LSTM (tested against it). A float64 forward step is
the NumPy cell's (see FLOAT64 below; the kernels themselves would call libm's exact tanh), so
float64 results equal the NumPy path's to round-off. Compiled code is cached on disk
(``cache=True``).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from ..ops.recurrent import _GRUCell, _LSTMCell, _RNNCell
from .rational_tanh import P, Q, SATURATION

__all__ = ["CELLS", "tanh_float32", "lstm_forward", "lstm_backward", "gru_forward",
           "gru_backward", "rnn_forward", "rnn_backward"]

# error_model="numpy": a division by zero gives inf/NaN instead of a Python exception check
# (the check would stop the loops from vectorising); "contract" allows fused multiply-adds
# and nothing else, so NaN and ±inf keep their IEEE behaviour.
OPTIONS = dict(cache=True, nogil=True, error_model="numpy", fastmath={"contract"})

_P = tuple(np.float32(c) for c in P)
_Q = tuple(np.float32(c) for c in Q)
_SATURATION = np.float32(SATURATION)


@njit(**OPTIONS)
def _rational_tanh(x):
    """x·P(x²)/Q(x²) of a float32 x in float32 arithmetic (Horner), ±1 for |x| ≥ 9; NaN
    stays NaN."""
    p0, p1, p2, p3, p4, p5, p6 = _P
    q0, q1, q2, q3 = _Q
    s = x * x
    num = ((((((p6 * s + p5) * s + p4) * s + p3) * s + p2) * s + p1) * s + p0) * x
    den = ((q3 * s + q2) * s + q1) * s + q0
    y = num / den
    if abs(x) >= _SATURATION:
        y = np.float32(1.0) if x > 0 else np.float32(-1.0)
    return y


def tanh_like(x, like):
    """tanh(x) in the precision of ``like``'s dtype (compiled: see the overload below)."""
    return math.tanh(x)


@overload(tanh_like)
def _tanh_like(x, like):
    if like.dtype == types.float32:
        return lambda x, like: _rational_tanh(np.float32(x))
    return lambda x, like: math.tanh(x)


def half_like(like):
    """½ in ``like``'s dtype, so that σ(a) = ½ tanh(a/2) + ½ stays in float32 for float32
    arrays (compiled: see the overload below)."""
    return 0.5


@overload(half_like)
def _half_like(like):
    if like.dtype == types.float32:
        return lambda like: np.float32(0.5)
    return lambda like: 0.5


def _flat(a):
    return a.reshape(a.size)


_flat = njit(**OPTIONS)(_flat)


@njit(**OPTIONS)
def tanh_float32(x, out):
    """out = tanh(x) elementwise over float32 arrays with the rational approximation (the
    cells' tanh)."""
    xs, ys = _flat(x), _flat(out)
    for k in range(xs.size):
        ys[k] = _rational_tanh(xs[k])


# ----------------------------------------------------------------------------- LSTM
# The gate kernels run over blocks of ``units`` units: block j's gates are the G·units numbers
# from G·units·j on (i, f, g, o — or r, z, n — each ``units`` long), its states the units
# numbers from units·j on. One block of H·B units is the Python loop's (G·H, B) step arrays
# (``ops/recurrent.py``); B blocks of H units are the compiled loop's (B, G·H) rows
# (``numba_sequence.py``). Each block is a flat loop over views of its numbers (``_BLOCK``,
# inlined): indexed as 2-D arrays, or by offsets into the whole arrays, the loop did not
# vectorise (57 µs against 7.7 for the LSTM's forward step, H 128, B 32; one call per row
# took 14.3; by hand).
_BLOCK = dict(OPTIONS, inline="always")


@njit(**OPTIONS)
def _part(a, size, j):
    """Block j of ``size`` numbers of the flat array a."""
    return a[size * j:size * (j + 1)]


@njit(**_BLOCK)
def _lstm_forward_block(ax, gh, c_prev, act, c, tc, h):
    n = c.size
    h2 = half_like(act)
    for k in range(n):
        i = h2 * tanh_like(h2 * (ax[k] + gh[k]), act) + h2
        f = h2 * tanh_like(h2 * (ax[n + k] + gh[n + k]), act) + h2
        g = tanh_like(ax[2 * n + k] + gh[2 * n + k], act)
        o = h2 * tanh_like(h2 * (ax[3 * n + k] + gh[3 * n + k]), act) + h2
        ck = f * c_prev[k] + i * g
        tk = tanh_like(ck, act)
        act[k], act[n + k], act[2 * n + k], act[3 * n + k] = i, f, g, o
        c[k] = ck
        tc[k] = tk
        h[k] = o * tk


@njit(**OPTIONS)
def lstm_forward(ax, gh, c_prev, act, c, tc, h, units):
    """a = ax + gh (4H, B), gates i, f, g, o = σ, σ, tanh, σ; c = f c_prev + i g;
    h = o tanh(c). Writes act (4H, B), c, tc = tanh(c) and h (H, B)."""
    ax, gh, c_prev, act, c, tc, h = (_flat(ax), _flat(gh), _flat(c_prev), _flat(act),
                                     _flat(c), _flat(tc), _flat(h))
    n, g = units, 4 * units
    for j in range(c.size // n):
        _lstm_forward_block(_part(ax, g, j), _part(gh, g, j), _part(c_prev, n, j),
                            _part(act, g, j), _part(c, n, j), _part(tc, n, j),
                            _part(h, n, j))


@njit(**_BLOCK)
def _lstm_backward_block(dh, dc, act, c_prev, tc, da, dc_prev):
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


@njit(**OPTIONS)
def lstm_backward(dh, dc, act, c_prev, tc, da, dc_prev, units):
    """dc_t = dc + dh o (1 − tanh² c); δ_i = dc_t g i(1−i), δ_f = dc_t c_prev f(1−f),
    δ_g = dc_t i (1−g²), δ_o = dh tanh(c) o(1−o); dc_prev = dc_t f. (dc_prev may be dc,
    but then LLVM's alias check fails and the loop runs unvectorised.)"""
    dh, dc, act, c_prev, tc, da, dc_prev = (_flat(dh), _flat(dc), _flat(act), _flat(c_prev),
                                            _flat(tc), _flat(da), _flat(dc_prev))
    n, g = units, 4 * units
    for j in range(dh.size // n):
        _lstm_backward_block(_part(dh, n, j), _part(dc, n, j), _part(act, g, j),
                             _part(c_prev, n, j), _part(tc, n, j), _part(da, g, j),
                             _part(dc_prev, n, j))


# ----------------------------------------------------------------------------- GRU
@njit(**_BLOCK)
def _gru_forward_block(ax, gh, h_prev, rz, n_gate, ghn, h):
    n = h.size
    h2 = half_like(rz)
    for k in range(n):
        r = h2 * tanh_like(h2 * (ax[k] + gh[k]), rz) + h2
        z = h2 * tanh_like(h2 * (ax[n + k] + gh[n + k]), rz) + h2
        hn = gh[2 * n + k]
        nk = tanh_like(ax[2 * n + k] + r * hn, rz)
        rz[k], rz[n + k] = r, z
        ghn[k] = hn
        n_gate[k] = nk
        h[k] = nk + z * (h_prev[k] - nk)


@njit(**OPTIONS)
def gru_forward(ax, gh, h_prev, rz, n_gate, ghn, h, units):
    """r, z = σ(ax + gh) (first 2H rows), n = tanh(ax_n + r ghn) with ghn = W_hn h + b_hn,
    h = n + z (h_prev − n). Writes rz (2H, B), n, ghn and h (H, B)."""
    ax, gh, h_prev, rz, n_gate, ghn, h = (_flat(ax), _flat(gh), _flat(h_prev), _flat(rz),
                                          _flat(n_gate), _flat(ghn), _flat(h))
    n, g = units, 3 * units
    for j in range(h.size // n):
        _gru_forward_block(_part(ax, g, j), _part(gh, g, j), _part(h_prev, n, j),
                           _part(rz, 2 * n, j), _part(n_gate, n, j), _part(ghn, n, j),
                           _part(h, n, j))


@njit(**_BLOCK)
def _gru_backward_block(dh, rz, n_gate, ghn, h_prev, da, dgh, direct):
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


@njit(**OPTIONS)
def gru_backward(dh, rz, n_gate, ghn, h_prev, da, dgh, direct, units):
    """δ_n = dh (1−z)(1−n²), δ_r = δ_n ghn r(1−r), δ_z = dh (h_prev − n) z(1−z) into da;
    the recurrent δ (δ_r, δ_z, δ_n r) into dgh; direct = dh z (the part of ∂L/∂h_prev
    that does not go through W_hh)."""
    dh, rz, n_gate, ghn, h_prev, da, dgh, direct = (
        _flat(dh), _flat(rz), _flat(n_gate), _flat(ghn), _flat(h_prev), _flat(da),
        _flat(dgh), _flat(direct))
    n, g = units, 3 * units
    for j in range(dh.size // n):
        _gru_backward_block(_part(dh, n, j), _part(rz, 2 * n, j), _part(n_gate, n, j),
                            _part(ghn, n, j), _part(h_prev, n, j), _part(da, g, j),
                            _part(dgh, g, j), _part(direct, n, j))


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


# ----------------------------------------------------------------------------- cells
# THE WHOLE LOOP: with NumPy's BLAS the time loop stays in Python (ops/recurrent.py), one
# kernel call per step. Numba's np.dot inside a compiled loop calls SciPy's BLAS
# (scipy.linalg.cython_blas), which pip installs as a second OpenBLAS with its own thread
# pool next to NumPy's: at 2 threads the two pools' spinning threads fight over the cores
# (measured at ed819a9, LSTM workload, 2 threads, same load: 1156 ms a step against
# 66.7 ms). With MKL the compiled loop calls MKL itself, on the one OpenMP pool, and the
# whole loop is compiled: numba_sequence.py.
#
# FLOAT64: a float64 forward step stays the NumPy cell's. Its tanh must then be exact, and
# libm's tanh in a compiled loop (one call per element) is slower than NumPy's vectorised
# passes: a float64 LSTM layer's forward took 93 ms against 43 ms. The backward has no tanh,
# so it is compiled in both dtypes.
class NumbaLSTMCell(_LSTMCell):
    """``_LSTMCell`` with each step one compiled pass (same caches, same results)."""

    compiled = True

    def forward_step(self, t, ax, gh, state, h_out):
        if gh.dtype != np.float32:  # see FLOAT64 above
            return super().forward_step(t, ax, gh, state, h_out)
        lstm_forward(ax, gh, state[1], self.act[t], self.c[t], self.tc[t], h_out, h_out.size)
        return (h_out, self.c[t])

    def prepare_backward(self, lo, hi, seq):
        """Nothing to precompute: ``backward_step`` forms the factors in its own pass. (Only
        the array is kept, not ``seq``: seq → cell → seq would be a reference cycle, and the
        caches would wait for the garbage collector instead of going with the graph.)"""
        self.c_before = seq.c_before

    def backward_step(self, t, dh, dc, dX, dG):
        if not hasattr(self, "dc_buffers"):
            # ∂L/∂c_{t−1} goes to the buffer that does not hold ∂L/∂c_t: written in place,
            # the output would alias an input and the loop would not vectorise (4× slower)
            self.dc_buffers = [np.empty_like(dh), np.empty_like(dh)]
        if dc is None:
            dc = np.zeros_like(dh)
        out = self.dc_buffers[0] if dc is not self.dc_buffers[0] else self.dc_buffers[1]
        lstm_backward(dh, dc, self.act[t], self.c_before[t], self.tc[t], dX, out, dh.size)
        return None, out


class NumbaGRUCell(_GRUCell):
    """``_GRUCell`` with each step one compiled pass."""

    compiled = True

    def forward_step(self, t, ax, gh, state, h_out):
        if gh.dtype != np.float32:  # see FLOAT64 above
            return super().forward_step(t, ax, gh, state, h_out)
        gru_forward(ax, gh, state[0], self.rz[t], self.n[t], self.ghn[t], h_out, h_out.size)
        return (h_out,)

    def prepare_backward(self, lo, hi, seq):
        """Nothing to precompute (see ``NumbaLSTMCell.prepare_backward``)."""
        self.h_before = seq.hT_before

    def backward_step(self, t, dh, dc, dX, dG):
        if not hasattr(self, "direct"):
            self.direct = np.empty_like(dh)  # dh ⊙ z, added to ∂L/∂h_{t−1} by the loop
        direct = self.direct
        gru_backward(dh, self.rz[t], self.n[t], self.ghn[t], self.h_before[t], dX, dG,
                     direct, dh.size)
        return direct, None


class NumbaRNNCell(_RNNCell):
    """``_RNNCell`` with each step one compiled pass."""

    compiled = True

    def forward_step(self, t, ax, gh, state, h_out):
        if gh.dtype != np.float32:  # see FLOAT64 above
            return super().forward_step(t, ax, gh, state, h_out)
        rnn_forward(ax, gh, h_out, self.relu)
        return (h_out,)

    def prepare_backward(self, lo, hi, seq):
        """Nothing to precompute (see ``NumbaLSTMCell.prepare_backward``)."""
        self.h_after = seq.hT_after

    def backward_step(self, t, dh, dc, dX, dG):
        rnn_backward(dh, self.h_after[t], dX, self.relu)
        return None, None


CELLS = {"LSTM": NumbaLSTMCell, "GRU": NumbaGRUCell, "RNN": NumbaRNNCell}
