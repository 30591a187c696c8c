"""Graph: the fx intermediate representation, a list of Nodes in execution order.

``graph.nodes`` iterates (and ``reversed`` walks back) the doubly linked list; nodes are
created at the insertion point (the end, or where ``inserting_before/after`` put it), edited
through their ``args``/``kwargs``, and removed by ``erase_node`` once nothing reads them.
``python_code`` turns the graph back into Python source (see ``codegen.py``).
"""
from __future__ import annotations

import inspect

from .codegen import python_code
from .naming import Namespace, short_name, snake_case
from .node import Node, map_arg

__all__ = ["Graph"]


class _NodeList:
    """``graph.nodes``: iterable, reversible and sized; safe to erase the current node while
    iterating (the erased node still points to its old neighbour)."""

    def __init__(self, graph, reverse=False):
        self._graph, self._reverse = graph, reverse

    def __len__(self):
        return self._graph._len

    def __iter__(self):
        root = self._graph._root
        step = "_prev" if self._reverse else "_next"
        cur = getattr(root, step)
        while cur is not root:
            if not cur._erased:
                yield cur
            cur = getattr(cur, step)

    def __reversed__(self):
        return _NodeList(self._graph, not self._reverse)

    def __repr__(self):
        return f"[{', '.join(n.name for n in self)}]"


class Graph:
    """A list of Nodes: placeholders, operations and one output (see ``node.py``)."""

    def __init__(self, owning_module=None, tracer_cls=None, tracer_extras=None):
        self._root = Node(self, "", "placeholder", "", (), {})  # sentinel of the ring
        self._insert = self._root.prepend  # new nodes go before the sentinel: at the end
        self._len = 0
        self._namespace = Namespace()
        self.owning_module = owning_module
        self._tracer_cls = tracer_cls  # torch.fx's arguments: kept, and carried by deepcopy
        self._tracer_extras = tracer_extras

    @property
    def nodes(self) -> _NodeList:
        return _NodeList(self)

    def find_nodes(self, *, op: str, target=None, sort: bool = True) -> list:
        """The nodes with this ``op`` (and ``target`` when given), always in graph order
        (``sort`` is torch's argument; its unsorted lookup is an index we do not keep)."""
        return [n for n in self.nodes if n.op == op and (target is None or n.target == target)]

    # ------------------------------------------------------------------ building
    def create_node(self, op: str, target, args=None, kwargs=None, name=None,
                    type_expr=None) -> Node:
        """A new node at the insertion point; ``name`` (or one made from ``target``) is made
        unique."""
        args = () if args is None else args
        kwargs = {} if kwargs is None else kwargs
        if not isinstance(args, tuple):
            raise TypeError(f"create_node: args must be a tuple, got {type(args).__name__}")
        if not isinstance(kwargs, dict):
            raise TypeError(f"create_node: kwargs must be a dict, got {type(kwargs).__name__}")
        from .proxy import Proxy
        for a in (*args, *kwargs.values()):
            if isinstance(a, Proxy):
                raise TypeError(f"create_node ({op} {target}): an argument is a Proxy ({a}); "
                                "pass its .node")
        candidate = name if name is not None else self._target_to_str(target)
        node = Node(self, self._namespace.create_name(candidate, None), op, target, args,
                    kwargs, type_expr)
        self._insert(node)
        self._len += 1
        return node

    @staticmethod
    def _target_to_str(target) -> str:
        if callable(target):
            return snake_case(short_name(target))
        op = str(target)
        if op.startswith("__") and op.endswith("__"):
            op = op[2:-2]
        return snake_case(op)

    def placeholder(self, name: str, type_expr=None, default_value=inspect.Signature.empty):
        args = () if default_value is inspect.Signature.empty else (default_value,)
        return self.create_node("placeholder", name, args, {}, type_expr=type_expr)

    def get_attr(self, qualified_name: str, type_expr=None) -> Node:
        return self.create_node("get_attr", qualified_name, type_expr=type_expr)

    def call_module(self, module_name: str, args=None, kwargs=None, type_expr=None) -> Node:
        return self.create_node("call_module", module_name, args, kwargs, type_expr=type_expr)

    def call_method(self, method_name: str, args=None, kwargs=None, type_expr=None) -> Node:
        return self.create_node("call_method", method_name, args, kwargs, type_expr=type_expr)

    def call_function(self, the_function, args=None, kwargs=None, type_expr=None) -> Node:
        return self.create_node("call_function", the_function, args, kwargs,
                                type_expr=type_expr)

    def output(self, result, type_expr=None) -> Node:
        return self.create_node("output", "output", (result,), {}, type_expr=type_expr)

    def node_copy(self, node: Node, arg_transform=lambda n: n) -> Node:
        """A copy of ``node`` (from any graph) here, its input Nodes mapped by
        ``arg_transform``."""
        args = map_arg(node.args, arg_transform)
        kwargs = map_arg(node.kwargs, arg_transform)
        copy = self.create_node(node.op, node.target, args, kwargs, node.name, node.type)
        copy.meta = dict(node.meta)
        return copy

    def graph_copy(self, g: "Graph", val_map: dict, return_output_node=False):
        """Copy every node of ``g`` but its output here; ``val_map`` maps ``g``'s nodes to
        ours (pre-filled for nodes to substitute, e.g. placeholders). Returns what ``g``'s
        output returns, mapped."""
        for node in g.nodes:
            if node in val_map:
                continue
            if node.op == "output":
                result = map_arg(node.args[0], lambda n: val_map[n])
                return (result, node) if return_output_node else result
            val_map[node] = self.node_copy(node, lambda n: val_map[n])
        return None

    def __deepcopy__(self, memo):
        """A new graph with copies of every node (targets and constants shared)."""
        g = Graph(tracer_cls=self._tracer_cls, tracer_extras=self._tracer_extras)
        result = g.graph_copy(self, {}, return_output_node=True)
        if result is not None:
            value, old_output = result
            g.output(value, old_output.type)
        memo[id(self)] = g
        return g

    # ------------------------------------------------------------------ editing
    def inserting_before(self, n: Node | None = None) -> "_InsertPoint":
        """``with graph.inserting_before(n):`` new nodes go just before ``n`` (``None``: at the
        start of the graph)."""
        if n is None:
            return self.inserting_after(self._root)
        return _InsertPoint(self, n.prepend)

    def inserting_after(self, n: Node | None = None) -> "_InsertPoint":
        """``with graph.inserting_after(n):`` each new node goes just after ``n`` (so several
        end up in reverse order of creation, as in torch.fx); ``None``: at the end."""
        if n is None:
            return self.inserting_before(self._root)
        return _InsertPoint(self, n.append)

    def erase_node(self, to_erase: Node) -> None:
        """Remove a node nobody reads any more."""
        if to_erase.graph is not self or to_erase._erased:
            raise RuntimeError(f"erase_node: {to_erase} is not a node of this graph")
        if to_erase.users:
            raise RuntimeError(f"Tried to erase Node {to_erase} but it still had "
                               f"{len(to_erase.users)} users in the graph: "
                               f"{dict(to_erase.users)}!")
        to_erase._unlink()
        to_erase._erased = True
        self._len -= 1
        to_erase.args, to_erase.kwargs = (), {}  # no longer a user of its inputs
        self._namespace.remove(to_erase.name)

    def eliminate_dead_code(self) -> bool:
        """Erase, back to front, the pure nodes whose value nobody reads; True if any."""
        changed = False
        for node in reversed(self.nodes):
            if not node.users and not node.is_impure():
                self.erase_node(node)
                changed = True
        return changed

    def lint(self) -> None:
        """Check the invariants: known ops, unique names, users in step with args, every
        input defined before it is read, one output at the end, attribute targets present."""
        seen, names = set(), set()
        for node in self.nodes:
            if node.graph is not self:
                raise RuntimeError(f"lint: node {node} belongs to another graph")
            if node.name in names:
                raise RuntimeError(f"lint: node name {node.name!r} is used twice")
            names.add(node.name)
            for arg in node.all_input_nodes:
                if arg not in seen:
                    raise RuntimeError(f"lint: argument {arg} of node {node} is used before "
                                       "it is defined")
                if node not in arg.users:
                    raise RuntimeError(f"lint: {node} reads {arg} but is not among its users")
            for user in node.users:
                if user._erased or user.graph is not self:
                    raise RuntimeError(f"lint: {node} has a user {user} outside the graph")
            if node.op in ("get_attr", "call_module") and self.owning_module is not None:
                _check_target(self.owning_module, node)
            seen.add(node)
        outputs = [n for n in self.nodes if n.op == "output"]
        if len(outputs) > 1:
            raise RuntimeError(f"lint: the graph has {len(outputs)} output nodes; expected one")

    # ------------------------------------------------------------------ showing
    def python_code(self, root_module: str = "self"):
        return python_code(self, root_module)

    def __str__(self):
        lines = ["graph():"]
        lines += [f"    {n.format_node()}" for n in self.nodes]
        return "\n".join(lines)

    def print_tabular(self) -> None:
        """Print one row per node (opcode, name, target, args, kwargs), through the
        ``tabulate`` package when installed, as the same plain table otherwise."""
        headers = ["opcode", "name", "target", "args", "kwargs"]
        rows = [[n.op, n.name, n.target, n.args, n.kwargs] for n in self.nodes]
        try:
            from tabulate import tabulate
        except ImportError:
            print(plain_table(rows, headers))
        else:
            print(tabulate(rows, headers=headers))


class _InsertPoint:
    """Sets the graph's insertion point when made; the ``with`` block's end restores it."""

    def __init__(self, graph, insert):
        self.graph, self.saved = graph, graph._insert
        graph._insert = insert

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        self.graph._insert = self.saved


def plain_table(rows, headers) -> str:
    """tabulate's "simple" layout: left-aligned columns two spaces apart, each at least two
    wider than its header, dashes under the headers."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h) + 2] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    fmt = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    lines = [fmt(headers), "  ".join("-" * w for w in widths)] + [fmt(r) for r in cells]
    return "\n".join(lines)


def _check_target(module, node):
    obj = module
    for part in node.target.split("."):
        if not hasattr(obj, part):
            raise RuntimeError(f"lint: node {node} targets {node.target!r}, which the owning "
                               f"module lacks (no {part!r})")
        obj = getattr(obj, part)


