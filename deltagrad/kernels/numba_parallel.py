"""Numba's parallel loops (``prange``) at the thread count the user chose.

A ``@njit(parallel=True)`` kernel splits its ``prange`` loop over Numba's own native thread
pool (the OpenMP layer: GNU libgomp here), with no GIL hand-off. What a launch costs on the
project's 2-core VM depends on what the pool threads do between loops (measured, empty
``prange`` kernel at 2 threads, after 0 / 100 / 1000 µs of other work on the caller):

- spinning (libgomp's default, GOMP_SPINCOUNT=300000): 1.5 / 1.7 / 3.3 µs -- but a spinning
  pool thread takes a core from OpenBLAS's threads in the next matrix product: a DCGAN step
  at 2 threads, best of 20, 168 ms with the NumPy copies -> 271 ms with the compiled ones;
- sleeping (``OMP_WAIT_POLICY=PASSIVE``): 59 / 109 / 147 µs, the wake-up of an idle vCPU --
  as dear as a round trip to a Python helper thread (85-230 µs, ``deltagrad.threads``).

So with NumPy's OpenBLAS the pool threads sleep (``openmp_wait_policy`` sets PASSIVE before
Numba loads its pool, unless the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT), and a kernel
uses them only for work of at least 1M (2²⁰) numbers, the bar of ``deltagrad.threads``. With MKL
running the products on this same pool its threads spin between regions, as PyTorch's do
(there is no OpenBLAS pool to take a core from), a launch costs microseconds, and the bar is
16K numbers: LeNet's activations (301K, 102K), its second im2col (960K), the transformer's
attention rows and nanoGPT's (768, 128) layer norms are then split too (steps at 2 threads,
1M against 100K, three interleaved runs of 60 / two of 40 steps, by hand: LeNet 14.8 ->
12.6 ms, the transformer 98.6 -> 91 ms; the MLP and LSTM the same). From 100K down to 16K
(by hand, 2 threads, µs on one thread / on two): layer norm of 16K numbers forward 28 / 22,
backward 57 / 43, GELU 63 / 39; of 98K (768 rows of 128) forward 108 / 64, backward
234 / 126–139; at 8K about even. ``MIN_SPLIT_ELEMENTS`` holds the bar in force;
smaller work runs on the calling thread (a 1-thread launch: 0.7 µs). The thread count is
``deltagrad.get_num_threads()`` (capped at the pool's size), so ``set_num_threads(1)`` /
``--threads 1`` keeps every kernel on one core.

GNU OpenMP is not fork-safe: a process forked after the pool started (a ``fork`` data-loader
worker, a forked training process) would be stopped by Numba at its first parallel loop, so
``usable()`` is False there and the callers take the NumPy path.

Numba loads libgomp once per process; if another library (PyTorch) loaded it first, its
settings hold -- import deltagrad's kernels first, or set OMP_WAIT_POLICY=PASSIVE yourself.
The two then share one OpenMP thread count as well (PyTorch's wheel ships its own
``libgomp.so.1``, and the loader hands Numba and MKL that copy), which bounds the threads of
every parallel region, these loops' included. Numba's OpenMP layer sets that count to its
pool's size when the pool starts: PyTorch's LSTM at ``torch.set_num_threads(1)`` then ran on
two threads (1.7× faster; by hand). ``_start_pool`` puts the count back: to
``deltagrad.set_num_threads``'s when it was called, else to what it was. A later
``torch.set_num_threads(n)`` sets it for these loops too (one runtime, one count).
"""
from __future__ import annotations

import ctypes
import os

from . import openmp_wait_policy  # noqa: E402

openmp_wait_policy()  # read once, when the pool loads

import numba  # noqa: E402

from . import numba_cache  # noqa: F401,E402  (before any cached kernel: see there)
from .. import threads  # noqa: E402
from ..threads import get_num_threads  # noqa: E402

# Numba runs prange loops on the first threading layer it can load from this list. Its own
# order puts TBB first, and Intel's mkl wheel (the mkl extra) installs TBB: the kernels then
# ran on a TBB pool beside the GNU OpenMP pool of MKL's products, two pools taking turns on
# the cores. Steps at 2 threads, TBB against OpenMP, three interleaved runs of 50 steps each
# (by hand): LeNet 15.6 -> 14.7 ms, the transformer 101 -> 88 ms; the MLP and LSTM the same.
# The user's NUMBA_THREADING_LAYER(_PRIORITY) still wins.
if not os.environ.get("NUMBA_THREADING_LAYER") and \
        not os.environ.get("NUMBA_THREADING_LAYER_PRIORITY"):
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "tbb", "workqueue"]

SPINNING_MIN_SPLIT = 16_384  # the bar while the pool threads spin (see the module docstring)
MIN_SPLIT_ELEMENTS = threads.MIN_SPLIT_ELEMENTS if \
    os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "PASSIVE" else SPINNING_MIN_SPLIT

__all__ = ["use_threads", "splits", "usable", "OPTIONS"]

# cache=True: compiled once, then loaded from disk; nogil: callers on other threads run on
# (the kernels touch no Python objects). error_model="numpy": a division by zero gives
# inf/NaN as in NumPy instead of raising.
OPTIONS = dict(parallel=True, cache=True, nogil=True, error_model="numpy")

_set = [None]  # the count last given to Numba from this module
_pool_pid = []  # the process whose kernels started the pool


def usable() -> bool:
    """Whether the parallel kernels may run in this process: False in a child forked after
    the pool started."""
    return not _pool_pid or _pool_pid[0] == os.getpid()


def splits(elements: int) -> bool:
    """Whether work on ``elements`` numbers runs on more than one thread."""
    return elements >= MIN_SPLIT_ELEMENTS and min(get_num_threads(),
                                                  numba.config.NUMBA_NUM_THREADS) > 1


def _start_pool():
    """Start Numba's pool, leaving the OpenMP thread count (see the module docstring) at
    ``deltagrad.set_num_threads``'s count when it was called, else where it was."""
    try:
        gomp = ctypes.CDLL("libgomp.so.1")  # the copy already loaded, if any
        before = gomp.omp_get_max_threads()
    except (OSError, AttributeError):
        gomp = None
    numba.get_num_threads()  # starts the pool
    if gomp is not None and numba.threading_layer() == "omp":
        requested = threads.requested_num_threads()
        gomp.omp_set_num_threads(before if requested is None else requested)


def use_threads(elements: int) -> int:
    """Give Numba's pool the thread count for work on ``elements`` numbers: the user's
    (≤ the pool size) from ``MIN_SPLIT_ELEMENTS`` on, else 1. Returns it."""
    if not _pool_pid:
        _pool_pid.append(os.getpid())
        _start_pool()
    want = 1
    if elements >= MIN_SPLIT_ELEMENTS:
        want = max(1, min(get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    if _set[0] != want or numba.get_num_threads() != want:
        numba.set_num_threads(want)
        _set[0] = want
    return want
