"""BatchNorm1d, LayerNorm, GroupNorm and their functional forms against PyTorch: outputs,
gradients of input/weight/bias, running statistics, train/eval, gradcheck and gradgradcheck."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import deltagrad as dg
import deltagrad.nn as nn
from deltagrad.ops.normalization import batch_norm, group_norm, layer_norm

torch = pytest.importorskip("torch")

SETTINGS = settings(max_examples=20, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _pair(dg_cls, torch_cls, *args, dtype=np.float64, **kwargs):
    """A deltagrad layer and its torch twin with the same (randomised) weights."""
    torch.manual_seed(0)
    tm = torch_cls(*args, **kwargs).to(torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        for p in tm.parameters():
            p.copy_(torch.randn_like(p))
    m = dg_cls(*args, **kwargs).to(dtype)
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return m, tm


def _check_forward_backward(m, tm, x_np, dtype):
    tol = TOL[dtype]
    x = dg.tensor(x_np.astype(dtype), requires_grad=True)
    tx = torch.tensor(x_np.astype(dtype), requires_grad=True)
    y, ty = m(x), tm(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **tol)
    assert y.dtype == np.dtype(dtype)
    g = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol)
    for (name, p), (tname, tp) in zip(m.named_parameters(), tm.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), err_msg=name, **tol)
    for (name, b), (tname, tb) in zip(m.named_buffers(), tm.named_buffers()):
        assert name == tname
        np.testing.assert_allclose(b.numpy(), tb.numpy(), err_msg=name, **tol)
    return y


# ----------------------------------------------------------------------------- BatchNorm1d
@SETTINGS
@given(n=st.integers(2, 6), c=st.integers(1, 5), length=st.sampled_from([None, 1, 4]),
       affine=st.booleans(), dtype=st.sampled_from([np.float32, np.float64]))
def test_batchnorm1d_train_matches_torch(n, c, length, affine, dtype):
    m, tm = _pair(nn.BatchNorm1d, torch.nn.BatchNorm1d, c, affine=affine, dtype=dtype)
    shape = (n, c) if length is None else (n, c, length)
    rng = np.random.default_rng(n * 100 + c)
    for step in range(3):  # running statistics over several steps
        x = rng.standard_normal(shape) * 3 + 1
        for p in list(m.parameters()):
            p.grad = None
        tm.zero_grad()
        _check_forward_backward(m, tm, x, dtype)
    assert m.num_batches_tracked.item() == 3 and m.num_batches_tracked.dtype == np.int64


@pytest.mark.parametrize("name,shape", [("BatchNorm2d", (4, 3, 5, 2)),
                                        ("BatchNorm3d", (2, 3, 2, 3, 2))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm2d_3d_match_torch(name, shape, dtype):
    m, tm = _pair(getattr(nn, name), getattr(torch.nn, name), 3, dtype=dtype)
    assert repr(m) == repr(tm)
    rng = np.random.default_rng(0)
    for train in (True, True, False):
        m.train(train)
        tm.train(train)
        m.zero_grad()
        tm.zero_grad()
        _check_forward_backward(m, tm, rng.standard_normal(shape) * 2 + 1, dtype)
    with pytest.raises(ValueError, match=rf"{name}\(3\): expected {len(shape)}D input"):
        m(dg.randn(4, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm1d_eval_uses_running_stats(dtype):
    m, tm = _pair(nn.BatchNorm1d, torch.nn.BatchNorm1d, 3, dtype=dtype)
    rng = np.random.default_rng(0)
    for _ in range(2):
        _check_forward_backward(m, tm, rng.standard_normal((8, 3, 2)) * 2 + 5, dtype)
    m.eval()
    tm.eval()
    m.zero_grad()
    tm.zero_grad()
    x = rng.standard_normal((4, 3, 2))
    y = _check_forward_backward(m, tm, x, dtype)
    # eval: (x − running_mean)/√(running_var + ε)·γ + β, per channel, fixed numbers
    rm, rv = m.running_mean.numpy(), m.running_var.numpy()
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    want = (x - rm[:, None]) / np.sqrt(rv[:, None] + 1e-5) * w[:, None] + b[:, None]
    np.testing.assert_allclose(y.detach().numpy(), want, **TOL[dtype])
    assert m.num_batches_tracked.item() == 2  # not advanced in eval


def test_batchnorm_momentum_none_is_cumulative_average():
    m, tm = _pair(nn.BatchNorm1d, torch.nn.BatchNorm1d, 2, momentum=None)
    rng = np.random.default_rng(3)
    xs = [rng.standard_normal((5, 2)) + i for i in range(4)]
    for x in xs:
        _check_forward_backward(m, tm, x, np.float64)
    want = np.mean([x.mean(0) for x in xs], axis=0)
    np.testing.assert_allclose(m.running_mean.numpy(), want, rtol=1e-12)
    want_var = np.mean([x.var(0, ddof=1) for x in xs], axis=0)
    np.testing.assert_allclose(m.running_var.numpy(), want_var, rtol=1e-12)


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval():
    m, tm = _pair(nn.BatchNorm1d, torch.nn.BatchNorm1d, 3, track_running_stats=False)
    assert m.running_mean is None and m.num_batches_tracked is None
    assert list(m.state_dict()) == ["weight", "bias"]
    m.eval()
    tm.eval()
    _check_forward_backward(m, tm, np.random.default_rng(0).standard_normal((4, 3)), np.float64)


def test_batchnorm_bias_false_and_affine_false():
    m = nn.BatchNorm1d(4, bias=False)
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]
    m2 = nn.BatchNorm1d(4, affine=False)
    assert list(m2.parameters()) == []
    assert repr(m2) == repr(torch.nn.BatchNorm1d(4, affine=False))
    assert repr(m) == repr(torch.nn.BatchNorm1d(4, bias=False))


def test_batchnorm_defaults_and_repr():
    m, tm = nn.BatchNorm1d(3, momentum=None), torch.nn.BatchNorm1d(3, momentum=None)
    assert repr(m) == repr(tm)
    np.testing.assert_array_equal(m.weight.detach().numpy(), np.ones(3, np.float32))
    np.testing.assert_array_equal(m.bias.detach().numpy(), np.zeros(3, np.float32))
    assert list(m.state_dict()) == list(tm.state_dict())
    assert m.weight.dtype == np.float32 and m.running_mean.dtype == np.float32
    assert nn.BatchNorm1d(2, dtype=dg.float64).running_var.dtype == np.float64


def test_batchnorm_errors_name_layer_and_shapes():
    m = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\).*3 channels.*\(4, 5\)"):
        m(dg.randn(4, 5))
    with pytest.raises(ValueError, match=r"2D or 3D.*4D"):
        m(dg.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        m(dg.randn(1, 3))
    m.eval()
    assert m(dg.randn(1, 3)).shape == (1, 3)  # fine in eval
    with pytest.raises(RuntimeError, match=r"weight has shape \(2,\), expected \(3,\)"):
        batch_norm(dg.randn(4, 3), None, None, dg.ones(2), training=True)
    with pytest.raises(ValueError, match="evaluation"):
        batch_norm(dg.randn(4, 3), None, None, training=False)


def test_batchnorm_running_stats_not_saved_by_reference_for_backward():
    m = nn.BatchNorm1d(2).double().eval()
    x = dg.randn(4, 2, dtype=dg.float64, requires_grad=True)
    y = m(x)
    m.running_mean.fill_(100.0)  # later in-place change must not alter this backward
    (y * y).sum().backward()
    w = m.weight.detach().numpy()
    ref = 2 * y.detach().numpy() * w / np.sqrt(1 + 1e-5)
    np.testing.assert_allclose(x.grad.numpy(), ref, rtol=1e-12)
    np.testing.assert_allclose(m.weight.grad.numpy(),
                               (2 * y.detach().numpy() * x.detach().numpy()
                                / np.sqrt(1 + 1e-5)).sum(0), rtol=1e-12)


# ----------------------------------------------------------------------------- LayerNorm
@SETTINGS
@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=2),
       norm=st.tuples(st.integers(2, 5)).map(list) | st.lists(st.integers(1, 5), min_size=2,
                                                             max_size=2).filter(
           lambda s: s[0] * s[1] > 1),
       affine=st.booleans(), bias=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_layernorm_matches_torch(lead, norm, affine, bias, dtype):
    m, tm = _pair(nn.LayerNorm, torch.nn.LayerNorm, norm, elementwise_affine=affine, bias=bias,
                  dtype=dtype)
    assert repr(m) == repr(tm)
    x = np.random.default_rng(len(lead)).standard_normal(tuple(lead) + tuple(norm)) * 2 - 1
    _check_forward_backward(m, tm, x, dtype)


def test_layernorm_int_shape_and_errors():
    m = nn.LayerNorm(4)
    assert m.normalized_shape == (4,) and m.weight.shape == (4,)
    with pytest.raises(RuntimeError, match=r"LayerNorm\(\(4,\)\).*\[\*, 4\].*\(2, 3\)"):
        m(dg.randn(2, 3))
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[3\].*\[2, 4\]"):
        layer_norm(dg.randn(2, 4), 3)
    with pytest.raises(RuntimeError, match="weight has shape"):
        layer_norm(dg.randn(2, 4), 4, weight=dg.ones(3))


# ----------------------------------------------------------------------------- GroupNorm
@SETTINGS
@given(n=st.integers(1, 3), groups=st.integers(1, 3), per=st.integers(1, 3),
       spatial=st.sampled_from([(), (3,), (2, 3)]), affine=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_groupnorm_matches_torch(n, groups, per, spatial, affine, dtype):
    c = groups * per
    m, tm = _pair(nn.GroupNorm, torch.nn.GroupNorm, groups, c, affine=affine, dtype=dtype)
    assert repr(m) == repr(tm)
    x = np.random.default_rng(c).standard_normal((n, c) + spatial) * 2 + 1
    if per * int(np.prod(spatial)) == 1:  # a single value per group: y = β, ∂L/∂x = 0
        if n == 1:
            with pytest.raises(ValueError, match="more than 1 value"):
                m(dg.tensor(x.astype(dtype)))
            return
        dtype = np.float64  # (in float32 both round ∂L/∂x = 0 differently, scaled by 1/√ε)
        m, tm = m.double(), tm.double()
    _check_forward_backward(m, tm, x, dtype)


def test_groupnorm_errors():
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by "
                                         r"num_groups \(2\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(RuntimeError, match=r"GroupNorm\(2, 4\).*\(3, 6\)"):
        nn.GroupNorm(2, 4)(dg.randn(3, 6))
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        group_norm(dg.randn(3, 6), 4)


# ----------------------------------------------------------------------------- functional
def test_functional_forms_match_torch():
    F = torch.nn.functional
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 4, 3))
    w, b = rng.standard_normal(4), rng.standard_normal(4)
    rm, rv = rng.standard_normal(4), rng.random(4) + 0.5
    d = lambda a: dg.tensor(a)  # noqa: E731
    t = lambda a: torch.tensor(a)  # noqa: E731
    drm, drv, trm, trv = d(rm), d(rv), t(rm), t(rv)
    out = batch_norm(d(x), drm, drv, d(w), d(b), True, 0.3, 1e-3)
    ref = F.batch_norm(t(x), trm, trv, t(w), t(b), True, 0.3, 1e-3)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10)
    np.testing.assert_allclose(drm.numpy(), trm.numpy(), rtol=1e-10)
    np.testing.assert_allclose(drv.numpy(), trv.numpy(), rtol=1e-10)
    out = batch_norm(d(x), drm, drv, None, d(b), False)
    ref = F.batch_norm(t(x), trm, trv, None, t(b), False)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10)
    lw = rng.standard_normal((4, 3))
    out = layer_norm(d(x), (4, 3), d(lw), None, 1e-2)
    ref = F.layer_norm(t(x), (4, 3), t(lw), None, 1e-2)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-10)
    out = group_norm(d(x), 2, d(w), d(b), 1e-3)
    np.testing.assert_allclose(out.numpy(), F.group_norm(t(x), 2, t(w), t(b), 1e-3).numpy(),
                               rtol=1e-10)


def test_batch_norm_worked_example():
    """Notes 004 §4.3.2 by hand: z = (1, 2, 3, 6), μ = 3, σ² = 3.5, ẑ = (z − μ)/√σ²."""
    z = dg.tensor([[1.0], [2.0], [3.0], [6.0]], dtype=dg.float64)
    out = batch_norm(z, None, None, dg.tensor([2.0], dtype=dg.float64),
                     dg.tensor([0.5], dtype=dg.float64), training=True, eps=0.0)
    want = 2 * (np.array([1, 2, 3, 6.0]) - 3) / np.sqrt(3.5) + 0.5
    np.testing.assert_allclose(out.numpy()[:, 0], want, rtol=1e-12)


# ----------------------------------------------------------------------------- gradchecks
def _inputs(rng, *shapes):
    return [dg.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck_and_gradgradcheck(training):
    rng = np.random.default_rng(0)
    x, w, b = _inputs(rng, (5, 3, 2), (3,), (3,))
    rm, rv = dg.tensor(rng.standard_normal(3)), dg.tensor(rng.random(3) + 0.5)

    def f(x, w, b):
        return batch_norm(x, rm if not training else None, rv if not training else None, w, b,
                          training)
    assert dg.autograd.gradcheck(f, (x, w, b))
    assert dg.autograd.gradgradcheck(f, (x, w, b))


def test_layer_norm_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(1)
    x, w, b = _inputs(rng, (3, 2, 4), (2, 4), (2, 4))
    f = lambda x, w, b: layer_norm(x, (2, 4), w, b)  # noqa: E731
    assert dg.autograd.gradcheck(f, (x, w, b))
    assert dg.autograd.gradgradcheck(f, (x, w, b))
    g = lambda x: layer_norm(x, 4)  # noqa: E731
    assert dg.autograd.gradgradcheck(g, (x,))


def test_group_norm_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(2)
    x, w, b = _inputs(rng, (2, 6, 3), (6,), (6,))
    f = lambda x, w, b: group_norm(x, 3, w, b)  # noqa: E731
    assert dg.autograd.gradcheck(f, (x, w, b))
    assert dg.autograd.gradgradcheck(f, (x, w, b))


def test_double_backward_matches_torch():
    """Gradient penalty ‖∂L/∂x‖² through layer_norm and batch_norm, differentiated again."""
    rng = np.random.default_rng(4)
    xa, wa = rng.standard_normal((4, 5)), rng.standard_normal(5)
    for fdg, ftorch in [
        (lambda x, w: layer_norm(x, 5, w), lambda x, w: torch.nn.functional.layer_norm(x, (5,), w)),
        (lambda x, w: batch_norm(x, None, None, w, None, True),
         lambda x, w: torch.nn.functional.batch_norm(x, None, None, w, None, True)),
    ]:
        x, w = dg.tensor(xa, requires_grad=True), dg.tensor(wa, requires_grad=True)
        tx, tw = torch.tensor(xa, requires_grad=True), torch.tensor(wa, requires_grad=True)
        y, ty = fdg(x, w), ftorch(tx, tw)
        gx, = dg.autograd.grad((y ** 3).sum(), [x], create_graph=True)
        tgx, = torch.autograd.grad((ty ** 3).sum(), [tx], create_graph=True)
        (gx * gx).sum().backward()
        (tgx * tgx).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-9, atol=1e-10)


def test_float32_stays_float32():
    x = dg.randn(4, 3, requires_grad=True)
    for y in (nn.BatchNorm1d(3)(x), nn.LayerNorm(3)(x), nn.GroupNorm(3, 3)(x)):
        assert y.dtype == np.float32
        y.sum().backward()
        assert x.grad.dtype == np.float32


def test_functional_hub_exports():
    F = dg.nn.functional
    assert F.batch_norm is batch_norm and F.layer_norm is layer_norm
    assert F.group_norm is group_norm
    from deltagrad.ops.dropout import alpha_dropout, dropout
    assert F.dropout is dropout and F.alpha_dropout is alpha_dropout
