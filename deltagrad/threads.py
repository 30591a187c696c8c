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
