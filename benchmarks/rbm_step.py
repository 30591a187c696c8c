"""The RBM CD-1 step, deltagrad / PyTorch, at 1 and 2 threads (issue 17: ≤ 1.0 at 2 threads).

One step = sampling h ~ P(h | v) and ṽ ~ P(v | h), the surrogate F(v) − F(ṽ), backward and
an SGD update, for 784 visible and 500 hidden units and a batch of 100 — the same algorithm
in both libraries (``rbm_step_ratio`` of ``benchmarks/generative.py``: the data's
pre-activation serves F(v) and the first Gibbs step; steps timed in alternation, medians).
Threads are set at run time (threadpoolctl for NumPy's BLAS, ``torch.set_num_threads``).
Writes benchmarks/results/rbm_step.json with the machine's load average: on a shared
machine the ratio moves with the load.

    python benchmarks/rbm_step.py [--repeat 100]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")     # a BLAS pool of 2 threads, limited per measurement

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.generative import rbm_step_ratio  # noqa: E402
from benchmarks.record import provenance  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=100, help="timed steps of each library")
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results",
                                                  "rbm_step.json"))
    args = ap.parse_args(argv)
    result = {**provenance(), "note": "the machine is shared (see load_average): the ratio "
              "moves with the load", "steps": []}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        with threadpool_limits(limits=threads, user_api="blas"):
            row = rbm_step_ratio(100, args.hidden, args.repeat)
        row["threads"] = threads
        row["load_average_after"] = os.getloadavg()
        result["steps"].append(row)
        print(json.dumps(row), flush=True)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print("wrote", os.path.relpath(args.out, ROOT))


if __name__ == "__main__":
    main()
