"""The products in MKL (``kernels/blas.py``, ``kernels/mkl_gemm.py``) against NumPy's and
float64 references, and the layers that use them against PyTorch under both libraries."""
import os
import subprocess
import sys

import numpy as np
import pytest

import deltagrad as dg
from deltagrad.kernels import blas
from tests.conftest import requires_torch

requires_mkl = pytest.mark.skipif(not blas.mkl_available(),
                                  reason="MKL is the optional extra deltagrad[mkl]")
BLAS = ["numpy"] + (["mkl"] if blas.mkl_available() else [])


def _transposed(a):
    """The same values, stored with the last two axes swapped (a transposed view)."""
    return np.swapaxes(np.ascontiguousarray(np.swapaxes(a, -1, -2)), -1, -2)


SHAPES = [((100, 784), (784, 300)), ((1, 7), (7, 1)), ((5, 1), (1, 3)), ((3, 5, 7), (3, 7, 4)),
          ((2, 3, 5, 7), (2, 3, 7, 4)), ((6, 7), (4, 7, 3)), ((4, 5, 7), (7, 3)),
          ((2, 4, 5, 7), (7, 3)),
          # fewer than NARROW columns: made as the transpose (bᵀ·aᵀ)ᵀ
          ((128, 128), (128, 10)), ((512, 65), (65, 1)), ((16, 3), (3, 15)), ((3, 40, 7), (7, 2))]


@requires_mkl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shapes", SHAPES, ids=str)
def test_products_in_mkl_equal_a_float64_reference(shapes, dtype):
    rng = np.random.default_rng(0)
    a0, b0 = (rng.standard_normal(s).astype(dtype) for s in shapes)
    want = np.matmul(a0.astype(np.float64), b0.astype(np.float64))
    tol = 2e-5 if dtype == np.float32 else 1e-13
    for a in (a0, _transposed(a0)):
        for b in (b0, _transposed(b0)):
            got = blas._mkl_matmul(a, b, None)
            assert got is not None, "MKL declined a layout it reads in place"
            assert got.dtype == dtype and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


@requires_mkl
def test_narrow_products_are_made_as_their_transpose(monkeypatch):
    """A product with fewer than NARROW columns (and at least NARROW rows) goes to MKL as
    bᵀ·aᵀ, (n, m) (bᵀ copied row-major, a read where it lies); written into ``out`` when one
    is given, else a new C-contiguous array (matmul_plus adds its term afterwards); a batch
    likewise, a product with fewer rows as it stands."""
    calls = []
    mkl = blas.started_mkl()
    gemm = mkl.gemm
    monkeypatch.setattr(mkl, "gemm", lambda *a, **k: calls.append(a[5:8]) or gemm(*a, **k))
    rng = np.random.default_rng(3)
    a = rng.standard_normal((64, 20), dtype=np.float32)
    b = rng.standard_normal((20, 5), dtype=np.float32)
    want = a.astype(np.float64) @ b
    for x in (a, _transposed(a)):
        for y in (b, _transposed(b)):
            for out in (None, np.full((64, 5), np.nan, np.float32)):
                got = blas.matmul(x, y, out=out)
                assert got.flags.c_contiguous and got.shape == (64, 5)
                assert out is None or got is out
                np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5)
    assert calls == [(5, 64, 20)] * 8  # (m, n, k) of the transposed product
    calls.clear()
    blas.matmul(rng.standard_normal((64, 20), dtype=np.float32), a.T)  # 64 columns
    blas.matmul_plus(a, b, np.ones(5, np.float32))
    blas.matmul(a[:8], b)  # 8 rows
    assert calls == [(64, 64, 20), (5, 64, 20), (8, 5, 20)]
    # batches: (3, 64, 20) @ (3, 20, 5), and one matrix against a batch either side
    a3 = rng.standard_normal((3, 64, 20), dtype=np.float32)
    b3 = rng.standard_normal((3, 20, 5), dtype=np.float32)
    for x, y in ((a3, b3), (_transposed(a3), b3), (a, b3), (a3, b)):
        calls.clear()
        got = blas.matmul(x, y)
        np.testing.assert_allclose(got, np.matmul(x.astype(np.float64), y), rtol=2e-5,
                                   atol=1e-5)
        assert got.flags.c_contiguous and got.shape == np.broadcast_shapes(
            x.shape[:-2], y.shape[:-2]) + (64, 5)
        assert calls and all(m in (5, 15) for m, _, _ in calls), calls  # n, or 3·n rows


@requires_mkl
@pytest.mark.parametrize("transposed", [False, True])
def test_packed_products_equal_the_product(transposed):
    """``mkl_gemm.pack``/``packed_product`` (the recurrent loop's per-step products): the
    right operand packed, as it lies or transposed, for products with a left operand whose
    rows lie apart (a view of some of a matrix's columns) and into such a view; and
    ``product``, the same product unpacked, for fewer rows."""
    mkl = blas.started_mkl()
    rng = np.random.default_rng(4)
    w = rng.standard_normal((40, 48), dtype=np.float32)  # B (k 40, n 48)
    stored = np.ascontiguousarray(w.T) if transposed else w
    for n_rows in (1, 7, 33):
        a = rng.standard_normal((n_rows, 45), dtype=np.float32)[:, 5:]
        out = np.full((n_rows, 50), np.nan, np.float32)
        mkl.packed_product(a, mkl.pack(stored, n_rows, transposed), 48, out[:, 2:])
        want = a.astype(np.float64) @ w
        np.testing.assert_allclose(out[:, 2:], want, rtol=2e-5, atol=1e-5)
        assert np.isnan(out[:, :2]).all()
        fewer = np.full((n_rows, 48), np.nan, np.float32)
        mkl.product(a, stored, transposed, fewer)
        np.testing.assert_allclose(fewer, want, rtol=2e-5, atol=1e-5)


@pytest.mark.parametrize("which", BLAS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_plus_adds_a_broadcast_term_in_the_product(which, dtype):
    """a @ b + c (c a row, a column or a full matrix; a read transposed): MKL's β = 1 product
    against the float64 reference, and the same numbers in NumPy's BLAS."""
    rng = np.random.default_rng(5)
    a0 = rng.standard_normal((37, 130)).astype(dtype)
    b = rng.standard_normal((130, 19)).astype(dtype)
    tol = 2e-5 if dtype == np.float32 else 1e-13
    for c in (rng.standard_normal(19), rng.standard_normal((37, 1)), rng.standard_normal((37, 19))):
        c = c.astype(dtype)
        for a in (a0, _transposed(a0)):
            want = a.astype(np.float64) @ b.astype(np.float64) + c
            with blas.use_blas(which):
                got = blas.matmul_plus(a, b, c)
            assert got.dtype == dtype and got.shape == (37, 19)
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


@requires_mkl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batches_in_two_levels(dtype):
    """Attention on a fused projection: q, k, v are (B, h, T, d) views of one (B, T, 3·h·d)
    array, whose batch strides (T·3hd, d) do not merge into one; MKL steps through them in two
    levels. Three levels that do not merge stay in NumPy."""
    rng = np.random.default_rng(2)
    B, h, T, d = 3, 4, 5, 6
    qkv = rng.standard_normal((B, T, 3 * h * d)).astype(dtype)
    q, k, v = (qkv[..., i * h * d:(i + 1) * h * d].reshape(B, T, h, d).transpose(0, 2, 1, 3)
               for i in range(3))
    scores = rng.standard_normal((B, h, T, T)).astype(dtype)
    tol = 2e-5 if dtype == np.float32 else 1e-13
    for a, b in ((q, k.swapaxes(-1, -2)), (scores, v), (scores.swapaxes(-1, -2), q),
                 (v.swapaxes(-1, -2), scores), (q[:, :1], k[:, :1].swapaxes(-1, -2))):
        got = blas._mkl_matmul(a, b, None)
        assert got is not None, (a.strides, b.strides)
        want = np.matmul(a.astype(np.float64), b.astype(np.float64))
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
        # one call of MKL's group API for all B·h products: each one is the same product
        # alone to round-off (the same bits on the machine this test was written on; on an
        # AMD EPYC, MKL 2026.2.1, 70 of 300 numbers differed in the last bit)
        alone = [[blas._mkl_matmul(np.ascontiguousarray(a[i, j]), np.ascontiguousarray(b[i, j]),
                                   None) for j in range(a.shape[1])] for i in range(B)]
        np.testing.assert_allclose(got, np.array(alone), rtol=tol,
                                   atol=tol * np.abs(want).max())
    # written in place into views of a fused buffer (attention's gradients of q, k, v)
    grads = np.zeros((B, T, 3 * h * d), dtype)
    dq = grads[..., :h * d].reshape(B, T, h, d).transpose(0, 2, 1, 3)
    with blas.use_blas("mkl"):
        assert blas.matmul(scores, v, out=dq) is dq
    want = np.matmul(scores.astype(np.float64), v.astype(np.float64))
    np.testing.assert_allclose(dq, want, rtol=tol, atol=tol * np.abs(want).max())
    assert not grads[..., h * d:].any()  # nothing written beside it
    # heads interleaved in one level only (h, T, d) of a (T, h·d) buffer: MKL's strided batch
    # cannot write there, the product goes through a new array into it
    fused = np.zeros((T, h * d), dtype)
    heads = fused.reshape(T, h, d).transpose(1, 0, 2)
    with blas.use_blas("mkl"):
        assert blas.matmul(scores[0], v[0], out=heads) is heads
    want = np.matmul(scores[0].astype(np.float64), v[0].astype(np.float64))
    np.testing.assert_allclose(heads, want, rtol=tol, atol=tol * np.abs(want).max())
    deep = rng.standard_normal((2, 3, 4, 5, 6)).astype(dtype)[:, :, ::2]  # (2, 3, 2, 5, 6)
    other = rng.standard_normal((3, 2, 2, 6, 4)).astype(dtype)
    assert blas._mkl_matmul(deep.transpose(1, 0, 2, 3, 4), other, None) is None
    with blas.use_blas("mkl"):
        np.testing.assert_allclose(blas.matmul(deep.transpose(1, 0, 2, 3, 4), other),
                                   np.matmul(deep.transpose(1, 0, 2, 3, 4), other), rtol=tol)


@requires_mkl
def test_out_and_layouts_mkl_cannot_read_in_place():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 8)).astype(np.float32)
    b = rng.standard_normal((8, 5)).astype(np.float32)
    with blas.use_blas("mkl"):
        out = np.empty((6, 5), np.float32)
        assert blas.matmul(a, b, out=out) is out
        np.testing.assert_allclose(out, a @ b, rtol=1e-5)
        square = rng.standard_normal((6, 6)).astype(np.float32)
        want = square @ square
        assert blas.matmul(square, square, out=square) is square  # out is an input: as NumPy
        np.testing.assert_allclose(square, want, rtol=1e-5)
        strided_out = np.zeros((6, 10), np.float32)[:, ::2]  # not contiguous: copied into
        assert blas.matmul(a, b, out=strided_out) is strided_out
        np.testing.assert_allclose(strided_out, a @ b, rtol=1e-5)
        # every other column of a: neither row- nor column-major, NumPy takes it
        wide = rng.standard_normal((6, 16)).astype(np.float32)
        assert blas._mkl_matmul(wide[:, ::2], b, None) is None
        np.testing.assert_allclose(blas.matmul(wide[:, ::2], b), wide[:, ::2] @ b, rtol=1e-5)
        # what stays in NumPy gives NumPy's answer: integers, mixed dtypes, vectors,
        # broadcast batches, empty products
        ints = np.arange(12).reshape(3, 4)
        assert np.array_equal(blas.matmul(ints, ints.T), ints @ ints.T)
        mixed = blas.matmul(a, b.astype(np.float64))
        assert mixed.dtype == np.float64 and np.allclose(mixed, a @ b.astype(np.float64))
        assert np.allclose(blas.matmul(a, b[:, 0]), a @ b[:, 0], rtol=1e-5)
        c = rng.standard_normal((1, 3, 4)).astype(np.float32)
        d = rng.standard_normal((5, 4, 2)).astype(np.float32)
        np.testing.assert_allclose(blas.matmul(c, d), c @ d, rtol=1e-5)
        assert blas.matmul(np.ones((3, 0), np.float32), np.ones((0, 2), np.float32)).tolist() \
            == [[0.0, 0.0]] * 3


@requires_mkl
def test_mkl_gives_the_same_bits_at_any_thread_count():
    """Strict CNR: a long contraction (LeNet's first weight gradient) rounds the same at 1
    and 2 threads, so a run resumed at another --threads stays bit-for-bit."""
    rng = np.random.default_rng(2)
    rows = rng.standard_normal((6, 50176)).astype(np.float32)
    cols = rng.standard_normal((25, 50176)).astype(np.float32)
    before = dg.get_num_threads()
    try:
        results = []
        for n in (1, 2, 1):
            dg.set_num_threads(n)
            with blas.use_blas("mkl"):
                results.append(blas.matmul(rows, cols.T).tobytes())
    finally:
        dg.set_num_threads(before)
    assert results[0] == results[1] == results[2]


def test_bad_choices_are_named(monkeypatch):
    with pytest.raises(ValueError, match="unknown BLAS 'openblas'.*'numpy', 'mkl'"):
        blas.set_blas("openblas")
    monkeypatch.setattr(blas, "_found", [None])
    with pytest.raises(ImportError, match=r"deltagrad\[mkl\]"):
        blas.set_blas("mkl")
    monkeypatch.setenv(blas.LIBRARY_VAR, "/no/such/libmkl_rt.so")
    monkeypatch.setattr(blas, "_found", [])
    with pytest.raises(FileNotFoundError, match="DELTAGRAD_MKL_LIBRARY='/no/such"):
        blas.mkl_library()


def test_the_environment_chooses_the_blas():
    code = "from deltagrad.kernels import blas; print(blas.get_blas())"
    env = dict(os.environ, DELTAGRAD_BLAS="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "numpy", out.stderr
    env["DELTAGRAD_BLAS"] = "eigen"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "DELTAGRAD_BLAS='eigen'" in out.stderr


# ----------------------------------------------------------------------------- the layers
@requires_torch
@pytest.mark.parametrize("which", BLAS)
def test_layers_equal_pytorch_with_either_blas(which):
    """Linear, Conv2d (plain and grouped), LSTM and multi-head attention, forward and every
    gradient, against PyTorch twins, with the products in ``which``."""
    import torch
    from tests.conftest import to_torch
    torch.manual_seed(0)
    cases = [
        (torch.nn.Linear(20, 30), lambda lib: lib.nn.Linear(20, 30), (7, 20)),
        (torch.nn.Conv2d(4, 6, 3, padding=1), lambda lib: lib.nn.Conv2d(4, 6, 3, padding=1),
         (2, 4, 9, 9)),
        (torch.nn.Conv2d(4, 6, 3, groups=2), lambda lib: lib.nn.Conv2d(4, 6, 3, groups=2),
         (2, 4, 9, 9)),
        (torch.nn.LSTM(5, 8, batch_first=True),
         lambda lib: lib.nn.LSTM(5, 8, batch_first=True), (3, 6, 5)),
        (torch.nn.MultiheadAttention(16, 4, batch_first=True),
         lambda lib: lib.nn.MultiheadAttention(16, 4, batch_first=True), (2, 5, 16)),
    ]
    rng = np.random.default_rng(3)
    with blas.use_blas(which):
        for twin, make, shape in cases:
            layer = make(dg)
            layer.load_state_dict({k: v.detach().numpy().copy()
                                   for k, v in twin.state_dict().items()})
            x = dg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
            tx = to_torch(x)
            args, targs = ((x, x, x), (tx, tx, tx)) if shape == (2, 5, 16) else ((x,), (tx,))
            y, ty = layer(*args), twin(*targs)
            y, ty = (y[0], ty[0]) if isinstance(ty, tuple) else (y, ty)
            np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-4,
                                       atol=1e-5)
            (y * y).sum().backward()
            (ty * ty).sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
            torch_params = dict(twin.named_parameters())
            for name, p in layer.named_parameters():
                np.testing.assert_allclose(p.grad.numpy(), torch_params[name].grad.numpy(),
                                           rtol=1e-4, atol=1e-4, err_msg=name)


def test_a_run_records_its_libraries_without_loading_numba():
    """``deltagrad train`` writes which BLAS and kernels it uses into config.json at the
    start; naming them must not import Numba, which a short run never loads (without MKL)."""
    code = ("import sys; from deltagrad.train.trainer import _libraries; "
            "print(_libraries(), 'numba' in sys.modules)")
    env = dict(os.environ, DELTAGRAD_BLAS="numpy")
    env.pop("DELTAGRAD_KERNELS", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    from deltagrad import kernels
    want = "numba" if kernels.numba_available() else "numpy"
    assert out.stdout.strip() == f"{{'blas': 'numpy', 'kernels': '{want}'}} False", out.stderr


@requires_mkl
@pytest.mark.parametrize("value, strict", [(None, True), ("1", True), ("0", False)])
def test_mkl_strict_mode_follows_the_environment(value, strict):
    """DELTAGRAD_MKL_STRICT=0 starts MKL in its standard CNR mode (same bits at a fixed thread
    count only); unset or 1, strict. Read in a fresh process: MKL's mode is set once."""
    env = {k: v for k, v in os.environ.items() if k != "DELTAGRAD_MKL_STRICT"}
    if value is not None:
        env["DELTAGRAD_MKL_STRICT"] = value
    code = ("from deltagrad.kernels import blas\n"
            "m = blas.started_mkl()\n"
            "m._LIB.MKL_CBWR_Get.restype = __import__('ctypes').c_int\n"
            "from deltagrad.train.trainer import _libraries\n"
            "print(m.STRICT, m._LIB.MKL_CBWR_Get(-1) & 0x10000 != 0,\n"
            "      _libraries().get('mkl_strict', True))")
    env["DELTAGRAD_BLAS"] = "mkl"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    # a run records the standard mode: resumed in strict mode it is not bit-for-bit
    assert out == [str(strict)] * 3


@requires_mkl
def test_a_bad_mkl_strict_value_is_refused():
    env = dict(os.environ, DELTAGRAD_MKL_STRICT="yes")
    r = subprocess.run([sys.executable, "-c", "from deltagrad.kernels import blas; "
                        "blas.started_mkl()"], env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "DELTAGRAD_MKL_STRICT must be 0 or 1, got 'yes'" in r.stderr
