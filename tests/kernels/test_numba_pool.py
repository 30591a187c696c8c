"""The compiled 2×2 max pooling (kernels/numba_pool.py) against the NumPy passes of
ops/pooling.py and against PyTorch: values, indices and gradients, with ties, NaN, odd sizes
and both float dtypes; and which geometries take it."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels
from deltagrad.ops import pooling

pytest.importorskip("numba")
torch = pytest.importorskip("torch")


def _input(shape, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(dtype)
    a[0, 0, 0, :3] = np.nan             # a NaN window, and a window with two NaNs
    a[0, 0, 1, 0] = np.nan
    a[-1, -1, 2:4, 2:4] = 1.5           # a four-way tie
    a[-1, 0, :2, :2] = -np.inf          # a window of −∞
    return a


def _deltagrad(a, g, backend, **kw):
    with kernels.use_backend(backend):
        x = dg.from_numpy(a).requires_grad_()
        y, i = dg.nn.functional.max_pool2d(x, 2, return_indices=True, **kw)
        y.backward(dg.from_numpy(g))
        return y.detach().numpy(), i.numpy(), x.grad.numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 4, 8, 10), (2, 3, 7, 9), (1, 2, 4, 4)])
def test_compiled_pool_equals_numpy_and_pytorch(shape, dtype):
    a = _input(shape, dtype)
    out_shape = shape[:2] + (shape[2] // 2, shape[3] // 2)
    g = np.random.default_rng(1).standard_normal(out_shape).astype(dtype)
    compiled = _deltagrad(a, g, "numba")
    reference = _deltagrad(a, g, "numpy")
    tx = torch.from_numpy(a).requires_grad_()
    ty, ti = torch.nn.functional.max_pool2d(tx, 2, return_indices=True)
    ty.backward(torch.from_numpy(g))
    twin = (ty.detach().numpy(), ti.numpy(), tx.grad.numpy())
    for c, r, t in zip(compiled, reference, twin):
        np.testing.assert_array_equal(c, r)
        np.testing.assert_array_equal(c, t)


def test_non_contiguous_input():
    a = _input((2, 3, 8, 8), np.float32)
    x = dg.from_numpy(a).permute(0, 1, 3, 2)
    with kernels.use_backend("numba"):
        compiled = dg.nn.functional.max_pool2d(x, 2).numpy()
    with kernels.use_backend("numpy"):
        reference = dg.nn.functional.max_pool2d(x, 2).numpy()
    np.testing.assert_array_equal(compiled, reference)


@pytest.mark.parametrize("kw, compiled", [
    ({}, True),
    ({"stride": 1}, False),
    ({"padding": 1}, False),
    ({"dilation": 2}, False),
    ({"ceil_mode": True}, False),  # 7 → 4 windows: the last one is padded
])
def test_which_geometry_is_compiled(kw, compiled, monkeypatch):
    seen = []
    fits = pooling._compiled

    def spy(a, geo):
        seen.append(fits(a, geo))
        return seen[-1]

    monkeypatch.setattr(pooling, "_compiled", spy)
    x = dg.randn(1, 2, 7, 7, requires_grad=True)
    with kernels.use_backend("numba"):
        dg.nn.functional.max_pool2d(x, 2, **kw).sum().backward()
    assert seen and all(s == compiled for s in seen)
