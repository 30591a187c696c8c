"""Recurrent models of the syllabus (lecture 8): a character language model, a many-to-one
sequence classifier and a sequence-to-sequence encoder–decoder with teacher forcing.

All three are built from ``dg.nn`` (Embedding, RNN/LSTM/GRU, Linear) and return logits; the
losses are per-token cross-entropy (the LM and seq2seq) or per-sequence cross-entropy.
"""
from __future__ import annotations

import numpy as np

from .. import backend, nn
from ..autograd.grad_mode import no_grad
from ..nn.rnn import detach_state
from ..tensor import Tensor, from_numpy

__all__ = ["CharRNN", "SequenceClassifier", "Seq2Seq", "sample_from_logits", "RECURRENT_CELLS"]

RECURRENT_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _cell(cell: str):
    if cell not in RECURRENT_CELLS:
        raise ValueError(f"unknown recurrent cell {cell!r}; expected one of "
                         f"{sorted(RECURRENT_CELLS)}")
    return RECURRENT_CELLS[cell]


def sample_from_logits(logits: np.ndarray, temperature: float, rng: np.random.Generator):
    """Draw one index per row from softmax(z / T): T → 0 is greedy, T = 1 the model's own
    distribution, T > 1 flatter."""
    z = np.asarray(logits, np.float64)
    if temperature <= 0:
        return z.argmax(-1)
    z = z / temperature
    z -= z.max(-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(-1, keepdims=True)
    u = rng.random(p.shape[:-1] + (1,))
    return np.minimum((p.cumsum(-1) < u).sum(-1), p.shape[-1] - 1)


class CharRNN(nn.Module):
    """Character language model: x_t → Embedding → (RNN | LSTM | GRU) → Linear → logits of
    p(x_{t+1} | x_≤t). Input (B, T) int64 indices, output (B, T, V) logits."""

    def __init__(self, vocab_size: int, embedding_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 1, cell: str = "lstm", dropout: float = 0.0):
        super().__init__()
        self.vocab_size, self.cell = vocab_size, cell
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = _cell(cell)(embedding_dim, hidden_size, num_layers=num_layers,
                               batch_first=True, dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, state=None, return_state: bool = False):
        out, state = self.rnn(self.embedding(x), state)
        logits = self.decoder(self.drop(out))
        return (logits, state) if return_state else logits

    def sample(self, length: int = 500, temperature: float = 0.8, prime=None,
               seed: int | None = None) -> np.ndarray:
        """Generate ``length`` indices after the ``prime`` indices (default: one random
        index), feeding each draw back in (the state carries the context)."""
        rng = np.random.default_rng(seed)
        was = self.training
        self.eval()
        try:
            with no_grad():
                prime = np.asarray([rng.integers(self.vocab_size)] if prime is None
                                   else prime, np.int64).reshape(1, -1)
                logits, state = self(from_numpy(prime), return_state=True)
                out = []
                last = backend.to_numpy(logits._data)[:, -1]
                for _ in range(length):
                    idx = sample_from_logits(last, temperature, rng)
                    out.append(int(idx[0]))
                    logits, state = self(from_numpy(idx.reshape(1, 1).astype(np.int64)), state,
                                         return_state=True)
                    last = backend.to_numpy(logits._data)[:, -1]
        finally:
            self.train(was)
        return np.asarray(out, np.int64)


class SequenceClassifier(nn.Module):
    """Many-to-one: read a sequence (B, T, I) and classify it from the last hidden state
    (o_T of the forward direction, and o_1 of the backward one when bidirectional).
    A flat input (B, T·I) is read as T steps of ``input_size`` features (an image's rows)."""

    def __init__(self, input_size: int, hidden_size: int, num_classes: int,
                 cell: str = "lstm", num_layers: int = 1, bidirectional: bool = False,
                 dropout: float = 0.0):
        super().__init__()
        self.input_size = input_size
        self.rnn = _cell(cell)(input_size, hidden_size, num_layers=num_layers,
                               batch_first=True, bidirectional=bidirectional,
                               dropout=dropout if num_layers > 1 else 0.0)
        self.fc = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, x, lengths=None):
        if x.ndim == 2:
            x = x.reshape(x.shape[0], -1, self.input_size)
        elif x.ndim == 4:  # (B, 1, H, W) images: rows as time steps
            x = x.reshape(x.shape[0], -1, self.input_size)
        _, h = self.rnn(x, lengths=lengths)
        h_n = h[0] if isinstance(h, tuple) else h
        if self.rnn.bidirectional:
            from ..ops.shape import cat
            last = cat([h_n[-2], h_n[-1]], 1)
        else:
            last = h_n[-1]
        return self.fc(last)


class Seq2Seq(nn.Module):
    """Encoder–decoder LSTM (Sutskever et al. 2014): the encoder reads the source, its final
    (h, c) starts the decoder, which predicts target token t from token t − 1.

    Training uses teacher forcing: the decoder reads the true previous token (``bos``, y_1,
    …, y_{T−1}). ``forward(x)`` takes the source and the decoder input side by side,
    x = [src ‖ tgt_in] of shape (B, S + T), so it trains in the generic loop; ``generate``
    decodes greedily, feeding back its own predictions.
    """

    def __init__(self, vocab_size: int, src_len: int, embedding_dim: int = 32,
                 hidden_size: int = 128, num_layers: int = 1, bos: int | None = None):
        super().__init__()
        self.vocab_size, self.src_len = vocab_size, src_len
        self.bos = vocab_size - 1 if bos is None else bos
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.encoder = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True)
        self.decoder = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True)
        self.out = nn.Linear(hidden_size, vocab_size)

    def encode(self, src):
        _, state = self.encoder(self.embedding(src))
        return state

    def forward(self, x, tgt_in=None):
        if tgt_in is None:
            src, tgt_in = x[:, :self.src_len], x[:, self.src_len:]
        else:
            src = x
        out, _ = self.decoder(self.embedding(tgt_in), self.encode(src))
        return self.out(out)

    def generate(self, src, length: int) -> np.ndarray:
        """Greedy decoding of ``length`` tokens: ŷ_t = argmax p(y_t | ŷ_<t, src)."""
        was = self.training
        self.eval()
        try:
            with no_grad():
                src = src if isinstance(src, Tensor) else from_numpy(np.asarray(src, np.int64))
                state = self.encode(src)
                tok = np.full((src.shape[0], 1), self.bos, np.int64)
                out = []
                for _ in range(length):
                    o, state = self.decoder(self.embedding(from_numpy(tok)), state)
                    state = detach_state(state)
                    tok = backend.to_numpy(self.out(o)._data).argmax(-1).astype(np.int64)
                    out.append(tok[:, 0])
        finally:
            self.train(was)
        return np.stack(out, 1)

