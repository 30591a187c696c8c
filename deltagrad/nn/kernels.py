"""The classic 3×3 image kernels of seed 002 (§3.1), as float tensors.

Apply them with ``F.correlate2d(image, kernel)`` (what CNN layers compute) or
``F.convolve2d`` (the kernel flipped first, true convolution).
"""
from __future__ import annotations

import numpy as np

from ..tensor import tensor

__all__ = ["edge_vertical", "edge_horizontal", "blur", "sharpen", "identity", "shift",
           "CLASSIC_KERNELS"]


def _k(rows, dtype=None):
    return tensor(np.array(rows, dtype=np.float64), dtype=dtype or "float32")


def edge_vertical(dtype=None):
    """[[1, 0, −1]] × 3: responds to vertical edges (left-right intensity change)."""
    return _k([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype)


def edge_horizontal(dtype=None):
    """[[1, 1, 1], [0, 0, 0], [−1, −1, −1]]: responds to horizontal edges."""
    return _k([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype)


def blur(dtype=None):
    """(1/9) · ones(3, 3): each pixel becomes the mean of its 3×3 neighbourhood."""
    return _k(np.full((3, 3), 1.0 / 9.0), dtype)


def identity(dtype=None):
    """A single 1 in the centre: the image is unchanged."""
    return _k([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype)


def sharpen(dtype=None):
    """2·identity − blur: the pixel plus its difference from the local mean.

    Seed 002 writes only the first term, [[0, 0, 0], [0, 2, 0], [0, 0, 0]], which merely
    doubles every pixel's brightness; subtracting the blur is what sharpens (it is the
    standard 3×3 unsharp-mask kernel, whose entries sum to 1 like the identity)."""
    return _k(2 * np.array(identity(dtype="float64").numpy()) - np.full((3, 3), 1.0 / 9.0),
              dtype)


def shift(dtype=None):
    """A single 1 left of centre: under cross-correlation the image moves one pixel right."""
    return _k([[0, 0, 0], [1, 0, 0], [0, 0, 0]], dtype)


CLASSIC_KERNELS = {"edge_vertical": edge_vertical, "edge_horizontal": edge_horizontal,
                   "blur": blur, "sharpen": sharpen, "identity": identity, "shift": shift}
