"""``dg.datasets``: Fashion-MNIST and MNIST (IDX files), scikit-learn's digits, synthetic sets.

Image sets follow ``torchvision.datasets`` (``root``, ``train``, ``transform``,
``target_transform``, ``download``) and add ``as_tensors()`` for the whole split as float32
Tensors in [0, 1]. ``dg.datasets.transforms`` is ``dg.utils.data.transforms``.
"""
from ..utils.data import transforms
from .digits import Digits
from .idx import read_idx, write_idx
from .mnist import MNIST, FashionMNIST
from .binarized import BinarizedFashionMNIST
from .synthetic import blobs, boolean_function, sine_regression, spirals, xor
from .text import CharDataset, TinyShakespeare, Vocabulary

__all__ = ["FashionMNIST", "BinarizedFashionMNIST", "MNIST", "Digits", "read_idx", "write_idx",
           "transforms", "xor", "boolean_function", "spirals", "blobs", "sine_regression", "CharDataset",
           "TinyShakespeare", "Vocabulary"]
