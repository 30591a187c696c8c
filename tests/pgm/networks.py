"""Random networks for the pgm tests, their pgmpy twins and brute-force joints."""
import numpy as np
import pytest

from deltagrad import pgm


def random_dag_edges(rng, n, max_parents=3):
    """Edges of a random DAG on X0 … X{n-1} (parents drawn from earlier nodes)."""
    order = rng.permutation(n)
    edges = []
    for k in range(1, n):
        n_pa = rng.integers(0, min(max_parents, k) + 1)
        for p in rng.choice(k, size=n_pa, replace=False):
            edges.append((f"X{order[p]}", f"X{order[k]}"))
    return edges


def random_bayesian_network(rng, n, max_joint=200_000, zeros=False, max_parents=3):
    """A random BN with cardinalities 2–4 (joint size at most ``max_joint``)."""
    while True:
        cards = {f"X{i}": int(c) for i, c in enumerate(rng.integers(2, 5, size=n))}
        if np.prod(list(cards.values())) <= max_joint:
            break
    model = pgm.BayesianNetwork(random_dag_edges(rng, n, max_parents))
    model.add_nodes_from(cards)
    cpds = []
    for v in model.nodes():
        pa = model.get_parents(v)
        cols = int(np.prod([cards[p] for p in pa]))
        table = rng.dirichlet(np.ones(cards[v]) * 0.7, size=cols).T
        if zeros:
            table[table < 0.1] = 0.0
            table /= table.sum(axis=0, keepdims=True)
        cpds.append(pgm.TabularCPD(v, cards[v], table, pa or None,
                                   [cards[p] for p in pa] or None))
    model.add_cpds(*cpds)
    model.check_model()
    return model


def brute_force_joint(model):
    """P(x) = Π_i P(x_i | pa_i) for every x, enumerated with index grids (axes: node order);
    independent of the einsum code."""
    nodes = model.nodes()
    cards = [model.get_cardinality(v) for v in nodes]
    grid = dict(zip(nodes, np.indices(cards)))
    joint = np.ones(cards)
    for cpd in model.get_cpds():
        table = cpd.get_values()
        ev = cpd.get_evidence()
        col = np.zeros(cards, dtype=np.int64)
        for p in ev:                      # pgmpy's column order: the last evidence fastest
            col = col * model.get_cardinality(p) + grid[p]
        joint = joint * table[grid[cpd.variable], col]
    return joint


def brute_force_query(model, joint, variables, evidence):
    """P(variables | evidence) from the enumerated joint (axes in ``variables`` order)."""
    nodes = model.nodes()
    index = [slice(None)] * len(nodes)
    for v, s in evidence.items():
        index[nodes.index(v)] = model.states[v].index(s)
    p = joint[tuple(index)]
    rest = [v for v in nodes if v not in evidence]
    p = p.sum(axis=tuple(i for i, v in enumerate(rest) if v not in variables))
    kept = [v for v in rest if v in variables]
    p = np.transpose(p, [kept.index(v) for v in variables])
    return p / p.sum()


def to_pgmpy(model):
    """The same network in pgmpy (a BN or a Markov network)."""
    pytest.importorskip("pgmpy")
    from pgmpy.factors.discrete import DiscreteFactor, TabularCPD
    from pgmpy.models import DiscreteBayesianNetwork, DiscreteMarkovNetwork
    if isinstance(model, pgm.BayesianNetwork):
        twin = DiscreteBayesianNetwork(model.edges())
        twin.add_nodes_from(model.nodes())
        for c in model.get_cpds():
            ev = c.get_evidence()
            twin.add_cpds(TabularCPD(c.variable, c.variable_card, c.get_values(),
                                     ev or None, [len(c.state_names[p]) for p in ev] or None,
                                     state_names={v: list(c.state_names[v])
                                                  for v in c.variables}))
        return twin
    twin = DiscreteMarkovNetwork(model.edges())
    twin.add_nodes_from(model.nodes())
    twin.add_factors(*[DiscreteFactor(f.variables, f.cardinality, f.values,
                                      state_names={v: list(f.state_names[v])
                                                   for v in f.variables})
                       for f in model.get_factors()])
    return twin


def pgmpy_inference(model):
    """pgmpy's VariableElimination on the model's twin, or None without pgmpy (the
    brute-force comparisons still run)."""
    try:
        from pgmpy.inference import VariableElimination
    except ImportError:
        return None
    return VariableElimination(to_pgmpy(model))


def pgmpy_values(factor, variables):
    """A pgmpy factor's values with axes in ``variables`` order."""
    return np.transpose(factor.values, [factor.variables.index(v) for v in variables])


def random_grid_markov_network(rng, rows, cols, card=2):
    """A rows × cols grid with positive random pairwise factors."""
    name = lambda r, c: f"V{r}_{c}"  # noqa: E731
    edges = [(name(r, c), name(r, c + 1)) for r in range(rows) for c in range(cols - 1)]
    edges += [(name(r, c), name(r + 1, c)) for r in range(rows - 1) for c in range(cols)]
    model = pgm.MarkovNetwork(edges)
    model.add_factors(*[pgm.DiscreteFactor([u, v], [card, card],
                                           rng.uniform(0.5, 2.0, size=card * card))
                        for u, v in edges])
    return model
