"""``save_image``: a batch of ``(C, H, W)`` images tiled in a grid and written as PNG."""
from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["make_grid_array", "save_image"]


def make_grid_array(tensor, nrow=8, padding=2, normalize=False, pad_value=0.0):
    """``(B, C, H, W)`` (or ``(C, H, W)``) -> ``(H', W', 3)`` float array, ``nrow`` per row."""
    images = np.asarray(tensor.detach().cpu().numpy(), dtype=np.float64)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4:
        raise ValueError(f"save_image: expected (B, C, H, W) or (C, H, W), got {images.shape}")
    if normalize:
        images = (images - images.min()) / max(images.max() - images.min(), 1e-5)
    if images.shape[1] == 1:
        images = np.repeat(images, 3, axis=1)
    b, c, h, w = images.shape
    cols = min(nrow, b)
    rows = -(-b // cols)
    grid = np.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding),
                   pad_value)
    for k in range(b):
        r, q = divmod(k, cols)
        top, left = padding + r * (h + padding), padding + q * (w + padding)
        grid[:, top:top + h, left:left + w] = images[k]
    return grid.transpose(1, 2, 0)


def save_image(tensor, fp, nrow=8, padding=2, normalize=False, value_range=None,
               scale_each=False, pad_value=0.0, format=None):
    """Write the grid of ``tensor``'s images to ``fp`` as an 8-bit PNG."""
    grid = make_grid_array(tensor, nrow, padding, normalize, pad_value)
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8)
    Image.fromarray(pixels).save(fp, format=format or "PNG")
