"""GANs (issue 15): the losses from logits, the MLP/DCGAN/conditional networks against
PyTorch twins over several alternating Adam steps (same weights, same noise), and the
errors for bad inputs."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import models
from deltagrad.nn import functional as F

from ..conftest import requires_torch


def _torch_copy(model, twin):
    import torch
    twin.load_state_dict({k: torch.tensor(np.array(v.detach().numpy()))
                          for k, v in model.state_dict().items()}, strict=True)
    return twin


def _torch_mlp(sizes, act, out=None):
    import torch.nn as tnn
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(tnn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(act())
    if out is not None:
        layers.append(out())
    return tnn.Sequential(*layers)


def _torch_pair(kind):
    """PyTorch twins of (G, D) with the same module names (so state_dicts agree)."""
    import torch
    import torch.nn as tnn

    class G(tnn.Module):
        def __init__(self, cond):
            super().__init__()
            self.cond = cond
            if kind == "dcgan":
                self.net = tnn.Sequential(
                    tnn.ConvTranspose2d(6, 32, 7, 1, 0, bias=False), tnn.BatchNorm2d(32),
                    tnn.ReLU(), tnn.ConvTranspose2d(32, 16, 4, 2, 1, bias=False),
                    tnn.BatchNorm2d(16), tnn.ReLU(),
                    tnn.ConvTranspose2d(16, 1, 4, 2, 1, bias=False), tnn.Tanh())
            else:
                self.net = _torch_mlp([6 + (3 if cond else 0), 16, 20], tnn.ReLU, tnn.Tanh)
            if cond:
                self.label_embedding = tnn.Embedding(4, 3)

        def forward(self, z, y=None):
            if kind == "dcgan":
                return self.net(z.reshape(len(z), 6, 1, 1))
            if self.cond:
                z = torch.cat([z, self.label_embedding(y)], 1)
            return self.net(z)

    class D(tnn.Module):
        def __init__(self, cond):
            super().__init__()
            self.cond = cond
            if kind == "dcgan":
                self.net = tnn.Sequential(
                    tnn.Conv2d(1, 8, 4, 2, 1, bias=False), tnn.LeakyReLU(0.2),
                    tnn.Conv2d(8, 16, 4, 2, 1, bias=False), tnn.BatchNorm2d(16),
                    tnn.LeakyReLU(0.2), tnn.Conv2d(16, 1, 7, 1, 0, bias=False))
            else:
                self.net = _torch_mlp([20 + (3 if cond else 0), 12, 1],
                                      lambda: tnn.LeakyReLU(0.2))
            if cond:
                self.label_embedding = tnn.Embedding(4, 3)

        def forward(self, x, y=None):
            x = x.reshape(len(x), -1) if kind != "dcgan" else x
            if self.cond:
                x = torch.cat([x, self.label_embedding(y)], 1)
            return self.net(x).reshape(len(x))

    cond = kind == "cgan"
    return G(cond), D(cond)


def _pair(kind):
    if kind == "dcgan":
        return models.DCGANGenerator(6, features=8), models.DCGANDiscriminator(features=8)
    if kind == "cgan":
        return (models.ConditionalGenerator(4, 6, 20, hidden=(16,), embedding_dim=3),
                models.ConditionalDiscriminator(4, 20, hidden=(12,), embedding_dim=3))
    return models.Generator(6, 20, hidden=(16,)), models.Discriminator(20, hidden=(12,))


@requires_torch
@pytest.mark.parametrize("kind", ["mlp", "cgan", "dcgan"])
@pytest.mark.parametrize("mode", ["non_saturating", "minimax"])
def test_alternating_steps_equal_a_pytorch_twin(kind, mode):
    """k = 2 D-steps per G-step, Adam(2e-4, β₁ 0.5), three rounds: every loss and every
    gradient of both networks equals the twin's."""
    import torch
    import torch.nn.functional as TF
    G, D = _pair(kind)
    tG, tD = _torch_pair(kind)
    _torch_copy(G, tG), _torch_copy(D, tD)
    opt = {"G": dg.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)),
           "D": dg.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))}
    topt = {"G": torch.optim.Adam(tG.parameters(), lr=2e-4, betas=(0.5, 0.999)),
            "D": torch.optim.Adam(tD.parameters(), lr=2e-4, betas=(0.5, 0.999))}
    rng = np.random.default_rng(0)
    shape = (8, 1, 28, 28) if kind == "dcgan" else (8, 20)
    cond = kind == "cgan"

    def args(y):
        return (dg.from_numpy(y),) if cond else ()

    def targs(y):
        return (torch.from_numpy(y),) if cond else ()

    def compare(model, twin):
        for (name, p), (tname, tp) in zip(model.named_parameters(), twin.named_parameters()):
            assert name == tname
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=2e-4, atol=1e-6,
                                       err_msg=name)

    for _ in range(3):
        for _ in range(2):  # k D-steps
            x = rng.uniform(-1, 1, shape).astype(np.float32)
            z = rng.standard_normal((8, 6)).astype(np.float32)
            y = rng.integers(0, 4, 8)
            loss = F.discriminator_loss(D(dg.from_numpy(x), *args(y)),
                                        D(G(dg.from_numpy(z), *args(y)).detach(), *args(y)))
            tx, tz = torch.from_numpy(x), torch.from_numpy(z)
            r, f = tD(tx, *targs(y)), tD(tG(tz, *targs(y)).detach(), *targs(y))
            tloss = TF.binary_cross_entropy_with_logits(r, torch.ones_like(r)) + \
                TF.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
            opt["D"].zero_grad(), topt["D"].zero_grad()
            loss.backward(), tloss.backward()
            assert float(loss.item()) == pytest.approx(tloss.item(), rel=1e-5)
            compare(D, tD)
            opt["D"].step(), topt["D"].step()
        z = rng.standard_normal((8, 6)).astype(np.float32)
        y = rng.integers(0, 4, 8)
        loss = F.generator_loss(D(G(dg.from_numpy(z), *args(y)), *args(y)), mode)
        f = tD(tG(torch.from_numpy(z), *targs(y)), *targs(y))
        tloss = (TF.binary_cross_entropy_with_logits(f, torch.ones_like(f))
                 if mode == "non_saturating" else
                 -TF.binary_cross_entropy_with_logits(f, torch.zeros_like(f)))
        opt["G"].zero_grad(), topt["G"].zero_grad()
        D.zero_grad(), tD.zero_grad()
        loss.backward(), tloss.backward()
        assert float(loss.item()) == pytest.approx(tloss.item(), rel=1e-5)
        compare(G, tG)
        opt["G"].step(), topt["G"].step()
    for (name, p), tp in zip(G.named_parameters(), tG.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), tp.detach().numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=name)


def test_losses_are_exact_softplus_forms_and_do_not_saturate():
    a = dg.tensor(np.array([-200.0, -3.0, 0.0, 3.0, 200.0], np.float32), requires_grad=True)
    ns = F.generator_loss(a)
    ns.backward()
    assert ns.dtype == dg.float32
    sp = np.logaddexp(0, -a.detach().numpy().astype(np.float64))     # −log σ(a)
    assert float(ns.item()) == pytest.approx(sp.mean(), rel=1e-6)
    # ∂/∂a −log σ(a) = −(1 − σ(a)): −1/5 where D rejects the fake (a = −200), not 0
    assert a.grad.numpy()[0] == pytest.approx(-0.2, rel=1e-6)
    a.grad = None
    mm = F.generator_loss(a, mode="minimax")           # log(1 − σ(a)) = −softplus(a)
    mm.backward()
    assert float(mm.item()) == pytest.approx(-np.logaddexp(0, a.detach().numpy()
                                                          .astype(np.float64)).mean(), rel=1e-6)
    assert abs(a.grad.numpy()[0]) < 1e-30            # the minimax loss saturates there
    d = F.discriminator_loss(a, a)                      # −V at D(x) = σ(a)
    assert np.isfinite(float(d.item()))
    half = dg.zeros(4)
    assert float(F.discriminator_loss(half, half).item()) == pytest.approx(2 * np.log(2))


@pytest.mark.parametrize("call, match", [
    (lambda: F.generator_loss(dg.zeros(3, 2)), r"generator_loss: fake_logits must hold one"),
    (lambda: F.generator_loss(dg.zeros(3), mode="wgan"), r"generator_loss: mode must be"),
    (lambda: F.discriminator_loss(dg.zeros(0), dg.zeros(2)), r"real_logits is an empty"),
    (lambda: F.discriminator_loss(dg.zeros(2), np.zeros(2)), r"fake_logits must be a Tensor"),
])
def test_loss_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_bad_inputs_raise_named_errors():
    G = models.Generator(8, 20, hidden=(4,))
    with pytest.raises(ValueError, match=r"Generator: z must have shape \(N, latent_dim=8\)"):
        G(dg.randn(3, 7))
    with pytest.raises(ValueError, match=r"DCGANGenerator: z must have shape"):
        models.DCGANGenerator(100, features=2)(dg.randn(2, 64))
    with pytest.raises(ValueError, match=r"DCGANDiscriminator: x must have shape \(N, 1, 28"):
        models.DCGANDiscriminator(features=2)(dg.randn(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"Discriminator: x must have shape \(N, 20\)"):
        models.Discriminator(20, hidden=(4,))(dg.randn(2, 21))
    cg = models.ConditionalGenerator(10, 8, 20, hidden=(4,))
    cd = models.ConditionalDiscriminator(10, 20, hidden=(4,))
    with pytest.raises(IndexError, match=r"ConditionalGenerator: labels must be in \[0, 10\)"):
        cg(dg.randn(2, 8), dg.tensor([3, 10]))
    with pytest.raises(IndexError, match=r"ConditionalDiscriminator: labels must be in"):
        cd(dg.randn(2, 20), dg.tensor([-1, 0]))
    with pytest.raises(ValueError, match=r"expected 2 labels"):
        cg(dg.randn(2, 8), dg.tensor([1, 2, 3]))
    with pytest.raises(TypeError, match=r"labels must be integer"):
        cg(dg.randn(2, 8), dg.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"needs labels"):
        cg.sample(2)
    with pytest.raises(ValueError, match=r"latent_dim must be a positive integer"):
        models.DCGANGenerator(0)


def test_dcgan_init_and_shapes():
    G, D = models.DCGANGenerator(), models.DCGANDiscriminator()
    w = np.concatenate([p.detach().numpy().ravel() for n, p in G.named_parameters()
                        if n.endswith("weight") and p.ndim == 4])
    assert abs(w.mean()) < 1e-3 and w.std() == pytest.approx(0.02, rel=0.02)
    gamma = G.net[1].weight.detach().numpy()
    assert gamma.mean() == pytest.approx(1.0, abs=0.01) and gamma.std() < 0.03
    x = G(G.noise(3))
    assert tuple(x.shape) == (3, 1, 28, 28) and float(abs(x).max().item()) <= 1
    assert tuple(D(x).shape) == (3,)


def test_interpolation_and_arithmetic():
    G = models.Generator(4, 6, hidden=(8,))
    z1, z2 = G.noise(1), G.noise(1)
    path = G.interpolate(z1, z2, steps=5)
    assert tuple(path.shape) == (5, 6)
    with dg.no_grad():
        np.testing.assert_allclose(path.numpy()[0], G(z1).numpy()[0], rtol=1e-6)
        np.testing.assert_allclose(path.numpy()[-1], G(z2).numpy()[0], rtol=1e-6)
        mid = G(0.5 * z1 + 0.5 * z2).numpy()[0]
    np.testing.assert_allclose(path.numpy()[2], mid, rtol=1e-5)
    za, zb, zc = G.noise(2), G.noise(2), G.noise(2)
    with dg.no_grad():
        want = G(za - zb + zc).numpy()
    np.testing.assert_allclose(G.arithmetic(za, zb, zc).numpy(), want, rtol=1e-6)
