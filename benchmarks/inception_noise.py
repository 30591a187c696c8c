"""Inception Score of uniform-noise images under the cached Fashion-MNIST classifier (issue 15:
≈ 1 expected), beside the real test set's.

    python benchmarks/inception_noise.py

Writes benchmarks/results/inception_noise.json.
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main():
    import deltagrad as dg
    from benchmarks.record import provenance
    from deltagrad.metrics.feature_network import to_unit_range
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1, 1, (10000, 1, 28, 28)).astype(np.float32)   # the classifier's range
    test = dg.datasets.FashionMNIST(train=False)
    real = to_unit_range(np.asarray(test.data.numpy() if hasattr(test.data, "numpy")
                                    else test.data)).reshape(-1, 1, 28, 28).astype(np.float32)
    out = {}
    for name, images in (("uniform_noise", noise), ("real_test_set", real)):
        score = dg.metrics.InceptionScore(splits=10)
        for i in range(0, len(images), 1000):
            score.update(images[i:i + 1000])
        mean, std = score.compute()
        out[name] = {"mean": float(mean), "std": float(std), "images": len(images)}
        print(f"IS of {name.replace('_', ' ')}: {mean:.3f} ± {std:.3f}", flush=True)
    out["provenance"] = provenance()
    path = os.path.join(ROOT, "benchmarks", "results", "inception_noise.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
