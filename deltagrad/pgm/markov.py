"""Markov networks (seed 003): an undirected graph H with factors φ_i(D_i) on its cliques
(edges or maximal cliques) and the Gibbs distribution

    P(X_1, …, X_n) = (1/Z) Π_i φ_i(D_i),      Z = Σ_{x_1 … x_n} Π_i φ_i(D_i).

The notes' misconception network A — B — C — D — A with φ₁(A,B) = (30, 5, 1, 10),
φ₂(B,C) = (100, 1, 1, 100), φ₃(C,D) = (1, 100, 100, 1), φ₄(D,A) = (100, 1, 1, 100) has
Z = 7,201,840. Z is computed by variable elimination with rescaled (log-space) messages, so
products of many factors do not underflow; ``log_partition_function`` gives log Z.
"""
from __future__ import annotations

import numpy as np

from .factor import DiscreteFactor, _check_compatible
from .graph import UndirectedGraph
from .model import DiscreteModel

__all__ = ["MarkovNetwork", "DiscreteMarkovNetwork"]


class MarkovNetwork(UndirectedGraph, DiscreteModel):
    """A discrete Markov network; ``MarkovNetwork([("A", "B"), ("B", "C")])``."""

    def __init__(self, ebunch=None):
        self.factors: list = []
        super().__init__(ebunch)

    def _model_factors(self) -> list:
        return self.factors

    def add_factors(self, *factors):
        """Attach factors; each factor's scope must be a clique of the graph."""
        for phi in factors:
            if not isinstance(phi, DiscreteFactor):
                raise TypeError(f"add_factors: expected DiscreteFactor objects, got "
                                f"{type(phi).__name__}")
            unknown = [v for v in phi.variables if v not in self]
            if unknown:
                raise ValueError(f"add_factors: factor on {phi.variables} mentions variables "
                                 f"{unknown} that are not in the network")
            if not self.is_clique(phi.variables):
                raise ValueError(f"add_factors: the scope {phi.variables} of a factor is not "
                                 "a clique of the graph (add the edges between its variables)")
            for other in self.factors:
                _check_compatible(other, phi, "add_factors")
            self.factors.append(phi)

    def get_factors(self, node=None) -> list:
        """All factors, or those whose scope contains ``node``."""
        if node is None:
            return list(self.factors)
        self._require(node, "get_factors")
        return [f for f in self.factors if node in f.variables]

    def remove_factors(self, *factors):
        for phi in factors:
            self.factors = [f for f in self.factors if f is not phi]

    def check_model(self) -> bool:
        """Every node is in some factor, every factor's scope is a clique, and the factors
        agree on each variable's states."""
        covered = {v for f in self.factors for v in f.variables}
        missing = [n for n in self.nodes() if n not in covered]
        if missing:
            raise ValueError(f"check_model: nodes {missing} are in no factor (their states "
                             "are unknown)")
        for i, f in enumerate(self.factors):
            if not self.is_clique(f.variables):
                raise ValueError(f"check_model: the scope {f.variables} of a factor is not a "
                                 "clique of the graph")
            for g in self.factors[i + 1:]:
                _check_compatible(f, g, "check_model")
        return True

    def log_partition_function(self) -> float:
        """log Z, by variable elimination of every variable with rescaled messages."""
        from .inference import VariableElimination
        mantissa, log_scale = VariableElimination(self).partition_function_parts()
        return float(np.log(mantissa) + log_scale)

    def partition_function(self) -> float:
        """Z = Σ_x Π_i φ_i(D_i) (exact for integer potentials while Z < 2^53)."""
        from .inference import VariableElimination
        mantissa, log_scale = VariableElimination(self).partition_function_parts()
        return float(mantissa) if log_scale == 0 else float(mantissa * np.exp(log_scale))

    get_partition_function = partition_function  # pgmpy's name

    def number_of_parameters(self) -> int:
        """Numbers in all the factor tables."""
        return int(sum(f.values.size for f in self.factors))


DiscreteMarkovNetwork = MarkovNetwork
