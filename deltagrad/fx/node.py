"""A Node of an fx Graph: one operation, its inputs and the nodes that use its value.

Six kinds (``op``) as in ``torch.fx``:

- ``placeholder``: a function input; ``target`` is the argument name, ``args`` its default
- ``get_attr``: read a parameter, buffer or attribute of the module; ``target`` is its path
- ``call_function``: ``target(*args, **kwargs)`` for a free function (``deltagrad.exp``,
  ``operator.add``)
- ``call_method``: ``args[0].target(*args[1:], **kwargs)`` (``x.relu()``)
- ``call_module``: the submodule at path ``target`` called on ``args``
- ``output``: ``return args[0]``

Nodes form a doubly linked list owned by their Graph; ``args``/``kwargs`` hold other Nodes
(the data edges) and plain constants, and ``users`` is kept in step with them.
"""
from __future__ import annotations

from typing import Any, Callable, Union

OPCODES = ("placeholder", "get_attr", "call_function", "call_method", "call_module", "output")

__all__ = ["Node", "map_arg", "map_aggregate", "OPCODES", "Target", "Argument"]

#: what a node calls or reads: a function, or a method/module/attribute name
Target = Union[Callable[..., Any], str]
#: what a node's args may hold: Nodes, constants, and tuples/lists/dicts/slices of them
Argument = Any


def map_aggregate(a, fn):
    """``fn`` applied to every leaf of the nested tuples/lists/dicts/slices ``a``."""
    if isinstance(a, tuple):
        mapped = tuple(map_aggregate(e, fn) for e in a)
        return type(a)(*mapped) if hasattr(a, "_fields") else mapped  # namedtuples too
    if isinstance(a, list):
        return [map_aggregate(e, fn) for e in a]
    if isinstance(a, dict):
        return {k: map_aggregate(v, fn) for k, v in a.items()}
    if isinstance(a, slice):
        return slice(map_aggregate(a.start, fn), map_aggregate(a.stop, fn),
                     map_aggregate(a.step, fn))
    return fn(a)


def map_arg(a, fn):
    """``fn`` applied to every Node inside the argument structure ``a`` (others unchanged)."""
    if not callable(fn):
        raise TypeError(f"map_arg: fn must be callable, got {type(fn).__name__}")
    return map_aggregate(a, lambda x: fn(x) if isinstance(x, Node) else x)


class Node:
    """One operation of a Graph (see the module docstring for ``op``/``target``)."""

    def __init__(self, graph, name: str, op: str, target, args: tuple, kwargs: dict,
                 return_type=None):
        if op not in OPCODES:
            raise ValueError(f"Node: unknown op {op!r}; expected one of {OPCODES}")
        if op in ("call_method", "call_module", "get_attr", "placeholder") \
                and not isinstance(target, str):
            raise ValueError(f"Node {name!r}: a {op} node needs a str target, "
                             f"got {type(target).__name__}")
        if op == "call_function" and not callable(target):
            raise ValueError(f"Node {name!r}: a call_function node needs a callable target, "
                             f"got {target!r}")
        self.graph = graph
        self.name = name
        self.op = op
        self.target = target
        self.type = return_type
        self.meta = {}
        self.users: dict = {}  # Node -> None, ordered like a set
        self._input_nodes: dict = {}
        self._args, self._kwargs = (), {}
        self._prev = self._next = self
        self._erased = False
        self._update_args_kwargs(tuple(args), dict(kwargs))

    # ------------------------------------------------------------------ data edges
    @property
    def args(self) -> tuple:
        return self._args

    @args.setter
    def args(self, value):
        self._update_args_kwargs(tuple(value), self._kwargs)

    @property
    def kwargs(self) -> dict:
        return self._kwargs

    @kwargs.setter
    def kwargs(self, value):
        self._update_args_kwargs(self._args, dict(value))

    @property
    def all_input_nodes(self) -> list:
        """The Nodes this node reads, in order of first appearance."""
        return list(self._input_nodes)

    def _update_args_kwargs(self, args, kwargs):
        for old in self._input_nodes:
            old.users.pop(self, None)
        self._input_nodes = {}

        def register(n):
            if n.graph is not self.graph:
                raise RuntimeError(f"Node {self.name!r}: argument {n.name!r} belongs to "
                                   "another Graph")
            self._input_nodes.setdefault(n)
            return n
        self._args = map_arg(args, register)
        self._kwargs = map_arg(kwargs, register)
        for n in self._input_nodes:
            n.users.setdefault(self)

    def update_arg(self, idx: int, arg) -> None:
        args = list(self._args)
        args[idx] = arg
        self.args = tuple(args)

    def update_kwarg(self, key: str, arg) -> None:
        self.kwargs = {**self._kwargs, key: arg}

    def replace_input_with(self, old_input: "Node", new_input: "Node") -> None:
        """Every use of ``old_input`` in this node's args/kwargs becomes ``new_input``."""
        swap = lambda n: new_input if n is old_input else n  # noqa: E731
        self._update_args_kwargs(map_arg(self._args, swap), map_arg(self._kwargs, swap))

    def replace_all_uses_with(self, replace_with: "Node", delete_user_cb=lambda user: True,
                              *, propagate_meta=False) -> list:
        """Every node that reads this one reads ``replace_with`` instead (those for which
        ``delete_user_cb`` is true); returns the users that changed."""
        if not isinstance(replace_with, Node):
            raise TypeError("replace_all_uses_with: expected a Node, got "
                            f"{type(replace_with).__name__}")
        if propagate_meta:
            for k, v in self.meta.items():
                replace_with.meta.setdefault(k, v)
        changed = [u for u in list(self.users) if delete_user_cb(u)]
        for user in changed:
            user.replace_input_with(self, replace_with)
        return changed

    # ------------------------------------------------------------------ list position
    @property
    def next(self) -> "Node":
        return self._next

    @property
    def prev(self) -> "Node":
        return self._prev

    def prepend(self, x: "Node") -> None:
        """Move (or insert) ``x`` just before this node."""
        if x is self:
            raise ValueError("prepend: cannot put a node before itself")
        x._unlink()
        p = self._prev
        p._next, x._prev, x._next, self._prev = x, p, self, x

    def append(self, x: "Node") -> None:
        """Move (or insert) ``x`` just after this node."""
        self._next.prepend(x)

    def _unlink(self):
        # the node keeps its own _next, so an iteration standing on it goes on (as in torch)
        p, n = self._prev, self._next
        p._next, n._prev = n, p

    # ------------------------------------------------------------------ properties
    def is_impure(self) -> bool:
        """True if dead-code elimination must keep this node: inputs, the output, random draws,
        in-place methods (their names end in ``_``) and modules marked ``_is_impure``."""
        if self.op in ("placeholder", "output"):
            return True
        if self.op == "call_method":
            return self.target.endswith("_") and not self.target.endswith("__")
        if self.op == "call_function":
            return self.target in _random_functions()
        if self.op == "call_module" and self.graph.owning_module is not None:
            try:
                module = self.graph.owning_module.get_submodule(self.target)
            except AttributeError:
                return False
            return bool(getattr(module, "_is_impure", False))
        return False

    def format_node(self) -> str:
        """``%name : [num_users=k] = op[target=...](args = ..., kwargs = ...)``, as
        ``torch.fx`` prints a graph."""
        from .naming import qualified_name
        annotation = f"{type_name(self.type)} " if self.type is not None else ""
        head = f"%{self.name} : {annotation}[num_users={len(self.users)}] = "
        if self.op == "placeholder":
            default = f"(default={self.args[0]})" if self.args else ""
            return f"{head}placeholder[target={self.target}]{default}"
        if self.op == "output":
            return f"return {self.args[0]}"
        target = self.target if isinstance(self.target, str) else qualified_name(self.target, True)
        text = f"{head}{self.op}[target={target}]"
        if self.op != "get_attr":
            text += f"(args = {_format_arg(self.args)}, kwargs = {_format_arg(self.kwargs)})"
        return text

    def __repr__(self):
        return self.name


_RANDOM = ("rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
           "normal", "bernoulli", "multinomial", "manual_seed", "seed")


def _random_functions() -> set:
    """deltagrad's functions that draw random numbers (or reseed): never dead code, since
    dropping them would change every later draw."""
    import deltagrad
    return {getattr(deltagrad, name) for name in _RANDOM if hasattr(deltagrad, name)}


def type_name(t) -> str:
    """``int`` for builtins, ``torch.Tensor`` (``deltagrad.Tensor``) for deltagrad's public
    classes, ``module.Name`` otherwise (a node's type annotation)."""
    if isinstance(t, type):
        import deltagrad
        from .naming import torch_spelling
        if t.__module__ == "builtins":
            return t.__name__
        if getattr(deltagrad, t.__name__, None) is t:
            return f"{'torch' if torch_spelling() else 'deltagrad'}.{t.__name__}"
        return f"{t.__module__}.{t.__qualname__}"
    return str(t)


def _format_arg(a) -> str:
    if isinstance(a, Node):
        return f"%{a.name}"
    if isinstance(a, tuple):
        items = ", ".join(_format_arg(e) for e in a)
        return f"({items},)" if len(a) == 1 else f"({items})"
    if isinstance(a, list):
        return "[" + ", ".join(_format_arg(e) for e in a) + "]"
    if isinstance(a, dict):
        return "{" + ", ".join(f"{k}: {_format_arg(v)}" for k, v in a.items()) + "}"
    return str(a)
