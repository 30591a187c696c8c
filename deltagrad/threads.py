"""``set_num_threads`` / ``get_num_threads``: how many threads the BLAS (and OpenMP) libraries
under NumPy may use for one operation, through threadpoolctl when it is installed (it comes with
scikit-learn). Without it the number can only be set before start-up (``OMP_NUM_THREADS``)."""
from __future__ import annotations

import builtins
import os
import warnings

import numpy as np

_requested = None
_limiter = None  # the active threadpoolctl limit (kept so it stays in force)


def _threadpoolctl():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl


def set_num_threads(num_threads):
    """Use at most ``num_threads`` threads for each matrix product and other BLAS call."""
    global _requested, _limiter
    if not isinstance(num_threads, (builtins.int, np.integer)) or isinstance(num_threads, bool):
        raise RuntimeError(f"set_num_threads expects an int, but got "
                           f"{type(num_threads).__name__}")
    if num_threads <= 0:
        raise RuntimeError(f"set_num_threads expects a positive integer, got {num_threads}")
    tpc = _threadpoolctl()
    if tpc is None:
        warnings.warn("set_num_threads: threadpoolctl is not installed, so the BLAS thread count "
                      "cannot change while running; pip install threadpoolctl, or set "
                      "OMP_NUM_THREADS before starting Python", RuntimeWarning, stacklevel=2)
    else:
        _limiter = tpc.threadpool_limits(limits=builtins.int(num_threads))
    _requested = builtins.int(num_threads)


def get_num_threads():
    """The thread count set by ``set_num_threads``, or else the BLAS library's own."""
    if _requested is not None:
        return _requested
    tpc = _threadpoolctl()
    if tpc is not None:
        counts = [lib["num_threads"] for lib in tpc.threadpool_info() if lib["user_api"] == "blas"]
        if counts:
            return builtins.max(counts)
    env = os.environ.get("OMP_NUM_THREADS", "")
    return builtins.int(env) if env.isdigit() and builtins.int(env) > 0 else (os.cpu_count() or 1)
