"""Issue 13, silent wrong answers in ops: each test failed before its fix.

Long float32 reductions are checked against float64 sums of the same numbers; the rest
against PyTorch (the test oracle) or the rule PyTorch documents.
"""
import warnings

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad.models import Adaline
from deltagrad.ops.reduce import sum_array
from tests.conftest import assert_close, requires_torch, to_torch


def _rel(got, want):
    got = np.asarray(got.detach().numpy() if isinstance(got, dg.Tensor) else got, np.float64)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


# ----------------------------------------------------------------------------- long float32 sums
def test_sum_of_a_million_rows_is_float32_accurate():
    # the example: naive accumulation gave 100354.195 (0.35 % off)
    x = dg.full((10 ** 6, 2), 0.1)
    want = float(np.float32(0.1)) * 10 ** 6
    got = x.sum(0)
    assert got.dtype == dg.float32
    assert _rel(got, want) < 1e-6
    assert _rel(x.mean(0), want / 10 ** 6) < 1e-6


@pytest.mark.parametrize("shape,axes", [((300_000, 3), (0,)), ((3, 300_000), (1,)),
                                        ((1000, 7, 50), (0, 2)), ((40, 5, 4000), (0, 2)),
                                        ((400, 3, 500), (0,)), ((200, 300, 2), (0, 1)),
                                        ((6, 20_000, 3), (1,))])
def test_long_float32_sums_match_float64(shape, axes):
    rng = np.random.default_rng(0)
    a = (rng.random(shape) + 1.0).astype(np.float32)  # all positive: worst for naive sums
    want = a.astype(np.float64).sum(axis=axes)
    got = sum_array(a, axes)
    assert got.dtype == np.float32 and got.shape == want.shape
    assert _rel(got, want) < 2e-6
    # the same through the Tensor API (sum, mean, var/std) and a transposed (strided) input
    t = dg.tensor(a)
    assert _rel(t.sum(axes), want) < 2e-6
    n = np.prod([shape[i] for i in axes])
    assert _rel(t.mean(axes), want / n) < 2e-6
    v64 = a.astype(np.float64).var(axis=axes, ddof=1)
    assert _rel(t.var(axes), v64) < 1e-5
    assert _rel(t.std(axes), np.sqrt(v64)) < 1e-5
    at = a.T
    assert _rel(sum_array(at, tuple(at.ndim - 1 - i for i in axes)), want.T) < 2e-6


def test_bias_gradient_over_many_rows_is_accurate():
    # the bias gradient Σ_batch δ goes through the same blocked sum (and broadcasting's sum_to)
    n = 400_000
    x = dg.ones(n, 2)
    lin = dg.nn.Linear(2, 3)
    lin(x).sum().backward()
    assert _rel(lin.bias.grad, np.full(3, float(n))) < 1e-6
    b = dg.zeros(3, requires_grad=True)
    (dg.full((n, 3), 0.1) + b).sum().backward()  # broadcasting undone by sum_to
    assert _rel(b.grad, np.full(3, float(n))) < 1e-6


def test_cumsum_norm_logsumexp_over_a_long_axis():
    n = 10 ** 6
    x = dg.full((n, 2), 0.1)
    step = float(np.float32(0.1))
    assert _rel(x.cumsum(0)[-1], np.full(2, step * n)) < 1e-6
    assert _rel(x.norm(dim=0), np.full(2, np.sqrt(step ** 2 * n))) < 1e-6
    assert _rel(dg.zeros(n, 2).logsumexp(0), np.full(2, np.log(n))) < 1e-6


def test_float16_sums_accumulate_in_float32():
    x = dg.full((2, 100_000), 0.1, dtype=dg.float16)
    got = x.sum(1)
    assert got.dtype == dg.float16
    assert np.isfinite(got.numpy()).all()  # a float16 accumulator would stop at 256 (or inf)
    assert _rel(got, np.full(2, float(np.float16(0.1)) * 100_000)) < 1e-3


def test_batch_norm_over_a_large_batch_matches_float64():
    a = (np.random.default_rng(1).random((200_000, 3)) + 100).astype(np.float32)
    a64 = a.astype(np.float64)
    want = (a64 - a64.mean(0)) / np.sqrt(a64.var(0) + 1e-5)
    got = dg.nn.BatchNorm1d(3)(dg.tensor(a))
    assert np.abs(got.detach().numpy() - want).max() < 1e-3


# ----------------------------------------------------------------------------- pooling of ints
@requires_torch
@pytest.mark.parametrize("kw", [dict(kernel_size=2), dict(kernel_size=3, padding=1),
                                dict(kernel_size=3, padding=1, count_include_pad=False),
                                dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_avg_pool_of_int64_truncates_like_torch(kw):
    import torch
    x = np.array([[[-3, 0, 5, 2, 7, 1, -7, -1]]])
    got = F.avg_pool1d(dg.tensor(x), **kw)
    assert_close(got, torch.nn.functional.avg_pool1d(torch.tensor(x), **kw))
    got2 = F.avg_pool2d(dg.tensor(x[None]), (1, 2), divisor_override=3)
    assert got2.numpy().ravel().tolist() == [-1, 2, 2, -2]  # Σ/3 toward zero


@pytest.mark.parametrize("dtype,name", [(dg.int32, "Int"), (dg.uint8, "Byte"),
                                        (dg.bool, "Bool")])
def test_avg_pool_of_other_ints_raises(dtype, name):
    with pytest.raises(NotImplementedError, match=f"avg_pool2d.*'{name}'"):
        F.avg_pool2d(dg.ones(1, 1, 2, 2, dtype=dtype), 2)


@pytest.mark.parametrize("fn", [F.adaptive_avg_pool1d, F.adaptive_avg_pool2d,
                                F.adaptive_avg_pool3d])
def test_adaptive_avg_pool_of_ints_raises(fn):
    nd = int(fn.__name__[-2])
    with pytest.raises(NotImplementedError, match="adaptive_avg_pool.*'Long'"):
        fn(dg.ones((1, 1) + (4,) * nd, dtype=dg.int64), 2)


# ----------------------------------------------------------------------------- std, BCE, shrink
@requires_torch
@pytest.mark.parametrize("kw", [{}, {"dim": 0}, {"dim": 1, "correction": 0}])
def test_std_of_a_constant_has_zero_gradient(kw):
    import torch
    x = dg.full((4, 3), 2.5, dtype=dg.float64, requires_grad=True)
    xt = to_torch(x)
    x.std(**kw).sum().backward()
    xt.std(**kw).sum().backward()
    assert_close(x.grad, xt.grad)
    assert (x.grad.numpy() == 0).all()


def test_std_gradient_elsewhere_still_matches_finite_differences():
    x = dg.tensor(np.random.default_rng(2).standard_normal((3, 4)), requires_grad=True)
    assert dg.autograd.gradcheck(lambda t: t.std(1), (x,))
    assert dg.autograd.gradgradcheck(lambda t: t.std(), (x,))


def test_binary_cross_entropy_refuses_nan_predictions():
    p = dg.tensor([float("nan"), 0.5])
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(p, dg.tensor([1.0, 0.0]))


@requires_torch
@pytest.mark.parametrize("name", ["softshrink", "hardshrink"])
def test_shrink_of_nan_is_nan(name):
    import torch
    vals = [float("nan"), float("inf"), -float("inf"), 0.3, -0.7, 0.5]
    x = dg.tensor(vals, requires_grad=True)
    xt = to_torch(x)
    y, yt = getattr(F, name)(x), getattr(torch.nn.functional, name)(xt)
    assert np.isnan(y.detach().numpy()[0])
    assert_close(y, yt)
    y.sum().backward()
    yt.sum().backward()
    assert_close(x.grad, xt.grad)


# ----------------------------------------------------------------------------- narrow, take_along_dim
@requires_torch
@pytest.mark.parametrize("args", [(0, 3, 4), (0, 6, 0), (0, -6, 1), (0, 2, -1), (0, 1.0, 2),
                                  (0, 5, 0), (0, -2, 2), (1, 0, 1)])
def test_narrow_checks_its_range_like_torch(args):
    import torch
    try:
        want = torch.arange(5).narrow(*args)
    except (RuntimeError, IndexError, TypeError) as e:
        with pytest.raises(type(e)):
            dg.arange(5).narrow(*args)
    else:
        assert dg.arange(5).narrow(*args).tolist() == want.tolist()


@requires_torch
@pytest.mark.parametrize("shape,idx,dim", [((2, 3), [[0], [2]], 1), ((2, 3), [[0, 1]], 1),
                                           ((2, 3), [5, 0], None), ((3, 4, 2), [[[1]], [[0]],
                                                                             [[2]]], 0)])
def test_take_along_dim_matches_torch(shape, idx, dim):
    import torch
    x = dg.arange(float(np.prod(shape))).reshape(shape).requires_grad_()
    i = dg.tensor(idx)
    xt = to_torch(x)
    kw = {} if dim is None else {"dim": dim}
    y, yt = dg.take_along_dim(x, i, **kw), torch.take_along_dim(xt, to_torch(i), **kw)
    assert_close(y, yt)
    y.sum().backward()
    yt.sum().backward()
    assert_close(x.grad, xt.grad)


# ----------------------------------------------------------------------------- modules
@requires_torch
@pytest.mark.parametrize("register", [
    lambda m, lib: m.register_buffer("weight", lib.zeros(2)),
    lambda m, lib: m.register_parameter("bias_", None) or m.register_buffer("bias_", lib.ones(1)),
    lambda m, lib: m.register_parameter("forward", None),
    lambda m, lib: m.add_module("weight", lib.nn.ReLU()),
    lambda m, lib: m.register_buffer(3, lib.zeros(1)),
])
def test_register_refuses_to_shadow_an_attribute(register):
    import torch
    for lib in (torch, dg):
        m = lib.nn.Linear(2, 2)
        try:
            register(m, torch)
            want = None
        except (KeyError, TypeError) as e:
            want = type(e)
        if lib is torch:
            expected = want
    m = dg.nn.Linear(2, 2)
    with pytest.raises(expected):
        register(m, dg)
    assert list(m.state_dict())[:2] == ["weight", "bias"]


def test_register_again_under_the_same_kind_is_allowed():
    m = dg.nn.Linear(2, 2)
    m.register_buffer("scale", dg.ones(1))
    m.register_buffer("scale", dg.zeros(1))
    m.weight = dg.nn.Parameter(dg.zeros(2, 2))
    m.register_parameter("weight", dg.nn.Parameter(dg.ones(2, 2)))
    assert m.scale.item() == 0 and m.weight.sum().item() == 4


@pytest.mark.parametrize("kw", [dict(eps=-1.0), dict(eps=-1e-5), dict(momentum=-0.1),
                                dict(momentum=1.5), dict(eps="1e-5")])
def test_batch_norm_checks_eps_and_momentum(kw):
    with pytest.raises(ValueError, match="eps|momentum"):
        dg.nn.BatchNorm1d(3, **kw)


def test_functional_batch_norm_in_training_refuses_negative_eps():
    x = dg.tensor([[1.0, 2.0], [1.0, 2.0 + 1e-4]])  # σ² + ε < 0 gave NaN
    with pytest.raises(ValueError, match="eps must be non-negative"):
        F.batch_norm(x, None, None, training=True, eps=-1e-3)


# ----------------------------------------------------------------------------- float16
@pytest.mark.parametrize("fn", [lambda t: t.sigmoid(), dg.erf, lambda t: t.sum(0),
                                lambda t: t.mean(), lambda t: t.std(0), lambda t: t.softmax(1),
                                lambda t: F.gelu(t), lambda t: F.layer_norm(t, (3,)),
                                lambda t: F.binary_cross_entropy(t.sigmoid(), t.detach() * 0),
                                lambda t: t.logsumexp(1), lambda t: t.norm()])
def test_float16_stays_float16_forward_and_backward(fn):
    x = dg.tensor(np.random.default_rng(3).random((4, 3)).astype(np.float16),
                  requires_grad=True)
    y = fn(x)
    assert y.dtype == dg.float16
    y.sum().backward()
    assert x.grad.dtype == dg.float16


# ----------------------------------------------------------------------------- ADALINE targets
X2 = np.array([[0, 0], [0, 1], [1, 0], [1, 1.0]])


def test_adaline_learns_bipolar_and_with_sign_output():
    a = Adaline(2, lr=0.05, tol=1e-10, dtype=dg.float64).fit(X2, [-1, -1, -1, 1], epochs=3000)
    assert a.labels_ == (-1.0, 1.0) and a.threshold == 0.0
    assert a.predict(X2).tolist() == [-1, -1, -1, 1]
    assert a.errors_[-1] == 0
    # LMS on ±1 AND: least squares w = (1, 1), b = −3/2 (the online rule hovers near it)
    np.testing.assert_allclose(np.append(a.coef_, a.intercept_), [1, 1, -1.5], atol=0.1)


def test_adaline_is_lms_regression_on_real_targets():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3))
    y = X @ [1.5, -2.0, 0.5] + 0.3
    a = Adaline(3, lr=0.02, tol=1e-12, dtype=dg.float64).fit(X, y, epochs=2000)
    assert a.labels_ is None and a.errors_ == []
    np.testing.assert_allclose(a.coef_, [1.5, -2.0, 0.5], atol=1e-6)
    assert a.intercept_ == pytest.approx(0.3, abs=1e-6)
    np.testing.assert_allclose(a.predict(X), y, atol=1e-5)  # z itself
    assert a.cost_[-1] < 1e-9 < a.cost_[0]


def test_adaline_refuses_non_finite_targets():
    with pytest.raises(ValueError, match="finite"):
        Adaline(2).fit(X2, [0, 1, float("nan"), 1])


# ----------------------------------------------------------------------------- leaking warnings
@pytest.mark.parametrize("fn", [lambda: dg.log(dg.zeros(2)),
                                lambda: dg.logsumexp(dg.full((2, 3), float("-inf")), 1),
                                lambda: F.log_softmax(dg.full((2, 3), float("-inf")), 1),
                                lambda: dg.tensor([1.0, 0.0]) / dg.tensor([0.0, 0.0])])
def test_no_numpy_warning_where_torch_is_silent(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fn()
