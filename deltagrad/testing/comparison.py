"""assert_close: are two tensors (numbers, or nested lists/tuples/dicts of them) equal up to a
tolerance? ``torch.testing.assert_close``'s rules and messages.

An element passes when |actual − expected| ≤ atol + rtol·|expected| (equal infinities pass;
NaNs pass only with ``equal_nan=True``). Without ``rtol``/``atol`` the tolerances follow the
dtype: float16 (1e-3, 1e-5), bfloat16 (1.6e-2, 1e-5), float32 (1.3e-6, 1e-5), float64
(1e-7, 1e-7), integers and bool exact. Shapes and (by default) dtypes must agree.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

__all__ = ["assert_close"]

_TOLERANCES = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5),
               "float64": (1e-7, 1e-7)}


def _tolerances(dtype, rtol, atol):
    if rtol is not None and atol is not None:
        return rtol, atol
    return _TOLERANCES.get(np.dtype(dtype).name, (0.0, 0.0))


def assert_close(actual, expected, *, allow_subclasses=True, rtol=None, atol=None,
                 equal_nan=False, check_device=True, check_dtype=True, check_layout=True,
                 check_stride=False, msg=None):
    """Raise AssertionError (torch's message) unless ``actual`` is close to ``expected``."""
    if (rtol is None) != (atol is None):
        missing = "atol" if atol is None else "rtol"
        raise ValueError("Both 'rtol' and 'atol' must be either specified or omitted, but got "
                         f"no {missing}.")
    _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, [])


def _compare(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path):
    from ..tensor import Tensor
    numbers = (int, float, complex, bool, np.number)
    if isinstance(actual, Tensor) and isinstance(expected, Tensor):
        return _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path)
    if isinstance(actual, numbers) and isinstance(expected, numbers) \
            and not isinstance(actual, Tensor) and not isinstance(expected, Tensor):
        dtype = np.float64 if isinstance(expected, float) or isinstance(actual, float) \
            else np.int64
        return _compare_scalars(actual, expected, _tolerances(dtype, rtol, atol), equal_nan,
                                msg, path)
    if isinstance(actual, Mapping) and isinstance(expected, Mapping):
        if set(actual) != set(expected):
            _fail(f"The keys of the mappings do not match:\nMissing keys in the actual "
                  f"mapping: {sorted(map(repr, set(expected) - set(actual)))}\nAdditional keys "
                  f"in the actual mapping: {sorted(map(repr, set(actual) - set(expected)))}",
                  msg, path)
        for key in expected:
            _compare(actual[key], expected[key], rtol, atol, equal_nan, check_dtype, msg,
                     path + [key])
        return None
    if isinstance(actual, Sequence) and isinstance(expected, Sequence) \
            and not isinstance(actual, str) and not isinstance(expected, str):
        if len(actual) != len(expected):
            _fail(f"The length of the sequences mismatch: {len(actual)} != {len(expected)}",
                  msg, path)
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, rtol, atol, equal_nan, check_dtype, msg, path + [i])
        return None
    raise TypeError(f"No comparison pair was able to handle inputs of type {type(actual)} and "
                    f"{type(expected)}.")


def _compare_tensors(actual, expected, rtol, atol, equal_nan, check_dtype, msg, path):
    a, e = actual.detach().numpy(), expected.detach().numpy()
    if a.shape != e.shape:
        _fail(f"The values for attribute 'shape' do not match: deltagrad.Size({list(a.shape)}) "
              f"!= deltagrad.Size({list(e.shape)}).", msg, path)
    if check_dtype and a.dtype != e.dtype:
        _fail(f"The values for attribute 'dtype' do not match: deltagrad.{a.dtype} != "
              f"deltagrad.{e.dtype}.", msg, path)
    rtol_, atol_ = _tolerances(np.promote_types(a.dtype, e.dtype), rtol, atol)
    if a.ndim == 0:
        return _compare_scalars(a.item(), e.item(), (rtol_, atol_), equal_nan, msg, path)
    common = np.promote_types(a.dtype, e.dtype)
    if common.kind == "b":
        common = np.dtype(np.int64)
    a, e = a.astype(common), e.astype(common)
    close = _close(a, e, rtol_, atol_, equal_nan)
    if close.all():
        return None
    exact = rtol_ == 0 and atol_ == 0
    diff = np.abs(a - e) if common.kind != "u" else \
        np.abs(a.astype(np.int64) - e.astype(np.int64))
    relative_dtype = common if common.kind == "f" else np.float32
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = diff.astype(relative_dtype) / np.abs(e).astype(relative_dtype)
    mismatched = int((~close).sum())
    lines = [f"Tensor-likes are not {'equal' if exact else 'close'}!", "",
             f"Mismatched elements: {mismatched} / {close.size} "
             f"({100 * mismatched / close.size:.1f}%)"]
    for label, values, allowed in (("absolute", diff, atol_), ("relative", relative, rtol_)):
        masked = np.where(close, -np.inf if values.dtype.kind == "f" else 0, values)
        index = _argmax_nan_first(masked)
        value = masked[index].item()
        bound = "" if exact else f" (up to {allowed} allowed)"
        lines.append(f"Greatest {label} difference: {value} at index {index}{bound}")
    _fail("\n".join(lines), msg, path)


def _argmax_nan_first(values):
    flat = values.ravel()
    nan = flat.dtype.kind == "f" and np.isnan(flat).any()
    position = int(np.argmax(np.isnan(flat))) if nan else int(np.argmax(flat))
    return tuple(int(i) for i in np.unravel_index(position, values.shape))


def _close(a, e, rtol, atol, equal_nan):
    with np.errstate(invalid="ignore", over="ignore"):
        if a.dtype.kind in "fc":
            close = (a == e) | (np.abs(a - e) <= atol + rtol * np.abs(e))
            if equal_nan:
                close |= np.isnan(a) & np.isnan(e)
            return close
        return np.abs(a.astype(np.float64) - e.astype(np.float64)) <= atol + rtol * np.abs(
            e.astype(np.float64))


def _compare_scalars(actual, expected, tolerances, equal_nan, msg, path):
    rtol, atol = tolerances
    a, e = complex(actual) if isinstance(actual, complex) else actual, expected
    if a == e or (equal_nan and _isnan(a) and _isnan(e)) \
            or abs(a - e) <= atol + rtol * abs(e):
        return None
    diff = abs(a - e)
    relative = diff / abs(e) if e != 0 else math.inf
    exact = rtol == 0 and atol == 0
    lines = [f"Scalars are not {'equal' if exact else 'close'}!", "",
             f"Expected {expected} but got {actual}.",
             f"Absolute difference: {diff}" + ("" if exact else f" (up to {atol} allowed)"),
             f"Relative difference: {relative}" + ("" if exact else f" (up to {rtol} allowed)")]
    _fail("\n".join(lines), msg, path)


def _isnan(x):
    return isinstance(x, float) and math.isnan(x)


def _fail(text, msg, path):
    if callable(msg):
        text = msg(text)
    elif msg is not None:
        text = msg
    elif path:
        text += "\n\nThe failure occurred for item " + "".join(f"[{p!r}]" for p in path)
    raise AssertionError(text)
