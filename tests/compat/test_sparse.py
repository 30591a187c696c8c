"""dg.sparse: COO tensors and sparse × dense products against torch.sparse (values and
the dense operand's gradient), float64 gradcheck, coalescing, and the refusals."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import deltagrad as dg

from ..conftest import assert_close, requires_torch


def _coo(rng, n, m, nnz, dtype=np.float32):
    idx = np.stack([rng.integers(0, n, nnz), rng.integers(0, m, nnz)]).astype(np.int64)
    return idx, rng.standard_normal(nnz).astype(dtype)


@requires_torch
@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), m=st.integers(1, 6), k=st.integers(1, 5), nnz=st.integers(0, 12),
       seed=st.integers(0, 2 ** 16))
def test_mm_values_and_dense_gradient_match_torch(n, m, k, nnz, seed):
    import torch
    rng = np.random.default_rng(seed)
    idx, val = _coo(rng, n, m, nnz)  # duplicate positions add up, as in torch
    x = rng.standard_normal((m, k)).astype(np.float32)
    g = rng.standard_normal((n, k)).astype(np.float32)
    S = dg.sparse_coo_tensor(dg.tensor(idx), dg.tensor(val), (n, m))
    X = dg.tensor(x, requires_grad=True)
    tS = torch.sparse_coo_tensor(torch.tensor(idx), torch.tensor(val), (n, m))
    tX = torch.tensor(x, requires_grad=True)
    y, ty = dg.sparse.mm(S, X), torch.sparse.mm(tS, tX)
    assert_close(y, ty, rtol=1e-5, atol=1e-5)
    y.backward(dg.tensor(g))
    ty.backward(torch.tensor(g))
    assert_close(X.grad, tX.grad, rtol=1e-5, atol=1e-5)
    assert_close(S.to_dense(), tS.to_dense())
    c, tc = S.coalesce(), tS.coalesce()
    assert_close(c.indices(), tc.indices())
    assert_close(c.values(), tc.values(), atol=1e-6)


@requires_torch
def test_spellings_of_the_product_agree():
    import torch
    dense = np.array([[0, 2, 0], [1, 0, 0], [0, 0, 3]], np.float32)
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    S, tS = dg.tensor(dense).to_sparse(), torch.tensor(dense).to_sparse()
    assert S.is_sparse and not dg.tensor(dense).is_sparse
    assert_close(S.indices(), tS.indices())
    assert_close(S.values(), tS.values())
    X, tX = dg.tensor(x), torch.tensor(x)
    for y in (dg.spmm(S, X), dg.mm(S, X), S @ X, dg.matmul(S, X), S.mm(X)):
        assert_close(y, torch.spmm(tS, tX))
    assert_close(X.t() @ S, tX.t() @ tS)  # dense × sparse
    legacy = dg.sparse.FloatTensor(S.indices(), S.values(), dg.Size([3, 3]))
    assert legacy.dtype == dg.float32 and np.array_equal(legacy.to_dense().numpy(), dense)


def test_dense_gradient_gradcheck_float64_and_double_backward():
    idx = dg.tensor([[0, 1, 1, 2], [1, 0, 2, 2]])
    S = dg.sparse_coo_tensor(idx, dg.tensor([1.5, -2.0, 0.5, 3.0], dtype=dg.float64), (3, 3))
    x = dg.randn(3, 2, dtype=dg.float64, requires_grad=True)
    assert dg.autograd.gradcheck(lambda x: dg.sparse.mm(S, x).tanh(), (x,))
    assert dg.autograd.gradgradcheck(lambda x: dg.sparse.mm(S, x).tanh(), (x,))


def test_worked_example_adjacency_product():
    # a path graph 0 - 1 - 2: (A X)_i sums the features of i's neighbours
    A = dg.sparse_coo_tensor(dg.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), dg.ones(4), (3, 3))
    X = dg.tensor([[1.0], [10.0], [100.0]])
    assert dg.sparse.mm(A, X).numpy().ravel().tolist() == [10.0, 101.0, 10.0]
    assert A.size() == dg.Size([3, 3]) and A._nnz() == 4


def test_refusals_name_the_op_and_what_was_wrong():
    idx = dg.tensor([[0, 1], [1, 0]])
    S = dg.sparse_coo_tensor(idx, dg.ones(2), (2, 2))
    with pytest.raises(RuntimeError, match="same dtype"):
        dg.sparse.mm(S, dg.ones(2, 2, dtype=dg.float64))
    with pytest.raises(RuntimeError, match=r"cannot be multiplied \(2 != 3\)"):
        dg.sparse.mm(S, dg.ones(3, 2))
    with pytest.raises(RuntimeError, match="size is inconsistent with indices"):
        dg.sparse_coo_tensor(idx, dg.ones(2), (1, 2))
    with pytest.raises(RuntimeError, match="same number of entries"):
        dg.sparse_coo_tensor(idx, dg.ones(3), (2, 2))
    with pytest.raises(NotImplementedError, match="gradients to the sparse values"):
        dg.sparse_coo_tensor(idx, dg.ones(2, requires_grad=True), (2, 2))
    with pytest.raises(NotImplementedError, match="x.detach"):
        dg.ones(2, 2, requires_grad=True).to_sparse()
    with pytest.raises(RuntimeError, match="uncoalesced"):
        dg.sparse_coo_tensor(dg.tensor([[0, 0], [1, 1]]), dg.ones(2)).values()
    with pytest.raises(NotImplementedError, match="CPU-only"):
        S.to("cuda")


@requires_torch
def test_size_inferred_from_indices_like_torch():
    import torch
    idx = [[0, 3], [2, 1]]
    assert tuple(dg.sparse_coo_tensor(idx, [1.0, 2.0]).shape) == \
        tuple(torch.sparse_coo_tensor(idx, [1.0, 2.0]).shape) == (4, 3)
    assert_close(dg.sparse_coo_tensor(idx, [1.0, 2.0]).to_dense(),
                 torch.sparse_coo_tensor(idx, [1.0, 2.0]).to_dense())
