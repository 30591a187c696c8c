"""The LSTM workload's training step against its sequence length: what each time step costs.

``python -m benchmarks lstm`` times one length (64). This script builds the same model
(embedding 65 → 64, LSTM 64 → 128, linear 128 → 65, Adam; ``workloads.py``) at batch 32 for
several sequence lengths T, times a training step of each library at each T (interleaved
rounds, one process, the same thread count set for both before every timing, CPU time /
wall time recorded), and fits step time = fixed + per_step · T by least squares: ``per_step``
is what one more time step costs (the layer's loop, the head, the loss over one more
position), ``fixed`` the rest (optimizer, Python, the per-call setup).

    python benchmarks/lstm_per_step.py [--threads 1] [--lengths 16 32 64 96] [--rounds 7]

Both libraries run in this one process, on one GNU OpenMP runtime (PyTorch's wheel ships the
``libgomp.so.1`` that deltagrad's MKL and Numba load too): at more than one thread each
library's pool idles beside the other's, and a 2-thread run here (by hand) read deltagrad's
LSTM at 1.23× PyTorch's at T 64 where ``python -m benchmarks`` (separate processes) reads
~1.0. Use one thread here, ``python -m benchmarks`` for 2-thread ratios.

Writes benchmarks/results/lstm_per_step.json.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _fit(lengths, times):
    """(fixed, per_step) of the least-squares line times ≈ fixed + per_step · lengths."""
    mean_t, mean_y = statistics.fmean(lengths), statistics.fmean(times)
    slope = sum((t - mean_t) * (y - mean_y) for t, y in zip(lengths, times)) / \
        sum((t - mean_t) ** 2 for t in lengths)
    return mean_y - slope * mean_t, slope


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lengths", type=int, nargs="+", default=[16, 32, 64, 96])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=10, help="timed steps per round")
    ap.add_argument("--json", default=os.path.join(HERE, "results", "lstm_per_step.json"))
    args = ap.parse_args(argv)
    if len(set(args.lengths)) < 2 or min(args.lengths) < 1:
        ap.error(f"--lengths needs at least two different positive lengths, got {args.lengths}")
    sys.path.insert(0, ROOT)
    import numpy as np
    import torch

    import deltagrad as dg
    from benchmarks import workloads
    from benchmarks.record import provenance

    state = workloads.torch_state("lstm")
    libs = {"deltagrad": dg, "torch": torch}
    original_data = workloads._data
    steps = {}
    for T in args.lengths:
        def data(name, seed=0, T=T):  # the workload's batch, T positions long
            rng = np.random.default_rng(seed)
            return (rng.integers(0, 65, (workloads.BATCH[name], T)),
                    rng.integers(0, 65, (workloads.BATCH[name], T)))
        workloads._data = data
        try:
            steps[T] = {name: workloads.build(lib, "lstm", state) for name, lib in libs.items()}
        finally:
            workloads._data = original_data

    def set_threads():
        dg.set_num_threads(args.threads)
        torch.set_num_threads(args.threads)

    set_threads()
    for by_lib in steps.values():
        for step in by_lib.values():
            for _ in range(3):
                step()
    medians = {name: {T: [] for T in args.lengths} for name in libs}
    cpu_per_wall = {name: [] for name in libs}
    for r in range(args.rounds):
        order = list(libs) if r % 2 == 0 else list(libs)[::-1]
        for T in args.lengths:
            for name in order:
                set_threads()
                step = steps[T][name]
                step()
                times, cpu0, wall0 = [], _cpu(), time.perf_counter()
                for _ in range(args.steps):
                    t0 = time.perf_counter()
                    step()
                    times.append(time.perf_counter() - t0)
                cpu_per_wall[name].append((_cpu() - cpu0) / (time.perf_counter() - wall0))
                medians[name][T].append(statistics.median(times))
    result = {**provenance(), "threads": args.threads, "batch": workloads.BATCH["lstm"],
              "rounds": args.rounds, "libraries": {}}
    for name in libs:
        ms = {T: 1e3 * statistics.median(v) for T, v in medians[name].items()}
        fixed, per_step = _fit(list(ms), list(ms.values()))
        result["libraries"][name] = {
            "median_step_ms": {str(T): v for T, v in ms.items()},
            "fixed_ms": fixed, "per_time_step_us": 1e3 * per_step,
            "cpu_per_wall": [min(cpu_per_wall[name]), max(cpu_per_wall[name])]}
        print(f"{name:10s} " + "  ".join(f"T {T}: {v:6.2f} ms" for T, v in ms.items()) +
              f"   fixed {fixed:5.2f} ms + {1e3 * per_step:6.1f} µs per time step"
              f"   (CPU/wall {min(cpu_per_wall[name]):.2f}–{max(cpu_per_wall[name]):.2f})",
              flush=True)
    d, t = result["libraries"]["deltagrad"], result["libraries"]["torch"]
    result["per_time_step_ratio"] = d["per_time_step_us"] / t["per_time_step_us"]
    print(f"per time step: deltagrad / PyTorch {result['per_time_step_ratio']:.3f}")
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", args.json)


if __name__ == "__main__":
    main()
