"""Differentiable collectives (``torch.distributed.nn.functional``).

``all_reduce(x)`` = Σ_ranks x; since every rank's output depends on every rank's input,
∂L/∂x_r = Σ_ranks ∂L_s/∂y_s: the backward is an all-reduce of the gradients too. This is what
lets :class:`deltagrad.nn.SyncBatchNorm` compute batch statistics over all ranks and still
backpropagate exactly through them.
"""
from __future__ import annotations

from ...autograd.function import Function
from .. import process_group as pg


class _AllReduceSum(Function):
    def forward(ctx, x):
        out = x.copy()
        g = pg._group("all_reduce")
        buf = out if out.flags.c_contiguous else out.copy()
        g.comm.Allreduce(g.MPI.IN_PLACE, buf, op=g.MPI.SUM)
        return buf

    def backward(ctx, grad):
        return _AllReduceSum.apply(grad)


def all_reduce(tensor, op=pg.ReduceOp.SUM, group=None):
    """Σ_ranks ``tensor`` (a new tensor), differentiable; ``op`` SUM or AVG."""
    op = pg.ReduceOp(op.value if isinstance(op, pg.ReduceOp) else op)
    if op not in (pg.ReduceOp.SUM, pg.ReduceOp.AVG):
        raise ValueError(f"all_reduce (differentiable): op must be SUM or AVG, got {op}")
    out = _AllReduceSum.apply(tensor)
    return out / pg.get_world_size() if op is pg.ReduceOp.AVG else out
