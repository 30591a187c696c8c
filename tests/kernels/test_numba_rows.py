"""The embedding gradient's compiled scatter-add (kernels/numba_rows.py): each sum is the
float64 sum in index order rounded once, whatever the memory order of the rows (so equal,
bit for bit, to np.add.at in float64), within float32 round-off of the NumPy path's one-hot
GEMM, used by ``nn.Embedding`` under the Numba backend, and an index out of range raises."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels
from deltagrad.ops import sparse

from ..conftest import requires_torch

pytest.importorskip("numba")
from deltagrad.kernels import numba_rows  # noqa: E402


def _reference(g, idx, num_rows):
    sums = np.zeros((num_rows, g.shape[1]), np.float64)
    np.add.at(sums, idx, g.astype(np.float64))
    return sums.astype(g.dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, dim, num", [(2048, 64, 65), (37, 13, 5), (1, 1, 1), (0, 3, 4),
                                         (500, 8, 2), (64, 17, 300)])
@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_equals_float64_add_at_in_either_memory_order(dtype, n, dim, num, layout):
    rng = np.random.default_rng(n + dim + num)
    idx = rng.integers(0, num, n)
    g = rng.standard_normal((n, dim)).astype(dtype)
    if layout == "columns":  # an LSTM's input gradient: the transpose of a (dim, n) array
        g = np.ascontiguousarray(g.T).T
        assert not g.flags.c_contiguous or n <= 1 or dim == 1
    got = numba_rows.row_sums(g, idx, num)
    assert got.dtype == dtype and got.shape == (num, dim)
    np.testing.assert_array_equal(got, _reference(g, idx, num))


def test_many_repeats_of_one_row_keep_float32_accuracy():
    """2^20 rows of 0.1 into one row: summed in float64, the float32 result is 0.1·2^20
    rounded once (a float32 running sum would drift by thousands of ulps)."""
    g = np.full((1 << 20, 2), 0.1, np.float32)
    got = numba_rows.row_sums(g, np.zeros(1 << 20, np.int64), 1)
    expected = np.float32(np.float64(np.float32(0.1)) * (1 << 20))
    np.testing.assert_array_equal(got, np.full((1, 2), expected))


@pytest.mark.parametrize("bad", [-1, 5])
def test_an_index_out_of_range_raises(bad):
    idx = np.array([0, bad, 1])
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        numba_rows.row_sums(np.ones((3, 2), np.float32), idx, 5)


def test_used_for_small_tables_only():
    g = np.ones((4, 3), np.float32)
    assert numba_rows.fits(g, np.zeros(4, np.int64), 10)
    assert not numba_rows.fits(g.astype(np.float16), np.zeros(4, np.int64), 10)
    assert not numba_rows.fits(g, np.zeros(4, np.int64), numba_rows.MAX_TABLE)


@requires_torch
@pytest.mark.parametrize("transposed", [False, True])
def test_embedding_gradient_equals_torch_and_the_numpy_path(transposed, monkeypatch):
    import torch
    calls = []
    monkeypatch.setattr(numba_rows, "row_sums",
                        lambda *a, f=numba_rows.row_sums: calls.append(1) or f(*a))
    rng = np.random.default_rng(7)
    idx = rng.integers(0, 65, (32, 64))
    g = rng.standard_normal((32, 64, 24)).astype(np.float32)
    if transposed:  # (B, T, D) whose memory is (D, T, B), as after an LSTM
        g = np.ascontiguousarray(g.transpose(2, 1, 0)).transpose(2, 1, 0)
    w = rng.standard_normal((65, 24)).astype(np.float32)
    grads = {}
    for backend in ("numba", "numpy"):
        with kernels.use_backend(backend):
            wt = dg.tensor(w, requires_grad=True)
            dg.nn.functional.embedding(dg.tensor(idx), wt).backward(dg.tensor(g))
            grads[backend] = wt.grad.numpy()
    assert calls == [1], "the compiled scatter-add was not used (or used by the NumPy path)"
    tw = torch.tensor(w, requires_grad=True)
    torch.nn.functional.embedding(torch.tensor(idx), tw).backward(torch.tensor(g))
    np.testing.assert_allclose(grads["numba"], tw.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grads["numba"], grads["numpy"], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(grads["numba"], _reference(*sparse._as_rows(g, idx), 65))
