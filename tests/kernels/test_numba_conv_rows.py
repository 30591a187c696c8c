"""The layout moves around a convolution's products (kernels/numba_conv_rows.py) against the
NumPy reference of ops/conv.py: the same arrays bit for bit in both column orders, with and
without the bias, both dtypes, split over 1 and 2 threads; the bias sums in float64."""
import numpy as np
import pytest

from deltagrad import kernels
from deltagrad.ops import conv

pytest.importorskip("numba")
from deltagrad.kernels import numba_conv_rows  # noqa: E402


def _geometry(n, c, size, o, pad):
    return conv.make_geometry((size, size), (3, 3), (1, 1), (1, 1), ((pad, pad), (pad, pad)),
                              1, in_channels=c, out_channels=o)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("inner", [False, True])
@pytest.mark.parametrize("with_bias", [False, True])
def test_the_same_layouts_as_the_numpy_path(dtype, inner, with_bias, threads, monkeypatch):
    monkeypatch.setattr(conv, "batch_inner", lambda geo: inner)
    rng = np.random.default_rng(3)
    n, o = 5, 4
    geo = _geometry(n, 2, 7, o, 1)
    p = geo.out_size[0] * geo.out_size[1]
    rows = rng.standard_normal((o, n * p)).astype(dtype)
    bias = rng.standard_normal(o).astype(dtype) if with_bias else None
    with kernels.use_backend("numpy"):
        expected = conv._batch_first(rows.copy(), n, geo, bias)
    got = numba_conv_rows.batch_first(rows, bias, n, geo.out_size, inner)
    assert got.dtype == dtype and got.flags.c_contiguous
    np.testing.assert_array_equal(got, expected)

    g = rng.standard_normal((n, o) + geo.out_size).astype(dtype)
    with kernels.use_backend("numpy"):
        expected_rows = conv._channels_first(g, geo)
    got_rows, sums = numba_conv_rows.channels_first(g, inner, True)
    np.testing.assert_array_equal(got_rows, expected_rows)
    np.testing.assert_array_equal(numba_conv_rows.channels_first(g, inner, False), expected_rows)
    assert sums.dtype == dtype
    exact = g.astype(np.float64).sum((0, 2, 3))
    np.testing.assert_allclose(sums, exact, rtol=1e-6 if dtype == np.float32 else 1e-14,
                               atol=1e-6 if dtype == np.float32 else 1e-13)


def test_used_by_conv_for_contiguous_float_arrays_under_numba(monkeypatch):
    calls = []
    real = numba_conv_rows.batch_first
    monkeypatch.setattr(numba_conv_rows, "batch_first",
                        lambda *a: calls.append(1) or real(*a))
    geo = _geometry(2, 1, 6, 3, 1)
    rows = np.ones((3, 2 * 36), np.float32)
    conv._batch_first(rows, 2, geo)
    assert calls == [1]
    with kernels.use_backend("numpy"):
        conv._batch_first(rows.copy(), 2, geo)
    conv._batch_first(rows.astype(np.float16), 2, geo)  # not a dtype the loops take
    conv._batch_first(np.asfortranarray(rows), 2, geo)  # not C-contiguous
    assert calls == [1]
