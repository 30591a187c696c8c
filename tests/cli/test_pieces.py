"""The parts under the command: checkpoint files, the progress bar, the registry."""
import io
import os

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import nn
from deltagrad.experiments import experiment, get_experiment, registry
from deltagrad.train.checkpoint import (CheckpointError, atomic_write, load_checkpoint,
                                        save_checkpoint)
from deltagrad.train.progress import ProgressBar


def test_checkpoint_round_trip_keeps_types_and_bits(tmp_path):
    g = dg.Generator().manual_seed(123)
    g.numpy.random(7)  # advance it so the state is not a fresh one
    state = {
        "model": {"0.weight": dg.randn(3, 4), "0.bias": dg.zeros(3, dtype=dg.float64)},
        "optimizer": {"state": {0: {"step": np.array(5.0, np.float32),
                                    "exp_avg": np.arange(4, dtype=np.float32)}},
                      "param_groups": [{"lr": 0.1, "betas": (0.9, 0.999), "params": [0, 1],
                                        "nesterov": False, "name": None}]},
        "rng": g.get_state(),
        "scalar": np.float32(0.5),
        "floats": [float("nan"), float("inf"), 1e-300, 0.1],
        "history": [{"epoch": 1, "loss": 0.25}],
    }
    path = str(tmp_path / "c.npz")
    save_checkpoint(path, state)
    back = load_checkpoint(path)
    assert isinstance(back["model"]["0.weight"], dg.Tensor)
    assert np.array_equal(back["model"]["0.weight"].numpy(), state["model"]["0.weight"].numpy())
    assert back["model"]["0.bias"].dtype == dg.float64
    opt = back["optimizer"]
    assert list(opt["state"]) == [0]                       # int keys stay ints
    assert opt["state"][0]["step"].dtype == np.float32 and opt["state"][0]["step"] == 5
    assert opt["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert back["scalar"] == np.float32(0.5) and back["scalar"].dtype == np.float32
    assert np.isnan(back["floats"][0]) and back["floats"][1:] == [float("inf"), 1e-300, 0.1]
    g2 = dg.Generator()
    g2.set_state(back["rng"])
    assert np.array_equal(g2.numpy.random(5), g.numpy.random(5))
    assert back["history"] == state["history"]
    with np.load(path, allow_pickle=False) as z:   # readable without pickle
        assert "__meta__" in z.files


def test_checkpoint_rejects_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match="cannot store a value of type function"):
        save_checkpoint(str(tmp_path / "c.npz"), {"f": lambda: 0})
    assert not os.listdir(tmp_path)


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")

    def fail(f):
        f.write(b"half")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(str(path), fail)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["f.bin"]   # no temp file left behind


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checkpoint(str(tmp_path / "absent.npz"))


def test_progress_bar_fits_the_terminal_shows_eta_and_stays_quiet_elsewhere():
    tty = io.StringIO()
    bar = ProgressBar(1293, desc="epoch 10/10", stream=tty, interactive=True, min_interval=0,
                      ncols=80)
    for _ in range(10):
        bar.update(128, loss=0.5, acc=0.75)
    bar.update(13, loss=0.25)
    bar.close()
    text = tty.getvalue()
    redraws = [d for d in text.split("\r") if d.strip()]
    assert len(redraws) >= 10
    assert all(len(d) <= 80 for d in redraws), max(redraws, key=len)  # never wraps
    assert "640/1293 ETA" in text and "samples/s" in text
    assert "loss 0.5000 acc 0.7500" in text
    assert bar.stats == {"loss": 0.25, "acc": 0.75}                    # stats are kept
    assert text.endswith("\r") and not text.split("\r")[-2].strip()    # line cleared
    wide = io.StringIO()
    bar = ProgressBar(100, stream=wide, interactive=True, min_interval=0, ncols=200)
    bar.update(50, loss=1.0)
    assert "loss 1.0000" in wide.getvalue()
    bar.close()
    pipe = io.StringIO()
    bar = ProgressBar(100, stream=pipe)        # StringIO is not a terminal
    bar.update(100, loss=1.0)
    bar.close()
    assert pipe.getvalue() == "" and bar.count == 100 and bar.rate > 0


def test_registry_decorator_and_errors():
    @experiment("test-tiny", summary="tiny", shows="nothing", lr=0.5, optimizer="sgd",
                data=lambda name: None)
    def tiny(data):
        return nn.Linear(2, 2)
    try:
        exp = get_experiment("test-tiny")
        assert exp.model is tiny and exp.lr == 0.5 and exp.defaults()["optimizer"] == "sgd"
        with pytest.raises(ValueError, match="already registered"):
            experiment("test-tiny", summary="", shows="", data=None)(tiny)
    finally:
        registry._REGISTRY.pop("test-tiny")
    with pytest.raises(TypeError, match="unknown settings \\['learning_rate'\\]"):
        experiment("test-bad", summary="", shows="", data=None, learning_rate=1)
    with pytest.raises(KeyError, match="unknown experiment 'test-tiny'.*mlp"):
        get_experiment("test-tiny")
