"""Writing along one dimension at listed positions: ``index_add``, ``index_copy``,
``index_fill`` (each with its in-place ``_`` method) and ``Tensor.fill_diagonal_``.

    index_add:  out[..., index[i], ...] += α · source[..., i, ...]   (repeats accumulate)
    index_copy: out[..., index[i], ...]  = source[..., i, ...]
    index_fill: out[..., index[i], ...]  = value

Each is ``scatter_add``/``scatter``/``masked_fill`` with the 1-D index spread over the source's
shape, so the gradients are theirs: source gets g at the positions, input g where kept.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor, _make, _norm_dim
from .indexing import masked_fill, scatter, scatter_add

__all__ = ["index_add", "index_copy", "index_fill"]


def _index_along(op, input, dim, index, negative_wraps=False):
    """dim normalised, the index as a 1-D int64 array checked against input's size (negative
    indices count from the end only where PyTorch allows it: index_fill)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, got {type(input).__name__}")
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
        raise RuntimeError(f"{op}(): index must be an integer (int64) tensor, got "
                           f"{type(index).__name__ if not isinstance(index, Tensor) else index.dtype}")
    if index.ndim > 1:
        raise IndexError(f"{op}(): index must be a vector (0-D or 1-D), got shape "
                         f"{tuple(index.shape)}")
    d = _norm_dim(dim, max(input.ndim, 1), op)
    size = input.shape[d] if input.ndim else 1
    idx = backend.to_numpy(index._data).reshape(-1)
    low = -size if negative_wraps else 0
    if idx.size and (idx.min() < low or idx.max() >= size):
        raise IndexError(f"{op}(): index out of range for dimension {d} of size {size}: "
                         f"indices must be in [{low}, {size}), got min {idx.min()}, max "
                         f"{idx.max()}")
    return d, idx % size if size else idx


def _spread(op, input, d, idx, source):
    """The index as a tensor of source's shape (scatter's form), after checking the shapes."""
    if not isinstance(source, Tensor):
        raise TypeError(f"{op}(): argument 'source' must be a Tensor, got "
                        f"{type(source).__name__}")
    if input.ndim == 0:
        if source.ndim != 0:
            raise RuntimeError(f"{op}(): source tensor shape must match self tensor shape, "
                               f"excluding the specified dimension. Got self.shape = () "
                               f"source.shape = {tuple(source.shape)}")
        input_shape, source_shape = (1,), (1,)
    else:
        input_shape, source_shape = tuple(input.shape), tuple(source.shape)
    expected = input_shape[:d] + (len(idx),) + input_shape[d + 1:]
    if source_shape != expected:
        raise RuntimeError(f"{op}(): source of shape {tuple(source.shape)} does not fit: "
                           f"expected {expected} (input {tuple(input.shape)} with dim {d} the "
                           f"length of index, {len(idx)})")
    view = [1] * len(expected)
    view[d] = len(idx)
    full = np.broadcast_to(idx.reshape(view), expected).astype(np.int64)
    return _make(full).to(input.device)


def index_add(input, dim, index, source, *, alpha=1):
    """input with α·source added along ``dim`` at ``index`` (``torch.index_add``)."""
    d, idx = _index_along("index_add", input, dim, index)
    full = _spread("index_add", input, d, idx, source)
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_add(): self ({input.dtype}) and source ({source.dtype}) must "
                           "have the same scalar type")
    scaled = source if alpha == 1 else source * alpha
    if input.ndim == 0:
        return scatter_add(input.reshape(1), 0, full, scaled.reshape(-1)).reshape(())
    return scatter_add(input, d, full, scaled)


def index_copy(input, dim, index, source):
    """input with the slices at ``index`` along ``dim`` replaced by source's (in order)."""
    d, idx = _index_along("index_copy", input, dim, index)
    full = _spread("index_copy", input, d, idx, source)
    if source.dtype != input.dtype:
        raise RuntimeError(f"index_copy(): self ({input.dtype}) and source ({source.dtype}) "
                           "must have the same scalar type")
    if input.ndim == 0:
        return scatter(input.reshape(1), 0, full, source.reshape(-1)).reshape(())
    return scatter(input, d, full, source)


def index_fill(input, dim, index, value):
    """input with every slice at ``index`` along ``dim`` set to ``value`` (a number or a 0-D
    tensor)."""
    d, idx = _index_along("index_fill", input, dim, index, negative_wraps=True)
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"index_fill(): only supports a 0-dimensional value tensor, got "
                               f"one with {value.ndim} dimension(s)")
    elif not isinstance(value, (numbers.Number, np.generic)):
        raise TypeError(f"index_fill(): value must be a number or a 0-D tensor, got "
                        f"{type(value).__name__}")
    mask = np.zeros(input.shape[d] if input.ndim else 1, bool)
    mask[idx] = True
    view = [1] * input.ndim
    if input.ndim:
        view[d] = len(mask)
    return masked_fill(input, _make(mask.reshape(view)).to(input.device), value)


def fill_diagonal_(input, fill_value, wrap=False):
    """Write ``fill_value`` on the main diagonal in place (all sizes equal above 2-D; a tall
    matrix with ``wrap`` restarts the diagonal every ncols + 1 rows, as NumPy and PyTorch)."""
    if input.ndim < 2:
        raise RuntimeError(f"fill_diagonal_(): dimensions must larger than 1, got "
                           f"{input.ndim}")
    shape = tuple(input.shape)
    if input.ndim > 2 and len(set(shape)) != 1:
        raise RuntimeError(f"fill_diagonal_(): all dimensions of input must be of equal length, "
                           f"got shape {shape}")
    flat = np.zeros(int(np.prod(shape)), bool)
    if input.ndim == 2:
        rows, cols = shape
        step = cols + 1
        end = rows * cols if wrap and rows > cols else min(rows, cols) * cols
    else:
        n = shape[0]
        step = sum(n ** k for k in range(input.ndim))
        end = flat.size
    flat[0:end:step] = True
    mask = _make(flat.reshape(shape)).to(input.device)
    return input._assign(masked_fill(input, mask, fill_value), "fill_diagonal_")
