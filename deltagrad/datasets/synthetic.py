"""Small synthetic problems for the first lectures. Each returns ``(X, y)`` Tensors
(wrap them with ``TensorDataset(X, y)``); ``generator`` is a ``dg.Generator``, an int seed or
``None`` for the global generator. Classification labels are int64 class indices.
"""
from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from ..tensor import _make
from ..utils.data._random import as_generator, numpy_rng


def _rng(generator, op):
    return numpy_rng(as_generator(generator, op))


def _out(x, y):
    return _make(np.ascontiguousarray(x, dtype=np.float32)), _make(np.ascontiguousarray(y))


def _check_n(n, op, minimum=1):
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < minimum:
        raise ValueError(f"{op}: n_samples must be an int >= {minimum}, got {n!r}")
    return int(n)


_NAMED = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0],
          "nand": [1, 1, 1, 0], "nor": [1, 0, 0, 0], "xnor": [1, 0, 0, 1]}


def boolean_function(truth_table, n_inputs=None):
    """All ``2**k`` inputs of a Boolean function and its outputs.

    ``truth_table``: the outputs listed for inputs in binary counting order (row ``r`` has
    inputs = the bits of ``r``, first input most significant, e.g. AND = [0, 0, 0, 1]); or a
    name ("and", "or", "xor", "nand", "nor", "xnor"); or a callable ``f(*bits) -> 0/1``
    with ``n_inputs``. Returns X float32 (2**k, k) of 0/1 and y int64 (2**k,).
    """
    op = "boolean_function"
    if isinstance(truth_table, str):
        if truth_table.lower() not in _NAMED:
            raise ValueError(f"{op}: unknown function {truth_table!r}; known: {sorted(_NAMED)}")
        truth_table = _NAMED[truth_table.lower()]
    if callable(truth_table):
        if not isinstance(n_inputs, numbers.Integral) or n_inputs < 1:
            raise ValueError(f"{op}: a callable truth table needs n_inputs >= 1")
        rows = list(itertools.product((0, 1), repeat=int(n_inputs)))
        outputs = [int(bool(truth_table(*r))) for r in rows]
    else:
        outputs = np.asarray(truth_table).reshape(-1)
        k = int(round(math.log2(outputs.size))) if outputs.size else -1
        if outputs.size < 2 or 2 ** k != outputs.size:
            raise ValueError(f"{op}: a truth table needs 2**k entries (k >= 1), got "
                             f"{outputs.size}")
        if n_inputs is not None and n_inputs != k:
            raise ValueError(f"{op}: {outputs.size} entries mean {k} inputs, not {n_inputs}")
        if not np.isin(outputs, (0, 1)).all():
            raise ValueError(f"{op}: truth table entries must be 0 or 1, got {outputs.tolist()}")
        rows = list(itertools.product((0, 1), repeat=k))
    return _out(np.array(rows), np.asarray(outputs, dtype=np.int64))


def xor(n_samples=None, noise=0.0, generator=None):
    """The XOR problem: with ``n_samples=None`` the four corners of {0,1}², labels [0,1,1,0];
    otherwise ``n_samples`` corners drawn uniformly plus N(0, noise²) jitter."""
    x, y = boolean_function("xor")
    if n_samples is None and noise == 0:
        return x, y
    rng = _rng(generator, "xor")
    n = 4 if n_samples is None else _check_n(n_samples, "xor")
    pick = rng.integers(0, 4, size=n)
    pts = x.numpy()[pick] + noise * rng.standard_normal((n, 2))
    return _out(pts, y.numpy()[pick])


def spirals(n_samples=200, n_classes=2, noise=0.1, turns=1.0, generator=None):
    """``n_classes`` interleaved spiral arms: for arm ``c`` and ``t ~ U(0, 1)``,
    ``x = t (cos φ, sin φ) + N(0, noise²)``, ``φ = 2π turns t + 2π c / n_classes``."""
    n = _check_n(n_samples, "spirals")
    if not isinstance(n_classes, numbers.Integral) or n_classes < 2:
        raise ValueError(f"spirals: n_classes must be an int >= 2, got {n_classes!r}")
    rng = _rng(generator, "spirals")
    y = np.arange(n) % n_classes
    t = rng.random(n)
    phi = 2 * np.pi * turns * t + 2 * np.pi * y / n_classes
    x = t[:, None] * np.stack([np.cos(phi), np.sin(phi)], 1) + noise * rng.standard_normal((n, 2))
    return _out(x, y.astype(np.int64))


def blobs(n_samples=300, centers=3, n_features=2, cluster_std=1.0, center_box=(-10.0, 10.0),
          generator=None):
    """Isotropic Gaussian clusters (as ``sklearn.datasets.make_blobs``): ``centers`` is a count
    (drawn uniformly in ``center_box``) or a (K, n_features) array; samples are spread evenly
    over the clusters, ``x ~ N(center_y, cluster_std² I)``."""
    n = _check_n(n_samples, "blobs")
    rng = _rng(generator, "blobs")
    if isinstance(centers, numbers.Integral):
        if centers < 1:
            raise ValueError(f"blobs: centers must be >= 1, got {centers}")
        c = rng.uniform(center_box[0], center_box[1], size=(int(centers), n_features))
    else:
        c = np.asarray(centers, dtype=np.float64)
        if c.ndim != 2:
            raise ValueError(f"blobs: centers must be an int or a (K, d) array, got shape "
                             f"{c.shape}")
    y = np.arange(n) % len(c)
    std = np.broadcast_to(np.asarray(cluster_std, dtype=np.float64), (len(c),))
    x = c[y] + std[y, None] * rng.standard_normal((n, c.shape[1]))
    return _out(x, y.astype(np.int64))


def sine_regression(n_samples=100, noise=0.1, x_range=(-math.pi, math.pi), generator=None):
    """``y = sin(x) + N(0, noise²)`` with ``x ~ U(x_range)``; X and y are float32 (n, 1)."""
    n = _check_n(n_samples, "sine_regression")
    rng = _rng(generator, "sine_regression")
    x = rng.uniform(x_range[0], x_range[1], size=(n, 1))
    return _out(x, (np.sin(x) + noise * rng.standard_normal((n, 1))).astype(np.float32))
