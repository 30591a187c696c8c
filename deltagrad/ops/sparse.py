"""``F.embedding``: a lookup table, row i of W for index i (the product of a one-hot vector
with W, computed without building the one-hot vector).

Backward: ∂L/∂W_i = Σ over the positions p that read row i of δ_p (rows read twice add up),
zero for ``padding_idx``; with ``scale_grad_by_freq`` each δ_p is divided by the number of
times its index occurs in the batch.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd.function import Function
from ..kernels import blas
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor, _make
from .elementwise import _xp
from .indexing import GetItem

__all__ = ["embedding"]


class EmbeddingLookup(Function):
    """y[..., :] = W[idx[...], :]; ∂L/∂W = scatter-add of δ (scaled by ``row_scale``)."""

    def forward(ctx, weight, indices, row_scale, keep):
        ctx.indices, ctx.shape, ctx.row_scale, ctx.keep = indices, weight.shape, row_scale, keep
        return weight[indices]

    def backward(ctx, g):
        return EmbeddingGrad.apply(g, indices=ctx.indices, shape=ctx.shape,
                                   row_scale=ctx.row_scale, keep=ctx.keep)


class EmbeddingGrad(Function):
    """∂L/∂W = Σ_p row_scale_p δ_p added into row idx_p (repeated rows accumulate).

    Its own backward (for double backward) is the lookup gg[idx], zero at padding positions
    and without the frequency scaling, as in PyTorch; so the second derivative of the
    scaled gradient is the exact derivative of the function that gradient defines.
    """

    def forward(ctx, g, indices, shape, row_scale, keep):
        ctx.indices, ctx.keep = indices, keep
        if row_scale is not None:
            g = g * row_scale
        return row_sums(*_as_rows(g, indices), shape[0])

    def backward(ctx, gg):
        out = GetItem.apply(gg, index=ctx.indices, advanced=True)
        return out if ctx.keep is None else out * _make(ctx.keep)


ONE_HOT_LIMIT = 1 << 22  # entries of the one-hot matrix below which it is built


def _as_rows(g, indices):
    """g (…, D) as rows (n, D) and the indices (…) as (n,), the leading axes taken in the
    order g's memory has them, so that the rows are a view whenever they can be (an LSTM's
    input gradient after ``batch_first``'s transpose is (T, B) in memory, and reshaping it
    as (B, T) rows would copy it)."""
    lead = list(range(g.ndim - 1))
    order = sorted(lead, key=lambda a: -abs(g.strides[a]))
    if order != lead:
        g, indices = g.transpose(order + [g.ndim - 1]), indices.transpose(order)
    return g.reshape(-1, g.shape[-1]), indices.reshape(-1)


def row_sums(g, idx, num_rows):
    """S_i = Σ_p [idx_p = i] g_p: the rows of g (n, D) added up by their index (num_rows, D).

    For a small table this is the product Eᵀ g with the one-hot matrix E (n, num_rows), one
    GEMM (NumPy's ``add.at`` took 0.9 ms for 2,048 rows of 64 into 65; the GEMM 0.05 ms); for a
    large one, the rows are sorted by index and each run is added with ``add.reduceat``. With
    the Numba kernels both give way to one compiled pass (``kernels/numba_rows.py``)."""
    xp = _xp(g)
    if xp is not np:
        from .. import backend
        cupyx = backend.cupyx()
        out = xp.zeros((num_rows, g.shape[1]), g.dtype)
        cupyx.scatter_add(out, idx, g)
        return out
    if _compiled_rows(g, idx, num_rows):  # kernels/numba_rows.py: the same sums to round-off
        from ..kernels.numba_rows import row_sums as compiled_row_sums
        return compiled_row_sums(g, idx, num_rows)
    if idx.size * num_rows <= ONE_HOT_LIMIT:
        one_hot = np.equal.outer(np.arange(num_rows), idx).astype(g.dtype)
        return blas.matmul(one_hot, g)  # (MKL reads g in place whatever its row order)
    out = np.zeros((num_rows, g.shape[1]), g.dtype)
    if idx.size:
        order = np.argsort(idx, kind="stable")
        sorted_idx = idx[order]
        starts = np.flatnonzero(np.r_[True, sorted_idx[1:] != sorted_idx[:-1]])
        out[sorted_idx[starts]] = np.add.reduceat(g[order], starts, axis=0)
    return out


def _compiled_rows(g, idx, num_rows) -> bool:
    """Whether ``row_sums`` runs as the compiled pass of ``kernels/numba_rows.py``: the kernel
    backend is Numba and the arrays fit it (float32/float64 rows, a table it can hold)."""
    from .. import kernels
    if kernels.get_backend() != "numba":
        return False
    from ..kernels.numba_rows import fits
    return fits(g, idx, num_rows)


def _padding_index(padding_idx, num, op):
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise ValueError(f"{op}: padding_idx must be within num_embeddings ({num}), got "
                         f"{padding_idx}")
    return padding_idx % num


def _renorm_rows(weight: Tensor, indices, max_norm, norm_type):
    """Rows of W read by ``indices`` with ‖W_i‖_p > max_norm are rescaled to norm max_norm
    (in place, not recorded, as ``torch.embedding_renorm_``)."""
    xp = _xp(weight._data)
    rows = xp.unique(indices)
    with no_grad():
        w = weight._data
        norms = xp.linalg.norm(w[rows].astype(np.float64), ord=norm_type, axis=1)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        w[rows] = (w[rows] * scale[:, None]).astype(w.dtype)
        weight._version += 1


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` (num_embeddings, embedding_dim) picked by integer ``input`` (any
    shape); the output has shape input.shape + (embedding_dim,). ``sparse=True`` is accepted
    and gives the same dense gradient."""
    op = "embedding"
    if not isinstance(input, Tensor) or input.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected an integer Tensor of indices, got "
                        f"{getattr(input, 'dtype', type(input).__name__)}")
    if weight.ndim != 2:
        raise RuntimeError(f"{op}: weight must be 2-D (num_embeddings, embedding_dim), got "
                           f"shape {tuple(weight.shape)}")
    num = weight.shape[0]
    idx = input._data if input.device == weight.device else \
        backend.to_device(input._data, weight.device)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise IndexError(f"{op}: index {bad} is out of range for a table of {num} rows "
                         f"(weight shape {tuple(weight.shape)}, input shape "
                         f"{tuple(input.shape)})")
    pad = _padding_index(padding_idx, num, op)
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    row_scale = keep = None
    xp = _xp(idx)
    if pad is not None:
        keep = (idx != pad)[..., None].astype(weight.dtype)
    if scale_grad_by_freq:
        counts = xp.bincount(idx.ravel(), minlength=num)
        row_scale = (1.0 / counts[idx][..., None]).astype(weight.dtype)
    if keep is not None:
        row_scale = keep if row_scale is None else row_scale * keep
    return EmbeddingLookup.apply(weight, indices=idx, row_scale=row_scale, keep=keep)
