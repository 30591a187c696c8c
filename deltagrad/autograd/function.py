"""A node of the backward graph: one differentiable operation, its forward and its backward.

Subclasses write ``forward(ctx, *arrays, **params)`` on raw arrays (NumPy or CuPy) and
``backward(ctx, *grad_outputs)`` on Tensors, built from differentiable operations, so a
graph of the backward itself is recorded when ``create_graph=True`` (higher-order
gradients come for free, as in DeZero and Chainer). ``ctx`` is the node itself.

Only what the backward needs is kept: ``ctx.save_for_backward(*arrays)`` in forward
records inputs by reference to their Tensor (checked against in-place changes through a
version counter), outputs by their array alone (no reference cycle with the node), and
anything else as a constant. Broadcasting is undone in one place (the engine), so no
backward sums gradients back to input shapes by hand.
"""
from __future__ import annotations

import weakref

from .grad_mode import _state


class Function:
    """Base class of every differentiable operation (``torch.autograd.Function``)."""

    #: replace ``None`` output gradients by zeros before ``backward`` (multi-output ops)
    materialize_grads = True
    #: output number -> weak reference to a non-leaf output whose ``.grad`` is kept
    _retained = None
    #: output number -> ordered hooks of ``Tensor.register_hook`` on that output
    _tensor_hooks = None

    def __init__(self):
        self.needs_input_grad = ()
        self._recording = False

    def __init_subclass__(cls, **kwargs):
        """A subclass written as PyTorch's custom Functions are (``@staticmethod forward(ctx,
        *args)`` on Tensors, or ``forward(*args)`` with ``setup_context(ctx, inputs,
        output)``; ``@staticmethod backward(ctx, *grads)``) gets the Tensor-level ``apply``
        of ``_apply_on_tensors``; deltagrad's own operations write plain methods on arrays."""
        super().__init_subclass__(**kwargs)
        if isinstance(cls.__dict__.get("forward"), staticmethod):
            cls.apply = classmethod(_apply_on_tensors)
        backward = cls.__dict__.get("backward")
        if isinstance(backward, staticmethod):  # the engine calls node.backward(*grads)
            cls.backward = backward.__func__

    # ------------------------------------------------------------------ building
    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays and, if any input needs a gradient, record a node.

        This is the hot path of every operation: plain loops, no properties, no Size objects.
        While ``deltagrad.profiler`` records on this thread, the call is timed as one event.
        """
        if _state.profiler is not None:
            return _state.profiler.forward(cls, inputs, params)
        ctx = _new(cls)
        arrays = []
        record = False
        device = None
        for t in inputs:
            if not isinstance(t, _Tensor):
                raise TypeError(f"{cls.__name__}: expected Tensor inputs, got {type(t).__name__}")
            vi = t._view
            if vi is not None and vi.version != t._vc[0] and _state.enabled:
                _refresh(t)  # a view written in place through an alias: rebuild its node
            arrays.append(t._data)
            if t._requires_grad:
                record = True
            dev = t._device
            if dev is not device:
                if device is None:
                    device = dev
                elif dev != device:
                    raise RuntimeError(f"{cls.__name__}: expected all tensors on the same device, "
                                       f"found {device} and {dev}")
        record = record and _state.enabled
        ctx.needs_input_grad = tuple([t._requires_grad for t in inputs]) if record \
            else (False,) * len(inputs)
        ctx._recording = record
        ctx._saved = None
        out = cls.forward(ctx, *arrays, **params)
        if type(out) is not tuple:
            if not record:
                return _make(out)
            ctx._n_outputs = 1
            ctx._record_inputs(inputs, arrays)
            res = _make(out, True, ctx, 0) if out.dtype.kind in "fcV" else _make(out)
            if ctx._saved is not None:
                if ctx._resolve_saved(inputs, arrays, (out,)):
                    ctx._watch_saved_outputs((res,))
            return res
        if not record:
            return tuple([_make(o) for o in out])
        ctx._n_outputs = len(out)
        ctx._record_inputs(inputs, arrays)
        from ..backend import array_module
        ctx._output_meta = tuple((o.shape, o.dtype, array_module(o)) for o in out)
        res = tuple([_make(o, True, ctx, i) if o.dtype.kind in "fcV" else _make(o)
                     for i, o in enumerate(out)])
        if ctx._saved is not None:
            if ctx._resolve_saved(inputs, arrays, out):
                ctx._watch_saved_outputs(res)
        return res

    def _record_inputs(self, inputs, arrays):
        """The edges to the inputs' nodes and their (shape, dtype) for the engine."""
        self._inputs_meta = tuple([(a.shape, a.dtype) for a in arrays])
        edges = []
        for t in inputs:
            if not t._requires_grad:
                edges.append(None)
            elif t._grad_fn is not None:
                edges.append((t._grad_fn, t._output_nr))
            else:
                edges.append(_edge(t))
        self.next_edges = tuple(edges)

    def save_for_backward(self, *arrays):
        if self._recording:
            self._saved = arrays

    # PyTorch's ctx methods for custom Functions (``_apply_on_tensors``)
    def mark_non_differentiable(self, *outputs):
        """These outputs of forward get no gradient (integer indices, masks)."""
        self._non_differentiable = getattr(self, "_non_differentiable", ()) + outputs

    def set_materialize_grads(self, value: bool):
        """False: backward receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        raise NotImplementedError("ctx.mark_dirty: custom Functions that modify their inputs "
                                  "in place are not supported by deltagrad; return a new "
                                  "Tensor instead")

    def _resolve_saved(self, inputs, arrays, outs):
        """Classify what forward saved: an input (kept as its Tensor, with its version), an
        output (kept as its array) or a constant. True if an output was saved."""
        resolved = []
        has_out = False
        for a in self._saved:
            kind = None
            if a is not None:
                for i, x in enumerate(arrays):
                    if a is x:
                        vc = inputs[i]._vc  # the version counter, shared with its views
                        kind = ("in", inputs[i], 0 if vc is None else vc[0])
                        break
                else:
                    for j, o in enumerate(outs):
                        if a is o:
                            kind = ("out", a, j)
                            has_out = True
                            break
            resolved.append(kind if kind is not None else ("const", a))
        self._saved = resolved
        return has_out

    def _watch_saved_outputs(self, res):
        """A saved output is kept as its array (no cycle); a weak reference to its Tensor lets
        backward notice when the output was modified in place (its version moved on)."""
        saved = self._saved
        for k, item in enumerate(saved):
            if item[0] == "out" and len(item) == 3:
                t = res[item[2]]
                saved[k] = ("out", item[1], item[2], weakref.ref(t), t._version)

    # ------------------------------------------------------------------ backward
    @property
    def saved_tensors(self):
        """The saved arrays as Tensors: inputs keep their graph, outputs point at this node."""
        if self._saved is None:
            if getattr(self, "_released", False):
                raise RuntimeError(
                    f"{type(self).__name__}: trying to backward through the graph a second time "
                    "(or to use saved values after they were freed). Pass retain_graph=True to "
                    "the first backward() if you need to backward through the graph again.")
            return ()
        out = []
        for item in self._saved:
            kind = item[0]
            if kind == "in":
                t, version = item[1], item[2]
                if t._version != version:
                    raise RuntimeError(
                        f"{type(self).__name__}: one of the tensors needed for gradient computation "
                        f"has been modified by an in-place operation (shape {t.shape}, version "
                        f"{t._version}, expected version {version})")
                out.append(t)
            elif kind == "out":
                t = item[3]()
                if t is not None and t._version != item[4]:
                    raise RuntimeError(
                        f"{type(self).__name__}: its output, needed for gradient computation, "
                        f"has been modified by an in-place operation (shape {tuple(t.shape)}, "
                        f"version {t._version}, expected version {item[4]})")
                out.append(_make(item[1], True, self, item[2]))
            else:
                out.append(None if item[1] is None else _make(item[1]))
        return tuple(out)

    def release(self):
        """Free what the backward needed (after a backward without ``retain_graph``)."""
        self._saved = None
        self._released = True

    def forward(ctx, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(ctx).__name__} must implement forward")

    def backward(ctx, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(ctx).__name__} does not support backward")

    def name(self) -> str:
        return type(self).__name__ + "Backward"

    def __repr__(self):
        return f"<{self.name()}>"


def _apply_on_tensors(cls, *args):
    """``apply`` of a custom Function written PyTorch's way: forward runs on the Tensors
    themselves, with gradient recording off, and may take non-Tensor arguments; the node's
    backward (the user's) returns one gradient per argument, None for non-Tensors."""
    from .grad_mode import no_grad
    if _state.profiler is not None:
        return _state.profiler.forward(cls, args, {})
    ctx = _new(cls)
    tensors = [a for a in args if isinstance(a, _Tensor)]
    record = _state.enabled and any(t._requires_grad for t in tensors)
    ctx.needs_input_grad = tuple(isinstance(a, _Tensor) and a._requires_grad and record
                                 for a in args)
    ctx._recording, ctx._saved = record, None
    with no_grad():
        if "setup_context" in vars(cls) or any("setup_context" in vars(b) for b in cls.__mro__
                                                if b not in (Function, object)):
            out = cls.forward(*args)
            cls.setup_context(ctx, args, out)
        else:
            out = cls.forward(ctx, *args)
    outs = out if isinstance(out, tuple) else (out,)
    for o in outs:
        if not isinstance(o, _Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors, "
                            f"got {type(o).__name__}")
    arrays = [o._data for o in outs]
    if not record:
        res = tuple(_make(a) for a in arrays)
        return res if isinstance(out, tuple) else res[0]
    ctx._n_outputs = len(outs)
    ctx._inputs_meta = tuple((a._data.shape, a._data.dtype) if isinstance(a, _Tensor)
                             else (None, None) for a in args)
    ctx.next_edges = tuple(None if not (isinstance(a, _Tensor) and a._requires_grad)
                           else (a._grad_fn, a._output_nr) if a._grad_fn is not None
                           else _edge(a) for a in args)
    from ..backend import array_module
    ctx._output_meta = tuple((a.shape, a.dtype, array_module(a)) for a in arrays)
    ctx.backward = _checked_backward(ctx, len(args))
    frozen = {id(o) for o in getattr(ctx, "_non_differentiable", ())}
    res = tuple(_make(a, True, ctx, i) if a.dtype.kind in "fcV" and id(o) not in frozen
                else _make(a) for i, (a, o) in enumerate(zip(arrays, outs)))
    if ctx._saved is not None:
        ctx._saved = tuple(t._data if isinstance(t, _Tensor) else t for t in ctx._saved)
        inputs = [a if isinstance(a, _Tensor) else None for a in args]
        in_arrays = [a._data if isinstance(a, _Tensor) else None for a in args]
        if ctx._resolve_saved(inputs, in_arrays, arrays):
            ctx._watch_saved_outputs(res)
    return res if isinstance(out, tuple) else res[0]


def _checked_backward(ctx, n_args):
    """The user's backward, its result checked as PyTorch checks it: one gradient per
    forward argument (extra ones must be None)."""
    user = type(ctx).backward

    def backward(*grads):
        got = user(ctx, *grads)
        got = got if isinstance(got, tuple) else (got,)
        if len(got) < n_args or any(g is not None for g in got[n_args:]):
            raise RuntimeError(f"function {type(ctx).__name__}Backward returned an incorrect "
                               f"number of gradients (expected {n_args}, got {len(got)})")
        return got[:n_args]
    return backward


def once_differentiable(backward):
    """Decorator of a custom Function's backward that is not itself differentiable: it runs
    with gradient recording off (PyTorch's ``torch.autograd.function.once_differentiable``)."""
    import functools

    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        from .grad_mode import no_grad
        with no_grad():
            return backward(ctx, *grads)
    return wrapper


_new = object.__new__
_Tensor = None  # bound by deltagrad.tensor once Tensor exists (it imports this module first)
_make = _refresh = None


def _bind_tensor(tensor_cls, make):
    global _Tensor, _make, _refresh
    _Tensor, _make = tensor_cls, make
    from .views import refresh as _refresh


class AccumulateGrad:
    """The node at a leaf tensor: adds the incoming gradient into ``tensor.grad``."""

    next_edges = ()
    _n_outputs = 1
    __slots__ = ("variable", "__weakref__")

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    @property
    def _tensor_hooks(self):
        """The leaf's ``register_hook`` hooks, run before its gradient accumulates."""
        hooks = self.variable.__dict__.get("_backward_hooks")
        return {0: hooks} if hooks else None

    def release(self):
        pass

    def __repr__(self):
        return "<AccumulateGrad>"


def _edge(t):
    """Where a gradient for tensor ``t`` goes: its producing node, or its leaf accumulator."""
    fn = t.grad_fn
    if fn is not None:
        return (fn, t._output_nr)
    acc = t._acc() if t._acc is not None else None
    if acc is None:
        acc = AccumulateGrad(t)
        t._acc = weakref.ref(acc)
    return (acc, 0)


def _differentiable(array) -> bool:
    return array.dtype.kind in "fcV"  # V: bfloat16 (ml_dtypes), the only void dtype a tensor holds
