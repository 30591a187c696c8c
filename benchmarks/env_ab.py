"""One environment variable's effect on deltagrad's step times: A (as set now) against B (with
``VAR=VALUE``), two deltagrad workers of the same workload, blocks of steps in turn.

Each worker is its own process (the variable may be read once, as a library starts: e.g.
``DELTAGRAD_MKL_STRICT``, MKL's reproducibility mode), builds the workload of
``python -m benchmarks`` from PyTorch's initial weights, warms up for a second, and then
runs blocks of steps when asked; the two run one after the other, never at the same time,
so a machine whose speed drifts slows both alike. Printed per workload: the median step of
each and B/A.

    python benchmarks/env_ab.py DELTAGRAD_MKL_STRICT=0 [lstm lenet] [--threads 2] [--blocks 6]

Writes benchmarks/results/env_ab.json (or ``--json``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
STEPS = {"transformer": 8}  # steps per block (the first dropped); 21 for the others


def _worker(workload, threads, state_path):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = threads
    sys.path.insert(0, ROOT)
    import deltagrad as dg
    dg.set_num_threads(int(threads))
    from benchmarks.worker import load_kernels
    from benchmarks.workloads import build
    load_kernels()
    with np.load(state_path) as f:
        step = build(dg, workload, {k: f[k] for k in f.files})
    warm_until = time.perf_counter() + 1.0
    step()
    while time.perf_counter() < warm_until:
        step()
    print("ready", flush=True)
    for line in sys.stdin:
        times = []
        for _ in range(int(line)):
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
        print(json.dumps(times[1:]), flush=True)


def _state(workload, folder):
    """PyTorch's initial weights of the workload in ``folder`` (PyTorch is imported only
    here, in a process of its own)."""
    path = os.path.join(folder, f"state_{workload}.npz")
    code = ("import numpy as np, sys; sys.path.insert(0, %r); from benchmarks.workloads "
            "import torch_state; np.savez(%r, **torch_state(%r))" % (ROOT, path, workload))
    subprocess.run([sys.executable, "-c", code], check=True)
    return path


def compare(workload, threads, blocks, var, value):
    with tempfile.TemporaryDirectory() as tmp:
        return _compare(workload, threads, blocks, var, value, _state(workload, tmp))


def _compare(workload, threads, blocks, var, value, state):
    env_a = dict(os.environ)
    env_b = dict(os.environ, **{var: value})
    procs = {side: subprocess.Popen([sys.executable, __file__, "--worker", workload,
                                     str(threads), state], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
             for side, env in (("A", env_a), ("B", env_b))}
    for p in procs.values():
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a {workload} worker failed to start")
    times = {side: [] for side in procs}
    for _ in range(blocks):
        for side, p in procs.items():
            p.stdin.write(f"{STEPS.get(workload, 21)}\n")
            p.stdin.flush()
            times[side] += json.loads(p.stdout.readline())
    for p in procs.values():
        p.stdin.close()
        p.wait()
    a, b = (float(np.median(times[s])) * 1e3 for s in ("A", "B"))
    return {"A_ms": round(a, 3), "B_ms": round(b, 3), "B_over_A": round(b / a, 3),
            "steps_each": len(times["A"])}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return _worker(*sys.argv[2:5])
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("setting", help="VAR=VALUE, the environment of worker B")
    p.add_argument("workloads", nargs="*", default=["lstm", "lenet"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--blocks", type=int, default=6)
    p.add_argument("--json", default=os.path.join(HERE, "results", "env_ab.json"))
    args = p.parse_args()
    if "=" not in args.setting:
        p.error(f"setting must be VAR=VALUE, got {args.setting!r}")
    var, value = args.setting.split("=", 1)
    sys.path.insert(0, ROOT)
    from benchmarks.record import provenance
    out = dict(provenance(), setting=args.setting, threads=args.threads, results={})
    for workload in args.workloads:
        r = compare(workload, args.threads, args.blocks, var, value)
        out["results"][workload] = r
        print(f"{workload:12s} threads {args.threads}  A {r['A_ms']:.3f} ms  "
              f"B ({args.setting}) {r['B_ms']:.3f} ms  B/A {r['B_over_A']:.3f}", flush=True)
    with open(args.json, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
