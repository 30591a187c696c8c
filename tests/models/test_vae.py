"""VAEs (seed 001 "Variational Autoencoder", seed 003, seed 004 §9.2): the negative ELBO and
every gradient against a PyTorch twin in float64 with the same ε (the twin's terms from
torch.distributions), the IWAE estimate against ln p(x) by quadrature for a 1-D latent (≥ the
ELBO, converging in k), chunking that does not change the estimate, sampling, interpolation,
traversal and errors."""
import math

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.models import VAE, ConvVAE
from tests.conftest import requires_torch
from tests.models.test_autoencoders import _randomize, _torch_twin

F64 = dg.float64


def _binary(shape, seed=0, p=0.4):
    return (np.random.default_rng(seed).random(shape) < p).astype(np.float64)


def _torch_neg_elbo(twin, x, eps, likelihood, beta):
    import torch
    from torch.distributions import Bernoulli, Normal, kl_divergence
    f = twin.encoder(x)
    mu, logvar = twin.fc_mu(f), twin.fc_logvar(f)
    std = torch.exp(0.5 * logvar)
    z = mu + std * eps
    out = twin.decoder(z)
    dims = tuple(range(1, x.ndim))
    if likelihood == "bernoulli":
        log_px = Bernoulli(logits=out).log_prob(x).sum(dims)
    else:
        log_px = Normal(out, torch.ones_like(out)).log_prob(x).sum(dims)
    kl = kl_divergence(Normal(mu, std), Normal(torch.zeros_like(mu), torch.ones_like(std)))
    return (-log_px + beta * kl.sum(-1)).mean()


def _check_twin(m, x, likelihood, beta, seed=3):
    import torch
    twin = _torch_twin(m)
    eps = np.random.default_rng(seed).standard_normal((len(x), m.latent_dim))
    t_loss = _torch_neg_elbo(twin, torch.tensor(x), torch.tensor(eps), likelihood, beta)
    loss = m.loss(x, eps=eps)
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-11)
    loss.backward()
    t_loss.backward()
    tgrads = dict(twin.named_parameters())
    assert set(tgrads) == {n for n, _ in m.named_parameters()}
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[name].grad.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=name)


@requires_torch
@pytest.mark.parametrize("likelihood,beta", [("bernoulli", 1.0), ("gaussian", 1.0),
                                             ("bernoulli", 4.0)])
def test_vae_negative_elbo_and_gradients_equal_pytorch_twin(likelihood, beta):
    m = _randomize(VAE(12, [9, 7], 3, likelihood=likelihood, beta=beta, dtype=F64), seed=1)
    x = _binary((5, 12)) if likelihood == "bernoulli" else \
        np.random.default_rng(2).normal(size=(5, 12))
    _check_twin(m, x, likelihood, beta)


@requires_torch
def test_conv_vae_negative_elbo_and_gradients_equal_pytorch_twin():
    m = _randomize(ConvVAE(1, 12, channels=(3, 4), latent_dim=2, dtype=F64), seed=2,
                   scale=0.3)
    _check_twin(m, _binary((2, 1, 12, 12), seed=4), "bernoulli", 1.0)
    assert m(_binary((2, 1, 12, 12)))[0].shape == (2, 1, 12, 12)


def test_vae_shapes_and_state_dict_keys():
    m = VAE(784, [300, 300], 40)
    assert [k for k in m.state_dict()] == [
        "encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
        "fc_mu.weight", "fc_mu.bias", "fc_logvar.weight", "fc_logvar.bias",
        "decoder.0.weight", "decoder.0.bias", "decoder.2.weight", "decoder.2.bias",
        "decoder.4.weight", "decoder.4.bias"]
    x = _binary((3, 784)).astype(np.float32)
    recon, mu, logvar = m(x)
    assert recon.shape == (3, 784) and mu.shape == logvar.shape == (3, 40)
    assert recon.dtype == dg.float32 and m.loss(x).dtype == dg.float32
    assert m(x.reshape(3, 1, 28, 28))[0].shape == (3, 784)        # images are flattened


def test_reparameterize_is_mu_plus_sigma_eps_and_differentiable():
    mu = dg.tensor([[0.5, -1.0]], dtype=F64, requires_grad=True)
    logvar = dg.tensor([[math.log(4.0), 0.0]], dtype=F64, requires_grad=True)
    z = VAE(4, [3], 2, dtype=F64).reparameterize(mu, logvar, eps=np.array([[1.0, -2.0]]))
    np.testing.assert_allclose(z.detach().numpy(), [[2.5, -3.0]])
    z.sum().backward()
    np.testing.assert_allclose(mu.grad.numpy(), [[1.0, 1.0]])
    np.testing.assert_allclose(logvar.grad.numpy(), [[0.5 * 2.0 * 1.0, 0.5 * 1.0 * -2.0]])


def _exact_log_px(m, x):
    """ln p(x) = ln ∫ p(x|z) N(z; 0, 1) dz for a 1-D latent, by the trapezoid rule."""
    z = np.linspace(-12, 12, 24001)
    with dg.no_grad():
        logits = m.decode_logits(dg.tensor(z[:, None], dtype=F64)).numpy()
    log_pz = -0.5 * z ** 2 - 0.5 * math.log(2 * math.pi)
    out = []
    for xi in x:
        log_px_z = -(np.logaddexp(0, logits) - xi * logits).sum(1)
        a = log_px_z + log_pz
        c = a.max()
        out.append(c + math.log(np.trapezoid(np.exp(a - c), z)))
    return np.array(out)


def test_iwae_is_above_the_elbo_and_converges_to_the_exact_log_likelihood():
    m = _randomize(VAE(8, [6], 1, dtype=F64), seed=5, scale=0.7)
    x = _binary((3, 8), seed=6)
    exact = _exact_log_px(m, x)
    gen = dg.Generator().manual_seed(0)
    reps = 5000                                             # Monte Carlo over tiled copies
    xs = np.tile(x, (reps, 1))
    with dg.no_grad():
        eps = np.random.default_rng(1).standard_normal((len(xs), 1))
        elbo = -sum(m.elbo_terms(xs, eps=eps)).numpy().reshape(reps, 3).mean(0)
    assert (elbo < exact).all()
    iwae1 = m.log_likelihood(xs, k=1, generator=gen).numpy().reshape(reps, 3).mean(0)
    np.testing.assert_allclose(iwae1, elbo, atol=0.15)      # E[IWAE_1] = ELBO
    errors = [np.abs(elbo - exact).max()]
    for k, repeats in ((10, 40), (100, 10), (200_000, 1)):
        est = np.mean([m.log_likelihood(x, k=k, generator=gen).numpy()
                       for _ in range(repeats)], 0)
        assert (est > elbo).all()                           # IWAE_k ≥ ELBO
        errors.append(np.abs(est - exact).max())
    # IWAE_k ↑ ln p(x) as k grows (Burda et al. 2016, theorem 1)
    assert errors[0] > errors[1] > errors[2] > errors[3] and errors[3] < 0.02


def test_iwae_chunking_does_not_change_the_estimate_and_k_5000_fits():
    m = VAE(784, [300, 300], 40)
    x = _binary((1, 784), seed=7).astype(np.float32)
    a = m.log_likelihood(x, k=300, generator=dg.Generator().manual_seed(3))
    b = m.log_likelihood(x, k=300, max_rows=7, generator=dg.Generator().manual_seed(3))
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    ll = m.log_likelihood(x, k=5000)
    assert ll.shape == (1,) and np.isfinite(ll.numpy()).all()
    assert ll.item() >= -m.loss(x).item() - 5.0


def test_sample_interpolate_traverse():
    m = _randomize(VAE(10, [8], 2, dtype=F64), seed=8)
    s = m.sample(6, generator=dg.Generator().manual_seed(1))
    assert s.shape == (6, 10) and ((s.numpy() > 0) & (s.numpy() < 1)).all()
    b = m.sample(4, binary=True).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0}
    x1, x2 = _binary((10,), 1), _binary((10,), 2)
    path = m.interpolate(x1, x2, steps=5).numpy()
    with dg.no_grad():
        mu1, mu2 = m.encode(x1)[0], m.encode(x2)[0]
        np.testing.assert_allclose(path[0], m.decode(mu1).numpy()[0], rtol=1e-12)
        np.testing.assert_allclose(path[-1], m.decode(mu2).numpy()[0], rtol=1e-12)
        np.testing.assert_allclose(path[2], m.decode((mu1 + mu2) * 0.5).numpy()[0],
                                   rtol=1e-12)
        t = m.traverse(x1, 1, [-2.0, 0.0, 2.0]).numpy()
        z = np.repeat(mu1.numpy(), 3, 0)
        z[:, 1] = [-2, 0, 2]
        np.testing.assert_allclose(t, m.decode(dg.tensor(z)).numpy(), rtol=1e-12)


def test_vae_bad_inputs_raise_named_errors():
    with pytest.raises(ValueError, match="latent_dim"):
        VAE(10, [5], 0)
    with pytest.raises(ValueError, match="latent_dim"):
        ConvVAE(latent_dim=-1)
    with pytest.raises(ValueError, match="likelihood must be"):
        VAE(10, [5], 2, likelihood="poisson")
    m = VAE(10, [5], 2)
    x = _binary((2, 10)).astype(np.float32)
    with pytest.raises(ValueError, match="k .* must be an int >= 1"):
        m.log_likelihood(x, k=0)
    with pytest.raises(ValueError, match=r"Bernoulli .* needs x in \[0, 1\]"):
        m.loss(x * 3)
    with pytest.raises(ValueError, match=r"Bernoulli .* needs x in \[0, 1\]"):
        m.log_likelihood(x - 1, k=2)
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 10\)"):
        m.loss(np.zeros((2, 9), np.float32))
    with pytest.raises(ValueError, match="eps must have mu's shape"):
        m.loss(x, eps=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="dim must be"):
        m.traverse(x[0], 2, [0.0])
    VAE(10, [5], 2, likelihood="gaussian").loss(x * 3)      # any real data is fine there


def test_vae_learns_binarized_digits_better_than_independent_pixels():
    from sklearn.datasets import load_digits
    X = (load_digits().data / 16 > 0.5).astype(np.float32)
    train, test = X[:1400], X[1400:]
    p = np.clip(train.mean(0), 1e-3, 1 - 1e-3)              # the factorised Bernoulli model
    independent = -(test * np.log(p) + (1 - test) * np.log1p(-p)).sum(1).mean()
    m = VAE(64, [64], 4)
    opt = dg.optim.Adam(m.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(250):
        opt.zero_grad()
        m.loss(train[rng.integers(0, len(train), 100)]).backward()
        opt.step()
    with dg.no_grad():
        neg_elbo = m.loss(test).item()
    nll = -m.log_likelihood(test, k=50, generator=dg.Generator().manual_seed(0)).mean().item()
    assert nll < neg_elbo < independent - 3.0               # the factorised model: ≈ 24.2 nats
