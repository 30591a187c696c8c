"""Markov chains and Gibbs sampling (seed 003): stationary distributions, detailed balance,
irreducibility/aperiodicity, and Gibbs sampling on a small joint with a known answer."""
import numpy as np
import pytest

import deltagrad as dg
from deltagrad.models import MarkovChain, gibbs_chain, gibbs_sample


def test_two_state_chain_stationary_distribution_exact():
    # P = [[1-a, a], [b, 1-b]] has π = (b, a) / (a + b); a = 0.3, b = 0.1 gives (1/4, 3/4)
    mc = MarkovChain([[0.7, 0.3], [0.1, 0.9]])
    np.testing.assert_allclose(mc.stationary_distribution(), [0.25, 0.75], atol=1e-12)
    assert mc.is_reversible()            # every two-state chain satisfies detailed balance
    assert mc.is_irreducible() and mc.is_aperiodic()


def test_u_k_equals_u0_T_k_and_converges_to_pi():
    P = np.array([[0.5, 0.25, 0.25], [0.2, 0.6, 0.2], [0.1, 0.3, 0.6]])
    mc = MarkovChain(P)
    u0 = np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(mc.distribution_at(u0, 2), u0 @ P @ P, atol=1e-15)
    pi = mc.stationary_distribution()
    np.testing.assert_allclose(pi @ P, pi, atol=1e-12)
    np.testing.assert_allclose(mc.distribution_at(u0, 200), pi, atol=1e-10)


def test_stationary_but_not_reversible_chain():
    # a biased walk around a cycle: π uniform (doubly stochastic) but flow goes one way
    P = np.array([[0.0, 0.9, 0.1], [0.1, 0.0, 0.9], [0.9, 0.1, 0.0]])
    mc = MarkovChain(P)
    np.testing.assert_allclose(mc.stationary_distribution(), np.full(3, 1 / 3), atol=1e-12)
    assert not mc.is_reversible()
    # a symmetric chain is reversible with respect to the uniform π
    assert MarkovChain((P + P.T) / 2).is_reversible()


def test_periodic_and_reducible_chains():
    flip = MarkovChain([[0.0, 1.0], [1.0, 0.0]])
    assert flip.is_irreducible() and not flip.is_aperiodic()
    np.testing.assert_allclose(flip.stationary_distribution(), [0.5, 0.5])
    two_classes = MarkovChain(np.eye(3))
    assert not two_classes.is_irreducible()
    with pytest.raises(ValueError, match="stationary_distribution.*not unique"):
        two_classes.stationary_distribution()


def test_sampled_trajectory_frequencies_match_pi():
    mc = MarkovChain([[0.7, 0.3], [0.1, 0.9]])
    traj = mc.sample(20000, start=0, generator=dg.Generator().manual_seed(1))
    assert traj.shape == (20001,) and traj[0] == 0
    freq = np.bincount(traj, minlength=2) / len(traj)
    np.testing.assert_allclose(freq, [0.25, 0.75], atol=0.02)


def _joint():
    rng = np.random.default_rng(3)
    p = rng.random((2, 3, 2)) + 0.05
    return p / p.sum()


def test_gibbs_transition_matrix_has_the_joint_as_stationary_reversible_distribution():
    # the notes' theorem: T_xy = q(i) P(X_i = y_i | X_-i) satisfies detailed balance with P
    p = _joint()
    mc = gibbs_chain(p)
    assert mc.n_states == p.size
    np.testing.assert_allclose(mc.P.sum(1), 1.0, atol=1e-12)
    assert mc.is_reversible(pi=p.reshape(-1))
    assert mc.is_irreducible() and mc.is_aperiodic()
    np.testing.assert_allclose(mc.stationary_distribution(), p.reshape(-1), atol=1e-10)
    # a transition changing two variables at once is impossible
    a = np.ravel_multi_index((0, 0, 0), p.shape)
    b = np.ravel_multi_index((1, 1, 0), p.shape)
    assert mc.P[a, b] == 0


def test_gibbs_sampler_recovers_the_joint():
    p = _joint()
    s = gibbs_sample(p, 30000, burn_in=100, generator=dg.Generator().manual_seed(0))
    flat = np.ravel_multi_index(tuple(s.T), p.shape)
    freq = np.bincount(flat, minlength=p.size) / len(flat)
    np.testing.assert_allclose(freq, p.reshape(-1), atol=0.02)


def test_bad_inputs_raise_named_errors():
    with pytest.raises(ValueError, match="MarkovChain: every row of P must sum to 1"):
        MarkovChain([[0.5, 0.4], [0.5, 0.5]])
    with pytest.raises(ValueError, match="MarkovChain: P must be a non-empty square"):
        MarkovChain([[0.5, 0.5]])
    with pytest.raises(ValueError, match="non-negative"):
        MarkovChain([[1.5, -0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="gibbs_chain: every configuration"):
        gibbs_chain(np.array([[0.5, 0.0], [0.25, 0.25]]))
    with pytest.raises(ValueError, match="MarkovChain.sample: start state 5"):
        MarkovChain(np.eye(2)).sample(3, start=5)
