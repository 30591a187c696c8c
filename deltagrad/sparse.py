"""Sparse COO tensors (``torch.sparse``): a graph's adjacency  for graph networks.

A sparse COO tensor of shape (d₀, …, d_{k−1}) stores only its nonzero entries: ``indices`` of
shape (k, nnz) (column j holds the position of entry j) and ``values`` of shape (nnz,).
Entries at the same position add up; ``coalesce()`` sums them and sorts the positions.

``mm(S, X)`` (also ``dg.spmm``, ``dg.mm``, ``S @ X``, ``X @ S``) multiplies a 2-D sparse S by
a dense X with SciPy's CSR kernels, Y = S X, and is differentiable in the dense operand:
∂L/∂X = Sᵀ ∂L/∂Y (itself a sparse product, so double backward works). The sparse values
are constants here: a sparse tensor whose values require grad is refused, never silently
cut from the graph. CPU only (a 'cuda' sparse tensor raises).
"""
from __future__ import annotations

import numpy as np

from . import backend
from .autograd.function import Function
from .autograd.grad_mode import is_grad_enabled
from .tensor import Tensor, Size, _make, tensor as _tensor

__all__ = ["SparseCOOTensor", "sparse_coo_tensor", "mm", "spmm", "to_sparse", "FloatTensor",
           "DoubleTensor", "LongTensor", "sum"]


def _scipy():
    import scipy.sparse
    return scipy.sparse


class SparseCOOTensor:
    """``torch.sparse_coo_tensor``'s result: indices (k, nnz) int64, values (nnz,)."""

    is_sparse = True
    layout = "sparse_coo"
    requires_grad = False
    grad = None
    is_cuda = is_mps = is_xpu = False

    def __init__(self, indices: np.ndarray, values: np.ndarray, shape, coalesced=False):
        self._indices_arr, self._values_arr = indices, values
        self._shape = Size(shape)
        self._coalesced = coalesced

    # ------------------------------------------------------------------ metadata
    @property
    def shape(self):
        return self._shape

    def size(self, dim=None):
        return self._shape if dim is None else self._shape[dim]

    @property
    def dtype(self):
        return self._values_arr.dtype

    @property
    def device(self):
        return backend.CPU

    @property
    def ndim(self):
        return len(self._shape)

    def dim(self):
        return len(self._shape)

    def sparse_dim(self):
        return len(self._shape)

    def dense_dim(self):
        return 0

    def _nnz(self):
        return int(self._values_arr.shape[0])

    def is_coalesced(self):
        return self._coalesced

    def is_floating_point(self):
        return self.dtype.kind in "fV"

    def _indices(self):
        return _make(self._indices_arr)

    def _values(self):
        return _make(self._values_arr)

    def indices(self):
        self._need_coalesced("indices")
        return _make(self._indices_arr)

    def values(self):
        self._need_coalesced("values")
        return _make(self._values_arr)

    def _need_coalesced(self, op):
        if not self._coalesced:
            raise RuntimeError(f"Cannot get {op} on an uncoalesced tensor, please call "
                               ".coalesce() first")

    # ------------------------------------------------------------------ conversions
    def coalesce(self):
        """Sum entries at the same position; positions in row-major (lexicographic) order."""
        if self._coalesced:
            return self
        if self._nnz() == 0:
            return SparseCOOTensor(self._indices_arr, self._values_arr, self._shape, True)
        flat = np.ravel_multi_index(tuple(self._indices_arr), tuple(self._shape))
        keys, inverse = np.unique(flat, return_inverse=True)
        values = np.zeros(len(keys), self.dtype)
        np.add.at(values, inverse, self._values_arr)
        indices = np.stack(np.unravel_index(keys, tuple(self._shape))).astype(np.int64)
        return SparseCOOTensor(indices.reshape(self.ndim, -1), values, self._shape, True)

    def to_dense(self):
        """The dense tensor (entries at the same position added)."""
        out = np.zeros(tuple(self._shape), self.dtype)
        np.add.at(out, tuple(self._indices_arr), self._values_arr)
        return _make(out)

    def to_sparse(self):
        return self

    def _matrix(self, op):
        if self.ndim != 2:
            raise RuntimeError(f"{op}: the sparse operand must be 2-D, got shape "
                               f"{tuple(self._shape)}")
        return _scipy().csr_matrix((self._values_arr, tuple(self._indices_arr)),
                                   shape=tuple(self._shape))  # duplicates add up

    def t(self):
        if self.ndim != 2:
            raise RuntimeError(f"t() expects a 2-D sparse tensor, got shape {tuple(self._shape)}")
        return SparseCOOTensor(self._indices_arr[::-1].copy(), self._values_arr,
                               (self._shape[1], self._shape[0]))

    def to(self, *args, dtype=None, device=None, **kwargs):
        for a in args:
            if isinstance(a, (str, backend.device)):
                device = a
            else:
                dtype = a
        if device is not None and backend.device(device).type != "cpu":
            raise NotImplementedError("sparse tensors are CPU-only in deltagrad (SciPy sparse "
                                      f"underneath), got device {device}")
        if dtype is None:
            return self
        return SparseCOOTensor(self._indices_arr, self._values_arr.astype(backend.as_dtype(dtype)),
                               self._shape, self._coalesced)

    def cpu(self):
        return self

    def cuda(self, device=None):
        return self.to("cuda")

    def float(self):
        return self.to(backend.float32)

    def double(self):
        return self.to(backend.float64)

    def detach(self):
        return self

    def mm(self, other):
        return mm(self, other)

    def __matmul__(self, other):
        return mm(self, other)

    def __rmatmul__(self, other):
        """X S = (Sᵀ Xᵀ)ᵀ."""
        return mm(self.t(), other.t()).t()

    def __repr__(self):
        return (f"tensor(indices={self._indices_arr.tolist()},\n       values="
                f"{self._values_arr.tolist()},\n       size={tuple(self._shape)}, "
                f"nnz={self._nnz()}, dtype={self.dtype}, layout=sparse_coo)")


def sparse_coo_tensor(indices, values, size=None, dtype=None, device=None, requires_grad=False,
                      check_invariants=None, is_coalesced=None):
    """A sparse tensor with ``values[j]`` at position ``indices[:, j]``
    (``torch.sparse_coo_tensor``); ``size`` defaults to the smallest shape holding every index."""
    op = "sparse_coo_tensor"
    if requires_grad or (isinstance(values, Tensor) and values.requires_grad and
                         is_grad_enabled()):
        raise NotImplementedError(f"{op}: gradients to the sparse values are not supported by "
                                  "deltagrad (sparse.mm differentiates the dense operand only)")
    if device is not None and backend.device(device).type != "cpu":
        raise NotImplementedError(f"{op}: sparse tensors are CPU-only in deltagrad, got "
                                  f"device {device}")
    idx = backend.to_numpy(indices._data) if isinstance(indices, Tensor) else np.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: indices must be an int64 tensor, got {idx.dtype}")
    vals = values if isinstance(values, Tensor) else _tensor(values)
    vals = backend.to_numpy(vals._data)
    if dtype is not None:
        vals = vals.astype(backend.as_dtype(dtype))
    if idx.ndim != 2:
        raise RuntimeError(f"{op}: indices must be 2-D (sparse dims, nnz), got shape "
                           f"{idx.shape}")
    if vals.ndim != 1:
        raise NotImplementedError(f"{op}: values must be 1-D (one number per index); hybrid "
                                  f"sparse tensors (values of shape {vals.shape}) are not "
                                  "supported by deltagrad")
    if idx.shape[1] != vals.shape[0]:
        raise RuntimeError(f"{op}: indices and values must have the same number of entries "
                           f"(nnz), got {idx.shape[1]} and {vals.shape[0]}")
    if idx.size and idx.min() < 0:
        raise RuntimeError(f"{op}: found a negative index {int(idx.min())}")
    if size is None:
        size = tuple(int(m) + 1 for m in idx.max(axis=1)) if idx.shape[1] else (0,) * idx.shape[0]
    size = tuple(int(s) for s in size)
    if len(size) != idx.shape[0]:
        raise RuntimeError(f"{op}: indices have {idx.shape[0]} sparse dimensions but size "
                           f"{size} has {len(size)}")
    if idx.shape[1]:
        too_big = idx.max(axis=1) >= np.asarray(size)
        if too_big.any():
            d = int(np.argmax(too_big))
            raise RuntimeError(f"{op}: size is inconsistent with indices: for dim {d}, size is "
                               f"{size[d]} but found index {int(idx[d].max())}")
    return SparseCOOTensor(idx.astype(np.int64), vals, size, bool(is_coalesced))


def _legacy(dtype):
    def build(indices, values, size=None):
        return sparse_coo_tensor(indices, values, size, dtype=dtype)
    build.__doc__ = f"``torch.sparse.{dtype}Tensor(indices, values, size)`` (legacy)."
    return build


FloatTensor, DoubleTensor, LongTensor = (_legacy(backend.float32), _legacy(backend.float64),
                                         _legacy(backend.int64))


def to_sparse(x: Tensor, sparse_dim=None):
    """``Tensor.to_sparse()``: the nonzero entries of ``x``, coalesced."""
    if sparse_dim is not None and sparse_dim != x.ndim:
        raise NotImplementedError(f"to_sparse: sparse_dim={sparse_dim} (a hybrid tensor) is not "
                                  f"supported by deltagrad; only all {x.ndim} dims")
    if x.requires_grad and is_grad_enabled():
        raise NotImplementedError("to_sparse: gradients through a sparse tensor's values are "
                                  "not supported by deltagrad; call it on x.detach()")
    if x.device.type != "cpu":
        raise NotImplementedError(f"to_sparse: sparse tensors are CPU-only, got {x.device}")
    a = x._data
    idx = np.stack(np.nonzero(a)).astype(np.int64).reshape(a.ndim, -1)
    return SparseCOOTensor(idx, a[tuple(idx)], a.shape, True)


class SparseDenseMM(Function):
    """Y = S X for a constant sparse S (SciPy CSR): ∂L/∂X = Sᵀ ∂L/∂Y."""

    def forward(ctx, x, matrix):
        ctx.matrix = matrix
        return np.asarray(matrix @ x, dtype=x.dtype)

    def backward(ctx, g):
        return SparseDenseMM.apply(g, matrix=ctx.matrix.T.tocsr())


def mm(sparse, dense):
    """S X with S sparse 2-D and X dense 2-D (``torch.sparse.mm``); either may be the sparse
    one as in PyTorch (X S = (Sᵀ Xᵀ)ᵀ)."""
    if isinstance(dense, SparseCOOTensor) and isinstance(sparse, Tensor):
        return mm(dense.t(), sparse.t()).t()
    if isinstance(sparse, SparseCOOTensor) and isinstance(dense, SparseCOOTensor):
        raise NotImplementedError("sparse.mm: sparse × sparse products are not supported by "
                                  "deltagrad")
    if not isinstance(sparse, SparseCOOTensor) or not isinstance(dense, Tensor):
        raise TypeError(f"sparse.mm: expected a sparse and a dense Tensor, got "
                        f"{type(sparse).__name__} and {type(dense).__name__}")
    if dense.ndim != 2:
        raise RuntimeError(f"sparse.mm: the dense operand must be 2-D, got shape "
                           f"{tuple(dense.shape)}")
    if sparse.shape[1] != dense.shape[0]:
        raise RuntimeError(f"sparse.mm: shapes {tuple(sparse.shape)} and {tuple(dense.shape)} "
                           f"cannot be multiplied ({sparse.shape[1]} != {dense.shape[0]})")
    if sparse.dtype != dense.dtype:
        raise RuntimeError(f"sparse.mm: expected both operands to have the same dtype, got "
                           f"{sparse.dtype} (sparse) and {dense.dtype} (dense)")
    if dense.device.type != "cpu":
        raise NotImplementedError(f"sparse.mm: sparse tensors are CPU-only, got {dense.device}")
    return SparseDenseMM.apply(dense, matrix=sparse._matrix("sparse.mm"))


spmm = mm


def sum(input, dim=None):
    """The sum of a sparse tensor's entries (all of them, or a dense result over ``dim``)."""
    if not isinstance(input, SparseCOOTensor):
        raise TypeError(f"sparse.sum: expected a sparse tensor, got {type(input).__name__}")
    dense = input.to_dense()
    return dense.sum() if dim is None else dense.sum(dim)
