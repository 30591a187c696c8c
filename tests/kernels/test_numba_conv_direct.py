"""The direct single-channel convolution (kernels/numba_conv_direct.py) against the exact
answer (the im2col path in float64 on the same float32 numbers), which layers take it, and a
whole layer's gradients against PyTorch's."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels
from deltagrad.ops import conv as conv_ops

pytest.importorskip("numba")
from deltagrad.kernels import numba_conv_direct  # noqa: E402

# (N, H, W, O, kernel, pads)
CASES = [
    (3, 12, 12, 4, (5, 5), ((2, 2), (2, 2))),   # LeNet's first layer, smaller
    (2, 9, 7, 2, (3, 5), ((0, 0), (0, 0))),     # no padding, a non-square kernel and image
    (1, 6, 11, 3, (2, 3), ((1, 0), (2, 1))),    # uneven padding
    (5, 5, 5, 1, (5, 1), ((0, 0), (1, 1))),     # one output row
    (2, 28, 28, 6, (5, 5), ((2, 2), (2, 2))),   # LeNet's
]


def _geometry(h, w, kernel, pads, o):
    return conv_ops.make_geometry((h, w), kernel, (1, 1), (1, 1), pads, 1, in_channels=1,
                                  out_channels=o)


@pytest.mark.parametrize("case", CASES)
def test_forward_and_weight_gradient_equal_the_exact_ones_to_round_off(case):
    n, h, w, o, kernel, pads = case
    rng = np.random.default_rng(sum(kernel) + n)
    x = rng.standard_normal((n, 1, h, w)).astype(np.float32)
    weight = rng.standard_normal((o, 1) + kernel).astype(np.float32)
    bias = rng.standard_normal(o).astype(np.float32)
    geo = _geometry(h, w, kernel, pads, o)
    y = numba_conv_direct.conv_forward(x, weight, bias, geo.pads, geo.out_size)
    with kernels.use_backend("numpy"):
        exact = conv_ops._conv_forward(x.astype(np.float64), weight.astype(np.float64), geo,
                                       bias.astype(np.float64))
    assert y.dtype == np.float32 and y.shape == exact.shape
    np.testing.assert_allclose(y, exact, rtol=1e-5, atol=1e-5 * np.abs(exact).max())
    # without a bias, exactly the sums
    y0 = numba_conv_direct.conv_forward(x, weight, None, geo.pads, geo.out_size)
    np.testing.assert_allclose(y0 + bias[:, None, None], y, rtol=1e-6, atol=1e-6)
    g = rng.standard_normal(y.shape).astype(np.float32)
    gw = numba_conv_direct.conv_weight_grad(x, g, geo.pads, kernel)
    with kernels.use_backend("numpy"):
        gw_exact = conv_ops._conv_weight_grad(x.astype(np.float64), g.astype(np.float64), geo,
                                              weight.shape)
    assert gw.dtype == np.float32 and gw.shape == weight.shape
    np.testing.assert_allclose(gw, gw_exact, rtol=1e-5, atol=1e-6 * np.abs(gw_exact).max())
    gw2, gb = numba_conv_direct.conv_weight_grad(x, g, geo.pads, kernel, bias=True)
    np.testing.assert_array_equal(gw2, gw)
    gb_exact = g.astype(np.float64).sum((0, 2, 3))
    assert gb.dtype == np.float32 and gb.shape == (o,)
    np.testing.assert_allclose(gb, gb_exact, rtol=1e-5, atol=1e-6 * np.abs(gb_exact).max())


def test_the_weight_gradient_does_not_depend_on_the_thread_count():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 1, 14, 14)).astype(np.float32)
    g = rng.standard_normal((16, 3, 14, 14)).astype(np.float32)
    pads = ((2, 2), (2, 2))
    before = dg.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            dg.set_num_threads(threads)
            results.append(numba_conv_direct.conv_weight_grad(x, g, pads, (5, 5)))
    finally:
        dg.set_num_threads(before)
    np.testing.assert_array_equal(results[0], results[1])


def _taken(monkeypatch):
    taken = []
    real = numba_conv_direct.conv_forward
    monkeypatch.setattr(numba_conv_direct, "conv_forward",
                        lambda *a: taken.append(True) or real(*a))
    return taken


@pytest.mark.parametrize("kwargs, shape, dtype, direct", [
    ({"padding": 2}, (4, 1, 12, 12), np.float32, True),
    ({"padding": 2, "stride": 2}, (4, 1, 12, 12), np.float32, False),
    ({"padding": 2, "dilation": 2}, (4, 1, 12, 12), np.float32, False),
    ({"padding": 2}, (4, 2, 12, 12), np.float32, False),
    ({"padding": 2}, (4, 1, 12, 12), np.float64, False),
    ({}, (4, 1, 5, 5), np.float32, False),  # one whole window: a fully connected product
])
def test_which_layers_run_directly(kwargs, shape, dtype, direct, monkeypatch):
    taken = _taken(monkeypatch)
    x = dg.from_numpy(np.ones(shape, dtype))
    w = dg.from_numpy(np.ones((3, shape[1], 5, 5), dtype))
    with kernels.use_backend("numba"):
        dg.nn.functional.conv2d(x, w, **kwargs)
    assert bool(taken) == direct
    taken.clear()
    with kernels.use_backend("numpy"):
        dg.nn.functional.conv2d(x, w, **kwargs)
    assert not taken


def test_a_first_layer_trains_as_pytorchs(monkeypatch):
    """Conv2d(1, 6, 5, padding=2) on a batch: output, weight, bias and input gradients equal
    PyTorch's to float32 round-off, through the direct path."""
    torch = pytest.importorskip("torch")
    taken = _taken(monkeypatch)
    rng = np.random.default_rng(11)
    x = rng.random((8, 1, 28, 28)).astype(np.float32)
    gy = rng.standard_normal((8, 6, 28, 28)).astype(np.float32)
    with kernels.use_backend("numba"):
        dg.manual_seed(0)
        layer = dg.nn.Conv2d(1, 6, 5, padding=2)
        twin = torch.nn.Conv2d(1, 6, 5, padding=2)
        twin.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                              for k, v in layer.state_dict().items()})
        xd = dg.from_numpy(x).requires_grad_()
        y = layer(xd)
        y.backward(dg.from_numpy(gy))
    xt = torch.from_numpy(x).requires_grad_()
    yt = twin(xt)
    yt.backward(torch.from_numpy(gy))
    assert taken
    np.testing.assert_allclose(y.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.weight.grad.numpy(), twin.weight.grad.numpy(),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.bias.grad.numpy(), twin.bias.grad.numpy(),
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_double_backward_equals_the_im2col_paths():
    """A gradient penalty through a direct layer (the recorded backward takes the Function
    forms): the same numbers as under the NumPy kernels, to round-off."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 1, 10, 10)).astype(np.float32)
    w = rng.standard_normal((4, 1, 3, 3)).astype(np.float32)
    results = []
    for backend in ("numba", "numpy"):
        with kernels.use_backend(backend):
            xd = dg.from_numpy(x.copy()).requires_grad_()
            wd = dg.from_numpy(w.copy()).requires_grad_()
            y = dg.nn.functional.conv2d(xd, wd, padding=1)
            gx, = dg.autograd.grad((y * y).sum(), xd, create_graph=True)
            (gx * gx).sum().backward()
            results.append((gx.detach().numpy(), wd.grad.numpy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * np.abs(b).max())
