"""Self-attention one head at a time (kernels/numba_heads.py) against the batched NumPy
path, PyTorch (float64) and itself at another thread count."""
import numpy as np
import pytest
import torch

import deltagrad as dg
from deltagrad import kernels
from deltagrad.ops import attention

pytest.importorskip("numba")
blas = pytest.importorskip("deltagrad.kernels.blas")
if not blas.mkl_available():
    pytest.skip("the per-head loop runs MKL's products", allow_module_level=True)
from deltagrad.kernels import numba_heads  # noqa: E402

T = 10
MASKS = {
    "none": (None, False),
    "causal": (None, True),
    "additive": (np.where(np.random.default_rng(5).random((T, T)) < 0.3, -np.inf,
                          0.0).astype(np.float32), False),
    "soft and causal": (np.random.default_rng(6).standard_normal((1, 1, T, T))
                        .astype(np.float32), True),
    "a query with every key masked": (np.where(np.arange(T)[:, None] == 3, -np.inf,
                                               0.0).astype(np.float32) + np.zeros((T, T),
                                                                                 np.float32),
                                      False),
}


def _packed(backend, x, g, heads, mask, causal, threads=None, create_graph=False):
    """Output and ∂L/∂qkv of packed_self_attention in a kernel backend."""
    before = dg.get_num_threads()
    if threads:
        dg.set_num_threads(threads)
    try:
        with kernels.use_backend(backend), blas.use_blas("mkl"):
            a = dg.tensor(x, requires_grad=True)
            out = attention.packed_self_attention(a, heads, mask, is_causal=causal)
            (grad,) = dg.autograd.grad(out, a, dg.tensor(g), create_graph=create_graph)
    finally:
        dg.set_num_threads(before)
    return out, grad, a


def _torch(x, g, heads, mask, causal):
    """The same attention in PyTorch, float64: SDPA on the split heads."""
    N, L, E3 = x.shape
    a = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    q, k, v = (t.reshape(N, L, heads, -1).transpose(1, 2) for t in a.split(E3 // 3, -1))
    m = None if mask is None else torch.tensor(mask, dtype=torch.float64).reshape(L, L)
    if causal:
        c = torch.full((L, L), -np.inf, dtype=torch.float64).triu(1)
        m = c if m is None else m + c
    w = torch.softmax(q @ k.transpose(-1, -2) / (E3 // 3 // heads) ** 0.5 + (0 if m is None
                                                                              else m), -1)
    w = torch.nan_to_num(w, nan=0.0)  # a row of only −∞: weights 0 (deltagrad's rule)
    out = (w @ v).transpose(1, 2).reshape(N, L, E3 // 3)
    out.backward(torch.tensor(g, dtype=torch.float64))
    return out.detach().numpy(), a.grad.numpy()


@pytest.mark.parametrize("mask", list(MASKS))
def test_by_heads_matches_the_batched_numpy_path_and_pytorch(mask, monkeypatch):
    calls = []
    forward = numba_heads.heads_forward
    monkeypatch.setattr(numba_heads, "heads_forward", lambda *a: calls.append(1) or forward(*a))
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((3, T, 3 * 12)) * 2).astype(np.float32)
    g = rng.standard_normal((3, T, 12)).astype(np.float32)
    m, causal = MASKS[mask]
    out, grad, _ = _packed("numba", x, g, 3, m, causal)
    assert calls == [1]
    ref_out, ref_grad, _ = _packed("numpy", x, g, 3, m, causal)
    pairs = ((out.detach().numpy(), ref_out.detach().numpy()), (grad.numpy(), ref_grad.numpy()))
    for a, b in pairs:
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    if mask != "a query with every key masked":  # (PyTorch's gradient is NaN there)
        for (a, b), c in zip(pairs, _torch(x, g, 3, m, causal)):
            err, ref_err = np.abs(a - c).max(), np.abs(b - c).max()
            assert err <= max(2 * ref_err, 2e-6), (err, ref_err)  # float32 round-off


def test_the_same_bits_at_one_and_two_threads():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 16, 3 * 32)).astype(np.float32)
    g = rng.standard_normal((4, 16, 32)).astype(np.float32)
    one = _packed("numba", x, g, 4, None, True, threads=1)
    two = _packed("numba", x, g, 4, None, True, threads=2)
    for a, b in zip(one[:2], two[:2]):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_an_infinite_score_takes_the_batched_path_with_its_ieee_rules():
    """A score of +∞ is left to the reference (e^(s − m) with m = +∞ is NaN there)."""
    x = np.random.default_rng(2).standard_normal((2, T, 3 * 8)).astype(np.float32)
    x[0, 2, 0] = np.inf  # a query feature: its scores are ±∞
    assert numba_heads.heads_forward(x, 2, 0.5, None) is None
    g = np.ones((2, T, 8), np.float32)
    fast, _, _ = _packed("numba", x, g, 2, None, False)
    ref, _, _ = _packed("numpy", x, g, 2, None, False)
    np.testing.assert_array_equal(fast.detach().numpy(), ref.detach().numpy())


def test_double_backward_records_the_graph_and_matches_numpy():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 3 * 8)).astype(np.float32)
    g = rng.standard_normal((2, 6, 8)).astype(np.float32)
    results = []
    for backend in ("numba", "numpy"):
        out, grad, a = _packed(backend, x, g, 2, None, True, create_graph=True)
        (gg,) = dg.autograd.grad((grad * grad).sum(), a)
        results.append(gg.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("products", ["mkl", "numpy"])  # one head at a time; batched
def test_a_key_padding_mask_as_large_as_one_block_is_not_taken_for_a_shared_mask(products):
    """A batch of N = T with key padding: its (N, 1, 1, S) mask holds T·T numbers, as a
    shared (T, T) mask would; the numbers are PyTorch's (each batch element its own row).
    Both compiled paths took it for a shared mask before (off by 1.23 here)."""
    torch.manual_seed(0)
    ref = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    mha = dg.nn.MultiheadAttention(8, 2, batch_first=True)
    mha.load_state_dict({k: dg.tensor(v.detach().numpy()) for k, v in ref.state_dict().items()})
    n = t = 5
    x = np.random.default_rng(8).standard_normal((n, t, 8)).astype(np.float32)
    pad = np.zeros((n, t), bool)
    for i in range(n):
        pad[i, t - i:] = True  # element i: its last i keys padded
    with kernels.use_backend("numba"), blas.use_blas(products):
        a = mha(*(dg.tensor(x),) * 3, key_padding_mask=dg.tensor(pad),
                need_weights=False)[0].detach().numpy()
    b = ref(*(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(pad),
            need_weights=False)[0].detach().numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
