"""Recurrent layers over a whole sequence: one fused operation per layer and direction.

A recurrent layer runs, for t = 1 … T (or T … 1 in the reverse direction of a
bidirectional layer), with the input projection of all time steps computed first
(notes 000 §9.2, the Elman form h(t) = φ(Uᵀx(t) + Wᵀh(t−1) + b) in PyTorch's layout; the
arrays are feature-major, a state is hᵀ of shape (H, B)):

    A_x[t] = W_ih x_tᵀ + b_ih          (T, G·H, B): every time step in one batched product
    a_t = A_x[t] + W_hh h_{t−1}ᵀ       (G·H, B):    one matrix product per step, all G gates

and a *cell* turns the gate pre-activations into the new state. The cells follow PyTorch's
numbers and gate order:

* RNN (G = 1):  h_t = φ(a_t), φ = tanh or ReLU
* LSTM (G = 4, gates i, f, g, o):  i, f, o = σ(·), g = tanh(·),
  c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)
* GRU (G = 3, gates r, z, n):  r, z = σ(A_x + h W_hhᵀ + b_hh),
  n = tanh(A_x,n + r ⊙ (W_hn h + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

Backpropagation through time (notes 000 §9.5) runs the same loop backwards on raw arrays:
each step yields δ_t = ∂L/∂a_t, the carried gradient is ∂L/∂h_{t−1} = δ_t W_hh (+ the
cell's direct term), and after the loop the gradients are GEMMs over all steps:
∂L/∂W_hh = Σ_t δ_tᵀ h_{t−1}, ∂L/∂W_ih = Σ_t δ_tᵀ x_t (one GEMM for both, and the biases, when
δ is the same), ∂L/∂X = δ W_ih. No Tensor or graph
object is made per time step; when MKL runs the products, each loop is one compiled call
(``kernels/numba_sequence.py``). A mask (T, B) of valid steps supports variable lengths: at a
padded step the state is carried unchanged and the output is zero (what PyTorch's packed
sequences compute). With ``create_graph=True`` the backward is rebuilt from differentiable
Tensor operations (:func:`recurrent_reference`), so higher-order gradients work too.
"""
from __future__ import annotations

import numpy as np

from .. import kernels
from ..kernels import blas
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..tensor import Tensor, _make
from .elementwise import _xp

__all__ = ["recurrent_sequence", "recurrent_reference", "RNN_MODES"]

RNN_MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _gate_constants(scale, H, B, xp, dtype):
    """Per-row (s, α, β) so that every gate is α ⊙ tanh(s ⊙ a) + β: σ(a) = ½ tanh(a/2) + ½
    for the sigmoid gates (s = α = β = ½), tanh itself for the others (s = α = 1, β = 0).
    The NumPy loop folds s into the weights, so all gates of a step take one tanh and one
    multiply-add, with no overflow for large |a|. α and β are full (G·H, B) arrays: NumPy is
    about 3× slower on a column broadcast over a short row (the compiled cells have the
    constants built in)."""
    s = np.repeat(np.asarray(scale, dtype=np.float64), H)
    beta = np.where(s == 0.5, 0.5, 0.0)
    full = lambda v: xp.ascontiguousarray(xp.broadcast_to(  # noqa: E731
        xp.asarray(v, dtype=dtype)[:, None], (v.size, B)))
    return xp.asarray(s, dtype=dtype), full(s), full(beta)


# ----------------------------------------------------------------------------- cells
# Every array inside the loop is feature-major: a state is hᵀ (H, B), a step's gates are
# (G·H, B), and the caches are (T, G·H, B). The per-step product is then W_hh hᵀ, the
# layout in which OpenBLAS's small-matrix GEMM is fastest (measured 1.4 ms for the 64 steps
# of a (4·128, 128)·(128, 32) product at 2 threads, against 2.5 ms for h W_hhᵀ), and each gate
# is a contiguous block of rows.
CHUNK = 8  # time steps whose backward factors and δ are handled together (in cache)


def _chunk_range(chunk):
    """(lo, hi): the time steps lo … hi−1 of one chunk (consecutive, in either order)."""
    return min(chunk), max(chunk) + 1


class _Cell:
    """How one kind of recurrent cell turns gate pre-activations into a state, and back.

    ``forward_step`` receives the step's input projection ax = A_x[t] and gh = W_hh hᵀ (both
    (G·H, B); the biases are in ax, except the GRU's b_hh, which is in gh), writes what the
    backward needs into its cache at index t and returns the new state tuple (hᵀ written into
    ``h_out``). ``gh`` is scratch: a cell may overwrite it.
    ``prepare_backward(lo, hi, seq)`` computes the factors of the local derivatives of the
    steps lo … hi−1 at once; ``backward_step`` then receives ∂L/∂h_t (and ∂L/∂c_t), writes
    δ_t = ∂L/∂a_t into the (G·H, B) arrays it is given (the GRU's recurrent δ apart) and
    returns (direct, dc_prev): the part of ∂L/∂h_{t−1} that does not go through W_hh, and
    ∂L/∂c_{t−1}.
    """

    has_cell = False
    compiled = False              # a compiled cell (kernels/numba_cells.py)
    separate_hidden_bias = False  # GRU: b_hh is inside r ⊙ (W_hn h + b_hn)
    gate_scale = None             # per-gate s of _gate_constants (None: no sigmoid gates)

    def __init__(self, T, B, H, xp, dtype):
        self.H = H
        self.tmp = xp.empty((H, B), dtype)

    def _chunk(self, lo, hi, name, shape_tail, xp, dtype):
        """A reused (hi − lo, …) work array for the factors of one chunk of steps."""
        buf = getattr(self, name, None)
        if buf is None:
            buf = xp.empty((CHUNK,) + shape_tail, dtype)
            setattr(self, name, buf)
        self.lo = lo
        return buf[:hi - lo]


class _RNNCell(_Cell):
    def __init__(self, T, B, H, xp, dtype, relu=False):
        super().__init__(T, B, H, xp, dtype)
        self.relu = relu

    def forward_step(self, t, ax, gh, state, h_out):
        gh += ax  # a = A_x[t] + W_hh hᵀ
        a = gh
        if self.relu:
            _xp(a).maximum(a, 0, out=h_out)
        else:
            _xp(a).tanh(a, out=h_out)
        return (h_out,)

    def prepare_backward(self, lo, hi, seq):
        """φ'(a) = 1 − h² (tanh) or [h > 0] (ReLU), from the outputs h of the steps."""
        h = seq.hT_after[lo:hi]
        xp = _xp(h)
        d = self._chunk(lo, hi, "dphi", h.shape[1:], xp, h.dtype)
        if self.relu:
            xp.greater(h, 0, out=d)
        else:
            xp.multiply(h, h, out=d)
            xp.subtract(1, d, out=d)

    def backward_step(self, t, dh, dc, dX, dG):
        _xp(dh).multiply(dh, self.dphi[t - self.lo], out=dX)
        return None, None


class _LSTMCell(_Cell):
    has_cell = True
    gate_scale = (0.5, 0.5, 1.0, 0.5)  # i, f, g, o

    def __init__(self, T, B, H, xp, dtype):
        super().__init__(T, B, H, xp, dtype)
        self.act = xp.empty((T, 4 * H, B), dtype)  # i, f, g, o after their nonlinearity
        self.tc = xp.empty((T, H, B), dtype)       # tanh(c_t)
        self.c = None                              # (T, H, B) c_t: set by the loop

    def forward_step(self, t, ax, gh, state, h_out):
        H = self.H
        xp = _xp(gh)
        gh += ax  # a = A_x[t] + W_hh hᵀ
        a = gh
        act, c, tc = self.act[t], self.c[t], self.tc[t]
        xp.tanh(a, out=act)  # a is already scaled by s (folded into the weights)
        act *= self.alpha
        act += self.beta
        xp.multiply(act[H:2 * H], state[1], out=c)           # f ⊙ c_{t−1}
        xp.multiply(act[:H], act[2 * H:3 * H], out=self.tmp)  # i ⊙ g
        c += self.tmp
        xp.tanh(c, out=tc)
        xp.multiply(act[3 * H:], tc, out=h_out)               # o ⊙ tanh(c_t)
        return (h_out, c)

    def prepare_backward(self, lo, hi, seq):
        """The local derivatives of steps lo … hi−1 (arrays (n, ·, B)):
        P = [g i(1−i), c_{t−1} f(1−f), i(1−g²), tanh(c_t) o(1−o)] and A = o(1 − tanh²c_t), so
        that per step dc = dc_{t+1} ⊙ f_{t+1} + dh ⊙ A, ∂L/∂a_{i,f,g} = dc ⊙ P_{i,f,g},
        ∂L/∂a_o = dh ⊙ P_o."""
        H = self.H
        act, tc = self.act[lo:hi], self.tc[lo:hi]
        xp = _xp(act)
        n, _, B = act.shape
        P = self._chunk(lo, hi, "P4", (4 * H, B), xp, act.dtype)
        A = self._chunk(lo, hi, "A", (H, B), xp, act.dtype)
        i, g, o = act[:, :H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        xp.subtract(1, act, out=P)                    # 1 − σ for i, f, o
        P *= act                                      # σ(1 − σ)
        Pg = P[:, 2 * H:3 * H]
        xp.multiply(g, g, out=Pg)
        xp.subtract(1, Pg, out=Pg)                    # 1 − g²
        P[:, :H] *= g
        P[:, H:2 * H] *= seq.c_before[lo:hi]
        Pg *= i
        P[:, 3 * H:] *= tc
        xp.multiply(tc, tc, out=A)
        xp.subtract(1, A, out=A)
        A *= o
        self.P = P.reshape(n, 4, H, B)

    def backward_step(self, t, dh, dc, dX, dG):
        H = self.H
        xp = _xp(dh)
        k = t - self.lo
        xp.multiply(dh, self.A[k], out=self.tmp)
        if dc is None:
            dc = self.tmp.copy()
        else:
            dc += self.tmp
        P = self.P[k]
        for j in range(3):
            xp.multiply(P[j], dc, out=dX[j * H:(j + 1) * H])
        xp.multiply(P[3], dh, out=dX[3 * H:])
        dc *= self.act[t, H:2 * H]  # f_t
        return None, dc


class _GRUCell(_Cell):
    separate_hidden_bias = True
    gate_scale = (0.5, 0.5, 1.0)  # r, z, n: r and z are sigmoids

    def __init__(self, T, B, H, xp, dtype):
        super().__init__(T, B, H, xp, dtype)
        self.rz = xp.empty((T, 2 * H, B), dtype)
        self.n = xp.empty((T, H, B), dtype)
        self.ghn = xp.empty((T, H, B), dtype)  # W_hn h + b_hn

    def forward_step(self, t, ax, gh, state, h_out):
        """ax = A_x[t] (with b_ih), gh = W_hh hᵀ + b_hh."""
        H = self.H
        xp = _xp(ax)
        rz, n = self.rz[t], self.n[t]
        xp.add(ax[:2 * H], gh[:2 * H], out=rz)
        xp.tanh(rz, out=rz)  # σ(a) = ½ tanh(a/2) + ½, the ½ folded into the weights
        rz *= 0.5
        rz += 0.5
        self.ghn[t] = gh[2 * H:]
        xp.multiply(rz[:H], gh[2 * H:], out=n)
        n += ax[2 * H:]
        xp.tanh(n, out=n)
        # h = n + z ⊙ (h_prev − n)
        xp.subtract(state[0], n, out=h_out)
        h_out *= rz[H:]
        h_out += n
        return (h_out,)

    def prepare_backward(self, lo, hi, seq):
        """∂L/∂a_z = dh ⊙ Kz, Kz = (h_{t−1} − n) z(1−z); ∂L/∂a_n = dh ⊙ Kn, Kn = (1−z)(1−n²);
        ∂L/∂a_r = ∂L/∂a_n ⊙ Kr, Kr = ghn r(1−r)."""
        H = self.H
        n, r, z = self.n[lo:hi], self.rz[lo:hi, :H], self.rz[lo:hi, H:]
        xp = _xp(n)
        shape = n.shape[1:]
        Kz = self._chunk(lo, hi, "Kz", shape, xp, n.dtype)
        Kn = self._chunk(lo, hi, "Kn", shape, xp, n.dtype)
        Kr = self._chunk(lo, hi, "Kr", shape, xp, n.dtype)
        xp.subtract(1, z, out=Kn)             # 1 − z
        xp.subtract(seq.hT_before[lo:hi], n, out=Kz)
        Kz *= z
        Kz *= Kn
        xp.subtract(1, r, out=Kr)
        Kr *= r
        Kr *= self.ghn[lo:hi]
        Kn *= 1 - n * n

    def backward_step(self, t, dh, dc, dX, dG):
        xp = _xp(dh)
        H = self.H
        k = t - self.lo
        dan = dX[2 * H:]
        xp.multiply(dh, self.Kn[k], out=dan)
        xp.multiply(dan, self.Kr[k], out=dX[:H])
        xp.multiply(dh, self.Kz[k], out=dX[H:2 * H])
        dG[:2 * H] = dX[:2 * H]
        xp.multiply(dan, self.rz[t, :H], out=dG[2 * H:])
        return dh * self.rz[t, H:], None


def _make_cell(mode, T, B, H, xp, dtype):
    """The cell for ``mode``: these NumPy cells, or the same cells compiled with Numba
    (``kernels/numba_cells.py``) when the kernel backend is 'numba' (``DELTAGRAD_KERNELS``)
    and the arrays are float32/float64 NumPy arrays."""
    cells = {"LSTM": _LSTMCell, "GRU": _GRUCell, "RNN": _RNNCell}
    if xp is np and dtype in (np.float32, np.float64) and kernels.get_backend() == "numba":
        from ..kernels.numba_cells import CELLS as cells
    if mode in ("LSTM", "GRU"):
        return cells[mode](T, B, H, xp, dtype)
    return cells["RNN"](T, B, H, xp, dtype, relu=(mode == "RNN_RELU"))


# ----------------------------------------------------------------------------- the loop
class _Sequence:
    """What the forward loop leaves for the backward one. The carried states live in arrays
    with one extra time slot for the initial state, so "the state before step t" is a view:
    forward direction: after = ext[1:], before = ext[:-1]; reverse: after = ext[:-1],
    before = ext[1:]. The outputs ``ys`` (T, B, H) and ``h0`` give h_{t−1} row-major for
    ∂L/∂W_hh (``_h_before_into``)."""

    def __init__(self, cell, order, reverse):
        self.cell, self.order, self.reverse = cell, order, reverse

    def split(self, ext):
        return (ext[:-1], ext[1:]) if self.reverse else (ext[1:], ext[:-1])


def _compiled_loop(cell, mask):
    """The module that runs the whole time loop compiled (``kernels/numba_sequence.py``), or
    None for the Python loop: it serves compiled float32 cells (``_make_cell``) without a mask
    when MKL runs the products."""
    if mask is not None or not getattr(cell, "compiled", False) or \
            cell.tmp.dtype != np.float32 or blas.get_blas() != "mkl":
        return None
    blas.started_mkl()
    from ..kernels import numba_sequence
    return numba_sequence


def _caches(cell, mode, dtype):
    """The three per-step caches a compiled cell keeps (empty arrays where it keeps fewer),
    by row: (T, B, ·), the compiled loop's layout (the cell's (T, ·, B) buffers
    reinterpreted, as nothing else reads them)."""
    kept = {"LSTM": ("act", "tc"), "GRU": ("rz", "n", "ghn")}.get(mode, ())
    none = np.empty((0, 0, 0), dtype)
    return tuple(_by_row(getattr(cell, name)) for name in kept) + (none,) * (3 - len(kept))


def _by_row(a):
    """A (T, ·, B) buffer as (T, B, ·): the same memory, another layout."""
    T, columns, B = a.shape
    return a.reshape(T, B, columns)


def _sequence_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, mask,
                      batch_major=False):
    """The shared sequence loop on arrays. Returns (ys, final states, seq): ys is the
    (T, B, H) output, a view of a (B, T, H) array when ``batch_major`` (a batch-first model's
    next layer then reads its rows without a copy)."""
    xp = _xp(x)
    T, B, _ = x.shape
    H = w_hh.shape[1]
    dtype = x.dtype
    cell = _make_cell(mode, T, B, H, xp, dtype)
    seq = _Sequence(cell, list(range(T - 1, -1, -1)) if reverse else list(range(T)), reverse)
    first = seq.order[0]
    numpy_forward = not cell.compiled or dtype != np.float32  # see numba_cells.FLOAT64
    if cell.gate_scale is not None and numpy_forward:
        # the NumPy forward folds the s of α tanh(s a) + β into the weights (the compiled
        # cells halve their sigmoid gates' a themselves: the same numbers, as halving is exact)
        sc, cell.alpha, cell.beta = _gate_constants(cell.gate_scale, H, B, xp, dtype)
        w_ih, w_hh = w_ih * sc[:, None], w_hh * sc[:, None]
        if b_ih is not None:
            b_ih, b_hh = b_ih * sc, b_hh * sc
    w_hh = xp.ascontiguousarray(w_hh)
    # the input projection A_x[t] = [W_ih | b] · [x_tᵀ; 1], the bias folded in as a row of ones
    if b_ih is not None:
        bias = b_ih if cell.separate_hidden_bias else b_ih + b_hh
        w_ih = xp.concatenate([w_ih, bias[:, None]], 1)
    # the row-major output: (T, B, H), or (B, T, H) in memory when batch_major
    out_rows = xp.empty((B, T, H) if batch_major else (T, B, H), dtype)
    ys = out_rows.transpose(1, 0, 2) if batch_major else out_rows
    seq.ys, seq.h0, seq.masked = ys, h0, mask is not None
    seq.compiled = _compiled_loop(cell, mask)
    if seq.compiled is not None:  # the loop in one compiled call (it writes ys too)
        return ys, _compiled_forward(seq, mode, w_ih, x, h0, c0, w_hh, b_hh, out_rows,
                                     batch_major), seq
    # A_xᵀ of every step, (T, G·H, B): one batched product. Each step then reads a contiguous
    # (G·H, B) block (a strided [:, t] view of one (G·H, T·B) product costs a TLB miss per
    # row: 3× slower per step).
    xT = xp.empty((T, w_ih.shape[1], B), dtype)
    xT[:, :x.shape[2]] = x.transpose(0, 2, 1)
    if b_ih is not None:
        xT[:, -1] = 1
    ax = blas.matmul(w_ih, xT)
    # carried states hᵀ, cᵀ with the initial one in its extra slot
    hT_ext = xp.empty((T + 1, H, B), dtype)
    seq.hT_after, seq.hT_before = seq.split(hT_ext)
    seq.hT_before[first] = h0.T
    if cell.has_cell:
        cT_ext = xp.empty((T + 1, H, B), dtype)
        seq.c_after, seq.c_before = seq.split(cT_ext)
        seq.c_before[first] = c0.T
        cell.c = seq.c_after if mask is None else xp.empty((T, H, B), dtype)
    outT = seq.hT_after if mask is None else xp.empty((T, H, B), dtype)
    gh = xp.empty((w_hh.shape[0], B), dtype)
    bh = None if b_hh is None or not cell.separate_hidden_bias else b_hh[:, None]
    state = (seq.hT_before[first], seq.c_before[first]) if cell.has_cell else \
        (seq.hT_before[first],)
    for t in seq.order:
        blas.matmul(w_hh, state[0], out=gh)
        if bh is not None:
            gh += bh
        new = cell.forward_step(t, ax[t], gh, state, outT[t])
        if mask is not None:  # a padded step carries the state and outputs zero
            m = mask[t]
            xp.copyto(seq.hT_after[t], xp.where(m, new[0], state[0]))
            if cell.has_cell:
                xp.copyto(seq.c_after[t], xp.where(m, new[1], state[1]))
            outT[t] *= m
            new = (seq.hT_after[t], seq.c_after[t]) if cell.has_cell else (seq.hT_after[t],)
        state = new
    xp.copyto(ys, outT.transpose(0, 2, 1))
    final = tuple(s.T.copy() for s in state)
    return ys, final, seq


def _compiled_forward(seq, mode, w_ih, x, h0, c0, w_hh, b_hh, out_rows, batch_major):
    """The forward loop in one compiled call (``_compiled_loop``), the batch split into P
    parts, one per thread (``numba_sequence.batch_parts``); it writes the outputs into
    ``out_rows``. Returns the final state(s) (B, H). Kept for the backward: ``seq.rows``
    (T, B, I [+ 1] + H), each step's [x_t | 1 | h_{t−1}] (the right operand of the weight
    gradient), and the LSTM's cell states ``seq.c_ext`` (T + 1, B, H), the initial one in
    the extra slot (``_Sequence``)."""
    cell = seq.cell
    T, B, _ = x.shape
    seq.parts = P = seq.compiled.batch_parts(B)
    Bp = B // P
    GH, H = w_hh.shape
    dtype = x.dtype
    seq.rows = np.empty((T, B, w_ih.shape[1] + H), dtype)
    seq.c_ext = np.empty((T + 1 if cell.has_cell else 0, B, H), dtype)
    if cell.has_cell:
        seq.c_ext[T if seq.reverse else 0] = c0
    gh = np.empty((P, Bp, GH), dtype)
    b_hh = b_hh if cell.separate_hidden_bias and b_hh is not None else np.empty(0, dtype)
    seq.compiled.sequence_forward(seq.compiled.MODES[mode], np.ascontiguousarray(w_ih), w_hh,
                                  b_hh, x, np.ascontiguousarray(h0), seq.rows, seq.c_ext,
                                  *_caches(cell, mode, dtype), gh, out_rows, batch_major,
                                  seq.reverse)
    last = 0 if seq.reverse else T - 1  # the last step's index
    h_last = (out_rows[:, last] if batch_major else out_rows[last]).copy()
    if not cell.has_cell:
        return (h_last,)
    return h_last, seq.c_ext[0 if seq.reverse else T].copy()


class RecurrentSequence(Function):
    """One recurrent layer (one direction) over a (T, B, I) sequence, or (B, T, I) when
    ``batch_first``: returns the outputs (T, B, H), or (B, T, H), and the final state(s)
    (B, H). Inputs: x, h0, [c0], w_ih, w_hh, [b_ih, b_hh] (PyTorch's shapes), and a float
    mask (T, B) last when ``masked``. Batch-first arrays are read and written where they
    lie (``_sequence_forward``'s ``batch_major``), so no transposing node stands on either
    side of the layer."""

    def forward(ctx, x, h0, *rest, mode="LSTM", reverse=False, has_bias=True, masked=False,
                batch_first=False):
        c0 = None
        if mode == "LSTM":
            c0, rest = rest[0], rest[1:]
        w_ih, w_hh = rest[0], rest[1]
        b_ih = b_hh = None
        if has_bias:
            b_ih, b_hh = rest[2], rest[3]
        mask = rest[-1].astype(bool) if masked else None
        ys, state, seq = _sequence_forward(mode, _time_major(x, batch_first), h0, c0, w_ih,
                                           w_hh, b_ih, b_hh, reverse, mask, batch_first)
        ctx.mode, ctx.reverse, ctx.has_bias, ctx.masked = mode, reverse, has_bias, masked
        ctx.batch_first = batch_first
        ctx.seq = seq
        out = _time_major(ys, batch_first)  # (B, T, H) rows when batch_first
        # the output is saved so that an in-place change to it (the backward reads h_{t−1}
        # from it) is caught by the version check
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask, out)
        return (out,) + state

    def release(self):
        super().release()
        self.seq = None

    def backward(ctx, gy, *gstate):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask, ys = ctx.saved_tensors
        if is_grad_enabled():  # create_graph=True: differentiate the Tensor-op form
            return _backward_by_recomputation(ctx, (x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask),
                                              (gy,) + tuple(gstate))
        first = ctx.batch_first
        grads = _sequence_backward(ctx.seq, ctx, _time_major(x._data, first), w_ih._data,
                                   w_hh._data, b_hh is not None,
                                   None if mask is None else mask._data,
                                   _time_major(gy._data, first), [g._data for g in gstate])
        grads[0] = None if grads[0] is None else _time_major(grads[0], first)
        return tuple(None if g is None else _make(g) for g in grads)


def _time_major(a, batch_first):
    """A (B, T, ·) array as its (T, B, ·) view when ``batch_first``, and back (the same
    swap); else a itself."""
    return a.transpose(1, 0, 2) if batch_first else a


def _sequence_backward(seq, ctx, x, w_ih, w_hh, has_bias, mask, gy, gstate):
    """Backpropagation through time on arrays: the same loop, backwards (compiled or in
    Python), then the gradient GEMMs over all time steps (``_gradients``)."""
    xp = _xp(x)
    T, B, _ = x.shape
    GH, H = w_hh.shape
    cell = seq.cell
    need = ctx.needs_input_grad
    if seq.compiled is not None:
        return _gradients(seq, need, cell, x, w_ih, has_bias, ctx.masked,
                          *_compiled_backward(seq, ctx.mode, w_hh, w_ih, x, need[0], gy,
                                              gstate))
    # δ_t = ∂L/∂a_t in the (G·H, T, B) layout that the gradient GEMMs read as (G·H, T·B);
    # delta_rec: the GRU's recurrent δ
    delta = xp.empty((GH, T, B), x.dtype)
    delta_rec = xp.empty((GH, T, B), x.dtype) if cell.separate_hidden_bias else delta
    dh, dc = _python_backward(seq, w_hh, mask, gy, gstate, delta, delta_rec)
    return _gradients(seq, need, cell, x, w_ih, has_bias, ctx.masked,
                      delta.reshape(GH, T * B), delta_rec.reshape(GH, T * B), None,
                      lambda a: a.reshape(T, B, -1), dh, dc)


def _compiled_backward(seq, mode, w_hh, w_ih, x, need_x, gy, gstate):
    """The backward loop in one compiled call (``_compiled_loop``) on the forward's parts of
    the batch. Returns what ``_gradients`` reads: δ and the GRU's recurrent δ as
    (G·H, T·B) views of their rows, the forward's ``seq.rows`` (T·B, I [+ 1] + H), the map
    of a (T·B, ·) array to (T, B, ·), ∂L/∂h_0ᵀ and ∂L/∂c_0ᵀ (H, B), and ∂L/∂x (T, B, I)
    when ``need_x`` and the loop makes it (every cell but the GRU's, on parts of at least
    ``blas.NARROW`` rows; else None): laid out in memory as x is, (T, B, I) or a
    batch-first model's (B, T, I), so that the layer below reads its rows in order."""
    cell = seq.cell
    T, B, columns = seq.rows.shape
    GH, H = w_hh.shape
    P = seq.parts
    Bp = B // P
    delta = np.empty((T, B, GH), x.dtype)
    delta_rec = np.empty_like(delta) if cell.separate_hidden_bias else delta
    g_x, gx_rows = None, np.empty((0, 0, 0), x.dtype)
    w_back = w_hh
    # ∂L/∂x_t in the loop's product only for parts of at least NARROW rows: below, each
    # step's product is bound by reading its matrix, which W_ih's rows make larger for
    # little work (LSTM layer forward and backward, one thread, by hand: batch 8 5.80 ms
    # with ∂x in the loop against 5.71 with one product after it; batch 16 10.30 / 10.58)
    if need_x and mode != "GRU" and Bp >= blas.NARROW:
        w_back = np.concatenate([w_hh, w_ih], 1)
        I = x.shape[2]
        batch_major = x.transpose(1, 0, 2).flags.c_contiguous and not x.flags.c_contiguous
        gx_rows = np.empty((B, T, I), x.dtype).transpose(1, 0, 2) if batch_major else \
            np.empty((T, B, I), x.dtype)
        g_x = gx_rows

    def by_part(g):  # (B, H) → a new (P, Bp, H) array (the loop writes into it)
        return np.array(g.reshape(P, Bp, H), order="C")

    dh = by_part(gstate[0])
    dc = by_part(gstate[1]) if cell.has_cell else np.empty_like(dh)
    seq.compiled.sequence_backward(
        seq.compiled.MODES[mode], np.ascontiguousarray(w_back), gy, dh, dc, seq.rows,
        seq.c_ext, *_caches(cell, mode, dh.dtype), seq.ys, delta, delta_rec, gx_rows,
        seq.reverse)

    def to_steps(a):  # (T·B, ·) → (T, B, ·)
        return a.reshape(T, B, -1)

    d = delta.reshape(-1, GH).T
    d_rec = d if delta_rec is delta else delta_rec.reshape(-1, GH).T  # `is` tells _gradients
    return (d, d_rec, seq.rows.reshape(-1, columns), to_steps, dh.reshape(B, H).T,
            dc.reshape(B, H).T, g_x)


def _python_backward(seq, w_hh, mask, gy, gstate, delta, delta_rec):
    """The backward loop in Python, one cell kernel and one product per step:
    (∂L/∂h_0ᵀ, ∂L/∂c_0ᵀ or None)."""
    xp = _xp(gy)
    cell, order = seq.cell, seq.order
    GH, H = w_hh.shape
    B = gy.shape[1]
    # Each step writes its δ_t as a contiguous block of a CHUNK-step buffer that stays in
    # cache for the step's product, and the buffer is stored into δ once per chunk (measured
    # against one (T, G·H, B) array and a transposing copy after the loop, Numba cells,
    # 1 thread: LSTM loop and store 4.35 -> 3.89 ms; the whole layer backward, T 64, B 32,
    # H 128: LSTM 9.84 -> 9.60 ms, GRU 8.60 -> 8.19 ms).
    dX = xp.empty((CHUNK, GH, B), gy.dtype)
    dG = xp.empty((CHUNK, GH, B), gy.dtype) if cell.separate_hidden_bias else dX
    # contiguous, as every step reads one block; padded outputs are constant zeros
    gyT = gy.transpose(0, 2, 1)
    gyT = gyT * mask[:, None, :] if mask is not None else xp.ascontiguousarray(gyT)
    dh = xp.array(gstate[0].T, order="C")  # copies (see _compiled_backward)
    dc = xp.array(gstate[1].T, order="C") if cell.has_cell else None
    w_hhT = xp.ascontiguousarray(w_hh.T)
    tmp = xp.empty_like(dh)
    steps = order[::-1]
    for k, t in enumerate(steps):
        if k % CHUNK == 0:
            chunk = steps[k:k + CHUNK]
            lo, hi = _chunk_range(chunk)
            cell.prepare_backward(lo, hi, seq)
        dh += gyT[t]
        if mask is not None:  # a padded step carries the state: its gradient skips the cell
            m = mask[t]
            keep_h, dh = xp.where(m, 0, dh), xp.where(m, dh, 0)
            if dc is not None:
                keep_c, dc = xp.where(m, 0, dc), xp.where(m, dc, 0)
        direct, dc = cell.backward_step(t, dh, dc, dX[t - lo], dG[t - lo])
        blas.matmul(w_hhT, dG[t - lo], out=tmp)
        if direct is not None:
            tmp += direct
        dh, tmp = tmp, dh
        if mask is not None:
            dh += keep_h
            if dc is not None:
                dc += keep_c
        if t == chunk[-1]:  # the chunk's δ blocks into their columns of the GEMM layout
            delta[:, lo:hi] = dX[:hi - lo].transpose(1, 0, 2)
            if delta_rec is not delta:
                delta_rec[:, lo:hi] = dG[:hi - lo].transpose(1, 0, 2)
    return dh, dc


def _h_before_into(seq, out):
    """out (T, B, H) ← the state before each step, h_{t−1} (h_{t+1} in a reverse layer): the
    outputs one step back and h0 at the first step; a masked layer's carried states."""
    if seq.masked:  # a padded step's output is 0, its carried state is not
        out[...] = seq.hT_before.transpose(0, 2, 1)
        return out
    if seq.reverse:
        out[:-1] = seq.ys[1:]
    else:
        out[1:] = seq.ys[:-1]
    out[seq.order[0]] = seq.h0
    return out


def _over_steps(delta, rows):
    """δ·rows, Σ_t δ_t ⊗ [row_t] over all steps: (G·H, ·). For δ that is the transpose of
    its rows (the compiled loop's (T·B, G·H)), made as (rowsᵀ·δᵀ)ᵀ: LSTM T 64, B 32, H 128,
    I 64 (193 columns with the bias's), one thread, 4.62 ms against 5.01 for δ read
    transposed (by hand)."""
    if delta.T.flags.c_contiguous and not delta.flags.c_contiguous:
        return blas.matmul(rows.T, delta.T).T
    return blas.matmul(delta, rows)


def _gradients(seq, need, cell, x, w_ih, has_bias, masked, delta, delta_rec, rows, to_steps,
               dh, dc, g_x=None):
    """The gradients of the inputs and weights from δ (G·H, N) (and the GRU's recurrent δ;
    else δ again), N = T·B: one GEMM each over all time steps (∂L/∂x unless the loop made it:
    ``g_x``). ``rows`` (N, I [+ 1] + H), each step's [x_t | 1 | h_{t−1}] in δ's order (the
    compiled loop's; the 1 where the layer has a bias), or None to make [x_t | h_{t−1}]
    here; ``to_steps`` maps an (N, ·) array to (T, B, ·)."""
    xp = _xp(x)
    T, B, I = x.shape
    H = dh.shape[0]
    off = 3 if cell.has_cell else 2
    g_c0 = g_wih = g_whh = g_bih = g_bhh = g_bias = None
    if need[0] and g_x is None:
        # (W_ihᵀ δ)ᵀ: for the Python loop's δ (G·H, T·B) MKL takes W_ihᵀ δ in 1.9 ms against
        # 3.2 ms for δᵀ W_ih (T 64, B 32, H 128, I 64, one thread; the same for OpenBLAS);
        # for the compiled loop's rows of δ both forms take 1.4 ms (by hand)
        g_x = to_steps(blas.matmul(w_ih.T, delta).T)
    g_h0 = dh.T if need[1] else None
    if cell.has_cell and need[2]:
        g_c0 = dc.T
    bias_grad = has_bias and (need[off + 2] or need[off + 3])
    ones_column = rows is not None and rows.shape[1] > I + H  # the bias's column of ones
    h_at = I + ones_column  # where h_{t−1} starts in a row
    if rows is None and need[off] and need[off + 1]:
        # [x_t | h_{t−1}] copied together for one GEMM: 4.6 ms against 5.4 ms for the
        # separate products (LSTM T 64, B 32, H 128, I 64, one thread, MKL)
        rows = xp.empty((T, B, I + H), x.dtype)
        rows[:, :, :I] = x
        _h_before_into(seq, rows[:, :, I:])
        rows = rows.reshape(T * B, -1)
    if delta_rec is delta and need[off] and need[off + 1]:
        # one GEMM for both weights (and the bias, from the column of ones)
        g = _over_steps(delta, rows)
        g_wih, g_whh = xp.ascontiguousarray(g[:, :I]), xp.ascontiguousarray(g[:, h_at:])
        g_bias = g[:, I].copy() if ones_column else None
    else:
        if need[off]:
            g = _over_steps(delta, x.reshape(T * B, I) if rows is None else rows[:, :h_at])
            g_wih = xp.ascontiguousarray(g[:, :I])
            g_bias = g[:, I].copy() if ones_column else None
        if need[off + 1]:
            h_rows = _h_before_into(seq, xp.empty((T, B, H), x.dtype)).reshape(T * B, H) \
                if rows is None else rows[:, h_at:]
            g_whh = _over_steps(delta_rec, h_rows)
    if bias_grad:  # Σ over steps and batch of δ; b_hh: the same δ as b_ih unless GRU
        def summed(d):
            return d @ xp.ones(d.shape[1], x.dtype)
        g_bih = g_bias if g_bias is not None else summed(delta)
        g_bhh = g_bih.copy() if delta_rec is delta else summed(delta_rec)
    out = [g_x, g_h0] + ([g_c0] if cell.has_cell else []) + [g_wih, g_whh]
    if has_bias:
        out += [g_bih if need[off + 2] else None, g_bhh if need[off + 3] else None]
    if masked:
        out.append(None)
    return out


# ----------------------------------------------------------------------------- Tensor-op form
def recurrent_reference(mode, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False,
                        mask=None):
    """The same layer written step by step with differentiable Tensor operations (slow; used
    for double backward and as an independent check of the fused loop). Returns (ys, h_T[, c_T])."""
    from . import shape as S
    T = x.shape[0]
    H = w_hh.shape[1]
    h, c = h0, c0
    outs = [None] * T
    order = range(T - 1, -1, -1) if reverse else range(T)
    for t in order:
        ax = x[t] @ w_ih.T
        gh = h @ w_hh.T
        if b_ih is not None:
            ax = ax + b_ih
            gh = gh + b_hh
        if mode == "LSTM":
            a = ax + gh
            i, f = a[:, :H].sigmoid(), a[:, H:2 * H].sigmoid()
            g, o = a[:, 2 * H:3 * H].tanh(), a[:, 3 * H:].sigmoid()
            c_new = f * c + i * g
            h_new = o * c_new.tanh()
        elif mode == "GRU":
            r = (ax[:, :H] + gh[:, :H]).sigmoid()
            z = (ax[:, H:2 * H] + gh[:, H:2 * H]).sigmoid()
            n = (ax[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()
            h_new = (1 - z) * n + z * h
            c_new = None
        else:
            a = ax + gh
            h_new = a.relu() if mode == "RNN_RELU" else a.tanh()
            c_new = None
        if mask is not None:
            m = mask[t].unsqueeze(1)
            h_new = m * h_new + (1 - m) * h
            if c_new is not None:
                c_new = m * c_new + (1 - m) * c
            outs[t] = h_new * m
        else:
            outs[t] = h_new
        h, c = h_new, c_new
    return (S.stack(outs, 0), h) + ((c,) if mode == "LSTM" else ())


def _backward_by_recomputation(ctx, inputs, grads):
    from ..autograd import grad as autograd_grad
    x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask = inputs
    with enable_grad():
        outs = recurrent_reference(ctx.mode, x.transpose(0, 1) if ctx.batch_first else x, h0,
                                   c0, w_ih, w_hh, b_ih, b_hh, ctx.reverse,
                                   None if mask is None else mask.to(x.dtype))
        if ctx.batch_first:
            outs = (outs[0].transpose(0, 1),) + tuple(outs[1:])
    tensors = [x, h0] + ([c0] if ctx.mode == "LSTM" else []) + [w_ih, w_hh]
    if ctx.has_bias:
        tensors += [b_ih, b_hh]
    need = ctx.needs_input_grad
    wanted = [t for t, n in zip(tensors, need) if n]
    pairs = [(o, g) for o, g in zip(outs, grads) if o.requires_grad]
    got = iter(autograd_grad([o for o, _ in pairs], wanted, [g for _, g in pairs],
                             create_graph=True, allow_unused=True)) if wanted else iter(())
    res = [next(got) if n else None for n in need[:len(tensors)]]
    if ctx.masked:
        res.append(None)
    return tuple(res)


# ----------------------------------------------------------------------------- entry point
def recurrent_sequence(mode, x, hx, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False,
                       mask=None, batch_first=False):
    """Run one recurrent layer (one direction) over ``x`` of shape (T, B, I), or (B, T, I)
    when ``batch_first``.

    ``hx`` is h0 (B, H), or (h0, c0) for ``mode="LSTM"``; ``mask`` an optional (T, B)
    tensor of 1 (valid step) and 0 (padding). Returns (output (T, B, H) — (B, T, H) when
    ``batch_first`` —, h_T[, c_T]).
    """
    if mode not in RNN_MODES:
        raise ValueError(f"recurrent_sequence: unknown mode {mode!r}; expected one of "
                         f"{RNN_MODES}")
    if not isinstance(x, Tensor):
        raise TypeError("recurrent_sequence: x must be a Tensor")
    states = tuple(hx) if mode == "LSTM" else (hx,)
    has_bias = b_ih is not None
    inputs = (x,) + states + (w_ih, w_hh) + ((b_ih, b_hh) if has_bias else ())
    if mask is not None:
        inputs += (mask.to(x.dtype),)
    return RecurrentSequence.apply(*inputs, mode=mode, reverse=reverse, has_bias=has_bias,
                                   masked=mask is not None, batch_first=batch_first)
