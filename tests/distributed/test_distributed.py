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
