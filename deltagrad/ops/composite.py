"""PyTorch functions composed from deltagrad's differentiable primitives (teenygrad's idea:
no new backward to get wrong where composing costs nothing): ``lerp``, ``logaddexp``,
``log2``/``log10``, ``nan_to_num``, ``diff``, ``meshgrid``, ``tensor_split``, and the integer
helpers ``isin`` and ``bincount``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor, _make, as_tensor
from . import elementwise as E
from .indexing import narrow
from .shape import cat, split

__all__ = ["lerp", "logaddexp", "log2", "log10", "nan_to_num", "diff", "meshgrid",
           "tensor_split", "isin", "bincount"]


def _tensor(x, op, name="input"):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}")
    return x


def _full(like, value):
    """A constant tensor shaped and typed like ``like`` (no gradient flows to it)."""
    a = like._data
    return _make(backend.array_module(a).full(a.shape, value, dtype=a.dtype))


def lerp(input, end, weight):
    """start + weight · (end − start) (``torch.lerp``); weight a number or a tensor."""
    _tensor(input, "lerp")
    _tensor(end, "lerp", "end")
    return input + weight * (end - input)


def logaddexp(input, other):
    """log(eˣ + eʸ) = m + log(e^{x−m} + e^{y−m}) with m = max(x, y): no overflow at 1e4."""
    _tensor(input, "logaddexp")
    _tensor(other, "logaddexp", "other")
    m = E.maximum(input, other).detach()
    m = E.where(E.isfinite(m), m, _full(m, 0.0))  # both −∞ (or +∞): no ∞ − ∞
    return m + E.log(E.exp(input - m) + E.exp(other - m))


def log2(input):
    """log₂ x = ln x / ln 2."""
    return E.log(_tensor(input, "log2")) / math.log(2.0)


def log10(input):
    """log₁₀ x = ln x / ln 10."""
    return E.log(_tensor(input, "log10")) / math.log(10.0)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """NaN → ``nan``, +∞ → ``posinf`` (default: the dtype's largest), −∞ → ``neginf``; the
    gradient passes where the input was finite."""
    x = _tensor(input, "nan_to_num")
    if not x.is_floating_point():
        return x.clone()
    info = np.finfo(x.dtype)
    posinf = float(info.max) if posinf is None else float(posinf)
    neginf = float(info.min) if neginf is None else float(neginf)
    out = E.where(E.isnan(x), _full(x, nan), x)
    out = E.where(out == math.inf, _full(x, posinf), out)
    return E.where(out == -math.inf, _full(x, neginf), out)


def diff(input, n=1, dim=-1, prepend=None, append=None):
    """The n-th forward difference along ``dim``: out[i] = x[i + 1] − x[i], n times (with
    ``prepend``/``append`` joined first)."""
    x = _tensor(input, "diff")
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 0:
        raise ValueError(f"diff: order must be a non-negative integer, got {n!r}")
    if x.ndim == 0:
        raise RuntimeError("diff: expected at least a 1-dimensional tensor")
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = cat([p if p.ndim == x.ndim else p.expand(*[
            1 if d == (dim % x.ndim) else s for d, s in enumerate(x.shape)]) for p in parts],
            dim)
    for _ in range(int(n)):
        length = x.shape[dim]
        if length == 0:
            break
        x = narrow(x, dim, 1, length - 1) - narrow(x, dim, 0, length - 1)
    return x


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids of 1-D tensors (``torch.meshgrid``; ``indexing`` 'ij' or 'xy')."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for t in tensors:
        if not isinstance(t, Tensor) or t.ndim > 1:
            raise RuntimeError("meshgrid: expects 0-D or 1-D tensors")
    ts = [t.reshape(-1) for t in tensors]
    if indexing == "xy" and len(ts) >= 2:
        ts[0], ts[1] = ts[1], ts[0]
    shape = tuple(t.shape[0] for t in ts)
    grids = []
    for i, t in enumerate(ts):
        view = [1] * len(ts)
        view[i] = shape[i]
        grids.append(t.reshape(*view).expand(*shape))
    if indexing == "xy" and len(grids) >= 2:      # 'ij' of (y, x, ...), first two swapped back
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def tensor_split(input, indices_or_sections, dim=0):
    """Split into ``sections`` nearly equal parts (the first n mod k one longer) or at the
    given indices (``torch.tensor_split``)."""
    x = _tensor(input, "tensor_split")
    d = dim % x.ndim if x.ndim else 0
    n = x.shape[d]
    if isinstance(indices_or_sections, numbers.Integral):
        k = int(indices_or_sections)
        if k < 1:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, "
                               f"got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    else:
        cuts = [min(max(int(i), 0), n) for i in indices_or_sections]
        bounds = [0] + cuts + [n]
        sizes = [max(b - a, 0) for a, b in zip(bounds[:-1], bounds[1:])]
    return tuple(split(x, sizes, d)) if sum(sizes) == n else tuple(
        narrow(x, d, min(a, n), max(b - a, 0)) for a, b in zip([0] + cuts, cuts + [n]))


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    """Whether each element occurs in ``test_elements`` (a bool tensor, no gradient)."""
    a = elements._data if isinstance(elements, Tensor) else np.asarray(elements)
    b = test_elements._data if isinstance(test_elements, Tensor) else np.asarray(test_elements)
    xp = backend.array_module(a)
    return _make(xp.isin(a, b, assume_unique=assume_unique, invert=invert))


def bincount(input, weights=None, minlength=0):
    """Counts of each value 0, 1, … of a 1-D non-negative integer tensor (weighted sums with
    ``weights``; float64 weights stay float64, others become the default dtype)."""
    x = _tensor(input, "bincount")
    a = x._data
    if x.ndim != 1 or a.dtype.kind not in "iu":
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs, got "
                           f"shape {tuple(x.shape)} of dtype {x.dtype}")
    if a.size and a.min() < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs")
    xp = backend.array_module(a)
    if weights is None:
        return _make(xp.bincount(a, minlength=minlength).astype(np.int64))
    w = weights._data if isinstance(weights, Tensor) else as_tensor(weights)._data
    out = xp.bincount(a, weights=w, minlength=minlength)
    dtype = w.dtype if w.dtype == np.float64 else backend.get_default_dtype()
    return _make(out.astype(dtype))
