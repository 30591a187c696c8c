"""Numba's thread pool (kernels/numba_parallel.py): which threading layer runs the parallel
kernels, and from what size of work they split, each in a fresh process (both are fixed
when the pool starts)."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("numba")

from deltagrad.kernels import blas  # noqa: E402


def _fresh(code, env):
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("NUMBA_THREADING", "OMP_WAIT", "GOMP_SPIN", "DELTAGRAD_BLAS"))}
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, check=True,
                          capture_output=True, text=True).stdout.split()


@pytest.mark.parametrize("env, expected", [({}, "omp"), ({"NUMBA_THREADING_LAYER": "workqueue"},
                                                         "workqueue")])
def test_parallel_kernels_run_on_the_openmp_layer_unless_the_user_chooses(env, expected):
    """Numba's own order tries TBB first, and the mkl extra installs TBB: the kernels would run
    on a second pool beside MKL's GNU OpenMP one. kernels/numba_parallel.py puts OpenMP first;
    NUMBA_THREADING_LAYER still decides when the user sets it."""
    from importlib.util import find_spec
    if find_spec("numba.np.ufunc.omppool") is None:
        pytest.skip("this Numba build has no OpenMP threading layer")
    code = ("import numpy as np, numba, deltagrad as dg\n"
            "dg.set_num_threads(2)\n"
            "from deltagrad.kernels import numba_relu\n"
            "y = np.ones(2_000_000, np.float32)\n"
            "numba_relu.relu_backward(y, y)\n"
            "print(numba.threading_layer())\n")
    assert _fresh(code, env)[-1] == expected


@pytest.mark.parametrize("blas_name", ["mkl", "numpy"])
def test_the_split_bar_follows_how_the_pool_waits(blas_name):
    """With MKL the pool threads spin between regions and work splits from 16K numbers; with
    NumPy's OpenBLAS they sleep (OMP_WAIT_POLICY=PASSIVE) and the bar is deltagrad.threads' 1M."""
    if blas_name == "mkl" and not blas.mkl_available():
        pytest.skip("needs the mkl extra")
    code = ("from deltagrad.kernels import numba_parallel as p\n"
            "import os\n"
            "print(p.MIN_SPLIT_ELEMENTS, os.environ.get('OMP_WAIT_POLICY', '-'))\n")
    bar, policy = _fresh(code, {"DELTAGRAD_BLAS": blas_name})
    from deltagrad import threads
    from deltagrad.kernels import numba_parallel as p
    assert p.SPINNING_MIN_SPLIT == 16_384
    assert (int(bar), policy) == ((p.SPINNING_MIN_SPLIT, "-") if blas_name == "mkl" else
                                  (threads.MIN_SPLIT_ELEMENTS, "PASSIVE"))


def _needs_two_cores_and_gnu_openmp():
    from importlib.util import find_spec
    if (os.cpu_count() or 1) < 2:
        pytest.skip("the pool of one core would not change the count")
    if find_spec("numba.np.ufunc.omppool") is None:
        pytest.skip("this Numba build has no OpenMP threading layer")


def test_starting_the_pool_leaves_the_openmp_thread_count_as_it_was():
    """Numba's OpenMP layer sets the process's OpenMP thread count to its pool's size when the
    pool starts; another library on the same runtime would then run at that count. deltagrad
    puts it back, or sets it to deltagrad.set_num_threads's count when that was called."""
    _needs_two_cores_and_gnu_openmp()
    code = ("import ctypes\n"
            "gomp = ctypes.CDLL('libgomp.so.1')\n"
            "gomp.omp_set_num_threads(1)\n"
            "from deltagrad.kernels import numba_parallel as p\n"
            "p.use_threads(1 << 22)\n"
            "print(gomp.omp_get_max_threads())\n"
            "import deltagrad as dg\n"
            "dg.set_num_threads(2)\n"
            "print(gomp.omp_get_max_threads())\n")
    assert _fresh(code, {}) == ["1", "2"]


def test_pytorch_in_the_same_process_keeps_its_thread_count():
    """PyTorch's wheel ships its own libgomp.so.1 and deltagrad's kernels run on that copy: a
    one-thread PyTorch that has run stays on one thread after deltagrad's pool starts (its
    LSTM ran on two before)."""
    _needs_two_cores_and_gnu_openmp()
    pytest.importorskip("torch")
    if not blas.mkl_available():
        pytest.skip("the compiled LSTM loop (the first user of the pool here) needs MKL")
    code = ("import torch\n"
            "torch.set_num_threads(1)\n"
            "torch.ones(256, 256) @ torch.ones(256, 256)\n"
            "import deltagrad as dg\n"
            "dg.set_num_threads(1)\n"
            "dg.nn.LSTM(64, 128, batch_first=True)(dg.randn(32, 64, 64))\n"
            "print(torch.get_num_threads())\n")
    assert _fresh(code, {}) == ["1"]
