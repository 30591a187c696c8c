"""Drawing category indices: ``multinomial`` (``torch.multinomial``). Not differentiable."""
from __future__ import annotations

import builtins

import numpy as np

from .. import backend
from ..tensor import Tensor, _make

__all__ = ["multinomial"]


def _weights(input, num_samples, replacement):
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' must be a Tensor, got "
                        f"{type(input).__name__}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"multinomial(): expected a floating point tensor of weights, got "
                           f"{input.dtype}")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"multinomial(): prob_dist must be 1 or 2 dim, got shape "
                           f"{tuple(input.shape)}")
    if not isinstance(num_samples, (builtins.int, np.integer)) or isinstance(num_samples, bool):
        raise TypeError(f"multinomial(): num_samples must be an int, got "
                        f"{type(num_samples).__name__}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial(): cannot sample n_sample <= 0 samples "
                           f"(num_samples={num_samples})")
    w = backend.to_numpy(input._data).astype(np.float64).reshape(-1, input.shape[-1])
    if w.shape[1] == 0:
        raise RuntimeError("multinomial(): the number of categories must be positive, got 0")
    if not np.isfinite(w).all() or (w < 0).any():
        raise RuntimeError("multinomial(): probability tensor contains either inf, nan or an "
                           "element < 0")
    if (w.sum(1) <= 0).any():
        raise RuntimeError("multinomial(): invalid multinomial distribution (sum of "
                           "probabilities <= 0)")
    if not replacement:
        if num_samples > w.shape[1]:
            raise RuntimeError(f"multinomial(): cannot sample n_sample={num_samples} > "
                               f"prob_dist.size(-1)={w.shape[1]} samples without replacement")
    return w


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """``num_samples`` category indices per row of non-negative weights (rows need not sum
    to 1), int64, shape (num_samples,) or (rows, num_samples).

    With replacement: index i with probability wᵢ/Σw (inverse CDF of a uniform draw).
    Without: the order of the keys Eᵢ/wᵢ with Eᵢ ~ Exp(1) (the first k of a race of exponential
    clocks), which is the law of drawing one at a time and removing what was drawn; when fewer
    than ``num_samples`` weights are positive, the zero-weight categories fill the rest."""
    w = _weights(input, num_samples, replacement)
    rng = backend.rng(generator)
    rows, k = w.shape
    if replacement:
        cdf = np.cumsum(w, axis=1)
        u = rng.random((rows, num_samples)) * cdf[:, -1:]
        last = k - 1 - np.argmax(w[:, ::-1] > 0, axis=1)  # the last category with weight > 0
        out = np.empty((rows, num_samples), np.int64)
        for r in range(rows):
            out[r] = np.searchsorted(cdf[r], u[r], side="right")
        out = np.minimum(out, last[:, None])
    else:
        with np.errstate(divide="ignore"):
            keys = rng.exponential(size=(rows, k)) / w
        # categories of weight 0 come last, highest index first (as PyTorch 2.x on the CPU)
        back = np.broadcast_to(-np.arange(k), keys.shape)
        order = np.lexsort((back, keys), axis=1)
        out = order[:, :num_samples].astype(np.int64)
    if input.ndim == 1:
        out = out[0]
    return _make(backend.to_device(np.ascontiguousarray(out), input.device))
