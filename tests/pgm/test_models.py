"""Bayesian and Markov networks: structure checks, parameter counts, learning, moralisation,
the partition function."""
import itertools

import numpy as np
import pytest

from deltagrad import pgm

from .networks import brute_force_joint, random_bayesian_network


def test_student_network_parameter_counts_of_the_notes():
    model = pgm.student_network()
    assert model.number_of_parameters() == 1 + 1 + 2 + 8 + 3 == 15
    assert model.number_of_joint_parameters() == 2 * 2 * 3 * 2 * 2 - 1 == 47
    assert model.get_cardinality() == {"D": 2, "G": 3, "I": 2, "L": 2, "S": 2}
    assert model.topological_order().index("G") > model.topological_order().index("D")


def test_importable_under_pgmpy_1x_names():
    assert pgm.DiscreteBayesianNetwork is pgm.BayesianNetwork
    assert pgm.DiscreteMarkovNetwork is pgm.MarkovNetwork
    import deltagrad as dg
    assert dg.pgm.VariableElimination is pgm.VariableElimination


def test_cycles_and_self_loops_raise():
    bn = pgm.BayesianNetwork([("A", "B"), ("B", "C")])
    with pytest.raises(ValueError, match=r"'C' -> 'A' closes a directed cycle"):
        bn.add_edge("C", "A")
    with pytest.raises(ValueError, match="self-loop"):
        bn.add_edge("A", "A")
    with pytest.raises(ValueError, match="closes a directed cycle"):
        pgm.BayesianNetwork([("A", "B"), ("B", "A")])
    assert bn.edges() == [("A", "B"), ("B", "C")]


def test_check_model_errors():
    bn = pgm.BayesianNetwork([("A", "B")])
    a = pgm.TabularCPD("A", 2, [[0.4], [0.6]])
    bn.add_cpds(a)
    with pytest.raises(ValueError, match="node 'B' has no CPD"):
        bn.check_model()
    bn.add_cpds(pgm.TabularCPD("B", 2, [[0.5], [0.5]]))
    with pytest.raises(ValueError, match=r"evidence \[\] but its parents in the graph are"):
        bn.check_model()
    bn.add_cpds(pgm.TabularCPD("B", 2, [[0.5, 0.1], [0.5, 0.9]], ["A"], [2],
                               state_names={"A": ["x", "y"]}))
    with pytest.raises(ValueError, match="gives parent 'A' the states"):
        bn.check_model()
    bn.add_cpds(pgm.TabularCPD("B", 2, [[0.5, 0.1], [0.5, 0.9]], ["A"], [2]))
    assert bn.check_model()
    bn.get_cpds("B").values[:, 0] = [0.5, 0.6]          # columns edited after construction
    with pytest.raises(ValueError, match="sums to 1.1, not 1"):
        bn.check_model()
    with pytest.raises(ValueError, match="not in the network"):
        bn.add_cpds(pgm.TabularCPD("Q", 2, [[0.5], [0.5]]))
    with pytest.raises(TypeError, match="TabularCPD"):
        bn.add_cpds(pgm.DiscreteFactor(["A"], [2], [1, 1]))
    with pytest.raises(ValueError, match="node 'Q' is not in the network"):
        bn.get_parents("Q")


def test_to_markov_network_moralises_and_keeps_the_joint():
    model = pgm.student_network()
    mn = model.to_markov_network()
    edges = {frozenset(e) for e in mn.edges()}
    assert frozenset(("D", "I")) in edges                  # co-parents of G married
    assert len(edges) == 5
    np.testing.assert_allclose(mn.to_joint_distribution().values,
                               model.to_joint_distribution().values, atol=1e-15)
    assert mn.partition_function() == pytest.approx(1.0, abs=1e-14)


def test_misconception_network_partition_function_of_the_notes():
    mn = pgm.misconception_network()
    assert mn.partition_function() == 7_201_840
    assert mn.get_partition_function() == 7_201_840
    brute = sum(np.prod([f.values[tuple(x[mn.nodes().index(v)] for v in f.variables)]
                         for f in mn.get_factors()])
                for x in itertools.product(range(2), repeat=4))
    assert brute == 7_201_840
    p = mn.to_joint_distribution()
    assert p.get_value(A=0, B=1, C=1, D=0) == pytest.approx(5e6 / 7_201_840, rel=1e-15)
    assert np.log(7_201_840) == pytest.approx(mn.log_partition_function(), rel=1e-15)
    assert sorted(mn.markov_blanket("A")) == ["B", "D"]
    pytest.importorskip("pgmpy")
    from .networks import to_pgmpy
    assert to_pgmpy(mn).get_partition_function() == pytest.approx(7_201_840)


def test_markov_network_errors():
    mn = pgm.MarkovNetwork([("A", "B"), ("B", "C")])
    with pytest.raises(ValueError, match=r"scope \['A', 'C'\] of a factor is not a clique"):
        mn.add_factors(pgm.DiscreteFactor(["A", "C"], [2, 2], np.ones(4)))
    with pytest.raises(ValueError, match="not in the network"):
        mn.add_factors(pgm.DiscreteFactor(["A", "Z"], [2, 2], np.ones(4)))
    mn.add_factors(pgm.DiscreteFactor(["A", "B"], [2, 2], np.ones(4)))
    with pytest.raises(ValueError, match=r"nodes \['C'\] are in no factor"):
        mn.check_model()
    with pytest.raises(ValueError, match="'B' has 2 states in one factor and 3"):
        mn.add_factors(pgm.DiscreteFactor(["B", "C"], [3, 2], np.ones(6)))


@pytest.mark.parametrize("prior", [None, "laplace", "BDeu"])
def test_fit_recovers_counts_and_matches_pgmpy(prior):
    truth = pgm.student_network()
    data = truth.simulate(3000, seed=1)
    model = pgm.BayesianNetwork(truth.edges())
    model.add_nodes_from(truth.nodes())
    model.fit(data, prior=prior)
    assert model.check_model()
    # maximum likelihood by hand for one node with parents
    x = "G"
    pa = model.get_parents(x)
    cpd = model.get_cpds(x)
    col = tuple(data[p][0] for p in pa)
    rows = np.all([data[p] == c for p, c in zip(pa, col)], axis=0)
    counts = np.array([(data[x][rows] == s).sum() for s in cpd.state_names[x]], float)
    if prior == "laplace":
        counts += 1
    elif prior == "BDeu":
        counts += 5 / cpd.values.size
    np.testing.assert_allclose(cpd.get_value(**{x: cpd.state_names[x][0]},
                                             **dict(zip(pa, col))),
                               counts[0] / counts.sum(), rtol=1e-12)
    pytest.importorskip("pgmpy")
    import pandas as pd
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.parameter_estimator import DiscreteBayesianEstimator, DiscreteMLE
    twin = DiscreteBayesianNetwork(truth.edges())
    twin.add_nodes_from(truth.nodes())
    twin.fit(pd.DataFrame(data), estimator=DiscreteMLE() if prior is None else
             DiscreteBayesianEstimator(prior_type={"laplace": "K2", "BDeu": "BDeu"}[prior],
                                       equivalent_sample_size=5))
    for ours in model.get_cpds():
        theirs = twin.get_cpds(ours.variable)
        for states in itertools.product(*[ours.state_names[v] for v in ours.variables]):
            a = dict(zip(ours.variables, states))
            assert ours.get_value(**a) == pytest.approx(theirs.get_value(**a), abs=1e-12)


def test_fit_errors_and_unseen_parent_states():
    bn = pgm.BayesianNetwork([("A", "B")])
    data = {"A": np.array(["x", "x", "x"]), "B": np.array([0, 1, 1])}
    bn.fit(data, state_names={"A": ["x", "y"]})
    np.testing.assert_allclose(bn.get_cpds("B").get_values(), [[1 / 3, 0.5], [2 / 3, 0.5]])
    with pytest.raises(ValueError, match="no column for node 'B'"):
        bn.fit({"A": [0, 1]})
    with pytest.raises(ValueError, match="prior must be None, 'laplace'"):
        bn.fit(data, prior="dirichlet")
    with pytest.raises(ValueError, match="values \\['z'\\] that are not among"):
        bn.fit({"A": ["z"], "B": [0]}, state_names={"A": ["x", "y"]})
    with pytest.raises(ValueError, match="has 1 rows, others have 3"):
        bn.fit({"A": ["x", "y", "x"], "B": [0]})


def test_state_probability_and_imap_of_random_networks():
    rng = np.random.default_rng(11)
    for _ in range(3):
        model = random_bayesian_network(rng, 6)
        joint = model.to_joint_distribution()
        assert model.is_imap(joint)
        # the empty graph is an I-map only of a product distribution
        empty = pgm.BayesianNetwork()
        empty.add_nodes_from(model.nodes())
        if model.edges():
            assert not empty.is_imap(joint)
        x = {v: model.states[v][-1] for v in model.nodes()}
        assert model.get_state_probability(x) == pytest.approx(
            brute_force_joint(model)[tuple(len(model.states[v]) - 1 for v in model.nodes())],
            rel=1e-12)


def test_unseen_parent_states_get_the_uniform_column_as_in_pgmpy():
    data = {"A": np.array(["x", "x", "y"]), "C": np.array([0, 1, 0]),
            "B": np.array([0, 1, 1])}
    ours = pgm.BayesianNetwork([("A", "B"), ("C", "B")]).fit(data)
    np.testing.assert_allclose(ours.get_cpds("B").get_values(),
                               [[1, 0, 0, 0.5], [0, 1, 1, 0.5]])
    pytest.importorskip("pgmpy")
    import pandas as pd
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.parameter_estimator import DiscreteMLE
    twin = DiscreteBayesianNetwork([("A", "B"), ("C", "B")])
    twin.fit(pd.DataFrame(data), estimator=DiscreteMLE())
    np.testing.assert_allclose(twin.get_cpds("B").get_values(),
                               ours.get_cpds("B").get_values())
