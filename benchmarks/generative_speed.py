"""The generative models' training-step ratios, deltagrad / PyTorch, at 1 and 2 threads, in one
run (take it on a quiet machine: the 2-thread numbers of a loaded one measure contention):

* VAE 784-300-300-40, batch 100 (benchmarks/vae.py's step; issue 14: ≤ 1.0 at 2 threads), both
  libraries alternating in one process (vae.py's way) and each in its own process
* DCGAN generator + discriminator step, batch 64 (benchmarks/gan.py's; issue 15: ≤ 1.3)

The one-process-per-library measurements run in ``--rounds`` rounds that alternate the two
libraries (benchmarks/record.py's ``alternate``); the ratio quoted is the median of the
rounds' ratios, and every round's is kept in the results.

    python benchmarks/generative_speed.py [--repeat 30] [--rounds 7]

Writes benchmarks/results/generative_speed.json (the RBM CD-1 step has benchmarks/rbm_step.py).
"""
from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


VAE_STEP = """
import json, sys
sys.argv.append("--speed-only")            # benchmarks/vae.py: keep the thread settings
import numpy as np, torch
from benchmarks import vae
which, threads, repeat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
rng = np.random.default_rng(0)
X = (rng.random((100, 784)) < 0.3).astype(np.float32)
eps = rng.standard_normal((100, 40), dtype=np.float32)
m, twin = vae.make_models(0, X)
if which == "deltagrad":
    from benchmarks.worker import load_kernels
    load_kernels()                              # the steady state, as benchmarks/worker.py
    opt = vae.dg.optim.Adam(m.parameters(), 1e-3)
    def step():
        opt.zero_grad(); m.loss(X, eps=eps).backward(); opt.step()
else:
    topt = torch.optim.Adam(twin.parameters(), 1e-3)
    Xt, et = torch.from_numpy(X), torch.from_numpy(eps)
    def step():
        topt.zero_grad(); r, k = twin.loss_terms(Xt, et); (r + k).mean().backward(); topt.step()
from benchmarks.record import steady_step_times
ts = steady_step_times(step, repeat)
print(json.dumps({"median_ms": float(np.median(ts)) * 1e3, "min_ms": float(min(ts)) * 1e3}))
"""


def vae_separate_processes(threads, repeat, rounds):
    """The VAE step of each library in its own process (no OpenMP threads of the other
    library spinning in the same process), ``threads`` BLAS/OpenMP threads each, ``rounds``
    alternating rounds (``record.alternate``): the ratio is the median of the rounds'."""
    from benchmarks.record import alternate, ratio_over_rounds
    env = dict(os.environ, PYTHONPATH=ROOT)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    commands = {which: [sys.executable, "-c", VAE_STEP, which, str(threads), str(repeat)]
                for which in ("deltagrad", "torch")}
    runs = alternate(commands, rounds, env=env)
    import statistics
    row = {which: {"median_ms": statistics.median(r["median_ms"] for r in runs[which]),
                   "min_ms": min(r["min_ms"] for r in runs[which]), "rounds": runs[which]}
           for which in commands}
    row.update(ratio_over_rounds(runs, "median_ms"))
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=7,
                    help="alternating rounds of the one-process-per-library measurements")
    args = ap.parse_args(argv)
    from benchmarks import gan, vae
    from benchmarks.record import provenance, write_result
    result = {"provenance": provenance(), "vae": {}, "dcgan": None}
    for threads in (1, 2):
        row = vae.speed_in_subprocess(threads, args.repeat)
        result["vae"][f"threads_{threads}"] = row
        print(f"VAE step at {threads} thread(s): {row['deltagrad_ms']:.2f} vs "
              f"{row['torch_ms']:.2f} ms, ratio {row['deltagrad_over_torch']:.2f}", flush=True)
    result["vae_separate_processes"] = {}
    for threads in (1, 2):
        # 200 steps (about 2 s) a round: a burst of load on the shared VM then moves one
        # round's ratio less than it did over 50 steps (0.64-1.38 across five rounds)
        row = vae_separate_processes(threads, max(args.repeat, 200), args.rounds)
        result["vae_separate_processes"][f"threads_{threads}"] = row
        print(f"VAE step at {threads} thread(s), one process per library: "
              f"{row['deltagrad']['median_ms']:.2f} vs {row['torch']['median_ms']:.2f} ms, "
              f"ratio {row['ratio_median']:.2f} (rounds: "
              f"{', '.join(f'{r:.2f}' for r in row['ratio_per_round'])})", flush=True)
    result["dcgan"] = gan.speed(args.rounds)
    result["load_average_after"] = os.getloadavg()
    write_result("generative_speed", result)


if __name__ == "__main__":
    main()
