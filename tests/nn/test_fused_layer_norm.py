"""Layer normalisation as compiled row loops (kernels/numba_norm.py) against the NumPy path
(ops/normalization.py) and torch: values and every gradient to the dtype's round-off, with
rows split over the threads, and double backward through the compiled forward."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels

pytestmark = pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _run(backend, x, shape, affine, dtype):
    with kernels.use_backend(backend):
        m = dg.nn.LayerNorm(shape, elementwise_affine=affine, bias=affine)
        m = m.to(dg.float64 if dtype == np.float64 else dg.float32)
        if affine:
            n = int(np.prod(shape))
            m.weight.data = dg.tensor(np.linspace(0.5, 1.5, n).reshape(shape).astype(dtype))
            m.bias.data = dg.tensor(np.linspace(-1, 1, n).reshape(shape).astype(dtype))
        xt = dg.tensor(x, requires_grad=True)
        y = m(xt)
        w = np.cos(np.arange(y.numel())).reshape(y.shape).astype(dtype)
        (y * dg.tensor(w)).sum().backward()
        out = [y.detach().numpy(), xt.grad.numpy()]
        if affine:
            out += [m.weight.grad.numpy(), m.bias.grad.numpy()]
        return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("xshape, shape", [((7, 5, 16), (16,)), ((4, 6, 8), (6, 8)),
                                           ((3, 1000), (1000,))])
def test_compiled_layer_norm_equals_the_numpy_path(xshape, shape, affine, dtype):
    x = (np.random.default_rng(0).standard_normal(xshape) * 3 + 1).astype(dtype)
    for a, b in zip(_run("numpy", x, shape, affine, dtype), _run("numba", x, shape, affine,
                                                                  dtype)):
        np.testing.assert_allclose(b, a, **TOL[dtype])


def test_rows_split_over_threads_give_the_numbers_of_one_thread(monkeypatch):
    x = np.random.default_rng(1).standard_normal((64, 32)).astype(np.float32)
    one = _run("numba", x, (32,), True, np.float32)
    from deltagrad.kernels import numba_parallel
    monkeypatch.setattr(numba_parallel, "MIN_SPLIT_ELEMENTS", 64)
    before = dg.get_num_threads()
    dg.set_num_threads(2)
    try:
        split = _run("numba", x, (32,), True, np.float32)
    finally:
        dg.set_num_threads(before)
    # per-row work, and γ, β summed over the same blocks of rows (ROW_BLOCKS): identical
    for a, b in zip(split, one):
        np.testing.assert_array_equal(a, b)


def test_double_backward_through_the_compiled_forward_matches_torch():
    import torch
    x = np.random.default_rng(2).standard_normal((5, 12))
    with kernels.use_backend("numba"):
        xt = dg.tensor(x, requires_grad=True)
        y = dg.nn.functional.layer_norm(xt, (12,))
        (g,) = dg.autograd.grad((y ** 3).sum(), xt, create_graph=True)
        g.sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.layer_norm(tx, (12,))
    (tg,) = torch.autograd.grad((ty ** 3).sum(), tx, create_graph=True)
    tg.sum().backward()
    np.testing.assert_allclose(g.detach().numpy(), tg.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_transposed_input_takes_the_numpy_path():
    from deltagrad.ops.normalization import _fused_layer_norm
    x = np.zeros((8, 4), np.float32)
    with kernels.use_backend("numba"):
        assert _fused_layer_norm(x, None, None, (1,))
        assert not _fused_layer_norm(x.T, None, None, (1,))
        assert not _fused_layer_norm(x.astype(np.float16), None, None, (1,))
        assert not _fused_layer_norm(x, None, None, (0, 1))
    with kernels.use_backend("numpy"):
        assert not _fused_layer_norm(x, None, None, (1,))
