"""The VAE step's non-GEMM parts at 1 thread, deltagrad against PyTorch (issue 14):

* the reconstruction term, the BCE of (100, 784) logits summed per example, forward and
  forward + backward: deltagrad's compiled pass (``kernels/numba_bce.py``), its NumPy path
  (``kernels.use_backend("numpy")``) and ``F.binary_cross_entropy_with_logits(...).sum(1)``;
* one Adam step over the 784-300-300-40 VAE's 14 parameters (688K numbers), deltagrad's
  compiled step and ``torch.optim.Adam``'s default (foreach) step.

Everything runs in one process at one thread, in ``--rounds`` rounds that take every variant
in turn (the order reversed every other round); each round keeps the median of ``--repeat``
calls, and the figures are the medians over the rounds.

    python benchmarks/vae_step_parts.py [--rounds 7] [--repeat 200]

Writes benchmarks/results/vae_step_parts.json.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import numpy as np  # noqa: E402

from benchmarks.record import median_time, provenance, write_result  # noqa: E402

SIZES = [(300, 784), (300,), (300, 300), (300,), (40, 300), (40,), (40, 300), (40,),
         (300, 40), (300,), (300, 300), (300,), (784, 300), (784,)]  # dg.models.VAE's: 688,464


def variants():
    """{name: a zero-argument callable} for every timed piece."""
    import torch

    import deltagrad as dg
    from deltagrad import kernels
    from deltagrad.ops.loss import bce_with_logits_per_example
    torch.set_num_threads(1)
    dg.set_num_threads(1)
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((100, 784)) * 3).astype(np.float32)
    y = (rng.random((100, 784)) < 0.3).astype(np.float32)

    def dg_bce(backend, backward):
        def run():
            with kernels.use_backend(backend):
                t = dg.tensor(x, requires_grad=backward)
                loss = bce_with_logits_per_example(t, dg.tensor(y)).mean()
                if backward:
                    loss.backward()
        return run

    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def torch_bce(backward):
        def run():
            t = xt.detach().requires_grad_(backward)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                t, yt, reduction="none").sum(1).mean()
            if backward:
                loss.backward()
        return run

    dparams = [dg.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True)
               for s in SIZES]
    tparams = [torch.tensor(p.detach().numpy().copy(), requires_grad=True) for p in dparams]
    for dp, tp in zip(dparams, tparams):
        g = rng.standard_normal(dp.shape).astype(np.float32)
        dp.grad, tp.grad = dg.tensor(g), torch.from_numpy(g.copy())
    kernels.get_backend()  # Numba loaded: Adam's compiled step from the first step
    dopt, topt = dg.optim.Adam(dparams, 1e-3), torch.optim.Adam(tparams, 1e-3)
    return {"bce_forward_deltagrad": dg_bce("numba", False),
            "bce_forward_deltagrad_numpy_path": dg_bce("numpy", False),
            "bce_forward_torch": torch_bce(False),
            "bce_forward_backward_deltagrad": dg_bce("numba", True),
            "bce_forward_backward_deltagrad_numpy_path": dg_bce("numpy", True),
            "bce_forward_backward_torch": torch_bce(True),
            "adam_step_deltagrad": dopt.step, "adam_step_torch": topt.step}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=200)
    args = ap.parse_args(argv)
    fns = variants()
    names = list(fns)
    for fn in fns.values():  # first calls: compiled code loaded, arrays allocated
        for _ in range(20):
            fn()
    rounds = {name: [] for name in names}
    for r in range(args.rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            rounds[name].append(median_time(fns[name], args.repeat) * 1e6)
    us = {name: statistics.median(v) for name, v in rounds.items()}
    result = {"provenance": provenance(), "threads": 1, "rounds": args.rounds,
              "repeat": args.repeat, "median_us": us, "rounds_us": rounds, "ratios": {
                  "bce_forward": us["bce_forward_deltagrad"] / us["bce_forward_torch"],
                  "bce_forward_backward": us["bce_forward_backward_deltagrad"] /
                  us["bce_forward_backward_torch"],
                  "bce_forward_backward_numpy_path": us[
                      "bce_forward_backward_deltagrad_numpy_path"] /
                  us["bce_forward_backward_torch"],
                  "adam_step": us["adam_step_deltagrad"] / us["adam_step_torch"]}}
    for name in names:
        print(f"{name:45s} {us[name]:9.1f} µs")
    for name, ratio in result["ratios"].items():
        print(f"deltagrad / PyTorch, {name}: {ratio:.2f}")
    write_result("vae_step_parts", result)


if __name__ == "__main__":
    main()
