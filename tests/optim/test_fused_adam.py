"""The compiled Adam/AdamW step (kernels/numba_optim.py) takes exactly the NumPy step's
numbers: bit for bit, float32 and float64, every option, per parameter and on the flat path,
with large parameters split over the threads. (The torch comparisons of test_optimizers.py
run with the default backend, Numba when it is installed.)"""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels, threads

pytestmark = pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")

OPTIONS = [("Adam", {}), ("Adam", {"amsgrad": True}), ("Adam", {"weight_decay": 0.1}),
           ("Adam", {"maximize": True}), ("Adam", {"betas": (0.3, 0.9)}),
           ("Adam", {"foreach": False}), ("AdamW", {}), ("AdamW", {"amsgrad": True}),
           ("Adam", {"decoupled_weight_decay": True, "weight_decay": 0.2})]


def _trajectory(backend, name, kwargs, dtype, shapes, steps=6):
    if backend == "numba":
        import numba  # noqa: F401  (loaded: the compiled step runs from the first step)
    with kernels.use_backend(backend):
        rng = np.random.default_rng(0)
        ps = [dg.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True)
              for s in shapes]
        opt = getattr(dg.optim, name)(ps, lr=0.01, **kwargs)
        for k in range(steps):
            opt.zero_grad()
            sum(((p * (k + 1)).sin() * p).sum() for p in ps).backward()
            if k == 3:  # a NaN gradient entry: both paths carry it the same way
                ps[0].grad.numpy()[0, 0] = np.nan
            opt.step()
        return [p.detach().numpy().copy() for p in ps], opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, kwargs", OPTIONS)
def test_compiled_step_equals_the_numpy_step_bit_for_bit(name, kwargs, dtype):
    shapes = [(30, 20), (20,), (5, 7)]
    ref, ref_opt = _trajectory("numpy", name, kwargs, dtype, shapes)
    got, got_opt = _trajectory("numba", name, kwargs, dtype, shapes)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)
    for sa, sb in zip(ref_opt.state.values(), got_opt.state.values()):
        for k in sa:
            np.testing.assert_array_equal(sa[k].numpy(), sb[k].numpy())


def test_large_parameters_split_over_threads_give_the_same_numbers(monkeypatch):
    monkeypatch.setattr(threads, "MIN_SPLIT_ELEMENTS", 64)
    before = dg.get_num_threads()
    dg.set_num_threads(2)
    try:
        shapes = [(300, 40), (40,), (40, 300)]
        ref, _ = _trajectory("numpy", "Adam", {}, np.float32, shapes)
        got, _ = _trajectory("numba", "Adam", {}, np.float32, shapes)
    finally:
        dg.set_num_threads(before)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)


def test_other_family_members_and_odd_arrays_keep_the_numpy_step():
    from deltagrad.optim.adam import _fused_step
    p = dg.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    with kernels.use_backend("numba"):
        for cls in (dg.optim.Adamax, dg.optim.NAdam):
            opt = cls([p])
            assert not _fused_step(opt, opt.param_groups[0], p._data, p._data, {}, 1, 1e-3,
                                   0.9, 0.999)
        opt = dg.optim.Adam([p])
        state = {"exp_avg": np.zeros((3, 4), np.float32).T,  # not contiguous
                 "exp_avg_sq": np.zeros((4, 3), np.float32)}
        assert not _fused_step(opt, opt.param_groups[0], p._data, p._data.copy(), state, 1,
                               1e-3, 0.9, 0.999)


def test_the_compiled_step_runs_once_numba_is_loaded():
    import numba  # noqa: F401
    from deltagrad.optim.adam import _fused_step
    p = dg.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    opt = dg.optim.Adam([p])
    state = {"exp_avg": np.zeros((4, 3), np.float32), "exp_avg_sq": np.zeros((4, 3), np.float32)}
    with kernels.use_backend("numba"):
        assert _fused_step(opt, opt.param_groups[0], p._data, np.ones((4, 3), np.float32),
                           state, 1, 1e-3, 0.9, 0.999)
    assert state["exp_avg"][0, 0] == np.float32(0.1)


def test_ski_rental_loads_numba_only_after_the_numpy_steps_lose_as_much(monkeypatch):
    import sys
    from deltagrad.optim.adam import (COMPILED_STEP_COST_S, COMPILED_STEP_FRACTION,
                                      _worth_compiling)
    opt = dg.optim.Adam([dg.tensor([1.0], requires_grad=True)])
    monkeypatch.delitem(sys.modules, "numba", raising=False)   # as in a fresh process
    assert not _worth_compiling(opt)
    for _ in range(3):                                        # the NumPy steps are timed
        opt.param_groups[0]["params"][0].grad = dg.tensor([0.5])
        opt.step()
    assert 0 < opt._numpy_seconds < COMPILED_STEP_COST_S
    # the rent is the time lost to the compiled step, not the whole NumPy step
    switch_at = COMPILED_STEP_COST_S / (1 - COMPILED_STEP_FRACTION)
    opt._numpy_seconds = 0.99 * switch_at
    assert not _worth_compiling(opt)
    opt._numpy_seconds = switch_at
    assert _worth_compiling(opt)


def test_ski_rental_counts_cpu_time_not_time_spent_waiting(monkeypatch):
    # a step that waits (another process has the core) costs no more rent than one that runs
    import sys
    import time
    import deltagrad.optim.adam as adam
    opt = dg.optim.Adam([dg.tensor([1.0], requires_grad=True)])
    monkeypatch.delitem(sys.modules, "numba", raising=False)
    moments = adam._adam_moments
    monkeypatch.setattr(adam, "_adam_moments", lambda *a, **k: (time.sleep(0.05),
                                                                  moments(*a, **k))[1])
    opt.param_groups[0]["params"][0].grad = dg.tensor([0.5])
    opt.step()
    assert 0 < opt._numpy_seconds < 0.02
