"""Sampling from graphical models, vectorised over the samples (or chains).

Bayesian networks (``BayesianModelSampling``):
    forward (ancestral)   x_i ~ P(X_i | pa_i) in topological order;
    rejection             forward samples, keep those that agree with the evidence e
                          (about n / P(e) draws; P(e) = 0 raises);
    likelihood weighted   evidence clamped, every sample weighted by
                          w = Π_{E_j ∈ E} P(e_j | pa_j)  (column ``_weight``).

Markov networks (``GibbsSampling``, seed 003's Markov chains): each sweep redraws every
unobserved X_i from P(X_i | MB(X_i)) ∝ Π_{k: X_i ∈ D_k} φ_k(D_k) (in log space), in many
chains at once; after burn-in the states are samples of the Gibbs distribution.

Samples are {variable: NumPy array of state names}; ``pandas.DataFrame(samples)`` makes the
table pgmpy returns.
"""
from __future__ import annotations

import math

import numpy as np

from .bayesian import BayesianNetwork

__all__ = ["BayesianModelSampling", "GibbsSampling"]

_MAX_BATCH = 1 << 20


def _names(states, codes) -> np.ndarray:
    names = np.asarray(states)
    if names.dtype.kind not in "biufUS":
        names = np.asarray(states, dtype=object)
    return names[codes]


def _draw(probabilities, rng) -> np.ndarray:
    """One index per row of ``probabilities`` (rows: unnormalised, non-negative)."""
    cdf = np.cumsum(probabilities, axis=1)
    u = rng.random(len(cdf)) * cdf[:, -1]
    return np.minimum((u[:, None] >= cdf).sum(axis=1), probabilities.shape[1] - 1)


class BayesianModelSampling:
    """Ancestral, rejection and likelihood-weighted sampling of a ``BayesianNetwork``."""

    def __init__(self, model):
        if not isinstance(model, BayesianNetwork):
            raise TypeError(f"BayesianModelSampling: expected a BayesianNetwork, got "
                            f"{type(model).__name__}")
        model.check_model()
        self.model = model
        self.states = model.states
        self.topological_order = model.topological_order()
        self._cpds = {}
        for v in self.topological_order:
            cpd = model.get_cpds(v)
            evidence = cpd.get_evidence()
            self._cpds[v] = (cpd.get_values().T.copy(), evidence,
                             [len(self.states[p]) for p in evidence])

    def _forward(self, n, rng, clamp=None):
        """Codes of n ancestral samples, ``clamp``ed variables fixed; with their weights
        Π P(clamped value | parents)."""
        clamp = clamp or {}
        codes, weights = {}, np.ones(n)
        for v in self.topological_order:
            table, evidence, cards = self._cpds[v]
            col = np.ravel_multi_index([codes[p] for p in evidence], cards) if evidence \
                else np.zeros(n, dtype=np.int64)
            if v in clamp:
                codes[v] = np.full(n, clamp[v], dtype=np.int64)
                weights = weights * table[col, clamp[v]]
            else:
                codes[v] = _draw(table[col], rng)
        return codes, weights

    def _named(self, codes) -> dict:
        return {v: _names(self.states[v], codes[v]) for v in self.model.nodes()}

    @staticmethod
    def _check_size(size, op):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
            raise ValueError(f"{op}: size must be a whole number >= 0, got {size!r}")
        return int(size)

    def forward_sample(self, size=1, seed=None) -> dict:
        """``size`` samples of the joint by ancestral sampling."""
        size = self._check_size(size, "forward_sample")
        codes, _ = self._forward(size, np.random.default_rng(seed))
        return self._named(codes)

    def rejection_sample(self, evidence=None, size=1, seed=None) -> dict:
        """``size`` samples of P(X | e): ancestral draws that disagree with e are dropped."""
        from .inference import VariableElimination
        size = self._check_size(size, "rejection_sample")
        ev = self.model.check_evidence(evidence, "rejection_sample")
        rng = np.random.default_rng(seed)
        if not ev:
            return self._named(self._forward(size, rng)[0])
        p = VariableElimination(self.model).evidence_probability(evidence)
        if not p > 0:
            raise ValueError(f"rejection_sample: the evidence {dict(evidence)} has "
                             "probability zero; no sample can agree with it")
        kept, got = [], 0
        while got < size:
            n = min(_MAX_BATCH, int(math.ceil((size - got) / p * 1.1)) + 16)
            codes, _ = self._forward(n, rng)
            ok = np.ones(n, dtype=bool)
            for v, i in ev.items():
                ok &= codes[v] == i
            kept.append({v: c[ok] for v, c in codes.items()})
            got += int(ok.sum())
        codes = {v: np.concatenate([k[v] for k in kept])[:size] for v in self.model.nodes()}
        return self._named(codes)

    def likelihood_weighted_sample(self, evidence=None, size=1, seed=None) -> dict:
        """``size`` samples with the evidence clamped and weights ``_weight`` =
        Π_j P(e_j | pa_j); Σ w·1[x] / Σ w estimates P(x | e)."""
        size = self._check_size(size, "likelihood_weighted_sample")
        ev = self.model.check_evidence(evidence, "likelihood_weighted_sample")
        codes, weights = self._forward(size, np.random.default_rng(seed), ev)
        if size and ev and not weights.any():
            from .inference import VariableElimination
            if not VariableElimination(self.model).evidence_probability(evidence) > 0:
                raise ValueError(f"likelihood_weighted_sample: the evidence {dict(evidence)} "
                                 "has probability zero (every weight is 0)")
            raise ValueError(f"likelihood_weighted_sample: all {size} samples have weight 0 "
                             "(the evidence is very unlikely under the sampled parents); "
                             "draw more samples")
        out = self._named(codes)
        out["_weight"] = weights
        return out


class GibbsSampling:
    """Gibbs sampling of a ``MarkovNetwork`` (a ``BayesianNetwork`` is moralised first)."""

    def __init__(self, model):
        if isinstance(model, BayesianNetwork):
            model = model.to_markov_network()
        model.check_model()
        self.model = model
        self.variables = model.nodes()
        self.states = model.states
        self.cardinality = np.array([len(self.states[v]) for v in self.variables])
        pos = {v: i for i, v in enumerate(self.variables)}
        self._blanket = []        # per variable: [(log φ with the variable last, others)]
        with np.errstate(divide="ignore"):
            logs = [(np.log(f.values), f.variables) for f in model.get_factors()]
        self._logs, self._pos = logs, pos
        for v in self.variables:
            parts = []
            for table, scope in logs:
                if v in scope:
                    axis = scope.index(v)
                    others = [pos[u] for u in scope if u != v]
                    parts.append((np.moveaxis(table, axis, -1), others))
            self._blanket.append(parts)

    def _run(self, n_chains, n_sweeps, burn_in, ev, rng, start=None):
        n_vars = len(self.variables)
        state = (rng.random((n_chains, n_vars)) * self.cardinality).astype(np.int64)
        if start is not None:
            state[:] = start
        free = [i for i, v in enumerate(self.variables) if v not in ev]
        for v, i in ev.items():
            state[:, self.variables.index(v)] = i
        out = np.empty((max(n_sweeps, 0), n_chains, n_vars), dtype=np.int64)
        for sweep in range(burn_in + n_sweeps):
            for i in free:
                logits = np.zeros((n_chains, self.cardinality[i]))
                for table, others in self._blanket[i]:
                    logits = logits + table[tuple(state[:, others].T)]
                top = logits.max(axis=1, keepdims=True)
                if not np.isfinite(top).all():
                    raise ValueError(f"GibbsSampling: every state of {self.variables[i]!r} "
                                     "has probability zero given its Markov blanket (the "
                                     "chain reached, or started in, an impossible state)")
                state[:, i] = _draw(np.exp(logits - top), rng)
            if sweep >= burn_in:
                out[sweep - burn_in] = state
        if not np.isfinite(self._log_weight(state)).all():
            raise ValueError("GibbsSampling: a chain ended in a state of probability zero (the "
                             f"evidence {self._named_evidence(ev)} has probability zero, or "
                             "the chain cannot leave impossible states: raise burn_in)")
        return out

    def _log_weight(self, state) -> np.ndarray:
        """log Π_k φ_k(x) of each row of ``state`` (−inf where some factor is 0)."""
        total = np.zeros(len(state))
        for table, scope in self._logs:
            total = total + table[tuple(state[:, self._pos[u]] for u in scope)]
        return total

    def _named_evidence(self, ev) -> dict:
        return {v: self.states[v][i] for v, i in ev.items()}

    def sample(self, start_state=None, size=1, seed=None) -> dict:
        """``size`` successive states of one chain (one sweep apart, no burn-in, as pgmpy)."""
        rng = np.random.default_rng(seed)
        start = None
        if start_state is not None:
            idx = self.model.check_evidence(start_state, "GibbsSampling.sample (start_state)")
            if set(idx) != set(self.variables):
                raise ValueError("GibbsSampling.sample: start_state must give a state for "
                                 f"every variable {self.variables}")
            start = np.array([idx[v] for v in self.variables])
        codes = self._run(1, int(size), 0, {}, rng, start)[:, 0, :]
        return {v: _names(self.states[v], codes[:, i]) for i, v in enumerate(self.variables)}

    def query(self, variables, evidence=None, n_samples=20000, burn_in=100, n_chains=100,
              seed=None):
        """Estimate P(variables | evidence) from ≈ ``n_samples`` states of ``n_chains``
        chains after ``burn_in`` sweeps; a normalised ``DiscreteFactor``."""
        from .factor import DiscreteFactor
        variables = self.model.check_variables(variables, "GibbsSampling.query")
        ev = self.model.check_evidence(evidence, "GibbsSampling.query")
        if not variables or set(variables) & set(ev):
            raise ValueError("GibbsSampling.query: name at least one variable, none of them "
                             "observed")
        for name, val in (("n_samples", n_samples), ("n_chains", n_chains)):
            if not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"GibbsSampling.query: {name} must be a whole number >= 1, "
                                 f"got {val!r}")
        if not isinstance(burn_in, (int, np.integer)) or burn_in < 0:
            raise ValueError(f"GibbsSampling.query: burn_in must be >= 0, got {burn_in!r}")
        sweeps = int(math.ceil(n_samples / n_chains))
        codes = self._run(n_chains, sweeps, burn_in, ev, np.random.default_rng(seed))
        cols = [self.variables.index(v) for v in variables]
        cards = [int(self.cardinality[c]) for c in cols]
        flat = np.ravel_multi_index([codes[..., c].ravel() for c in cols], cards)
        counts = np.bincount(flat, minlength=int(np.prod(cards))).astype(np.float64)
        return DiscreteFactor(variables, cards, counts / counts.sum(),
                              {v: self.states[v] for v in variables})
