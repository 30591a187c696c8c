"""Dropout layers: random masks in training, the identity in evaluation (``model.eval()``)."""
from __future__ import annotations

from ..ops.dropout import alpha_dropout, dropout
from .module import Module

__all__ = ["Dropout", "AlphaDropout"]


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
