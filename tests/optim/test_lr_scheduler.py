"""Every scheduler gives torch.optim.lr_scheduler's learning-rate sequence over 40 steps;
the notes' own schedules are pinned to their formulas."""
import copy
import math
import warnings

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.optim as optim
from deltagrad.optim import lr_scheduler as S
from tests.conftest import requires_torch

STEPS = 40


def _pair(opt_name="SGD", groups=2, **kw):
    """The same optimizer in deltagrad and torch, with ``groups`` parameter groups."""
    import torch
    kw = kw or dict(lr=0.1, momentum=0.9)
    lrs = [0.1, 0.03][:groups]
    d = getattr(optim, opt_name)([{"params": [dg.zeros(2, requires_grad=True)], "lr": lr}
                                  for lr in lrs], **kw)
    t = getattr(torch.optim, opt_name)([{"params": [torch.zeros(2, requires_grad=True)],
                                         "lr": lr} for lr in lrs], **kw)
    return d, t


def _seq(opt, sched, steps=STEPS, metrics=None, momentum_key=None):
    out = [list(sched.get_last_lr())]
    moms = []
    for i in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        out.append(list(sched.get_last_lr()))
        assert out[-1] == [g["lr"] for g in opt.param_groups]
        if momentum_key == "momentum":
            moms.append([g["momentum"] for g in opt.param_groups])
        elif momentum_key == "betas":
            moms.append([g["betas"][0] for g in opt.param_groups])
    return np.array(out, dtype=np.float64), np.array(moms)


SCHEDULES = [
    ("LambdaLR", lambda m, o: m.LambdaLR(o, lambda e: 0.95 ** e + 0.01 * (e % 3))),
    ("LambdaLR-list", lambda m, o: m.LambdaLR(o, [lambda e: 1 / (1 + e), lambda e: 0.9 ** e])),
    ("MultiplicativeLR", lambda m, o: m.MultiplicativeLR(o, lambda e: 0.97)),
    ("StepLR", lambda m, o: m.StepLR(o, step_size=5, gamma=0.5)),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.3)),
    ("ConstantLR", lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=7)),
    ("LinearLR", lambda m, o: m.LinearLR(o, start_factor=0.05, total_iters=10)),
    ("LinearLR-down", lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=30)),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, gamma=0.9)),
    ("PolynomialLR", lambda m, o: m.PolynomialLR(o, total_iters=25, power=2.0)),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, T_max=12, eta_min=0.001)),
    ("CosineAnnealingWarmRestarts", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5)),
    ("CosineAnnealingWarmRestarts-mult",
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01)),
    ("CyclicLR-triangular", lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4)),
    ("CyclicLR-triangular2",
     lambda m, o: m.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=3, step_size_down=5,
                             mode="triangular2")),
    ("CyclicLR-exp_range",
     lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=6, mode="exp_range", gamma=0.97)),
    ("OneCycleLR", lambda m, o: m.OneCycleLR(o, max_lr=1.0, total_steps=STEPS)),
    ("OneCycleLR-linear-3phase",
     lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 0.5], epochs=4, steps_per_epoch=10,
                               anneal_strategy="linear", three_phase=True, pct_start=0.25)),
    ("SequentialLR",
     lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
                                     m.ExponentialLR(o, gamma=0.9),
                                     m.CosineAnnealingLR(o, T_max=10)], milestones=[5, 20])),
    ("ChainedScheduler",
     lambda m, o: m.ChainedScheduler([m.ExponentialLR(o, gamma=0.95),
                                      m.StepLR(o, step_size=7, gamma=0.5)])),
]


@requires_torch
@pytest.mark.parametrize("name,make", SCHEDULES, ids=[n for n, _ in SCHEDULES])
def test_lr_sequence_matches_torch(name, make):
    import torch
    d, t = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds, ts = make(S, d), make(torch.optim.lr_scheduler, t)
        key = "momentum" if getattr(ds, "cycle_momentum", False) else None
        dl, dm = _seq(d, ds, momentum_key=key)
        tl, tm = _seq(t, ts, momentum_key=key)
    np.testing.assert_allclose(dl, tl, rtol=1e-15, atol=0)
    np.testing.assert_allclose(dm, tm, rtol=1e-15, atol=0)
    assert getattr(ds, "last_epoch", None) == getattr(ts, "last_epoch", None)
    for gd, gt in zip(d.param_groups, t.param_groups):
        assert gd["initial_lr"] == gt["initial_lr"]


@requires_torch
def test_cyclic_and_onecycle_move_adam_beta1():
    import torch
    d, t = _pair("Adam", groups=1, lr=0.1)
    ds = S.OneCycleLR(d, max_lr=0.5, total_steps=STEPS)
    ts = torch.optim.lr_scheduler.OneCycleLR(t, max_lr=0.5, total_steps=STEPS)
    dl, dm = _seq(d, ds, STEPS - 1, momentum_key="betas")
    tl, tm = _seq(t, ts, STEPS - 1, momentum_key="betas")
    np.testing.assert_allclose(dl, tl, rtol=1e-15)
    np.testing.assert_allclose(dm, tm, rtol=1e-15)
    assert d.param_groups[0]["betas"][1] == 0.999


@requires_torch
@pytest.mark.parametrize("kw", [dict(), dict(mode="max", threshold_mode="abs", threshold=0.01),
                                dict(patience=2, cooldown=3, factor=0.5, min_lr=[0.01, 0.02])])
def test_reduce_lr_on_plateau_matches_torch(kw):
    import torch
    rng = np.random.default_rng(0)
    metrics = list(1.0 / (1 + np.arange(STEPS)) + 0.2 * rng.random(STEPS))
    metrics[20:30] = [metrics[19]] * 10
    d, t = _pair()
    kw = dict(kw)
    kw.setdefault("patience", 3)
    dl, _ = _seq(d, S.ReduceLROnPlateau(d, **kw), metrics=metrics)
    tl, _ = _seq(t, torch.optim.lr_scheduler.ReduceLROnPlateau(t, **kw), metrics=metrics)
    np.testing.assert_allclose(dl, tl, rtol=1e-15)
    assert dl[-1, 0] < dl[0, 0]


@requires_torch
@pytest.mark.parametrize("name,make", [SCHEDULES[i] for i in (3, 10, 13, 16, 18)],
                         ids=[SCHEDULES[i][0] for i in (3, 10, 13, 16, 18)])
def test_state_dict_round_trip_resumes_the_sequence(name, make):
    d, _ = _pair()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = make(S, d)
        full, _ = _seq(d, s)
        d2, _ = _pair()
        s2 = make(S, d2)
        _seq(d2, s2, steps=15)
        saved = copy.deepcopy(s2.state_dict())
        opt_saved = copy.deepcopy(d2.state_dict())
        d3, _ = _pair()
        s3 = make(S, d3)
        d3.load_state_dict(opt_saved)
        s3.load_state_dict(saved)
        rest, _ = _seq(d3, s3, steps=STEPS - 15)
    np.testing.assert_allclose(rest, full[15:], rtol=1e-15)


def test_resume_needs_initial_lr():
    d, _ = _pair()
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(d, step_size=3, last_epoch=4)
    S.StepLR(d, step_size=3)
    s = S.StepLR(d, step_size=3, last_epoch=4)       # initial_lr now present
    assert s.last_epoch == 5


@requires_torch
def test_onecycle_past_the_end_raises_like_torch():
    d, _ = _pair()
    s = S.OneCycleLR(d, max_lr=0.1, total_steps=5)
    for _ in range(5):
        d.step()
        s.step()
    with pytest.raises(ValueError, match="Tried to step 6 times. The specified number of total "
                                         "steps is 5"):
        s.step()


def test_bad_scheduler_arguments():
    d, _ = _pair()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        S.StepLR(object(), 3)
    with pytest.raises(ValueError, match="total_steps OR"):
        S.OneCycleLR(d, max_lr=0.1)
    with pytest.raises(ValueError, match="mode is invalid"):
        S.CyclicLR(d, 0.01, 0.1, mode="sawtooth")
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        S.ReduceLROnPlateau(d, factor=2.0)
    with pytest.raises(ValueError, match="T_0"):
        S.CosineAnnealingWarmRestarts(d, T_0=0)
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        S.SequentialLR(d, [S.ExponentialLR(d, 0.9)], milestones=[3])
    with pytest.raises(ValueError, match="momentum or beta1"):
        S.CyclicLR(optim.Adagrad([dg.zeros(1, requires_grad=True)]), 0.01, 0.1)
    with pytest.raises(ValueError, match="lr_lambdas"):
        S.LambdaLR(d, [lambda e: 1.0])


def test_warns_when_scheduler_steps_before_optimizer():
    d, _ = _pair()
    s = S.StepLR(d, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        s.step()


# ----------------------------------------------------------------------------- seed 003 schedules
def test_exponential_and_inverse_time_decay_formulas():
    d, _ = _pair(groups=1)
    ed = S.ExponentialDecay(d, k=0.1)
    lrs, _ = _seq(d, ed, 10)
    np.testing.assert_allclose(lrs[:, 0], [0.1 * math.exp(-0.1 * t) for t in range(11)],
                               rtol=1e-15)
    d, _ = _pair(groups=1)
    lrs, _ = _seq(d, S.InverseTimeDecay(d, k=0.5), 10)
    np.testing.assert_allclose(lrs[:, 0], [0.1 / (1 + 0.5 * t) for t in range(11)], rtol=1e-15)
    # ExponentialDecay(k) is ExponentialLR(gamma=e^{-k}) up to rounding
    d2, _ = _pair(groups=1)
    lrs2, _ = _seq(d2, S.ExponentialLR(d2, gamma=math.exp(-0.5)), 10)
    d3, _ = _pair(groups=1)
    lrs3, _ = _seq(d3, S.ExponentialDecay(d3, k=0.5), 10)
    np.testing.assert_allclose(lrs2, lrs3, rtol=1e-12)


def test_halve_every_five_epochs_is_steplr():
    d, _ = _pair(groups=1)
    lrs, _ = _seq(d, S.StepLR(d, step_size=5, gamma=0.5), 20)
    assert list(lrs[:, 0]) == [0.1] * 5 + [0.05] * 5 + [0.025] * 5 + [0.0125] * 5 + [0.00625]


def test_linear_warmup_then_decay():
    d, _ = _pair(groups=1)
    s = S.SequentialLR(d, [S.LinearLR(d, start_factor=0.25, total_iters=3),
                           S.ExponentialDecay(d, k=0.1)], milestones=[3])
    lrs, _ = _seq(d, s, 6)
    np.testing.assert_allclose(lrs[:4, 0], [0.025, 0.05, 0.075, 0.1], rtol=1e-12)
    np.testing.assert_allclose(lrs[4:, 0], [0.1 * math.exp(-0.1), 0.1 * math.exp(-0.2),
                                            0.1 * math.exp(-0.3)], rtol=1e-12)


@pytest.mark.parametrize("opt_name,key", [("SGD", "momentum"), ("Adam", "betas")])
def test_momentum_schedule_formula(opt_name, key):
    """β_t = min(1 − 2^{−1−log₂(⌊t/250⌋+1)}, β_max): 0.5, 0.75, 0.8333.. every 250 steps."""
    d, _ = _pair(opt_name, groups=1, lr=0.1)
    ms = S.MomentumSchedule(d, beta_max=0.9, period=250)
    seen = []
    for t in range(1500):
        value = d.param_groups[0][key] if key == "momentum" else d.param_groups[0]["betas"][0]
        seen.append(value)
        expect = min(1 - 2 ** (-1 - math.log2(t // 250 + 1)), 0.9)
        assert value == pytest.approx(expect, rel=1e-15)
        ms.step()
    assert seen[0] == 0.5 and seen[250] == 0.75 and seen[500] == pytest.approx(5 / 6)
    assert seen[1250] == 0.9 and ms.get_last_momentum() == [0.9]
    with pytest.raises(ValueError, match="beta_max"):
        S.MomentumSchedule(d, beta_max=1.0)


class _Model:
    """Anything with state_dict/load_state_dict."""

    def __init__(self):
        self.w = dg.tensor([1.0, 2.0], requires_grad=True)

    def state_dict(self):
        return {"w": self.w.detach()}

    def load_state_dict(self, sd):
        with dg.no_grad():
            self.w.copy_(sd["w"])


def test_halve_on_validation_increase_rolls_back():
    model = _Model()
    opt = optim.SGD([model.w], lr=0.4, momentum=0.5)
    sched = S.HalveOnValidationIncrease(opt, model)

    def epoch():
        opt.zero_grad()
        (model.w * model.w).sum().backward()
        opt.step()

    epoch()
    assert sched.step(1.0) is False                       # first epoch: accepted
    w1 = model.w.detach().numpy().copy()
    buf1 = opt.state[model.w]["momentum_buffer"].numpy().copy()
    epoch()
    assert sched.step(0.8) is False                       # improved: accepted
    w2 = model.w.detach().numpy().copy()
    buf2 = opt.state[model.w]["momentum_buffer"].numpy().copy()
    epoch()
    assert not np.allclose(model.w.detach().numpy(), w2)
    assert sched.step(0.9) is True                        # worse: halve and roll back
    np.testing.assert_array_equal(model.w.detach().numpy(), w2)
    np.testing.assert_array_equal(opt.state[model.w]["momentum_buffer"].numpy(), buf2)
    assert opt.param_groups[0]["lr"] == 0.2 and sched.get_last_lr() == [0.2]
    epoch()
    assert sched.step(0.85) is True                       # still worse than 0.8: halve again
    assert opt.param_groups[0]["lr"] == 0.1 and sched.num_rollbacks == 2
    np.testing.assert_array_equal(model.w.detach().numpy(), w2)
    epoch()
    assert sched.step(0.5) is False
    assert not np.allclose(w1, w2) and not np.allclose(buf1, buf2)
    with pytest.raises(TypeError, match="state_dict"):
        S.HalveOnValidationIncrease(opt, object())
