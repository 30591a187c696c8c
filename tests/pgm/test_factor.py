"""DiscreteFactor and TabularCPD: operations against plain NumPy and pgmpy, errors."""
import numpy as np
import pytest

from deltagrad import pgm
from deltagrad.pgm import cpd as cpd_module


def factor(rng, variables, cards):
    return pgm.DiscreteFactor(variables, cards, rng.random(int(np.prod(cards))))


def test_product_marginalize_maximize_reduce_against_numpy():
    rng = np.random.default_rng(0)
    a = factor(rng, ["X", "Y", "Z"], [2, 3, 4])
    b = factor(rng, ["W", "Z", "Y"], [2, 4, 3])
    p = a * b
    assert p.variables == ["X", "Y", "Z", "W"]
    np.testing.assert_allclose(p.values, a.values[..., None] *
                               np.transpose(b.values, (2, 1, 0))[None], rtol=1e-15)
    m = p.marginalize(["Y", "W"], inplace=False)
    np.testing.assert_allclose(m.values, p.values.sum(axis=(1, 3)), rtol=1e-14)
    mx = p.maximize(["Z"], inplace=False)
    np.testing.assert_allclose(mx.values, p.values.max(axis=2))
    r = p.reduce([("Y", 2), ("W", 0)], inplace=False)
    assert r.variables == ["X", "Z"]
    np.testing.assert_allclose(r.values, p.values[:, 2, :, 0])
    n = r.normalize(inplace=False)
    assert abs(n.values.sum() - 1) < 1e-15
    assert pgm.factor_product(a, b) == p
    q = p / b
    np.testing.assert_allclose(q.values, a.values[..., None] * np.ones(2), rtol=1e-14)
    s = a.sum(b, inplace=False)
    assert s.get_value(X=1, Y=2, Z=3, W=1) == pytest.approx(
        a.get_value(X=1, Y=2, Z=3) + b.get_value(W=1, Z=3, Y=2))


def test_inplace_defaults_follow_pgmpy():
    phi = pgm.DiscreteFactor(["A", "B"], [2, 2], [30, 5, 1, 10])
    assert phi.marginalize(["B"]) is None
    np.testing.assert_array_equal(phi.values, [35, 11])
    assert phi.variables == ["A"]


def test_state_names_and_assignment():
    phi = pgm.DiscreteFactor(["G", "L"], [3, 2], np.arange(6),
                             state_names={"G": ["A", "B", "C"], "L": ["weak", "strong"]})
    assert phi.get_value(G="C", L="weak") == 4.0
    assert phi.assignment([5]) == [[("G", "C"), ("L", "strong")]]
    red = phi.reduce([("G", "B")], inplace=False)
    np.testing.assert_array_equal(red.values, [2, 3])
    assert "G(C)" in str(phi) and "L(strong)" in str(phi)


def test_factor_operations_match_pgmpy():
    pytest.importorskip("pgmpy")
    from pgmpy.factors.discrete import DiscreteFactor as Theirs
    rng = np.random.default_rng(1)
    a = factor(rng, ["X", "Y"], [3, 2])
    b = factor(rng, ["Y", "Z"], [2, 4])
    ta = Theirs(a.variables, a.cardinality, a.values.ravel())
    tb = Theirs(b.variables, b.cardinality, b.values.ravel())
    ours, theirs = a * b, ta * tb
    np.testing.assert_allclose(ours.values, np.transpose(
        theirs.values, [theirs.variables.index(v) for v in ours.variables]), rtol=1e-14)
    ours.marginalize(["Y"])
    theirs.marginalize(["Y"])
    np.testing.assert_allclose(ours.values, np.transpose(
        theirs.values, [theirs.variables.index(v) for v in ours.variables]), rtol=1e-14)


def test_factor_errors_name_the_problem():
    with pytest.raises(ValueError, match="values has 3 entries but the cardinality"):
        pgm.DiscreteFactor(["A", "B"], [2, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="one number per variable"):
        pgm.DiscreteFactor(["A", "B"], [2], [1, 2])
    with pytest.raises(ValueError, match="non-negative"):
        pgm.DiscreteFactor(["A"], [2], [1, -1])
    with pytest.raises(ValueError, match="finite"):
        pgm.DiscreteFactor(["A"], [2], [1, np.nan])
    with pytest.raises(ValueError, match="unique"):
        pgm.DiscreteFactor(["A", "A"], [2, 2], np.ones(4))
    with pytest.raises(ValueError, match="cardinality 2 but 3 state names"):
        pgm.DiscreteFactor(["A"], [2], [1, 1], state_names={"A": ["x", "y", "z"]})
    phi = pgm.DiscreteFactor(["A", "B"], [2, 2], np.ones(4))
    with pytest.raises(ValueError, match="'C' is not in the factor's scope"):
        phi.marginalize(["C"])
    with pytest.raises(ValueError, match="unknown state 5 of variable 'A'"):
        phi.reduce([("A", 5)])
    with pytest.raises(ValueError, match="has 2 states in one factor and 3"):
        phi * pgm.DiscreteFactor(["B"], [3], np.ones(3))
    with pytest.raises(ValueError, match="sums to zero"):
        pgm.DiscreteFactor(["A"], [2], [0, 0]).normalize()
    with pytest.raises(TypeError, match="list of variable names"):
        pgm.DiscreteFactor("AB", [2, 2], np.ones(4))


def test_cpd_column_order_is_pgmpys():
    """Column j of P(G | I, D) is (I, D) = divmod(j, 2): the last evidence changes fastest."""
    g = pgm.student_network().get_cpds("G")
    assert g.get_evidence() == ["I", "D"]
    assert g.get_value(G="A", I=0, D=1) == 0.05
    assert g.get_value(G="A", I=1, D=0) == 0.9
    assert g.get_value(G="C", I=1, D=1) == 0.2
    block = [line.strip() for line in cpd_module.__doc__.splitlines()
             if line.strip().startswith(("+", "|"))]
    assert str(g).splitlines() == block                 # the module docstring's table
    pytest.importorskip("pgmpy")
    from pgmpy.factors.discrete import TabularCPD as Theirs
    theirs = Theirs("G", 3, g.get_values(), ["I", "D"], [2, 2],
                    state_names={"G": ["A", "B", "C"], "I": [0, 1], "D": [0, 1]})
    assert theirs.get_value(G="A", I=1, D=0) == 0.9
    np.testing.assert_array_equal(theirs.values, g.values)


def test_cpd_errors():
    with pytest.raises(ValueError, match=r"column 1 \{'I': 1\} sums to 0.9"):
        pgm.TabularCPD("S", 2, [[0.95, 0.2], [0.05, 0.7]], ["I"], [2])
    with pytest.raises(ValueError, match=r"must have shape \(2, 2\)"):
        pgm.TabularCPD("S", 2, [[0.95, 0.05]], ["I"], [2])
    with pytest.raises(ValueError, match="1 evidence variables"):
        pgm.TabularCPD("S", 2, [[0.5, 0.5], [0.5, 0.5]], ["I"], [2, 2])
    with pytest.raises(ValueError, match="its own evidence"):
        pgm.TabularCPD("S", 2, [[0.5, 0.5], [0.5, 0.5]], ["S"], [2])
    with pytest.raises(TypeError, match="string 'I'"):
        pgm.TabularCPD("S", 2, [[0.5, 0.5], [0.5, 0.5]], "I", [2])
    with pytest.raises(ValueError, match="non-negative"):
        pgm.TabularCPD("S", 2, [[1.5], [-0.5]])
