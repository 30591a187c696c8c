"""Sampling: ancestral, rejection and likelihood-weighted estimates against exact answers;
Gibbs sampling of Markov networks."""
import numpy as np
import pytest

from deltagrad import pgm


def frequencies(samples, var, states):
    return np.array([(samples[var] == s).mean() for s in states])


def test_forward_sample_matches_the_marginals():
    m = pgm.student_network()
    s = pgm.BayesianModelSampling(m).forward_sample(40_000, seed=0)
    assert set(s) == set(m.nodes()) and len(s["G"]) == 40_000
    ve = pgm.VariableElimination(m)
    for v in m.nodes():                       # 4 standard errors of a frequency near 0.5
        np.testing.assert_allclose(frequencies(s, v, m.states[v]), ve.query([v]).values,
                                   atol=0.01)
    a = pgm.BayesianModelSampling(m).forward_sample(50, seed=3)
    b = m.simulate(50, seed=3)
    assert all((a[v] == b[v]).all() for v in m.nodes())        # seeded: repeatable


def test_rejection_sample_is_the_conditional():
    m = pgm.student_network()
    s = m.simulate(20_000, evidence={"G": "C", "D": 1}, seed=1)
    assert (s["G"] == "C").all() and (s["D"] == 1).all() and len(s["I"]) == 20_000
    assert frequencies(s, "I", [0, 1])[1] == pytest.approx(0.1091, abs=0.007)


def test_likelihood_weighting_estimates_the_conditional():
    m = pgm.student_network()
    s = pgm.BayesianModelSampling(m).likelihood_weighted_sample({"G": "C"}, 40_000, seed=2)
    w = s["_weight"]
    assert (s["G"] == "C").all()
    estimate = (w * (s["I"] == 1)).sum() / w.sum()
    assert estimate == pytest.approx(0.0789, abs=0.008)
    # the weight of a sample is P(G = C | its I, D)
    table = m.get_cpds("G").get_values()[2]
    np.testing.assert_allclose(w, table[2 * s["I"] + s["D"]])


def test_gibbs_sampling_of_the_misconception_network():
    mn = pgm.misconception_network()
    exact = pgm.VariableElimination(mn).query(["A", "B"]).values
    est = pgm.GibbsSampling(mn).query(["A", "B"], n_samples=40_000, seed=0).values
    np.testing.assert_allclose(est, exact, atol=0.02)
    cond = pgm.GibbsSampling(mn).query(["B"], evidence={"A": 1}, n_samples=20_000, seed=1)
    np.testing.assert_allclose(cond.values,
                               pgm.VariableElimination(mn).query(["B"], {"A": 1}).values,
                               atol=0.02)
    chain = pgm.GibbsSampling(mn).sample(size=5, seed=0)
    assert set(chain) == {"A", "B", "C", "D"} and len(chain["A"]) == 5


def test_gibbs_sampling_of_a_bayesian_network_moralises_it():
    m = pgm.student_network()
    est = pgm.GibbsSampling(m).query(["I"], evidence={"G": "C"}, n_samples=20_000, seed=4)
    assert est.values[1] == pytest.approx(0.0789, abs=0.01)


def test_sampling_errors():
    m = pgm.student_network()
    sampler = pgm.BayesianModelSampling(m)
    with pytest.raises(ValueError, match="unknown state 'E' of 'G'"):
        sampler.rejection_sample({"G": "E"}, 5)
    with pytest.raises(ValueError, match="evidence on unknown variable 'Q'"):
        sampler.likelihood_weighted_sample({"Q": 0}, 5)
    with pytest.raises(ValueError, match="size must be a whole number"):
        sampler.forward_sample(-1)
    with pytest.raises(TypeError, match="expected a BayesianNetwork"):
        pgm.BayesianModelSampling(pgm.misconception_network())
    with pytest.raises(ValueError, match="n_samples must be"):
        pgm.GibbsSampling(pgm.misconception_network()).query(["A"], n_samples=0)
    mn = pgm.MarkovNetwork([("A", "B")])
    mn.add_factors(pgm.DiscreteFactor(["A", "B"], [2, 2], [0, 1, 0, 1]))   # B = 0 impossible
    with pytest.raises(ValueError, match="probability zero given its Markov blanket"):
        pgm.GibbsSampling(mn).query(["A"], evidence={"B": 0}, n_samples=10, seed=0)
    with pytest.raises(ValueError, match="probability zero"):
        pgm.VariableElimination(mn).query(["A"], evidence={"B": 0})


def test_impossible_evidence_is_caught_by_every_sampler():
    bn = pgm.BayesianNetwork([("A", "B"), ("B", "C")])
    bn.add_cpds(pgm.TabularCPD("A", 2, [[1.0], [0.0]]),
                pgm.TabularCPD("B", 2, [[1.0, 0.5], [0.0, 0.5]], ["A"], [2]),
                pgm.TabularCPD("C", 2, [[0.3, 0.6], [0.7, 0.4]], ["B"], [2]))
    sampler = pgm.BayesianModelSampling(bn)
    with pytest.raises(ValueError, match="probability zero"):
        sampler.likelihood_weighted_sample({"B": 1, "C": 0}, 100, seed=0)
    with pytest.raises(ValueError, match="probability zero"):
        sampler.rejection_sample({"A": 1}, 10, seed=0)
    # Gibbs: A = 1 is impossible, yet C's conditional given B alone is fine
    with pytest.raises(ValueError, match="probability zero"):
        pgm.GibbsSampling(bn).query(["C"], evidence={"A": 1}, n_samples=50, seed=0)
    assert pgm.DiscreteFactor([], [], [2.0]).values == 2.0
