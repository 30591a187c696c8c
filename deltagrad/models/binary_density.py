"""What the binary density models (RBM, NADE, MADE) share: the check that a batch is binary
and of the right width, Bernoulli draws from dg's generators, and the Bernoulli
log-likelihood ln p(x) = Σ_i [x_i ln σ(y_i) + (1 − x_i) ln(1 − σ(y_i))] from logits y."""
from __future__ import annotations

import numpy as np

from .. import backend
from ..nn import functional as F
from ..tensor import Tensor, _make

__all__ = ["binary_batch", "bernoulli", "bernoulli_log_prob"]


def binary_batch(x, size, op, dtype, name="x", binary=True, device=None) -> Tensor:
    """``x`` as an (N, size) Tensor of ``dtype`` ((size,) becomes (1, size); images (N, ...)
    with ``size`` values are flattened); an array is put on ``device`` (the model's).
    ``binary``: every value must be 0 or 1; otherwise values must lie in [0, 1]."""
    if not isinstance(x, Tensor):
        x = _make(np.asarray(x, dtype=dtype))
        if device is not None:
            x = x.to(device)
    elif x.dtype != dtype:
        x = x.to(dtype)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    elif x.ndim > 2:
        x = x.reshape(x.shape[0], -1)
    if x.ndim != 2 or x.shape[1] != size:
        raise ValueError(f"{op}: expected {name} of shape (N, {size}), got {tuple(x.shape)}")
    a = x._data
    if a.size == 0:
        return x
    if binary:
        if not ((a == 0) | (a == 1)).all():
            raise ValueError(f"{op}: a Bernoulli model needs binary {name} (0 or 1); got "
                             f"values in [{float(a.min()):g}, {float(a.max()):g}] "
                             f"(binarize the data, e.g. dg.datasets.BinarizedFashionMNIST)")
    elif not ((a >= 0) & (a <= 1)).all():
        raise ValueError(f"{op}: {name} must lie in [0, 1] (binary values or probabilities), "
                         f"got values in [{float(a.min()):g}, {float(a.max()):g}]")
    return x


def bernoulli(p, generator=None) -> Tensor:
    """One 0/1 draw per entry of the probabilities ``p``: u < p with u uniform on [0, 1),
    drawn directly in p's dtype (``Generator.random(shape, dtype)``), without gradient."""
    a = p.detach()._data if isinstance(p, Tensor) else np.asarray(p)
    rng = backend.rng(generator)
    u = rng.random(a.shape, dtype=a.dtype) if a.dtype in (np.float32, np.float64) else \
        rng.random(a.shape).astype(a.dtype)
    u = backend.to_device(u, backend.device_of(a))     # host draws, compared on p's device
    return _make((u < a).astype(a.dtype))


def bernoulli_log_prob(logits, x) -> Tensor:
    """ln p(x) in nats per example: −Σ_i BCE(σ(y_i), x_i), computed stably from the logits."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
