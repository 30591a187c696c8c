"""The default feature network of FID and classifier of the Inception Score for 28×28 grey
images: a small CNN trained by deltagrad on Fashion-MNIST once, then cached.

Inception-v3 (what FID/IS use for ImageNet) sees nothing useful in 28×28 grey images; the
MNIST literature scores them with a classifier of the same data instead. Here that is
:class:`FashionMNISTClassifier` (conv 5×5 → pool → conv 5×5 → pool → 128 features → 10
logits), trained for ``epochs`` epochs with Adam on the 60,000 training images scaled to
[−1, 1] (the range of a tanh generator). :func:`fashion_mnist_classifier` loads it from the
cache folder (``$DELTAGRAD_CACHE``, default ``~/.cache/deltagrad``), training and saving it
there the first time. Nothing is downloaded: the images come from the installed dataset.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile

import numpy as np

from .. import backend, nn
from ..tensor import Tensor, from_numpy

__all__ = ["FashionMNISTClassifier", "fashion_mnist_classifier", "cache_dir"]

CACHE_FILE = "fashion_mnist_classifier.npz"
_LOADED: dict = {}


def cache_dir() -> str:
    """``$DELTAGRAD_CACHE``, else ``~/.cache/deltagrad``."""
    return os.environ.get("DELTAGRAD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                             "deltagrad")


def to_unit_range(pixels: np.ndarray) -> np.ndarray:
    """uint8 grey levels 0..255 → float32 in [−1, 1] (x / 127.5 − 1)."""
    return (np.asarray(pixels, dtype=np.float32) / np.float32(127.5) - 1).astype(np.float32)


class FashionMNISTClassifier(nn.Module):
    """CNN on (N, 1, 28, 28) images in [−1, 1]: ``features(x)`` is the 128-d penultimate
    layer (FID), ``forward(x)`` the 10 class logits (IS)."""

    input_shape = (1, 28, 28)

    def __init__(self, features: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, features), nn.ReLU())
        self.head = nn.Linear(features, 10)

    def features(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"FashionMNISTClassifier: x must be a Tensor, got "
                            f"{type(x).__name__}")
        if x.ndim == 2 and x.shape[1] == 784:
            x = x.reshape(x.shape[0], 1, 28, 28)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"FashionMNISTClassifier: x must have shape (N, 1, 28, 28) (or "
                             f"(N, 784)), got {tuple(x.shape)}")
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


def train_classifier(epochs: int = 3, seed: int = 0, batch_size: int = 128,
                     stream=None) -> tuple:
    """Train :class:`FashionMNISTClassifier` on the Fashion-MNIST training set (Adam, lr
    1e-3); returns (model, test accuracy)."""
    from ..autograd.grad_mode import no_grad
    from ..datasets import FashionMNIST
    from ..optim import Adam
    from ..utils.fit import fit_cross_entropy
    train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    x = to_unit_range(train.data).reshape(-1, 1, 28, 28)
    y = np.asarray(train.targets, dtype=np.int64)
    backend.manual_seed(seed)
    model = FashionMNISTClassifier()
    opt = Adam(model.parameters(), lr=1e-3)

    def report(epoch, loss):
        if stream is not None:
            print(f"  feature classifier: epoch {epoch}/{epochs}, last batch loss "
                  f"{float(loss.item()):.3f}", file=stream, flush=True)
    fit_cross_entropy(model, x, y, opt, epochs, batch_size, seed, after_epoch=report)
    model.eval()
    xt = to_unit_range(test.data).reshape(-1, 1, 28, 28)
    with no_grad():
        pred = np.concatenate([model(from_numpy(xt[i:i + 1000])).numpy().argmax(1)
                               for i in range(0, len(xt), 1000)])
    return model, float((pred == np.asarray(test.targets)).mean())


def fashion_mnist_classifier(folder: str | None = None, retrain: bool = False,
                             stream=sys.stderr) -> FashionMNISTClassifier:
    """The cached classifier (in eval mode), trained and saved in ``folder`` (default
    :func:`cache_dir`) the first time, or again with ``retrain=True``."""
    folder = folder or cache_dir()
    path = os.path.join(folder, CACHE_FILE)
    model = FashionMNISTClassifier()
    if os.path.exists(path) and not retrain:
        info = os.stat(path)
        key = (os.path.abspath(path), info.st_mtime_ns, info.st_size)
        if key in _LOADED:          # one read per file; a fresh copy for each caller
            model.load_state_dict(_LOADED[key])
            return model.eval()
        with np.load(path) as f:
            state = {k: f[k] for k in f.files if k != "meta"}
        try:
            model.load_state_dict({k: from_numpy(v) for k, v in state.items()})
        except (KeyError, RuntimeError) as e:
            raise RuntimeError(f"{path} does not hold a FashionMNISTClassifier ({e}); delete "
                               "it to train a new one") from None
        _LOADED[key] = model.state_dict()
        return model.eval()
    if stream is not None:
        print(f"training the Fashion-MNIST feature classifier once (cached in {path})",
              file=stream, flush=True)
    model, acc = train_classifier(stream=stream)
    os.makedirs(folder, exist_ok=True)
    arrays = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    meta = json.dumps({"test_accuracy": acc, "input_range": [-1, 1]})
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npz.tmp")
    os.close(fd)
    try:
        with open(tmp, "wb") as f:
            np.savez(f, meta=np.array(meta), **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    if stream is not None:
        print(f"  feature classifier: test accuracy {acc:.2%}", file=stream, flush=True)
    return model.eval()


def cached_accuracy(folder: str | None = None) -> float | None:
    """The test accuracy stored with the cached classifier (None if there is none)."""
    path = os.path.join(folder or cache_dir(), CACHE_FILE)
    if not os.path.exists(path):
        return None
    with np.load(path) as f:
        return float(json.loads(str(f["meta"]))["test_accuracy"])
