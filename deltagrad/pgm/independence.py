"""Independencies encoded by graphs, and checked in distributions (seed 003).

Bayesian networks (d-separation). A trail X ⇌ … ⇌ Y is active given Z when every
v-structure A → W ← B on it has W or a descendant of W in Z and no other node of it is in
Z; X ⊥ Y | Z when no trail is active. ``active_trail_nodes`` is the linear-time
"reachable" walk (Koller & Friedman, Algorithm 3.1) over (node, direction) pairs. The local
independencies are I_ℓ(G) = {(X_i ⊥ ND(X_i) | Pa_{X_i})}.

Markov networks (separation). X ⊥ Y | Z when every path from X to Y passes through Z; the
local independencies are X ⊥ U − {X} − MB_H(X) | MB_H(X).

I-maps. G is an I-map of P when I(G) ⊆ I(P); for a Bayesian network this holds iff P
factorises as Π_i P(X_i | Pa_{X_i}) (the notes' two theorems), which is what ``is_imap``
checks. For a Markov network it checks the local independencies in P.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .factor import DiscreteFactor

__all__ = ["IndependenceAssertion", "active_trail_nodes", "is_dconnected",
           "local_independencies", "is_separated", "markov_local_independencies",
           "is_independent", "is_imap"]


@dataclass(frozen=True)
class IndependenceAssertion:
    """(event1 ⊥ event2 | event3); equal to its mirror (event2 ⊥ event1 | event3)."""
    event1: frozenset
    event2: frozenset
    event3: frozenset = frozenset()

    def __eq__(self, other):
        if not isinstance(other, IndependenceAssertion):
            return NotImplemented
        return self.event3 == other.event3 and (
            {self.event1, self.event2} == {other.event1, other.event2})

    def __hash__(self):
        return hash((frozenset([self.event1, self.event2]), self.event3))

    def __str__(self):
        fmt = lambda s: ", ".join(sorted(map(str, s)))  # noqa: E731
        given = f" | {fmt(self.event3)}" if self.event3 else ""
        return f"({fmt(self.event1)} \u27c2 {fmt(self.event2)}{given})"

    __repr__ = __str__


# ---------------------------------------------------------------------- d-separation
def active_trail_nodes(dag, variables, observed=None) -> dict:
    """{X: the nodes reachable from X by an active trail given ``observed``} (X included
    unless observed)."""
    variables = dag._require_all(variables, "active_trail_nodes")
    z = set(dag._require_all(observed, "active_trail_nodes (observed)"))
    ancestors_of_z = dag.get_ancestors(z) if z else set()
    parents, children = dag._parents, dag._children
    out = {}
    for start in variables:
        stack, visited, reachable = [(start, "up")], set(), set()
        while stack:
            node, direction = stack.pop()
            if (node, direction) in visited:
                continue
            visited.add((node, direction))
            if node not in z:
                reachable.add(node)
            if direction == "up" and node not in z:       # arrived from a child
                stack.extend((p, "up") for p in parents[node])
                stack.extend((c, "down") for c in children[node])
            elif direction == "down":                      # arrived from a parent
                if node not in z:
                    stack.extend((c, "down") for c in children[node])
                if node in ancestors_of_z:                 # v-structure opened by evidence
                    stack.extend((p, "up") for p in parents[node])
        out[start] = reachable
    return out


def is_dconnected(dag, start, end, observed=None) -> bool:
    """True when an active trail joins ``start`` and ``end`` given ``observed``."""
    dag._require(end, "is_dconnected")
    return end in active_trail_nodes(dag, [start], observed)[start]


def local_independencies(dag, variables=None) -> list:
    """[(X ⊥ ND(X) − Pa_X | Pa_X)] for each X in ``variables`` (default: every node) where
    that set of non-descendants is not empty."""
    variables = dag.nodes() if variables is None else dag._require_all(
        variables, "local_independencies")
    out = []
    for x in variables:
        parents = set(dag._parents[x])
        rest = set(dag.nodes()) - dag._descendants_of(x) - parents
        if rest:
            out.append(IndependenceAssertion(frozenset([x]), frozenset(rest),
                                             frozenset(parents)))
    return out


# ---------------------------------------------------------------------- separation
def is_separated(graph, start, end, observed=None) -> bool:
    """True when every path between the node sets ``start`` and ``end`` of an undirected
    graph passes through ``observed``."""
    a = set(graph._require_all(start, "is_separated"))
    b = set(graph._require_all(end, "is_separated"))
    z = set(graph._require_all(observed, "is_separated (observed)"))
    if (a | b) & z or a & b:
        raise ValueError(f"is_separated: the sets {sorted(map(str, a))}, "
                         f"{sorted(map(str, b))} and the observed {sorted(map(str, z))} must "
                         "not overlap")
    seen, stack = set(a), list(a)
    while stack:
        for n in graph._nbrs[stack.pop()]:
            if n in b:
                return False
            if n not in seen and n not in z:
                seen.add(n)
                stack.append(n)
    return True


def markov_local_independencies(graph) -> list:
    """[(X ⊥ U − {X} − MB(X) | MB(X))] for every X with a non-neighbour."""
    out = []
    nodes = set(graph.nodes())
    for x in graph.nodes():
        mb = set(graph._nbrs[x])
        rest = nodes - mb - {x}
        if rest:
            out.append(IndependenceAssertion(frozenset([x]), frozenset(rest), frozenset(mb)))
    return out


# ---------------------------------------------------------------------- in a distribution
def _marginal(joint: DiscreteFactor, keep) -> np.ndarray:
    """Σ over the other variables, axes broadcast against ``joint``'s (size 1 for summed)."""
    axes = tuple(i for i, v in enumerate(joint.variables) if v not in keep)
    return joint.values.sum(axis=axes, keepdims=True)


def is_independent(joint: DiscreteFactor, x, y, z=(), tol=1e-10) -> bool:
    """Does X ⊥ Y | Z hold in the distribution ``joint`` (any non-negative table, normalised
    here)? Checks P(X, Y, Z) P(Z) = P(X, Z) P(Y, Z) for every state, to ``tol``."""
    x, y, z = (set(s) if not isinstance(s, (str, bytes)) and np.iterable(s) else {s}
               for s in (x, y, z))
    unknown = (x | y | z) - set(joint.variables)
    if unknown:
        raise ValueError(f"is_independent: variables {sorted(map(str, unknown))} are not in "
                         f"the distribution's scope {joint.variables}")
    p = joint.copy()
    p.normalize()
    pxyz, pz = _marginal(p, x | y | z), _marginal(p, z)
    pxz, pyz = _marginal(p, x | z), _marginal(p, y | z)
    return bool(np.allclose(pxyz * pz, pxz * pyz, rtol=0, atol=tol))


def is_imap(model, joint: DiscreteFactor, tol=1e-10) -> bool:
    """Is the model's graph an I-map of the distribution ``joint`` (I(G) ⊆ I(P))?

    Bayesian network: P = Π_i P(X_i | Pa_{X_i}) with the conditionals taken from P itself.
    Markov network: every local independence X ⊥ U − {X} − MB(X) | MB(X) holds in P.
    """
    from .graph import DAG
    if not isinstance(joint, DiscreteFactor):
        raise TypeError(f"is_imap: expected the joint distribution as a DiscreteFactor, got "
                        f"{type(joint).__name__}")
    if set(joint.variables) != set(model.nodes()):
        raise ValueError(f"is_imap: the distribution is over {joint.variables} but the "
                         f"network's nodes are {model.nodes()}")
    if not isinstance(model, DAG):
        return all(is_independent(joint, a.event1, a.event2, a.event3, tol)
                   for a in markov_local_independencies(model))
    p = joint.copy()
    p.normalize()
    product = np.ones_like(p.values)
    for x in model.nodes():
        family = _marginal(p, {x} | set(model._parents[x]))
        parents = family.sum(axis=p.variables.index(x), keepdims=True)
        cond = np.divide(family, parents, out=np.zeros_like(family), where=parents > 0)
        product = product * cond
    return bool(np.allclose(product, p.values, rtol=0, atol=tol))

