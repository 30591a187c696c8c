"""The image transforms the examples use, on PIL images and CHW tensors."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

__all__ = ["Compose", "ToTensor", "Normalize", "Resize", "CenterCrop", "Lambda"]


class Compose:
    """Apply each transform in turn."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


class ToTensor:
    """PIL image or ``(H, W[, C])`` uint8 array -> float32 ``(C, H, W)`` tensor in [0, 1]."""

    def __call__(self, pic):
        array = np.asarray(pic)
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise TypeError(f"ToTensor: expected a PIL image or an (H, W[, C]) array, got "
                            f"shape {array.shape}")
        chw = np.ascontiguousarray(array.transpose(2, 0, 1))
        if array.dtype == np.uint8:
            return torch.from_numpy(chw.astype(np.float32) / 255.0)
        return torch.from_numpy(chw)


class Normalize:
    """``(x - mean[c]) / std[c]`` per channel of a ``(C, H, W)`` tensor."""

    def __init__(self, mean, std):
        self.mean, self.std = list(mean), list(std)

    def __call__(self, tensor):
        mean = torch.tensor(self.mean, dtype=tensor.dtype).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=tensor.dtype).view(-1, 1, 1)
        return (tensor - mean) / std


class Resize:
    """Bilinear resize of a PIL image; an int size sets the shorter edge (aspect kept)."""

    def __init__(self, size):
        self.size = size

    def __call__(self, img):
        w, h = img.size
        if isinstance(self.size, int):
            if w <= h:
                new = (self.size, int(self.size * h / w))
            else:
                new = (int(self.size * w / h), self.size)
        else:
            new = (self.size[1], self.size[0])
        return img.resize(new, Image.BILINEAR)


class CenterCrop:
    """The central ``size`` x ``size`` (or (h, w)) region of a PIL image."""

    def __init__(self, size):
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, img):
        w, h = img.size
        th, tw = self.size
        left, top = int(round((w - tw) / 2.0)), int(round((h - th) / 2.0))
        return img.crop((left, top, left + tw, top + th))


class Lambda:
    """A user function as a transform."""

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: expected a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)
