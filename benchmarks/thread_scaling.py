"""Which parts of a training step gain from a second thread.

deltagrad's 2-thread ratios are worse than its 1-thread ones on the convolutional workloads
(DCGAN, LeNet). This script runs one step function in one process, switching
``dg.set_num_threads`` between 1 and 2 round by round, and times every call of the
convolution's pieces and of the compiled element-wise kernels at each thread count: the
products (``_conv_forward``, ``_conv_adjoint``, ``_conv_weight_grad`` -- BLAS, plus the layout
copies around it), im2col/col2im, the batch-to-front transposes, batch norm, ReLU and
LeakyReLU. A piece whose time stays put at 2 threads is one the second core does not help
(memory-bound passes on this VM, or threads that wake too slowly for the work).

    python benchmarks/thread_scaling.py [dcgan|lenet] [--rounds 6]

Writes benchmarks/results/thread_scaling_<workload>.json. The times of nested pieces
overlap (``_conv_forward`` includes its ``_batch_first``).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def dcgan_step():
    """benchmarks/gan.py's DCGAN step (GANTask.train_step, batch 64)."""
    import numpy as np

    import deltagrad as dg
    from deltagrad import nn
    from deltagrad.models import DCGANDiscriminator, DCGANGenerator
    from deltagrad.train.gan_task import GANTask
    x = np.random.default_rng(0).uniform(-1, 1, (64, 1, 28, 28)).astype(np.float32)
    dg.manual_seed(0)
    m = nn.ModuleDict({"G": DCGANGenerator(), "D": DCGANDiscriminator()})
    task = GANTask(fid_samples=0)
    opts = {k: dg.optim.Adam(m[k].parameters(), lr=2e-4, betas=(0.5, 0.999)) for k in "GD"}
    batch = (dg.from_numpy(x), dg.zeros(64, dtype=dg.int64))
    return lambda: task.train_step(m, opts, batch)


def lenet_step():
    """``python -m benchmarks lenet``'s step, from deltagrad's own initial weights: importing
    PyTorch here (``workloads.torch_state``) would load its OpenMP runtime first, with its
    spinning threads, and Numba's pool would then spin too (see kernels/numba_parallel.py)."""
    import numpy as np

    import deltagrad as dg
    from benchmarks.workloads import _models, build
    dg.manual_seed(0)
    state = {k: np.array(v) for k, v in _models(dg, "lenet").state_dict().items()}
    return build(dg, "lenet", state)


def _instrument(stats, current):
    """Wrap the pieces named in the docstring: each call adds its time to
    stats[(piece, current thread count)]."""
    from deltagrad.kernels import numba_batch_norm, numba_leaky_relu, numba_relu
    from deltagrad.ops import conv
    pieces = [(conv, n) for n in ("_conv_forward", "_conv_adjoint", "_conv_weight_grad",
                                  "im2col", "col2im", "_channels_first", "_batch_first",
                                  "batch_to_front")]
    pieces += [(numba_batch_norm, "batch_norm_forward"), (numba_batch_norm, "batch_norm_backward")]
    pieces += [(m, n) for m in (numba_relu, numba_leaky_relu) for n in dir(m)
               if n.startswith(("relu_", "leaky_relu_")) and callable(getattr(m, n))]
    for module, name in pieces:
        f = getattr(module, name)
        label = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"

        def timed(*a, _f=f, _label=label, **k):
            t0 = time.perf_counter()
            try:
                return _f(*a, **k)
            finally:
                stats[(_label, current[0])] += time.perf_counter() - t0
        setattr(module, name, timed)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("workload", nargs="?", default="dcgan", choices=["dcgan", "lenet"])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--steps", type=int, default=0,
                    help="timed steps per round and thread count (default: 4 DCGAN, 20 LeNet)")
    args = ap.parse_args(argv)
    steps = args.steps or (4 if args.workload == "dcgan" else 20)
    from benchmarks.worker import load_kernels

    import deltagrad as dg
    from benchmarks.record import provenance
    load_kernels()
    step = dcgan_step() if args.workload == "dcgan" else lenet_step()
    stats, current = collections.defaultdict(float), [None]
    _instrument(stats, current)
    for threads in (1, 2):  # warm-up: first calls, both thread counts
        dg.set_num_threads(threads)
        for _ in range(3):
            step()
    stats.clear()
    total = collections.defaultdict(float)
    for _ in range(args.rounds):
        for threads in (1, 2):
            dg.set_num_threads(threads)
            current[0] = None                       # the switch's first step: not counted
            step()
            current[0] = threads
            t0 = time.perf_counter()
            for _ in range(steps):
                step()
            total[threads] += time.perf_counter() - t0
    n = args.rounds * steps
    per_step = {t: total[t] / n * 1e3 for t in (1, 2)}
    pieces = {}
    for label in sorted({k[0] for k in stats}, key=lambda lb: -stats[(lb, 1)]):
        one, two = (stats[(label, t)] / n * 1e3 for t in (1, 2))
        pieces[label] = {"1_thread_ms": one, "2_threads_ms": two, "saved_ms": one - two}
    print(f"{args.workload} step: 1 thread {per_step[1]:.1f} ms, 2 threads {per_step[2]:.1f} ms")
    for label, row in pieces.items():
        print(f"  {label:40s} 1 thread {row['1_thread_ms']:7.2f}  2 threads "
              f"{row['2_threads_ms']:7.2f} ms  saved {row['saved_ms']:6.2f}")
    out = os.path.join(HERE, "results", f"thread_scaling_{args.workload}.json")
    with open(out, "w") as f:
        json.dump({**provenance(), "workload": args.workload, "rounds": args.rounds,
                   "steps_per_round": steps, "step_ms": {"1_thread": per_step[1],
                                                         "2_threads": per_step[2]},
                   "pieces_ms_per_step": pieces}, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
