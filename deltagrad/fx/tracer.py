"""Symbolic tracing: run a module's ``forward`` (or a function) on Proxies, record a Graph.

``Tracer.trace(root)`` makes one ``placeholder`` per argument, calls ``forward`` with their
Proxies and ends the graph with an ``output`` node for what it returned. While it runs:

- calling a submodule goes through ``call_module``: leaf modules (deltagrad's own layers,
  ``is_leaf_module``) become one ``call_module`` node, others are traced through;
- reading a parameter (or buffer) of the root gives a ``get_attr`` node;
- deltagrad's functions record ``call_function`` nodes when given a Proxy (``patching.py``).

Override points, as in ``torch.fx.Tracer``: ``is_leaf_module``, ``call_module``,
``create_proxy``, ``create_node``, ``create_arg``, ``getattr``.
"""
from __future__ import annotations

import inspect
import types

from . import patching
from .graph import Graph
from .proxy import Proxy, TracerBase
from .node import Node

__all__ = ["Tracer", "symbolic_trace"]


class Tracer(TracerBase):
    """Records the Graph of a module or function (see the module docstring)."""

    #: read buffers as get_attr Proxies (torch.fx's default: no, they stay tensors)
    proxy_buffer_attributes = False

    def __init__(self, autowrap_modules=(), autowrap_functions=(),
                 param_shapes_constant=False):
        super().__init__()
        self.autowrap_functions = tuple(autowrap_functions)
        self.param_shapes_constant = param_shapes_constant
        self.root = None
        self.graph = None

    # ------------------------------------------------------------------ override points
    def is_leaf_module(self, m, module_qualified_name: str) -> bool:
        """deltagrad's own layers (``nn.Linear``, ``nn.ReLU``...) are leaves, except
        ``nn.Sequential``, which is traced through."""
        from ..nn import Sequential
        return type(m).__module__.startswith("deltagrad.nn") and not isinstance(m, Sequential)

    def path_of_module(self, mod) -> str:
        """The qualified name of ``mod`` inside the root (``layer1.0.conv1``)."""
        path = self._module_paths.get(id(mod))
        if path is None:
            raise NameError(f"module {type(mod).__name__} is not installed as a submodule of "
                            "the traced root")
        return path

    def call_module(self, m, forward, args: tuple, kwargs: dict):
        """A ``call_module`` node for a leaf module; otherwise its ``forward`` is traced."""
        qualified_name = self.path_of_module(m)
        if not self.is_leaf_module(m, qualified_name):
            return forward(*args, **kwargs)
        return self.create_proxy("call_module", qualified_name, args, kwargs)

    def getattr(self, attr: str, attr_val, parameter_proxy_cache: dict):
        """A module attribute read during tracing: the root's parameters (and buffers, with
        ``proxy_buffer_attributes``) become ``get_attr`` Proxies, anything else is returned
        as is (a buffer used in an operation becomes a ``get_attr`` node there)."""
        from ..nn.module import Parameter
        from ..tensor import Tensor
        if isinstance(attr_val, Parameter) or (self.proxy_buffer_attributes and
                                               isinstance(attr_val, Tensor)):
            search = self.root.named_parameters() if isinstance(attr_val, Parameter) \
                else self.root.named_buffers()
            for name, p in search:
                if p is attr_val:
                    if name not in parameter_proxy_cache:
                        parameter_proxy_cache[name] = self.create_proxy("get_attr", name, (), {})
                    return parameter_proxy_cache[name]
        return attr_val

    def create_arg(self, a):
        """As ``TracerBase.create_arg``, plus: a parameter, buffer or tensor attribute of the
        root's modules, or a submodule, becomes a ``get_attr`` node; any other tensor is
        stored on the root as ``_tensor_constant<i>`` and read by a ``get_attr`` node."""
        from ..nn.module import Module
        from ..tensor import Tensor

        def convert(x):
            if isinstance(x, Tensor):
                for name, t in list(self.root.named_parameters()) + \
                        list(self.root.named_buffers()):
                    if t is x:
                        return self.create_node("get_attr", name, (), {})
                name = self._tensor_attrs.get(id(x)) or self._constant_names.get(id(x))
                if name is None:
                    name = f"_tensor_constant{len(self._constant_names)}"
                    self._constant_names[id(x)] = name
                    setattr(self.root, name, x)
                return self.create_node("get_attr", name, (), {})
            if isinstance(x, Module):
                return self.create_node("get_attr", self.path_of_module(x), (), {})
            return x
        from .node import map_aggregate
        return super().create_arg(map_aggregate(a, lambda x: x if isinstance(x, (Proxy, Node))
                                                else convert(x)))

    # ------------------------------------------------------------------ tracing
    def trace(self, root, concrete_args: dict | None = None) -> Graph:
        """The Graph of ``root`` (a Module, or a function) called on Proxies;
        ``concrete_args`` fixes some arguments to values instead."""
        from ..nn.module import Module
        from ..tensor import Tensor
        if isinstance(root, Module):
            self.root = root
            fn = type(root).forward
            bound = [root]
        elif callable(root):
            self.root = Module()
            fn = root
            bound = []
        else:
            raise TypeError(f"trace: expected an nn.Module or a function, got "
                            f"{type(root).__name__}")
        self.graph = Graph(tracer_cls=type(self))
        self._module_paths = {id(m): name for name, m in self.root.named_modules()}
        self._constant_names = {}
        self._tensor_attrs = {}  # id -> path of plain tensor attributes (``self.table``)
        for path, m in self.root.named_modules():
            for k, v in vars(m).items():
                if isinstance(v, Tensor):
                    self._tensor_attrs.setdefault(id(v), f"{path}.{k}" if path else k)
        concrete_args = dict(concrete_args or {})

        args, kwargs = list(bound), {}
        params = list(inspect.signature(fn).parameters.values())[len(bound):]
        variadic = any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)
        if variadic:  # *rest, **kw: each one Proxy, in the code object's order, as torch.fx
            fn = _all_parameters_positional(fn)
            order = {inspect.Parameter.KEYWORD_ONLY: 1, inspect.Parameter.VAR_POSITIONAL: 2,
                     inspect.Parameter.VAR_KEYWORD: 3}
            params.sort(key=lambda p: order.get(p.kind, 0))
        for p in params:
            if p.name in concrete_args:
                value = concrete_args.pop(p.name)
            else:
                star = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
                default = () if p.default is p.empty else (p.default,)
                annotation = None if p.annotation is p.empty else p.annotation
                value = self.create_proxy("placeholder", star + p.name, default, {},
                                          type_expr=annotation)
            if p.kind == p.KEYWORD_ONLY and not variadic:
                kwargs[p.name] = value
            else:
                args.append(value)
        if concrete_args:
            raise TypeError(f"trace: concrete_args names no parameter of {fn.__qualname__}: "
                            f"{sorted(concrete_args)}")

        cache = {}
        original_call, original_getattr = _module_call, _module_getattr
        saved_call, saved_getattr = Module.__call__, Module.__getattr__  # an outer trace's
        tracer = self

        def module_call(mod, *a, **k):
            return tracer.call_module(mod, lambda *a2, **k2: original_call(mod, *a2, **k2),
                                      a, k)

        def module_getattr(mod, name):
            return tracer.getattr(name, original_getattr(mod, name), cache)

        # the globals of the traced code: the function, and every submodule's forward
        namespaces = [getattr(fn, "__globals__", {})] + [
            getattr(type(m).forward, "__globals__", {}) for m in self.root.modules()]
        patching._trace_depth[0] += 1
        try:
            with patching.patched_functions(namespaces, wrapped=True):
                Module.__call__, Module.__getattr__ = module_call, module_getattr
                try:
                    result = fn(*args, **kwargs)
                finally:
                    Module.__call__, Module.__getattr__ = saved_call, saved_getattr
                self.create_node("output", "output", (self.create_arg(result),), {},
                                 type_expr=getattr(fn, "__annotations__", {}).get("return"))
        finally:
            patching._trace_depth[0] -= 1
            patching.release_unused_patch()
        return self.graph


def _all_parameters_positional(fn):
    """``fn`` with its keyword-only, ``*rest`` and ``**kw`` parameters turned into plain
    positional ones (in that order), so each can receive one Proxy; as torch.fx traces
    variadic functions (``rest[0]`` then records a getitem)."""
    code = fn.__code__
    flags = code.co_flags
    count = code.co_argcount + code.co_kwonlyargcount + \
        bool(flags & inspect.CO_VARARGS) + bool(flags & inspect.CO_VARKEYWORDS)
    code = code.replace(co_flags=flags & ~(inspect.CO_VARARGS | inspect.CO_VARKEYWORDS),
                        co_argcount=count, co_kwonlyargcount=0)
    return types.FunctionType(code, fn.__globals__, fn.__name__, None, fn.__closure__)


# the real Module.__call__/__getattr__, whatever a trace running now has put in their place
_module_call, _module_getattr = None, None


def _remember_module_methods():
    global _module_call, _module_getattr
    from ..nn.module import Module
    _module_call, _module_getattr = Module.__call__, Module.__getattr__


_remember_module_methods()


def symbolic_trace(root, concrete_args: dict | None = None):
    """``GraphModule(root, Tracer().trace(root))``: the traced program as a module whose
    ``forward`` is the generated code."""
    from ..nn.module import Module
    from .graph_module import GraphModule
    tracer = Tracer()
    graph = tracer.trace(root, concrete_args)
    name = type(root).__name__ if isinstance(root, Module) else root.__name__
    return GraphModule(tracer.root, graph, name)
