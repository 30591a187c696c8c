"""LeakyReLU's compiled forward and backward (kernels/numba_leaky_relu.py): the same numbers
as the NumPy path (float32 and float64, NaN, ±inf, −0), as PyTorch in float64, at 1 and 2
threads; double backward and the in-place form still go through the reference."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels
from deltagrad.ops import activation

from ..conftest import requires_torch, values_and_gradients_match

pytest.importorskip("numba")


def _run(backend, x, g, slope):
    with kernels.use_backend(backend):
        xt = dg.tensor(x, requires_grad=True)
        y = dg.nn.functional.leaky_relu(xt, slope)
        y.backward(dg.tensor(g))
        return y.detach().numpy(), xt.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("slope", [0.01, 0.2, 1.5, -0.3])
def test_equals_the_numpy_path(dtype, slope, threads):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 5, 3)).astype(dtype)
    x.flat[:6] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-30]
    g = rng.standard_normal(x.shape).astype(dtype)
    with kernels.use_backend("numba"):
        assert activation._compiled_leaky_relu(x)
    (y, gx), (y_ref, gx_ref) = _run("numba", x, g, slope), _run("numpy", x, g, slope)
    assert y.dtype == gx.dtype == dtype
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(gx, gx_ref, rtol=np.finfo(dtype).eps, atol=0)


@requires_torch
def test_matches_torch_in_float64_with_double_backward():
    import torch
    x = np.random.default_rng(1).standard_normal((6, 9))
    with kernels.use_backend("numba"):
        values_and_gradients_match(lambda t: dg.nn.functional.leaky_relu(t, 0.2),
                                   lambda t: torch.nn.functional.leaky_relu(t, 0.2), [x])
        xd = dg.tensor(x, requires_grad=True)
        (gx,) = dg.autograd.grad((dg.nn.functional.leaky_relu(xd, 0.2) ** 2).sum(), xd,
                                 create_graph=True)
        gx.sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    (gxt,) = torch.autograd.grad((torch.nn.functional.leaky_relu(xt, 0.2) ** 2).sum(), xt,
                                 create_graph=True)
    gxt.sum().backward()
    np.testing.assert_allclose(gx.detach().numpy(), gxt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_in_place_and_non_contiguous_inputs():
    x = np.random.default_rng(2).standard_normal((8, 6)).astype(np.float32)
    with kernels.use_backend("numba"):
        assert not activation._compiled_leaky_relu(x[:, ::2])
        strided = dg.nn.functional.leaky_relu(dg.tensor(x)[:, ::2], 0.1).numpy()
        t = dg.tensor(x.copy())
        dg.nn.functional.leaky_relu_(t, 0.1)
    expected = np.where(x > 0, x, np.float32(0.1) * x)
    np.testing.assert_array_equal(strided, expected[:, ::2])
    np.testing.assert_array_equal(t.numpy(), expected)
