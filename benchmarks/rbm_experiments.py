"""The ``rbm`` and ``rbm-pcd`` experiments of ``deltagrad train`` on binarized Fashion-MNIST
(issue 17), one thread: per-epoch test NLL (exact for ``rbm``'s 20 hidden units; by AIS
after the last epoch for ``rbm-pcd``'s 500), pseudo-likelihood, free-energy gap and epoch
times, with the independent-pixel model's test NLL for scale. Writes
benchmarks/results/rbm_experiments.json.

    python benchmarks/rbm_experiments.py [--pcd-epochs 3] [--dataset fashion-mnist]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.record import provenance, run_train  # noqa: E402

KEEP = ("epoch", "train_loss", "train_cd_surrogate", "test_nll_nats", "test_log_z",
        "test_log_z_low", "test_log_z_high", "test_pseudo_nll", "test_free_energy_gap",
        "val_pseudo_nll", "seconds", "eval_seconds")


def _finite(v):
    """JSON has no infinities: AIS's lower bound ln(Ẑ − 3σ̂) is "-inf" when 3σ̂ ≥ Ẑ."""
    return v if not isinstance(v, float) or math.isfinite(v) else str(v)


def independent_pixels_nll(dataset: str) -> float:
    from deltagrad.experiments.generative import binarized_images
    d = binarized_images(dataset)
    p = np.clip(d.x_train.mean(0), 1e-3, 1 - 1e-3)
    x = d.x_test
    return float(-(x * np.log(p) + (1 - x) * np.log1p(-p)).sum(1).mean())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--rbm-epochs", type=int, default=5)
    ap.add_argument("--pcd-epochs", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results",
                                                  "rbm_experiments.json"))
    args = ap.parse_args(argv)
    result = {**provenance(), "dataset": args.dataset,
              "independent_pixels_test_nll": independent_pixels_nll(args.dataset), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, epochs in (("rbm", args.rbm_epochs), ("rbm-pcd", args.pcd_epochs)):
            command, wall, rows = run_train(name, os.path.join(tmp, name), "--dataset",
                                            args.dataset, "--epochs", epochs, threads=1)
            result["runs"][name] = {"command": command, "wall_seconds": wall,
                                    "epochs": [{k: _finite(r[k]) for k in KEEP if k in r}
                                               for r in rows]}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print("wrote", os.path.relpath(args.out, ROOT))


if __name__ == "__main__":
    main()
