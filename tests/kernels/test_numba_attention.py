"""The compiled attention softmax and score gradient (kernels/numba_attention.py) against
the NumPy path and against PyTorch (float64)."""
import numpy as np
import pytest
import torch

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad import kernels
from deltagrad.ops import attention

pytest.importorskip("numba")


@pytest.fixture(autouse=True)
def _numba_kernels():
    """The compiled loops are tested whatever DELTAGRAD_KERNELS says (the suite also runs
    with it set to numpy); tests that want the NumPy path ask for it."""
    with kernels.use_backend("numba"):
        yield


def _qkv(seed, shape=(3, 4, 20, 8)):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) * 2).astype(np.float32) for _ in range(3)]


def _run(backend, q, k, v, g, **kw):
    """Output and the three input gradients of F.scaled_dot_product_attention."""
    with kernels.use_backend(backend):
        ts = [dg.tensor(a, requires_grad=True) for a in (q, k, v)]
        kw = {k: dg.tensor(a) if k == "attn_mask" else a for k, a in kw.items()}
        out = F.scaled_dot_product_attention(*ts, **kw)
        out.backward(dg.tensor(g))
    return [out.detach().numpy()] + [t.grad.numpy() for t in ts]


def _torch(q, k, v, g, attn_mask=None, is_causal=False):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (q, k, v)]
    m = None if attn_mask is None else torch.tensor(attn_mask)
    m = m.double() if m is not None and m.dtype != torch.bool else m
    out = torch.nn.functional.scaled_dot_product_attention(*ts, attn_mask=m,
                                                           is_causal=is_causal)
    out.backward(torch.tensor(g, dtype=torch.float64))
    return [out.detach().numpy()] + [t.grad.numpy() for t in ts]


MASKS = {
    "none": {},
    "causal": {"is_causal": True},
    "additive": {"attn_mask": np.where(np.random.default_rng(5).random((20, 20)) < 0.3,
                                       -np.inf, 0.0).astype(np.float32)},
    "bool": {"attn_mask": np.tril(np.ones((20, 20), bool))},
    "soft": {"attn_mask": np.random.default_rng(6).standard_normal((20, 20)).astype(np.float32)},
}


@pytest.mark.parametrize("mask", list(MASKS))
def test_compiled_attention_matches_numpy_path_and_pytorch(mask):
    q, k, v = _qkv(0)
    g = np.random.default_rng(1).standard_normal(q.shape).astype(np.float32)
    kw = MASKS[mask]
    fast = _run("numba", q, k, v, g, **kw)
    ref = _run("numpy", q, k, v, g, **kw)
    exact = _torch(q, k, v, g, **kw)
    for a, b, c in zip(fast, ref, exact):  # float32 round-off of O(1) numbers, as the NumPy
        err, ref_err = np.abs(a - c).max(), np.abs(b - c).max()  # path's
        assert err <= max(1.5 * ref_err, 1e-6), (err, ref_err)
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_the_compiled_loops_run_and_give_the_numpy_weights():
    """Sᵀ of (B, T′, T) with a causal mask: the compiled weights equal the NumPy ones to
    float32 round-off, columns sum to 1, masked entries are exactly 0."""
    rng = np.random.default_rng(2)
    st = (rng.standard_normal((6, 33, 33)) * 5).astype(np.float32)
    mt = np.where(np.triu(np.ones((33, 33), bool), 1), -np.inf, 0).astype(np.float32).T
    ref = st.copy()
    with kernels.use_backend("numpy"):
        attention._weights_(np, ref, mt, None, 0.3)
    got = st.copy()
    assert attention._compiled_weights_(got, mt, None, 0.3)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-6)
    assert (got[:, mt == -np.inf] == 0).all()


def test_fully_masked_columns_nan_and_inf_scores_follow_the_numpy_path():
    rng = np.random.default_rng(3)
    st = rng.standard_normal((4, 8, 8)).astype(np.float32)
    mt = np.zeros((8, 8), np.float32)
    mt[:, 2] = -np.inf                      # query 2 sees no key: weights 0
    st[1, 3, 5] = np.nan                    # a NaN score: its query's weights NaN
    ref = st.copy()
    attention._weights_(np, ref, mt, None, 1.0)
    got = st.copy()
    assert attention._compiled_weights_(got, mt, None, 1.0)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7, equal_nan=True)
    assert (got[:, :, 2] == 0).all() and np.isnan(got[1, :, 5]).all()
    st[2, 0, 0] = np.inf                    # +∞ score: handed to the NumPy path
    got = st.copy()
    assert not attention._compiled_weights_(got, mt, None, 1.0)
    np.testing.assert_array_equal(got, st)  # untouched


def test_other_layouts_take_the_numpy_path():
    st = np.ones((2, 3, 4, 4), np.float32)
    per_batch = np.zeros((2, 3, 4, 4), np.float32)  # a mask per batch element
    assert not attention._compiled_weights_(st.copy(), per_batch, None, 1.0)
    assert not attention._compiled_weights_(st.astype(np.float64), None, None, 1.0)
    with kernels.use_backend("numpy"):
        assert not attention._compiled_weights_(st.copy(), None, None, 1.0)


def test_gpt_block_step_matches_numpy_backend():
    """The transformer model's loss and gradients: compiled GELU and attention vs NumPy."""
    from deltagrad.models import GPTLanguageModel
    x = np.random.default_rng(4).integers(0, 30, (3, 16))
    results = []
    for backend in ("numba", "numpy"):
        with kernels.use_backend(backend):
            dg.manual_seed(0)
            model = GPTLanguageModel(30, 16, 2, 4, 32, 0.0)
            logits = model(dg.tensor(x[:, :-1]))
            loss = F.cross_entropy(logits.reshape(-1, 30), dg.tensor(x[:, 1:]).reshape(-1))
            loss.backward()
            results.append([loss.item()] + [p.grad.numpy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_packed_self_attention_backward_runs_the_compiled_score_gradient(monkeypatch):
    """nn.MultiheadAttention's packed path reaches the compiled loop when its products are
    batched (NumPy's BLAS; with MKL the heads run one at a time, test_numba_heads.py): its
    row terms come from a transposed output and are not contiguous."""
    from deltagrad.kernels import blas
    from deltagrad.kernels import numba_attention
    calls = []
    original = numba_attention.scores_grad_
    monkeypatch.setattr(numba_attention, "scores_grad_",
                        lambda *a: calls.append(1) or original(*a))
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 10, 3 * 16)).astype(np.float32)
    g = rng.standard_normal((2, 10, 16)).astype(np.float32)
    mask = np.where(np.triu(np.ones((10, 10), bool), 1), -np.inf, 0).astype(np.float32)
    grads = []
    for backend in ("numba", "numpy"):
        with kernels.use_backend(backend), blas.use_blas("numpy"):
            a = dg.tensor(x, requires_grad=True)
            attention.packed_self_attention(a, 2, additive_mask=mask).backward(dg.tensor(g))
            grads.append(a.grad.numpy())
    assert calls == [1]
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("L,S", [(20, 20), (12, 20), (20, 12)])
def test_is_causal_gives_the_numbers_of_a_boolean_causal_mask(L, S):
    """is_causal (the cached additive mask) and a boolean causal mask give the same output
    and gradients, bit for bit, for square and rectangular (top-left aligned) blocks."""
    rng = np.random.default_rng(7)
    q = rng.standard_normal((2, 3, L, 8)).astype(np.float32)
    k, v = (rng.standard_normal((2, 3, S, 8)).astype(np.float32) for _ in range(2))
    g = rng.standard_normal((2, 3, L, 8)).astype(np.float32)
    skipped = _run("numba", q, k, v, g, is_causal=True)
    masked = _run("numba", q, k, v, g, attn_mask=np.tril(np.ones((L, S), bool)))
    for a, b in zip(skipped, masked):
        np.testing.assert_array_equal(a, b)
    exact = _torch(q, k, v, g, is_causal=True)
    for a, c in zip(skipped, exact):
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-5)


def test_multihead_attention_takes_is_causal_for_the_mask_as_pytorch_does():
    """PyTorch's MultiheadAttention, given is_causal=True with no key padding and no weights
    to return, reads is_causal instead of attn_mask; so does deltagrad's (a non-causal mask
    shows it), and with need_weights=True both use the mask."""
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    mha = dg.nn.MultiheadAttention(16, 4, batch_first=True)
    mha.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((2, 6, 16)).astype(np.float32)
    not_causal = np.zeros((6, 6), bool)  # masks nothing
    for need_weights in (False, True):
        a = mha(*(dg.tensor(x),) * 3, attn_mask=dg.tensor(not_causal), is_causal=True,
                need_weights=need_weights)[0].detach().numpy()
        b = ref(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(not_causal), is_causal=True,
                need_weights=need_weights)[0].detach().numpy()
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
