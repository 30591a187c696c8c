"""The recurrent loop's own per-step products (kernels/numba_gemm.py) against a float64
reference, in every shape the blocks do not divide, on views whose rows lie apart."""
import numpy as np
import pytest

pytest.importorskip("numba")
from deltagrad.kernels import numba_gemm  # noqa: E402


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("m, k, n", [(1, 1, 1), (3, 5, 7), (8, 32, 32), (9, 33, 65),
                                     (16, 128, 512), (32, 512, 192), (7, 0, 40)])
def test_product_equals_the_float64_product(m, k, n, transposed):
    rng = np.random.default_rng(m * 1000 + k + n)
    w = rng.standard_normal((n, k) if transposed else (k, n), dtype=np.float32)
    b = w.T if transposed else w
    a = rng.standard_normal((m, k + 3), dtype=np.float32)[:, 3:]  # rows k + 3 apart
    wide = np.full((m, n + 2), np.nan, np.float32)
    out = wide[:, 1:n + 1]
    numba_gemm.product(a, numba_gemm.pack(w, transposed), out)
    want = a.astype(np.float64) @ b
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5 * max(1, k))
    assert np.isnan(wide[:, 0]).all() and np.isnan(wide[:, -1]).all()  # nothing beside out


def test_a_row_comes_out_the_same_whatever_rows_stand_beside_it():
    """Each element is one sum over k in order, so a batch split into parts
    (numba_sequence.batch_parts) gives the bits of the whole batch."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((29, 130), dtype=np.float32)
    panels = numba_gemm.pack(rng.standard_normal((130, 70), dtype=np.float32), False)
    whole = np.empty((29, 70), np.float32)
    numba_gemm.product(a, panels, whole)
    for lo, hi in ((0, 8), (8, 16), (5, 6), (16, 29)):
        part = np.empty((hi - lo, 70), np.float32)
        numba_gemm.product(a[lo:hi], panels, part)
        np.testing.assert_array_equal(part, whole[lo:hi])


def test_panels_are_aligned_and_padded_with_zeros():
    w = np.ones((5, 40), np.float32)
    panels = numba_gemm.pack(w, False)
    assert panels.shape == (2, 5, numba_gemm.COLUMNS) and panels.ctypes.data % 64 == 0
    assert (panels[1, :, 8:] == 0).all() and (panels[1, :, :8] == 1).all()
