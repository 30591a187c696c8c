"""Variable elimination in ``dg.pgm`` against pgmpy on the same queries; writes
results/pgm.json (time per query, deltagrad / pgmpy).

Networks: random Bayesian networks of 10, 20, 30 and 40 variables (cardinalities 2–4, up to
3 parents each, built by ``tests/pgm/networks.py``) and 2-D grid Markov networks (binary,
positive pairwise factors). Each network gets the same random queries in both libraries
(1–2 query variables, 0–4 observed ones; default elimination order, "greedy", in both). Each
query runs ``--repeats`` times in turn in the two libraries and keeps its best time.
deltagrad caches the elimination plan per question, so the plan cache is cleared before every
timed call ("cold", the number the ratio uses); the "warm" column times the cached plan.
Every answer is checked against pgmpy's to 1e-8. Single-threaded (BLAS/OpenMP threads = 1).

    python benchmarks/pgm.py [--queries 20] [--networks 3] [--repeats 3]
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)


def random_question(rng, model):
    nodes = [str(v) for v in rng.permutation(model.nodes())]
    n_query = int(rng.integers(1, 3))
    n_ev = int(rng.integers(0, 5))
    evidence = {v: model.states[v][int(rng.integers(len(model.states[v])))]
                for v in nodes[n_query:n_query + n_ev]}
    return nodes[:n_query], evidence


def time_network(model, questions, repeats):
    from pgmpy.inference import VariableElimination as PgmpyVE

    from deltagrad import pgm
    from tests.pgm.networks import pgmpy_values, to_pgmpy
    ours, theirs = pgm.VariableElimination(model), PgmpyVE(to_pgmpy(model))
    cold, warm, ref = [], [], []
    for variables, evidence in questions:
        best = [np.inf, np.inf, np.inf]
        for _ in range(repeats):
            ours._plans.clear()
            t0 = time.perf_counter()
            a = ours.query(variables, evidence)
            t1 = time.perf_counter()
            ours.query(variables, evidence)
            t2 = time.perf_counter()
            b = theirs.query(variables, evidence=evidence, show_progress=False)
            t3 = time.perf_counter()
            best = [min(best[0], t1 - t0), min(best[1], t2 - t1), min(best[2], t3 - t2)]
        b.normalize()
        np.testing.assert_allclose(a.values, pgmpy_values(b, variables), rtol=0, atol=1e-8)
        cold.append(best[0])
        warm.append(best[1])
        ref.append(best[2])
    return cold, warm, ref


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=20, help="queries per network (20)")
    ap.add_argument("--networks", type=int, default=3, help="random BNs per size (3)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per query (3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "pgm.json"))
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    import pgmpy

    from benchmarks.record import provenance
    from tests.pgm.networks import random_bayesian_network, random_grid_markov_network

    rng = np.random.default_rng(args.seed)
    cases = [(f"random BN, {n} variables", [random_bayesian_network(rng, n, max_joint=10 ** 40)
                                            for _ in range(args.networks)])
             for n in (10, 20, 30, 40)]
    cases += [(f"grid MN {r}x{r}", [random_grid_markov_network(rng, r, r)])
              for r in (4, 6, 8)]
    rows = []
    for name, models in cases:
        cold, warm, ref = [], [], []
        for model in models:
            questions = [random_question(rng, model) for _ in range(args.queries)]
            c, w, r = time_network(model, questions, args.repeats)
            cold += c
            warm += w
            ref += r
        row = {"network": name, "queries": len(cold),
               "deltagrad_ms": 1e3 * float(np.median(cold)),
               "deltagrad_warm_ms": 1e3 * float(np.median(warm)),
               "pgmpy_ms": 1e3 * float(np.median(ref)),
               "ratio": float(np.median(cold) / np.median(ref)),
               "ratio_warm": float(np.median(warm) / np.median(ref))}
        rows.append(row)
        print(f"{name:<26} {row['queries']:>4} queries  deltagrad {row['deltagrad_ms']:7.3f} ms "
              f"(warm {row['deltagrad_warm_ms']:7.3f})  pgmpy {row['pgmpy_ms']:7.3f} ms  "
              f"ratio {row['ratio']:.3f}", flush=True)
    result = {**provenance(), "pgmpy": pgmpy.__version__, "numpy": np.__version__,
              "threads": 1, "protocol": "median over queries of the best of --repeats runs; "
              "ratio = deltagrad (plan cache cleared) / pgmpy, both VariableElimination.query "
              "with the default elimination order", "rows": rows}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
