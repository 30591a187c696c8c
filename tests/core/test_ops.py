"""Every op of the registry (opinfo.py) against PyTorch: forward, backward, float64 gradcheck,
float32 staying float32, and second derivatives where marked."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import deltagrad as dg
import deltagrad.nn  # noqa: F401

from ..conftest import requires_torch
from .opinfo import OPS

torch = pytest.importorskip("torch")

SETTINGS = settings(max_examples=20, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
ids = [op.name for op in OPS]
GRAD_OPS = [op for op in OPS if op.grad]
GRADGRAD_OPS = [op for op in OPS if op.gradgrad]


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _run(lib, op, arrays, kwargs, dtype, requires_grad=True):
    if lib is dg:
        ins = [dg.tensor(a.astype(dtype), requires_grad=requires_grad) for a in arrays]
    else:
        ins = [torch.tensor(a.astype(dtype), requires_grad=requires_grad) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ins, _outputs(op.fn(lib, *ins, **kwargs))


def _np(t):
    return t.detach().numpy()


def _compare(a, b, rtol, atol, what):
    x, y = _np(a), _np(b)
    assert x.shape == y.shape, f"{what}: shape {x.shape} != torch {y.shape}"
    assert x.dtype == y.dtype, f"{what}: dtype {x.dtype} != torch {y.dtype}"
    if x.dtype.kind in "fc":
        np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(x, y, err_msg=what)


def _cotangents(outs, rng):
    return [rng.standard_normal(tuple(o.shape)) if o.dtype.is_floating_point else None
            for o in outs]


@requires_torch
@pytest.mark.parametrize("op", OPS, ids=ids)
@SETTINGS
@given(data=st.data())
def test_forward_matches_torch(op, data):
    sample = op.sample(data.draw)
    _, outs = _run(dg, op, sample.arrays, sample.kwargs, np.float32)
    _, touts = _run(torch, op, sample.arrays, sample.kwargs, np.float32)
    assert len(outs) == len(touts)
    for k, (o, t) in enumerate(zip(outs, touts)):
        assert isinstance(o, dg.Tensor)
        _compare(o, t, op.rtol, op.atol, f"{op.name} output {k} {sample.kwargs}")


@requires_torch
@pytest.mark.parametrize("op", GRAD_OPS, ids=[op.name for op in GRAD_OPS])
@SETTINGS
@given(data=st.data())
def test_backward_matches_torch(op, data):
    sample = op.sample(data.draw)
    ins, outs = _run(dg, op, sample.arrays, sample.kwargs, np.float32)
    tins, touts = _run(torch, op, sample.arrays, sample.kwargs, np.float32)
    rng = np.random.default_rng(0)
    ws = _cotangents(touts, rng)
    t_loss = sum((t * torch.tensor(w.astype(np.float32))).sum()
                 for t, w in zip(touts, ws) if w is not None and t.requires_grad)
    if not isinstance(t_loss, torch.Tensor):  # nothing differentiable came out
        assert not any(o.requires_grad for o in outs)
        return
    loss = sum((o * dg.tensor(w.astype(np.float32))).sum()
               for o, w in zip(outs, ws) if w is not None and o.requires_grad)
    t_loss.backward()
    loss.backward()
    for k, (x, tx) in enumerate(zip(ins, tins)):
        if tx.grad is None:
            assert x.grad is None or not np.any(_np(x.grad)), f"{op.name}: input {k} grad"
            continue
        assert x.grad is not None, f"{op.name}: input {k} got no gradient"
        _compare(x.grad, tx.grad, op.grad_rtol, op.grad_atol,
                 f"{op.name} grad of input {k} {sample.kwargs}")


@pytest.mark.parametrize("op", GRAD_OPS, ids=[op.name for op in GRAD_OPS])
@SETTINGS
@given(data=st.data())
def test_gradcheck_float64(op, data):
    sample = op.sample(data.draw)
    ins = [dg.tensor(a, requires_grad=True) for a in sample.arrays]
    assert all(x.dtype == dg.float64 for x in ins)
    assert dg.autograd.gradcheck(lambda *xs: op.fn(dg, *xs, **sample.kwargs), ins)


@pytest.mark.parametrize("op", GRAD_OPS, ids=[op.name for op in GRAD_OPS])
@SETTINGS
@given(data=st.data())
def test_float32_stays_float32(op, data):
    sample = op.sample(data.draw)
    ins, outs = _run(dg, op, sample.arrays, sample.kwargs, np.float32)
    for o in outs:
        assert o.dtype in (dg.float32, dg.int64, dg.bool), f"{op.name}: output {o.dtype}"
    diff = [o for o in outs if o.requires_grad]
    if not diff:
        return
    sum(o.sum() for o in diff).backward()
    for x in ins:
        if x.grad is not None:
            assert x.grad.dtype == dg.float32, f"{op.name}: grad dtype {x.grad.dtype}"
            assert isinstance(x.grad, dg.Tensor)


@pytest.mark.parametrize("op", GRADGRAD_OPS, ids=[op.name for op in GRADGRAD_OPS])
@settings(max_examples=8, deadline=None, database=None)
@given(data=st.data())
def test_gradgradcheck_float64(op, data):
    sample = op.sample(data.draw)
    ins = [dg.tensor(a, requires_grad=True) for a in sample.arrays]
    assert dg.autograd.gradgradcheck(lambda *xs: op.fn(dg, *xs, **sample.kwargs), ins)


def test_gradcheck_catches_a_wrong_gradient():
    """The checker itself must be able to fail."""

    class WrongSquare(dg.autograd.Function):
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x * 2.1

    x = dg.randn(3, 4, dtype=dg.float64, requires_grad=True)
    with pytest.raises(dg.autograd.GradcheckError):
        dg.autograd.gradcheck(lambda t: WrongSquare.apply(t), [x])
    assert dg.autograd.gradcheck(lambda t: WrongSquare.apply(t), [x],
                                 raise_exception=False) is False


def test_gradgradcheck_catches_a_wrong_second_derivative():
    """A backward that is right but not differentiable through (a constant) fails gradgrad."""

    class DetachedSquare(dg.autograd.Function):
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        def backward(ctx, g):
            x, = ctx.saved_tensors
            return g * x.detach() * 2.0

    x = dg.randn(4, dtype=dg.float64, requires_grad=True)
    assert dg.autograd.gradcheck(lambda t: DetachedSquare.apply(t), [x])
    with pytest.raises(dg.autograd.GradcheckError):
        dg.autograd.gradgradcheck(lambda t: DetachedSquare.apply(t), [x])
