"""A PyTorch program that draws randomness in every way the twin tapes, with each library's
own default initialisation (no NumPy-drawn weights): shuffled DataLoader batches, a custom
nn.init, dropout and channel dropout, a Transformer layer's attention dropout, noise from
torch.randn, a VAE-style Normal.rsample and a REINFORCE-style Categorical.sample.

    python twin_randomness.py [--steps N] [--lstm-dropout]
"""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical, Normal
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=6)
parser.add_argument("--lstm-dropout", action="store_true",
                    help="a 2-layer LSTM with dropout between its layers")
args = parser.parse_args()
torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.drop2d = nn.Dropout2d(0.25)
        self.embed = nn.Linear(16, 8)
        self.attend = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.2, batch_first=True)
        self.drop = nn.Dropout(0.3)
        self.mu = nn.Linear(8 * 4, 3)
        self.logvar = nn.Linear(8 * 4, 3)
        self.policy = nn.Linear(3, 5)
        self.lstm = nn.LSTM(8, 8, 2, dropout=0.5, batch_first=True) \
            if args.lstm_dropout else None

    def forward(self, x):
        h = self.drop2d(F.relu(self.conv(x)))                   # (B, 4, 4, 4)
        h = self.embed(h.flatten(2))                            # (B, 4, 8)
        h = self.attend(h)
        if self.lstm is not None:
            h = self.lstm(h)[0]
        h = self.drop(h.flatten(1))
        return self.mu(h), self.logvar(h)


model = Net()
for m in model.modules():
    if isinstance(m, nn.Linear):
        nn.init.normal_(m.weight, 0.0, 0.1)                     # the program's own init
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
images = torch.rand(40, 1, 4, 4)
labels = torch.randint(0, 5, (40,))
loader = DataLoader(TensorDataset(images, labels), batch_size=8, shuffle=True)

step = 0
while step < args.steps:
    for x, y in loader:
        x = x + 0.05 * torch.randn_like(x)                      # input noise
        mu, logvar = model(x)
        q = Normal(mu, torch.exp(0.5 * logvar))
        z = q.rsample()                                         # reparameterised draw
        kl = 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1).mean()
        logits = model.policy(z)
        action = Categorical(logits=logits).sample()
        reward = (action == y).float()
        log_prob = Categorical(logits=logits).log_prob(action)
        loss = F.cross_entropy(logits, y) + 0.1 * kl - 0.1 * (reward * log_prob).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        print(f"step {step} loss {loss.item():.6f}")
        step += 1
        if step == args.steps:
            break
