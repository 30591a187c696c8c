"""Discrete factors φ(D): a table of non-negative values over the joint states of a set of
variables D (seed 003, Markov networks: "these tables are not probability distributions, just
weights"; a CPD P(X | Pa_X) is the factor φ(X, Pa_X)).

The values are a NumPy array with one axis per variable (axis i has ``cardinality[i]``
states). Products, sums and maximisations are ``einsum`` calls on those axes:

    (φ₁ · φ₂)(D₁ ∪ D₂) = φ₁(D₁) · φ₂(D₂),    (Σ_X φ)(D \\ X) = Σ_x φ(D),
    (max_X φ)(D \\ X) = max_x φ(D),             φ[X = x]  (reduce: keep the slice x).

pgmpy's names and defaults (``inplace=True``) are kept, so code written for
``pgmpy.factors.discrete.DiscreteFactor`` runs unchanged on the operations both share.
"""
from __future__ import annotations

import itertools
from typing import Hashable, Iterable

import numpy as np

__all__ = ["DiscreteFactor", "factor_product", "contract"]


def _as_list(variables, what: str) -> list:
    if isinstance(variables, (str, bytes)) or not isinstance(variables, Iterable):
        raise TypeError(f"{what}: expected a list of variable names, got {variables!r}")
    return list(variables)


def contract(operands, out_vars, optimize=None) -> np.ndarray:
    """``einsum`` over factors given as (values, variables) pairs: multiply them and sum every
    variable not in ``out_vars``; the result's axes follow ``out_vars``."""
    ids: dict = {}
    args = []
    for values, variables in operands:
        args.append(values)
        args.append([ids.setdefault(v, len(ids)) for v in variables])
    for v in out_vars:
        ids.setdefault(v, len(ids))
    if len(ids) > 52:
        raise ValueError(f"contract: {len(ids)} distinct variables in one product; einsum "
                         "handles at most 52 (eliminate variables one at a time instead)")
    args.append([ids[v] for v in out_vars])
    if optimize is None:
        optimize = len(operands) > 2
    return np.einsum(*args, optimize=optimize)


class DiscreteFactor:
    """φ(variables) with ``values`` of shape ``cardinality``.

    >>> phi = DiscreteFactor(["A", "B"], [2, 2], [30, 5, 1, 10])   # φ₁(A, B) of the notes
    >>> phi.get_value(A=0, B=1)
    5.0

    ``values`` may be flat (row-major: the last variable changes fastest, as in pgmpy) or
    already shaped. ``state_names`` maps a variable to the names of its states (default
    0 … k-1); evidence and assignments use these names.
    """

    def __init__(self, variables, cardinality, values, state_names=None):
        variables = _as_list(variables, "DiscreteFactor")
        if len(set(variables)) != len(variables):
            raise ValueError(f"DiscreteFactor: variable names must be unique, got {variables}")
        card = np.asarray(cardinality)
        if card.size == 0:
            card = card.astype(np.int64).reshape(0)
        if card.ndim != 1 or len(card) != len(variables):
            raise ValueError(f"DiscreteFactor: cardinality {list(np.ravel(card))} must give one "
                             f"number per variable ({len(variables)} variables: {variables})")
        if not np.issubdtype(card.dtype, np.integer) or (card < 1).any():
            raise ValueError(f"DiscreteFactor: cardinalities must be integers >= 1, got "
                             f"{card.tolist()}")
        card = card.astype(np.int64)
        vals = np.array(values, copy=True)
        if vals.dtype == object or not (np.issubdtype(vals.dtype, np.floating)
                                        or np.issubdtype(vals.dtype, np.integer)
                                        or vals.dtype == bool):
            raise TypeError(f"DiscreteFactor: values must be numbers, got dtype {vals.dtype}")
        if not np.issubdtype(vals.dtype, np.floating):
            vals = vals.astype(np.float64)
        expected = int(np.prod(card)) if len(card) else 1
        if vals.size != expected:
            raise ValueError(f"DiscreteFactor: values has {vals.size} entries but the "
                             f"cardinality {card.tolist()} needs {expected}")
        if not np.isfinite(vals).all():
            raise ValueError("DiscreteFactor: values must be finite (found NaN or Inf)")
        if (vals < 0).any():
            raise ValueError("DiscreteFactor: values must be non-negative (a factor is a "
                             f"table of weights), got minimum {vals.min()}")
        self.variables = variables
        self.cardinality = card
        self.values = vals.reshape(tuple(card))
        self.state_names = _check_state_names(variables, card, state_names, "DiscreteFactor")
        self._state_index = None

    # ------------------------------------------------------------------ bookkeeping
    def scope(self) -> list:
        return list(self.variables)

    def get_cardinality(self, variables) -> dict:
        variables = _as_list(variables, "get_cardinality")
        for v in variables:
            self._require(v, "get_cardinality")
        return {v: int(self.cardinality[self.variables.index(v)]) for v in variables}

    def get_state_no(self, var, state_name) -> int:
        """Index of the state called ``state_name`` of ``var``; a clear error otherwise."""
        self._require(var, "get_state_no")
        if self._state_index is None:
            self._state_index = {v: _index_of_names(n) for v, n in self.state_names.items()}
        try:
            return self._state_index[var][state_name]
        except (KeyError, TypeError):
            raise ValueError(f"unknown state {state_name!r} of variable {var!r}; its states "
                             f"are {self.state_names[var]}") from None

    def get_state_names(self, var, state_no):
        return self.state_names[var][state_no]

    def copy(self) -> "DiscreteFactor":
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.variables = list(self.variables)
        out.cardinality = self.cardinality.copy()
        out.values = self.values.copy()
        out.state_names = {v: list(s) for v, s in self.state_names.items()}
        out._state_index = None
        return out

    def _require(self, var, op):
        if var not in self.variables:
            raise ValueError(f"{op}: variable {var!r} is not in the factor's scope "
                             f"{self.variables}")

    def _target(self, inplace):
        return self if inplace else self.copy()

    def _set(self, variables, values, state_names):
        self.variables = list(variables)
        self.values = values
        self.cardinality = np.array(values.shape, dtype=np.int64)
        self.state_names = {v: state_names[v] for v in self.variables}
        self._state_index = None

    # ------------------------------------------------------------------ operations
    def marginalize(self, variables, inplace=True):
        """Σ over ``variables``: φ'(D \\ V) = Σ_v φ(D)."""
        return self._eliminate(variables, inplace, "marginalize", np.sum)

    def maximize(self, variables, inplace=True):
        """max over ``variables``: φ'(D \\ V) = max_v φ(D)."""
        return self._eliminate(variables, inplace, "maximize", np.max)

    def _eliminate(self, variables, inplace, op, reducer):
        variables = _as_list(variables, op)
        for v in variables:
            self._require(v, op)
        if len(set(variables)) != len(variables):
            raise ValueError(f"{op}: variables repeated in {variables}")
        phi = self._target(inplace)
        axes = tuple(phi.variables.index(v) for v in variables)
        keep = [v for v in phi.variables if v not in variables]
        phi._set(keep, np.asarray(reducer(phi.values, axis=axes)), phi.state_names)
        return None if inplace else phi

    def reduce(self, values, inplace=True):
        """φ[X = x, ...]: keep the slice of the observed states; ``values`` is a list of
        (variable, state name) pairs or a dict."""
        pairs = list(values.items()) if isinstance(values, dict) else list(values)
        index = [slice(None)] * len(self.variables)
        for pair in pairs:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise TypeError(f"reduce: expected (variable, state) pairs, got {pair!r}")
            var, state = pair
            self._require(var, "reduce")
            index[self.variables.index(var)] = self.get_state_no(var, state)
        phi = self._target(inplace)
        keep = [v for v, i in zip(phi.variables, index) if isinstance(i, slice)]
        phi._set(keep, phi.values[tuple(index)].copy(), phi.state_names)
        return None if inplace else phi

    def normalize(self, inplace=True):
        """φ / Σ φ; a factor that sums to zero cannot be normalised and raises."""
        phi = self._target(inplace)
        total = phi.values.sum()
        if not total > 0:
            raise ValueError("normalize: the factor sums to zero (the evidence or the "
                             "assignment has probability zero)")
        phi.values = phi.values / total
        return None if inplace else phi

    def product(self, phi1, inplace=True):
        """(φ · φ₁)(D ∪ D₁); a number scales the factor."""
        phi = self._target(inplace)
        if isinstance(phi1, (int, float, np.number)):
            phi.values = phi.values * phi1
            return None if inplace else phi
        if not isinstance(phi1, DiscreteFactor):
            raise TypeError(f"product: expected a DiscreteFactor or a number, got "
                            f"{type(phi1).__name__}")
        _check_compatible(phi, phi1, "product")
        out_vars = phi.variables + [v for v in phi1.variables if v not in phi.variables]
        values = contract([(phi.values, phi.variables), (phi1.values, phi1.variables)], out_vars)
        phi._set(out_vars, values, {**phi1.state_names, **phi.state_names})
        return None if inplace else phi

    def divide(self, phi1, inplace=True):
        """φ / φ₁ with 0 / 0 = 0; φ₁'s scope must lie inside φ's."""
        if not isinstance(phi1, DiscreteFactor):
            raise TypeError(f"divide: expected a DiscreteFactor, got {type(phi1).__name__}")
        extra = [v for v in phi1.variables if v not in self.variables]
        if extra:
            raise ValueError(f"divide: the divisor's variables {extra} are not in the "
                             f"dividend's scope {self.variables}")
        _check_compatible(self, phi1, "divide")
        phi = self._target(inplace)
        den = np.broadcast_to(_expand(phi1, phi.variables), phi.values.shape)
        if ((den == 0) & (phi.values != 0)).any():
            raise ValueError("divide: division of a non-zero value by zero")
        out = np.zeros_like(phi.values, dtype=np.result_type(phi.values, den))
        np.divide(phi.values, den, out=out, where=den != 0)
        phi.values = out
        return None if inplace else phi

    def sum(self, phi1, inplace=True):
        """φ + φ₁ over D ∪ D₁ (broadcast)."""
        if not isinstance(phi1, DiscreteFactor):
            raise TypeError(f"sum: expected a DiscreteFactor, got {type(phi1).__name__}")
        _check_compatible(self, phi1, "sum")
        phi = self._target(inplace)
        out_vars = phi.variables + [v for v in phi1.variables if v not in phi.variables]
        states = {**phi1.state_names, **phi.state_names}
        a, b = _expand(phi, out_vars), _expand(phi1, out_vars)
        phi._set(out_vars, np.asarray(a + b), states)
        return None if inplace else phi

    def __mul__(self, other):
        return self.product(other, inplace=False)

    __rmul__ = __mul__

    def __truediv__(self, other):
        return self.divide(other, inplace=False)

    # ------------------------------------------------------------------ reading
    def get_value(self, **assignment) -> float:
        """φ at a full assignment given by state names, e.g. ``phi.get_value(A=0, B=1)``."""
        missing = [v for v in self.variables if v not in assignment]
        extra = [v for v in assignment if v not in self.variables]
        if missing or extra:
            raise ValueError(f"get_value: give a state for exactly the variables "
                             f"{self.variables} (missing {missing}, unknown {extra})")
        return float(self.values[tuple(self.get_state_no(v, assignment[v])
                                       for v in self.variables)])

    def assignment(self, index) -> list:
        """The (variable, state name) lists of flat indices into ``values``."""
        idx = np.unravel_index(np.asarray(index, dtype=np.int64), tuple(self.cardinality))
        return [[(v, self.state_names[v][int(i[k])]) for v, i in zip(self.variables, idx)]
                for k in range(np.size(index))]

    def __eq__(self, other) -> bool:
        """Same scope (any order), same states, values equal to 1e-8."""
        if not isinstance(other, DiscreteFactor) or set(self.variables) != set(other.variables):
            return False
        if any(list(self.state_names[v]) != list(other.state_names[v]) for v in self.variables):
            return False
        b = _expand(other, self.variables)
        return b.shape == self.values.shape and bool(np.allclose(self.values, b, rtol=0,
                                                                 atol=1e-8))

    __hash__ = None

    def __repr__(self) -> str:
        scope = ", ".join(f"{v}:{c}" for v, c in zip(self.variables, self.cardinality))
        return f"<DiscreteFactor representing phi({scope}) at {hex(id(self))}>"

    def __str__(self) -> str:
        return self._table("phi")

    def _table(self, head: str) -> str:
        rows = [[f"{v}({s})" for v, s in zip(self.variables, states)]
                + [f"{x:.4f}"] for states, x in
                zip(itertools.product(*[self.state_names[v] for v in self.variables]),
                    self.values.ravel())]
        scope = ",".join(map(str, self.variables))
        header = [str(v) for v in self.variables] + [f"{head}({scope})"]
        return _grid([header] + rows)


# ---------------------------------------------------------------------- helpers
def factor_product(*factors) -> DiscreteFactor:
    """φ₁ · φ₂ · … · φₘ in one ``einsum`` (a factor over the union of the scopes)."""
    if not factors:
        raise ValueError("factor_product: needs at least one factor")
    for f in factors:
        if not isinstance(f, DiscreteFactor):
            raise TypeError(f"factor_product: expected DiscreteFactors, got {type(f).__name__}")
    out_vars, states = [], {}
    for f in factors:
        _check_compatible(factors[0], f, "factor_product")
        for v in f.variables:
            if v not in states:
                out_vars.append(v)
                states[v] = f.state_names[v]
            elif list(states[v]) != list(f.state_names[v]):
                raise ValueError(f"factor_product: variable {v!r} has states {states[v]} in "
                                 f"one factor and {f.state_names[v]} in another")
    values = contract([(f.values, f.variables) for f in factors], out_vars)
    return DiscreteFactor(out_vars, values.shape, values, {v: states[v] for v in out_vars})


def _expand(phi, variables) -> np.ndarray:
    """φ's values with axes in the order of ``variables`` (size-1 axes for the missing)."""
    perm = [phi.variables.index(v) for v in variables if v in phi.variables]
    vals = np.transpose(phi.values, perm) if perm else phi.values
    shape = [phi.values.shape[phi.variables.index(v)] if v in phi.variables else 1
             for v in variables]
    return vals.reshape(shape)


def _check_compatible(a, b, op):
    for v in set(a.variables) & set(b.variables):
        ca = a.cardinality[a.variables.index(v)]
        cb = b.cardinality[b.variables.index(v)]
        if ca != cb:
            raise ValueError(f"{op}: variable {v!r} has {ca} states in one factor and {cb} in "
                             "the other")
        if list(a.state_names[v]) != list(b.state_names[v]):
            raise ValueError(f"{op}: variable {v!r} has states {a.state_names[v]} in one "
                             f"factor and {b.state_names[v]} in the other")


def _index_of_names(names) -> dict:
    return {s: i for i, s in enumerate(names)}


def _check_state_names(variables, card, state_names, op) -> dict:
    state_names = {} if state_names is None else state_names
    if not isinstance(state_names, dict):
        raise TypeError(f"{op}: state_names must be a dict variable -> list of state names, "
                        f"got {type(state_names).__name__}")
    unknown = [v for v in state_names if v not in variables]
    if unknown:
        raise ValueError(f"{op}: state_names given for variables {unknown} that are not in "
                         f"{variables}")
    out = {}
    for v, k in zip(variables, card):
        names = list(state_names[v]) if v in state_names else list(range(int(k)))
        if len(names) != k:
            raise ValueError(f"{op}: variable {v!r} has cardinality {k} but {len(names)} "
                             f"state names {names}")
        if len(set(map(_hashable, names))) != len(names):
            raise ValueError(f"{op}: state names of {v!r} must be unique, got {names}")
        out[v] = names
    return out


def _hashable(x) -> Hashable:
    try:
        hash(x)
    except TypeError:
        raise TypeError(f"state names must be hashable, got {x!r}") from None
    return x


def _grid(rows, rule_after=1) -> str:
    """A text table with a rule above, below and after the first ``rule_after`` rows."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    body = ["| " + " | ".join(f"{str(c):<{w}}" for c, w in zip(r, widths)) + " |"
            for r in rows]
    middle = [line] if 0 < rule_after < len(rows) else []
    return "\n".join([line] + body[:rule_after] + middle + body[rule_after:] + [line])
