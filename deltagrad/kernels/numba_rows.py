"""The embedding gradient's scatter-add as one compiled pass (``ops/sparse.row_sums`` keeps
the NumPy reference: a one-hot GEMM for small tables, sort + ``add.reduceat`` for large ones).

    S_i = Σ_p [idx_p = i] g_p        (the rows of g added up by their index)

NumPy has no fast scatter-add (``add.at`` took 0.9 ms for 2,048 rows of 64 into 65), which is
why the reference builds the one-hot matrix (num_rows, n) and multiplies: two passes over a
matrix num_rows times larger than the index, and a product whose work grows with the table.
Here one loop reads each row of g once and adds it into its row of S, summing in float64
(each S_i in the order p = 0, 1, …, then rounded once to g's dtype), so the sums are at least
as accurate as the GEMM's float32 ones and the same whatever g's memory order: g is read row
by row when its rows are contiguous, column by column when they are not (an LSTM's input
gradient arrives as the transpose of a (D, n) array), and every S_i,d is added up in the
same order both ways. The LSTM workload's (2,048 rows of 64 into 65, transposed, one thread;
by hand): 0.48 ms for the one-hot matrix and its GEMM, 0.12–0.15 ms here (0.06 ms for
contiguous rows).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)

__all__ = ["row_sums", "fits"]

MAX_TABLE = 1 << 22  # entries of the float64 sums (32 MiB); a larger table stays in NumPy


def fits(g, idx, num_rows) -> bool:
    """Whether ``row_sums`` serves these arrays: g (n, D) float32/float64, integer indices,
    and a table of at most MAX_TABLE entries."""
    return type(g) is np.ndarray and g.ndim == 2 and g.dtype in (np.float32, np.float64) \
        and idx.dtype.kind in "iu" and 0 < num_rows * g.shape[1] <= MAX_TABLE


@njit(cache=True, nogil=True)
def _by_rows(g, idx, sums):
    for p in range(g.shape[0]):
        i = idx[p]
        for d in range(g.shape[1]):
            sums[i, d] += g[p, d]


@njit(cache=True, nogil=True)
def _by_columns(gT, idx, sums):
    # eight columns at a time: one pass over the indices adds eight numbers per row (a
    # column at a time: 0.19 against 0.12–0.15 ms for the LSTM workload's (64, 2,048))
    D, n = gT.shape
    whole = D - D % 8
    for d0 in range(0, whole, 8):
        for p in range(n):
            i = idx[p]
            for j in range(8):
                sums[i, d0 + j] += gT[d0 + j, p]
    for d in range(whole, D):
        for p in range(n):
            sums[idx[p], d] += gT[d, p]


def row_sums(g, idx, num_rows):
    """S (num_rows, D) in g's dtype for rows g (n, D) and indices idx (n,) in [0, num_rows)
    (checked here: the loops write where the indices say)."""
    if idx.size and (idx.min() < 0 or idx.max() >= num_rows):
        raise IndexError(f"row_sums: indices must lie in [0, {num_rows}), got "
                         f"{int(idx.min())}..{int(idx.max())}")
    sums = np.zeros((num_rows, g.shape[1]), np.float64)
    if abs(g.strides[0]) < abs(g.strides[1]):  # columns are contiguous: read them in order
        _by_columns(g.T, idx, sums)
    else:
        _by_rows(g, idx, sums)
    return sums.astype(g.dtype, copy=False)
