"""replace_pattern: find every copy of a small traced pattern in a graph, put in a replacement.

``pattern`` and ``replacement`` are functions traced to graphs. A match starts at a node of
the graph that equals the pattern's returned node (same op and target) and follows the data
edges backwards: each pattern node must meet a node of the same op and target whose inputs
match in turn; a pattern placeholder matches any value (the same one every time it is read).
Nodes inside a match, other than the one it returns, must not be read from outside it.
Matches do not overlap. Each is replaced by a copy of the replacement graph, its placeholders
bound to what the pattern's placeholders matched, inserted before the first user of the
returned value; the matched nodes are then erased.
"""
from __future__ import annotations

from dataclasses import dataclass

from .graph import Graph
from .node import Node

__all__ = ["Match", "replace_pattern"]


@dataclass
class Match:
    """``anchor``: the graph node matching the pattern's output; ``nodes_map``: pattern
    node -> graph node."""
    anchor: Node
    nodes_map: dict


def _pattern_graph(pattern) -> Graph:
    from .graph_module import GraphModule
    from .tracer import symbolic_trace
    if isinstance(pattern, Graph):
        return pattern
    if isinstance(pattern, GraphModule):
        return pattern.graph
    return symbolic_trace(pattern).graph


def _match(pattern_node: Node, node, nodes_map: dict) -> bool:
    """Extend ``nodes_map`` so that ``pattern_node``'s subgraph matches ``node``'s."""
    if not isinstance(node, Node):
        return False
    if pattern_node in nodes_map:
        return nodes_map[pattern_node] is node
    if pattern_node.op == "placeholder":
        nodes_map[pattern_node] = node
        return True
    if pattern_node.op != node.op or pattern_node.target != node.target:
        return False
    saved = dict(nodes_map)
    nodes_map[pattern_node] = node
    if _match_args(pattern_node.args, node.args, nodes_map) and \
            set(pattern_node.kwargs) == set(node.kwargs) and \
            all(_match_args(v, node.kwargs[k], nodes_map) for k, v in pattern_node.kwargs.items()):
        return True
    nodes_map.clear()
    nodes_map.update(saved)
    return False


def _match_args(p, a, nodes_map) -> bool:
    if isinstance(p, Node):
        return _match(p, a, nodes_map)
    if isinstance(p, (list, tuple)):
        return isinstance(a, (list, tuple)) and len(p) == len(a) and \
            all(_match_args(x, y, nodes_map) for x, y in zip(p, a))
    if isinstance(p, dict):
        return isinstance(a, dict) and set(p) == set(a) and \
            all(_match_args(p[k], a[k], nodes_map) for k in p)
    return not isinstance(a, Node) and type(p) is type(a) and p == a


def replace_pattern(gm, pattern, replacement) -> list:
    """Replace every non-overlapping match of ``pattern`` in ``gm.graph`` by
    ``replacement`` (see the module docstring); recompiles ``gm`` and returns the Matches."""
    original = gm.graph
    pattern_graph = _pattern_graph(pattern)
    replacement_graph = _pattern_graph(replacement)
    pattern_outputs = [n for n in pattern_graph.nodes if n.op == "output"]
    if len(pattern_outputs) != 1 or not isinstance(pattern_outputs[0].args[0], Node):
        raise ValueError("replace_pattern: the pattern must return exactly one traced value")
    pattern_anchor = pattern_outputs[0].args[0]
    pattern_inputs = [n for n in pattern_graph.nodes if n.op == "placeholder"]
    replacement_inputs = [n for n in replacement_graph.nodes if n.op == "placeholder"]
    if len(pattern_inputs) != len(replacement_inputs):
        raise ValueError(f"replace_pattern: the pattern takes {len(pattern_inputs)} inputs but "
                         f"the replacement takes {len(replacement_inputs)}; they must agree")

    matches, taken = [], set()
    for node in original.nodes:
        nodes_map = {}
        if node.op == "output" or not _match(pattern_anchor, node, nodes_map):
            continue
        inner = [nodes_map[p] for p in nodes_map if p.op != "placeholder"]
        if any(n in taken for n in inner):
            continue
        inner_set = set(inner)
        if any(u not in inner_set for n in inner if n is not node for u in n.users):
            continue  # an intermediate value is used outside the match
        taken.update(inner)
        matches.append(Match(anchor=node, nodes_map=nodes_map))

    for match in matches:
        anchor = match.anchor
        val_map = {r: match.nodes_map[p] for p, r in zip(pattern_inputs, replacement_inputs)}
        first_user = next((n for n in original.nodes if n in anchor.users), None)
        with original.inserting_before(first_user) if first_user is not None \
                else original.inserting_after(anchor):
            result = original.graph_copy(replacement_graph, val_map)
        if not isinstance(result, Node):
            raise ValueError("replace_pattern: the replacement must return exactly one traced "
                             "value")
        anchor.replace_all_uses_with(result)
        for p in reversed(list(pattern_graph.nodes)):
            n = match.nodes_map.get(p)
            if p.op not in ("placeholder", "output") and n is not None and not n.users:
                original.erase_node(n)
    gm.recompile()
    return matches
