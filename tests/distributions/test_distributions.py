"""dg.distributions against torch.distributions: log_prob, entropy, mean, variance, shapes and
KL with their gradients on hypothesis-drawn parameters (float64), rsample's reparameterisation
gradient, sample statistics, and validate_args errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import deltagrad as dg
import deltagrad.distributions as D

from ..conftest import requires_torch

torch = pytest.importorskip("torch")
TD = torch.distributions

SETTINGS = settings(max_examples=15, deadline=None, database=None)


def _np(t):
    return t.detach().numpy()


def _params(rng, kind, shape):
    if kind == "positive":
        return np.abs(rng.standard_normal(shape)) + 0.3
    if kind == "unit":
        return rng.uniform(0.05, 0.95, shape)
    return rng.standard_normal(shape)


def _mvn_params(rng, batch, d, which):
    a = rng.standard_normal(batch + (d, d))
    cov = a @ np.swapaxes(a, -1, -2) + d * np.eye(d)
    if which == "covariance_matrix":
        return cov
    if which == "precision_matrix":
        return np.linalg.inv(cov)
    return np.linalg.cholesky(cov)


# name -> (make(lib, *params), param kinds, value(rng, batch_shape) or None)
CASES = {
    "Normal": (lambda m, loc, scale: m.Normal(loc, scale), ["real", "positive"],
               lambda rng, s: rng.standard_normal(s)),
    "Bernoulli_probs": (lambda m, p: m.Bernoulli(probs=p), ["unit"],
                        lambda rng, s: rng.integers(0, 2, s).astype(float)),
    "Bernoulli_logits": (lambda m, lg: m.Bernoulli(logits=lg), ["real"],
                         lambda rng, s: rng.integers(0, 2, s).astype(float)),
    "Uniform": (lambda m, lo, w: m.Uniform(lo, lo + w), ["real", "positive"], None),
    "Exponential": (lambda m, r: m.Exponential(r), ["positive"],
                    lambda rng, s: np.abs(rng.standard_normal(s))),
    "Laplace": (lambda m, loc, scale: m.Laplace(loc, scale), ["real", "positive"],
                lambda rng, s: rng.standard_normal(s)),
    "Poisson": (lambda m, r: m.Poisson(r), ["positive"],
                lambda rng, s: rng.integers(0, 5, s).astype(float)),
    "Gamma": (lambda m, a, b: m.Gamma(a, b), ["positive", "positive"],
              lambda rng, s: np.abs(rng.standard_normal(s)) + 0.1),
    "Beta": (lambda m, a, b: m.Beta(a, b), ["positive", "positive"],
             lambda rng, s: rng.uniform(0.05, 0.95, s)),
}


def _lib(m):
    return D if m is dg else TD


def _both(case, arrays):
    make = CASES[case][0]
    xs = [dg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    return xs, ts, make(D, *xs), make(TD, *ts)


def _check_grads(xs, ts, out, tout, rng):
    w = rng.standard_normal(tuple(tout.shape))
    (out * dg.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        if t.grad is None:
            continue
        np.testing.assert_allclose(_np(x.grad), _np(t.grad), rtol=1e-7, atol=1e-10)


@requires_torch
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("what", ["log_prob", "entropy", "mean", "variance", "stddev"])
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), seed=st.integers(0, 2 ** 16))
def test_scalar_distributions_match_torch(case, what, shape, seed):
    if case == "Poisson" and what == "entropy":
        return  # PyTorch has no closed form either
    rng = np.random.default_rng(seed)
    arrays = [_params(rng, k, shape) for k in CASES[case][1]]
    xs, ts, d, td = _both(case, arrays)
    assert tuple(d.batch_shape) == tuple(td.batch_shape)
    assert tuple(d.event_shape) == tuple(td.event_shape)
    if what == "log_prob":
        make_value = CASES[case][2]
        v = make_value(rng, shape) if make_value else _np(td.sample())
        out, tout = d.log_prob(dg.tensor(v)), td.log_prob(torch.tensor(v))
    elif what == "entropy":
        out, tout = d.entropy(), td.entropy()
    else:
        out, tout = getattr(d, what), getattr(td, what)
    np.testing.assert_allclose(_np(out), _np(tout), rtol=1e-10, atol=1e-12)
    assert out.dtype == dg.float64
    _check_grads(xs, ts, out, tout, rng)


@requires_torch
@pytest.mark.parametrize("param", ["probs", "logits"])
@SETTINGS
@given(batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), k=st.integers(1, 5),
       seed=st.integers(0, 2 ** 16))
def test_categorical_matches_torch(param, batch, k, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.1, 1.0, batch + (k,)) if param == "probs" else \
        rng.standard_normal(batch + (k,)) * 3
    x, t = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    d, td = D.Categorical(**{param: x}), TD.Categorical(**{param: t})
    assert tuple(d.batch_shape) == tuple(td.batch_shape) and d.event_shape == ()
    v = rng.integers(0, k, (2,) + batch)
    out = d.log_prob(dg.tensor(v)) + d.entropy()
    tout = td.log_prob(torch.tensor(v)) + td.entropy()
    np.testing.assert_allclose(_np(out), _np(tout), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(d.probs), _np(td.probs), rtol=1e-12)
    np.testing.assert_allclose(_np(d.logits), _np(td.logits), rtol=1e-10, atol=1e-12)
    _check_grads([x], [t], out, tout, rng)
    s = d.sample((3,))
    assert s.dtype == dg.int64 and tuple(s.shape) == (3,) + batch


@requires_torch
@pytest.mark.parametrize("which", ["covariance_matrix", "scale_tril", "precision_matrix"])
@SETTINGS
@given(batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), d=st.integers(1, 4),
       loc_batch=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_multivariate_normal_matches_torch(which, batch, d, loc_batch, seed):
    rng = np.random.default_rng(seed)
    loc = rng.standard_normal((batch if loc_batch else ()) + (d,))
    mat = _mvn_params(rng, batch, d, which)
    x, t = dg.tensor(loc, requires_grad=True), torch.tensor(loc, requires_grad=True)
    m, tm = dg.tensor(mat, requires_grad=True), torch.tensor(mat, requires_grad=True)
    dist, tdist = D.MultivariateNormal(x, **{which: m}), TD.MultivariateNormal(t, **{which: tm})
    assert tuple(dist.batch_shape) == tuple(tdist.batch_shape)
    assert tuple(dist.event_shape) == tuple(tdist.event_shape)
    v = rng.standard_normal((2,) + batch + (d,))
    out = dist.log_prob(dg.tensor(v)) + dist.entropy()
    tout = tdist.log_prob(torch.tensor(v)) + tdist.entropy()
    np.testing.assert_allclose(_np(out), _np(tout), rtol=1e-9, atol=1e-10)
    for attr in ("mean", "variance", "covariance_matrix", "scale_tril", "precision_matrix"):
        np.testing.assert_allclose(_np(getattr(dist, attr)), _np(getattr(tdist, attr)),
                                   rtol=1e-9, atol=1e-10, err_msg=attr)
    w = rng.standard_normal(tuple(tout.shape))
    (out * dg.tensor(w)).sum().backward()
    (tout * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(_np(x.grad), _np(t.grad), rtol=1e-7, atol=1e-9)
    if which == "scale_tril":  # torch's gradient of the strict upper triangle is 0 too
        np.testing.assert_allclose(_np(m.grad), _np(tm.grad), rtol=1e-7, atol=1e-9)
    else:  # compare the symmetric part (only it is defined for a symmetric argument)
        sym = lambda g: (g + np.swapaxes(g, -1, -2)) / 2  # noqa: E731
        np.testing.assert_allclose(sym(_np(m.grad)), sym(_np(tm.grad)), rtol=1e-6, atol=1e-8)


@requires_torch
@pytest.mark.parametrize("reinterpreted", [0, 1, 2])
def test_independent_normal_matches_torch(reinterpreted):
    rng = np.random.default_rng(reinterpreted)
    loc, scale = rng.standard_normal((3, 2, 4)), np.abs(rng.standard_normal((3, 2, 4))) + 0.5
    d = D.Independent(D.Normal(dg.tensor(loc), dg.tensor(scale)), reinterpreted)
    td = TD.Independent(TD.Normal(torch.tensor(loc), torch.tensor(scale)), reinterpreted)
    assert tuple(d.batch_shape) == tuple(td.batch_shape)
    assert tuple(d.event_shape) == tuple(td.event_shape)
    v = rng.standard_normal((5, 3, 2, 4))
    np.testing.assert_allclose(_np(d.log_prob(dg.tensor(v))), _np(td.log_prob(torch.tensor(v))),
                               rtol=1e-12)
    np.testing.assert_allclose(_np(d.entropy()), _np(td.entropy()), rtol=1e-12)
    assert tuple(d.rsample((2,)).shape) == (2, 3, 2, 4) and d.has_rsample
    q = D.Independent(D.Normal(dg.tensor(loc * 0), dg.tensor(scale * 2)), reinterpreted)
    tq = TD.Independent(TD.Normal(torch.tensor(loc * 0), torch.tensor(scale * 2)), reinterpreted)
    np.testing.assert_allclose(_np(D.kl_divergence(d, q)), _np(TD.kl_divergence(td, tq)),
                               rtol=1e-12)


# ----------------------------------------------------------------------------- KL
def _kl_pairs(rng, shape):
    loc, scale = rng.standard_normal(shape), np.abs(rng.standard_normal(shape)) + 0.3
    loc2, scale2 = rng.standard_normal(shape), np.abs(rng.standard_normal(shape)) + 0.3
    p = rng.uniform(0.05, 0.95, shape)
    p2 = np.where(rng.random(shape) < 0.2, 0.0, rng.uniform(0.05, 0.95, shape))
    c = rng.uniform(0.0, 1.0, shape + (3,))
    c[..., 0] = np.where(rng.random(shape) < 0.3, 0.0, c[..., 0])
    c2 = rng.uniform(0.1, 1.0, shape + (3,))
    lo, w = rng.standard_normal(shape), np.abs(rng.standard_normal(shape)) + 0.3
    lo2 = lo - np.where(rng.random(shape) < 0.3, -0.1, 0.5)
    return {
        "normal": (lambda m, a, b, c_, d_: (m.Normal(a, b), m.Normal(c_, d_)),
                   [loc, scale, loc2, scale2]),
        "bernoulli": (lambda m, a, b: (m.Bernoulli(probs=a), m.Bernoulli(probs=b)), [p2, p]),
        "bernoulli_to_zero": (lambda m, a, b: (m.Bernoulli(probs=a), m.Bernoulli(probs=b)),
                              [p, p2]),
        "categorical": (lambda m, a, b: (m.Categorical(probs=a), m.Categorical(probs=b)),
                        [c, c2]),
        "categorical_to_zero": (lambda m, a, b: (m.Categorical(probs=a),
                                                 m.Categorical(probs=b)), [c2, c]),
        "uniform": (lambda m, a, b, c_, d_: (m.Uniform(a, a + b), m.Uniform(c_, c_ + d_)),
                    [lo, w, lo2, w + 0.6]),
        "exponential": (lambda m, a, b: (m.Exponential(a), m.Exponential(b)), [scale, scale2]),
        "laplace": (lambda m, a, b, c_, d_: (m.Laplace(a, b), m.Laplace(c_, d_)),
                    [loc, scale, loc2, scale2]),
        "poisson": (lambda m, a, b: (m.Poisson(a), m.Poisson(b)), [scale, scale2]),
        "onehot": (lambda m, a, b: (m.OneHotCategorical(probs=a), m.OneHotCategorical(probs=b)),
                   [c, c2]),
        "gamma": (lambda m, a, b, c_, d_: (m.Gamma(a, b), m.Gamma(c_, d_)),
                  [scale, scale2, scale2, scale]),
        "beta": (lambda m, a, b, c_, d_: (m.Beta(a, b), m.Beta(c_, d_)),
                 [scale, scale2, scale2 + 0.5, scale]),
        "dirichlet": (lambda m, a, b: (m.Dirichlet(a), m.Dirichlet(b)), [c2, c2[..., ::-1] + 0.2]),
    }


@requires_torch
@pytest.mark.parametrize("pair", ["normal", "bernoulli", "bernoulli_to_zero", "categorical",
                                  "categorical_to_zero", "uniform", "exponential", "laplace",
                                  "poisson", "onehot", "gamma", "beta", "dirichlet"])
@SETTINGS
@given(shape=hnp.array_shapes(min_dims=0, max_dims=2, max_side=4), seed=st.integers(0, 2 ** 16))
def test_kl_divergence_matches_torch(pair, shape, seed):
    rng = np.random.default_rng(seed)
    make, arrays = _kl_pairs(rng, shape)[pair]
    xs = [dg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, tout = D.kl_divergence(*make(D, *xs)), TD.kl_divergence(*make(TD, *ts))
    np.testing.assert_allclose(_np(out), _np(tout), rtol=1e-9, atol=1e-12)
    finite = np.isfinite(_np(tout))
    w = rng.standard_normal(tuple(tout.shape))
    (dg.where(dg.tensor(finite), out, 0.0) * dg.tensor(w)).sum().backward()
    (torch.where(torch.tensor(finite), tout, 0.0) * torch.tensor(w)).sum().backward()
    for x, t in zip(xs, ts):
        if t.grad is not None:
            np.testing.assert_allclose(np.nan_to_num(_np(x.grad)), np.nan_to_num(_np(t.grad)),
                                       rtol=1e-7, atol=1e-10)


@requires_torch
@SETTINGS
@given(batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), d=st.integers(1, 4),
       seed=st.integers(0, 2 ** 16))
def test_kl_multivariate_normal_matches_torch(batch, d, seed):
    rng = np.random.default_rng(seed)
    args = [rng.standard_normal(batch + (d,)), _mvn_params(rng, batch, d, "scale_tril"),
            rng.standard_normal((d,)), _mvn_params(rng, (), d, "covariance_matrix")]
    xs = [dg.tensor(a, requires_grad=True) for a in args]
    ts = [torch.tensor(a, requires_grad=True) for a in args]
    out = D.kl_divergence(D.MultivariateNormal(xs[0], scale_tril=xs[1]),
                          D.MultivariateNormal(xs[2], covariance_matrix=xs[3]))
    tout = TD.kl_divergence(TD.MultivariateNormal(ts[0], scale_tril=ts[1]),
                            TD.MultivariateNormal(ts[2], covariance_matrix=ts[3]))
    np.testing.assert_allclose(_np(out), _np(tout), rtol=1e-9, atol=1e-10)
    out.sum().backward()
    tout.sum().backward()
    for x, t in zip(xs[:3], ts[:3]):
        np.testing.assert_allclose(_np(x.grad), _np(t.grad), rtol=1e-7, atol=1e-9)


def test_kl_registry_picks_the_most_specific_pair_and_refuses_unknown_pairs():
    class MyNormal(D.Normal):
        pass

    p, q = MyNormal(0.0, 1.0), D.Normal(1.0, 2.0)
    assert np.isclose(D.kl_divergence(p, q).item(), D.kl_divergence(D.Normal(0.0, 1.0), q).item())

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return dg.tensor(-1.0)

    assert D.kl_divergence(p, q).item() == -1.0
    with pytest.raises(NotImplementedError, match="No KL"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(probs=dg.tensor(0.5)))


# ----------------------------------------------------------------------------- sampling
def test_rsample_is_differentiable_by_reparameterisation():
    loc = dg.tensor([0.5, -1.0], dtype=dg.float64, requires_grad=True)
    scale = dg.tensor([2.0, 0.5], dtype=dg.float64, requires_grad=True)
    x = D.Normal(loc, scale).rsample((1000,))
    x.sum().backward()
    eps = (x - loc) / scale  # x = μ + σ ε
    np.testing.assert_allclose(loc.grad.numpy(), [1000, 1000])
    np.testing.assert_allclose(scale.grad.numpy(), _np(eps.sum(0)), rtol=1e-10)
    lo = dg.tensor(1.0, dtype=dg.float64, requires_grad=True)
    hi = dg.tensor(3.0, dtype=dg.float64, requires_grad=True)
    u = D.Uniform(lo, hi).rsample((100,))
    u.sum().backward()
    frac = (u - lo) / (hi - lo)
    np.testing.assert_allclose(hi.grad.item(), _np(frac.sum()), rtol=1e-10)
    np.testing.assert_allclose(lo.grad.item(), 100 - _np(frac.sum()), rtol=1e-10)


def test_multivariate_normal_rsample_gradient_and_moments():
    loc = dg.tensor([1.0, -2.0], dtype=dg.float64, requires_grad=True)
    L = dg.tensor([[1.0, 0.0], [0.8, 0.6]], dtype=dg.float64, requires_grad=True)
    dist = D.MultivariateNormal(loc, scale_tril=L)
    x = dist.rsample((20000,))
    x.sum().backward()
    eps = dg.linalg.solve_triangular(L.detach(), (x.detach() - loc.detach()).T, upper=False)
    # ∂Σx/∂L[i, j] = Σ_samples ε_j (every entry, as torch's L ε), ∂/∂μ = number of samples
    np.testing.assert_allclose(L.grad.numpy(), np.tile(eps.numpy().sum(1), (2, 1)),
                               rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(loc.grad.numpy(), [20000, 20000])
    cov = np.cov(_np(x).T)
    np.testing.assert_allclose(cov, [[1.0, 0.8], [0.8, 1.0]], atol=0.05)
    np.testing.assert_allclose(_np(x).mean(0), [1.0, -2.0], atol=0.05)


def test_samples_have_the_right_shapes_dtypes_and_frequencies():
    b = D.Bernoulli(probs=dg.tensor([0.2, 0.9]))
    s = b.sample((5000,))
    assert tuple(s.shape) == (5000, 2) and s.dtype == dg.float32 and not s.requires_grad
    np.testing.assert_allclose(s.numpy().mean(0), [0.2, 0.9], atol=0.03)
    c = D.Categorical(probs=dg.tensor([[0.1, 0.0, 0.9], [1.0, 1.0, 2.0]]))
    s = c.sample((4000,)).numpy()
    assert s.shape == (4000, 2)
    np.testing.assert_allclose(np.bincount(s[:, 0], minlength=3) / 4000, [0.1, 0, 0.9],
                               atol=0.03)
    np.testing.assert_allclose(np.bincount(s[:, 1], minlength=3) / 4000, [0.25, 0.25, 0.5],
                               atol=0.03)
    n = D.Normal(dg.zeros(3), dg.ones(3) * 2)
    assert tuple(n.sample().shape) == (3,) and tuple(n.sample((4, 5)).shape) == (4, 5, 3)
    with pytest.raises(NotImplementedError, match="rsample"):
        b.rsample()


def test_normal_worked_example():
    # the standard normal at 0: log p = −½ log 2π; H = ½ (1 + log 2π)
    d = D.Normal(0.0, 1.0)
    assert np.isclose(d.log_prob(dg.tensor(0.0)).item(), -0.5 * np.log(2 * np.pi))
    assert np.isclose(d.entropy().item(), 0.5 * (1 + np.log(2 * np.pi)))
    assert d.log_prob(dg.tensor(0.0)).dtype == dg.float32


# ----------------------------------------------------------------------------- validation
@requires_torch
@pytest.mark.parametrize("make", [
    lambda m: m.Normal(torch_or_dg(m).tensor([0.0]), torch_or_dg(m).tensor([-1.0])),
    lambda m: m.Bernoulli(probs=torch_or_dg(m).tensor([1.5])),
    lambda m: m.Categorical(probs=torch_or_dg(m).tensor([0.5, -0.1])),
    lambda m: m.Uniform(torch_or_dg(m).tensor([1.0]), torch_or_dg(m).tensor([0.0])),
    lambda m: m.MultivariateNormal(torch_or_dg(m).zeros(2),
                                   scale_tril=torch_or_dg(m).tensor([[1.0, 0.0], [0.0, -1.0]])),
    lambda m: m.MultivariateNormal(torch_or_dg(m).zeros(2),
                                   covariance_matrix=torch_or_dg(m).tensor([[1.0, 2.0],
                                                                            [2.0, 1.0]])),
    lambda m: m.Bernoulli(probs=torch_or_dg(m).tensor([0.5]), logits=torch_or_dg(m).tensor([0.])),
    lambda m: m.MultivariateNormal(torch_or_dg(m).zeros(2)),
])
def test_invalid_parameters_raise_value_error_like_torch(make):
    with pytest.raises(ValueError):
        make(TD)
    with pytest.raises(ValueError):
        make(D)


def torch_or_dg(m):
    return dg if m is D else torch


@requires_torch
def test_invalid_values_and_validate_args_false():
    with pytest.raises(ValueError, match="to be within the support"):
        D.Bernoulli(probs=dg.tensor([0.5])).log_prob(dg.tensor([0.5]))
    with pytest.raises(ValueError, match="to be within the support"):
        D.Categorical(logits=dg.zeros(3)).log_prob(dg.tensor(3))
    with pytest.raises(ValueError, match="not broadcastable"):
        D.Normal(dg.zeros(3), dg.ones(3)).log_prob(dg.zeros(2))
    with pytest.raises(ValueError, match="right-most size of value must match event_shape"):
        D.MultivariateNormal(dg.zeros(3), scale_tril=dg.eye(3)).log_prob(dg.zeros(2))
    with pytest.raises(ValueError, match="to satisfy the constraint GreaterThan"):
        D.Normal(dg.zeros(1), dg.zeros(1))
    d = D.Normal(dg.zeros(1), -dg.ones(1), validate_args=False)
    t = TD.Normal(torch.zeros(1), -torch.ones(1), validate_args=False)
    np.testing.assert_allclose(_np(d.variance), _np(t.variance))


@requires_torch
@pytest.mark.parametrize("make, shape, value", [
    (lambda m, L: m.Normal(L.zeros(3), L.ones(3)), (2, 3), np.zeros((2, 3), np.float32)),
    (lambda m, L: m.Categorical(logits=L.zeros(1, 4)), (5,), np.array([0, 1, 2, 3, 0])),
    (lambda m, L: m.Bernoulli(probs=L.tensor(0.3)), (2, 2), np.ones((2, 2), np.float32)),
    (lambda m, L: m.MultivariateNormal(L.zeros(2), scale_tril=L.eye(2)), (3,),
     np.ones((3, 2), np.float32)),
    (lambda m, L: m.Independent(m.Normal(L.zeros(3), L.ones(3)), 1), (4,),
     np.ones((4, 3), np.float32)),
    (lambda m, L: m.Uniform(L.zeros(1), L.ones(1)), (3,), np.full(3, 0.5, np.float32)),
])
def test_expand_matches_torch(make, shape, value):
    e, te = make(D, dg).expand(shape), make(TD, torch).expand(shape)
    assert tuple(e.batch_shape) == tuple(te.batch_shape)
    assert tuple(e.event_shape) == tuple(te.event_shape)
    np.testing.assert_allclose(_np(e.log_prob(dg.tensor(value))),
                               _np(te.log_prob(torch.tensor(value))), rtol=1e-6)
    np.testing.assert_allclose(_np(e.entropy()), _np(te.entropy()), rtol=1e-6)
    assert tuple(e.sample((2,)).shape) == tuple(te.sample((2,)).shape)


def test_expand_refuses_a_shape_the_batch_cannot_grow_to():
    with pytest.raises(ValueError, match=r"Normal.expand: batch shape \(3,\) cannot be expanded"):
        D.Normal(dg.zeros(3), dg.ones(3)).expand((2,))


@pytest.mark.parametrize("make, value", [
    (lambda: D.Normal(dg.zeros(2), dg.ones(2)), dg.zeros(2)),
    (lambda: D.Bernoulli(logits=dg.zeros(2)), dg.ones(2)),
    (lambda: D.Categorical(probs=dg.ones(2, 3)), dg.tensor([0, 2])),
    (lambda: D.Uniform(dg.zeros(2), dg.ones(2)), dg.full((2,), 0.5)),
    (lambda: D.MultivariateNormal(dg.zeros(3), covariance_matrix=dg.eye(3)), dg.zeros(3)),
    (lambda: D.Independent(D.Normal(dg.zeros(2), dg.ones(2)), 1), dg.zeros(2)),
])
def test_float32_parameters_give_float32_results(make, value):
    d = make()
    for out in (d.log_prob(value), d.entropy(), d.sample()):
        assert out.dtype in (dg.float32, dg.int64), f"{type(d).__name__}: {out.dtype}"
    assert D.kl_divergence(d, make()).dtype == dg.float32


def test_vae_kl_term_worked_examples_from_the_notes():
    """KL[N(u, Σ) ‖ N(0, I)] = ½ (tr Σ + uᵀu − R − log det Σ) (notes, VAE)."""
    prior = D.MultivariateNormal(dg.zeros(2, dtype=dg.float64),
                                 covariance_matrix=dg.eye(2, dtype=dg.float64))
    q = D.MultivariateNormal(dg.tensor([1.0, 2.0], dtype=dg.float64),
                             covariance_matrix=dg.tensor([[2.0, 0.0], [0.0, 0.5]],
                                                         dtype=dg.float64))
    assert np.isclose(D.kl_divergence(q, prior).item(), 0.5 * (2.5 + 5.0 - 2 - 0.0))  # 2.75
    q = D.MultivariateNormal(dg.zeros(2, dtype=dg.float64),
                             covariance_matrix=dg.tensor([[2.0, 1.0], [1.0, 1.0]],
                                                         dtype=dg.float64))
    assert np.isclose(D.kl_divergence(q, prior).item(), 0.5)  # tr 3, det 1: ½ (3 − 2)
    # per coordinate, with q = N(μ, σ²): ½ (σ² + μ² − 1 − log σ²)
    kl = D.kl_divergence(D.Normal(dg.tensor([1.0, 0.0]), dg.tensor([1.0, 2.0])),
                         D.Normal(0.0, 1.0))
    np.testing.assert_allclose(kl.numpy(), [0.5, 0.5 * (4 - 1 - np.log(4))], rtol=1e-6)



@requires_torch
@pytest.mark.parametrize("case", ["Normal", "Exponential", "Laplace"])
def test_icdf_and_cdf_match_torch_with_gradients(case):
    rng = np.random.default_rng(3)
    arrays = [_params(rng, k, (4,)) for k in CASES[case][1]]
    xs, ts, d, td = _both(case, arrays)
    p = rng.uniform(0.05, 0.95, (4,))
    out, tout = d.icdf(dg.tensor(p)), td.icdf(torch.tensor(p))
    np.testing.assert_allclose(_np(out), _np(tout), rtol=1e-10)
    back = d.cdf(out.detach())
    np.testing.assert_allclose(_np(back), p, rtol=1e-8)
    _check_grads(xs, ts, out, tout, rng)


def test_one_hot_categorical_samples_and_rsample_moments():
    d = D.OneHotCategorical(probs=dg.tensor([[0.2, 0.8], [0.5, 0.5]]))
    s = d.sample((2000,)).numpy()
    assert s.shape == (2000, 2, 2) and (s.sum(-1) == 1).all()
    np.testing.assert_allclose(s.mean(0), [[0.2, 0.8], [0.5, 0.5]], atol=0.04)
    rate = dg.tensor([2.0], dtype=dg.float64, requires_grad=True)
    x = D.Exponential(rate).rsample((20000,))
    np.testing.assert_allclose(x.detach().numpy().mean(), 0.5, rtol=0.03)
    x.sum().backward()  # x = −log(u)/λ: ∂x/∂λ = −x/λ
    np.testing.assert_allclose(rate.grad.numpy(), -x.detach().numpy().sum() / 2.0, rtol=1e-10)
    counts = D.Poisson(dg.tensor([3.0, 0.0])).sample((5000,)).numpy()
    np.testing.assert_allclose(counts.mean(0), [3.0, 0.0], atol=0.1)



@requires_torch
@SETTINGS
@given(batch=hnp.array_shapes(min_dims=0, max_dims=2, max_side=3), k=st.integers(2, 4),
       seed=st.integers(0, 2 ** 16))
def test_dirichlet_matches_torch(batch, k, seed):
    rng = np.random.default_rng(seed)
    a = np.abs(rng.standard_normal(batch + (k,))) + 0.3
    x, t = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    d, td = D.Dirichlet(x), TD.Dirichlet(t)
    assert tuple(d.batch_shape) == tuple(td.batch_shape)
    assert tuple(d.event_shape) == tuple(td.event_shape)
    v = rng.dirichlet(np.ones(k), size=batch if batch else None)
    out = d.log_prob(dg.tensor(v)) + d.entropy() + d.variance.sum(-1) + d.mean.sum(-1)
    tout = td.log_prob(torch.tensor(v)) + td.entropy() + td.variance.sum(-1) + td.mean.sum(-1)
    np.testing.assert_allclose(_np(out), _np(tout), rtol=1e-10, atol=1e-12)
    _check_grads([x], [t], out, tout, rng)
    s = d.rsample((3,))
    assert tuple(s.shape) == (3,) + batch + (k,)
    np.testing.assert_allclose(_np(s.sum(-1)), 1.0, rtol=1e-12)


@requires_torch
def test_standard_gamma_implicit_gradient_matches_torch():
    from deltagrad.distributions.gamma import _implicit_grad
    alpha = np.array([0.05, 0.5, 1.0, 2.5, 10.0, 80.0])
    x = torch._standard_gamma(torch.tensor(alpha)).numpy()
    x = np.maximum(x, 1e-30)
    ref = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    np.testing.assert_allclose(_implicit_grad(alpha, x), ref, rtol=1e-3)


def test_gamma_and_beta_rsample_gradients_are_unbiased():
    """E[∂x/∂α] = ∂E[x]/∂α: 1/β for Γ(α, β); b/(a + b)² and −a/(a + b)² for Beta(a, b)."""
    a = dg.tensor([0.5, 3.0], dtype=dg.float64, requires_grad=True)
    D.Gamma(a, 2.0).rsample((40000,)).mean(0).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [0.5, 0.5], rtol=0.03)
    a = dg.tensor([2.0], dtype=dg.float64, requires_grad=True)
    b = dg.tensor([3.0], dtype=dg.float64, requires_grad=True)
    D.Beta(a, b).rsample((40000,)).mean().backward()
    np.testing.assert_allclose([a.grad.item(), b.grad.item()], [3 / 25, -2 / 25], rtol=0.05)
