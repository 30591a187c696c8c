"""The GPU check, one command for anyone with an NVIDIA GPU and CuPy:

    pip install -e ".[test]" cupy-cuda12x && python benchmarks/gpu_check.py

1. Every op of the test registry (tests/core/opinfo.py) on CuPy against NumPy: forward values
   and gradients (float64, a few random samples each).
2. A few training steps of the mlp, lenet, lstm (character LSTM) and transformer (character
   Transformer) workloads of benchmarks/workloads.py on ``cuda``: the losses must equal the
   CPU's (float64) and the step time is measured.
3. With PyTorch CUDA available, the same workloads' step times in PyTorch at the same batch
   (benchmarks/workloads.py builds both with the same weights): the ratio deltagrad / PyTorch.

``--strict`` runs parts 1 and 2 on the strict pretend GPU instead (no GPU needed; the CI suite
runs the same checks in tests/device). Writes benchmarks/results/gpu_check.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def check_ops(device, samples=3):
    """(name, ok, message) for every registry op on ``device`` against the CPU."""
    from hypothesis import HealthCheck, given, settings, strategies as st
    import deltagrad as dg
    from tests.core.opinfo import OPS
    from tests.device.test_strict_device import _OnDevice, _host, _run
    rows = []
    for op in OPS:
        @settings(max_examples=samples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(data=st.data())
        def one(data):
            sample = op.sample(data.draw)
            ins, outs = _run(dg, op, sample.arrays, sample.kwargs, "cpu")
            dins, douts = _run(_OnDevice(), op, sample.arrays, sample.kwargs, device)
            for o, d in zip(outs, douts):
                np.testing.assert_allclose(_host(d), _host(o), rtol=1e-9, atol=1e-10,
                                           equal_nan=True)
            if op.grad and any(o.requires_grad for o in outs):
                sum(o.sum() for o in outs if o.requires_grad).backward()
                sum(d.sum() for d in douts if d.requires_grad).backward()
                for x, dx in zip(ins, dins):
                    if x.grad is not None:
                        np.testing.assert_allclose(_host(dx.grad), _host(x.grad), rtol=1e-8,
                                                   atol=1e-10)
        try:
            one()
            rows.append({"op": op.name, "ok": True})
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the run
            rows.append({"op": op.name, "ok": False,
                         "error": "".join(traceback.format_exception_only(type(e), e))[-400:]})
    return rows


def _state(name):
    """The workload's initial weights, drawn by deltagrad under a fixed seed (no torch needed)."""
    import deltagrad as dg
    from benchmarks.workloads import _models
    dg.manual_seed(0)
    return {k: v.detach().numpy().copy() for k, v in _models(dg, name).state_dict().items()}


WORKLOAD_NAMES = ("mlp", "lenet", "lstm", "transformer")


def check_training(device, steps=5):
    """Losses of a few steps on the CPU and on ``device`` (float64) and the device step time."""
    import deltagrad as dg
    from benchmarks.workloads import build
    out = []
    for name in WORKLOAD_NAMES:
        state = _state(name)
        results = {}
        for dev in ("cpu", device):
            step = build(dg, name, state, device=dev, dtype=dg.float64)
            losses, times = [], []
            for _ in range(steps):
                t0 = time.perf_counter()
                losses.append(float(step().item()))
                times.append(time.perf_counter() - t0)
            results[dev] = (losses, float(np.median(times[1:])))
        diff = float(np.max(np.abs(np.array(results["cpu"][0]) - np.array(results[device][0]))))
        out.append({"workload": name, "max_loss_difference": diff, "ok": diff < 1e-8,
                    "device_step_ms": results[device][1] * 1e3,
                    "cpu_step_ms": results["cpu"][1] * 1e3})
    return out


def torch_cuda_ratios(steps=30):
    """deltagrad cuda / PyTorch cuda step time per workload (float32, the benchmark batches,
    the same initial weights)."""
    import torch
    import deltagrad as dg
    from benchmarks.workloads import build, torch_state
    rows = []
    for name in WORKLOAD_NAMES:
        state = torch_state(name)
        times = {}
        cp = dg.backend._import_cupy()
        for lib, sync in ((dg, cp.cuda.runtime.deviceSynchronize), (torch, torch.cuda.synchronize)):
            step = build(lib, name, state, device="cuda")
            ts = []
            for _ in range(steps):
                sync()
                t0 = time.perf_counter()
                step()
                sync()
                ts.append(time.perf_counter() - t0)
            times[lib.__name__] = float(np.median(ts[5:]))
        rows.append({"workload": name, "deltagrad_ms": times["deltagrad"] * 1e3,
                     "torch_ms": times["torch"] * 1e3,
                     "ratio": times["deltagrad"] / times["torch"]})
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--strict", action="store_true",
                   help="check on the strict pretend GPU (no GPU needed)")
    args = p.parse_args(argv)
    import deltagrad as dg
    from benchmarks.record import provenance
    if args.strict:
        from deltagrad.testing import use_strict_device
        context = use_strict_device()
    else:
        if not dg.cuda.is_available():
            raise SystemExit("gpu_check: no CUDA GPU visible to CuPy (pip install cupy-cuda12x "
                             "on a machine with an NVIDIA GPU), or run with --strict")
        import contextlib
        context = contextlib.nullcontext()
    result = {"mode": "strict pretend GPU" if args.strict else "CuPy on CUDA"}
    with context:
        ops = check_ops("cuda")
        result["ops"] = {"checked": len(ops), "failed": [r for r in ops if not r["ok"]]}
        print(f"ops: {len(ops) - len(result['ops']['failed'])}/{len(ops)} equal to the CPU")
        result["training"] = check_training("cuda")
        for r in result["training"]:
            print(f"{r['workload']}: losses differ by {r['max_loss_difference']:.2g}, step "
                  f"{r['device_step_ms']:.2f} ms on the device ({r['cpu_step_ms']:.2f} on CPU)")
    if not args.strict:
        try:
            import torch
            if torch.cuda.is_available():
                result["torch_cuda"] = torch_cuda_ratios()
                for r in result["torch_cuda"]:
                    print(f"{r['workload']}: {r['deltagrad_ms']:.2f} ms vs PyTorch "
                          f"{r['torch_ms']:.2f} ms, ratio {r['ratio']:.2f}")
        except ImportError:
            result["torch_cuda"] = "torch not installed"
    result["provenance"] = provenance()
    name = "gpu_check_strict.json" if args.strict else "gpu_check.json"
    path = os.path.join(ROOT, "benchmarks", "results", name)
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", path)
    failed = result["ops"]["failed"] or [r for r in result["training"] if not r["ok"]]
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
