"""``dg.pgm``: probabilistic graphical models on NumPy (seed 003, SYLLABUS section 15).

Bayesian networks (DAG + CPDs) and Markov networks (undirected graph + factors), exact
inference by variable elimination, sampling, and the independencies the graphs encode.
Names and argument order follow pgmpy where the two share a feature::

    from deltagrad.pgm import VariableElimination, student_network
    print(VariableElimination(student_network()).query(["I"], evidence={"G": "C"}))
"""
from .bayesian import BayesianNetwork, DiscreteBayesianNetwork
from .cpd import TabularCPD
from .examples import misconception_network, student_network
from .factor import DiscreteFactor, factor_product
from .graph import DAG, UndirectedGraph
from .independence import (IndependenceAssertion, active_trail_nodes, is_dconnected,
                           is_imap, is_independent, is_separated, local_independencies)
from .inference import VariableElimination, elimination_order
from .markov import DiscreteMarkovNetwork, MarkovNetwork
from .sampling import BayesianModelSampling, GibbsSampling

__all__ = ["DiscreteFactor", "factor_product", "TabularCPD", "DAG", "UndirectedGraph",
           "BayesianNetwork", "DiscreteBayesianNetwork", "MarkovNetwork",
           "DiscreteMarkovNetwork", "VariableElimination", "elimination_order",
           "BayesianModelSampling", "GibbsSampling", "IndependenceAssertion",
           "active_trail_nodes", "is_dconnected", "is_imap", "is_independent",
           "is_separated", "local_independencies", "student_network",
           "misconception_network"]
