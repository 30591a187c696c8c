"""The device code path without a GPU: every op of the registry, the layers, a short training
run per model family, on the strict pretend GPU (deltagrad.testing.strict_device), where any
stray NumPy call on device data raises as it would with CuPy. Results must equal the CPU's."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import deltagrad as dg
import deltagrad.nn as nn
import deltagrad.nn.functional as F
from deltagrad.testing import StrictArray, use_strict_device
from tests.core.opinfo import OPS

SETTINGS = settings(max_examples=4, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])
GPU = "cuda"


class _OnDevice:
    """``dg`` with tensor constructors placing their results on the device (the registry's
    ops build index tensors with ``lib.tensor``)."""

    def __getattr__(self, name):
        attr = getattr(dg, name)
        if name in ("tensor", "as_tensor", "zeros", "ones", "full", "arange", "randn", "rand",
                    "empty", "eye", "randint", "linspace"):
            def make(*args, **kwargs):
                return attr(*args, **kwargs).to(GPU)
            return make
        return attr


def _outs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _run(lib, op, arrays, kwargs, device):
    ins = [dg.tensor(a, requires_grad=op.grad).to(device) for a in arrays]
    ins = [t if t.is_leaf else t.detach().requires_grad_(op.grad) for t in ins]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = _outs(op.fn(lib, *ins, **kwargs))
    return ins, outs


def _host(t):
    a = t.detach()._data
    assert isinstance(a, StrictArray) or t.device.type == "cpu", type(a)
    return a.get() if isinstance(a, StrictArray) else a


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
@SETTINGS
@given(data=st.data())
def test_every_op_forward_and_backward_on_the_strict_device(op, data):
    sample = op.sample(data.draw)
    ins, outs = _run(dg, op, sample.arrays, sample.kwargs, "cpu")
    with use_strict_device():
        dins, douts = _run(_OnDevice(), op, sample.arrays, sample.kwargs, GPU)
        assert len(outs) == len(douts)
        for o, d in zip(outs, douts):
            assert d.device.type == "cuda", f"{op.name}: an output left the device"
            np.testing.assert_allclose(_host(d), _host(o), rtol=1e-12, atol=1e-12,
                                       equal_nan=True, err_msg=op.name)
        if not op.grad:
            return
        rng = np.random.default_rng(0)
        ws = [rng.standard_normal(tuple(o.shape)) if o.requires_grad else None for o in outs]
        if not any(w is not None for w in ws):
            return
        sum((o * dg.tensor(w)).sum() for o, w in zip(outs, ws) if w is not None).backward()
        sum((o * dg.tensor(w).to(GPU)).sum() for o, w in zip(douts, ws)
            if w is not None).backward()
        for k, (x, dx) in enumerate(zip(ins, dins)):
            if x.grad is None:
                assert dx.grad is None or not np.any(_host(dx.grad))
                continue
            assert dx.grad.device.type == "cuda"
            np.testing.assert_allclose(_host(dx.grad), _host(x.grad), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{op.name} grad {k}")


def test_the_strict_device_refuses_what_cupy_refuses():
    with use_strict_device():
        x = dg.randn(3).to(GPU)
        with pytest.raises(TypeError, match="Implicit conversion"):
            np.asarray(x._data)
        with pytest.raises(TypeError, match="Unsupported type"):
            x._data + np.ones(3)
        with pytest.raises(RuntimeError, match="same device"):
            x + dg.randn(3)
        assert np.allclose(x.cpu().numpy(), x._data.get())


def _train(model, batches, device, loss_fn, steps=3, lr=0.1):
    """float64 and SGD with momentum: the device path must give the CPU's numbers (Adam's
    g/√v would magnify the round-off of near-zero gradients into visible differences)."""
    model = model.to(dg.float64).to(device)
    opt = dg.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for x, y in batches[:steps]:
        opt.zero_grad()
        x = x.to(dg.float64) if x.is_floating_point() else x
        loss = loss_fn(model(x.to(device)), y.to(device))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().cpu().numpy() for p in model.parameters()]


def _families():
    from deltagrad.models import LeNet5
    rng = np.random.default_rng(0)

    def img(n, c, h, w, k):
        return [(dg.tensor(rng.standard_normal((n, c, h, w)).astype(np.float32)),
                 dg.tensor(rng.integers(0, k, n))) for _ in range(3)]

    def seq(n, t, v):
        return [(dg.tensor(rng.integers(0, v, (n, t))), dg.tensor(rng.integers(0, v, n)))
                for _ in range(3)]

    class TinyLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn, self.head = nn.Embedding(11, 6), nn.LSTM(6, 8, batch_first=True), \
                nn.Linear(8, 11)

        def forward(self, x):
            h, _ = self.rnn(self.emb(x))
            return self.head(h[:, -1])

    class TinyGRUBi(TinyLSTM):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(6, 4, batch_first=True, bidirectional=True)

    class TinyTransformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(11, 8)
            self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                                        batch_first=True), 1)
            self.head = nn.Linear(8, 11)

        def forward(self, x):
            return self.head(self.enc(self.emb(x)).mean(1))

    yield "mlp", lambda: nn.Sequential(nn.Flatten(), nn.Linear(36, 16), nn.ReLU(),
                                       nn.Dropout(0.0), nn.Linear(16, 3)), img(8, 1, 6, 6, 3)
    yield "cnn+bn", lambda: nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4),
                                          nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                          nn.Linear(36, 3)), img(8, 1, 6, 6, 3)
    yield "lenet", lambda: LeNet5(in_channels=1, num_classes=10), img(4, 1, 32, 32, 10)
    yield "lstm", TinyLSTM, seq(5, 7, 11)
    yield "gru-bidirectional", TinyGRUBi, seq(5, 7, 11)
    yield "transformer", TinyTransformer, seq(5, 7, 11)


@pytest.mark.parametrize("name,build,batches", list(_families()),
                         ids=[f[0] for f in _families()])
def test_a_short_training_run_per_family_equals_the_cpu(name, build, batches):
    dg.manual_seed(0)
    cpu_losses, cpu_params = _train(build(), batches, "cpu", F.cross_entropy)
    dg.manual_seed(0)
    with use_strict_device():
        dev_losses, dev_params = _train(build(), batches, GPU, F.cross_entropy)
    np.testing.assert_allclose(dev_losses, cpu_losses, rtol=1e-10, atol=1e-12)
    for a, b in zip(dev_params, cpu_params):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_a_mask_on_another_device_is_a_named_error():
    with use_strict_device():
        q = dg.randn(1, 2, 3, 4).to(GPU)
        mask = dg.ones(3, 3, dtype=dg.bool)
        with pytest.raises(RuntimeError, match="same device"):
            F.scaled_dot_product_attention(q, q, q, attn_mask=mask)
        mha = nn.MultiheadAttention(4, 2, batch_first=True).to(GPU)
        x = dg.randn(2, 3, 4).to(GPU)
        with pytest.raises(RuntimeError, match="same device"):
            mha(x, x, x, attn_mask=mask)


@pytest.mark.slow
@pytest.mark.parametrize("experiment,data", [
    ("mlp", ("--dataset", "digits")), ("lenet", ("--dataset", "digits")),
    ("seq-classifier", ("--dataset", "digits")), ("char-lstm", "text"),
    ("char-transformer", "text")])
def test_deltagrad_train_runs_on_the_strict_device(experiment, data, tmp_path):
    """``DELTAGRAD_DEVICE_BACKEND=strict deltagrad train ... --device cuda`` end to end."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if data == "text":
        corpus = os.path.join(root, "deltagrad", "datasets", "data", "tinyshakespeare.txt")
        small = tmp_path / "small.txt"
        with open(corpus, encoding="utf-8") as f:
            small.write_text(f.read(12000), encoding="utf-8")
        data = ("--data", str(small))
    env = dict(os.environ, DELTAGRAD_DEVICE_BACKEND="strict", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONPATH=root)
    r = subprocess.run([sys.executable, "-m", "deltagrad", "train", experiment, *data,
                        "--epochs", "1", "--device", "cuda", "--out", str(tmp_path / "run")],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "device cuda" in r.stdout
