"""ReLU's compiled backward (kernels/numba_relu.py): the same numbers as the NumPy path
(float32 and float64, NaN, ±inf, −0 in the gradient and at the kink), as PyTorch in float64,
at 1 and 2 threads; double backward, views and mixed dtypes still go through the reference."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels
from deltagrad.ops import elementwise

from ..conftest import requires_torch

pytest.importorskip("numba")


def _grad(backend, x, g):
    with kernels.use_backend(backend):
        xt = dg.tensor(x, requires_grad=True)
        dg.relu(xt).backward(dg.tensor(g))
        return xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_the_numpy_path_bit_for_bit(dtype, threads, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 4, 5)).astype(dtype)
    x.flat[:8] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-30, -1.0, -2.0]
    g = rng.standard_normal(x.shape).astype(dtype)
    g.flat[5:12] = [np.nan, np.inf, -np.inf, -3.0, np.nan, -0.0, 2.0]  # also where y ≤ 0
    calls = []
    from deltagrad.kernels import numba_relu
    monkeypatch.setattr(numba_relu, "relu_backward",
                        lambda *a, f=numba_relu.relu_backward: calls.append(1) or f(*a))
    with np.errstate(invalid="ignore"):  # the reference multiplies ±inf by 0 where y ≤ 0
        gx, gx_ref = _grad("numba", x, g), _grad("numpy", x, g)
    assert calls, "the compiled backward was not used"
    assert gx.dtype == dtype
    np.testing.assert_array_equal(gx, gx_ref)  # NaN where NaN
    assert np.array_equal(np.signbit(gx), np.signbit(gx_ref))  # −0 where −0


@requires_torch
def test_matches_torch_in_float64():
    import torch
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((6, 9)), rng.standard_normal((6, 9))
    xt = torch.tensor(x, requires_grad=True)
    torch.relu(xt).backward(torch.tensor(g))
    np.testing.assert_array_equal(_grad("numba", x, g), xt.grad.numpy())


def test_only_contiguous_arrays_of_one_dtype_take_the_compiled_pass():
    a = np.ones((4, 6), np.float32)
    with kernels.use_backend("numba"):
        assert elementwise._compiled_relu_grad(a, a)
        assert not elementwise._compiled_relu_grad(a[:, ::2], a[:, ::2])
        assert not elementwise._compiled_relu_grad(a, a.astype(np.float64))
        assert not elementwise._compiled_relu_grad(a.astype(np.int32), a.astype(np.int32))
    with kernels.use_backend("numpy"):
        assert not elementwise._compiled_relu_grad(a, a)


def test_double_backward_still_goes_through_the_graph():
    x = dg.tensor(np.random.default_rng(2).standard_normal((5, 3)), requires_grad=True)
    with kernels.use_backend("numba"):
        (gx,) = dg.autograd.grad((dg.relu(x) ** 2).sum(), x, create_graph=True)
        gx.sum().backward()
    xv = x.detach().numpy()
    np.testing.assert_allclose(gx.detach().numpy(), 2 * np.maximum(xv, 0))
    np.testing.assert_allclose(x.grad.numpy(), 2.0 * (xv > 0))

