"""``DistributedDataParallel``: the same model on every rank, each on its shard of the batch.

Every rank starts from rank 0's parameters and buffers (broadcast at construction); after each
``backward`` the gradients are averaged over the ranks, ḡ = (1/R) Σ_r g⁽ʳ⁾, so with equal
shards of a batch every rank takes the optimizer step that one process would take on the whole
batch (the mean loss of the combined batch is the mean of the ranks' mean losses).

Gradients travel in fused flat buckets of up to ``bucket_cap_mb`` MiB (one MPI message per
bucket rather than one per parameter, as in ChainerMN and Horovod), filled in the reverse order
of the parameters (the order backward produces them). The reduction runs once, when the
backward pass has finished (``autograd`` engine callback): it is not overlapped with the
backward, since MPICH makes progress on a non-blocking message only inside MPI calls, which a
NumPy backward does not make. ``no_sync()`` skips the averaging (gradient accumulation).

Batch norm keeps per-rank batch statistics (as in PyTorch) unless the model is converted with
``nn.SyncBatchNorm.convert_sync_batchnorm``; buffers are broadcast from rank 0 before each
forward in training (``broadcast_buffers=True``).
"""
from __future__ import annotations

import contextlib

import numpy as np

from ... import backend
from ...autograd.engine import queue_callback
from ..module import Module


class DistributedDataParallel(Module):
    def __init__(self, module, device_ids=None, output_device=None, dim=0,
                 broadcast_buffers=True, process_group=None, bucket_cap_mb=25,
                 find_unused_parameters=False, check_reduction=False,
                 gradient_as_bucket_view=False, static_graph=False):
        super().__init__()
        from ...distributed import process_group as pg
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an nn.Module, got "
                            f"{type(module).__name__}")
        self._pg = pg._group("DistributedDataParallel")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got "
                             f"{bucket_cap_mb}")
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self._sync = True
        self._pending = False
        self._params = [p for p in module.parameters() if p.requires_grad]
        self._broadcast([p._data for p in module.parameters()]
                        + [b._data for b in module.buffers()])
        self.buckets = self._make_buckets(int(bucket_cap_mb * 2 ** 20))
        self._hooks = [p.register_hook(self._on_grad) for p in self._params]

    # ------------------------------------------------------------------ construction
    def _make_buckets(self, cap_bytes):
        """Parameters in reverse order, grouped by dtype and device, up to ``cap_bytes`` each."""
        buckets, current, size, key = [], [], 0, None
        for p in reversed(self._params):
            k = (p._data.dtype, p._device)
            nbytes = p._data.nbytes
            if current and (k != key or size + nbytes > cap_bytes):
                buckets.append(current)
                current, size = [], 0
            current.append(p)
            size += nbytes
            key = k
        if current:
            buckets.append(current)
        return buckets

    def _broadcast(self, arrays):
        """Rank 0's arrays to every rank, one message per dtype."""
        by_dtype = {}
        for a in arrays:
            by_dtype.setdefault(a.dtype, []).append(a)
        comm = self._pg.comm
        for group in by_dtype.values():
            host = [backend.to_numpy(a) for a in group]
            flat = np.concatenate([h.reshape(-1) for h in host]) if host else None
            if flat is None or flat.size == 0:
                continue
            comm.Bcast(flat, root=0)
            offset = 0
            for a in group:
                n = a.size
                a[...] = backend.to_device(flat[offset:offset + n].reshape(a.shape),
                                           backend.device_of(a))
                offset += n

    # ------------------------------------------------------------------ running
    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self.training:
            buffers = [b._data for b in self.module.buffers()]
            if buffers:
                self._broadcast(buffers)
        return self.module(*inputs, **kwargs)

    def _on_grad(self, grad):
        if self._sync and not self._pending:
            self._pending = True
            queue_callback(self._average_gradients)
        return None

    def _average_gradients(self):
        """ḡ = (1/R) Σ_r g⁽ʳ⁾ for every parameter, one fused all-reduce per bucket."""
        self._pending = False
        world = self._pg.size
        comm, MPI = self._pg.comm, self._pg.MPI
        for bucket in self.buckets:
            missing = [p for p in bucket if p._grad is None]
            if missing and not self.find_unused_parameters:
                raise RuntimeError(
                    f"DistributedDataParallel: {len(missing)} parameter(s) received no gradient "
                    "in this backward (a part of the model was not used); pass "
                    "find_unused_parameters=True to treat their gradients as zero")
            grads = [backend.to_numpy(p._grad._data) if p._grad is not None
                     else np.zeros(p._data.shape, p._data.dtype) for p in bucket]
            flat = np.concatenate([g.reshape(-1) for g in grads])
            comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
            flat /= world
            offset = 0
            for p in bucket:
                n = p._data.size
                avg = backend.to_device(flat[offset:offset + n].reshape(p._data.shape).copy(),
                                        p._device)
                offset += n
                if p._grad is None:
                    from ...tensor import _make
                    p._grad = _make(avg)
                else:
                    p._grad._data[...] = avg
                    p._grad._version += 1

    @contextlib.contextmanager
    def no_sync(self):
        """Inside the block, backward accumulates local gradients without averaging them; the
        first backward after it averages the accumulated sums."""
        old, self._sync = self._sync, False
        try:
            yield
        finally:
            self._sync = old
