"""``dg.multiprocessing`` (``torch.multiprocessing``): Python's ``multiprocessing`` with the
``fork`` start method.

A forked child inherits the parent's modules, so ``import torch`` keeps meaning deltagrad in
it (under ``run-torch``) and a tensor passed as a ``Process`` argument reaches it as the
parent's object. What PyTorch adds on top is not here, and saying so is the point of this
module: PyTorch moves CPU tensors into shared memory when they cross processes
(``Tensor.share_memory_``, ``Module.share_memory``, the sharing strategies, ``spawn``), so
that a child's in-place update is seen by the parent (Hogwild training). deltagrad tensors
are private NumPy arrays; a child's update would silently stay in the child. Therefore:

- ``set_start_method`` / ``get_context`` accept only ``"fork"``: a ``spawn``ed child starts a
  fresh interpreter where ``import torch`` is PyTorch again (or fails), and would receive
  copies, not shared tensors;
- ``spawn``, ``start_processes`` and the sharing strategies do not exist (their torch
  spelling raises "not supported by deltagrad" under ``run-torch``).
"""
from __future__ import annotations

import multiprocessing as _multiprocessing

_CONTEXT_NAMES = ("Process", "Queue", "SimpleQueue", "JoinableQueue", "Pool", "Pipe",
                  "Manager", "Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition",
                  "Event", "Barrier", "Value", "Array")
cpu_count = _multiprocessing.cpu_count
current_process = _multiprocessing.current_process
parent_process = _multiprocessing.parent_process
active_children = _multiprocessing.active_children


def _fork_context():
    if "fork" not in _multiprocessing.get_all_start_methods():
        raise NotImplementedError("dg.multiprocessing needs the 'fork' start method, which this "
                                  "platform does not have")
    return _multiprocessing.get_context("fork")


def __getattr__(name):
    """``Process``, ``Queue``, ... of the fork context (looked up on use, so that importing
    deltagrad works where there is no fork)."""
    if name in _CONTEXT_NAMES:
        return getattr(_fork_context(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Process", "Queue", "SimpleQueue", "JoinableQueue", "Pool", "Pipe", "Manager",
           "Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event", "Barrier",
           "Value", "Array", "cpu_count", "current_process", "parent_process",
           "active_children", "get_context", "get_start_method", "set_start_method",
           "get_all_start_methods"]


def _only_fork(method, caller):
    if method != "fork":
        raise NotImplementedError(
            f"{caller}({method!r}): deltagrad supports only the 'fork' start method. A "
            f"{method!r} child starts a fresh interpreter in which 'import torch' is not "
            "deltagrad, and PyTorch's sharing of tensors between processes (Hogwild, "
            "Module.share_memory) does not exist in deltagrad.")


def set_start_method(method, force=False) -> None:
    """Only ``"fork"`` (see the module's docstring)."""
    _only_fork(method, "set_start_method")


def get_start_method(allow_none=False) -> str:
    return "fork"


def get_all_start_methods() -> list:
    return [m for m in _multiprocessing.get_all_start_methods() if m == "fork"]


def get_context(method=None):
    """The ``fork`` context (``method`` None or ``"fork"``)."""
    if method is not None:
        _only_fork(method, "get_context")
    return _fork_context()
