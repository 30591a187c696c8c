"""PyTorch programs run unchanged through ``deltagrad run-torch`` (a subprocess, as a user
runs them) and equal the same program under real torch (run in this process) from the same
NumPy-drawn weights and batches: a training loop with DataLoader + StepLR + save/resume, a
GPT block with sampling, a VAE with torch.distributions, a GCN with sparse mm, an AMP +
TensorBoard loop, and programs in the style of the official examples (mnist, regression,
word_language_model, time_sequence_prediction, dcgan, super_resolution)."""
from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys

import numpy as np
import pytest

from ..conftest import requires_torch

PROGRAMS = os.path.join(os.path.dirname(__file__), "programs")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_deltagrad(script, args, cwd, via="run-torch"):
    """``deltagrad run-torch programs/script args`` in a fresh process; its JSON result."""
    out = os.path.join(cwd, "deltagrad.json")
    launcher = ["-m", "deltagrad", "run-torch"] if via == "run-torch" else \
        ["-m", "deltagrad.torch_compat"]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, *launcher, os.path.join(PROGRAMS, script), *args,
                           "--out", out], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out) as f:
        return json.load(f), proc.stdout


def run_torch(script, args, cwd, monkeypatch):
    """The same program under the real torch, in this process (torch is already imported)."""
    import torch  # noqa: F401
    out = os.path.join(cwd, "torch.json")
    monkeypatch.chdir(cwd)
    monkeypatch.syspath_prepend(PROGRAMS)
    monkeypatch.setattr(sys, "argv", [script, *args, "--out", out])
    runpy.run_path(os.path.join(PROGRAMS, script), run_name="__main__")
    with open(out) as f:
        return json.load(f)


COMPARED = [("train_resume.py", []), ("gpt_block.py", []), ("vae.py", []), ("gcn.py", []),
            ("word_language_model.py", []), ("amp_loop.py", []), ("amp_loop.py", ["--amp"]),
            ("dcgan.py", []), ("super_resolution.py", []),
            ("word_language_model.py", ["--model", "GRU", "--tied", "--epochs", "1"]),
            pytest.param("time_sequence_prediction.py", ["--steps", "2"],
                         marks=pytest.mark.slow)]


@requires_torch
@pytest.mark.parametrize("script,args", COMPARED, ids=lambda v: " ".join(v) if
                         isinstance(v, list) else v)
def test_program_equals_torch(script, args, tmp_path, monkeypatch):
    ours, stdout = run_deltagrad(script, args, str(tmp_path))
    theirs = run_torch(script, args, str(tmp_path), monkeypatch)
    assert ours.keys() == theirs.keys()
    for key in theirs:
        a, b = np.asarray(ours[key]), np.asarray(theirs[key])
        assert a.shape == b.shape, key
        if a.dtype.kind in "fi":
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6, err_msg=key)
        else:
            assert ours[key] == theirs[key], key
    if "losses" in theirs:
        assert len(theirs["losses"]) >= 2


@requires_torch
def test_checkpoint_written_under_deltagrad_loads_in_torch(tmp_path):
    import torch
    run_deltagrad("train_resume.py", ["--ckpt", "dg.pt"], str(tmp_path), via="module")
    ckpt = torch.load(os.path.join(tmp_path, "dg.pt"), weights_only=True)
    assert ckpt["epoch"] == 2 and set(ckpt) == {"epoch", "model", "optimizer", "scheduler"}
    assert tuple(ckpt["model"]["fc1.weight"].shape) == (16, 5)
    assert ckpt["model"]["bn.num_batches_tracked"].item() == 6


def test_tensorboard_logging_in_a_program(tmp_path):
    pytest.importorskip("tensorboardX")
    result, _ = run_deltagrad("amp_loop.py", ["--logdir", "tb", "--steps", "3"], str(tmp_path))
    assert len(result["losses"]) == 3 and result["scaler_keys"] == []  # disabled scaler
    assert any(f.startswith("events.out.tfevents.") for f in os.listdir(tmp_path / "tb"))


@pytest.mark.slow
def test_mnist_style_example_runs_and_learns(tmp_path):
    result, stdout = run_deltagrad("mnist_style.py", ["--epochs", "2", "--save-model"],
                                   str(tmp_path))
    assert "Train Epoch: 1 [0/320 (0%)]" in stdout and "Test set: Average loss:" in stdout
    assert np.mean(result["losses"][-3:]) < np.mean(result["losses"][:3])
    assert result["accuracy"] > 0.5  # chance is 0.1
    assert os.path.exists(os.path.join(tmp_path, "mnist_cnn.pt"))
    dry, _ = run_deltagrad("mnist_style.py", ["--epochs", "1", "--dry-run"], str(tmp_path))
    assert len(dry["losses"]) == 1


def test_reinforce_example_learns_the_corridor(tmp_path):
    result, stdout = run_deltagrad("reinforce.py", [], str(tmp_path))
    assert "Episode 40\tLast length:" in stdout
    assert np.mean(result["lengths"][-10:]) < 8  # 5 steps is optimal; random walks take ~30


def test_regression_example_converges(tmp_path):
    result, stdout = run_deltagrad("regression.py", [], str(tmp_path))
    assert result["loss"] < 1e-3 and result["batches"] < 5000
    assert result["weight_error"] < 0.5
    assert "==> Learned function:\ty = " in stdout


def test_unsupported_torch_names_fail_naming_them(tmp_path):
    script = tmp_path / "uses_compile.py"
    script.write_text("import torch\nm = torch.nn.Linear(2, 2)\nm = torch.compile(m)\n")
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-m", "deltagrad", "run-torch", str(script)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1
    assert "AttributeError: torch.compile is not supported by deltagrad" in proc.stderr
