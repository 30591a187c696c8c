"""What Bayesian and Markov networks share: a set of factors over named discrete variables
(CPDs P(X_i | Pa_{X_i}) or potentials φ_i(D_i)), their state spaces, evidence checking and
the brute-force joint P(X_1, …, X_n) = (1/Z) Π_i φ_i (Z = 1 for a Bayesian network).
"""
from __future__ import annotations

import numpy as np

from .factor import DiscreteFactor, factor_product

__all__ = ["DiscreteModel"]

MAX_JOINT_SIZE = 1 << 26


class DiscreteModel:
    """Mixin: the model lists its factors in ``_model_factors()``."""

    def _model_factors(self) -> list:  # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def states(self) -> dict:
        """{variable: [state names]} of every variable some factor mentions."""
        out = {}
        for f in self._model_factors():
            for v in f.variables:
                out.setdefault(v, list(f.state_names[v]))
        return out

    def get_cardinality(self, node=None):
        """The number of states of ``node``, or {node: k} for every node."""
        states = self.states
        if node is None:
            return {v: len(states[v]) for v in self.nodes() if v in states}
        self._require(node, "get_cardinality")
        if node not in states:
            raise ValueError(f"get_cardinality: node {node!r} has no CPD/factor yet, so its "
                             "number of states is unknown")
        return len(states[node])

    def check_evidence(self, evidence, op: str, states=None) -> dict:
        """{variable: state index} for ``evidence`` ({variable: state name} or (variable,
        state) pairs); unknown variables and states raise, naming them."""
        if evidence is None:
            return {}
        if isinstance(evidence, dict):
            pairs = list(evidence.items())
        else:
            try:
                pairs = [tuple(p) for p in evidence]
            except TypeError:
                raise TypeError(f"{op}: evidence must be a dict {{variable: state}}, got "
                                f"{type(evidence).__name__}") from None
            if any(len(p) != 2 for p in pairs):
                raise TypeError(f"{op}: evidence must be a dict {{variable: state}} or "
                                f"(variable, state) pairs, got {evidence!r}")
        states = self.states if states is None else states
        out = {}
        for var, state in pairs:
            if var not in states:
                raise ValueError(f"{op}: evidence on unknown variable {var!r}; the network's "
                                 f"variables are {list(states)}")
            try:
                idx = states[var].index(state)
            except ValueError:
                raise ValueError(f"{op}: unknown state {state!r} of {var!r} in the evidence; "
                                 f"its states are {states[var]}") from None
            if var in out and out[var] != idx:
                raise ValueError(f"{op}: conflicting evidence on {var!r}")
            out[var] = idx
        return out

    def check_variables(self, variables, op: str, states=None) -> list:
        if isinstance(variables, (str, bytes)) or not np.iterable(variables):
            raise TypeError(f"{op}: variables must be a list of variable names, got "
                            f"{variables!r}")
        variables = list(variables)
        states = self.states if states is None else states
        for v in variables:
            if v not in states:
                raise ValueError(f"{op}: unknown variable {v!r}; the network's variables "
                                 f"are {list(states)}")
        if len(set(variables)) != len(variables):
            raise ValueError(f"{op}: variables repeated in {variables}")
        return variables

    def to_joint_distribution(self) -> DiscreteFactor:
        """P(X_1, …, X_n) = (1/Z) Π_i φ_i by brute force (axes in node order); only for
        small networks (at most 2^26 joint states)."""
        self.check_model()
        size = int(np.prod([float(k) for k in self.get_cardinality().values()]))
        if size > MAX_JOINT_SIZE:
            raise ValueError(f"to_joint_distribution: the joint has {size} states (more than "
                             f"{MAX_JOINT_SIZE}); use VariableElimination for queries")
        # each factor scaled to max 1 first: the normalised product is the same, and long
        # products of small numbers keep their range
        joint = factor_product(*[_scaled(f) for f in self._model_factors()])
        order = [v for v in self.nodes()]
        values = np.transpose(joint.values, [joint.variables.index(v) for v in order])
        out = DiscreteFactor(order, values.shape, values, {v: joint.state_names[v]
                                                            for v in order})
        out.normalize()
        return out

    def is_imap(self, joint: DiscreteFactor, tol=1e-10) -> bool:
        """Is this network's graph an I-map of the distribution ``joint``?"""
        from .independence import is_imap
        return is_imap(self, joint, tol)


def _scaled(factor: DiscreteFactor) -> DiscreteFactor:
    top = factor.values.max() if factor.values.size else 0
    if not top > 0:
        return factor
    return DiscreteFactor(factor.variables, factor.cardinality, factor.values / top,
                          factor.state_names)
