"""A synthetic stand-in for torchvision, for running upstream PyTorch examples offline.

Only what the examples touch exists: ``datasets`` (MNIST, FashionMNIST, CIFAR10, FakeData,
ImageFolder) drawing deterministic synthetic images of the real shapes and types,
``transforms`` (Compose, ToTensor, Normalize, Resize, CenterCrop, Lambda),
``models.resnet18(weights=None)``, ``utils.save_image`` and ``io.read_image``. It imports
``torch``, so the same files serve real PyTorch and deltagrad running as torch
(``python -m deltagrad.torch_compat``). Nothing is downloaded.
"""
from . import datasets, io, models, transforms, utils  # noqa: F401

__version__ = "0.0-synthetic"
