"""Page faults per training step, with and without deltagrad's allocator setting.

For each workload of ``python -m benchmarks`` it runs a deltagrad worker process twice:
with ``DELTAGRAD_KEEP_FREED_MEMORY=0`` (glibc's default malloc: large blocks go back to the
kernel and come back zero-filled) and with the default (freed blocks stay in the heap, see
``deltagrad/allocator.py``), and records minor page faults and milliseconds per step.

    python benchmarks/page_faults.py [mlp lenet lstm transformer] [--steps 40] [--threads 2]

Writes benchmarks/results/page_faults.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

_WORKER = r"""
import json, os, resource, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from benchmarks import workloads as W
import deltagrad as dg
name, steps = {name!r}, {steps}
state = dict(np.load({state!r}))
step = W.build(dg, name, state)
for _ in range(5):
    step()
r0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
for _ in range(steps):
    step()
dt = time.perf_counter() - t0
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0
print(json.dumps({{"faults_per_step": faults / steps, "ms_per_step": dt / steps * 1e3}}))
"""


def measure(name, steps, threads, state_path, keep):
    env = dict(os.environ, DELTAGRAD_KEEP_FREED_MEMORY="1" if keep else "0")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    code = _WORKER.format(root=ROOT, name=name, steps=steps, state=state_path)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workloads", nargs="*", default=["mlp", "lenet", "lstm", "transformer"])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=os.path.join(HERE, "results", "page_faults.json"))
    args = p.parse_args(argv)
    sys.path.insert(0, ROOT)
    import tempfile

    import numpy as np

    from benchmarks import workloads as W
    from benchmarks.record import provenance
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.workloads:
            state_path = os.path.join(tmp, f"{name}.npz")
            np.savez(state_path, **W.torch_state(name))
            row = {"workload": name}
            for keep in (False, True):  # two rounds each, alternating: the best of each
                row["default_malloc" if not keep else "keep_freed_memory"] = None
            for _ in range(2):
                for keep in (False, True):
                    key = "keep_freed_memory" if keep else "default_malloc"
                    r = measure(name, args.steps, args.threads, state_path, keep)
                    if row[key] is None or r["ms_per_step"] < row[key]["ms_per_step"]:
                        row[key] = r
            rows.append(row)
            d, k = row["default_malloc"], row["keep_freed_memory"]
            print(f"{name:12s} default malloc: {d['faults_per_step']:8.1f} faults/step "
                  f"{d['ms_per_step']:7.2f} ms | kept: {k['faults_per_step']:8.1f} faults/step "
                  f"{k['ms_per_step']:7.2f} ms", flush=True)
    result = {**provenance(), "threads": args.threads, "steps": args.steps, "results": rows}
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
