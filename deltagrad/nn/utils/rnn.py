"""Variable-length sequences (``torch.nn.utils.rnn``): padding and packing.

A batch of B sequences of lengths ℓ_b is either *padded*, one (T, B, *) tensor with
T = max ℓ_b (``pad_sequence``), or *packed*: the real steps only, time step by time step, each
step holding the sequences still running, longest first (``PackedSequence``):
``data`` = [x_0 of every sequence, x_1 of those with ℓ > 1, ...] and
``batch_sizes[t]`` = #{b : ℓ_b > t}. ``nn.RNN``/``LSTM``/``GRU`` accept a PackedSequence and
then stop each sequence at its own length (h_n is each sequence's last real state).
Packing and unpacking are index reads and writes, so gradients flow through them.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ... import backend
from ...tensor import Tensor, _make, full, tensor

__all__ = ["PackedSequence", "pad_sequence", "unpad_sequence", "pack_padded_sequence",
           "pad_packed_sequence", "pack_sequence", "unpack_sequence"]


class PackedSequence(NamedTuple):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``: the steps of a batch of
    sequences sorted by decreasing length (``sorted_indices`` maps that order to the batch's,
    ``unsorted_indices`` back; both None when the batch was already sorted)."""
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args, **kwargs):
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        return self._replace(data=data)

    def cpu(self):
        return self.to("cpu")

    @property
    def is_cuda(self):
        return self.data.is_cuda

    def is_pinned(self):
        return False


def _lengths_array(lengths, op):
    if isinstance(lengths, Tensor):
        if lengths.dtype.kind not in "iu" or lengths.ndim != 1:
            raise RuntimeError(f"{op}: lengths must be a 1-D int64 tensor, got dtype "
                               f"{lengths.dtype} and shape {tuple(lengths.shape)}")
        a = backend.to_numpy(lengths._data).astype(np.int64)
    else:
        a = np.asarray(lengths)
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise RuntimeError(f"{op}: lengths must be a 1-D list of ints, got {lengths!r}")
        a = a.astype(np.int64)
    if a.size and a.min() <= 0:
        raise RuntimeError(f"{op}: length of all samples has to be greater than 0, but found an "
                           f"element in 'lengths' that is <= 0: {a.tolist()}")
    return a


def _step_index(lengths_sorted):
    """(time, batch) positions of the packed steps: time-major, each step's running
    sequences (sorted longest first)."""
    T = int(lengths_sorted[0]) if lengths_sorted.size else 0
    batch_sizes = (lengths_sorted[None, :] > np.arange(T)[:, None]).sum(1)
    t_idx = np.repeat(np.arange(T), batch_sizes)
    b_idx = np.concatenate([np.arange(n) for n in batch_sizes]) if T else np.zeros(0, np.int64)
    return batch_sizes.astype(np.int64), t_idx, b_idx


def _index(a, x):
    return _make(backend.to_device(np.ascontiguousarray(a, dtype=np.int64), x.device))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack sequences of shapes (ℓ_b, *) into (T, B, *) (or (B, T, *)), filling the missing
    steps with ``padding_value`` after (``padding_side='right'``) or before ('left')."""
    if isinstance(sequences, Tensor):
        sequences = list(sequences.unbind(0))
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'left' or 'right', got "
                         f"{padding_side!r}")
    for k, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"pad_sequence: sequence {k} must be a Tensor, got "
                            f"{type(s).__name__}")
        if s.ndim == 0 or tuple(s.shape[1:]) != tuple(sequences[0].shape[1:]):
            raise RuntimeError(f"pad_sequence: every sequence must have shape (length, "
                               f"{', '.join(map(str, sequences[0].shape[1:]))}...) like the "
                               f"first, but sequence {k} has shape {tuple(s.shape)}")
    from ...ops.shape import cat
    lengths = np.array([s.shape[0] for s in sequences], np.int64)
    T, B = int(lengths.max()), len(sequences)
    x = sequences[0]
    dtype = x.dtype
    for s in sequences[1:]:
        if s.dtype != dtype:
            raise RuntimeError(f"pad_sequence: all sequences must have one dtype, got {dtype} "
                               f"and {s.dtype}")
    t_idx = np.concatenate([np.arange(n) + (T - n if padding_side == "left" else 0)
                            for n in lengths])
    b_idx = np.repeat(np.arange(B), lengths)
    out = full((T, B) + tuple(x.shape[1:]), padding_value, dtype=dtype, device=x.device)
    if t_idx.size:
        out[_index(t_idx, x), _index(b_idx, x)] = cat(sequences, 0)
    return out.transpose(0, 1) if batch_first else out


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The list of sequences ``padded[:ℓ_b, b]`` (the inverse of ``pad_sequence``)."""
    lens = _lengths_array(lengths, "unpad_sequence")
    x = padded_sequences.transpose(0, 1) if not batch_first else padded_sequences
    return [x[b, :int(n)] for b, n in enumerate(lens)]


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """The PackedSequence of a padded batch (T, B, *) (or (B, T, *)) whose sequences have the
    given lengths. With ``enforce_sorted`` the lengths must be decreasing; otherwise the batch
    is sorted here and the order remembered."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pack_padded_sequence: input must be a Tensor, got "
                        f"{type(input).__name__}")
    lens = _lengths_array(lengths, "pack_padded_sequence")
    if input.ndim < 2:
        raise RuntimeError(f"pack_padded_sequence: expected input of shape (T, B, *) "
                           f"{'(batch_first: (B, T, *))' if batch_first else ''}, got "
                           f"{tuple(input.shape)}")
    x = input.transpose(0, 1) if batch_first else input
    T, B = x.shape[0], x.shape[1]
    if lens.shape[0] != B:
        raise RuntimeError(f"pack_padded_sequence: expected {B} lengths (one per sequence of the "
                           f"batch), got {lens.shape[0]}")
    if lens.size and lens.max() > T:
        raise RuntimeError(f"pack_padded_sequence: a length {int(lens.max())} exceeds the padded "
                           f"length {T} of the input of shape {tuple(input.shape)}")
    if enforce_sorted:
        if np.any(np.diff(lens) > 0):
            raise RuntimeError("pack_padded_sequence: `lengths` array must be sorted in "
                               f"decreasing order when `enforce_sorted` is True (got "
                               f"{lens.tolist()}); pass enforce_sorted=False to sort here")
        sorted_indices = unsorted_indices = None
        order = np.arange(B)
    else:
        order = np.argsort(-lens, kind="stable")
        sorted_indices = _make(order.astype(np.int64))
        unsorted_indices = _make(np.argsort(order, kind="stable").astype(np.int64))
    batch_sizes, t_idx, b_idx = _step_index(lens[order])
    data = x[_index(t_idx, x), _index(order[b_idx], x)]
    return PackedSequence(data, _make(batch_sizes), sorted_indices, unsorted_indices)


def _packed_lengths(batch_sizes):
    """ℓ of the sorted sequences from batch_sizes: ℓ_j = #{t : batch_sizes[t] > j}."""
    bs = backend.to_numpy(batch_sizes._data).astype(np.int64)
    B = int(bs[0]) if bs.size else 0
    return (bs[None, :] > np.arange(B)[:, None]).sum(1), bs


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """(padded (T, B, *) or (B, T, *), lengths int64) from a PackedSequence, in the batch's
    original order (the inverse of ``pack_padded_sequence``)."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    lens, bs = _packed_lengths(sequence.batch_sizes)
    T = int(bs.size)
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"pad_packed_sequence: expected total_length to be at least the "
                             f"length of the longest sequence ({T}), got {total_length}")
        T = int(total_length)
    data = sequence.data
    B = lens.shape[0]
    _, t_idx, b_idx = _step_index(lens)
    out = full((T, B) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
               device=data.device)
    if t_idx.size:
        out[_index(t_idx, data), _index(b_idx, data)] = data
    if sequence.unsorted_indices is not None:
        out = out.index_select(1, sequence.unsorted_indices)
        lens = lens[backend.to_numpy(sequence.unsorted_indices._data)]
    if batch_first:
        out = out.transpose(0, 1)
    return out, tensor(lens, dtype=backend.int64)


def pack_sequence(sequences, enforce_sorted=True):
    """The PackedSequence of a list of sequences (ℓ_b, *)."""
    sequences = list(sequences)
    lengths = [int(s.shape[0]) if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences):
    """The list of sequences of a PackedSequence, in the batch's original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
