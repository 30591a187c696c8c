"""The convolution layers of the DCGAN step (issue 15) and of LeNet, one at a time: forward and
backward (input and weight gradients) of each, deltagrad against PyTorch, at 1 and 2 threads.

    python benchmarks/conv_speed.py [--repeat 30] [--threads 1 2] [--step]

Each thread count runs in its own process (OMP/OPENBLAS/MKL_NUM_THREADS and
``torch.set_num_threads`` set before the first product). Within it the two libraries run the
same layer in turn, alternating, and each keeps its best time of ``--repeat`` (the machine is
shared: the minimum is the time the work needs, the median also counts the neighbours).
``--step`` adds the whole DCGAN training step (benchmarks/gan.py ``speed()``, each library in
its own process). Writes benchmarks/results/conv_speed.json.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

# name: (conv or transposed, input shape, weight shape, stride, padding, input needs a grad)
LAYERS = {
    "dcgan G convT1 100→256 k7 (1→7)": ("T", (64, 100, 1, 1), (100, 256, 7, 7), 1, 0, False),
    "dcgan G convT2 256→128 k4 s2 (7→14)": ("T", (64, 256, 7, 7), (256, 128, 4, 4), 2, 1, True),
    "dcgan G convT3 128→1 k4 s2 (14→28)": ("T", (64, 128, 14, 14), (128, 1, 4, 4), 2, 1, True),
    "dcgan D conv1 1→64 k4 s2 (28→14)": ("C", (64, 1, 28, 28), (64, 1, 4, 4), 2, 1, True),
    "dcgan D conv2 64→128 k4 s2 (14→7)": ("C", (64, 64, 14, 14), (128, 64, 4, 4), 2, 1, True),
    "dcgan D conv3 128→1 k7 (7→1)": ("C", (64, 128, 7, 7), (1, 128, 7, 7), 1, 0, True),
    "lenet conv1 1→6 k5 p2 (28→28)": ("C", (64, 1, 28, 28), (6, 1, 5, 5), 1, 2, False),
    "lenet conv2 6→16 k5 (14→10)": ("C", (64, 6, 14, 14), (16, 6, 5, 5), 1, 0, True),
}

WORKER = r"""
import json, sys, time
import numpy as np
import torch
threads, repeat = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
import deltagrad as dg
import deltagrad.nn.functional as DF
import torch.nn.functional as TF
sys.path.insert(0, sys.argv[3])
from benchmarks.conv_speed import LAYERS

def runners(lib, F, kind, xs, ws, stride, pad, x_grad):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(xs, dtype=np.float32)
    w0 = (0.05 * rng.standard_normal(ws)).astype(np.float32)
    x = lib.tensor(x0, requires_grad=x_grad)
    w = lib.tensor(w0, requires_grad=True)
    op = F.conv_transpose2d if kind == "T" else F.conv2d
    fwd = lambda: op(x, w, stride=stride, padding=pad)
    y = fwd()
    g = lib.tensor(rng.standard_normal(tuple(y.shape), dtype=np.float32))
    def bwd():
        x.grad = None; w.grad = None
        out = fwd()
        t0 = time.perf_counter(); out.backward(g); return time.perf_counter() - t0
    def fwd_t():
        t0 = time.perf_counter(); fwd(); return time.perf_counter() - t0
    return fwd_t, bwd

rows = {}
for name, (kind, xs, ws, stride, pad, x_grad) in LAYERS.items():
    r = {"dg": runners(dg, DF, kind, xs, ws, stride, pad, x_grad),
         "torch": runners(torch, TF, kind, xs, ws, stride, pad, x_grad)}
    times = {(lib, part): [] for lib in r for part in ("forward", "backward")}
    for i in range(repeat + 2):
        for lib in ("dg", "torch"):
            for j, part in enumerate(("forward", "backward")):
                t = r[lib][j]()
                if i >= 2:
                    times[lib, part].append(t)
    row = {}
    for part in ("forward", "backward"):
        d, t = min(times["dg", part]) * 1e3, min(times["torch", part]) * 1e3
        row[part] = {"deltagrad_ms": d, "torch_ms": t, "ratio": d / t,
                     "deltagrad_median_ms": float(np.median(times["dg", part])) * 1e3,
                     "torch_median_ms": float(np.median(times["torch", part])) * 1e3}
    rows[name] = row
print(json.dumps(rows))
"""


def layers_at(threads, repeat):
    env = dict(os.environ, PYTHONPATH=ROOT)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    out = subprocess.run([sys.executable, "-c", WORKER, str(threads), str(repeat), ROOT],
                         env=env, cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def table(rows):
    lines = [f"{'layer':40s} {'forward dg / torch ms':>24s} {'ratio':>6s} "
             f"{'backward dg / torch ms':>24s} {'ratio':>6s}"]
    total = {"dg": 0.0, "torch": 0.0}
    for name, row in rows.items():
        f, b = row["forward"], row["backward"]
        lines.append(f"{name:40s} {f['deltagrad_ms']:11.2f} / {f['torch_ms']:8.2f} {f['ratio']:6.2f} "
                     f"{b['deltagrad_ms']:11.2f} / {b['torch_ms']:8.2f} {b['ratio']:6.2f}")
        if name.startswith("dcgan"):
            total["dg"] += f["deltagrad_ms"] + b["deltagrad_ms"]
            total["torch"] += f["torch_ms"] + b["torch_ms"]
    lines.append(f"dcgan layers, forward + backward: {total['dg']:.2f} / {total['torch']:.2f} ms "
                 f"({total['dg'] / total['torch']:.2f})")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--step", action="store_true", help="also the whole DCGAN step (gan.py)")
    ap.add_argument("--json", default=os.path.join(ROOT, "benchmarks", "results",
                                                   "conv_speed.json"))
    args = ap.parse_args(argv)
    from benchmarks.record import provenance
    result = {"provenance": provenance(), "repeat": args.repeat, "layers": {}}
    for threads in args.threads:
        rows = layers_at(threads, args.repeat)
        result["layers"][f"threads_{threads}"] = rows
        print(f"--- {threads} thread(s), best of {args.repeat}, load {os.getloadavg()[0]:.2f}")
        print(table(rows), flush=True)
    if args.step:
        from benchmarks import gan
        result["dcgan_step"] = gan.speed()
    result["load_average_after"] = os.getloadavg()
    with open(args.json, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", args.json)


if __name__ == "__main__":
    main()
