"""Data for experiments: load a named dataset as NumPy arrays and prepare it for a model.

``"fashion-mnist"`` comes from :class:`deltagrad.datasets.FashionMNIST` (Debian's
``dataset-fashion-mnist`` package or ``$DELTAGRAD_DATA``); ``"digits"`` from scikit-learn's
bundled 8×8 digits. ``"auto"`` picks Fashion-MNIST when it is installed and digits otherwise,
with a note that says how to get Fashion-MNIST.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from math import prod

import numpy as np

DATASETS = ("fashion-mnist", "digits")

FASHION_MNIST_HELP = (
    "Fashion-MNIST is not installed. Get it with: sudo apt install dataset-fashion-mnist "
    "(files in /usr/share/datasets/fashion-mnist), or put the four IDX files "
    "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
    "t10k-labels-idx1-ubyte.gz) in a folder and set DELTAGRAD_DATA to it.")
DIGITS_HELP = "the digits dataset needs scikit-learn: pip install scikit-learn"


class DatasetUnavailable(RuntimeError):
    """A dataset that is not installed; the message says how to get it."""


@dataclass(frozen=True)
class DataBundle:
    """Prepared arrays: features ``x_*`` (float32) and targets ``y_*`` per split.

    ``image_shape`` (H, W) says how to draw one sample (None for non-images);
    ``classes`` names the classes of a classifier; ``note`` is shown to the user
    (e.g. why digits replaced Fashion-MNIST).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple = ()
    image_shape: tuple | None = None
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    note: str = ""

    @property
    def input_dim(self) -> int:
        return int(prod(self.x_train.shape[1:]))

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)


# ----------------------------------------------------------------------------- raw data
def fashion_mnist_available() -> bool:
    from ..datasets import FashionMNIST
    try:
        FashionMNIST(train=False)
    except (FileNotFoundError, RuntimeError, OSError):
        return False
    return True


def resolve_dataset(name: str) -> tuple:
    """``(dataset, note)``: the dataset to load for ``name`` (``"auto"`` resolved)."""
    if name == "auto":
        if fashion_mnist_available():
            return "fashion-mnist", ""
        return "digits", ("Fashion-MNIST not found: using scikit-learn's 8x8 digits instead. "
                          + FASHION_MNIST_HELP.replace("Fashion-MNIST is not installed. ", ""))
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)} "
                         "or auto")
    return name, ""


def _numpy(a) -> np.ndarray:
    return a.numpy() if hasattr(a, "numpy") else np.asarray(a)


def load_raw(name: str) -> tuple:
    """``(x_train, y_train, x_test, y_test, classes)`` as stored: images (N, H, W) with
    their own value range, integer labels."""
    if name == "fashion-mnist":
        from ..datasets import FashionMNIST
        try:
            tr, te = FashionMNIST(train=True), FashionMNIST(train=False)
        except (FileNotFoundError, OSError) as e:
            raise DatasetUnavailable(str(e)) from None
    elif name == "digits":
        from ..datasets import Digits
        try:
            tr, te = Digits(train=True), Digits(train=False)
        except ImportError:
            raise DatasetUnavailable(DIGITS_HELP) from None
    else:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
    return (_numpy(tr.data), _numpy(tr.targets), _numpy(te.data), _numpy(te.targets),
            tuple(tr.classes))


# ----------------------------------------------------------------------------- preparation
def image_classification(name: str, *, flatten: bool = True, keep_classes=None,
                         channels: bool = False) -> DataBundle:
    """Images as float32, standardised with the training set's mean and std
    x' = (x − μ) / σ; flattened to vectors when ``flatten``, else (N, H, W), or
    (N, 1, H, W) with ``channels`` (the NCHW layout of convolutional layers);
    ``keep_classes`` keeps only those classes, relabelled 0, 1, ... in the order given."""
    dataset, note = resolve_dataset(name)
    xtr, ytr, xte, yte, classes = load_raw(dataset)
    if keep_classes is not None:
        keep = tuple(keep_classes[dataset] if isinstance(keep_classes, dict) else keep_classes)
        relabel = np.full(len(classes), -1, np.int64)
        relabel[list(keep)] = np.arange(len(keep))
        mtr, mte = np.isin(ytr, keep), np.isin(yte, keep)
        xtr, ytr, xte, yte = xtr[mtr], relabel[ytr[mtr]], xte[mte], relabel[yte[mte]]
        classes = tuple(classes[k] for k in keep)
    xtr = xtr.astype(np.float32)
    xte = xte.astype(np.float32)
    mu, sigma = np.float32(xtr.mean()), np.float32(xtr.std())
    xtr = (xtr - mu) / sigma
    xte = (xte - mu) / sigma
    image_shape = tuple(xtr.shape[1:])
    if flatten:
        xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)
    elif channels:
        xtr, xte = xtr[:, None], xte[:, None]
    return DataBundle(dataset, xtr, ytr.astype(np.int64), xte, yte.astype(np.int64),
                      classes=classes, image_shape=image_shape, note=note)


# ----------------------------------------------------------------------------- shape only
def data_spec(data: DataBundle) -> dict:
    """What a model factory needs of its data, without the samples: the dataset's name, the
    classes (a character model's vocabulary, index → character), the per-sample shapes and
    dtypes. ``deltagrad train`` writes it to RUN/vocab.json, so ``sample`` and ``summary``
    rebuild the model of a run copied to a machine without the data."""
    return {"dataset": data.name, "classes": [c if isinstance(c, str) else str(c)
                                              for c in data.classes],
            "input_shape": list(data.x_train.shape[1:]), "input_dtype": str(data.x_train.dtype),
            "target_shape": list(data.y_train.shape[1:]),
            "target_dtype": str(data.y_train.dtype),
            "image_shape": None if data.image_shape is None else list(data.image_shape)}


def bundle_from_spec(spec: dict) -> DataBundle:
    """A :class:`DataBundle` with the shapes, dtypes and classes of :func:`data_spec` and no
    samples (every split has 0 rows): enough to build the model, not to evaluate it."""
    try:
        x = np.zeros((0, *spec["input_shape"]), np.dtype(spec["input_dtype"]))
        y = np.zeros((0, *spec["target_shape"]), np.dtype(spec["target_dtype"]))
        image = spec.get("image_shape")
        return DataBundle(str(spec["dataset"]), x, y, x, y, classes=tuple(spec["classes"]),
                          image_shape=None if image is None else tuple(image))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not a data description written by deltagrad train "
                         f"({type(e).__name__}: {e})") from None


def with_validation(data: DataBundle, fraction: float, seed: int) -> DataBundle:
    """Hold out ``fraction`` of the training set (a seeded random subset) for validation."""
    if not fraction:
        return data
    if not 0 < fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {fraction}")
    n = len(data.x_train)
    n_val = max(1, int(round(n * fraction)))
    perm = np.random.default_rng(seed).permutation(n)
    val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return replace(data, x_train=data.x_train[train], y_train=data.y_train[train],
                   x_val=data.x_train[val], y_val=data.y_train[val])


def with_fold(data: DataBundle, fold: dict, seed: int) -> DataBundle:
    """Cross-validation fold ``fold["index"]`` of ``fold["k"]`` (an int >= 2, or ``"loo"``
    for leave-one-out) as the validation split, the other folds as the training set
    (:func:`deltagrad.utils.data.splits.kfold`, shuffled with ``seed``; the test set is
    untouched)."""
    from ..utils.data.splits import kfold, leave_one_out
    n, k, index = len(data.x_train), fold["k"], fold["index"]
    splits = leave_one_out(n) if k == "loo" else kfold(n, k, shuffle=True, generator=seed)
    count = n if k == "loo" else k
    if not 0 <= index < count:
        raise ValueError(f"fold index must be in [0, {count}), got {index}")
    for j, (train, val) in enumerate(splits):
        if j == index:
            break
    return replace(data, x_train=data.x_train[train], y_train=data.y_train[train],
                   x_val=data.x_train[val], y_val=data.y_train[val])
