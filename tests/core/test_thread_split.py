"""Element-wise work shared out over threads (deltagrad.threads.split_apply / parallel): the
same numbers as one call, bit for bit. The op suite's torch comparisons are collected here a
second time with every array split into blocks of a few rows (tiny MIN_SPLIT_ELEMENTS)."""
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import threads
from deltagrad.threads import balanced_groups, parallel, parallel_rows, split_apply

from .test_ops import test_backward_matches_torch, test_forward_matches_torch  # noqa: F401
from ..nn.test_activation import (test_pointwise_matches_torch,  # noqa: F401
                                  test_stable_at_1e4_float32,
                                  test_inplace_writes_input_and_keeps_gradients_right)
from ..nn.test_transformer import (test_sdpa_matches_torch,  # noqa: F401
                                   test_sdpa_fully_masked_row_is_zero_like_torch,
                                   test_mha_self_attention_matches_torch,
                                   test_encoder_layer_matches_torch,
                                   test_encoder_stack_with_causal_float_mask_and_final_norm_matches_torch)


@pytest.fixture(autouse=True)
def _split_everything(monkeypatch):
    before = dg.get_num_threads()
    monkeypatch.setattr(threads, "MIN_SPLIT_ELEMENTS", 2)
    dg.set_num_threads(2)
    yield
    dg.set_num_threads(before)


def _rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("shapes", [((64, 33), (64, 33)), ((64, 33), (33,)), ((33,), (64, 33)),
                                    ((64, 1, 5), (64, 7, 5)), ((64, 7), ())])
def test_split_ufunc_equals_one_call(shapes):
    a, b = (_rng().standard_normal(s).astype(np.float32) for s in shapes)
    for f in (np.add, np.multiply, np.subtract, np.maximum):
        got = split_apply(f, a, b)
        assert got.dtype == f(a, b).dtype
        np.testing.assert_array_equal(got, f(a, b))


def test_split_function_with_two_results_and_numbers():
    x = _rng().standard_normal((100, 9)).astype(np.float32)

    def f(rows, scale):
        return np.tanh(rows) * scale, (rows > 0)
    y, m = split_apply(f, x, 3.0)
    np.testing.assert_array_equal(y, np.tanh(x) * 3.0)
    np.testing.assert_array_equal(m, x > 0)
    assert m.dtype == bool


def test_reductions_and_mismatched_rows_are_one_call():
    x = _rng().standard_normal((100, 9))
    calls = []

    def total(a):
        calls.append(a.shape)
        return a.sum()
    assert split_apply(total, x) == x.sum()
    assert calls[-1] == (100, 9)                        # the whole array, after the probe
    y = _rng().standard_normal((3, 9))
    with pytest.raises(ValueError):                     # NumPy's own broadcast error
        split_apply(np.add, x, y)


def test_errors_in_a_helper_thread_reach_the_caller():
    def boom():
        raise ZeroDivisionError("in a helper")
    with pytest.raises(ZeroDivisionError, match="in a helper"):
        parallel([lambda: None, boom])
    parallel([lambda: None, lambda: None])              # the helpers still work afterwards


def test_the_callers_error_state_holds_in_every_part():
    x = np.zeros((64, 8), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="ignore", invalid="ignore"):
            r = split_apply(np.true_divide, x, x)
    assert np.isnan(r).all()
    with pytest.warns(RuntimeWarning):
        split_apply(np.true_divide, x, x)


def test_work_started_in_a_helper_does_not_split_again():
    seen = []

    def inner(lo, hi):
        seen.append((lo, hi))
    parallel([lambda: parallel_rows(1000, 1000, inner), lambda: parallel_rows(1000, 1000, inner)])
    assert sorted(seen) == [(0, 1000), (0, 1000)]      # neither call split again


def test_one_thread_means_no_split():
    dg.set_num_threads(1)
    seen = []
    parallel_rows(1000, 1000, lambda lo, hi: seen.append((lo, hi)))
    assert seen == [(0, 1000)]


def test_balanced_groups_spread_the_work():
    groups = balanced_groups([10, 1, 1, 8, 2], 2)
    totals = sorted(sum([10, 1, 1, 8, 2][i] for i in g) for g in groups)
    assert totals == [11, 11]
    assert sorted(i for g in groups for i in g) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("name, kwargs", [("Adam", {}), ("AdamW", {"weight_decay": 0.1}),
                                          ("SGD", {"momentum": 0.9, "nesterov": True}),
                                          ("RMSprop", {"momentum": 0.5}), ("Adagrad", {}),
                                          ("NAdam", {}), ("Adamax", {})])
def test_optimizers_sharing_parameters_over_threads_take_the_same_steps(name, kwargs):
    def run(threads_):
        dg.set_num_threads(threads_)
        rng = np.random.default_rng(1)
        ps = [dg.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
              for s in [(30, 20), (30, 20), (20,), (50, 7), (30, 20)]]
        opt = getattr(dg.optim, name)(ps, lr=0.01, foreach=False, **kwargs)
        for step in range(5):
            opt.zero_grad()
            loss = sum(((p * (step + 1)).sin() * p).sum() for p in ps)
            loss.backward()
            opt.step()
        return [p.detach().numpy().copy() for p in ps]
    for a, b in zip(run(1), run(2)):
        np.testing.assert_array_equal(a, b)
