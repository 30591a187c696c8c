"""Per-op overhead of deltagrad against PyTorch on tiny tensors (one thread each).

Times ``a = a * b + c`` repeated 500 times (1,000 elementwise ops) on 10-element float32
tensors that require grad: the forward alone, and forward + backward. With arrays this small
the arithmetic is negligible, so the numbers measure the framework's bookkeeping per op
(building nodes, type promotion, the backward walk).

    python benchmarks/overhead.py [--repeats 21] [--out benchmarks/results/overhead.json]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

import deltagrad as dg  # noqa: E402

N_STEPS = 500  # each step is one mul and one add: 1,000 ops
SIZE = 10


def chain(a, b, c):
    for _ in range(N_STEPS):
        a = a * b + c
    return a


def make_inputs(lib):
    rng = np.random.default_rng(0)
    vals = [rng.uniform(0.5, 1.0, SIZE).astype(np.float32) * s for s in (1.0, 0.999, 0.001)]
    return [lib.tensor(v, requires_grad=True) for v in vals]


def forward(lib):
    a, b, c = make_inputs(lib)
    return chain(a, b, c)


def forward_backward(lib):
    a, b, c = make_inputs(lib)
    chain(a, b, c).sum().backward()
    return b.grad


def best_time(fn, lib, repeats):
    fn(lib)  # warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(lib)
        times.append(time.perf_counter() - t0)
    return min(times)


def measure(repeats):
    import torch
    torch.set_num_threads(1)
    numbers = {"ops": 2 * N_STEPS, "tensor_size": SIZE, "repeats": repeats,
               "threads": 1, "torch_version": torch.__version__,
               "numpy_version": np.__version__}
    for name, fn in (("forward", forward), ("forward_backward", forward_backward)):
        t_dg = best_time(fn, dg, repeats)
        t_torch = best_time(fn, torch, repeats)
        numbers[name] = {
            "deltagrad_s": t_dg, "torch_s": t_torch, "ratio": t_dg / t_torch,
            "deltagrad_us_per_op": 1e6 * t_dg / (2 * N_STEPS),
            "torch_us_per_op": 1e6 * t_torch / (2 * N_STEPS),
        }
    # the two libraries must agree, or the timing compares different work
    np.testing.assert_allclose(forward_backward(dg).numpy(), forward_backward(torch).numpy(),
                               rtol=1e-4)
    return numbers


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=21)
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "overhead.json"))
    args = p.parse_args(argv)
    numbers = measure(args.repeats)
    for name in ("forward", "forward_backward"):
        n = numbers[name]
        print(f"{name:17s} deltagrad {n['deltagrad_s'] * 1e3:8.2f} ms "
              f"({n['deltagrad_us_per_op']:.2f} us/op)   torch {n['torch_s'] * 1e3:8.2f} ms "
              f"({n['torch_us_per_op']:.2f} us/op)   ratio {n['ratio']:.2f}x")
    args_text = "".join(f" {a}" for a in (sys.argv[1:] if argv is None else argv))
    record = {"command": "python benchmarks/overhead.py" + args_text, "commit": commit(),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
              "numbers": numbers}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(record, f, indent=2)
    return record


if __name__ == "__main__":
    main()
