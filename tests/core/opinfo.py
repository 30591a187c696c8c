"""An OpInfo-style registry: one entry per differentiable op drives every generic test.

Each ``OpInfo`` says how to call the op on either library (``fn(lib, *tensors, **kwargs)``
with ``lib`` being ``deltagrad`` or ``torch``: the APIs are the same, which is the point)
and how to draw a sample (``sample(draw) -> Sample``: float64 NumPy arrays for the
differentiable inputs plus keyword arguments, with shapes drawn by hypothesis).
``tests/core/test_ops.py`` runs forward-vs-torch, backward-vs-torch, float64 gradcheck,
float32-stays-float32 and (where ``gradgrad``) second-order checks for every entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


class Sample(NamedTuple):
    arrays: tuple  # float64 arrays: the differentiable inputs
    kwargs: dict   # everything else (dims, shapes, integer index arrays, ...)


@dataclass
class OpInfo:
    name: str
    fn: Callable
    sample: Callable
    grad: bool = True          # differentiable (backward vs torch, gradcheck)
    gradgrad: bool = False     # also check second derivatives
    rtol: float = 1e-4         # float32 forward tolerance against torch
    atol: float = 1e-5
    grad_rtol: float = 1e-3    # float32 backward tolerance against torch
    grad_atol: float = 1e-4

    def __repr__(self):
        return self.name


# ----------------------------------------------------------------------------- drawing
def shape(min_dims=0, max_dims=4, min_side=0, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def normal(rng, s):
    return rng.standard_normal(s)


def positive(rng, s):
    return np.abs(rng.standard_normal(s)) + 0.5


def away_from_zero(rng, s):
    return np.sign(rng.standard_normal(s) + 1e-12) * (np.abs(rng.standard_normal(s)) + 0.5)


def _rng(draw):
    return np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))


def unary(values=normal, **shape_kw):
    def sample(draw):
        s = draw(shape(**shape_kw))
        return Sample((values(_rng(draw), s),), {})
    return sample


def nary(n, values=normal, min_dims=0, max_dims=4, min_side=0, max_side=4):
    """n mutually broadcastable inputs (each may have fewer dims or size-1 dims)."""
    def sample(draw):
        shapes = draw(hnp.mutually_broadcastable_shapes(
            num_shapes=n, min_dims=min_dims, max_dims=max_dims, min_side=min_side,
            max_side=max_side)).input_shapes
        rng = _rng(draw)
        vals = values if isinstance(values, (list, tuple)) else [values] * n
        return Sample(tuple(v(rng, s) for v, s in zip(vals, shapes)), {})
    return sample


def with_x_full(base):
    """The first input takes the broadcast shape of all (torch's clamp backward needs it)."""
    def sample(draw):
        arrays, kw = base(draw)
        full = np.broadcast_shapes(*(a.shape for a in arrays))
        return Sample((np.random.default_rng(0).standard_normal(full),) + arrays[1:], kw)
    return sample


def with_kwargs(base, make_kwargs):
    """Extend a sample with keyword arguments drawn from its arrays' shapes."""
    def sample(draw):
        arrays, kw = base(draw)
        kw = dict(kw)
        kw.update(make_kwargs(draw, [a.shape for a in arrays]))
        return Sample(arrays, kw)
    return sample


def a_dim(draw, ndim):
    return draw(st.integers(-max(ndim, 1), max(ndim, 1) - 1))


def reduce_kwargs(tuple_dims=True, allow_none=True):
    """``dim`` as None, an int or a tuple of distinct ints, and ``keepdim``."""
    def make(draw, shapes):
        nd = len(shapes[0])
        options = [st.integers(-max(nd, 1), max(nd, 1) - 1)]
        if allow_none:
            options.append(st.none())
        if tuple_dims and nd:
            options.append(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd,
                                    unique=True).map(tuple))
        return {"dim": draw(st.one_of(*options)), "keepdim": draw(st.booleans())}
    return make


def one_dim(draw, shapes):
    return {"dim": a_dim(draw, len(shapes[0])), "keepdim": draw(st.booleans())}


# ----------------------------------------------------------------------------- samples
def _matmul(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(
        signature="(m?,n),(n,p?)->(m?,p?)", max_dims=4, min_side=0, max_side=4)).input_shapes
    rng = _rng(draw)
    return Sample(tuple(rng.standard_normal(s) for s in shapes), {})


def _reshape(draw):
    s = draw(shape(max_side=4))
    n = int(np.prod(s))
    options = [(-1,), tuple(reversed(s)), (1,) + s]
    if n and n % 2 == 0:
        options.append((2, -1))
    return Sample((normal(_rng(draw), s),), {"shape": draw(st.sampled_from(options))})


def _permute(draw):
    s = draw(shape())
    perm = tuple(draw(st.permutations(range(len(s)))))
    return Sample((normal(_rng(draw), s),), {"dims": perm})


def _two_dims(min_dims=1):
    def make(draw, shapes):
        nd = len(shapes[0])
        return {"dim0": a_dim(draw, nd), "dim1": a_dim(draw, nd)}
    return make


def _squeeze(draw):
    s = draw(shape(min_side=1, max_side=3))
    s = tuple(1 if draw(st.booleans()) else n for n in s)
    dim = draw(st.one_of(st.none(), st.integers(-max(len(s), 1), max(len(s), 1) - 1)))
    return Sample((normal(_rng(draw), s),), {"dim": dim})


def _flatten(draw):
    s = draw(shape(min_dims=1))
    nd = len(s)
    a, b = sorted(draw(st.lists(st.integers(0, nd - 1), min_size=2, max_size=2)))
    return Sample((normal(_rng(draw), s),), {"start_dim": a, "end_dim": b - nd})


def _unflatten(draw):
    s = draw(shape(min_dims=1, min_side=1))
    dim = draw(st.integers(0, len(s) - 1))
    n = s[dim]
    sizes = draw(st.sampled_from([(n,), (1, n), (n, 1), (1, -1, 1)]))
    return Sample((normal(_rng(draw), s),), {"dim": dim, "sizes": sizes})


def _expand(draw):
    s = draw(shape(max_dims=3, max_side=3))
    lead = draw(st.lists(st.integers(0, 3), max_size=2))
    target = tuple(lead) + tuple(draw(st.integers(0, 3)) if n == 1 else
                                 draw(st.sampled_from([n, -1])) for n in s)
    return Sample((normal(_rng(draw), s),), {"sizes": target})


def _repeat(draw):
    s = draw(shape(max_dims=3, max_side=3))
    reps = tuple(draw(st.lists(st.integers(0, 3), min_size=len(s), max_size=len(s) + 2)))
    return Sample((normal(_rng(draw), s),), {"sizes": reps})


def _cat(stack):
    def sample(draw):
        s = list(draw(shape(min_dims=1, max_dims=3)))
        k = draw(st.integers(1, 3))
        rng = _rng(draw)
        if stack:
            dim = draw(st.integers(-len(s) - 1, len(s)))
            return Sample(tuple(normal(rng, tuple(s)) for _ in range(k)), {"dim": dim})
        dim = draw(st.integers(-len(s), len(s) - 1))
        arrays = []
        for _ in range(k):
            s[dim] = draw(st.integers(0, 3))
            arrays.append(normal(rng, tuple(s)))
        return Sample(tuple(arrays), {"dim": dim})
    return sample


def _split(draw):
    s = draw(shape(min_dims=1, min_side=0))
    dim = draw(st.integers(-len(s), len(s) - 1))
    n = s[dim]
    if draw(st.booleans()) or n == 0:
        arg = draw(st.integers(1, 4))
    else:
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
        arg = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    return Sample((normal(_rng(draw), s),), {"split": arg, "dim": dim})


def _chunk(draw):
    s = draw(shape(min_dims=1, min_side=1))
    return Sample((normal(_rng(draw), s),), {"chunks": draw(st.integers(1, 5)),
                                             "dim": a_dim(draw, len(s))})


def _flip(draw):
    s = draw(shape(min_dims=1))
    dims = draw(st.lists(st.integers(0, len(s) - 1), min_size=1, max_size=len(s), unique=True))
    return Sample((normal(_rng(draw), s),), {"dims": tuple(dims)})


def _roll(draw):
    s = draw(shape(min_dims=1))
    if draw(st.booleans()):
        return Sample((normal(_rng(draw), s),), {"shifts": draw(st.integers(-5, 5)),
                                                 "dims": None})
    dims = tuple(draw(st.lists(st.integers(0, len(s) - 1), min_size=1, max_size=len(s),
                               unique=True)))
    shifts = tuple(draw(st.integers(-5, 5)) for _ in dims)
    return Sample((normal(_rng(draw), s),), {"shifts": shifts, "dims": dims})


def _pad(draw):
    s = draw(shape(min_dims=1, max_dims=3, min_side=1))
    k = draw(st.integers(1, len(s)))
    pad = tuple(draw(st.lists(st.integers(0, 2), min_size=2 * k, max_size=2 * k)))
    value = draw(st.sampled_from([0.0, 1.5]))
    return Sample((normal(_rng(draw), s),), {"pad": pad, "value": value})


def _basic_index(draw):
    s = draw(shape(min_dims=1, min_side=1))
    idx = []
    for n in s:
        kind = draw(st.sampled_from(["int", "slice", "all"]))
        if kind == "int":
            idx.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            a = draw(st.integers(-n, n))
            b = draw(st.integers(-n, n))
            idx.append(slice(a, b, draw(st.integers(1, 3))))
        else:
            idx.append(slice(None))
    if draw(st.booleans()):
        idx.insert(draw(st.integers(0, len(idx))), None)
    return Sample((normal(_rng(draw), s),), {"index": tuple(idx)})


def _advanced_index(draw):
    """Integer arrays (with repeats, so gradients must accumulate) and a bool mask."""
    s = draw(shape(min_dims=1, max_dims=3, min_side=1))
    rng = _rng(draw)
    kind = draw(st.sampled_from(["one", "two", "mask", "mixed"]))
    if kind == "one":
        idx = (rng.integers(-s[0], s[0], size=draw(st.integers(0, 6))),)
    elif kind == "two" and len(s) >= 2:
        m = draw(st.integers(0, 5))
        idx = (rng.integers(0, s[0], size=m), rng.integers(0, s[1], size=m))
    elif kind == "mask":
        idx = (rng.random(s) > 0.5,)
    else:
        idx = (slice(None), rng.integers(0, s[1], size=(2, 3))) if len(s) >= 2 else \
            (rng.integers(0, s[0], size=(2, 3)),)
    return Sample((normal(rng, s),), {"index": idx})


def _lib_index(m, index):
    return tuple(m.tensor(i) if isinstance(i, np.ndarray) else i for i in index)


def _masked_fill(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3)).input_shapes
    x_shape = np.broadcast_shapes(*shapes)
    rng = _rng(draw)
    return Sample((normal(rng, x_shape),), {"mask": rng.random(shapes[1]) > 0.5,
                                            "value": draw(st.sampled_from([-1.5, 0.0, 2.0]))})


def _gather(draw):
    s = draw(shape(min_dims=1, max_dims=3, min_side=1))
    dim = draw(st.integers(-len(s), len(s) - 1))
    rng = _rng(draw)
    ishape = tuple(draw(st.integers(0, n)) if i != dim % len(s) else draw(st.integers(0, 4))
                   for i, n in enumerate(s))
    return Sample((normal(rng, s),), {"dim": dim,
                                      "index": rng.integers(0, s[dim], size=ishape)})


def _scatter_add(draw):
    s = draw(shape(min_dims=1, max_dims=3, min_side=1))
    dim = draw(st.integers(-len(s), len(s) - 1))
    rng = _rng(draw)
    ishape = tuple(draw(st.integers(0, n)) if i != dim % len(s) else draw(st.integers(0, 4))
                   for i, n in enumerate(s))
    return Sample((normal(rng, s), normal(rng, ishape)),
                  {"dim": dim, "index": rng.integers(0, s[dim], size=ishape)})


def _index_select(draw):
    s = draw(shape(min_dims=1, min_side=1))
    dim = draw(st.integers(-len(s), len(s) - 1))
    rng = _rng(draw)
    return Sample((normal(rng, s),), {"dim": dim, "index": rng.integers(
        0, s[dim], size=draw(st.integers(0, 5)))})


def _tri(draw):
    s = draw(shape(min_dims=2, max_dims=4))
    return Sample((normal(_rng(draw), s),), {"diagonal": draw(st.integers(-3, 3))})


def _classes(draw):
    """Logits (N, C) or (N, C, d) or (C,) with class-index targets."""
    kind = draw(st.sampled_from(["NC", "NCd", "C"]))
    rng = _rng(draw)
    c = draw(st.integers(1, 5))
    n = draw(st.integers(1, 4))
    if kind == "NC":
        logits, tshape = (n, c), (n,)
    elif kind == "NCd":
        logits, tshape = (n, c, 2), (n, 2)
    else:
        logits, tshape = (c,), ()
    return Sample((rng.standard_normal(logits) * 2,),
                  {"target": rng.integers(0, c, size=tshape),
                   "reduction": draw(st.sampled_from(["mean", "sum", "none"]))})


def _probs(draw):
    rng = _rng(draw)
    s = (draw(st.integers(1, 4)), draw(st.integers(1, 5)))
    p = rng.random(s) + 0.1
    return Sample((rng.standard_normal(s) * 2, p / p.sum(1, keepdims=True)),
                  {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))})


def _pair_same_shape(draw):
    s = draw(shape(max_dims=3, min_side=1))
    rng = _rng(draw)
    return Sample((rng.standard_normal(s), rng.random(s)),
                  {"reduction": draw(st.sampled_from(["mean", "sum", "none"]))})


def _softmax(draw):
    s = draw(shape(max_dims=4, min_side=0))
    return Sample((normal(_rng(draw), s) * 3,), {"dim": a_dim(draw, len(s))})


def _sort(draw):
    s = draw(shape(max_dims=3))
    return Sample((normal(_rng(draw), s),), {"dim": a_dim(draw, len(s)),
                                             "descending": draw(st.booleans())})


def _topk(draw):
    s = draw(shape(max_dims=3))
    dim = a_dim(draw, len(s))
    n = s[dim] if s else 1
    return Sample((normal(_rng(draw), s),), {"k": draw(st.integers(0, n)), "dim": dim,
                                             "largest": draw(st.booleans())})


_EINSUM = ["ij,jk->ik", "bij,bjk->bik", "ii->i", "ii", "i,i", "ij->", "ij->ji", "iij->j",
           "ij,k->ijk", "bn,anm,bm->ba", "...ij,...jk", "i...,i->...", "ijk,ik->j"]


def _einsum(draw):
    eq = draw(st.sampled_from(_EINSUM))
    size = {c: draw(st.integers(1, 3)) for c in "abijkmn"}
    ell = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    rng = _rng(draw)
    shapes = []
    for term in eq.split("->")[0].split(","):
        named = term.replace("...", "")
        left, _, right = term.partition("...") if "..." in term else (term, "", "")
        cut = draw(st.integers(0, len(ell))) if "..." in term else 0
        shapes.append(tuple(size[c] for c in left) + (ell[cut:] if "..." in term else ())
                      + tuple(size[c] for c in right))
        assert len(named) == len(left) + len(right)
    return Sample(tuple(normal(rng, sh) for sh in shapes), {"equation": eq})


def _diag(draw):
    s = draw(shape(min_dims=1, max_dims=2))
    return Sample((normal(_rng(draw), s),), {"diagonal": draw(st.integers(-3, 3))})


def _normalize(draw):
    s = draw(shape(min_dims=1, max_dims=3, min_side=1))
    return Sample((away_from_zero(_rng(draw), s),), {"p": draw(st.sampled_from([1, 2, 3.0])),
                                                      "dim": a_dim(draw, len(s))})


def _cosine(draw):
    arrays, _ = nary(2, away_from_zero, min_dims=1, max_dims=3, min_side=1)(draw)
    nd = max(a.ndim for a in arrays)
    return Sample(arrays, {"dim": a_dim(draw, nd)})


def _pixel_shuffle(draw):
    r = draw(st.integers(1, 3))
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return Sample((normal(_rng(draw), lead + (c * r * r, h, w)),), {"r": r})


def _pixel_unshuffle(draw):
    r = draw(st.integers(1, 3))
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return Sample((normal(_rng(draw), lead + (c, h * r, w * r)),), {"r": r})


def _square_batch(draw):
    n = draw(st.integers(1, 4))
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    rng = _rng(draw)
    return Sample((normal(rng, lead + (n, n)), normal(rng, lead + (n, draw(st.integers(1, 3))))),
                  {"upper": draw(st.booleans())})


def _diagonal(draw):
    s = draw(shape(min_dims=2, max_dims=4))
    d1, d2 = draw(st.lists(st.integers(0, len(s) - 1), min_size=2, max_size=2, unique=True))
    return Sample((normal(_rng(draw), s),), {"offset": draw(st.integers(-2, 2)), "dim1": d1,
                                             "dim2": d2})


def _spd(m, a):
    """A well-conditioned symmetric positive-definite matrix from any square a."""
    n = a.shape[-1]
    return a @ a.mT + n * m.eye(n, dtype=a.dtype)


def _kth(draw):
    s = draw(shape(min_dims=1, max_dims=3, min_side=1))
    dim = a_dim(draw, len(s))
    return Sample((normal(_rng(draw), s),), {"k": draw(st.integers(1, s[dim])), "dim": dim,
                                             "keepdim": draw(st.booleans())})


def _median(draw):
    s = draw(shape(min_dims=1, max_dims=3, min_side=1))
    return Sample((normal(_rng(draw), s),), {"dim": a_dim(draw, len(s)),
                                             "keepdim": draw(st.booleans())})


def _tensordot(draw):
    k = draw(st.integers(0, 2))
    free_a = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    free_b = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    shared = tuple(draw(st.lists(st.integers(1, 3), min_size=k, max_size=k)))
    rng = _rng(draw)
    return Sample((normal(rng, free_a + shared), normal(rng, shared + free_b)), {"dims": k})


def _addmm(draw):
    n, k, m = (draw(st.integers(1, 4)) for _ in range(3))
    rng = _rng(draw)
    inp = draw(st.sampled_from([(n, m), (m,), (1, m), ()]))
    kw = {"beta": draw(st.sampled_from([1, 0.5])), "alpha": draw(st.sampled_from([1, -2]))}
    return Sample((normal(rng, inp), normal(rng, (n, k)), normal(rng, (k, m))), kw)


def _cdist(draw):
    batch = tuple(draw(st.lists(st.integers(1, 2), max_size=1)))
    p_, r, m = (draw(st.integers(1, 4)) for _ in range(3))
    rng = _rng(draw)
    return Sample((normal(rng, batch + (p_, m)), normal(rng, batch + (r, m))),
                  {"p": draw(st.sampled_from([1.0, 2.0, 3.0]))})


# ----------------------------------------------------------------------------- registry
OPS = [
    # --- unary elementwise
    OpInfo("neg", lambda m, x: -x, unary()),
    OpInfo("abs", lambda m, x: m.abs(x), unary(away_from_zero)),
    OpInfo("exp", lambda m, x: m.exp(x), unary(), gradgrad=True),
    OpInfo("log", lambda m, x: m.log(x), unary(positive), gradgrad=True),
    OpInfo("log1p", lambda m, x: m.log1p(x), unary(positive)),
    OpInfo("expm1", lambda m, x: m.expm1(x), unary()),
    OpInfo("sqrt", lambda m, x: m.sqrt(x), unary(positive), gradgrad=True),
    OpInfo("rsqrt", lambda m, x: m.rsqrt(x), unary(positive)),
    OpInfo("reciprocal", lambda m, x: m.reciprocal(x), unary(away_from_zero)),
    OpInfo("sin", lambda m, x: m.sin(x), unary(), gradgrad=True),
    OpInfo("cos", lambda m, x: m.cos(x), unary()),
    OpInfo("tanh", lambda m, x: m.tanh(x), unary(), gradgrad=True),
    OpInfo("sigmoid", lambda m, x: m.sigmoid(x), unary(), gradgrad=True),
    OpInfo("relu", lambda m, x: m.relu(x), unary(away_from_zero)),
    OpInfo("erf", lambda m, x: m.erf(x), unary()),
    OpInfo("atan", lambda m, x: m.atan(x), unary()),
    OpInfo("tan", lambda m, x: m.tan(x.tanh()), unary(), gradgrad=True),  # |x| < 1 < π/2
    OpInfo("arcsin", lambda m, x: m.arcsin(x.tanh() * 0.9), unary(), gradgrad=True),
    OpInfo("arccos", lambda m, x: m.arccos(x.tanh() * 0.9), unary(), gradgrad=True),
    OpInfo("sign", lambda m, x: m.sign(x), unary(away_from_zero)),
    OpInfo("square", lambda m, x: m.square(x), unary()),
    OpInfo("clamp", lambda m, x, **kw: m.clamp(x, **kw),
           with_kwargs(unary(), lambda d, s: d(st.sampled_from(
               [{"min": -0.5, "max": 0.7}, {"min": 0.3}, {"max": -0.2}])))),
    OpInfo("pow_scalar", lambda m, x, p: x ** p,
           with_kwargs(unary(positive), lambda d, s: {"p": d(st.sampled_from(
               [2, 3, 0.5, -1.5, 0, 1, 2.5]))}), gradgrad=True),
    OpInfo("mul_scalar", lambda m, x, c: x * c - c / (x * x + 1.0) + (c - x),
           with_kwargs(unary(), lambda d, s: {"c": d(st.sampled_from([0.5, 3, -2.25]))})),
    OpInfo("rdiv_scalar", lambda m, x: 2.5 / x, unary(away_from_zero)),
    OpInfo("rpow_scalar", lambda m, x: 2.0 ** x, unary()),
    OpInfo("clone", lambda m, x: x.clone(), unary()),
    # --- binary elementwise with broadcasting
    OpInfo("add", lambda m, a, b: a + b, nary(2)),
    OpInfo("add_alpha", lambda m, a, b: m.add(a, b, alpha=2.5), nary(2)),
    OpInfo("sub", lambda m, a, b: a - b, nary(2)),
    OpInfo("mul", lambda m, a, b: a * b, nary(2), gradgrad=True),
    OpInfo("div", lambda m, a, b: a / b, nary(2, [normal, away_from_zero]), gradgrad=True),
    OpInfo("pow", lambda m, a, b: a ** b, nary(2, [positive, normal])),
    OpInfo("maximum", lambda m, a, b: m.maximum(a, b), nary(2)),
    OpInfo("minimum", lambda m, a, b: m.minimum(a, b), nary(2)),
    OpInfo("where", lambda m, c, a, b: m.where(c > 0, a, b), nary(3)),
    OpInfo("clamp_tensor", lambda m, x, lo, hi: m.clamp(x, lo, lo + hi.abs() + 0.1),
           with_x_full(nary(3))),
    OpInfo("matmul", lambda m, a, b: a @ b, _matmul, gradgrad=True),
    # --- reductions
    OpInfo("sum", lambda m, x, **kw: x.sum(**kw), with_kwargs(unary(), reduce_kwargs())),
    OpInfo("mean", lambda m, x, **kw: x.mean(**kw),
           with_kwargs(unary(min_side=1), reduce_kwargs()), gradgrad=True),
    OpInfo("var", lambda m, x, **kw: x.var(**kw),
           with_kwargs(unary(min_dims=1, min_side=2), lambda d, s: dict(
               reduce_kwargs()(d, s), correction=d(st.sampled_from([0, 1]))))),
    OpInfo("var_unbiased", lambda m, x, **kw: m.var(x, **kw),
           with_kwargs(unary(min_dims=1, min_side=2), lambda d, s: dict(
               one_dim(d, s), unbiased=d(st.booleans())))),
    OpInfo("std", lambda m, x, **kw: x.std(**kw),
           with_kwargs(unary(min_dims=1, min_side=2), reduce_kwargs()), rtol=1e-3),
    OpInfo("max_dim", lambda m, x, **kw: tuple(x.max(**kw)),
           with_kwargs(unary(min_side=1), one_dim)),
    OpInfo("min_dim", lambda m, x, **kw: tuple(m.min(x, **kw)),
           with_kwargs(unary(min_side=1), one_dim)),
    OpInfo("max_all", lambda m, x: x.max(), unary(min_side=1)),
    OpInfo("amax", lambda m, x, **kw: m.amax(x, **kw),
           with_kwargs(unary(min_side=1, min_dims=1), reduce_kwargs(allow_none=False))),
    OpInfo("argmax", lambda m, x, **kw: x.argmax(**kw),
           with_kwargs(unary(min_side=1), lambda d, s: {
               "dim": d(st.one_of(st.none(), st.integers(-max(len(s[0]), 1),
                                                         max(len(s[0]), 1) - 1))),
               "keepdim": d(st.booleans())}), grad=False),
    OpInfo("argmin", lambda m, x, **kw: m.argmin(x, **kw),
           with_kwargs(unary(min_side=1, min_dims=1), one_dim), grad=False),
    OpInfo("logsumexp", lambda m, x, **kw: m.logsumexp(x, **kw),
           with_kwargs(unary(min_side=1), lambda d, s: dict(
               reduce_kwargs(allow_none=False)(d, s))), gradgrad=True),
    OpInfo("prod", lambda m, x, **kw: x.prod(**kw),
           with_kwargs(unary(max_side=3), lambda d, s: d(st.one_of(
               st.just({}), st.builds(dict, dim=st.integers(-max(len(s[0]), 1),
                                                            max(len(s[0]), 1) - 1),
                                      keepdim=st.booleans())))), gradgrad=True),
    OpInfo("norm", lambda m, x, **kw: x.norm(**kw),
           with_kwargs(unary(min_side=1, values=away_from_zero), lambda d, s: dict(
               reduce_kwargs()(d, s), p=d(st.sampled_from([2, 1, 3, float("inf")])))),
           rtol=1e-3),
    OpInfo("cumsum", lambda m, x, dim: x.cumsum(dim),
           with_kwargs(unary(), lambda d, s: {"dim": a_dim(d, len(s[0]))})),
    # --- shape
    OpInfo("reshape", lambda m, x, shape: x.reshape(shape), _reshape),
    OpInfo("view", lambda m, x, shape: x.view(*shape) if shape else x.view(shape), _reshape),
    OpInfo("permute", lambda m, x, dims: x.permute(*dims) if dims else x.permute(dims), _permute),
    OpInfo("transpose", lambda m, x, dim0, dim1: x.transpose(dim0, dim1),
           with_kwargs(unary(), _two_dims())),
    OpInfo("T", lambda m, x: x.T, unary(max_dims=2)),
    OpInfo("mT", lambda m, x: x.mT, unary(min_dims=2)),
    OpInfo("squeeze", lambda m, x, dim: x.squeeze() if dim is None else x.squeeze(dim),
           _squeeze),
    OpInfo("unsqueeze", lambda m, x, dim: x.unsqueeze(dim),
           with_kwargs(unary(), lambda d, s: {"dim": d(st.integers(-len(s[0]) - 1,
                                                                    len(s[0])))})),
    OpInfo("flatten", lambda m, x, **kw: x.flatten(**kw), _flatten),
    OpInfo("unflatten", lambda m, x, dim, sizes: x.unflatten(dim, sizes), _unflatten),
    OpInfo("expand", lambda m, x, sizes: x.expand(*sizes) if sizes else x.expand(sizes), _expand),
    OpInfo("repeat", lambda m, x, sizes: x.repeat(*sizes) if sizes else x.repeat(sizes), _repeat),
    OpInfo("cat", lambda m, *xs, dim: m.cat(xs, dim=dim), _cat(stack=False)),
    OpInfo("stack", lambda m, *xs, dim: m.stack(xs, dim=dim), _cat(stack=True)),
    OpInfo("split", lambda m, x, split, dim: tuple(x.split(split, dim)), _split),
    OpInfo("chunk", lambda m, x, chunks, dim: tuple(m.chunk(x, chunks, dim)), _chunk),
    OpInfo("flip", lambda m, x, dims: x.flip(dims), _flip),
    OpInfo("roll", lambda m, x, shifts, dims: x.roll(shifts, dims), _roll),
    OpInfo("pad", lambda m, x, pad, value: m.nn.functional.pad(x, pad, value=value), _pad),
    OpInfo("getitem_basic", lambda m, x, index: x[index], _basic_index),
    OpInfo("getitem_advanced", lambda m, x, index: x[_lib_index(m, index)], _advanced_index),
    OpInfo("index_select", lambda m, x, dim, index: x.index_select(dim, m.tensor(index)),
           _index_select),
    OpInfo("masked_fill", lambda m, x, mask, value: x.masked_fill(m.tensor(mask), value),
           _masked_fill),
    OpInfo("gather", lambda m, x, dim, index: x.gather(dim, m.tensor(index)), _gather),
    OpInfo("scatter_add", lambda m, x, src, dim, index: x.scatter_add(dim, m.tensor(index), src),
           _scatter_add),
    OpInfo("tril", lambda m, x, diagonal: x.tril(diagonal), _tri),
    OpInfo("triu", lambda m, x, diagonal: m.triu(x, diagonal=diagonal), _tri),
    # --- activations and losses (nn.functional)
    OpInfo("softmax", lambda m, x, dim: m.nn.functional.softmax(x, dim=dim), _softmax,
           gradgrad=True),
    OpInfo("log_softmax", lambda m, x, dim: m.nn.functional.log_softmax(x, dim=dim), _softmax,
           gradgrad=True),
    OpInfo("mse_loss", lambda m, x, y, reduction: m.nn.functional.mse_loss(
        x, y, reduction=reduction), _pair_same_shape),
    OpInfo("bce_with_logits", lambda m, x, y, reduction:
           m.nn.functional.binary_cross_entropy_with_logits(x, y, reduction=reduction),
           _pair_same_shape),
    OpInfo("cross_entropy", lambda m, x, target, reduction: m.nn.functional.cross_entropy(
        x, m.tensor(target), reduction=reduction), _classes, gradgrad=True),
    OpInfo("cross_entropy_probs", lambda m, x, p, reduction: m.nn.functional.cross_entropy(
        x, p, reduction=reduction), _probs),
    OpInfo("nll_loss", lambda m, x, target, reduction: m.nn.functional.nll_loss(
        m.nn.functional.log_softmax(x, dim=1 if x.ndim > 1 else 0), m.tensor(target),
        reduction=reduction), _classes),
    # --- ordering, einsum, diag, vector normalisation, pixel shuffle (issue 13/20's list)
    OpInfo("sort", lambda m, x, **kw: tuple(m.sort(x, **kw)), _sort),
    OpInfo("sort_method_stable", lambda m, x, **kw: tuple(x.sort(stable=True, **kw)), _sort),
    OpInfo("argsort", lambda m, x, **kw: m.argsort(x, **kw), _sort, grad=False),
    OpInfo("topk", lambda m, x, k, **kw: tuple(m.topk(x, k, **kw)), _topk),
    OpInfo("einsum", lambda m, *xs, equation: m.einsum(equation, *xs), _einsum, gradgrad=True),
    OpInfo("diag", lambda m, x, diagonal: m.diag(x, diagonal), _diag, gradgrad=True),
    OpInfo("normalize", lambda m, x, **kw: m.nn.functional.normalize(x, **kw), _normalize,
           rtol=1e-3, gradgrad=True),
    OpInfo("cosine_similarity", lambda m, a, b, dim: m.nn.functional.cosine_similarity(
        a, b, dim=dim), _cosine, rtol=1e-3, gradgrad=True),
    OpInfo("pixel_shuffle", lambda m, x, r: m.nn.functional.pixel_shuffle(x, r), _pixel_shuffle),
    OpInfo("pixel_unshuffle", lambda m, x, r: m.nn.functional.pixel_unshuffle(x, r),
           _pixel_unshuffle),
    OpInfo("diagonal", lambda m, x, **kw: m.diagonal(x, **kw), _diagonal),
    OpInfo("cholesky", lambda m, a, upper: m.linalg.cholesky(_spd(m, a), upper=upper),
           lambda d: Sample(_square_batch(d).arrays[:1], {"upper": d(st.booleans())}),
           gradgrad=True, rtol=1e-3, grad_rtol=1e-2, grad_atol=1e-3),
    OpInfo("solve_triangular", lambda m, a, b, upper: m.linalg.solve_triangular(
        a.tanh() + 2 * m.eye(a.shape[-1], dtype=a.dtype), b, upper=upper), _square_batch,
           gradgrad=True, rtol=1e-3, grad_rtol=1e-2, grad_atol=1e-3),
    OpInfo("kthvalue", lambda m, x, k, **kw: tuple(m.kthvalue(x, k, **kw)), _kth),
    OpInfo("median_dim", lambda m, x, **kw: tuple(m.median(x, **kw)), _median),
    OpInfo("median_all", lambda m, x: m.median(x), unary(min_side=1)),
    OpInfo("trace", lambda m, x: m.trace(x), unary(min_dims=2, max_dims=2)),
    OpInfo("tensordot", lambda m, a, b, dims: m.tensordot(a, b, dims), _tensordot),
    OpInfo("addmm", lambda m, x, a, b, **kw: m.addmm(x, a, b, **kw), _addmm),
    OpInfo("cdist", lambda m, a, b, p: m.cdist(a, b, p), _cdist, rtol=1e-3),
    OpInfo("addcmul", lambda m, x, a, b, value: m.addcmul(x, a, b, value=value),
           with_kwargs(nary(3), lambda d, s: {"value": d(st.sampled_from([1, 0.5, -2]))})),
    OpInfo("addcdiv", lambda m, x, a, b, value: x.addcdiv(a, b, value=value),
           with_kwargs(nary(3, [normal, normal, away_from_zero]),
                       lambda d, s: {"value": d(st.sampled_from([1, 0.5, -2]))})),
    OpInfo("lgamma", lambda m, x: m.lgamma(x), unary(positive), gradgrad=True),
    OpInfo("digamma", lambda m, x: m.digamma(x), unary(positive), gradgrad=True),
    OpInfo("polygamma", lambda m, x, n: m.polygamma(n, x),
           with_kwargs(unary(positive), lambda d, s: {"n": d(st.sampled_from([0, 1, 2]))}),
           rtol=1e-3, grad_rtol=1e-2),
    OpInfo("erfinv", lambda m, x: m.erfinv(x.tanh() * 0.9), unary(), gradgrad=True),
]

OPS_BY_NAME = {op.name: op for op in OPS}
