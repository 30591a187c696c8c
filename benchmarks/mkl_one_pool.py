"""A probe for issue 23: deltagrad's VAE step at 2 threads with its layer products in MKL on the
same OpenMP pool as its compiled kernels, against the default (OpenBLAS) and PyTorch.

deltagrad's matrix products run in NumPy's OpenBLAS, whose own threads spin for ~0.1 s after
each product (``openblas_spin.py``), while its compiled kernels run on Numba's GNU OpenMP pool,
kept passive so as not to fight those threads. PyTorch runs both on one pool. This probe puts
the VAE's ``Linear`` products (forward, and the backward's δW and Wᵀ-products) into MKL's
``cblas_sgemm`` with MKL's GNU OpenMP threading layer -- the libgomp pool Numba's kernels use
-- with that pool active (``OMP_WAIT_POLICY=ACTIVE``), by replacing ``Linear.forward`` and
``Linear._backward_arrays`` inside the timed process only. It measured what such a design
could give before it was one; the feature it led to is ``deltagrad/kernels/blas.py`` (every
product, ``pip install deltagrad[mkl]``), and the variant ``deltagrad`` here runs with
``DELTAGRAD_BLAS=numpy`` so that it stays the OpenBLAS baseline. MKL comes from the ``mkl``
wheel of PyPI, given as ``--mkl PATH`` to its ``libmkl_rt.so.3``.

Each variant runs in its own process at 2 threads, in ``--rounds`` rounds that alternate the
three (``record.alternate``); each round times ``--steps`` steps after a second of warm-up.

    python benchmarks/mkl_one_pool.py --mkl PATH [--rounds 5] [--steps 200]

Writes benchmarks/results/mkl_one_pool.json.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

STEP = r"""
import ctypes, json, os, sys
sys.argv.append("--speed-only")            # benchmarks/vae.py: keep the thread settings
import numpy as np
which, steps, mkl_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
from benchmarks import vae
rng = np.random.default_rng(0)
X = (rng.random((100, 784)) < 0.3).astype(np.float32)
eps = rng.standard_normal((100, 40), dtype=np.float32)
m, twin = vae.make_models(0, X)
if which == "torch":
    import torch
    torch.set_num_threads(2)
    opt = torch.optim.Adam(twin.parameters(), 1e-3)
    Xt, et = torch.from_numpy(X), torch.from_numpy(eps)
    def step():
        opt.zero_grad(); r, k = twin.loss_terms(Xt, et); (r + k).mean().backward(); opt.step()
else:
    import deltagrad as dg
    from benchmarks.worker import load_kernels
    load_kernels()
    if which == "deltagrad_mkl_one_pool":
        from deltagrad.ops import linalg
        from deltagrad.tensor import _make
        sgemm = ctypes.CDLL(mkl_path).cblas_sgemm
        p, i = ctypes.c_void_p, ctypes.c_int
        sgemm.argtypes = [i] * 6 + [ctypes.c_float, p, i, p, i, ctypes.c_float, p, i]

        def mm(a, b):
            # a @ b for 2-D float32 arrays that are C-contiguous or transposes of such
            ta, tb = a.flags.c_contiguous, b.flags.c_contiguous
            ca, cb = (a if ta else a.T), (b if tb else b.T)
            out = np.empty((a.shape[0], b.shape[1]), np.float32)
            sgemm(101, 111 if ta else 112, 111 if tb else 112, a.shape[0], b.shape[1],
                  a.shape[1], 1.0, ca.ctypes.data, ca.shape[1], cb.ctypes.data, cb.shape[1],
                  0.0, out.ctypes.data, b.shape[1])
            return out

        def forward(ctx, x, w, b=None):
            ctx.save_for_backward(x, w)
            ctx.x2 = None
            out = mm(x, w.T)
            if b is not None:
                out += b
            return out

        def backward_arrays(ctx, g):
            x, w = ctx.saved_tensors
            need = ctx.needs_input_grad
            gx = _make(mm(g, w._data)) if need[0] else None
            gw = _make(mm(g.T, x._data)) if need[1] else None
            gb = _make(g.sum(0)) if len(need) > 2 and need[2] else None
            return gx, gw, gb

        linalg.Linear.forward = forward
        linalg.Linear._backward_arrays = backward_arrays
    opt = dg.optim.Adam(m.parameters(), 1e-3)
    def step():
        opt.zero_grad(); m.loss(X, eps=eps).backward(); opt.step()
from benchmarks.record import steady_step_times
ts = steady_step_times(step, steps)
print(json.dumps({"median_ms": float(np.median(ts)) * 1e3}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mkl", required=True, help="path to libmkl_rt.so.3 of the mkl wheel")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args(argv)
    from benchmarks.record import alternate, provenance, write_result
    base = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2",
                MKL_NUM_THREADS="2")
    variants = {"deltagrad": {"DELTAGRAD_BLAS": "numpy"}, "torch": {},
                "deltagrad_mkl_one_pool": {"DELTAGRAD_BLAS": "numpy",
                                           "MKL_THREADING_LAYER": "GNU",
                                           "OMP_WAIT_POLICY": "ACTIVE"}}
    # record.alternate gives every command one environment: each adds its own with env(1)
    commands = {name: ["env"] + [f"{k}={v}" for k, v in extra.items()] +
                [sys.executable, "-c", STEP, name, str(args.steps), args.mkl]
                for name, extra in variants.items()}
    runs = alternate(commands, args.rounds, env=base)
    ms = {name: statistics.median(r["median_ms"] for r in runs[name]) for name in commands}
    per_round = {name: [r["median_ms"] for r in runs[name]] for name in commands}
    ratios = {name: statistics.median(a / b for a, b in zip(per_round[name], per_round["torch"]))
              for name in ("deltagrad", "deltagrad_mkl_one_pool")}
    for name in commands:
        print(f"{name:24s} {ms[name]:7.2f} ms  (rounds: "
              f"{', '.join(f'{v:.2f}' for v in per_round[name])})")
    for name, r in ratios.items():
        print(f"{name} / PyTorch: {r:.2f} (median of the rounds' ratios)")
    write_result("mkl_one_pool", {"provenance": provenance(), "threads": 2,
                                  "mkl_library": args.mkl, "steps": args.steps,
                                  "rounds": args.rounds, "median_ms": ms,
                                  "rounds_ms": per_round, "ratio_to_torch": ratios})


if __name__ == "__main__":
    main()
