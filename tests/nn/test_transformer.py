"""Attention, MultiheadAttention and the Transformer layers against PyTorch (outputs and all
gradients after copying state_dicts), float64 gradchecks, positional encodings, bad input."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg
from deltagrad import nn
from deltagrad.nn import functional as F
from tests.conftest import requires_torch

pytestmark = requires_torch


def _torch():
    import torch
    return torch


def _rand(rng, *shape):
    return rng.standard_normal(shape)


def _pair(a, requires_grad=True):
    """The same float64 array as a deltagrad and a torch tensor."""
    torch = _torch()
    return (dg.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def _copy_weights(dg_module, torch_module):
    dg_module.load_state_dict({k: v.detach().numpy().copy()
                               for k, v in torch_module.state_dict().items()})


def _check(dg_out, t_out, pairs, rtol=1e-9, atol=1e-10, rng=None):
    """Same output, and same gradients of a random projection of it for every pair."""
    torch = _torch()
    np.testing.assert_allclose(dg_out.detach().numpy(), t_out.detach().numpy(), rtol=rtol,
                               atol=atol)
    w = (rng or np.random.default_rng(1)).standard_normal(tuple(t_out.shape))
    (dg_out * dg.tensor(w)).sum().backward()
    (t_out * torch.tensor(w)).sum().backward()
    for name, a, b in pairs:
        assert a.grad is not None, f"no gradient for {name}"
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


def _param_pairs(dg_module, torch_module):
    tp = dict(torch_module.named_parameters())
    return [(k, p, tp[k]) for k, p in dg_module.named_parameters()]


# ----------------------------------------------------------------------------- SDPA
@settings(max_examples=20, deadline=None)
@given(L=st.integers(1, 6), S=st.integers(1, 6), E=st.integers(1, 5), Ev=st.integers(1, 5),
       mask=st.sampled_from([None, "bool", "float", "causal"]),
       scale=st.sampled_from([None, 0.3]), seed=st.integers(0, 1000))
def test_sdpa_matches_torch(L, S, E, Ev, mask, scale, seed):
    torch = _torch()
    rng = np.random.default_rng(seed)
    if mask == "causal":
        S = L
    (q, tq), (k, tk), (v, tv) = (_pair(_rand(rng, 2, 3, L, E)), _pair(_rand(rng, 2, 1, S, E)),
                                 _pair(_rand(rng, 2, 1, S, Ev)))
    kw, tkw = {}, {}
    if mask == "bool":
        m = rng.random((L, S)) > 0.4
        m[:, 0] = True
        kw["attn_mask"], tkw["attn_mask"] = dg.tensor(m), torch.tensor(m)
    elif mask == "float":
        m = _rand(rng, 3, L, S)
        kw["attn_mask"], tkw["attn_mask"] = dg.tensor(m), torch.tensor(m)
    elif mask == "causal":
        kw["is_causal"] = tkw["is_causal"] = True
    out = F.scaled_dot_product_attention(q, k, v, scale=scale, **kw)
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, scale=scale, **tkw)
    _check(out, t_out, [("q", q, tq), ("k", k, tk), ("v", v, tv)], rng=rng)


def test_sdpa_fully_masked_row_is_zero_like_torch():
    torch = _torch()
    rng = np.random.default_rng(0)
    (q, tq), (k, tk), (v, tv) = (_pair(_rand(rng, 3, 4, 2)), _pair(_rand(rng, 3, 5, 2)),
                                 _pair(_rand(rng, 3, 5, 2)))
    m = rng.random((4, 5)) > 0.5
    m[1] = False
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=dg.tensor(m))
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv,
                                                             attn_mask=torch.tensor(m))
    assert np.isfinite(out.detach().numpy()).all()
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), atol=1e-12)


def test_sdpa_float32_stays_float32_and_matches_formula():
    q, k, v = dg.randn(2, 4, 8), dg.randn(2, 6, 8), dg.randn(2, 6, 3)
    out = F.scaled_dot_product_attention(q, k, v)
    assert out.dtype == dg.float32
    a = q.numpy() @ k.numpy().transpose(0, 2, 1) / math.sqrt(8)
    a = np.exp(a - a.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    np.testing.assert_allclose(out.numpy(), a @ v.numpy(), rtol=1e-5, atol=1e-6)


def test_sdpa_gradcheck_and_double_backward_float64():
    q = dg.randn(2, 3, 4, dtype=dg.float64, requires_grad=True)
    k = dg.randn(2, 5, 4, dtype=dg.float64, requires_grad=True)
    v = dg.randn(2, 5, 3, dtype=dg.float64, requires_grad=True)
    m = dg.tensor(np.random.default_rng(0).random((3, 5)) > 0.3)
    fn = lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=m)  # noqa: E731
    assert dg.autograd.gradcheck(fn, (q, k, v))
    assert dg.autograd.gradgradcheck(fn, (q, k, v))
    causal = lambda a, b, c: F.scaled_dot_product_attention(a, b[:, :3], c[:, :3],  # noqa: E731
                                                            is_causal=True)
    assert dg.autograd.gradcheck(causal, (q, k, v))


def test_sdpa_float_mask_gets_a_gradient():
    torch = _torch()
    rng = np.random.default_rng(3)
    (q, tq), (k, tk), (v, tv), (m, tm) = (_pair(_rand(rng, 2, 3, 4)), _pair(_rand(rng, 2, 5, 4)),
                                          _pair(_rand(rng, 2, 5, 2)), _pair(_rand(rng, 3, 5)))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm)
    _check(out, t_out, [("q", q, tq), ("mask", m, tm)])


def test_sdpa_dropout_keeps_expectation_and_backward_uses_same_mask():
    q = dg.randn(1, 4, 8, requires_grad=True)
    k, v = dg.randn(1, 16, 8), dg.randn(1, 16, 8, requires_grad=True)
    out, w = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5, need_weights=True)
    wn = w.detach().numpy()
    assert ((wn == 0).mean()) > 0.2                 # some weights dropped
    np.testing.assert_allclose(out.detach().numpy(), wn @ v.detach().numpy(), rtol=1e-5,
                               atol=1e-6)           # O = dropout(A) V
    out.sum().backward()
    np.testing.assert_allclose(v.grad.numpy(), wn.transpose(0, 2, 1) @ np.ones((1, 4, 8)),
                               rtol=1e-5, atol=1e-5)


def test_sdpa_dropout_query_and_key_gradients_match_the_formula():
    """∂L/∂Q and ∂L/∂K through dropout: dA = (δVᵀ) ⊙ keep/(1−p), ∂L/∂S = A ⊙ (dA − Σ dA ⊙ A),
    ∂L/∂Q = ∂L/∂S K / √d, ∂L/∂K = ∂L/∂Sᵀ Q / √d (the backward computes the row term as
    ⟨δ, O⟩, which must agree)."""
    rng = np.random.default_rng(5)
    qn, kn, vn, gn = (rng.standard_normal(s) for s in ((2, 5, 4), (2, 7, 4), (2, 7, 3), (2, 5, 3)))
    q, k, v = (dg.tensor(a, requires_grad=True) for a in (qn, kn, vn))
    dg.manual_seed(3)
    out, w = F.scaled_dot_product_attention(q, k, v, dropout_p=0.3, need_weights=True)
    (out * dg.tensor(gn)).sum().backward()
    s = qn @ kn.transpose(0, 2, 1) / 2.0
    a = np.exp(s - s.max(-1, keepdims=True))
    a /= a.sum(-1, keepdims=True)
    kp = (w.detach().numpy() != 0) / 0.7
    da = gn @ vn.transpose(0, 2, 1) * kp
    ds = a * (da - (da * a).sum(-1, keepdims=True))
    np.testing.assert_allclose(q.grad.numpy(), ds @ kn / 2.0, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(k.grad.numpy(), ds.transpose(0, 2, 1) @ qn / 2.0, rtol=1e-10,
                               atol=1e-12)


def test_sdpa_bad_masks_raise():
    q, k, v = dg.randn(2, 3, 4), dg.randn(2, 5, 4), dg.randn(2, 5, 4)
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(3, 4\)"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=dg.ones(3, 4, dtype=dg.bool))
    with pytest.raises(TypeError, match="only bool and floating masks"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=dg.ones(3, 5, dtype=dg.int64))
    with pytest.raises(RuntimeError, match="shapes do not fit"):
        F.scaled_dot_product_attention(q, dg.randn(2, 5, 3), v)
    with pytest.raises(RuntimeError, match="either attn_mask or is_causal"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=dg.ones(3, 5, dtype=dg.bool),
                                       is_causal=True)


# ----------------------------------------------------------------------------- MHA
def _mha_pair(E, H, **kw):
    torch = _torch()
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(E, H, **kw).double()
    if tm.in_proj_bias is not None:  # non-zero biases so their gradients are tested
        with torch.no_grad():
            tm.in_proj_bias.normal_()
            tm.out_proj.bias.normal_()
    m = nn.MultiheadAttention(E, H, **kw).double()
    _copy_weights(m, tm)
    return m, tm


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("masks", ["none", "bool", "float", "kpm", "both", "3d", "causal"])
def test_mha_self_attention_matches_torch(batch_first, masks):
    torch = _torch()
    rng = np.random.default_rng(hash(masks) % 1000)
    N, L, E, H = 3, 5, 8, 2
    m, tm = _mha_pair(E, H, batch_first=batch_first)
    x, tx = _pair(_rand(rng, N, L, E) if batch_first else _rand(rng, L, N, E))
    kw = {}
    if masks in ("bool", "both"):
        a = rng.random((L, L)) > 0.6
        np.fill_diagonal(a, False)
        kw["attn_mask"] = a
    if masks == "float":
        kw["attn_mask"] = _rand(rng, L, L)
    if masks == "3d":
        kw["attn_mask"] = _rand(rng, N * H, L, L)
    if masks == "causal":
        kw["attn_mask"] = np.triu(np.ones((L, L), bool), 1)
    if masks in ("kpm", "both"):
        p = np.zeros((N, L), bool)
        p[0, -2:] = True
        p[2, -1] = True
        kw["key_padding_mask"] = p
    dkw = {k: dg.tensor(v) for k, v in kw.items()}
    tkw = {k: torch.tensor(v) for k, v in kw.items()}
    if masks == "causal":
        dkw["is_causal"] = tkw["is_causal"] = True
    out, w = m(x, x, x, need_weights=False, **dkw)
    t_out, tw = tm(tx, tx, tx, need_weights=False, **tkw)
    assert w is None and tw is None
    _check(out, t_out, [("x", x, tx)] + _param_pairs(m, tm), rng=rng)


@pytest.mark.parametrize("average", [True, False])
def test_mha_cross_attention_with_weights_matches_torch(average):
    torch = _torch()
    rng = np.random.default_rng(5)
    N, L, S, E, H = 2, 4, 6, 12, 3
    m, tm = _mha_pair(E, H, batch_first=True)
    (q, tq), (kv, tkv) = _pair(_rand(rng, N, L, E)), _pair(_rand(rng, N, S, E))
    p = np.zeros((N, S), bool)
    p[1, -3:] = True
    out, w = m(q, kv, kv, key_padding_mask=dg.tensor(p), average_attn_weights=average)
    t_out, tw = tm(tq, tkv, tkv, key_padding_mask=torch.tensor(p),
                   average_attn_weights=average)
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), atol=1e-12)
    assert w.shape == ((N, L, S) if average else (N, H, L, S))
    _check(out + w.sum() * 0.1, t_out + tw.sum() * 0.1,
           [("q", q, tq), ("kv", kv, tkv)] + _param_pairs(m, tm), rng=rng)


def test_mha_kdim_vdim_separate_projections_match_torch():
    torch = _torch()
    rng = np.random.default_rng(7)
    m, tm = _mha_pair(8, 4, kdim=5, vdim=3)
    assert m.in_proj_weight is None and tuple(m.k_proj_weight.shape) == (8, 5)
    assert set(m.state_dict()) == set(tm.state_dict())
    (q, tq), (k, tk), (v, tv) = (_pair(_rand(rng, 4, 2, 8)), _pair(_rand(rng, 6, 2, 5)),
                                 _pair(_rand(rng, 6, 2, 3)))
    out, w = m(q, k, v)
    t_out, tw = tm(tq, tk, tv)
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), atol=1e-12)
    _check(out, t_out, [("q", q, tq), ("k", k, tk), ("v", v, tv)] + _param_pairs(m, tm))


def test_mha_bias_kv_zero_attn_unbatched_no_bias_match_torch():
    torch = _torch()
    rng = np.random.default_rng(8)
    m, tm = _mha_pair(6, 2, add_bias_kv=True, add_zero_attn=True, bias=False)
    (q, tq), (kv, tkv) = _pair(_rand(rng, 3, 6)), _pair(_rand(rng, 4, 6))
    p = np.array([False, False, True, False])
    out, w = m(q, kv, kv, key_padding_mask=dg.tensor(p))
    t_out, tw = tm(tq, tkv, tkv, key_padding_mask=torch.tensor(p))
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), atol=1e-12)
    _check(out, t_out, [("q", q, tq), ("kv", kv, tkv)] + _param_pairs(m, tm))


def test_mha_state_dict_keys_shapes_and_init_like_torch():
    torch = _torch()
    m, tm = nn.MultiheadAttention(16, 4), torch.nn.MultiheadAttention(16, 4)
    ours = {k: tuple(v.shape) for k, v in m.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in tm.state_dict().items()}
    assert list(ours) == list(theirs) and ours == theirs
    assert np.all(m.in_proj_bias.detach().numpy() == 0) and np.all(m.out_proj.bias.detach().numpy() == 0)
    bound = math.sqrt(6 / (16 + 48))  # Xavier-uniform of the (48, 16) packed projection
    w = m.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound


def test_mha_gradcheck_float64():
    m = nn.MultiheadAttention(4, 2, batch_first=True).double()
    x = dg.randn(2, 3, 4, dtype=dg.float64, requires_grad=True)
    kpm = dg.tensor(np.array([[False, False, True], [False, False, False]]))
    assert dg.autograd.gradcheck(lambda a: m(a, a, a, key_padding_mask=kpm)[0], (x,))


def test_mha_bad_input_raises():
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    x = dg.randn(2, 5, 8)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(4, 5\), but should be \(5, 5\)"):
        m(x, x, x, attn_mask=dg.zeros(4, 5, dtype=dg.bool))
    with pytest.raises(RuntimeError, match=r"3D attn_mask"):
        m(x, x, x, attn_mask=dg.zeros(3, 5, 5))
    with pytest.raises(TypeError, match="only bool and floating types of attn_mask"):
        m(x, x, x, attn_mask=dg.zeros(5, 5, dtype=dg.int64))
    with pytest.raises(TypeError, match="key_padding_mask"):
        m(x, x, x, key_padding_mask=dg.zeros(2, 5, dtype=dg.int32))
    with pytest.raises(RuntimeError, match=r"key_padding_mask of shape \(2, 5\)"):
        m(x, x, x, key_padding_mask=dg.zeros(5, 2, dtype=dg.bool))
    with pytest.raises(RuntimeError, match=r"expected query of shape \(\.\.\., 8\)"):
        m(dg.randn(2, 5, 7), x, x)
    with pytest.raises(RuntimeError, match="needs attn_mask"):
        m(x, x, x, is_causal=True)


# ----------------------------------------------------------------------------- layers
def _layer_input(rng, batch_first, N, L, E):
    return _pair(_rand(rng, N, L, E) if batch_first else _rand(rng, L, N, E))


def _randomize(tm):
    torch = _torch()
    with torch.no_grad():  # LayerNorm γ, β and zero biases away from 1 and 0
        for name, p in tm.named_parameters():
            if p.ndim == 1:
                p.add_(0.1 * torch.randn_like(p))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_matches_torch(norm_first, activation):
    torch = _torch()
    rng = np.random.default_rng(11)
    torch.manual_seed(0)
    kw = dict(dim_feedforward=16, dropout=0.0, activation=activation, batch_first=True,
              norm_first=norm_first)
    tm = torch.nn.TransformerEncoderLayer(8, 2, **kw).double()
    _randomize(tm)
    m = nn.TransformerEncoderLayer(8, 2, **kw).double()
    assert list(m.state_dict()) == list(tm.state_dict())
    _copy_weights(m, tm)
    x, tx = _layer_input(rng, True, 3, 5, 8)
    p = np.zeros((3, 5), bool)
    p[1, -2:] = True
    out = m(x, src_key_padding_mask=dg.tensor(p))
    t_out = tm(tx, src_key_padding_mask=torch.tensor(p))
    _check(out, t_out, [("x", x, tx)] + _param_pairs(m, tm), rng=rng)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    torch = _torch()
    rng = np.random.default_rng(12)
    torch.manual_seed(1)
    kw = dict(dim_feedforward=12, dropout=0.0, norm_first=norm_first)
    tm = torch.nn.TransformerDecoderLayer(6, 3, **kw).double()
    _randomize(tm)
    m = nn.TransformerDecoderLayer(6, 3, **kw).double()
    assert list(m.state_dict()) == list(tm.state_dict())
    _copy_weights(m, tm)
    (t, tt), (mem, tmem) = _layer_input(rng, False, 2, 4, 6), _layer_input(rng, False, 2, 7, 6)
    causal = np.triu(np.ones((4, 4), bool), 1)
    mp = np.zeros((2, 7), bool)
    mp[0, -3:] = True
    out = m(t, mem, tgt_mask=dg.tensor(causal), memory_key_padding_mask=dg.tensor(mp),
            tgt_is_causal=True)
    t_out = tm(tt, tmem, tgt_mask=torch.tensor(causal), memory_key_padding_mask=torch.tensor(mp),
               tgt_is_causal=True)
    _check(out, t_out, [("tgt", t, tt), ("memory", mem, tmem)] + _param_pairs(m, tm), rng=rng)


def test_full_transformer_matches_torch():
    torch = _torch()
    rng = np.random.default_rng(13)
    torch.manual_seed(2)
    kw = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
              dim_feedforward=16, dropout=0.0, batch_first=True)
    tm = torch.nn.Transformer(**kw).double()
    _randomize(tm)
    m = nn.Transformer(**kw).double()
    assert list(m.state_dict()) == list(tm.state_dict())
    _copy_weights(m, tm)
    (s, ts), (t, tt) = _pair(_rand(rng, 2, 6, 8)), _pair(_rand(rng, 2, 4, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(4, dtype=dg.float64)
    np.testing.assert_array_equal(
        mask.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(4).double().numpy())
    out = m(s, t, tgt_mask=mask)
    t_out = tm(ts, tt, tgt_mask=torch.tensor(mask.numpy()))
    _check(out, t_out, [("src", s, ts), ("tgt", t, tt)] + _param_pairs(m, tm), rng=rng)


def test_encoder_stack_with_causal_float_mask_and_final_norm_matches_torch():
    torch = _torch()
    rng = np.random.default_rng(14)
    torch.manual_seed(3)
    tl = torch.nn.TransformerEncoderLayer(8, 4, 16, dropout=0.0, activation="gelu")
    tm = torch.nn.TransformerEncoder(tl, 3, norm=torch.nn.LayerNorm(8),
                                     enable_nested_tensor=False).double()
    _randomize(tm)
    m = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 4, 16, dropout=0.0,
                                                         activation="gelu"),
                              3, norm=nn.LayerNorm(8)).double()
    assert list(m.state_dict()) == list(tm.state_dict())
    _copy_weights(m, tm)
    x, tx = _layer_input(rng, False, 2, 5, 8)
    mask = np.triu(np.full((5, 5), -np.inf), 1)
    out = m(x, mask=dg.tensor(mask))
    t_out = tm(tx, mask=torch.tensor(mask))
    _check(out, t_out, [("x", x, tx)] + _param_pairs(m, tm), rng=rng)


def test_encoder_layer_gradcheck_float64():
    m = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0,
                                   batch_first=True).double()
    x = dg.randn(2, 3, 4, dtype=dg.float64, requires_grad=True)
    assert dg.autograd.gradcheck(lambda a: m(a), (x,))


def test_decoder_layer_gradcheck_float64():
    m = nn.TransformerDecoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True,
                                   norm_first=True).double()
    t = dg.randn(2, 3, 4, dtype=dg.float64, requires_grad=True)
    mem = dg.randn(2, 5, 4, dtype=dg.float64, requires_grad=True)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=dg.float64)
    assert dg.autograd.gradcheck(lambda a, b: m(a, b, tgt_mask=mask), (t, mem))


def test_layer_in_training_mode_uses_dropout_and_eval_does_not():
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5, batch_first=True)
    x = dg.randn(2, 5, 8)
    a, b = m(x).detach().numpy(), m(x).detach().numpy()
    assert not np.allclose(a, b)
    m.eval()
    np.testing.assert_array_equal(m(x).detach().numpy(), m(x).detach().numpy())


def test_bad_activation_and_transformer_shapes_raise():
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")
    with pytest.raises(ValueError, match="divisible"):
        nn.TransformerEncoderLayer(10, 4)
    m = nn.Transformer(8, 2, 1, 1, 16, batch_first=True)
    with pytest.raises(RuntimeError, match="batch number"):
        m(dg.randn(2, 3, 8), dg.randn(3, 3, 8))
    with pytest.raises(RuntimeError, match="d_model=8"):
        m(dg.randn(2, 3, 7), dg.randn(2, 3, 7))


# ----------------------------------------------------------------------------- positions
def test_sinusoidal_encoding_is_the_notes_formula():
    pe = nn.sinusoidal_positional_encoding(50, 6, dtype=dg.float64).numpy()
    for pos in (0, 1, 7, 49):
        for i in range(3):
            assert pe[pos, 2 * i] == pytest.approx(math.sin(pos / 10000 ** (2 * i / 6)))
            assert pe[pos, 2 * i + 1] == pytest.approx(math.cos(pos / 10000 ** (2 * i / 6)))
    odd = nn.sinusoidal_positional_encoding(4, 5).numpy()
    assert odd.shape == (4, 5) and odd.dtype == np.float32
    assert odd[3, 4] == pytest.approx(math.sin(3 / 10000 ** (4 / 5)), rel=1e-6)


def test_positional_encoding_modules():
    pe = nn.PositionalEncoding(8, dropout=0.0, max_len=10)
    assert "pe" not in pe.state_dict()
    x = dg.zeros(4, 2, 8)  # (L, N, E)
    out = pe(x).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, 1], nn.sinusoidal_positional_encoding(4, 8).numpy())
    pb = nn.PositionalEncoding(8, dropout=0.0, batch_first=True)
    np.testing.assert_allclose(pb(dg.zeros(2, 4, 8)).numpy()[0], out[:, 0])
    lp = nn.LearnedPositionalEncoding(10, 8)
    x = dg.randn(2, 4, 8)
    y = lp(x)
    assert y.shape == (2, 4, 8)
    y.sum().backward()
    g = lp.weight.grad.numpy()
    np.testing.assert_allclose(g[:4], 2.0)
    np.testing.assert_allclose(g[4:], 0.0)
    with pytest.raises(RuntimeError, match="max_len=10"):
        lp(dg.randn(2, 11, 8))
