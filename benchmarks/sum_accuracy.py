"""Long float32 sums: accuracy against float64 and time, for deltagrad's blocked BLAS sums
(``ops.reduce.sum_array``), the single matrix-vector product it replaced, NumPy's sum and
PyTorch's (issue 13: 10⁶ rows of 0.1 were 0.35 % off, 2·10⁷ rows 15 %).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/sum_accuracy.py

writes ``benchmarks/results/sum_accuracy.json``.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.record import provenance  # noqa: E402
from deltagrad.ops.reduce import sum_array  # noqa: E402

CASES = [((2048, 128), (0,)), ((256, 512), (0,)), ((20000, 10), (0,)), ((10 ** 6, 2), (0,)),
         ((2048, 128), (1,)), ((512, 1024), (1,)), ((64, 32, 28, 28), (0, 2, 3)),
         ((2 * 10 ** 7, 2), (0,))]


def single_gemv(x, axes):
    """The old path: one matrix-vector product with ones (naive accumulation)."""
    nd = x.ndim
    if axes == tuple(range(len(axes))):
        m = int(np.prod(x.shape[:len(axes)]))
        return np.ones(m, x.dtype) @ x.reshape(m, -1)
    if axes == tuple(range(nd - len(axes), nd)):
        x2 = x.reshape(-1, int(np.prod(x.shape[nd - len(axes):])))
        return x2 @ np.ones(x2.shape[1], x.dtype)
    return x.sum(axis=axes)


def timed(fn, repeat):
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e6


def main():
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        torch = None
    rows = []
    rng = np.random.default_rng(0)
    for shape, axes in CASES:
        big = np.prod(shape) > 10 ** 7
        repeat = 3 if big else 30
        x = np.full(shape, 0.1, np.float32) if big else \
            (rng.random(shape) + 0.5).astype(np.float32)
        want = x.astype(np.float64).sum(axis=axes).reshape(-1)

        def rel(got):
            return float(np.max(np.abs(np.asarray(got, np.float64).reshape(-1) - want))
                         / np.max(np.abs(want)))

        row = {"shape": list(shape), "axes": list(axes),
               "rel_error": {"deltagrad": rel(sum_array(x, axes)),
                             "single_gemv": rel(single_gemv(x, axes)),
                             "numpy": rel(x.sum(axis=axes))},
               "us": {"deltagrad": timed(lambda: sum_array(x, axes), repeat),
                      "single_gemv": timed(lambda: single_gemv(x, axes), repeat),
                      "numpy": timed(lambda: x.sum(axis=axes), repeat)}}
        if torch is not None:
            t = torch.from_numpy(x)
            row["rel_error"]["torch"] = rel(t.sum(dim=axes).numpy())
            row["us"]["torch"] = timed(lambda: t.sum(dim=axes), repeat)
        rows.append(row)
        print(f"{str(shape):18s} {str(axes):10s} " + "  ".join(
            f"{k} {row['rel_error'][k]:.1e} / {row['us'][k]:.0f} us" for k in row["us"]),
            flush=True)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                       "sum_accuracy.json")
    with open(out, "w") as f:
        json.dump(dict(provenance(), threads=os.environ.get("OMP_NUM_THREADS"), rows=rows), f,
                  indent=1)


if __name__ == "__main__":
    main()
