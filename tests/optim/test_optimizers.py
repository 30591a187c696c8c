"""Every optimizer against its torch.optim twin on a small two-layer network, plus state_dict,
param groups, the flat (foreach) path, bad options and the notes' MaxProp."""
import copy
import pickle

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.nn.functional as F
import deltagrad.optim as optim
from tests.conftest import requires_torch

SHAPES = [(16, 8), (16,), (4, 16), (4,)]


class Net:
    """Two F.linear layers + cross-entropy, weights drawn once and shared with torch."""

    def __init__(self, dtype, seed=0):
        rng = np.random.default_rng(seed)
        self.init = [(rng.standard_normal(s) * 0.5).astype(dtype) for s in SHAPES]
        self.X = rng.standard_normal((12, 8)).astype(dtype)
        self.y = rng.integers(0, 4, 12)

    def dg_params(self):
        return [dg.tensor(a.copy(), requires_grad=True) for a in self.init]

    def torch_params(self):
        import torch
        return [torch.tensor(a.copy(), requires_grad=True) for a in self.init]

    def dg_loss(self, ps):
        h = F.relu(F.linear(dg.tensor(self.X), ps[0], ps[1]))
        return F.cross_entropy(F.linear(h, ps[2], ps[3]), dg.tensor(self.y))

    def torch_loss(self, ps):
        import torch
        tf = torch.nn.functional
        h = torch.relu(tf.linear(torch.tensor(self.X), ps[0], ps[1]))
        return tf.cross_entropy(tf.linear(h, ps[2], ps[3]), torch.tensor(self.y))


def _train(opt, loss_fn, params, steps):
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(params).backward()
        opt.step()


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    ("Adamax", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("name,kw", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch(name, kw, dtype):
    import torch
    net = Net(dtype)
    ps, ts = net.dg_params(), net.torch_params()
    opt, topt = getattr(optim, name)(ps, **kw), getattr(torch.optim, name)(ts, **kw)
    for _ in range(12):
        _train(opt, net.dg_loss, ps, 1)
        _train(topt, net.torch_loss, ts, 1)
        for p, t in zip(ps, ts):
            np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), **TOL[dtype])
    for p, t in zip(ps, ts):
        assert p.dtype == t.detach().numpy().dtype
        for key, val in opt.state[p].items():
            tv = topt.state[t][key].numpy()
            # float32 round-off is relative to the buffer's scale, not to each element
            scale = max(1.0, float(np.abs(tv).max())) if tv.size else 1.0
            np.testing.assert_allclose(np.asarray(val.numpy()), tv, rtol=TOL[dtype]["rtol"],
                                       atol=TOL[dtype]["atol"] * scale,
                                       err_msg=f"{name} state {key}")


@pytest.mark.parametrize("name,kw", CASES[::2], ids=[n for n, _ in CASES[::2]])
def test_flat_path_equals_per_parameter_path(name, kw):
    """foreach=True (one flat buffer) and foreach=False give bit-identical numbers."""
    net = Net(np.float32, seed=1)
    runs = []
    for foreach in (False, True):
        ps = net.dg_params()
        opt = getattr(optim, name)(ps, foreach=foreach, **kw)
        _train(opt, net.dg_loss, ps, 6)
        runs.append((ps, opt))
    (pa, oa), (pb, ob) = runs
    for a, b in zip(pa, pb):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        assert set(oa.state[a]) == set(ob.state[b])
        for k in oa.state[a]:
            np.testing.assert_array_equal(oa.state[a][k].numpy(), ob.state[b][k].numpy())
            assert ob.state[b][k].shape == (a.shape if k not in ("step", "mu_product") else ())


def test_flat_path_handles_missing_grads_and_frozen_params():
    """A parameter without .grad is skipped (no state, unchanged), as in torch."""
    net = Net(np.float32)
    ps = net.dg_params()
    opt = optim.Adam(ps, lr=0.1, foreach=True)
    frozen = ps[3].detach().numpy().copy()
    for _ in range(3):
        opt.zero_grad()
        net.dg_loss(ps).backward()
        ps[3].grad = None
        opt.step()
    np.testing.assert_array_equal(ps[3].detach().numpy(), frozen)
    assert ps[3] not in opt.state and float(opt.state[ps[0]]["step"]) == 3
    # now every parameter gets a gradient: steps differ, so it falls back per parameter
    opt.zero_grad()
    net.dg_loss(ps).backward()
    opt.step()
    assert float(opt.state[ps[3]]["step"]) == 1 and float(opt.state[ps[0]]["step"]) == 4


@requires_torch
@pytest.mark.parametrize("name,kw", [("SGD", dict(lr=0.1, momentum=0.9)),
                                     ("Adam", dict(lr=0.01, amsgrad=True)),
                                     ("NAdam", dict(lr=0.01)), ("RMSprop", dict(centered=True)),
                                     ("Adagrad", dict(lr=0.1))])
def test_state_dict_round_trip_continues_identically(name, kw):
    net = Net(np.float64)
    ps = net.dg_params()
    opt = getattr(optim, name)(ps, **kw)
    _train(opt, net.dg_loss, ps, 5)
    saved = copy.deepcopy(opt.state_dict())
    saved_w = [p.detach().numpy().copy() for p in ps]
    _train(opt, net.dg_loss, ps, 5)
    # a fresh optimizer on fresh parameters with the saved weights and state
    qs = [dg.tensor(w, requires_grad=True) for w in saved_w]
    opt2 = getattr(optim, name)(qs, **kw)
    opt2.load_state_dict(pickle.loads(pickle.dumps(saved)))
    _train(opt2, net.dg_loss, qs, 5)
    for p, q in zip(ps, qs):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    assert opt2.state_dict()["param_groups"][0]["lr"] == opt.param_groups[0]["lr"]


@requires_torch
def test_loads_a_torch_optimizer_state_dict():
    """torch's Adam state_dict (tensors inside) loads and continues like torch."""
    import torch
    net = Net(np.float32)
    ts = net.torch_params()
    topt = torch.optim.Adam(ts, lr=0.01)
    _train(topt, net.torch_loss, ts, 4)
    ps = [dg.tensor(t.detach().numpy().copy(), requires_grad=True) for t in ts]
    opt = optim.Adam(ps, lr=0.01)
    opt.load_state_dict(topt.state_dict())
    _train(topt, net.torch_loss, ts, 4)
    _train(opt, net.dg_loss, ps, 4)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), rtol=2e-5, atol=2e-6)


def test_state_dict_layout_and_param_groups():
    a, b = dg.randn(3, requires_grad=True), dg.randn(2, 2, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    (a.sum() + (b * b).sum()).backward()
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0] and sd["param_groups"][1]["params"] == [1]
    assert set(sd["state"]) == {0, 1} and set(sd["state"][1]) == {"momentum_buffer"}
    c = dg.randn(4, requires_grad=True)
    opt.add_param_group({"params": c, "lr": 0.01})
    assert opt.param_groups[2]["momentum"] == 0.9 and opt.param_groups[2]["params"] == [c]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 1" in text and "lr: 0.5" in text


def test_sgd_without_momentum_keeps_no_state_and_named_params():
    w = dg.randn(3, requires_grad=True)
    opt = optim.SGD([("w", w)], lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["w"]
    (w * w).sum().backward()
    before = w.detach().numpy().copy()
    opt.step()
    np.testing.assert_allclose(w.detach().numpy(), before - 0.1 * 2 * before, rtol=1e-6)
    assert opt.state_dict()["state"] == {}


def test_zero_grad():
    w = dg.randn(3, requires_grad=True)
    opt = optim.Adam([w])
    (w * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), np.zeros(3, np.float32))
    opt.zero_grad()
    assert w.grad is None


def test_step_with_closure_returns_loss():
    w = dg.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with dg.no_grad():
        loss = opt.step(closure)
    assert float(loss) == 5.0
    np.testing.assert_allclose(w.detach().numpy(), [0.5, -1.0])


def test_step_bumps_version_so_stale_graphs_are_caught():
    w = dg.randn(3, requires_grad=True)
    v0 = w._version
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    assert w._version > v0


def test_float32_stays_float32():
    ps = [dg.randn(5, requires_grad=True), dg.randn(2, 3, requires_grad=True)]
    for cls in (optim.Adam, optim.NAdam, optim.RMSprop, optim.Adadelta, optim.Adagrad,
                optim.MaxProp, optim.Adamax):
        opt = cls(ps)
        for _ in range(2):
            opt.zero_grad()
            sum((p * p).sum() for p in ps).backward()
            opt.step()
        for p in ps:
            assert p.dtype == np.float32
            for k, v in opt.state[p].items():
                assert v.dtype == np.float32, (cls.__name__, k, v.dtype)


# ----------------------------------------------------------------------------- bad inputs
BAD = [
    (optim.SGD, dict(lr=-0.1), ValueError, "Invalid learning rate.*'lr'"),
    (optim.SGD, dict(momentum=-1), ValueError, "Invalid momentum value.*'momentum'"),
    (optim.SGD, dict(nesterov=True), ValueError, "Nesterov momentum requires"),
    (optim.SGD, dict(weight_decay=-1), ValueError, "weight_decay"),
    (optim.Adam, dict(betas=(1.0, 0.999)), ValueError, r"beta parameter at index 0.*betas\[0\]"),
    (optim.Adam, dict(betas=(0.9, -0.1)), ValueError, "beta parameter at index 1"),
    (optim.Adam, dict(eps=-1e-8), ValueError, "Invalid epsilon value.*'eps'"),
    (optim.Adam, dict(lr="fast"), TypeError, "'lr' must be a real number"),
    (optim.Adam, dict(momentum=0.9), TypeError, "momentum"),
    (optim.AdamW, dict(lr=-1), ValueError, "AdamW option 'lr'"),
    (optim.NAdam, dict(momentum_decay=-1), ValueError, "momentum_decay"),
    (optim.Adamax, dict(betas=(0.9,)), ValueError, "pair"),
    (optim.RMSprop, dict(alpha=-0.5), ValueError, "Invalid alpha value"),
    (optim.Adadelta, dict(rho=1.5), ValueError, "Invalid rho value"),
    (optim.Adagrad, dict(lr_decay=-1), ValueError, "lr_decay"),
    (optim.MaxProp, dict(beta=1.0), ValueError, "'beta'"),
]


@pytest.mark.parametrize("cls,kw,exc,msg", BAD,
                         ids=[f"{c.__name__}-{i}" for i, (c, *_) in enumerate(BAD)])
def test_bad_options_raise_naming_the_option(cls, kw, exc, msg):
    with pytest.raises(exc, match=msg):
        cls([dg.randn(2, requires_grad=True)], **kw)


def test_bad_params_raise():
    w = dg.randn(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([w * 2])
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.Adam([np.zeros(2)])
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam([{"params": [w], "lr": -1.0}])
    with pytest.raises(ValueError, match="same parameter twice"):
        optim.Adam([w, w])
    opt = optim.Adam([w])
    bad = {"state": {0: {"step": 1.0, "exp_avg": dg.zeros(3), "exp_avg_sq": dg.zeros(3)}},
           "param_groups": copy.deepcopy(opt.state_dict()["param_groups"])}
    with pytest.raises(ValueError, match="'exp_avg' of parameter 0 has shape"):
        opt.load_state_dict(bad)


# ----------------------------------------------------------------------------- MaxProp (seed 003)
def test_maxprop_worked_example():
    """v_t = max(β v_{t-1}, |g_t|), w ← w − η g_t/(v_t + ε), hand-computed for f(w) = ½ Σ c w²."""
    c = np.array([1.0, 10.0, 0.0])
    w = dg.tensor([1.0, 1.0, 1.0], dtype=dg.float64, requires_grad=True)
    opt = optim.MaxProp([w], lr=0.1, beta=0.5, eps=0.0 + 1e-12)
    wv, v = np.array([1.0, 1.0, 1.0]), np.zeros(3)
    for _ in range(4):
        opt.zero_grad()
        (0.5 * dg.tensor(c) * w * w).sum().backward()
        opt.step()
        g = c * wv
        v = np.maximum(0.5 * v, np.abs(g))
        wv = wv - 0.1 * g / (v + 1e-12)
    np.testing.assert_allclose(w.detach().numpy(), wv, rtol=1e-12)
    # step 1 moves every coordinate with a gradient by exactly η (sign descent)
    w2 = dg.tensor([3.0, -2.0], dtype=dg.float64, requires_grad=True)
    o2 = optim.MaxProp([w2], lr=0.1, eps=0.0)
    (w2 * w2).sum().backward()
    o2.step()
    np.testing.assert_allclose(w2.detach().numpy(), [2.9, -1.9])
    # a zero gradient does not shrink v at once (the note's point about noisy batches)
    np.testing.assert_allclose(o2.state[w2]["exp_inf"].numpy(), [6.0, 4.0])


def test_maxprop_converges_on_a_quadratic():
    w = dg.tensor([5.0, -3.0], requires_grad=True)
    opt = optim.MaxProp([w], lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        ((w - dg.tensor([1.0, 2.0])) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(w.detach().numpy(), [1.0, 2.0], atol=0.05)
