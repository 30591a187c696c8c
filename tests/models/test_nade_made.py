"""NADE and MADE (seed 003): NADE's NLL against a plain pixel-by-pixel loop and a PyTorch twin
(values and gradients), MADE's autoregressive property through autograd for random masks and
orderings, MADE vs a PyTorch twin, exact normalisation, sampling, the mask ensemble, errors."""
import itertools

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.models import MADE, NADE, MaskedLinear
from tests.conftest import requires_torch


def _binary(n, d, seed=0):
    return (np.random.default_rng(seed).random((n, d)) < 0.5).astype(np.float32)


def _states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float32)


def _randomize(model, seed=0, scale=0.7):
    rng = np.random.default_rng(seed)
    model.load_state_dict({k: rng.normal(0, scale, v.shape) if k.split(".")[-1] != "mask"
                           else v.numpy() for k, v in model.state_dict().items()})
    return model


def _np(t):
    return t.detach().numpy()


# ----------------------------------------------------------------------------- NADE
def test_nade_parameters_follow_the_notes():
    m = NADE(7, 3)
    assert [n for n, _ in m.named_parameters()] == ["W", "b", "V", "c"]
    assert m.W.shape == (3, 7) and m.b.shape == (3,) and m.V.shape == (7, 3) \
        and m.c.shape == (7,)


def test_nade_log_prob_equals_a_plain_pixel_by_pixel_loop():
    m = _randomize(NADE(9, 4, dtype=dg.float64), seed=1)
    x = _binary(5, 9, 2)
    W, b, V, c = (_np(p) for p in (m.W, m.b, m.V, m.c))
    expect = []
    for xx in x.astype(np.float64):
        total = 0.0
        for i in range(9):                      # h_i = σ(W_{:,<i} x_<i + b), O(n²d) overall
            h = 1 / (1 + np.exp(-(b + W[:, :i] @ xx[:i])))
            p = 1 / (1 + np.exp(-(V[i] @ h + c[i])))
            total += np.log(p if xx[i] == 1 else 1 - p)
        expect.append(total)
    np.testing.assert_allclose(_np(m.log_prob(x)), expect, rtol=1e-12)


def test_nade_is_normalised():
    m = _randomize(NADE(6, 3, dtype=dg.float64), seed=3, scale=1.5)
    assert np.exp(_np(m.log_prob(_states(6)))).sum() == pytest.approx(1.0, rel=1e-12)


@requires_torch
def test_nade_nll_and_gradients_equal_pytorch_twin():
    import torch
    m = _randomize(NADE(12, 5), seed=4)
    x = _binary(8, 12, 5)
    nll = -m.log_prob(x).mean()
    nll.backward()
    W, b, V, c = (torch.tensor(_np(p), requires_grad=True) for p in (m.W, m.b, m.V, m.c))
    tx = torch.tensor(x)
    a = torch.cumsum(tx[:, :, None] * W.T, 1) - tx[:, :, None] * W.T + b
    logits = (torch.sigmoid(a) * V).sum(-1) + c
    t_nll = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, tx, reduction="none").sum(1).mean()
    t_nll.backward()
    np.testing.assert_allclose(nll.item(), t_nll.item(), rtol=1e-5)
    for p, t in zip((m.W, m.b, m.V, m.c), (W, b, V, c)):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_fused_conditionals_equal_the_tensor_op_form_and_pass_gradcheck():
    from deltagrad.models.nade import _logits_by_ops, nade_logits
    rng = np.random.default_rng(9)
    args = [dg.tensor(rng.normal(size=s), dtype=dg.float64, requires_grad=True)
            for s in ((4, 7), (3, 7), (3,), (7, 3), (7,))]   # x (continuous here), W, b, V, c
    fused, ref = nade_logits(*args), _logits_by_ops(*args)
    np.testing.assert_allclose(_np(fused), _np(ref), rtol=1e-12)
    g = dg.tensor(rng.normal(size=(4, 7)), dtype=dg.float64)
    got = dg.autograd.grad(fused, args, g)
    want = dg.autograd.grad(ref, args, g)
    for a, b in zip(got, want):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-10, atol=1e-12)
    assert dg.autograd.gradcheck(nade_logits, args)
    assert dg.autograd.gradgradcheck(nade_logits, args)    # create_graph: the op form


def test_nade_samples_follow_its_distribution():
    m = _randomize(NADE(3, 4), seed=8, scale=1.5)
    s = _np(m.sample(20000, generator=dg.Generator().manual_seed(0)))
    assert s.shape == (20000, 3) and set(np.unique(s)) <= {0.0, 1.0}
    freq = np.bincount((s @ [4, 2, 1]).astype(int), minlength=8) / len(s)
    np.testing.assert_allclose(freq, np.exp(_np(m.log_prob(_states(3)))), atol=0.015)


def test_nade_bad_inputs():
    m = NADE(4, 2)
    with pytest.raises(ValueError, match=r"NADE.log_prob: a Bernoulli model needs binary x"):
        m.log_prob(np.full((2, 4), 0.3))
    with pytest.raises(ValueError, match=r"NADE.log_prob: expected x of shape \(N, 4\)"):
        m.log_prob(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="NADE: hidden_dim must be a positive int"):
        NADE(4, 0)


# ----------------------------------------------------------------------------- MADE
def _jacobian_support(model, x):
    """support[i, j]: some example has ∂y_i/∂x_j != 0 (through autograd)."""
    xt = dg.tensor(x, requires_grad=True)
    y = model(xt)
    support = np.zeros((y.shape[1], x.shape[1]), bool)
    for i in range(y.shape[1]):
        xt.grad = None
        y[:, i].sum().backward(retain_graph=True)
        support[i] = (xt.grad.numpy() != 0).any(0)
    return support


@pytest.mark.parametrize("natural,seed,nout_mult,hidden", [
    (True, 0, 1, [12, 9]), (False, 1, 1, [12, 9]), (False, 2, 2, [12, 9]), (False, 3, 1, [3, 4])])
def test_made_autoregressive_property_through_autograd(natural, seed, nout_mult, hidden):
    nin = 6
    m = _randomize(MADE(nin, hidden, nout=nin * nout_mult, num_masks=3,
                        natural_ordering=natural, seed=seed), seed=seed)
    x = np.random.default_rng(seed).normal(size=(16, nin)).astype(np.float32)
    for _ in range(3):                          # every mask of the cycle
        m.update_masks()
        order = m.m[-1]
        if natural:
            np.testing.assert_array_equal(order, np.arange(nin))
        support = _jacobian_support(m, x)
        for i in range(m.nout):
            d = i % nin
            forbidden = order >= order[d]       # j at or after d in the ordering
            assert not support[i, forbidden].any(), (i, order, support[i])
        # and it is not trivially zero: the last output in the ordering sees some input
        last = int(np.argmax(order))
        assert support[last].any()


def test_made_is_normalised_for_every_mask():
    m = _randomize(MADE(5, [8], num_masks=2, seed=4), seed=4, scale=1.2)
    for _ in range(2):
        m.update_masks()
        assert np.exp(_np(m.log_prob(_states(5)))).sum() == pytest.approx(1.0, rel=1e-5)


def test_update_masks_cycles_through_num_masks():
    m = MADE(5, [8, 8], num_masks=3, seed=0)
    first = [mod.mask.numpy().copy() for mod in m.net if isinstance(mod, MaskedLinear)]
    seen = []
    for _ in range(3):
        m.update_masks()
        seen.append(m.m[-1].copy())
    again = [mod.mask.numpy() for mod in m.net if isinstance(mod, MaskedLinear)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert len({tuple(s) for s in seen}) > 1          # orderings change within the cycle
    single = MADE(5, [8], num_masks=1)
    order = single.m[-1].copy()
    single.update_masks()
    np.testing.assert_array_equal(single.m[-1], order)


def test_masks_follow_connectivity_numbers():
    m = MADE(4, [5], seed=7)
    hidden = m.net[0].mask.numpy()
    out = m.net[2].mask.numpy()
    np.testing.assert_array_equal(hidden, (m.m[0][:, None] >= m.m[-1][None, :]))
    np.testing.assert_array_equal(out, (m.m[-1][:, None] > m.m[0][None, :]))
    assert m.m[0].min() >= m.m[-1].min() and m.m[0].max() <= 4 - 2


@requires_torch
def test_made_nll_and_gradients_equal_pytorch_twin():
    import torch
    m = _randomize(MADE(7, [10, 10], seed=5), seed=5, scale=0.5)
    x = _binary(6, 7, 1)
    nll = -m.log_prob(x).mean()
    nll.backward()
    linears = [mod for mod in m.net if isinstance(mod, MaskedLinear)]
    params = [(torch.tensor(_np(l.weight), requires_grad=True),
               torch.tensor(_np(l.bias), requires_grad=True), torch.tensor(l.mask.numpy()))
              for l in linears]
    h = torch.tensor(x)
    for k, (W, b, M) in enumerate(params):
        h = torch.nn.functional.linear(h, W * M, b)
        if k < len(params) - 1:
            h = torch.relu(h)
    t_nll = torch.nn.functional.binary_cross_entropy_with_logits(
        h, torch.tensor(x), reduction="none").sum(1).mean()
    t_nll.backward()
    np.testing.assert_allclose(nll.item(), t_nll.item(), rtol=1e-5)
    for l, (W, b, _) in zip(linears, params):
        np.testing.assert_allclose(l.weight.grad.numpy(), W.grad.numpy(), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(l.bias.grad.numpy(), b.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_ensemble_is_the_log_of_the_mean_likelihood():
    m = _randomize(MADE(5, [8], num_masks=4, seed=2), seed=2)
    x = _binary(6, 5, 3)
    per_mask = []
    for _ in range(4):
        m.update_masks()
        per_mask.append(_np(m.log_prob(x)).astype(np.float64))
    expect = np.log(np.mean(np.exp(per_mask), axis=0))
    np.testing.assert_allclose(_np(m.ensemble_log_prob(x, 4)), expect, rtol=1e-5)
    # the ensemble is a proper distribution too
    assert np.exp(_np(m.ensemble_log_prob(_states(5), 4))).sum() == pytest.approx(1, rel=1e-5)


def test_made_samples_follow_its_distribution():
    m = _randomize(MADE(3, [6], seed=1), seed=1, scale=1.2)
    s = _np(m.sample(20000, generator=dg.Generator().manual_seed(0)))
    assert s.shape == (20000, 3) and set(np.unique(s)) <= {0.0, 1.0}
    freq = np.bincount((s @ [4, 2, 1]).astype(int), minlength=8) / len(s)
    np.testing.assert_allclose(freq, np.exp(_np(m.log_prob(_states(3)))), atol=0.015)


def test_made_bad_inputs():
    with pytest.raises(ValueError, match=r"MADE: hidden layer 1 has 0 units, but MADE's "
                                         r"masks need at least 1 unit"):
        MADE(5, [8, 0])
    with pytest.raises(ValueError, match="MADE: hidden_sizes must name at least one"):
        MADE(5, [])
    with pytest.raises(ValueError, match="MADE: nin must be an int >= 2"):
        MADE(1, [4])
    with pytest.raises(ValueError, match="MADE: nout must be a positive multiple of nin"):
        MADE(5, [8], nout=7)
    with pytest.raises(ValueError, match="MADE: num_masks must be"):
        MADE(5, [8], num_masks=0)
    m = MADE(5, [8])
    with pytest.raises(ValueError, match="MADE.log_prob: a Bernoulli model needs binary x"):
        m.log_prob(np.full((1, 5), 0.5))
    with pytest.raises(ValueError, match="MADE.log_prob: a Bernoulli likelihood needs nout"):
        MADE(5, [8], nout=10).log_prob(np.zeros((1, 5)))
    with pytest.raises(ValueError, match=r"MaskedLinear.set_mask: expected a mask of shape "
                                         r"\(8, 5\)"):
        m.net[0].set_mask(np.ones((5, 8)))
