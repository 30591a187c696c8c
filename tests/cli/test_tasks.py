"""One training loop for every model family: a task owns its step, its evaluation, its named
optimizers and its state, and the loop gives it checkpoints, bit-for-bit resume, the NaN stop
and metrics. A toy two-network task (alternating steps of two named optimizers, a step
counter and a fixed noise batch as state) stands in for a GAN-like family."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.experiments import image_classification, registry
from deltagrad.experiments.registry import Experiment
from deltagrad.nn import functional as F
from deltagrad.train import tasks
from deltagrad.train.checkpoint import load_checkpoint
from deltagrad.train.tasks import NonFiniteLoss, Task

from .conftest import FAST, cli


class Alternating(Task):
    """Odd steps update network "a" with optimizer "A", even steps "b" with "B"; the loss
    of a step also scores the distance of the net's output on a fixed noise batch."""

    name = "test-alternating"

    def __init__(self):
        self.steps, self.noise = 0, None

    def target(self, y):
        return np.asarray(y, dtype=np.int64)

    def optimizer_parameters(self, models):
        return {"A": models["a"].parameters(), "B": models["b"].parameters()}

    def train_step(self, models, optimizers, batch):
        x, y = batch
        if self.noise is None:  # drawn once from the global generator, then carried
            self.noise = dg.randn(4, x.shape[1])
        self.steps += 1
        name = "a" if self.steps % 2 else "b"
        net = models[name]
        loss = F.cross_entropy(net(x), y) + 1e-3 * (net(self.noise) ** 2).mean()
        value = float(loss.item())
        if not np.isfinite(value):
            raise NonFiniteLoss(value)
        optimizers[name.upper()].zero_grad()
        loss.backward()
        optimizers[name.upper()].step()
        return {"loss": value, f"loss_{name}": value}

    def evaluate(self, models, batches):
        total, seen = 0.0, 0
        with dg.no_grad():
            for x, y in batches:
                total += float(F.cross_entropy(models["a"](x), y).item()) * len(x)
                seen += len(x)
        return {"loss": total / seen}

    def state_dict(self):
        return {"steps": self.steps, "noise": None if self.noise is None else self.noise.numpy()}

    def load_state_dict(self, state):
        self.steps = state["steps"]
        self.noise = None if state["noise"] is None else dg.from_numpy(state["noise"])


@pytest.fixture
def alternating():
    tasks.TASKS[Alternating.name] = Alternating()
    exp = Experiment(name="test-alternating", summary="t", shows="t",
                     model=lambda d: nn.ModuleDict({"a": nn.Linear(d.input_dim, 10),
                                                    "b": nn.Linear(d.input_dim, 10)}),
                     data=image_classification, task=Alternating.name, optimizer="adam",
                     lr=1e-2, epochs=3)
    registry.register(exp)
    yield exp
    registry._REGISTRY.pop(exp.name)
    tasks.TASKS.pop(Alternating.name)


@pytest.mark.slow
def test_a_task_with_named_optimizers_and_state_resumes_bit_for_bit(tmp_path, alternating):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert cli("train", "test-alternating", *FAST, "--epochs", 2, "--out", whole).code == 0
    assert cli("train", "test-alternating", *FAST, "--epochs", 1, "--out", parts).code == 0
    r = cli("train", "test-alternating", "--out", parts, "--resume", "--epochs", 2)
    assert r.code == 0, r
    a = load_checkpoint(str(whole / "checkpoint.npz"))
    b = load_checkpoint(str(parts / "checkpoint.npz"))
    assert set(a["optimizers"]) == {"A", "B"} and "optimizer" not in a
    assert a["task"]["steps"] == b["task"]["steps"] == 2 * 21      # 1293 samples, batch 64
    np.testing.assert_array_equal(a["task"]["noise"], b["task"]["noise"])
    for k in a["model"]:
        assert np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()), k
    for name in ("A", "B"):
        sa, sb = a["optimizers"][name]["state"], b["optimizers"][name]["state"]
        assert sa.keys() == sb.keys()
        for p in sa:
            for k in sa[p]:
                assert np.array_equal(np.asarray(sa[p][k]), np.asarray(sb[p][k])), (name, p, k)
    rows = a["history"]
    assert {"train_loss", "train_loss_a", "train_loss_b", "val_loss", "test_loss"} <= set(rows[0])
    assert [r["train_loss"] for r in rows] == [r["train_loss"] for r in b["history"]]
    assert load_checkpoint(str(whole / "best.npz"), kind="weights")["best"]["metric"] == \
        "val_loss"


def test_the_loop_stops_on_a_non_finite_step_of_any_task(tmp_path, alternating, monkeypatch):
    real = Alternating.train_step

    def poisoned(self, models, optimizers, batch):
        if self.steps == 25:
            raise NonFiniteLoss(float("nan"))
        return real(self, models, optimizers, batch)
    monkeypatch.setattr(Alternating, "train_step", poisoned)
    out = tmp_path / "run"
    r = cli("train", "test-alternating", *FAST, "--out", out)
    assert r.code == 1, r
    assert "training loss (batch 5) became nan in epoch 2" in r.err
    assert load_checkpoint(str(out / "checkpoint.npz"))["task"]["steps"] == 21


def test_supervised_tasks_are_the_simplest_instances():
    task = tasks.get_task("classification").new()
    assert task is not tasks.get_task("classification")          # one per run
    model = nn.Linear(3, 2)
    assert list(task.optimizer_parameters(model)) == ["model"]
    assert task.state_dict() == {}
    with pytest.raises(ValueError, match="keeps no state"):
        task.load_state_dict({"steps": 1})
    x = dg.from_numpy(np.arange(12, dtype=np.float32).reshape(4, 3))
    y = dg.from_numpy(np.array([0, 1, 1, 0]))
    opt = dg.optim.SGD(model.parameters(), lr=0.1)
    ref = nn.Linear(3, 2)
    ref.load_state_dict(model.state_dict())
    loss = F.cross_entropy(ref(x), y)
    loss.backward()
    stepped = ref.weight.detach().numpy() - 0.1 * ref.weight.grad.numpy()   # θ ← θ − η ∇ℓ
    stats = task.train_step(model, {"model": opt}, (x, y))
    assert set(stats) == {"loss", "accuracy"}
    assert stats["loss"] == pytest.approx(float(loss.item()), rel=1e-6)
    np.testing.assert_allclose(model.weight.detach().numpy(), stepped, rtol=1e-6)
    r = task.evaluate(model, [(x, y)])
    assert r["loss"] == pytest.approx(float(F.cross_entropy(model(x), y).item()))
    assert r["predictions"].shape == (4,) and 0 <= r["accuracy"] <= 1
