"""Python source for a Graph: the ``forward`` a GraphModule runs and shows as ``gm.code``.

One line per node, in graph order, spelled as torch.fx spells it::

    def forward(self, x, y):
        add = x + y;  x = y = None            # operator.add as an operator
        exp = torch.exp(add);  add = None      # a deltagrad function by its public path
        relu = self.relu(exp);  exp = None     # call_module
        float_1 = relu.float();  relu = None   # call_method
        return float_1

After each line the values read there for the last time are set to None (``x = y = None``),
so a long graph frees its intermediates as it goes.
"""
from __future__ import annotations

import builtins
import math
import operator
import typing
from dataclasses import dataclass

import numpy as np

from .naming import Namespace, qualified_name
from .node import Node, map_arg

__all__ = ["PythonCode", "python_code", "format_target"]

#: operator functions written as Python operators
MAGIC_METHODS = {
    "add": "{} + {}", "sub": "{} - {}", "mul": "{} * {}", "floordiv": "{} // {}",
    "truediv": "{} / {}", "mod": "{} % {}", "pow": "{} ** {}", "lshift": "{} << {}",
    "rshift": "{} >> {}", "and_": "{} & {}", "or_": "{} | {}", "xor": "{} ^ {}",
    "getitem": "{}[{}]", "matmul": "{} @ {}", "eq": "{} == {}", "ne": "{} != {}",
    "lt": "{} < {}", "gt": "{} > {}", "le": "{} <= {}", "ge": "{} >= {}",
    "pos": "+{}", "neg": "-{}", "invert": "~{}",
}


_TYPING_ORIGINS = {list: typing.List, dict: typing.Dict, set: typing.Set,
                   frozenset: typing.FrozenSet, tuple: typing.Tuple}


@dataclass
class PythonCode:
    """``src``: the full text (``gm.code``); ``fn_src``: the ``def`` alone, to execute with
    ``globals`` (the names the code refers to)."""
    src: str
    fn_src: str
    globals: dict


def format_target(base: str, target: str) -> str:
    """``self`` + ``layer1.0.conv1`` -> ``getattr(self.layer1, "0").conv1``."""
    text = base
    for part in target.split("."):
        text = f"{text}.{part}" if part.isidentifier() else f'getattr({text}, "{part}")'
    return text


def python_code(graph, root_module: str = "self") -> PythonCode:
    """Generate the ``forward`` of ``graph`` (see the module docstring)."""
    import deltagrad
    from .naming import torch_spelling
    namespace = Namespace()
    for node in graph.nodes:  # node names are taken: globals must not shadow them
        namespace.create_name(node.name, None)
    globals_ = {"deltagrad": deltagrad, "torch": deltagrad, "operator": operator,
                "inf": math.inf, "nan": math.nan, "NoneType": type(None)}
    wrapped = []

    def add_global(name_hint: str, obj) -> str:
        if "." in name_hint and name_hint.split(".")[0] in ("torch", "deltagrad", "operator") \
                and _resolves(globals_, name_hint, obj):
            return name_hint  # spelled through a module the code already binds
        if name_hint in globals_ and globals_[name_hint] is obj:
            return name_hint
        if builtins.__dict__.get(name_hint, None) is obj:
            return name_hint
        name = namespace.create_name(name_hint, obj)
        globals_[name] = obj
        return name

    def literal(a) -> str:
        if isinstance(a, Node):
            return a.name
        if isinstance(a, np.generic):  # np.float64(2.0) -> 2.0 (its repr names np)
            return literal(a.item())
        if isinstance(a, float) and not math.isfinite(a):
            return repr(a)  # inf / nan / -inf: bound in globals
        if a is None or isinstance(a, (bool, int, float, complex, str)) or a is Ellipsis:
            return repr(a)
        if isinstance(a, tuple):
            items = ", ".join(literal(e) for e in a)
            return f"({items},)" if len(a) == 1 else f"({items})"
        if isinstance(a, list):
            return "[" + ", ".join(literal(e) for e in a) + "]"
        if isinstance(a, dict):
            return "{" + ", ".join(f"{k!r}: {literal(v)}" for k, v in a.items()) + "}"
        if isinstance(a, slice):
            return f"slice({literal(a.start)}, {literal(a.stop)}, {literal(a.step)})"
        if isinstance(a, np.dtype):  # deltagrad's dtypes are NumPy's: torch.float64
            return f"{'torch' if torch_spelling() else 'deltagrad'}.{a.name}"
        if isinstance(a, type) or callable(a):
            return add_global(qualified_name(a), a)
        return add_global("_" + type(a).__name__.lower(), a)  # a device, ...

    def annotation_text(t) -> str:
        if hasattr(t, "__origin__"):  # List[int] -> typing_List[int], as torch.fx writes it
            origin = _TYPING_ORIGINS.get(t.__origin__, t.__origin__)
            origin_text = add_global(repr(origin) if origin.__module__ == "typing"
                                     else origin.__qualname__, origin)
            args = [annotation_text(a) for a in getattr(t, "__args__", ())]
            return f"{origin_text}[{','.join(args)}]" if args else origin_text
        if t is type(None):
            return "NoneType"  # bound in the generated code's globals
        if isinstance(t, type) and t.__module__ == "builtins":
            return t.__name__
        if isinstance(t, type) and getattr(deltagrad, t.__name__, None) is t:
            return f"{'torch' if torch_spelling() else 'deltagrad'}.{t.__name__}"
        if isinstance(t, type):
            return add_global(t.__name__, t)
        return repr(t) if isinstance(t, str) else add_global("_annotation", t)

    def format_args(args, kwargs) -> str:
        parts = [literal(a) for a in args] + [f"{k} = {literal(v)}" for k, v in kwargs.items()]
        return ", ".join(parts)

    # the last node that reads each value: its line frees the value
    last_use, seen = {}, set()
    for node in reversed(list(graph.nodes)):
        def note(n, user=node):
            if n not in seen:
                seen.add(n)
                last_use.setdefault(user, []).append(n)
        map_arg(node.args, note)
        map_arg(node.kwargs, note)

    free_vars, body = [], []
    for node in graph.nodes:
        if node.op == "placeholder":
            default = f" = {literal(node.args[0])}" if node.args else ""
            annotation = f" : {annotation_text(node.type)}" if node.type is not None else ""
            free_vars.append(f"{node.target}{annotation}{default}")
            raw = node.target.replace("*", "")
            if raw != node.name:
                body.append(f"{node.name} = {raw}")
            continue
        if node.op == "output":
            body.append(f"return {literal(node.args[0])}")
            continue
        if node.op == "get_attr":
            line = f"{node.name} = {format_target(root_module, node.target)}"
        elif node.op == "call_module":
            line = f"{node.name} = {format_target(root_module, node.target)}" \
                   f"({format_args(node.args, node.kwargs)})"
        elif node.op == "call_method":
            line = f"{node.name} = {format_target(literal(node.args[0]), node.target)}" \
                   f"({format_args(node.args[1:], node.kwargs)})"
        else:
            line = _call_function_line(node, literal, format_args, add_global, wrapped)
        dead = list(last_use.get(node, []))
        if not node.users:
            dead.append(node)
        if dead:
            line += ";  " + " = ".join([n.name for n in dead] + ["None"])
        body.append(line)

    code = "\n".join("    " + line for line in body) + "\n    "
    outputs = [n for n in graph.nodes if n.op == "output" and n.type is not None]
    returns = f" -> {annotation_text(outputs[0].type)}" if outputs else ""
    fn_src = f"def forward({', '.join([root_module] + free_vars)}){returns}:\n{code}"
    wrap_call = "torch.fx._symbolic_trace.wrap" if torch_spelling() else "deltagrad.fx.wrap"
    wrap_lines = "\n".join(f'{wrap_call}("{name}")' for name in wrapped)
    return PythonCode(src=f"\n{wrap_lines}\n\n{fn_src}", fn_src=fn_src, globals=globals_)


def _resolves(namespace: dict, path: str, obj) -> bool:
    """Does the dotted ``path`` lead from ``namespace`` to ``obj`` itself?"""
    first, *rest = path.split(".")
    value = namespace.get(first)
    for part in rest:
        value = getattr(value, part, None)
    return value is obj or getattr(value, "_fx_original", None) is obj


def _call_function_line(node, literal, format_args, add_global, wrapped) -> str:
    target = node.target
    name = getattr(target, "__name__", "")
    if getattr(operator, name, None) is target and name in MAGIC_METHODS and not node.kwargs:
        return f"{node.name} = " + MAGIC_METHODS[name].format(*(literal(a) for a in node.args))
    global_name = add_global(qualified_name(target), target)
    if global_name == "getattr" and len(node.args) == 2 and isinstance(node.args[1], str) \
            and node.args[1].isidentifier():
        return f"{node.name} = {format_target(literal(node.args[0]), node.args[1])}"
    if node.meta.get("is_wrapped") and global_name not in wrapped:
        wrapped.append(global_name)
    return f"{node.name} = {global_name}({format_args(node.args, node.kwargs)})"
