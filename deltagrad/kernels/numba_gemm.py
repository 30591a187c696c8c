"""The recurrent loop's per-step matrix products, C = A·B, with B packed once per sequence.

A recurrent layer multiplies the same weight matrix B by a new (B/P, K) block A at every
time step (``numba_sequence.py``): h_{t−1}·W_hhᵀ forward, δ_t·[W_hh | W_ih] backward, and
the input projections. MKL's packed products (``mkl_gemm.packed_product``) run these shapes
at ~90 GFLOP/s on this project's AMD EPYC at one thread, MKL taking its AVX2 code there;
PyTorch's LSTM is oneDNN's ``brgemm`` RNN, JIT-compiled AVX-512 kernels. So on a processor
with AVX-512 the products are made here, by one register-blocked kernel:

    C[i0:i0+8, j0:j0+32] = Σ_k A[i0:i0+8, k] ⊗ B[k, j0:j0+32],

the 8 × 32 block of C held in 16 vector registers of 16 floats through the whole sum over k
(one fused multiply-add per register and k: A[i, k] broadcast times B's two 16-float halves
of row k), then stored once. B is packed as panels of 32 columns, each (K, 32) contiguous,
so the kernel reads it in order (``pack``). The kernel is written in LLVM's IR with its
vector type (``_block``): Numba's loops over arrays keep such a block in memory, not in
registers. Per-step shapes, one thread (``benchmarks/results/step_products.json``):
(32, 128)·(128, 512) and (32, 512)·(512, 192) at ~115 GFLOP/s against MKL's ~91.

Each element of C is a sum over k in order 0 … K−1 with one rounding per fused step, the
same whichever rows or columns stand beside it, so a batch split into parts gives the bits
of the whole (``numba_sequence.py``'s parts). Rows past a multiple of 8 and columns past a
multiple of 32 go through an 8 × 32 scratch block.

Without AVX-512 (``AVX512`` False) the loop keeps MKL's packed products: LLVM would split
each 16-float register in two and the 32 it then needs would not fit in AVX2's 16.
"""
from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import numba_cache  # noqa: F401  (before any cached kernel: see there)

__all__ = ["AVX512", "ROWS", "COLUMNS", "pack", "product"]


def _has_avx512() -> bool:
    """Whether this processor has AVX-512 (as LLVM, which compiles the kernels, sees it)."""
    try:
        return bool(llvm.get_host_cpu_features().get("avx512f", False))
    except RuntimeError:  # LLVM cannot read this host's features
        return False


AVX512 = _has_avx512()
ROWS, COLUMNS = 8, 32  # the kernel's block of C
_LANES = 16            # floats in a vector register (AVX-512)
_ALIGN = 64            # bytes


@intrinsic
def _block(typingctx, a, lda, b, c, ldc, k):
    """C[0:ROWS, 0:COLUMNS] = A[0:ROWS, 0:k]·B for A at address a (rows lda floats apart), B
    one packed panel at address b ((k, COLUMNS) contiguous), C at address c (rows ldc apart):
    float32, addresses as integers."""
    sig = types.void(types.intp, types.intp, types.intp, types.intp, types.intp, types.intp)

    def codegen(context, builder, signature, args):
        a, lda, b, c, ldc, k = args
        i32, i64, f32 = ir.IntType(32), ir.IntType(64), ir.FloatType()
        vec = ir.VectorType(f32, _LANES)
        a, b, c = (builder.inttoptr(p, f32.as_pointer()) for p in (a, b, c))
        zero = ir.Constant(vec, [0.0] * _LANES)
        fma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vec, [vec, vec, vec]), "llvm.fma.v16f32")
        halves = COLUMNS // _LANES

        def vector_at(pointer, offset):
            return builder.bitcast(builder.gep(pointer, [ir.Constant(i64, offset)]),
                                   vec.as_pointer())

        entry = builder.block
        loop = builder.append_basic_block("sum_over_k")
        done = builder.append_basic_block("store")
        builder.cbranch(builder.icmp_signed(">", k, ir.Constant(i64, 0)), loop, done)
        builder.position_at_end(loop)
        kk = builder.phi(i64)
        sums = [builder.phi(vec) for _ in range(ROWS * halves)]
        row = builder.gep(b, [builder.mul(kk, ir.Constant(i64, COLUMNS))])
        b_row = [builder.load(vector_at(row, h * _LANES), align=4) for h in range(halves)]
        splat = ir.Constant(ir.VectorType(i32, _LANES), [0] * _LANES)
        undefined = ir.Constant(vec, ir.Undefined)
        updated = []
        for i in range(ROWS):
            a_ik = builder.load(builder.gep(a, [builder.add(
                builder.mul(ir.Constant(i64, i), lda), kk)]))
            broadcast = builder.shuffle_vector(
                builder.insert_element(undefined, a_ik, ir.Constant(i32, 0)), undefined, splat)
            updated += [builder.call(fma, [broadcast, b_row[h], sums[i * halves + h]])
                        for h in range(halves)]
        k_next = builder.add(kk, ir.Constant(i64, 1))
        builder.cbranch(builder.icmp_signed("<", k_next, k), loop, done)
        kk.add_incoming(ir.Constant(i64, 0), entry)
        kk.add_incoming(k_next, loop)
        for s, u in zip(sums, updated):
            s.add_incoming(zero, entry)
            s.add_incoming(u, loop)
        builder.position_at_end(done)
        totals = [builder.phi(vec) for _ in updated]  # (phi nodes first in a block)
        for total, u in zip(totals, updated):
            total.add_incoming(zero, entry)
            total.add_incoming(u, loop)
        for i in range(ROWS):
            c_row = builder.gep(c, [builder.mul(ir.Constant(i64, i), ldc)])
            for h in range(halves):
                builder.store(totals[i * halves + h], vector_at(c_row, h * _LANES), align=4)
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True)
def pack(w, transposed):
    """B = w (K, N), or wᵀ for w (N, K) when ``transposed``, as panels of COLUMNS columns:
    (⌈N/COLUMNS⌉, K, COLUMNS) float32, 64-byte aligned, the last panel's columns past N
    zero."""
    if transposed:
        n, k = w.shape
    else:
        k, n = w.shape
    count = (n + COLUMNS - 1) // COLUMNS
    size = count * k * COLUMNS
    buf = np.zeros(size + _ALIGN // 4, np.float32)
    start = ((-buf.ctypes.data) % _ALIGN) // 4
    panels = buf[start:start + size].reshape(count, k, COLUMNS)
    for j in range(count):
        panel = panels[j]
        for col in range(min(COLUMNS, n - j * COLUMNS)):
            c = j * COLUMNS + col
            for kk in range(k):
                panel[kk, col] = w[c, kk] if transposed else w[kk, c]
    return panels


@njit(cache=True, nogil=True)
def product(a, panels, out):
    """out (M, N) = a (M, K)·B for B packed by ``pack``: float32; the rows of a and out may
    lie apart (views of some of a matrix's columns), their columns adjacent."""
    m, k = a.shape
    n = out.shape[1]
    lda, ldc = a.strides[0] // 4, out.strides[0] // 4
    whole = m - m % ROWS
    block = np.empty((ROWS, COLUMNS), np.float32)  # for blocks that are not whole
    tail = np.zeros((ROWS if whole < m else 0, k), np.float32)  # the last rows, padded
    for i in range(m - whole):
        for kk in range(k):
            tail[i, kk] = a[whole + i, kk]
    for j in range(panels.shape[0]):
        columns = min(COLUMNS, n - j * COLUMNS)
        panel = panels[j].ctypes.data
        for i0 in range(0, m, ROWS):
            rows = min(ROWS, m - i0)
            source, step = ((a.ctypes.data + 4 * i0 * lda, lda) if rows == ROWS else
                            (tail.ctypes.data, k))
            if rows == ROWS and columns == COLUMNS:
                _block(source, step, panel, out.ctypes.data + 4 * (i0 * ldc + j * COLUMNS),
                       ldc, k)
                continue
            _block(source, step, panel, block.ctypes.data, COLUMNS, k)
            for i in range(rows):
                for col in range(columns):
                    out[i0 + i, j * COLUMNS + col] = block[i, col]
