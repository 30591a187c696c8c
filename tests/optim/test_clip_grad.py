"""dg.nn.utils: clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters
against torch.nn.utils."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
from deltagrad.nn.utils import (clip_grad_norm_, clip_grad_value_, get_total_norm,
                                parameters_to_vector, vector_to_parameters)
from tests.conftest import requires_torch

SHAPES = [(3, 4), (5,), (), (2, 1, 3)]


def _params(dtype, scale, seed=0):
    import torch
    rng = np.random.default_rng(seed)
    arrs = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [(rng.standard_normal(s) * scale).astype(dtype) for s in SHAPES]
    ps = [dg.tensor(a, requires_grad=True) for a in arrs]
    ts = [torch.tensor(a, requires_grad=True) for a in arrs]
    for p, t, g in zip(ps, ts, grads):
        p.grad = dg.tensor(g.copy())
        t.grad = torch.tensor(g.copy())
    return ps, ts


@requires_torch
@settings(max_examples=25, deadline=None)
@given(norm_type=st.sampled_from([2.0, 1.0, 3.0, 0.5, math.inf, -math.inf, 0.0]),
       max_norm=st.floats(0.01, 100.0), scale=st.floats(0.01, 10.0),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_clip_grad_norm_matches_torch(norm_type, max_norm, scale, dtype):
    import torch
    ps, ts = _params(dtype, scale)
    total = clip_grad_norm_(ps, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(ts, max_norm, norm_type)
    assert isinstance(total, dg.Tensor) and total.shape == ()
    assert total.dtype == ttotal.numpy().dtype
    tol = dict(rtol=2e-6, atol=1e-7) if dtype == np.float32 else dict(rtol=1e-12)
    np.testing.assert_allclose(total.numpy(), ttotal.numpy(), **tol)
    for p, t in zip(ps, ts):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), **tol)


def test_clip_grad_norm_rescales_to_max_norm_and_skips_missing_grads():
    a, b, c = (dg.zeros(2, requires_grad=True) for _ in range(3))
    a.grad, b.grad = dg.tensor([3.0, 0.0]), dg.tensor([0.0, 4.0])
    total = clip_grad_norm_([a, b, c], max_norm=1.0)
    assert float(total) == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), [0.0, 0.8], rtol=1e-5)
    assert c.grad is None
    # small gradients are left alone (the factor is clamped at 1)
    assert float(clip_grad_norm_(a, 10.0)) == pytest.approx(0.6, rel=1e-5)
    np.testing.assert_allclose(a.grad.numpy(), [0.6, 0.0], rtol=1e-5)
    assert float(clip_grad_norm_([c], 1.0)) == 0.0


def test_clip_grad_norm_nonfinite():
    a = dg.zeros(3, requires_grad=True)
    a.grad = dg.tensor([1.0, float("inf"), 2.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    assert math.isinf(float(clip_grad_norm_([a], 1.0)))
    assert np.isnan(a.grad.numpy()[1])          # as in torch: inf · 0 is NaN
    assert math.isinf(float(get_total_norm([dg.tensor([1.0, -math.inf])])))


@requires_torch
def test_clip_grad_value_matches_torch():
    import torch
    ps, ts = _params(np.float32, 3.0)
    clip_grad_value_(ps, 1.5)
    torch.nn.utils.clip_grad_value_(ts, 1.5)
    for p, t in zip(ps, ts):
        np.testing.assert_array_equal(p.grad.numpy(), t.grad.numpy())
        assert np.abs(p.grad.numpy()).max() <= 1.5


@requires_torch
def test_parameters_vector_round_trip():
    import torch
    ps, ts = _params(np.float64, 1.0)
    v = parameters_to_vector(ps)
    np.testing.assert_array_equal(v.detach().numpy(),
                                  torch.nn.utils.parameters_to_vector(ts).detach().numpy())
    assert v.shape == (sum(int(np.prod(s)) for s in SHAPES),)
    # it is differentiable: d(sum(v * k))/dp = k reshaped
    for p in ps:
        p.grad = None
    k = dg.arange(v.shape[0], dtype=dg.float64)
    (v * k).sum().backward()
    np.testing.assert_array_equal(ps[0].grad.numpy(), np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(ps[1].grad.numpy(), np.arange(12.0, 17.0))
    new = dg.arange(v.shape[0], dtype=dg.float64) * 0.5
    vector_to_parameters(new, ps)
    np.testing.assert_array_equal(parameters_to_vector(ps).detach().numpy(), new.numpy())
    assert ps[2].shape == () and float(ps[2]) == 0.5 * 17
    with pytest.raises(ValueError, match="elements"):
        vector_to_parameters(dg.zeros(3, dtype=dg.float64), ps)
    with pytest.raises(TypeError, match="expected Tensor"):
        vector_to_parameters(np.zeros(3), ps)
    with pytest.raises(TypeError, match="expected Tensors"):
        parameters_to_vector([np.zeros(3)])
