"""Linear, Bilinear, Embedding, Dropout and AlphaDropout against their PyTorch twins:
same outputs and input/weight/bias gradients after copying the weights, in float32 and
float64; constructor arguments, parameter names and reprs; errors; dropout's statistics."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import deltagrad as dg
import deltagrad.nn as nn
from deltagrad.ops.bilinear import bilinear
from deltagrad.ops.dropout import alpha_dropout, dropout
from deltagrad.ops.sparse import embedding

torch = pytest.importorskip("torch")

SETTINGS = settings(max_examples=20, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
TOL = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}
TORCH_DTYPE = {np.float32: torch.float32, np.float64: torch.float64}


def _twin(dg_cls, torch_cls, *args, dtype=np.float32, **kwargs):
    torch.manual_seed(0)
    tm = torch_cls(*args, **kwargs).to(TORCH_DTYPE[dtype])
    m = dg_cls(*args, **kwargs).to(dtype)
    m.load_state_dict({k: v.numpy() for k, v in tm.state_dict().items()})
    return m, tm


def _grads_match(m, tm, tol):
    names = [n for n, _ in m.named_parameters()]
    assert names == [n for n, _ in tm.named_parameters()]
    for (n, p), (_, tp) in zip(m.named_parameters(), tm.named_parameters()):
        if tp.grad is None:
            assert p.grad is None, n
        else:
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), err_msg=n, **tol)


# ----------------------------------------------------------------------------- Linear
@SETTINGS
@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=2), fin=st.integers(1, 6),
       fout=st.integers(1, 16), bias=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_linear_matches_torch(lead, fin, fout, bias, dtype):
    m, tm = _twin(nn.Linear, torch.nn.Linear, fin, fout, bias=bias, dtype=dtype)
    assert repr(m) == repr(tm)
    a = np.random.default_rng(fin).standard_normal(tuple(lead) + (fin,)).astype(dtype)
    x, tx = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = m(x), tm(tx)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    g = np.random.default_rng(1).standard_normal(tuple(y.shape)).astype(dtype)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **TOL[dtype])
    _grads_match(m, tm, TOL[dtype])


def test_linear_attributes_and_errors():
    m = nn.Linear(2, 3)
    assert repr(m) == "Linear(in_features=2, out_features=3, bias=True)"
    assert m.weight.shape == (3, 2) and m.bias.shape == (3,)
    assert m.weight.requires_grad and m.weight.dtype == np.float32
    assert nn.Linear(2, 3, bias=False).bias is None
    assert nn.Linear(2, 3, dtype=dg.float64).weight.dtype == np.float64
    with pytest.raises(RuntimeError, match=r"Linear\(in_features=2, out_features=3, "
                                           r"bias=True\).*\(\*, 2\).*\(4, 5\)"):
        m(dg.randn(4, 5))


def test_linear_on_a_non_contiguous_input_matches_torch_and_double_backward():
    """A transposed (batch-first RNN-like) input: the forward's contiguous copy serves ∂L/∂W,
    and the second derivative still flows through x."""
    m, tm = _twin(nn.Linear, torch.nn.Linear, 4, 3, dtype=np.float64)
    a = np.random.default_rng(5).standard_normal((5, 2, 4))
    x, tx = dg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = m(x.transpose(0, 1)), tm(tx.transpose(0, 1))
    g = np.random.default_rng(6).standard_normal(tuple(y.shape))
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    _grads_match(m, tm, TOL[np.float64])
    f = lambda x, w, b: nn.functional.linear(x.transpose(0, 1), w, b) ** 2  # noqa: E731
    args = (dg.tensor(a, requires_grad=True), m.weight, m.bias)
    assert dg.autograd.gradgradcheck(f, args)


def test_linear_gradcheck():
    m = nn.Linear(3, 2).double()
    x = dg.randn(4, 3, dtype=dg.float64, requires_grad=True)
    assert dg.autograd.gradcheck(lambda x, w, b: nn.functional.linear(x, w, b),
                                 (x, m.weight, m.bias))


# ----------------------------------------------------------------------------- Bilinear
@SETTINGS
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2), in1=st.integers(1, 4),
       in2=st.integers(1, 4), fout=st.integers(1, 4), bias=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_bilinear_matches_torch(lead, in1, in2, fout, bias, dtype):
    m, tm = _twin(nn.Bilinear, torch.nn.Bilinear, in1, in2, fout, bias=bias, dtype=dtype)
    assert repr(m) == repr(tm)
    rng = np.random.default_rng(in1 * 10 + in2)
    a1 = rng.standard_normal(tuple(lead) + (in1,)).astype(dtype)
    a2 = rng.standard_normal(tuple(lead) + (in2,)).astype(dtype)
    x1, x2 = dg.tensor(a1, requires_grad=True), dg.tensor(a2, requires_grad=True)
    t1, t2 = torch.tensor(a1, requires_grad=True), torch.tensor(a2, requires_grad=True)
    y, ty = m(x1, x2), tm(t1, t2)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), **TOL[dtype])
    g = rng.standard_normal(tuple(y.shape)).astype(dtype)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(x1.grad.numpy(), t1.grad.numpy(), **TOL[dtype])
    np.testing.assert_allclose(x2.grad.numpy(), t2.grad.numpy(), **TOL[dtype])
    _grads_match(m, tm, TOL[dtype])


def test_bilinear_gradcheck_and_errors():
    rng = np.random.default_rng(0)
    x1, x2, w, b = (dg.tensor(rng.standard_normal(s), requires_grad=True)
                    for s in [(3, 2), (3, 4), (5, 2, 4), (5,)])
    assert dg.autograd.gradcheck(bilinear, (x1, x2, w, b))
    assert dg.autograd.gradgradcheck(bilinear, (x1, x2, w, b))
    m = nn.Bilinear(2, 4, 5)
    assert m.weight.shape == (5, 2, 4)
    with pytest.raises(RuntimeError, match=r"Bilinear\(in1_features=2.*\(3, 3\) and \(3, 4\)"):
        m(dg.randn(3, 3), dg.randn(3, 4))
    with pytest.raises(RuntimeError, match="batch dimensions do not match"):
        bilinear(dg.randn(3, 2), dg.randn(2, 4), dg.randn(5, 2, 4))


# ----------------------------------------------------------------------------- Embedding
@SETTINGS
@given(num=st.integers(2, 8), dim=st.integers(1, 4),
       idx_shape=st.lists(st.integers(1, 4), min_size=1, max_size=2),
       padding=st.one_of(st.none(), st.integers(-2, 1)), freq=st.booleans(),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_embedding_matches_torch(num, dim, idx_shape, padding, freq, dtype):
    kw = dict(padding_idx=padding, scale_grad_by_freq=freq)
    m, tm = _twin(nn.Embedding, torch.nn.Embedding, num, dim, dtype=dtype, **kw)
    assert repr(m) == repr(tm) and m.padding_idx == tm.padding_idx
    idx = np.random.default_rng(num).integers(0, num, idx_shape)
    y, ty = m(dg.tensor(idx)), tm(torch.tensor(idx))
    assert tuple(y.shape) == tuple(idx_shape) + (dim,)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    g = np.random.default_rng(2).standard_normal(tuple(y.shape)).astype(dtype)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    _grads_match(m, tm, TOL[dtype])


@SETTINGS
@given(num=st.integers(1, 40), n=st.integers(0, 60), dim=st.integers(1, 3),
       dtype=st.sampled_from([np.float32, np.float64]), one_hot=st.booleans())
def test_row_sums_equals_add_at_on_both_paths(num, n, dim, dtype, one_hot, monkeypatch):
    """The embedding gradient's NumPy scatter-add: the one-hot GEMM (small tables) and the
    sort + reduceat path (large ones) both equal np.add.at (the compiled one:
    tests/kernels/test_numba_rows.py)."""
    from deltagrad import kernels
    from deltagrad.ops import sparse
    monkeypatch.setattr(sparse, "ONE_HOT_LIMIT", 1 << 30 if one_hot else 0)
    rng = np.random.default_rng(n * 41 + num)
    idx = rng.integers(0, num, n)
    g = rng.standard_normal((n, dim)).astype(dtype)
    expected = np.zeros((num, dim), dtype)
    np.add.at(expected, idx, g)
    with kernels.use_backend("numpy"):
        got = sparse.row_sums(g, idx, num)
    assert got.dtype == dtype and got.shape == (num, dim)
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-13,
                               atol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("freq", [False, True])
def test_embedding_gradient_from_a_transposed_layout(freq):
    """A gradient whose memory holds the batch axes in the other order (an LSTM's input
    gradient after batch_first's transpose) is read as rows without a copy; the same sums."""
    from deltagrad.ops import sparse
    m, tm = _twin(nn.Embedding, torch.nn.Embedding, 7, 5, scale_grad_by_freq=freq)
    idx = np.random.default_rng(3).integers(0, 7, (4, 6))
    g = np.random.default_rng(4).standard_normal((6, 4, 5)).astype(np.float32).transpose(1, 0, 2)
    rows, flat = sparse._as_rows(g, idx)
    assert np.shares_memory(rows, g) and rows.shape == (24, 5)
    m(dg.tensor(idx)).backward(dg.tensor(g))
    tm(torch.tensor(idx)).backward(torch.tensor(np.ascontiguousarray(g)))
    _grads_match(m, tm, TOL[np.float32])


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    m = nn.Embedding(5, 3, padding_idx=-1)
    assert m.padding_idx == 4
    np.testing.assert_array_equal(m.weight.detach().numpy()[4], 0)
    y = m(dg.tensor([[4, 1, 1]]))
    y.sum().backward()
    np.testing.assert_array_equal(m.weight.grad.numpy()[4], 0)
    np.testing.assert_array_equal(m.weight.grad.numpy()[1], 2)  # read twice: sum


@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_matches_torch(norm_type):
    m, tm = _twin(nn.Embedding, torch.nn.Embedding, 6, 4, max_norm=1.0, norm_type=norm_type,
                  dtype=np.float64)
    assert repr(m) == repr(tm)
    idx = np.array([[0, 2, 2], [5, 0, 1]])
    y, ty = m(dg.tensor(idx)), tm(torch.tensor(idx))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(m.weight.detach().numpy(), tm.weight.detach().numpy(),
                               rtol=1e-10)  # rows renormalised in place, others untouched


def test_embedding_from_pretrained_and_errors():
    table = dg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    m = nn.Embedding.from_pretrained(table)
    assert not m.weight.requires_grad and repr(m) == "Embedding(3, 2)"
    np.testing.assert_array_equal(m(dg.tensor([2, 0])).numpy(), [[5.0, 6.0], [1.0, 2.0]])
    m2 = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    assert m2.weight.requires_grad
    np.testing.assert_array_equal(m2.weight.detach().numpy()[0], [1.0, 2.0])  # kept as given
    with pytest.raises(IndexError, match=r"index 3 is out of range for a table of 3 rows"):
        m(dg.tensor([0, 3]))
    with pytest.raises(TypeError, match="integer Tensor"):
        m(dg.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(ValueError, match="2-dimensional"):
        nn.Embedding.from_pretrained(dg.ones(3))


def test_embedding_gradcheck_and_gradgradcheck():
    w = dg.tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)
    idx = dg.tensor([[0, 4, 4], [1, 2, 0]])
    f = lambda w: embedding(idx, w) ** 2  # noqa: E731
    assert dg.autograd.gradcheck(f, (w,))
    assert dg.autograd.gradgradcheck(f, (w,))


@pytest.mark.parametrize("kw", [dict(padding_idx=2), dict(scale_grad_by_freq=True),
                                dict(scale_grad_by_freq=True, padding_idx=4)])
def test_embedding_double_backward_matches_torch(kw):
    """padding_idx and scale_grad_by_freq change the gradient on purpose (so no gradcheck):
    second derivatives through them must be PyTorch's."""
    rng = np.random.default_rng(0)
    wa, u = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    idx = np.array([[0, 4, 4], [1, 2, 0]])
    w, tw = dg.tensor(wa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    gw, = dg.autograd.grad((embedding(dg.tensor(idx), w, **kw) ** 3).sum(), [w],
                           create_graph=True)
    tgw, = torch.autograd.grad((torch.nn.functional.embedding(torch.tensor(idx), tw, **kw)
                                ** 3).sum(), [tw], create_graph=True)
    np.testing.assert_allclose(gw.detach().numpy(), tgw.detach().numpy(), rtol=1e-12)
    (gw * dg.tensor(u)).sum().backward()
    (tgw * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


# ----------------------------------------------------------------------------- Dropout
def test_dropout_inverted_statistics_and_gradient():
    p = 0.3
    x = dg.ones(200, 500, requires_grad=True)
    y = dropout(x, p)
    yv = y.detach().numpy()
    kept = yv != 0
    np.testing.assert_allclose(yv[kept], 1 / (1 - p), rtol=1e-6)
    n = kept.size  # fraction dropped within 5 binomial standard deviations of p
    assert abs((~kept).mean() - p) < 5 * np.sqrt(p * (1 - p) / n)
    assert abs(yv.mean() - 1.0) < 0.02  # E[y] = x (inverted dropout)
    y.backward(dg.ones(200, 500) * 2.0)
    np.testing.assert_allclose(x.grad.numpy(), 2 * yv, rtol=1e-6)
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_dropout_module_train_eval_and_edges():
    m = nn.Dropout(0.5)
    assert repr(m) == repr(torch.nn.Dropout(0.5)) == "Dropout(p=0.5, inplace=False)"
    x = dg.randn(10, 10)
    assert (m(x).numpy() == 0).any()
    m.eval()
    np.testing.assert_array_equal(m(x).numpy(), x.numpy())
    np.testing.assert_array_equal(dropout(x, 1.0).numpy(), 0)
    np.testing.assert_array_equal(dropout(x, 0.0).numpy(), x.numpy())
    np.testing.assert_array_equal(dropout(x, 0.9, training=False).numpy(), x.numpy())
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(bad)
        with pytest.raises(ValueError, match="between 0 and 1"):
            dropout(x, bad)


def test_dropout_inplace_and_seeded():
    x = dg.ones(50, 20)
    out = dropout(x, 0.5, inplace=True)
    assert out is x and (x.numpy() == 0).any() and (x.numpy() == 2).any()
    dg.manual_seed(7)
    a = dropout(dg.ones(30, 30), 0.4).numpy()
    dg.manual_seed(7)
    b = dropout(dg.ones(30, 30), 0.4).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, dropout(dg.ones(30, 30), 0.4).numpy())


def test_dropout_gradcheck():
    x = dg.randn(4, 5, dtype=dg.float64, requires_grad=True)

    def f(x):
        dg.manual_seed(3)  # the same mask in every evaluation
        return dropout(x, 0.4)
    assert dg.autograd.gradcheck(f, (x,))


def test_alpha_dropout_keeps_selu_moments_like_torch():
    p = 0.2
    a = np.random.default_rng(0).standard_normal((400, 500)).astype(np.float32)
    y = alpha_dropout(dg.tensor(a), p, training=True).numpy()
    ty = torch.nn.functional.alpha_dropout(torch.tensor(a), p, training=True).numpy()
    assert abs(y.mean() - ty.mean()) < 0.01 and abs(y.std() - ty.std()) < 0.01
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1) < 0.01  # mean 0, variance 1 kept
    # exact form: kept units a·x + λα·a·p, dropped units a·λα·(p − 1)
    alpha = 1.7580993408473766
    scale = 1 / np.sqrt((alpha ** 2 * p + 1) * (1 - p))
    dropped_value = np.float32(scale * alpha * (p - 1))
    dropped = np.isclose(y, dropped_value, rtol=0, atol=1e-6) & ~np.isclose(
        a * scale + alpha * scale * p, dropped_value, atol=1e-6)
    assert abs(dropped.mean() - p) < 0.01
    np.testing.assert_allclose(y[~dropped], (a * scale + alpha * scale * p)[~dropped],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(nn.AlphaDropout(p).eval()(dg.tensor(a)).numpy(), a)
    assert repr(nn.AlphaDropout(0.2)) == repr(torch.nn.AlphaDropout(0.2))


def test_alpha_dropout_gradient():
    x = dg.randn(20, 30, requires_grad=True)
    dg.manual_seed(1)
    y = alpha_dropout(x, 0.5, training=True)
    y.backward(dg.ones(20, 30))
    alpha = 1.7580993408473766
    scale = 1 / np.sqrt((alpha ** 2 * 0.5 + 1) * 0.5)
    grads = x.grad.numpy()
    assert set(np.round(np.unique(grads), 5)) == {0.0, np.round(np.float32(scale), 5)}
