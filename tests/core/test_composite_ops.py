"""lerp, logaddexp, log2/log10, nan_to_num, diff, meshgrid, tensor_split, isin, bincount
against torch: values and gradients (float64), edge values, and gradcheck."""
import numpy as np
import pytest

import deltagrad as dg
from tests.conftest import requires_torch

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)


def _pair(a):
    return dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _check(dg_fn, torch_fn, *arrays):
    ds, ts = zip(*[_pair(a) for a in arrays])
    out, tout = dg_fn(*ds), torch_fn(*ts)
    outs = out if isinstance(out, tuple) else (out,)
    touts = tout if isinstance(tout, tuple) else (tout,)
    for o, t in zip(outs, touts):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12,
                                   atol=1e-12)
    w = [RNG.standard_normal(tuple(t.shape)) for t in touts]
    sum((o * dg.tensor(wi)).sum() for o, wi in zip(outs, w)).backward()
    sum((t * torch.tensor(wi)).sum() for t, wi in zip(touts, w)).backward()
    for d, t in zip(ds, ts):
        np.testing.assert_allclose(d.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)


@requires_torch
def test_elementwise_compositions_match_torch():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))
    _check(lambda x, y: dg.lerp(x, y, 0.3), lambda x, y: torch.lerp(x, y, 0.3), a, b)
    w = RNG.random((3, 4))
    _check(lambda x, y, z: dg.lerp(x, y, z), lambda x, y, z: torch.lerp(x, y, z), a, b, w)
    _check(dg.logaddexp, torch.logaddexp, a * 50, b * 50)
    _check(dg.log2, torch.log2, np.abs(a) + 0.1)
    _check(dg.log10, torch.log10, np.abs(a) + 0.1)


@requires_torch
def test_logaddexp_is_stable_at_the_extremes_and_float32_stays():
    x = np.array([1e4, -1e4, -np.inf, np.inf, 0.0], np.float32)
    y = np.array([1e4, 3.0, -np.inf, 1.0, -np.inf], np.float32)
    got = dg.logaddexp(dg.tensor(x), dg.tensor(y))
    assert got.dtype == dg.float32
    np.testing.assert_array_equal(got.numpy(), torch.logaddexp(torch.tensor(x),
                                                               torch.tensor(y)).numpy())


@requires_torch
def test_nan_to_num_values_and_gradient_where_finite():
    x = np.array([[1.0, -2.0, np.nan], [np.inf, -np.inf, 3.0]])
    for kw in ({}, dict(nan=1.0, posinf=2.0, neginf=-3.0)):
        d, t = _pair(x)
        out, tout = dg.nan_to_num(d, **kw), torch.nan_to_num(t, **kw)
        np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
        out.sum().backward()
        tout.sum().backward()
        np.testing.assert_array_equal(d.grad.numpy(), t.grad.numpy())


@requires_torch
@pytest.mark.parametrize("n,dim", [(1, -1), (2, 1), (1, 0), (3, -1), (0, 0)])
def test_diff_matches_torch(n, dim):
    a = RNG.standard_normal((4, 6))
    _check(lambda x: dg.diff(x, n=n, dim=dim), lambda x: torch.diff(x, n=n, dim=dim), a)
    pre, app = RNG.standard_normal((4, 2)), RNG.standard_normal((4, 1))
    _check(lambda x, p, q: dg.diff(x, 1, -1, p, q), lambda x, p, q: torch.diff(x, 1, -1, p, q),
           a, pre, app)


@requires_torch
@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch(indexing):
    a, b, c = RNG.standard_normal(3), RNG.standard_normal(4), RNG.standard_normal(2)
    _check(lambda x, y, z: dg.meshgrid(x, y, z, indexing=indexing),
           lambda x, y, z: torch.meshgrid(x, y, z, indexing=indexing), a, b, c)


@requires_torch
@pytest.mark.parametrize("spec", [3, 4, [2, 7], [3, 3, 8], [0, 10]])
def test_tensor_split_matches_torch(spec):
    a = RNG.standard_normal((10, 2))
    _check(lambda x: dg.tensor_split(x, spec), lambda x: torch.tensor_split(x, spec), a)


@requires_torch
def test_isin_and_bincount_match_torch():
    e, t = np.array([[1, 2, 3], [4, 5, 6]]), np.array([2, 6, 9])
    np.testing.assert_array_equal(dg.isin(dg.tensor(e), dg.tensor(t)).numpy(),
                                  torch.isin(torch.tensor(e), torch.tensor(t)).numpy())
    np.testing.assert_array_equal(dg.isin(dg.tensor(e), dg.tensor(t), invert=True).numpy(),
                                  torch.isin(torch.tensor(e), torch.tensor(t),
                                             invert=True).numpy())
    a, w = np.array([0, 1, 1, 3, 5]), np.array([0.5, 1, 2, 3, 4], np.float32)
    for kw in ({}, dict(minlength=9)):
        np.testing.assert_array_equal(dg.bincount(dg.tensor(a), **kw).numpy(),
                                      torch.bincount(torch.tensor(a), **kw).numpy())
    got = dg.bincount(dg.tensor(a), dg.tensor(w))
    ref = torch.bincount(torch.tensor(a), torch.tensor(w))
    assert got.dtype == dg.float32 and np.allclose(got.numpy(), ref.numpy())
    with pytest.raises(RuntimeError, match="non-negative integral"):
        dg.bincount(dg.tensor([1, -1]))
    with pytest.raises(RuntimeError, match="non-negative integral"):
        dg.bincount(dg.tensor([1.0]))


def test_gradcheck_of_the_compositions():
    a = dg.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    b = dg.tensor(RNG.standard_normal((3, 4)), requires_grad=True)
    assert dg.autograd.gradcheck(dg.logaddexp, (a, b))
    assert dg.autograd.gradcheck(lambda x: dg.diff(x, n=2, dim=1), (a,))
    assert dg.autograd.gradcheck(lambda x, y: dg.lerp(x, y, 0.25), (a, b))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="diff: order"):
        dg.diff(dg.zeros(3), n=-1)
    with pytest.raises(ValueError, match="meshgrid: indexing"):
        dg.meshgrid(dg.zeros(2), indexing="yx")
    with pytest.raises(RuntimeError, match="tensor_split: number of sections"):
        dg.tensor_split(dg.zeros(4), 0)
    with pytest.raises(TypeError, match="lerp: end must be a Tensor"):
        dg.lerp(dg.zeros(2), [1.0, 2.0], 0.5)
