"""The parallel compiled im2col and col2im (kernels/numba_im2col.py, numba_col2im.py) equal
the NumPy reference (ops/conv.py) bit for bit, in both column orders, at 1 and 2 threads, and
keep to the user's thread count."""

import numpy as np
import pytest

import deltagrad as dg
from deltagrad import kernels
from deltagrad.ops import conv

pytest.importorskip("numba")
from deltagrad.kernels import numba_col2im, numba_im2col  # noqa: E402

# (N, C, H, W), kernel, stride, dilation, padding ((top, bottom), (left, right)), out channels
GEOMETRIES = [
    ((3, 2, 9, 7), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 4),
    ((4, 3, 14, 14), (4, 4), (2, 2), (1, 1), ((1, 1), (1, 1)), 5),    # DCGAN-like, batch inner
    ((2, 1, 28, 28), (4, 4), (2, 2), (1, 1), ((1, 1), (1, 1)), 8),    # batch outer
    ((2, 3, 11, 13), (3, 2), (2, 3), (2, 1), ((2, 0), (1, 3)), 2),    # uneven everything
    ((5, 2, 7, 7), (7, 7), (1, 1), (1, 1), ((0, 0), (0, 0)), 3),      # one window
    ((2, 2, 20, 20), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), 1),    # wide output, outer
]


def _geometry(shape, kernel, stride, dilation, pads, out_channels):
    return conv.make_geometry(shape[2:], kernel, stride, dilation, pads, 1,
                              in_channels=shape[1], out_channels=out_channels)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", GEOMETRIES)
def test_col2im_equals_numpy_bit_for_bit(case, dtype, threads):
    geo = _geometry(*case)
    n, c = case[0][:2]
    p = int(np.prod(geo.out_size))
    cols = np.random.default_rng(1).standard_normal((c * int(np.prod(geo.kernel)), n * p))
    cols = cols.astype(dtype)
    with kernels.use_backend("numpy"):
        reference = conv.col2im(cols, n, c, geo, dtype)
    inner = conv.batch_inner(geo)
    for order in (inner, not inner):  # both column orders, whatever batch_inner chooses
        given = cols if order == inner else _other_order(cols, n, p, inner)
        back = numba_col2im.col2im(given, n, c, geo.in_size, geo.kernel, geo.stride,
                                   geo.dilation, geo.pads, geo.out_size, order)
        assert back.shape == case[0] and back.dtype == dtype
        assert np.array_equal(back, reference)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", GEOMETRIES)
def test_im2col_equals_numpy_bit_for_bit(case, dtype, threads):
    geo = _geometry(*case)
    x = np.random.default_rng(1).standard_normal(case[0]).astype(dtype)
    with kernels.use_backend("numpy"):
        reference = conv.im2col(x, geo, pad_value=-2.5)
    inner = conv.batch_inner(geo)
    p = int(np.prod(geo.out_size))
    for order in (inner, not inner):
        cols = numba_im2col.im2col(x, geo.kernel, geo.stride, geo.dilation, geo.pads,
                                   geo.out_size, order, pad_value=-2.5)
        expected = reference if order == inner else _other_order(reference, x.shape[0], p, inner)
        assert cols.dtype == dtype and np.array_equal(cols, expected)
    if any(lo or hi for lo, hi in geo.pads):
        assert (cols == -2.5).any()  # the padding value reached the windows


def _other_order(cols, n, p, inner):
    """(R, N·P) <-> (R, P·N)."""
    r = cols.shape[0]
    if inner:   # (R, P, N) -> (R, N, P)
        return np.ascontiguousarray(cols.reshape(r, p, n).transpose(0, 2, 1)).reshape(r, -1)
    return np.ascontiguousarray(cols.reshape(r, n, p).transpose(0, 2, 1)).reshape(r, -1)


def test_col2im_adds_overlaps_exactly():
    # a 3x3 window with stride 1 over a 4x4 input of ones: each input position is counted
    # once per window that covers it
    geo = _geometry((1, 1, 4, 4), (3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)), 1)
    cols = np.ones((9, 4), np.float32)
    out = numba_col2im.col2im(cols, 1, 1, geo.in_size, geo.kernel, geo.stride,
                                   geo.dilation, geo.pads, geo.out_size, False)
    expected = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]], np.float32)
    assert np.array_equal(out[0, 0], expected)


def test_kernels_run_at_the_users_thread_count_from_the_split_size(monkeypatch):
    import numba
    from deltagrad.kernels import numba_parallel
    monkeypatch.setattr(numba_parallel, "MIN_SPLIT_ELEMENTS", 1000)
    before = dg.get_num_threads()
    try:
        for n in (1, 2):
            dg.set_num_threads(n)
            for size, threads in ((30, min(n, numba.config.NUMBA_NUM_THREADS)),  # 32,400
                                  (4, 1)):                                        # 576
                geo = _geometry((2, 2, size, size), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1)), 1)
                cols = np.ones((18, 2 * size * size), np.float32)
                numba_col2im.col2im(cols, 2, 2, geo.in_size, geo.kernel, geo.stride,
                                    geo.dilation, geo.pads, geo.out_size, False)
                assert numba.get_num_threads() == threads
    finally:
        dg.set_num_threads(before)


def test_conv_layers_agree_across_backends(threads):
    """A conv + transposed-conv forward and backward with the compiled im2col and col2im
    equals the NumPy path's."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 14, 14)).astype(np.float32)
    w = rng.standard_normal((6, 3, 4, 4)).astype(np.float32)
    wt = rng.standard_normal((6, 2, 4, 4)).astype(np.float32)

    def run(name):
        with kernels.use_backend(name):
            xt, wtt, wtt2 = (dg.tensor(a, requires_grad=True) for a in (x, w, wt))
            y = dg.nn.functional.conv2d(xt, wtt, stride=2, padding=1)
            z = dg.nn.functional.conv_transpose2d(y, wtt2, stride=2, padding=1)
            (z * z).sum().backward()
            return [a.detach().numpy() for a in (z, xt.grad, wtt.grad, wtt2.grad)]

    for a, b in zip(run("numba"), run("numpy")):
        assert np.array_equal(a, b)


_FORK_SCRIPT = """
import multiprocessing, sys
import numpy as np
import deltagrad as dg
from deltagrad import kernels
from deltagrad.kernels import numba_parallel

def conv(x, w):
    xt = dg.tensor(x, requires_grad=True)
    y = dg.nn.functional.conv_transpose2d(xt, dg.tensor(w), stride=2, padding=1)
    y.sum().backward()
    return numba_parallel.usable(), y.detach().numpy(), xt.grad.numpy()

if __name__ == "__main__":
    numba_parallel.MIN_SPLIT_ELEMENTS = 1
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    w = rng.standard_normal((3, 2, 4, 4)).astype(np.float32)
    dg.set_num_threads(2)
    with kernels.use_backend("numba"):
        usable, y, gx = conv(x, w)  # starts the pool (and MKL's, on the same libgomp) here
        with multiprocessing.get_context("fork").Pool(1) as pool:
            # (a child stopped by Numba never answers: fail after a minute, not hang)
            child_usable, child_y, child_gx = pool.apply_async(conv, (x, w)).get(timeout=60)
    assert usable and not child_usable
    assert np.array_equal(child_y, y) and np.array_equal(child_gx, gx)
    print("ok")
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_child_forked_after_the_pool_started_takes_the_numpy_path(tmp_path):
    """GNU OpenMP is not fork-safe (Numba stops such a child at its first parallel loop, and
    MKL's parallel regions there never return): the child computes the same numbers through
    the NumPy path, with MKL on one thread. In a fresh process, so that what earlier tests
    left in this one (pools, loaded libraries) does not decide the outcome."""
    import subprocess
    import sys
    script = tmp_path / "fork_child.py"
    script.write_text(_FORK_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
