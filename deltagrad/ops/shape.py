"""Operations that move elements without changing them: reshape, permute, expand, cat, split,
flip, roll, pad, triangles. Their backward moves the gradient back the same way."""
from __future__ import annotations

import builtins

import numpy as np

from ..autograd.function import Function
from ..autograd.grad_mode import _state
from ..autograd.views import MULTI_OUTPUT, mark_view, shares_memory
from ..tensor import Tensor, _dim_tuple, _make, _norm_dim
from .elementwise import _xp, clone

_pyint = builtins.int


def _ints(shape, op):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for s in shape:
        if isinstance(s, Tensor):
            s = s.item()
        if not isinstance(s, (_pyint, np.integer)) or isinstance(s, (bool, np.bool_)):
            raise TypeError(f"{op}: sizes must be ints, got {shape!r}")
        out.append(_pyint(s))
    return tuple(out)


# ----------------------------------------------------------------------------- reshape
class Reshape(Function):
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        return x.reshape(shape)

    def backward(ctx, g):
        return g.reshape(ctx.in_shape)


def infer_shape(shape, numel, op="reshape", in_shape=None):
    shape = tuple(shape)
    if shape.count(-1) > 1:
        raise RuntimeError(f"{op}: only one dimension can be inferred, got {list(shape)}")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"{op}: invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size {numel}"
                               + (f" (shape {tuple(in_shape)})" if in_shape is not None else ""))
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"{op}: shape {list(shape)} is invalid for input of size {numel}"
                           + (f" (shape {tuple(in_shape)})" if in_shape is not None else ""))
    return shape


def reshape(x, *shape):
    """``x`` with another shape: a view of x's memory when its strides allow, else a copy."""
    shape = infer_shape(_ints(shape, "reshape"), x._data.size, "reshape", x.shape)
    if shape == x._data.shape:
        return _unchanged(x, Reshape, {"shape": shape})
    out = Reshape.apply(x, shape=shape)
    if shares_memory(out._data, x._data):
        mark_view(out, x, Reshape, {"shape": shape})
    return out


def view(x, *shape):
    """``x`` with another shape, always a view of x's memory (writes reach x); raises when
    x's strides do not allow it, like PyTorch (``reshape`` copies instead)."""
    shape = infer_shape(_ints(shape, "view"), x._data.size, "view", x.shape)
    if shape == x._data.shape:
        return _unchanged(x, Reshape, {"shape": shape})
    out = Reshape.apply(x, shape=shape)
    if shares_memory(out._data, x._data):
        return mark_view(out, x, Reshape, {"shape": shape})
    if out._data.size == 0:
        return out
    raise RuntimeError(f"view: view size is not compatible with input tensor's size and stride "
                       f"(at least one dimension spans across two contiguous subspaces): shape "
                       f"{tuple(x.shape)} with strides {_elem_strides(x)} can't be viewed as "
                       f"{shape}. Use .reshape(...) instead.")


def _unchanged(x, cls, params):
    """A view op that changes nothing returns ``x`` itself (no node); under no_grad it returns
    an alias marked as a view made there, so that an in-place op on it with grad mode on is
    refused as in PyTorch."""
    if _state.enabled:
        return x
    return mark_view(_make(x._data), x, cls, params)


def _elem_strides(x):
    return tuple(s // x._data.itemsize for s in x._data.strides)


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, (1,))
    s = _norm_dim(start_dim, x.ndim, "flatten")
    e = _norm_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise RuntimeError("flatten: start_dim cannot come after end_dim")
    shape = x.shape
    n = 1
    for size in shape[s:e + 1]:
        n *= size
    return reshape(x, tuple(shape[:s]) + (n,) + tuple(shape[e + 1:]))


def unflatten(x, dim, sizes):
    d = _norm_dim(dim, x.ndim, "unflatten")
    sizes = infer_shape(tuple(sizes), x.shape[d], "unflatten")
    return reshape(x, tuple(x.shape[:d]) + sizes + tuple(x.shape[d + 1:]))


def squeeze(x, dim=None):
    if dim is None:
        return reshape(x, tuple(s for s in x.shape if s != 1))
    dims = {_norm_dim(d, x.ndim, "squeeze") for d in _dim_tuple(dim, "squeeze")} \
        if x.ndim else set()
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1)))


def unsqueeze(x, dim):
    d = _norm_dim(dim, x.ndim + 1, "unsqueeze")
    shape = tuple(x.shape)
    return reshape(x, shape[:d] + (1,) + shape[d:])


# ----------------------------------------------------------------------------- axes
class Permute(Function):
    def forward(ctx, x, axes):
        ctx.axes = axes
        return x.transpose(axes)

    def backward(ctx, g):
        axes = ctx.axes
        inverse = tuple(sorted(range(len(axes)), key=axes.__getitem__))  # argsort, in Python
        # (np.argsort of a short tuple costs ~9 µs, this ~1.5)
        if not _state.enabled:  # a plain backward: the transposed view, no graph to record
            return _make(g._data.transpose(inverse))
        return g.permute(inverse)


def permute(x, *dims):
    dims = _ints(dims, "permute")
    if len(dims) != x.ndim:
        raise RuntimeError(f"permute: number of dims don't match: tensor has {x.ndim} dims, "
                           f"got {len(dims)} in {dims}")
    axes = tuple(_norm_dim(d, x.ndim, "permute") for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"permute: repeated dim in {dims}")
    if axes == tuple(range(x.ndim)):
        return _unchanged(x, Permute, {"axes": axes})
    return mark_view(Permute.apply(x, axes=axes), x, Permute, {"axes": axes})


def transpose(x, dim0, dim1):
    if x.ndim < 2 and x.ndim == 0:
        return x
    axes = list(range(x.ndim))
    a, b = _norm_dim(dim0, x.ndim, "transpose"), _norm_dim(dim1, x.ndim, "transpose")
    axes[a], axes[b] = axes[b], axes[a]
    return permute(x, tuple(axes))


swapaxes = swapdims = transpose


def movedim(x, source, destination):
    src = [_norm_dim(d, x.ndim, "movedim") for d in _dim_tuple(source, "movedim", "source")]
    dst = [_norm_dim(d, x.ndim, "movedim")
           for d in _dim_tuple(destination, "movedim", "destination")]
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {source} and destination {destination} must have "
                           "the same number of dims")
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, tuple(order))


def t(x):
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but it has {x.ndim}")
    return transpose(x, 0, 1) if x.ndim == 2 else x


# ----------------------------------------------------------------------------- broadcasting
class BroadcastTo(Function):
    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        if x.size == _prod(shape):  # only size-1 dims added: a writable view (no overlap)
            return x.reshape(shape)
        xp = _xp(x)
        if xp is not np:
            return xp.broadcast_to(x, shape)
        # writable like PyTorch's expand: a write through a view of it that does not overlap
        # itself (e[0]) is allowed; one that does (e itself) is refused by check_writable
        lead = len(shape) - x.ndim
        strides = (0,) * lead + tuple(0 if n == 1 and s != 1 else st for n, s, st in
                                      zip(x.shape, shape[lead:], x.strides))
        return np.lib.stride_tricks.as_strided(x, shape, strides,
                                               writeable=x.flags.writeable)

    def backward(ctx, g):
        return sum_to(g, ctx.in_shape)


class SumTo(Function):
    """Sum a gradient back to ``shape``: the one place broadcasting is undone."""

    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                          if s == 1 and x.shape[lead + i] != 1)
        from .reduce import sum_array  # blocked: float32-accurate over any length
        out = sum_array(x, axes, keepdims=True) if axes else x
        if lead:
            out = out.reshape(shape)
        return out

    def backward(ctx, g):
        return g.expand(ctx.in_shape)


def sum_to(x, shape):
    shape = tuple(shape)
    if tuple(x.shape) == shape:
        return x
    return SumTo.apply(x, shape=shape)


def expand(x, *sizes):
    sizes = _ints(sizes, "expand")
    if len(sizes) < x.ndim:
        raise RuntimeError(f"expand: the number of sizes provided ({len(sizes)}) must be greater "
                           f"or equal to the number of dimensions in the tensor ({x.ndim})")
    lead = len(sizes) - x.ndim
    shape = []
    for i, s in enumerate(sizes):
        cur = x.shape[i - lead] if i >= lead else None
        if s == -1:
            if cur is None:
                raise RuntimeError("expand: -1 is not allowed in a leading, non-existing dimension")
            s = cur
        elif cur is not None and cur != 1 and cur != s:
            raise RuntimeError(f"expand: the expanded size of the tensor ({s}) must match the "
                               f"existing size ({cur}) at non-singleton dimension {i}; target "
                               f"sizes {list(sizes)}, tensor shape {tuple(x.shape)}")
        shape.append(s)
    shape = tuple(shape)
    if shape == tuple(x.shape):
        return _unchanged(x, BroadcastTo, {"shape": shape})
    return mark_view(BroadcastTo.apply(x, shape=shape), x, BroadcastTo, {"shape": shape})


def _prod(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def broadcast_to(x, shape):
    return expand(x, tuple(shape))


def expand_as(x, other):
    return expand(x, tuple(other.shape))


def broadcast_tensors(*tensors):
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return tuple(expand(t, shape) for t in tensors)


class Repeat(Function):
    def forward(ctx, x, reps):
        ctx.in_shape = x.shape
        ctx.reps = reps
        return _xp(x).tile(x, reps)

    def backward(ctx, g):
        reps, shape = ctx.reps, ctx.in_shape
        lead = len(reps) - len(shape)
        full = (1,) * lead + tuple(shape)
        inter = []
        for r, s in zip(reps, full):
            inter += [r, s]
        g = g.reshape(tuple(inter)).sum(tuple(range(0, 2 * len(reps), 2)))
        return g.reshape(shape)


def repeat(x, *sizes):
    reps = _ints(sizes, "repeat")
    if len(reps) < x.ndim:
        raise RuntimeError(f"repeat: number of repeat dims ({len(reps)}) can not be smaller "
                           f"than number of tensor dims ({x.ndim})")
    if reps and min(reps) < 0:
        raise RuntimeError(f"repeat: trying to create tensor with negative dimension: repeats "
                           f"{reps} for a tensor of shape {tuple(x.shape)}")
    return Repeat.apply(x, reps=reps)


def repeat_interleave(x, repeats, dim=None):
    if dim is None:
        x, dim = x.reshape(-1), 0
    d = _norm_dim(dim, x.ndim, "repeat_interleave")
    if isinstance(repeats, Tensor):
        repeats = repeats.numpy()
    reps = np.asarray(repeats)
    if reps.ndim > 1 or (reps.ndim == 1 and reps.size not in (1, x.shape[d])) or \
            (reps.size and reps.min() < 0):
        raise RuntimeError(f"repeat_interleave: repeats must be a non-negative int or a 1-d "
                           f"tensor of {x.shape[d]} non-negative counts (dim {d} of shape "
                           f"{tuple(x.shape)}), got {reps.tolist()}")
    idx = np.repeat(np.arange(x.shape[d]), reps)
    from .indexing import index_select
    return index_select(x, d, _make(idx))


# ----------------------------------------------------------------------------- diagonals
def _diagonal_of(a, offset, dim1, dim2):
    """The array view out[..., i] = a[..., i, i + offset] over (dim1, dim2), which move last
    (writable, unlike NumPy's ``diagonal``)."""
    n1, n2 = a.shape[dim1], a.shape[dim2]
    size = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    start = [slice(None)] * a.ndim
    if offset >= 0:
        start[dim2] = slice(min(offset, n2), None)
    else:
        start[dim1] = slice(min(-offset, n1), None)
    first = a[tuple(start)]
    keep = [k for k in range(a.ndim) if k not in (dim1, dim2)]
    shape = tuple(a.shape[k] for k in keep) + (size,)
    strides = tuple(a.strides[k] for k in keep) + (a.strides[dim1] + a.strides[dim2],)
    xp = _xp(a)
    if xp is np:
        return np.lib.stride_tricks.as_strided(first, shape, strides,
                                               writeable=a.flags.writeable)
    return xp.lib.stride_tricks.as_strided(first, shape, strides)


class Diagonal(Function):
    """A diagonal of x (a view); ∂/∂x puts g back on that diagonal of zeros."""

    def forward(ctx, x, offset, dim1, dim2):
        ctx.shape, ctx.args = x.shape, (offset, dim1, dim2)
        return _diagonal_of(x, offset, dim1, dim2)

    def backward(ctx, g):
        offset, dim1, dim2 = ctx.args
        return DiagonalScatter.apply(g, shape=ctx.shape, offset=offset, dim1=dim1, dim2=dim2)


class DiagonalScatter(Function):
    """zeros(shape) with ``g`` on a diagonal (the adjoint of ``Diagonal``)."""

    def forward(ctx, g, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        out = _xp(g).zeros(shape, g.dtype)
        _diagonal_of(out, offset, dim1, dim2)[...] = g
        return out

    def backward(ctx, gg):
        offset, dim1, dim2 = ctx.args
        return Diagonal.apply(gg, offset=offset, dim1=dim1, dim2=dim2)


def diagonal(input, offset=0, dim1=0, dim2=1):
    """``torch.diagonal``: out[..., i] = input[..., i, i + offset] taken over (dim1, dim2),
    appended as the last dimension; a view, so writes into it reach ``input``."""
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise RuntimeError(f"diagonal: expected a tensor of at least 2 dimensions, got "
                           f"{getattr(input, 'shape', type(input).__name__)}")
    offset = _ints((offset,), "diagonal")[0]
    d1, d2 = _norm_dim(dim1, input.ndim, "diagonal"), _norm_dim(dim2, input.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: diagonal dimensions cannot be identical {dim1}, {dim2}")
    params = {"offset": offset, "dim1": d1, "dim2": d2}
    return mark_view(Diagonal.apply(input, **params), input, Diagonal, params)


# ----------------------------------------------------------------------------- joining
class Cat(Function):
    def forward(ctx, *xs, dim):
        ctx.dim = dim
        ctx.sizes = [x.shape[dim] for x in xs]
        return _xp(xs[0]).concatenate(xs, axis=dim)

    def backward(ctx, g):
        return split(g, ctx.sizes, ctx.dim)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("cat: expected a non-empty list of Tensors")
    from ..tensor import result_type
    from .elementwise import cast
    dtype = result_type(*[t for t in tensors])
    # legacy: 1-d empty tensors are skipped, as PyTorch does
    if any(t.ndim != 1 for t in tensors):
        tensors = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]
    ref = tensors[0]
    d = _norm_dim(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape))
                                     if j != d):
            raise RuntimeError(f"cat: sizes of tensors must match except in dimension {d}; "
                               f"tensor 0 has shape {tuple(ref.shape)}, tensor {i} has shape "
                               f"{tuple(t.shape)}")
    tensors = [t if t.dtype == dtype else cast(t, dtype) for t in tensors]
    if len(tensors) == 1:  # a new tensor, as in PyTorch (never an alias of the input)
        return clone(tensors[0])
    return Cat.apply(*tensors, dim=d)


concat = concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack: expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(f"stack: expects each tensor to be equal size, but got "
                               f"{tuple(tensors[0].shape)} at entry 0 and {tuple(t.shape)} at "
                               f"entry {i}")
    d = _norm_dim(dim, tensors[0].ndim + 1, "stack")
    return cat([unsqueeze(t, d) for t in tensors], d)


def hstack(tensors):
    return cat(tensors, 0 if tensors[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([t.reshape(1, -1) if t.ndim == 1 else t for t in tensors], 0)


class Split(Function):
    """Several slices along one dimension in one node; backward concatenates the gradients."""

    def forward(ctx, x, sizes, dim):
        ctx.dim = dim
        bounds = np.cumsum(sizes)[:-1].tolist()   # host positions (a list for CuPy too)
        return tuple(_xp(x).split(x, bounds, axis=dim))

    def backward(ctx, *gs):
        return cat(list(gs), ctx.dim)


def split(x, split_size_or_sections, dim=0):
    d = _norm_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (_pyint, np.integer)):
        step = _pyint(split_size_or_sections)
        if step <= 0:
            raise RuntimeError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = [_pyint(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise RuntimeError(f"split: split_with_sizes expects split_sizes to sum exactly to "
                               f"{n} (input tensor's size at dimension {d}), but got "
                               f"split_sizes={sizes}")
    outs = Split.apply(x, sizes=sizes, dim=d)
    for i, o in enumerate(outs):  # views PyTorch refuses to modify in place when recorded
        mark_view(o, x, None, None, MULTI_OUTPUT, f"Output {i} of SplitBackward")
    return outs


def chunk(x, chunks, dim=0):
    if chunks <= 0:
        raise RuntimeError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[_norm_dim(dim, x.ndim, "chunk")]
    step = -(-n // chunks) if n else 1
    return split(x, step, dim)


def unbind(x, dim=0):
    d = _norm_dim(dim, x.ndim, "unbind")
    return tuple(p.squeeze(d) for p in split(x, 1, d))


# ----------------------------------------------------------------------------- reordering
class Flip(Function):
    def forward(ctx, x, dims):
        ctx.dims = dims
        xp = _xp(x)
        # a copy (NumPy alone gives a view) with x's dimension order, C-contiguous when x is
        # expanded: PyTorch's preserve_format, so a later view() works or refuses alike
        overlapping = any(st == 0 and n > 1 for st, n in zip(x.strides, x.shape))
        return xp.flip(x, axis=dims).copy(order="C" if overlapping else "K")

    def backward(ctx, g):
        return g.flip(ctx.dims)


def flip(x, *dims):
    dims = tuple(_norm_dim(d, x.ndim, "flip") for d in _ints(dims, "flip"))
    return Flip.apply(x, dims=dims if x.ndim else ())  # a 0-d tensor has nothing to flip


class Roll(Function):
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return _xp(x).roll(x, shifts, axis=dims)

    def backward(ctx, g):
        neg = tuple(-s for s in ctx.shifts) if isinstance(ctx.shifts, tuple) else -ctx.shifts
        return _make_roll(g, neg, ctx.dims)


def _make_roll(x, shifts, dims):
    return Roll.apply(x, shifts=shifts, dims=dims)


def roll(x, shifts, dims=None):
    if dims is None:
        return _make_roll(x.reshape(-1), shifts, None).reshape(x.shape)
    if not isinstance(dims, (list, tuple)):
        dims, shifts = (dims,), shifts if isinstance(shifts, (list, tuple)) else (shifts,)
    dims = tuple(_norm_dim(d, x.ndim, "roll") for d in dims)
    shifts = _dim_tuple(shifts, "roll", "shifts")
    if len(shifts) != len(dims):
        raise RuntimeError(f"roll: shifts ({shifts}) and dims ({dims}) must have the same length")
    return _make_roll(x, shifts, dims)


class Pad(Function):
    def forward(ctx, x, widths, value):
        ctx.slices = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return _xp(x).pad(x, widths, constant_values=value)

    def backward(ctx, g):
        return g[ctx.slices]


def pad(x, pad, mode="constant", value=0.0):
    """Constant padding; ``pad`` lists (left, right) pairs from the last dimension backwards."""
    pad = tuple(_pyint(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise RuntimeError(f"pad: padding length must be even and at most 2 * ndim, got {pad} for "
                           f"a tensor of shape {tuple(x.shape)}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if any(p < 0 for p in pad):  # negative padding crops
        for (lo, hi), n in zip(widths, x.shape):
            if n + lo + hi < 0:
                raise RuntimeError(f"pad: padding ({lo}, {hi}) of a dimension of size {n} "
                                   f"leaves a negative size {n + lo + hi} (input shape "
                                   f"{tuple(x.shape)}, pad {pad})")
        crop = tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(widths, x.shape))
        x = x[crop]
        widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    if mode == "constant":
        if not any(lo or hi for lo, hi in widths):
            return clone(x)  # a new tensor, as in PyTorch (never an alias of the input)
        return Pad.apply(x, widths=tuple(widths), value=value)
    if mode in ("reflect", "replicate", "circular"):
        from .indexing import index_select
        for axis, (lo, hi) in enumerate(widths):
            if lo or hi:
                n = x.shape[axis]
                idx = np.arange(-lo, n + hi)
                if mode == "reflect":
                    if lo >= n or hi >= n:
                        raise RuntimeError(f"pad: reflect padding ({lo}, {hi}) must be smaller "
                                           f"than the dimension size {n}")
                    period = 2 * (n - 1)
                    idx = np.abs((idx + period) % period if period else idx * 0)
                    idx = np.where(idx > n - 1, period - idx, idx)
                elif mode == "replicate":
                    idx = np.clip(idx, 0, n - 1)
                else:
                    idx = idx % n
                x = index_select(x, axis, _make(idx.astype(np.int64)))
        return x
    raise ValueError(f"pad: unknown mode {mode!r}; expected 'constant', 'reflect', 'replicate' "
                     "or 'circular'")


class Triangle(Function):
    def forward(ctx, x, k, upper):
        ctx.k, ctx.upper = k, upper
        xp = _xp(x)
        return xp.triu(x, k) if upper else xp.tril(x, k)

    def backward(ctx, g):
        return Triangle.apply(g, k=ctx.k, upper=ctx.upper)


def tril(x, diagonal=0):
    if x.ndim < 2:
        raise RuntimeError(f"tril: input tensor must have at least 2 dimensions, got {x.ndim}")
    return Triangle.apply(x, k=diagonal, upper=False)


def triu(x, diagonal=0):
    if x.ndim < 2:
        raise RuntimeError(f"triu: input tensor must have at least 2 dimensions, got {x.ndim}")
    return Triangle.apply(x, k=diagonal, upper=True)


class Contiguous(Function):
    def forward(ctx, x):
        return _xp(x).ascontiguousarray(x)

    def backward(ctx, g):
        return g


def contiguous(x):
    return x if x._data.flags.c_contiguous else Contiguous.apply(x)


def expand_copy(x, *sizes):
    return expand(x, *sizes).clone()
