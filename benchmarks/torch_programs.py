"""The PyTorch programs of tests/compat/programs run under real torch (``python script.py``)
and under ``deltagrad run-torch script.py``, each in a fresh single-threaded process; writes
results/torch_programs.json: per program the largest relative difference of every logged
number (losses, metrics) between the two, and both wall times.

    python benchmarks/torch_programs.py
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
from benchmarks.record import provenance  # noqa: E402

PROGRAMS = os.path.join(ROOT, "tests", "compat", "programs")
RUNS = [("train_resume.py", []), ("gpt_block.py", []), ("vae.py", []), ("gcn.py", []),
        ("word_language_model.py", []), ("word_language_model.py", ["--model", "GRU", "--tied"]),
        ("time_sequence_prediction.py", []), ("amp_loop.py", []), ("amp_loop.py", ["--amp"]),
        ("dcgan.py", []), ("super_resolution.py", [])]


def run(launcher, script, args, cwd):
    out = os.path.join(cwd, "result.json")
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, *launcher, os.path.join(PROGRAMS, script), *args,
                           "--out", out], cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"{script} {args} failed:\n{proc.stderr[-2000:]}")
    with open(out) as f:
        return json.load(f), wall


def max_relative_difference(a, b):
    worst = 0.0
    for key in b:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        if x.dtype.kind in "fi" and x.size:
            worst = max(worst, float(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1e-12))))
    return worst


def main():
    rows = []
    for script, args in RUNS:
        with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
            theirs, t_torch = run([], script, args, d1)
            ours, t_dg = run(["-m", "deltagrad", "run-torch"], script, args, d2)
        n = sum(np.size(v) for v in theirs.values() if np.asarray(v).dtype.kind in "fi")
        rows.append({"program": " ".join([script, *args]), "numbers_compared": int(n),
                     "max_relative_difference": max_relative_difference(ours, theirs),
                     "wall_s_torch": round(t_torch, 2), "wall_s_deltagrad": round(t_dg, 2)})
        print(f"{rows[-1]['program']:<45} {n:4d} numbers  max rel diff "
              f"{rows[-1]['max_relative_difference']:.1e}  torch {t_torch:5.1f} s  "
              f"deltagrad {t_dg:5.1f} s", flush=True)
    result = {**provenance(), "programs": rows,
              "note": "wall times include the interpreter start and both libraries' imports"}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "torch_programs.json"), "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
