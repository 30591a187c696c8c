"""The generative models' training-step ratios, deltagrad / PyTorch, at 1 and 2 threads, in one
run (take it on a quiet machine: the 2-thread numbers of a loaded one measure contention):

* VAE 784-300-300-40, batch 100 (benchmarks/vae.py's step; issue 14: ≤ 1.0 at 2 threads)
* DCGAN generator + discriminator step, batch 64 (benchmarks/gan.py's; issue 15: ≤ 1.3)

    python benchmarks/generative_speed.py [--repeat 30]

Writes benchmarks/results/generative_speed.json (the RBM CD-1 step has benchmarks/rbm_step.py).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args(argv)
    from benchmarks import gan, vae
    from benchmarks.record import provenance
    result = {"provenance": provenance(), "vae": {}, "dcgan": None}
    for threads in (1, 2):
        row = vae.speed_in_subprocess(threads, args.repeat)
        result["vae"][f"threads_{threads}"] = row
        print(f"VAE step at {threads} thread(s): {row['deltagrad_ms']:.2f} vs "
              f"{row['torch_ms']:.2f} ms, ratio {row['deltagrad_over_torch']:.2f}", flush=True)
    result["dcgan"] = gan.speed()
    result["load_average_after"] = os.getloadavg()
    path = os.path.join(ROOT, "benchmarks", "results", "generative_speed.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", path)


if __name__ == "__main__":
    main()
