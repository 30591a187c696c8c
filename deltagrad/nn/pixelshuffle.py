"""``nn.PixelShuffle`` / ``nn.PixelUnshuffle``: the module forms of ``F.pixel_shuffle`` and
``F.pixel_unshuffle`` (sub-pixel convolution's rearrangement, Shi et al. 2016)."""
from __future__ import annotations

from ..ops.pixel_shuffle import check_factor, pixel_shuffle, pixel_unshuffle
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    """(*, C·r², H, W) → (*, C, H·r, W·r) with r = ``upscale_factor``."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        check_factor(upscale_factor, "PixelShuffle", "upscale_factor")
        self.upscale_factor = upscale_factor

    def forward(self, input):
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H·r, W·r) → (*, C·r², H, W) with r = ``downscale_factor``."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        check_factor(downscale_factor, "PixelUnshuffle", "downscale_factor")
        self.downscale_factor = downscale_factor

    def forward(self, input):
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"
