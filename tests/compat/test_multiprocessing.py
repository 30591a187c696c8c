"""dg.multiprocessing (torch.multiprocessing): fork, spawn and forkserver children; tensors in
shared memory updated in place by children are seen by the parent (Hogwild); spawned children
under run-torch see deltagrad as torch; spawn/start_processes report failures; no shared
memory block is left behind."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import deltagrad as dg
import deltagrad.multiprocessing as mp
from deltagrad.torch_compat import torch_is_deltagrad

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHM = "/dev/shm"


def _our_blocks():
    """deltagrad's shared-memory blocks made by this process (named deltagrad_<pid>_...)."""
    if not os.path.isdir(SHM):
        return set()
    return {f for f in os.listdir(SHM) if f.startswith(f"deltagrad_{os.getpid()}_")}


@pytest.fixture
def no_leftover_blocks():
    import gc
    gc.collect()
    before = _our_blocks()
    yield
    gc.collect()
    assert _our_blocks() - before == set()


def _worker(rank, queue):
    import torch  # the parent's modules: deltagrad under torch_is_deltagrad
    x = torch.arange(4.0) * (rank + 1)
    queue.put((torch.__name__, type(x).__module__, x.sum().item()))


def test_forked_workers_see_deltagrad_as_torch():
    with torch_is_deltagrad():
        import torch.multiprocessing as tmp
        assert tmp.Process is mp.Process
        queue = tmp.Queue()
        procs = [tmp.Process(target=_worker, args=(rank, queue)) for rank in range(2)]
        for p in procs:
            p.start()
        got = sorted(queue.get(timeout=60) for _ in procs)
        for p in procs:
            p.join(timeout=60)
        assert [p.exitcode for p in procs] == [0, 0]
    assert got == [("torch", "deltagrad.tensor", 6.0), ("torch", "deltagrad.tensor", 12.0)]


def _add_in_place(t, queue, amount):
    t.add_(amount)
    received = queue.get(timeout=60)  # a shared tensor arriving through a Queue
    received[0] = -1.0


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_childs_inplace_update_is_seen_by_the_parent(method, no_leftover_blocks):
    ctx = mp.get_context(method)
    t = dg.zeros(5).share_memory_()
    other = dg.zeros(3).share_memory_()
    queue = ctx.Queue()
    p = ctx.Process(target=_add_in_place, args=(t, queue, 2.5))
    p.start()
    queue.put(other)
    p.join(timeout=120)
    assert p.exitcode == 0
    assert t.tolist() == [2.5] * 5 and other.tolist() == [-1.0, 0.0, 0.0]
    assert t.is_shared()


def _hogwild_worker(rank, model, x, y, steps):
    dg.manual_seed(rank)
    opt = dg.optim.SGD(model.parameters(), lr=0.05)
    for i in range(steps):
        rows = dg.randint(0, len(x), (8,))
        opt.zero_grad()
        loss = ((model(x[rows]) - y[rows]) ** 2).mean()
        loss.backward()
        opt.step()


def test_hogwild_two_spawned_processes_train_the_shared_weights(no_leftover_blocks):
    dg.manual_seed(0)
    x = dg.randn(64, 4)
    y = x @ dg.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 1.0
    model = dg.nn.Linear(4, 1).share_memory()
    start = model.weight.detach().numpy().copy()

    def loss():
        with dg.no_grad():
            return ((model(x) - y) ** 2).mean().item()

    before = loss()
    assert mp.spawn(_hogwild_worker, args=(model, x, y, 100), nprocs=2) is None
    assert not np.array_equal(model.weight.detach().numpy(), start)
    assert loss() < 0.05 * before  # 200 steps in all, made by the children, seen here
    assert model.weight.grad is None  # gradients stayed in the children


def _raise_for_rank_one(rank):
    if rank == 1:
        raise ValueError("rank one gives up")


def _exit_with_code(rank):
    sys.exit(3)


def test_spawn_reports_a_failing_child():
    with pytest.raises(mp.ProcessRaisedException, match="(?s)Process 1 terminated.*rank one "
                                                        "gives up") as info:
        mp.spawn(_raise_for_rank_one, nprocs=2, start_method="fork")
    assert info.value.error_index == 1
    with pytest.raises(mp.ProcessExitedException, match="exit code 3") as info:
        mp.start_processes(_exit_with_code, nprocs=1, start_method="fork")
    assert info.value.exit_code == 3
    context = mp.start_processes(_raise_for_rank_one, nprocs=1, join=False, start_method="fork")
    assert len(context.pids()) == 1
    while not context.join():
        pass


def _report_torch(rank, queue):
    import torch
    queue.put((rank, torch.__name__, type(torch.ones(1)).__module__))


def test_a_spawned_child_sees_deltagrad_as_torch_under_torch_is_deltagrad():
    with torch_is_deltagrad():
        import torch.multiprocessing as tmp
        ctx = tmp.get_context("spawn")
        queue = ctx.SimpleQueue()
        tmp.spawn(_report_torch, args=(queue,), nprocs=1)
        assert queue.get() == (0, "torch", "deltagrad.tensor")


SCRIPT = '''
import torch
import torch.multiprocessing as mp

BIAS = torch.nn.Linear(1, 1).bias  # runs again in the child, as __mp_main__


class Doubler(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(3))


def work(model, queue):
    import torch
    with torch.no_grad():
        model.w.mul_(2)
    queue.put((__name__, torch.__name__, type(BIAS).__module__, type(model).__module__))


if __name__ == "__main__":
    mp.set_start_method("{method}", force=True)
    model = Doubler()
    model.share_memory()
    queue = mp.Queue()
    p = mp.Process(target=work, args=(model, queue))
    p.start()
    print(queue.get(timeout=60))
    p.join()
    print(p.exitcode, model.w.tolist())
'''


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_run_torch_program_with_spawned_children(tmp_path, method):
    script = tmp_path / "hogwild_like.py"
    script.write_text(SCRIPT.replace("{method}", method))
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-m", "deltagrad.torch_compat", str(script)],
                         capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "('__mp_main__', 'torch', 'deltagrad.nn.module', '__mp_main__')",
        "0 [2.0, 2.0, 2.0]"], out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "leaked" not in out.stderr, out.stderr


def test_start_methods_and_bad_arguments():
    saved = mp.get_start_method(allow_none=True)
    try:
        mp.set_start_method(None, force=True)
        assert mp.get_start_method(allow_none=True) is None
        assert mp.get_start_method() == mp.get_all_start_methods()[0]
        for method in ("spawn", "forkserver", "fork"):
            mp.set_start_method(method, force=True)
            assert mp.get_start_method() == method
            assert mp.get_context() is mp.get_context(method)
            assert mp.Process is mp.get_context(method).Process
        with pytest.raises(RuntimeError, match="already been set to 'fork'.*force=True"):
            mp.set_start_method("spawn")
        with pytest.raises(ValueError, match="unknown start method 'threads'.*'fork'.*'spawn'"):
            mp.set_start_method("threads", force=True)
        with pytest.raises(ValueError, match="get_context: unknown start method 'Spawn'"):
            mp.get_context("Spawn")
    finally:
        mp.set_start_method(saved, force=True)
    with pytest.raises(ValueError, match="nprocs must be a positive int"):
        mp.spawn(_worker, nprocs=0)
    with pytest.raises(TypeError, match="args must be a tuple"):
        mp.spawn(_worker, args=[1], nprocs=1)
    assert mp.get_all_sharing_strategies() == {"file_system"}
    mp.set_sharing_strategy("file_system")
    assert mp.get_sharing_strategy() == "file_system"
    with pytest.raises(NotImplementedError, match="file_descriptor"):
        mp.set_sharing_strategy("file_descriptor")
    with pytest.raises(ValueError, match="unknown strategy 'shm'"):
        mp.set_sharing_strategy("shm")


def test_every_name_is_torchs():
    torch = pytest.importorskip("torch")
    import torch.multiprocessing as tmp
    missing = [name for name in mp.__all__ if not hasattr(tmp, name)]
    assert missing == []
