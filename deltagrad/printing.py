"""How a tensor prints: PyTorch's layout, character for character.

Every element of a tensor is written with one notation and padded to one width, chosen from
the finite nonzero values shown (the edges only, when the tensor is summarised):

* all values whole  -> ``1.``, ``-3.``               (``f"{v:.0f}."``)
* otherwise          -> ``0.9200``, ``-1.2500``       (``f"{v:.4f}"``)
* scientific when max|v| / min|v| > 1000, max|v| > 1e8 or min|v| < 1e-4
                     -> ``1.0000e-05``               (``f"{v:.4e}"``)

Rows hold ``⌊(80 − indent) / (width + 2)⌋`` elements; a tensor of more than 1000 elements
shows its first and last 3 along each dimension around ``...``; the suffixes (device, dtype,
grad_fn) go on a new line when they would pass column 80.
"""
from __future__ import annotations

import math

import numpy as np

from . import backend

PRECISION = 4      # digits after the point
THRESHOLD = 1000   # more elements than this: summarised
EDGEITEMS = 3      # elements kept at each end of a summarised dimension
LINEWIDTH = 80


class NumberFormat:
    """One notation and one width for all the elements of a tensor."""

    def __init__(self, values: np.ndarray):
        self.floating = backend.is_floating(values.dtype)
        self.whole, self.scientific, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            self.width = max([1] + [len(str(v)) for v in flat.tolist()])
            return
        flat = flat.astype(np.float64)
        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return
        magnitude = np.abs(shown)
        low, high = magnitude.min(), magnitude.max()
        self.whole = bool(np.all(shown == np.ceil(shown)))
        self.scientific = bool(high / low > 1000.0 or high > 1.0e8 or low < 1.0e-4)
        self.width = max(len(self._text(v)) for v in shown.tolist())

    def _text(self, value) -> str:
        if not self.floating:
            return str(value)
        if self.scientific:
            return f"{value:.{PRECISION}e}"
        if self.whole:
            return f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        return f"{value:.{PRECISION}f}"

    def format(self, value) -> str:
        return self._text(value).rjust(self.width)


def _edges(a: np.ndarray) -> np.ndarray:
    """The elements a summarised print shows: the first and last EDGEITEMS of every dim."""
    if a.ndim == 0:
        return a
    if a.ndim == 1:
        return np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]]) if len(a) > 2 * EDGEITEMS else a
    return np.stack([_edges(a[i]) for i in _rows(len(a), True)])


def _rows(n: int, summarize: bool):
    if summarize and n > 2 * EDGEITEMS:
        return [*range(EDGEITEMS), *range(n - EDGEITEMS, n)]
    return list(range(n))


def _python_values(a: np.ndarray) -> list:
    return (a.astype(np.float64) if backend.is_floating(a.dtype) else a).tolist()


def _body(a: np.ndarray, indent: int, summarize: bool, number: NumberFormat) -> str:
    if a.ndim == 0:
        return number.format(_python_values(a))
    if a.ndim == 1:
        per_line = max(1, (LINEWIDTH - indent) // (number.width + 2))
        if summarize and len(a) > 2 * EDGEITEMS:
            items = ([number.format(v) for v in _python_values(a[:EDGEITEMS])] + [" ..."]
                     + [number.format(v) for v in _python_values(a[-EDGEITEMS:])])
        else:
            items = [number.format(v) for v in _python_values(a)]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    parts = [_body(a[i], indent + 1, summarize, number) for i in _rows(len(a), summarize)]
    if summarize and len(a) > 2 * EDGEITEMS:
        parts.insert(EDGEITEMS, "...")
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _with_suffixes(text: str, suffixes: list, indent: int) -> str:
    """``, suffix`` on the same line while it fits in LINEWIDTH, else on a new line."""
    pieces = [text]
    last_line = len(text) - text.rfind("\n") + 1       # PyTorch's count, kept exactly
    for suffix in suffixes:
        if last_line + len(suffix) + 2 > LINEWIDTH:
            pieces.append(",\n" + " " * indent + suffix)
            last_line = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            last_line += len(suffix) + 2
    return "".join(pieces) + ")"


def tensor_repr(t) -> str:
    """``repr(t)`` as PyTorch writes it (dtypes named ``deltagrad.<dtype>``)."""
    a = backend.to_numpy(t._data)
    prefix = "tensor("
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if a.size == 0:
        body = "[]"
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if a.dtype != backend.get_default_dtype():
            suffixes.append(f"dtype=deltagrad.{a.dtype}")
    else:
        if a.dtype not in (backend.get_default_dtype(), np.dtype("int64"), np.dtype("bool")):
            suffixes.append(f"dtype=deltagrad.{a.dtype}")
        summarize = a.size > THRESHOLD
        number = NumberFormat(_edges(a) if summarize else a)
        body = _body(a, len(prefix), summarize, number)
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn={t.grad_fn}")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _with_suffixes(prefix + body, suffixes, len(prefix))
