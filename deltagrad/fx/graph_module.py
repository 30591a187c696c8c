"""GraphModule: an nn.Module whose ``forward`` is Python generated from a Graph.

``GraphModule(root, graph)`` copies from ``root`` (a Module, or a dict of name -> object) the
submodules, parameters and buffers that the graph's ``call_module``/``get_attr`` nodes name,
then compiles ``graph.python_code()`` into ``forward``. After editing ``gm.graph`` call
``gm.recompile()`` so ``gm.code`` and ``forward`` follow the graph.
"""
from __future__ import annotations

import copy

from ..nn.module import Module
from .graph import Graph

__all__ = ["GraphModule"]


def _assign_attr(value, to_module, target: str) -> None:
    """``to_module.<target> = value``, creating empty Modules along the path; a tensor that is
    not a Parameter becomes a buffer (as in torch.fx)."""
    from ..nn.module import Parameter
    from ..tensor import Tensor
    *prefix, field = target.split(".")
    for item in prefix:
        child = getattr(to_module, item, None)
        if child is None:
            child = Module()
            setattr(to_module, item, child)
        to_module = child
    if isinstance(value, Tensor) and not isinstance(value, Parameter):
        to_module.register_buffer(field, value)
    else:
        setattr(to_module, field, value)


def _copy_attr(from_obj, to_module, target: str) -> None:
    """``to_module.<target> = from_obj.<target>``; the modules on the path are copied as
    empty Modules unless the whole submodule is the target."""
    *prefix, field = target.split(".")
    for item in prefix:
        src = getattr(from_obj, item)
        child = getattr(to_module, item, None)
        if child is None or child is src:
            child = Module()
            setattr(to_module, item, child)
        from_obj, to_module = src, child
    _assign_attr(getattr(from_obj, field), to_module, field)


class GraphModule(Module):
    """A module running the generated code of ``graph`` (see the module docstring)."""

    def __new__(cls, *args, **kwargs):
        # each instance gets its own class, so recompile() can set forward on it alone
        if cls.__name__ != "GraphModuleImpl":
            cls = type("GraphModuleImpl", (cls,), {})
        return super().__new__(cls)

    def __init__(self, root, graph: Graph, class_name: str = "GraphModule"):
        super().__init__()
        type(self).__name__ = class_name
        if not isinstance(graph, Graph):
            raise TypeError(f"GraphModule: graph must be an fx Graph, got {type(graph).__name__}")
        if isinstance(root, Module):
            if hasattr(root, "training"):
                self.training = root.training
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    try:
                        _copy_attr(root, self, node.target)
                    except AttributeError:
                        raise RuntimeError(f"GraphModule: node {node.name} ({node.op}) targets "
                                           f"{node.target!r}, which the root module "
                                           f"{type(root).__name__} does not have") from None
        elif isinstance(root, dict):
            for node in graph.nodes:
                if node.op in ("get_attr", "call_module"):
                    if node.target not in root:
                        raise RuntimeError(f"GraphModule: node {node.name} ({node.op}) targets "
                                           f"{node.target!r}, which the root dict lacks")
                    _assign_attr(root[node.target], self, node.target)
        else:
            raise TypeError(f"GraphModule: root must be an nn.Module or a dict, got "
                            f"{type(root).__name__}")
        self.graph = graph

    @property
    def graph(self) -> Graph:
        return self._graph

    @graph.setter
    def graph(self, g: Graph) -> None:
        if not isinstance(g, Graph):
            raise TypeError(f"GraphModule.graph: expected an fx Graph, got {type(g).__name__}")
        object.__setattr__(self, "_graph", g)
        g.owning_module = self
        self.recompile()

    @property
    def code(self) -> str:
        """The Python source of ``forward``, as generated from the graph."""
        return self._code

    def recompile(self):
        """Regenerate ``code`` and ``forward`` from ``self.graph``."""
        python_code = self._graph.python_code(root_module="self")
        object.__setattr__(self, "_code", python_code.src)
        namespace = dict(python_code.globals)
        exec(compile(python_code.fn_src, f"<fx generated forward of {type(self).__name__}>",
                     "exec"), namespace)
        type(self).forward = namespace["forward"]
        return python_code

    def print_readable(self, print_output=True, include_stride=False, include_device=False,
                       colored=False) -> str:
        """The module as a class holding its generated ``forward`` (torch.fx's layout; no
        source stack traces are recorded, as the comment says)."""
        from .naming import torch_spelling
        lines = self._graph.python_code().fn_src.rstrip().splitlines()
        body = [lines[0], "    # No stacktrace found for following nodes"] + lines[1:]
        base = "torch" if torch_spelling() else "deltagrad"
        text = f"class {type(self).__name__}({base}.nn.Module):\n" + \
            "".join(f"    {line}\n" for line in body)
        if print_output:
            print(text)
        return text

    def __deepcopy__(self, memo):
        """A GraphModule with copies of the submodules, parameters, buffers and graph."""
        root = Module()
        state = {k: v for k, v in self.__dict__.items() if k not in ("_graph", "_code")}
        root.__dict__.update(copy.deepcopy(state, memo))
        result = GraphModule(root, copy.deepcopy(self._graph, memo), type(self).__name__)
        memo[id(self)] = result
        return result

    def __reduce__(self):
        raise TypeError("GraphModule cannot be pickled by deltagrad.fx (its generated forward "
                        "refers to functions by object); save its state_dict and rebuild it by "
                        "tracing, or copy.deepcopy it")

    def __str__(self):
        reminder = "# To see more debug info, please use `graph_module.print_readable()`"
        return "\n".join([super().__repr__(), self._code, reminder])
