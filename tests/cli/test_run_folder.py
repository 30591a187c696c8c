"""The run folder never loses or misreports a user's work: model selection on a validation
split (never the test set), a resume with another --epochs, the lock against a second
process, Ctrl-C/SIGTERM, a full disk, hand-edited or damaged run files."""
import errno
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from deltagrad import nn
from deltagrad.experiments import image_classification, registry
from deltagrad.experiments.registry import Experiment
from deltagrad.train import checkpoint as checkpoint_module
from deltagrad.train.checkpoint import load_checkpoint
from deltagrad.train.run import RunDir

from .conftest import FAST, cli


def _rows(out):
    return [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]


def _config(out):
    return json.loads((out / "config.json").read_text())


# ----------------------------------------------------------------------------- selection
# a truth table is the whole problem: nothing can be held out of its four rows
TRAIN_ON_EVERYTHING = {"perceptron-and", "perceptron-xor"}


def test_every_experiment_holds_out_a_validation_split():
    for e in registry.experiments():
        if e.name in TRAIN_ON_EVERYTHING:
            assert e.val_fraction == 0, e.name
        else:
            assert 0 < e.val_fraction < 1, e.name


def test_best_is_chosen_on_the_validation_split_and_named(tmp_path):
    out = tmp_path / "run"
    r = cli("train", "softmax-regression", *FAST, "--epochs", 3, "--out", out)
    assert r.code == 0, r
    rows = _rows(out)
    assert all("val_accuracy" in row for row in rows)
    selection = _config(out)["selection"]
    assert selection["metric"] == "val_accuracy" and selection["mode"] == "max"
    assert "validation split (144 samples: 0.1 of the training set" in selection["rule"]
    best = load_checkpoint(str(out / "best.npz"), kind="weights")
    first_best = max(rows, key=lambda row: (row["val_accuracy"], -row["epoch"]))
    assert best["epoch"] == first_best["epoch"]
    assert best["best"]["metric"] == "val_accuracy"
    # evaluate, report and sample use best.npz by default, and say how it was chosen
    e = json.loads(cli("evaluate", out, "--json").out)
    assert e["weights"] == "best" and e["epoch"] == best["epoch"]
    assert "chosen by the highest val_accuracy on the validation split" in e["selection"]
    text = cli("evaluate", out)
    assert text.code == 0 and "weights: best weights (best.npz, epoch" in text.out
    last = json.loads(cli("evaluate", out, "--weights", "last", "--json").out)
    assert last["epoch"] == 3 and "last finished epoch" in last["selection"]


def test_without_a_validation_split_best_follows_the_training_loss(tmp_path):
    out = tmp_path / "run"
    r = cli("train", "softmax-regression", *FAST, "--epochs", 2, "--val-fraction", 0,
            "--out", out)
    assert r.code == 0, r
    assert "lowest train_loss" in r.out and "test set is never used" in r.out
    rows = _rows(out)
    best = load_checkpoint(str(out / "best.npz"), kind="weights")
    assert best["best"]["metric"] == "train_loss"
    assert best["epoch"] == min(rows, key=lambda row: row["train_loss"])["epoch"]


def test_character_models_validate_on_training_text_and_test_on_the_tail():
    from deltagrad.experiments.data import with_validation
    from deltagrad.experiments.recurrent import char_data
    data = char_data(seq_len=100)
    assert data.x_val is None                      # the tail of the text is the test split
    held = with_validation(data, 0.1, seed=0)
    assert len(held.x_val) == round(0.1 * len(data.x_train))
    train_rows = {r.tobytes() for r in data.x_train}
    assert all(r.tobytes() in train_rows for r in held.x_val)
    assert not {r.tobytes() for r in held.x_val} & {r.tobytes() for r in held.x_test}
    assert not {r.tobytes() for r in held.x_val} & {r.tobytes() for r in held.x_train}


# ----------------------------------------------------------------------------- resume
def test_resume_with_more_epochs_replans_the_cosine_schedule(tmp_path):
    out = tmp_path / "run"
    assert cli("train", "mlp", *FAST, "--epochs", 1, "--out", out).code == 0
    r = cli("train", "mlp", "--out", out, "--resume", "--epochs", 3)
    assert r.code == 0, r
    assert "lr schedule is re-planned for 3 epochs (it was planned for 1)" in r.out
    assert "not bit-for-bit" in r.out
    # η_t = ½ η₀ (1 + cos(π t / 3)): epochs 2 and 3 train at ¾ η₀ and ¼ η₀, never at 0
    assert [row["lr"] for row in _rows(out)] == [2e-3, pytest.approx(1.5e-3),
                                                 pytest.approx(0.5e-3)]
    assert _config(out)["settings"]["epochs"] == 3
    assert _config(out)["resumed"][0]["after_epoch"] == 1
    # unchanged settings: a resume does not re-plan
    r = cli("train", "mlp", "--out", out, "--resume", "--epochs", 3)
    assert r.code == 0 and "nothing to train" in r.out


def test_resume_with_nothing_left_says_so(tmp_path):
    out = tmp_path / "run"
    assert cli("train", "softmax-regression", *FAST, "--epochs", 2, "--out", out).code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for epochs in (2, 1):
        r = cli("train", "softmax-regression", "--out", out, "--resume", "--epochs", epochs)
        assert r.code == 0, r
        assert f"nothing to train: {out} has finished 2 epochs and --epochs is {epochs}" in r.out
        assert "larger --epochs" in r.out
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


# ----------------------------------------------------------------------------- config.json
@pytest.fixture
def two_epoch_run(tmp_path):
    out = tmp_path / "run"
    r = cli("train", "softmax-regression", *FAST, "--epochs", 2, "--out", out)
    assert r.code == 0, r
    return out


@pytest.mark.parametrize("config, missing", [
    ({}, "lacks experiment, settings"),
    ({"experiment": "softmax-regression"}, "lacks settings"),
    ({"experiment": "softmax-regression", "settings": {"epochs": 2}},
     "lacks settings.dataset, settings.batch_size, settings.lr"),
    ([1, 2], "holds a JSON list"),
])
def test_a_config_without_settings_is_named(two_epoch_run, config, missing):
    (two_epoch_run / "config.json").write_text(json.dumps(config))
    for argv in (("evaluate", two_epoch_run), ("report", two_epoch_run),
                 ("train", "softmax-regression", "--out", two_epoch_run, "--resume",
                  "--epochs", 3)):
        r = cli(*argv)
        assert r.code == 2, (argv, r)
        assert "config.json" in r.err and missing in r.err, r.err
        assert "Traceback" not in r.err


def test_a_hand_edited_setting_is_refused_by_name(two_epoch_run):
    path = two_epoch_run / "config.json"
    config = json.loads(path.read_text())
    config["settings"].update(batch_size=8, lr=0.5)
    path.write_text(json.dumps(config))
    before = (two_epoch_run / "checkpoint.npz").read_bytes()
    r = cli("train", "softmax-regression", "--out", two_epoch_run, "--resume", "--epochs", 3)
    assert r.code == 2, r
    assert "was edited after training: batch_size = 8 (trained with 64), lr = 0.5" in r.err
    assert (two_epoch_run / "checkpoint.npz").read_bytes() == before
    r = cli("evaluate", two_epoch_run)
    assert r.code == 2 and "batch_size = 8 (trained with 64)" in r.err
    # epochs may change in config.json as on the command line: it is honoured
    config["settings"].update(batch_size=64, lr=0.01, epochs=3)
    path.write_text(json.dumps(config))
    r = cli("train", "softmax-regression", "--out", two_epoch_run, "--resume")
    assert r.code == 0, r
    assert [row["epoch"] for row in _rows(two_epoch_run)] == [1, 2, 3]


# ----------------------------------------------------------------------------- damaged files
def test_report_skips_bad_metrics_lines_and_names_them(two_epoch_run):
    path = two_epoch_run / "metrics.jsonl"
    good = path.read_text().splitlines()
    path.write_text("\n".join([good[0], '{"epoch": 2, "train_lo', "[1, 2]", good[1]]) + "\n")
    r = cli("report", two_epoch_run)
    assert r.code == 0, r
    assert "metrics.jsonl line 2 is not valid JSON" in r.err
    assert "metrics.jsonl line 3 is not an epoch's record" in r.err
    page = (two_epoch_run / "report.html").read_text()
    assert "line 2 is not valid JSON" in page
    assert "Weights: best weights (best.npz, epoch" in page      # which, and how chosen
    assert "chosen by the highest val_accuracy on the validation split" in page


def test_force_removes_stale_temp_files(two_epoch_run):
    stale = [two_epoch_run / "checkpoint.npz.abc123.tmp", two_epoch_run / "config.json.x.tmp"]
    for p in stale:
        p.write_bytes(b"half a file")
    (two_epoch_run / "mine.tmp").write_text("not a run file")
    r = cli("train", "softmax-regression", *FAST, "--epochs", 1, "--out", two_epoch_run,
            "--force")
    assert r.code == 0, r
    assert not any(p.exists() for p in stale)
    assert (two_epoch_run / "mine.tmp").exists()


# ----------------------------------------------------------------------------- full disk
def _disk_fills_after(monkeypatch, writes):
    real = checkpoint_module.np.savez
    calls = []

    def savez(f, **arrays):
        calls.append(1)
        if len(calls) > writes:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(f, **arrays)
    monkeypatch.setattr(checkpoint_module.np, "savez", savez)


def test_a_full_disk_names_the_file_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "run"
    _disk_fills_after(monkeypatch, 2)  # epoch 1 writes best.npz and checkpoint.npz
    r = cli("train", "softmax-regression", *FAST, "--epochs", 3, "--out", out)
    assert r.code == 1, r
    assert "Traceback" not in r.err
    assert f"could not write {out}" in r.err
    assert "[Errno 28] No space left on device; the last complete checkpoint (epoch 1) is kept" \
        in r.err
    assert f"deltagrad train softmax-regression --out {out} --resume --epochs 3" in r.err
    assert "No space left on device" in (out / "log.txt").read_text()
    assert load_checkpoint(str(out / "checkpoint.npz"))["epoch"] == 1
    assert [row["epoch"] for row in _rows(out)] == [1]
    assert not [f for f in os.listdir(out) if f.endswith(".tmp") or f == "run.lock"]
    monkeypatch.undo()
    r = cli("train", "softmax-regression", "--out", out, "--resume", "--epochs", 3)
    assert r.code == 0, r


def test_a_full_disk_in_the_first_epoch(tmp_path, monkeypatch):
    out = tmp_path / "run"
    _disk_fills_after(monkeypatch, 0)
    r = cli("train", "softmax-regression", *FAST, "--epochs", 2, "--out", out)
    assert r.code == 1, r
    assert "No space left on device; no epoch finished, so there is no checkpoint" in r.err
    assert "--force" in r.err


# ----------------------------------------------------------------------------- the lock
def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _lock_record(pid):
    import socket
    return json.dumps({"pid": pid, "host": socket.gethostname(), "since": "2026-01-01 00:00:00",
                       "command": ["deltagrad", "train", "mlp"]})


@pytest.mark.parametrize("flock", [True, False])
def test_a_second_process_is_refused_and_a_stale_lock_taken_over(tmp_path, monkeypatch, flock):
    from deltagrad.train import run as run_module
    if not flock:
        monkeypatch.setattr(run_module, "fcntl", None)
    elif run_module.fcntl is None:
        pytest.skip("no fcntl here")
    out = tmp_path / "run"
    out.mkdir()
    with RunDir(out).lock(["deltagrad", "train", "softmax-regression"]):
        r = cli("train", "softmax-regression", *FAST, "--epochs", 1, "--out", out)
        assert r.code == 2, r
        assert f"is in use by another deltagrad process: pid {os.getpid()}" in r.err
        assert "deltagrad train softmax-regression" in r.err
        assert not (out / "config.json").exists()
    assert not (out / "run.lock").exists()       # released
    (out / "run.lock").write_text(_lock_record(_dead_pid()))   # left by a killed process
    r = cli("train", "softmax-regression", *FAST, "--epochs", 1, "--out", out)
    assert r.code == 0, r
    assert "took over" in r.out and "no longer running" in r.out
    assert not (out / "run.lock").exists()


def test_two_training_processes_on_one_folder(tmp_path):
    from .conftest import cli_process
    out = tmp_path / "run"
    proc = cli_process("train", "softmax-regression", *FAST, "--epochs", 1000, "--out", out)
    try:
        import time
        deadline = time.monotonic() + 60
        while not (out / "checkpoint.npz").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        r = cli("train", "softmax-regression", "--out", out, "--resume", "--epochs", 1000)
        assert r.code == 2 and f"pid {proc.pid}" in r.err, r
        proc.send_signal(signal.SIGKILL)         # dies holding the lock
        proc.communicate()
        r = cli("train", "softmax-regression", "--out", out, "--resume",
                "--epochs", load_checkpoint(str(out / "checkpoint.npz"))["epoch"] + 1)
        assert r.code == 0, r
        assert f"from pid {proc.pid}" in r.out and "no longer running" in r.out
        epochs = [row["epoch"] for row in _rows(out)]
        assert epochs == list(range(1, len(epochs) + 1))   # no epoch twice
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


# ----------------------------------------------------------------------------- Ctrl-C, SIGTERM
class _SignalAt(nn.Module):
    """A linear classifier that sends its own process ``signum`` once, at the ``at``-th
    training forward of the test (as a user's Ctrl-C or a scheduler's SIGTERM arrives)."""

    def __init__(self, d, k, at, signum, calls):
        super().__init__()
        self.fc = nn.Linear(d, k)
        self.at, self.signum, self.calls = at, signum, calls

    def forward(self, x):
        if self.training:
            self.calls.append(1)
            if len(self.calls) == self.at:
                os.kill(os.getpid(), self.signum)
        return self.fc(x)


@pytest.fixture
def signalling_experiment(request):
    at, signum = request.param
    calls = []  # shared by the models of a run and of its resume: the signal comes once
    exp = Experiment(name="test-signal", summary="t", shows="t",
                     model=lambda data: _SignalAt(data.input_dim, data.num_classes, at, signum,
                                                  calls),
                     data=image_classification, optimizer="sgd", lr=0.1, epochs=3)
    registry.register(exp)
    yield exp
    registry._REGISTRY.pop(exp.name)


# 1293 training samples, batch 64: 21 steps per epoch
@pytest.mark.parametrize("signalling_experiment", [(5, signal.SIGINT)], indirect=True)
def test_ctrl_c_in_the_first_epoch_says_nothing_is_kept(tmp_path, signalling_experiment):
    out = tmp_path / "run"
    r = cli("train", "test-signal", *FAST, "--out", out)
    assert r.code == 130, r
    assert "stopped by SIGINT in epoch 1; no epoch finished, so there is no checkpoint" in r.err
    assert (f"Continue with: deltagrad train test-signal --dataset digits --batch-size 64 "
            f"--out {out} --force") in r.err
    assert not (out / "checkpoint.npz").exists() and not (out / "run.lock").exists()
    assert "stopped by SIGINT" in (out / "log.txt").read_text()


@pytest.mark.parametrize("signalling_experiment", [(30, signal.SIGTERM)], indirect=True)
def test_sigterm_says_what_is_kept_and_how_to_continue(tmp_path, signalling_experiment):
    out = tmp_path / "run"
    r = cli("train", "test-signal", *FAST, "--out", out)
    assert r.code == 128 + signal.SIGTERM, r
    command = f"deltagrad train test-signal --out {out} --resume --epochs 3"
    assert ("stopped by SIGTERM in epoch 2; the last complete checkpoint (epoch 1) is kept"
            in r.err)
    assert f"Continue with: {command}" in r.err
    assert load_checkpoint(str(out / "checkpoint.npz"))["epoch"] == 1
    r = cli(*command.split()[1:])       # the command it printed continues the run
    assert r.code == 0, r
    assert [row["epoch"] for row in _rows(out)] == [1, 2, 3]


def test_a_signal_during_the_writes_waits_for_the_epochs_files(tmp_path, monkeypatch):
    from deltagrad.train import trainer
    real = trainer.save_checkpoint

    def save(path, state, kind="checkpoint"):
        if kind == "checkpoint" and state["epoch"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives in the middle of epoch 2's writes
        return real(path, state, kind)
    monkeypatch.setattr(trainer, "save_checkpoint", save)
    out = tmp_path / "run"
    r = cli("train", "softmax-regression", *FAST, "--epochs", 4, "--out", out)
    assert r.code == 143, r
    assert "the last complete checkpoint (epoch 2) is kept" in r.err
    assert load_checkpoint(str(out / "checkpoint.npz"))["epoch"] == 2
    assert [row["epoch"] for row in _rows(out)] == [1, 2]


def test_a_validation_split_that_leaves_nothing_to_train_on(tmp_path):
    text = tmp_path / "tiny.txt"
    text.write_text("to be or not to be, that is the question. " * 26)  # 9 training chunks
    r = cli("train", "char-rnn", "--data", text, "--epochs", 1, "--out", tmp_path / "run",
            "--val-fraction", 0.95)
    assert r.code == 2, r
    assert "holds out all of them for validation" in r.err and "Traceback" not in r.err


def test_ctrl_c_while_a_resume_reads_the_run_changes_nothing(two_epoch_run, monkeypatch):
    from deltagrad.train import trainer
    real = trainer.load_checkpoint

    def interrupted(path, kind=None):
        os.kill(os.getpid(), signal.SIGINT)      # Ctrl-C while the checkpoint is read
        return real(path, kind)
    monkeypatch.setattr(trainer, "load_checkpoint", interrupted)
    before = {p.name: p.read_bytes() for p in two_epoch_run.iterdir() if p.name != "log.txt"}
    r = cli("train", "softmax-regression", "--out", two_epoch_run, "--resume", "--epochs", 3)
    assert r.code == 130, r
    assert "stopped by SIGINT before the first epoch; the run's files are unchanged" in r.err
    assert (f"Continue with: deltagrad train softmax-regression --out {two_epoch_run} "
            "--resume --epochs 3") in r.err
    after = {p.name: p.read_bytes() for p in two_epoch_run.iterdir() if p.name != "log.txt"}
    assert after == before
