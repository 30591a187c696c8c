"""Time ``Adam.step`` in deltagrad and torch (1 thread each); write results/optim_step.json.

Two workloads: the parameters of a 784-256-128-10 MLP (6 tensors, 235k numbers) and 200 small
parameters (10-1000 numbers each), with fixed random gradients. deltagrad is timed with its
default (``foreach=None``: automatic choice), and with the flat path forced on and off; torch
with its CPU default (single-tensor loop) and ``foreach=True``.

    python benchmarks/optim_step.py [--repeat 7] [--steps 50]
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import deltagrad as dg  # noqa: E402
import deltagrad.optim as optim  # noqa: E402


def workloads():
    rng = np.random.default_rng(0)
    mlp = [(256, 784), (256,), (128, 256), (128,), (10, 128), (10,)]
    sizes = rng.integers(10, 1000, size=200)
    small = [(int(n),) if i % 2 else (int(n) // 10 + 1, 10) for i, n in enumerate(sizes)]
    return {"mlp_784_256_128_10": mlp, "200_small_params": small}


def _arrays(shapes, seed):
    rng = np.random.default_rng(seed)
    return ([rng.standard_normal(s).astype(np.float32) for s in shapes],
            [rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes])


def time_step(make_opt, params, steps, repeat):
    """Best-of-``repeat`` mean seconds per ``step()`` over ``steps`` steps (after warm-up)."""
    opt = make_opt(params)
    for _ in range(3):
        opt.step()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(steps):
            opt.step()
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def bench(shapes, steps, repeat):
    import torch
    torch.set_num_threads(1)
    values, grads = _arrays(shapes, 0)
    out = {"n_tensors": len(shapes), "n_numbers": int(sum(v.size for v in values))}

    def dg_params():
        ps = [dg.tensor(v.copy(), requires_grad=True) for v in values]
        for p, g in zip(ps, grads):
            p.grad = dg.tensor(g)
        return ps

    def torch_params():
        ps = [torch.tensor(v.copy(), requires_grad=True) for v in values]
        for p, g in zip(ps, grads):
            p.grad = torch.tensor(g)
        return ps

    for label, fe in (("deltagrad_auto_s", None), ("deltagrad_flat_s", True),
                      ("deltagrad_per_param_s", False)):
        out[label] = time_step(lambda ps: optim.Adam(ps, lr=1e-3, foreach=fe), dg_params(),
                               steps, repeat)
    out["torch_s"] = time_step(lambda ps: torch.optim.Adam(ps, lr=1e-3), torch_params(),
                               steps, repeat)
    out["torch_foreach_s"] = time_step(lambda ps: torch.optim.Adam(ps, lr=1e-3, foreach=True),
                                       torch_params(), steps, repeat)
    out["ratio_deltagrad_over_torch"] = out["deltagrad_auto_s"] / out["torch_s"]
    out["ratio_deltagrad_over_torch_foreach"] = out["deltagrad_auto_s"] / out["torch_foreach_s"]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results", "optim_step.json"))
    args = ap.parse_args(argv)
    numbers = {}
    for name, shapes in workloads().items():
        r = bench(shapes, args.steps, args.repeat)
        numbers[name] = r
        print(f"{name:22s} deltagrad {r['deltagrad_auto_s'] * 1e3:8.3f} ms "
              f"(flat {r['deltagrad_flat_s'] * 1e3:.3f}, per-param "
              f"{r['deltagrad_per_param_s'] * 1e3:.3f})  torch {r['torch_s'] * 1e3:8.3f} ms "
              f"(foreach {r['torch_foreach_s'] * 1e3:.3f})  ratio "
              f"{r['ratio_deltagrad_over_torch']:.2f}x / "
              f"{r['ratio_deltagrad_over_torch_foreach']:.2f}x")
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        commit = ""
    result = {"command": "python benchmarks/optim_step.py " + " ".join(argv or sys.argv[1:]),
              "commit": commit, "date": datetime.datetime.now().isoformat(timespec="seconds"),
              "numbers": numbers}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
