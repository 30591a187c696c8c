"""Fashion-MNIST and MNIST from their IDX files (``torchvision.datasets``'s arguments).

Where the files are looked for, in order (``name`` or ``name.gz`` in each directory):

1. ``root`` when given (``root``, ``root/<folder>``, ``root/<ClassName>/raw``), and only there;
2. otherwise ``$DELTAGRAD_DATA`` (same three places), then the system directory
   (Debian's ``dataset-fashion-mnist`` package: ``/usr/share/datasets/fashion-mnist``).

``download=True`` fetches missing files from the official mirror into ``root`` (or
``$DELTAGRAD_DATA``, or ``~/.cache/deltagrad``) under ``<folder>/`` and checks each file's MD5
against the published one. Nothing is fetched unless asked. The decoded arrays are kept in
deltagrad's cache folder (``decoded_cache.py``), so later processes skip the gunzip.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request

from .base import ImageClassificationDataset
from .decoded_cache import read_idx_cached


def _md5(path, chunk=1 << 20):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


class _IDXImages(ImageClassificationDataset):
    """Base of the MNIST-format sets: ``train`` picks the 60,000 training or 10,000 test images."""

    folder = ""                   # sub-directory name used for downloads and lookups
    system_dirs: tuple = ()       # where OS packages install the files
    mirrors: tuple = ()
    resources: tuple = ()         # (file name, md5 of the official .gz)
    install_hint = ""

    def __init__(self, root=None, train=True, transform=None, target_transform=None,
                 download=False):
        self.train = bool(train)
        self.root = None if root is None else os.path.expanduser(os.fspath(root))
        names = self._split_files()
        found = self._find(names)
        if found is None and download:
            self.download()
            found = self._find(names)
        if found is None:
            raise FileNotFoundError(self._missing_message(names))
        images, labels = (read_idx_cached(os.path.join(found, n)) for n in found.files)
        self._check(images, labels, found)
        super().__init__(images, labels, transform, target_transform)
        self.raw_folder = str(found)

    @classmethod
    def load(cls, root=None, train=True, flatten=False, download=False):
        """``(X, y)`` tensors of one split: see ``as_tensors``."""
        return cls(root, train=train, download=download).as_tensors(flatten=flatten)

    # ------------------------------------------------------------------ locating files
    def _split_files(self):
        prefix = "train" if self.train else "t10k"
        return (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")

    def _search_dirs(self):
        bases = [self.root] if self.root is not None else \
            [os.environ[v] for v in ("DELTAGRAD_DATA",) if os.environ.get(v)]
        dirs = []
        for b in bases:
            dirs += [b, os.path.join(b, self.folder), os.path.join(b, type(self).__name__, "raw")]
        if self.root is None:
            dirs += list(self.system_dirs)
        return dirs

    def _find(self, names):
        for d in self._search_dirs():
            files = []
            for n in names:
                hit = next((c for c in (n, n + ".gz") if os.path.isfile(os.path.join(d, c))), None)
                if hit is None:
                    break
                files.append(hit)
            else:
                return _Found(d, files)
        return None

    def _missing_message(self, names):
        looked = "\n  ".join(self._search_dirs()) or "(nowhere: no root, DELTAGRAD_DATA unset)"
        return (f"{type(self).__name__}: can't find {' and '.join(n + '[.gz]' for n in names)}."
                f"\nLooked in:\n  {looked}\nTo get the data, either\n"
                f"{self.install_hint}"
                f"  - put the IDX files in a directory and set DELTAGRAD_DATA=/that/directory "
                f"(or pass root=...), or\n"
                f"  - pass download=True to fetch them from {self.mirrors[0]} (needs internet).")

    def _download_dir(self):
        base = self.root or os.environ.get("DELTAGRAD_DATA") or \
            os.path.join(os.path.expanduser("~"), ".cache", "deltagrad")
        return os.path.join(base, self.folder)

    # ------------------------------------------------------------------ download
    def download(self):
        """Fetch the four official ``.gz`` files (if absent) and verify their MD5."""
        target = self._download_dir()
        os.makedirs(target, exist_ok=True)
        for name, md5 in self.resources:
            path = os.path.join(target, name)
            if os.path.isfile(path) and _md5(path) == md5:
                continue
            errors = []
            for mirror in self.mirrors:
                try:
                    _fetch(mirror + name, path, md5)
                    break
                except (urllib.error.URLError, OSError, ValueError) as e:
                    errors.append(f"{mirror + name}: {e}")
            else:
                raise RuntimeError(f"{type(self).__name__}: download failed:\n  "
                                   + "\n  ".join(errors) + "\n" + self.install_hint.strip())

    @staticmethod
    def _check(images, labels, where):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{where}: expected images (N, H, W) and labels (N,), got "
                             f"{images.shape} and {labels.shape}")


class _Found(str):
    """A directory (str) that also remembers which file names matched there."""

    def __new__(cls, directory, files):
        s = super().__new__(cls, directory)
        s.files = files
        return s


def _fetch(url, path, md5, timeout=60):
    """Download ``url`` to ``path`` atomically, checking the MD5 before the rename."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as r:
            for block in iter(lambda: r.read(1 << 20), b""):
                out.write(block)
        got = _md5(tmp)
        if got != md5:
            raise ValueError(f"MD5 mismatch: got {got}, expected {md5} (corrupt or changed file)")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class FashionMNIST(_IDXImages):
    """Zalando's Fashion-MNIST: 28x28 grey images of 10 clothing classes; 60,000 training and
    10,000 test images, 6,000 / 1,000 per class.

    ``.data`` uint8 (N, 28, 28), ``.targets`` int64 (N,); ``as_tensors()`` gives float32
    (N, 1, 28, 28) in [0, 1] and int64 labels. ``FashionMNIST.load(...)`` does both at once.
    """

    folder = "fashion-mnist"
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    resources = (("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"))
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    install_hint = ("  - install Debian's package: sudo apt-get install dataset-fashion-mnist "
                    "(files in /usr/share/datasets/fashion-mnist), or\n")


class MNIST(_IDXImages):
    """LeCun's handwritten digits in the same IDX format (no system package: give ``root``,
    set ``DELTAGRAD_DATA``, or ``download=True``)."""

    folder = "mnist"
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/")
    resources = (("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                 ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                 ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                 ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"))
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]
