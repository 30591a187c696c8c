"""Issue 20's tensor ops against torch (float64, values and gradients): cumprod (zeros too),
atan2, clamp_min/max, baddbmm/addbmm, kron, cross, tile/ravel/moveaxis/rot90, tril/triu_indices,
index_add/copy/fill (and their in-place forms), fill_diagonal_, and the random fills
(moments and ranges on large samples)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import deltagrad as dg
from tests.conftest import requires_torch, values_and_gradients_match

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(20)
FLOATS = st.floats(-3, 3, allow_nan=False, width=64).filter(lambda v: v == 0 or abs(v) > 1e-6)


def _check(dg_fn, torch_fn, *arrays, tol=1e-12):
    """Same values and same gradients of Σ w·out for random weights w."""
    values_and_gradients_match(dg_fn, torch_fn, arrays, tol=tol, rng=RNG)


@requires_torch
@settings(max_examples=40, deadline=None)
@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                    elements=st.sampled_from([0.0, 0.0, 1.5, -0.5, 2.0, -1.25, 0.75])),
       data=st.data())
def test_cumprod_matches_torch_with_zeros_in_the_input(a, data):
    dim = data.draw(st.integers(-a.ndim, a.ndim - 1))
    _check(lambda x: dg.cumprod(x, dim), lambda x: torch.cumprod(x, dim), a)
    _check(lambda x: x.cumprod(dim), lambda x: x.cumprod(dim), a)


@requires_torch
def test_cumprod_integers_accumulate_in_int64():
    a = np.array([[1, 2, 3], [4, 0, 6]], np.int32)
    got = dg.cumprod(dg.tensor(a), 1)
    want = torch.cumprod(torch.tensor(a), 1)
    assert got.dtype == dg.int64 and want.dtype == torch.int64
    np.testing.assert_array_equal(got.numpy(), want.numpy())


@requires_torch
@settings(max_examples=30, deadline=None)
@given(y=hnp.arrays(np.float64, (3, 4), elements=FLOATS),
       x=hnp.arrays(np.float64, (1, 4), elements=FLOATS))
def test_atan2_matches_torch(y, x):
    x = np.where(x == 0, 0.5, x)
    _check(dg.atan2, torch.atan2, y, x)


@requires_torch
def test_atan2_quadrants_and_errors():
    y = np.array([1.0, 1.0, -1.0, -1.0, 0.0, 0.0])
    x = np.array([1.0, -1.0, -1.0, 1.0, -1.0, 1.0])
    np.testing.assert_array_equal(dg.atan2(dg.tensor(y), dg.tensor(x)).numpy(),
                                  torch.atan2(torch.tensor(y), torch.tensor(x)).numpy())
    with pytest.raises(RuntimeError, match="atan2.*cannot be broadcast"):
        dg.atan2(dg.ones(3), dg.ones(4))


@requires_torch
def test_clamp_min_max_values_and_gradients():
    a = RNG.standard_normal((4, 5))
    _check(lambda x: dg.clamp_min(x, -0.2), lambda x: torch.clamp_min(x, -0.2), a)
    _check(lambda x: x.clamp_max(0.3), lambda x: x.clamp_max(0.3), a)
    b = RNG.standard_normal((1, 5))
    _check(lambda x, m: dg.clamp_min(x, m), lambda x, m: torch.clamp_min(x, m), a, b)
    t = dg.tensor(a.copy())
    t.clamp_max_(0.0)
    assert t.numpy().max() <= 0.0


@requires_torch
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, -2.0), (0, 1.5)])
def test_baddbmm_and_addbmm_match_torch(beta, alpha):
    b1, b2 = RNG.standard_normal((3, 2, 4)), RNG.standard_normal((3, 4, 5))
    inp = RNG.standard_normal((1, 5))
    _check(lambda i, x, y: dg.baddbmm(i, x, y, beta=beta, alpha=alpha),
           lambda i, x, y: torch.baddbmm(i, x, y, beta=beta, alpha=alpha), inp, b1, b2)
    _check(lambda i, x, y: dg.addbmm(i, x, y, beta=beta, alpha=alpha),
           lambda i, x, y: torch.addbmm(i, x, y, beta=beta, alpha=alpha), inp, b1, b2)


@requires_torch
def test_baddbmm_with_beta_zero_ignores_nan_and_rejects_bad_shapes():
    inp = np.full((3, 2, 5), np.nan)
    b1, b2 = RNG.standard_normal((3, 2, 4)), RNG.standard_normal((3, 4, 5))
    got = dg.baddbmm(dg.tensor(inp), dg.tensor(b1), dg.tensor(b2), beta=0)
    assert np.isfinite(got.numpy()).all()
    with pytest.raises(RuntimeError, match="baddbmm.*3-D"):
        dg.baddbmm(dg.tensor(inp), dg.tensor(b1[0]), dg.tensor(b2))
    with pytest.raises(RuntimeError, match="baddbmm.*does not broadcast"):
        dg.baddbmm(dg.ones(4, 4), dg.tensor(b1), dg.tensor(b2))


@requires_torch
@settings(max_examples=25, deadline=None)
@given(sa=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3),
       sb=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
def test_kron_matches_torch(sa, sb):
    _check(dg.kron, torch.kron, RNG.standard_normal(sa), RNG.standard_normal(sb))


@requires_torch
@pytest.mark.parametrize("dim", [None, 0, 1, -1])
def test_cross_matches_torch(dim):
    a, b = RNG.standard_normal((3, 3)), RNG.standard_normal((3, 3))
    # dim=None: the first dimension of length 3, which PyTorch's deprecated default also takes
    _check(lambda x, y: dg.cross(x, y, dim=dim), lambda x, y: torch.cross(x, y, dim=dim)
           if dim is not None else torch.cross(x, y, dim=0), a, b)
    with pytest.raises(RuntimeError, match="cross.*length 3"):
        dg.cross(dg.ones(2, 4), dg.ones(2, 4), dim=1)


@requires_torch
@settings(max_examples=25, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=3),
       reps=st.lists(st.integers(0, 3), min_size=1, max_size=4), k=st.integers(-5, 5))
def test_tile_ravel_moveaxis_rot90_match_torch(shape, reps, k):
    a = RNG.standard_normal(shape)
    _check(lambda x: dg.tile(x, reps), lambda x: torch.tile(x, reps), a)
    _check(lambda x: x.ravel(), lambda x: x.ravel(), a)
    _check(lambda x: dg.moveaxis(x, 0, -1), lambda x: torch.moveaxis(x, 0, -1), a)
    if len(shape) >= 2:
        _check(lambda x: dg.rot90(x, k, (-1, 0)), lambda x: torch.rot90(x, k, (-1, 0)), a)


def test_rot90_rejects_bad_dims():
    with pytest.raises(RuntimeError, match="rot90.*different"):
        dg.rot90(dg.ones(2, 2), 1, (0, 0))
    with pytest.raises(RuntimeError, match="rot90.*dims == 2"):
        dg.rot90(dg.ones(2, 2, 2), 1, (0, 1, 2))


@requires_torch
@pytest.mark.parametrize("row,col,offset", [(3, 3, 0), (4, 2, 1), (2, 5, -1), (0, 3, 0),
                                            (3, 4, 5), (3, 4, -7)])
def test_tril_triu_indices_match_torch(row, col, offset):
    for name in ("tril_indices", "triu_indices"):
        got = getattr(dg, name)(row, col, offset)
        want = getattr(torch, name)(row, col, offset)
        assert got.dtype == dg.int64
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@requires_torch
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_index_add_copy_fill_match_torch(dim):
    a = RNG.standard_normal((4, 5, 3))
    n = a.shape[dim]
    index = np.array([n - 1, 0, n - 1])        # repeated: index_add accumulates
    src_shape = list(a.shape)
    src_shape[dim] = 3
    src = RNG.standard_normal(src_shape)
    di, ti = dg.tensor(index), torch.tensor(index)
    _check(lambda x, s: dg.index_add(x, dim, di, s, alpha=-1.5),
           lambda x, s: torch.index_add(x, dim, ti, s, alpha=-1.5), a, src)
    unique = np.array([n - 1, 0])
    src2 = np.take(src, [0, 1], axis=dim)
    _check(lambda x, s: x.index_copy(dim, dg.tensor(unique), s),
           lambda x, s: x.index_copy(dim, torch.tensor(unique), s), a, src2)
    _check(lambda x: x.index_fill(dim, dg.tensor([-1, 0]), 2.5),
           lambda x: x.index_fill(dim, torch.tensor([-1, 0]), 2.5), a)


@requires_torch
def test_index_ops_in_place_and_errors():
    a = RNG.standard_normal((3, 2))
    t, tt = dg.tensor(a), torch.tensor(a)
    t.index_add_(0, dg.tensor([2, 2]), dg.ones(2, 2, dtype=dg.float64))
    tt.index_add_(0, torch.tensor([2, 2]), torch.ones(2, 2, dtype=torch.float64))
    t.index_fill_(1, dg.tensor([0]), -1.0)
    tt.index_fill_(1, torch.tensor([0]), -1.0)
    t.index_copy_(0, dg.tensor([1]), dg.zeros(1, 2, dtype=dg.float64))
    tt.index_copy_(0, torch.tensor([1]), torch.zeros(1, 2, dtype=torch.float64))
    # the repeated index adds a + (1 + 1) here, (a + 1) + 1 in PyTorch: one ulp apart for
    # about one row in ten (the module's RNG draws a differently as xdist orders the tests)
    np.testing.assert_allclose(t.numpy(), tt.numpy(), rtol=1e-15, atol=0)
    with pytest.raises(IndexError, match=r"index_add\(\): index out of range"):
        dg.ones(3, 2).index_add(0, dg.tensor([3]), dg.ones(1, 2))
    with pytest.raises(IndexError, match=r"index_copy\(\): index out of range"):
        dg.ones(3, 2).index_copy(0, dg.tensor([-1]), dg.ones(1, 2))
    with pytest.raises(RuntimeError, match=r"index_add\(\): source of shape \(2, 2\)"):
        dg.ones(3, 2).index_add(0, dg.tensor([1]), dg.ones(2, 2))
    with pytest.raises(RuntimeError, match=r"index_add\(\): source tensor shape must match"):
        dg.tensor(1.0).index_add(0, dg.tensor([0]), dg.tensor([2.0]))
    assert dg.tensor(1.0).index_add(0, dg.tensor([0]), dg.tensor(2.0)).item() == 3.0
    with pytest.raises(RuntimeError, match=r"index_fill\(\): index must be an integer"):
        dg.ones(3, 2).index_fill(0, dg.tensor([1.0]), 0.0)


@requires_torch
@pytest.mark.parametrize("shape,wrap", [((3, 3), False), ((7, 3), False), ((7, 3), True),
                                        ((3, 6), True), ((3, 3, 3), False)])
def test_fill_diagonal_matches_torch(shape, wrap):
    a = RNG.standard_normal(shape)
    t, tt = dg.tensor(a), torch.tensor(a)
    t.fill_diagonal_(9.0, wrap)
    tt.fill_diagonal_(9.0, wrap)
    np.testing.assert_array_equal(t.numpy(), tt.numpy())
    with pytest.raises(RuntimeError, match="fill_diagonal_.*equal length"):
        dg.ones(2, 3, 3).fill_diagonal_(0.0)


N = 400_000


def _sample(method, *args, dtype=dg.float64):
    dg.manual_seed(0)
    return getattr(dg.empty(N, dtype=dtype), method)(*args).numpy()


def _close(x, want, sigma):
    """Within 6 standard errors of the formula."""
    assert abs(x - want) < 6 * sigma / math.sqrt(N), (x, want)


def test_random_fills_follow_their_distributions():
    x = _sample("random_", 3, 9)
    assert set(np.unique(x)) == set(range(3, 9))
    _close(x.mean(), 5.5, math.sqrt((6 ** 2 - 1) / 12))
    assert set(np.unique(_sample("random_", 4))) == {0, 1, 2, 3}
    f32 = _sample("random_", dtype=dg.float32)
    assert f32.min() >= 0 and f32.max() <= 2 ** 24 and (f32 == np.round(f32)).all()
    lam = 2.5
    e = _sample("exponential_", lam)
    assert e.min() >= 0
    _close(e.mean(), 1 / lam, 1 / lam)
    _close(e.var(), 1 / lam ** 2, 3 / lam ** 2)
    p = 0.3
    g = _sample("geometric_", p)
    assert g.min() == 1 and (g == np.round(g)).all()
    _close(g.mean(), 1 / p, math.sqrt(1 - p) / p)
    mu, s = 0.2, 0.5
    ln = _sample("log_normal_", mu, s)
    assert ln.min() > 0
    _close(np.log(ln).mean(), mu, s)
    _close(ln.mean(), math.exp(mu + s * s / 2), math.sqrt((math.exp(s * s) - 1)
                                                          * math.exp(2 * mu + s * s)))
    c = _sample("cauchy_", 1.0, 2.0)        # no mean: the quartiles are median ± σ
    q1, med, q3 = np.quantile(c, [0.25, 0.5, 0.75])
    assert abs(med - 1.0) < 0.02 and abs(q1 + 1.0) < 0.03 and abs(q3 - 3.0) < 0.03


def test_random_fills_reject_bad_parameters():
    with pytest.raises(RuntimeError, match="exponential_ expects lambda > 0"):
        dg.empty(3).exponential_(0.0)
    with pytest.raises(RuntimeError, match=r"geometric_ expects p to be in \(0, 1\)"):
        dg.empty(3).geometric_(1.5)
    with pytest.raises(RuntimeError, match="random_: expects 'from' to be less than 'to'"):
        dg.empty(3).random_(5, 2)
    with pytest.raises(RuntimeError, match="cauchy_ expects sigma > 0"):
        dg.empty(3).cauchy_(0.0, -1.0)
    with pytest.raises(RuntimeError, match="log_normal_ expects std > 0"):
        dg.empty(3).log_normal_(0.0, 0.0)
    with pytest.raises(RuntimeError, match="random_: to - 1 = 999 is out of bounds for int8"):
        dg.empty(3, dtype=dg.int8).random_(0, 1000)
    with pytest.raises(RuntimeError, match="random_: from=-1 is out of bounds for uint8"):
        dg.empty(3, dtype=dg.uint8).random_(-1, 3)
    for method, args in (("exponential_", ()), ("log_normal_", ()), ("cauchy_", ())):
        with pytest.raises(RuntimeError, match=f"{method}: .* must be floating point"):
            getattr(dg.empty(3, dtype=dg.int64), method)(*args)
    assert set(dg.empty(1000, dtype=dg.int64).geometric_(0.5).numpy()) <= set(range(1, 100))


@requires_torch
def test_linalg_cross_uses_the_last_dimension_and_broadcasts():
    a, b = RNG.standard_normal((2, 4, 3)), RNG.standard_normal((1, 4, 3))
    _check(dg.linalg.cross, torch.linalg.cross, a, b)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        dg.linalg.cross(dg.ones(2, 3), dg.ones(3))


@requires_torch
@pytest.mark.parametrize("with_zeros", [False, True])
def test_cumprod_second_derivative_matches_torch(with_zeros):
    a = RNG.standard_normal((3, 5))
    if with_zeros:
        a[1, 2] = a[2, 0] = a[2, 3] = 0.0
    for dim in (0, 1):
        x, t = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        w, v = RNG.standard_normal(a.shape), RNG.standard_normal(a.shape)
        g, = dg.autograd.grad((dg.cumprod(x, dim) * dg.tensor(w)).sum(), x, create_graph=True)
        tg, = torch.autograd.grad((torch.cumprod(t, dim) * torch.tensor(w)).sum(), t,
                                  create_graph=True)
        gg, = dg.autograd.grad((g * dg.tensor(v)).sum(), x)
        tgg, = torch.autograd.grad((tg * torch.tensor(v)).sum(), t)
        np.testing.assert_allclose(gg.numpy(), tgg.numpy(), rtol=1e-12, atol=1e-12)


@requires_torch
@settings(max_examples=25, deadline=None)
@given(shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6), data=st.data())
def test_tensor_unfold_sliding_windows_match_torch(shape, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    size = data.draw(st.integers(0, shape[dim]))
    step = data.draw(st.integers(1, 3))
    _check(lambda x: x.unfold(dim, size, step), lambda x: x.unfold(dim, size, step),
           RNG.standard_normal(shape))


def test_tensor_unfold_rejects_bad_windows():
    with pytest.raises(RuntimeError, match="maximum size for tensor at dimension 0 is 3"):
        dg.ones(3).unfold(0, 4, 1)
    with pytest.raises(RuntimeError, match="step is 0 but must be > 0"):
        dg.ones(3).unfold(0, 2, 0)
