"""Per-op cost of views and of the hot path, against PyTorch and an earlier commit (one thread).

Views record their base and share its version counter (``deltagrad/autograd/views.py``);
this measures what that bookkeeping costs: microseconds per call of ``w.t()`` on a leaf (every
``Linear``), ``y[0:2]``, ``y[1]``, ``y.reshape``, ``y.transpose`` on a non-leaf, a write
through a view (``y[0:2].mul_(2)`` on a fresh non-leaf, CopySlices) and the elementwise chain
of ``benchmarks/overhead.py`` (``a = a * b + c``, forward and forward + backward, per op).
Times are CPU time of this process (``time.process_time``), best of many repeats, so that a
machine shared with other jobs distorts them less than wall time would. With ``--baseline
REV`` the same deltagrad measurements run on ``git archive REV`` in turns with this tree.

    python benchmarks/view_overhead.py [--baseline REV] [--rounds 3]
        [--out benchmarks/results/view_overhead.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_CALLS = 200
N_STEPS = 250  # elementwise chain: 2 ops per step


def cases(lib):
    """name -> (function doing N calls, number of ops it does)."""
    import numpy as np
    rng = np.random.default_rng(0)
    w = lib.tensor(rng.standard_normal((8, 8)).astype(np.float32), requires_grad=True)
    y = w * 1

    def loop(f):
        def run():
            for _ in range(N_CALLS):
                f()
        return run, N_CALLS

    def write_through_view():
        for _ in range(N_CALLS):
            (w * 1)[0:2].mul_(2)

    def chain(backward):
        def run():
            a, b, c = [lib.tensor(rng.uniform(0.5, 1, 10).astype(np.float32) * s,
                                  requires_grad=True) for s in (1.0, 0.999, 0.001)]
            for _ in range(N_STEPS):
                a = a * b + c
            if backward:
                a.sum().backward()
        return run, 2 * N_STEPS

    return {"leaf.t()": loop(lambda: w.t()), "y[0:2]": loop(lambda: y[0:2]),
            "y[1]": loop(lambda: y[1]), "y.reshape(64)": loop(lambda: y.reshape(64)),
            "y.transpose(0, 1)": loop(lambda: y.transpose(0, 1)),
            "(w * 1)[0:2].mul_(2)  [mul + slice + write]": (write_through_view, 2 * N_CALLS),
            "a * b + c forward": chain(False), "a * b + c forward+backward": chain(True)}


def measure(lib, repeats):
    """Microseconds per op, best of ``repeats``, for every case."""
    out = {}
    for name, (fn, n_ops) in cases(lib).items():
        fn()
        best = float("inf")
        for _ in range(repeats):
            t0 = time.process_time()
            fn()
            best = min(best, time.process_time() - t0)
        out[name] = 1e6 * best / n_ops
    return out


def measure_tree(root, repeats):
    """``measure(deltagrad)`` with deltagrad imported from ``root`` (a subprocess)."""
    code = (f"import sys, json, importlib.util; sys.path.insert(0, {root!r}); "
            f"import deltagrad; "
            f"spec = importlib.util.spec_from_file_location('vo', {os.path.abspath(__file__)!r}); "
            f"vo = importlib.util.module_from_spec(spec); spec.loader.exec_module(vo); "
            f"print(json.dumps(vo.measure(deltagrad, {repeats})))")
    env = dict(os.environ, PYTHONPATH="")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=tempfile.gettempdir(), check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--baseline", help="a git revision to compare with (e.g. the commit before "
                                      "views shared version counters)")
    p.add_argument("--rounds", type=int, default=3, help="turns of (baseline, this tree)")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results",
                                                 "view_overhead.json"))
    args = p.parse_args(argv)
    sys.path.insert(0, ROOT)
    from benchmarks.record import provenance
    record = provenance(None if argv is None else [sys.argv[0]] + list(argv))
    import torch
    torch.set_num_threads(1)
    numbers = {"torch": measure(torch, args.repeats), "torch_version": torch.__version__}
    runs = {"current": []}
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline:
            rev = subprocess.run(["git", "rev-parse", args.baseline], cwd=ROOT, check=True,
                                 capture_output=True, text=True).stdout.strip()
            archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            numbers["baseline_commit"] = rev
            runs["baseline"] = []
        for _ in range(args.rounds):
            if args.baseline:
                runs["baseline"].append(measure_tree(tmp, args.repeats))
            runs["current"].append(measure_tree(ROOT, args.repeats))
    for key, rows in runs.items():
        numbers[key] = {name: min(r[name] for r in rows) for name in rows[0]}
    numbers["unit"] = "microseconds of CPU time per op, best of repeats x rounds, one thread"
    record["numbers"] = numbers
    for name in numbers["current"]:
        line = f"{name:46s} deltagrad {numbers['current'][name]:7.2f} us"
        if args.baseline:
            line += f"   baseline {numbers['baseline'][name]:7.2f} us"
        print(line + f"   torch {numbers['torch'][name]:6.2f} us")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(record, f, indent=2)
    return record


if __name__ == "__main__":
    main()
