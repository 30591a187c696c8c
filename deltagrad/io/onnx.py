"""``dg.onnx.export``: one traced forward pass written as an ONNX graph (``torch.onnx.export``).

Tracing runs ``model(*args)`` once with a recorder in place. Each call of a layer that has a
direct ONNX counterpart (Conv, BatchNorm, LayerNorm, Embedding, pooling, RNN/LSTM/GRU, ...)
becomes that node (its inner operations are not recorded), and every other autograd
``Function`` applied on the way (Add, MatMul, Reshape, Softmax, attention, ...) becomes its
ONNX nodes. Tensors that do not depend on the inputs (parameters, buffers, masks, positional
tables) become initializers; operations whose inputs are all such constants are folded.
A Function or layer without a mapping raises an error naming it.

A first, probe trace runs the same forward on other input values with every dynamic axis one
longer. Comparing the two traces event by event tells which sizes follow the dynamic axes
(so reshapes and expands are written with −1, 0 or a run-time size where they must be), and
finds what would otherwise be frozen silently: a constant input of an operation that differs
between the traces (a mask from a comparison, a random draw) or a forward that takes another
path; both are refused with an error. A one-value tensor made for the input's size
(``dg.zeros(B, H)``) becomes a ConstantOfShape of the run-time size.

Needs the ``onnx`` package (``pip install deltagrad[export]``); ``onnxruntime`` runs the result.
"""
from __future__ import annotations

import hashlib
import math
import os

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["export", "ExportError"]

_INT_MAX = np.iinfo(np.int64).max


class ExportError(RuntimeError):
    """An operation, layer or argument that ONNX export cannot express."""


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError:
        raise ImportError("dg.onnx.export needs the 'onnx' package: pip install onnx "
                          "(or deltagrad[export])") from None
    return onnx, helper, numpy_helper


# ============================================================================ the recorder
class _Recorder:
    def __init__(self, model, sources, probe=None, opset=17):
        self.onnx, self.helper, self.numpy_helper = _onnx()
        self.opset = opset
        self.nodes, self.initializers = [], []
        self.names = {}          # id(Tensor) -> value name in the graph
        self.folded = set()      # id(Tensor) of constants computed during the trace
        self.keep = []           # tensors kept alive so their ids stay theirs
        self.const_names = {}    # id(array) -> initializer name
        self.param_names = {}
        for name, p in list(model.named_parameters()) + list(model.named_buffers()):
            self.param_names.setdefault(id(p), name)
            self.param_names.setdefault(id(p._data), name)
        self.counter = 0
        self.depth = 0           # > 0 inside a layer exported as a whole
        #: the dynamic input axes: (input name, axis, traced size, size in the probe trace)
        self.sources = sources
        #: output shapes of each event (a Function or exported layer) of the probe trace, run
        #: with every dynamic axis one longer: the dims that differ follow the dynamic axes
        self.probe = probe
        self.events = []
        self.current = []        # per output of the current event: which dims are dynamic
        self.current_probe = []  # ... and its shapes in the probe trace
        self.dyn = {}            # value name -> which of its dims are dynamic
        self.sized_consts = {}   # id(Tensor) -> (shape, probe shape) of one-value constants

    # -------------------------------------------------------------- names and constants
    def fresh(self, hint):
        self.counter += 1
        return f"{hint}_{self.counter}"

    def node(self, op, inputs, n_out=1, hint=None, **attrs):
        outs = [self.fresh(hint or op) for _ in range(n_out)]
        self.nodes.append(self.helper.make_node(op, list(inputs), outs, name=outs[0], **attrs))
        return outs if n_out > 1 else outs[0]

    def const(self, array, hint="const"):
        array = np.asarray(backend.to_numpy(array))
        key = id(array)
        if key in self.const_names:
            return self.const_names[key]
        name = self.fresh(hint.replace(".", "_"))
        self.initializers.append(self.numpy_helper.from_array(np.asarray(array, order="C"), name))
        self.const_names[key] = name
        self.keep.append(array)
        return name

    def reduce(self, op, x, axes, keepdims=1):
        """ReduceMean/Max/Min over ``axes``: an attribute up to opset 17, an input from 18."""
        if self.opset >= 18:
            return self.node(op, [x, self.ints(list(axes), "axes")], keepdims=keepdims)
        return self.node(op, [x], axes=list(axes), keepdims=keepdims)

    def ints(self, values, hint="shape"):
        return self.const(np.asarray(values, np.int64), hint)

    def scalar(self, value, dtype, hint="scalar"):
        return self.const(np.asarray(value, dtype), hint)

    def is_graph(self, t):
        return isinstance(t, Tensor) and id(t) in self.names

    def value(self, t, what="input"):
        """The graph name of tensor ``t``: a traced value, or an initializer for a constant."""
        if id(t) in self.names:
            return self.names[id(t)]
        if id(t) in self.sized_consts:
            return self._constant_of_shape(t, *self.sized_consts[id(t)])
        if t.grad_fn is not None and id(t) not in self.folded:
            raise ExportError(f"dg.onnx.export: a tensor of shape {tuple(t.shape)} ({what}) was "
                              f"made by {t.grad_fn.name()} outside the traced operations; "
                              "exporting it would freeze it to its traced value")
        hint = self.param_names.get(id(t)) or self.param_names.get(id(t._data)) or "const"
        return self.const(t._data, hint)

    def _constant_of_shape(self, t, shape, probed):
        """A tensor of one value whose size follows the dynamic axes (``dg.zeros(B, H)``)."""
        parts = [self.runtime_dim(n, p) if n != p else n for n, p in zip(shape, probed)]
        dims = self.node("Concat", [p if isinstance(p, str) else self.ints([p])
                                    for p in parts], axis=0)
        a = backend.to_numpy(t._data)
        fill = self.numpy_helper.from_array(np.asarray(a.reshape(-1)[:1], order="C"), "value")
        name = self.node("ConstantOfShape", [dims], value=fill)
        self.bind(t, name, tuple(n != p for n, p in zip(shape, probed)))
        return name

    def bind(self, t, name, dyn=None):
        self.names[id(t)] = name
        if dyn is not None:
            self.dyn[name] = tuple(dyn)
        self.keep.append(t)

    def fold(self, out):
        for t in _flat(out):
            if isinstance(t, Tensor):
                self.folded.add(id(t))
                self.keep.append(t)

    def in_dyn(self, t):
        """Which dims of value ``t`` follow the dynamic axes."""
        return self.dyn.get(self.names.get(id(t)), (False,) * t.ndim)

    def out_dyn(self, i=0):
        return self.current[i]

    def runtime_dim(self, traced, probed):
        """A 1-element int64 value: the run-time size of a dim that was ``traced`` long here
        and ``probed`` long in the probe trace, read off a dynamic input axis."""
        for name, axis, size, probe_size in self.sources:
            if size == traced and probe_size == probed:
                return self.node("Shape", [name], start=axis, end=axis + 1)
        raise ExportError(f"dg.onnx.export: a size {traced} follows the dynamic axes but no "
                          "input axis has it; it cannot be expressed")

    def _signature(self, t):
        """What a constant input of an event was: a parameter/buffer by name, anything else
        by shape, dtype and a digest of its values."""
        name = self.param_names.get(id(t)) or self.param_names.get(id(t._data))
        if name is not None:
            return name
        a = np.asarray(backend.to_numpy(t._data), order="C")
        if a.size and (a == a.reshape(-1)[0]).all():      # one value everywhere (zeros(B, H))
            return ("uniform", a.shape, str(a.dtype), a.reshape(-1)[0].item())
        return (a.shape, str(a.dtype), hashlib.sha1(a.reshape(-1).view(np.uint8)).hexdigest())

    def _event(self, what, out, inputs):
        """Record an event (a Function or an exported layer) and compare it with the probe
        trace's: which output dims follow the dynamic axes, and whether a constant input
        came out different (then it depends on the inputs through an untraced path)."""
        shapes = [tuple(t.shape) for t in _flat(out) if isinstance(t, Tensor)]
        consts = [(i, t) for i, t in enumerate(inputs)
                  if isinstance(t, Tensor) and not self.is_graph(t)]
        k = len(self.events)
        self.events.append((what, shapes, {i: self._signature(t) for i, t in consts}))
        if self.probe is None:
            self.current = [(False,) * len(sh) for sh in shapes]
            self.current_probe = shapes
            return
        if k >= len(self.probe) or self.probe[k][0] != what or \
                [len(a) for a in self.probe[k][1]] != [len(a) for a in shapes]:
            raise ExportError(f"dg.onnx.export: the forward pass takes another path for other "
                              f"input values or sizes (at {what}); it cannot be exported as "
                              "one graph")
        theirs = self.probe[k][2]   # (the probe may have folded what is traced here)
        for i, t in consts:
            mine = self.events[k][2][i]
            if what == "RecurrentSequence" and i in (1, 2) and not backend.to_numpy(t._data).any():
                continue    # a zero initial state sized for the batch: omitted (ONNX's zeros)
            if i in theirs and mine != theirs[i] and _uniform(mine) and _uniform(theirs[i]) \
                    and mine[2:] == theirs[i][2:] and len(mine[1]) == len(theirs[i][1]):
                # one value, a size that follows the dynamic axes: ConstantOfShape at run time
                self.sized_consts[id(t)] = (mine[1], theirs[i][1])
                self.keep.append(t)
                continue
            if i in theirs and mine != theirs[i]:
                raise ExportError(
                    f"dg.onnx.export: input {i} of {what} (shape {tuple(t.shape)}) changes with "
                    "the inputs but was computed outside the traced operations (a comparison "
                    "or integer op without autograd, NumPy, a random draw, or a tensor made "
                    "for the input's size); the export would freeze it")
        self.current_probe = self.probe[k][1]
        self.current = [tuple(a != b for a, b in zip(sh, p))
                        for sh, p in zip(shapes, self.current_probe)]

    # -------------------------------------------------------------- hooks
    def on_function(self, cls, inputs, params, out):
        name = cls.__name__
        self._event(name, out, inputs)
        if not any(self.is_graph(t) for t in inputs):
            if not any(any(d) for d in self.current):
                self.fold(out)
                return
            sized = any(isinstance(t, Tensor) and id(t) in self.sized_consts for t in inputs)
            if name != "BroadcastTo" and not sized:  # (B, 1, d) class tokens, zeros(B, H)
                raise ExportError(f"dg.onnx.export: {name} makes a constant of shape "
                                  f"{tuple(_flat(out)[0].shape)} that follows the dynamic axes "
                                  "without depending on the inputs' values; it cannot be "
                                  "expressed (make those axes static)")
        fn = _FUNCTIONS.get(name)
        if fn is None:
            raise ExportError(f"dg.onnx.export: the operation {name} has no ONNX mapping "
                              "(unsupported op)")
        res = fn(self, inputs, params, out)
        outs = list(out) if isinstance(out, tuple) else [out]
        res = list(res) if isinstance(out, tuple) else [res]
        for i, (t, value) in enumerate(zip(outs, res)):
            if value is not None:
                self.bind(t, value, self.current[i])

    def on_module(self, module, args, kwargs, call):
        tensors = [a for a in _flat((args, kwargs)) if isinstance(a, Tensor)]
        mapper = _mapper_for(module)
        if mapper is None or not any(self.is_graph(t) for t in tensors):
            return call()
        self.depth += 1
        try:
            out = call()
        finally:
            self.depth -= 1
        self._event(type(module).__name__, out, tensors)
        res = mapper(self, module, args, kwargs, out)
        tensors = [t for t in _flat(out) if isinstance(t, Tensor)]
        for i, (t, name) in enumerate(zip(tensors, _flat(res))):
            if name is not None:
                self.bind(t, name, self.current[i])
        return out


def _uniform(signature):
    return isinstance(signature, tuple) and signature[0] == "uniform"


def _flat(obj):
    if isinstance(obj, (tuple, list)):
        return [x for o in obj for x in _flat(o)]
    if isinstance(obj, dict):
        return [x for o in obj.values() for x in _flat(o)]
    return [obj]


_active = []


def _traced_apply(cls, *inputs, **params):
    out = _ORIGINAL_APPLY.__func__(cls, *inputs, **params)
    if _active and _active[-1].depth == 0:
        _active[-1].on_function(cls, inputs, params, out)
    return out


def _traced_call(self, *args, **kwargs):
    if _active and _active[-1].depth == 0:
        return _active[-1].on_module(self, args, kwargs,
                                     lambda: _ORIGINAL_CALL(self, *args, **kwargs))
    return _ORIGINAL_CALL(self, *args, **kwargs)


def _traced_assign(self, result, op):
    out = _ORIGINAL_ASSIGN(self, result, op)
    if _active and _active[-1].depth == 0:
        rec = _active[-1]
        if id(result) in rec.names:      # x.relu_(): x now holds the traced result
            rec.bind(self, rec.names[id(result)])
        elif rec.is_graph(self):
            raise ExportError(f"dg.onnx.export: in-place {op} on a traced tensor with a value "
                              "that does not depend on the inputs has no ONNX mapping")
    return out


def _guard(method):
    """``Tensor.numpy()``/``item()``/``tolist()`` on a traced value leave the graph: whatever is
    computed from the result would be frozen into the export, so refuse (PyTorch warns)."""
    original = getattr(Tensor, method)

    def guarded(self, *args, **kwargs):
        if _active and _active[-1].depth == 0 and _active[-1].is_graph(self):
            raise ExportError(f"dg.onnx.export: Tensor.{method}() on a value computed from the "
                              f"inputs (shape {tuple(self.shape)}) leaves the traced graph; "
                              "the export would freeze whatever depends on it")
        return original(self, *args, **kwargs)
    return original, guarded


_GUARDED = ("numpy", "item", "tolist")
_ORIGINAL_APPLY = Function.__dict__["apply"]
_ORIGINAL_CALL = None
_ORIGINAL_ASSIGN = getattr(Tensor, "_assign", None)   # in-place ops write through it


# ============================================================================ export
def export(model, args, f, export_params=True, verbose=False, training=None,
           input_names=None, output_names=None, operator_export_type=None,
           opset_version=17, do_constant_folding=True, dynamic_axes=None,
           keep_initializers_as_inputs=None, custom_opsets=None, **kwargs):
    """Trace ``model(*args)`` and write the ONNX model to ``f`` (a path or a binary file).

    ``dynamic_axes``: ``{name: {axis: "symbol"}}`` or ``{name: [axes]}`` for inputs/outputs
    whose size may change at run time (the batch axis 0). Returns the ``onnx.ModelProto``.
    """
    onnx, helper, numpy_helper = _onnx()
    from ..nn.module import Module
    if not isinstance(model, Module):
        raise TypeError(f"dg.onnx.export: model must be a dg.nn.Module, got "
                        f"{type(model).__name__}")
    if kwargs:
        raise TypeError(f"dg.onnx.export: unsupported arguments {sorted(kwargs)}")
    if keep_initializers_as_inputs or custom_opsets:
        raise ValueError("dg.onnx.export: keep_initializers_as_inputs and custom_opsets are "
                         "not supported")
    if not export_params:
        raise ValueError("dg.onnx.export: export_params=False is not supported")
    if not 17 <= int(opset_version) <= 21:   # 17: LayerNormalization
        raise ValueError(f"dg.onnx.export: opset_version must be between 17 and 21, got "
                         f"{opset_version}")
    opset_version = int(opset_version)
    if isinstance(args, Tensor) or not isinstance(args, (tuple, list)):
        args = (args,)
    args = tuple(args)
    if args and isinstance(args[-1], dict):
        call_kwargs, args = args[-1], args[:-1]
    else:
        call_kwargs = {}
    for i, a in enumerate(args):
        if not isinstance(a, Tensor):
            raise TypeError(f"dg.onnx.export: args[{i}] must be a Tensor, got "
                            f"{type(a).__name__}")
    input_names = list(input_names or [])
    if len(input_names) > len(args):
        raise ValueError(f"dg.onnx.export: {len(input_names)} input_names for {len(args)} "
                         "inputs")
    input_names += [f"input_{i}" for i in range(len(input_names), len(args))]
    dynamic_axes = _normalise_axes(dynamic_axes or {})

    if training is not None and str(training).endswith("TRAINING"):
        raise ValueError("dg.onnx.export: exporting in training mode is not supported")
    dyn_inputs = {}
    for name, a in zip(input_names, args):
        axes = dynamic_axes.get(name, {})
        bad = [ax for ax in axes if not 0 <= ax < a.ndim]
        if bad:
            raise ValueError(f"dg.onnx.export: dynamic_axes[{name!r}] names axes {bad} of an "
                             f"input of shape {tuple(a.shape)}")
        dyn_inputs[name] = tuple(i in axes for i in range(a.ndim))
    # the probe trace: other input values, each dynamic axis one longer; what changes with
    # them tells which sizes follow the dynamic axes and which constants were not traced
    other = [_probe_input(a, dyn_inputs[n], k) for k, (n, a) in enumerate(zip(input_names, args))]
    first = _Recorder(model, [], opset=opset_version)
    _trace(first, model, other, call_kwargs, input_names, dyn_inputs)
    probe = first.events
    sources = [(n, ax, a.shape[ax], g.shape[ax]) for n, a, g in zip(input_names, args, other)
               for ax in range(a.ndim) if dyn_inputs[n][ax]]
    rec = _Recorder(model, sources, probe, opset=opset_version)
    out = _trace(rec, model, args, call_kwargs, input_names, dyn_inputs)

    outs = [t for t in _flat(out) if isinstance(t, Tensor)]
    if not outs:
        raise ExportError("dg.onnx.export: the model returned no tensors")
    output_names = list(output_names or [])
    if len(output_names) > len(outs):
        raise ValueError(f"dg.onnx.export: {len(output_names)} output_names for {len(outs)} "
                         "outputs")
    output_names += [f"output_{i}" for i in range(len(output_names), len(outs))]
    for t, name in zip(outs, output_names):
        rec.nodes.append(helper.make_node("Identity", [rec.value(t, "output")], [name],
                                          name=f"{name}_identity"))

    def info(name, t, dyn):
        """A named dynamic axis keeps its name; an output axis that the probe trace showed
        to follow the inputs' dynamic axes gets one too."""
        named = dynamic_axes.get(name, {})
        dims = [named.get(i, f"{name}_dim{i}" if dyn[i] else int(s))
                for i, s in enumerate(t.shape)]
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(t.dtype), dims)

    unknown = set(dynamic_axes) - set(input_names) - set(output_names)
    if unknown:
        raise ValueError(f"dg.onnx.export: dynamic_axes names {sorted(unknown)} are neither "
                         f"input_names {input_names} nor output_names {output_names}")
    nodes, initializers = _prune(rec.nodes, rec.initializers, output_names)
    graph = helper.make_graph(nodes, type(model).__name__,
                              [info(n, a, (False,) * a.ndim)
                               for n, a in zip(input_names, args)],
                              [info(n, t, rec.in_dyn(t)) for n, t in zip(output_names, outs)],
                              initializers)
    proto = helper.make_model(graph, producer_name="deltagrad",
                              opset_imports=[helper.make_opsetid("", int(opset_version))])
    proto.ir_version = min(proto.ir_version, 9)
    onnx.checker.check_model(proto)
    if isinstance(f, (str, os.PathLike)):
        onnx.save(proto, os.fspath(f))
    else:
        f.write(proto.SerializeToString())
    return proto


def _prune(nodes, initializers, outputs):
    """Only the nodes the outputs depend on (attention weights nobody returns, unused
    initial-state slices go), and only the initializers those nodes read."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    return kept[::-1], [i for i in initializers if i.name in needed]


def _probe_input(a, dyn, seed):
    """Other values for input ``a``, each dynamic axis one longer, in the same domain: random
    bits for binary data, uniform numbers for data in [0, 1], else normals of ``a``'s mean and
    spread; random integers in ``a``'s range (at least {0, 1}); random bools."""
    rng = np.random.default_rng(1234 + seed)
    arr = backend.to_numpy(a.detach()._data)
    shape = tuple(n + 1 if d else n for n, d in zip(arr.shape, dyn))
    if arr.dtype == np.bool_:
        new = rng.random(shape) < 0.5
    elif arr.dtype.kind in "iu":
        lo = int(arr.min()) if arr.size else 0
        hi = max(int(arr.max()) if arr.size else 1, lo + 1)
        new = rng.integers(lo, hi + 1, shape).astype(arr.dtype)
    elif arr.size and np.isin(arr, (0, 1)).all():          # binary data stays binary
        new = (rng.random(shape) < 0.5).astype(arr.dtype)
    elif arr.size and arr.min() >= 0 and arr.max() <= 1:   # so do probabilities / pixels
        new = rng.random(shape).astype(arr.dtype)
    else:
        scale = float(arr.std()) if arr.size > 1 and arr.std() > 0 else 1.0
        new = (rng.standard_normal(shape) * scale + (arr.mean() if arr.size else 0.0))
        new = new.astype(arr.dtype)
    from ..tensor import from_numpy
    return from_numpy(np.asarray(new, order="C"))


def _trace(rec, model, args, call_kwargs, input_names, dyn_inputs):
    """Run ``model(*args)`` once in eval mode with ``rec`` recording; restores everything."""
    from ..nn.module import Module
    global _ORIGINAL_CALL
    traced_args = []
    for name, a in zip(input_names, args):
        t = a.detach()
        if t.dtype.kind == "f":
            t = t.clone().requires_grad_(True)   # every value made from it then has a grad_fn
        rec.bind(t, name, dyn_inputs[name])
        traced_args.append(t)
    was_training = model.training
    model.eval()
    _ORIGINAL_CALL = Module.__call__
    Function.apply = classmethod(_traced_apply)
    Module.__call__ = _traced_call
    if _ORIGINAL_ASSIGN is not None:
        Tensor._assign = _traced_assign
    guards = {m: _guard(m) for m in _GUARDED if hasattr(Tensor, m)}
    for m, (_, guarded) in guards.items():
        setattr(Tensor, m, guarded)
    _active.append(rec)
    try:
        with grad_mode.enable_grad():
            return model(*traced_args, **call_kwargs)
    finally:
        _active.pop()
        Function.apply = _ORIGINAL_APPLY
        Module.__call__ = _ORIGINAL_CALL
        if _ORIGINAL_ASSIGN is not None:
            Tensor._assign = _ORIGINAL_ASSIGN
        for m, (original, _) in guards.items():
            setattr(Tensor, m, original)
        model.train(was_training)


def _normalise_axes(dynamic_axes):
    out = {}
    for name, axes in dynamic_axes.items():
        if isinstance(axes, dict):
            out[name] = {int(k): str(v) for k, v in axes.items()}
        elif isinstance(axes, (list, tuple)):
            out[name] = {int(k): f"{name}_dynamic_axes_{int(k) + 1}" for k in axes}
        else:
            raise TypeError(f"dg.onnx.export: dynamic_axes[{name!r}] must be a dict or a list, "
                            f"got {type(axes).__name__}")
    return out


# ============================================================================ Functions
def _dtype_of(t):
    return np.asarray(t._data).dtype if isinstance(t, Tensor) else np.dtype("float32")


def _binary(op):
    def emit(rec, ins, params, out):
        return rec.node(op, [rec.value(ins[0]), rec.value(ins[1])])
    return emit


def _unary(op, **attrs):
    def emit(rec, ins, params, out):
        return rec.node(op, [rec.value(ins[0])], **attrs)
    return emit


def _gelu(rec, x, dtype):
    """GELU(x) = x · ½ (1 + erf(x / √2)) (ONNX has no Gelu before opset 20)."""
    e = rec.node("Erf", [rec.node("Mul", [x, rec.scalar(1 / math.sqrt(2), dtype)])])
    h = rec.node("Mul", [rec.node("Add", [e, rec.scalar(1.0, dtype)]), rec.scalar(0.5, dtype)])
    return rec.node("Mul", [x, h])


def _gelu_tanh(rec, x, dtype):
    """½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))."""
    x3 = rec.node("Mul", [rec.node("Mul", [x, x]), x])
    inner = rec.node("Add", [x, rec.node("Mul", [x3, rec.scalar(0.044715, dtype)])])
    t = rec.node("Tanh", [rec.node("Mul", [inner, rec.scalar(math.sqrt(2 / math.pi), dtype)])])
    h = rec.node("Mul", [rec.node("Add", [t, rec.scalar(1.0, dtype)]), rec.scalar(0.5, dtype)])
    return rec.node("Mul", [x, h])


def _f_gelu(rec, ins, params, out):
    return _gelu(rec, rec.value(ins[0]), _dtype_of(ins[0]))


def _f_gelu_tanh(rec, ins, params, out):
    return _gelu_tanh(rec, rec.value(ins[0]), _dtype_of(ins[0]))


def _f_silu(rec, ins, params, out):
    x, dt = rec.value(ins[0]), _dtype_of(ins[0])
    beta = float(params.get("beta", 1.0))
    bx = x if beta == 1.0 else rec.node("Mul", [x, rec.scalar(beta, dt)])
    return rec.node("Mul", [x, rec.node("Sigmoid", [bx])])


def _f_elu(rec, ins, params, out):
    x = rec.value(ins[0])
    alpha, scale, input_scale = (float(params[k]) for k in ("alpha", "scale", "input_scale"))
    if input_scale != 1.0:
        x = rec.node("Mul", [x, rec.scalar(input_scale, _dtype_of(ins[0]))])
    y = rec.node("Elu", [x], alpha=alpha)
    return y if scale == 1.0 else rec.node("Mul", [y, rec.scalar(scale, _dtype_of(ins[0]))])


def _f_leaky(rec, ins, params, out):
    return rec.node("LeakyRelu", [rec.value(ins[0])], alpha=float(params["negative_slope"]))


def _f_softplus(rec, ins, params, out):
    beta, dt = float(params["beta"]), _dtype_of(ins[0])
    x = rec.value(ins[0])
    if beta == 1.0:
        return rec.node("Softplus", [x])
    sp = rec.node("Softplus", [rec.node("Mul", [x, rec.scalar(beta, dt)])])
    return rec.node("Div", [sp, rec.scalar(beta, dt)])


def _f_softmax(op):
    def emit(rec, ins, params, out):
        return rec.node(op, [rec.value(ins[0])], axis=int(params["dim"]))
    return emit


def _f_pow(rec, ins, params, out):
    p = params["p"]
    return rec.node("Pow", [rec.value(ins[0]), rec.scalar(p, _dtype_of(ins[0]))])


def _f_clamp(rec, ins, params, out):
    dt = _dtype_of(ins[0])
    lo, hi = params["lo"], params["hi"]
    return rec.node("Clip", [rec.value(ins[0]), "" if lo is None else rec.scalar(lo, dt),
                             "" if hi is None else rec.scalar(hi, dt)])


def _f_cast(rec, ins, params, out):
    to = rec.helper.np_dtype_to_tensor_dtype(np.dtype(params["dtype"]))
    return rec.node("Cast", [rec.value(ins[0])], to=to)


def _f_linear(rec, ins, params, out):
    x = rec.value(ins[0])
    w = ins[1]
    wt = rec.const(np.asarray(backend.to_numpy(w._data).T, order="C"), _hint(rec, w) + "_T") \
        if not rec.is_graph(w) else rec.node("Transpose", [rec.value(w)], perm=[1, 0])
    y = rec.node("MatMul", [x, wt])
    if len(ins) > 2 and ins[2] is not None:
        y = rec.node("Add", [y, rec.value(ins[2])])
    return y


def _hint(rec, t):
    return rec.param_names.get(id(t)) or rec.param_names.get(id(t._data)) or "weight"


def _f_reshape(rec, ins, params, out):
    x = ins[0]
    shape = [int(n) for n in params["shape"]]
    return rec.node("Reshape", [rec.value(x), rec.ints(_reshape_spec(
        shape, rec.out_dyn(0), x.shape, rec.in_dyn(x)))])


def _reshape_spec(shape, dyn, in_shape, in_dyn):
    """ONNX Reshape's shape: static dims as numbers, one dynamic dim as −1, a dynamic dim kept
    in place from the input as 0."""
    spec = list(shape)
    rest = []
    for i in (i for i, d in enumerate(dyn) if d):
        if i < len(in_shape) and in_dyn[i] and in_shape[i] == shape[i]:
            spec[i] = 0
        else:
            rest.append(i)
    if len(rest) == 1:
        spec[rest[0]] = -1
    elif rest:
        raise ExportError(f"dg.onnx.export: a reshape to {tuple(shape)} merges several dynamic "
                          "axes; it cannot be expressed")
    return spec


def _f_permute(rec, ins, params, out):
    return rec.node("Transpose", [rec.value(ins[0])], perm=[int(a) for a in params["axes"]])


def _f_broadcast(rec, ins, params, out):
    x = ins[0]
    shape = [int(n) for n in params["shape"]]
    lead = len(shape) - x.ndim
    dyn, probed = rec.out_dyn(0), rec.current_probe[0]
    parts = []
    for i, n in enumerate(shape):
        if i >= lead and x.shape[i - lead] == n:
            parts.append(1)                      # Expand keeps x's own size there
        elif dyn[i]:
            parts.append(rec.runtime_dim(n, probed[i]))
        else:
            parts.append(n)
    if all(isinstance(p, int) for p in parts):
        shape_name = rec.ints(parts)
    else:
        shape_name = rec.node("Concat", [p if isinstance(p, str) else rec.ints([p])
                                         for p in parts], axis=0)
    return rec.node("Expand", [rec.value(x), shape_name])


def _f_cat(rec, ins, params, out):
    return rec.node("Concat", [rec.value(t) for t in ins], axis=int(params["dim"]))


def _f_split(rec, ins, params, out):
    sizes = [int(s) for s in params["sizes"]]
    if rec.in_dyn(ins[0])[int(params["dim"])]:
        raise ExportError("dg.onnx.export: splitting along a dynamic axis cannot be expressed")
    return rec.node("Split", [rec.value(ins[0]), rec.ints(sizes, "split")], n_out=len(sizes),
                    axis=int(params["dim"])) if len(sizes) > 1 else \
        [rec.node("Identity", [rec.value(ins[0])])]


def _f_getitem(rec, ins, params, out):
    if params["advanced"]:
        raise ExportError("dg.onnx.export: indexing with tensors or lists (advanced indexing, "
                          "GetItem) has no ONNX mapping in deltagrad's exporter")
    x = ins[0]
    index = params["index"] if isinstance(params["index"], tuple) else (params["index"],)
    n_real = sum(1 for it in index if it is not None and it is not Ellipsis)
    expanded = []
    for it in index:
        if it is Ellipsis:
            expanded += [slice(None)] * (x.ndim - n_real)
        else:
            expanded.append(it)
    expanded += [slice(None)] * (x.ndim - sum(1 for it in expanded if it is not None))
    name = rec.value(x)
    starts, ends, axes, steps, gathers, unsq = [], [], [], [], [], []
    axis = 0   # axis in x
    out_axis = 0
    for it in expanded:
        if it is None:
            unsq.append(out_axis)
            out_axis += 1
            continue
        if isinstance(it, slice):
            if it != slice(None):
                step = 1 if it.step is None else int(it.step)
                if step <= 0:
                    raise ExportError("dg.onnx.export: negative slice steps have no mapping")
                starts.append(0 if it.start is None else int(it.start))
                ends.append(_INT_MAX if it.stop is None else int(it.stop))
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:
            gathers.append(axis)
            starts.append(int(it))
            ends.append(int(it) + 1 if int(it) != -1 else _INT_MAX)
            axes.append(axis)
            steps.append(1)
        axis += 1
    if axes:
        name = rec.node("Slice", [name, rec.ints(starts), rec.ints(ends), rec.ints(axes),
                                  rec.ints(steps)])
    if gathers:
        name = rec.node("Squeeze", [name, rec.ints(gathers)])
    if unsq:
        name = rec.node("Unsqueeze", [name, rec.ints(unsq)])
    return name if (axes or gathers or unsq) else rec.node("Identity", [name])


def _f_sum(rec, ins, params, out):
    """Sum over ``dims`` as ReduceSum (axes an input since opset 13)."""
    dims = [int(d) for d in params["dims"]]
    keep = int(bool(params["keepdim"]))
    if not dims:
        return rec.node("Identity", [rec.value(ins[0])])
    return rec.node("ReduceSum", [rec.value(ins[0]), rec.ints(dims)], keepdims=keep)


def _f_mean(rec, ins, params, out):
    """Mean over ``dims`` as ReduceMean (axes an attribute before opset 18)."""
    dims = [int(d) for d in params["dims"]]
    if not dims:
        return rec.node("Identity", [rec.value(ins[0])])
    return rec.reduce("ReduceMean", rec.value(ins[0]), dims, int(bool(params["keepdim"])))


def _f_amax(rec, ins, params, out):
    op = "ReduceMax" if params["sign"] > 0 else "ReduceMin"
    dims = [int(d) for d in params["dims"]]
    return rec.reduce(op, rec.value(ins[0]), dims, int(bool(params["keepdim"])))


def _f_cumsum(rec, ins, params, out):
    return rec.node("CumSum", [rec.value(ins[0]), rec.const(np.asarray(int(params["dim"]),
                                                                     np.int64), "axis")])


def _f_reduce(op):
    def emit(rec, ins, params, out):
        dims = [int(d) for d in params["dims"]]
        return rec.reduce(op, rec.value(ins[0]), dims, int(bool(params["keepdim"])))
    return emit


def _f_triangle(rec, ins, params, out):
    k = rec.const(np.asarray(int(params["k"]), np.int64), "k")
    return rec.node("Trilu", [rec.value(ins[0]), k], upper=int(bool(params["upper"])))


def _f_flip(rec, ins, params, out):
    dims = params["dims"]
    dims = [int(d) for d in (dims if isinstance(dims, (tuple, list)) else (dims,))]
    n = len(dims)
    return rec.node("Slice", [rec.value(ins[0]), rec.ints([-1] * n), rec.ints([-_INT_MAX] * n),
                              rec.ints(dims), rec.ints([-1] * n)])


def _f_pad(rec, ins, params, out):
    widths = [(int(lo), int(hi)) for lo, hi in params["widths"]]
    x = ins[0]
    pads = rec.ints([lo for lo, _ in widths] + [hi for _, hi in widths], "pads")
    value = rec.scalar(params["value"], _dtype_of(x), "pad_value")
    return rec.node("Pad", [rec.value(x), pads, value], mode="constant")


def _f_repeat(rec, ins, params, out):
    x = ins[0]
    reps = [int(r) for r in params["reps"]]
    name = rec.value(x)
    if len(reps) > x.ndim:       # NumPy's tile: leading dims of size 1 first
        name = rec.node("Unsqueeze", [name, rec.ints(list(range(len(reps) - x.ndim)))])
    elif len(reps) < x.ndim:
        reps = [1] * (x.ndim - len(reps)) + reps
    return rec.node("Tile", [name, rec.ints(reps, "repeats")])


def _f_where(rec, ins, params, out):
    return rec.node("Where", [rec.value(t) for t in ins])


def _f_maximum(rec, ins, params, out):
    return rec.node("Max", [rec.value(ins[0]), rec.value(ins[1])])


def _attend(rec, q, k, v, mask, scale, causal, dtype, sizes, ndim):
    """O = softmax(Q Kᵀ · scale + M) V on (…, L, d) values; returns (O, weights)."""
    perm = list(range(ndim))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    s = rec.node("MatMul", [q, rec.node("Transpose", [k], perm=perm)])
    s = rec.node("Mul", [s, rec.scalar(scale, dtype)])
    if causal:
        L, S = sizes
        s = rec.node("Add", [s, rec.const(np.triu(np.full((L, S), -np.inf, dtype), 1),
                                          "causal_mask")])
    if mask is not None:
        s = rec.node("Add", [s, mask])
    w = rec.node("Softmax", [s], axis=-1)
    return rec.node("MatMul", [w, v]), w


def _mask_const(rec, mask, N, dtype, what):
    if mask is None:
        return None
    m = np.asarray(backend.to_numpy(mask))
    if m.ndim == 4 and m.shape[0] not in (1,) and rec.sources:
        raise ExportError(f"dg.onnx.export: {what}: a per-sample attention mask "
                          "(key_padding_mask) cannot be exported with a dynamic batch size")
    if m.dtype == np.bool_:
        m = np.where(m, np.asarray(0, dtype), np.asarray(-np.inf, dtype))
    return rec.const(m.astype(dtype, copy=False), "attn_mask")


def _f_packed_attention(rec, ins, params, out):
    if params.get("keep") is not None:
        raise ExportError("dg.onnx.export: attention dropout is active; call model.eval()")
    qkv = ins[0]
    N, L, E3 = qkv.shape
    H = int(params["num_heads"])
    d = E3 // 3 // H
    dt = _dtype_of(qkv)
    x = rec.node("Reshape", [rec.value(qkv), rec.ints([0, 0, 3, H, d])])
    x = rec.node("Transpose", [x], perm=[2, 0, 3, 1, 4])          # (3, N, H, L, d)
    q, k, v = rec.node("Split", [x, rec.ints([1, 1, 1], "split")], n_out=3, axis=0)
    q, k, v = (rec.node("Squeeze", [t, rec.ints([0], "zero")]) for t in (q, k, v))
    mask = _mask_const(rec, params["mask"], N, dt, "PackedSelfAttention")
    o, w = _attend(rec, q, k, v, mask, float(params["scale"]), bool(params["causal"]), dt,
                   (L, L), 4)
    o = rec.node("Reshape", [rec.node("Transpose", [o], perm=[0, 2, 1, 3]),
                             rec.ints([0, 0, E3 // 3])])
    return (o, w) if params["return_weights"] else o


def _f_sdpa(rec, ins, params, out):
    if params.get("keep") is not None:
        raise ExportError("dg.onnx.export: attention dropout is active; call model.eval()")
    q, k, v = ins[:3]
    dt = _dtype_of(q)
    mask = None
    if len(ins) > 3:
        mask = rec.value(ins[3])
    else:
        mask = _mask_const(rec, params["mask"], q.shape[0], dt, "ScaledDotProductAttention")
    o, w = _attend(rec, rec.value(q), rec.value(k), rec.value(v), mask, float(params["scale"]),
                   bool(params["causal"]), dt, (q.shape[-2], k.shape[-2]), q.ndim)
    return (o, w) if params["return_weights"] else o


def _geo_attrs(geo):
    return dict(kernel_shape=list(geo.kernel), strides=list(geo.stride),
                pads=[lo for lo, _ in geo.pads] + [hi for _, hi in geo.pads])


def _f_conv(rec, ins, params, out):
    """F.conv1d/2d/3d: the Function's window geometry as Conv's attributes."""
    geo = params["geo"]
    return rec.node("Conv", [rec.value(t) for t in ins if t is not None],
                    dilations=list(geo.dilation), group=int(geo.groups), **_geo_attrs(geo))


def _f_max_pool(rec, ins, params, out):
    geo = params["geo"]
    return rec.node("MaxPool", [rec.value(ins[0])], dilations=list(geo.dilation),
                    **_geo_attrs(geo))


def _f_window_sum(rec, ins, params, out):
    """Σ over each zero-padded window = AveragePool(count_include_pad) · |window|."""
    geo = params["geo"]
    if any(d != 1 for d in geo.dilation):
        raise ExportError("dg.onnx.export: dilated sum pooling has no ONNX mapping")
    avg = rec.node("AveragePool", [rec.value(ins[0])], count_include_pad=1, **_geo_attrs(geo))
    return rec.node("Mul", [avg, rec.scalar(float(np.prod(geo.kernel)), _dtype_of(ins[0]))])


def _f_normalize(rec, ins, params, out):
    """y = γ ⊙ (x − μ)/√(σ² + ε) + β: μ, σ² over ``axes`` (ReduceMean), or the given
    (running) statistics as constants."""
    x, dt = ins[0], _dtype_of(ins[0])
    affine = ins[1:]
    w = affine[0] if params["has_weight"] else None
    b = affine[-1] if len(affine) > int(bool(params["has_weight"])) else None
    xv = rec.value(x)
    stats = params.get("stats")
    if stats is None:
        axes = [int(a) for a in params["axes"]]
        d = rec.node("Sub", [xv, rec.reduce("ReduceMean", xv, axes)])
        var = rec.reduce("ReduceMean", rec.node("Mul", [d, d]), axes)
        y = rec.node("Div", [d, rec.node("Sqrt", [rec.node(
            "Add", [var, rec.scalar(float(params["eps"]), dt)])])])
    else:
        mean = np.asarray(backend.to_numpy(stats[0])).astype(dt)
        var = np.asarray(backend.to_numpy(stats[1])).astype(dt)
        rstd = (1.0 / np.sqrt(var + dt.type(params["eps"]))).astype(dt)
        y = rec.node("Mul", [rec.node("Sub", [xv, rec.const(mean, "mean")]),
                             rec.const(rstd, "rstd")])
    if w is not None:
        y = rec.node("Mul", [y, rec.value(w)])
    if b is not None:
        y = rec.node("Add", [y, rec.value(b)])
    return y


def _f_identity(rec, ins, params, out):
    return rec.node("Identity", [rec.value(ins[0])])


def _f_dropout(rec, ins, params, out):
    raise ExportError("dg.onnx.export: dropout is active (MaskedScale); call model.eval()")


_FUNCTIONS = {
    "Add": _binary("Add"), "Sub": _binary("Sub"), "Mul": _binary("Mul"), "Div": _binary("Div"),
    "Pow": _binary("Pow"), "MatMul": _binary("MatMul"), "Maximum": _f_maximum,
    "Neg": _unary("Neg"), "Relu": _unary("Relu"), "Exp": _unary("Exp"), "Log": _unary("Log"),
    "Sqrt": _unary("Sqrt"), "Sin": _unary("Sin"), "Cos": _unary("Cos"), "Tanh": _unary("Tanh"),
    "Sigmoid": _unary("Sigmoid"), "Erf": _unary("Erf"), "Abs": _unary("Abs"),
    "Reciprocal": _unary("Reciprocal"), "Arctan": _unary("Atan"), "Softsign": _unary("Softsign"),
    "GELU": _f_gelu, "GELUTanh": _f_gelu_tanh, "SiLU": _f_silu, "ELU": _f_elu,
    "LeakyReLU": _f_leaky, "Softplus": _f_softplus, "Hardsigmoid": _unary(
        "HardSigmoid", alpha=1 / 6, beta=0.5), "Hardswish": _unary("HardSwish"),
    "Softmax": _f_softmax("Softmax"), "LogSoftmax": _f_softmax("LogSoftmax"),
    "PowScalar": _f_pow, "Clamp": _f_clamp, "Cast": _f_cast, "Where": _f_where,
    "Linear": _f_linear, "Reshape": _f_reshape, "Permute": _f_permute,
    "BroadcastTo": _f_broadcast, "Cat": _f_cat, "Split": _f_split, "GetItem": _f_getitem,
    "Sum": _f_sum, "Mean": _f_mean, "Amax": _f_amax, "Cumsum": _f_cumsum, "Contiguous": _f_identity,
    "Clone": _f_identity, "ToDevice": _f_identity, "PackedSelfAttention": _f_packed_attention,
    "ScaledDotProductAttention": _f_sdpa, "MaskedScale": _f_dropout, "Conv": _f_conv,
    "MaxPool": _f_max_pool, "WindowSum": _f_window_sum, "Normalize": _f_normalize,
}


# ============================================================================ layers
def _m_conv(rec, m, args, kwargs, out):
    if m.padding_mode != "zeros":
        raise ExportError(f"dg.onnx.export: {type(m).__name__} with padding_mode="
                          f"{m.padding_mode!r} has no ONNX mapping")
    x = args[0]
    if x.ndim != m.nd + 2:
        raise ExportError(f"dg.onnx.export: {type(m).__name__} on unbatched input")
    k = list(m.kernel_size)
    if m.padding == "valid":
        pads = [0] * (2 * m.nd)
    elif m.padding == "same":
        total = [d * (kk - 1) for d, kk in zip(m.dilation, k)]
        pads = [t // 2 for t in total] + [t - t // 2 for t in total]
    else:
        pads = list(m.padding) * 2
    inputs = [rec.value(x), rec.value(m.weight)] + ([rec.value(m.bias)] if m.bias is not None
                                                   else [])
    attrs = dict(kernel_shape=k, strides=list(m.stride), dilations=list(m.dilation),
                 group=int(m.groups))
    if m.transposed:
        return rec.node("ConvTranspose", inputs, pads=pads,
                        output_padding=list(m.output_padding), **attrs)
    return rec.node("Conv", inputs, pads=pads, **attrs)


def _m_batchnorm(rec, m, args, kwargs, out):
    x = args[0]
    if m.running_mean is None:
        raise ExportError(f"dg.onnx.export: {type(m).__name__}(track_running_stats=False) uses "
                          "batch statistics at inference, which has no ONNX mapping")
    C = m.num_features
    dt = _dtype_of(x)
    scale = m.weight if m.weight is not None else None
    inputs = [rec.value(x),
              rec.value(scale) if scale is not None else rec.const(np.ones(C, dt), "bn_scale"),
              rec.value(m.bias) if m.bias is not None else rec.const(np.zeros(C, dt), "bn_bias"),
              rec.value(m.running_mean), rec.value(m.running_var)]
    if x.ndim == 2:   # BatchNormalization wants (N, C, ...): add a spatial axis
        y = rec.node("Unsqueeze", [inputs[0], rec.ints([2])])
        y = rec.node("BatchNormalization", [y] + inputs[1:], epsilon=float(m.eps))
        return rec.node("Squeeze", [y, rec.ints([2])])
    return rec.node("BatchNormalization", inputs, epsilon=float(m.eps))


def _m_layernorm(rec, m, args, kwargs, out):
    x = args[0]
    k = len(m.normalized_shape)
    dt = _dtype_of(x)
    w = rec.value(m.weight) if m.weight is not None else \
        rec.const(np.ones(m.normalized_shape, dt), "ln_scale")
    inputs = [rec.value(x), w] + ([rec.value(m.bias)] if m.bias is not None else [])
    return rec.node("LayerNormalization", inputs, axis=-k, epsilon=float(m.eps))


def _m_embedding(rec, m, args, kwargs, out):
    if m.max_norm is not None:
        raise ExportError("dg.onnx.export: Embedding(max_norm=...) renormalises its weights "
                          "during the forward, which has no ONNX mapping")
    return rec.node("Gather", [rec.value(m.weight), rec.value(args[0])], axis=0)


def _pool_attrs(m, nd):
    def tup(v):
        return list(v) if isinstance(v, (tuple, list)) else [int(v)] * nd
    k, s, p = tup(m.kernel_size), tup(m.stride), tup(m.padding)
    return dict(kernel_shape=k, strides=s, pads=p * 2, ceil_mode=int(bool(m.ceil_mode)))


def _m_maxpool(rec, m, args, kwargs, out):
    if m.return_indices:
        raise ExportError("dg.onnx.export: MaxPool with return_indices=True is not supported")
    nd = args[0].ndim - 2
    dil = m.dilation if isinstance(m.dilation, (tuple, list)) else [int(m.dilation)] * nd
    return rec.node("MaxPool", [rec.value(args[0])], dilations=list(dil), **_pool_attrs(m, nd))


def _m_avgpool(rec, m, args, kwargs, out):
    if m.divisor_override is not None:
        raise ExportError("dg.onnx.export: AvgPool with divisor_override is not supported")
    nd = args[0].ndim - 2
    return rec.node("AveragePool", [rec.value(args[0])],
                    count_include_pad=int(bool(m.count_include_pad)), **_pool_attrs(m, nd))


def _adaptive(reduce, global_op, window_op):
    """Adaptive pooling: output cell i of a length-n axis pooled to s covers
    [⌊i·n/s⌋, ⌈(i+1)·n/s⌉) (PyTorch's rule). One global node when s = 1, one windowed node
    when s divides n, else per axis a Slice and a reduction per cell, concatenated (the
    regions are products of intervals, so the axes pool one after the other)."""
    def emit(rec, m, args, kwargs, out):
        x = args[0]
        if getattr(m, "return_indices", False):
            raise ExportError(f"dg.onnx.export: {type(m).__name__}(return_indices=True) is "
                              "not supported")
        nd = x.ndim - 2
        size = m.output_size if isinstance(m.output_size, (tuple, list)) else \
            [m.output_size] * nd
        size = [x.shape[2 + i] if s is None else int(s) for i, s in enumerate(size)]
        ins = x.shape[2:]
        if all(s == 1 for s in size):
            return rec.node(global_op, [rec.value(x)])
        if not any(i % s for i, s in zip(ins, size)):
            k = [i // s for i, s in zip(ins, size)]
            return rec.node(window_op, [rec.value(x)], kernel_shape=k, strides=k)
        y = rec.value(x)
        for d, (n, s) in enumerate(zip(ins, size)):
            axis = 2 + d
            cells = []
            for i in range(s):
                lo, hi = (i * n) // s, -(-((i + 1) * n) // s)
                part = rec.node("Slice", [y, rec.ints([lo]), rec.ints([hi]), rec.ints([axis])])
                cells.append(rec.reduce(reduce, part, [axis]))
            y = rec.node("Concat", cells, axis=axis)
        return y
    return emit


_m_adaptive_avg = _adaptive("ReduceMean", "GlobalAveragePool", "AveragePool")
_m_adaptive_max = _adaptive("ReduceMax", "GlobalMaxPool", "MaxPool")


def _m_identity(rec, m, args, kwargs, out):
    return rec.node("Identity", [rec.value(args[0])])


def _m_flatten(rec, m, args, kwargs, out):
    x = args[0]
    shape = [int(n) for n in out.shape]
    return rec.node("Reshape", [rec.value(x), rec.ints(_reshape_spec(
        shape, rec.out_dyn(0), x.shape, rec.in_dyn(x)))])


_GATE_ORDER = {"LSTM": ([0, 3, 1, 2], 4), "GRU": ([1, 0, 2], 3)}   # torch → ONNX gates


def _recurrent_node(rec, mode, seq, directions, h0, c0, hidden):
    """One ONNX LSTM/GRU/RNN node over ``seq`` (T, B, I) for one layer: ``directions`` holds
    (w_ih, w_hh, b_ih or None, b_hh or None) arrays per direction (a second one reversed),
    in PyTorch's gate order [i f g o] / [r z n], reordered to ONNX's [i o f c] / [z r h].
    Returns Y (T, D, B, H), Y_h (D, B, H) and, for the LSTM, Y_c."""
    op = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    W, R, B = [], [], []
    for wih, whh, bih, bhh in directions:
        if bih is None:
            bih = bhh = np.zeros(wih.shape[0], wih.dtype)
        if op in _GATE_ORDER:
            order, G = _GATE_ORDER[op]
            wih, whh, bih, bhh = (_reorder(a, order, G) for a in (wih, whh, bih, bhh))
        W.append(wih)
        R.append(whh)
        B.append(np.concatenate([bih, bhh]))
    inputs = [seq, rec.const(np.stack(W), "W"), rec.const(np.stack(R), "R"),
              rec.const(np.stack(B), "B"), "", h0 or "", c0 or ""]
    while inputs[-1] == "":
        inputs.pop()
    attrs = dict(hidden_size=int(hidden),
                 direction="bidirectional" if len(directions) == 2 else "forward")
    if op == "GRU":
        attrs["linear_before_reset"] = 1    # PyTorch: n = tanh(W_in x + r ⊙ (W_hn h + b_hn))
    if op == "RNN":
        attrs["activations"] = ["Relu" if mode == "RNN_RELU" else "Tanh"] * len(directions)
    return rec.node(op, inputs, n_out=3 if op == "LSTM" else 2, **attrs)


def _f_recurrent(rec, ins, params, out):
    """One recurrent layer, one direction (``recurrent_sequence``: nn.RNNCell and friends,
    the notes' Elman network): x (T, B, I), h0 (B, H)[, c0] → (T, B, H), h_T[, c_T]."""
    mode = params["mode"]
    if params["masked"]:
        raise ExportError("dg.onnx.export: a recurrent layer with lengths (a padding mask) "
                          "is not supported")
    x, states = ins[0], ins[1:3] if mode == "LSTM" else ins[1:2]
    weights = ins[len(states) + 1:]
    if any(rec.is_graph(w) for w in weights):
        raise ExportError("dg.onnx.export: recurrent weights computed from the inputs are not "
                          "supported")
    arrays = [backend.to_numpy(w._data) for w in weights]
    w_ih, w_hh = arrays[:2]
    b_ih, b_hh = arrays[2:4] if params["has_bias"] else (None, None)
    zero = rec.ints([0], "zero")

    def state(t):     # a constant zero state is ONNX's default: left out (any batch size)
        if not rec.is_graph(t) and not backend.to_numpy(t._data).any():
            return None
        return rec.node("Unsqueeze", [rec.value(t), zero])
    h0, c0 = (state(states[0]), state(states[1]) if mode == "LSTM" else None)
    seq = rec.value(x)
    if params["reverse"]:       # ONNX's "reverse" direction is the sequence read backwards
        seq = _reverse_time(rec, seq, x.shape[0], rec.in_dyn(x)[0])
    res = _recurrent_node(rec, mode, seq, [(w_ih, w_hh, b_ih, b_hh)], h0, c0, w_hh.shape[1])
    y = rec.node("Squeeze", [res[0], rec.ints([1])])
    if params["reverse"]:
        y = _reverse_time(rec, y, x.shape[0], rec.in_dyn(x)[0])
    return [y] + [rec.node("Squeeze", [r, zero]) for r in res[1:]]


_FUNCTIONS["RecurrentSequence"] = _f_recurrent
_FUNCTIONS.update({"LogSumExp": _f_reduce("ReduceLogSumExp"), "Norm2": _f_reduce("ReduceL2"),
                   "Triangle": _f_triangle, "Flip": _f_flip, "Pad": _f_pad,
                   "Repeat": _f_repeat})


def _reverse_time(rec, name, T, dynamic):
    if dynamic:
        raise ExportError("dg.onnx.export: a reversed recurrent layer over a dynamic time "
                          "axis is not supported")
    return rec.node("Slice", [name, rec.ints([T - 1]), rec.ints([-T - 1]), rec.ints([0]),
                              rec.ints([-1])])


def _m_rnn(rec, m, args, kwargs, out):
    x = args[0]
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    if len(args) > 2 or kwargs.get("lengths") is not None:
        raise ExportError(f"dg.onnx.export: {type(m).__name__} with lengths (packed "
                          "sequences) is not supported")
    batched = x.ndim == 3
    is_lstm = m.mode == "LSTM"
    H, L = m.hidden_size, m.num_layers
    D = 2 if m.bidirectional else 1
    seq = rec.value(x)
    if not batched:       # (T, I) as a batch of one: (T, 1, I), states (L·D, 1, H)
        seq = rec.node("Unsqueeze", [seq, rec.ints([1])])
    elif m.batch_first:
        seq = rec.node("Transpose", [seq], perm=[1, 0, 2])
    h0 = c0 = None
    if hx is not None:
        h0, c0 = (hx if is_lstm else (hx, None))
        h0 = rec.value(h0)
        c0 = rec.value(c0) if c0 is not None else None
        if not batched:
            h0 = rec.node("Unsqueeze", [h0, rec.ints([1])])
            c0 = c0 if c0 is None else rec.node("Unsqueeze", [c0, rec.ints([1])])
    hs, cs = [], []
    for layer in range(L):
        directions = []
        for d in range(D):
            w = [backend.to_numpy(t._data) for t in m._layer_weights(layer, d)]
            directions.append(tuple(w) if m.bias else (w[0], w[1], None, None))
        sl = [rec.ints([layer * D]), rec.ints([(layer + 1) * D]), rec.ints([0])]
        res = _recurrent_node(
            rec, m.mode, seq, directions,
            None if h0 is None else rec.node("Slice", [h0] + sl),
            None if c0 is None else rec.node("Slice", [c0] + sl), H)
        hs.append(res[1])
        if is_lstm:
            cs.append(res[2])
        # Y (T, D, B, H) → (T, B, D·H)
        seq = rec.node("Reshape", [rec.node("Transpose", [res[0]], perm=[0, 2, 1, 3]),
                                   rec.ints([0, 0, D * H])])
    h_n = hs[0] if L == 1 else rec.node("Concat", hs, axis=0)
    c_n = (cs[0] if L == 1 else rec.node("Concat", cs, axis=0)) if is_lstm else None
    if not batched:
        one = rec.ints([1])
        output, h_n = rec.node("Squeeze", [seq, one]), rec.node("Squeeze", [h_n, one])
        c_n = c_n if c_n is None else rec.node("Squeeze", [c_n, one])
    elif m.batch_first:
        output = rec.node("Transpose", [seq], perm=[1, 0, 2])
    else:
        output = rec.node("Identity", [seq])
    return (output, (h_n, c_n)) if is_lstm else (output, h_n)


def _reorder(a, order, G):
    blocks = np.split(a, G, axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


def _module_table():
    from .. import nn
    table = {}

    def add(names, fn):
        for n in names:
            cls = getattr(nn, n, None)
            if cls is not None:
                table[cls] = fn

    add(["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
         "ConvTranspose3d"], _m_conv)
    add(["BatchNorm1d", "BatchNorm2d", "BatchNorm3d"], _m_batchnorm)
    add(["LayerNorm"], _m_layernorm)
    add(["Embedding"], _m_embedding)
    add(["MaxPool1d", "MaxPool2d", "MaxPool3d"], _m_maxpool)
    add(["AvgPool1d", "AvgPool2d", "AvgPool3d"], _m_avgpool)
    add(["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"], _m_adaptive_avg)
    add(["AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"], _m_adaptive_max)
    add(["Identity", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout"],
        _m_identity)
    add(["Flatten"], _m_flatten)
    add(["RNN", "LSTM", "GRU"], _m_rnn)
    return table


_MODULES = None


def _mapper_for(module):
    global _MODULES
    if _MODULES is None:
        _MODULES = _module_table()
    return _MODULES.get(type(module))

