"""Padding layers: ``ZeroPad``, ``ConstantPad``, ``ReflectionPad``, ``ReplicationPad`` (1-D,
2-D, 3-D) and ``CircularPad``; each one calls ``F.pad`` with its mode.

``padding`` is an int (the same on every side) or a tuple (left, right[, top, bottom[, front,
back]]), the last dimension first, as in ``F.pad``. Zero and constant padding take input of any
rank; the others (N, C, *) or (C, *) with * the padded dimensions.
"""
from __future__ import annotations

import numbers

from ..ops.shape import pad
from .module import Module

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]


class _Pad(Module):
    #: F.pad's mode and how many spatial dims the layer pads
    mode = "constant"
    dims = 1

    def __init__(self, padding, value: float = 0.0):
        super().__init__()  # (ConstantPad takes ``value``; the others pad with their mode)
        name = type(self).__name__
        if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
            padding = (int(padding),) * (2 * self.dims)
        padding = tuple(padding)
        if len(padding) != 2 * self.dims or not all(isinstance(p, numbers.Integral)
                                                    for p in padding):
            raise ValueError(f"{name}: padding must be an int or a tuple of {2 * self.dims} "
                             f"ints, got {padding!r}")
        self.padding = tuple(int(p) for p in padding)
        self.value = value

    def forward(self, input):
        batched = self.dims + 2
        if self.mode != "constant" and input.ndim not in (batched - 1, batched):
            raise ValueError(f"{type(self).__name__}: expected {batched - 1}D or {batched}D "
                             f"input, got {input.ndim}D input of shape {tuple(input.shape)}")
        return pad(input, self.padding, self.mode, self.value)

    def extra_repr(self):
        if "value" in type(self).__init__.__code__.co_varnames:      # ConstantPad
            return f"padding={self.padding}, value={self.value}"
        return f"{self.padding}"


class ZeroPad1d(_Pad):
    """Pads the last dimension with zeros."""
    mode, dims = "constant", 1

    def __init__(self, padding):
        super().__init__(padding)


class ZeroPad2d(_Pad):
    """Pads the last 2 dimensions with zeros."""
    mode, dims = "constant", 2

    def __init__(self, padding):
        super().__init__(padding)


class ZeroPad3d(_Pad):
    """Pads the last 3 dimensions with zeros."""
    mode, dims = "constant", 3

    def __init__(self, padding):
        super().__init__(padding)


class ConstantPad1d(_Pad):
    """Pads the last dimension with ``value``."""
    mode, dims = "constant", 1

    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ConstantPad2d(_Pad):
    """Pads the last 2 dimensions with ``value``."""
    mode, dims = "constant", 2

    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ConstantPad3d(_Pad):
    """Pads the last 3 dimensions with ``value``."""
    mode, dims = "constant", 3

    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ReflectionPad1d(_Pad):
    """Pads the last dimension with the input mirrored at its edges (the edge itself not repeated)."""
    mode, dims = "reflect", 1

    def __init__(self, padding):
        super().__init__(padding)


class ReflectionPad2d(_Pad):
    """Pads the last 2 dimensions with the input mirrored at its edges (the edge itself not repeated)."""
    mode, dims = "reflect", 2

    def __init__(self, padding):
        super().__init__(padding)


class ReflectionPad3d(_Pad):
    """Pads the last 3 dimensions with the input mirrored at its edges (the edge itself not repeated)."""
    mode, dims = "reflect", 3

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad1d(_Pad):
    """Pads the last dimension with copies of the edge values."""
    mode, dims = "replicate", 1

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad2d(_Pad):
    """Pads the last 2 dimensions with copies of the edge values."""
    mode, dims = "replicate", 2

    def __init__(self, padding):
        super().__init__(padding)


class ReplicationPad3d(_Pad):
    """Pads the last 3 dimensions with copies of the edge values."""
    mode, dims = "replicate", 3

    def __init__(self, padding):
        super().__init__(padding)


class CircularPad1d(_Pad):
    """Pads the last dimension with the input wrapped around (periodic)."""
    mode, dims = "circular", 1

    def __init__(self, padding):
        super().__init__(padding)


class CircularPad2d(_Pad):
    """Pads the last 2 dimensions with the input wrapped around (periodic)."""
    mode, dims = "circular", 2

    def __init__(self, padding):
        super().__init__(padding)


class CircularPad3d(_Pad):
    """Pads the last 3 dimensions with the input wrapped around (periodic)."""
    mode, dims = "circular", 3

    def __init__(self, padding):
        super().__init__(padding)
