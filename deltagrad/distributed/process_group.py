"""The default process group and its collectives on MPI (mpi4py), with PyTorch's names.

Start the processes with MPI, e.g. ``mpiexec -n 4 python -m mpi4py train.py`` (``-m mpi4py``
makes an exception in one rank abort all of them), then in each::

    import deltagrad.distributed as dist
    dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    dist.all_reduce(t)              # t ← Σ_ranks t, in place
    dist.broadcast(t, src=0)        # t ← rank 0's t

Collectives work in place on a tensor's memory (a CuPy array goes through the host); they
are not differentiable (``deltagrad.distributed.nn.functional.all_reduce`` is).
"""
from __future__ import annotations

import numbers
from enum import Enum

import numpy as np

from .. import backend
from ..tensor import Tensor

_MPI_HELP = ("deltagrad.distributed needs mpi4py and an MPI library: pip install "
             "'deltagrad[mpi]' (mpi4py + the mpich wheel), then start the processes with "
             "mpiexec -n N python -m mpi4py your_script.py")


class ReduceOp(Enum):
    """How ``all_reduce`` combines the ranks' tensors (``torch.distributed.ReduceOp``)."""
    SUM = "sum"
    AVG = "avg"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"


class _Group:
    def __init__(self, comm, mpi):
        self.comm, self.MPI = comm, mpi
        self.rank, self.size = comm.Get_rank(), comm.Get_size()


_default: _Group | None = None


def is_available() -> bool:
    """True when mpi4py (and so an MPI library) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def is_initialized() -> bool:
    return _default is not None


def is_mpi_available() -> bool:
    return is_available()


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1,
                       store=None, group_name="", pg_options=None, device_id=None):
    """Join the default process group: every process started by ``mpiexec``.

    Only ``backend="mpi"`` exists here (the ranks and their number come from MPI; a given
    ``world_size``/``rank`` must agree with it)."""
    global _default
    if backend not in ("mpi", None):
        raise ValueError(f"init_process_group: backend {backend!r} is not supported; "
                         "deltagrad's process groups run on MPI (backend='mpi')")
    if _default is not None:
        raise RuntimeError("trying to initialize the default process group twice!")
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError(_MPI_HELP) from None
    comm = MPI.COMM_WORLD.Dup()
    group = _Group(comm, MPI)
    for name, given, actual in (("world_size", world_size, group.size),
                                ("rank", rank, group.rank)):
        if given not in (-1, None) and given != actual:
            comm.Free()
            raise ValueError(f"init_process_group: {name}={given} but MPI started this process "
                             f"with {name} {actual}")
    _default = group
    return None


def destroy_process_group(group=None) -> None:
    """Leave the default process group (collectives then raise until it is created again)."""
    global _default
    if _default is not None:
        _default.comm.Free()
        _default = None


def _group(op) -> _Group:
    if _default is None:
        raise RuntimeError(f"{op}: the default process group has not been initialized; call "
                           "deltagrad.distributed.init_process_group(backend='mpi') first")
    return _default


def get_rank(group=None) -> int:
    return _group("get_rank").rank


def get_world_size(group=None) -> int:
    return _group("get_world_size").size


def barrier(group=None, async_op=False, device_ids=None):
    _group("barrier").comm.Barrier()


def _buffer(tensor, op):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    data = tensor._data
    host = backend.to_numpy(data)
    contiguous = host if host.flags.c_contiguous and host is data else np.ascontiguousarray(host)
    return data, contiguous


def _write_back(tensor, data, buf):
    if buf is not data:          # a copy was reduced (a CuPy or non-contiguous array)
        data[...] = backend.to_device(buf, tensor._device)
    tensor._version += 1


def _mpi_op(group, op):
    op = ReduceOp(op.value if isinstance(op, ReduceOp) else op)
    m = group.MPI
    return op, {ReduceOp.SUM: m.SUM, ReduceOp.AVG: m.SUM, ReduceOp.PRODUCT: m.PROD,
                ReduceOp.MIN: m.MIN, ReduceOp.MAX: m.MAX}[op]


class _Done:
    """What an ``async_op=True`` collective returns (the work is already complete)."""

    def wait(self, timeout=None):
        return True

    def is_completed(self):
        return True


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op=False):
    """``tensor`` ← the element-wise SUM/AVG/PRODUCT/MIN/MAX of every rank's ``tensor``."""
    g = _group("all_reduce")
    data, buf = _buffer(tensor, "all_reduce")
    kind, mpi_op = _mpi_op(g, op)
    g.comm.Allreduce(g.MPI.IN_PLACE, buf, op=mpi_op)
    if kind is ReduceOp.AVG:
        if buf.dtype.kind not in "fc":
            raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got "
                            f"{buf.dtype}")
        buf /= g.size
    _write_back(tensor, data, buf)
    return _Done() if async_op else None


def broadcast(tensor, src=0, group=None, async_op=False):
    """``tensor`` ← rank ``src``'s ``tensor`` on every rank."""
    g = _group("broadcast")
    if not isinstance(src, numbers.Integral) or not 0 <= src < g.size:
        raise ValueError(f"broadcast: src must be a rank in [0, {g.size}), got {src!r}")
    data, buf = _buffer(tensor, "broadcast")
    g.comm.Bcast(buf, root=int(src))
    _write_back(tensor, data, buf)
    return _Done() if async_op else None


def all_gather(tensor_list, tensor, group=None, async_op=False):
    """``tensor_list[r]`` ← rank r's ``tensor`` (same shape and dtype on every rank)."""
    g = _group("all_gather")
    if len(tensor_list) != g.size:
        raise ValueError(f"all_gather: tensor_list must hold world_size={g.size} tensors, got "
                         f"{len(tensor_list)}")
    _, buf = _buffer(tensor, "all_gather")
    out = np.empty((g.size,) + buf.shape, buf.dtype)
    g.comm.Allgather(buf, out)
    for t, part in zip(tensor_list, out):
        if tuple(t.shape) != buf.shape:
            raise ValueError(f"all_gather: output tensors must have the input's shape "
                             f"{buf.shape}, got {tuple(t.shape)}")
        t._data[...] = backend.to_device(part, t._device)
        t._version += 1
    return _Done() if async_op else None


def all_reduce_arrays(arrays, op="sum"):
    """Sum (or average) a list of same-dtype NumPy arrays across ranks in ONE message: the
    arrays are packed into a flat buffer, reduced, and unpacked in place (DDP's buckets)."""
    g = _group("all_reduce")
    if not arrays:
        return
    flat = np.concatenate([a.reshape(-1) for a in arrays])
    g.comm.Allreduce(g.MPI.IN_PLACE, flat, op=g.MPI.SUM)
    if op == "avg":
        flat /= g.size
    offset = 0
    for a in arrays:
        n = a.size
        a[...] = flat[offset:offset + n].reshape(a.shape)
        offset += n


def broadcast_object(obj, src=0):
    """Any picklable object from rank ``src`` to every rank (``broadcast_object_list``)."""
    return _group("broadcast_object").comm.bcast(obj, root=src)
