"""Products whose result has few columns, and the recurrent layers that make them every step.

MKL is slow on a row-major product (m, k)·(k, n) with small n on some machines (an AMD EPYC
here: (512, 128)·(128, 8) takes longer than (512, 128)·(128, 16)); deltagrad makes such
products as their transpose, (Bᵀ·Aᵀ)ᵀ (``kernels/blas.py``'s ``NARROW``). One thread,
interleaved round by round, this script times

* products: MKL's ``cblas_sgemm`` (``_batch_strided``) on the product as it stands
  (``mkl_gemm.gemm``), deltagrad's ``blas.matmul`` (with the transpose for n < NARROW) and
  ``torch.matmul`` (PyTorch's MKL), on an LSTM's per-step shape (512, 128)·(128, n) for
  several n, on the classifier heads of the MLP and LeNet workloads (10 columns) and on a
  batch of attention products with a head dimension of 8;
* an LSTM layer (input 64, hidden 128, 64 steps, batch-first) forward and backward at small
  batches, deltagrad against PyTorch: a batch under NARROW makes every per-step product
  narrow.

    python benchmarks/narrow_products.py [--rounds 5] [--json PATH]

Writes benchmarks/results/narrow_products.json (or PATH). Needs MKL (the ``mkl`` extra).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# name: (batch count, 0 for one product; m, k, n)
PRODUCTS = {f"lstm per-step (512, 128)·(128, {n})": (0, 512, 128, n)
            for n in (2, 4, 8, 12, 16, 24, 32)}
PRODUCTS.update({"mlp head (128, 128)·(128, 10)": (0, 128, 128, 10),
                 "lenet head (64, 84)·(84, 10)": (0, 64, 84, 10),
                 "attention A·V, head dim 8: 64 × (64, 64)·(64, 8)": (64, 64, 64, 8)})
LSTM_BATCHES = (2, 4, 8, 16, 32)
T, I, H = 64, 64, 128


def _products(rounds, np, torch, dg_blas, mkl_gemm):
    from benchmarks.blas_small_gemm import operands
    rng = np.random.default_rng(0)
    rows = {}
    for name, (count, m, k, n) in PRODUCTS.items():
        a, b, c, ta, tb, tc = operands(rng, torch, m, k, n, (count,) if count else ())
        libs = {"mkl_as_is": lambda: mkl_gemm.gemm(a, b, c, 111, 111, m, n, k, k, n, n,
                                                   m * k, k * n, m * n, count),
                "deltagrad": lambda: dg_blas.matmul(a, b, out=c),
                "torch": lambda: torch.matmul(ta, tb, out=tc)}
        per = _interleaved(libs, rounds, calls=200)
        us = {lib: 1e6 * statistics.median(v) for lib, v in per.items()}
        rows[name] = {"batch": count, "shape_mkn": [m, k, n], "median_us": us,
                      "rounds_us": {lib: [1e6 * t for t in v] for lib, v in per.items()}}
        print(f"{name:36s} MKL as it stands {us['mkl_as_is']:7.1f} µs  deltagrad "
              f"{us['deltagrad']:7.1f} µs  torch {us['torch']:7.1f} µs", flush=True)
    return rows


def _lstm_layers(rounds, np, torch, dg):
    rows = {}
    for batch in LSTM_BATCHES:
        rng = np.random.default_rng(0)
        torch.manual_seed(0)
        t_layer = torch.nn.LSTM(I, H, batch_first=True)
        d_layer = dg.nn.LSTM(I, H, batch_first=True)
        d_layer.load_state_dict({k: v.detach().numpy().copy()
                                 for k, v in t_layer.state_dict().items()})
        x = rng.standard_normal((batch, T, I), dtype=np.float32)
        gy = rng.standard_normal((batch, T, H), dtype=np.float32)

        def step(lib, layer, g):
            def run():
                xx = lib.tensor(x, requires_grad=True)
                layer(xx)[0].backward(g)
            return run

        libs = {"deltagrad": step(dg, d_layer, dg.tensor(gy)),
                "torch": step(torch, t_layer, torch.tensor(gy))}
        per = _interleaved(libs, rounds, calls=20)
        ms = {lib: 1e3 * statistics.median(v) for lib, v in per.items()}
        rows[f"batch {batch}"] = {"batch": batch, "median_ms": ms,
                                  "ratio": ms["deltagrad"] / ms["torch"],
                                  "rounds_ms": {lib: [1e3 * t for t in v]
                                                for lib, v in per.items()}}
        print(f"LSTM layer forward + backward, batch {batch:2d}: deltagrad "
              f"{ms['deltagrad']:7.2f} ms  PyTorch {ms['torch']:7.2f} ms  ratio "
              f"{ms['deltagrad'] / ms['torch']:.2f}", flush=True)
    return rows


def _interleaved(libs, rounds, calls):
    """{lib: [the median time of ``calls`` calls, per round]}, the order reversed every
    other round; a few untimed calls first."""
    for f in libs.values():
        for _ in range(3):
            f()
    per = {lib: [] for lib in libs}
    items = list(libs.items())
    for r in range(rounds):
        for lib, f in (items if r % 2 == 0 else items[::-1]):
            times = []
            for _ in range(calls):
                t0 = time.perf_counter()
                f()
                times.append(time.perf_counter() - t0)
            per[lib].append(statistics.median(times))
    return per


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", default=os.path.join(HERE, "results", "narrow_products.json"))
    args = ap.parse_args(argv)
    sys.path.insert(0, ROOT)
    import numpy as np
    import torch

    import deltagrad as dg
    from benchmarks.record import provenance
    from deltagrad.kernels import blas
    if not blas.mkl_available():
        raise SystemExit("narrow_products.py times MKL's products: install the mkl extra")
    blas.set_blas("mkl")
    dg.set_num_threads(1)
    torch.set_num_threads(1)
    mkl_gemm = blas.started_mkl()
    result = {**provenance(), "threads": 1, "rounds": args.rounds,
              "narrow": getattr(blas, "NARROW", None),
              "products": _products(args.rounds, np, torch, blas, mkl_gemm),
              "lstm_layer": _lstm_layers(args.rounds, np, torch, dg)}
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", args.json)


if __name__ == "__main__":
    main()
