"""``deltagrad run-torch --twin``: a PyTorch program under PyTorch (recording) and under
deltagrad (replaying the weights, batches and random draws) gives the same losses; what the
twin cannot tape, or a replay that does not follow the recording, is an error, not a drift."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.torch_compat import torch_is_deltagrad
from deltagrad.torch_compat.twin import Twin, TwinDiverged, compare, record

from ..conftest import requires_torch

PROGRAM = os.path.join(os.path.dirname(__file__), "programs", "twin_randomness.py")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
           OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")


def printed_losses(stdout):
    return [float(v) for v in re.findall(r"loss (\S+)", stdout)]


@requires_torch
def test_twin_equal_losses_with_every_kind_of_draw(tmp_path):
    """Shuffled batches, a custom nn.init, dropout, Dropout2d, attention dropout, randn_like
    noise, Normal.rsample and Categorical.sample: equal to float32 round-off at every step."""
    result = compare(PROGRAM, ["--steps", "4"], steps=4, env=ENV, cwd=str(tmp_path),
                     stdout=subprocess.DEVNULL)
    assert result["steps_compared"] == 4 and result["equal"], result
    assert result["max_relative_difference"] < 1e-5
    assert result["unreplayed"] == {}
    taped = result["taped"]
    assert taped["states"] >= 2 and taped["batches"] >= 4 and taped["losses"] == 4
    # per step: randn_like, 2 dropout masks in the layer + Dropout2d + Dropout, rsample, sample
    assert taped["draws"] >= 4 * 6
    assert result["within_pytorch_drift"]


@requires_torch
def test_without_the_twin_the_libraries_start_apart(tmp_path):
    """The same program run plainly: each library draws its own weights and batches, so the
    first losses differ; the twin is what makes them equal."""
    runs = {}
    for name, launcher in (("torch", []), ("deltagrad", ["-m", "deltagrad", "run-torch"])):
        proc = subprocess.run([sys.executable, *launcher, PROGRAM, "--steps", "2"],
                              cwd=tmp_path, env=ENV, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[name] = printed_losses(proc.stdout)
    assert abs(runs["torch"][0] - runs["deltagrad"][0]) > 1e-4 * abs(runs["torch"][0])


@requires_torch
def test_interlayer_rnn_dropout_cannot_be_taped(tmp_path):
    with pytest.raises(RuntimeError, match=r"TwinUnsupported.*dropout=0"):
        compare(PROGRAM, ["--steps", "2", "--lstm-dropout"], steps=2, env=ENV,
                cwd=str(tmp_path), stdout=subprocess.DEVNULL, reference=False)


@requires_torch
def test_cli_prints_the_table_and_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "deltagrad", "run-torch", "--twin",
                           "--steps", "2", "--no-reference", "--report",
                           str(tmp_path / "twin.json"), PROGRAM, "--steps", "2"],
                          cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "2 of 2 steps compared" in proc.stdout and ": equal" in proc.stdout
    assert (tmp_path / "twin.json").exists()


@pytest.mark.parametrize("args,message", [
    (["--steps", "-1", PROGRAM], "--steps must be >= 0"),
    (["--rtol", "nan", PROGRAM], "--rtol must be >= 0"),
    (["no_such_program.py"], "no such script"),
])
def test_cli_bad_arguments(args, message):
    proc = subprocess.run([sys.executable, "-m", "deltagrad", "run-torch", "--twin", *args],
                          env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr


def replaying(draws):
    tape = {"states": [], "batches": [], "draws": draws, "losses": []}
    return Twin(dg, "replay", steps=0, tape=tape)


def test_replay_gives_the_recorded_draw():
    twin = replaying([("randn", "here:1", np.arange(6, dtype=np.float32).reshape(2, 3))])
    twin.install()
    try:
        x = dg.randn(2, 3, requires_grad=True)
    finally:
        twin.uninstall()
    assert x.requires_grad and x.dtype == dg.float32
    np.testing.assert_array_equal(x.detach().numpy(), np.arange(6).reshape(2, 3))
    dg.randn(2, 3)  # uninstalled: the plain function again, the tape untouched
    assert twin.position["draws"] == 1


@pytest.mark.parametrize("draw,message", [
    (lambda: dg.rand(2, 3), "drew with randn at here:1 where the deltagrad run draws with rand"),
    (lambda: dg.randn(4), "drew 4 numbers in the replaying run but 6"),
    (lambda: (dg.randn(2, 3), dg.randn(1)), "one more random draw"),
])
def test_replay_that_does_not_follow_the_recording_is_an_error(draw, message):
    twin = replaying([("randn", "here:1", np.zeros((2, 3), np.float32))])
    twin.install()
    try:
        with pytest.raises(TwinDiverged, match=re.escape(message)):
            draw()
    finally:
        twin.uninstall()


def test_draws_inside_the_library_are_not_taped():
    """deltagrad's own layers initialise themselves; only the program's draws are taped."""
    twin = replaying([])
    twin.install()
    try:
        dg.nn.Linear(3, 2)   # kaiming_uniform_ inside deltagrad: not taped
        dg.nn.LSTM(3, 2)
    finally:
        twin.uninstall()
    assert twin.position["draws"] == 0


@requires_torch
def test_recording_needs_the_real_pytorch(tmp_path):
    with torch_is_deltagrad():
        with pytest.raises(RuntimeError, match="needs the real PyTorch"):
            record(PROGRAM, [], str(tmp_path / "tape.pkl"))


def test_taped_batches_keep_their_containers():
    """A batch of nested lists, tuples, named tuples and dicts comes back with the same
    containers and the tensors' values and dtypes."""
    import collections
    from deltagrad.torch_compat.twin import TapedTensor, _map_tree
    Pair = collections.namedtuple("Pair", "image label")
    batch = {"pair": Pair(dg.ones(2, 3), dg.tensor([1, 2])), "ids": [dg.zeros(1), "name", 7]}
    twin = replaying([])
    taped = twin._tree_to_numpy(batch)
    assert isinstance(taped["pair"], Pair) and isinstance(taped["pair"].image, TapedTensor)
    back = twin._tree_from_numpy(taped)
    assert isinstance(back["pair"], Pair) and back["ids"][1:] == ["name", 7]
    np.testing.assert_array_equal(back["pair"].label.numpy(), [1, 2])
    assert back["pair"].label.dtype == dg.int64 and back["pair"].image.shape == (2, 3)
    assert _map_tree((1, [2]), lambda v: v * 10) == (10, [20])
