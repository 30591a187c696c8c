"""d-separation and separation against pgmpy and against independence checked numerically
in the joint distribution."""
import itertools

import numpy as np
import pytest

from deltagrad import pgm

from .networks import random_bayesian_network, random_dag_edges


def test_student_network_independencies_of_the_notes():
    m = pgm.student_network()
    assert not m.is_dconnected("L", "S", ["G"])            # L ⊥ S | G
    assert not m.is_dconnected("L", "I", ["G"])            # L ⊥ I | G
    assert m.is_dconnected("L", "S")                       # L not ⊥ S
    assert not m.is_dconnected("D", "I")                   # D ⊥ I
    assert m.is_dconnected("D", "I", ["G"])                # explaining away
    assert m.is_dconnected("D", "I", ["L"])                # ... also via a descendant of G
    assert m.is_dseparated("D", "S")
    local = {str(a) for a in m.local_independencies()}
    assert local == {"(D \u27c2 I, S)", "(I \u27c2 D)", "(G \u27c2 S | D, I)",
                     "(L \u27c2 D, I, S | G)", "(S \u27c2 D, G, L | I)"}
    assert m.active_trail_nodes(["D"], observed=["G"])["D"] == {"D", "I", "S"}


@pytest.mark.parametrize("seed", range(8))
def test_dseparation_agrees_with_pgmpy_on_random_dags(seed):
    pytest.importorskip("pgmpy")
    from pgmpy.base import DAG as Theirs
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 12))
    edges = random_dag_edges(rng, n)
    ours, theirs = pgm.DAG(edges), Theirs(edges)
    nodes = [f"X{i}" for i in range(n)]
    ours.add_nodes_from(nodes)
    theirs.add_nodes_from(nodes)
    for _ in range(30):
        x, y, *z = [str(v) for v in rng.permutation(nodes)[:2 + rng.integers(0, 4)]]
        assert ours.is_dconnected(x, y, z) == theirs.is_dconnected(x, y, z), (x, y, z)
        assert ours.active_trail_nodes([x], z)[x] == theirs.active_trail_nodes([x], z)[x]
    for node in nodes:
        [a] = ours.local_independencies([node]) or [None]
        theirs_local = theirs.local_independencies([node]).get_assertions()
        if a is None:
            assert not theirs_local
        else:
            [t] = theirs_local
            assert (set(t.event1), set(t.event2), set(t.event3)) == (
                set(a.event1), set(a.event2), set(a.event3))


@pytest.mark.parametrize("seed", range(6))
def test_dseparation_implies_numerical_independence_in_the_joint(seed):
    """d-separated ⇒ independent in every distribution that factorises over G; connected ⇒
    dependent in a generic one (random CPDs)."""
    rng = np.random.default_rng(50 + seed)
    model = random_bayesian_network(rng, int(rng.integers(5, 8)), max_joint=5000)
    joint = model.to_joint_distribution()
    nodes = model.nodes()
    for x, y in itertools.combinations(nodes, 2):
        others = [v for v in nodes if v not in (x, y)]
        for k in range(0, 3):
            for z in itertools.combinations(others, k):
                separated = not model.is_dconnected(x, y, list(z))
                assert pgm.is_independent(joint, x, y, z, tol=1e-9) == separated, (x, y, z)


def test_markov_network_separation_and_local_independencies():
    mn = pgm.misconception_network()
    assert mn.is_separated("A", "C", ["B", "D"])            # A ⊥ C | {B, D}
    assert mn.is_separated("B", "D", ["A", "C"])            # B ⊥ D | {A, C}
    assert not mn.is_separated("A", "C", ["B"])
    local = {str(a) for a in mn.local_independencies()}
    assert local == {"(A \u27c2 C | B, D)", "(B \u27c2 D | A, C)", "(C \u27c2 A | B, D)",
                     "(D \u27c2 B | A, C)"}
    joint = mn.to_joint_distribution()
    assert pgm.is_independent(joint, "A", "C", ["B", "D"])
    assert pgm.is_independent(joint, "B", "D", ["A", "C"])
    assert not pgm.is_independent(joint, "A", "C")
    assert mn.is_imap(joint)
    chain = pgm.MarkovNetwork([("A", "B"), ("B", "C"), ("C", "D")])
    chain.add_nodes_from(["A", "B", "C", "D"])
    assert not chain.is_imap(joint)      # the loop's A — D interaction is missing
    with pytest.raises(ValueError, match="must not overlap"):
        mn.is_separated("A", "C", ["A"])


def test_separation_in_random_markov_networks_implies_independence():
    rng = np.random.default_rng(4)
    for _ in range(3):
        bn = random_bayesian_network(rng, 6, max_joint=3000)
        mn = bn.to_markov_network()
        joint = mn.to_joint_distribution()
        nodes = mn.nodes()
        for x, y in itertools.combinations(nodes, 2):
            for z in itertools.combinations([v for v in nodes if v not in (x, y)], 2):
                if mn.is_separated(x, y, list(z)):
                    assert pgm.is_independent(joint, x, y, z, tol=1e-9)
        assert mn.is_imap(joint)


def test_independence_errors():
    m = pgm.student_network()
    with pytest.raises(ValueError, match="node 'Q' is not in the network"):
        m.is_dconnected("D", "Q")
    with pytest.raises(ValueError, match="not in the distribution's scope"):
        pgm.is_independent(m.to_joint_distribution(), "D", "Q")
    with pytest.raises(ValueError, match="distribution is over"):
        m.is_imap(pgm.misconception_network().to_joint_distribution())
