"""Activations (functional and modules) against PyTorch: values, input gradients, double
backward, stability at |x| = 1e4 in float32, reprs, PReLU/Swish parameter gradients, and the
notes' extras (step, arctan, swish, maxout, GELU's sigmoid form, the softmax Jacobian)."""
from __future__ import annotations

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
TOL = {np.float32: dict(rtol=2e-5, atol=1e-5), np.float64: dict(rtol=1e-7, atol=1e-10)}  # torch: 1/6 in float32
STABLE = dict(over="raise", invalid="raise", divide="raise")  # underflow to 0 is fine

# name: (deltagrad function, torch function, smooth)
POINTWISE = {
    "relu": (F.relu, TF.relu, False),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu, False),
    "leaky_relu_0.2": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2), False),
    "elu": (F.elu, TF.elu, False),
    "elu_0.5": (lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5), False),
    "selu": (F.selu, TF.selu, False),
    "celu_2": (lambda x: F.celu(x, 2.0), lambda x: TF.celu(x, 2.0), False),
    "gelu": (F.gelu, TF.gelu, True),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: TF.gelu(x, approximate="tanh"), True),
    "gelu_sigmoid": (F.gelu_sigmoid, lambda x: x * torch.sigmoid(1.702 * x), True),
    "silu": (F.silu, TF.silu, True),
    "swish_2": (lambda x: F.swish(x, 2.0), lambda x: x * torch.sigmoid(2.0 * x), True),
    "mish": (F.mish, TF.mish, True),
    "sigmoid": (F.sigmoid, torch.sigmoid, True),
    "tanh": (F.tanh, torch.tanh, True),
    "arctan": (F.arctan, torch.arctan, True),
    "softplus": (F.softplus, TF.softplus, True),
    "softplus_b2_t5": (lambda x: F.softplus(x, 2.0, 5.0), lambda x: TF.softplus(x, 2.0, 5.0),
                       False),
    "logsigmoid": (F.logsigmoid, TF.logsigmoid, True),
    "softsign": (F.softsign, TF.softsign, False),
    "tanhshrink": (F.tanhshrink, TF.tanhshrink, True),
    "hardtanh": (F.hardtanh, TF.hardtanh, False),
    "hardtanh_-2_3": (lambda x: F.hardtanh(x, -2.0, 3.0), lambda x: TF.hardtanh(x, -2.0, 3.0),
                      False),
    "relu6": (F.relu6, TF.relu6, False),
    "threshold": (lambda x: F.threshold(x, 0.5, -2.0), lambda x: TF.threshold(x, 0.5, -2.0),
                  False),
    "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid, False),
    "hardswish": (F.hardswish, TF.hardswish, False),
    "hardshrink": (F.hardshrink, TF.hardshrink, False),
    "softshrink": (F.softshrink, TF.softshrink, False),
    "softmax": (lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1), True),
    "softmax_0": (lambda x: F.softmax(x, 0), lambda x: TF.softmax(x, 0), True),
    "log_softmax": (lambda x: F.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1), True),
    "softmin": (lambda x: F.softmin(x, -1), lambda x: TF.softmin(x, -1), True),
    "glu": (F.glu, TF.glu, True),
}
SMOOTH = [k for k, v in POINTWISE.items() if v[2]]
# smooth away from a kink, so the second derivative exists at random points
TWICE = SMOOTH + ["elu", "elu_0.5", "selu", "celu_2", "softsign", "softplus_b2_t5",
                  "hardswish"]


def _inputs(shape, dtype, seed, scale=3.0):
    a = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(dtype)
    return dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _compare(fn, tfn, x, tx, dtype, create_graph=False):
    y, ty = fn(x), tfn(tx)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    g = np.random.default_rng(7).standard_normal(tuple(y.shape)).astype(dtype)
    gx, = dg.autograd.grad(y, x, dg.tensor(g), create_graph=create_graph)
    tgx, = torch.autograd.grad(ty, tx, torch.tensor(g))
    assert gx.dtype == np.dtype(dtype)
    np.testing.assert_allclose(gx.detach().numpy(), tgx.numpy(), **TOL[dtype])


@pytest.mark.parametrize("name", list(POINTWISE))
@SETTINGS
@given(shape=st.lists(st.integers(1, 5), min_size=0, max_size=3).map(tuple),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2 ** 16))
def test_pointwise_matches_torch(name, shape, dtype, seed):
    fn, tfn, _ = POINTWISE[name]
    if name == "glu" or (not shape and name.startswith("soft") and "max" in name):
        shape = shape[:-1] + (2 * shape[-1],) if shape else (2,)
    x, tx = _inputs(shape, dtype, seed)
    _compare(fn, tfn, x, tx, dtype)


@pytest.mark.parametrize("name", list(POINTWISE))
def test_create_graph_gradient_matches_torch(name):
    """The Tensor-op form of each derivative (used when recording) gives torch's values too."""
    fn, tfn, _ = POINTWISE[name]
    x, tx = _inputs((4, 6), np.float64, 3)
    _compare(fn, tfn, x, tx, np.float64, create_graph=True)


@pytest.mark.parametrize("name", TWICE)
def test_second_derivative_matches_torch(name):
    fn, tfn, _ = POINTWISE[name]
    x, tx = _inputs((3, 4), np.float64, 11)
    u = np.random.default_rng(2).standard_normal((3, 4))
    gx, = dg.autograd.grad(fn(x).sum(), x, create_graph=True)
    hx, = dg.autograd.grad((gx * dg.tensor(u)).sum(), x)
    tgx, = torch.autograd.grad(tfn(tx).sum(), tx, create_graph=True)
    thx, = torch.autograd.grad((tgx * torch.tensor(u)).sum(), tx)
    np.testing.assert_allclose(hx.numpy(), thx.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", list(POINTWISE))
def test_gradcheck(name):
    fn = POINTWISE[name][0]
    x, _ = _inputs((3, 4), np.float64, 5)
    assert dg.autograd.gradcheck(fn, (x,))


@pytest.mark.parametrize("name", TWICE)
def test_gradgradcheck(name):
    fn = POINTWISE[name][0]
    x, _ = _inputs((2, 4), np.float64, 6)
    assert dg.autograd.gradgradcheck(fn, (x,))


STABILITY = ["sigmoid", "tanh", "softplus", "logsigmoid", "elu", "selu", "celu_2", "gelu",
             "gelu_tanh", "gelu_sigmoid", "silu", "swish_2", "mish", "softsign", "tanhshrink",
             "softmax", "log_softmax", "softmin", "arctan", "hardswish"]


@pytest.mark.parametrize("name", STABILITY)
def test_stable_at_1e4_float32(name):
    """Finite values, gradients and second derivatives at |x| up to 1e4, no FP warnings."""
    fn, tfn, _ = POINTWISE[name]
    a = np.array([[-1e4, -3e3, -50.0, -1.0, 0.0, 1.0, 50.0, 3e3, 1e4]], np.float32)
    x = dg.tensor(a, requires_grad=True)
    with np.errstate(**STABLE):
        y = fn(x)
        gx, = dg.autograd.grad(y.sum(), x, create_graph=True)
        hx, = dg.autograd.grad(gx.sum(), x)
    for t in (y, gx, hx):
        assert t.dtype == np.float32
        assert np.isfinite(t.detach().numpy()).all(), (name, t)
    ty = tfn(torch.tensor(a))
    ok = np.isfinite(ty.numpy())  # torch itself overflows for some (e.g. softmin's sum)
    np.testing.assert_allclose(y.detach().numpy()[ok], ty.numpy()[ok], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn,tfn,points", [
    (F.relu, TF.relu, [0.0]),
    (F.leaky_relu, TF.leaky_relu, [0.0]),
    (F.elu, TF.elu, [0.0]),
    (F.selu, TF.selu, [0.0]),
    (F.hardtanh, TF.hardtanh, [-1.0, 1.0]),
    (F.relu6, TF.relu6, [0.0, 6.0]),
    (F.hardsigmoid, TF.hardsigmoid, [-3.0, 3.0]),
    (F.hardswish, TF.hardswish, [-3.0, 3.0]),
    (lambda x: F.threshold(x, 0.5, 2.0), lambda x: TF.threshold(x, 0.5, 2.0), [0.5]),
    (F.hardshrink, TF.hardshrink, [-0.5, 0.5]),
    (F.softshrink, TF.softshrink, [-0.5, 0.5]),
    (lambda x: F.softplus(x, 1.0, 2.0), lambda x: TF.softplus(x, 1.0, 2.0), [2.0]),
])
def test_gradient_at_kinks_follows_torch(fn, tfn, points):
    x, tx = dg.tensor(points, requires_grad=True), torch.tensor(points, requires_grad=True)
    fn(x).sum().backward()
    tfn(tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("name", ["softsign", "tanhshrink", "sigmoid", "tanh"])
def test_integer_input_becomes_float(name):
    # as PyTorch: these compute integer input in the default float dtype
    y = getattr(F, name)(dg.tensor([-1, 0, 2]))
    assert y.dtype == dg.float32
    np.testing.assert_allclose(y.numpy(), getattr(TF, name)(torch.tensor([-1, 0, 2])).numpy(),
                               rtol=1e-6)


@pytest.mark.parametrize("name", ["relu6", "hardtanh"])
def test_clamps_keep_integer_dtype(name):
    x = [-7, 0, 3, 9]
    y, want = getattr(F, name)(dg.tensor(x)), getattr(TF, name)(torch.tensor(x))
    assert str(y.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert y.tolist() == want.tolist()


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "gelu", "silu", "mish", "softplus",
                                  "hardswish", "hardsigmoid", "leaky_relu", "logsigmoid",
                                  "softshrink", "hardshrink", "softmax", "log_softmax"])
def test_float_only_activations_refuse_integers_like_torch(name):
    args = (0,) if "softmax" in name else ()
    with pytest.raises(NotImplementedError):
        getattr(TF, name)(torch.tensor([-1, 0, 2]), *args)
    with pytest.raises(NotImplementedError, match=f"{name}.*'Long'"):
        getattr(F, name)(dg.tensor([-1, 0, 2]), *args)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="gelu_sigmoid"):
        F.gelu(dg.randn(3), approximate="sigmoid")
    with pytest.raises(ValueError, match="GELUSigmoid"):
        nn.GELU("sigmoid")


# ----------------------------------------------------------------------------- in-place
@pytest.mark.parametrize("name,fn,tfn", [
    ("relu", lambda x: F.relu(x, inplace=True), lambda x: TF.relu(x, inplace=True)),
    ("elu", lambda x: F.elu(x, inplace=True), lambda x: TF.elu(x, inplace=True)),
    ("leaky", lambda x: F.leaky_relu(x, 0.1, True), lambda x: TF.leaky_relu(x, 0.1, True)),
    ("hardtanh", lambda x: F.hardtanh_(x), lambda x: TF.hardtanh_(x)),
    ("silu", lambda x: F.silu(x, inplace=True), lambda x: TF.silu(x, inplace=True)),
])
def test_inplace_writes_input_and_keeps_gradients_right(name, fn, tfn):
    a = np.random.default_rng(0).standard_normal((3, 4))
    x, tx = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    h, th = x * 2.0, tx * 2.0
    out, tout = fn(h), tfn(th)
    assert out is h
    np.testing.assert_allclose(h.detach().numpy(), th.detach().numpy(), rtol=1e-12)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


def test_inplace_on_leaf_requiring_grad_raises():
    with pytest.raises(RuntimeError, match="in-place"):
        F.elu(dg.randn(3, requires_grad=True), inplace=True)


# ----------------------------------------------------------------------------- modules
MODULES = [
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("LeakyReLU", (), {}),
    ("LeakyReLU", (0.2, True), {}), ("PReLU", (), {}), ("PReLU", (3,), {"init": 0.1}),
    ("ELU", (), {}), ("ELU", (0.5, True), {}), ("SELU", (), {}), ("SELU", (True,), {}),
    ("CELU", (2.0,), {}), ("GELU", (), {}), ("GELU", ("tanh",), {}), ("SiLU", (), {}),
    ("SiLU", (True,), {}), ("Mish", (), {}), ("Mish", (True,), {}), ("Sigmoid", (), {}),
    ("Tanh", (), {}), ("Softmax", (1,), {}), ("Softmax", (), {}), ("LogSoftmax", (-1,), {}),
    ("Softmin", (0,), {}), ("Softplus", (), {}), ("Softplus", (2, 10), {}),
    ("Hardtanh", (), {}), ("Hardtanh", (-2, 3), {}), ("Hardtanh", (-2.0, 3.0, True), {}),
    ("ReLU6", (), {}), ("ReLU6", (True,), {}), ("Threshold", (0.1, 20), {}),
    ("Threshold", (0.1, 20.0, True), {}), ("Hardsigmoid", (True,), {}), ("Hardswish", (), {}),
    ("LogSigmoid", (), {}), ("Softsign", (), {}), ("Tanhshrink", (), {}),
    ("Hardshrink", (), {}), ("Softshrink", (0.3,), {}), ("GLU", (), {}), ("GLU", (0,), {}),
]


@pytest.mark.parametrize("name,args,kwargs", MODULES)
def test_module_repr_and_forward_match_torch(name, args, kwargs):
    m, tm = getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    assert repr(m) == repr(tm)
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    x, tx = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    if name in ("GLU",) and args == (0,):
        x, tx = dg.tensor(a[:2], requires_grad=True), torch.tensor(a[:2], requires_grad=True)
    if name == "PReLU":
        tm = tm.double()
        m.weight.data = dg.tensor(tm.weight.detach().numpy())
    inplace = getattr(tm, "inplace", False)
    h, th = (x * 1.0, tx * 1.0) if inplace else (x, tx)
    y, ty = m(h), tm(th)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_notes_modules_repr():
    assert repr(nn.Step()) == "Step(threshold=0.0, inclusive=True)"
    assert repr(nn.Swish()) == "Swish(num_parameters=1)"
    assert repr(nn.Maxout(4, 3, 2)) == "Maxout(in_features=4, out_features=3, pieces=2, bias=True)"
    assert repr(nn.Arctan()) == "Arctan()"
    assert repr(nn.GELUSigmoid()) == "GELUSigmoid()"


@pytest.mark.parametrize("num_parameters,shape", [(1, (5, 3)), (3, (5, 3)), (3, (2, 3, 4, 4)),
                                                  (1, (7,)), (4, (2, 4, 5))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_prelu_weight_gradient_matches_torch(num_parameters, shape, dtype):
    rng = np.random.default_rng(0)
    m = nn.PReLU(num_parameters).to(dtype)
    tm = torch.nn.PReLU(num_parameters).to(torch.float64 if dtype == np.float64 else torch.float32)
    w = rng.uniform(-0.5, 0.5, num_parameters).astype(dtype)
    m.weight.data = dg.tensor(w)
    with torch.no_grad():
        tm.weight.copy_(torch.tensor(w))
    a = rng.standard_normal(shape).astype(dtype)
    x, tx = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    g = rng.standard_normal(shape).astype(dtype)
    m(x).backward(dg.tensor(g))
    tm(tx).backward(torch.tensor(g))
    assert m.weight.grad.shape == (num_parameters,) and m.weight.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(m.weight.grad.numpy(), tm.weight.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL[dtype])


def test_prelu_defaults_state_dict_and_errors():
    m = nn.PReLU(3)
    np.testing.assert_array_equal(m.weight.numpy(force=True), np.full(3, 0.25, np.float32))
    assert list(m.state_dict()) == ["weight"]
    with pytest.raises(ValueError, match=r"3 elements.*\(5, 4\).*4 channels"):
        m(dg.randn(5, 4))


def test_prelu_and_swish_gradcheck():
    rng = np.random.default_rng(3)
    x = dg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = dg.tensor(rng.uniform(-1, 1, 3), requires_grad=True)
    assert dg.autograd.gradcheck(F.prelu, (x, w))
    assert dg.autograd.gradcheck(F.swish, (x, w))
    assert dg.autograd.gradgradcheck(F.swish, (x, w))


@pytest.mark.parametrize("num_parameters,shape", [(1, (4, 3)), (3, (2, 3, 5))])
def test_swish_learnable_beta_matches_torch(num_parameters, shape):
    rng = np.random.default_rng(5)
    m = nn.Swish(num_parameters).double()
    b = rng.uniform(0.5, 2, num_parameters)
    m.beta.data = dg.tensor(b)
    a = rng.standard_normal(shape)
    x, tx = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    tbv = tb.reshape((-1,) + (1,) * (len(shape) - 2)) if num_parameters > 1 else tb
    y, ty = m(x), tx * torch.sigmoid(tbv * tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(m.beta.grad.numpy(), tb.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    assert m.beta.shape == (num_parameters,)
    np.testing.assert_array_equal(nn.Swish().beta.numpy(force=True), [1.0])


def test_swish_with_beta_one_is_silu_and_1702_is_gelu_sigmoid():
    x = dg.randn(10)
    np.testing.assert_allclose(F.swish(x, 1.0).numpy(), F.silu(x).numpy())
    np.testing.assert_allclose(F.swish(x, dg.tensor([1.702])).numpy(),
                               F.gelu_sigmoid(x).numpy(), rtol=1e-6)


# ----------------------------------------------------------------------------- notes' extras
def test_step_conventions_from_the_notes():
    x = dg.tensor([-2.0, -1e-7, 0.0, 1e-7, 3.0], requires_grad=True)
    # seed 002: step(x) = 1 for x >= 0, 0 for x < 0
    np.testing.assert_array_equal(F.step(x).detach().numpy(), [0, 0, 1, 1, 1])
    # seed 000: f(u) = 1 if u > 0, 0 otherwise
    np.testing.assert_array_equal(F.step(x, inclusive=False).detach().numpy(), [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(nn.Step(threshold=1.0)(x).detach().numpy(), [0, 0, 0, 0, 1])
    y = F.step(x)
    assert y.dtype == dg.float32 and y.requires_grad
    (y * dg.arange(5.0)).sum().backward()  # f'(u) = 0: the gradient is zero, not an error
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(5))


def test_mcculloch_pitts_and_gate_with_step():
    x = dg.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(F.step(x.sum(1), threshold=2.0).numpy(), [0, 0, 0, 1])


def test_arctan_module_value_and_derivative():
    x = dg.tensor([-2.0, 0.0, 1.0], requires_grad=True)
    nn.Arctan()(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 1 / (1 + np.array([4.0, 0.0, 1.0])), rtol=1e-6)


def test_gelu_sigmoid_is_close_to_exact_gelu():
    x = dg.linspace(-6, 6, 241)
    err = np.abs(F.gelu_sigmoid(x).numpy() - F.gelu(x).numpy()).max()
    assert 0.005 < err < 0.03  # an approximation: close but not equal


def test_softmax_jacobian_matches_autodiff_and_notes():
    a = np.random.default_rng(0).standard_normal((3, 5))
    J = F.softmax_jacobian(dg.tensor(a))
    tJ = torch.func.vmap(torch.func.jacrev(lambda v: torch.softmax(v, -1)))(torch.tensor(a))
    np.testing.assert_allclose(J.numpy(), tJ.numpy(), atol=1e-15)
    s = F.softmax(dg.tensor(a), -1).numpy()
    # seed 002: ∂S_j/∂x_j = S_j(1 − S_j) on the diagonal; each row sums to 0; symmetric
    np.testing.assert_allclose(np.diagonal(J.numpy(), axis1=-2, axis2=-1), s * (1 - s))
    np.testing.assert_allclose(J.numpy().sum(-1), 0, atol=1e-15)
    np.testing.assert_allclose(J.numpy(), np.swapaxes(J.numpy(), -1, -2))
    assert F.softmax_jacobian(dg.tensor(a), dim=0).shape == (5, 3, 3)
    assert dg.autograd.gradcheck(lambda t: F.softmax_jacobian(t),
                                 (dg.tensor(a, requires_grad=True),))


@pytest.mark.parametrize("shape,pieces,dim", [((4, 6), 2, 1), ((4, 6), 3, -1),
                                              ((2, 6, 3, 3), 3, 1), ((6,), 2, 0)])
def test_maxout_pooling_matches_torch(shape, pieces, dim):
    a = np.random.default_rng(0).standard_normal(shape)
    x, tx = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    d = dim % len(shape)
    ty = tx.unflatten(d, (shape[d] // pieces, pieces)).amax(d + 1)
    y = F.maxout(x, pieces, dim)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    g = np.random.default_rng(1).standard_normal(tuple(y.shape))
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    with pytest.raises(ValueError, match="multiple of pieces"):
        F.maxout(dg.randn(4, 5), 2)


def test_maxout_module_is_max_of_linear_pieces():
    m = nn.Maxout(4, 3, pieces=2).double()
    assert m.weight.shape == (6, 4) and m.bias.shape == (6,)
    bound = 1 / np.sqrt(4)
    assert np.abs(m.weight.numpy(force=True)).max() <= bound
    a = np.random.default_rng(2).standard_normal((5, 4))
    x = dg.tensor(a, requires_grad=True)
    y = m(x)
    W, b = m.weight.numpy(force=True), m.bias.numpy(force=True)
    z = a @ W.T + b
    np.testing.assert_allclose(y.detach().numpy(), z.reshape(5, 3, 2).max(-1), rtol=1e-12)
    y.sum().backward()
    # only the winning piece of each unit gets a gradient (seed 003)
    win = (z.reshape(5, 3, 2) == z.reshape(5, 3, 2).max(-1, keepdims=True)).reshape(5, 6)
    np.testing.assert_allclose(m.bias.grad.numpy(), win.sum(0))
    assert dg.autograd.gradcheck(lambda t: m(t), (x,))
    with pytest.raises(RuntimeError, match=r"\(\*, 4\)"):
        m(dg.randn(5, 3))


def test_softmax_implicit_dim_and_dtype():
    x = dg.randn(2, 3)
    np.testing.assert_allclose(F.softmax(x).numpy(), TF.softmax(torch.tensor(x.numpy()), 1).numpy(),
                               rtol=1e-6)
    assert F.log_softmax(x, 1, dtype=dg.float64).dtype == dg.float64


def test_pointwise_is_one_node():
    x = dg.randn(3, requires_grad=True)
    for fn in (F.gelu, F.mish, F.silu, F.elu, F.softplus, F.hardswish):
        y = fn(x)
        assert all(e is None or type(e[0]).__name__ == "AccumulateGrad"
                   for e in y.grad_fn.next_edges), fn
