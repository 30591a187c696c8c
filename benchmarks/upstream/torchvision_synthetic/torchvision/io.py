"""``torchvision.io.read_image``: an image file as a uint8 ``(C, H, W)`` tensor, read with PIL
(torchvision decodes with libjpeg/libpng; for PNG the pixels are the same)."""
from __future__ import annotations

import enum

import numpy as np
import torch
from PIL import Image

__all__ = ["ImageReadMode", "read_image"]


class ImageReadMode(enum.Enum):
    """The channels read: as stored, one grey channel, or three RGB channels."""

    UNCHANGED = 0
    GRAY = 1
    RGB = 3


_PIL_MODES = {ImageReadMode.GRAY: "L", ImageReadMode.RGB: "RGB"}


def read_image(path, mode: ImageReadMode = ImageReadMode.UNCHANGED) -> torch.Tensor:
    """The pixels of the file at ``path`` as uint8, channels first."""
    if not isinstance(mode, ImageReadMode):
        raise TypeError(f"read_image: mode must be an ImageReadMode, got {mode!r}")
    with Image.open(path) as img:
        if mode in _PIL_MODES:
            img = img.convert(_PIL_MODES[mode])
        elif img.mode not in ("L", "LA", "RGB", "RGBA"):
            img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
        pixels = np.array(img, dtype=np.uint8)  # a writable copy
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))
