"""float16 and bfloat16 (ml_dtypes) as real dtypes: PyTorch's promotion table for every pair
of dtypes, with 0-d tensors and Python scalars, values of arithmetic and matmul rounded as
torch rounds them, gradients through casts and layers in bfloat16."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import deltagrad as dg

from ..conftest import requires_torch

torch = pytest.importorskip("torch")
pytest.importorskip("ml_dtypes")

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64"]


def _pair(name):
    return getattr(dg, name if name != "bool" else "bool"), getattr(torch, name)


def _same(dg_dtype, torch_dtype):
    return str(dg_dtype) == str(torch_dtype).replace("torch.", "")


@requires_torch
@pytest.mark.parametrize("a,b", list(itertools.combinations_with_replacement(NAMES, 2)))
def test_promotion_table_equals_torch(a, b):
    (da, ta), (db, tb) = _pair(a), _pair(b)
    x, tx = dg.ones(2, dtype=da), torch.ones(2, dtype=ta)
    y, ty = dg.ones(2, dtype=db), torch.ones(2, dtype=tb)
    assert _same(dg.result_type(x, y), torch.result_type(tx, ty))
    z, tz = dg.ones((), dtype=db), torch.ones((), dtype=tb)  # a 0-d tensor decides less
    assert _same(dg.result_type(x, z), torch.result_type(tx, tz))
    for s in (True, 2, 2.5):
        assert _same(dg.result_type(x, s), torch.result_type(tx, s)), s
    if a != "bool" and b != "bool":
        assert _same((x + y).dtype, (tx + ty).dtype)


@requires_torch
@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_arithmetic_rounds_like_torch(name):
    d, td = _pair(name)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 5, 7)).astype(np.float32) * 3
    x, y = dg.tensor(a).to(d), dg.tensor(b).to(d)
    tx, ty = torch.tensor(a).to(td), torch.tensor(b).to(td)
    for f in (lambda p, q: p + q, lambda p, q: p * q, lambda p, q: p - q * 0.5,
              lambda p, q: p / 3, lambda p, q: (p * p).sqrt(), lambda p, q: p.exp().tanh()):
        r, tr = f(x, y), f(tx, ty)
        assert _same(r.dtype, tr.dtype)
        np.testing.assert_array_equal(r.float().numpy(), tr.float().numpy())
    m, tm = x @ y.transpose(0, 1), tx @ ty.transpose(0, 1)  # float32 sums, one rounding
    assert _same(m.dtype, tm.dtype)
    np.testing.assert_allclose(m.float().numpy(), tm.float().numpy(), rtol=1e-2, atol=1e-2)
    assert x.is_floating_point() and str(x.element_size()) == "2"


@requires_torch
def test_bfloat16_layers_and_gradients():
    rng = np.random.default_rng(1)
    w, xin = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((2, 4))
    lin = dg.nn.Linear(4, 3, bias=False).bfloat16()
    tlin = torch.nn.Linear(4, 3, bias=False).bfloat16()
    with dg.no_grad():
        lin.weight.copy_(dg.tensor(w).bfloat16())
    with torch.no_grad():
        tlin.weight.copy_(torch.tensor(w).bfloat16())
    x = dg.tensor(xin, dtype=dg.float32).bfloat16().requires_grad_()
    tx = torch.tensor(xin, dtype=torch.float32).bfloat16().requires_grad_()
    out, tout = lin(x), tlin(tx)
    assert out.dtype == dg.bfloat16
    np.testing.assert_allclose(out.float().detach().numpy(), tout.float().detach().numpy(),
                               rtol=1e-2, atol=1e-2)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    assert x.grad.dtype == dg.bfloat16 and lin.weight.grad.dtype == dg.bfloat16
    np.testing.assert_allclose(x.grad.float().numpy(), tx.grad.float().numpy(), rtol=3e-2,
                               atol=3e-2)
    v = dg.randn(3, requires_grad=True)
    v.bfloat16().float().sum().backward()  # the cast's backward casts the gradient back
    assert v.grad.dtype == dg.float32 and v.grad.numpy().tolist() == [1.0, 1.0, 1.0]


def test_dtype_names_and_errors():
    assert dg.tensor([1.0], dtype="bfloat16").dtype == dg.bfloat16
    assert dg.zeros(2).bfloat16().dtype == dg.bfloat16 and dg.zeros(2).half().dtype == dg.half
    with pytest.raises(RuntimeError, match="only tensors of floating point dtype"):
        dg.zeros(2, dtype=dg.int64).requires_grad_()
    assert dg.zeros(2, dtype=dg.bfloat16).requires_grad_().requires_grad


@requires_torch
@pytest.mark.parametrize("name", ["float16", "bfloat16", "float32", "float64", "uint8", "int8",
                                  "int16", "int32", "int64"])
def test_finfo_iinfo_equal_torch(name):
    d, td = _pair(name)
    if name.startswith(("float", "bfloat")):
        ours, theirs = dg.finfo(d), torch.finfo(td)
        keys = ["bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"]
        with pytest.raises(TypeError, match="iinfo: expected an integer dtype"):
            dg.iinfo(d)
    else:
        ours, theirs = dg.iinfo(d), torch.iinfo(td)
        keys = ["bits", "max", "min", "dtype"]
        with pytest.raises(TypeError, match="finfo: expected a floating dtype"):
            dg.finfo(d)
    assert {k: getattr(ours, k) for k in keys} == {k: getattr(theirs, k) for k in keys}


@requires_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "gelu", "silu", "elu", "softplus",
                                  "leaky_relu", "relu6", "mish", "logsigmoid", "sigmoid"])
def test_bfloat16_activations_keep_the_dtype_within_a_rounding_of_torch(name):
    a = np.random.default_rng(0).standard_normal((3, 7)).astype(np.float32) * 3
    kw = {"dim": -1} if "softmax" in name else {}
    r = getattr(dg.nn.functional, name)(dg.tensor(a).bfloat16(), **kw)
    tr = getattr(torch.nn.functional, name)(torch.tensor(a).bfloat16(), **kw)
    assert r.dtype == dg.bfloat16 and tr.dtype == torch.bfloat16
    # torch rounds once from float32; deltagrad computes in bfloat16 (8-bit significand)
    np.testing.assert_allclose(r.float().numpy(), tr.float().numpy(), rtol=2 ** -6, atol=2 ** -8)


BF16_GRAD_OPS = {
    "abs": lambda L, x: x.abs().sum(),
    "smooth_l1": lambda L, x: L.nn.functional.smooth_l1_loss(x, x * 0.3),
    "cross_entropy": lambda L, x: L.nn.functional.cross_entropy(x, L.tensor([0, 2, 1, 4])),
    "mse": lambda L, x: L.nn.functional.mse_loss(x, x * 0.5),
    "max": lambda L, x: x.max(dim=1)[0].sum(),
    "clamp": lambda L, x: x.clamp(-0.5, 0.5).sum(),
    "where": lambda L, x: L.where(x > 0, x * x, -x).sum(),
    "index": lambda L, x: (x[:, 1:3] * 2).sum(),
    "cumsum": lambda L, x: x.cumsum(1).sum(),
    "var": lambda L, x: x.var(),
}


@requires_torch
@pytest.mark.parametrize("name", sorted(BF16_GRAD_OPS))
def test_bfloat16_gradients_are_never_silently_cut(name):
    a = np.random.default_rng(2).standard_normal((4, 5)).astype(np.float32) * 2
    x = dg.tensor(a).bfloat16().requires_grad_()
    tx = torch.tensor(a).bfloat16().requires_grad_()
    out, tout = BF16_GRAD_OPS[name](dg, x), BF16_GRAD_OPS[name](torch, tx)
    assert out.requires_grad and out.dtype == dg.bfloat16
    out.backward()
    tout.backward()
    assert x.grad.dtype == dg.bfloat16
    np.testing.assert_allclose(x.grad.float().numpy(), tx.grad.float().numpy(), rtol=2 ** -5,
                               atol=2 ** -7)


@requires_torch
def test_bfloat16_conv2d_keeps_the_dtype_and_matches_torch():
    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    x = dg.tensor(a, dtype=dg.float32).bfloat16().requires_grad_()
    W = dg.tensor(w, dtype=dg.float32).bfloat16().requires_grad_()
    tx = torch.tensor(a, dtype=torch.float32).bfloat16().requires_grad_()
    tW = torch.tensor(w, dtype=torch.float32).bfloat16().requires_grad_()
    y, ty = dg.nn.functional.conv2d(x, W, padding=1), torch.nn.functional.conv2d(tx, tW, padding=1)
    assert y.dtype == dg.bfloat16
    np.testing.assert_array_equal(y.detach().float().numpy(), ty.detach().float().numpy())
    y.float().pow(2).sum().backward()
    ty.float().pow(2).sum().backward()
    assert x.grad.dtype == W.grad.dtype == dg.bfloat16
    for g, tg in ((x.grad, tx.grad), (W.grad, tW.grad)):
        np.testing.assert_allclose(g.float().numpy(), tg.float().numpy(), rtol=2 ** -6,
                                   atol=2 ** -6 * float(tg.float().abs().max()))


@requires_torch
@pytest.mark.parametrize("name", ["LayerNorm", "BatchNorm1d"])
def test_bfloat16_normalization_layers(name):
    rng = np.random.default_rng(0)
    a, r = rng.standard_normal((4, 6)) * 2 + 1, rng.standard_normal((4, 6))
    m, tm = getattr(dg.nn, name)(6).bfloat16(), getattr(torch.nn, name)(6).bfloat16()
    x = dg.tensor(a, dtype=dg.float32).bfloat16().requires_grad_()
    tx = torch.tensor(a, dtype=torch.float32).bfloat16().requires_grad_()
    y, ty = m(x), tm(tx)
    assert y.dtype == dg.bfloat16
    np.testing.assert_allclose(y.detach().float().numpy(), ty.detach().float().numpy(),
                               atol=2 ** -5)
    (y.float() * dg.tensor(r, dtype=dg.float32)).sum().backward()
    (ty.float() * torch.tensor(r, dtype=torch.float32)).sum().backward()
    # deltagrad sums in bfloat16 where torch sums in float32: a few bfloat16 roundings apart
    scale = float(tx.grad.float().abs().max())
    np.testing.assert_allclose(x.grad.float().numpy(), tx.grad.float().numpy(),
                               atol=0.04 * scale)
    assert m.weight.grad.dtype == dg.bfloat16


@requires_torch
def test_bfloat16_multihead_attention():
    a = np.random.default_rng(0).standard_normal((3, 2, 8)).astype(np.float32)
    m, tm = dg.nn.MultiheadAttention(8, 2), torch.nn.MultiheadAttention(8, 2)
    tm.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in
                        m.state_dict().items()})
    m, tm = m.bfloat16(), tm.bfloat16()
    x, tx = dg.tensor(a).bfloat16().requires_grad_(), torch.tensor(a).bfloat16().requires_grad_()
    (y, w), (ty, tw) = m(x, x, x), tm(tx, tx, tx)
    assert y.dtype == w.dtype == dg.bfloat16
    np.testing.assert_allclose(y.detach().float().numpy(), ty.detach().float().numpy(),
                               atol=2 ** -6)
    np.testing.assert_allclose(w.detach().float().numpy(), tw.detach().float().numpy(),
                               atol=2 ** -7)
    y.float().sum().backward()
    ty.float().sum().backward()
    assert x.grad.dtype == dg.bfloat16
    np.testing.assert_allclose(x.grad.float().numpy(), tx.grad.float().numpy(),
                               atol=0.02 * float(tx.grad.float().abs().max()))
