"""Views and version counters: tensors that share memory, and in-place writes through them.

A view (``x[1:3]``, ``x.t()``, ``x.permute(..)``, ``x.expand(..)``, ``x.view(..)`` and
``x.reshape(..)`` when no copy is needed, ``narrow``, ``select``, ``split``/``chunk``/``unbind``)
shares its base's memory and its version counter; ``x.detach()`` shares the counter only,
``x.data`` neither (PyTorch's rules). Every in-place write bumps the counter, so a tensor saved
for backward notices a change made through any alias of its memory.

An in-place op on a view ``v = view(b)`` of a base ``b`` is PyTorch's ``CopySlices``: with
``r = op(v)`` computed out of place, the base becomes ``b' = b`` with ``view(b') := r``, and

    ∂L/∂b = g with the view's region set to 0,      ∂L/∂r = view(g)      (g = ∂L/∂b').

The view's own node is then rebuilt as ``view(b')``. Other views of ``b`` notice that their
base's node changed the next time they are used and rebuild theirs the same way (their recorded
``base_fn`` is stale), so gradients always flow through the base's current history.
Refused, as in PyTorch: an in-place op on a view of a leaf that requires grad, on an output of
an op returning several views (``split``, ``chunk``, ``unbind``), on a view created under
``no_grad`` whose write would be recorded, and on a tensor whose elements overlap (``expand``).
"""
from __future__ import annotations

from .function import Function
from .grad_mode import _state, set_grad_enabled

#: ``ViewInfo.meta`` of the views that can never be rebuilt (PyTorch's CreationMeta)
MULTI_OUTPUT, NO_GRAD = "multi_output", "no_grad"


class ViewInfo:
    """What makes a tensor a view: its root ``base``, the ``steps`` (Function class, params)
    that take the base to it, the base's node it was built on (``base_fn``) and ``meta``
    (None, or why it can never be rebuilt; ``steps`` is then None)."""

    __slots__ = ("base", "base_data", "steps", "base_fn", "version", "meta", "origin")


_new = object.__new__


def mark_view(out, src, cls, params, meta=None, origin=None):
    """Record that ``out`` (made from ``src`` by ``cls`` with ``params``) is a view of ``src``'s
    memory: it shares the version counter and remembers how to rebuild itself from the base."""
    vc = src._vc
    if vc is None:
        vc = src._vc = [0]
    out._vc = vc
    pvi = src._view
    if pvi is None:
        base, steps = src, ((cls, params),)
    else:
        base, steps = pvi.base, pvi.steps
        if pvi.meta is not None:
            meta, origin = pvi.meta, pvi.origin
        elif steps is not None:
            steps = steps + ((cls, params),)
    if meta is None and not _state.enabled:
        meta = NO_GRAD
    vi = _new(ViewInfo)
    vi.base = base
    vi.base_data = base._data
    vi.steps = None if meta is not None else steps
    vi.base_fn = base._grad_fn
    vi.version = vc[0]
    vi.meta = meta
    vi.origin = origin
    out._view = vi
    return out


def shares_memory(out, src) -> bool:
    """Whether array ``out`` is a view into the memory of array ``src`` (NumPy and CuPy both
    point a view's ``base`` at the array owning the memory)."""
    b = out.base
    return b is not None and (b is src or b is src.base)


def refresh(t):
    """Bring view ``t`` up to date after its memory was written in place through its base or
    another alias (the shared version moved on): ``t``'s value is now ``view(base)``, so if
    the base's node changed, ``t``'s node is rebuilt as ``view(base)`` on it. A view that can't
    be rebuilt (multi-output, made under no_grad) is refused as in PyTorch when it or its base
    is part of a graph."""
    vi = t._view
    base = vi.base
    if vi.meta is not None:
        if t._grad_fn is not None or base._requires_grad:
            raise RuntimeError(_refusal(vi, "its base or another view of its base has been "
                                            "modified inplace"))
    elif base._grad_fn is not vi.base_fn:
        _check_base_memory(vi, "view")
        with set_grad_enabled(True):
            r = base
            for cls, params in vi.steps:
                r = cls.apply(r, **params)
        set_node(t, r._grad_fn, r._output_nr)
        t._requires_grad = r._requires_grad
        vi.base_fn = base._grad_fn
    vi.version = t._vc[0]


def _check_base_memory(vi, op):
    if vi.base._data is not vi.base_data:
        raise RuntimeError(f"{op}: the base of this view was given new memory or a new shape "
                           "in place (.data = ..., unsqueeze_, t_, ...) after the view was made, "
                           "so the view can't be related to it any more; make the view again")


def _refusal(vi, what):
    if vi.meta == MULTI_OUTPUT:
        return (f"{vi.origin} is a view and {what}. This view is the output of a function that "
                "returns multiple views. Such functions do not allow the output views to be "
                "modified inplace. You should replace the inplace operation by an out-of-place "
                "one.")
    return (f"A view was created in no_grad mode and {what} with grad mode enabled. Given that "
            "this use case is ambiguous and error-prone, it is forbidden. You can clarify your "
            "code by moving both the view and the inplace either both inside the no_grad block "
            "(if you don't want the inplace to be tracked) or both outside (if you want the "
            "inplace to be tracked).")


def check_inplace(t, op, recorded, target=None, write=True):
    """Refuse an in-place op PyTorch refuses; ``recorded``: the write enters the graph;
    ``target``: the array written (default: all of ``t``'s); ``write=False`` for an op that
    changes only the shape (``unsqueeze_``)."""
    if _state.enabled:
        vi = t._view
        if vi is None:
            if t._requires_grad and t._grad_fn is None:
                raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in "
                                   "an in-place operation; wrap it in dg.no_grad() or use .data")
        else:
            base = vi.base
            if base._requires_grad and base._grad_fn is None:
                raise RuntimeError(f"{op}: a view of a leaf Variable that requires grad is being "
                                   "used in an in-place operation.")
            if vi.meta is not None and (recorded or base._requires_grad):
                raise RuntimeError(f"{op}: " + _refusal(vi, "is being modified inplace"))
    if write:
        check_writable(t._data if target is None else target, op)


def check_writable(a, op):
    """Refuse to write into memory that several elements share (an ``expand``) or that is
    read-only."""
    if a.ndim:
        strides = a.strides
        if 0 in strides and op != "fill_" and a.size and any(
                s == 0 and n > 1 for s, n in zip(strides, a.shape)):  # (empty: nothing shared)
            raise RuntimeError(f"{op}: unsupported operation: more than one element of the "
                               f"written-to tensor (shape {tuple(a.shape)}, strides "
                               f"{tuple(strides)}) refers to a single memory location. Please "
                               "clone() the tensor before performing the operation.")
        if not getattr(a.flags, "writeable", True):
            raise RuntimeError(f"{op}: the tensor's memory is read-only (a non-writable NumPy "
                               "array); clone() it before writing into it")


def region(a, steps):
    """The array view ``steps`` make of array ``a`` (writes reach ``a``)."""
    ctx = None
    for cls, params in steps:
        if ctx is None or type(ctx) is not cls:
            ctx = _new(cls)
        a = cls.forward(ctx, a, **params)
    return a


class CopySlices(Function):
    """``base`` with the region ``steps`` select overwritten by ``src``, written in place:
    forward returns the base's own (now updated) array. ∂/∂base: g with the region zeroed;
    ∂/∂src: the region of g."""

    def forward(ctx, base, src, steps):
        ctx.steps = steps
        if steps:
            region(base, steps)[...] = src
        else:
            base[...] = src
        return base

    def backward(ctx, g):
        gb = gs = None
        if ctx.needs_input_grad[0]:
            gb = ZeroRegion.apply(g, steps=ctx.steps)
        if ctx.needs_input_grad[1]:
            gs = g
            for cls, params in ctx.steps:
                gs = cls.apply(gs, **params)
        return gb, gs


class ZeroRegion(Function):
    """A copy of ``g`` with the region ``steps`` select set to 0 (its own adjoint)."""

    def forward(ctx, g, steps):
        ctx.steps = steps
        out = g.copy()
        if steps:
            region(out, steps)[...] = 0
        else:
            out[...] = 0
        return out

    def backward(ctx, gg):
        return ZeroRegion.apply(gg, steps=ctx.steps)


def write_inplace(t, result, op):
    """``t`` ← ``result`` in place (an in-place op whose value ``result`` was computed out of
    place), recorded in the graph when gradients flow; the version counter moves on."""
    a = t._data
    if a.ndim == 0 and t._view is None and not getattr(a.flags, "writeable", True):
        t._data = a.copy()  # NumPy makes the 0-d results of reductions read-only
    rfn = result._grad_fn
    recorded = _state.enabled and (result._requires_grad or t.requires_grad)
    check_inplace(t, op, recorded)
    if rfn is not None:
        _snapshot_saved_self(rfn, t)
    vi = t._view
    if recorded and (vi is not None or rfn is None):
        base, steps = (t, ()) if vi is None else (vi.base, vi.steps)
        if vi is not None:
            _check_base_memory(vi, op)
        new = CopySlices.apply(base, result, steps=steps)
        set_node(base, new._grad_fn, 0)
        base._requires_grad = True
        bump_version(t)
        if vi is not None:
            refresh(t)
        return t
    t._data[...] = result._data
    bump_version(t)
    if rfn is not None:
        set_node(t, rfn, result._output_nr)
        t._requires_grad = True
    return t


def set_node(t, fn, output_nr):
    """Point ``t`` at a new node; a ``retain_grad()`` moves with it (``t.grad`` is then the
    gradient of the new value, as in PyTorch)."""
    old = t._grad_fn
    retained = old._retained if old is not None else None
    moved = False
    if retained:
        ref = retained.get(t._output_nr)
        if ref is not None and ref() is t:
            del retained[t._output_nr]
            moved = True
    t._grad_fn, t._output_nr = fn, output_nr
    if moved and fn is not None:
        t.retain_grad()


def bump_version(t):
    vc = t._vc
    if vc is None:
        t._vc = [1]
    else:
        vc[0] += 1


def _snapshot_saved_self(node, t):
    """Before ``t`` is overwritten by an in-place op whose node saved ``t`` itself (``x.mul_(y)``
    needs the old x for y's gradient), give the node a copy of the old value at the old place
    in the graph (PyTorch's ``original_self``)."""
    saved = getattr(node, "_saved", None)
    if not saved:
        return
    from .function import _make
    for i, item in enumerate(saved):
        if item[0] == "in" and item[1] is t:
            old = _make(t._data.copy(), t._requires_grad, t._grad_fn, t._output_nr)
            old._acc = t._acc
            saved[i] = ("in", old, 0)
