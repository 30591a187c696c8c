"""Time 2×2 max pooling, forward and backward, in deltagrad (the compiled loops of
``kernels/numba_pool.py`` and the NumPy passes of ``ops/pooling.py``) and in PyTorch, on
LeNet's two pooling inputs, in one process at one thread, the three taking turns round by
round. Writes results/pool_speed.json.

    python benchmarks/pool_speed.py [--rounds 7] [--calls 50]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import deltagrad as dg  # noqa: E402
from benchmarks.record import provenance, write_result  # noqa: E402
from deltagrad import kernels  # noqa: E402

SHAPES = {"lenet pool 1": (64, 6, 28, 28), "lenet pool 2": (64, 16, 10, 10)}


def _steps(shape):
    """{name: one forward and backward} for each implementation."""
    import torch
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    g = np.random.default_rng(1).standard_normal(
        shape[:2] + (shape[2] // 2, shape[3] // 2)).astype(np.float32)
    x, gy = dg.from_numpy(a).requires_grad_(), dg.from_numpy(g)
    tx, tgy = torch.from_numpy(a).requires_grad_(), torch.from_numpy(g)

    def deltagrad(backend):
        def step():
            with kernels.use_backend(backend):
                x.grad = None
                dg.nn.functional.max_pool2d(x, 2).backward(gy)
        return step

    def pytorch():
        tx.grad = None
        torch.nn.functional.max_pool2d(tx, 2).backward(tgy)

    return {"deltagrad compiled": deltagrad("numba"), "deltagrad numpy": deltagrad("numpy"),
            "torch": pytorch}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=50)
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    dg.set_num_threads(1)
    numbers = {}
    for name, shape in SHAPES.items():
        steps = _steps(shape)
        times = {k: [] for k in steps}
        for f in steps.values():
            f()
        for _ in range(args.rounds):
            for k, f in steps.items():
                t0 = time.perf_counter()
                for _ in range(args.calls):
                    f()
                times[k].append((time.perf_counter() - t0) / args.calls * 1e3)
        med = {k: float(np.median(v)) for k, v in times.items()}
        numbers[name] = {"input": list(shape), "median_ms": med,
                         "compiled_over_numpy": med["deltagrad compiled"] / med["deltagrad numpy"],
                         "compiled_over_torch": med["deltagrad compiled"] / med["torch"]}
        print(f"{name} {shape}: " + ", ".join(f"{k} {v:.3f} ms" for k, v in med.items()))
    result = dict(provenance(), threads=1, rounds=args.rounds, calls=args.calls,
                  what="max_pool2d(x, 2) forward + backward, median over rounds",
                  numbers=numbers)
    write_result("pool_speed", result, indent=2)


if __name__ == "__main__":
    main()
