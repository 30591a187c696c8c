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
    global _requested, _limiter, _detected
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
        from .kernels import blas
        if blas.mkl_started():
            blas.quiet_openblas()
    _requested = builtins.int(num_threads)
    _detected = None


def get_num_threads():
    """The thread count set by ``set_num_threads``, or else the BLAS library's own."""
    if _requested is not None:
        return _requested
    global _detected
    if _detected is None:
        _detected = _blas_threads()
    return _detected


def requested_num_threads():
    """The count given to ``set_num_threads``, or None when it has not been called."""
    return _requested


_detected = None  # the BLAS library's own count, read once


def _blas_threads():
    tpc = _threadpoolctl()
    if tpc is not None:
        counts = [lib["num_threads"] for lib in tpc.threadpool_info() if lib["user_api"] == "blas"]
        if counts:
            return builtins.max(counts)
    env = os.environ.get("OMP_NUM_THREADS", "")
    return builtins.int(env) if env.isdigit() and builtins.int(env) > 0 else (os.cpu_count() or 1)


# ----------------------------------------------------------------------------- fair share
# Two CPU-bound trainings that each start as many BLAS threads as there are cores slow each
# other down many times over (threads spin-wait for each other on cores the other process
# holds). ``deltagrad train`` therefore registers itself in a folder of live trainings and
# uses its fair share of the cores, cores // (live trainings), which it re-reads while it
# trains: a training started next to it takes half, and this one drops to half within a
# second; when the other ends, it takes all the cores again.
def _registry() -> str:
    import tempfile
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return os.path.join(tempfile.gettempdir(), f"deltagrad-{uid}-trainings")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    except OSError:
        return False
    return True


def live_trainings(folder: str | None = None) -> list:
    """The process ids registered as training now (entries of ended processes are removed)."""
    folder = folder or _registry()
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    pids = []
    for name in names:
        if not name.isdigit():
            continue
        pid = builtins.int(name)
        if _alive(pid):
            pids.append(pid)
        else:
            try:
                os.remove(os.path.join(folder, name))
            except OSError:
                pass
    return sorted(pids)


def fair_share(trainings: int, cores: int | None = None) -> int:
    """Threads of one of ``trainings`` concurrent trainings: cores // trainings, at least 1."""
    cores = cores or os.cpu_count() or 1
    return builtins.max(1, cores // builtins.max(1, trainings))


def parse_threads(text) -> "int | str":
    """``--threads``: a positive whole number, or ``auto`` (the fair share)."""
    if isinstance(text, str) and text.strip().lower() == "auto":
        return "auto"
    try:
        value = builtins.int(str(text).strip())
    except ValueError:
        raise ValueError(f"--threads expects a positive whole number or 'auto', got "
                         f"{text!r}") from None
    if value < 1:
        raise ValueError(f"--threads expects a positive whole number or 'auto', got {text!r}")
    return value


class ThreadPolicy:
    """How many threads one training uses: a fixed number, or ``"auto"``, the fair share of
    the cores among the live trainings (re-read by ``poll`` at most once per ``interval``
    seconds). Use as a context manager around the training: it registers the process on
    entry, and on exit removes the registration and restores the thread count it found."""

    def __init__(self, threads="auto", *, cores: int | None = None, interval: float = 1.0,
                 folder: str | None = None):
        self.threads = parse_threads(threads)
        self.cores = cores or os.cpu_count() or 1
        self.interval = interval
        self.folder = folder or _registry()
        self.current = None
        self._entry = None
        self._next_poll = 0.0
        self._before = None

    def __enter__(self):
        self._before = get_num_threads()
        if self.threads == "auto":
            os.makedirs(self.folder, exist_ok=True)
            self._entry = os.path.join(self.folder, str(os.getpid()))
            with open(self._entry, "w") as f:
                f.write(str(os.getpid()))
        self.poll(force=True)
        return self

    def __exit__(self, *exc):
        if self._entry is not None:
            try:
                os.remove(self._entry)
            except OSError:
                pass
            self._entry = None
        if self.current is not None and self.current != self._before:
            set_num_threads(self._before)
        self.current = None
        return False

    def wanted(self) -> int:
        if self.threads != "auto":
            return self.threads
        return fair_share(builtins.max(1, len(live_trainings(self.folder))), self.cores)

    def poll(self, force: bool = False) -> int:
        """Apply the thread count now wanted (cheap: a folder listing at most once per
        ``interval`` seconds); returns it."""
        import time
        now = time.monotonic()
        if not force and now < self._next_poll:
            return self.current
        self._next_poll = now + self.interval
        wanted = self.wanted()
        if wanted != self.current:
            set_num_threads(wanted)
            self.current = wanted
        return wanted


# ----------------------------------------------------------------------------- sharing work
# NumPy runs an element-wise operation on one core, and releases the GIL while it does. So
# the same operation on the two halves of an array, called from two threads, runs on two
# cores. ``parallel`` hands parts of one job to persistent helper threads (the caller does
# one part itself); ``parallel_rows`` splits a row range. Waking a helper and hearing back
# from it is not free: on this project's 2-core virtual machine the round trip of an empty
# job takes 85 µs at best and 150 µs typically, so splitting np.tanh pays from about 1M
# numbers and a memory-bound pass (np.negative) from about 2M (measured: 2M numbers 743 ->
# 571 µs and 578 -> 523 µs; 262K numbers 103 -> 214 µs, a loss). Work is therefore split
# only into parts of at least ``MIN_SPLIT_ELEMENTS`` numbers: large batches, whole-dataset
# preprocessing, large parameters.
MIN_SPLIT_ELEMENTS = builtins.int(os.environ.get("DELTAGRAD_SPLIT_MIN", 1 << 20))

_local = __import__("threading").local()


class _Helpers:
    """Helper threads, each waiting on its own semaphore for one part of a job."""

    def __init__(self):
        import threading
        self.threading = threading
        self.busy = threading.Lock()     # one job at a time; a second caller works alone
        self.threads = []                # [(semaphore, slot)] per helper
        self.done = threading.Semaphore(0)

    def _helper(self, go, slot):
        _local.helper = True             # work started here never splits again
        while True:
            go.acquire()
            try:
                slot[0]()
            except BaseException as e:   # handed back to the caller
                slot[1] = e
            self.done.release()

    def run(self, parts) -> None:
        if len(parts) == 1 or getattr(_local, "helper", False) \
                or not self.busy.acquire(blocking=False):
            for part in parts:
                part()
            return
        try:
            while len(self.threads) < len(parts) - 1:
                go, slot = self.threading.Semaphore(0), [None, None]
                self.threading.Thread(target=self._helper, args=(go, slot), daemon=True,
                                      name=f"deltagrad-helper-{len(self.threads)}").start()
                self.threads.append((go, slot))
            for (go, slot), part in zip(self.threads, parts[1:]):
                slot[0], slot[1] = part, None
                go.release()
            error = None
            try:
                parts[0]()
            except BaseException as e:
                error = e
            for _ in parts[1:]:
                self.done.acquire()
            for (go, slot), _ in zip(self.threads, parts[1:]):
                error = error or slot[1]
                slot[0] = slot[1] = None
            if error is not None:
                raise error
        finally:
            self.busy.release()


_helpers = None


def parallel(parts) -> None:
    """Run the zero-argument callables ``parts`` at once, one per thread (the calling thread
    runs the first); return when all have finished, raising the first error."""
    global _helpers
    parts = list(parts)
    if len(parts) <= 1:
        for part in parts:
            part()
        return
    if _helpers is None:
        _helpers = _Helpers()
    _helpers.run(parts)


def split_count(elements: int) -> int:
    """Into how many parts to split work on ``elements`` numbers: 1 when small or when one
    thread is allowed, else the thread count (with at least MIN_SPLIT_ELEMENTS per part)."""
    if elements < 2 * MIN_SPLIT_ELEMENTS or getattr(_local, "helper", False) or \
            (_helpers is not None and _helpers.busy.locked()):
        return 1  # small, or already inside shared work: the parts would run one by one
    threads = get_num_threads()
    if threads <= 1:
        return 1
    return builtins.min(threads, elements // MIN_SPLIT_ELEMENTS)


def parallel_rows(rows: int, row_size: int, body) -> None:
    """``body(lo, hi)`` over the row ranges of ``rows`` rows of ``row_size`` numbers, split
    over the threads when the work is large enough (``body`` must write disjoint rows)."""
    k = builtins.min(split_count(rows * row_size), rows)
    if k <= 1:
        body(0, rows)
        return
    edges = [rows * i // k for i in range(k + 1)]
    parallel([(lambda lo=lo, hi=hi: body(lo, hi)) for lo, hi in zip(edges, edges[1:])])


def balanced_groups(sizes, k: int) -> list:
    """Indices of ``sizes`` in ``k`` groups of about equal total (largest first, each to the
    lightest group); empty groups are dropped."""
    groups = [[] for _ in range(k)]
    totals = [0] * k
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        j = totals.index(builtins.min(totals))
        groups[j].append(i)
        totals[j] += sizes[i]
    return [sorted(g) for g in groups if g]


def split_apply(fn, *args):
    """``fn(*args)`` for an element-wise or row-wise ``fn`` on NumPy arrays, computed over
    blocks of rows of the leading axis on the threads, into one result: exactly what one
    call gives (every row is computed by the same code on the same numbers).

    The largest array argument sets the rows; arguments with its rank and leading length are
    cut into the same blocks, the others (numbers, arrays broadcast along the leading axis)
    are passed whole. ``fn`` may return an array or a tuple of arrays with those rows; a
    NumPy ufunc writes straight into the result. Small work is one plain call."""
    lead = None
    for a in args:
        if type(a) is np.ndarray and (lead is None or a.size > lead.size):
            lead = a
    if lead is None or lead.ndim == 0:
        return fn(*args)
    k = split_count(lead.size)
    n = lead.shape[0]
    if k <= 1 or n < k:
        return fn(*args)
    cut = []
    for a in args:
        if type(a) is np.ndarray and a.ndim == lead.ndim and a.shape[0] == n:
            cut.append(True)
        elif type(a) is np.ndarray and (a.ndim > lead.ndim or
                                        (a.ndim == lead.ndim and a.shape[0] != 1)):
            return fn(*args)  # not a row-wise broadcast
        else:
            cut.append(False)

    def rows(lo, hi):
        return [a[lo:hi] if c else a for a, c in zip(args, cut)]

    errors = np.geterr()  # the caller's error state (quiet_fp) holds in every part

    def call(parts, out=None):
        with np.errstate(**errors):
            return fn(*parts) if out is None else fn(*parts, out=out)

    probe = call(rows(0, 1))
    single = not isinstance(probe, tuple)
    probes = (probe,) if single else probe
    if not all(type(p) is np.ndarray and p.ndim >= 1 and p.shape[0] == 1 for p in probes):
        return fn(*args)
    outs = tuple(np.empty((n,) + p.shape[1:], p.dtype) for p in probes)
    ufunc = isinstance(fn, np.ufunc) and single

    def body(lo, hi):
        if ufunc:
            call(rows(lo, hi), out=outs[0][lo:hi])
            return
        r = call(rows(lo, hi))
        for o, v in zip(outs, (r,) if single else r):
            o[lo:hi] = v

    edges = [n * i // k for i in range(k + 1)]
    parallel([(lambda lo=lo, hi=hi: body(lo, hi)) for lo, hi in zip(edges, edges[1:])])
    return outs[0] if single else outs
