"""A recurrent layer's forward and backward in this tree, in an earlier commit, and in PyTorch,
in one process, interleaved round by round.

Timings taken in separate processes on this machine drift by more than a kernel change is
worth (PyTorch's LSTM step read 17.7–18.7 ms in four runs of one script within minutes), so a
before/after comparison runs both trees in one process: the earlier commit's ``deltagrad``
package is extracted (``git archive``) into a temporary folder under another name and
imported beside this one (its modules import each other relatively; the few that import
``deltagrad`` by name, none on a recurrent layer's path, get this tree's). Both trees load
PyTorch's weights; the script checks that they give the same gradients to float32 round-off
before it times them.

    python benchmarks/layer_ab.py REV [--mode LSTM] [--batch 32] [--rounds 60]

One thread (PyTorch and deltagrad share the process's OpenMP runtime, see
``lstm_breakdown.py``). The first use of the earlier tree compiles its kernels (a minute).
Writes benchmarks/results/layer_ab.json.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
T, I, H = 64, 64, 128
ALIAS = "deltagrad_ab"  # the earlier tree's package name in this process


def earlier_tree(rev, folder):
    """Import ``deltagrad`` at commit ``rev`` as the package ALIAS (extracted into folder)."""
    archive = subprocess.run(["git", "archive", rev, "deltagrad"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    os.rename(os.path.join(folder, "deltagrad"), os.path.join(folder, ALIAS))
    sys.path.insert(0, folder)
    return importlib.import_module(ALIAS)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("rev", help="the earlier commit")
    ap.add_argument("--mode", default="LSTM", choices=["LSTM", "GRU", "RNN"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "layer_ab.json"))
    args = ap.parse_args(argv)
    sys.path.insert(0, ROOT)
    from benchmarks.record import pin_threads, provenance
    pin_threads(1)
    import numpy as np
    import torch

    import deltagrad
    folder = tempfile.mkdtemp(prefix="layer_ab_")
    earlier = earlier_tree(args.rev, folder)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, T, I), dtype=np.float32)
    gy = rng.standard_normal((args.batch, T, H), dtype=np.float32)
    torch.manual_seed(0)
    reference = getattr(torch.nn, args.mode)(I, H, batch_first=True)
    state = {k: v.detach().numpy().copy() for k, v in reference.state_dict().items()}

    def step(lib):
        lib.set_num_threads(1)
        layer = getattr(lib.nn, args.mode)(I, H, batch_first=True)
        if lib is torch:
            layer.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        else:
            layer.load_state_dict(state)
        xs, g = lib.from_numpy(x).requires_grad_(), lib.from_numpy(gy)

        def run():
            layer.zero_grad()
            xs.grad = None
            layer(xs)[0].backward(g)
            return [xs.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]
        return lib, run

    runs = {"this tree": step(deltagrad), args.rev: step(earlier), "torch": step(torch)}
    grads = {name: run() for name, (lib, run) in runs.items()}
    for a, b, c in zip(*grads.values()):
        scale = max(1.0, float(np.abs(c).max()))
        assert np.abs(a - c).max() <= 1e-4 * scale and np.abs(b - c).max() <= 1e-4 * scale
    times = {name: [] for name in runs}
    order = list(runs)
    for r in range(args.rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            lib, run = runs[name]
            lib.set_num_threads(1)  # the shared OpenMP count (lstm_breakdown.py), untimed
            t0 = time.perf_counter()
            run()
            times[name].append(1e3 * (time.perf_counter() - t0))
    ms = {name: float(np.median(v)) for name, v in times.items()}
    for name, m in ms.items():
        print(f"{args.mode} layer forward + backward, {name:12s} {m:7.2f} ms  "
              f"{m / ms['torch']:.3f} of PyTorch's")
    result = {**provenance(), "mode": args.mode, "rev": args.rev,
              "shapes": {"T": T, "B": args.batch, "input": I, "hidden": H},
              "rounds": args.rounds, "median_ms": ms,
              "ratio_to_torch": {name: m / ms["torch"] for name, m in ms.items()},
              "rounds_ms": times}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
