"""The benchmark workloads, written once against the shared PyTorch-compatible API.

``build(lib, name)`` returns ``step()`` for the library module ``lib`` (``deltagrad`` or
``torch``): the same model, the same initial weights (deltagrad loads PyTorch's
state_dict), the same batch, and one training step per call.
"""
from __future__ import annotations

import numpy as np

BATCH = {"mlp": 128, "lenet": 64, "lstm": 32, "transformer": 32, "gru": 32, "rnn": 32}
RECURRENT = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}  # the same model, another cell


def _models(lib, name):
    nn = lib.nn
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    if name == "lenet":
        return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                             nn.Linear(84, 10))
    if name in RECURRENT:
        class CharRecurrent(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(65, 64)
                self.rnn = getattr(nn, RECURRENT[name])(64, 128, batch_first=True)
                self.head = nn.Linear(128, 65)

            def forward(self, x):
                return self.head(self.rnn(self.embed(x))[0])
        return CharRecurrent()
    if name == "transformer":
        class CharTransformer(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(65, 128)
                layer = nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, batch_first=True)
                self.encoder = nn.TransformerEncoder(layer, 2)
                self.head = nn.Linear(128, 65)

            def forward(self, x):
                return self.head(self.encoder(self.embed(x)))
        return CharTransformer()
    raise KeyError(f"unknown workload {name!r}; expected one of {sorted(BATCH)}")


def _data(name, seed=0):
    rng = np.random.default_rng(seed)
    b = BATCH[name]
    if name == "mlp":
        return rng.random((b, 784), dtype=np.float32), rng.integers(0, 10, b)
    if name == "lenet":
        return rng.random((b, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, b)
    return rng.integers(0, 65, (b, 64)), rng.integers(0, 65, (b, 64))


def torch_state(name, seed=0):
    """Initial weights: PyTorch's default initialisation under a fixed seed, as NumPy."""
    import torch
    torch.manual_seed(seed)
    return {k: v.detach().numpy().copy() for k, v in _models(torch, name).state_dict().items()}


def build(lib, name, state, device="cpu", dtype=None):
    """One training step of workload ``name`` in library ``lib`` as a zero-argument function
    (on ``device``, in ``dtype`` — e.g. float64 for the GPU check's exact comparisons)."""
    model = _models(lib, name)
    if lib.__name__ == "torch":
        model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in state.items()})
    else:
        model.load_state_dict(state)
    x, y = _data(name)
    x, y = lib.from_numpy(x), lib.from_numpy(y)
    if dtype is not None:
        model.to(dtype)
        x = x.to(dtype) if x.is_floating_point() else x
    if device != "cpu":
        model.to(device)
        x, y = x.to(device), y.to(device)
    F = lib.nn.functional
    if name == "lenet":
        opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        opt = lib.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    return step


def gemm_shapes(name):
    """(m, k, n) of every matrix product one training step needs (forward and backward):
    the floor below which no implementation on this BLAS can go."""
    b = BATCH[name]
    shapes = []

    def linear(batch, fin, fout, needs_input_grad=True):
        shapes.append((batch, fin, fout))            # y = x Wᵀ
        shapes.append((fout, batch, fin))            # ∂W = δᵀ x
        if needs_input_grad:
            shapes.append((batch, fout, fin))        # ∂x = δ W

    def conv(n, cin, cout, k, out_hw, needs_input_grad=True):
        p = n * out_hw * out_hw
        linear(p, cin * k * k, cout, needs_input_grad)

    if name == "mlp":
        linear(b, 784, 256, False)
        linear(b, 256, 128)
        linear(b, 128, 10)
    elif name == "lenet":
        conv(b, 1, 6, 5, 28, False)
        conv(b, 6, 16, 5, 10)
        linear(b, 400, 120)
        linear(b, 120, 84)
        linear(b, 84, 10)
    else:
        raise KeyError(f"no GEMM floor for workload {name!r}")
    return shapes
