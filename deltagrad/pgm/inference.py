"""Exact inference by variable elimination.

A query P(Q | E = e) ∝ Σ_{H} Π_i φ_i[E = e] (H: the other variables) is answered by
eliminating the variables of H one at a time: the factors that mention X are multiplied and
X is summed out (one ``einsum`` per step),

    τ(N(X)) = Σ_x Π_{i: X ∈ D_i} φ_i(D_i),

and τ replaces them. The cost is set by the largest τ, so the order matters; it is chosen
greedily on the interaction graph (an edge between variables that share a factor):

    "min-neighbors"      fewest neighbours
    "min-weight"         smallest Π_{Y ∈ N(X)} |Val(Y)|
    "min-fill"           fewest edges added between the neighbours
    "weighted-min-fill"  smallest Σ over added edges of |Val(U)|·|Val(V)|
    "greedy" (default)   smallest τ, ties broken by fewest fill edges

(pgmpy's spellings ``MinFill``, ``MinNeighbors``, ``MinWeight``, ``WeightedMinFill`` are
accepted), or a list naming every variable to eliminate. For a Bayesian network only the
ancestors of Q ∪ E take part (a barren node sums to 1). Messages are rescaled by their
maximum when they leave [1e-100, 1e100] and the scale kept as a logarithm, so long products
cannot underflow. Evidence of probability zero raises instead of returning NaN.

``map_query`` sums out H first and then maximises over Q with back-pointers:
argmax_q Σ_h P(q, h | e) (pgmpy's MAP over the named variables).
"""
from __future__ import annotations

import heapq
import math

import numpy as np

from .factor import DiscreteFactor, contract
from .graph import DAG

__all__ = ["VariableElimination", "elimination_order", "HEURISTICS"]

HEURISTICS = ("greedy", "min-fill", "min-neighbors", "min-weight", "weighted-min-fill")
_ALIASES = {h.replace("-", ""): h for h in HEURISTICS}
_LOW, _HIGH = 1e-100, 1e100


def _heuristic_name(order) -> str:
    key = str(order).lower().replace("-", "").replace("_", "")
    if key not in _ALIASES:
        raise ValueError(f"elimination_order: unknown heuristic {order!r}; use one of "
                         f"{list(HEURISTICS)} or a list of the variables to eliminate")
    return _ALIASES[key]


def elimination_order(scopes, eliminate, cardinality, method="greedy") -> list:
    """A greedy order for eliminating the variables ``eliminate`` from factors with the given
    ``scopes`` (lists of variables), by the heuristic ``method``."""
    method = _heuristic_name(method)
    adj = {}
    for scope in scopes:
        for u in scope:
            nb = adj.setdefault(u, set())
            nb.update(w for w in scope if w != u)
    for v in eliminate:
        adj.setdefault(v, set())
    remaining = set(eliminate)
    order = []

    def fill(v):            # edges missing between the neighbours of v (set ops in C)
        nb = adj[v]
        return sum(len(nb - adj[a]) - 1 for a in nb) // 2

    def weighted_fill(v):
        nb = list(adj[v])
        return sum(cardinality[a] * cardinality[b]
                   for i, a in enumerate(nb) for b in nb[i + 1:] if b not in adj[a])

    def cost(v):
        if method == "min-neighbors":
            return len(adj[v])
        if method == "min-weight":
            return math.prod(cardinality[u] for u in adj[v])
        if method == "min-fill":
            return fill(v)
        if method == "weighted-min-fill":
            return weighted_fill(v)
        return (math.prod(cardinality[u] for u in adj[v]), fill(v))

    position = {v: i for i, v in enumerate(eliminate)}     # deterministic ties
    costs = {v: cost(v) for v in remaining}
    heap = [(c, position[v], v) for v, c in costs.items()]
    heapq.heapify(heap)
    while remaining:
        c, _, v = heapq.heappop(heap)
        if v not in remaining or costs[v] != c:             # a stale entry
            continue
        order.append(v)
        remaining.discard(v)
        nb = adj.pop(v)
        added = []
        for a in nb:
            adj[a].discard(v)
            new_nb = nb - adj[a]
            new_nb.discard(a)
            added.extend((a, b) for b in new_nb)
            adj[a] |= new_nb
        touched = set(nb)
        if method not in ("min-neighbors", "min-weight"):
            for a, b in added:          # a new edge a — b changes the fill of their common
                touched |= adj[a] & adj[b]              # neighbours
        for u in touched & remaining:
            new = cost(u)
            if new != costs[u]:
                costs[u] = new
                heapq.heappush(heap, (new, position[u], u))
    return order


_greedy_order = elimination_order  # the methods' argument of that name shadows it


class VariableElimination:
    """Exact queries on a ``BayesianNetwork`` or ``MarkovNetwork`` (checked and snapshotted
    here: build a new one after changing the model)."""

    def __init__(self, model):
        model.check_model()
        self.model = model
        self.variables = model.nodes()
        self.states = model.states
        self.cardinality = {v: len(s) for v, s in self.states.items()}
        self._factors = []
        for f in model._model_factors():
            values = np.ascontiguousarray(f.values, dtype=np.float64)
            positive = values[values > 0]
            tiny = positive.size > 0 and positive.min() < _LOW
            self._factors.append((values, tuple(f.variables), tiny))
        self._is_bn = isinstance(model, DAG)
        if self._is_bn:
            self._factor_of = {f[1][0]: i for i, f in enumerate(self._factors)}
        self._plans = {}

    # ------------------------------------------------------------------ planning
    def _plan(self, variables, evidence_vars, order):
        """(indices of the factors that take part, elimination order), cached per question."""
        key = (tuple(variables), frozenset(evidence_vars),
               order if isinstance(order, str) else None)
        plan = self._plans.get(key)
        if plan is not None:
            return plan
        if self._is_bn:
            keep = self.model.get_ancestors(list(variables) + list(evidence_vars))
            used = sorted(self._factor_of[v] for v in keep)
        else:
            used = list(range(len(self._factors)))
        scopes = [[v for v in self._factors[i][1] if v not in evidence_vars] for i in used]
        present = dict.fromkeys(v for scope in scopes for v in scope)
        eliminate = [v for v in present if v not in variables]
        if isinstance(order, str):
            seq = elimination_order(scopes, eliminate, self.cardinality, order)
        else:
            seq = self._check_order(order, variables, evidence_vars, eliminate)
        plan = (used, seq)
        if isinstance(order, str):
            self._plans[key] = plan
        return plan

    def _check_order(self, order, variables, evidence_vars, eliminate):
        if isinstance(order, (bytes, dict)) or not np.iterable(order):
            raise TypeError(f"query: elimination_order must be a heuristic name or a list of "
                            f"variables, got {order!r}")
        order = list(order)
        bad = [v for v in order if v in variables or v in evidence_vars]
        if bad:
            raise ValueError(f"query: elimination_order must not contain query or evidence "
                             f"variables, found {bad}")
        unknown = [v for v in order if v not in self.cardinality]
        if unknown:
            raise ValueError(f"query: elimination_order names unknown variables {unknown}")
        if len(set(order)) != len(order):
            raise ValueError(f"query: elimination_order repeats variables: {order}")
        missing = [v for v in eliminate if v not in order]
        if missing and not self._is_bn:
            raise ValueError(f"query: elimination_order must list every variable to "
                             f"eliminate; missing {missing}")
        # for a Bayesian network the order may name pruned (barren) variables: skip them;
        # variables it leaves out are eliminated last in model order.
        return [v for v in order if v in eliminate] + missing

    # ------------------------------------------------------------------ running
    def _reduced(self, used, evidence):
        """Working factors [values, scope] with the evidence slices taken."""
        work = []
        log_scale = 0.0
        for i in used:
            values, scope, tiny = self._factors[i]
            if any(v in evidence for v in scope):
                values = values[tuple(evidence.get(v, slice(None)) for v in scope)]
                scope = tuple(v for v in scope if v not in evidence)
                if tiny:
                    values, log_scale = _rescale(values, log_scale)
            work.append((values, scope))
        return work, log_scale

    def _sum_out(self, work, seq, log_scale):
        for v in seq:
            bucket = [f for f in work if v in f[1]]
            if not bucket:
                continue
            work = [f for f in work if v not in f[1]]
            scope = []
            for _, s in bucket:
                scope.extend(u for u in s if u != v and u not in scope)
            values = _product(bucket, scope)
            values, log_scale = _rescale(values, log_scale)
            work.append((values, tuple(scope)))
        return work, log_scale

    def _prepare(self, variables, evidence, op):
        variables = self.model.check_variables(variables, op, self.states)
        if not variables and op == "query":
            raise ValueError("query: `variables` must name at least one variable")
        ev = self.model.check_evidence(evidence, op, self.states)
        common = [v for v in variables if v in ev]
        if common:
            raise ValueError(f"{op}: variables {common} are both queried and observed")
        return variables, ev

    def query(self, variables, evidence=None, elimination_order="greedy", joint=True,
              show_progress=False):
        """P(variables | evidence) as a normalised ``DiscreteFactor`` (axes in the order of
        ``variables``), or {variable: its marginal} when ``joint=False``."""
        variables, ev = self._prepare(variables, evidence, "query")
        used, seq = self._plan(variables, ev, elimination_order)
        work, log_scale = self._reduced(used, ev)
        work, log_scale = self._sum_out(work, seq, log_scale)
        values = _product(work, variables) if work else np.ones(())
        total = values.sum()
        if not total > 0:
            raise ValueError(f"query: the evidence {dict(evidence or {})} has probability "
                             "zero, so the conditional distribution is undefined")
        values = values / total
        result = DiscreteFactor(variables, values.shape, values,
                                {v: self.states[v] for v in variables})
        if joint:
            return result
        return {v: result.marginalize([u for u in variables if u != v], inplace=False)
                for v in variables}

    def map_query(self, variables=None, evidence=None, elimination_order="greedy",
                  show_progress=False) -> dict:
        """argmax_q P(Q = q | evidence) over ``variables`` (default: every unobserved
        variable), the others summed out; {variable: state name}."""
        ev = self.model.check_evidence(evidence, "map_query", self.states)
        if variables is None:
            variables = [v for v in self.variables if v not in ev]
        variables, ev = self._prepare(variables, evidence, "map_query")
        if not variables:
            raise ValueError("map_query: no unobserved variable to maximise over")
        used, seq = self._plan(variables, ev, elimination_order)
        work, log_scale = self._reduced(used, ev)
        work, log_scale = self._sum_out(work, seq, log_scale)
        max_order = _greedy_order(
            [s for _, s in work], variables, self.cardinality,
            elimination_order if isinstance(elimination_order, str) else "greedy")
        pointers = []
        for v in max_order:
            bucket = [f for f in work if v in f[1]]
            work = [f for f in work if v not in f[1]]
            scope = []
            for _, s in bucket:
                scope.extend(u for u in s if u != v and u not in scope)
            table = _product(bucket, scope + [v])
            pointers.append((v, tuple(scope), table.argmax(axis=-1)))
            values, log_scale = _rescale(table.max(axis=-1), log_scale)
            work.append((values, tuple(scope)))
        best = math.prod(float(vals) for vals, _ in work)
        if not best > 0:
            raise ValueError(f"map_query: the evidence {dict(evidence or {})} has "
                             "probability zero")
        assignment = {}
        for v, scope, arg in reversed(pointers):
            assignment[v] = int(arg[tuple(assignment[u] for u in scope)])
        return {v: self.states[v][assignment[v]] for v in variables}

    def evidence_probability(self, evidence) -> float:
        """P(E = e) (for a Markov network: the unnormalised Σ_h Π_i φ_i(h, e))."""
        ev = self.model.check_evidence(evidence, "evidence_probability", self.states)
        used, seq = self._plan((), ev, "greedy")
        work, log_scale = self._reduced(used, ev)
        work, log_scale = self._sum_out(work, seq, log_scale)
        return math.prod(float(vals) for vals, _ in work) * math.exp(log_scale)

    def partition_function_parts(self):
        """(m, s) with Σ_x Π_i φ_i = m · e^s (s = 0 unless a message was rescaled)."""
        used = list(range(len(self._factors)))
        scopes = [list(self._factors[i][1]) for i in used]
        order = elimination_order(scopes, list(self.variables), self.cardinality)
        work, log_scale = self._reduced(used, {})
        work, log_scale = self._sum_out(work, order, log_scale)
        return math.prod(float(vals) for vals, _ in work), log_scale

    def induced_width(self, elimination_order) -> int:
        """Largest number of variables in an intermediate factor, minus one."""
        scopes = [set(s) for _, s, _ in self._factors]
        width = 0
        for v in elimination_order:
            bucket = [s for s in scopes if v in s]
            merged = set().union(*bucket) if bucket else {v}
            width = max(width, len(merged) - 1)
            scopes = [s for s in scopes if v not in s] + [merged - {v}]
        return width


def _product(factors, out_vars) -> np.ndarray:
    """Π of the (values, scope) factors, summed onto ``out_vars``: pairwise ``einsum``."""
    if len(factors) == 1:
        values, scope = factors[0]
        if tuple(scope) == tuple(out_vars):
            return values
        return contract([(values, scope)], out_vars, optimize=False)
    if len(factors) == 2:
        return contract(factors, out_vars, optimize=False)
    # multiply the smallest two first, carrying every variable still needed later
    factors = sorted(factors, key=lambda f: f[0].size)
    acc_values, acc_scope = factors[0]
    for k, (values, scope) in enumerate(factors[1:], start=1):
        later = set(out_vars)
        for _, s in factors[k + 1:]:
            later.update(s)
        new_scope = [u for u in list(acc_scope) + [w for w in scope if w not in acc_scope]
                     if u in later]
        if k == len(factors) - 1:
            new_scope = list(out_vars)
        acc_values = contract([(acc_values, acc_scope), (values, scope)], new_scope,
                              optimize=False)
        acc_scope = tuple(new_scope)
    return acc_values


def _rescale(values, log_scale):
    m = values.max() if values.size else 0.0
    if m > 0 and not (_LOW <= m <= _HIGH):
        return values / m, log_scale + math.log(m)
    return values, log_scale
