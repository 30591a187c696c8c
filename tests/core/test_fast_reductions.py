"""The BLAS fast paths of sums (ops.reduce.sum_array, normalization._sum_of_products) equal
NumPy's reductions on every branch: leading axes, trailing axes, other axes, keepdims."""
import itertools

import numpy as np
import pytest

from deltagrad.ops.normalization import _sum_of_products
from deltagrad.ops.reduce import sum_array

SHAPES = [(64, 80), (8, 16, 40), (4, 8, 8, 20), (3, 5)]


def _axes_sets(nd):
    for r in range(1, nd + 1):
        yield from itertools.combinations(range(nd), r)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("keepdims", [False, True])
def test_sum_array_equals_numpy(shape, dtype, keepdims):
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for axes in _axes_sets(len(shape)):
        got = sum_array(x, axes, keepdims)
        want = x.sum(axis=axes, keepdims=keepdims)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


def test_sum_array_leaves_non_contiguous_and_integer_input_to_numpy():
    x = np.arange(6 * 1000).reshape(6, 1000)
    assert sum_array(x, (0,)).dtype == x.sum(0).dtype
    np.testing.assert_array_equal(sum_array(x, (0,)), x.sum(0))
    xt = np.random.default_rng(0).standard_normal((100, 90)).T
    np.testing.assert_allclose(sum_array(xt, (0,)), xt.sum(0))


@pytest.mark.parametrize("shape", SHAPES)
def test_sum_of_products_equals_numpy(shape):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal(shape), rng.standard_normal(shape)
    for axes in _axes_sets(len(shape)):
        np.testing.assert_allclose(_sum_of_products(a, b, axes),
                                   (a * b).sum(axis=axes, keepdims=True), rtol=1e-12,
                                   atol=1e-12)
