"""im2col and its adjoint: ``F.unfold`` cuts every k_h × k_w window (with stride, padding and
dilation) out of an image as a column; ``F.fold`` sums columns back into an image.

    unfold: (N, C, H, W) → (N, C·k_h·k_w, L),   L = Π_d ⌊(size_d + 2p_d − d_d(k_d − 1) − 1)/s_d⌋ + 1
    column[c·k_h·k_w + i·k_w + j, l] = x_padded[c, oh·s_h + i·d_h, ow·s_w + j·d_w],  l = oh·W_out + ow

fold is the transpose of unfold (overlapping windows add up), so each one's gradient is the
other: both are one advanced index (``GetItem``/``IndexScatter``).
"""
from __future__ import annotations

import numbers

import numpy as np

from ..tensor import Tensor
from .indexing import GetItem, IndexScatter
from .shape import pad as pad_op

__all__ = ["unfold", "fold"]


def _pair(op, name, v, positive=True):
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        v = (int(v), int(v))
    v = tuple(v)
    if len(v) != 2 or not all(isinstance(a, numbers.Integral) for a in v):
        raise TypeError(f"{op}(): {name} must be an int or a pair of ints, got {v!r}")
    low = 1 if positive else 0
    if any(a < low for a in v):
        raise RuntimeError(f"{op}(): {name} should be {'greater than zero' if positive else 'non-negative'}, "
                           f"but got {name}: {v}")
    return tuple(int(a) for a in v)


def _blocks(op, size, kernel, dilation, padding, stride):
    """Windows per spatial dimension, with PyTorch's error when none fits."""
    out = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1
                for s, k, d, p, st in zip(size, kernel, dilation, padding, stride))
    if any(o < 1 for o in out):
        raise RuntimeError(f"{op}(): given input with spatial size {tuple(size)}, "
                           f"kernel_size={kernel}, dilation={dilation}, padding={padding}, "
                           f"calculated shape of the array of sliding blocks as {out}, but "
                           "its components must be at least one")
    return out


def _window_index(kernel, dilation, stride, blocks):
    """(slice, slice, rows, cols): rows (k_h, 1, OH, 1), cols (1, k_w, 1, OW) into the padded
    image, so x[index] has shape (N, C, k_h, k_w, OH, OW)."""
    rows = (np.arange(kernel[0]) * dilation[0])[:, None] + (np.arange(blocks[0]) * stride[0])
    cols = (np.arange(kernel[1]) * dilation[1])[:, None] + (np.arange(blocks[1]) * stride[1])
    return (slice(None), slice(None), rows[:, None, :, None], cols[None, :, None, :])


def _arguments(op, kernel_size, dilation, padding, stride):
    return (_pair(op, "kernel_size", kernel_size), _pair(op, "dilation", dilation),
            _pair(op, "padding", padding, positive=False), _pair(op, "stride", stride))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a batched (N, C, H, W) or unbatched (C, H, W) image as columns
    (N, C·k_h·k_w, L) (``F.unfold``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"unfold(): argument 'input' must be a Tensor, got "
                        f"{type(input).__name__}")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{input.ndim}D)")
    kernel, dilation, padding, stride = _arguments("unfold", kernel_size, dilation, padding,
                                                   stride)
    x = input if input.ndim == 4 else input.unsqueeze(0)
    n, c, h, w = x.shape
    blocks = _blocks("unfold", (h, w), kernel, dilation, padding, stride)
    if any(padding):
        x = pad_op(x, (padding[1], padding[1], padding[0], padding[0]))
    index = _window_index(kernel, dilation, stride, blocks)
    cols = GetItem.apply(x, index=index, advanced=True)
    cols = cols.reshape(n, c * kernel[0] * kernel[1], blocks[0] * blocks[1])
    return cols if input.ndim == 4 else cols.squeeze(0)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum columns (N, C·k_h·k_w, L) back into an (N, C, H, W) image, overlaps added
    (``F.fold``, the adjoint of ``unfold``)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fold(): argument 'input' must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                           f"supported (got {input.ndim}D)")
    size = _pair("fold", "output_size", output_size)
    kernel, dilation, padding, stride = _arguments("fold", kernel_size, dilation, padding,
                                                   stride)
    x = input if input.ndim == 3 else input.unsqueeze(0)
    n, ckk, length = x.shape
    kk = kernel[0] * kernel[1]
    if ckk % kk:
        raise RuntimeError(f"fold(): expected size of input's dimension 1 to be divisible by "
                           f"the product of kernel_size, but got input.size(1)={ckk} and "
                           f"kernel_size={kernel}")
    blocks = _blocks("fold", size, kernel, dilation, padding, stride)
    if blocks[0] * blocks[1] != length:
        raise RuntimeError(f"fold(): given output_size={size}, kernel_size={kernel}, "
                           f"dilation={dilation}, padding={padding}, stride={stride}, expected "
                           f"size of input's dimension 2 to match the calculated number of "
                           f"sliding blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, "
                           f"but got input.size(2)={length}")
    c = ckk // kk
    windows = x.reshape(n, c, kernel[0], kernel[1], blocks[0], blocks[1])
    padded = (n, c, size[0] + 2 * padding[0], size[1] + 2 * padding[1])
    image = IndexScatter.apply(windows, index=_window_index(kernel, dilation, stride, blocks),
                               advanced=True, shape=padded)
    image = image[:, :, padding[0]:padding[0] + size[0], padding[1]:padding[1] + size[1]]
    return image if input.ndim == 3 else image.squeeze(0)
