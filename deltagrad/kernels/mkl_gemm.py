"""MKL's ``cblas_?gemm`` and ``cblas_?gemm_batch_strided``, called from compiled code
(``blas.py`` chooses the library and reads the arrays' layouts; this module makes the call).

Through ctypes a call costs ~16 µs before MKL starts (each ``array.ctypes.data`` alone takes
~3 µs, the 14 converted arguments ~7 µs) against ~2 µs for a small NumPy product, and a
recurrent layer makes two products per time step. Numba calls MKL's functions by their
symbol names (``ExternalFunction``; the library is made visible to Numba's linker with
``load_library_permanently``), so the compiled call can be cached on disk.

Importing this module starts MKL: the GNU OpenMP threading layer, whose pool the compiled
kernels of ``numba_parallel.py`` use too, and strict conditional numerical reproducibility
(``MKL_CBWR_Set(MKL_CBWR_AUTO | MKL_CBWR_STRICT)``: the same bits on every run and at any
thread count). Both must be chosen before any other MKL call.

Strict mode costs speed at more than one thread on products of awkward shapes (a
(2048, 128)·(128, 65) product at 2 threads: 0.54 ms strict, 0.28 ms not; measured by hand).
``DELTAGRAD_MKL_STRICT=0`` (read when MKL starts) asks for MKL's standard mode instead: the
same bits on every run *at the same thread count* only, so a training whose thread count
changes (``--threads auto`` when other trainings start or end, or a resume at another
``--threads``) is no longer bit-for-bit repeatable. ``benchmarks/env_ab.py`` measures it.
"""
from __future__ import annotations

import ctypes
import os

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)
from . import openmp_wait_policy
from .blas import mkl_library

__all__ = ["gemm", "set_num_threads", "set_local_threads", "pack", "packed_product",
           "product"]

# mkl_service.h and mkl_cblas.h
_THREADING_GNU = 3
STRICT_VAR = "DELTAGRAD_MKL_STRICT"
_CBWR_AUTO, _CBWR_STRICT, _CBWR_SUCCESS = 2, 0x10000, 0
_ROW_MAJOR = 101
_NO_TRANS, _TRANS, _A_MATRIX, _B_MATRIX, _PACKED = 111, 112, 161, 162, 151


def _strict() -> bool:
    """Strict CNR unless ``DELTAGRAD_MKL_STRICT`` is 0 (1 or unset: strict)."""
    value = os.environ.get(STRICT_VAR, "1").strip()
    if value not in ("0", "1"):
        raise ValueError(f"{STRICT_VAR} must be 0 or 1, got {value!r}")
    return value == "1"


STRICT = _strict()  # whether MKL runs in strict CNR mode (read once, as MKL starts)


def _start():
    openmp_wait_policy()  # before libgomp starts, whoever starts it
    # MKL's GNU layer calls libgomp's entry points: the library Numba's pool runs on
    ctypes.CDLL("libgomp.so.1", mode=ctypes.RTLD_GLOBAL)
    path = mkl_library()
    lib = ctypes.CDLL(path)
    if lib.MKL_Set_Threading_Layer(_THREADING_GNU) != _THREADING_GNU:
        raise RuntimeError(f"MKL ({path}) refused its GNU OpenMP threading layer")
    if lib.MKL_CBWR_Set((_CBWR_AUTO | _CBWR_STRICT) if STRICT else _CBWR_AUTO) != _CBWR_SUCCESS:
        raise RuntimeError(f"MKL ({path}) refused strict conditional numerical "
                           "reproducibility (MKL_CBWR_Set)")
    lib.MKL_Set_Num_Threads.argtypes = [ctypes.c_int]
    llvm.load_library_permanently(path)
    return lib


_LIB = _start()
_threads = [0]  # the count last given to MKL
# the process that started MKL and its GNU OpenMP pool: a child forked from it has no pool
# threads, and a parallel region there never returns (blas.started_mkl keeps it at 1 thread)
STARTED_IN = os.getpid()


def set_num_threads(n: int) -> None:
    """MKL's thread count for the next products (a call only when it changes)."""
    if n != _threads[0]:
        _LIB.MKL_Set_Num_Threads(n)
        _threads[0] = n


# MKL's thread count for the calling thread alone (0: the global one again); returns the
# previous setting. Called on the threads of a parallel region whose parts each make their
# own products (numba_sequence.py): MKL inside a GNU OpenMP region otherwise spends ~2× the
# time of a plain 1-thread product (a (512, 128)·(128, 16) product at 2 threads: 30 µs a
# step for both parts against 21 µs with the local count 1; measured by hand).
set_local_threads = types.ExternalFunction("MKL_Set_Num_Threads_Local",
                                           types.intc(types.intc))


def _signatures(real):
    # pointers as machine integers: the same in the C calling convention
    i, p = types.intc, types.intp
    plain = types.void(i, i, i, i, i, i, real, p, i, p, i, real, p, i)
    batch = types.void(i, i, i, i, i, i, real, p, i, i, p, i, i, real, p, i, i, i)
    return plain, batch


_sgemm, _sgemm_batch = (types.ExternalFunction(name, sig) for name, sig in zip(
    ("cblas_sgemm", "cblas_sgemm_batch_strided"), _signatures(types.float32)))
_dgemm, _dgemm_batch = (types.ExternalFunction(name, sig) for name, sig in zip(
    ("cblas_dgemm", "cblas_dgemm_batch_strided"), _signatures(types.float64)))
# The group API (every argument an array, A, B and C as arrays of pointers): one call for
# products whose batch has two levels that no single stride steps through (attention's
# (N, h) heads, views of a fused (N, T, 3E) buffer). A loop of strided batches made one
# parallel region per batch element of the outer level: nanoGPT's 48 heads, (64, 32)·(32,
# 64) each, as 12 strided batches of 4 took ~270 µs at 2 threads (by hand).
_GROUP_SIGNATURE = types.void(types.intc, *([types.intp] * 13), types.intc, types.intp)
_sgemm_group = types.ExternalFunction("cblas_sgemm_batch", _GROUP_SIGNATURE)
_dgemm_group = types.ExternalFunction("cblas_dgemm_batch", _GROUP_SIGNATURE)


# A matrix used for many products (a recurrent layer's W_hhᵀ, once per time step) is packed
# once into MKL's internal layout (cblas_sgemm_pack) and the products read it from there
# (cblas_sgemm_compute, the same bits as cblas_sgemm): per step of an LSTM layer (H 128,
# B 32, one thread) 54 -> 44 µs forward and 62 -> 50 µs backward (measured by hand). The
# loop's products are h (B, H)·W_hhᵀ: the packed matrix is the right operand, and the
# result has G·H columns, so none is narrow (``blas.NARROW``) but in layers of fewer than 16
# gate units.
_spack_size = types.ExternalFunction("cblas_sgemm_pack_get_size",
                                     types.uintp(types.intc, types.intc, types.intc, types.intc))
_spack = types.ExternalFunction("cblas_sgemm_pack", types.void(
    types.intc, types.intc, types.intc, types.intc, types.intc, types.intc, types.float32,
    types.intp, types.intc, types.intp))
_scompute = types.ExternalFunction("cblas_sgemm_compute", types.void(
    types.intc, types.intc, types.intc, types.intc, types.intc, types.intc, types.intp,
    types.intc, types.intp, types.intc, types.float32, types.intp, types.intc))
_ALIGN = 64  # bytes: MKL's buffers are best 64-byte aligned


@njit(cache=True, nogil=True)
def pack(w, m, transposed):
    """The right operand B of products A·B with A of m rows, packed: B = w (k, n), or, when
    ``transposed``, B = wᵀ for w of shape (n, k), read in place. w: float32, C-contiguous.
    Returns the byte array that ``packed_product`` reads."""
    if transposed:
        n, k = w.shape
    else:
        k, n = w.shape
    buf = np.empty(_spack_size(_B_MATRIX, m, n, k) + _ALIGN, np.uint8)
    start = (-buf.ctypes.data) % _ALIGN
    packed = buf[start:]
    _spack(_ROW_MAJOR, _B_MATRIX, _TRANS if transposed else _NO_TRANS, m, n, k, 1.0,
           w.ctypes.data, w.shape[1], packed.ctypes.data)
    return packed


@njit(cache=True, nogil=True)
def packed_product(a, packed, n, out):
    """out (m, n) = a (m, k)·B for B packed by ``pack`` (for m rows): a and out float32
    matrices whose rows may lie apart (a view of every column but the first few, say) but
    whose columns are adjacent."""
    m, k = a.shape
    _scompute(_ROW_MAJOR, _NO_TRANS, _PACKED, m, n, k, a.ctypes.data,
              a.strides[0] // a.itemsize, packed.ctypes.data, n, 0.0, out.ctypes.data,
              out.strides[0] // out.itemsize)


@njit(cache=True, nogil=True)
def product(a, w, transposed, out):
    """out = a·B as ``packed_product`` but unpacked (B = w, or wᵀ when ``transposed``): for
    a product whose row count differs from the one its packed operand was packed for."""
    m, k = a.shape
    n = out.shape[1]
    _sgemm(_ROW_MAJOR, _NO_TRANS, _TRANS if transposed else _NO_TRANS, m, n, k, 1.0,
           a.ctypes.data, a.strides[0] // a.itemsize, w.ctypes.data, w.shape[1], 0.0,
           out.ctypes.data, out.strides[0] // out.itemsize)


@njit(cache=True, nogil=True)
def _gemm_group(a, b, out, ta, tb, m, n, k, lda, ldb, ldc, sa, sb, sc, count, outer, oa, ob,
                oc, beta):
    """The outer × count products of ``_gemm`` as one group of MKL's group API."""
    total = outer * count
    pa, pb, pc = (np.empty(total, np.intp), np.empty(total, np.intp),
                  np.empty(total, np.intp))
    for i in range(outer):
        for j in range(count):
            pa[i * count + j] = a.ctypes.data + (i * oa + j * sa) * a.itemsize
            pb[i * count + j] = b.ctypes.data + (i * ob + j * sb) * b.itemsize
            pc[i * count + j] = out.ctypes.data + (i * oc + j * sc) * out.itemsize
    # ta tb m n k lda ldb ldc and the group's size; α and β in both dtypes
    ints = np.array([ta, tb, m, n, k, lda, ldb, ldc, total], np.intc)
    s4, s8 = np.array([1.0, beta], np.float32), np.array([1.0, beta], np.float64)
    scal = s4.ctypes.data if out.itemsize == 4 else s8.ctypes.data
    at = ints.ctypes.data
    w, z = ints.itemsize, scal + out.itemsize
    args = (_ROW_MAJOR, at, at + w, at + 2 * w, at + 3 * w, at + 4 * w, scal, pa.ctypes.data,
            at + 5 * w, pb.ctypes.data, at + 6 * w, z, pc.ctypes.data, at + 7 * w, 1,
            at + 8 * w)
    if out.itemsize == 4:
        _sgemm_group(*args)
    else:
        _dgemm_group(*args)


@njit(cache=True, nogil=True)
def _gemm(a, b, out, ta, tb, m, n, k, lda, ldb, ldc, sa, sb, sc, count, outer, oa, ob, oc,
          beta):
    # the pointers are integers, so both calls type for either dtype; one runs
    single = out.itemsize == 4
    if outer > 1 and count > 0:
        _gemm_group(a, b, out, ta, tb, m, n, k, lda, ldb, ldc, sa, sb, sc, count, outer, oa,
                    ob, oc, beta)
        return
    for i in range(outer):
        pa = a.ctypes.data + i * oa * a.itemsize
        pb = b.ctypes.data + i * ob * b.itemsize
        po = out.ctypes.data + i * oc * out.itemsize
        if count == 0 and single:
            _sgemm(_ROW_MAJOR, ta, tb, m, n, k, 1.0, pa, lda, pb, ldb, beta, po, ldc)
        elif count == 0:
            _dgemm(_ROW_MAJOR, ta, tb, m, n, k, 1.0, pa, lda, pb, ldb, beta, po, ldc)
        elif single:
            _sgemm_batch(_ROW_MAJOR, ta, tb, m, n, k, 1.0, pa, lda, sa, pb, ldb, sb, beta, po,
                         ldc, sc, count)
        else:
            _dgemm_batch(_ROW_MAJOR, ta, tb, m, n, k, 1.0, pa, lda, sa, pb, ldb, sb, beta, po,
                         ldc, sc, count)


def gemm(a, b, out, ta, tb, m, n, k, lda, ldb, ldc, sa, sb, sc, count, outer=1, oa=0, ob=0,
         oc=0, beta=0.0):
    """out ← op(A)·op(B) + β·out (float32, or float64, all three; β 0 or 1) for row-major A,
    B and out (op: the transpose when ``ta``/``tb`` is CblasTrans, 112; else CblasNoTrans,
    111), with leading dimensions ``lda``/``ldb``/``ldc``; for ``count`` > 0, ``count`` such
    products with matrix strides ``sa``, ``sb``, ``sc``; all that ``outer`` times, A, B and
    out moving by ``oa``, ``ob``, ``oc`` elements each time."""
    _gemm(a, b, out, ta, tb, m, n, k, lda, ldb, ldc, sa, sb, sc, count, outer, oa, ob, oc,
          float(beta))
