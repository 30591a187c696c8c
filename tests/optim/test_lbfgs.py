"""dg.optim.LBFGS step for step against torch.optim.LBFGS (fixed step and strong-Wolfe line
search), on a small network and on the Rosenbrock function, plus state_dict and bad options."""
import copy

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.optim as optim
from deltagrad.optim.lbfgs import _cubic_interpolate
from tests.conftest import requires_torch
from tests.optim.test_optimizers import Net

# float32: 15 quasi-Newton iterations amplify round-off in the curvature pairs
TOL = {np.float32: dict(rtol=1e-3, atol=1e-4), np.float64: dict(rtol=1e-10, atol=1e-12)}
CASES = [
    dict(lr=1, max_iter=5),
    dict(lr=0.5, max_iter=4, history_size=3),
    dict(lr=1, max_iter=6, line_search_fn="strong_wolfe"),
    dict(lr=1, max_iter=3, history_size=2, line_search_fn="strong_wolfe", tolerance_grad=1e-12),
]


def _closure(opt, loss_fn, params):
    def closure():
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        return loss
    return closure


@requires_torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("kw", CASES, ids=[str(i) for i in range(len(CASES))])
def test_matches_torch_on_a_network(kw, dtype):
    import torch
    net = Net(dtype)
    ps, ts = net.dg_params(), net.torch_params()
    opt, topt = optim.LBFGS(ps, **kw), torch.optim.LBFGS(ts, **kw)
    for _ in range(3):
        loss = opt.step(_closure(opt, net.dg_loss, ps))
        tloss = topt.step(_closure(topt, net.torch_loss, ts))
        np.testing.assert_allclose(loss.item(), tloss.detach().item(), **TOL[dtype])
        for p, t in zip(ps, ts):
            np.testing.assert_allclose(p.detach().numpy(), t.detach().numpy(), **TOL[dtype])
    st, tst = opt.state[ps[0]], topt.state[ts[0]]
    assert st["func_evals"] == tst["func_evals"] and st["n_iter"] == tst["n_iter"]
    assert len(st["old_dirs"]) == len(tst["old_dirs"])


def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


@requires_torch
@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_rosenbrock_float64_matches_torch(line_search_fn):
    import torch
    x = dg.tensor([-1.5, 2.0], dtype=dg.float64, requires_grad=True)
    tx = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    lr = 1 if line_search_fn else 0.01
    opt = optim.LBFGS([x], lr=lr, max_iter=50, line_search_fn=line_search_fn)
    topt = torch.optim.LBFGS([tx], lr=lr, max_iter=50, line_search_fn=line_search_fn)
    for _ in range(4):
        opt.step(_closure(opt, _rosenbrock, x))
        topt.step(_closure(topt, _rosenbrock, tx))
        np.testing.assert_allclose(x.detach().numpy(), tx.detach().numpy(), rtol=1e-9, atol=1e-11)
    if line_search_fn:      # the line search reaches the minimum (1, 1)
        np.testing.assert_allclose(x.detach().numpy(), [1.0, 1.0], atol=1e-5)


def test_cubic_interpolation_finds_the_minimum_of_a_cubic():
    # f(x) = x³ − 3x on [0, 2]: minimum at x = 1; f′ = 3x² − 3
    f, g = (lambda x: x ** 3 - 3 * x), (lambda x: 3 * x ** 2 - 3)
    assert _cubic_interpolate(0.0, f(0.0), g(0.0), 2.0, f(2.0), g(2.0)) == pytest.approx(1.0)
    assert _cubic_interpolate(2.0, f(2.0), g(2.0), 0.0, f(0.0), g(0.0)) == pytest.approx(1.0)


@requires_torch
def test_state_dict_round_trip_continues_identically():
    net = Net(np.float64)
    ps = net.dg_params()
    opt = optim.LBFGS(ps, lr=1, max_iter=3, line_search_fn="strong_wolfe")
    opt.step(_closure(opt, net.dg_loss, ps))
    ps2 = [dg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
    opt2 = optim.LBFGS(ps2, lr=1, max_iter=3, line_search_fn="strong_wolfe")
    opt2.load_state_dict(copy.deepcopy(opt.state_dict()))
    opt.step(_closure(opt, net.dg_loss, ps))
    opt2.step(_closure(opt2, net.dg_loss, ps2))
    for p, q in zip(ps, ps2):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_bad_options_and_missing_closure():
    p = dg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="strong_wolfe"):
        optim.LBFGS([p], line_search_fn="backtracking")
    with pytest.raises(ValueError, match="learning rate"):
        optim.LBFGS([p], lr=-1)
    with pytest.raises(ValueError, match="max_iter"):
        optim.LBFGS([p], max_iter=0)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [p]}, {"params": [dg.zeros(2, requires_grad=True)]}])
    with pytest.raises(RuntimeError, match="closure"):
        optim.LBFGS([p]).step()
