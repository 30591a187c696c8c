"""A VAE in the style of the official example, written with torch.distributions: the encoder's
Normal posterior (Independent over the latent dimensions), a reparameterised draw with rsample
checked against loc + scale·ε, a Bernoulli decoder, the analytic KL to the prior; trained with
Adam, then samples decoded from the prior."""
import argparse

import numpy as np
import torch
import torch.distributions as D
import torch.nn.functional as F
from torch import nn, optim

from _common import numpy_init, write_result


class VAE(nn.Module):
    def __init__(self, d=12, h=16, z=3):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.fc21 = nn.Linear(h, z)
        self.fc22 = nn.Linear(h, z)
        self.fc3 = nn.Linear(z, h)
        self.fc4 = nn.Linear(h, d)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def decode(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x, eps):
        mu, logvar = self.encode(x)
        q = D.Independent(D.Normal(mu, torch.exp(0.5 * logvar)), 1)
        z = q.base_dist.loc + q.base_dist.scale * eps
        return self.decode(z), q, z


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out")
    args = p.parse_args()
    rng = np.random.default_rng(0)
    images = (rng.random((64, 12)) < np.linspace(0.1, 0.9, 12)).astype(np.float32)
    model = numpy_init(VAE(), seed=2)
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    prior = D.Independent(D.Normal(torch.zeros(3), torch.ones(3)), 1)
    losses, logps = [], []
    for epoch in range(args.epochs):
        model.train()
        for i in range(0, 64, 16):
            x = torch.from_numpy(images[i:i + 16])
            eps = torch.from_numpy(rng.standard_normal((16, 3)).astype(np.float32))
            optimizer.zero_grad()
            logits, q, z = model(x, eps)
            rec = D.Bernoulli(logits=logits).log_prob(x).sum(-1)
            bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
            assert torch.allclose(-rec, bce, atol=1e-4)
            kl = D.kl_divergence(q, prior)
            loss = (kl - rec).mean()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            logps.append(q.log_prob(z).mean().item())
        print(f"====> Epoch: {epoch} Average loss: {np.mean(losses[-4:]):.4f}")
    with torch.no_grad():
        sample = torch.sigmoid(model.decode(prior.sample((5,))))
        draw = q.rsample()
    write_result({"losses": losses, "logq": logps, "sample_shape": list(sample.shape),
                  "draw_shape": list(draw.shape), "entropy": q.entropy().mean().item()})


if __name__ == "__main__":
    main()
