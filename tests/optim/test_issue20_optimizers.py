"""RAdam, Rprop, ASGD and Adafactor against torch.optim: the same trajectory for 20 steps on
the same two-layer network (float32 and float64, per parameter and on the flat path), the
state_dict round trip, and torch's errors for bad options."""
import numpy as np
import pytest

import deltagrad as dg
import deltagrad.optim as optim
from tests.conftest import requires_torch
from tests.optim.test_optimizers import Net, _train

CASES = [
    ("RAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.02, betas=(0.8, 0.95), weight_decay=0.1)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Rprop", dict(lr=0.01)),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=5, weight_decay=0.1)),
    ("Adafactor", dict(lr=0.01)),
    ("Adafactor", dict(lr=0.05, beta2_decay=-0.5, eps=(1e-20, 1e-2), d=2.0, weight_decay=0.1,
                       maximize=True)),
]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}


@requires_torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name,kw", CASES)
def test_twenty_steps_match_torch(name, kw, dtype, foreach):
    import torch
    net = Net(dtype)
    ps, tps = net.dg_params(), net.torch_params()
    opt = getattr(optim, name)(ps, foreach=foreach, **kw)
    topt = getattr(torch.optim, name)(tps, foreach=False, **kw)
    _train(opt, net.dg_loss, ps, 20)
    _train(topt, net.torch_loss, tps, 20)
    for p, tp in zip(ps, tps):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), **TOL[dtype])
    state, tstate = opt.state_dict()["state"], topt.state_dict()["state"]
    for i in tstate:
        assert set(state[i]) == set(tstate[i]), name
        for k, v in tstate[i].items():
            np.testing.assert_allclose(np.asarray(state[i][k].numpy() if hasattr(
                state[i][k], "numpy") else state[i][k], dtype=np.float64),
                v.numpy().astype(np.float64), **TOL[dtype], err_msg=f"{name} {k}")


@requires_torch
@pytest.mark.parametrize("name,kw", CASES[::2])
def test_state_dict_round_trip_continues_the_same_trajectory(name, kw):
    net = Net(np.float64)
    ps = net.dg_params()
    opt = getattr(optim, name)(ps, **kw)
    _train(opt, net.dg_loss, ps, 5)
    ps2 = [dg.tensor(p.detach().numpy().copy(), requires_grad=True) for p in ps]
    opt2 = getattr(optim, name)(ps2, **kw)
    opt2.load_state_dict(opt.state_dict())
    _train(opt, net.dg_loss, ps, 5)
    _train(opt2, net.dg_loss, ps2, 5)
    for p, q in zip(ps, ps2):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_bad_options_raise_torch_errors():
    p = [dg.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.RAdam(p, lr=-1)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        optim.RAdam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="Invalid eta values: 1.5, 1.2"):
        optim.Rprop(p, etas=(1.5, 1.2))
    with pytest.raises(ValueError, match="Invalid weight_decay value"):
        optim.ASGD(p, weight_decay=-0.1)
    with pytest.raises(ValueError, match="beta2_decay should be <= 0"):
        optim.Adafactor(p, beta2_decay=0.5)
    with pytest.raises(ValueError, match="Clipping threshold d should be >= 1"):
        optim.Adafactor(p, d=0.5)
