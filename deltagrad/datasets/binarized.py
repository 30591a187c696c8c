"""Binarized Fashion-MNIST for the binary density models (RBM, NADE, MADE).

Two conventions, as for binarized MNIST in the literature:

* fixed (``dynamic=False``): pixel = 1 where its grey value / 255 > 0.5;
* dynamic (``dynamic=True``): pixel ~ Bernoulli(grey value / 255), a fresh draw at every
  access, from the dataset's own generator; ``set_epoch(e)`` reseeds it from (seed, e), so
  epoch e sees the same draws in every run (and after a resume).

Binary images are stored as uint8 0 / 255 (black and white), so everything the grey set
offers (``ToTensor``, ``as_tensors``, batched access) gives 0.0 / 1.0 floats unchanged.
"""
from __future__ import annotations

import numpy as np

from ..backend import Generator
from ..tensor import _make
from .mnist import FashionMNIST


class BinarizedFashionMNIST(FashionMNIST):
    """``BinarizedFashionMNIST(root=None, train=True, dynamic=False, seed=0, transform=None,
    target_transform=None, download=False)``: Fashion-MNIST with binary pixels.

    Samples are ``(image, label)`` as for :class:`FashionMNIST`; ``as_tensors(flatten=True)``
    gives the (N, 784) float32 0/1 matrix the density models take. With ``dynamic``,
    ``.data`` keeps the grey images (the Bernoulli means × 255).
    """

    threshold = 0.5

    def __init__(self, root=None, train=True, dynamic=False, seed=0, transform=None,
                 target_transform=None, download=False):
        super().__init__(root, train=train, transform=transform,
                         target_transform=target_transform, download=download)
        self.dynamic, self.seed = bool(dynamic), int(seed)
        self.generator = Generator()
        self.set_epoch(0)
        if not self.dynamic:
            self.data = np.where(self.data > self.threshold * 255, 255, 0).astype(np.uint8)

    def set_epoch(self, epoch):
        """Reseed the dynamic draws from (seed, epoch)."""
        self.epoch = int(epoch)
        seq = np.random.SeedSequence([self.seed, self.epoch])
        self.generator.manual_seed(int(seq.generate_state(1, np.uint64)[0] >> 1))

    def _binarize(self, grey):
        u = self.generator.numpy.random(grey.shape, dtype=np.float32)
        return np.where(u * 255 < grey, 255, 0).astype(np.uint8)

    def _raw(self, index):
        img = self.data[index]
        return self._binarize(img) if self.dynamic else img

    def as_tensors(self, flatten=False):
        """The whole split as ``(X, y)`` with X float32 0/1 ((N, 1, 28, 28) or (N, 784));
        dynamic: a fresh draw for every call."""
        x = (self._raw(slice(None)) == 255).astype(np.float32)
        x = x.reshape(len(x), -1) if flatten else x[:, None]
        return _make(x), _make(self.targets.copy())

    def __repr__(self):
        return super().__repr__()[:-1] + f", dynamic={self.dynamic})"
