"""A classifier trained with DataLoader, a sampler, StepLR and Adam, checkpointed with
torch.save after two epochs and resumed from torch.load into fresh objects."""
import argparse
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, Dataset, Sampler

from _common import numpy_init, write_result


class Blobs(Dataset):
    def __init__(self, n=96, seed=1):
        rng = np.random.default_rng(seed)
        self.y = rng.integers(0, 3, n)
        self.x = (rng.standard_normal((n, 5)) + self.y[:, None]).astype(np.float32)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return torch.from_numpy(self.x[i]), int(self.y[i])


class NumpyPermutation(Sampler):
    def __init__(self, n, seed):
        self.n, self.rng = n, np.random.default_rng(seed)

    def __iter__(self):
        return iter(self.rng.permutation(self.n).tolist())

    def __len__(self):
        return self.n


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(5, 16, bias=False)  # BatchNorm follows
        self.bn = nn.BatchNorm1d(16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.bn(self.fc1(x))))


def make(args):
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = numpy_init(Net()).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    return device, model, optimizer, scheduler


def train_epoch(model, device, loader, optimizer, losses):
    model.train()
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print(f"loss {loss:.4f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--ckpt", default="ckpt.pt")
    p.add_argument("--out")
    args = p.parse_args()
    data = Blobs()
    loader = DataLoader(data, batch_size=32, sampler=NumpyPermutation(len(data), 7))
    device, model, optimizer, scheduler = make(args)
    losses = []
    for epoch in range(2):
        train_epoch(model, device, loader, optimizer, losses)
        scheduler.step()
    torch.save({"epoch": 2, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict()}, args.ckpt)
    del model, optimizer, scheduler
    device, model, optimizer, scheduler = make(args)  # a fresh process would do the same
    ckpt = torch.load(args.ckpt, map_location=device)
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    for epoch in range(ckpt["epoch"], 4):
        train_epoch(model, device, loader, optimizer, losses)
        scheduler.step()
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(data.x)
        eval_loss = F.cross_entropy(model(x), torch.from_numpy(data.y)).item()
    write_result({"losses": losses, "lr": scheduler.get_last_lr(), "eval_loss": eval_loss,
                  "exists": os.path.exists(args.ckpt)})


if __name__ == "__main__":
    main()
