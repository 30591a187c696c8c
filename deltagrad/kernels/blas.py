"""Which library runs the matrix products: NumPy's BLAS (OpenBLAS) or Intel MKL.

Every layer product of deltagrad (``Linear``, ``matmul``, convolution, attention, the
recurrent layers) calls ``matmul`` here. With the ``numpy`` BLAS it is ``xp.matmul``. With
``mkl`` (``pip install deltagrad[mkl]``: Intel's ``mkl`` wheel, and Numba), float32/float64
products of matrices, and batches of them, run in MKL's ``cblas_?gemm`` /
``cblas_?gemm_batch_strided`` (called from compiled code, ``mkl_gemm.py``), and anything else
(vectors, integers, mixed dtypes, broadcast batches) still in NumPy.

Why: NumPy's OpenBLAS keeps its own threads, which spin for about 0.1 s after every product
(``benchmarks/openblas_spin.py``), while the compiled kernels (``numba_parallel.py``) run on
GNU OpenMP's pool -- two pools fighting over the cores between products. MKL is loaded with
its GNU OpenMP threading layer, so the products and the compiled kernels share one pool, as
PyTorch's do (``benchmarks/mkl_one_pool.py``: a VAE step at 2 threads, 0.82 of PyTorch's time
with the products in MKL against 0.96 without).

MKL runs in strict conditional-numerical-reproducibility mode (``MKL_CBWR_Set(AUTO | STRICT)``):
a product gives the same bits run after run and whatever the thread count, as OpenBLAS does,
so a resumed training still equals an uninterrupted one bit for bit (``DELTAGRAD_MKL_STRICT=0``
trades that for speed at more than one thread: ``mkl_gemm.py``).

The choice comes from ``DELTAGRAD_BLAS=numpy|mkl``; unset, it is ``mkl`` when the MKL library
can be found (the ``mkl`` wheel's ``libmkl_rt.so``, or ``DELTAGRAD_MKL_LIBRARY=PATH``) and
``numpy`` otherwise. ``set_blas``/``use_blas`` change it inside a program.
"""
from __future__ import annotations

import os

import numpy as np

from ..threads import get_num_threads

__all__ = ["BLAS", "matmul", "get_blas", "set_blas", "use_blas", "mkl_available",
           "mkl_library"]

BLAS = ("numpy", "mkl")
ENV_VAR = "DELTAGRAD_BLAS"
LIBRARY_VAR = "DELTAGRAD_MKL_LIBRARY"

_chosen = [None]   # set_blas's choice; None: the environment's, read once (_default)
_default = []      # [DELTAGRAD_BLAS's choice, or the installed default], once read
_found = []        # [path of libmkl_rt or None], once searched
_NO_TRANS, _TRANS = 111, 112  # mkl_cblas.h
_INT_MAX = 2 ** 31 - 1
# MKL is slow on a product whose result has few columns, at least on an AMD EPYC (Zen 4; MKL
# 2026.2.1, and PyTorch's MKL 2024.2 alike): (512, 128)·(128, n) took 42.7 µs at n = 4,
# 53.6 at n = 8 and 26.2 at n = 16, one thread, while its transpose Cᵀ = Bᵀ·Aᵀ, whose rows
# are 512 long, copied into C took 19.6 and 26.1 µs at n = 4 and 8 (with ``matmul``'s Python
# call; 31.7 at 16) (``benchmarks/narrow_products.py``). So in MKL a product (or a batch of
# them) of at least NARROW rows and fewer than NARROW columns is made as its transpose and
# copied. (The compiled recurrent loop once made its per-step products with the batch as
# their columns and took this path too, an LSTM layer's forward and backward at batch 8 going
# from 12.11 to 5.42 ms; its products now have the batch as their rows, ``numba_sequence.py``.)
NARROW = 16


def narrow(m, n) -> bool:
    """Whether an (m, n) product is made as its transpose in MKL (NARROW above)."""
    return n < NARROW <= m


def mkl_library():
    """The path of MKL's single dynamic library (``libmkl_rt.so``), or None: from
    ``DELTAGRAD_MKL_LIBRARY``, else the installed ``mkl`` wheel's files."""
    if not _found:
        _found.append(_search())
    return _found[0]


def _search():
    path = os.environ.get(LIBRARY_VAR, "").strip()
    if path:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{LIBRARY_VAR}={path!r}: no such file; expected the path "
                                    "of MKL's libmkl_rt.so")
        return path
    try:
        from importlib import metadata
        files = metadata.files("mkl") or []
    except Exception:  # PackageNotFoundError, or a broken install's metadata
        return None
    for f in files:
        if os.path.basename(str(f)).startswith("libmkl_rt.so"):
            located = str(f.locate())
            if os.path.isfile(located):
                return located
    return None


def mkl_available() -> bool:
    """True when MKL's library is installed (the ``mkl`` extra) or named by
    ``DELTAGRAD_MKL_LIBRARY``, and Numba, which calls it, imports."""
    from . import numba_available
    return mkl_library() is not None and numba_available()


def _check(name, where):
    if name not in BLAS:
        raise ValueError(f"{where}: unknown BLAS {name!r}; expected one of {BLAS}")
    if name == "mkl" and not mkl_available():
        raise ImportError(f"{where}: the 'mkl' BLAS needs Intel's MKL and Numba (pip install "
                          f"deltagrad[mkl], or Numba and {LIBRARY_VAR}=PATH of "
                          "libmkl_rt.so); use 'numpy' instead")
    return name


def get_blas() -> str:
    """'numpy' or 'mkl': ``set_blas``'s choice, else ``DELTAGRAD_BLAS`` (read on the first
    call), else mkl when it is installed."""
    if _chosen[0] is not None:
        return _chosen[0]
    if not _default:
        env = os.environ.get(ENV_VAR, "").strip().lower()
        _default.append(_check(env, f"{ENV_VAR}={os.environ[ENV_VAR]!r}") if env else
                        "mkl" if mkl_available() else "numpy")
    return _default[0]


def set_blas(name) -> None:
    """Run the products in ``name`` ('numpy' or 'mkl') from now on; ``None``: the default."""
    _chosen[0] = None if name is None else _check(name, "set_blas")


def use_blas(name):
    """``with use_blas('numpy'): ...`` runs the block's products in that library."""
    from . import while_chosen
    return while_chosen(_chosen, set_blas, name)


def _operand(m):
    """(transposed, leading dimension) of a matrix MKL reads in place, or None: row-major
    with unit column stride, or the transpose of such (unit row stride)."""
    e = m.itemsize
    rows, cols = m.shape[-2:]
    s_row, s_col = m.strides[-2:]
    if (s_col == e or cols == 1) and (rows == 1 or (s_row % e == 0 and s_row // e >= cols)):
        return False, (s_row // e if rows > 1 else cols)
    if (s_row == e or rows == 1) and (cols == 1 or (s_col % e == 0 and s_col // e >= rows)):
        return True, (s_col // e if cols > 1 else rows)
    return None


def _element_strides(m, batch_ndim):
    """The element strides of the batch dimensions of ``m`` (zeros for a 2-D matrix used for
    every product of the batch), or None when a stride is not a whole number of elements."""
    if m.ndim == 2:
        return (0,) * batch_ndim
    strides = m.strides[:-2]
    if any(s % m.itemsize or s < 0 for s in strides):
        return None
    return tuple(s // m.itemsize for s in strides)


def _batch_levels(batch, *arrays):
    """The batch of products as at most two levels MKL can step through: ((outer, strides),
    (count, strides)), with the element strides of each array (A, B, out) at that level
    (count 0: one product); None when the batch dimensions do not merge into two. Dimensions
    merge where every array steps through them as through one (size-1 dimensions aside): the
    heads and batch of attention on a fused (B, T, 3·D) projection, (B, h, T, d) views with
    strides (T·3D, d, 3D, 1), are two levels."""
    none = (0,) * len(arrays)
    if not batch:  # one product, once (the common case: ~5 µs of a small product's call)
        return (1, none), (0, none)
    strides = [_element_strides(m, len(batch)) for m in arrays]
    if any(s is None for s in strides):
        return None
    levels = []
    for i, size in enumerate(batch):
        if size == 1:
            continue
        step = tuple(s[i] for s in strides)
        if levels and all(p == d * size for p, d in zip(levels[-1][1], step)):
            levels[-1] = (levels[-1][0] * size, step)
        else:
            levels.append((size, step))
    if len(levels) > 2:
        return None
    if not levels:  # no batch at all: one product, once
        return (1, none), (0, none)
    if len(levels) == 1:
        levels.insert(0, (1, none))
    return levels[0], levels[1]


def _row_major_out(c):
    """The leading dimension of a matrix (batch) MKL can write in place (row-major, unit
    column stride), or None."""
    e = c.itemsize
    rows, cols = c.shape[-2:]
    s_row, s_col = c.strides[-2:]
    if (s_col == e or cols == 1) and (rows == 1 or (s_row % e == 0 and s_row // e >= cols)):
        return s_row // e if rows > 1 else cols
    return None


def _mkl_matmul(a, b, out, beta=0.0):
    """a @ b in MKL, or None when MKL cannot take these arrays as they are: both float32 or
    both float64, matrices or batches of them with equal batch shapes, or one a matrix used
    for every matrix of the other (a batch stride of 0). β = 1: out ← a @ b + out, in place
    (None unless MKL can write ``out`` where it lies)."""
    if a.dtype != b.dtype or a.dtype not in _REALS or a.ndim < 2 or b.ndim < 2 \
            or a.size == 0 or b.size == 0 or not (a.flags.aligned and b.flags.aligned):
        return None
    if a.ndim != b.ndim:
        if b.ndim == 2 and a.flags.c_contiguous and not beta:  # (…, m, k) @ (k, n): one
            r = _mkl_matmul(a.reshape(-1, a.shape[-1]), b, None)    # (…·m, k) product
            return None if r is None else _into(out, r.reshape(a.shape[:-1] + (b.shape[-1],)))
        if min(a.ndim, b.ndim) != 2:
            return None
        batch = a.shape[:-2] or b.shape[:-2]
    elif a.shape[:-2] != b.shape[:-2]:
        return None  # broadcast batches: NumPy
    else:
        batch = a.shape[:-2]
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if b.shape[-2] != k or min(m, n, k) == 0 or max(m, n, k, a.size, b.size) > _INT_MAX:
        return None
    fa, fb = _operand(a), _operand(b)
    if fa is None or fb is None:
        return None
    if not beta and narrow(m, n):
        # (a @ b)ᵀ = bᵀ · aᵀ, a read where it lies (the transpose flag), bᵀ (n·k numbers a
        # matrix) copied row-major first: read with the transpose flag, (512, 128)·(128, 2)
        # took 35.7 µs, from the copy 12.1 (by hand). Its rows, m long, are not narrow. One
        # product directly (through the general call it took ~4 µs more: (64, 84)·(84, 10)
        # 7.4 -> 11.0 µs, narrow_products.py at 04e6a87, not committed), a batch through
        # the general call.
        b_t = np.ascontiguousarray(np.swapaxes(b, -1, -2))
        if not batch:
            ta, lda = fa
            res_t = np.empty((n, m), a.dtype)
            started_mkl().gemm(b_t, a, res_t, _NO_TRANS, _NO_TRANS if ta else _TRANS, n, m,
                               k, k, lda, m, 0, 0, 0, 0)
        else:
            res_t = _mkl_matmul(b_t, np.swapaxes(a, -1, -2), None)
        if res_t is not None:
            return _into_transposed(out, res_t)
    shape = batch + (m, n)
    # MKL writes out while it reads a and b: an out that may overlap them gets a new array;
    # an out in a layout MKL writes (row-major matrices, batch strides that merge with a's
    # and b's) is written in place, as attention's gradients into a fused (B, T, 3·D) buffer
    res, levels, ldc = None, None, None
    if out is not None and out.dtype == a.dtype and out.shape == shape and \
            out.flags.aligned and not np.may_share_memory(out, a) and \
            not np.may_share_memory(out, b):
        ldc = _row_major_out(out)
        levels = None if ldc is None else _batch_levels(batch, a, b, out)
        res = out if levels is not None else None
    if res is None:
        if beta:
            return None
        res = np.empty(shape, a.dtype)
        ldc = n
        levels = _batch_levels(batch, a, b, res)
        if levels is None:
            return None
    (outer, (oa, ob, oc)), (count, (sa, sb, sc)) = levels
    if count and sc < ldc * m and beta:
        return None
    if count and sc < ldc * m:
        # MKL's strided batch takes an out stride of at least ldc·m (views of a fused buffer,
        # whose heads interleave, have less): step through the other level in MKL instead
        if outer == 1 or oc < ldc * m:  # (res is out: a new array's strides always do)
            r = _mkl_matmul(a, b, None)
            return None if r is None else _into(out, r)
        (outer, (oa, ob, oc)), (count, (sa, sb, sc)) = levels[1], levels[0]
    mkl_gemm = started_mkl()
    (ta, lda), (tb, ldb) = fa, fb
    mkl_gemm.gemm(a, b, res, _TRANS if ta else _NO_TRANS, _TRANS if tb else _NO_TRANS, m, n,
                  k, lda, ldb, ldc, sa, sb, sc, count, outer, oa, ob, oc, beta)
    return res if res is out else _into(out, res)


def _into_transposed(out, res_t):
    """res_t with its last two axes swapped, as a new C-contiguous array or copied into
    ``out``."""
    res = np.swapaxes(res_t, -1, -2)
    return np.ascontiguousarray(res) if out is None else _into(out, res)


_REALS = (np.dtype(np.float32), np.dtype(np.float64))
_mkl_gemm = []  # [the module that calls MKL], once imported (an import in a call costs ~5 µs)


def started_mkl():
    """The module that calls MKL (``mkl_gemm``), started on first use, with MKL set to the
    thread count in force (``threads.get_num_threads``)."""
    if not _mkl_gemm:
        from . import mkl_gemm
        quiet_openblas()
        _mkl_gemm.append(mkl_gemm)
    mkl = _mkl_gemm[0]
    # (GNU OpenMP is not fork-safe: in a child forked after MKL started, one thread)
    mkl.set_num_threads(get_num_threads() if os.getpid() == mkl.STARTED_IN else 1)
    return mkl


def mkl_started() -> bool:
    """Whether a product has run in MKL in this process."""
    return bool(_mkl_gemm)


_openblas_limit = []  # the threadpoolctl limit in force (kept so it stays in force)


def quiet_openblas():
    """Once MKL runs the products, NumPy's OpenBLAS keeps one thread: what is left to it
    (vectors, broadcast batches, einsum) is small, and an OpenBLAS worker thread would spin
    after each call beside the OpenMP pool's (an LSTM step at 2 threads: 29 ms with NumPy's
    BLAS, 111 ms with MKL and OpenBLAS both threaded, measured by hand)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return
    _openblas_limit[:] = [ThreadpoolController().select(internal_api="openblas").limit(
        limits=1)]


def _into(out, res):
    """``res``, or copied into ``out`` when one was given."""
    if out is None:
        return res
    if out.shape != res.shape:
        raise ValueError(f"matmul: out has shape {out.shape}, expected {res.shape}")
    out[...] = res
    return out


def matmul_plus(a, b, c):
    """a @ b + c for matrices a (m, k), b (k, n) and c that broadcasts to (m, n) (a Linear
    layer's bias), as a new array. In MKL, c is first copied into the result and the product
    added to it in the GEMM (β = 1), as PyTorch's ``addmm``: a write pass instead of a
    read-and-write pass over the product after it. A (2048, 128)·(128, 384) + b: 1.56 →
    1.48 ms at 2 threads, (128, 784)·(784, 256) + b: 346 → 317 µs (interleaved, by hand).
    A product of fewer than NARROW columns is made as its transpose, c added after."""
    if type(a) is np.ndarray and type(b) is np.ndarray and get_blas() == "mkl" and \
            a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype == c.dtype and \
            not narrow(a.shape[0], b.shape[1]):
        out = np.empty((a.shape[0], b.shape[1]), a.dtype)
        out[...] = c
        if _mkl_matmul(a, b, out, beta=1.0) is not None:
            return out
    out = matmul(a, b)
    out += c
    return out


def matmul(a, b, out=None):
    """``a @ b`` of two arrays (NumPy's broadcasting rules), in the chosen BLAS."""
    if type(a) is np.ndarray and type(b) is np.ndarray and get_blas() == "mkl":
        r = _mkl_matmul(a, b, out)
        if r is not None:
            return r
    if type(a) is np.ndarray:
        return np.matmul(a, b, out=out) if out is not None else np.matmul(a, b)
    from ..backend import array_module
    xp = array_module(a)
    return xp.matmul(a, b, out=out) if out is not None else xp.matmul(a, b)
