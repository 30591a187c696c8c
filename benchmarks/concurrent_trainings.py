"""Two trainings at once on the same cores, with a fixed thread count and with the fair
share (``deltagrad train --threads auto``, the default): wall time of each, against one
training alone.

    python benchmarks/concurrent_trainings.py [--experiment lenet] [--epochs 1]

With ``--threads 2`` each on 2 cores, four BLAS threads contend for two cores and spin-wait
for each other; with ``auto`` each training registers itself and uses cores // trainings
threads, re-read every second (the first drops to 1 thread when the second starts).
Writes benchmarks/results/concurrent_trainings.json.
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
from benchmarks.record import provenance  # noqa: E402


def start(experiment, epochs, threads, out):
    env = dict(os.environ, PYTHONPATH=ROOT)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(var, None)
    cmd = [sys.executable, "-m", "deltagrad", "train", experiment, "--epochs", str(epochs),
           "--threads", str(threads), "--out", out, "--seed", "0"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait(proc, t0):
    _, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(err[-2000:])
    return time.perf_counter() - t0


def scenario(name, experiment, epochs, threads, count, tmp, stagger=1.0):
    """``count`` trainings started ``stagger`` seconds apart; wall seconds of each."""
    procs = []
    for i in range(count):
        if i:
            time.sleep(stagger)
        procs.append((start(experiment, epochs, threads, os.path.join(tmp, f"{name}-{i}")),
                      time.perf_counter()))
    return [round(wait(p, t0), 2) for p, t0 in procs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--experiment", default="lenet")
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    result = {"provenance": provenance(), "experiment": args.experiment, "epochs": args.epochs,
              "cores": cores}
    with tempfile.TemporaryDirectory() as tmp:
        result["alone_threads_all_cores"] = scenario("alone", args.experiment, args.epochs,
                                                            cores, 1, tmp)
        print("alone:", result["alone_threads_all_cores"], flush=True)
        result["two_at_once_fixed_all_cores"] = scenario("fixed", args.experiment,
                                                         args.epochs, cores, 2, tmp)
        print(f"two at once, --threads {cores}:", result["two_at_once_fixed_all_cores"],
              flush=True)
        result["two_at_once_auto"] = scenario("auto", args.experiment, args.epochs, "auto",
                                            2, tmp)
        print("two at once, --threads auto:", result["two_at_once_auto"], flush=True)
    fixed, auto = result["two_at_once_fixed_all_cores"], result["two_at_once_auto"]
    result["slowest_fixed_over_slowest_auto"] = round(max(fixed) / max(auto), 2)
    result["slowest_auto_over_alone"] = round(max(auto) / result["alone_threads_all_cores"][0], 2)
    path = os.path.join(ROOT, "benchmarks", "results", "concurrent_trainings.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
