"""Synthetic image datasets with torchvision's constructors, lengths, item types and
attributes: ``dataset[i]`` is ``(PIL image, int label)`` passed through ``transform`` and
``target_transform``; ``.data`` and ``.targets`` as torchvision keeps them.

The images are class-dependent so that a model can learn: class ``c`` brightens a bar whose
position and angle depend on ``c``, plus uniform noise. Each split draws from its own seeded
NumPy generator, so both libraries see the same pixels. The number of images is the real
one unless ``SYNTHETIC_TRAIN_SIZE`` / ``SYNTHETIC_TEST_SIZE`` say otherwise.
"""
from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "FakeData", "ImageFolder"]


def _size(train: bool, real: int) -> int:
    return int(os.environ.get("SYNTHETIC_TRAIN_SIZE" if train else "SYNTHETIC_TEST_SIZE", real))


def synthetic_images(n, height, width, channels, num_classes, seed):
    """``(n, height, width, channels)`` uint8 images and ``(n,)`` int64 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, n)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    angle = np.pi * labels / num_classes
    offset = 0.3 + 0.4 * (labels % 3) / 2
    distance = (np.cos(angle)[:, None, None] * xx + np.sin(angle)[:, None, None] * yy
                - offset[:, None, None])
    bar = np.exp(-(distance / 0.08) ** 2)
    pixels = 0.75 * bar[..., None] + 0.25 * rng.random((n, height, width, channels))
    tint = 0.5 + 0.5 * rng.random((n, 1, 1, channels))
    return (255 * np.clip(pixels * tint, 0, 1)).astype(np.uint8), labels.astype(np.int64)


class _SyntheticVision:
    """Shared item logic: the stored array as a PIL image, then the transforms."""

    mode = "L"

    def __init__(self, transform=None, target_transform=None):
        self.transform = transform
        self.target_transform = target_transform

    def _image(self, index):
        raise NotImplementedError  # each dataset keeps its pixels in its own layout

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img, target = self._image(index), int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


class MNIST(_SyntheticVision):
    """28x28 grey images, 10 classes; ``.data`` uint8 ``(N, 28, 28)``, ``.targets`` int64."""

    classes = [f"{i} - {w}" for i, w in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])]
    _seed = 0

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        super().__init__(transform, target_transform)
        self.root, self.train = root, train
        images, labels = synthetic_images(_size(train, 60000 if train else 10000), 28, 28, 1,
                                          10, seed=(self._seed, int(train)))
        self.data = torch.from_numpy(images[..., 0])
        self.targets = torch.from_numpy(labels)

    def _image(self, index):
        return Image.fromarray(self.data[index].numpy(), mode="L")


class FashionMNIST(MNIST):
    """MNIST's layout with other pixels."""

    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    _seed = 1


class CIFAR10(_SyntheticVision):
    """32x32 RGB images, 10 classes; ``.data`` uint8 NumPy ``(N, 32, 32, 3)``, ``.targets``
    a list of ints."""

    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]

    def __init__(self, root, train=True, transform=None, target_transform=None,
                 download=False):
        super().__init__(transform, target_transform)
        self.root, self.train = root, train
        self.data, labels = synthetic_images(_size(train, 50000 if train else 10000), 32, 32, 3,
                                             10, seed=(2, int(train)))
        self.targets = labels.tolist()

    def _image(self, index):
        return Image.fromarray(self.data[index], mode="RGB")


class FakeData(_SyntheticVision):
    """``size`` images of ``image_size`` (C, H, W), ``num_classes`` classes (``size`` is
    replaced by ``SYNTHETIC_TRAIN_SIZE`` when that is set)."""

    def __init__(self, size=1000, image_size=(3, 224, 224), num_classes=10, transform=None,
                 target_transform=None, random_offset=0):
        super().__init__(transform, target_transform)
        channels, height, width = image_size
        if channels not in (1, 3):
            raise ValueError(f"FakeData: image_size must have 1 or 3 channels, got {channels}")
        self.data, labels = synthetic_images(_size(True, size), height, width, channels,
                                             num_classes, seed=(3, random_offset))
        self.targets = labels.tolist()

    def _image(self, index):
        pixels = self.data[index]
        return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


class ImageFolder(_SyntheticVision):
    """``root/class_name/image`` files, read with PIL as RGB; classes sorted by name."""

    extensions = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")

    def __init__(self, root, transform=None, target_transform=None):
        super().__init__(transform, target_transform)
        self.root = root
        self.classes = sorted(d.name for d in os.scandir(root) if d.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageFolder: no class folders in {root!r}")
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = [(os.path.join(root, c, f), self.class_to_idx[c])
                        for c in self.classes for f in sorted(os.listdir(os.path.join(root, c)))
                        if f.lower().endswith(self.extensions)]
        self.targets = [t for _, t in self.samples]

    def _image(self, index):
        with Image.open(self.samples[index][0]) as img:
            return img.convert("RGB")
