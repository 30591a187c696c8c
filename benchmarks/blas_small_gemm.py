"""The workloads' small and skinny matrix products in NumPy's BLAS, PyTorch's, and MKL.

``lstm_breakdown.py`` found the LSTM's per-step products 1.47× slower in NumPy (OpenBLAS)
than in ``torch.mm`` (MKL) on the same shapes. This script times the products of several
workloads that way, one thread, interleaved round by round:

* NumPy's ``matmul`` into a preallocated output (OpenBLAS, what deltagrad calls);
* ``torch.mm`` into a preallocated output (MKL inside PyTorch's wheel);
* for a first layer's weight gradient (a small result over many positions), NumPy summed over
  blocks of positions, as deltagrad's convolution makes it (``ops/conv.py``);
* optionally MKL's ``cblas_sgemm`` called through ctypes from the ``mkl`` wheel of PyPI
  (``--mkl PATH`` to its ``libmkl_rt.so``; the wheel is 229 MB and not a dependency of
  deltagrad), with ``MKL_THREADING_LAYER=SEQUENTIAL``: whether MKL alone, without PyTorch,
  gives PyTorch's times.

    python benchmarks/blas_small_gemm.py [--mkl /path/to/libmkl_rt.so.3] [--rounds 3]

Writes benchmarks/results/blas_small_gemm.json.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (m, k, n): the product (m × k)·(k × n) of each workload named
SHAPES = {
    "lstm per-step W_hh·h": (512, 128, 32),
    "lstm per-step W_hhᵀ·δ": (128, 512, 32),
    "lenet conv1 W·cols": (6, 25, 50176),
    "lenet conv2 W·cols": (16, 150, 6400),
    "lenet conv1 weight gradient": (6, 50176, 25),
    "vae 784→300 layer": (100, 784, 300),
    "transformer q/k/v projection": (2048, 128, 384),
    "lstm ∂W_hh over all steps": (512, 2048, 128),
}

_ROW_MAJOR, _NO_TRANS = 101, 111


def operands(rng, torch, m, k, n, batch=()):
    """Random float32 A (*batch, m, k), B (*batch, k, n) and an output C (*batch, m, n) as
    NumPy arrays, and the same three as PyTorch tensors (A and B sharing the arrays'
    memory)."""
    import numpy as np
    a = rng.standard_normal(batch + (m, k), dtype=np.float32)
    b = rng.standard_normal(batch + (k, n), dtype=np.float32)
    c = np.empty(batch + (m, n), np.float32)
    return a, b, c, torch.from_numpy(a), torch.from_numpy(b), torch.empty(batch + (m, n))


def _mkl_sgemm(path):
    """MKL's cblas_sgemm from ``path`` through ctypes."""
    lib = ctypes.CDLL(path)
    f = lib.cblas_sgemm
    p, i = ctypes.c_void_p, ctypes.c_int
    f.argtypes = [i] * 6 + [ctypes.c_float, p, i, p, i, ctypes.c_float, p, i]
    f.restype = None
    return f


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mkl", help="path to libmkl_rt.so from the mkl wheel (optional)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ["MKL_THREADING_LAYER"] = "SEQUENTIAL"
    sys.path.insert(0, ROOT)
    import numpy as np
    import torch
    torch.set_num_threads(1)
    from benchmarks.record import median_time, provenance
    from deltagrad.ops import conv
    sgemm = _mkl_sgemm(args.mkl) if args.mkl else None
    rng = np.random.default_rng(0)
    rows = {}
    for name, (m, k, n) in SHAPES.items():
        a, b, c, ta, tb, tc = operands(rng, torch, m, k, n)
        calls = max(10, min(300, int(2e8 / (2 * m * k * n))))
        libs = {"numpy": lambda: np.matmul(a, b, out=c),
                "torch": lambda: torch.mm(ta, tb, out=tc)}
        if m * n < conv.CHUNKED_BELOW and k >= conv.CHUNKED_FROM:
            # how deltagrad's convolution makes this weight gradient: partial products
            # over blocks of positions, summed (ops/conv.py's _chunked_product)
            b_rows = np.ascontiguousarray(b.T)
            libs["numpy_blocks"] = lambda: conv._chunked_product(a, b_rows)
        if sgemm is not None:
            call = (_ROW_MAJOR, _NO_TRANS, _NO_TRANS, m, n, k, 1.0, a.ctypes.data, k,
                    b.ctypes.data, n, 0.0, c.ctypes.data, n)
            libs["mkl_ctypes"] = lambda: sgemm(*call)
        per = {lib: [] for lib in libs}
        for r in range(args.rounds):
            for lib, f in (list(libs.items()) if r % 2 == 0 else list(libs.items())[::-1]):
                per[lib].append(1e6 * median_time(f, calls))
        us = {lib: float(np.median(v)) for lib, v in per.items()}
        rows[name] = {"shape_mkn": [m, k, n], "median_us": us,
                      "numpy_over_torch": us["numpy"] / us["torch"], "rounds_us": per}
        extra = f"  MKL (ctypes) {us['mkl_ctypes']:9.1f} µs" if "mkl_ctypes" in us else ""
        if "numpy_blocks" in us:
            extra += f"  NumPy in blocks (deltagrad's conv) {us['numpy_blocks']:9.1f} µs"
        print(f"{name:32s} NumPy {us['numpy']:9.1f} µs  torch.mm {us['torch']:9.1f} µs{extra}"
              f"  NumPy/torch {rows[name]['numpy_over_torch']:.2f}", flush=True)
    out = os.path.join(HERE, "results", "blas_small_gemm.json")
    with open(out, "w") as f:
        json.dump({**provenance(), "threads": 1, "rounds": args.rounds,
                   "mkl_library": args.mkl, "results": rows}, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
