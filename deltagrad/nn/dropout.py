"""Dropout layers: random masks in training, the identity in evaluation (``model.eval()``)."""
from __future__ import annotations

from ..ops.dropout import _channel_dropout, _check_p, _keep_mask, alpha_dropout, dropout
from ..ops.dropout import MaskedScale
from .module import Module

__all__ = ["Dropout", "AlphaDropout", "Dropout1d", "Dropout2d", "Dropout3d", "ClassicDropout"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 "
                             f"and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Inverted dropout: in training each element is zeroed with probability p and the
    survivors scaled by 1/(1 − p), so evaluation needs no rescaling."""

    def forward(self, input):
        return dropout(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for SELU networks: dropped units take SELU's negative saturation value
    and an affine correction keeps the mean and variance of the input."""

    def forward(self, input):
        return alpha_dropout(input, self.p, self.training, self.inplace)


class _ChannelDropout(_DropoutNd):
    nd = 2

    def forward(self, input):
        return _channel_dropout(input, self.p, self.training, self.inplace, self.nd)


class Dropout1d(_ChannelDropout):
    """Zeroes whole channels of (N, C, L) input with probability p (inverted scaling)."""
    nd = 1


class Dropout2d(_ChannelDropout):
    """Zeroes whole feature maps of (N, C, H, W) input with probability p."""
    nd = 2


class Dropout3d(_ChannelDropout):
    nd = 3


class ClassicDropout(_DropoutNd):
    """Dropout as first published (Srivastava et al. 2014) and as the notes describe it:
    training keeps each unit with probability 1 − p and does NOT rescale; at test time
    every unit is on and the output is multiplied by the keep probability 1 − p, so its
    expectation matches training's.

    Seed 004 writes "at test time, multiply weights by ρ" with ρ the deletion probability;
    the factor must be the keep probability 1 − ρ (the two agree at the note's ρ = 0.5).
    ``Dropout`` (inverted dropout) moves the same factor into training instead.
    """

    def forward(self, input):
        _check_p(self.p, "ClassicDropout")
        if not self.training:
            return input * (1.0 - self.p)
        if self.p == 0.0 or input.numel() == 0:
            return input
        return MaskedScale.apply(input, mask=_keep_mask(input, self.p), offset=None)
