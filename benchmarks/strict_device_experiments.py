"""Every registered experiment for one epoch on the strict pretend GPU (``--device cuda`` with
``DELTAGRAD_DEVICE_BACKEND=strict``): does the whole training path (data, model, task,
optimizer, checkpoint, evaluation) stay on CuPy's side of the line?

    python benchmarks/strict_device_experiments.py [--timeout 600] [NAME ...]

Small data where an experiment accepts it (scikit-learn's digits, the first 20 kB of Tiny
Shakespeare); writes benchmarks/results/strict_device_experiments.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def options(experiment, text_file):
    if experiment.text_files:
        return ["--data", text_file]
    if "digits" in experiment.datasets:
        return ["--dataset", "digits"]
    return []


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("names", nargs="*")
    p.add_argument("--timeout", type=int, default=600)
    args = p.parse_args(argv)
    from benchmarks.record import provenance
    from deltagrad.experiments import experiments
    tmp = tempfile.mkdtemp(prefix="strict-device-")
    text = os.path.join(tmp, "small.txt")
    with open(os.path.join(ROOT, "deltagrad", "datasets", "data", "tinyshakespeare.txt"),
              encoding="utf-8") as f, open(text, "w", encoding="utf-8") as g:
        g.write(f.read(20000))
    env = dict(os.environ, DELTAGRAD_DEVICE_BACKEND="strict", OMP_NUM_THREADS="1",
               OPENBLAS_NUM_THREADS="1", PYTHONPATH=ROOT)
    rows = []
    for e in experiments():
        if args.names and e.name not in args.names:
            continue
        cmd = [sys.executable, "-m", "deltagrad", "train", e.name, *options(e, text),
               "--epochs", "1", "--device", "cuda", "--out", os.path.join(tmp, e.name)]
        t0 = time.perf_counter()
        try:
            r = subprocess.run(cmd, env=env, capture_output=True, text=True,
                               timeout=args.timeout)
            ok, err = r.returncode == 0, r.stderr.strip().splitlines()[-1:] if r.returncode else []
        except subprocess.TimeoutExpired:
            ok, err = None, [f"timed out after {args.timeout} s"]
        row = {"experiment": e.name, "ok": ok, "seconds": round(time.perf_counter() - t0, 1),
               "options": options(e, "FILE"), "error": err}
        rows.append(row)
        print(f"{e.name:28s} {'ok' if ok else 'TIMEOUT' if ok is None else 'FAILED'} "
              f"{row['seconds']:7.1f} s {' '.join(err)[:150]}", flush=True)
    result = {"experiments": rows,
              "passed": sum(r["ok"] is True for r in rows),
              "failed": [r["experiment"] for r in rows if r["ok"] is False],
              "timed_out": [r["experiment"] for r in rows if r["ok"] is None],
              "provenance": provenance()}
    path = os.path.join(ROOT, "benchmarks", "results", "strict_device_experiments.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
