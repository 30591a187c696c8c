"""A benchmark worker: one library, one workload, in its own process.

Reads commands on stdin, one per line -- ``run K`` (K timed steps; the first is dropped,
so worker threads left spinning by the other process cannot bias the block) and ``quit``
-- and answers one JSON line each. Started by ``python -m benchmarks``.
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time



def load_kernels():
    """deltagrad's steady state: its kernel backend loaded (Numba, when that is the backend),
    and with it Adam's compiled step (deltagrad/optim/adam.py), which a long run reaches and
    a second of warm-up NumPy steps does not."""
    from deltagrad import kernels
    kernels.get_backend()          # imports Numba when it is the backend

def main():
    lib_name, workload, threads, state_path = sys.argv[1:5]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = threads
    import numpy as np
    if lib_name == "torch":
        import torch as lib
        lib.set_num_threads(int(threads))
    else:
        import deltagrad as lib
        lib.manual_seed(0)
    from benchmarks.workloads import build, torch_state
    if lib_name == "torch" and not os.path.exists(state_path):
        np.savez(state_path, **torch_state(workload))
    with np.load(state_path) as f:
        state = {k: f[k] for k in f.files}
    step = build(lib, workload, state)
    # warm up for a second (at least one step): first-call allocations and lazy imports;
    # these are per-step numbers of the steady state -- start-up costs are what the
    # whole-process epoch benchmark measures. A long run's steady state has Numba loaded
    # (when it is the kernel backend), and with it Adam's compiled step
    # (deltagrad/optim/adam.py), which a second of NumPy steps does not reach by itself
    if lib_name != "torch":
        load_kernels()
    warm_until = time.perf_counter() + 1.0
    step()
    while time.perf_counter() < warm_until:
        step()
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"ready": True, "rss_after_build_mb": base_rss / 1024}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        times = []
        cpu0, wall0 = _cpu_seconds(), time.perf_counter()
        for _ in range(int(cmd[1])):
            t = time.perf_counter()
            loss = step()
            float(loss.item())
            times.append(time.perf_counter() - t)
        # CPU time / wall time of the block: ~1 for a one-thread run; more means it used more
        # cores than asked (as PyTorch did beside Numba's pool before 3c4e215)
        cpu_per_wall = (_cpu_seconds() - cpu0) / (time.perf_counter() - wall0)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"times": times[1:], "peak_rss_mb": rss, "cpu_per_wall": cpu_per_wall,
                          "loss": float(loss.item())}), flush=True)


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
