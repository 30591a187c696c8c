"""Tensors in shared memory (``Tensor.share_memory_``, ``Module.share_memory``) and how a
shared tensor crosses processes (the CPU part of ``torch.multiprocessing``).

``share_memory_()`` moves a CPU tensor's array into a ``multiprocessing.shared_memory``
block (a file ``/dev/shm/deltagrad_*`` on Linux): the tensor keeps its values, shape, dtype
and memory order, and every view taken afterwards shows the same block.

Crossing processes: ``multiprocessing`` pickles ``Process`` arguments (``spawn``,
``forkserver``), ``Queue`` and ``Pipe`` items with its ``ForkingPickler``. For that pickler a
shared tensor reduces to its block's name and its place in it (byte offset, shape, strides,
dtype) plus ``requires_grad``; the receiving process maps the same block, so an in-place write
in one process (an optimizer step, ``add_``, ``copy_``, ``p.data -= ...``) is seen by all
(Hogwild training). A ``fork``ed child inherits the mapping itself. ``.grad`` never travels.
A tensor that is not shared arrives as a copy (PyTorch would first move it into shared memory:
call ``share_memory_()`` yourself); plain ``pickle``, ``copy.deepcopy`` and ``dg.save`` copy
a shared tensor too.

Lifetime: every block is mapped once per process as a flat byte array (its *root*); tensors'
arrays are NumPy views of the root, so the root lives exactly as long as some array uses the
memory. When it dies, the process that created the block unlinks the name (at exit at the
latest); other processes only unmap it.
"""
from __future__ import annotations

import os
import pickle
import secrets
import sys
import weakref
from multiprocessing import shared_memory as _shm
from multiprocessing.reduction import ForkingPickler

import numpy as np

_PREFIX = "deltagrad_"
_blocks: dict = {}  # id(root) -> SharedMemory, while the root lives
_roots_by_name = weakref.WeakValueDictionary()  # block name -> root, one mapping per process
_released: list = []  # SharedMemory objects whose root died: unmapped on the next share/attach


class _Block(_shm.SharedMemory):
    """``SharedMemory`` whose finalizer tolerates arrays that still show the block (only at
    interpreter exit, where the OS unmaps it anyway)."""

    def __del__(self):
        try:
            self.close()
        except BufferError:  # arrays still show it as the interpreter exits: the OS unmaps
            pass


def _root_of(array):
    """The root (flat byte array of a block) that ``array`` shows, or None."""
    base = getattr(array, "base", None)
    return base if base is not None and id(base) in _blocks else None


def is_shared(t) -> bool:
    """Whether the tensor's memory is a shared-memory block (``Tensor.is_shared``)."""
    return _root_of(t._data) is not None


def _adopt(shm, owner_pid):
    """The root of ``shm``; it unlinks (owner) or unmaps the block when it dies."""
    root = np.frombuffer(shm.buf, dtype=np.uint8)
    _blocks[id(root)] = shm
    _roots_by_name[shm.name] = root
    weakref.finalize(root, _release, id(root), owner_pid)
    return root


def _release(key, owner_pid):
    """A root died: its creator unlinks the block's name; every process unmaps it."""
    shm = _blocks.pop(key)
    if os.getpid() == owner_pid:
        try:
            shm.unlink()
        except FileNotFoundError:
            pass
    # the dying root still holds the buffer here (a weakref callback runs before NumPy lets
    # go of it), so SharedMemory.close would raise BufferError: unmap a little later
    _released.append(shm)


def _close_released():
    """Unmap the blocks whose roots have died since the last call."""
    for _ in range(len(_released)):
        shm = _released.pop(0)
        try:
            shm.close()
        except BufferError:  # (only if its root is somehow still being torn down)
            _released.append(shm)


def _view_of(root, offset, shape, strides, dtype):
    return np.ndarray(shape, dtype, buffer=root, offset=offset, strides=strides)


def share(t):
    """Move the CPU tensor ``t``'s array into a new shared-memory block (no-op if shared)."""
    a = t._data
    if not isinstance(a, np.ndarray):
        raise RuntimeError(f"share_memory_: only CPU tensors can be moved into shared memory; "
                           f"this tensor is on {t.device}")
    if _root_of(a) is not None:
        return t
    if t._view is not None or a.base is not None:
        raise RuntimeError(
            "share_memory_: this tensor is a view of another tensor's or array's memory; "
            "deltagrad can move only memory a tensor owns (PyTorch would move the base too). "
            "Call share_memory_() on the base before taking views, or share a copy: "
            "t.clone().share_memory_()")
    if sys.getrefcount(a) > 3:  # t's slot, the local name, getrefcount's argument
        raise RuntimeError(
            "share_memory_: other tensors or arrays use this tensor's memory (its .data or "
            ".detach(), the array given to from_numpy, a live autograd graph); deltagrad can "
            "move only this tensor's array, and they would stop seeing it. Share the tensor "
            "that owns the memory right after making it (model.share_memory() before "
            "training), not p.data or p.detach()")
    _close_released()
    shm = _Block(create=True, size=max(a.nbytes, 1),
                 name=f"{_PREFIX}{os.getpid()}_{secrets.token_hex(6)}")
    root = _adopt(shm, os.getpid())
    order = "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"
    shared = np.ndarray(a.shape, a.dtype, buffer=root, order=order)
    shared[...] = a
    t._data = shared
    _send_shared_by_name(type(t))
    return t


def _attach(name):
    root = _roots_by_name.get(name)
    if root is not None:
        return root
    _close_released()
    track = {"track": False} if sys.version_info >= (3, 13) else {}  # the creator unlinks
    try:
        shm = _Block(name=name, **track)
    except FileNotFoundError:
        raise RuntimeError(f"a shared tensor arrived, but its shared-memory block {name!r} no "
                           "longer exists: the process that shared it freed the tensor or "
                           "exited before this one received it") from None
    return _adopt(shm, owner_pid=None)


def rebuild_shared(cls, name, offset, shape, strides, dtype, requires_grad, state):
    """The receiving end of ``reduce_tensor``: a ``cls`` tensor on the same block."""
    from .tensor import _make
    t = _make(_view_of(_attach(name), offset, shape, strides, dtype), cls=cls)
    t._requires_grad = requires_grad
    t.__dict__.update(state)
    _send_shared_by_name(cls)
    return t


def reduce_tensor(t):
    """``ForkingPickler``'s reduction of a tensor: by block name when shared, else a copy."""
    a = t._data
    root = _root_of(a) if isinstance(a, np.ndarray) else None
    if root is None:
        return t.__reduce_ex__(pickle.DEFAULT_PROTOCOL)
    if t._grad_fn is not None and t._requires_grad:
        raise RuntimeError("a shared tensor that is the output of an operation recorded by "
                           "autograd (not a leaf) can't be sent to another process: its graph "
                           "stays here. Send t.detach() (as PyTorch requires too)")
    offset = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
    state = {k: v for k, v in t.__dict__.items() if k != "_backward_hooks"}  # hooks stay
    return (rebuild_shared, (type(t), _blocks[id(root)].name, offset, a.shape, a.strides,
                             a.dtype, t._requires_grad, state))


def _send_shared_by_name(cls):
    """Let ``ForkingPickler`` (Process arguments, Queue, Pipe) use ``reduce_tensor`` for
    ``cls`` (its table is keyed by exact class, so each tensor class that gets shared)."""
    if cls not in ForkingPickler._extra_reducers:
        ForkingPickler.register(cls, reduce_tensor)
