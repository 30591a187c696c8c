"""Full-quality runs of the convolutional experiments; writes results/train_cnn.json.

For each experiment named (default: lenet cnn resnet transfer) it runs
``python -m deltagrad train NAME --dataset fashion-mnist --out RUNS/NAME --force`` with one
BLAS/OpenMP thread (two spinning OpenBLAS threads are far slower on a shared 2-core
machine) and records the command, wall time (start-up, data, training, evaluation,
checkpoints), epochs, training seconds and the test accuracy of the last and best epoch.
``transfer`` is the in-process comparison ``dg.experiments.cnn.transfer_experiment()``
(pretrained + frozen, pretrained + fine-tuned, from scratch) on the same few labels.

Each finished experiment is merged into the JSON at once (under a file lock), so several
invocations may run side by side:

    python benchmarks/train_cnn.py --experiments cnn [--epochs N] [--runs /tmp/cnn_runs]
"""
from __future__ import annotations

import os

THREADS = 1
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(THREADS)

import argparse  # noqa: E402
import datetime  # noqa: E402
import fcntl  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results", "train_cnn.json")
TARGETS = {"lenet": 0.90, "cnn": 0.92, "resnet": 0.93}
sys.path.insert(0, ROOT)

from benchmarks.record import git_commit  # noqa: E402


def run_cli(name: str, dataset: str, runs: str, epochs: int | None) -> dict:
    from benchmarks.record import run_train
    command, wall, rows = run_train(name, os.path.join(runs, name), "--dataset", dataset,
                                    "--force", *(["--epochs", epochs] if epochs else []))
    accs = [r["test_accuracy"] for r in rows]
    result = {"command": command, "epochs": len(rows),
              "wall_s": round(wall, 1), "train_s": round(sum(r["seconds"] for r in rows), 1),
              "test_accuracy": accs[-1], "best_test_accuracy": max(accs),
              "best_epoch": accs.index(max(accs)) + 1, "test_accuracy_per_epoch": accs}
    if name in TARGETS:
        result["target"] = TARGETS[name]
        result["reached_target"] = accs[-1] >= TARGETS[name]
    return result


def run_transfer(dataset: str, epochs: int | None) -> dict:
    from deltagrad.experiments.cnn import transfer_experiment
    t0 = time.perf_counter()
    r = transfer_experiment(dataset, **({"epochs": epochs} if epochs else {}))
    r["wall_s"] = round(time.perf_counter() - t0, 1)
    r["command"] = ("python -c \"import deltagrad.experiments.cnn as c; "
                    f"print(c.transfer_experiment('{dataset}'))\"")
    print(json.dumps(r), flush=True)
    return r


def merge(name: str, result: dict, meta: dict) -> None:
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = {}
        if os.path.exists(RESULTS):
            with open(RESULTS) as f:
                data = json.load(f)
        data.setdefault("experiments", {})[name] = dict(result, **meta)
        data["script"] = "python benchmarks/train_cnn.py"
        tmp = RESULTS + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, RESULTS)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiments", nargs="+", default=["lenet", "cnn", "resnet", "transfer"])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--epochs", type=int, default=None, help="default: the experiment's")
    ap.add_argument("--runs", default=os.path.join(tempfile.gettempdir(), "cnn_runs"),
                    help="folder for the run folders")
    args = ap.parse_args()
    for name in args.experiments:
        meta = {"commit": git_commit(),
                "date": datetime.datetime.now().isoformat(timespec="seconds"),
                "threads": THREADS, "load_average_before": os.getloadavg(),
                "cpu_count": os.cpu_count()}
        if name == "transfer":
            result = run_transfer(args.dataset, args.epochs)
        else:
            result = run_cli(name, args.dataset, args.runs, args.epochs)
        meta["load_average_after"] = os.getloadavg()
        merge(name, result, meta)


if __name__ == "__main__":
    main()
