"""Random draws from tensors of parameters: ``multinomial``, ``bernoulli``, ``normal``
(PyTorch's functions). Their gradients are zero, as in PyTorch (for reparameterized,
differentiable draws use ``dg.distributions``' ``rsample``)."""
from __future__ import annotations

import builtins

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor, _make, result_type

__all__ = ["multinomial", "bernoulli", "normal"]


def _weights(input, num_samples, replacement):
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial(): argument 'input' must be a Tensor, got "
                        f"{type(input).__name__}")
    if input.dtype.kind not in "fV":
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


class _Draw(Function):
    """A random draw made outside, recorded with zero gradient for its parameters (PyTorch
    keeps a normal or Bernoulli draw in the graph but gives its parameters no gradient)."""

    def forward(ctx, *params, sample):
        return sample

    def backward(ctx, g):
        zero = g * 0.0
        return tuple(zero for _ in ctx.needs_input_grad)


def bernoulli(input, p=None, *, generator=None):
    """1 with probability ``input`` (or ``p``) elementwise, else 0, in ``input``'s dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli(): argument 'input' must be a Tensor, got "
                        f"{type(input).__name__}")
    probs = input if p is None else p
    if isinstance(probs, Tensor):
        if probs.dtype.kind not in "fV":
            raise RuntimeError(f"bernoulli(): expected a floating point tensor of "
                               f"probabilities, got {probs.dtype}")
        pa = probs._data
    else:
        pa = np.asarray(probs, dtype=np.float64)
    if np.any(~((pa >= 0) & (pa <= 1))):
        raise RuntimeError("bernoulli(): expected all probabilities in [0, 1], got values "
                           "outside (or NaN)")
    dtype = input.dtype if input.dtype.kind in "fV" else backend.get_default_dtype()
    u = backend.rng(generator).random(tuple(input.shape))
    draw = backend.to_device(np.asarray(u < backend.to_numpy(pa), dtype=dtype), input.device)
    params = [t for t in (input, p) if isinstance(t, Tensor) and t.dtype.kind in "fV"]
    return _Draw.apply(*params, sample=draw) if params else _make(draw)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None):
    """Samples of N(mean, std²) elementwise (``mean`` and ``std`` broadcast; with two numbers
    ``size`` gives the shape)."""
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal(): with a number mean and std, size is required")
        shape = tuple(size)
        dt = backend.as_dtype(dtype)
        dev = backend.device(device or backend.get_default_device())
    else:
        try:
            shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))
        except ValueError:
            raise RuntimeError(f"normal(): mean of shape {tuple(getattr(mean, 'shape', ()))} "
                               f"and std of shape {tuple(getattr(std, 'shape', ()))} do not "
                               "broadcast") from None
        if size is not None and tuple(size) != shape:
            raise RuntimeError(f"normal(): size {tuple(size)} does not match the parameters' "
                               f"shape {shape}")
        dt = result_type(*tensors)
        if dt.kind not in "fV":
            raise RuntimeError(f"normal(): expected floating point mean and std, got {dt}")
        dev = tensors[0].device
    s = backend.to_numpy(std._data) if isinstance(std, Tensor) else np.float64(std)
    if np.any(~(s >= 0)):
        raise RuntimeError(f"normal expects std >= 0.0, but found std "
                           f"{np.min(s) if np.size(s) else s}")
    m = backend.to_numpy(mean._data) if isinstance(mean, Tensor) else np.float64(mean)
    z = backend.rng(generator).standard_normal(shape)
    draw = backend.to_device(np.asarray(m + s * z, dtype=dt), dev)
    params = [t for t in tensors if t.dtype.kind in "fV"]
    return _Draw.apply(*params, sample=draw) if params else _make(draw)
