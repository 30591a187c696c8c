"""Where a benchmark number comes from: the command, the commit, the date and the load;
and ``run_train``, the one way the scripts run ``deltagrad train``."""
from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except OSError:
        return "unknown"


def provenance(argv=None) -> dict:
    """``command``, ``commit``, ``date``, ``machine`` and ``load_average`` of this run."""
    args = sys.argv if argv is None else argv
    script = os.path.relpath(os.path.abspath(args[0]), ROOT) if args else "?"
    return {"command": "python " + " ".join([script] + list(args[1:])),
            "commit": git_commit(),
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version()},
            "load_average": os.getloadavg()}


def pin_threads(threads) -> None:
    """BLAS and OpenMP thread counts for this process (``OMP_NUM_THREADS`` …): set before
    NumPy, PyTorch or deltagrad starts its libraries."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def run_train(name, out, *options, threads=None):
    """``python -m deltagrad train NAME --out OUT [options]`` as a subprocess (BLAS/OpenMP
    threads set when ``threads`` is given). Echoes its output; returns (the command as a
    user types it, wall seconds, the rows of metrics.jsonl)."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if threads is not None:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    cmd = [sys.executable, "-m", "deltagrad", "train", name, "--out", out, *map(str, options)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    print(proc.stdout, end="", flush=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n{proc.stderr}")
    with open(os.path.join(out, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    command = " ".join(["deltagrad", "train", name] + list(map(str, options)))
    return command, wall, rows


def alternate(commands, rounds, env=None):
    """Run each of ``commands`` ({name: argv}, each printing one JSON object as its last
    line) once per round for ``rounds`` rounds, the order reversed every other round, so
    that a machine whose speed drifts over minutes (a shared VM) slows every library alike.
    Returns {name: [the JSON object of each round]}."""
    names = list(commands)
    out = {name: [] for name in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            proc = subprocess.run(commands[name], env=env, cwd=ROOT, capture_output=True,
                                  text=True)
            if proc.returncode:
                raise RuntimeError(f"{name} step benchmark failed (exit {proc.returncode}):\n"
                                   f"{proc.stderr}")
            out[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return out


def ratio_over_rounds(runs, key, numerator="deltagrad", denominator="torch") -> dict:
    """The per-round ratios runs[numerator][i][key] / runs[denominator][i][key] of
    ``alternate``'s output, and their median (the figure a note quotes)."""
    import statistics
    ratios = [a[key] / b[key] for a, b in zip(runs[numerator], runs[denominator])]
    return {"ratio_per_round": ratios, "ratio_median": statistics.median(ratios)}


def median_time(fn, repeat) -> float:
    """The median wall time of ``repeat`` calls of ``fn`` in seconds, after one untimed call."""
    import statistics
    return statistics.median(steady_step_times(fn, repeat, warm_seconds=0.0))


def write_result(name, result, indent=1) -> str:
    """Write ``result`` as benchmarks/results/NAME.json, say so, and return the path."""
    path = os.path.join(ROOT, "benchmarks", "results", name + ".json")
    with open(path, "w") as f:
        json.dump(result, f, indent=indent)
    print("wrote", path)
    return path


def steady_step_times(step, steps, warm_seconds=1.0) -> list:
    """The wall times in seconds of ``steps`` calls of ``step`` in the steady state: after
    ``warm_seconds`` of untimed calls (at least one: first-call allocations, lazy imports and
    compiled code loaded), as benchmarks/worker.py warms up."""
    until = time.perf_counter() + warm_seconds
    step()
    while time.perf_counter() < until:
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times
