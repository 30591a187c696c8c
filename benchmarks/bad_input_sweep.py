"""Bad and edge inputs fed to deltagrad and PyTorch side by side (issue 13).

Each case is one call written once against a library ``m`` (``deltagrad`` or ``torch``: the
two share names). A case's outcome is one of

  same                        both raise, or both return equal values (NaN = NaN)
  raw_error                   both raise, but deltagrad's exception comes from inside NumPy /
                              SciPy / Python or its message does not name the op
  returns_where_torch_raises  deltagrad returns a value, PyTorch raises
  raises_where_torch_returns  deltagrad raises, PyTorch returns
  different_value             both return, with another shape, dtype or value
  warning_leaked              deltagrad emits a warning (NumPy's RuntimeWarning ...) where
                              PyTorch is silent
  missing_api                 deltagrad has no such function / method

    python benchmarks/bad_input_sweep.py [--verbose] [--only CATEGORY]

writes the counts and every case that is not ``same`` to
``benchmarks/results/bad_input_sweep.json`` (with the command, commit and date).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import traceback
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402  (the oracle: a test-only dependency)

import deltagrad as dg  # noqa: E402
from benchmarks.record import provenance  # noqa: E402

torch.set_num_threads(1)
NAN, INF = float("nan"), float("inf")
CASES: list = []


def case(name, op=None):
    """Register ``fn(m)`` under ``name``; ``op`` is the word an error message must contain."""
    def deco(fn):
        CASES.append((name, op or name.split("(")[0].split(".")[-1], fn))
        return fn
    return deco


def add(name, fn, op=None):
    CASES.append((name, op or name.split("(")[0].split(".")[-1], fn))


def x23(m, dtype=None):
    return m.tensor([[1.0, -2.0, 3.0], [0.5, 0.0, -1.5]], dtype=dtype or m.float32)


# ----------------------------------------------------------------------------- reductions
REDUCTIONS = {
    "sum": lambda m, x, d: x.sum(dim=d), "mean": lambda m, x, d: x.mean(dim=d),
    "prod": lambda m, x, d: x.prod(dim=d), "amax": lambda m, x, d: x.amax(dim=d),
    "amin": lambda m, x, d: x.amin(dim=d), "max": lambda m, x, d: x.max(dim=d),
    "min": lambda m, x, d: x.min(dim=d), "argmax": lambda m, x, d: x.argmax(dim=d),
    "argmin": lambda m, x, d: x.argmin(dim=d), "logsumexp": lambda m, x, d: x.logsumexp(dim=d),
    "std": lambda m, x, d: x.std(dim=d), "var": lambda m, x, d: x.var(dim=d),
    "norm": lambda m, x, d: x.norm(dim=d), "cumsum": lambda m, x, d: x.cumsum(dim=d),
    "cumprod": lambda m, x, d: x.cumprod(dim=d),
    "all": lambda m, x, d: x.all(dim=d), "any": lambda m, x, d: x.any(dim=d),
    "count_nonzero": lambda m, x, d: m.count_nonzero(x, dim=d),
    "softmax": lambda m, x, d: x.softmax(dim=d), "log_softmax": lambda m, x, d: x.log_softmax(d),
}
DIMS = [1.0, "a", 5, -4, (0, 0), [0, 1], True, (), (0, 5), 0]
for _op, _f in REDUCTIONS.items():
    for _d in DIMS:
        add(f"{_op}(dim={_d!r})", (lambda f, d: lambda m: f(m, x23(m), d))(_f, _d), _op)
    add(f"{_op}(empty (0, 3), dim=0)", (lambda f: lambda m: f(m, m.zeros(0, 3), 0))(_f), _op)
    add(f"{_op}(empty (0, 3), dim=1)", (lambda f: lambda m: f(m, m.zeros(0, 3), 1))(_f), _op)

# ----------------------------------------------------------------------------- shape ops
SHAPE_OPS = {
    "transpose": lambda m, x, d: x.transpose(d, 1), "unsqueeze": lambda m, x, d: x.unsqueeze(d),
    "squeeze": lambda m, x, d: x.squeeze(d), "flatten": lambda m, x, d: x.flatten(d),
    "movedim": lambda m, x, d: x.movedim(d, 0), "flip": lambda m, x, d: x.flip(d),
    "roll": lambda m, x, d: x.roll(1, d), "narrow": lambda m, x, d: x.narrow(d, 0, 1),
    "select": lambda m, x, d: x.select(d, 0), "split": lambda m, x, d: x.split(1, d),
    "chunk": lambda m, x, d: x.chunk(2, d), "unbind": lambda m, x, d: x.unbind(d),
    "cat": lambda m, x, d: m.cat([x, x], d), "stack": lambda m, x, d: m.stack([x, x], d),
    "index_select": lambda m, x, d: x.index_select(d, m.tensor([0])),
    "gather": lambda m, x, d: x.gather(d, m.tensor([[0], [1]])),
    "size": lambda m, x, d: x.size(d), "softmax": lambda m, x, d: m.nn.functional.softmax(x, d),
}
for _op, _f in SHAPE_OPS.items():
    for _d in [1.0, 5, -4, "a", True, None]:
        add(f"{_op}(dim={_d!r})", (lambda f, d: lambda m: f(m, x23(m), d))(_f, _d), _op)

# ----------------------------------------------------------------------------- NaN / inf / 0
ELEM = {
    "log(0)": lambda m: m.log(m.zeros(2)), "log(-1)": lambda m: m.log(-m.ones(2)),
    "log2(0)": lambda m: m.log2(m.zeros(2)), "log10(0)": lambda m: m.log10(m.zeros(2)),
    "log1p(-1)": lambda m: m.log1p(-m.ones(2)), "sqrt(-1)": lambda m: m.sqrt(-m.ones(2)),
    "rsqrt(0)": lambda m: m.rsqrt(m.zeros(2)), "reciprocal(0)": lambda m: m.reciprocal(m.zeros(2)),
    "div(1, 0)": lambda m: m.ones(2) / m.zeros(2), "div(0, 0)": lambda m: m.zeros(2) / m.zeros(2),
    "pow(0, -1)": lambda m: m.zeros(2) ** -1.0, "pow(-1, 0.5)": lambda m: (-m.ones(2)) ** 0.5,
    "exp(1000)": lambda m: m.exp(m.full((2,), 1000.0)), "exp(nan)": lambda m: m.exp(m.full((2,), NAN)),
    "tanh(inf)": lambda m: m.tanh(m.tensor([INF, -INF])),
    "sigmoid(inf)": lambda m: m.sigmoid(m.tensor([INF, -INF, NAN])),
    "softmax(-inf row)": lambda m: m.softmax(m.full((2, 3), -INF), 1),
    "log_softmax(-inf row)": lambda m: m.log_softmax(m.full((2, 3), -INF), 1),
    "logsumexp(-inf row)": lambda m: m.logsumexp(m.full((2, 3), -INF), 1),
    "logsumexp(inf)": lambda m: m.logsumexp(m.tensor([INF, 1.0]), 0),
    "mean(empty)": lambda m: m.zeros(0).mean(), "std(1 element)": lambda m: m.ones(1).std(),
    "var(empty)": lambda m: m.zeros(0).var(), "norm(inf)": lambda m: m.tensor([INF, 1.0]).norm(),
    "atan(inf)": lambda m: m.atan(m.tensor([INF])), "erf(nan)": lambda m: m.erf(m.tensor([NAN])),
    "clamp(nan)": lambda m: m.tensor([NAN, 2.0]).clamp(0, 1), "abs(-inf)": lambda m: m.tensor([-INF]).abs(),
    "sign(nan)": lambda m: m.tensor([NAN]).sign(), "floor(inf)": lambda m: m.tensor([INF]).floor(),
    "max(nan)": lambda m: m.tensor([NAN, 1.0]).max(), "argmax(nan)": lambda m: m.tensor([1.0, NAN]).argmax(),
    "maximum(nan)": lambda m: m.maximum(m.tensor([NAN, 1.0]), m.tensor([0.0, NAN])),
    "relu(nan)": lambda m: m.relu(m.tensor([NAN, -INF])),
    "int div 0": lambda m: m.tensor([1, 2]) // m.tensor([0, 1]),
    "int remainder 0": lambda m: m.tensor([1, 2]) % m.tensor([0, 1]),
    "float remainder 0": lambda m: m.tensor([1.0, 2]) % m.tensor([0.0, 1]),
    "cumprod(inf*0)": lambda m: m.tensor([INF, 0.0]).cumprod(0),
    "prod(inf*0)": lambda m: m.tensor([INF, 0.0]).prod(),
    "mse(inf)": lambda m: m.nn.functional.mse_loss(m.tensor([INF]), m.tensor([INF])),
    "ce(-inf logits)": lambda m: m.nn.functional.cross_entropy(m.full((2, 3), -INF), m.tensor([0, 1])),
    "ce(inf logit)": lambda m: m.nn.functional.cross_entropy(m.tensor([[INF, 0.0]]), m.tensor([1])),
    "bce_logits(inf)": lambda m: m.nn.functional.binary_cross_entropy_with_logits(
        m.tensor([INF, -INF]), m.tensor([0.0, 1.0])),
    "bce(0 and 1)": lambda m: m.nn.functional.binary_cross_entropy(m.tensor([0.0, 1.0]),
                                                                  m.tensor([1.0, 0.0])),
    "bce(nan)": lambda m: m.nn.functional.binary_cross_entropy(m.tensor([NAN]), m.tensor([1.0])),
    "kl_div(0 target)": lambda m: m.nn.functional.kl_div(m.tensor([-1.0, -1.0]), m.tensor([0.0, 1.0]),
                                                        reduction="sum"),
    "nll(-inf)": lambda m: m.nn.functional.nll_loss(m.full((1, 2), -INF), m.tensor([0])),
    "layer_norm(const)": lambda m: m.nn.functional.layer_norm(m.ones(2, 3), (3,)),
    "normalize(0)": lambda m: m.nn.functional.normalize(m.zeros(2, 3), dim=1),
    "cosine(0)": lambda m: m.nn.functional.cosine_similarity(m.zeros(2, 3), m.ones(2, 3)),
}
for _n, _f in ELEM.items():
    add(_n, _f, _n.split("(")[0])

ACTS = ["relu", "relu6", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign",
        "hardtanh", "hardswish", "hardsigmoid", "leaky_relu", "logsigmoid", "tanhshrink",
        "softshrink", "hardshrink", "sigmoid", "tanh"]
for _a in ACTS:
    add(f"F.{_a}(nan, ±inf)", (lambda a: lambda m: getattr(m.nn.functional, a)(
        m.tensor([NAN, INF, -INF, 0.0])))(_a), _a)
    add(f"F.{_a}(int)", (lambda a: lambda m: getattr(m.nn.functional, a)(
        m.tensor([1, -2])))(_a), _a)

# gradients at the edges
GRADS = {
    "grad log(0)": lambda m: m.log, "grad sqrt(0)": lambda m: m.sqrt,
    "grad abs(0)": lambda m: m.abs, "grad std(const)": lambda m: (lambda t: t.std()),
    "grad norm(0)": lambda m: (lambda t: t.norm()), "grad pow(0, 0.5)": lambda m: (lambda t: t ** 0.5),
    "grad relu(nan)": lambda m: m.relu, "grad sigmoid(-inf)": lambda m: m.sigmoid,
    "grad logsumexp(-inf)": lambda m: (lambda t: t.logsumexp(0)),
    "grad softmax(-inf)": lambda m: (lambda t: t.softmax(0)[0]),
    "grad clamp(edge)": lambda m: (lambda t: t.clamp(0.0, 1.0)),
    "grad max(ties)": lambda m: (lambda t: t.max()),
}
GRAD_INPUTS = {"grad relu(nan)": [NAN, 1.0], "grad sigmoid(-inf)": [-INF, 0.0],
               "grad logsumexp(-inf)": [-INF, -INF], "grad softmax(-inf)": [-INF, 0.0],
               "grad clamp(edge)": [0.0, 1.0], "grad max(ties)": [1.0, 1.0],
               "grad std(const)": [2.0, 2.0]}


def _grad_case(name, make):
    def fn(m):
        x = m.tensor(GRAD_INPUTS.get(name, [0.0, 1.0]), requires_grad=True)
        make(m)(x).sum().backward()
        return x.grad
    return fn


for _n, _mk in GRADS.items():
    add(_n, _grad_case(_n, _mk), _n.split()[1].split("(")[0])

# ----------------------------------------------------------------------------- creation
CREATE = {
    "zeros(-1)": lambda m: m.zeros(-1), "ones(2.5)": lambda m: m.ones(2.5),
    "ones('a')": lambda m: m.ones("a"), "arange(0, 10, 0)": lambda m: m.arange(0, 10, 0),
    "arange(5, 0)": lambda m: m.arange(5, 0), "arange(nan)": lambda m: m.arange(NAN),
    "full((2,), 'a')": lambda m: m.full((2,), "a"), "eye(-1)": lambda m: m.eye(-1),
    "randn(-2)": lambda m: m.randn(-2), "tensor(ragged)": lambda m: m.tensor([[1, 2], [3]]),
    "empty((2, -1))": lambda m: m.empty((2, -1)), "linspace(0, 1, -1)": lambda m: m.linspace(0, 1, -1),
    "tensor('a')": lambda m: m.tensor("a"), "tensor(None)": lambda m: m.tensor(None),
    "zeros(dtype='float32')": lambda m: m.zeros(2, dtype="float32"),
    "randint(5, 2)": lambda m: m.randint(5, 2, (3,)), "rand(2, 0)": lambda m: m.rand(2, 0),
    "full_like(x, 'a')": lambda m: m.full_like(m.zeros(2), "a"),
    "tensor(2**70)": lambda m: m.tensor([2 ** 70]),
}
for _n, _f in CREATE.items():
    add(_n, _f, _n.split("(")[0])

# ----------------------------------------------------------------------------- tensor methods
METHODS = {
    "reshape(-1, -1)": lambda m: x23(m).reshape(-1, -1), "reshape(7)": lambda m: x23(m).reshape(7),
    "reshape(2.0, 3)": lambda m: x23(m).reshape(2.0, 3), "view(5)": lambda m: x23(m).view(5),
    "reshape(-2, 3)": lambda m: x23(m).reshape(-2, 3),
    "expand(3, 2)": lambda m: x23(m).expand(3, 2), "expand(2)": lambda m: x23(m).expand(2),
    "repeat(-1, 1)": lambda m: x23(m).repeat(-1, 1), "repeat(1)": lambda m: x23(m).repeat(1),
    "getitem[5]": lambda m: x23(m)[5], "getitem[:, 7]": lambda m: x23(m)[:, 7],
    "getitem[1.0]": lambda m: x23(m)[1.0], "getitem[0, 0, 0]": lambda m: x23(m)[0, 0, 0],
    "getitem[bool mask wrong shape]": lambda m: x23(m)[m.tensor([True, False, True])],
    "getitem[float tensor]": lambda m: x23(m)[m.tensor([0.0])],
    "getitem[long out of range]": lambda m: x23(m)[m.tensor([5])],
    "setitem shape": lambda m: x23(m).__setitem__(0, m.ones(4)),
    "permute(0, 0)": lambda m: x23(m).permute(0, 0), "permute(0)": lambda m: x23(m).permute(0),
    "permute(0, 2)": lambda m: x23(m).permute(0, 2), "t() of 3-d": lambda m: m.zeros(2, 2, 2).t(),
    "matmul (2,3)@(2,3)": lambda m: x23(m) @ x23(m), "mm 3-d": lambda m: m.mm(m.zeros(2, 2, 2), m.zeros(2, 2)),
    "bmm 2-d": lambda m: m.bmm(x23(m), x23(m).t()), "dot 2-d": lambda m: m.dot(x23(m), x23(m)),
    "matmul 0-d": lambda m: m.tensor(2.0) @ m.tensor(3.0), "mv wrong": lambda m: m.mv(x23(m), m.ones(2)),
    "item() of 6": lambda m: x23(m).item(), "add shape": lambda m: x23(m) + m.ones(4),
    "add int+float dtype": lambda m: m.tensor([1, 2]) + 0.5, "add alpha to int": lambda m: m.tensor([1]).add(m.tensor([1]), alpha=0.5),
    "mul str": lambda m: x23(m) * "a", "add None": lambda m: x23(m) + None,
    "to('abc')": lambda m: x23(m).to("abc"), "to(int64)": lambda m: m.tensor([1.7, -1.7]).to(m.int64),
    "clamp(min>max)": lambda m: x23(m).clamp(2, 1), "clamp()": lambda m: x23(m).clamp(),
    "where shapes": lambda m: m.where(m.tensor([True, False]), x23(m), x23(m)),
    "where int cond": lambda m: m.where(m.tensor([1, 0, 1]), x23(m), x23(m)),
    "masked_fill float mask": lambda m: x23(m).masked_fill(m.zeros(2, 3), 0.0),
    "masked_fill bad shape": lambda m: x23(m).masked_fill(m.zeros(4, dtype=m.bool), 0.0),
    "gather out of range": lambda m: x23(m).gather(1, m.tensor([[5], [0]])),
    "gather float index": lambda m: x23(m).gather(1, m.tensor([[0.0], [1.0]])),
    "scatter bad": lambda m: m.zeros(2, 3).scatter(1, m.tensor([[0, 1, 2, 0]]), 1.0),
    "index_select 2-d index": lambda m: x23(m).index_select(0, m.tensor([[0]])),
    "index_select float": lambda m: x23(m).index_select(0, m.tensor([0.0])),
    "split(0)": lambda m: x23(m).split(0), "chunk(0)": lambda m: x23(m).chunk(0),
    "split([1, 1])": lambda m: x23(m).split([1, 1], 1),
    "cat([])": lambda m: m.cat([]), "stack([])": lambda m: m.stack([]),
    "cat shapes": lambda m: m.cat([x23(m), m.zeros(2, 2)]), "stack shapes": lambda m: m.stack([x23(m), m.zeros(2, 2)]),
    "cat dtypes": lambda m: m.cat([x23(m), m.zeros(2, 3, dtype=m.int64)]),
    "squeeze(dim tuple)": lambda m: x23(m).squeeze((0, 1)),
    "unflatten bad": lambda m: x23(m).unflatten(1, (2, 2)),
    "flatten(1, 0)": lambda m: x23(m).flatten(1, 0), "view_as bad": lambda m: x23(m).view_as(m.zeros(4)),
    "backward non-scalar": lambda m: (x23(m).requires_grad_() * 2).backward(),
    "backward no grad": lambda m: x23(m).sum().backward(),
    "requires_grad int": lambda m: m.tensor([1, 2]).requires_grad_(),
    "float() of 6": lambda m: float(x23(m)), "bool() of 6": lambda m: bool(x23(m)),
    "len 0-d": lambda m: len(m.tensor(1.0)), "iter 0-d": lambda m: list(m.tensor(1.0)),
    "topk(k > n)": lambda m: x23(m).topk(5), "sort(dim=5)": lambda m: x23(m).sort(dim=5),
    "diff n": lambda m: m.diff(x23(m), n=-1), "tril 1-d": lambda m: m.tril(m.ones(3)),
    "outer 2-d": lambda m: m.outer(x23(m), x23(m)),
    "lerp(bad)": lambda m: x23(m).lerp(m.ones(4), 0.5),
    "pow int negative": lambda m: m.tensor([2]) ** -1,
    "bitwise float": lambda m: x23(m) & x23(m), "neg bool": lambda m: -m.tensor([True]),
    "sub bool": lambda m: m.tensor([True]) - m.tensor([False]),
    "and int": lambda m: m.tensor([6, 5]) & m.tensor([3, 4]),
    "or int": lambda m: m.tensor([6, 5]) | 3, "xor int": lambda m: 3 ^ m.tensor([6, 5]),
    "invert float": lambda m: ~x23(m), "invert int": lambda m: ~m.tensor([6, 0]),
    "narrow past end": lambda m: m.arange(5).narrow(0, 3, 4),
    "take_along_dim": lambda m: m.take_along_dim(x23(m), m.tensor([[0], [2]]), dim=1),
    "take_along_dim flat": lambda m: m.take_along_dim(x23(m), m.tensor([5, 0])),
    "div rounding bad": lambda m: m.div(x23(m), 2, rounding_mode="round"),
    "div trunc int": lambda m: m.div(m.tensor([7, -7]), 2, rounding_mode="trunc"),
    "one_hot(-1)": lambda m: m.nn.functional.one_hot(m.tensor([-1, 0])),
    "one_hot(num_classes small)": lambda m: m.nn.functional.one_hot(m.tensor([3]), 2),
    "one_hot(float)": lambda m: m.nn.functional.one_hot(m.tensor([1.0])),
}
for _n, _f in METHODS.items():
    add(_n, _f, _n.split("(")[0].split(" ")[0].split("[")[0])

# ----------------------------------------------------------------------------- functional
F_CASES = {
    "mse_loss shapes": lambda F, m: F.mse_loss(m.zeros(2, 3), m.zeros(3, 2)),
    "mse_loss reduction": lambda F, m: F.mse_loss(m.zeros(2), m.zeros(2), reduction="avg"),
    "l1_loss int": lambda F, m: F.l1_loss(m.tensor([1]), m.tensor([2])),
    "cross_entropy target range": lambda F, m: F.cross_entropy(m.zeros(2, 3), m.tensor([0, 3])),
    "cross_entropy target -2": lambda F, m: F.cross_entropy(m.zeros(2, 3), m.tensor([0, -2])),
    "cross_entropy float target shape": lambda F, m: F.cross_entropy(m.zeros(2, 3), m.zeros(2)),
    "cross_entropy 1-d input": lambda F, m: F.cross_entropy(m.zeros(3), m.tensor(1)),
    "cross_entropy batch mismatch": lambda F, m: F.cross_entropy(m.zeros(2, 3), m.tensor([0, 1, 2])),
    "cross_entropy label_smoothing 2": lambda F, m: F.cross_entropy(m.zeros(2, 3), m.tensor([0, 1]), label_smoothing=2.0),
    "cross_entropy empty": lambda F, m: F.cross_entropy(m.zeros(0, 3), m.zeros(0, dtype=m.int64)),
    "nll_loss target range": lambda F, m: F.nll_loss(m.zeros(2, 3), m.tensor([0, 7])),
    "nll_loss weight shape": lambda F, m: F.nll_loss(m.zeros(2, 3), m.tensor([0, 1]), weight=m.ones(2)),
    "bce target range": lambda F, m: F.binary_cross_entropy(m.full((2,), 0.5), m.tensor([2.0, 0.0])),
    "bce input 1.5": lambda F, m: F.binary_cross_entropy(m.full((2,), 1.5), m.tensor([1.0, 0.0])),
    "bce shapes": lambda F, m: F.binary_cross_entropy(m.full((2,), 0.5), m.ones(3)),
    "bce_logits shapes": lambda F, m: F.binary_cross_entropy_with_logits(m.zeros(2), m.ones(3)),
    "kl_div reduction": lambda F, m: F.kl_div(m.zeros(2), m.zeros(2), reduction="bad"),
    "huber delta 0": lambda F, m: F.huber_loss(m.zeros(2), m.ones(2), delta=0.0),
    "smooth_l1 beta -1": lambda F, m: F.smooth_l1_loss(m.zeros(2), m.ones(2), beta=-1.0),
    "linear shapes": lambda F, m: F.linear(m.zeros(2, 3), m.zeros(4, 2)),
    "linear bias shape": lambda F, m: F.linear(m.zeros(2, 3), m.zeros(4, 3), m.zeros(3)),
    "linear 0-d": lambda F, m: F.linear(m.tensor(1.0), m.zeros(4, 3)),
    "linear int input": lambda F, m: F.linear(m.zeros(2, 3, dtype=m.int64), m.zeros(4, 3)),
    "conv2d channels": lambda F, m: F.conv2d(m.zeros(1, 2, 5, 5), m.zeros(4, 3, 3, 3)),
    "conv2d kernel > input": lambda F, m: F.conv2d(m.zeros(1, 3, 2, 2), m.zeros(4, 3, 3, 3)),
    "conv2d stride 0": lambda F, m: F.conv2d(m.zeros(1, 3, 5, 5), m.zeros(4, 3, 3, 3), stride=0),
    "conv2d padding -1": lambda F, m: F.conv2d(m.zeros(1, 3, 5, 5), m.zeros(4, 3, 3, 3), padding=-1),
    "conv2d 2-d input": lambda F, m: F.conv2d(m.zeros(5, 5), m.zeros(4, 3, 3, 3)),
    "conv2d groups": lambda F, m: F.conv2d(m.zeros(1, 3, 5, 5), m.zeros(4, 3, 3, 3), groups=2),
    "conv2d padding 'same' stride 2": lambda F, m: F.conv2d(m.zeros(1, 3, 5, 5), m.zeros(4, 3, 3, 3), stride=2, padding="same"),
    "conv2d padding 'bad'": lambda F, m: F.conv2d(m.zeros(1, 3, 5, 5), m.zeros(4, 3, 3, 3), padding="bad"),
    "conv1d int": lambda F, m: F.conv1d(m.zeros(1, 3, 5, dtype=m.int64), m.zeros(4, 3, 3, dtype=m.int64)),
    "max_pool2d kernel 0": lambda F, m: F.max_pool2d(m.zeros(1, 1, 4, 4), 0),
    "max_pool2d kernel > input": lambda F, m: F.max_pool2d(m.zeros(1, 1, 2, 2), 3),
    "max_pool2d pad > half": lambda F, m: F.max_pool2d(m.zeros(1, 1, 4, 4), 2, padding=2),
    "avg_pool2d stride 0": lambda F, m: F.avg_pool2d(m.zeros(1, 1, 4, 4), 2, stride=0),
    "avg_pool2d int64": lambda F, m: F.avg_pool2d(m.ones(1, 1, 4, 4, dtype=m.int64), 2),
    "avg_pool2d int32": lambda F, m: F.avg_pool2d(m.ones(1, 1, 4, 4, dtype=m.int32), 2),
    "adaptive_avg_pool2d int": lambda F, m: F.adaptive_avg_pool2d(m.ones(1, 1, 4, 4, dtype=m.int64), 2),
    "adaptive_avg_pool2d 0": lambda F, m: F.adaptive_avg_pool2d(m.ones(1, 1, 4, 4), 0),
    "adaptive_max_pool2d -1": lambda F, m: F.adaptive_max_pool2d(m.ones(1, 1, 4, 4), -1),
    "max_pool1d 2-d input": lambda F, m: F.max_pool1d(m.zeros(3, 4), 2),
    "dropout p 1.5": lambda F, m: F.dropout(m.zeros(3), 1.5),
    "dropout p -0.1": lambda F, m: F.dropout(m.zeros(3), -0.1),
    "dropout int": lambda F, m: F.dropout(m.ones(3, dtype=m.int64), 0.5),
    "softmax no dim": lambda F, m: F.softmax(m.zeros(2, 3)),
    "softmax int": lambda F, m: F.softmax(m.tensor([1, 2]), 0),
    "log_softmax dtype": lambda F, m: F.log_softmax(m.tensor([1.0, 2.0]), 0, dtype=m.float64),
    "embedding index range": lambda F, m: F.embedding(m.tensor([7]), m.zeros(5, 2)),
    "embedding float index": lambda F, m: F.embedding(m.tensor([1.0]), m.zeros(5, 2)),
    "embedding negative": lambda F, m: F.embedding(m.tensor([-1]), m.zeros(5, 2)),
    "layer_norm shape": lambda F, m: F.layer_norm(m.zeros(2, 3), (4,)),
    "layer_norm int shape": lambda F, m: F.layer_norm(m.zeros(2, 3), 3),
    "group_norm groups": lambda F, m: F.group_norm(m.zeros(2, 6, 4), 4),
    "batch_norm 1 value": lambda F, m: F.batch_norm(m.zeros(1, 3), None, None, training=True),
    "batch_norm eps 0": lambda F, m: F.batch_norm(m.ones(4, 3), None, None, training=True, eps=0.0),
    "batch_norm running shape": lambda F, m: F.batch_norm(m.ones(4, 3), m.zeros(2), m.ones(2)),
    "pad negative": lambda F, m: F.pad(m.zeros(2, 3), (-2, -2)),
    "pad odd": lambda F, m: F.pad(m.zeros(2, 3), (1,)),
    "pad mode bad": lambda F, m: F.pad(m.zeros(1, 2, 3), (1, 1), mode="bad"),
    "pad reflect too big": lambda F, m: F.pad(m.zeros(1, 2, 3), (4, 4), mode="reflect"),
    "interpolate no size": lambda F, m: F.interpolate(m.zeros(1, 1, 4)),
    "interpolate mode": lambda F, m: F.interpolate(m.zeros(1, 1, 4), size=8, mode="cubic"),
    "interpolate 1-d": lambda F, m: F.interpolate(m.zeros(4), size=8),
    "glu odd": lambda F, m: F.glu(m.zeros(2, 3), 1),
    "leaky_relu slope str": lambda F, m: F.leaky_relu(m.zeros(2), "a"),
    "elu alpha": lambda F, m: F.elu(m.zeros(2), alpha=-1.0),
    "hardtanh min>max": lambda F, m: F.hardtanh(m.zeros(2), 1.0, -1.0),
    "softplus beta 0": lambda F, m: F.softplus(m.ones(2), beta=0),
    "threshold": lambda F, m: F.threshold(m.tensor([NAN, 0.5]), 0.1, 20.0),
    "softshrink lambd -1": lambda F, m: F.softshrink(m.zeros(2), -1.0),
    "one_hot bad": lambda F, m: F.one_hot(m.tensor([[0.5]])),
    "scaled_dot_product shapes": lambda F, m: F.scaled_dot_product_attention(
        m.zeros(1, 2, 4), m.zeros(1, 3, 5), m.zeros(1, 3, 4)),
    "unfold kernel > input": lambda F, m: F.unfold(m.zeros(1, 1, 2, 2), 3),
}
for _n, _f in F_CASES.items():
    add("F." + _n, (lambda f: lambda m: f(m.nn.functional, m))(_f), _n.split()[0])

# ----------------------------------------------------------------------------- nn layers
NN = {
    "Linear(-1, 2)": lambda nn, m: nn.Linear(-1, 2), "Linear(2.5, 2)": lambda nn, m: nn.Linear(2.5, 2),
    "Linear(0, 2)": lambda nn, m: nn.Linear(0, 2)(m.zeros(3, 0)),
    "Linear forward shape": lambda nn, m: nn.Linear(3, 2)(m.zeros(4, 4)),
    "Linear forward int": lambda nn, m: nn.Linear(3, 2)(m.zeros(4, 3, dtype=m.int64)),
    "Linear forward float64": lambda nn, m: nn.Linear(3, 2)(m.zeros(4, 3, dtype=m.float64)),
    "Conv2d(3, 0, 3)": lambda nn, m: nn.Conv2d(3, 0, 3), "Conv2d(3, 4, 0)": lambda nn, m: nn.Conv2d(3, 4, 0),
    "Conv2d stride 0": lambda nn, m: nn.Conv2d(3, 4, 3, stride=0),
    "Conv2d groups 2 of 3": lambda nn, m: nn.Conv2d(3, 4, 3, groups=2),
    "Conv2d padding_mode bad": lambda nn, m: nn.Conv2d(3, 4, 3, padding_mode="bad"),
    "Conv2d padding same stride 2": lambda nn, m: nn.Conv2d(3, 4, 3, padding="same", stride=2),
    "Conv2d forward channels": lambda nn, m: nn.Conv2d(3, 4, 3)(m.zeros(1, 2, 5, 5)),
    "Conv2d forward small": lambda nn, m: nn.Conv2d(3, 4, 3)(m.zeros(1, 3, 2, 2)),
    "Conv2d forward 2-d": lambda nn, m: nn.Conv2d(3, 4, 3)(m.zeros(5, 5)),
    "BatchNorm1d(0)": lambda nn, m: nn.BatchNorm1d(0), "BatchNorm1d(-1)": lambda nn, m: nn.BatchNorm1d(-1),
    "BatchNorm1d eps -1": lambda nn, m: nn.BatchNorm1d(3, eps=-1)(m.randn(4, 3)),
    "BatchNorm1d forward features": lambda nn, m: nn.BatchNorm1d(3)(m.zeros(4, 2)),
    "BatchNorm2d forward 3-d": lambda nn, m: nn.BatchNorm2d(3)(m.zeros(3, 4, 4)),
    "BatchNorm1d forward 1 sample": lambda nn, m: nn.BatchNorm1d(3)(m.zeros(1, 3)),
    "LayerNorm forward shape": lambda nn, m: nn.LayerNorm(4)(m.zeros(2, 3)),
    "GroupNorm(4, 6)": lambda nn, m: nn.GroupNorm(4, 6),
    "Dropout(1.5)": lambda nn, m: nn.Dropout(1.5), "Dropout(-0.1)": lambda nn, m: nn.Dropout(-0.1),
    "Embedding(-1, 3)": lambda nn, m: nn.Embedding(-1, 3),
    "Embedding forward range": lambda nn, m: nn.Embedding(5, 2)(m.tensor([7])),
    "Embedding forward float": lambda nn, m: nn.Embedding(5, 2)(m.tensor([1.0])),
    "Embedding padding_idx range": lambda nn, m: nn.Embedding(5, 2, padding_idx=9),
    "LSTM(0, 3)": lambda nn, m: nn.LSTM(0, 3), "LSTM(3, 0)": lambda nn, m: nn.LSTM(3, 0),
    "LSTM forward input size": lambda nn, m: nn.LSTM(3, 4)(m.zeros(5, 2, 2)),
    "LSTM forward 4-d": lambda nn, m: nn.LSTM(3, 4)(m.zeros(5, 2, 2, 3)),
    "LSTM dropout 2": lambda nn, m: nn.LSTM(3, 4, dropout=2.0),
    "RNN nonlinearity": lambda nn, m: nn.RNN(3, 4, nonlinearity="sigmoid"),
    "GRU num_layers 0": lambda nn, m: nn.GRU(3, 4, num_layers=0),
    "GRU forward h0 shape": lambda nn, m: nn.GRU(3, 4)(m.zeros(5, 2, 3), m.zeros(1, 3, 4)),
    "MaxPool2d(0)": lambda nn, m: nn.MaxPool2d(0)(m.zeros(1, 1, 4, 4)),
    "AvgPool2d stride 0": lambda nn, m: nn.AvgPool2d(2, stride=0)(m.zeros(1, 1, 4, 4)),
    "Softmax(dim=5) forward": lambda nn, m: nn.Softmax(dim=5)(m.zeros(2, 3)),
    "Flatten(5) forward": lambda nn, m: nn.Flatten(5)(m.zeros(2, 3)),
    "Unflatten bad": lambda nn, m: nn.Unflatten(1, (2, 2))(m.zeros(2, 3)),
    "MultiheadAttention heads": lambda nn, m: nn.MultiheadAttention(6, 4),
    "TransformerEncoderLayer heads": lambda nn, m: nn.TransformerEncoderLayer(6, 4),
    "Sequential index": lambda nn, m: nn.Sequential(nn.ReLU())[3],
    "ModuleList index": lambda nn, m: nn.ModuleList([nn.ReLU()])[2],
    "Sequential non-module": lambda nn, m: nn.Sequential(3),
    "register_buffer over weight": lambda nn, m: nn.Linear(2, 2).register_buffer("weight", m.zeros(2)),
    "register_parameter tensor": lambda nn, m: nn.Linear(2, 2).register_parameter("p", m.zeros(2)),
    "add_module over weight": lambda nn, m: nn.Linear(2, 2).add_module("weight", nn.ReLU()),
    "load_state_dict missing": lambda nn, m: nn.Linear(2, 2).load_state_dict({"weight": m.zeros(2, 2)}),
    "load_state_dict shape": lambda nn, m: nn.Linear(2, 2).load_state_dict(
        {"weight": m.zeros(3, 2), "bias": m.zeros(2)}),
    "setattr param tensor": lambda nn, m: setattr(nn.Linear(2, 2), "weight", m.zeros(2, 2)),
    "CrossEntropyLoss reduction": lambda nn, m: nn.CrossEntropyLoss(reduction="bad"),
    "MSELoss forward shapes": lambda nn, m: nn.MSELoss()(m.zeros(2), m.zeros(3)),
    "Identity args": lambda nn, m: nn.Identity(3, k=1)(m.zeros(2)),
    "ReLU6 forward int": lambda nn, m: nn.ReLU6()(m.tensor([7, -1])),
    "PReLU forward channels": lambda nn, m: nn.PReLU(3)(m.zeros(2, 4)),
    "Bilinear forward shape": lambda nn, m: nn.Bilinear(2, 3, 4)(m.zeros(5, 2), m.zeros(5, 2)),
}
for _n, _f in NN.items():
    add("nn." + _n, (lambda f: lambda m: f(m.nn, m))(_f), _n.split("(")[0].split()[0])

# ----------------------------------------------------------------------------- optim
OPT = {
    "SGD lr -1": lambda m, p: m.optim.SGD(p, lr=-1.0), "SGD momentum -1": lambda m, p: m.optim.SGD(p, lr=0.1, momentum=-1.0),
    "SGD nesterov no momentum": lambda m, p: m.optim.SGD(p, lr=0.1, nesterov=True),
    "Adam betas": lambda m, p: m.optim.Adam(p, betas=(1.5, 0.9)), "Adam eps": lambda m, p: m.optim.Adam(p, eps=-1.0),
    "Adam lr str": lambda m, p: m.optim.Adam(p, lr="a"), "SGD empty": lambda m, p: m.optim.SGD([], lr=0.1),
    "SGD tensor params": lambda m, p: m.optim.SGD(p[0], lr=0.1),
    "Adam weight_decay -1": lambda m, p: m.optim.Adam(p, weight_decay=-1.0),
    "RMSprop alpha -1": lambda m, p: m.optim.RMSprop(p, alpha=-1.0),
    "StepLR step 0": lambda m, p: m.optim.lr_scheduler.StepLR(m.optim.SGD(p, lr=0.1), 0),
    "clip_grad_norm norm_type": lambda m, p: m.nn.utils.clip_grad_norm_(p, 1.0, norm_type="bad"),
}
for _n, _f in OPT.items():
    add("optim." + _n, (lambda f: lambda m: f(m, [m.nn.Parameter(m.zeros(2))]))(_f),
        _n.split()[0])


# ----------------------------------------------------------------------------- dtypes and shapes
def _inputs(m):
    return {"empty": m.zeros(0), "0-d": m.tensor(2.5), "int64": m.tensor([1, -2, 3]),
            "bool": m.tensor([True, False, True]), "float16": m.tensor([0.5, -1.5, 2.0], dtype=m.float16),
            "float64": m.tensor([0.5, -1.5, 2.0], dtype=m.float64),
            "uint8": m.tensor([1, 2, 250], dtype=m.uint8), "int32": m.tensor([4, -5, 6], dtype=m.int32),
            "empty (2, 0)": m.zeros(2, 0)}


UNARY = {
    "abs": lambda t: t.abs(), "neg": lambda t: -t, "exp": lambda t: t.exp(),
    "log1p": lambda t: t.abs().log1p(), "expm1": lambda t: t.expm1(), "sqrt": lambda t: t.abs().sqrt(),
    "sin": lambda t: t.sin(), "cos": lambda t: t.cos(), "tanh": lambda t: t.tanh(),
    "sigmoid": lambda t: t.sigmoid(), "relu": lambda t: t.relu(), "sign": lambda t: t.sign(),
    "floor": lambda t: t.floor(), "ceil": lambda t: t.ceil(), "round": lambda t: t.round(),
    "trunc": lambda t: t.trunc(), "square": lambda t: t.square(), "erf": lambda t: t.erf(),
    "atan": lambda t: t.atan(), "isnan": lambda t: t.isnan(), "isfinite": lambda t: t.isfinite(),
    "logical_not": lambda t: t.logical_not(), "sum": lambda t: t.sum(), "mean": lambda t: t.mean(),
    "prod": lambda t: t.prod(), "max": lambda t: t.max(), "amax": lambda t: t.amax(),
    "argmax": lambda t: t.argmax(), "std": lambda t: t.std(), "var": lambda t: t.var(),
    "norm": lambda t: t.norm(), "cumsum": lambda t: t.cumsum(0), "logsumexp": lambda t: t.logsumexp(0),
    "softmax": lambda t: t.softmax(0), "flatten": lambda t: t.flatten(), "clone": lambda t: t.clone(),
    "clamp": lambda t: t.clamp(0, 2), "reshape(-1)": lambda t: t.reshape(-1),
    "unsqueeze(0)": lambda t: t.unsqueeze(0), "flip": lambda t: t.flip(0),
    "all": lambda t: t.all(), "any": lambda t: t.any(), "count_nonzero": lambda t: t.count_nonzero(),
    "sum(dtype=f64)": lambda t: t.sum(dtype=t.new_zeros(0).double().dtype),
    "mul 0.5": lambda t: t * 0.5, "add 1": lambda t: t + 1, "div 2": lambda t: t / 2,
    "floordiv 2": lambda t: t // 2, "mod 2": lambda t: t % 2, "pow 2": lambda t: t ** 2,
    "rsub 1": lambda t: 1 - t, "eq 1": lambda t: t == 1, "lt 0": lambda t: t < 0,
    "to float": lambda t: t.float(), "to long": lambda t: t.long(), "to bool": lambda t: t.bool(),
    "item": lambda t: t.reshape(-1)[0].item(), "tolist": lambda t: t.tolist(),
}
for _iname in ["empty", "0-d", "int64", "bool", "float16", "float64", "uint8", "int32",
               "empty (2, 0)"]:
    for _un, _uf in UNARY.items():
        add(f"{_un} of {_iname}", (lambda iname, f: lambda m: f(_inputs(m)[iname]))(_iname, _uf),
            _un.split()[0].split("(")[0])

BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "floordiv": lambda a, b: a // b,
          "remainder": lambda a, b: a % b, "maximum": lambda a, b: a.maximum(b),
          "lt": lambda a, b: a < b, "eq": lambda a, b: a == b}


def _pairs(m):
    return {"int64, float scalar": (m.tensor([3, -4]), 1.5), "int64, int scalar": (m.tensor([3, -4]), 2),
            "bool, bool": (m.tensor([True, False]), m.tensor([True, True])),
            "int32, int64": (m.tensor([3, -4], dtype=m.int32), m.tensor([2, 3])),
            "uint8, int8": (m.tensor([3, 200], dtype=m.uint8), m.tensor([2, -3], dtype=m.int8)),
            "float16, float32": (m.tensor([1.5, -2.0], dtype=m.float16), m.tensor([2.0, 3.0])),
            "float32, float64 0-d": (m.tensor([1.5, -2.0]), m.tensor(2.0, dtype=m.float64)),
            "int64, float32 0-d": (m.tensor([3, -4]), m.tensor(2.0)),
            "float32, bool": (m.tensor([1.5, -2.0]), m.tensor([True, False])),
            "(2,3), (3,)": (m.ones(2, 3), m.tensor([1.0, 2.0, 3.0])),
            "(2,3), (2,)": (m.ones(2, 3), m.tensor([1.0, 2.0])),
            "empty, (1,)": (m.zeros(0), m.ones(1)),
            "int64 by zero": (m.tensor([3, -4]), m.tensor([0, 0]))}


for _pn in ["int64, float scalar", "int64, int scalar", "bool, bool", "int32, int64",
            "uint8, int8", "float16, float32", "float32, float64 0-d", "int64, float32 0-d",
            "float32, bool", "(2,3), (3,)", "(2,3), (2,)", "empty, (1,)", "int64 by zero"]:
    for _bn, _bf in BINARY.items():
        add(f"{_bn}({_pn})", (lambda pn, f: lambda m: f(*_pairs(m)[pn]))(_pn, _bf), _bn)


# ----------------------------------------------------------------------------- more of the API
def x234(m):
    return m.arange(24.0).reshape(2, 3, 4)


MORE = {
    # indexing
    "getitem[-1]": lambda m: x234(m)[-1], "getitem[:, -4]": lambda m: x234(m)[:, -4],
    "getitem[::-1]": lambda m: x234(m)[::-1], "getitem[::0]": lambda m: x234(m)[::0],
    "getitem[..., 1]": lambda m: x234(m)[..., 1], "getitem[None, 0]": lambda m: x234(m)[None, 0],
    "getitem[[0, 1], [1, 2]]": lambda m: x234(m)[[0, 1], [1, 2]],
    "getitem[int32 idx]": lambda m: x234(m)[m.tensor([1, 0], dtype=m.int32)],
    "getitem[bool mask]": lambda m: x234(m)[x234(m) > 10],
    "getitem[5:9]": lambda m: x234(m)[5:9], "getitem[:, 1:1]": lambda m: x234(m)[:, 1:1],
    "getitem[0-d int tensor]": lambda m: x234(m)[m.tensor(1)],
    "setitem broadcast": lambda m: _set(x234(m), (slice(None), 0), m.tensor([1.0, 2.0, 3.0, 4.0])),
    "setitem int value on float": lambda m: _set(x234(m), 0, 7),
    "setitem float on int": lambda m: _set(m.arange(4), 0, 2.7),
    "setitem bool mask": lambda m: _set(x234(m), x234(m) > 20, 0.0),
    "index_select negative": lambda m: x234(m).index_select(2, m.tensor([-1])),
    "gather negative": lambda m: x234(m).gather(2, m.tensor([[[-1]]]).expand(2, 3, 1)),
    "scatter_add repeats": lambda m: m.zeros(5).scatter_add(0, m.tensor([0, 0, 4]), m.ones(3)),
    "masked_select": lambda m: x234(m).masked_select(x234(m) > 20),
    # reductions with arguments
    "sum(dtype=int64) of float": lambda m: x234(m).sum(dtype=m.int64),
    "mean of int": lambda m: m.arange(4).mean(), "mean(dtype=f32) of int": lambda m: m.arange(4).mean(dtype=m.float32),
    "sum keepdim": lambda m: x234(m).sum((0, 2), keepdim=True), "sum dim -1": lambda m: x234(m).sum(-1),
    "var correction 5": lambda m: x234(m).var(2, correction=5),
    "var unbiased False": lambda m: x234(m).var(1, unbiased=False),
    "std_mean": lambda m: m.std_mean(x234(m), 1), "var_mean": lambda m: m.var_mean(x234(m), (0, 2)),
    "max dim keepdim": lambda m: x234(m).max(1, keepdim=True), "min of int dim": lambda m: m.tensor([[3, 1], [0, 2]]).min(1),
    "argmax keepdim none": lambda m: x234(m).argmax(keepdim=True),
    "max ties": lambda m: m.tensor([1.0, 3.0, 3.0]).max(0), "argmin ties": lambda m: m.tensor([2, 1, 1]).argmin(),
    "prod of int": lambda m: m.tensor([2, 3, 4]).prod(), "prod dim of bool": lambda m: m.tensor([[True, False]]).prod(1),
    "cumsum of bool": lambda m: m.tensor([True, True, False]).cumsum(0),
    "cumsum dtype": lambda m: m.arange(4).cumsum(0, dtype=m.float32),
    "norm p=1 dim": lambda m: x234(m).norm(1, dim=1), "norm p=inf": lambda m: x234(m).norm(float("inf")),
    "norm p=0": lambda m: m.tensor([0.0, 2.0, 0.0]).norm(0), "norm p=3": lambda m: x234(m).norm(3),
    "norm p=-1": lambda m: m.tensor([1.0, 2.0]).norm(-1), "norm int": lambda m: m.tensor([3, 4]).norm(),
    "logsumexp of int": lambda m: m.tensor([1, 2]).logsumexp(0),
    "count_nonzero dims": lambda m: m.count_nonzero(x234(m), dim=(0, 2)),
    # matmul family
    "matmul 1-d @ 2-d": lambda m: m.ones(3) @ m.ones(3, 2), "matmul 2-d @ 1-d": lambda m: m.ones(2, 3) @ m.ones(3),
    "matmul 1-d @ 1-d": lambda m: m.ones(3) @ m.ones(3), "matmul batch bcast": lambda m: m.ones(2, 1, 3, 4) @ m.ones(5, 4, 2),
    "matmul int": lambda m: m.tensor([[1, 2]]) @ m.tensor([[3], [4]]),
    "matmul int @ float": lambda m: m.tensor([[1, 2]]) @ m.tensor([[3.0], [4.0]]),
    "matmul float16": lambda m: m.ones(2, 3, dtype=m.float16) @ m.ones(3, 2, dtype=m.float16),
    "matmul mismatch": lambda m: m.ones(2, 3) @ m.ones(4, 2), "matmul 3-d mismatch": lambda m: m.ones(2, 2, 3) @ m.ones(3, 3, 2),
    "bmm batch mismatch": lambda m: m.bmm(m.ones(2, 2, 3), m.ones(3, 3, 2)),
    "mm 1-d": lambda m: m.mm(m.ones(3), m.ones(3, 2)), "dot mismatch": lambda m: m.dot(m.ones(3), m.ones(4)),
    "dot int float": lambda m: m.dot(m.tensor([1, 2]), m.tensor([1.0, 2.0])),
    "mv": lambda m: m.mv(m.ones(2, 3), m.ones(3)),
    "linear 1-d": lambda m: m.nn.functional.linear(m.ones(3), m.ones(2, 3), m.ones(2)),
    # joining and splitting
    "cat negative dim": lambda m: m.cat([x234(m), x234(m)], -1),
    "cat int + float": lambda m: m.cat([m.tensor([1]), m.tensor([2.5])]),
    "cat with empty 1-d": lambda m: m.cat([m.ones(2, 3), m.zeros(0)]),
    "stack int + float": lambda m: m.stack([m.tensor([1]), m.tensor([2.5])]),
    "stack dim -1": lambda m: m.stack([m.ones(2), m.zeros(2)], -1),
    "split sizes mismatch": lambda m: x234(m).split([1, 1], 1), "split sizes": lambda m: x234(m).split([1, 2], 1),
    "split 5": lambda m: x234(m).split(5, 2), "chunk 3 of 4": lambda m: x234(m).chunk(3, 2),
    "tensor_split": lambda m: x234(m).tensor_split(3, 2), "unbind -1": lambda m: x234(m).unbind(-1),
    "hstack 1-d": lambda m: m.hstack([m.ones(2), m.zeros(3)]), "vstack 1-d": lambda m: m.vstack([m.ones(2), m.zeros(2)]),
    "expand -1": lambda m: m.ones(3, 1).expand(-1, 4), "expand new dim -1": lambda m: m.ones(3).expand(-1, 3),
    "broadcast_to bad": lambda m: m.ones(3).broadcast_to((2, 4)),
    "reshape 0-size": lambda m: m.zeros(0, 3).reshape(-1, 0), "view -1 of empty": lambda m: m.zeros(0).view(-1),
    "unflatten -1": lambda m: x234(m).unflatten(2, (2, -1)), "flatten 0-d": lambda m: m.tensor(1.0).flatten(),
    "squeeze non-1": lambda m: x234(m).squeeze(1), "unsqueeze -1": lambda m: x234(m).unsqueeze(-1),
    "transpose same": lambda m: x234(m).transpose(1, 1), "T of 3-d": lambda m: x234(m).mT,
    "permute negative": lambda m: x234(m).permute(-1, 0, 1), "movedim tuple": lambda m: x234(m).movedim((0, 1), (2, 0)),
    "roll no dim": lambda m: x234(m).roll(5), "roll tuple": lambda m: x234(m).roll((1, -1), (0, 2)),
    "flip multi": lambda m: x234(m).flip(0, 2), "tril k": lambda m: m.ones(3, 3).tril(-1), "triu 3-d": lambda m: m.ones(2, 3, 3).triu(1),
    "repeat_interleave tensor": lambda m: m.tensor([1, 2]).repeat_interleave(m.tensor([2, 3])),
    "repeat_interleave mismatch": lambda m: m.tensor([1, 2]).repeat_interleave(m.tensor([2, 3, 1])),
    "repeat more dims": lambda m: m.ones(2).repeat(2, 2, 1),
    # clamp / comparisons / promotion
    "clamp int by float": lambda m: m.tensor([1, 5, 9]).clamp(2.5, 7.5),
    "clamp tensor bounds": lambda m: m.tensor([1.0, 5.0]).clamp(m.tensor([2.0, 0.0]), m.tensor([3.0, 4.0])),
    "clamp min only": lambda m: m.tensor([1.0, -5.0]).clamp(min=0), "clamp max only int": lambda m: m.tensor([1, 5]).clamp(max=3),
    "eq broadcast": lambda m: m.ones(2, 3) == m.ones(3), "eq mismatch": lambda m: m.ones(2, 3) == m.ones(2),
    "lt int float": lambda m: m.tensor([1, 2]) < 1.5, "eq bool int": lambda m: m.tensor([True]) == 1,
    "where scalar other": lambda m: m.where(m.tensor([True, False]), m.tensor([1, 2]), 0.5),
    "where python scalars": lambda m: m.where(m.tensor([True, False]), 1.0, 0),
    "pow int tensor float exp": lambda m: m.tensor([2, 3]) ** 0.5, "pow scalar base int": lambda m: 2 ** m.tensor([1, 2]),
    "pow scalar base float tensor": lambda m: 2.5 ** m.tensor([1, 2]),
    "pow negative base frac": lambda m: m.tensor([-8.0]) ** (1 / 3),
    "div int by int": lambda m: m.tensor([7, -7]) / m.tensor([2, 2]),
    "remainder negative": lambda m: m.tensor([-7, 7]) % m.tensor([3, -3]),
    "remainder float negative": lambda m: m.tensor([-7.5, 7.5]) % 2,
    "floordiv negative float": lambda m: m.tensor([-7.5, 7.5]) // 2,
    "abs int8 min": lambda m: m.tensor([-128], dtype=m.int8).abs(),
    "neg uint8": lambda m: -m.tensor([1], dtype=m.uint8),
    "sum uint8 overflow": lambda m: m.tensor([200, 100], dtype=m.uint8).sum(),
    "add uint8 overflow": lambda m: m.tensor([200], dtype=m.uint8) + m.tensor([100], dtype=m.uint8),
    "mul int overflow": lambda m: m.tensor([2 ** 62]) * 4,
    "float to int cast nan": lambda m: m.tensor([1.9, -1.9]).long(),
    "round half even": lambda m: m.tensor([0.5, 1.5, 2.5, -0.5]).round(),
    "round decimals": lambda m: m.tensor([1.2345, -1.2355]).round(decimals=2),
    "sign of int": lambda m: m.tensor([-3, 0, 2]).sign(), "sign of bool": lambda m: m.tensor([True]).sign(),
    "isclose nan": lambda m: m.isclose(m.tensor([NAN]), m.tensor([NAN]), equal_nan=True),
    "allclose shapes": lambda m: m.allclose(m.ones(2), m.ones(3)),
    "equal shapes": lambda m: m.equal(m.ones(2), m.ones(3)),
    "maximum int float": lambda m: m.maximum(m.tensor([1, 5]), m.tensor([2.5, 0.5])),
    "minimum nan": lambda m: m.minimum(m.tensor([NAN, 1.0]), m.tensor([0.0, NAN])),
    # losses with arguments
    "ce reduction none": lambda m: m.nn.functional.cross_entropy(x234(m)[0], m.tensor([0, 3, 1]), reduction="none"),
    "ce ignore_index": lambda m: m.nn.functional.cross_entropy(x234(m)[0], m.tensor([0, -100, 1])),
    "ce all ignored": lambda m: m.nn.functional.cross_entropy(x234(m)[0], m.tensor([-100, -100, -100])),
    "ce weight": lambda m: m.nn.functional.cross_entropy(x234(m)[0], m.tensor([0, 3, 1]), weight=m.tensor([1.0, 2.0, 3.0, 4.0])),
    "ce label smoothing": lambda m: m.nn.functional.cross_entropy(x234(m)[0], m.tensor([0, 3, 1]), label_smoothing=0.2),
    "ce probs target": lambda m: m.nn.functional.cross_entropy(x234(m)[0], m.full((3, 4), 0.25)),
    "ce K-d": lambda m: m.nn.functional.cross_entropy(x234(m), m.tensor([[0, 1, 2, 0], [2, 2, 1, 0]])),
    "ce int32 target": lambda m: m.nn.functional.cross_entropy(x234(m)[0], m.tensor([0, 3, 1], dtype=m.int32)),
    "ce float logits int": lambda m: m.nn.functional.cross_entropy(m.tensor([[1, 2]]), m.tensor([0])),
    "nll reduction sum": lambda m: m.nn.functional.nll_loss(x234(m)[0], m.tensor([0, 3, 1]), reduction="sum"),
    "mse broadcast": lambda m: m.nn.functional.mse_loss(m.ones(2, 3), m.ones(3)),
    "mse int": lambda m: m.nn.functional.mse_loss(m.tensor([1]), m.tensor([2])),
    "mse double+float": lambda m: m.nn.functional.mse_loss(m.ones(2, dtype=m.float64), m.zeros(2)),
    "l1 none": lambda m: m.nn.functional.l1_loss(m.ones(2), m.zeros(2), reduction="none"),
    "huber sum": lambda m: m.nn.functional.huber_loss(m.tensor([0.0, 3.0]), m.zeros(2), reduction="sum", delta=1.5),
    "smooth_l1 beta 0": lambda m: m.nn.functional.smooth_l1_loss(m.tensor([0.0, 3.0]), m.zeros(2), beta=0.0),
    "bce weight": lambda m: m.nn.functional.binary_cross_entropy(m.full((2, 3), 0.3), m.ones(2, 3), weight=m.tensor([1.0, 2.0, 3.0])),
    "bce_logits pos_weight": lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.zeros(2, 3), m.ones(2, 3), pos_weight=m.tensor([1.0, 2.0, 3.0])),
    "bce_logits int target": lambda m: m.nn.functional.binary_cross_entropy_with_logits(m.zeros(2), m.tensor([1, 0])),
    "kl_div log_target": lambda m: m.nn.functional.kl_div(m.tensor([-1.0, -2.0]), m.tensor([-1.5, -0.5]), reduction="batchmean", log_target=True),
    "kl_div mean": lambda m: m.nn.functional.kl_div(m.tensor([-1.0, -2.0]), m.tensor([0.3, 0.7])),
    "gaussian_nll var negative": lambda m: m.nn.functional.gaussian_nll_loss(m.zeros(2), m.ones(2), -m.ones(2)),
    "gaussian_nll var shape": lambda m: m.nn.functional.gaussian_nll_loss(m.zeros(2, 3), m.ones(2, 3), m.ones(2, 1)),
    # layers
    "Conv1d padding same": lambda m: _seeded(m, lambda: m.nn.Conv1d(2, 3, 4, padding="same")(m.ones(1, 2, 7))),
    "Conv2d padding_mode reflect": lambda m: _seeded(m, lambda: m.nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect")(m.ones(1, 1, 4, 4))),
    "Conv2d unbatched": lambda m: _seeded(m, lambda: m.nn.Conv2d(1, 2, 3)(m.ones(1, 4, 4))),
    "ConvTranspose2d output_padding too big": lambda m: m.nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2),
    "ConvTranspose2d forward": lambda m: m.nn.ConvTranspose2d(2, 1, 3, stride=2)(m.ones(1, 2, 3, 3)).shape,
    "MaxPool2d return_indices": lambda m: m.nn.MaxPool2d(2, return_indices=True)(x234(m)[None]),
    "MaxPool1d ceil": lambda m: m.nn.MaxPool1d(2, ceil_mode=True)(m.arange(5.0)[None, None]),
    "AvgPool1d ceil pad": lambda m: m.nn.AvgPool1d(3, 2, 1, ceil_mode=True)(m.arange(6.0)[None, None]),
    "AdaptiveAvgPool2d None": lambda m: m.nn.AdaptiveAvgPool2d((None, 2))(x234(m)[None]),
    "AdaptiveMaxPool1d 3 of 4": lambda m: m.nn.AdaptiveMaxPool1d(3)(x234(m)),
    "Upsample bilinear": lambda m: m.nn.Upsample(scale_factor=2, mode="bilinear")(x234(m)[None]),
    "Upsample nearest 1-d": lambda m: m.nn.Upsample(size=5)(x234(m)),
    "LayerNorm no affine": lambda m: m.nn.LayerNorm(4, elementwise_affine=False)(x234(m)),
    "LayerNorm shape 2": lambda m: m.nn.LayerNorm((3, 4))(x234(m)),
    "GroupNorm forward channels": lambda m: m.nn.GroupNorm(2, 4)(x234(m)),
    "GroupNorm forward": lambda m: m.nn.GroupNorm(1, 3)(x234(m)),
    "BatchNorm1d 3-d": lambda m: m.nn.BatchNorm1d(3)(x234(m)),
    "BatchNorm1d eval": lambda m: m.nn.BatchNorm1d(3).eval()(x234(m)),
    "BatchNorm1d momentum None": lambda m: _bn_cumulative(m),
    "InstanceNorm1d": lambda m: m.nn.InstanceNorm1d(3)(x234(m)),
    "Embedding padding_idx": lambda m: _seeded(m, lambda: m.nn.Embedding(5, 2, padding_idx=0)(m.tensor([0, 0]))),
    "Embedding 2-d index": lambda m: m.nn.Embedding(5, 2)(m.tensor([[1, 2], [3, 4]])).shape,
    "Embedding int32": lambda m: m.nn.Embedding(5, 2)(m.tensor([1], dtype=m.int32)).shape,
    "LSTM batch_first wrong": lambda m: m.nn.LSTM(3, 4, batch_first=True)(m.ones(2, 5, 4)),
    "LSTM unbatched": lambda m: m.nn.LSTM(3, 4)(m.ones(5, 3))[0].shape,
    "LSTM h0 only": lambda m: m.nn.LSTM(3, 4)(m.ones(5, 2, 3), m.zeros(1, 2, 4)),
    "GRU h0 wrong layers": lambda m: m.nn.GRU(3, 4, num_layers=2)(m.ones(5, 2, 3), m.zeros(1, 2, 4)),
    "RNN empty seq": lambda m: m.nn.RNN(3, 4)(m.ones(0, 2, 3)),
    "MultiheadAttention mask shape": lambda m: m.nn.MultiheadAttention(4, 2)(m.ones(3, 1, 4), m.ones(3, 1, 4), m.ones(3, 1, 4), attn_mask=m.zeros(2, 2)),
    "MultiheadAttention kdim": lambda m: m.nn.MultiheadAttention(4, 2)(m.ones(3, 1, 4), m.ones(5, 1, 3), m.ones(5, 1, 3)),
    "Softmax2d 2-d": lambda m: m.nn.Softmax2d()(m.ones(2, 3)),
    "Dropout eval identity": lambda m: m.nn.Dropout(0.5).eval()(x234(m)),
    "Dropout p 1 train": lambda m: m.nn.Dropout(1.0)(x234(m)),
    "Dropout p 0 train": lambda m: m.nn.Dropout(0.0)(x234(m)),
    "Flatten default": lambda m: m.nn.Flatten()(x234(m)).shape,
    "Unflatten": lambda m: m.nn.Unflatten(2, (2, 2))(x234(m)).shape,
    "Sequential slice": lambda m: len(m.nn.Sequential(m.nn.ReLU(), m.nn.Tanh(), m.nn.ReLU())[1:]),
    "Sequential negative": lambda m: type(m.nn.Sequential(m.nn.ReLU(), m.nn.Tanh())[-1]).__name__,
    "ModuleDict bad key": lambda m: m.nn.ModuleDict({"a.b": m.nn.ReLU()}),
    "ParameterList non-param": lambda m: len(m.nn.ParameterList([m.zeros(2)])),
    "state_dict keys": lambda m: list(m.nn.Sequential(m.nn.Linear(2, 2), m.nn.BatchNorm1d(2)).state_dict()),
    "load_state_dict strict False": lambda m: m.nn.Linear(2, 2).load_state_dict({"weight": m.zeros(2, 2)}, strict=False),
    "named_parameters prefix": lambda m: [n for n, _ in m.nn.Sequential(m.nn.Linear(2, 2)).named_parameters(prefix="x")],
    "Linear bias False state": lambda m: list(m.nn.Linear(2, 3, bias=False).state_dict()),
    "Module.to(float64) dtype": lambda m: m.nn.Linear(2, 2).to(m.float64).weight.dtype,
    "Module.half forward": lambda m: m.nn.Linear(2, 2).half()(m.ones(1, 2, dtype=m.float16)).dtype,
    "requires_grad_(False) count": lambda m: sum(p.requires_grad for p in m.nn.Linear(2, 2).requires_grad_(False).parameters()),
    # autograd
    "grad of non-leaf": lambda m: _nonleaf_grad(m),
    "backward twice": lambda m: _backward_twice(m),
    "grad of int output": lambda m: m.autograd.grad(m.ones(2, requires_grad=True).sum(), m.ones(2, requires_grad=True)),
    "detach requires_grad": lambda m: m.ones(2, requires_grad=True).detach().requires_grad,
    "no_grad result": lambda m: _no_grad_mul(m),
    "retain_grad": lambda m: _retain(m),
    "grad accumulate": lambda m: _accumulate(m),
    "item of grad tensor": lambda m: m.ones(1, requires_grad=True).sum().item(),
    "numpy of requires_grad": lambda m: m.ones(2, requires_grad=True).numpy(),
    "backward with grad shape": lambda m: (m.ones(2, requires_grad=True) * 2).backward(m.ones(3)),
    "inplace on leaf": lambda m: m.ones(2, requires_grad=True).add_(1),
}


def _set(t, idx, v):
    t[idx] = v
    return t


def _seeded(m, fn):
    (torch.manual_seed if m is torch else dg.manual_seed)(0)
    out = fn()
    return tuple(out.shape) if hasattr(out, "shape") else out


def _bn_cumulative(m):
    bn = m.nn.BatchNorm1d(3, momentum=None)
    bn(m.arange(6.0).reshape(2, 3))
    bn(m.arange(6.0).reshape(2, 3) * 2)
    return bn.running_mean, bn.running_var, bn.num_batches_tracked


def _nonleaf_grad(m):
    x = m.ones(2, requires_grad=True)
    y = x * 2
    y.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return y.grad


def _backward_twice(m):
    x = m.ones(2, requires_grad=True)
    y = (x.exp()).sum()
    y.backward()
    y.backward()
    return x.grad


def _no_grad_mul(m):
    x = m.ones(2, requires_grad=True)
    with m.no_grad():
        y = x * 2
    return y.requires_grad


def _retain(m):
    x = m.ones(2, requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    return y.grad


def _accumulate(m):
    x = m.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    return x.grad


for _n, _f in MORE.items():
    add(_n, _f, _n.split("(")[0].split(" ")[0].split("[")[0])


# ----------------------------------------------------------------------------- running
def _flatten(v):
    if isinstance(v, (tuple, list)):
        out = []
        for e in v:
            out.extend(_flatten(e))
        return out
    return [v]


def _as_array(v):
    if isinstance(v, dg.Tensor):
        return np.asarray(v.detach().numpy()), str(v.dtype).split(".")[-1]
    if isinstance(v, torch.Tensor):
        return v.detach().numpy(), str(v.dtype).split(".")[-1]
    if isinstance(v, (bool, int, float, np.generic)):
        return np.asarray(v), type(v).__name__ if not isinstance(v, np.generic) else "np"
    return None, type(v).__name__


def _equal(a, b):
    fa, fb = _flatten(a), _flatten(b)
    if len(fa) != len(fb):
        return False, f"{len(fa)} outputs vs {len(fb)}"
    for x, y in zip(fa, fb):
        ax, dx = _as_array(x)
        ay, dy = _as_array(y)
        if ax is None or ay is None:
            if type(x).__name__ != type(y).__name__ and not (x is None and y is None):
                continue  # modules, optimizers...: constructed on both sides
            continue
        if dx != dy and not {dx, dy} <= {"int", "float", "bool", "np"}:
            return False, f"dtype {dx} vs {dy}"
        if ax.shape != ay.shape:
            return False, f"shape {ax.shape} vs {ay.shape}"
        if ax.size and ax.dtype.kind in "fc":
            if not np.allclose(ax.astype(np.float64), ay.astype(np.float64), rtol=1e-4,
                               atol=1e-6, equal_nan=True):
                return False, f"values {ax.ravel()[:6].tolist()} vs {ay.ravel()[:6].tolist()}"
        elif ax.size and not np.array_equal(ax, ay):
            return False, f"values {ax.ravel()[:6].tolist()} vs {ay.ravel()[:6].tolist()}"
    return True, ""


def _call(fn, m):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            out = fn(m)
            exc = None
        except Exception as e:  # noqa: BLE001 (the sweep records every kind)
            out, exc = None, e
    ws = [x for x in w if not issubclass(x.category, (DeprecationWarning,))]
    return out, exc, ws


def _written_by_deltagrad(frame):
    """The frame is a ``raise`` statement in deltagrad's own code (a message we wrote)."""
    if os.sep + "deltagrad" + os.sep not in frame.filename:
        return False
    import linecache
    lines = [linecache.getline(frame.filename, i) for i in range(frame.lineno - 3,
                                                                     frame.lineno + 1)]
    return any(line.strip().startswith("raise ") for line in lines)


def _is_raw(exc, op):
    """An exception raised inside NumPy/SciPy/Python (not by a ``raise`` of deltagrad), or
    one of deltagrad's whose message names neither the op nor the thing that was wrong."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return True
    if not _written_by_deltagrad(tb[-1]):
        return True
    msg = str(exc).lower()
    return len(msg) < 15


def classify(name, op, fn):
    dv, de, dw = _call(fn, dg)
    tv, te, tw = _call(fn, torch)
    leaked = [f"{w_.category.__name__}: {w_.message}" for w_ in dw
              if not tw and issubclass(w_.category, RuntimeWarning)]
    if de is not None and isinstance(de, AttributeError) and "has no attribute" in str(de) \
            and not (te is not None and isinstance(te, AttributeError)):
        return "missing_api", f"{de}"
    if de is not None and te is not None:
        if _is_raw(de, op):
            return "raw_error", f"{type(de).__name__}: {de} (torch: {type(te).__name__})"
        return ("warning_leaked", "; ".join(leaked)) if leaked else ("same", "")
    if de is None and te is not None:
        return "returns_where_torch_raises", f"torch: {type(te).__name__}: {str(te)[:120]}"
    if de is not None and te is None:
        raw = " (raw)" if _is_raw(de, op) else ""
        return "raises_where_torch_returns", f"{type(de).__name__}{raw}: {str(de)[:160]}"
    ok, why = _equal(dv, tv)
    if not ok:
        return "different_value", why
    if leaked:
        return "warning_leaked", "; ".join(leaked)
    return "same", ""


CATEGORIES = ["same", "raw_error", "returns_where_torch_raises", "raises_where_torch_returns",
              "different_value", "warning_leaked", "missing_api"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--verbose", action="store_true", help="print every case that is not same")
    ap.add_argument("--only", choices=CATEGORIES, help="print only this category")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "bad_input_sweep.json"))
    args = ap.parse_args(argv)
    counts = {c: 0 for c in CATEGORIES}
    details = []
    for name, op, fn in CASES:
        cat, why = classify(name, op, fn)
        counts[cat] += 1
        if cat != "same":
            details.append({"case": name, "category": cat, "detail": why})
            if args.verbose or args.only == cat:
                print(f"{cat:28s} {name:40s} {why[:150]}")
    total = len(CASES)
    print(json.dumps(counts), f"total {total}")
    result = dict(provenance(), cases=total, counts=counts, not_same=details,
                  torch=torch.__version__, numpy=np.__version__)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    return counts


if __name__ == "__main__":
    main()
