"""Batch norm in training mode as compiled per-channel loops (kernels/numba_batch_norm.py):
the same values, gradients and running statistics as PyTorch (float64) and as the NumPy path
(float32, to round-off), at 1 and 2 threads; the layer takes the compiled path only where it
applies."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels
from deltagrad.ops import normalization

from ..conftest import requires_torch, values_and_gradients_match

pytest.importorskip("numba")

SHAPES = [(6, 3), (5, 4, 7), (4, 3, 5, 6), (2, 3, 2, 3, 4)]


@requires_torch
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_training_batch_norm_matches_torch_in_float64(shape, affine, threads):
    import torch
    rng = np.random.default_rng(0)
    c = shape[1]
    x = rng.standard_normal(shape) * 3 + 5
    w, b = rng.standard_normal(c), rng.standard_normal(c)
    rm, rv = rng.standard_normal(c), rng.random(c) + 0.5
    runs = {}

    def dg_fn(x, *wb):
        runs["dg"] = (dg.tensor(rm.copy()), dg.tensor(rv.copy()))
        return dg.nn.functional.batch_norm(x, *runs["dg"], *(wb or (None, None)),
                                           training=True, momentum=0.2, eps=1e-4)

    def torch_fn(x, *wb):
        runs["torch"] = (torch.tensor(rm.copy()), torch.tensor(rv.copy()))
        return torch.nn.functional.batch_norm(x, *runs["torch"], *(wb or (None, None)),
                                              training=True, momentum=0.2, eps=1e-4)

    with kernels.use_backend("numba"):
        assert normalization.compiled_batch_norm(x, w.reshape((c,) + (1,) * (len(shape) - 2)),
                                                 None, (0,) + tuple(range(2, len(shape))))
        values_and_gradients_match(dg_fn, torch_fn, [x, w, b] if affine else [x], tol=1e-10)
    for d, t in zip(runs["dg"], runs["torch"]):
        np.testing.assert_allclose(d.numpy(), t.numpy(), rtol=1e-12, atol=1e-12)


def _step(backend, x, layer_state, g):
    with kernels.use_backend(backend):
        layer = dg.nn.BatchNorm2d(x.shape[1])
        layer.load_state_dict(layer_state)
        xt = dg.tensor(x, requires_grad=True)
        y = layer(xt)
        (y * dg.tensor(g)).sum().backward()
        return [y.detach().numpy(), xt.grad.numpy(), layer.weight.grad.numpy(),
                layer.bias.grad.numpy(), layer.running_mean.numpy(), layer.running_var.numpy()]


def test_float32_agrees_with_the_numpy_path(threads):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((16, 8, 7, 7)) * 2 + 1).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    state = {k: v for k, v in dg.nn.BatchNorm2d(8).state_dict().items()}
    state["weight"] = dg.tensor(rng.standard_normal(8).astype(np.float32))
    state["bias"] = dg.tensor(rng.standard_normal(8).astype(np.float32))
    compiled, reference = _step("numba", x, state, g), _step("numpy", x, state, g)
    for a, b in zip(compiled, reference):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_compiled_path_only_where_it_applies():
    x = np.ones((4, 3, 5), np.float32)
    per_channel = np.ones((3, 1), np.float32)
    with kernels.use_backend("numba"):
        assert normalization.compiled_batch_norm(x, per_channel, per_channel, (0, 2))
        assert not normalization.compiled_batch_norm(x, per_channel, None, (0, 1))  # other axes
        assert not normalization.compiled_batch_norm(x[:, :, ::2], None, None, (0, 2))
        assert not normalization.compiled_batch_norm(x.astype(np.float16), None, None, (0, 2))
        assert not normalization.compiled_batch_norm(x, per_channel.astype(np.float64), None,
                                                     (0, 2))
    with kernels.use_backend("numpy"):
        assert not normalization.compiled_batch_norm(x, per_channel, per_channel, (0, 2))


@requires_torch
def test_double_backward_through_compiled_forward_matches_torch():
    import torch
    rng = np.random.default_rng(2)
    x = rng.standard_normal((5, 3, 4))
    w = rng.standard_normal(3)
    with kernels.use_backend("numba"):
        xd, wd = dg.tensor(x, requires_grad=True), dg.tensor(w, requires_grad=True)
        y = dg.nn.functional.batch_norm(xd, None, None, wd, None, training=True)
        (gx,) = dg.autograd.grad((y ** 3).sum(), xd, create_graph=True)
        (gx * gx).sum().backward()
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    yt = torch.nn.functional.batch_norm(xt, None, None, wt, None, training=True)
    (gxt,) = torch.autograd.grad((yt ** 3).sum(), xt, create_graph=True)
    (gxt * gxt).sum().backward()
    np.testing.assert_allclose(gx.detach().numpy(), gxt.detach().numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(wd.grad.numpy(), wt.grad.numpy(), rtol=1e-9, atol=1e-9)
