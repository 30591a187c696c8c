"""Data-parallel training on MPI: 2 and 4 ranks end with the weights of one process on the
combined batch (float64, 1e-12: an MLP, a CNN with SyncBatchNorm, an LSTM); collectives;
one failing rank aborts all; the sampler against torch's; errors without a process group."""
import os
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.distributed as dist
from deltagrad.utils.data import DistributedSampler
from tests.conftest import requires_torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(HERE, "ddp_worker.py")
needs_mpi = pytest.mark.skipif(not dist.is_available() or shutil.which("mpiexec") is None,
                               reason="needs mpi4py and mpiexec (pip install 'deltagrad[mpi]')")


def _mpiexec(n, *args, timeout=120):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    flags = ["--allow-run-as-root", "--oversubscribe"] if "Open MPI" in _mpi_kind() else []
    return subprocess.run(["mpiexec", *flags, "-n", str(n), sys.executable, "-m", "mpi4py",
                           WORKER, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _mpi_kind():
    try:
        return subprocess.run(["mpiexec", "--version"], capture_output=True, text=True,
                              timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


@needs_mpi
@pytest.mark.slow
@pytest.mark.parametrize("ranks", [2, 4])
@pytest.mark.parametrize("case", ["mlp", "cnn", "lstm"])
def test_ddp_equals_one_process_on_the_combined_batch(case, ranks):
    r = _mpiexec(ranks, case)
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"OK {case}" in r.stdout


@needs_mpi
def test_collectives_and_differentiable_all_reduce():
    r = _mpiexec(3, "collectives")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "OK collectives" in r.stdout


@needs_mpi
def test_one_failing_rank_stops_all_ranks_quickly():
    t0 = time.perf_counter()
    r = _mpiexec(3, "crash", timeout=60)
    assert r.returncode != 0
    assert "rank 1 fails on purpose" in r.stderr
    assert "NOT ABORTED" not in r.stdout
    assert time.perf_counter() - t0 < 30


@requires_torch
@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (12, 4, False),
                                                  (5, 8, False), (7, 2, True)])
def test_sampler_shards_like_torch_without_shuffle(n, replicas, drop_last):
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    data = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = TorchSampler(data, replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_sampler_shuffles_per_epoch_covers_the_data_and_warns_when_epoch_is_stuck():
    data = list(range(20))
    shards = [DistributedSampler(data, 4, r, seed=3) for r in range(4)]
    first = [list(s) for s in shards]
    assert sorted(sum(first, [])) == data                  # a partition of the dataset
    for s in shards:
        s.set_epoch(1)
    second = [list(s) for s in shards]
    assert second != first and sorted(sum(second, [])) == data
    with pytest.warns(UserWarning, match="set_epoch"):
        list(shards[0])                                      # epoch 1 again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        shards[0].set_epoch(2)
        list(shards[0])
    with pytest.raises(ValueError, match="Invalid rank 4"):
        DistributedSampler(data, 4, 4)


def test_errors_without_a_process_group():
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="init_process_group"):
        dist.all_reduce(dg.zeros(2))
    with pytest.raises(RuntimeError, match="init_process_group"):
        dg.nn.parallel.DistributedDataParallel(dg.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="backend 'nccl' is not supported"):
        dist.init_process_group(backend="nccl")
    with pytest.raises(RuntimeError, match="init_process_group"):
        DistributedSampler(list(range(4)))
    assert np.isfinite(1.0)


def _train_mpi(n, *args, timeout=240):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen(["mpiexec", "-n", str(n), sys.executable, "-m", "mpi4py", "-m",
                             "deltagrad", "train", *map(str, args), "--distributed"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _lines(path):
    with open(path) as f:
        return [line for line in f if line.strip()]


@needs_mpi
@pytest.mark.slow
def test_deltagrad_train_distributed_rank0_writes_and_resumes_with_other_rank_counts(tmp_path):
    out = tmp_path / "run"
    p = _train_mpi(2, "mlp", "--dataset", "digits", "--epochs", 2, "--out", out)
    stdout, stderr = p.communicate(timeout=240)
    assert p.returncode == 0, stderr[-2000:]
    assert stdout.count("epoch 1/2") == 1          # one rank prints
    assert "distributed: 2 ranks" in stdout
    assert len(_lines(out / "metrics.jsonl")) == 2  # one rank writes
    p = _train_mpi(3, "mlp", "--out", out, "--resume", "--epochs", 3)
    stdout, stderr = p.communicate(timeout=240)
    assert p.returncode == 0, stderr[-2000:]
    assert "resuming mlp" in stdout and len(_lines(out / "metrics.jsonl")) == 3


@needs_mpi
@pytest.mark.slow
def test_killing_one_rank_stops_all_and_the_run_resumes(tmp_path):
    import signal
    out = tmp_path / "run"
    p = _train_mpi(2, "lenet", "--dataset", "digits", "--epochs", 200, "--batch-size", 16,
                   "--out", out)
    deadline = time.time() + 180
    while time.time() < deadline and not (os.path.exists(out / "metrics.jsonl")
                                          and _lines(out / "metrics.jsonl")):
        time.sleep(0.5)
    assert _lines(out / "metrics.jsonl"), "no epoch finished"
    ranks = subprocess.run(["pgrep", "-f", f"deltagrad train lenet.*{out}"], capture_output=True,
                           text=True).stdout.split()
    victim = [int(r) for r in ranks if int(r) != p.pid][-1]
    os.kill(victim, signal.SIGKILL)
    t0 = time.time()
    p.communicate(timeout=60)
    assert p.returncode != 0 and time.time() - t0 < 30
    r = subprocess.run([sys.executable, "-m", "deltagrad", "evaluate", str(out), "--weights",
                        "last", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr[-2000:]      # the checkpoint is readable
    done = len(_lines(out / "metrics.jsonl"))
    p = _train_mpi(2, "lenet", "--out", out, "--resume", "--epochs", done + 1)
    stdout, stderr = p.communicate(timeout=240)
    assert p.returncode == 0, stderr[-2000:]
    assert len(_lines(out / "metrics.jsonl")) == done + 1
