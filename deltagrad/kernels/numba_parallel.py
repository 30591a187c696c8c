"""Numba's parallel loops (``prange``) at the thread count the user chose.

A ``@njit(parallel=True)`` kernel splits its ``prange`` loop over Numba's own native thread
pool (the OpenMP layer where libgomp is present): no GIL hand-off, no Python thread wakes
up. Measured on the project's 2-core VM: an empty ``prange`` kernel returns in 2.0 µs at 2
threads (0.7 µs at 1; a serial ``njit`` call 0.19 µs), where a round trip to a Python helper
thread (``deltagrad.threads.parallel``) costs 85-230 µs. So passes of a few hundred
microseconds -- the conv copies, batch norm -- are worth splitting; Python threads are not.

Waiting threads sleep (``OMP_WAIT_POLICY=PASSIVE``, set here unless the user set it, before
Numba loads its OpenMP pool): by default a GNU OpenMP thread spins for a while after each
loop, and on 2 cores a spinning pool thread takes a core from OpenBLAS's threads in the next
matrix product (a DCGAN step at 2 threads: best of 12, 176 -> 316 ms with spinning threads).
Sleeping threads cost a wake-up instead: an empty launch 4.0 µs at 2 threads.

``use_threads()`` sets Numba's thread count to ``deltagrad.get_num_threads()`` (capped at
the pool's size) before a launch, so ``set_num_threads(1)`` / ``--threads 1`` keeps every
kernel on one core. The call is cheap: it only talks to Numba when the count changed.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # read once, when the pool loads

import numba  # noqa: E402

from ..threads import get_num_threads  # noqa: E402

__all__ = ["use_threads", "OPTIONS"]

# cache=True: compiled once, then loaded from disk; nogil: callers on other threads run on
# (the kernels touch no Python objects). error_model="numpy": a division by zero gives
# inf/NaN as in NumPy instead of raising.
OPTIONS = dict(parallel=True, cache=True, nogil=True, error_model="numpy")

_set = [None]  # the count last given to Numba from this module


def use_threads() -> int:
    """Give Numba's pool the user's thread count (≤ the pool size); returns it."""
    want = max(1, min(get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    if _set[0] != want or numba.get_num_threads() != want:
        numba.set_num_threads(want)
        _set[0] = want
    return want
