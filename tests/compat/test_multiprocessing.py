"""dg.multiprocessing (torch.multiprocessing): forked workers see deltagrad as torch; the
start methods and sharing that deltagrad cannot honour raise instead of copying silently."""
from __future__ import annotations

import pytest

import deltagrad as dg
import deltagrad.multiprocessing as mp
from deltagrad.torch_compat import torch_is_deltagrad


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


def test_spawn_and_sharing_are_refused_by_name():
    for method in ("spawn", "forkserver"):
        with pytest.raises(NotImplementedError, match=f"set_start_method\\('{method}'\\).*fork"):
            mp.set_start_method(method, force=True)
        with pytest.raises(NotImplementedError, match="Hogwild"):
            mp.get_context(method)
    mp.set_start_method("fork", force=True)
    assert mp.get_context() is mp.get_context("fork") and mp.get_start_method() == "fork"
    with torch_is_deltagrad():
        import torch
        with pytest.raises(AttributeError, match="torch.multiprocessing.spawn is not supported"):
            torch.multiprocessing.spawn
        with pytest.raises(AttributeError, match="share_memory"):
            torch.nn.Linear(2, 2).share_memory()
    assert not hasattr(dg.ones(2), "share_memory_")


def test_every_name_is_torchs():
    torch = pytest.importorskip("torch")
    import torch.multiprocessing as tmp
    missing = [name for name in mp.__all__ if not hasattr(tmp, name)]
    assert missing == []
