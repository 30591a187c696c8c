"""Losses (functional and modules) against PyTorch: values and gradients for every reduction,
cross-entropy over every combination of target kind / weight / ignore_index / label
smoothing / K-dim input, gradcheck and double backward, stability with logits of 1e4,
clear errors, and the notes' extras (SSE, ½-SSE, sparsity KL, L1/L2 penalties)."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import deltagrad as dg
import deltagrad.nn as nn
import deltagrad.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

SETTINGS = settings(max_examples=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-9, atol=1e-12)}
REDUCTIONS = ["mean", "sum", "none"]
STABLE = dict(over="raise", invalid="raise", divide="raise")


def _pair(a, requires_grad=True):
    return dg.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def _check(loss, tloss, wrt, dtype, tol=None):
    """Compare values, then the gradients of ⟨g, loss⟩ with respect to each pair in ``wrt``."""
    tol = tol or TOL[dtype]
    assert loss.dtype == np.dtype(dtype), loss.dtype
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), **tol)
    g = np.random.default_rng(9).standard_normal(tuple(loss.shape)).astype(dtype)
    grads = dg.autograd.grad(loss, [w[0] for w in wrt], dg.tensor(g))
    tgrads = torch.autograd.grad(tloss, [w[1] for w in wrt], torch.tensor(g))
    for a, b in zip(grads, tgrads):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a.numpy(), b.numpy(), **tol)


SHAPES = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple)
DTYPES = st.sampled_from([np.float32, np.float64])


# ----------------------------------------------------------------------------- regression
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kw", [("mse_loss", {}), ("l1_loss", {}), ("huber_loss", {}),
                                     ("huber_loss", {"delta": 0.5}), ("smooth_l1_loss", {}),
                                     ("smooth_l1_loss", {"beta": 2.0}),
                                     ("smooth_l1_loss", {"beta": 0.0})])
@SETTINGS
@given(shape=SHAPES, dtype=DTYPES, seed=st.integers(0, 2 ** 16))
def test_regression_losses_match_torch(name, kw, reduction, shape, dtype, seed):
    rng = np.random.default_rng(seed)
    x, tx = _pair(rng.standard_normal(shape).astype(dtype))
    y, ty = _pair(rng.standard_normal(shape).astype(dtype))
    _check(getattr(F, name)(x, y, reduction=reduction, **kw),
           getattr(TF, name)(tx, ty, reduction=reduction, **kw), [(x, tx), (y, ty)], dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weighted_regression_losses_match_torch(name, reduction):
    rng = np.random.default_rng(0)
    x, tx = _pair(rng.standard_normal((4, 3)))
    y, ty = _pair(rng.standard_normal((4, 3)))
    w, tw = _pair(rng.uniform(0.1, 2, (4, 3)), requires_grad=False)
    _check(getattr(F, name)(x, y, reduction=reduction, weight=w),
           getattr(TF, name)(tx, ty, reduction=reduction, weight=tw), [(x, tx)], np.float64)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("size_average,reduce", list(itertools.product([None, True, False],
                                                                       [None, True, False])))
def test_legacy_size_average_and_reduce(size_average, reduce):
    rng = np.random.default_rng(0)
    x, tx = _pair(rng.standard_normal((3, 2)))
    y, ty = _pair(rng.standard_normal((3, 2)))
    _check(F.mse_loss(x, y, size_average, reduce), TF.mse_loss(tx, ty, size_average, reduce),
           [(x, tx)], np.float64)
    m = nn.MSELoss(size_average, reduce)
    assert m.reduction == torch.nn.MSELoss(size_average, reduce).reduction


@pytest.mark.parametrize("size_average,reduce", [(False, None), (None, False), (True, True)])
def test_legacy_flags_warn_as_torch_warns(size_average, reduce):
    """two_layer_net_module.py's ``MSELoss(size_average=False)``: PyTorch's deprecation
    warning, naming the reduction to use instead."""
    import warnings
    messages = []
    for make in (lambda: nn.MSELoss(size_average, reduce),
                 lambda: torch.nn.MSELoss(size_average, reduce),
                 lambda: F.mse_loss(dg.ones(2), dg.ones(2), size_average, reduce),
                 lambda: TF.mse_loss(torch.ones(2), torch.ones(2), size_average, reduce)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            make()
        messages.append([str(w.message) for w in caught if w.category is UserWarning])
    assert messages[0] == messages[1] == messages[2] == messages[3]
    assert len(messages[0]) == 1 and "please use reduction=" in messages[0][0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.MSELoss(reduction="sum")                     # the modern spelling stays silent


@pytest.mark.parametrize("var_shape", [(4, 3), (4, 1), (4,), (1, 3), "float"])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_matches_torch(var_shape, full, reduction):
    """Heteroscedastic (one σ² per output) and homoscedastic (σ² shared) forms."""
    rng = np.random.default_rng(1)
    x, tx = _pair(rng.standard_normal((4, 3)))
    y, ty = _pair(rng.standard_normal((4, 3)))
    if var_shape == "float":
        v, tv = 0.7, 0.7
        wrt = [(x, tx), (y, ty)]
    else:
        a = rng.uniform(0.2, 2, var_shape)
        a.flat[0] = 1e-9  # below eps: clamped for the value, gradient passes (as torch)
        v, tv = _pair(a)
        wrt = [(x, tx), (y, ty), (v, tv)]
    _check(F.gaussian_nll_loss(x, y, v, full=full, reduction=reduction),
           TF.gaussian_nll_loss(tx, ty, tv, full=full, reduction=reduction), wrt, np.float64,
           tol=dict(rtol=1e-9, atol=1e-9))
    loss = nn.GaussianNLLLoss(full=full, reduction=reduction)
    assert np.allclose(loss(x, y, v).detach().numpy(),
                       torch.nn.GaussianNLLLoss(full=full, reduction=reduction)(tx, ty, tv)
                       .detach().numpy())


def test_gaussian_nll_rejects_bad_var():
    x, y = dg.randn(4, 3), dg.randn(4, 3)
    with pytest.raises(ValueError, match=r"var shape \(2, 3\).*\(4, 3\)"):
        F.gaussian_nll_loss(x, y, dg.ones(2, 3))
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, y, -dg.ones(4, 3))


# ----------------------------------------------------------------------------- binary
@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(shape=SHAPES, dtype=DTYPES, seed=st.integers(0, 2 ** 16), weighted=st.booleans())
def test_bce_matches_torch(reduction, shape, dtype, seed, weighted):
    rng = np.random.default_rng(seed)
    p, tp = _pair(rng.uniform(0.01, 0.99, shape).astype(dtype))
    y, ty = _pair(rng.uniform(0, 1, shape).astype(dtype))
    w = tw = None
    if weighted:
        w, tw = _pair(rng.uniform(0.5, 2, shape[-1:]).astype(dtype), requires_grad=False)
    _check(F.binary_cross_entropy(p, y, w, reduction=reduction),
           TF.binary_cross_entropy(tp, ty, tw, reduction=reduction), [(p, tp), (y, ty)], dtype)


def test_bce_clamps_log_at_minus_100_like_torch():
    a = np.array([0.0, 1.0, 0.0, 1.0, 1e-30, 0.5])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.5])
    p, tp = _pair(a)
    with np.errstate(**STABLE):
        loss = F.binary_cross_entropy(p, dg.tensor(t), reduction="none")
        loss.sum().backward()
    tloss = TF.binary_cross_entropy(tp, torch.tensor(t), reduction="none")
    tloss.sum().backward()
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy())
    np.testing.assert_allclose(loss.detach().numpy()[:2], [100.0, 100.0])
    # ∂/∂p = w(p − y)/max(p(1 − p), 1e-12): finite where p hits 0 or 1 (torch's 1e-12 is
    # a float32 constant, hence rtol)
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-8)
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(dg.tensor([1.5]), dg.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@SETTINGS
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple), dtype=DTYPES,
       seed=st.integers(0, 2 ** 16), weighted=st.booleans(), pos=st.booleans())
def test_bce_with_logits_matches_torch(reduction, shape, dtype, seed, weighted, pos):
    rng = np.random.default_rng(seed)
    x, tx = _pair((rng.standard_normal(shape) * 4).astype(dtype))
    y, ty = _pair(rng.uniform(0, 1, shape).astype(dtype))
    w = tw = pw = tpw = None
    if weighted:
        w, tw = _pair(rng.uniform(0.5, 2, shape).astype(dtype), requires_grad=False)
    if pos:
        pw, tpw = _pair(rng.uniform(0.5, 3, shape[-1:]).astype(dtype), requires_grad=False)
    _check(F.binary_cross_entropy_with_logits(x, y, w, reduction=reduction, pos_weight=pw),
           TF.binary_cross_entropy_with_logits(tx, ty, tw, reduction=reduction, pos_weight=tpw),
           [(x, tx), (y, ty)], dtype)


def test_bce_with_logits_stable_at_1e4_float32():
    a = np.array([-1e4, -100.0, 0.0, 100.0, 1e4], np.float32)
    t = np.array([1.0, 1.0, 0.5, 0.0, 0.0], np.float32)
    x, tx = _pair(a)
    with np.errstate(**STABLE):
        loss = F.binary_cross_entropy_with_logits(x, dg.tensor(t), reduction="none",
                                                  pos_weight=dg.tensor([2.0]))
        gx, = dg.autograd.grad(loss.sum(), x, create_graph=True)
        hx, = dg.autograd.grad(gx.sum(), x)
    tloss = TF.binary_cross_entropy_with_logits(tx, torch.tensor(t), reduction="none",
                                                pos_weight=torch.tensor([2.0]))
    np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=1e-6)
    assert np.isfinite(gx.detach().numpy()).all() and np.isfinite(hx.numpy()).all()
    np.testing.assert_allclose(loss.detach().numpy()[[0, 4]], [2e4, 1e4])


# ----------------------------------------------------------------------------- categorical
CE_SHAPES = [(5,), (4, 5), (3, 5, 2), (2, 5, 3, 2)]


def _ce_case(shape, kind, ignore, dtype, seed=0):
    rng = np.random.default_rng(seed)
    C = shape[1] if len(shape) > 1 else shape[0]
    x = (rng.standard_normal(shape) * 2).astype(dtype)
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    if kind == "index":
        t = rng.integers(0, C, tshape)
        if ignore and t.size > 1:
            t.flat[1] = 2  # make sure ignore_index=2 hits something
        tt = dg.tensor(t), torch.tensor(t)
    else:
        q = rng.uniform(0, 1, shape).astype(dtype)
        q /= q.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)
        tt = dg.tensor(q), torch.tensor(q)
    w = rng.uniform(0.2, 2, C).astype(dtype)
    return x, tt, (dg.tensor(w), torch.tensor(w))


@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("kind", ["index", "prob"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_every_combination_matches_torch(shape, kind, weighted, ignore, smoothing,
                                                       reduction):
    dtype = np.float64
    a, (t, tt), (w, tw) = _ce_case(shape, kind, ignore, dtype)
    x, tx = _pair(a)
    kw = dict(ignore_index=2 if ignore else -100, reduction=reduction, label_smoothing=smoothing)
    if kind == "prob" and ignore:  # as torch: ignore_index only means something for indices
        with pytest.raises(RuntimeError, match="ignore_index is not supported"):
            F.cross_entropy(x, t, **kw)
        return
    _check(F.cross_entropy(x, t, w if weighted else None, **kw),
           TF.cross_entropy(tx, tt, tw if weighted else None, **kw), [(x, tx)], dtype)
    m = nn.CrossEntropyLoss(w if weighted else None, **kw)
    tm = torch.nn.CrossEntropyLoss(tw if weighted else None, **kw)
    np.testing.assert_allclose(m(x, t).detach().numpy(), tm(tx, tt).detach().numpy(), rtol=1e-9)


@SETTINGS
@given(n=st.integers(1, 6), c=st.integers(1, 6), dtype=DTYPES, seed=st.integers(0, 2 ** 16),
       smoothing=st.sampled_from([0.0, 0.1]))
def test_cross_entropy_random_float32_and_float64(n, c, dtype, seed, smoothing):
    rng = np.random.default_rng(seed)
    x, tx = _pair((rng.standard_normal((n, c)) * 3).astype(dtype))
    t = rng.integers(0, c, n)
    _check(F.cross_entropy(x, dg.tensor(t), label_smoothing=smoothing),
           TF.cross_entropy(tx, torch.tensor(t), label_smoothing=smoothing), [(x, tx)], dtype)


def test_cross_entropy_soft_target_gradient_matches_torch():
    """A target that requires grad (e.g. distillation) gets torch's gradient too."""
    a, (q, tq), (w, tw) = _ce_case((4, 5), "prob", False, np.float64)
    x, tx = _pair(a)
    q.requires_grad_(True)
    tq.requires_grad_(True)
    _check(F.cross_entropy(x, q, w, label_smoothing=0.1),
           TF.cross_entropy(tx, tq, tw, label_smoothing=0.1), [(x, tx), (q, tq)], np.float64)


def test_cross_entropy_all_ignored_and_empty_give_nan_like_torch():
    x = dg.randn(2, 3)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert math.isnan(F.cross_entropy(x, dg.tensor([-100, -100])).item())
        assert math.isnan(F.cross_entropy(dg.zeros(0, 3), dg.zeros(0, dtype=dg.int64)).item())
    assert F.cross_entropy(dg.zeros(0, 3), dg.zeros(0, dtype=dg.int64), reduction="sum").item() \
        == 0.0


def test_cross_entropy_stable_at_1e4_float32():
    a = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [5e3, 5e3, -1e4]], np.float32)
    t = np.array([1, 2, 0])
    x, tx = _pair(a)
    for smoothing in (0.0, 0.2):
        with np.errstate(**STABLE):
            loss = F.cross_entropy(x, dg.tensor(t), label_smoothing=smoothing, reduction="none")
            gx, = dg.autograd.grad(loss.sum(), x, create_graph=True)
            hx, = dg.autograd.grad((gx * gx).sum(), x)
        tloss = TF.cross_entropy(tx, torch.tensor(t), label_smoothing=smoothing,
                                 reduction="none")
        tgx, = torch.autograd.grad(tloss.sum(), tx)
        np.testing.assert_allclose(loss.detach().numpy(), tloss.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(gx.detach().numpy(), tgx.numpy(), atol=1e-6)
        assert np.isfinite(hx.numpy()).all()
    np.testing.assert_allclose(F.cross_entropy(x.detach(), dg.tensor(t), reduction="none").numpy(),
                               [2e4, 0.0, math.log(2)], rtol=1e-6)


@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(shape, weighted, ignore, reduction):
    a, (t, tt), (w, tw) = _ce_case(shape, "index", ignore, np.float64, seed=3)
    x, tx = _pair(a)
    kw = dict(ignore_index=2 if ignore else -100, reduction=reduction)
    _check(F.nll_loss(x, t, w if weighted else None, **kw),
           TF.nll_loss(tx, tt, tw if weighted else None, **kw), [(x, tx)], np.float64)
    m = nn.NLLLoss(w if weighted else None, **kw)
    np.testing.assert_allclose(m(x, t).detach().numpy(),
                               TF.nll_loss(tx, tt, tw if weighted else None, **kw)
                               .detach().numpy())


def test_cross_entropy_equals_softmax_regression_gradient():
    """Seed 002 §1.6: ∇_z CE = −(e_t − ŷ) for one sample."""
    z = dg.tensor([[1.0, 2.0, 0.5]], requires_grad=True)
    F.cross_entropy(z, dg.tensor([1])).backward()
    y_hat = F.softmax(z.detach(), -1).numpy()
    np.testing.assert_allclose(z.grad.numpy(), y_hat - np.array([[0, 1, 0]]), rtol=1e-6)
    # one-hot probabilities give the same as indices
    np.testing.assert_allclose(F.cross_entropy(z, dg.tensor([[0.0, 1.0, 0.0]])).item(),
                               F.cross_entropy(z, dg.tensor([1])).item(), rtol=1e-6)


# ----------------------------------------------------------------------------- KL
@pytest.mark.filterwarnings("ignore:reduction. 'mean'")
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kl_div_matches_torch(reduction, log_target, dtype):
    rng = np.random.default_rng(4)
    x, tx = _pair(np.log(rng.dirichlet(np.ones(5), 4)).astype(dtype))
    p = rng.dirichlet(np.ones(5), 4)
    p[0, 0] = 0.0  # 0·ln 0 = 0
    p = np.log(p + 1e-3) if log_target else p
    y, ty = _pair(p.astype(dtype))
    tl = TF.kl_div(tx, ty, reduction=reduction, log_target=log_target)
    with np.errstate(**STABLE):
        loss = F.kl_div(x, y, reduction=reduction, log_target=log_target)
    _check(loss, tl, [(x, tx)], dtype)
    # ∂/∂y = ln y + 1 − x is −∞ at y = 0 (torch: nan); compare it elsewhere
    g = np.random.default_rng(9).standard_normal(tuple(loss.shape)).astype(dtype)
    gy, = dg.autograd.grad(F.kl_div(x, y, reduction=reduction, log_target=log_target), y,
                           dg.tensor(g))
    tgy, = torch.autograd.grad(TF.kl_div(tx, ty, reduction=reduction, log_target=log_target),
                               ty, torch.tensor(g))
    ok = np.isfinite(tgy.numpy())
    assert np.isfinite(gy.numpy()).all() and ok.sum() >= 19
    np.testing.assert_allclose(gy.numpy()[ok], tgy.numpy()[ok], **TOL[dtype])
    assert repr(nn.KLDivLoss(reduction="batchmean")) == "KLDivLoss()"


# ----------------------------------------------------------------------------- checks
GRADCHECK = {
    "mse": lambda x, y: F.mse_loss(x, y),
    "l1": lambda x, y: F.l1_loss(x, y, reduction="sum"),
    "huber": lambda x, y: F.huber_loss(x, y, delta=0.7),
    "smooth_l1": lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
    "bce": lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()),
    "bce_logits": lambda x, y: F.binary_cross_entropy_with_logits(
        x, y.sigmoid(), pos_weight=dg.tensor([1.0, 2.0, 0.5, 1.5])),
    "bce_logits_one_node": lambda x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()),
    "ce_index": lambda x, y: F.cross_entropy(x, dg.tensor([0, 3, 1]), label_smoothing=0.1,
                                             weight=dg.tensor([1.0, 2.0, 0.5, 1.0],
                                                              dtype=dg.float64)),
    "ce_prob": lambda x, y: F.cross_entropy(x, F.softmax(y, 1)),
    "nll": lambda x, y: F.nll_loss(F.log_softmax(x, 1), dg.tensor([0, 3, 1])),
    "gaussian": lambda x, y: F.gaussian_nll_loss(x, y, y.exp()),
    "kl": lambda x, y: F.kl_div(F.log_softmax(x, 1), F.softmax(y, 1), reduction="batchmean"),
    "kl_log": lambda x, y: F.kl_div(x, y, log_target=True),
    "half_sse": lambda x, y: F.half_sse_loss(x, y),
    "sparsity_kl": lambda x, y: F.sparsity_kl(0.05, x.sigmoid().mean(0)),
}
TWICE = ["mse", "bce", "bce_logits", "bce_logits_one_node", "ce_index", "ce_prob", "nll", "gaussian", "kl", "kl_log",
         "half_sse", "sparsity_kl", "huber", "smooth_l1"]


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck(name):
    rng = np.random.default_rng(2)
    x = dg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    y = dg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert dg.autograd.gradcheck(GRADCHECK[name], (x, y))


@pytest.mark.parametrize("name", TWICE)
def test_gradgradcheck(name):
    rng = np.random.default_rng(3)
    x = dg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    y = dg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert dg.autograd.gradgradcheck(GRADCHECK[name], (x, y))


def test_fused_cross_entropy_hessian_vector_product_matches_torch():
    rng = np.random.default_rng(5)
    x, tx = _pair(rng.standard_normal((4, 6)))
    t = rng.integers(0, 6, 4)
    u = rng.standard_normal((4, 6))
    gx, = dg.autograd.grad(F.cross_entropy(x, dg.tensor(t), label_smoothing=0.2), x,
                           create_graph=True)
    hx, = dg.autograd.grad((gx * dg.tensor(u)).sum(), x)
    tgx, = torch.autograd.grad(TF.cross_entropy(tx, torch.tensor(t), label_smoothing=0.2), tx,
                               create_graph=True)
    thx, = torch.autograd.grad((tgx * torch.tensor(u)).sum(), tx)
    np.testing.assert_allclose(hx.numpy(), thx.numpy(), rtol=1e-10, atol=1e-14)


# ----------------------------------------------------------------------------- errors
def test_invalid_reduction_is_rejected_by_every_loss():
    x, y = dg.rand(3, 4), dg.rand(3, 4)
    t = dg.tensor([0, 1, 2])
    calls = [lambda r: F.mse_loss(x, y, reduction=r), lambda r: F.l1_loss(x, y, reduction=r),
             lambda r: F.huber_loss(x, y, reduction=r),
             lambda r: F.smooth_l1_loss(x, y, reduction=r),
             lambda r: F.binary_cross_entropy(x, y, reduction=r),
             lambda r: F.binary_cross_entropy_with_logits(x, y, reduction=r),
             lambda r: F.cross_entropy(x, t, reduction=r), lambda r: F.nll_loss(x, t, reduction=r),
             lambda r: F.gaussian_nll_loss(x, y, 1.0, reduction=r),
             lambda r: F.kl_div(x, y, reduction=r), lambda r: F.sparsity_kl(0.1, x, reduction=r)]
    for call in calls:
        with pytest.raises(ValueError, match="reduction must be one of"):
            call("average")
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(x, y, reduction="batchmean")


def test_clear_errors_for_bad_targets():
    x = dg.randn(4, 3)
    with pytest.raises(RuntimeError, match=r"mse_loss: target must be a floating point.*int64"):
        F.mse_loss(x, dg.tensor([[1, 2, 3]] * 4))
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(4,\) .* \(4, 3\)"):
        F.mse_loss(x, dg.randn(4))
    with pytest.raises(ValueError, match=r"cross_entropy: a floating target .* \(4, 3\).*"
                                         r"got \(4,\).*int64 .* \(4,\)"):
        F.cross_entropy(x, dg.tensor([0.0, 1.0, 2.0, 1.0]))
    with pytest.raises(IndexError, match=r"cross_entropy: target class index 3 .*\[0, 3\)"):
        F.cross_entropy(x, dg.tensor([0, 1, 2, 3]))
    with pytest.raises(IndexError, match=r"class index -1"):
        F.cross_entropy(x, dg.tensor([0, -1, 2, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected a class-index target of "
                                         r"shape \(4,\).*\(4, 3\).*\(4, 1\)"):
        F.cross_entropy(x, dg.tensor([[0], [1], [2], [1]]))
    with pytest.raises(RuntimeError, match=r"nll_loss: expected a target of integer class"):
        F.nll_loss(x, dg.randn(4))
    with pytest.raises(RuntimeError, match=r"cross_entropy: weight must have shape \(3,\)"):
        F.cross_entropy(x, dg.tensor([0, 1, 2, 1]), weight=dg.ones(4))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target shape"):
        F.binary_cross_entropy_with_logits(x, dg.rand(3, 4))
    with pytest.raises(ValueError, match=r"pos_weight shape \(2,\)"):
        F.binary_cross_entropy_with_logits(x, dg.rand(4, 3), pos_weight=dg.ones(2))


# ----------------------------------------------------------------------------- modules
def test_loss_modules_repr_buffers_and_attributes():
    w = dg.tensor([1.0, 2.0, 3.0])
    m = nn.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1)
    tm = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0]), ignore_index=1,
                                   label_smoothing=0.1)
    assert repr(m) == repr(tm) == "CrossEntropyLoss()"
    assert list(m.state_dict()) == list(tm.state_dict()) == ["weight"]
    assert (m.reduction, m.ignore_index, m.label_smoothing) == ("mean", 1, 0.1)
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    b = nn.BCEWithLogitsLoss(pos_weight=dg.ones(3))
    assert list(b.state_dict()) == list(torch.nn.BCEWithLogitsLoss(
        pos_weight=torch.ones(3)).state_dict())
    for name in ["MSELoss", "L1Loss", "HuberLoss", "SmoothL1Loss", "BCELoss",
                 "BCEWithLogitsLoss", "NLLLoss", "GaussianNLLLoss", "KLDivLoss"]:
        assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())
    assert nn.HuberLoss(delta=2.0).delta == 2.0 and nn.SmoothL1Loss(beta=0.5).beta == 0.5


@pytest.mark.parametrize("name,kw", [("MSELoss", {}), ("L1Loss", {"reduction": "sum"}),
                                     ("HuberLoss", {"delta": 0.5}), ("SmoothL1Loss", {"beta": 2}),
                                     ("BCELoss", {}), ("BCEWithLogitsLoss", {}),
                                     ("KLDivLoss", {"reduction": "batchmean"})])
def test_loss_modules_match_torch(name, kw):
    rng = np.random.default_rng(6)
    a, b = rng.uniform(0.05, 0.95, (3, 4)), rng.uniform(0, 1, (3, 4))
    x, tx = _pair(a)
    _check(getattr(nn, name)(**kw)(x, dg.tensor(b)),
           getattr(torch.nn, name)(**kw)(tx, torch.tensor(b)), [(x, tx)], np.float64)


# ----------------------------------------------------------------------------- notes' extras
def test_sse_and_half_sse_worked_example():
    """Seed 000 §3.3-3.4: J = ½(d − y)², ∇_w J = −(d − y)x for a linear neuron y = wᵀx."""
    x = dg.tensor([1.0, 2.0])
    w = dg.tensor([0.5, -0.25], requires_grad=True)
    d = dg.tensor(1.0)
    y = (w * x).sum()  # 0.5 − 0.5 = 0
    J = F.half_sse_loss(y, d)
    assert J.item() == pytest.approx(0.5)
    J.backward()
    np.testing.assert_allclose(w.grad.numpy(), -(1.0 - 0.0) * x.numpy())
    a, b = dg.tensor([1.0, 2.0, 3.0]), dg.tensor([1.5, 2.0, 1.0])
    assert F.sse_loss(a, b).item() == pytest.approx(0.25 + 4.0)
    assert F.half_sse_loss(a, b).item() == pytest.approx(0.5 * 4.25)
    assert nn.SSELoss()(a, b).item() == pytest.approx(4.25)
    assert nn.HalfSSELoss()(a, b).item() == pytest.approx(2.125)


def test_sparsity_kl_matches_bernoulli_kl_and_torch():
    """Seed 000: J_sparse = J + β Σ_j KL(ρ‖ρ̂_j)."""
    rho = 0.05
    r = np.array([0.01, 0.05, 0.3, 0.9])
    rho_hat, trho_hat = _pair(r)
    kl = F.sparsity_kl(rho, rho_hat)
    expected = (rho * np.log(rho / r) + (1 - rho) * np.log((1 - rho) / (1 - r))).sum()
    assert kl.item() == pytest.approx(expected, rel=1e-12)
    tp = torch.distributions.Bernoulli(probs=torch.tensor(rho, dtype=torch.float64))
    tkl = torch.distributions.kl_divergence(tp, torch.distributions.Bernoulli(probs=trho_hat))
    tkl.sum().backward()
    kl.backward()
    np.testing.assert_allclose(rho_hat.grad.numpy(), trho_hat.grad.numpy(), rtol=1e-10,
                               atol=1e-12)
    assert F.sparsity_kl(rho, dg.tensor([rho] * 3, dtype=dg.float64)).item() == \
        pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(rho_hat.grad.numpy()[1], 0.0, atol=1e-12)
    # a saturated unit in float32 gives a large but finite penalty
    with np.errstate(**STABLE):
        v = F.sparsity_kl(0.05, dg.tensor([0.0, 1.0]), reduction="none")
    assert np.isfinite(v.numpy()).all() and (v.numpy() > 0.4).all()
    assert nn.SparsityKLLoss(0.05)(rho_hat).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="rho"):
        F.sparsity_kl(1.5, rho_hat)


def test_l1_and_l2_penalties_follow_seed_004():
    """g(φ) = λ‖φ‖₁ with gradient λ sign(φ); g(φ) = λ/2 ‖φ‖² with gradient λφ."""
    m = nn.Linear(3, 2)
    lam = 0.1
    params = list(m.parameters())
    flat = np.concatenate([p.numpy(force=True).ravel() for p in params])
    l1 = F.l1_penalty(m.parameters(), lam)
    l2 = F.l2_penalty(params, lam)
    assert l1.item() == pytest.approx(lam * np.abs(flat).sum(), rel=1e-6)
    assert l2.item() == pytest.approx(lam / 2 * (flat ** 2).sum(), rel=1e-6)
    (l1 + l2).backward()
    for p in params:
        v = p.numpy(force=True)
        np.testing.assert_allclose(p.grad.numpy(), lam * np.sign(v) + lam * v, rtol=1e-6)
    assert F.l2_penalty(dg.tensor([3.0, 4.0])).item() == pytest.approx(12.5)
    with pytest.raises(ValueError, match="no parameters"):
        F.l1_penalty([])
