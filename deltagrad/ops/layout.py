"""Rearranging elements without arithmetic: ``tile``, ``ravel``, ``moveaxis``, ``rot90``,
``Tensor.unfold`` (sliding windows) and the index builders ``tril_indices``/``triu_indices``.

rot90 turns the plane (dims[0], dims[1]) by k·90° from the first axis towards the second:
k = 1 is flip(dims[1]) then transpose.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor, _make
from .shape import flatten, flip, movedim, repeat, transpose

__all__ = ["tile", "ravel", "moveaxis", "rot90", "tril_indices", "triu_indices"]
# (sliding_windows is Tensor.unfold only: torch has no torch.unfold)


def _tensor(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be a Tensor, got {type(x).__name__}")
    return x


def tile(input, dims):
    """Repeat the whole tensor ``dims[i]`` times along each dimension; a shorter ``dims`` is
    padded with leading 1s, a longer one adds leading dimensions (``torch.tile``)."""
    x = _tensor(input, "tile")
    if isinstance(dims, numbers.Integral):
        dims = (dims,)
    dims = tuple(dims)
    if any(not isinstance(d, numbers.Integral) or d < 0 for d in dims):
        raise RuntimeError(f"tile(): dims must be non-negative integers, got {dims}")
    dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, *dims)


def ravel(input):
    """The elements as a 1-D tensor (``torch.ravel``)."""
    return flatten(_tensor(input, "ravel"))


moveaxis = movedim


def rot90(input, k=1, dims=(0, 1)):
    """Rotate by k·90° in the plane ``dims`` (``torch.rot90``)."""
    x = _tensor(input, "rot90")
    dims = tuple(dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90(): expected total rotation dims == 2, but got dims = "
                           f"{len(dims)}")
    if x.ndim < 2:
        raise RuntimeError(f"rot90(): expected total dims >= 2, but got total dims = {x.ndim}")
    d0, d1 = (d % x.ndim if -x.ndim <= d < x.ndim else None for d in dims)
    if d0 is None or d1 is None:
        raise IndexError(f"rot90(): dims {dims} out of range for a {x.ndim}-D tensor")
    if d0 == d1:
        raise RuntimeError(f"rot90(): expected rotation dims to be different, but got dim0 = "
                           f"{d0} and dim1 = {d1}")
    k = int(k) % 4
    if k == 1:
        return transpose(flip(x, d1), d0, d1)
    if k == 2:
        return flip(x, d0, d1)
    if k == 3:
        return flip(transpose(x, d0, d1), d1)
    return x.clone()


def sliding_windows(input, dimension, size, step):
    """``Tensor.unfold``: every window of ``size`` elements, ``step`` apart, along
    ``dimension``; that dimension becomes the window count and the windows a new last one."""
    x = _tensor(input, "unfold")
    for name, v in (("dimension", dimension), ("size", size), ("step", step)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"unfold(): argument '{name}' must be an int, got "
                            f"{type(v).__name__}")
    if x.ndim == 0:
        x = x.reshape(1)
    d = dimension % x.ndim if -x.ndim <= dimension < x.ndim else None
    if d is None:
        raise IndexError(f"unfold(): dimension {dimension} out of range for a {x.ndim}-D tensor")
    if step <= 0:
        raise RuntimeError(f"unfold(): step is {step} but must be > 0")
    if size < 0 or size > x.shape[d]:
        raise RuntimeError(f"unfold(): maximum size for tensor at dimension {d} is "
                           f"{x.shape[d]} but size is {size}")
    count = (x.shape[d] - size) // step + 1
    index = np.arange(count)[:, None] * step + np.arange(size)[None, :]
    windows = x[(slice(None),) * d + (_make(index.astype(np.int64)).to(x.device),)]
    out = movedim(windows, d + 1, -1)
    return out if input.ndim else out.reshape(size)


def _triangle_indices(op, row, col, offset, dtype, device, keep):
    for name, v in (("row", row), ("col", col), ("offset", offset)):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"{op}(): argument '{name}' must be an int, got {type(v).__name__}")
    if row < 0 or col < 0:
        raise RuntimeError(f"{op}(): row and col must be non-negative, got row={row}, "
                           f"col={col}")
    r, c = np.indices((row, col))
    mask = keep(c - r, offset)
    out = np.stack([r[mask], c[mask]]).astype(backend.int64 if dtype is None else dtype)
    t = _make(out)
    return t if device is None else t.to(device)


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (row, column) indices of the lower triangle (j − i ≤ offset), row by row."""
    return _triangle_indices("tril_indices", row, col, offset, dtype, device,
                             lambda d, k: d <= k)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (row, column) indices of the upper triangle (j − i ≥ offset), row by row."""
    return _triangle_indices("triu_indices", row, col, offset, dtype, device,
                             lambda d, k: d >= k)
