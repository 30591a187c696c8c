"""The compiled cross-entropy row loops (kernels/numba_cross_entropy.py) against the NumPy
path and against PyTorch."""
import numpy as np
import pytest
import torch

import deltagrad as dg
import deltagrad.nn.functional as F
from deltagrad import kernels
from deltagrad.ops import loss as loss_ops

pytest.importorskip("numba")


def _run(backend, x, y, g=None, **kw):
    """Loss and input gradient of F.cross_entropy under ``backend``."""
    with kernels.use_backend(backend):
        t = dg.tensor(x, requires_grad=True)
        kw = {k: dg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        out = F.cross_entropy(t, dg.tensor(y), **kw)
        out.backward(None if g is None else dg.tensor(g))
    return out.detach().numpy(), t.grad.numpy()


def _torch(x, y, g=None, **kw):
    t = torch.tensor(x, requires_grad=True)
    kw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    out = torch.nn.functional.cross_entropy(t, torch.tensor(y), **kw)
    out.backward(None if g is None else torch.tensor(g))
    return out.detach().numpy(), t.grad.numpy()


@pytest.mark.parametrize("kw", [{}, {"reduction": "none"}, {"reduction": "sum"},
                                {"ignore_index": 3},
                                {"weight": np.linspace(0.5, 2, 65).astype(np.float32)}],
                         ids=["mean", "none", "sum", "ignore_index", "weight"])
def test_compiled_cross_entropy_matches_numpy_path_and_pytorch(kw):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((300, 65)) * 4).astype(np.float32)
    y = rng.integers(0, 65, 300)
    y[::7] = 3
    g = rng.standard_normal(300).astype(np.float32) if kw.get("reduction") == "none" else None
    with kernels.use_backend("numba"):
        assert loss_ops._compiled_rows(dg.tensor(x)._data, 1, None)
    got = _run("numba", x, y, g, **kw)
    ref = _run("numpy", x, y, g, **kw)
    oracle = _torch(x, y, g, **kw)
    for a, b, c in zip(got, ref, oracle):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)
        np.testing.assert_allclose(a, c, rtol=2e-6, atol=1e-7)


def test_compiled_cross_entropy_nan_and_inf_rows_as_the_numpy_path():
    """NaN, +∞, a row of −∞ and huge logits (|x| = 1e4) give the NumPy path's numbers."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((6, 10)).astype(np.float32)
    x[0, 3] = np.nan
    x[1, 5] = np.inf
    x[2] = -np.inf
    x[3, 7] = 1e4
    x[4, 0] = -1e4
    x[5] = 1e4
    y = np.array([1, 5, 2, 7, 0, 9])
    g = np.ones(6, np.float32)
    got = _run("numba", x, y, g, reduction="none")
    ref = _run("numpy", x, y, g, reduction="none")
    oracle = _torch(x, y, g, reduction="none")
    for a, b, c in zip(got, ref, oracle):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-6)
    assert np.isfinite(got[0][3:]).all() and got[0][3] == pytest.approx(0.0, abs=1e-6)


def test_compiled_path_only_for_contiguous_float32_rows():
    """Other layouts and dtypes keep the NumPy path (float64: e^t of the kernel is a
    float32-accurate fit)."""
    with kernels.use_backend("numba"):
        x = np.zeros((4, 5), np.float32)
        assert loss_ops._compiled_rows(x, 1, None)
        assert not loss_ops._compiled_rows(x.astype(np.float64), 1, None)
        assert not loss_ops._compiled_rows(x.T, 1, None)
        assert not loss_ops._compiled_rows(np.zeros((4, 5, 3), np.float32), 1, None)
        assert not loss_ops._compiled_rows(x, 1, np.ones_like(x))
    with kernels.use_backend("numpy"):
        assert not loss_ops._compiled_rows(x, 1, None)


def test_rows_split_over_threads_give_the_numbers_of_one_thread(threads):
    """Each row's loss and gradient are computed on one thread: the same bits at 1 and 2."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((257, 65)) * 4).astype(np.float32)
    y = rng.integers(0, 65, 257)
    g = rng.standard_normal(257).astype(np.float32)
    got = _run("numba", x, y, g, reduction="none")
    dg.set_num_threads(1)
    one = _run("numba", x, y, g, reduction="none")
    dg.set_num_threads(threads)
    for a, b in zip(got, one):
        np.testing.assert_array_equal(a, b)
