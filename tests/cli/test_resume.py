"""Crash safety: a run killed with SIGKILL mid-training and resumed ends with exactly the
weights (and optimizer state and metrics) of a run that was never interrupted."""
import json
import os
import signal
import time

import numpy as np
import pytest

from deltagrad.train.checkpoint import load_checkpoint

from .conftest import cli, cli_process

ARGS = ("mlp", "--dataset", "digits", "--batch-size", "64", "--seed", "3",
        "--val-fraction", "0.1")
EPOCHS = 8


def _arrays(state, prefix=""):
    """Flatten a checkpoint's model/optimizer state into {path: array}."""
    out = {}
    if isinstance(state, dict):
        for k, v in state.items():
            out.update(_arrays(v, f"{prefix}/{k}"))
    elif isinstance(state, (list, tuple)):
        for i, v in enumerate(state):
            out.update(_arrays(v, f"{prefix}/{i}"))
    elif hasattr(state, "shape"):
        out[prefix] = np.asarray(state.numpy() if hasattr(state, "numpy") else state)
    else:
        out[prefix] = state
    return out


def _without_timing(rows):
    return [{k: v for k, v in r.items() if k not in ("seconds", "samples_per_s", "eval_seconds")}
            for r in rows]


@pytest.mark.slow
def test_resume_after_sigkill_is_bit_for_bit(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = cli_process("train", *ARGS, "--epochs", EPOCHS, "--out", killed)
    ckpt = killed / "checkpoint.npz"
    deadline = time.monotonic() + 60
    while not ckpt.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint within 60 s"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    done = load_checkpoint(str(ckpt))["epoch"]   # the kill left a readable checkpoint
    assert 1 <= done < EPOCHS, "the run finished before it could be killed"

    r = cli("train", *ARGS, "--epochs", EPOCHS, "--out", killed, "--resume")
    assert r.code == 0, r
    assert "resuming mlp" in r.out
    r = cli("train", *ARGS, "--epochs", EPOCHS, "--out", clean)
    assert r.code == 0, r

    a = load_checkpoint(str(killed / "checkpoint.npz"))
    b = load_checkpoint(str(clean / "checkpoint.npz"))
    assert a["epoch"] == b["epoch"] == EPOCHS
    for part in ("model", "optimizer", "rng"):
        fa, fb = _arrays(a[part]), _arrays(b[part])
        assert fa.keys() == fb.keys()
        for k in fa:
            if isinstance(fa[k], np.ndarray):
                assert fa[k].dtype == fb[k].dtype and np.array_equal(fa[k], fb[k]), (part, k)
            else:
                assert fa[k] == fb[k], (part, k)
    ma = [json.loads(x) for x in (killed / "metrics.jsonl").read_text().splitlines()]
    mb = [json.loads(x) for x in (clean / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in ma] == list(range(1, EPOCHS + 1))
    assert _without_timing(ma) == _without_timing(mb)
    for name in ("best.npz",):
        wa = _arrays(load_checkpoint(str(killed / name), kind="weights")["model"])
        wb = _arrays(load_checkpoint(str(clean / name), kind="weights")["model"])
        assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert not [f for f in os.listdir(killed) if f.endswith(".tmp")]


def test_resume_can_extend_the_epochs(tmp_path):
    out = tmp_path / "run"
    assert cli("train", *ARGS, "--epochs", 1, "--out", out).code == 0
    r = cli("train", *ARGS, "--epochs", 2, "--out", out, "--resume")
    assert r.code == 0, r
    rows = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in rows] == [1, 2]
    # nothing left to do: resuming a finished run trains no epoch and changes nothing
    before = (out / "checkpoint.npz").read_bytes()
    r = cli("train", *ARGS, "--epochs", 2, "--out", out, "--resume")
    assert r.code == 0 and (out / "checkpoint.npz").read_bytes() == before
    # a resumed run keeps its settings
    r = cli("train", *ARGS, "--epochs", 3, "--out", out, "--resume", "--lr", "0.5")
    assert r.code == 2 and "--lr 0.5 differs" in r.err


def test_resuming_with_another_blas_says_the_run_is_not_bit_for_bit(tmp_path):
    from deltagrad.kernels import blas
    out = tmp_path / "run"
    assert cli("train", *ARGS, "--epochs", 1, "--out", out).code == 0
    with open(out / "config.json") as f:
        recorded = json.load(f)["libraries"]
    assert recorded["blas"] == blas.get_blas()
    other = "numpy" if recorded["blas"] == "mkl" else "mkl"
    if other == "mkl" and not blas.mkl_available():
        pytest.skip("MKL (the deltagrad[mkl] extra) is not installed")
    with blas.use_blas(other):
        r = cli("train", *ARGS, "--epochs", 2, "--out", out, "--resume")
    assert r.code == 0, r
    assert f"resumes with {{'blas': '{other}'" in r.out and "not bit-for-bit" in r.out, r.out
