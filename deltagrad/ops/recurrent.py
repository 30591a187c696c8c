"""Recurrent layers over a whole sequence: one fused operation per layer and direction.

A recurrent layer runs, for t = 1 … T (or T … 1 in the reverse direction of a
bidirectional layer), with the input projection of all time steps computed first as one GEMM
(notes 000 §9.2, the Elman form h(t) = φ(Uᵀx(t) + Wᵀh(t−1) + b) in PyTorch's layout):

    A_x = X W_ihᵀ + b_ih            (T·B, G·H): every time step at once
    a_t = A_x[t] + h_{t−1} W_hhᵀ    (B, G·H):   one matrix product per step, all G gates

and a *cell* turns the gate pre-activations into the new state. The cells follow PyTorch's
numbers and gate order:

* RNN (G = 1):  h_t = φ(a_t), φ = tanh or ReLU
* LSTM (G = 4, gates i, f, g, o):  i, f, o = σ(·), g = tanh(·),
  c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)
* GRU (G = 3, gates r, z, n):  r, z = σ(A_x + h W_hhᵀ + b_hh),
  n = tanh(A_x,n + r ⊙ (W_hn h + b_hn)),  h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}

Backpropagation through time (notes 000 §9.5) runs the same loop backwards on raw arrays:
each step yields δ_t = ∂L/∂a_t, the carried gradient is ∂L/∂h_{t−1} = δ_t W_hh (+ the
cell's direct term), and after the loop the weight gradients are one GEMM each:
∂L/∂W_hh = Σ_t δ_tᵀ h_{t−1}, ∂L/∂W_ih = Σ_t δ_tᵀ x_t, ∂L/∂X = δ W_ih. No Tensor or graph
object is made per time step. A mask (T, B) of valid steps supports variable lengths: at a
padded step the state is carried unchanged and the output is zero (what PyTorch's packed
sequences compute). With ``create_graph=True`` the backward is rebuilt from differentiable
Tensor operations (:func:`recurrent_reference`), so higher-order gradients work too.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..tensor import Tensor, _make
from .elementwise import _xp

__all__ = ["recurrent_sequence", "recurrent_reference", "RNN_MODES"]

RNN_MODES = ("RNN_TANH", "RNN_RELU", "LSTM", "GRU")
GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


_CONTROLLER = []
SMALL_STEP_GEMM = 1 << 22  # multiply-adds of one step's recurrent product


def _step_blas_threads(xp, macs):
    """One BLAS thread for the small per-step products of the loop: a (B, H)·(H, G·H) GEMM
    is too small to split, and a second thread only adds synchronisation (on a busy machine,
    a lot of it). The GEMMs over all steps at once keep every thread. Needs threadpoolctl
    (optional); without it this changes nothing."""
    if xp.__name__ != "numpy" or macs > SMALL_STEP_GEMM:
        return contextlib.nullcontext()
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
            _CONTROLLER.append(ThreadpoolController())
        except ImportError:
            _CONTROLLER.append(None)
    c = _CONTROLLER[0]
    return contextlib.nullcontext() if c is None else c.limit(limits=1, user_api="blas")


def _gate_constants(scale, H, xp, dtype):
    """Per-column (s, α, β) so that every gate is α ⊙ tanh(s ⊙ a) + β: σ(a) = ½ tanh(a/2) + ½
    for the sigmoid gates (s = α = β = ½), tanh itself for the others (s = α = 1, β = 0).
    The loop folds s into the weights, so all gates of a step take one tanh and one
    multiply-add, with no overflow for large |a|."""
    s = np.repeat(np.asarray(scale, dtype=np.float64), H)
    beta = np.where(s == 0.5, 0.5, 0.0)
    s, beta = xp.asarray(s, dtype=dtype), xp.asarray(beta, dtype=dtype)
    return s, s, beta


# ----------------------------------------------------------------------------- cells
class _Cell:
    """How one kind of recurrent cell turns gate pre-activations into a state, and back.

    ``forward_step`` receives a (B, G·H) pre-activation array (A_x[t] + h W_hhᵀ with both
    biases; the GRU gets A_x[t] and gh = h W_hhᵀ + b_hh apart), writes what the backward needs into the
    cache at index t and returns the new state tuple. ``backward_step`` receives ∂L/∂h_t
    (and ∂L/∂c_t) and returns (δ_x, δ_h, direct, dc_prev): the gradients with respect to
    the input projection and the recurrent projection (the same array except for the GRU),
    the part of ∂L/∂h_{t−1} that does not go through W_hh, and ∂L/∂c_{t−1}.
    """

    has_cell = False
    separate_hidden_bias = False  # GRU: b_hh is inside r ⊙ (W_hn h + b_hn)
    gate_scale = None             # per-gate s of _gate_constants (None: no sigmoid gates)

    def __init__(self, T, B, H, xp, dtype):
        self.H = H


class _RNNCell(_Cell):
    def __init__(self, T, B, H, xp, dtype, relu=False):
        super().__init__(T, B, H, xp, dtype)
        self.relu = relu

    def forward_step(self, t, a, state, cache, h_out):
        xp = _xp(a)
        if self.relu:
            xp.maximum(a, 0, out=h_out)
        else:
            xp.tanh(a, out=h_out)
        return (h_out,)

    def prepare_backward(self, cache, ys, h_prev, c_prev):
        """φ'(a) for all steps at once: 1 − h² (tanh) or [h > 0] (ReLU)."""
        if self.relu:
            self.dphi = (ys > 0).astype(ys.dtype)
        else:
            self.dphi = 1 - ys * ys

    def backward_step(self, t, dh, dc, cache, dA_t):
        _xp(dh).multiply(dh, self.dphi[t], out=dA_t)
        return dA_t, dA_t, None, None


class _LSTMCell(_Cell):
    has_cell = True
    gate_scale = (0.5, 0.5, 1.0, 0.5)  # i, f, g, o

    def __init__(self, T, B, H, xp, dtype):
        super().__init__(T, B, H, xp, dtype)
        self.cache = {"act": xp.empty((T, B, 4 * H), dtype), "c": xp.empty((T, B, H), dtype),
                      "tc": xp.empty((T, B, H), dtype)}
        self.tmp = xp.empty((B, H), dtype)

    def forward_step(self, t, a, state, cache, h_out):
        H = self.H
        xp = _xp(a)
        c_prev = state[1]
        act = cache["act"][t]
        xp.tanh(a, out=act)  # a is already scaled by s (folded into the weights)
        act *= self.alpha
        act += self.beta
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        c = cache["c"][t]
        xp.multiply(f, c_prev, out=c)
        xp.multiply(i, g, out=self.tmp)
        c += self.tmp
        tc = cache["tc"][t]
        xp.tanh(c, out=tc)
        xp.multiply(o, tc, out=h_out)
        return (h_out, c)

    def prepare_backward(self, cache, ys, h_prev, c_prev):
        """Keep c_{t−1} of every step and two (B, 4H) work arrays for the loop."""
        self.c_prev = c_prev
        B, H = self.tmp.shape
        xp = _xp(self.tmp)
        self.D = xp.empty((B, 4 * H), self.tmp.dtype)
        self.E = xp.empty((B, 4 * H), self.tmp.dtype)

    def backward_step(self, t, dh, dc, cache, dA_t):
        """δ_t of the four gates, per step on cache-sized (B, 4H) blocks:
        dc = dc_{t+1} ⊙ f_{t+1} + dh ⊙ o(1 − tanh²c_t), ∂L/∂a_i = dc ⊙ g i(1−i),
        ∂L/∂a_f = dc ⊙ c_{t−1} f(1−f), ∂L/∂a_g = dc ⊙ i(1−g²), ∂L/∂a_o = dh ⊙ tanh(c_t) o(1−o)."""
        xp = _xp(dh)
        H = self.H
        B = dh.shape[0]
        act, tc = cache["act"][t], cache["tc"][t]
        D, E, tmp = self.D, self.E, self.tmp
        # dc ← dc_carried + dh ⊙ o(1 − tanh² c_t)
        xp.multiply(tc, tc, out=tmp)
        xp.subtract(1, tmp, out=tmp)
        tmp *= act[:, 3 * H:]
        tmp *= dh
        dc = tmp.copy() if dc is None else dc + tmp
        # D = act(1 − act) (σ′ for i, f, o), 1 − g² for g; E = the factor each gate's
        # derivative is multiplied by: [g, c_{t−1}, i, tanh c_t]
        xp.multiply(act, act, out=D)
        xp.subtract(act, D, out=D)
        Dg = D[:, 2 * H:3 * H]
        xp.multiply(act[:, 2 * H:3 * H], act[:, 2 * H:3 * H], out=Dg)
        xp.subtract(1, Dg, out=Dg)
        E[:, :H] = act[:, 2 * H:3 * H]
        E[:, H:2 * H] = self.c_prev[t]
        E[:, 2 * H:3 * H] = act[:, :H]
        E[:, 3 * H:] = tc
        D *= E
        xp.multiply(dc[:, None, :], D[:, :3 * H].reshape(B, 3, H),
                    out=dA_t[:, :3 * H].reshape(B, 3, H))
        xp.multiply(dh, D[:, 3 * H:], out=dA_t[:, 3 * H:])
        dc *= act[:, H:2 * H]
        return dA_t, dA_t, None, dc


class _GRUCell(_Cell):
    separate_hidden_bias = True
    gate_scale = (0.5, 0.5, 1.0)  # r, z, n: r and z are sigmoids

    def __init__(self, T, B, H, xp, dtype):
        super().__init__(T, B, H, xp, dtype)
        self.cache = {"rz": xp.empty((T, B, 2 * H), dtype), "n": xp.empty((T, B, H), dtype),
                      "ghn": xp.empty((T, B, H), dtype)}
        self.tmp = xp.empty((B, H), dtype)

    def forward_step(self, t, ax, state, cache, h_out, gh=None):
        """ax = A_x[t] (with b_ih), gh = h W_hhᵀ + b_hh."""
        H = self.H
        xp = _xp(ax)
        h_prev = state[0]
        rz = cache["rz"][t]
        xp.add(ax[:, :2 * H], gh[:, :2 * H], out=rz)
        xp.tanh(rz, out=rz)  # σ(a) = ½ tanh(a/2) + ½, the ½ folded into the weights
        rz *= 0.5
        rz += 0.5
        r, z = rz[:, :H], rz[:, H:]
        cache["ghn"][t] = gh[:, 2 * H:]
        n = cache["n"][t]
        xp.multiply(r, gh[:, 2 * H:], out=n)
        n += ax[:, 2 * H:]
        xp.tanh(n, out=n)
        # h = n + z ⊙ (h_prev − n)
        xp.subtract(h_prev, n, out=h_out)
        h_out *= z
        h_out += n
        return (h_out,)

    def prepare_backward(self, cache, ys, h_prev, c_prev):
        H = self.H
        rz, n, ghn = cache["rz"], cache["n"], cache["ghn"]
        r, z = rz[..., :H], rz[..., H:]
        # ∂L/∂a_z = dh ⊙ (h_{t−1} − n) z(1−z);  ∂L/∂a_n = dh ⊙ (1−z)(1−n²)
        self.Kz = (h_prev - n) * z * (1 - z)
        self.Kn = (1 - z) * (1 - n * n)
        self.Kr = ghn * r * (1 - r)   # ∂L/∂a_r = ∂L/∂a_n ⊙ ghn ⊙ r(1−r)
        self.r = r
        self.z = z

    def backward_step(self, t, dh, dc, cache, dA_t):
        xp = _xp(dh)
        H = self.H
        dX, dG = dA_t
        dan = dX[:, 2 * H:]
        xp.multiply(dh, self.Kn[t], out=dan)
        xp.multiply(dan, self.Kr[t], out=dX[:, :H])
        xp.multiply(dh, self.Kz[t], out=dX[:, H:2 * H])
        dG[:, :2 * H] = dX[:, :2 * H]
        xp.multiply(dan, self.r[t], out=dG[:, 2 * H:])
        return dX, dG, dh * self.z[t], None


def _make_cell(mode, T, B, H, xp, dtype):
    if mode == "LSTM":
        return _LSTMCell(T, B, H, xp, dtype)
    if mode == "GRU":
        return _GRUCell(T, B, H, xp, dtype)
    return _RNNCell(T, B, H, xp, dtype, relu=(mode == "RNN_RELU"))


# ----------------------------------------------------------------------------- the loop
def _sequence_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, mask):
    """The shared sequence loop on arrays. Returns (ys, final states, cell, hs, cs): hs and
    cs are the carried states after every step (ys and the cell's c unless masked)."""
    xp = _xp(x)
    T, B, _ = x.shape
    H = w_hh.shape[1]
    cell = _make_cell(mode, T, B, H, xp, x.dtype)
    order = list(range(T - 1, -1, -1)) if reverse else list(range(T))
    cell.order = order
    cache = getattr(cell, "cache", None)
    if cell.gate_scale is not None:  # fold the s of α tanh(s a) + β into the weights
        sc, cell.alpha, cell.beta = _gate_constants(cell.gate_scale, H, xp, x.dtype)
        w_ih, w_hh = w_ih * sc[:, None], w_hh * sc[:, None]
        if b_ih is not None:
            b_ih, b_hh = b_ih * sc, b_hh * sc
    ax = (x.reshape(T * B, -1) @ w_ih.T).reshape(T, B, -1)  # all time steps: one GEMM
    if b_ih is not None:
        ax += b_ih
        if not cell.separate_hidden_bias:
            ax += b_hh
    ys = xp.empty((T, B, H), x.dtype)
    hs, cs = ys, (cache["c"] if cell.has_cell else None)
    if mask is not None:
        hs = xp.empty_like(ys)
        cs = xp.empty_like(ys) if cell.has_cell else None
    state = (h0, c0) if cell.has_cell else (h0,)
    w_hhT = w_hh.T
    gh = xp.empty((B, w_hh.shape[0]), x.dtype)
    with _step_blas_threads(xp, B * w_hh.size):
        state = _forward_loop(cell, order, state, w_hhT, b_hh, ax, gh, ys, hs, cs, mask, cache)
    final = tuple(s.copy() for s in state)
    return ys, final, cell, hs, cs


def _forward_loop(cell, order, state, w_hhT, b_hh, ax, gh, ys, hs, cs, mask, cache):
    xp = _xp(ax)
    for t in order:
        xp.matmul(state[0], w_hhT, out=gh)
        if cell.separate_hidden_bias:
            if b_hh is not None:
                gh += b_hh
            new = cell.forward_step(t, ax[t], state, cache, ys[t], gh=gh)
        else:
            gh += ax[t]
            new = cell.forward_step(t, gh, state, cache, ys[t])
        if mask is not None:
            m = mask[t][:, None]
            xp.copyto(hs[t], xp.where(m, new[0], state[0]))
            if cell.has_cell:
                xp.copyto(cs[t], xp.where(m, new[1], state[1]))
            ys[t] *= m
            new = (hs[t], cs[t]) if cell.has_cell else (hs[t],)
        state = new
    return state


class RecurrentSequence(Function):
    """One recurrent layer (one direction) over a (T, B, I) sequence: returns the outputs
    (T, B, H) and the final state(s) (B, H). Inputs: x, h0, [c0], w_ih, w_hh, [b_ih, b_hh]
    (PyTorch's shapes), and a float mask (T, B) last when ``masked``."""

    def forward(ctx, x, h0, *rest, mode="LSTM", reverse=False, has_bias=True, masked=False):
        c0 = None
        if mode == "LSTM":
            c0, rest = rest[0], rest[1:]
        w_ih, w_hh = rest[0], rest[1]
        b_ih = b_hh = None
        if has_bias:
            b_ih, b_hh = rest[2], rest[3]
        mask = rest[-1].astype(bool) if masked else None
        ys, state, cell, hs, cs = _sequence_forward(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh,
                                                    reverse, mask)
        ctx.mode, ctx.reverse, ctx.has_bias, ctx.masked = mode, reverse, has_bias, masked
        ctx.cell = cell
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask, ys,
                              None if mask is None else hs, cs)
        return (ys,) + state

    def release(self):
        super().release()
        self.cell = None

    def backward(ctx, gy, *gstate):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask, ys, hs, cs = ctx.saved_tensors
        if is_grad_enabled():  # create_graph=True: differentiate the Tensor-op form
            return _backward_by_recomputation(ctx, (x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask),
                                              (gy,) + tuple(gstate))
        d = lambda t: None if t is None else t._data  # noqa: E731
        grads = _sequence_backward(ctx.cell, ctx, x._data, h0._data, d(c0), w_ih._data,
                                   w_hh._data, b_hh is not None, d(mask), ys._data,
                                   ys._data if hs is None else hs._data, d(cs),
                                   gy._data, [g._data for g in gstate])
        return tuple(None if g is None else _make(g) for g in grads)


def _sequence_backward(cell, ctx, x, h0, c0, w_ih, w_hh, has_bias, mask, ys, hs, cs, gy,
                       gstate):
    """Backpropagation through time on arrays: the same loop, backwards."""
    xp = _xp(x)
    T, B, _ = x.shape
    GH, H = w_hh.shape
    need = ctx.needs_input_grad
    order = cell.order
    cache = getattr(cell, "cache", None)
    h_prev = _previous(hs, h0, order)
    cell.prepare_backward(cache, ys, h_prev, _previous(cs, c0, order) if cell.has_cell else None)
    dX = xp.empty((T, B, GH), x.dtype)
    dG = xp.empty((T, B, GH), x.dtype) if cell.separate_hidden_bias else dX
    if mask is not None:
        gy = gy * mask[..., None]  # padded outputs are constant zeros
    dh = gstate[0].copy()
    dc = gstate[1].copy() if cell.has_cell else None
    with _step_blas_threads(xp, B * w_hh.size):
        dh, dc = _backward_loop(cell, order, cache, dX, dG, dh, dc, gy, mask, w_hh)
    # the gradients of the inputs and weights: one GEMM each over all time steps
    off = 3 if cell.has_cell else 2
    g_x = g_c0 = g_wih = g_whh = g_bih = g_bhh = None
    dX2, dG2 = dX.reshape(T * B, GH), dG.reshape(T * B, GH)
    if need[0]:
        g_x = (dX2 @ w_ih).reshape(x.shape)
    g_h0 = dh if need[1] else None
    if cell.has_cell and need[2]:
        g_c0 = dc
    if need[off]:
        g_wih = dX2.T @ x.reshape(T * B, -1)
    if need[off + 1]:
        g_whh = dG2.T @ h_prev.reshape(T * B, H)
    if has_bias:
        if need[off + 2]:
            g_bih = dX2.sum(0)
        if need[off + 3]:
            g_bhh = dG2.sum(0)
    out = [g_x, g_h0] + ([g_c0] if cell.has_cell else []) + [g_wih, g_whh]
    if has_bias:
        out += [g_bih, g_bhh]
    if ctx.masked:
        out.append(None)
    return out


def _backward_loop(cell, order, cache, dX, dG, dh, dc, gy, mask, w_hh):
    xp = _xp(dh)
    tmp = xp.empty_like(dh)
    for t in reversed(order):
        dh += gy[t]
        if mask is not None:  # a padded step carries the state: its gradient skips the cell
            m = mask[t][:, None]
            keep_h, dh = xp.where(m, 0, dh), xp.where(m, dh, 0)
            if dc is not None:
                keep_c, dc = xp.where(m, 0, dc), xp.where(m, dc, 0)
        step = (dX[t], dG[t]) if cell.separate_hidden_bias else dX[t]
        dx_t, dg_t, direct, dc = cell.backward_step(t, dh, dc, cache, step)
        xp.matmul(dg_t, w_hh, out=tmp)
        if direct is not None:
            tmp += direct
        dh, tmp = tmp, dh
        if mask is not None:
            dh += keep_h
            if dc is not None:
                dc += keep_c
    return dh, dc


def _previous(hs, h0, order):
    """The state before every step, h_{t−1}, in processing order (h0 before the first)."""
    xp = _xp(hs)
    out = xp.empty_like(hs)
    out[order[0]] = h0
    if len(order) > 1:
        out[order[1:]] = hs[order[:-1]]
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
        outs = recurrent_reference(ctx.mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, ctx.reverse,
                                   None if mask is None else mask.to(x.dtype))
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
                       mask=None):
    """Run one recurrent layer (one direction) over ``x`` of shape (T, B, I).

    ``hx`` is h0 (B, H), or (h0, c0) for ``mode="LSTM"``; ``mask`` an optional (T, B)
    tensor of 1 (valid step) and 0 (padding). Returns (output (T, B, H), h_T[, c_T]).
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
                                   masked=mask is not None)
