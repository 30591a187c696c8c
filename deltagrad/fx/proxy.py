"""Proxy: the stand-in value symbolic tracing passes through a program.

Every operation on a Proxy records a Node instead of computing: Python operators become
``call_function`` nodes on ``operator.add``/``operator.getitem``/..., method calls
(``x.relu()``, ``x.view(-1)``) become ``call_method`` nodes, attribute reads (``x.shape``) a
``call_function`` on ``getattr``. A Proxy has no value, so anything that needs one -- ``if x:``,
``bool(x)``, ``len(x)``, iterating -- raises ``TraceError`` (as ``torch.fx`` does).

``TracerBase`` turns such operations into Nodes of its ``graph``; ``GraphAppendingTracer``
is the plain one that appends to a given graph (for building graphs by hand).
"""
from __future__ import annotations

import dis
import inspect
import operator

from .node import Node, map_aggregate

__all__ = ["Proxy", "Attribute", "TraceError", "TracerBase", "GraphAppendingTracer"]


class TraceError(ValueError):
    """A traced program needed the value of a Proxy (control flow, len, iteration)."""


def _is_base_value(a) -> bool:
    import numpy as np
    from ..backend import device
    return a is None or a is Ellipsis or isinstance(
        a, (str, int, float, bool, complex, type, np.dtype, device, range))


class TracerBase:
    """Records operations as Nodes of ``self.graph``."""

    graph = None

    def create_node(self, kind: str, target, args: tuple, kwargs: dict, name=None,
                    type_expr=None) -> Node:
        return self.graph.create_node(kind, target, args, kwargs, name, type_expr)

    def proxy(self, node: Node) -> "Proxy":
        return Proxy(node, self)

    def create_proxy(self, kind: str, target, args, kwargs, name=None, type_expr=None,
                     proxy_factory_fn=None) -> "Proxy":
        """A Node for ``target(*args, **kwargs)`` (Proxies and values in the arguments made
        Node arguments by ``create_arg``), wrapped in a Proxy."""
        node = self.create_node(kind, target, self.create_arg(tuple(args)),
                                self.create_arg(dict(kwargs)), name, type_expr)
        return self.proxy(node) if proxy_factory_fn is None else proxy_factory_fn(node)

    def create_arg(self, a):
        """What ``a`` is as a Node argument: Proxies become their Node; containers are mapped;
        plain values (numbers, strings, dtypes, None) stay; anything else is refused."""
        def convert(x):
            if isinstance(x, Proxy):
                return x.node
            if isinstance(x, Node) or _is_base_value(x):
                return x
            raise NotImplementedError(f"argument of type: {type(x)}")
        return map_aggregate(a, convert)

    def to_bool(self, obj: "Proxy") -> bool:
        raise TraceError("symbolically traced variables cannot be used as inputs to control "
                         "flow")

    def iter(self, obj: "Proxy"):
        raise TraceError("Proxy object cannot be iterated. This can be attempted when the "
                         "Proxy is used in a loop or as a *args or **kwargs function argument. "
                         "See the torch.fx docs on pytorch.org for a more detailed explanation "
                         "of what types of control flow can be traced, and check out the "
                         "Proxy docstring for help troubleshooting Proxy iteration errors")

    def keys(self, obj: "Proxy"):
        return Attribute(obj, "keys")()


class GraphAppendingTracer(TracerBase):
    """A tracer that only appends to ``graph`` (no module to trace)."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph
        self.root = None


class Proxy:
    """A value under tracing: ``node`` is where it comes from, ``tracer`` records what is
    done to it. ``Proxy(node)`` alone appends to ``node``'s graph."""

    def __init__(self, node: Node, tracer: TracerBase | None = None):
        if not isinstance(node, Node):
            raise TypeError(f"Proxy: expected a Node, got {type(node).__name__}")
        self.node = node
        self.tracer = GraphAppendingTracer(node.graph) if tracer is None else tracer
        from .patching import keep_patched_while_alive
        keep_patched_while_alive(self)

    def __repr__(self):
        return f"Proxy({self.node.name})"

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # protocol probes (__array__ ...) are not recorded
        return Attribute(self, name)

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", "__call__", (self,) + args, kwargs)

    def __iter__(self):
        frame = inspect.currentframe().f_back
        for inst in dis.get_instructions(frame.f_code):  # ``a, b = proxy``: unpack by index
            if inst.offset == frame.f_lasti and inst.opname == "UNPACK_SEQUENCE":
                return (self[k] for k in range(inst.argval))
        return self.tracer.iter(self)

    def __bool__(self):
        return self.tracer.to_bool(self)

    def __len__(self):
        raise RuntimeError("'len' is not supported in symbolic tracing by default. If you want "
                           "this call to be recorded, please call fx.wrap('len') at module "
                           "scope")

    def __index__(self):
        raise TraceError("symbolically traced variables cannot be used as an index or size "
                         "(their value is unknown while tracing)")

    def keys(self):
        return self.tracer.keys(self)

    __hash__ = object.__hash__


class Attribute(Proxy):
    """``proxy.name``: a ``getattr`` node made only when the value is used; calling it makes
    a ``call_method`` node instead (``x.relu()``)."""

    def __init__(self, root: Proxy, attr: str):
        self.root, self.attr, self.tracer = root, attr, root.tracer
        self._node = None

    @property
    def node(self):
        if self._node is None:
            self._node = self.tracer.create_proxy("call_function", getattr,
                                                  (self.root, self.attr), {}).node
        return self._node

    @node.setter
    def node(self, value):
        self._node = value

    def __call__(self, *args, **kwargs):
        return self.tracer.create_proxy("call_method", self.attr, (self.root,) + args, kwargs)


def _binary(name, reflected=False):
    fn = getattr(operator, name)

    def method(self, other):
        args = (other, self) if reflected else (self, other)
        return self.tracer.create_proxy("call_function", fn, args, {})
    return method


def _unary(name):
    fn = getattr(operator, name)
    return lambda self: self.tracer.create_proxy("call_function", fn, (self,), {})


for _name in ("add", "sub", "mul", "floordiv", "truediv", "mod", "pow", "lshift", "rshift",
              "and_", "or_", "xor", "matmul"):
    _dunder = _name.rstrip("_")
    setattr(Proxy, f"__{_dunder}__", _binary(_name))
    setattr(Proxy, f"__r{_dunder}__", _binary(_name, reflected=True))
for _name in ("getitem", "eq", "ne", "lt", "gt", "le", "ge"):
    setattr(Proxy, f"__{_name}__", _binary(_name))
for _name in ("neg", "pos", "invert"):
    setattr(Proxy, f"__{_name}__", _unary(_name))
Proxy.__hash__ = object.__hash__  # __eq__ records a node; identity stays the hash
