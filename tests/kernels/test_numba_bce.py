"""The compiled binary cross-entropy of logits (kernels/numba_bce.py) against the NumPy path
and against PyTorch."""
import numpy as np
import pytest
import torch

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad import kernels
from deltagrad.ops import loss as loss_ops

pytest.importorskip("numba")


def _run(backend, x, y, per_example=False, reduction="none", g=None):
    """Loss and input gradient under ``backend``: F.binary_cross_entropy_with_logits, or the
    VAE's per-example sum (``loss_ops.bce_with_logits_per_example``)."""
    with kernels.use_backend(backend):
        t = dg.tensor(x, requires_grad=True)
        if per_example:
            out = loss_ops.bce_with_logits_per_example(t, dg.tensor(y))
        else:
            out = F.binary_cross_entropy_with_logits(t, dg.tensor(y), reduction=reduction)
        out.backward(dg.tensor(g) if g is not None else dg.ones_like(out))
    return out.detach().numpy(), t.grad.numpy()


def _torch(x, y, per_example=False, reduction="none", g=None):
    t = torch.tensor(x, requires_grad=True)
    f = torch.nn.functional.binary_cross_entropy_with_logits
    out = f(t, torch.tensor(y), reduction="none").flatten(1).sum(1) if per_example else \
        f(t, torch.tensor(y), reduction=reduction)
    out.backward(torch.tensor(g) if g is not None else torch.ones_like(out))
    return out.detach().numpy(), t.grad.numpy()


def test_log1p_unit_is_accurate_over_its_range():
    from numba import njit

    from deltagrad.kernels.numba_bce import log1p_unit

    @njit
    def apply(e):
        out = np.empty_like(e)
        for i in range(e.size):
            out[i] = log1p_unit(e[i])
        return out

    e = np.linspace(0, 1, 200001).astype(np.float32)
    exact = np.log1p(e.astype(np.float64))
    got = apply(e).astype(np.float64)
    assert got[0] == 0.0
    assert np.max(np.abs(got - exact) / np.maximum(exact, 1e-30)) < 4e-7  # ~3 float32 ulps


@pytest.mark.parametrize("case", ["elementwise", "mean", "sum", "per_example", "4d_per_example",
                                  "soft_targets"])
def test_compiled_bce_matches_numpy_path_and_pytorch(case):
    rng = np.random.default_rng(0)
    shape = (7, 3, 5, 6) if case.startswith("4d") else (50, 784)
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    y = (rng.random(shape) < 0.3).astype(np.float32)
    if case == "soft_targets":
        y = rng.random(shape).astype(np.float32)
    per_example = case.endswith("per_example")
    reduction = case if case in ("mean", "sum") else "none"
    g = None
    if case in ("elementwise", "soft_targets"):
        g = rng.standard_normal(shape).astype(np.float32)
    elif per_example:
        g = rng.standard_normal(shape[0]).astype(np.float32)
    with kernels.use_backend("numba"):
        assert loss_ops._compiled_bce(x, y, tuple(range(1, x.ndim)) if per_example else ())
    got = _run("numba", x, y, per_example, reduction, g)
    ref = _run("numpy", x, y, per_example, reduction, g)
    oracle = _torch(x, y, per_example, reduction, g)
    for a, b, c in zip(got, ref, oracle):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)
        np.testing.assert_allclose(a, c, rtol=2e-6, atol=2e-6)


def test_compiled_bce_extremes_as_the_numpy_path():
    """|x| = 1e4 neither overflows nor loses the loss; NaN and ±∞ give the NumPy path's."""
    x = np.array([[1e4, -1e4, 1e4, -1e4, 0.0, 88.0, -88.0, 120.0],
                  [np.nan, np.inf, -np.inf, np.inf, -np.inf, 3.0, -3.0, 1e-30]], np.float32)
    y = np.array([[1, 1, 0, 0, 1, 0, 1, 0],
                  [1, 1, 1, 0, 0, 0.5, 0.5, 1]], np.float32)
    got = _run("numba", x, y)
    ref = _run("numpy", x, y)
    oracle = _torch(x, y)
    for a, b, c in zip(got, ref, oracle):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_array_equal(np.isnan(a), np.isnan(c))
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-6)
    assert got[0][0, 2] == 1e4 and got[0][0, 1] == 1e4          # not inf, not 0
    per_example = _run("numba", x[:1], y[:1], per_example=True)[0]
    assert np.isfinite(per_example).all()
    assert per_example[0] == pytest.approx(2e4 + np.log(2) + 296, rel=1e-6)  # 1e4+1e4+ln2+88+88+120


def test_compiled_bce_double_backward_matches_numpy_path():
    """create_graph=True records the differentiable formulas: the Hessian-vector product is
    the NumPy path's."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 9)).astype(np.float32)
    y = (rng.random((4, 9)) < 0.5).astype(np.float32)
    out = {}
    for backend in ("numba", "numpy"):
        with kernels.use_backend(backend):
            t = dg.tensor(x, requires_grad=True)
            loss = loss_ops.bce_with_logits_per_example(t, dg.tensor(y)).sum()
            gx, = dg.autograd.grad(loss, t, create_graph=True)
            hv, = dg.autograd.grad((gx * gx).sum(), t)
            out[backend] = (gx.detach().numpy(), hv.numpy())
    for a, b in zip(out["numba"], out["numpy"]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_compiled_path_only_for_contiguous_float32_of_one_shape():
    """Other dtypes, layouts, shapes and reductions keep the NumPy path (float64: the
    kernel's e^t and ln(1 + e) are float32-accurate)."""
    x = np.zeros((4, 5), np.float32)
    with kernels.use_backend("numba"):
        assert loss_ops._compiled_bce(x, x.copy(), ())
        assert loss_ops._compiled_bce(x, x.copy(), (1,))
        assert not loss_ops._compiled_bce(x.astype(np.float64), x.astype(np.float64), ())
        assert not loss_ops._compiled_bce(x.T, x.T.copy(), ())
        assert not loss_ops._compiled_bce(x, x[:1].copy(), ())
        assert not loss_ops._compiled_bce(x, x.copy(), (0,))
        assert not loss_ops._compiled_bce(x[:0], x[:0], ())
    with kernels.use_backend("numpy"):
        assert not loss_ops._compiled_bce(x, x.copy(), ())
