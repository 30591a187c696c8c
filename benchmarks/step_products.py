"""The recurrent loop's per-step products: ``kernels/numba_gemm.py`` against MKL and PyTorch.

A recurrent layer multiplies one packed weight matrix by a (B/P, K) block every time step.
One thread, interleaved round by round, this script times each per-step shape of the LSTM
and GRU workloads (batch 32, and 16 rows, a part at 2 threads) as a compiled loop of 200
products, in

* ``numba_gemm.product`` (B packed once by ``numba_gemm.pack``), what the loop makes on a
  processor with AVX-512;
* MKL's packed product (``mkl_gemm.packed_product``), what it made before and makes
  elsewhere;
* ``torch.mm`` into a preallocated output (PyTorch's MKL, with its Python call: ~5 µs).

    python benchmarks/step_products.py [--rounds 15]

Writes benchmarks/results/step_products.json. Needs Numba and MKL (the ``mkl`` extra).
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
REPEATS = 200

# name: (m, k, n) of (m, k)·(k, n)
SHAPES = {
    "lstm forward h·W_hh^T (32, 128)·(128, 512)": (32, 128, 512),
    "lstm backward delta·[W_hh | W_ih] (32, 512)·(512, 192)": (32, 512, 192),
    "lstm projection, 4 steps (128, 65)·(65, 512)": (128, 65, 512),
    "lstm forward, a part at 2 threads (16, 128)·(128, 512)": (16, 128, 512),
    "gru forward h·W_hh^T (32, 128)·(128, 384)": (32, 128, 384),
    "gru backward delta·W_hh (32, 384)·(384, 128)": (32, 384, 128),
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "step_products.json"))
    args = ap.parse_args(argv)
    sys.path.insert(0, ROOT)
    from benchmarks.record import pin_threads, provenance
    pin_threads(1)
    import numpy as np
    import torch
    from numba import njit

    import deltagrad as dg
    from deltagrad.kernels import blas, numba_gemm
    mkl = blas.started_mkl()
    torch.set_num_threads(1)

    @njit
    def own(a, panels, out, repeats):
        for _ in range(repeats):
            numba_gemm.product(a, panels, out)

    @njit
    def mkl_packed(a, packed, out, repeats):
        for _ in range(repeats):
            mkl.packed_product(a, packed, out.shape[1], out)

    rng = np.random.default_rng(0)
    rows = {}
    for name, (m, k, n) in SHAPES.items():
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        out = {lib: np.empty((m, n), np.float32) for lib in ("numba_gemm", "mkl", "torch")}
        panels, packed = numba_gemm.pack(b, False), mkl.pack(b, m, False)
        ta, tb, tout = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(out["torch"])

        def torch_mm():
            for _ in range(REPEATS):
                torch.mm(ta, tb, out=tout)

        runs = {"numba_gemm": lambda: own(a, panels, out["numba_gemm"], REPEATS),
                "mkl": lambda: mkl_packed(a, packed, out["mkl"], REPEATS), "torch": torch_mm}
        for run in runs.values():
            run()
        want = a.astype(np.float64) @ b
        for lib, o in out.items():
            np.testing.assert_allclose(o, want, rtol=1e-4, atol=1e-3)
        times = {lib: [] for lib in runs}
        dg.set_num_threads(1)
        for r in range(args.rounds):
            for lib in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                t0 = time.perf_counter()
                runs[lib]()
                times[lib].append(1e6 * (time.perf_counter() - t0) / REPEATS)
        us = {lib: statistics.median(v) for lib, v in times.items()}
        gflops = {lib: 2 * m * k * n / t / 1e3 for lib, t in us.items()}
        rows[name] = {"shape": [m, k, n], "median_us": us, "gflops": gflops,
                      "own_over_mkl": us["numba_gemm"] / us["mkl"]}
        print(f"{name:56s} numba_gemm {us['numba_gemm']:6.1f} µs ({gflops['numba_gemm']:4.0f} "
              f"GFLOP/s)  MKL packed {us['mkl']:6.1f} ({gflops['mkl']:4.0f})  torch.mm "
              f"{us['torch']:6.1f} ({gflops['torch']:4.0f})", flush=True)
    result = {**provenance(), "threads": 1, "rounds": args.rounds, "repeats": REPEATS,
              "avx512": numba_gemm.AVX512, "results": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
