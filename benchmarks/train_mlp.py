"""``deltagrad train mlp`` end to end, and the same training in PyTorch; writes
results/train_mlp.json.

1. Runs ``python -m deltagrad train mlp --epochs N --out TMP`` (2 BLAS threads) and records
   its wall time (start-up, data, training, evaluation, checkpoints), its final test accuracy
   and its training samples/s (from metrics.jsonl).
2. Trains the same MLP with PyTorch (``torch.set_num_threads(2)``): the initial weights are
   copied from the deltagrad model the run starts from (same seed), the mini-batches are the
   run's (the same generator draws the same permutations), the optimizer and the cosine
   schedule are ``torch.optim``'s twins with the same settings, and the validation and test
   sets are evaluated after every epoch as the run does. Dropout masks come from each
   library's own generator, so the curves differ slightly.

    python benchmarks/train_mlp.py [--epochs 10] [--dataset fashion-mnist]

Other processes on the machine slow both sides; the load average is recorded with the numbers.
"""
from __future__ import annotations

import os

THREADS = 2
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(THREADS)

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def run_deltagrad(epochs: int, dataset: str, out: str) -> dict:
    from benchmarks.record import run_train
    command, wall, rows = run_train("mlp", out, "--epochs", epochs, "--dataset", dataset)
    train_seconds = sum(r["seconds"] for r in rows)
    n_train = rows[0]["samples_per_s"] * rows[0]["seconds"]
    return {"command": command, "wall_s": wall,
            "train_s": train_seconds, "samples_per_s": n_train * len(rows) / train_seconds,
            "test_accuracy": rows[-1]["test_accuracy"],
            "test_accuracy_per_epoch": [r["test_accuracy"] for r in rows]}


def run_torch(epochs: int, dataset: str) -> dict:
    import torch

    from deltagrad.experiments import get_experiment
    from deltagrad.train.run import make_settings
    from deltagrad.train.trainer import build

    torch.set_num_threads(THREADS)
    exp = get_experiment("mlp")
    setup = build(make_settings(exp, {"dataset": dataset, "epochs": epochs}), exp)
    s, data = setup.settings, setup.data
    model = torch.nn.Sequential(torch.nn.Linear(data.input_dim, 256), torch.nn.ReLU(),
                                torch.nn.Dropout(0.1), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, data.num_classes))
    model.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                           for k, v in setup.model.state_dict().items()})
    assert s["optimizer"] == "adam" and not exp.optimizer_kwargs
    opt = torch.optim.Adam(model.parameters(), lr=s["lr"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=s["epochs"])  # as the run
    torch.manual_seed(s["seed"])
    xtr, ytr = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    xte, yte = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
    xva = torch.from_numpy(data.x_val) if data.x_val is not None else xte[:0]
    train_s, accs = 0.0, []
    t_all = time.perf_counter()
    for _ in range(epochs):
        batches = [np.asarray(b) for b in setup.loader.batch_sampler]  # the run's order
        model.train()
        t0 = time.perf_counter()
        for idx in batches:
            idx = torch.from_numpy(idx)
            loss = torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss.item()
        train_s += time.perf_counter() - t0
        sched.step()
        model.eval()
        with torch.no_grad():  # the run evaluates the validation and the test set
            for i in range(0, len(xva), 1000):
                model(xva[i:i + 1000])
            pred = torch.cat([model(xte[i:i + 1000]).argmax(1) for i in range(0, len(xte), 1000)])
        accs.append(float((pred == yte).float().mean()))
    wall = time.perf_counter() - t_all
    return {"threads": THREADS, "wall_s": wall, "train_s": train_s,
            "samples_per_s": len(xtr) * epochs / train_s, "test_accuracy": accs[-1],
            "test_accuracy_per_epoch": accs, "version": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--dataset", default="fashion-mnist")
    args = ap.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        dg = run_deltagrad(args.epochs, args.dataset, os.path.join(tmp, "mlp"))
    th = run_torch(args.epochs, args.dataset)
    from benchmarks.record import git_commit
    commit = git_commit()
    result = {
        "command": "python benchmarks/train_mlp.py " + " ".join(sys.argv[1:]),
        "commit": commit,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "numbers": {
            "epochs": args.epochs, "dataset": args.dataset, "blas_threads": THREADS,
            "deltagrad": dg, "torch": th,
            "wall_ratio_deltagrad_over_torch": dg["wall_s"] / th["wall_s"],
            "train_speed_ratio_torch_over_deltagrad": th["samples_per_s"] / dg["samples_per_s"],
            "load_average_before_after": [load_before, os.getloadavg()],
            "cpu_count": os.cpu_count(),
        },
    }
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", "train_mlp.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    n = result["numbers"]
    print(f"deltagrad: {dg['wall_s']:.1f} s wall, {dg['samples_per_s']:,.0f} samples/s, "
          f"test accuracy {dg['test_accuracy']:.4f}")
    print(f"torch:     {th['wall_s']:.1f} s wall, {th['samples_per_s']:,.0f} samples/s, "
          f"test accuracy {th['test_accuracy']:.4f}")
    print(f"torch is {n['train_speed_ratio_torch_over_deltagrad']:.2f}x deltagrad's training "
          f"speed; wrote {path}")


if __name__ == "__main__":
    main()
