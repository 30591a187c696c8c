"""Tabular conditional probability distributions P(X | Pa_X) (seed 003, Bayesian networks:
"P(G | D, I) can be represented with ... values").

The table has one row per state of X and one column per joint state of the evidence
(parents), in pgmpy's column order: the *last* evidence variable changes fastest. For the
notes' grade G with evidence [I, D] (pgmpy's student-network CPD)::

    +------+------+------+------+------+
    | I    | I(0) | I(0) | I(1) | I(1) |
    | D    | D(0) | D(1) | D(0) | D(1) |
    +------+------+------+------+------+
    | G(A) | 0.3  | 0.05 | 0.9  | 0.5  |
    | G(B) | 0.4  | 0.25 | 0.08 | 0.3  |
    | G(C) | 0.3  | 0.7  | 0.02 | 0.2  |
    +------+------+------+------+------+

Every column is a distribution over X, so it must sum to 1 (checked here, to 1e-6).
As a factor, the CPD is φ(X, Pa_X) with axes [X, *evidence].
"""
from __future__ import annotations

import itertools

import numpy as np

from .factor import DiscreteFactor, _grid

__all__ = ["TabularCPD"]

COLUMN_SUM_TOLERANCE = 1e-6


class TabularCPD(DiscreteFactor):
    """P(variable | evidence) as a ``variable_card`` × Π ``evidence_card`` table."""

    def __init__(self, variable, variable_card, values, evidence=None, evidence_card=None,
                 state_names=None):
        if isinstance(evidence, (str, bytes)):
            raise TypeError(f"TabularCPD({variable!r}): evidence must be a list of variable "
                            f"names, got the string {evidence!r}")
        evidence = [] if evidence is None else list(evidence)
        evidence_card = [] if evidence_card is None else list(np.ravel(evidence_card))
        if len(evidence) != len(evidence_card):
            raise ValueError(f"TabularCPD({variable!r}): {len(evidence)} evidence variables "
                             f"{evidence} but {len(evidence_card)} evidence cardinalities")
        if variable in evidence:
            raise ValueError(f"TabularCPD({variable!r}): the variable cannot be its own evidence")
        try:
            variable_card = int(variable_card)
        except (TypeError, ValueError):
            raise TypeError(f"TabularCPD({variable!r}): variable_card must be an integer, got "
                            f"{variable_card!r}") from None
        vals = np.array(values, dtype=np.float64 if not np.issubdtype(
            np.asarray(values).dtype, np.floating) else None)
        n_cols = int(np.prod(evidence_card)) if evidence_card else 1
        if vals.ndim == 1 and not evidence:
            vals = vals.reshape(-1, 1)
        if vals.shape != (variable_card, n_cols):
            raise ValueError(f"TabularCPD({variable!r}): values must have shape "
                             f"({variable_card}, {n_cols}) (one row per state of "
                             f"{variable!r}, one column per joint state of {evidence}), "
                             f"got {vals.shape}")
        super().__init__([variable] + evidence, [variable_card] + evidence_card,
                         vals.reshape([variable_card] + evidence_card), state_names)
        self.variable = variable
        self.variable_card = variable_card
        self._check_columns()

    def _check_columns(self):
        sums = self.get_values().sum(axis=0)
        bad = np.flatnonzero(np.abs(sums - 1) > COLUMN_SUM_TOLERANCE)
        if bad.size:
            cols = self._column_states()
            shown = ", ".join(f"column {j} {dict(cols[j]) if cols[j] else ''} sums to "
                              f"{sums[j]:.6g}" for j in bad[:3])
            raise ValueError(f"TabularCPD({self.variable!r}): every column of P("
                             f"{self.variable} | {', '.join(map(str, self.get_evidence())) or '-'})"
                             f" must sum to 1 (to {COLUMN_SUM_TOLERANCE:g}); {shown}")

    def get_evidence(self) -> list:
        return list(self.variables[1:])

    def get_values(self) -> np.ndarray:
        """The 2-D table (rows: states of the variable; columns: evidence states)."""
        if self.variables[0] != self.variable:
            raise ValueError(f"get_values: the CPD of {self.variable!r} was reduced or "
                             "marginalised away from its variable; use it as a factor")
        return self.values.reshape(self.cardinality[0], -1)

    def to_factor(self) -> DiscreteFactor:
        return DiscreteFactor(self.variables, self.cardinality, self.values, self.state_names)

    def copy(self) -> "TabularCPD":
        return TabularCPD(self.variable, self.variable_card, self.get_values(),
                          self.get_evidence(), self.cardinality[1:].tolist(),
                          {v: list(s) for v, s in self.state_names.items()})

    def _column_states(self):
        ev = self.get_evidence()
        return [list(zip(ev, states))
                for states in itertools.product(*[self.state_names[v] for v in ev])]

    def __repr__(self) -> str:
        ev = self.get_evidence()
        given = f" | {', '.join(f'{v}:{c}' for v, c in zip(ev, self.cardinality[1:]))}" if ev \
            else ""
        return (f"<TabularCPD representing P({self.variable}:{self.variable_card}{given}) at "
                f"{hex(id(self))}>")

    def __str__(self) -> str:
        ev = self.get_evidence()
        cols = self._column_states()
        rows = [[str(v)] + [f"{v}({dict(c)[v]})" for c in cols] for v in ev]
        table = self.get_values()
        rows += [[f"{self.variable}({s})"] + [f"{x:.4g}" for x in table[i]]
                 for i, s in enumerate(self.state_names[self.variable])]
        return _grid(rows, rule_after=len(ev))
