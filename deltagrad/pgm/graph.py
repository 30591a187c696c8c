"""The two graphs under the models: a directed acyclic graph (Bayesian networks) and an
undirected graph (Markov networks). Pure structure, no numbers; nodes keep their insertion
order, every walk is iterative. The independence questions asked of them live in
``independence.py``.
"""
from __future__ import annotations

from typing import Iterable

__all__ = ["DAG", "UndirectedGraph"]


def _pairs(ebunch, what):
    if ebunch is None:
        return []
    out = []
    for e in ebunch:
        if not (isinstance(e, (tuple, list)) and len(e) == 2):
            raise ValueError(f"{what}: each edge must be a pair (u, v), got {e!r}")
        out.append((e[0], e[1]))
    return out



def _check_hashable(node) -> None:
    """Node names are dict keys: refuse an unhashable one by name."""
    try:
        hash(node)
    except TypeError:
        raise TypeError(f"add_node: node names must be hashable, got {node!r}") from None

class _Graph:
    def _require(self, node, op):
        if node not in self._nbrs:
            raise ValueError(f"{op}: node {node!r} is not in the network (nodes: "
                             f"{self.nodes()})")

    def _require_all(self, nodes, op) -> list:
        if nodes is None:
            return []
        if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Iterable):
            nodes = [nodes]
        nodes = list(nodes)
        for n in nodes:
            self._require(n, op)
        return nodes

    def nodes(self) -> list:
        return list(self._nbrs)

    def __contains__(self, node) -> bool:
        return node in self._nbrs

    def __len__(self) -> int:
        return len(self._nbrs)

    def number_of_nodes(self) -> int:
        return len(self._nbrs)

    def add_nodes_from(self, nodes):
        for n in nodes:
            self.add_node(n)

    def add_edges_from(self, ebunch):
        for u, v in _pairs(ebunch, "add_edges_from"):
            self.add_edge(u, v)

    def _changed(self):
        """Structures derived from the graph are stale."""


class DAG(_Graph):
    """A directed acyclic graph; an edge that would close a cycle raises."""

    def __init__(self, ebunch=None):
        self._nbrs: dict = {}        # node -> None (ordered set of nodes)
        self._parents: dict = {}
        self._children: dict = {}
        self.add_edges_from(ebunch)

    def add_node(self, node):
        _check_hashable(node)
        if node not in self._nbrs:
            self._nbrs[node] = None
            self._parents[node] = []
            self._children[node] = []
            self._changed()

    def add_edge(self, u, v):
        if u == v:
            raise ValueError(f"add_edge: self-loop {u!r} -> {v!r}; a Bayesian network is a "
                             "directed acyclic graph")
        if u in self._nbrs and v in self._nbrs:
            if u in self._parents[v]:
                return
            if u in self._descendants_of(v):
                raise ValueError(f"add_edge: loops are not allowed; the edge {u!r} -> {v!r} "
                                 f"closes a directed cycle (a path {v!r} -> ... -> {u!r} "
                                 "exists)")
        self.add_node(u)
        self.add_node(v)
        self._parents[v].append(u)
        self._children[u].append(v)
        self._changed()

    def edges(self) -> list:
        return [(u, v) for u in self._nbrs for v in self._children[u]]

    def get_parents(self, node) -> list:
        self._require(node, "get_parents")
        return list(self._parents[node])

    def get_children(self, node) -> list:
        self._require(node, "get_children")
        return list(self._children[node])

    def get_roots(self) -> list:
        return [n for n in self._nbrs if not self._parents[n]]

    def get_leaves(self) -> list:
        return [n for n in self._nbrs if not self._children[n]]

    def _descendants_of(self, node) -> set:
        seen, stack = {node}, [node]
        while stack:
            for c in self._children[stack.pop()]:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen

    def get_descendants(self, node) -> set:
        """The descendants of ``node`` (without it)."""
        self._require(node, "get_descendants")
        return self._descendants_of(node) - {node}

    def get_ancestors(self, nodes) -> set:
        """``nodes`` and all their ancestors."""
        nodes = self._require_all(nodes, "get_ancestors")
        seen, stack = set(nodes), list(nodes)
        while stack:
            for p in self._parents[stack.pop()]:
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen

    _get_ancestors_of = get_ancestors  # pgmpy's name

    def topological_order(self) -> list:
        """Kahn's algorithm; ties keep insertion order."""
        indeg = {n: len(self._parents[n]) for n in self._nbrs}
        ready = [n for n in self._nbrs if indeg[n] == 0]
        order = []
        while ready:
            n = ready.pop(0)
            order.append(n)
            for c in self._children[n]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    ready.append(c)
        return order

    def moralize(self) -> "UndirectedGraph":
        """The moral graph: parents of a common child are married, directions dropped."""
        g = UndirectedGraph()
        g.add_nodes_from(self._nbrs)
        for v in self._nbrs:
            pa = self._parents[v]
            for i, u in enumerate(pa):
                g.add_edge(u, v)
                for w in pa[i + 1:]:
                    g.add_edge(u, w)
        return g

    # independence questions (independence.py)
    def active_trail_nodes(self, variables, observed=None) -> dict:
        from .independence import active_trail_nodes
        return active_trail_nodes(self, variables, observed)

    def is_dconnected(self, start, end, observed=None) -> bool:
        from .independence import is_dconnected
        return is_dconnected(self, start, end, observed)

    def is_dseparated(self, start, end, observed=None) -> bool:
        from .independence import is_dconnected
        return not is_dconnected(self, start, end, observed)

    def local_independencies(self, variables=None) -> list:
        from .independence import local_independencies
        return local_independencies(self, variables)


class UndirectedGraph(_Graph):
    """An undirected graph without self-loops."""

    def __init__(self, ebunch=None):
        self._nbrs: dict = {}        # node -> {neighbour: None}
        self.add_edges_from(ebunch)

    def add_node(self, node):
        _check_hashable(node)
        if node not in self._nbrs:
            self._nbrs[node] = {}
            self._changed()

    def add_edge(self, u, v):
        if u == v:
            raise ValueError(f"add_edge: self-loop on {u!r}")
        self.add_node(u)
        self.add_node(v)
        if v not in self._nbrs[u]:
            self._nbrs[u][v] = None
            self._nbrs[v][u] = None
            self._changed()

    def edges(self) -> list:
        seen, out = set(), []
        for u in self._nbrs:
            for v in self._nbrs[u]:
                if v not in seen:
                    out.append((u, v))
            seen.add(u)
        return out

    def neighbors(self, node) -> list:
        self._require(node, "neighbors")
        return list(self._nbrs[node])

    def markov_blanket(self, node) -> list:
        """MB_H(X): the neighbours of X in H (seed 003)."""
        self._require(node, "markov_blanket")
        return list(self._nbrs[node])

    def is_clique(self, nodes) -> bool:
        nodes = list(nodes)
        return all(v in self._nbrs[u] for i, u in enumerate(nodes) for v in nodes[i + 1:])

    def is_separated(self, start, end, observed=None) -> bool:
        from .independence import is_separated
        return is_separated(self, start, end, observed)

    def local_independencies(self) -> list:
        from .independence import markov_local_independencies
        return markov_local_independencies(self)

    get_local_independencies = local_independencies  # pgmpy's name
