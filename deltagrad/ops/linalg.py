"""Matrix products: ``matmul`` (batched, broadcast, vector cases) and the fused ``linear``."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..autograd.views import shares_memory
from ..tensor import Tensor, _make
from ..kernels import blas
from .elementwise import _xp
from ..tensor import result_type
from .elementwise import cast


class MatMul(Function):
    """C = A B for inputs of rank >= 2 (batch dims broadcast): ∂L/∂A = G Bᵀ, ∂L/∂B = Aᵀ G."""

    def forward(ctx, a, b):
        ctx.save_for_backward(b if ctx.needs_input_grad[0] else None,
                              a if ctx.needs_input_grad[1] else None)
        out = blas.matmul(a, b)
        return out if out.dtype == a.dtype else out.astype(a.dtype)  # bfloat16 sums in float32

    def backward(ctx, g):
        b, a = ctx.saved_tensors
        ga = MatMul.apply(g, b.mT) if b is not None else None
        gb = MatMul.apply(a.mT, g) if a is not None else None
        return ga, gb


def _check(op, a, b):
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{op}: expected Tensors, got {type(a).__name__} and {type(b).__name__}")
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    ka = a.shape[-1]
    kb = b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        raise RuntimeError(f"{op}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                           f"multiplied ({ka} != {kb} in the contracted dimension)")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
        except ValueError:
            raise RuntimeError(f"{op}: batch dimensions of {tuple(a.shape)} and {tuple(b.shape)} "
                               "do not broadcast") from None


def matmul(a, b, *, out=None):
    """The matrix product with NumPy/PyTorch rules for 1-d arguments and batch broadcasting;
    ``out=`` receives the result (``ops/out_argument.py``)."""
    if out is not None:
        from .out_argument import write_out
        return write_out(matmul(a, b), out, "matmul", exact_dtype=True)
    if not (isinstance(a, Tensor) and isinstance(b, Tensor)) and \
            (getattr(a, "is_sparse", False) or getattr(b, "is_sparse", False)):
        from ..sparse import mm as sparse_mm  # a sparse COO operand (dg.sparse)
        return sparse_mm(a, b)
    _check("matmul", a, b)
    if a.dtype != b.dtype:
        dt = result_type(a, b)
        a, b = cast(a, dt), cast(b, dt)
    if a.ndim >= 2 and b.ndim >= 2:
        return MatMul.apply(a, b)
    a2 = a.unsqueeze(0) if a.ndim == 1 else a
    b2 = b.unsqueeze(-1) if b.ndim == 1 else b
    out = MatMul.apply(a2, b2)
    if b.ndim == 1:
        out = out.squeeze(-1)
    if a.ndim == 1:
        out = out.squeeze(-1 if b.ndim == 1 else -2)
    return out


def mm(a, b):
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: expected 2-D tensors, got shapes {tuple(a.shape)} and "
                           f"{tuple(b.shape)}")
    return matmul(a, b)


def bmm(a, b):
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise RuntimeError(f"bmm: expected 3-D tensors with the same batch size, got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")
    return matmul(a, b)


def mv(a, v):
    if a.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"mv: expected a matrix and a vector, got shapes {tuple(a.shape)} "
                           f"and {tuple(v.shape)}")
    return matmul(a, v)


def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"dot: 1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    return matmul(a, b)


inner = vdot = dot


def outer(a, b):
    """a bᵀ of two vectors: out_ij = a_i b_j."""
    for name, t in (("self", a), ("vec2", b)):
        if t.ndim != 1:
            raise RuntimeError(f"outer: expected 1-D argument {name}, but got {t.ndim}-D "
                               f"(shape {tuple(t.shape)})")
    return a.reshape(-1, 1) * b.reshape(1, -1)


ger = outer


class Linear(Function):
    """y = x Wᵀ + b for x of shape (..., in), W of shape (out, in) (PyTorch's layout).

    Backward (the notes' δ form): ∂L/∂x = δ W, ∂L/∂W = δᵀ x, ∂L/∂b = Σ_batch δ.
    """

    def forward(ctx, x, w, b=None):
        need = ctx.needs_input_grad
        ctx.save_for_backward(x if len(need) > 1 and need[1] else None,
                              w if need and need[0] else None)
        # one GEMM on (N·…, in): NumPy's stacked matmul loops over the batch (~5× slower)
        x2 = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        # a non-contiguous x (a batch-first RNN output) was just copied: keep the copy for
        # ∂L/∂W rather than copying again (x itself stays saved for the version check)
        ctx.x2 = x2 if len(need) > 1 and need[1] and not _xp(x).may_share_memory(x2, x) \
            else None
        # the bias is copied into the result and the product added to it in the GEMM
        # (blas.matmul_plus, PyTorch's addmm); folding it into the product as a column of
        # ones, [x | 1]·[W | b]ᵀ, was slower at every shape tried: a (768, 128) → 512 layer
        # 1228 vs 1008 µs at 1 thread, 598 vs 554 µs at 2 (by hand)
        out = blas.matmul(x2, w.T) if b is None else blas.matmul_plus(x2, w.T, b)
        if out.dtype != x.dtype:
            out = out.astype(x.dtype)  # bfloat16: NumPy's GEMM sums in float32, then rounds
        return out if x.ndim == 2 else out.reshape(x.shape[:-1] + (w.shape[0],))

    def backward(ctx, g):
        if not is_grad_enabled():
            return ctx._backward_arrays(g._data)
        x, w = ctx.saved_tensors
        gw = gb = None
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gx = None
        if w is not None:
            gx = MatMul.apply(g2, w) if g.ndim >= 2 else matmul(g, w)
            if g.ndim > 2:
                gx = gx.reshape(tuple(g.shape[:-1]) + (w.shape[-1],))
        if x is not None:
            if ctx.x2 is not None and not is_grad_enabled():  # (double backward needs x's graph)
                x2 = _make(ctx.x2)
            else:
                x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
            gw = MatMul.apply(g2.mT, x2)
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            gb = g2.sum(0)
        return gx, gw, gb

    def _backward_arrays(ctx, g):
        """The same three products on arrays, for a backward that records no graph."""
        x, w = ctx.saved_tensors
        need = ctx.needs_input_grad
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        gx = gw = gb = None
        if w is not None:
            gx = _same_dtype(blas.matmul(g2, w._data), g.dtype)
            if g.ndim != 2:
                gx = gx.reshape(g.shape[:-1] + (w.shape[-1],))
            gx = _make(gx)
        if x is not None:
            x2 = ctx.x2 if ctx.x2 is not None else x._data
            x2 = x2.reshape(-1, x2.shape[-1]) if x2.ndim != 2 else x2
            gw = _make(_same_dtype(blas.matmul(g2.T, x2), g.dtype))
        if len(need) > 2 and need[2]:
            from .reduce import sum_array
            gb = _make(sum_array(g2, (0,)))
        return gx, gw, gb

    def release(self):
        super().release()
        self.x2 = None


def _same_dtype(out, dtype):
    return out if out.dtype == dtype else out.astype(dtype)  # bfloat16 sums in float32


def linear(input, weight, bias=None):
    """``F.linear``: x Wᵀ + b."""
    if input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        raise RuntimeError(f"linear: input shape {tuple(input.shape)} does not match weight shape "
                           f"{tuple(weight.shape)} (expected input[..., {weight.shape[-1]}])")
    if weight.ndim != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                           f"{tuple(weight.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"linear: input dtype {input.dtype} and weight dtype {weight.dtype} "
                           "differ; convert the input with .to(weight.dtype)")
    if bias is None:
        return Linear.apply(input, weight)
    if tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"linear: bias shape {tuple(bias.shape)} does not match "
                           f"out_features {weight.shape[0]}")
    return Linear.apply(input, weight, bias)


# ----------------------------------------------------------------------------- diag
class DiagEmbed(Function):
    """A matrix of ``shape`` with the vector v on diagonal k (zeros elsewhere);
    its backward reads diagonal k of the gradient."""

    def forward(ctx, v, k, shape):
        ctx.k = k
        xp = _xp(v)
        out = xp.zeros(shape, v.dtype)
        n = v.shape[0]
        rows = xp.arange(n) + max(-k, 0)
        out[rows, rows + k] = v
        return out

    def backward(ctx, g):
        return DiagExtract.apply(g, k=ctx.k)


class DiagExtract(Function):
    """Diagonal k of a matrix as a vector; its backward puts the gradient back on that diagonal."""

    def forward(ctx, a, k):
        ctx.k, ctx.shape = k, a.shape
        return _xp(a).diagonal(a, k).copy()

    def backward(ctx, g):
        return DiagEmbed.apply(g, k=ctx.k, shape=ctx.shape)


def diag(input, diagonal=0):
    """``torch.diag``: a 1-D input v becomes the square matrix with v on diagonal ``diagonal``
    (size n + |k|); a 2-D input gives its diagonal ``diagonal`` as a vector."""
    if not isinstance(input, Tensor):
        raise TypeError(f"diag(): argument 'input' must be a Tensor, got {type(input).__name__}")
    k = diagonal
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        raise TypeError(f"diag(): argument 'diagonal' must be an int, got {type(k).__name__}")
    k = int(k)
    if input.ndim == 1:
        n = input.shape[0] + abs(k)
        return DiagEmbed.apply(input, k=k, shape=(n, n))
    if input.ndim == 2:
        return DiagExtract.apply(input, k=k)
    raise RuntimeError(f"diag(): expected a 1-D or 2-D tensor, got shape {tuple(input.shape)}")


# ----------------------------------------------------------------------------- einsum
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(equation, shapes):
    """Explicit subscripts: one letter string per operand and the output's, with '...' spelled
    out as letters the equation does not use (aligned from the right, as broadcasting is), and
    each letter's size (a size 1 broadcasts against a larger one)."""
    eq = equation.replace(" ", "")
    if "->" in eq:
        lhs, out = eq.split("->")
        explicit = True
    else:
        lhs, out, explicit = eq, None, False
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError(f"einsum(): the equation {equation!r} has {len(terms)} operand(s) but "
                         f"{len(shapes)} tensor(s) were given")
    for t in terms + ([out] if out is not None else []):
        bad = set(t.replace("...", "")) - set(_LETTERS)
        if bad or t.replace("...", "").count(".") or t.count("...") > 1:
            raise RuntimeError(f"einsum(): invalid subscript {t!r} in equation {equation!r}; "
                             "expected letters a-z/A-Z and at most one '...'")
    free = [c for c in _LETTERS if c not in eq]
    n_ell = 0
    for t, s in zip(terms, shapes):
        named = len(t.replace("...", ""))
        if ("..." in t and named > len(s)) or ("..." not in t and named != len(s)):
            raise RuntimeError(f"einsum(): subscript {t!r} does not match an operand of shape "
                             f"{tuple(s)} in equation {equation!r}")
        if "..." in t:
            n_ell = max(n_ell, len(s) - named)
    ell = "".join(free[:n_ell])
    subs = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            k = len(s) - len(t.replace("...", ""))
            t = t.replace("...", ell[n_ell - k:])
        subs.append(t)
    sizes = {}
    for t, s in zip(subs, shapes):
        for c, n in zip(t, s):
            if t.count(c) > 1 and sizes.get(("diag", t, c), n) != n:
                raise RuntimeError(f"einsum(): subscript {c!r} is repeated in {t!r} for "
                                   f"dimensions of different sizes")
            sizes[("diag", t, c)] = n
            m = sizes.get(c)
            if m is None or m == 1:
                sizes[c] = n
            elif n != 1 and n != m:
                raise RuntimeError(f"einsum(): subscript {c!r} has size {n} for an operand of "
                                   f"shape {tuple(s)}, which does not broadcast with size {m}")
    if explicit:
        out = out.replace("...", ell)
        for c in out:
            if c not in sizes or out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c!r} of {equation!r} must appear "
                                 "exactly once in the output and in some operand")
    else:
        counts = {}
        for t in subs:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    return subs, out, {c: v for c, v in sizes.items() if isinstance(c, str)}


class Einsum(Function):
    """out[o] = Σ over the letters not in o of Π_i x_i[s_i] (Einstein summation).

    The gradient of operand i is the same sum with x_i left out and the output gradient put
    in: ∂L/∂x_i[s_i] = Σ g[o] Π_(j≠i) x_j[s_j], broadcast along letters only x_i has and put
    on the diagonal where s_i repeats a letter."""

    def forward(ctx, *arrays, subs, out, sizes):
        ctx.subs, ctx.out, ctx.sizes = subs, out, sizes
        ctx.save_for_backward(*arrays)
        xp = _xp(arrays[0])
        full = [a if a.shape == tuple(sizes[c] for c in s) else
                xp.broadcast_to(a, tuple(sizes[c] for c in s)) for a, s in zip(arrays, subs)]
        res = xp.einsum(",".join(subs) + "->" + out, *full, optimize=len(arrays) > 2)
        res = xp.asarray(res)
        if not res.flags.c_contiguous or any(shares_memory(res, a) for a in arrays):
            res = res.copy()  # never an unrecorded alias of an input ('ij->ij', 'ii->i')
        return res

    def backward(ctx, g):
        xs = ctx.saved_tensors
        grads = []
        for i, s in enumerate(ctx.subs):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            others = [(x, t) for j, (x, t) in enumerate(zip(xs, ctx.subs)) if j != i]
            known = set(ctx.out).union(*[set(t) for _, t in others])
            uniq = "".join(dict.fromkeys(s))
            target = "".join(c for c in uniq if c in known)
            gi = Einsum.apply(g, *[x for x, _ in others], subs=[ctx.out] + [t for _, t in others],
                              out=target, sizes=ctx.sizes)
            grads.append(_to_subscripts(gi, target, s, ctx.sizes))
        return tuple(grads)


def _to_subscripts(g, target, subs, sizes):
    """``g`` over the letters ``target`` laid out over ``subs``: letters missing from target are
    broadcast, and a repeated letter puts the values on that diagonal (times an identity)."""
    uniq = "".join(dict.fromkeys(subs))
    if uniq != target:
        g = g.reshape(tuple(sizes[c] if c in target else 1 for c in uniq))
        g = g.expand(tuple(sizes[c] for c in uniq))
    if uniq == subs:
        return g
    # repeated letters: out[..] = g[first positions] · Π δ(first position, repeat)
    g = g.reshape(tuple(sizes[c] if subs.index(c) == p else 1 for p, c in enumerate(subs)))
    xp = _xp(g._data)
    for p, c in enumerate(subs):
        q = subs.index(c)
        if q != p:
            eye = xp.eye(sizes[c], dtype=g.dtype).reshape(
                tuple(sizes[c] if r in (p, q) else 1 for r in range(len(subs))))
            g = g * _make(eye)
    return g


def einsum(equation, *operands):
    """``torch.einsum``: Einstein summation over ``equation`` ('ij,jk->ik', 'bii->bi',
    '...ij,...jk', implicit output when there is no '->'), differentiable in every operand."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): the first argument must be the equation string, got "
                        f"{type(equation).__name__}")
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for k, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum(): operand {k} must be a Tensor, got {type(x).__name__}")
    subs, out, sizes = _parse_einsum(equation, [tuple(x.shape) for x in operands])
    dtypes = {x.dtype for x in operands}
    if len(dtypes) > 1:
        raise RuntimeError(f"einsum(): all operands must have the same dtype (as in PyTorch), got "
                           f"{', '.join(str(x.dtype) for x in operands)}; convert with .to()")
    return Einsum.apply(*operands, subs=subs, out=out, sizes=sizes)


# ----------------------------------------------------------------------------- Cholesky, solves
def _square(op, a, name="A"):
    if not isinstance(a, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(a).__name__}")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{op}: {name} must be batches of square matrices, but they are "
                           f"{tuple(a.shape)} matrices" if a.ndim >= 2 else
                           f"{op}: {name} must have at least 2 dimensions, got shape "
                           f"{tuple(a.shape)}")
    if a.dtype.kind not in "fV":
        raise RuntimeError(f"{op}: expected a floating point tensor, got {a.dtype}")


class SolveTriangular(Function):
    """X = A⁻¹ B for triangular A (only its ``upper`` or lower triangle is read).
    Backward: ∂L/∂B = A⁻ᵀ G, ∂L/∂A = −(A⁻ᵀ G) Xᵀ restricted to A's triangle."""

    def forward(ctx, a, b, upper):
        ctx.upper = upper
        xp = _xp(a)
        t = xp.triu(a) if upper else xp.tril(a)
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        t = xp.broadcast_to(t, batch + a.shape[-2:])
        b = xp.broadcast_to(b, batch + b.shape[-2:])
        x = xp.linalg.solve(t, b)
        ctx.save_for_backward(a, x)
        return x

    def backward(ctx, g):
        a, x = ctx.saved_tensors
        gb = SolveTriangular.apply(a.mT, g, upper=not ctx.upper)
        ga = None
        if ctx.needs_input_grad[0]:
            ga = -matmul(gb, x.mT)
            ga = ga.triu() if ctx.upper else ga.tril()
        return ga, gb


def solve_triangular(A, B, *, upper, left=True, unitriangular=False):
    """``torch.linalg.solve_triangular``: X with A X = B (``left``) or X A = B, A triangular."""
    _square("linalg.solve_triangular", A)
    if not isinstance(B, Tensor) or B.ndim < 2:
        raise RuntimeError(f"linalg.solve_triangular: B must be a Tensor of at least 2 "
                           f"dimensions, got {getattr(B, 'shape', type(B).__name__)}")
    if unitriangular:
        raise NotImplementedError("linalg.solve_triangular: unitriangular=True is not "
                                  "supported by deltagrad; pass A with its unit diagonal")
    if A.dtype != B.dtype:
        raise RuntimeError(f"linalg.solve_triangular: A ({A.dtype}) and B ({B.dtype}) must have "
                           "the same dtype")
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"linalg.solve_triangular: incompatible shapes of A {tuple(A.shape)} "
                           f"and B {tuple(B.shape)}")
    try:
        np.broadcast_shapes(tuple(A.shape[:-2]), tuple(B.shape[:-2]))
    except ValueError:
        raise RuntimeError(f"linalg.solve_triangular: the batch dimensions of A "
                           f"{tuple(A.shape)} and B {tuple(B.shape)} do not broadcast") from None
    if left:
        return SolveTriangular.apply(A, B, upper=bool(upper))
    return SolveTriangular.apply(A.mT, B.mT, upper=not upper).mT  # X A = B ⇔ Aᵀ Xᵀ = Bᵀ


class Cholesky(Function):
    """A = L Lᵀ with L lower triangular (A symmetric positive-definite; its lower triangle is
    read). Backward (PyTorch's form of Murray 2016): with M = tril(Lᵀ Ḡ) and
    Φ = ½(M + tril(M, −1)ᵀ), ∂L/∂A = L⁻ᵀ Φ L⁻¹."""

    def forward(ctx, a):
        xp = _xp(a)
        try:
            L = xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise RuntimeError("linalg.cholesky: the factorization could not be completed "
                               "because the input is not positive-definite") from None
        ctx.save_for_backward(L)
        return L

    def backward(ctx, g):
        L, = ctx.saved_tensors
        m = matmul(L.mT, g).tril()
        phi = (m + m.tril(-1).mT) * 0.5
        ga = solve_triangular(L.mT, phi, upper=True)
        return solve_triangular(L, ga, upper=False, left=False)


def cholesky(A, *, upper=False):
    """``torch.linalg.cholesky``: L lower triangular with A = L Lᵀ (Lᵀ if ``upper``)."""
    _square("linalg.cholesky", A)
    L = Cholesky.apply(A)
    return L.mT if upper else L


def diagonal(input, offset=0, dim1=0, dim2=1):
    """``torch.diagonal``: a view of a diagonal over (dim1, dim2) (``ops.shape.diagonal``)."""
    from .shape import diagonal as _diagonal
    return _diagonal(input, offset, dim1, dim2)


def trace(input):
    """Σᵢ Aᵢᵢ of a 2-D tensor (the main diagonal of a rectangular one)."""
    if not isinstance(input, Tensor) or input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix (2-D tensor), got "
                           f"{getattr(input, 'shape', type(input).__name__)}")
    return diag(input).sum()


def tensordot(a, b, dims=2):
    """Σ over the last ``dims`` dimensions of a and the first ``dims`` of b (or over the
    paired dimension lists ``dims=([a dims], [b dims])``)."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"tensordot: expected Tensors, got {type(a).__name__} and "
                        f"{type(b).__name__}")
    if isinstance(dims, (int, np.integer)):
        if not 0 <= dims <= min(a.ndim, b.ndim):
            raise RuntimeError(f"tensordot: dims={dims} must be in [0, {min(a.ndim, b.ndim)}] "
                               f"for shapes {tuple(a.shape)} and {tuple(b.shape)}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([d] if isinstance(d, (int, np.integer)) else list(d) for d in dims)
        if len(da) != len(db):
            raise RuntimeError(f"tensordot: both dimension lists should have the same length, "
                               f"got {da} and {db}")
        da, db = [d % a.ndim for d in da], [d % b.ndim for d in db]
    letters = iter(_LETTERS)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"tensordot: contracted dimensions {i} of {tuple(a.shape)} and "
                               f"{j} of {tuple(b.shape)} differ in size")
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in da] + \
        [c for k, c in enumerate(sb) if k not in db]
    return einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """β·input + α·(mat1 @ mat2) (input broadcasts)."""
    prod = mm(mat1, mat2)
    prod = prod if alpha == 1 else prod * alpha
    return prod + (input if beta == 1 else input * beta) if beta != 0 else prod
