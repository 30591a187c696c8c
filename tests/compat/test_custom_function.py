"""Custom autograd Functions written PyTorch's way (``@staticmethod forward(ctx, ...)`` on
Tensors, ``@staticmethod backward(ctx, *grads)``, or ``forward`` + ``setup_context``) give
PyTorch's values and gradients, first and second order, with its checks."""
from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.torch_compat import torch_is_deltagrad

from ..conftest import requires_torch


def legendre(lib):
    """PyTorch's tutorial example: P3(x) = ½(5x³ − 3x), P3′(x) = 1.5(5x² − 1)."""
    class LegendrePolynomial3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)
    return LegendrePolynomial3


def scaled_sort(lib):
    """Two outputs (values, indices), a non-Tensor argument, mark_non_differentiable,
    needs_input_grad, an output saved for backward."""
    class ScaledSort(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale, y):
            values, idx = (x * scale + y).sort(dim=-1)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx, values)
            ctx.scale = scale
            ctx.flags = ctx.needs_input_grad
            return values, idx

        @staticmethod
        def backward(ctx, g_values, g_idx):
            idx, values = ctx.saved_tensors
            g = lib.zeros_like(g_values).scatter(-1, idx, g_values)
            return g * ctx.scale, None, g * values.sum() * 0 + g
    return ScaledSort


def cube_setup_context(lib):
    """torch 2's style: forward without ctx, setup_context saves."""
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(x):
            return x ** 3

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, = inputs
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return 3 * x ** 2 * g
    return Cube


def pair(lib, values, requires_grad=True):
    return lib.tensor(values, dtype=lib.float64, requires_grad=requires_grad)


@requires_torch
def test_tutorial_function_values_first_and_second_derivatives():
    import torch
    x0 = np.linspace(-1.5, 1.5, 7)
    out = {}
    for lib in (dg, torch):
        x = pair(lib, x0)
        y = legendre(lib).apply(x)
        g, = lib.autograd.grad(y.sum(), x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        out[lib.__name__] = [a.detach().numpy() for a in (y, g, gg)]
    for a, b in zip(out["deltagrad"], out["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out["deltagrad"][2], 15 * x0, rtol=1e-12)  # P3″ = 15x


@requires_torch
def test_two_outputs_non_tensor_argument_and_non_differentiable_indices():
    import torch
    rng = np.random.default_rng(0)
    x0, y0 = rng.standard_normal((2, 5)), rng.standard_normal((2, 5))
    res = {}
    for lib in (dg, torch):
        x, y = pair(lib, x0), pair(lib, y0, requires_grad=False)
        values, idx = scaled_sort(lib).apply(x, 2.5, y)
        assert not idx.requires_grad and values.requires_grad
        assert values.grad_fn.flags == (True, False, False)
        (values * lib.arange(5, dtype=lib.float64)).sum().backward()
        res[lib.__name__] = (values.detach().numpy(), idx.numpy(), x.grad.numpy())
    for a, b in zip(res["deltagrad"], res["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@requires_torch
def test_setup_context_style():
    import torch
    grads = []
    for lib in (dg, torch):
        x = pair(lib, [0.5, -2.0])
        cube_setup_context(lib).apply(x).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])
    np.testing.assert_allclose(grads[0], [0.75, 12.0])


def test_no_graph_without_grad_and_forward_sees_no_recording():
    seen = []

    class Probe(dg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen.append(dg.is_grad_enabled())
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    y = Probe.apply(dg.ones(3))
    assert y.grad_fn is None and not y.requires_grad
    x = dg.ones(3, requires_grad=True)
    assert Probe.apply(x).grad_fn is not None
    assert seen == [False, False]  # PyTorch runs forward with recording off
    with dg.no_grad():
        assert Probe.apply(x).grad_fn is None


@requires_torch
@pytest.mark.parametrize("returned", [1, 3])
def test_wrong_number_of_gradients_is_an_error(returned):
    import torch
    for lib in (dg, torch):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, y):
                return x + y

            @staticmethod
            def backward(ctx, g):
                return (g,) * returned

        x, y = pair(lib, [1.0]), pair(lib, [2.0])
        with pytest.raises(RuntimeError, match="returned an incorrect number of gradients"):
            Bad.apply(x, y).sum().backward()


def test_forward_must_return_tensors_and_mark_dirty_is_refused():
    class NotATensor(dg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 3.0

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="must return a Tensor"):
        NotATensor.apply(dg.ones(1, requires_grad=True))

    class InPlace(dg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(NotImplementedError, match="mark_dirty"):
        InPlace.apply(dg.ones(1, requires_grad=True))


def test_once_differentiable_under_the_torch_spelling():
    with torch_is_deltagrad():
        import torch
        from torch.autograd.function import once_differentiable

        class Square(torch.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            @once_differentiable
            def backward(ctx, g):
                x, = ctx.saved_tensors
                assert not torch.is_grad_enabled()
                return 2 * x * g

        x = torch.tensor([3.0], requires_grad=True)
        Square.apply(x).backward()
        assert x.grad.item() == 6.0
