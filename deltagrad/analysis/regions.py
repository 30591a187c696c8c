"""Linear regions of a 1-D piecewise-linear network (seed 004 §1.6–1.7).

A network of Linear layers and ReLU / LeakyReLU / Hardtanh / Identity units computes a
continuous piecewise-linear f: ℝ → ℝᴷ. With one input, one hidden layer of D ReLUs has at
most D joints, i.e. D + 1 linear regions; K hidden layers of D units can make up to
(D + 1)ᴷ. :func:`count_linear_regions` finds the joints exactly: layer by layer, each
pre-activation is affine between the joints found so far, so its zeros there are found by
linear interpolation between neighbouring joints.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend, nn

__all__ = ["count_linear_regions", "linear_region_breakpoints"]


def _kinks(module):
    """(σ on arrays, the z values where σ bends)."""
    if isinstance(module, nn.ReLU):
        return (lambda z: np.maximum(z, 0)), (0.0,)
    if isinstance(module, nn.LeakyReLU):
        a = module.negative_slope
        return (lambda z: np.where(z > 0, z, a * z)), (0.0,)
    if isinstance(module, nn.Hardtanh):
        lo, hi = module.min_val, module.max_val
        return (lambda z: np.clip(z, lo, hi)), (lo, hi)
    if isinstance(module, nn.Identity):
        return (lambda z: z), ()
    raise TypeError(f"count_linear_regions: expects a piecewise-linear network of Linear, "
                    f"ReLU, LeakyReLU, Hardtanh and Identity layers; got {type(module).__name__}")


def _stack(model) -> list:
    if isinstance(model, nn.Linear):
        return [model]
    if isinstance(model, nn.Sequential):
        return list(model.children())
    raise TypeError(f"count_linear_regions: expected an nn.Sequential (e.g. dg.models.MLP) or "
                    f"nn.Linear, got {type(model).__name__}")


def linear_region_breakpoints(model, interval) -> np.ndarray:
    """The sorted x in the open ``interval`` where some unit of the 1-D ``model`` switches
    (its pre-activation crosses a kink of its activation)."""
    return _breakpoints(model, interval)[0]


def _breakpoints(model, interval):
    """(inner joints, all joints with the ends, f at all joints)."""
    lo, hi = _interval(interval)
    layers = _stack(model)
    first = next((m for m in layers if isinstance(m, nn.Linear)), None)
    if first is None or first.in_features != 1:
        raise ValueError("count_linear_regions: the network must take one input (in_features "
                         f"= 1), got {None if first is None else first.in_features}")
    xs = np.array([lo, hi])                 # joints so far, with the interval's ends
    a = xs[:, None]                         # the current layer's values at those x
    for m in layers:
        if isinstance(m, nn.Linear):
            W = backend.to_numpy(m.weight._data).astype(np.float64)
            a = a @ W.T
            if m.bias is not None:
                a = a + backend.to_numpy(m.bias._data).astype(np.float64)
            continue
        sigma, kinks = _kinks(m)
        new = []
        for k in kinks:                     # zeros of the affine pieces of z − k
            g = a - k
            left, right = g[:-1], g[1:]
            i, j = np.nonzero(left * right < 0)
            t = left[i, j] / (left[i, j] - right[i, j])
            new.append(xs[i] + t * (xs[i + 1] - xs[i]))
        if new and sum(len(n) for n in new):
            added = np.concatenate(new)
            xs_new = np.unique(np.concatenate([xs, added]))
            a = np.stack([np.interp(xs_new, xs, a[:, c]) for c in range(a.shape[1])], 1)
            xs = xs_new
        a = sigma(a)
    return xs[1:-1], xs, a


def _interval(interval):
    try:
        lo, hi = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise ValueError(f"count_linear_regions: interval must be (low, high), got "
                         f"{interval!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"count_linear_regions: interval must be finite with low < high, got "
                         f"({lo}, {hi})")
    return lo, hi


def count_linear_regions(model, interval, merge: bool = True, rtol: float = 1e-9) -> int:
    """Number of linear regions of the 1-D piecewise-linear ``model`` on ``interval``.

    ``merge=True`` counts the maximal pieces on which f is affine (neighbouring pieces with
    the same slope, to ``rtol``, are one region); ``merge=False`` counts the pieces between
    all unit switches (activation patterns), which can only be more.
    """
    if isinstance(rtol, bool) or not isinstance(rtol, numbers.Real) or rtol < 0:
        raise ValueError(f"count_linear_regions: rtol must be a number >= 0, got {rtol!r}")
    _, xs, f = _breakpoints(model, interval)
    if not merge:
        return len(xs) - 1
    slopes = np.diff(f, axis=0) / np.diff(xs)[:, None]
    scale = max(np.abs(slopes).max(), 1e-300)
    changes = np.abs(np.diff(slopes, axis=0)).max(axis=1) > rtol * scale \
        if len(slopes) > 1 else np.zeros(0, bool)
    return 1 + int(changes.sum())
