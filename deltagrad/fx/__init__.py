"""deltagrad.fx: capture a program as a graph of operations, rewrite it, run it again
(``torch.fx``'s API).

    gm = fx.symbolic_trace(model)      # Tracer: forward run on Proxies -> Graph
    for node in gm.graph.nodes: ...    # Graph/Node: placeholder, call_function, ..., output
    gm.recompile(); gm(x)              # GraphModule: the graph as generated Python

Files: ``node.py`` (Node, map_arg), ``graph.py`` (Graph), ``codegen.py`` (graph -> Python),
``naming.py`` (node and function names), ``proxy.py`` (Proxy, TraceError),
``patching.py`` (deltagrad functions recording on Proxies, ``wrap``), ``tracer.py`` (Tracer,
symbolic_trace), ``graph_module.py`` (GraphModule), ``interpreter.py`` (Interpreter,
Transformer), ``subgraph_rewriter.py`` (replace_pattern).
"""
from .node import Node, map_arg  # noqa: F401
from .graph import Graph  # noqa: F401
from .proxy import Proxy  # noqa: F401  (TraceError, GraphAppendingTracer: in fx.proxy)
from .patching import wrap  # noqa: F401
from .tracer import Tracer, symbolic_trace  # noqa: F401
from .graph_module import GraphModule  # noqa: F401
from .interpreter import Interpreter, Transformer  # noqa: F401
from .subgraph_rewriter import replace_pattern  # noqa: F401
from . import proxy, node, graph  # noqa: F401  (torch.fx.proxy.GraphAppendingTracer, ...)

__all__ = ["Node", "map_arg", "Graph", "Proxy", "wrap", "Tracer", "symbolic_trace",
           "GraphModule", "Interpreter", "Transformer", "replace_pattern"]
