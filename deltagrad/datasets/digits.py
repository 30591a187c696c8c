"""scikit-learn's bundled 8x8 handwritten digits: 1,797 images, 10 classes, no download.

scikit-learn is an optional dependency (``pip install scikit-learn``), imported on first use.
"""
from __future__ import annotations

import functools

import numpy as np

from ..utils.data.splits import holdout_split
from .base import ImageClassificationDataset


@functools.lru_cache(maxsize=1)
def _load_sklearn_digits():
    """(images uint8 (1797, 8, 8), labels int64), read once per process (read-only)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("Digits needs scikit-learn (an optional dependency of deltagrad): "
                          "pip install scikit-learn") from None
    bunch = load_digits()
    images, labels = bunch.images.astype(np.uint8), bunch.target.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


class Digits(ImageClassificationDataset):
    """The UCI/scikit-learn 8x8 digits; pixel values are counts 0..16.

    ``train=None`` gives all 1,797 images; ``True`` / ``False`` give a fixed stratified
    80 % / 20 % split (the same every run, independent of ``dg.manual_seed``).
    ``.data`` uint8 (N, 8, 8) with values 0..16, ``.targets`` int64. A sample's image is a
    float32 (8, 8) array in [0, 1] (``value / 16``), so ``ToTensor`` gives (1, 8, 8).
    """

    classes = [str(d) for d in range(10)]
    _scale = 16.0
    _split_seed = 0

    def __init__(self, train=None, transform=None, target_transform=None):
        images, targets = _load_sklearn_digits()
        self.train = train
        keep = slice(None)
        if train is not None:
            tr, te = holdout_split(len(targets), 0.2, stratify=targets,
                                   generator=self._split_seed)
            keep = tr if train else te
        images, targets = images[keep].copy(), targets[keep].copy()
        super().__init__(images, targets, transform, target_transform)

    def _raw(self, index):
        return self.data[index].astype(np.float32) / np.float32(self._scale)
