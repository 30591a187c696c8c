"""Autoencoders (seed 000 "Lecture 10", seed 001 §5–8, seed 002 §4.1): every variant's loss and
gradients against a PyTorch twin in float64 (same weights, same noise), the contractive
penalty's closed form against double backward, a linear AE spanning PCA's subspace, a sparse
AE reaching its target activation, a denoising AE beating a plain one on corrupted inputs,
tied weights, shapes and errors."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad.models import (Autoencoder, ContractiveAutoencoder, ConvAutoencoder,
                              DenoisingAutoencoder, SparseAutoencoder)
from tests.conftest import requires_torch

F64 = dg.float64


def _randomize(model, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    model.load_state_dict({k: rng.normal(0, scale, v.shape)
                           for k, v in model.state_dict().items()})
    return model


def _data(n, d, seed=1):
    return np.random.default_rng(seed).random((n, d))


def _torch_twin(model):
    """torch Sequentials with the same layers as ``model.encoder``/``model.decoder`` and the
    same weights (load_state_dict(strict=True) checks that the keys agree)."""
    import torch

    def seq(dg_seq):
        layers = []
        for m in dg_seq:
            name = type(m).__name__
            if name == "Linear":
                layers.append(torch.nn.Linear(m.in_features, m.out_features, dtype=torch.float64))
            elif name == "Conv2d":
                layers.append(torch.nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size,
                                              m.stride, m.padding, dtype=torch.float64))
            elif name == "ConvTranspose2d":
                layers.append(torch.nn.ConvTranspose2d(
                    m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding,
                    m.output_padding, dtype=torch.float64))
            elif name == "Unflatten":
                layers.append(torch.nn.Unflatten(m.dim, tuple(m.unflattened_size)))
            else:
                layers.append(getattr(torch.nn, name)())
        return torch.nn.Sequential(*layers)

    twin = torch.nn.Module()
    twin.encoder = seq(model.encoder)
    if hasattr(model, "decoder"):
        twin.decoder = seq(model.decoder)
    for head in ("fc_mu", "fc_logvar"):                     # a VAE's Gaussian heads
        if hasattr(model, head):
            setattr(twin, head, seq([getattr(model, head)])[0])
    twin.load_state_dict({k: torch.tensor(v.detach().numpy())
                          for k, v in model.state_dict().items()},
                         strict=True)
    return twin


def _torch_error(model, logits, x):
    import torch.nn.functional as tF
    if model.loss_name == "bce":
        return tF.binary_cross_entropy_with_logits(logits, x, reduction="none") \
            .flatten(1).sum(1)
    y = logits.sigmoid() if model.output_activation == "sigmoid" else logits
    return ((y - x) ** 2).flatten(1).sum(1)


def _assert_grads_equal(model, twin, dg_loss, t_loss, rtol=1e-10):
    np.testing.assert_allclose(dg_loss.item(), t_loss.item(), rtol=rtol)
    dg_loss.backward()
    t_loss.backward()
    tgrads = dict(twin.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[name].grad.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=name)


@requires_torch
@pytest.mark.parametrize("activation,loss", [("sigmoid", "mse"), ("relu", "bce"),
                                             ("tanh", "mse")])
def test_autoencoder_loss_and_gradients_equal_pytorch_twin(activation, loss):
    import torch
    m = _randomize(Autoencoder([12, 7, 4], activation=activation, loss=loss, dtype=F64))
    twin = _torch_twin(m)
    x = _data(6, 12)
    tx = torch.tensor(x)
    t_loss = _torch_error(m, twin.decoder(twin.encoder(tx)), tx).mean()
    _assert_grads_equal(m, twin, m.loss(x), t_loss)
    np.testing.assert_allclose(m(x).detach().numpy(), torch.sigmoid(twin.decoder(twin.encoder(tx)))
                               .detach().numpy(), rtol=1e-12)


@requires_torch
def test_tied_autoencoder_decodes_with_the_transposed_encoder_weights():
    import torch
    m = _randomize(Autoencoder([10, 6, 3], tied=True, loss="bce", dtype=F64), seed=3)
    assert list(m.state_dict()) == ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight",
                                    "encoder.2.bias", "decoder_biases.0", "decoder_biases.1"]
    sd = {k: torch.tensor(v.detach().numpy(), requires_grad=True)
          for k, v in m.state_dict().items()}
    x = _data(5, 10)
    tx = torch.tensor(x)
    h = torch.sigmoid(tx @ sd["encoder.0.weight"].T + sd["encoder.0.bias"])
    h = torch.sigmoid(h @ sd["encoder.2.weight"].T + sd["encoder.2.bias"])
    y = torch.sigmoid(h @ sd["encoder.2.weight"] + sd["decoder_biases.0"])
    logits = y @ sd["encoder.0.weight"] + sd["decoder_biases.1"]
    t_loss = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, tx, reduction="sum") / len(x)
    loss = m.loss(x)
    np.testing.assert_allclose(loss.item(), t_loss.item(), rtol=1e-12)
    loss.backward()
    t_loss.backward()
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), sd[name].grad.numpy(), rtol=1e-10,
                                   err_msg=name)


@requires_torch
def test_sparse_autoencoder_penalty_equals_pytorch_twin():
    import torch
    m = _randomize(SparseAutoencoder([9, 5], rho=0.1, beta=2.5, l1=0.3, dtype=F64), seed=4)
    twin = _torch_twin(m)
    x = _data(7, 9)
    tx = torch.tensor(x)
    h = twin.encoder(tx)
    rho_hat = h.mean(0)
    kl = 0.1 * torch.log(0.1 / rho_hat) + 0.9 * torch.log(0.9 / (1 - rho_hat))
    t_pen = 2.5 * kl.sum() + 0.3 * h.abs().sum(1).mean()
    np.testing.assert_allclose(m.sparsity_penalty(x).item(), t_pen.item(), rtol=1e-12)
    t_loss = _torch_error(m, twin.decoder(h), tx).mean() + t_pen
    _assert_grads_equal(m, twin, m.loss(x), t_loss)


@requires_torch
@pytest.mark.parametrize("noise", ["gaussian", "masking"])
def test_denoising_autoencoder_equals_pytorch_twin_with_the_same_noise(noise):
    import torch
    m = _randomize(DenoisingAutoencoder([8, 5], noise=noise, sigma=0.3, p=0.4, dtype=F64),
                   seed=5)
    twin = _torch_twin(m)
    x = _data(6, 8)
    rng = np.random.default_rng(9)
    eps = rng.standard_normal(x.shape) if noise == "gaussian" else \
        (rng.random(x.shape) >= 0.4).astype(np.float64)
    tx = torch.tensor(x)
    xt = tx + 0.3 * torch.tensor(eps) if noise == "gaussian" else tx * torch.tensor(eps)
    np.testing.assert_allclose(m.corrupt(x, eps).detach().numpy(), xt.numpy(), rtol=1e-15)
    t_loss = _torch_error(m, twin.decoder(twin.encoder(xt)), tx).mean()
    _assert_grads_equal(m, twin, m.loss(x, noise=eps), t_loss)


def test_denoising_corrupts_in_training_only_and_masks_about_p():
    m = DenoisingAutoencoder([400, 20], noise="masking", p=0.3)
    x = np.ones((50, 400), dtype=np.float32)
    xt = m.corrupt(x).detach().numpy()
    assert set(np.unique(xt)) <= {0.0, 1.0} and abs((xt == 0).mean() - 0.3) < 0.01
    m.eval()
    np.testing.assert_array_equal(m(x).detach().numpy(),
                                  Autoencoder.forward(m, x).detach().numpy())
    g = DenoisingAutoencoder([400, 20], noise="gaussian", sigma=0.5)
    assert abs((g.corrupt(x).detach().numpy() - 1).std() - 0.5) < 0.01


@requires_torch
def test_contractive_penalty_equals_pytorch_jacobian_and_gradients():
    import torch
    m = _randomize(ContractiveAutoencoder([6, 4], lam=0.7, dtype=F64), seed=6)
    twin = _torch_twin(m)
    x = _data(5, 6)
    tx = torch.tensor(x)
    jac = torch.stack([torch.autograd.functional.jacobian(twin.encoder, tx[i],
                                                          create_graph=True)
                       for i in range(len(x))])                       # (P, M, K)
    t_pen = 0.7 * (jac ** 2).sum((1, 2)).mean()
    np.testing.assert_allclose(m.contractive_penalty(x, "closed_form").item(), t_pen.item(),
                               rtol=1e-12)
    t_loss = _torch_error(m, twin.decoder(twin.encoder(tx)), tx).mean() + t_pen
    _assert_grads_equal(m, twin, m.loss(x), t_loss)


def test_contractive_closed_form_equals_double_backward():
    m = _randomize(ContractiveAutoencoder([7, 5], lam=1.0, dtype=F64), seed=7, scale=1.5)
    x = _data(9, 7, seed=2)
    closed = m.jacobian_norm(x, "closed_form")
    double = m.jacobian_norm(x, "double_backward")
    np.testing.assert_allclose(closed.detach().numpy(), double.detach().numpy(), rtol=0,
                               atol=1e-10)
    # and their gradients with respect to the weights agree too
    g1 = dg.autograd.grad(closed.sum(), list(m.encoder.parameters()))
    g2 = dg.autograd.grad(double.sum(), list(m.encoder.parameters()))
    for a, b in zip(g1, g2):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=0, atol=1e-10)


@requires_torch
def test_contractive_double_backward_for_a_deep_encoder_equals_pytorch():
    import torch
    m = _randomize(ContractiveAutoencoder([6, 5, 3], activation="tanh", lam=0.2, dtype=F64),
                   seed=8)
    twin = _torch_twin(m)
    x = _data(4, 6)
    tx = torch.tensor(x)
    jac = torch.stack([torch.autograd.functional.jacobian(twin.encoder, tx[i],
                                                          create_graph=True)
                       for i in range(len(x))])
    t_loss = _torch_error(m, twin.decoder(twin.encoder(tx)), tx).mean() + \
        0.2 * (jac ** 2).sum((1, 2)).mean()
    _assert_grads_equal(m, twin, m.loss(x), t_loss)
    with pytest.raises(ValueError, match="closed form needs one sigmoid encoder layer"):
        m.contractive_penalty(x, "closed_form")


@requires_torch
@pytest.mark.parametrize("latent_dim", [None, 6])
def test_conv_autoencoder_equals_pytorch_twin(latent_dim):
    import torch
    m = _randomize(ConvAutoencoder(1, 12, channels=(3, 4), latent_dim=latent_dim, dtype=F64),
                   seed=10, scale=0.3)
    twin = _torch_twin(m)
    x = np.random.default_rng(3).random((2, 1, 12, 12))
    tx = torch.tensor(x)
    assert m(x).shape == (2, 1, 12, 12)
    t_loss = _torch_error(m, twin.decoder(twin.encoder(tx)), tx).mean()
    _assert_grads_equal(m, twin, m.loss(x), t_loss)


@pytest.mark.parametrize("size,channels", [(28, (4, 8)), (28, (2, 2, 2)), (15, (2, 3))])
def test_conv_autoencoder_reconstructs_the_input_size(size, channels):
    m = ConvAutoencoder(2, size, channels)
    assert m(np.zeros((1, 2, size, size), np.float32)).shape == (1, 2, size, size)


def _digits():
    from sklearn.datasets import load_digits
    X = load_digits().data
    return X


def _fit(model, X, steps, lr, batch=None, seed=0, loss=None):
    opt = dg.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        xb = X if batch is None else X[rng.integers(0, len(X), batch)]
        opt.zero_grad()
        (model.loss(xb) if loss is None else loss(model, xb)).backward()
        opt.step()
    return model


def test_linear_autoencoder_spans_the_principal_subspace():
    X = _digits()
    X = X[:, X.std(0) > 0]
    X = (X - X.mean(0)) / X.std(0)                          # standardised
    k = 3
    m = Autoencoder([X.shape[1], k], activation=None, output_activation=None, dtype=F64)
    _fit(m, X, steps=150, lr=0.03)
    W_dec = m.decoder[0].weight.detach().numpy()                      # (features, k): its columns
    pcs = dg.analysis.pca(X, k).components_.T
    assert dg.analysis.principal_angles(W_dec, pcs).max() < 0.05


def test_sparse_autoencoder_reaches_its_target_activation():
    X = _digits() / 16
    train, test = X[:1400].astype(np.float32), X[1400:].astype(np.float32)
    m = SparseAutoencoder([64, 32], rho=0.1, beta=3.0)
    _fit(m, train, steps=400, lr=0.01, batch=128)
    with dg.no_grad():
        rho_hat = m.encode(test).numpy().mean()
    assert abs(rho_hat - 0.1) < 0.02


def test_denoising_autoencoder_beats_a_plain_one_on_corrupted_inputs():
    X = (_digits() / 16).astype(np.float32)
    train, test = X[:1400], X[1400:]
    dg.manual_seed(1)
    plain = Autoencoder([64, 48])
    dae = DenoisingAutoencoder([64, 48], noise="masking", p=0.5)
    dae.load_state_dict(plain.state_dict())
    _fit(plain, train, steps=500, lr=0.01, batch=128)
    _fit(dae, train, steps=500, lr=0.01, batch=128)
    dae.eval()
    corrupted = dae.corrupt(test, generator=dg.Generator().manual_seed(5))
    with dg.no_grad():
        e_plain = plain.reconstruction_error(corrupted, target=test).mean().item()
        e_dae = dae.reconstruction_error(corrupted, target=test).mean().item()
    assert e_dae < 0.8 * e_plain


def test_bad_arguments_raise_named_errors():
    with pytest.raises(ValueError, match="latent_dim"):
        Autoencoder([10, 0])
    with pytest.raises(ValueError, match="sizes needs at least"):
        Autoencoder(784)
    with pytest.raises(ValueError, match="rho"):
        SparseAutoencoder([10, 3], rho=1.0)
    with pytest.raises(ValueError, match="rho"):
        SparseAutoencoder([10, 3], rho=0)
    with pytest.raises(ValueError, match="needs code activations in"):
        SparseAutoencoder([10, 3], activation="relu")
    with pytest.raises(ValueError, match="corruption probability"):
        DenoisingAutoencoder([10, 3], noise="masking", p=1.0)
    with pytest.raises(ValueError, match="corruption probability"):
        DenoisingAutoencoder([10, 3], noise="masking", p=-0.1)
    with pytest.raises(ValueError, match="noise must be"):
        DenoisingAutoencoder([10, 3], noise="salt")
    with pytest.raises(ValueError, match="lam"):
        ContractiveAutoencoder([10, 3], lam=-1)
    with pytest.raises(ValueError, match="latent_dim"):
        ConvAutoencoder(latent_dim=0)
    with pytest.raises(ValueError, match="loss='bce' needs output_activation='sigmoid'"):
        Autoencoder([10, 3], loss="bce", output_activation=None)
    m = Autoencoder([10, 3], loss="bce")
    with pytest.raises(ValueError, match=r"needs x in \[0, 1\]"):
        m.loss(np.full((2, 10), 2.0, np.float32))
    with pytest.raises(ValueError, match=r"expected x of shape \(P, 10\)"):
        m.encode(np.zeros((2, 9), np.float32))
    with pytest.raises(ValueError, match="method must be"):
        ContractiveAutoencoder([10, 3]).contractive_penalty(np.zeros((1, 10)), "exact")


def test_float32_stays_float32():
    for m in (Autoencoder([10, 3]), SparseAutoencoder([10, 3], l1=0.1),
              ContractiveAutoencoder([10, 3]), ContractiveAutoencoder([10, 4, 3])):
        assert m.loss(np.random.rand(4, 10)).dtype == dg.float32
