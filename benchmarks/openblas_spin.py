"""What OpenBLAS's idle threads cost deltagrad's own parallel work at 2 threads (issue 23).

After a matrix product, each of OpenBLAS's worker threads (the pthreads build NumPy ships)
waits for the next one by spinning -- ``sched_yield`` in a loop -- for 2^OPENBLAS_THREAD_TIMEOUT
cycles (default 2^28, about 0.1 s) before it sleeps. In a training step products come every
few milliseconds, so on a 2-core machine the second core is always taken by a spinning
thread, and the element-wise kernels that deltagrad splits over the cores (Numba's pool,
``deltagrad/kernels/numba_parallel.py``) share it with that thread. PyTorch runs its products
and its element-wise loops on one OpenMP pool, so its threads never wait against each other.

This script measures, at 2 threads:

* ``idle_cpu_ms``: the process's CPU time during a 50 ms sleep just after a 512 × 512 product
  (a spinning thread burns ~50 ms of it), for each timeout;
* ``batch_norm_ms``: deltagrad's batch-norm forward on (64, 128, 14, 14), a 2-thread compiled
  kernel, after a 0.2 s sleep and right after a product, for each timeout;
* ``steps_ms``: the training steps of the DCGAN (``benchmarks/gan.py``'s), the VAE
  (``benchmarks/vae.py``'s), and the ``lstm`` and ``transformer`` workloads of
  ``python -m benchmarks``, with the timeout switched in the same process between blocks of
  steps (``--blocks`` alternations, the order reversed every other block), the median step.

The timeout is switched while running by setting the environment variable, re-reading it
(``openblas_read_env``) and shutting the thread pool down (``blas_thread_shutdown_``, what
OpenBLAS does in a forked child); the next product starts the threads again with the new
value. Both are exported by OpenBLAS; this is a measurement, not something deltagrad does.

    python benchmarks/openblas_spin.py [--blocks 12] [--timeouts 28,20,4]

Writes benchmarks/results/openblas_spin.json.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "2"

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from benchmarks.record import provenance, write_result  # noqa: E402


def openblas():
    """NumPy's OpenBLAS as a ctypes library (threadpoolctl finds its file)."""
    import threadpoolctl
    for lib in threadpoolctl.threadpool_info():
        if lib.get("internal_api") == "openblas":
            return ctypes.CDLL(lib["filepath"]), lib
    raise RuntimeError("NumPy is not linked to OpenBLAS here; nothing to measure")


def set_timeout(lib, exponent):
    """Idle OpenBLAS threads spin 2^exponent cycles from the next product on."""
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(exponent)
    lib.openblas_read_env()
    lib.blas_thread_shutdown_()


def idle_cpu_ms(a):
    a @ a
    c0 = time.process_time()
    time.sleep(0.05)
    return (time.process_time() - c0) * 1e3


def batch_norm_ms(before, repeat=40):
    import deltagrad as dg
    import deltagrad.nn.functional as F
    rng = np.random.default_rng(0)
    x = dg.tensor(rng.standard_normal((64, 128, 14, 14), dtype=np.float32))
    w, b = dg.ones(128), dg.zeros(128)
    times = []
    for _ in range(repeat + 1):
        before()
        t0 = time.perf_counter()
        F.batch_norm(x, None, None, w, b, training=True)
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]) * 1e3)


def workload_steps():
    """{name: (step, steps per block)} for the four training steps."""
    import deltagrad as dg
    from benchmarks.gan import STEP_SCRIPT
    from benchmarks.workloads import build, torch_state
    steps = {}
    scope = {}
    exec(STEP_SCRIPT.split("from benchmarks.record import steady_step_times")[0].replace("which = sys.argv[1]",
                                                    "which = 'deltagrad'"), scope)
    steps["dcgan"] = (scope["step"], 3)
    sys.argv.append("--speed-only")  # benchmarks/vae.py: keep these thread settings
    from benchmarks import vae
    rng = np.random.default_rng(0)
    X = (rng.random((100, 784)) < 0.3).astype(np.float32)
    eps = rng.standard_normal((100, 40), dtype=np.float32)
    model, _ = vae.make_models(0, X)
    opt = dg.optim.Adam(model.parameters(), 1e-3)

    def vae_step():
        opt.zero_grad()
        model.loss(X, eps=eps).backward()
        opt.step()
    steps["vae"] = (vae_step, 30)
    for name, per in (("lstm", 10), ("transformer", 4)):
        steps[name] = (build(dg, name, torch_state(name)), per)
    return steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--blocks", type=int, default=12)
    ap.add_argument("--timeouts", default="28,20,4",
                    help="exponents to compare; 28 is OpenBLAS's default")
    args = ap.parse_args(argv)
    exponents = [int(v) for v in args.timeouts.split(",")]
    lib, info = openblas()
    import deltagrad as dg
    from benchmarks.worker import load_kernels
    load_kernels()
    dg.set_num_threads(2)
    a = np.random.default_rng(0).standard_normal((512, 512), dtype=np.float32)
    result = {"provenance": provenance(), "threads": 2, "openblas": {
        k: info.get(k) for k in ("version", "threading_layer", "architecture")},
        "idle_cpu_ms": {}, "batch_norm_ms": {}, "steps_ms": {}}
    for e in exponents:
        set_timeout(lib, e)
        result["idle_cpu_ms"][e] = float(np.median([idle_cpu_ms(a) for _ in range(5)]))
        result["batch_norm_ms"][e] = {
            "after_sleep": batch_norm_ms(lambda: time.sleep(0.2), repeat=15),
            "after_product": batch_norm_ms(lambda: a @ a)}
        print(f"timeout 2^{e}: idle CPU {result['idle_cpu_ms'][e]:.1f} ms in a 50 ms sleep; "
              f"batch norm {result['batch_norm_ms'][e]['after_sleep']:.2f} ms after a sleep, "
              f"{result['batch_norm_ms'][e]['after_product']:.2f} ms after a product",
              flush=True)
    for name, (step, per) in workload_steps().items():
        set_timeout(lib, exponents[0])
        until = time.perf_counter() + 1.0
        while time.perf_counter() < until:
            step()
        times = {e: [] for e in exponents}
        for block in range(args.blocks):
            for e in (exponents if block % 2 == 0 else exponents[::-1]):
                set_timeout(lib, e)
                step()
                for _ in range(per):
                    t0 = time.perf_counter()
                    step()
                    times[e].append(time.perf_counter() - t0)
        result["steps_ms"][name] = {e: float(np.median(t) * 1e3) for e, t in times.items()}
        base = result["steps_ms"][name][exponents[0]]
        print(f"{name}: " + ", ".join(f"2^{e} {ms:.2f} ms ({ms / base:.2f})" for e, ms in
                                      result["steps_ms"][name].items()), flush=True)
    set_timeout(lib, 28)
    write_result("openblas_spin", result)


if __name__ == "__main__":
    main()
