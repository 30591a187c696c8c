"""The Numba cells against the NumPy cells (issue 23): step times, tanh, compile time.

    python benchmarks/kernels_speed.py [--rounds 2] [--blocks 5]

* Step times: ``python -m benchmarks lstm gru --threads 1 --blocks B`` run ``rounds`` times
  with ``DELTAGRAD_KERNELS=numpy`` and ``=numba`` in alternation (A B A B …); per workload
  and backend the summary keeps the best median step time over the rounds and the median
  over rounds of the ratio to PyTorch's step time in the same run (the machine is shared:
  the load average before each run is recorded, and the ratio cancels a change of load
  between runs).
* tanh: ``numba_cells.tanh_float32`` against ``np.tanh`` on 16,384 float32 values (best of
  500 calls, 1 thread).
* One layer alone (LSTM and GRU, T 64, B 32, H 128) forward and backward in one process, in
  float32 and float64: the float64 Numba cells call libm's tanh (exact but not vectorised).
* Compile time: the first forward + backward of a small LSTM, GRU and RNN layer in a fresh
  process, with an empty Numba cache (``NUMBA_CACHE_DIR`` a new folder: everything is
  compiled) and again with that cache filled (the compiled code is loaded from disk); the
  NumPy cells' first call for comparison. ``import numba`` alone is timed too.

Writes ``results/kernels_speed.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from benchmarks.record import provenance  # noqa: E402

FIRST_CALL = r"""
import time
t0 = time.perf_counter()
import numpy as np
import deltagrad as dg
from deltagrad.ops.recurrent import recurrent_sequence
t1 = time.perf_counter()
rng = np.random.default_rng(0)
for mode, G in (("LSTM", 4), ("GRU", 3), ("RNN_TANH", 1)):
    x = dg.tensor(rng.standard_normal((5, 3, 4)).astype(np.float32), requires_grad=True)
    h0 = dg.zeros(3, 6)
    w = [dg.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
         for s in ((G * 6, 4), (G * 6, 6), (G * 6,), (G * 6,))]
    hx = (h0, h0) if mode == "LSTM" else h0
    recurrent_sequence(mode, x, hx, *w)[0].sum().backward()
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""

IMPORT_NUMBA = "import time; t0 = time.perf_counter(); import numba; print(time.perf_counter() - t0)"

TANH = r"""
import time, numpy as np
from deltagrad.kernels.numba_cells import tanh_float32
a = (np.random.default_rng(0).standard_normal(16384) * 3).astype(np.float32)
out = np.empty_like(a)
def best(f, reps=500):
    f(); b = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter(); f(); b = min(b, time.perf_counter() - t0)
    return b * 1e6
print(best(lambda: tanh_float32(a, out)), best(lambda: np.tanh(a, out=out)))
"""


def _env(**extra):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env.update(extra)
    return env


def _python(code, **extra):
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(**extra),
                         capture_output=True, text=True, check=True)
    return [float(v) for v in out.stdout.split()]


def step_times(rounds, blocks):
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for backend in ("numpy", "numba"):
                path = os.path.join(tmp, f"{backend}{r}.json")
                load = os.getloadavg()
                subprocess.run([sys.executable, "-m", "benchmarks", "lstm", "gru", "--threads",
                                "1", "--blocks", str(blocks), "--json", path], cwd=ROOT,
                               env=_env(DELTAGRAD_KERNELS=backend), check=True)
                with open(path) as f:
                    res = json.load(f)["results"]
                runs.append({"backend": backend, "round": r, "load_average_before": load,
                             "median_step_ms": {w["workload"]: w["median_step_ms"]
                                                for w in res}})
    return runs, summarize(runs)


def summarize(runs):
    """Per workload and backend: the best median step time over the rounds, and the median
    over rounds of deltagrad/PyTorch within each run (both timed in the same alternating
    blocks, so a change of load between runs cancels out)."""
    out = {}
    for w in runs[0]["median_step_ms"]:
        row = {"torch_best_ms": min(r["median_step_ms"][w]["torch"] for r in runs)}
        for backend in ("numpy", "numba"):
            mine = [r["median_step_ms"][w] for r in runs if r["backend"] == backend]
            row[backend] = {"best_ms": min(m["deltagrad"] for m in mine),
                            "ratios_to_torch": [m["deltagrad"] / m["torch"] for m in mine],
                            "median_ratio_to_torch": statistics.median(
                                m["deltagrad"] / m["torch"] for m in mine)}
        row["numba_over_numpy_by_ratio"] = (row["numba"]["median_ratio_to_torch"]
                                            / row["numpy"]["median_ratio_to_torch"])
        row["numba_over_numpy_by_best"] = row["numba"]["best_ms"] / row["numpy"]["best_ms"]
        out[w] = row
    return out


LAYER = r"""
import time, numpy as np, deltagrad as dg
from deltagrad import kernels
from deltagrad.ops.recurrent import recurrent_sequence
T, B, I, H = 64, 32, 64, 128
res = {}
for dtype in (np.float32, np.float64):
    rng = np.random.default_rng(0)
    for mode, G in (("LSTM", 4), ("GRU", 3)):
        x = dg.tensor(rng.standard_normal((T, B, I)).astype(dtype), requires_grad=True)
        h0 = dg.tensor(np.zeros((B, H), dtype))
        w = [dg.tensor((rng.standard_normal(s) * 0.1).astype(dtype), requires_grad=True)
             for s in ((G * H, I), (G * H, H), (G * H,), (G * H,))]
        hx = (h0, h0) if mode == "LSTM" else h0
        for backend in ("numpy", "numba", "numpy", "numba"):
            with kernels.use_backend(backend):
                fwd = bwd = float("inf")
                for _ in range(12):
                    t0 = time.perf_counter()
                    out = recurrent_sequence(mode, x, hx, *w)
                    t1 = time.perf_counter()
                    out[0].sum().backward()
                    t2 = time.perf_counter()
                    fwd, bwd = min(fwd, t1 - t0), min(bwd, t2 - t1)
            key = f"{mode} {np.dtype(dtype).name} {backend}"
            old = res.get(key, (float("inf"), float("inf")))
            res[key] = (min(old[0], 1e3 * fwd), min(old[1], 1e3 * bwd))
import json
print(json.dumps(res))
"""


def layer_times():
    """One layer (T 64, B 32, I 64, H 128, as in the runner's workloads) forward and
    backward in one process, best of 2×12 calls per backend, float32 and float64, ms."""
    out = subprocess.run([sys.executable, "-c", LAYER], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, check=True)
    return {k: {"forward_ms": f, "backward_ms": b}
            for k, (f, b) in json.loads(out.stdout).items()}


def compile_times():
    with tempfile.TemporaryDirectory() as cache:
        cold = _python(FIRST_CALL, DELTAGRAD_KERNELS="numba", NUMBA_CACHE_DIR=cache)
        warm = _python(FIRST_CALL, DELTAGRAD_KERNELS="numba", NUMBA_CACHE_DIR=cache)
    numpy_cells = _python(FIRST_CALL, DELTAGRAD_KERNELS="numpy")
    return {"what": "first forward+backward of a small LSTM, GRU and tanh-RNN layer (float32) "
                    "in a fresh process, seconds; import_s is 'import deltagrad'",
            "empty_cache": {"import_s": cold[0], "first_calls_s": cold[1]},
            "warm_cache": {"import_s": warm[0], "first_calls_s": warm[1]},
            "numpy_cells": {"import_s": numpy_cells[0], "first_calls_s": numpy_cells[1]},
            "import_numba_s": _python(IMPORT_NUMBA)[0]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=2, help="A/B alternations of the runner")
    p.add_argument("--blocks", type=int, default=5, help="the runner's --blocks")
    p.add_argument("--json", default=os.path.join(HERE, "results", "kernels_speed.json"))
    args = p.parse_args(argv)
    record = provenance()
    record["compile"] = compile_times()
    print(json.dumps(record["compile"], indent=1), flush=True)
    t_numba, t_numpy = _python(TANH)
    record["tanh_16k_float32_us"] = {"numba_rational": t_numba, "numpy": t_numpy,
                                     "ratio": t_numba / t_numpy}
    print(record["tanh_16k_float32_us"], flush=True)
    record["layer"] = layer_times()
    print(json.dumps(record["layer"], indent=1), flush=True)
    record["runs"], record["summary"] = step_times(args.rounds, args.blocks)
    record["load_average_after"] = os.getloadavg()
    print(json.dumps(record["summary"], indent=1))
    with open(args.json, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
