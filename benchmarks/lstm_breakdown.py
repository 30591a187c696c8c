"""Where the LSTM workload's time goes, deltagrad against PyTorch, one layer at a time.

The `lstm` row of ``python -m benchmarks`` is deltagrad's slowest against PyTorch. This
script times, in one process at the thread count given and interleaved round by round (so a
machine whose speed drifts slows both alike):

* the layer (``nn.LSTM(64, 128, batch_first=True)``, batch 32, 64 steps, PyTorch's weights
  loaded into deltagrad's), forward and forward + backward, in both libraries;
* the matrix products deltagrad's compiled loop makes for that layer's training step
  (``kernels/numba_sequence.py``), each in deltagrad's BLAS (``kernels/blas.matmul``: MKL
  when installed, else NumPy's) and in ``torch.mm`` (PyTorch's MKL) on the same shapes: the
  64 per-step products h_{t−1}·W_hhᵀ (forward) and δ_t·[W_hh | W_ih] (backward, ∂L/∂h_{t−1}
  and ∂L/∂x_t together), the input projections (16 products of 4 steps' rows), and the
  weight gradient [x_t | 1 | h_{t−1}]ᵀ·δ over all steps (∂W_ih, ∂b, ∂W_hh in one product).
  (PyTorch's own LSTM makes the same products, but ∂L/∂x as one product after its loop and
  the projections as one before. On a processor with AVX-512 the loop makes its per-step
  products and projections in ``kernels/numba_gemm.py`` instead: ``step_products.py``
  times those.)

If the products cost the same in both libraries while the layers do not, the difference is
PyTorch's fused oneDNN RNN (``aten::mkldnn_rnn_layer``) against deltagrad's per-step loop.

    python benchmarks/lstm_breakdown.py [--threads 1] [--rounds 5]

Both libraries share one process, so keep to one thread: at two, the OpenMP runtime that
PyTorch loads first would make Numba's pool threads spin (``kernels/numba_parallel.py``) and
the comparison would measure that contention (``python -m benchmarks`` uses one process per
library for the 2-thread numbers). They share that runtime's thread count too: PyTorch's
wheel ships its own ``libgomp.so.1``, the loader gives deltagrad (MKL, Numba) the same copy,
and Numba starting its pool set the count to the pool's size — after which PyTorch's "one
thread" LSTM ran on two (process CPU time 1.99× wall time, 1.7× faster; measured by hand).
deltagrad now puts the count back (``kernels/numba_parallel._start_pool``); this script still
sets each library's count before each of its timings and records the CPU time / wall time
of every timing (``cpu_per_wall``: ~1.0 at one thread).

Writes benchmarks/results/lstm_breakdown.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

T, B, I, H = 64, 32, 64, 128


def _cases():
    """{name: (deltagrad/NumPy callable, PyTorch callable)}."""
    import numpy as np
    import torch

    import deltagrad as dg
    from deltagrad.kernels.blas import matmul
    rng = np.random.default_rng(0)
    x = rng.standard_normal((B, T, I), dtype=np.float32)
    gy = rng.standard_normal((B, T, H), dtype=np.float32)
    torch.manual_seed(0)
    t_lstm = torch.nn.LSTM(I, H, batch_first=True)
    d_lstm = dg.nn.LSTM(I, H, batch_first=True)
    d_lstm.load_state_dict({k: v.detach().numpy().copy() for k, v in t_lstm.state_dict().items()})
    tx, dx = torch.from_numpy(x).requires_grad_(), dg.from_numpy(x).requires_grad_()
    tg, dgy = torch.from_numpy(gy), dg.from_numpy(gy)

    def arrays(*shapes):
        return [rng.standard_normal(s, dtype=np.float32) for s in shapes]

    steps = 4  # the input projections of 4 steps (128 rows) a product
    w_hh_t, h_t, w_back, delta_t = arrays((H, 4 * H), (B, H), (4 * H, H + I), (B, 4 * H))
    w_ih_t, x_steps = arrays((I + 1, 4 * H), (T // steps, steps * B, I + 1))
    delta, rows = arrays((T * B, 4 * H), (T * B, I + 1 + H))
    out_step = np.empty((B, 4 * H), np.float32)
    back_step = np.empty((B, H + I), np.float32)
    tt = {k: torch.from_numpy(v) for k, v in dict(
        w_hh_t=w_hh_t, h_t=h_t, w_back=w_back, delta_t=delta_t, w_ih_t=w_ih_t,
        x_steps=x_steps, delta=delta, rows=rows).items()}
    t_out, t_back = torch.empty(B, 4 * H), torch.empty(B, H + I)

    def per_step_ours():
        for _ in range(T):
            matmul(h_t, w_hh_t, out=out_step)
            matmul(delta_t, w_back, out=back_step)

    def per_step_torch():
        for _ in range(T):
            torch.mm(tt["h_t"], tt["w_hh_t"], out=t_out)
            torch.mm(tt["delta_t"], tt["w_back"], out=t_back)

    def lstm_fwd_bwd(layer, xin, g):
        def run():
            layer(xin)[0].backward(g)
        return run

    return {
        "layer forward": (lambda: d_lstm(dx), lambda: t_lstm(tx)),
        "layer forward + backward": (lstm_fwd_bwd(d_lstm, dx, dgy),
                                     lstm_fwd_bwd(t_lstm, tx, tg)),
        "per-step products, forward and backward (2 x 64)": (per_step_ours, per_step_torch),
        "input projections, 16 products of 4 steps": (
            lambda: matmul(x_steps, w_ih_t), lambda: torch.matmul(tt["x_steps"], tt["w_ih_t"])),
        "weight gradient [x | 1 | h]^T delta over all steps": (
            lambda: matmul(rows.T, delta), lambda: tt["rows"].T @ tt["delta"]),
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=15, help="timed calls per round")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "lstm_breakdown.json"))
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, ROOT)
    import numpy as np
    import torch
    torch.set_num_threads(args.threads)
    from benchmarks.record import median_time, provenance
    from benchmarks.worker import load_kernels
    load_kernels()
    import deltagrad as dg
    set_threads = {"deltagrad": dg.set_num_threads, "torch": torch.set_num_threads}
    cases = _cases()
    rounds = {name: {"deltagrad": [], "torch": []} for name in cases}
    cpu = {name: {"deltagrad": [], "torch": []} for name in cases}
    for r in range(args.rounds):
        for name, (ours, theirs) in cases.items():
            pair = [("deltagrad", ours), ("torch", theirs)]
            for lib, f in (pair if r % 2 == 0 else pair[::-1]):
                set_threads[lib](args.threads)  # the shared OpenMP count (see above)
                c0, w0 = time.process_time(), time.perf_counter()
                rounds[name][lib].append(1e3 * median_time(f, args.steps))
                cpu[name][lib].append((time.process_time() - c0) / (time.perf_counter() - w0))
    rows = {}
    for name, per in rounds.items():
        ms = {lib: float(np.median(v)) for lib, v in per.items()}
        rows[name] = {"median_ms": ms, "ratio": ms["deltagrad"] / ms["torch"],
                      "cpu_per_wall": {lib: round(float(np.median(v)), 2)
                                       for lib, v in cpu[name].items()},
                      "rounds_ms": per}
        print(f"{name:50s} deltagrad {ms['deltagrad']:7.2f} ms  PyTorch {ms['torch']:7.2f} ms"
              f"  ratio {rows[name]['ratio']:.2f}  CPU/wall {rows[name]['cpu_per_wall']}",
              flush=True)
    result = {**provenance(), "threads": args.threads, "rounds": args.rounds,
              "shapes": {"T": T, "B": B, "input": I, "hidden": H}, "results": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
