"""What must not happen: training on NaN, overwriting a user's run or checkpoint, starting a
long run that will fail at the end, accepting nonsense numbers."""
import json
import os

import numpy as np
import pytest

from deltagrad import nn
from deltagrad.experiments import image_classification, registry
from deltagrad.experiments.registry import Experiment
from deltagrad.train.checkpoint import load_checkpoint

from .conftest import FAST, cli


# ----------------------------------------------------------------------------- NaN / Inf
class _PoisonAfter(nn.Module):
    """A linear classifier whose output turns NaN after ``steps`` training forwards."""

    def __init__(self, d, k, steps):
        super().__init__()
        self.fc = nn.Linear(d, k)
        self.steps, self.calls = steps, 0

    def forward(self, x):
        out = self.fc(x)
        if self.training:
            self.calls += 1
            if self.calls > self.steps:
                out = out * float("nan")
        return out


@pytest.fixture
def poisoned_experiment():
    # digits train split: 1437 samples less 10% validation = 1293, batch 64 -> 21 steps per
    # epoch; NaN in the 31st step: epoch 2, batch 10
    exp = Experiment(name="test-poisoned", summary="test", shows="test",
                     model=lambda data: _PoisonAfter(data.input_dim, data.num_classes, 30),
                     data=image_classification, optimizer="sgd", lr=0.1, epochs=3)
    registry.register(exp)
    yield exp
    registry._REGISTRY.pop(exp.name)


def test_injected_nan_stops_and_keeps_the_last_good_checkpoint(tmp_path, poisoned_experiment):
    out = tmp_path / "run"
    r = cli("train", "test-poisoned", *FAST, "--out", out)
    assert r.code == 1, r
    assert "training loss (batch 10) became nan in epoch 2" in r.err
    assert "last good checkpoint" in r.err
    state = load_checkpoint(str(out / "checkpoint.npz"))
    assert state["epoch"] == 1
    assert all(np.isfinite(v.numpy()).all() for v in state["model"].values())
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 1
    assert "became nan" in (out / "log.txt").read_text()


def test_absurd_learning_rate_stops_with_a_clear_message(tmp_path):
    out = tmp_path / "run"
    r = cli("train", "mlp", *FAST, "--optimizer", "sgd", "--lr", "1e6", "--epochs", 3,
            "--out", out)
    assert r.code == 1, r
    assert "training stopped" in r.err and "Try a smaller --lr" in r.err
    assert ("became nan" in r.err) or ("became inf" in r.err)
    if (out / "checkpoint.npz").exists():  # diverged after a first epoch: that one is intact
        state = load_checkpoint(str(out / "checkpoint.npz"))
        assert all(np.isfinite(v.numpy()).all() for v in state["model"].values())
    else:
        assert "no checkpoint was written" in r.err


# ----------------------------------------------------------------------------- checkpoints
@pytest.fixture
def one_epoch_run(tmp_path):
    out = tmp_path / "run"
    r = cli("train", "softmax-regression", *FAST, "--epochs", 1, "--out", out)
    assert r.code == 0, r
    return out


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign", "other-kind"])
def test_bad_checkpoint_is_reported_and_left_alone(one_epoch_run, damage):
    ckpt = one_epoch_run / "checkpoint.npz"
    good = ckpt.read_bytes()
    if damage == "garbage":
        ckpt.write_bytes(b"this is not a checkpoint\x00\xff" * 100)
    elif damage == "truncated":
        ckpt.write_bytes(good[: len(good) // 2])
    elif damage == "foreign":
        np.savez(ckpt, weights=np.ones(3))
    else:
        ckpt.write_bytes((one_epoch_run / "best.npz").read_bytes())
    bad = ckpt.read_bytes()
    r = cli("train", "softmax-regression", *FAST, "--epochs", 2, "--out", one_epoch_run,
            "--resume")
    assert r.code == 1, r
    expected = {"garbage": "corrupted", "truncated": "corrupted",
                "foreign": "not a deltagrad checkpoint", "other-kind": "expected a 'checkpoint'"}
    assert expected[damage] in r.err, r.err
    assert ckpt.read_bytes() == bad                       # never overwritten
    assert len((one_epoch_run / "metrics.jsonl").read_text().splitlines()) == 1


def test_checkpoint_of_another_experiment_is_refused(one_epoch_run):
    r = cli("train", "mlp", *FAST, "--epochs", 2, "--out", one_epoch_run, "--resume")
    assert r.code == 2 and "is a run of experiment 'softmax-regression'" in r.err


# ----------------------------------------------------------------------------- user input
def test_unknown_experiment_lists_the_valid_ones():
    r = cli("train", "resnet-9000")
    assert r.code == 2
    assert "unknown experiment 'resnet-9000'" in r.err
    assert all(n in r.err for n in ("mlp", "softmax-regression", "logistic-regression"))


@pytest.mark.parametrize("args, message", [
    (("--epochs", "0"), "--epochs: must be >= 1, got 0"),
    (("--epochs", "two"), "expected a whole number"),
    (("--lr", "-0.1"), "--lr: must be a positive finite number"),
    (("--lr", "nan"), "--lr: must be a positive finite number"),
    (("--batch-size", "0"), "--batch-size: must be >= 1"),
    (("--seed", "-1"), "--seed: must be >= 0"),
    (("--val-fraction", "1"), "must be in [0, 1)"),
    (("--optimizer", "lbfgs-turbo"), "unknown --optimizer 'lbfgs-turbo'"),
    (("--dataset", "imagenet"), "not 'imagenet'"),
    (("--device", "tpu"), "--device must be cpu or cuda"),
])
def test_bad_settings_are_rejected_before_anything_is_written(tmp_path, args, message):
    r = cli("train", "mlp", "--out", tmp_path / "run", *args)
    assert r.code == 2, r
    assert message in r.err
    assert not (tmp_path / "run").exists() or not os.listdir(tmp_path / "run")


def test_resume_needs_out():
    r = cli("train", "mlp", "--resume")
    assert r.code == 2 and "--resume needs --out" in r.err


def test_unwritable_out_fails_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    r = cli("train", "mlp", *FAST, "--out", blocker / "run")
    assert r.code == 2
    assert "cannot write to the output folder" in r.err
    assert "training mlp" not in r.out


def test_missing_dataset_says_how_to_install(tmp_path, monkeypatch):
    from deltagrad.datasets import FashionMNIST
    monkeypatch.setattr(FashionMNIST, "system_dirs", ())
    monkeypatch.delenv("DELTAGRAD_DATA", raising=False)
    r = cli("train", "mlp", "--dataset", "fashion-mnist", "--out", tmp_path / "run")
    assert r.code == 1
    assert "apt-get install dataset-fashion-mnist" in r.err and "DELTAGRAD_DATA" in r.err
    # auto falls back to digits and says how to get Fashion-MNIST
    r = cli("train", "softmax-regression", "--epochs", 1, "--out", tmp_path / "auto")
    assert r.code == 0, r
    assert "using scikit-learn's 8x8 digits" in r.out and "dataset-fashion-mnist" in r.out
    cfg = json.loads((tmp_path / "auto" / "config.json").read_text())
    assert cfg["settings"]["dataset"] == "digits"


def test_resume_without_checkpoint_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    r = cli("train", "mlp", *FAST, "--out", tmp_path / "empty", "--resume")
    assert r.code == 2 and "nothing to resume" in r.err and "no checkpoint.npz" in r.err
    r = cli("train", "mlp", *FAST, "--out", tmp_path / "absent", "--resume")
    assert r.code == 2 and "does not exist" in r.err


def test_existing_run_is_not_overwritten_without_force(one_epoch_run):
    before = {p.name: p.read_bytes() for p in one_epoch_run.iterdir() if p.is_file()}
    r = cli("train", "softmax-regression", *FAST, "--epochs", 1, "--out", one_epoch_run)
    assert r.code == 2 and "is not empty" in r.err and "--force" in r.err
    after = {p.name: p.read_bytes() for p in one_epoch_run.iterdir() if p.is_file()}
    assert after == before
    (one_epoch_run / "notes.txt").write_text("mine")
    r = cli("train", "softmax-regression", *FAST, "--epochs", 2, "--out", one_epoch_run,
            "--force")
    assert r.code == 0, r
    assert len((one_epoch_run / "metrics.jsonl").read_text().splitlines()) == 2
    assert (one_epoch_run / "notes.txt").read_text() == "mine"   # not a run file: kept


def test_evaluate_and_report_of_a_missing_run(tmp_path):
    for cmd in ("evaluate", "report"):
        r = cli(cmd, tmp_path / "nope")
        assert r.code == 2 and "no run folder" in r.err
