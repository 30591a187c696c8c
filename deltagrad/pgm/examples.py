"""The notes' example networks (seed 003).

``student_network()``: P(D, I, G, S, L) = P(D) P(I) P(S | I) P(G | D, I) P(L | G) with
pgmpy's CPDs (difficulty D, intelligence I, grade G ∈ {A, B, C}, SAT S, letter L; 15
parameters against 47 for the full joint). It gives P(G) = (0.362, 0.2884, 0.3496),
P(I=1 | G=C) = 0.0789 (evidential reasoning) and P(I=1 | G=C, D=1) = 0.1091 (explaining
away: a hard course explains the poor grade).

``misconception_network()``: the four students A — B — C — D — A with the notes' pairwise
factors; Z = 7,201,840.
"""
from __future__ import annotations

from .bayesian import BayesianNetwork
from .cpd import TabularCPD
from .factor import DiscreteFactor
from .markov import MarkovNetwork

__all__ = ["student_network", "misconception_network"]


def student_network() -> BayesianNetwork:
    model = BayesianNetwork()
    model.add_nodes_from(["D", "I", "S", "G", "L"])       # the notes' order of the factors
    model.add_edges_from([("D", "G"), ("I", "G"), ("G", "L"), ("I", "S")])
    grade = {"G": ["A", "B", "C"]}
    model.add_cpds(
        TabularCPD("D", 2, [[0.6], [0.4]]),
        TabularCPD("I", 2, [[0.7], [0.3]]),
        TabularCPD("G", 3, [[0.3, 0.05, 0.9, 0.5],
                            [0.4, 0.25, 0.08, 0.3],
                            [0.3, 0.7, 0.02, 0.2]],
                   evidence=["I", "D"], evidence_card=[2, 2], state_names=grade),
        TabularCPD("L", 2, [[0.1, 0.4, 0.99],
                            [0.9, 0.6, 0.01]],
                   evidence=["G"], evidence_card=[3], state_names=grade),
        TabularCPD("S", 2, [[0.95, 0.2],
                            [0.05, 0.8]],
                   evidence=["I"], evidence_card=[2]),
    )
    model.check_model()
    return model


def misconception_network() -> MarkovNetwork:
    model = MarkovNetwork([("A", "B"), ("B", "C"), ("C", "D"), ("D", "A")])
    model.add_factors(DiscreteFactor(["A", "B"], [2, 2], [30, 5, 1, 10]),
                      DiscreteFactor(["B", "C"], [2, 2], [100, 1, 1, 100]),
                      DiscreteFactor(["C", "D"], [2, 2], [1, 100, 100, 1]),
                      DiscreteFactor(["D", "A"], [2, 2], [100, 1, 1, 100]))
    model.check_model()
    return model
