"""``deltagrad pgm``: the notes' graphical-model examples (seed 003).

    deltagrad pgm student [--out student_network.png]
    deltagrad pgm misconception

``student`` prints the student network's CPDs, its parameter count against the full joint
table's, the causal, evidential and explaining-away queries (exact, by variable
elimination), the independencies the graph encodes, and saves a drawing of the network.
``misconception`` prints the four-student Markov network's partition function Z = 7,201,840
and its marginals.
"""
from __future__ import annotations

import math


def add_parser(sub) -> None:
    p = sub.add_parser("pgm", help="the notes' graphical models: the student Bayesian network "
                       "and the misconception Markov network")
    which = p.add_subparsers(dest="example", metavar="EXAMPLE")
    which.required = True
    s = which.add_parser("student", help="queries, parameter counts, independencies and a "
                         "drawing of the student network")
    s.add_argument("--out", default="student_network.png",
                   help="PNG file for the drawing (default student_network.png)")
    which.add_parser("misconception", help="partition function and marginals of the "
                     "misconception Markov network")


def _p(ve, var, state, evidence=None) -> float:
    q = ve.query([var], evidence or {})
    return float(q.values[q.state_names[var].index(state)])


def _given(evidence) -> str:
    return (" | " + ", ".join(f"{k}={v}" for k, v in evidence.items())) if evidence else ""


def student(out: str) -> None:
    from ..pgm import VariableElimination, student_network
    from ..pgm.drawing import network_png
    m = student_network()
    ve = VariableElimination(m)
    print("Student network (seed 003): D difficulty, I intelligence, G grade (A, B, C), "
          "S SAT, L letter")
    print("P(D, I, G, S, L) = P(D) P(I) P(S | I) P(G | D, I) P(L | G)\n")
    for v in m.topological_order():
        cpd = m.get_cpds(v)
        print(f"P({v}{' | ' + ', '.join(cpd.get_evidence()) if cpd.get_evidence() else ''})")
        print(cpd)
    card = m.get_cardinality()
    terms = [(card[v] - 1) * math.prod(card[p] for p in m.get_parents(v)) for v in m.nodes()]
    print(f"\nparameters: {m.number_of_parameters()} for the network "
          f"({' + '.join(map(str, terms))}) against {m.number_of_joint_parameters()} for the "
          f"full joint table ({' * '.join(str(card[v]) for v in m.nodes())} - 1)\n")
    g = ve.query(["G"]).values
    print("P(G) = (" + ", ".join(f"{x:.4f}" for x in g) + ")  for G = A, B, C")
    rows = [("causal reasoning", "L", 1, [{}, {"I": 1}, {"I": 1, "D": 0}]),
            ("evidential reasoning", "I", 1, [{}, {"G": "C"}]),
            ("evidential reasoning", "D", 1, [{}, {"G": "C"}]),
            ("explaining away", "I", 1, [{"G": "C"}, {"G": "C", "D": 1}])]
    for name, var, state, evidences in rows:
        parts = [f"P({var}={state}{_given(e)}) = {_p(ve, var, state, e):.4f}" for e in evidences]
        print(f"{name + ':':<23}" + "   ".join(parts))
    print("\nlocal independencies (X ⟂ non-descendants | parents):")
    for a in m.local_independencies():
        print(f"  {a}")
    print("d-separation:")
    for x, y, z in [("D", "I", []), ("D", "I", ["G"]), ("D", "I", ["L"]), ("L", "S", []),
                    ("L", "S", ["G"]), ("L", "I", ["G"]), ("S", "G", ["I"])]:
        sep = not m.is_dconnected(x, y, z)
        print(f"  {x} ⟂ {y}{' | ' + ', '.join(z) if z else ''}: "
              f"{'yes (d-separated)' if sep else 'no (active trail)'}")
    labels = {"D": "Difficulty", "I": "Intelligence", "G": "Grade", "S": "SAT", "L": "Letter"}
    png = network_png(m, "Student network", labels)
    with open(out, "wb") as f:
        f.write(png)
    print(f"\nwrote {out}")


def misconception() -> None:
    from ..pgm import VariableElimination, misconception_network
    m = misconception_network()
    print("Misconception network (seed 003): A - B - C - D - A, "
          "P(a, b, c, d) = φ1(a,b) φ2(b,c) φ3(c,d) φ4(d,a) / Z")
    for f in m.get_factors():
        print(f)
    print(f"Z = {m.partition_function():,.0f}")
    ve = VariableElimination(m)
    for v in m.nodes():
        print(f"P({v}=1) = {ve.query([v]).values[1]:.4f}")
    print("independencies: A ⟂ C | B, D: "
          f"{m.is_separated('A', 'C', ['B', 'D'])};  B ⟂ D | A, C: "
          f"{m.is_separated('B', 'D', ['A', 'C'])}")


def cmd_pgm(args) -> int:
    if args.example == "student":
        student(args.out)
    else:
        misconception()
    return 0
