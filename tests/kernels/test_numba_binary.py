"""a + b, a − b, a · b split over the threads (kernels/numba_binary.py): NumPy's numbers bit
for bit (NaN, ±inf, −0), which arrays take it, and the floor ``ops/elementwise.shared``
checks before importing it."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels
from deltagrad.ops import elementwise

pytest.importorskip("numba")
from deltagrad.kernels import numba_binary, numba_parallel  # noqa: E402

SHAPE = (64, 300)  # 19,200 numbers: above the floor


def _pair(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(SHAPE).astype(dtype)
    b = rng.standard_normal(SHAPE).astype(dtype)
    a.flat[:8] = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-30, np.inf, -0.0]
    b.flat[:8] = [1.0, -np.inf, -np.inf, 0.0, -0.0, -1e-30, 0.0, -0.0]
    return a, b


@pytest.mark.parametrize("fn", [np.add, np.subtract, np.multiply])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_numpy_bit_for_bit(fn, dtype, threads, monkeypatch):
    a, b = _pair(dtype)
    calls = []
    monkeypatch.setattr(numba_binary, "apply",
                        lambda *args, f=numba_binary.apply: calls.append(1) or f(*args))
    with np.errstate(invalid="ignore"), kernels.use_backend("numba"):
        got = elementwise.shared(fn, a, b)
        want = fn(a, b)
    assert bool(calls) == (threads > 1)  # one thread: NumPy's call itself
    assert got.dtype == dtype and got.shape == SHAPE
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want))


def test_tensor_arithmetic_takes_it_at_two_threads(threads):
    a, b = (dg.from_numpy(v) for v in _pair(np.float32))
    with np.errstate(invalid="ignore"):
        for got, want in ((a + b, a.numpy() + b.numpy()), (a - b, a.numpy() - b.numpy()),
                          (a * b, a.numpy() * b.numpy())):
            np.testing.assert_array_equal(got.numpy(), want)


def test_which_arrays_it_serves(monkeypatch):
    monkeypatch.setattr(numba_parallel, "MIN_SPLIT_ELEMENTS", 1)
    before = dg.get_num_threads()
    dg.set_num_threads(2)
    try:
        a = np.ones(SHAPE, np.float32)
        assert numba_binary.serves(np.add, a, a)
        assert not numba_binary.serves(np.add, a, a[:1])                 # broadcasting
        assert not numba_binary.serves(np.add, a, a.astype(np.float64))  # mixed dtypes
        assert not numba_binary.serves(np.add, a[:, ::2], a[:, ::2])     # strided
        assert not numba_binary.serves(np.true_divide, a, a)             # not one of its ops
        assert not numba_binary.serves(np.add, a.astype(np.int32), a.astype(np.int32))
    finally:
        dg.set_num_threads(before)


def test_the_floor_is_numbas_lowest_bar():
    assert elementwise._COMPILED_FLOOR == numba_parallel.SPINNING_MIN_SPLIT
