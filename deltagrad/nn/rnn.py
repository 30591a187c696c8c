"""Recurrent layers: PyTorch's ``RNN``, ``LSTM``, ``GRU`` and their cells, the notes' Elman
and Jordan networks, and helpers for variable lengths and truncated BPTT.

Every layer runs through one shared, fused sequence loop
(:func:`deltagrad.ops.recurrent.recurrent_sequence`): the input projection of all time
steps is one GEMM, each step one GEMM for all gates, and backpropagation through time loops
over raw arrays. Parameter names, shapes, gate order (LSTM i, f, g, o; GRU r, z, n) and
the default initialisation U(−1/√H, 1/√H) are PyTorch's, so ``state_dict`` moves between
the two.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..ops.recurrent import GATES as _GATES, recurrent_sequence
from ..ops import shape as S
from ..ops.dropout import dropout as _dropout
from ..tensor import Tensor, empty, from_numpy, zeros
from . import init
from .module import Module, Parameter
from .utils.rnn import PackedSequence, _step_index, pad_packed_sequence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
           "ElmanRNN", "JordanRNN", "lengths_to_mask", "last_time_step", "detach_state",
           "bptt_batches"]

# ----------------------------------------------------------------------------- helpers
def lengths_to_mask(lengths, max_len: int | None = None, batch_first: bool = False) -> Tensor:
    """m[t, b] = 1 if t < lengths[b] else 0, shape (T, B) (or (B, T) with ``batch_first``),
    in the default float dtype: which time steps of a padded batch are real."""
    lens = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths,
                      dtype=np.int64).reshape(-1)
    if lens.size and lens.min() < 1:
        raise ValueError(f"lengths_to_mask: every length must be >= 1, got {lens.tolist()}")
    T = int(lens.max()) if max_len is None else int(max_len)
    if lens.size and lens.max() > T:
        raise ValueError(f"lengths_to_mask: a length {int(lens.max())} exceeds max_len {T}")
    m = (np.arange(T)[:, None] < lens[None, :]).astype(backend.get_default_dtype())
    return from_numpy(np.ascontiguousarray(m.T) if batch_first else m)


def last_time_step(output: Tensor, lengths, batch_first: bool = False) -> Tensor:
    """The output at each sequence's last real step, o[lengths[b] − 1, b]: shape (B, H)
    (the many-to-one read-out of a padded batch)."""
    lens = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths,
                      dtype=np.int64).reshape(-1)
    B = output.shape[0] if batch_first else output.shape[1]
    if lens.shape[0] != B:
        raise ValueError(f"last_time_step: {lens.shape[0]} lengths for a batch of {B}")
    rows = from_numpy(np.arange(B))
    steps = from_numpy(lens - 1)
    return output[rows, steps] if batch_first else output[steps, rows]


def detach_state(state):
    """Cut the graph behind a carried state (a Tensor or a tuple of them): truncated BPTT
    backpropagates through one chunk only, while the state's values flow on."""
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    return tuple(detach_state(s) for s in state)


def bptt_batches(tokens, batch_size: int, seq_len: int, offset: int = 0):
    """Truncated-BPTT chunks of a 1-D token stream: the stream is cut into ``batch_size``
    parallel rows, and chunk k yields (x, y) of shape (batch_size, seq_len) with
    y = x shifted by one, so row b of chunk k + 1 continues row b of chunk k (carry the
    state across chunks with :func:`detach_state`)."""
    a = np.asarray(tokens.numpy() if isinstance(tokens, Tensor) else tokens)[offset:]
    n = (len(a) - 1) // batch_size
    if n < 1:
        raise ValueError(f"bptt_batches: {len(a)} tokens are too few for {batch_size} rows")
    x_all = a[:n * batch_size].reshape(batch_size, n)
    y_all = a[1:n * batch_size + 1].reshape(batch_size, n)
    for s in range(0, n - 1, seq_len):
        e = min(s + seq_len, n)
        yield (from_numpy(np.ascontiguousarray(x_all[:, s:e]).astype(np.int64)),
               from_numpy(np.ascontiguousarray(y_all[:, s:e]).astype(np.int64)))


def _shape(t):
    return tuple(t.shape)


# ----------------------------------------------------------------------------- layers
class RNNBase(Module):
    """A stack of recurrent layers, each one fused sequence operation per direction.

    Layer l ≥ 1 reads the (concatenated, for bidirectional) outputs of layer l − 1, with
    dropout between layers in training mode. Parameters per layer l and direction
    (suffix ``_reverse``): ``weight_ih_l{l}`` (G·H, I_l), ``weight_hh_l{l}`` (G·H, H),
    ``bias_ih_l{l}``, ``bias_hh_l{l}`` (G·H,), all ~ U(−1/√H, 1/√H).
    """

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None):
        super().__init__()
        if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size <= 0:
            raise ValueError(f"{type(self).__name__}: input_size must be greater than zero, "
                             f"got {input_size!r}")
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{type(self).__name__}: hidden_size must be a positive integer, "
                             f"got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{type(self).__name__}: num_layers must be a positive integer, "
                             f"got {num_layers!r}")
        if not 0 <= float(dropout) <= 1:
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1], got {dropout}")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = 0
        G = _GATES[mode]
        D = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * D
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                shapes = [(G * hidden_size, in_size), (G * hidden_size, hidden_size)]
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    shapes += [(G * hidden_size,), (G * hidden_size,)]
                for n, s in zip(names, shapes):
                    setattr(self, n, Parameter(empty(*s, dtype=dtype, device=device)))
                self._flat_weights_names.extend(names)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for name in self._flat_weights_names:
            init.uniform_(getattr(self, name), -stdv, stdv)

    @property
    def all_weights(self):
        per = 4 if self.bias else 2
        w = [getattr(self, n) for n in self._flat_weights_names]
        return [w[i:i + per] for i in range(0, len(w), per)]

    def _layer_weights(self, layer, direction):
        sfx = f"_l{layer}" + ("_reverse" if direction else "")
        w = (getattr(self, f"weight_ih{sfx}"), getattr(self, f"weight_hh{sfx}"))
        if self.bias:
            w += (getattr(self, f"bias_ih{sfx}"), getattr(self, f"bias_hh{sfx}"))
        return w

    def _name(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}" + \
            (f", num_layers={self.num_layers}" if self.num_layers != 1 else "") + ")"

    def _check_state(self, h, what, expected):
        if not isinstance(h, Tensor):
            raise TypeError(f"{self._name()}: {what} must be a Tensor, got {type(h).__name__}")
        if _shape(h) != expected:
            raise RuntimeError(f"{self._name()}: expected {what} of shape {expected} "
                               f"(num_layers * num_directions, batch, hidden_size), got "
                               f"{_shape(h)}")

    def forward(self, input, hx=None, lengths=None):
        """``output, h_n`` (``output, (h_n, c_n)`` for the LSTM).

        input (T, B, I) — (B, T, I) with ``batch_first`` — or unbatched (T, I);
        hx (L·D, B, H) (a pair for the LSTM), zeros if None; ``lengths`` (B,) marks padded
        sequences: padded outputs are 0 and h_n holds each sequence's own last state.
        A PackedSequence input (``nn.utils.rnn``) gives a PackedSequence output.
        """
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        name = self._name()
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise RuntimeError(f"{name}: expected input of rank 3 (seq_len, batch, "
                               f"{self.input_size})" + (" with batch_first=True: (batch, "
                               f"seq_len, {self.input_size})" if self.batch_first else "")
                               + f" or rank 2 (seq_len, {self.input_size}), got shape "
                               f"{_shape(input)}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: expected input with {self.input_size} features in the "
                               f"last dimension, got shape {_shape(input)}")
        batched = input.ndim == 3
        # a batch-first input goes to the layers as it is: they read and write (B, T, ·)
        batch_first = self.batch_first and batched
        x = input if batched else input.unsqueeze(1)
        T, B = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
        if T == 0:
            raise RuntimeError(f"{name}: expected a sequence of at least one time step, got "
                               f"shape {_shape(input)}")
        L, D, H = self.num_layers, 2 if self.bidirectional else 1, self.hidden_size
        is_lstm = self.mode == "LSTM"
        expected = (L * D, B, H) if batched else (L * D, H)
        if hx is None:  # one (B, H) zero state serves every layer and direction
            zero = zeros(B, H, dtype=x.dtype, device=x.device)
            h0 = [zero] * (L * D)
            c0 = h0 if is_lstm else None
        else:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise RuntimeError(f"{name}: expected hx as a tuple (h_0, c_0), got "
                                       f"{type(hx).__name__}")
                h0, c0 = hx
                self._check_state(h0, "h_0", expected)
                self._check_state(c0, "c_0", expected)
            else:
                h0, c0 = hx, None
                self._check_state(h0, "hx", expected)
            if not batched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
        mask = None
        if lengths is not None:
            mask = lengths_to_mask(lengths, T)
            if mask.shape[1] != B:
                raise RuntimeError(f"{name}: {mask.shape[1]} lengths for a batch of {B}")
            mask = mask.to(dtype=x.dtype, device=x.device)
        h_n, c_n = [], []
        layer_in = x
        for layer in range(L):
            outs = []
            for d in range(D):
                k = layer * D + d
                hx_k = (h0[k], c0[k]) if is_lstm else h0[k]
                res = recurrent_sequence(self.mode, layer_in, hx_k, *self._layer_weights(layer, d),
                                         reverse=bool(d), mask=mask, batch_first=batch_first)
                outs.append(res[0])
                h_n.append(res[1])
                if is_lstm:
                    c_n.append(res[2])
            layer_in = outs[0] if D == 1 else S.cat(outs, 2)
            if self.dropout and self.training and layer < L - 1:
                layer_in = _dropout(layer_in, self.dropout, True)
        output = layer_in
        # a single final state comes back as a (1, B, H) view of the new tensor the layer made
        h_n = S.stack(h_n, 0) if len(h_n) > 1 else h_n[0].unsqueeze(0)
        c_n = None if not is_lstm else S.stack(c_n, 0) if len(c_n) > 1 else \
            c_n[0].unsqueeze(0)
        if not batched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if is_lstm else None
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)

    def _forward_packed(self, packed, hx):
        """Unpack to a padded batch in the batch's order, run with the lengths (each sequence
        stops at its own end; h_n in the batch's order, as PyTorch returns it) and pack the
        output with the input's order and batch sizes."""
        if packed.data.ndim != 2:
            raise RuntimeError(f"{self._name()}: a PackedSequence input needs data of shape "
                               f"(steps, {self.input_size}), got {_shape(packed.data)}")
        padded, lengths = pad_packed_sequence(packed, batch_first=self.batch_first)
        out, state = self.forward(padded, hx, lengths=lengths)
        if self.batch_first:
            out = out.transpose(0, 1)
        if packed.sorted_indices is not None:
            out = out.index_select(1, packed.sorted_indices)
        _, t_idx, b_idx = _step_index(np.sort(lengths.numpy())[::-1].copy())
        data = out[from_numpy(t_idx), from_numpy(b_idx)]
        return PackedSequence(data, packed.batch_sizes, packed.sorted_indices,
                              packed.unsorted_indices), state

    def flatten_parameters(self):
        """A no-op kept for PyTorch programs (cuDNN's contiguous weight buffer): the fused
        loop already reads the weights as they are."""

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN layers: h_t = φ(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh), φ = tanh or ReLU."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r}; expected 'tanh' or "
                             "'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)

    def extra_repr(self):
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """Long short-term memory: gates [i, f, g, o] = [σ, σ, tanh, σ](x W_ihᵀ + h W_hhᵀ + b),
    c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        if proj_size:
            raise NotImplementedError("LSTM: proj_size is not supported by deltagrad")
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit: r, z = σ(·), n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device, dtype)


# ----------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One time step: the same fused operation with a sequence of length 1."""

    def __init__(self, mode, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        G = _GATES[mode]
        self.weight_ih = Parameter(empty(G * hidden_size, input_size, dtype=dtype, device=device))
        self.weight_hh = Parameter(empty(G * hidden_size, hidden_size, dtype=dtype,
                                         device=device))
        if bias:
            self.bias_ih = Parameter(empty(G * hidden_size, dtype=dtype, device=device))
            self.bias_hh = Parameter(empty(G * hidden_size, dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def _name(self):
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size})"

    def forward(self, input, hx=None):
        name = self._name()
        if not isinstance(input, Tensor) or input.ndim not in (1, 2) \
                or input.shape[-1] != self.input_size:
            got = _shape(input) if isinstance(input, Tensor) else type(input).__name__
            raise RuntimeError(f"{name}: expected input of shape (batch, {self.input_size}) or "
                               f"({self.input_size},), got {got}")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        B, H = x.shape[0], self.hidden_size
        expected = (B, H) if batched else (H,)
        is_lstm = self.mode == "LSTM"
        if hx is None:
            h = zeros(B, H, dtype=x.dtype, device=x.device)
            states = (h, h) if is_lstm else (h,)
        else:
            states = tuple(hx) if is_lstm else (hx,)
            if is_lstm and len(states) != 2:
                raise RuntimeError(f"{name}: expected hx as a tuple (h, c)")
            for s, what in zip(states, ("h", "c")):
                if not isinstance(s, Tensor) or _shape(s) != expected:
                    got = _shape(s) if isinstance(s, Tensor) else type(s).__name__
                    raise RuntimeError(f"{name}: expected state {what} of shape {expected} "
                                       f"(batch, hidden_size), got {got}")
            if not batched:
                states = tuple(s.unsqueeze(0) for s in states)
        w = (self.weight_ih, self.weight_hh)
        if self.bias:
            w += (self.bias_ih, self.bias_hh)
        res = recurrent_sequence(self.mode, x.unsqueeze(0), states if is_lstm else states[0], *w)
        out = res[1:]
        if not batched:
            out = tuple(o.squeeze(0) for o in out)
        return out if is_lstm else out[0]

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """h' = φ(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, bias, device, dtype)


class LSTMCell(RNNCellBase):
    """(h', c') from (x, (h, c)) with the LSTM's gates i, f, g, o."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)


class GRUCell(RNNCellBase):
    """h' from (x, h) with the GRU's gates r, z, n."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)


# ----------------------------------------------------------------------------- notes' forms
class _NotesRNN(Module):
    """Shared parameters of the notes' Elman and Jordan networks (notes 000 §9.2–9.3), in
    the notes' orientation: U (I, H), W (·, H), V (H, O), b (H,), c (O,)."""

    def __init__(self, input_size, hidden_size, output_size, feedback_size, nonlinearity,
                 output_activation, batch_first, dtype=None):
        super().__init__()
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{type(self).__name__}: nonlinearity must be 'tanh' or 'relu'")
        if output_activation not in ("sigmoid", "identity", "tanh"):
            raise ValueError(f"{type(self).__name__}: output_activation must be 'sigmoid', "
                             "'tanh' or 'identity'")
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, \
            output_size
        self.nonlinearity, self.output_activation = nonlinearity, output_activation
        self.batch_first = batch_first
        self.U = Parameter(empty(input_size, hidden_size, dtype=dtype))
        self.W = Parameter(empty(feedback_size, hidden_size, dtype=dtype))
        self.b = Parameter(empty(hidden_size, dtype=dtype))
        self.V = Parameter(empty(hidden_size, output_size, dtype=dtype))
        self.c = Parameter(empty(output_size, dtype=dtype))
        stdv = 1.0 / math.sqrt(hidden_size)
        for p in (self.U, self.W, self.b):
            init.uniform_(p, -stdv, stdv)
        stdo = 1.0 / math.sqrt(output_size)
        for p in (self.V, self.c):
            init.uniform_(p, -stdo, stdo)

    def _sequence(self, input):
        name = f"{type(self).__name__}({self.input_size}, {self.hidden_size}, {self.output_size})"
        if not isinstance(input, Tensor) or input.ndim != 3 or input.shape[-1] != self.input_size:
            got = _shape(input) if isinstance(input, Tensor) else type(input).__name__
            layout = "(batch, seq_len" if self.batch_first else "(seq_len, batch"
            raise RuntimeError(f"{name}: expected input of shape {layout}, {self.input_size}), "
                               f"got {got}")
        return (input.transpose(0, 1) if self.batch_first else input), name

    def _out(self, h):
        y = h @ self.V + self.c
        if self.output_activation == "sigmoid":
            return y.sigmoid()
        if self.output_activation == "tanh":
            return y.tanh()
        return y

    def _phi(self, a):
        return a.tanh() if self.nonlinearity == "tanh" else a.relu()

    def _initial_state(self, given, x, size, what, name):
        """The carried state at t = 0: zeros (batch, size), or ``given`` after a shape check."""
        B = x.shape[1]
        if given is None:
            return zeros(B, size, dtype=x.dtype, device=x.device)
        if _shape(given) != (B, size):
            raise RuntimeError(f"{name}: expected {what} of shape {(B, size)} (batch, "
                               f"{'hidden' if what == 'h0' else 'output'}_size), got "
                               f"{_shape(given)}")
        return given

    def _finish(self, Y, Hs):
        if self.batch_first:
            Y, Hs = Y.transpose(0, 1), Hs.transpose(0, 1)
        return Y, Hs


class ElmanRNN(_NotesRNN):
    """The notes' Elman network: h(t) = φ(Uᵀx(t) + Wᵀh(t−1) + b), y(t) = σ(Vᵀh(t) + c).

    Batched as H(t) = φ(X(t)U + H(t−1)W + B), Y(t) = σ(H(t)V + C). ``forward(X, h0=None)``
    returns (Y, H): outputs (T, B, O) and hidden states (T, B, H). The recurrence runs in
    the fused sequence loop (W_ih = Uᵀ, W_hh = Wᵀ); the output layer is one GEMM after it.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 nonlinearity: str = "tanh", output_activation: str = "sigmoid",
                 batch_first: bool = False, dtype=None):
        super().__init__(input_size, hidden_size, output_size, hidden_size, nonlinearity,
                         output_activation, batch_first, dtype)

    def forward(self, input, h0=None):
        x, name = self._sequence(input)
        H = self.hidden_size
        h0 = self._initial_state(h0, x, H, "h0", name)
        zero = zeros(H, dtype=x.dtype, device=x.device)
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        Hs, _ = recurrent_sequence(mode, x, h0, self.U.t(), self.W.t(), self.b, zero)
        return self._finish(self._out(Hs), Hs)


class JordanRNN(_NotesRNN):
    """The notes' Jordan network: the previous *output* is fed back,
    h(t) = φ(Uᵀx(t) + Wᵀy(t−1) + b), y(t) = σ(Vᵀh(t) + c), Y(0) = 0.

    Batched (notes 000 §9.3): H(t) = φ(X(t)U + Y(t−1)W + B), Y(t) = σ(H(t)V + C), with
    W of shape (O, H). ``forward(X, y0=None)`` returns (Y, H), shapes (T, B, O) and
    (T, B, H). The output layer sits inside the recurrence, so the loop is over Tensor ops.
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int,
                 nonlinearity: str = "tanh", output_activation: str = "sigmoid",
                 batch_first: bool = False, dtype=None):
        super().__init__(input_size, hidden_size, output_size, output_size, nonlinearity,
                         output_activation, batch_first, dtype)

    def forward(self, input, y0=None):
        x, name = self._sequence(input)
        y = self._initial_state(y0, x, self.output_size, "y0", name)
        xu = x @ self.U + self.b  # all time steps at once
        ys, hs = [], []
        for t in range(x.shape[0]):
            h = self._phi(xu[t] + y @ self.W)
            y = self._out(h)
            ys.append(y)
            hs.append(h)
        return self._finish(S.stack(ys, 0), S.stack(hs, 0))
