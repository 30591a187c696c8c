"""``dg.multiprocessing`` (``torch.multiprocessing``): Python's ``multiprocessing`` with
deltagrad tensors that can live in shared memory.

- Start methods ``fork`` (the default where the platform has it), ``spawn`` and
  ``forkserver``: ``set_start_method``, ``get_context``; ``Process``, ``Queue``, ... are those
  of the current method. Under ``run-torch`` a ``spawn``/``forkserver`` child is a fresh
  interpreter that still sees deltagrad as ``torch``, also when it re-imports the program's
  main file as ``__mp_main__`` (see ``deltagrad.torch_compat``).
- ``Tensor.share_memory_()`` / ``Module.share_memory()`` move tensors into shared-memory
  blocks; such a tensor passed to a child (``Process`` arguments, ``Queue``, ``Pipe``) is the
  same memory there, so in-place updates are seen by every process: Hogwild training
  (``dg.shared_memory``). A forked child inherits shared blocks as well.
- ``spawn(fn, args, nprocs, join)`` and ``start_processes`` run ``fn(i, *args)`` in ``nprocs``
  processes and raise ``ProcessRaisedException`` (with the child's traceback) or
  ``ProcessExitedException`` when one fails.

What differs from PyTorch, and is said here rather than hidden: a tensor that is *not*
shared crosses processes as a copy (PyTorch would move it into shared memory on the way), so
call ``share_memory_()`` before handing out a tensor whose updates must come back; there is
one sharing strategy, ``"file_system"`` (named blocks), and ``set_sharing_strategy`` refuses
``"file_descriptor"``; CUDA tensors cannot be shared.
"""
from __future__ import annotations

import multiprocessing as _multiprocessing
import signal as _signal
import sys as _sys
from multiprocessing import connection as _connection

_CONTEXT_NAMES = ("Process", "Queue", "SimpleQueue", "JoinableQueue", "Pool", "Pipe",
                  "Manager", "Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition",
                  "Event", "Barrier", "Value", "Array", "RawValue", "RawArray")
from multiprocessing import (  # noqa: E402  (torch.multiprocessing passes these through)
    AuthenticationError, BufferTooShort, ProcessError, TimeoutError, active_children,
    cpu_count, current_process, freeze_support, get_logger, log_to_stderr, parent_process,
    set_executable, set_forkserver_preload)

__all__ = ["Process", "Queue", "SimpleQueue", "JoinableQueue", "Pool", "Pipe", "Manager",
           "Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event", "Barrier",
           "Value", "Array", "RawValue", "RawArray", "cpu_count", "freeze_support",
           "set_executable", "set_forkserver_preload", "get_logger", "log_to_stderr",
           "ProcessError", "TimeoutError", "AuthenticationError", "BufferTooShort", "current_process", "parent_process",
           "active_children", "get_context", "get_start_method", "set_start_method",
           "get_all_start_methods", "spawn", "start_processes", "ProcessContext",
           "ProcessRaisedException", "ProcessExitedException", "get_sharing_strategy",
           "set_sharing_strategy", "get_all_sharing_strategies"]

_method = None  # set by set_start_method; None: the default


def __getattr__(name):
    """``Process``, ``Queue``, ... of the current start method's context (looked up on use)."""
    if name in _CONTEXT_NAMES:
        return getattr(get_context(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_all_start_methods() -> list:
    """The start methods this platform has (``fork`` first where it exists)."""
    return _multiprocessing.get_all_start_methods()


def _check_method(method, caller):
    methods = get_all_start_methods()
    if method not in methods:
        raise ValueError(f"{caller}: unknown start method {method!r}; expected one of "
                         f"{', '.join(repr(m) for m in methods)}")


def set_start_method(method, force=False) -> None:
    """Choose ``"fork"``, ``"spawn"`` or ``"forkserver"`` for ``dg.multiprocessing``'s
    ``Process``, ``Queue``, ...; a second call needs ``force=True`` (``None`` with ``force``
    goes back to the default)."""
    global _method
    if _method is not None and not force:
        raise RuntimeError(f"set_start_method({method!r}): the start method has already been "
                           f"set to {_method!r}; pass force=True to change it")
    if method is not None:
        _check_method(method, "set_start_method")
    _method = method


def get_start_method(allow_none=False):
    """The current start method (``None`` if none was set and ``allow_none``)."""
    if _method is None:
        return None if allow_none else get_all_start_methods()[0]
    return _method


def get_context(method=None):
    """The ``multiprocessing`` context of ``method`` (default: the current start method)."""
    if method is None:
        method = get_start_method()
    else:
        _check_method(method, "get_context")
    return _multiprocessing.get_context(method)


# ----------------------------------------------------------------------------- sharing strategy
def get_all_sharing_strategies() -> set:
    """``{"file_system"}``: shared tensors travel as the names of shared-memory blocks."""
    return {"file_system"}


def get_sharing_strategy() -> str:
    return "file_system"


def set_sharing_strategy(new_strategy) -> None:
    """Only ``"file_system"`` (what deltagrad does anyway)."""
    if new_strategy == "file_descriptor":
        raise NotImplementedError("set_sharing_strategy('file_descriptor'): deltagrad shares "
                                  "tensors only as named shared-memory blocks ('file_system')")
    if new_strategy != "file_system":
        raise ValueError(f"set_sharing_strategy: unknown strategy {new_strategy!r}; expected "
                         "'file_system' (or PyTorch's 'file_descriptor', which deltagrad lacks)")


# ----------------------------------------------------------------------------- spawn
class ProcessException(Exception):
    """A process started by ``spawn``/``start_processes`` failed."""

    def __init__(self, msg: str, error_index: int, pid: int):
        super().__init__(msg)
        self.msg, self.error_index, self.pid = msg, error_index, pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """Process ``error_index`` raised; the message ends with its traceback."""


class ProcessExitedException(ProcessException):
    """Process ``error_index`` exited with a non-zero code or was killed by a signal."""

    def __init__(self, msg, error_index, error_pid, exit_code, signal_name=None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                            self.signal_name)


def _run_child(fn, index, args, error_queue):
    """A child's body: ``fn(index, *args)``; an exception's traceback goes to the parent."""
    try:
        fn(index, *args)
    except KeyboardInterrupt:
        pass  # the parent is shutting the children down
    except Exception:
        import traceback
        error_queue.put(traceback.format_exc())
        _sys.exit(1)


class ProcessContext:
    """The processes ``start_processes(join=False)`` started; ``join`` waits for them."""

    def __init__(self, processes, error_queues):
        self.processes = processes
        self.error_queues = error_queues
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self):
        return [p.pid for p in self.processes]

    def join(self, timeout=None) -> bool:
        """Wait (up to ``timeout`` seconds) for processes to finish: True when all have.
        When one failed, the others are terminated and its error is raised."""
        if not self.sentinels:
            return True
        ready = _connection.wait(list(self.sentinels), timeout=timeout)
        failed = None
        for sentinel in ready:
            index = self.sentinels.pop(sentinel)
            self.processes[index].join()
            if self.processes[index].exitcode != 0:
                failed = index
                break
        if failed is None:
            return not self.sentinels
        for p in self.processes:
            if p.is_alive():
                p.terminate()
            p.join()
        self.sentinels.clear()
        process, queue = self.processes[failed], self.error_queues[failed]
        if not queue.empty():
            raise ProcessRaisedException(
                f"\n\n-- Process {failed} terminated with the following error:\n{queue.get()}",
                failed, process.pid)
        code = process.exitcode
        if code < 0:
            name = _signal.Signals(-code).name
            raise ProcessExitedException(f"process {failed} terminated with signal {name}",
                                         failed, process.pid, code, name)
        raise ProcessExitedException(f"process {failed} terminated with exit code {code}",
                                     failed, process.pid, code)


def start_processes(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """Run ``fn(i, *args)`` for ``i`` in ``range(nprocs)``, each in its own process started
    with ``start_method``. ``join=True`` waits and raises the first failure; ``join=False``
    returns a ``ProcessContext``."""
    if not callable(fn):
        raise TypeError(f"start_processes: fn must be callable, got {type(fn).__name__}")
    if isinstance(nprocs, bool) or not isinstance(nprocs, int) or nprocs < 1:
        raise ValueError(f"start_processes: nprocs must be a positive int, got {nprocs!r}")
    if not isinstance(args, tuple):
        raise TypeError(f"start_processes: args must be a tuple, got {type(args).__name__}")
    ctx = get_context(start_method)
    error_queues, processes = [], []
    for i in range(nprocs):
        queue = ctx.SimpleQueue()
        process = ctx.Process(target=_run_child, args=(fn, i, args, queue), daemon=daemon)
        process.start()
        error_queues.append(queue)
        processes.append(process)
    context = ProcessContext(processes, error_queues)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(fn, args=(), nprocs=1, join=True, daemon=False, start_method="spawn"):
    """``start_processes`` (``torch.multiprocessing.spawn``)."""
    return start_processes(fn, args, nprocs, join, daemon, start_method)
