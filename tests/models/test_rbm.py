"""RBM (seed 003): the energy, free energy and conditionals against their formulas and brute
force, CD-1 against a PyTorch twin fed the same random numbers and the notes' closed-form
update, ln Z exact vs enumeration of both layers, AIS, CD-k/PCD training, bad inputs."""
import itertools
import warnings

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.models import RBM, MarkovChain, gibbs_chain
from tests.conftest import requires_torch


def _rbm(n_v, n_h, scale=1.0, seed=0, dtype=dg.float64):
    rng = np.random.default_rng(seed)
    rbm = RBM(n_v, n_h, dtype=dtype)
    rbm.load_state_dict({"W": rng.normal(0, scale, (n_h, n_v)), "b": rng.normal(0, scale, n_v),
                         "c": rng.normal(0, scale, n_h)})
    return rbm


def _params(rbm):
    return [p.detach().numpy().astype(np.float64) for p in (rbm.W, rbm.b, rbm.c)]


def _states(n):
    return np.array(list(itertools.product([0, 1], repeat=n)), dtype=np.float64)


def _log_joint_table(rbm):
    """−E(v, h) for every (v, h): a (2^m, 2^n) table, by brute force."""
    W, b, c = _params(rbm)
    V, H = _states(rbm.n_visible), _states(rbm.n_hidden)
    return V @ b[:, None] + (H @ c)[None, :] + V @ W.T @ H.T


def _binary(n, d, seed=0):
    return (np.random.default_rng(seed).random((n, d)) < 0.5).astype(np.float32)


def test_parameters_named_and_shaped_as_documented():
    rbm = RBM(6, 4)
    assert [n for n, _ in rbm.named_parameters()] == ["W", "b", "c"]
    assert rbm.W.shape == (4, 6) and rbm.b.shape == (6,) and rbm.c.shape == (4,)
    assert rbm.W.dtype == dg.float32


def test_energy_free_energy_and_conditionals_match_formulas():
    rbm = _rbm(5, 3)
    W, b, c = _params(rbm)
    v, h = _binary(7, 5, 1).astype(np.float64), _binary(7, 3, 2).astype(np.float64)
    E = rbm.energy(v, h).detach().numpy()
    np.testing.assert_allclose(E, -v @ b - h @ c - np.einsum("nj,ji,ni->n", h, W, v),
                               rtol=1e-12)
    # F(v) = −ln Σ_h e^{−E(v, h)} by enumerating h
    H = _states(3)
    brute = -np.log(np.exp(-(-(v @ b)[:, None] - (H @ c)[None] - v @ W.T @ H.T)).sum(1))
    np.testing.assert_allclose(rbm.free_energy(v).detach().numpy(), brute, rtol=1e-12)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    np.testing.assert_allclose(rbm.p_h_given_v(v).detach().numpy(), sig(v @ W.T + c), rtol=1e-12)
    np.testing.assert_allclose(rbm.p_v_given_h(h).detach().numpy(), sig(h @ W + b), rtol=1e-12)


def test_conditionals_equal_the_brute_force_joint():
    rbm = _rbm(3, 2)
    logp = _log_joint_table(rbm)
    P = np.exp(logp - logp.max())
    P /= P.sum()
    V, H = _states(3), _states(2)
    p_h1 = (P @ H) / P.sum(1, keepdims=True)             # P(h_j = 1 | v) for every v
    np.testing.assert_allclose(rbm.p_h_given_v(V).detach().numpy(), p_h1, rtol=1e-10)
    p_v1 = (P.T @ V) / P.sum(0)[:, None]                 # P(v_i = 1 | h) for every h
    np.testing.assert_allclose(rbm.p_v_given_h(H).detach().numpy(), p_v1, rtol=1e-10)


def test_free_energy_stable_and_float32_stays_float32():
    rbm = _rbm(4, 3, dtype=dg.float32)
    with dg.no_grad():
        rbm.W.mul_(1e3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no NumPy RuntimeWarning may leak
        f = rbm.free_energy(_binary(5, 4))
    assert f.dtype == dg.float32 and np.isfinite(f.detach().numpy()).all()


def test_transform_and_free_energy_match_scikit_learn():
    sk = pytest.importorskip("sklearn.neural_network")
    rbm = _rbm(6, 4, dtype=dg.float64)
    W, b, c = _params(rbm)
    ref = sk.BernoulliRBM(n_components=4)
    ref.components_, ref.intercept_hidden_, ref.intercept_visible_ = W, c, b
    x = np.random.default_rng(0).random((5, 6))             # probabilities are fine here
    np.testing.assert_allclose(rbm.transform(x).detach().numpy(), ref.transform(x), rtol=1e-12)
    np.testing.assert_allclose(rbm.free_energy(x).detach().numpy(), ref._free_energy(x), rtol=1e-12)


def _torch_cd(W, b, c, v, u_h, u_v):
    import torch
    W, b, c = (torch.tensor(a, requires_grad=True) for a in (W, b, c))
    v = torch.tensor(v)
    with torch.no_grad():
        h = (torch.tensor(u_h) < torch.sigmoid(v @ W.T + c)).to(v.dtype)
        vt = (torch.tensor(u_v) < torch.sigmoid(h @ W + b)).to(v.dtype)

    def F(x):
        return -(x @ b) - torch.nn.functional.softplus(x @ W.T + c).sum(1)

    loss = F(v).mean() - F(vt).mean()
    loss.backward()
    return loss, vt, W.grad, b.grad, c.grad


@requires_torch
def test_cd1_gradient_equals_pytorch_twin_with_the_same_random_numbers():
    rbm = _rbm(8, 5, scale=0.5, dtype=dg.float32)
    v = _binary(6, 8, 3)
    loss = rbm.contrastive_divergence(v, k=1, generator=dg.Generator().manual_seed(7))
    loss.backward()
    # the draws in chain order: one uniform array for h, then one for v
    rng = np.random.default_rng(7)
    u_h = rng.random((6, 5), dtype=np.float32)
    u_v = rng.random((6, 8), dtype=np.float32)
    t_loss, vt, gW, gb, gc = _torch_cd(*(p.detach().numpy() for p in (rbm.W, rbm.b, rbm.c)),
                                       v, u_h, u_v)
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-5, atol=1e-6)
    for g, t in ((rbm.W.grad, gW), (rbm.b.grad, gb), (rbm.c.grad, gc)):
        np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-5, atol=1e-6)
    # ... and the notes' CD update: ΔW ∝ σ(Wv+c) vᵀ − σ(Wṽ+c) ṽᵀ, Δb ∝ v − ṽ (batch mean)
    W, b, c = _params(rbm)
    vt = vt.numpy().astype(np.float64)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    dW = (sig(v @ W.T + c).T @ v - sig(vt @ W.T + c).T @ vt) / 6
    np.testing.assert_allclose(-rbm.W.grad.numpy(), dW, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(-rbm.b.grad.numpy(), (v - vt).mean(0), atol=1e-6)


def test_log_partition_exact_equals_enumeration_of_both_layers():
    for n_v, n_h in ((5, 4), (3, 6)):          # enumerates h, then v (the smaller layer)
        rbm = _rbm(n_v, n_h, scale=1.5, seed=n_v)
        logp = _log_joint_table(rbm)
        brute = np.log(np.exp(logp - logp.max()).sum()) + logp.max()
        assert rbm.log_partition_exact() == pytest.approx(brute, rel=1e-12)
        assert rbm.log_partition_exact(max_states_per_chunk=3) == pytest.approx(brute,
                                                                                 rel=1e-12)
        ll = rbm.log_likelihood(_states(n_v)).detach().numpy()
        assert np.exp(ll).sum() == pytest.approx(1.0, rel=1e-10)   # P(v) sums to one


def test_log_partition_exact_refuses_two_large_layers():
    with pytest.raises(ValueError, match="log_partition_exact.*<= 25 units.*ais"):
        RBM(30, 26).log_partition_exact()
    with pytest.raises(ValueError, match="log_likelihood.*intractable|<= 25"):
        RBM(30, 26).log_likelihood(np.zeros((1, 30)))


def test_ais_matches_exact_log_partition_with_a_covering_error_bar():
    rbm = _rbm(12, 10, scale=0.6, seed=4)
    exact = rbm.log_partition_exact()
    data = _binary(50, 12, 5)
    est = rbm.ais(n_chains=100, n_betas=1000, base_rate=data,
                  generator=dg.Generator().manual_seed(0))
    assert abs(est.log_z - exact) < 0.1
    assert est.log_z_low <= exact <= est.log_z_high
    assert est.log_weights.shape == (100,)
    # a uniform base (base_rate=None) too
    est0 = rbm.ais(n_chains=100, n_betas=1000, generator=dg.Generator().manual_seed(1))
    assert abs(est0.log_z - exact) < 0.1


def test_block_gibbs_samples_follow_the_exact_marginal():
    rbm = _rbm(3, 2, scale=1.0, seed=2)
    logp = _log_joint_table(rbm)
    p_v = np.exp(logp - logp.max()).sum(1)
    p_v /= p_v.sum()
    v0 = np.zeros((20000, 3))
    v = rbm.gibbs(v0, k=30, generator=dg.Generator().manual_seed(0)).detach().numpy()
    idx = (v @ (2 ** np.arange(2, -1, -1))).astype(int)
    np.testing.assert_allclose(np.bincount(idx, minlength=8) / len(v), p_v, atol=0.015)


def test_random_scan_gibbs_chain_of_an_rbm_has_the_rbm_joint_as_stationary_distribution():
    rbm = _rbm(2, 2, seed=6)
    logp = _log_joint_table(rbm)                          # (v, h) as four binary variables
    joint = np.exp(logp - logp.max()).reshape(2, 2, 2, 2)
    mc = gibbs_chain(joint)
    assert isinstance(mc, MarkovChain) and mc.is_reversible(pi=(joint / joint.sum()).ravel())


def _exact_mean_ll(rbm, data):
    return rbm.log_likelihood(data).mean().item()


@pytest.mark.parametrize("persistent", [False, True])
def test_cd_training_raises_the_exact_log_likelihood(persistent):
    dg.manual_seed(0)
    rng = np.random.default_rng(0)
    protos = np.array([[1, 1, 1, 0, 0, 0, 1, 0], [0, 0, 0, 1, 1, 1, 0, 1]], dtype=np.float32)
    data = protos[rng.integers(2, size=64)]
    data = np.abs(data - (rng.random(data.shape) < 0.05)).astype(np.float32)
    rbm = RBM(8, 4)
    opt = dg.optim.SGD(rbm.parameters(), lr=0.1, momentum=0.5)
    before = _exact_mean_ll(rbm, data)
    for _ in range(150):
        opt.zero_grad()
        rbm.contrastive_divergence(data, k=2, persistent=persistent).backward()
        opt.step()
    after = _exact_mean_ll(rbm, data)
    assert after > before + 1.0, (before, after)
    if persistent:
        assert rbm.persistent_chain.shape == (64, 8)
        assert set(np.unique(rbm.persistent_chain.numpy())) <= {0.0, 1.0}
        rbm.reset_chains()
        assert rbm.persistent_chain is None


def test_persistent_chains_continue_across_batches():
    rbm = _rbm(6, 3, dtype=dg.float32)
    v = _binary(4, 6)
    rbm.contrastive_divergence(v, persistent=True, generator=dg.Generator().manual_seed(0))
    chain = rbm.persistent_chain.numpy().copy()
    other = _binary(4, 6, 9)
    rbm.contrastive_divergence(other, persistent=True,
                               generator=dg.Generator().manual_seed(1))
    # the second call continued the kept chain, not the new batch
    expect = rbm.gibbs(chain, 1, generator=dg.Generator().manual_seed(1)).detach().numpy()
    np.testing.assert_array_equal(rbm.persistent_chain.numpy(), expect)
    assert "persistent_chain" in rbm.state_dict()
    # the chains travel with the weights (a fresh RBM has none yet)
    fresh = RBM(6, 3)
    fresh.load_state_dict(rbm.state_dict())
    np.testing.assert_array_equal(fresh.persistent_chain.numpy(), rbm.persistent_chain.numpy())
    np.testing.assert_array_equal(fresh.W.detach().numpy(), rbm.W.detach().numpy())
    fresh.load_state_dict({k: v for k, v in rbm.state_dict().items() if k != "persistent_chain"})
    assert fresh.persistent_chain is None


def test_sampling_helpers_shapes():
    rbm = RBM(16, 5)
    assert rbm.sample(3, k=5).shape == (3, 16)
    frames = rbm.gibbs_chain(_binary(2, 16), k=10, every=5)
    assert frames.shape == (3, 2, 16)
    assert rbm.filters().shape == (5, 4, 4)
    assert rbm.transform(_binary(2, 16)).requires_grad is False


def test_bad_inputs_raise_named_errors():
    rbm = RBM(4, 3)
    with pytest.raises(ValueError, match=r"RBM.contrastive_divergence: .*binary v"):
        rbm.contrastive_divergence(np.full((2, 4), 0.5))
    with pytest.raises(ValueError, match=r"RBM.contrastive_divergence: k must be an int >= 1"):
        rbm.contrastive_divergence(np.zeros((2, 4)), k=0)
    with pytest.raises(ValueError, match=r"RBM.free_energy: expected v of shape \(N, 4\)"):
        rbm.free_energy(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"RBM.energy: .*binary h"):
        rbm.energy(np.zeros((2, 4)), np.full((2, 3), 2.0))
    with pytest.raises(ValueError, match=r"RBM.p_h_given_v: v must lie in \[0, 1\]"):
        rbm.p_h_given_v(np.full((1, 4), -1.0))
    with pytest.raises(ValueError, match="RBM.gibbs: k must be"):
        rbm.gibbs(np.zeros((1, 4)), k=0)
    with pytest.raises(ValueError, match="RBM.ais: betas must"):
        rbm.ais(betas=[0.0, 0.7, 0.5, 1.0])
    with pytest.raises(ValueError, match="RBM: n_hidden must be"):
        RBM(4, 0)
