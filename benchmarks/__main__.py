"""``python -m benchmarks``: deltagrad against PyTorch, side by side, on the same CPU.

For each workload a deltagrad worker and a PyTorch worker (separate processes, the same
model, weights, batch and thread count) run blocks of steps in turn, never at the same
time; the first step of every block is dropped. Printed per workload: median step time
of each, the ratio deltagrad/PyTorch, samples/s, peak memory, and for ``mlp``/``lenet`` the
floor -- the time BLAS alone needs for the step's matrix products on this machine.
``--epoch`` also times one whole Fashion-MNIST epoch of the MLP as two processes.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _env(threads):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Worker:
    def __init__(self, lib, workload, threads, state_path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker", lib, workload, str(threads), state_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(threads), cwd=ROOT)
        self.info = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker died (exit {self.proc.wait()})")
        return json.loads(line)

    def run(self, steps):
        self.proc.stdin.write(f"run {steps}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        self.proc.wait(timeout=60)


def _fill_kernel_cache(name, threads, state):
    """A few untimed steps in a deltagrad process of its own first, so that the timed ones load
    the compiled kernels from Numba's disk cache, as any run after the first does: after a
    change to ``deltagrad/kernels`` the first process compiles them all (seconds, and LLVM's
    memory in its peak RSS: the LSTM workload's read 365 MB against 214 once warm)."""
    w = Worker("deltagrad", name, threads, state)
    try:
        w.run(3)
    finally:
        w.close()


def bench_workload(name, threads, blocks, steps):
    from benchmarks.workloads import BATCH
    with tempfile.TemporaryDirectory() as tmp:
        state = os.path.join(tmp, "state.npz")
        torch_w = Worker("torch", name, threads, state)   # writes the shared initial weights
        _fill_kernel_cache(name, threads, state)
        dg_w = Worker("deltagrad", name, threads, state)
        times = {"deltagrad": [], "torch": []}
        cpu_per_wall = {"deltagrad": [], "torch": []}
        peak = {}
        try:
            for _ in range(blocks):
                for lib, w in (("deltagrad", dg_w), ("torch", torch_w)):
                    r = w.run(steps)
                    times[lib] += r["times"]
                    cpu_per_wall[lib].append(r["cpu_per_wall"])
                    peak[lib] = r["peak_rss_mb"]
        finally:
            dg_w.close()
            torch_w.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "workload": name, "batch": BATCH[name], "threads": threads,
        "steps_timed": {k: len(v) for k, v in times.items()},
        "median_step_ms": {k: 1e3 * v for k, v in med.items()},
        "ratio_deltagrad_over_torch": med["deltagrad"] / med["torch"],
        "samples_per_s": {k: BATCH[name] / v for k, v in med.items()},
        "peak_rss_mb": peak,
        # per block: CPU time / wall time (about the thread count when every thread is busy)
        "cpu_per_wall": cpu_per_wall,
    }


def blas_floor(name, threads, reps=30):
    """Best-of-``reps`` np.dot time of each matrix product the step needs, summed (float32).

    The best, not the median: this is a lower bound, and on 2 cores a 2-thread BLAS call
    that loses its second core to another process can take 100× longer."""
    code = (
        "import numpy as np, time, json, statistics\n"
        "from benchmarks.workloads import gemm_shapes\n"
        "rng = np.random.default_rng(0)\n"
        "total = 0.0\n"
        f"for m, k, n in gemm_shapes({name!r}):\n"
        "    a = rng.random((m, k), dtype=np.float32); b = rng.random((k, n), dtype=np.float32)\n"
        "    ts = []\n"
        f"    for _ in range({reps}):\n"
        "        t = time.perf_counter(); np.dot(a, b); ts.append(time.perf_counter() - t)\n"
        "    total += min(ts)\n"
        "a = rng.random((1024, 1024), dtype=np.float32)\n"
        "ts = []\n"
        "for _ in range(10):\n"
        "    t = time.perf_counter(); np.dot(a, a); ts.append(time.perf_counter() - t)\n"
        "print(json.dumps({'floor_ms': 1e3 * total,\n"
        "                  'blas_gflops': 2 * 1024 ** 3 / min(ts) / 1e9}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=_env(threads), cwd=ROOT, check=True)
    return json.loads(out.stdout)


def _compile_bytecode(package_dir):
    """Write the bytecode of ``package_dir``'s modules (``__pycache__``), as installing a
    package does. PyTorch's came with pip; deltagrad runs from this checkout, and where
    ``PYTHONDONTWRITEBYTECODE`` is set (as in the project's shells) Python never writes it, so
    every timed process compiled deltagrad from source: 0.2-0.3 s of its 0.47 s import."""
    import compileall
    compileall.compile_dir(package_dir, quiet=1)


def bench_epoch(threads, repeats):
    """One Fashion-MNIST epoch of the MLP, end to end, as whole processes (alternating)."""
    _compile_bytecode(os.path.join(ROOT, "deltagrad"))
    # one untimed deltagrad epoch first: its compiled kernels into Numba's disk cache
    subprocess.run([sys.executable, os.path.join(HERE, "epoch.py"), "deltagrad"],
                   stdout=subprocess.DEVNULL, env=_env(threads), cwd=ROOT, check=True)
    res = {"deltagrad": [], "torch": []}
    rss = {}
    for _ in range(repeats):
        for lib in ("deltagrad", "torch"):
            t = time.perf_counter()
            proc = subprocess.Popen([sys.executable, os.path.join(HERE, "epoch.py"), lib],
                                    stdout=subprocess.PIPE, text=True, env=_env(threads),
                                    cwd=ROOT)
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t
            if status != 0:
                raise RuntimeError(f"epoch.py {lib} failed")
            info = json.loads(out.strip().splitlines()[-1])
            info["wall_s"] = wall
            res[lib].append(info)
            rss[lib] = usage.ru_maxrss / 1024
    med = {k: statistics.median(r["wall_s"] for r in v) for k, v in res.items()}
    return {"workload": "epoch", "threads": threads, "runs": res, "median_wall_s": med,
            "ratio_deltagrad_over_torch": med["deltagrad"] / med["torch"], "peak_rss_mb": rss}


def main(argv=None):
    from benchmarks.workloads import BATCH
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workloads", nargs="*", default=["mlp", "lenet"],
                   help=f"some of {sorted(BATCH)} (default: mlp lenet)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--blocks", type=int, default=5, help="alternations per workload")
    p.add_argument("--steps", type=int, default=21, help="steps per block (first dropped)")
    p.add_argument("--epoch", action="store_true", help="also time a whole MLP epoch")
    p.add_argument("--epoch-repeats", type=int, default=2)
    p.add_argument("--json", default=os.path.join(HERE, "results", "bench.json"),
                   help="where to write the numbers")
    args = p.parse_args(argv)
    for w in args.workloads:
        if w not in BATCH:
            p.error(f"unknown workload {w!r}; expected some of {sorted(BATCH)}")
    results = []
    print(f"{'workload':<12}{'deltagrad ms':>14}{'torch ms':>10}{'ratio':>8}"
          f"{'dg samples/s':>14}{'floor ms':>10}{'dg MB':>8}{'torch MB':>10}")
    for w in args.workloads:
        r = bench_workload(w, args.threads, args.blocks, args.steps)
        if w in ("mlp", "lenet"):
            r.update(blas_floor(w, args.threads))
        results.append(r)
        m = r["median_step_ms"]
        print(f"{w:<12}{m['deltagrad']:>14.2f}{m['torch']:>10.2f}"
              f"{r['ratio_deltagrad_over_torch']:>8.2f}{r['samples_per_s']['deltagrad']:>14.0f}"
              f"{r.get('floor_ms', float('nan')):>10.2f}{r['peak_rss_mb']['deltagrad']:>8.0f}"
              f"{r['peak_rss_mb']['torch']:>10.0f}", flush=True)
    if args.epoch:
        r = bench_epoch(args.threads, args.epoch_repeats)
        results.append(r)
        print(f"{'epoch':<12}{r['median_wall_s']['deltagrad'] * 1e3:>14.0f}"
              f"{r['median_wall_s']['torch'] * 1e3:>10.0f}"
              f"{r['ratio_deltagrad_over_torch']:>8.2f}   (whole processes, ms)")
    from benchmarks.record import provenance
    record = {**provenance(["benchmarks"] + list(argv if argv is not None else sys.argv[1:])),
              "threads": args.threads, "results": results}
    record["command"] = record["command"].replace("python benchmarks", "python -m benchmarks", 1)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(record, f, indent=2)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
