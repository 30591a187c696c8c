"""Bayesian networks (seed 003): a DAG G over X_1 … X_n with one CPD per node, so that

    P(X_1, …, X_n) = Π_i P(X_i | Pa_{X_i}).

The notes' student network P(D, I, G, S, L) = P(D) P(I) P(S | I) P(G | D, I) P(L | G) needs
1 + 1 + 2 + 8 + 3 = 15 numbers instead of the full joint's 2·2·3·2·2 − 1 = 47
(``number_of_parameters`` / ``number_of_joint_parameters``).

Parameter learning (``fit``) counts N[x, u] (X = x with parents Pa = u) in a data table:

    maximum likelihood   θ_{x|u} = N[x, u] / Σ_x' N[x', u]
    "laplace" (K2)       θ_{x|u} = (N[x, u] + 1) / Σ_x' (N[x', u] + 1)
    "BDeu"               θ_{x|u} = (N[x, u] + α) / Σ_x' (N[x', u] + α),
                         α = equivalent_sample_size / (|Val(X)| · |Val(Pa)|)

(a parent state never seen under maximum likelihood gets the uniform column).
"""
from __future__ import annotations

import numpy as np

from .cpd import COLUMN_SUM_TOLERANCE, TabularCPD
from .graph import DAG
from .model import DiscreteModel

__all__ = ["BayesianNetwork", "DiscreteBayesianNetwork"]

PRIORS = (None, "laplace", "k2", "bdeu")


class BayesianNetwork(DAG, DiscreteModel):
    """A discrete Bayesian network; ``BayesianNetwork([("D", "G"), ("I", "G")])``."""

    def __init__(self, ebunch=None):
        self.cpds: list = []
        super().__init__(ebunch)

    def _model_factors(self) -> list:
        return self.cpds

    # ------------------------------------------------------------------ CPDs
    def add_cpds(self, *cpds):
        """Attach CPDs; a CPD for a node that has one replaces it."""
        for cpd in cpds:
            if not isinstance(cpd, TabularCPD):
                raise TypeError(f"add_cpds: expected TabularCPD objects, got "
                                f"{type(cpd).__name__}")
            unknown = [v for v in cpd.variables if v not in self]
            if unknown:
                raise ValueError(f"add_cpds: the CPD of {cpd.variable!r} is defined on "
                                 f"variables {unknown} that are not in the network")
            self.cpds = [c for c in self.cpds if c.variable != cpd.variable] + [cpd]

    def get_cpds(self, node=None):
        """The CPD of ``node`` (None if it has none yet), or the list of all CPDs."""
        if node is None:
            return list(self.cpds)
        self._require(node, "get_cpds")
        return next((c for c in self.cpds if c.variable == node), None)

    def remove_cpds(self, *cpds):
        for cpd in cpds:
            name = cpd.variable if isinstance(cpd, TabularCPD) else cpd
            self.cpds = [c for c in self.cpds if c.variable != name]

    def check_model(self) -> bool:
        """Every node has a CPD whose evidence is exactly its parents, every column sums to 1
        and the CPDs agree on each variable's states (the graph is acyclic by construction)."""
        states = {}
        for node in self.nodes():
            cpd = self.get_cpds(node)
            if cpd is None:
                raise ValueError(f"check_model: node {node!r} has no CPD")
            if set(cpd.get_evidence()) != set(self._parents[node]) or \
                    len(cpd.get_evidence()) != len(self._parents[node]):
                raise ValueError(f"check_model: the CPD of {node!r} has evidence "
                                 f"{cpd.get_evidence()} but its parents in the graph are "
                                 f"{self._parents[node]}")
            sums = cpd.get_values().sum(axis=0)
            if np.abs(sums - 1).max() > COLUMN_SUM_TOLERANCE:
                raise ValueError(f"check_model: a column of the CPD of {node!r} sums to "
                                 f"{sums[np.abs(sums - 1).argmax()]:.6g}, not 1")
            states[node] = cpd.state_names[node]
        for cpd in self.cpds:
            for v in cpd.get_evidence():
                if list(cpd.state_names[v]) != list(states[v]):
                    raise ValueError(f"check_model: the CPD of {cpd.variable!r} gives parent "
                                     f"{v!r} the states {cpd.state_names[v]} but its own CPD "
                                     f"has {states[v]}")
        return True

    # ------------------------------------------------------------------ the joint
    def number_of_parameters(self) -> int:
        """Free parameters of the factorised joint: Σ_i (|Val(X_i)| − 1) · |Val(Pa_i)|."""
        card = self.get_cardinality()
        return int(sum((card[x] - 1) * int(np.prod([card[p] for p in self._parents[x]]))
                       for x in self.nodes()))

    def number_of_joint_parameters(self) -> int:
        """Free parameters of the full joint table: Π_i |Val(X_i)| − 1."""
        return int(np.prod(list(self.get_cardinality().values()))) - 1

    def get_state_probability(self, state: dict) -> float:
        """P(x_1, …, x_n) = Π_i P(x_i | pa_i) of one full assignment {variable: state}."""
        self.check_model()
        idx = self.check_evidence(state, "get_state_probability")
        missing = [v for v in self.nodes() if v not in idx]
        if missing:
            raise ValueError(f"get_state_probability: give a state for every variable "
                             f"(missing {missing})")
        return float(np.prod([c.values[tuple(idx[v] for v in c.variables)]
                              for c in self.cpds]))

    # ------------------------------------------------------------------ conversions
    def to_markov_network(self):
        """Moralise: marry co-parents, drop directions, keep the CPDs as factors."""
        from .markov import MarkovNetwork
        self.check_model()
        mn = MarkovNetwork()
        mn.add_nodes_from(self.nodes())              # same node order as the network
        mn.add_edges_from(self.moralize().edges())
        mn.add_factors(*[c.to_factor() for c in self.cpds])
        return mn

    to_markov_model = to_markov_network  # pgmpy's name

    # ------------------------------------------------------------------ data
    def simulate(self, n_samples=10, evidence=None, seed=None) -> dict:
        """Draw ``n_samples`` joint states by ancestral (forward) sampling, or by rejection
        sampling when ``evidence`` is given; {variable: array of state names}."""
        from .sampling import BayesianModelSampling
        sampler = BayesianModelSampling(self)
        if evidence:
            return sampler.rejection_sample(evidence, n_samples, seed)
        return sampler.forward_sample(n_samples, seed)

    def fit(self, data, prior=None, equivalent_sample_size=5, state_names=None):
        """Estimate every CPD from ``data`` (a pandas DataFrame or a dict of equal-length
        columns, one per node) by maximum likelihood (``prior=None``) or with a "laplace"
        (K2) or "BDeu" prior; replaces the CPDs and returns ``self``."""
        key = prior.lower() if isinstance(prior, str) else prior
        if key not in PRIORS:
            raise ValueError(f"fit: prior must be None, 'laplace' (or 'K2') or 'BDeu', got "
                             f"{prior!r}")
        if not equivalent_sample_size > 0:
            raise ValueError(f"fit: equivalent_sample_size must be > 0, got "
                             f"{equivalent_sample_size}")
        if not self.nodes():
            raise ValueError("fit: the network has no nodes")
        codes, names = _encode(data, self.nodes(), state_names or {})
        cpds = []
        for x in self.nodes():
            pa = self._parents[x]
            cards = [len(names[x])] + [len(names[p]) for p in pa]
            flat = np.ravel_multi_index([codes[x]] + [codes[p] for p in pa], cards)
            counts = np.bincount(flat, minlength=int(np.prod(cards))).reshape(cards[0], -1)
            counts = counts.astype(np.float64)
            if key in ("laplace", "k2"):
                counts += 1.0
            elif key == "bdeu":
                counts += equivalent_sample_size / counts.size
            totals = counts.sum(axis=0, keepdims=True)
            table = np.divide(counts, totals, out=np.full_like(counts, 1.0 / cards[0]),
                              where=totals > 0)
            cpds.append(TabularCPD(x, cards[0], table, pa or None, cards[1:] or None,
                                   {v: names[v] for v in [x] + pa}))
        self.cpds = []
        self.add_cpds(*cpds)
        return self


def _encode(data, nodes, state_names) -> tuple:
    """Integer codes of each node's column and its state names (given, else the sorted
    distinct values)."""
    codes, names = {}, {}
    n = None
    for v in nodes:
        try:
            column = np.asarray(data[v])
        except (KeyError, IndexError, ValueError, TypeError):
            raise ValueError(f"fit: the data has no column for node {v!r}") from None
        if column.ndim != 1:
            raise ValueError(f"fit: column {v!r} must be one-dimensional, got shape "
                             f"{column.shape}")
        if n is None:
            n = len(column)
        elif len(column) != n:
            raise ValueError(f"fit: column {v!r} has {len(column)} rows, others have {n}")
        uniq, inverse = np.unique(column, return_inverse=True)
        if v in state_names:
            given = list(state_names[v])
            lookup = {s: i for i, s in enumerate(given)}
            unknown = [u for u in uniq.tolist() if u not in lookup]
            if unknown:
                raise ValueError(f"fit: column {v!r} holds values {unknown} that are not "
                                 f"among its state names {given}")
            codes[v] = np.array([lookup[u] for u in uniq.tolist()], dtype=np.int64)[inverse]
            names[v] = given
        else:
            codes[v] = inverse.astype(np.int64).ravel()
            names[v] = uniq.tolist()
    if not n:
        raise ValueError("fit: the data has no rows")
    return codes, names


DiscreteBayesianNetwork = BayesianNetwork
