"""All-reduce time against message size on this machine, and a model of data-parallel scaling.

    python benchmarks/allreduce.py [--ranks 2 4] [--reps 30]

1. For 2 and 4 ranks (``mpiexec -n R``), the median time of ``MPI_Allreduce`` (sum, float32)
   for messages of 4 B ... 64 MiB.
2. A fit of the ring all-reduce cost T(n, p) = 2(p − 1)·α + 2(p − 1)/p · n·β (α latency per
   step, β seconds per byte) to the measurements.
3. The measured compute of one training step (forward + backward + Adam) of the benchmark MLP
   (784-256-128-10, batch 128 per rank, 1 thread), and from it the predicted step time,
   speed-up and efficiency of data-parallel training on 8–64 ranks:
   T_step(p) = T_compute + T_allreduce(gradient bytes, p) (no overlap, as in deltagrad's DDP).

Writes benchmarks/results/allreduce.json. On one 2-core machine the ranks share the cores and
the memory bus, so α and β here describe shared-memory MPI, not a network: the model's table
shows how the same formula scales with a cluster's α and β (given as a second row set with
typical 10 GbE values: α = 30 µs, β = 1/1.25 GB/s).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SIZES = [4 ** k for k in range(1, 14)]       # 4 B ... 64 MiB (bytes)


def worker(reps):
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    rows = []
    for nbytes in SIZES:
        buf = np.ones(max(1, nbytes // 4), np.float32)
        times = []
        r = reps if nbytes < 2 ** 22 else max(5, reps // 4)
        for _ in range(r + 2):
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            times.append(time.perf_counter() - t0)
        slowest = comm.allreduce(float(np.median(times[2:])), op=MPI.MAX)
        rows.append({"bytes": int(buf.nbytes), "seconds": slowest})
    if comm.rank == 0:
        print(json.dumps(rows))


def measure(ranks, reps):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run(["mpiexec", "-n", str(ranks), sys.executable, "-m", "mpi4py",
                          os.path.abspath(__file__), "--worker", "--reps", str(reps)],
                         env=env, capture_output=True, text=True, timeout=1200)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def fit(measured):
    """Least squares for α, β in T = 2(p−1)α + 2(p−1)/p · n β over every (p, n) point."""
    a, b = [], []
    for p, rows in measured.items():
        for r in rows:
            a.append([2 * (p - 1), 2 * (p - 1) / p * r["bytes"]])
            b.append(r["seconds"])
    a, b = np.array(a), np.array(b)
    w = 1 / b                          # relative error: small messages count as much as big
    (alpha, beta), *_ = np.linalg.lstsq(a * w[:, None], b * w, rcond=None)
    return float(max(alpha, 0.0)), float(max(beta, 0.0))


def mlp_step_seconds(steps=60):
    import deltagrad as dg
    from deltagrad import nn
    dg.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    opt = dg.optim.Adam(model.parameters(), lr=1e-3)
    x, y = dg.randn(128, 784), dg.randint(0, 10, (128,))
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        dg.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        times.append(time.perf_counter() - t0)
    nbytes = sum(p.numel() for p in model.parameters()) * 4
    return float(np.median(times[5:])), int(nbytes)


def scaling(compute, nbytes, alpha, beta, ranks=(1, 2, 4, 8, 16, 32, 64)):
    rows = []
    for p in ranks:
        comm = 0.0 if p == 1 else 2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes * beta
        step = compute + comm
        rows.append({"ranks": p, "step_ms": step * 1e3, "allreduce_ms": comm * 1e3,
                     "speedup": p * compute / step, "efficiency": compute / step})
    return rows


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--ranks", type=int, nargs="+", default=[2, 4])
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return worker(args.reps)
    from benchmarks.record import provenance
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    measured = {r: measure(r, args.reps) for r in args.ranks}
    for r, rows in measured.items():
        print(f"{r} ranks: " + ", ".join(f"{x['bytes']} B {x['seconds'] * 1e6:.1f} us"
                                         for x in rows))
    alpha, beta = fit(measured)
    compute, nbytes = mlp_step_seconds()
    print(f"fit: alpha {alpha * 1e6:.2f} us, beta {beta * 1e9:.3f} ns/B "
          f"({1 / beta / 1e9 if beta else float('inf'):.2f} GB/s); MLP step {compute * 1e3:.2f} "
          f"ms, gradient {nbytes / 2 ** 20:.2f} MiB")
    here = scaling(compute, nbytes, alpha, beta)
    ethernet = scaling(compute, nbytes, 30e-6, 1 / 1.25e9)
    for name, rows in (("this machine's alpha/beta", here), ("10 GbE (30 us, 1.25 GB/s)",
                                                             ethernet)):
        print(name)
        for r in rows:
            print(f"  {r['ranks']:3d} ranks: step {r['step_ms']:.2f} ms (all-reduce "
                  f"{r['allreduce_ms']:.2f}), speed-up {r['speedup']:.1f}, efficiency "
                  f"{r['efficiency']:.0%}")
    result = {"measured": {str(k): v for k, v in measured.items()},
              "fit": {"alpha_seconds": alpha, "beta_seconds_per_byte": beta,
                      "model": "T(n, p) = 2(p-1) alpha + 2(p-1)/p n beta (ring all-reduce)"},
              "mlp_step": {"compute_seconds": compute, "gradient_bytes": nbytes,
                           "model": "MLP 784-256-128-10, batch 128 per rank, Adam, 1 thread"},
              "scaling_model": {"this_machine": here, "10GbE": ethernet},
              "provenance": provenance()}
    path = os.path.join(ROOT, "benchmarks", "results", "allreduce.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
