"""Small PyTorch-style programs that use the first-hour functions together, written once and
run on both libraries from the same weights and batches: a VAE trained with
distributions.Normal/Bernoulli and kl_divergence, a packed-LSTM classifier, and a language
model's top-k sampling step. Their losses and gradients must equal torch's."""
from __future__ import annotations

import numpy as np
import pytest

import deltagrad as dg

from ..conftest import requires_torch

torch = pytest.importorskip("torch")


def _copy_weights(src, dst):
    dst.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in
                         src.state_dict().items()})


def _vae(lib):
    nn = lib.nn

    class VAE(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(6, 8)
            self.mu = nn.Linear(8, 2)
            self.logvar = nn.Linear(8, 2)
            self.dec = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 6))

        def forward(self, x, eps):
            h = lib.tanh(self.enc(x))
            q = lib.distributions.Normal(self.mu(h), (0.5 * self.logvar(h)).exp())
            z = q.loc + q.scale * eps  # the reparameterised draw, with the batch's noise
            prior = lib.distributions.Normal(lib.zeros_like(z), lib.ones_like(z))
            px = lib.distributions.Bernoulli(logits=self.dec(z))
            rec = px.log_prob(x).sum(-1)
            kl = lib.distributions.kl_divergence(q, prior).sum(-1)
            return (kl - rec).mean()
    return VAE()


@requires_torch
def test_vae_with_distributions_trains_like_torch():
    rng = np.random.default_rng(0)
    m, tm = _vae(dg), _vae(torch)
    _copy_weights(m, tm)
    opt = dg.optim.Adam(m.parameters(), lr=1e-2)
    topt = torch.optim.Adam(tm.parameters(), lr=1e-2)
    for step in range(5):
        x = (rng.random((16, 6)) < 0.3).astype(np.float32)
        eps = rng.standard_normal((16, 2)).astype(np.float32)
        loss = m(dg.tensor(x), dg.tensor(eps))
        tloss = tm(torch.tensor(x), torch.tensor(eps))
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=2e-5)
        opt.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
    for (k, v), (_, tv) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(v.detach().numpy(), tv.detach().numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=k)


def _classifier(lib):
    nn = lib.nn
    rnn = lib.nn.utils.rnn

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4, padding_idx=0)
            self.lstm = nn.LSTM(4, 5, batch_first=True, bidirectional=True)
            self.out = nn.Linear(10, 3)

        def forward(self, tokens, lengths):
            self.lstm.flatten_parameters()
            packed = rnn.pack_padded_sequence(self.emb(tokens), lengths, batch_first=True,
                                              enforce_sorted=False)
            _, (h, _) = self.lstm(packed)
            feats = lib.cat([h[-2], h[-1]], dim=1)
            return self.out(lib.nn.functional.normalize(feats, dim=1))
    return Classifier()


@requires_torch
def test_packed_lstm_classifier_trains_like_torch():
    rng = np.random.default_rng(1)
    m, tm = _classifier(dg), _classifier(torch)
    _copy_weights(m, tm)
    opt = dg.optim.SGD(m.parameters(), lr=0.5)
    topt = torch.optim.SGD(tm.parameters(), lr=0.5)
    for step in range(4):
        lengths = rng.integers(1, 7, 5)
        tokens = np.zeros((5, 6), np.int64)
        for b, n in enumerate(lengths):
            tokens[b, :n] = rng.integers(1, 10, n)
        y = rng.integers(0, 3, 5)
        loss = dg.nn.functional.cross_entropy(m(dg.tensor(tokens), lengths.tolist()),
                                              dg.tensor(y))
        tloss = torch.nn.functional.cross_entropy(tm(torch.tensor(tokens), lengths.tolist()),
                                                  torch.tensor(y))
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-5)
        opt.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
    for (k, v), (_, tv) in zip(m.named_parameters(), tm.named_parameters()):
        np.testing.assert_allclose(v.detach().numpy(), tv.detach().numpy(), rtol=1e-4,
                                   atol=1e-6, err_msg=k)


def _top_k_probs(lib, logits, k, temperature):
    v, _ = lib.topk(logits, k)
    logits = logits.clone()
    logits[logits < v[:, [-1]]] = -float("inf")
    return lib.nn.functional.softmax(logits / temperature, dim=-1)


@requires_torch
def test_top_k_sampling_step_like_torch():
    """The sampling step of a small GPT: crop to the top k, softmax, multinomial, append."""
    logits = np.random.default_rng(2).standard_normal((4, 100)).astype(np.float32)
    p = _top_k_probs(dg, dg.tensor(logits), 5, 0.8)
    tp = _top_k_probs(torch, torch.tensor(logits), 5, 0.8)
    np.testing.assert_allclose(p.numpy(), tp.numpy(), rtol=1e-6, atol=1e-7)
    idx = dg.zeros(4, 1, dtype=dg.int64)
    nxt = dg.multinomial(p, num_samples=1)
    assert nxt.dtype == dg.int64 and tuple(nxt.shape) == (4, 1)
    assert all(p[r, nxt[r, 0]].item() > 0 for r in range(4))  # only top-k tokens are drawn
    idx = dg.cat((idx, nxt), dim=1)
    assert tuple(idx.shape) == (4, 2) and f"{p.max():.3f}" == f"{tp.max():.3f}"
