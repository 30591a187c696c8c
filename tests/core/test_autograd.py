"""Autograd semantics against PyTorch: leaves, .grad, accumulation, retain_graph,
create_graph, autograd.grad, no_grad, detach, retain_grad, in-place operations, setitem."""
from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

torch = pytest.importorskip("torch")


def pair(*shape, dtype=np.float32, seed=0, requires_grad=True):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return (dg.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def close(d, t, rtol=1e-5, atol=1e-6):
    assert isinstance(d, dg.Tensor)
    np.testing.assert_allclose(d.detach().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)
    assert d.dtype == t.detach().numpy().dtype


# ----------------------------------------------------------------------------- leaves and flags
def test_leaf_and_non_leaf_flags():
    x = dg.ones(3, requires_grad=True)
    c = dg.ones(3)
    y = x * 2
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    assert c.is_leaf and not c.requires_grad
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    assert (c * 2).is_leaf and not (c * 2).requires_grad
    with pytest.raises(RuntimeError):
        y.requires_grad = False
    assert not y.detach().requires_grad and y.detach().is_leaf


def test_grad_is_a_tensor_and_matches_torch():
    x, tx = pair(4, 3)
    w, tw = pair(3, 2, seed=1)
    for lib, a, b in ((dg, x, w), (torch, tx, tw)):
        (lib.tanh(a @ b) ** 2).mean().backward()
    close(x.grad, tx.grad)
    close(w.grad, tw.grad)
    assert isinstance(x.grad, dg.Tensor) and not x.grad.requires_grad


def test_non_leaf_grad_is_none_unless_retained():
    x = dg.ones(3, requires_grad=True)
    y = x * 2
    z = y * 3
    y.retain_grad()
    assert y.retains_grad and not z.retains_grad
    z.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [3, 3, 3])
    assert z.grad is None
    np.testing.assert_allclose(x.grad.numpy(), [6, 6, 6])


def test_retain_grad_matches_torch_with_two_paths():
    x, tx = pair(5)
    grads = []
    for lib, a in ((dg, x), (torch, tx)):
        h = a.sigmoid()
        h.retain_grad()
        (h * h + h.sin()).sum().backward()
        grads.append(h.grad)
    close(*grads)


def test_gradient_accumulates_over_two_backwards():
    x, tx = pair(3, 2)
    for lib, a in ((dg, x), (torch, tx)):
        (a * a).sum().backward()
        a.exp().sum().backward()
    close(x.grad, tx.grad)
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((3, 2), 3.0))


def test_accumulated_grad_is_not_aliased_to_the_seed():
    x = dg.ones(3, requires_grad=True)
    g = dg.ones(3)
    (x * 1).backward(g)
    g.add_(5)  # modifying the user's seed must not change x.grad
    np.testing.assert_allclose(x.grad.numpy(), [1, 1, 1])
    x.grad.zero_()
    assert g[0].item() == 6


def test_backward_with_gradient_argument():
    x, tx = pair(2, 3)
    g = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    (x.exp() * 2).backward(dg.tensor(g))
    (tx.exp() * 2).backward(torch.tensor(g))
    close(x.grad, tx.grad)


def test_non_scalar_backward_needs_gradient():
    x = dg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).backward(dg.ones(3))


def test_backward_twice_without_retain_graph_raises():
    x = dg.ones(3, requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x, tx = pair(3)
    for a in (x, tx):
        y = (a.exp() * a).sum()
        y.backward(retain_graph=True)
        y.backward()
    close(x.grad, tx.grad)


def test_backward_on_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        dg.ones(2).sum().backward()


# ----------------------------------------------------------------------------- autograd.grad
def test_autograd_grad_returns_tuple_and_leaves_grad_alone():
    x, tx = pair(4)
    w, tw = pair(4, seed=2)
    g = dg.autograd.grad((x * w).sin().sum(), [x, w])
    tg = torch.autograd.grad((tx * tw).sin().sum(), [tx, tw])
    assert isinstance(g, tuple) and len(g) == 2
    close(g[0], tg[0])
    close(g[1], tg[1])
    assert x.grad is None and w.grad is None


def test_autograd_grad_single_input_and_grad_outputs():
    x, tx = pair(2, 2)
    go = np.ones((2, 2), np.float32) * 0.5
    g, = dg.autograd.grad(x * x, x, grad_outputs=dg.tensor(go))
    tg, = torch.autograd.grad(tx * tx, tx, grad_outputs=torch.tensor(go))
    close(g, tg)


def test_autograd_grad_allow_unused():
    x = dg.ones(3, requires_grad=True)
    u = dg.ones(3, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        dg.autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = dg.autograd.grad(y, [x, u], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(gx.numpy(), [2, 2, 2])


def test_autograd_grad_of_intermediate():
    x, tx = pair(3)
    res = []
    for lib, a in ((dg, x), (torch, tx)):
        h = a * 3
        res.append(lib.autograd.grad((h.tanh() * h).sum(), h)[0])
    close(*res)


def test_autograd_grad_through_shared_subgraphs():
    """A node reached by several paths must be kept whenever any path leads to the input."""
    x, tx = pair(1, dtype=np.float64)
    res = []
    for lib, a in ((dg, x), (torch, tx)):
        f = a * 3 - 3 / (a * a + 1.0) + (3 - a) + a.exp() * a.sin()
        res.append(lib.autograd.grad(f.sum(), a)[0])
    close(*res, rtol=1e-10)


# ----------------------------------------------------------------------------- higher order
def test_higher_order_derivatives_of_a_cube():
    x = dg.tensor([1.5, -2.0], requires_grad=True)
    y = (x ** 3).sum()
    g, = dg.autograd.grad(y, x, create_graph=True)
    g2, = dg.autograd.grad(g.sum(), x, create_graph=True)
    g3, = dg.autograd.grad(g2.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([1.5, -2.0]) ** 2, rtol=1e-6)
    np.testing.assert_allclose(g2.detach().numpy(), 6 * np.array([1.5, -2.0]), rtol=1e-6)
    np.testing.assert_allclose(g3.numpy(), [6, 6], rtol=1e-6)


def test_hessian_vector_product_matches_torch():
    x, tx = pair(5, dtype=np.float64)
    w, tw = pair(5, 3, dtype=np.float64, seed=3)
    v = np.random.default_rng(4).standard_normal(5)
    res = []
    for lib, a, b in ((dg, x, w), (torch, tx, tw)):
        f = lib.nn.functional.log_softmax(lib.tanh(a @ b), dim=0).sum() + a.sigmoid().prod()
        g, = lib.autograd.grad(f, a, create_graph=True)
        hv, = lib.autograd.grad((g * lib.tensor(v)).sum(), a)
        res.append(hv)
    close(*res, rtol=1e-9, atol=1e-12)


def test_backward_with_create_graph_builds_differentiable_grad():
    x, tx = pair(3, dtype=np.float64)
    res = []
    for lib, a in ((dg, x), (torch, tx)):
        (a.sin() * a).sum().backward(create_graph=True)
        gg, = lib.autograd.grad(a.grad.sum(), a)
        res.append(gg)
    close(*res, rtol=1e-9)


def test_gradient_penalty_style_double_backward_through_matmul():
    x, tx = pair(4, 3, dtype=np.float64)
    w, tw = pair(3, 2, dtype=np.float64, seed=5)
    for lib, a, b in ((dg, x, w), (torch, tx, tw)):
        out = lib.sigmoid(a @ b).sum()
        g, = lib.autograd.grad(out, a, create_graph=True)
        (g ** 2).sum().backward()
    close(w.grad, tw.grad, rtol=1e-9)


# ----------------------------------------------------------------------------- grad modes
def test_no_grad_and_enable_grad():
    x = dg.ones(2, requires_grad=True)
    with dg.no_grad():
        y = x * 2
        assert not dg.is_grad_enabled()
        with dg.enable_grad():
            z = x * 2
    assert dg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @dg.no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad and dg.is_grad_enabled()
    with dg.set_grad_enabled(False):
        assert not (x + 1).requires_grad
    assert (x + 1).requires_grad


def test_detach_shares_memory_and_cuts_graph():
    x = dg.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 10.0
    assert y[0].item() == 10.0
    out = (y * d).sum()
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * d.numpy())


def test_requires_grad_on_integer_tensor_raises():
    with pytest.raises(RuntimeError, match="floating point"):
        dg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        dg.tensor([1, 2]).requires_grad_()
    x = dg.tensor([1.0, 2.0]).requires_grad_()
    assert x.requires_grad


def test_integer_outputs_do_not_require_grad():
    x = dg.randn(3, 4, requires_grad=True)
    assert not x.argmax(1).requires_grad
    assert not (x > 0).requires_grad
    values, indices = x.max(1)
    assert values.requires_grad and not indices.requires_grad


# ----------------------------------------------------------------------------- in-place
def test_inplace_on_non_leaf_matches_torch():
    x, tx = pair(3, 4)
    for a in (x, tx):
        h = a * 2
        h.add_(1.5)
        h.mul_(a)
        h += a
        h.sum().backward()
    close(x.grad, tx.grad)


def test_inplace_on_leaf_requiring_grad_raises():
    x = dg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf"):
        x.mul_(2)
    with dg.no_grad():
        x.add_(1)
    np.testing.assert_allclose(x.detach().numpy(), [2, 2, 2])


def test_inplace_modification_of_saved_input_raises():
    x = dg.ones(3, requires_grad=True)
    h = x * 1
    z = h * h  # Mul saves h
    h.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        z.sum().backward()


def test_inplace_modification_of_saved_output_raises():
    x = dg.randn(3, requires_grad=True)
    s = x.sigmoid()  # Sigmoid saves its output
    s.mul_(2)
    with pytest.raises(RuntimeError, match="in-place"):
        s.sum().backward()
    e = x.exp()
    e.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        e.sum().backward()


def test_inplace_version_counter_increments():
    x = dg.zeros(3)
    v = x._version
    x.add_(1)
    x[0] = 5.0
    assert x._version == v + 2


def test_setitem_with_grad_matches_torch():
    x, tx = pair(4, 3)
    v, tv = pair(3, seed=7)
    for a, b in ((x, v), (tx, tv)):
        y = a.clone()
        y[1] = b * 2
        y[2:, 0] = 0.0
        (y * y).sum().backward()
    close(x.grad, tx.grad)
    close(v.grad, tv.grad)


def test_setitem_with_integer_array_index_and_grad():
    x, tx = pair(5, 2)
    v, tv = pair(2, 2, seed=8)
    for lib, a, b in ((dg, x, v), (torch, tx, tv)):
        y = a * 1
        y[lib.tensor([0, 3])] = b.exp()
        y.pow(2).sum().backward()
    close(x.grad, tx.grad)
    close(v.grad, tv.grad)


def test_getitem_repeated_indices_accumulate():
    x = dg.zeros(4, requires_grad=True)
    x[dg.tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3, 0, 1, 0])


def test_multi_output_op_with_one_output_used():
    x, tx = pair(6, 2)
    for a in (x, tx):
        parts = a.split(2)
        (parts[1] * 3).sum().backward()
    close(x.grad, tx.grad)
    y, ty = pair(3, 4, seed=9)
    for a in (y, ty):
        vals, idx = a.max(1)
        vals.sum().backward()
    close(y.grad, ty.grad)


def test_custom_function_with_needs_input_grad():
    class ScaledAdd(dg.autograd.Function):
        def forward(ctx, a, b, scale):
            ctx.scale = scale
            ctx.flags = ctx.needs_input_grad
            return a + scale * b

        def backward(ctx, g):
            return g, g * ctx.scale

    a = dg.ones(2, requires_grad=True)
    b = dg.ones(2)
    out = ScaledAdd.apply(a, b, scale=3.0)
    assert out.grad_fn.flags == (True, False)
    out.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1, 1])
    assert b.grad is None


def test_broadcast_gradients_reduce_to_input_shape():
    x, tx = pair(3, 1)
    b, tb = pair(4, seed=11)
    c, tc = pair(1, 1, 4, seed=12)
    for a, bb, cc in ((x, b, c), (tx, tb, tc)):
        ((a * bb + cc) ** 2).sum().backward()
    for d, t in ((x, tx), (b, tb), (c, tc)):
        close(d.grad, t.grad, rtol=1e-5)
        assert d.grad.shape == d.shape
