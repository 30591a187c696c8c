"""Positional encodings: attention is blind to order, so position is added to the inputs.

Sinusoidal (Vaswani et al. 2017), for position pos and feature pairs i = 0, 1, …:

    PE(pos, 2i)   = sin(pos / 10000^(2i/d))
    PE(pos, 2i+1) = cos(pos / 10000^(2i/d))

(a fixed buffer, no parameters); learned positions are one trainable vector per position
(an embedding table indexed by 0, 1, …, T − 1, as GPT and ViT use).
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor, _make, empty
from . import init
from .dropout import Dropout
from .module import Module, Parameter

__all__ = ["sinusoidal_positional_encoding", "PositionalEncoding", "LearnedPositionalEncoding"]


def sinusoidal_positional_encoding(max_len: int, d_model: int, dtype=None) -> Tensor:
    """The (max_len, d_model) table PE(pos, 2i) = sin(pos/10000^(2i/d)),
    PE(pos, 2i+1) = cos(pos/10000^(2i/d)); an odd d_model has one cosine column fewer."""
    if max_len < 0 or d_model <= 0:
        raise ValueError(f"sinusoidal_positional_encoding: expected max_len >= 0 and "
                         f"d_model > 0, got max_len={max_len}, d_model={d_model}")
    dt = backend.as_dtype(dtype) if dtype is not None else backend.get_default_dtype()
    pos = np.arange(max_len, dtype=np.float64)[:, None]
    two_i = np.arange(0, d_model, 2, dtype=np.float64)
    angle = pos / 10000.0 ** (two_i / d_model)          # (max_len, ⌈d/2⌉)
    pe = np.zeros((max_len, d_model), dtype=np.float64)
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, :d_model // 2])
    return _make(pe.astype(dt))


def _seq_dim(x, batch_first, op):
    if x.ndim == 2:
        return 0
    if x.ndim != 3:
        raise RuntimeError(f"{op}: expected input of shape (L, N, E), (N, L, E) with "
                           f"batch_first=True, or (L, E); got {tuple(x.shape)}")
    return 1 if batch_first else 0


class PositionalEncoding(Module):
    """x + PE[:L] followed by dropout, with the fixed sinusoidal table PE as a buffer ``pe``
    (not saved in the state_dict: it is a formula). Input (L, N, E), or (N, L, E) with
    ``batch_first=True``."""

    def __init__(self, d_model: int, dropout: float = 0.1, max_len: int = 5000,
                 batch_first: bool = False):
        super().__init__()
        self.d_model, self.max_len, self.batch_first = d_model, max_len, batch_first
        self.dropout = Dropout(dropout)
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model),
                             persistent=False)

    def forward(self, x):
        d = _seq_dim(x, self.batch_first, "PositionalEncoding")
        L = x.shape[d]
        if L > self.max_len or x.shape[-1] != self.d_model:
            raise RuntimeError(f"PositionalEncoding(d_model={self.d_model}, max_len="
                               f"{self.max_len}): got input of shape {tuple(x.shape)}")
        pe = self.pe[:L].to(x.dtype)
        if x.ndim == 3 and d == 0:
            pe = pe.unsqueeze(1)
        return self.dropout(x + pe)

    def extra_repr(self):
        return f"d_model={self.d_model}, max_len={self.max_len}, batch_first={self.batch_first}"


class LearnedPositionalEncoding(Module):
    """x + P[:L] with a trainable table P (``weight``, shape (max_len, d_model), init
    N(0, std²)), followed by dropout. Input (L, N, E), or (N, L, E) with
    ``batch_first=True``."""

    def __init__(self, max_len: int, d_model: int, dropout: float = 0.0,
                 batch_first: bool = True, std: float = 0.02, device=None, dtype=None):
        super().__init__()
        self.max_len, self.d_model, self.batch_first = max_len, d_model, batch_first
        self.weight = Parameter(empty(max_len, d_model, device=device, dtype=dtype))
        self.std = std
        self.dropout = Dropout(dropout)
        self.reset_parameters()

    def reset_parameters(self):
        init.normal_(self.weight, 0.0, self.std)

    def forward(self, x):
        d = _seq_dim(x, self.batch_first, "LearnedPositionalEncoding")
        L = x.shape[d]
        if L > self.max_len or x.shape[-1] != self.d_model:
            raise RuntimeError(f"LearnedPositionalEncoding(max_len={self.max_len}, d_model="
                               f"{self.d_model}): got input of shape {tuple(x.shape)}")
        p = self.weight[:L]
        if x.ndim == 3 and d == 0:
            p = p.unsqueeze(1)
        return self.dropout(x + p)

    def extra_repr(self):
        return f"max_len={self.max_len}, d_model={self.d_model}"

