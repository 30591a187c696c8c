"""Variable elimination against brute-force enumeration of the joint and against pgmpy."""
import itertools

import numpy as np
import pytest

from deltagrad import pgm

from .networks import (brute_force_joint, brute_force_query, pgmpy_inference, pgmpy_values,
                       random_bayesian_network, random_grid_markov_network, to_pgmpy)


def random_question(rng, model):
    nodes = model.nodes()
    picked = [str(v) for v in rng.permutation(nodes)]
    n_query = int(rng.integers(1, 3))
    n_ev = int(rng.integers(0, min(4, len(nodes) - n_query) + 1))
    variables = list(picked[:n_query])
    evidence = {v: model.states[v][int(rng.integers(model.get_cardinality(v)))]
                for v in picked[n_query:n_query + n_ev]}
    return variables, evidence


@pytest.mark.parametrize("seed", range(24))
def test_queries_equal_brute_force_and_pgmpy(seed):
    """24 random networks (5–12 variables, cardinalities 2–4, random evidence) to 1e-10."""
    rng = np.random.default_rng(seed)
    model = random_bayesian_network(rng, int(rng.integers(5, 13)))
    joint = brute_force_joint(model)
    ve, twin = pgm.VariableElimination(model), pgmpy_inference(model)
    for _ in range(4):
        variables, evidence = random_question(rng, model)
        got = ve.query(variables, evidence)
        assert got.variables == variables
        expected = brute_force_query(model, joint, variables, evidence)
        np.testing.assert_allclose(got.values, expected, rtol=0, atol=1e-10)
        if twin is None:
            continue
        theirs = twin.query(variables, evidence=evidence, show_progress=False)
        np.testing.assert_allclose(got.values, pgmpy_values(theirs, variables), rtol=0,
                                   atol=1e-10)


@pytest.mark.parametrize("order", ["greedy", "min-fill", "min-neighbors", "min-weight",
                                   "weighted-min-fill", "MinFill", "WeightedMinFill"])
def test_every_elimination_order_gives_the_same_answer(order):
    rng = np.random.default_rng(7)
    model = random_bayesian_network(rng, 10)
    joint = brute_force_joint(model)
    ve = pgm.VariableElimination(model)
    for _ in range(5):
        variables, evidence = random_question(rng, model)
        got = ve.query(variables, evidence, elimination_order=order)
        np.testing.assert_allclose(got.values,
                                   brute_force_query(model, joint, variables, evidence),
                                   rtol=0, atol=1e-10)


def test_explicit_elimination_order_and_joint_false():
    model = pgm.student_network()
    ve = pgm.VariableElimination(model)
    a = ve.query(["L"], {"S": 1}, elimination_order=["D", "I", "G"])
    b = ve.query(["L"], {"S": 1}, elimination_order=["G", "I", "D"])
    np.testing.assert_allclose(a.values, b.values, rtol=0, atol=1e-15)
    marg = ve.query(["G", "L"], joint=False)
    np.testing.assert_allclose(marg["G"].values, [0.362, 0.2884, 0.3496], atol=1e-12)
    np.testing.assert_allclose(marg["L"].values, ve.query(["L"]).values, atol=1e-15)
    with pytest.raises(ValueError, match="must not contain query or evidence"):
        ve.query(["L"], elimination_order=["L", "G", "I", "D", "S"])
    with pytest.raises(ValueError, match="unknown variables"):
        ve.query(["L"], elimination_order=["Q"])


def test_student_network_numbers_of_the_notes():
    ve = pgm.VariableElimination(pgm.student_network())
    np.testing.assert_allclose(ve.query(["G"]).values, [0.362, 0.2884, 0.3496], atol=1e-12)
    evidential = ve.query(["I"], {"G": "C"}).values[1]
    explained = ve.query(["I"], {"G": "C", "D": 1}).values[1]
    assert round(evidential, 4) == 0.0789 and round(explained, 4) == 0.1091
    # P(I=1, G=C) = 0.3·(0.6·0.02 + 0.4·0.2); P(I=1, G=C, D=1) = 0.3·0.4·0.2
    np.testing.assert_allclose(evidential, 0.0276 / 0.3496, rtol=1e-12)
    np.testing.assert_allclose(explained, 0.3 * 0.4 * 0.2 / (0.4 * 0.55), rtol=1e-12)
    prior_i = ve.query(["I"]).values[1]
    assert evidential < prior_i                      # evidential reasoning: a C lowers P(i1)
    assert explained > evidential                    # explaining away: a hard course raises it
    causal, prior_l = ve.query(["L"], {"I": 1}).values[1], ve.query(["L"]).values[1]
    assert causal > prior_l                          # causal reasoning: P(l1 | i1) > P(l1)


def test_student_network_matches_pgmpy():
    pytest.importorskip("pgmpy")
    from pgmpy.inference import VariableElimination as PgmpyVE
    model = pgm.student_network()
    twin, ve = PgmpyVE(to_pgmpy(model)), pgm.VariableElimination(model)
    for variables, ev in [(["G"], {}), (["I"], {"G": "C"}), (["I", "S"], {"G": "C", "D": 1}),
                          (["L", "D"], {"S": 0})]:
        ours = ve.query(variables, ev)
        theirs = twin.query(variables, evidence=ev, show_progress=False)
        np.testing.assert_allclose(ours.values, pgmpy_values(theirs, variables), atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_map_query_equals_brute_force_and_pgmpy(seed):
    rng = np.random.default_rng(100 + seed)
    model = random_bayesian_network(rng, int(rng.integers(5, 9)), max_joint=20_000)
    joint = brute_force_joint(model)
    ve, twin = pgm.VariableElimination(model), pgmpy_inference(model)
    for _ in range(3):
        variables, evidence = random_question(rng, model)
        for query_vars in (variables, None):
            got = ve.map_query(query_vars, evidence)
            names = query_vars or [v for v in model.nodes() if v not in evidence]
            p = brute_force_query(model, joint, names, evidence)
            best = np.unravel_index(p.argmax(), p.shape)
            assert got == {v: model.states[v][i] for v, i in zip(names, best)}
            # (pgmpy 1.1.2's map_query drops the evidence when variables=None)
            if twin is not None and query_vars is not None:
                theirs = twin.map_query(query_vars, evidence=evidence, show_progress=False)
                assert got == theirs


def test_map_query_of_the_student_network():
    ve = pgm.VariableElimination(pgm.student_network())
    assert ve.map_query(["G"]) == {"G": "A"}
    assert ve.map_query(["I", "D"], {"G": "C"}) == {"I": 0, "D": 1}
    assert ve.map_query(evidence={"G": "C"}) == {"D": 1, "I": 0, "L": 0, "S": 0}


@pytest.mark.parametrize("shape", [(3, 3), (4, 3)])
def test_grid_markov_network_equals_brute_force_and_pgmpy(shape):
    rng = np.random.default_rng(sum(shape))
    model = random_grid_markov_network(rng, *shape)
    joint = model.to_joint_distribution()
    ve, twin = pgm.VariableElimination(model), pgmpy_inference(model)
    for _ in range(4):
        variables, evidence = random_question(rng, model)
        got = ve.query(variables, evidence)
        expected = joint.reduce(evidence, inplace=False)
        expected.marginalize([v for v in expected.variables if v not in variables])
        expected.normalize()
        np.testing.assert_allclose(got.values, pgmpy_values(expected, variables), atol=1e-12)
        if twin is None:
            continue
        theirs = twin.query(variables, evidence=evidence, show_progress=False)
        theirs.normalize()
        np.testing.assert_allclose(got.values, pgmpy_values(theirs, variables), atol=1e-10)


def test_joint_distribution_is_the_brute_force_product():
    rng = np.random.default_rng(3)
    model = random_bayesian_network(rng, 7)
    np.testing.assert_allclose(model.to_joint_distribution().values, brute_force_joint(model),
                               rtol=0, atol=1e-15)
    state = {v: model.states[v][1] for v in model.nodes()}
    assert model.get_state_probability(state) == pytest.approx(
        brute_force_joint(model)[(1,) * 7], rel=1e-12)


def test_long_products_do_not_underflow():
    """A 200-variable chain of factors ~1e-3: Z ~ 1e-500 is not a float64, log Z is."""
    n = 200
    names = [f"X{i}" for i in range(n)]
    mn = pgm.MarkovNetwork(list(zip(names[:-1], names[1:])))
    table = np.array([[1.0, 2.0], [3.0, 4.0]]) * 1e-3
    mn.add_factors(*[pgm.DiscreteFactor([a, b], [2, 2], table)
                     for a, b in zip(names[:-1], names[1:])])
    # Z = 1ᵀ T^(n-1) 1 computed with a rescaled matrix power
    v, log_z = np.ones(2), 0.0
    for _ in range(n - 1):
        v = table.T @ v
        log_z += np.log(v.max())
        v = v / v.max()
    log_z += np.log(v.sum())
    assert np.isfinite(mn.log_partition_function())
    np.testing.assert_allclose(mn.log_partition_function(), log_z, rtol=1e-12)
    p = pgm.VariableElimination(mn).query([names[n // 2]], {names[0]: 1}).values
    assert np.isfinite(p).all() and abs(p.sum() - 1) < 1e-12
    bn = pgm.BayesianNetwork(list(zip(names[:-1], names[1:])))
    bn.add_cpds(pgm.TabularCPD(names[0], 2, [[1 - 1e-200], [1e-200]]),
                *[pgm.TabularCPD(b, 2, [[1 - 1e-200, 1e-200], [1e-200, 1 - 1e-200]], [a], [2])
                  for a, b in zip(names[:-1], names[1:])])
    q = pgm.VariableElimination(bn).query([names[0]], {names[-1]: 1, names[n // 2]: 1})
    assert np.isfinite(q.values).all()
    # X0 = 1 costs one 1e-200 event; X0 = 0 needs one of n/2 flips before X_{n/2}: 1 : n/2
    np.testing.assert_allclose(q.values[1], 1 / (1 + n // 2), rtol=1e-9)


def test_query_errors_name_the_problem():
    model = pgm.student_network()
    ve = pgm.VariableElimination(model)
    with pytest.raises(ValueError, match="unknown variable 'Q'"):
        ve.query(["Q"])
    with pytest.raises(ValueError, match="evidence on unknown variable 'Q'"):
        ve.query(["G"], {"Q": 0})
    with pytest.raises(ValueError, match=r"unknown state 'D' of 'G'.*\['A', 'B', 'C'\]"):
        ve.query(["I"], {"G": "D"})
    with pytest.raises(ValueError, match="unknown state 2 of 'D'"):
        ve.query(["I"], {"D": 2})
    with pytest.raises(ValueError, match="both queried and observed"):
        ve.query(["G"], {"G": "A"})
    with pytest.raises(ValueError, match="at least one variable"):
        ve.query([])
    with pytest.raises(TypeError, match="list of variable names"):
        ve.query("G")
    with pytest.raises(ValueError, match="unknown heuristic 'fastest'"):
        ve.query(["G"], elimination_order="fastest")
    with pytest.raises(ValueError, match="unknown variable"):
        ve.map_query(["Q"])


def test_zero_probability_evidence_raises_instead_of_nan():
    bn = pgm.BayesianNetwork([("A", "B"), ("B", "C")])
    bn.add_cpds(pgm.TabularCPD("A", 2, [[1.0], [0.0]]),
                pgm.TabularCPD("B", 2, [[1.0, 0.5], [0.0, 0.5]], ["A"], [2]),
                pgm.TabularCPD("C", 2, [[0.3, 0.6], [0.7, 0.4]], ["B"], [2]))
    ve = pgm.VariableElimination(bn)
    for call in (lambda: ve.query(["C"], {"B": 1}), lambda: ve.query(["C"], {"A": 1}),
                 lambda: ve.map_query(["C"], {"B": 1}),
                 lambda: bn.simulate(3, evidence={"B": 1})):
        with pytest.raises(ValueError, match="probability zero"):
            call()
    np.testing.assert_allclose(ve.query(["C"], {"B": 0}).values, [0.3, 0.7])


def test_zero_probability_evidence_in_a_separate_component_raises():
    """d-separated evidence of probability zero still makes P(Q | e) undefined."""
    bn = pgm.BayesianNetwork([("A", "B")])
    bn.add_node("C")
    bn.add_cpds(pgm.TabularCPD("A", 2, [[0.5], [0.5]]),
                pgm.TabularCPD("B", 2, [[0.2, 0.6], [0.8, 0.4]], ["A"], [2]),
                pgm.TabularCPD("C", 2, [[1.0], [0.0]]))
    with pytest.raises(ValueError, match="probability zero"):
        pgm.VariableElimination(bn).query(["B"], {"C": 1})


def test_evidence_probability_and_partition_function_of_a_bn():
    model = pgm.student_network()
    ve = pgm.VariableElimination(model)
    assert ve.evidence_probability({"G": "C"}) == pytest.approx(0.3496, abs=1e-12)
    p_c_and_hard = 0.4 * (0.7 * 0.7 + 0.3 * 0.2)          # P(D=1) Σ_i P(i) P(G=C | i, D=1)
    assert ve.evidence_probability({"G": "C", "D": 1}) == pytest.approx(p_c_and_hard, abs=1e-12)
    mant, log_scale = ve.partition_function_parts()
    assert mant == pytest.approx(1.0, abs=1e-12) and log_scale == 0


def test_elimination_order_heuristics_on_a_star():
    """Eliminating a hub first creates a factor over all leaves; every heuristic avoids it."""
    scopes = [["H", f"L{i}"] for i in range(6)]
    card = {"H": 2, **{f"L{i}": 2 for i in range(6)}}
    for method in ("greedy", "min-fill", "min-neighbors", "min-weight", "weighted-min-fill"):
        order = pgm.elimination_order(scopes, ["H"] + [f"L{i}" for i in range(6)], card,
                                      method)
        assert order[-1] == "H" or order.index("H") >= 5, (method, order)


def test_induced_width_of_a_grid():
    model = random_grid_markov_network(np.random.default_rng(0), 4, 4)
    ve = pgm.VariableElimination(model)
    row_major = [f"V{r}_{c}" for r, c in itertools.product(range(4), range(4))]
    assert ve.induced_width(row_major) == 4


@pytest.mark.parametrize("seed", range(4))
def test_moralised_networks_give_the_same_queries(seed):
    """Markov networks with factors on cliques of 2–4 variables (moralised random BNs)."""
    rng = np.random.default_rng(200 + seed)
    bn = random_bayesian_network(rng, int(rng.integers(5, 10)), max_joint=50_000)
    mn = bn.to_markov_network()
    joint = brute_force_joint(bn)
    ve, twin = pgm.VariableElimination(mn), pgmpy_inference(mn)
    for _ in range(3):
        variables, evidence = random_question(rng, bn)
        got = ve.query(variables, evidence)
        np.testing.assert_allclose(got.values,
                                   brute_force_query(bn, joint, variables, evidence),
                                   rtol=0, atol=1e-10)
        if twin is None:
            continue
        theirs = twin.query(variables, evidence=evidence, show_progress=False)
        theirs.normalize()
        np.testing.assert_allclose(got.values, pgmpy_values(theirs, variables), atol=1e-10)


def test_map_query_on_markov_networks_equals_brute_force():
    mn = pgm.misconception_network()
    joint = mn.to_joint_distribution()
    best = np.unravel_index(joint.values.argmax(), joint.values.shape)
    assert pgm.VariableElimination(mn).map_query() == dict(zip(joint.variables, map(int, best)))
    grid = random_grid_markov_network(np.random.default_rng(9), 3, 3)
    joint = grid.to_joint_distribution()
    ve = pgm.VariableElimination(grid)
    for evidence in ({}, {"V1_1": 1}, {"V0_0": 0, "V2_2": 1}):
        p = joint.reduce(evidence, inplace=False)
        p.marginalize([v for v in p.variables if v in ("V0_1", "V2_1")])
        best = np.unravel_index(p.values.argmax(), p.values.shape)
        got = ve.map_query([v for v in p.variables], evidence)
        assert got == dict(zip(p.variables, map(int, best)))
