"""Hooks as in PyTorch: Tensor.register_hook, forward (pre-)hooks and full backward (pre-)hooks,
their order, arguments and replacements against torch on the same weights, removal by handle,
in-place ReLU (which torch refuses with backward hooks) and functional F.relu."""
import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn as nn
import deltagrad.nn.functional as F
from tests.conftest import requires_torch


def _build(lib, inplace):
    return lib.Sequential(lib.Conv2d(1, 3, 3), lib.ReLU(inplace=inplace), lib.Flatten(),
                          lib.Linear(3 * 4 * 4, 4), lib.ReLU(inplace=inplace),
                          lib.Linear(4, 2))


def _record(lib, model, x, scale_grad):
    """Run forward/backward with every hook kind registered; return the event log (kind,
    module index, arrays) and the input/parameter gradients."""
    log = []

    def arr(t):
        return None if t is None else np.array(t.detach().numpy(), copy=True)

    handles = []
    for i, m in enumerate(model):
        handles.append(m.register_forward_pre_hook(
            lambda mod, inp, i=i: log.append(("fpre", i, [arr(a) for a in inp]))))
        handles.append(m.register_forward_hook(
            lambda mod, inp, out, i=i: log.append(("fwd", i, [arr(out)]))))
        handles.append(m.register_full_backward_pre_hook(
            lambda mod, go, i=i: log.append(("bpre", i, [arr(g) for g in go]))))

        def bhook(mod, gi, go, i=i):
            log.append(("bwd", i, [arr(g) for g in gi] + [arr(g) for g in go]))
            if scale_grad and i == 3:       # replace the gradient flowing out of Linear 3
                return tuple(None if g is None else g * 2 for g in gi)
        handles.append(m.register_full_backward_hook(bhook))
    h = model[0](x)
    h.register_hook(lambda g: log.append(("h", -1, [arr(g)])))
    rest = h
    for m in list(model)[1:]:
        rest = m(rest)
    rest.sum().backward()
    for hd in handles:
        hd.remove()
    return log, arr(x.grad), [arr(p.grad) for p in model.parameters()]


@requires_torch
@pytest.mark.parametrize("scale_grad", [False, True])
def test_order_arguments_and_replacements_equal_torch(scale_grad):
    import torch
    dg.manual_seed(0)
    model = _build(nn, inplace=True).to(dg.float64)          # in-place ReLU here...
    tmodel = _build(torch.nn, inplace=False).double()         # ...torch refuses it with hooks
    tmodel.load_state_dict({k: torch.tensor(v.detach().numpy())
                            for k, v in model.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 1, 6, 6))
    log, gx, gp = _record(dg, model, dg.tensor(x, requires_grad=True), scale_grad)
    tlog, tgx, tgp = _record(torch, tmodel, torch.tensor(x, requires_grad=True), scale_grad)
    assert [(k, i) for k, i, _ in log] == [(k, i) for k, i, _ in tlog]
    for (k, i, a), (_, _, b) in zip(log, tlog):
        assert len(a) == len(b), (k, i)
        for u, v in zip(a, b):
            if k == "fwd" and i in (0, 3):
                continue   # a forward hook's output is then changed by the in-place ReLU
            assert (u is None) == (v is None), (k, i)
            if u is not None:
                np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-14, err_msg=f"{k} {i}")
    np.testing.assert_allclose(gx, tgx, rtol=1e-12, atol=1e-14)
    for a, b in zip(gp, tgp):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@requires_torch
def test_tensor_hooks_on_leaves_and_non_leaves_match_torch():
    import torch

    def run(lib, x):
        log = []
        a = x * 3
        hb = a.register_hook(lambda g: log.append(("a", g.detach().numpy().copy())))
        a.register_hook(lambda g: g + 1)          # replaces the gradient of a
        a.retain_grad()
        x.register_hook(lambda g: log.append(("x", g.detach().numpy().copy())))
        (a * a).sum().backward()
        hb.remove()
        return log, a.grad.numpy().copy(), x.grad.numpy().copy()

    x = np.array([1.0, -2.0, 0.5])
    log, ag, xg = run(dg, dg.tensor(x, requires_grad=True))
    tlog, tag, txg = run(torch, torch.tensor(x, requires_grad=True))
    assert [k for k, _ in log] == [k for k, _ in tlog]
    for (_, u), (_, v) in zip(log, tlog):
        np.testing.assert_allclose(u, v)
    np.testing.assert_allclose(ag, tag)      # retain_grad sees the replaced gradient
    np.testing.assert_allclose(xg, txg)


def test_hooks_are_removed_and_run_for_autograd_grad():
    x = dg.randn(4, requires_grad=True)
    calls = []
    h = x.register_hook(lambda g: calls.append(1))
    y = (x * x).sum()
    g, = dg.autograd.grad(y, [x], retain_graph=True)
    assert calls == [1]
    h.remove()
    y.backward()
    assert calls == [1]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        dg.zeros(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="changed the size"):
        z = dg.randn(3, requires_grad=True)
        z.register_hook(lambda g: g.sum())
        (z * 2).sum().backward()


def test_module_hook_handle_removal_and_context():
    lin = nn.Linear(3, 2)
    seen = []
    with lin.register_full_backward_hook(lambda m, gi, go: seen.append(1)):
        lin(dg.randn(1, 3, requires_grad=True)).sum().backward()
    lin(dg.randn(1, 3, requires_grad=True)).sum().backward()
    assert seen == [1]


class Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(3, 4), nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def test_backward_hooks_with_functional_relu_see_the_module_gradients():
    model = Functional().to(dg.float64)
    grads = {}
    model.fc1.register_full_backward_hook(lambda m, gi, go: grads.__setitem__("fc1", go[0]))
    x = dg.randn(5, 3, dtype=dg.float64, requires_grad=True)
    out = model(x)
    out.sum().backward()
    # ∂L/∂(fc1 output) = (W2ᵀ 1) ⊙ [fc1(x) > 0]
    h = model.fc1(x).detach().numpy()
    expected = (np.ones((5, 2)) @ model.fc2.weight.detach().numpy()) * (h > 0)
    np.testing.assert_allclose(grads["fc1"].numpy(), expected, rtol=1e-12)
