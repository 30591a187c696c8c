"""Finite Markov chains and Gibbs sampling (SYLLABUS §16, seed 003 "Markov chains").

Notation of the notes: a time-homogeneous chain on ``l`` states has the transition matrix
T (here ``P``) with T_ab = P(X_i = b | X_{i-1} = a); the distribution at step k is the row
vector u^k = u^0 T^k; π is stationary when πT = π; the chain satisfies *detailed balance*
when π(x) T_xy = π(y) T_yx for all x, y (which implies stationarity).

Gibbs sampling (the notes' random-scan version): pick a variable i with probability q(i),
resample X_i from P(X_i | X_{-i}). Its transition matrix is

    T_xy = q(i) P(X_i = y_i | X_{-i} = x_{-i})   when x and y differ only in variable i,
    T_xx = Σ_i q(i) P(X_i = x_i | X_{-i} = x_{-i}),   0 otherwise,

and the joint P is its stationary distribution by detailed balance. :func:`gibbs_chain`
builds that matrix for a small joint table, so the theorem can be checked exactly, and
:func:`gibbs_sample` runs the sampler itself.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor

__all__ = ["MarkovChain", "gibbs_chain", "gibbs_sample"]


def _array(x, op, name) -> np.ndarray:
    if isinstance(x, Tensor):
        x = backend.to_numpy(x.detach()._data)
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} must be an array of numbers, got {type(x).__name__}") \
            from None


def _check_steps(n, op, name="n_steps", minimum=0) -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < minimum:
        raise ValueError(f"{op}: {name} must be an int >= {minimum}, got {n!r}")
    return int(n)


class MarkovChain:
    """A time-homogeneous chain on states 0..l-1 with transition matrix ``P`` (l × l, rows
    are probability distributions: P[a, b] = P(X_t = b | X_{t-1} = a))."""

    def __init__(self, P, atol=1e-8):
        P = _array(P, "MarkovChain", "P")
        if P.ndim != 2 or P.shape[0] != P.shape[1] or P.shape[0] == 0:
            raise ValueError(f"MarkovChain: P must be a non-empty square matrix (l, l), "
                             f"got shape {P.shape}")
        if not np.isfinite(P).all() or (P < -atol).any():
            raise ValueError("MarkovChain: P must have finite, non-negative entries")
        sums = P.sum(axis=1)
        if not np.allclose(sums, 1.0, atol=max(atol, 1e-12) * P.shape[0], rtol=0):
            bad = int(np.argmax(np.abs(sums - 1)))
            raise ValueError(f"MarkovChain: every row of P must sum to 1 (a distribution over "
                             f"the next state); row {bad} sums to {sums[bad]:.6g}")
        self.P = np.clip(P, 0.0, None)
        self.atol = float(atol)

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    def __repr__(self):
        return f"MarkovChain(n_states={self.n_states})"

    # ------------------------------------------------------------------ distributions
    def distribution_at(self, u0, k) -> np.ndarray:
        """u^k = u^0 T^k, the distribution of X_k when X_0 ~ u^0."""
        u = _array(u0, "MarkovChain.distribution_at", "u0")
        if u.shape != (self.n_states,) or (u < 0).any() or not math.isclose(u.sum(), 1.0,
                                                                            abs_tol=1e-8):
            raise ValueError(f"MarkovChain.distribution_at: u0 must be a distribution over "
                             f"{self.n_states} states, got shape {u.shape} summing to "
                             f"{u.sum():.6g}")
        return u @ np.linalg.matrix_power(self.P, _check_steps(k, "distribution_at", "k"))

    def stationary_distribution(self) -> np.ndarray:
        """The π with πT = π and Σπ = 1 (the left eigenvector of T for eigenvalue 1).

        Raises ``ValueError`` when the chain has more than one (it is then reducible, with
        several closed classes)."""
        A = self.P.T - np.eye(self.n_states)
        # the null space of (Tᵀ - I): singular vectors with (numerically) zero singular value
        _, s, vt = np.linalg.svd(A)
        tol = max(self.atol, 1e-10) * self.n_states
        null = vt[s <= tol] if s.size else vt
        if len(null) != 1:
            raise ValueError(f"MarkovChain.stationary_distribution: the stationary "
                             f"distribution is not unique ({len(null)} independent solutions "
                             f"of πT = π): the chain has several closed classes")
        pi = null[0]
        pi = pi / pi.sum()
        return np.clip(pi, 0.0, None) / np.clip(pi, 0.0, None).sum()

    def is_reversible(self, pi=None) -> bool:
        """Detailed balance: π(x) T_xy = π(y) T_yx for every pair of states (π defaults to
        the stationary distribution)."""
        pi = self.stationary_distribution() if pi is None else _array(
            pi, "MarkovChain.is_reversible", "pi")
        if pi.shape != (self.n_states,):
            raise ValueError(f"MarkovChain.is_reversible: pi must have shape "
                             f"({self.n_states},), got {pi.shape}")
        flow = pi[:, None] * self.P
        return bool(np.allclose(flow, flow.T, atol=self.atol, rtol=0))

    # ------------------------------------------------------------------ structure
    def _reach(self) -> np.ndarray:
        """reach[a, b]: b can be reached from a in one or more steps."""
        adj = (self.P > 0).astype(np.int64)
        reach = adj.copy()
        for _ in range(max(1, int(math.ceil(math.log2(self.n_states))) + 1)):
            reach = ((reach + reach @ reach) > 0).astype(np.int64)
        return reach > 0

    def is_irreducible(self) -> bool:
        """Every state is reachable from every other in a finite number of steps."""
        return bool(self._reach().all())

    def is_aperiodic(self) -> bool:
        """For an irreducible chain: gcd{k : P(X_k = x | X_0 = x) > 0} = 1, i.e. T^k > 0
        entrywise for k = (l-1)² + 1 (Wielandt). Reducible chains: every recurrent class
        is checked the same way through its diagonal return times."""
        n = self.n_states
        adj = (self.P > 0).astype(np.int64)
        period = [0] * n
        power = np.eye(n, dtype=np.int64)
        for k in range(1, (n - 1) ** 2 + 2):
            power = ((power @ adj) > 0).astype(np.int64)
            for x in np.flatnonzero(np.diag(power)):
                period[x] = math.gcd(period[x], k)
        return all(p == 1 for p in period if p)

    # ------------------------------------------------------------------ sampling
    def sample(self, n_steps, start=None, generator=None) -> np.ndarray:
        """A trajectory X_0..X_{n_steps} (int64). ``start``: a state index, a distribution
        over the states, or None (uniform)."""
        n_steps = _check_steps(n_steps, "MarkovChain.sample")
        rng = backend.rng(generator)
        if start is None:
            x = int(rng.integers(self.n_states))
        elif isinstance(start, numbers.Integral) and not isinstance(start, bool):
            if not 0 <= start < self.n_states:
                raise ValueError(f"MarkovChain.sample: start state {start} is not in "
                                 f"[0, {self.n_states})")
            x = int(start)
        else:
            u = _array(start, "MarkovChain.sample", "start")
            if u.shape != (self.n_states,):
                raise ValueError(f"MarkovChain.sample: start must be a state or a "
                                 f"distribution of shape ({self.n_states},), got {u.shape}")
            x = int(rng.choice(self.n_states, p=u / u.sum()))
        cdf = np.cumsum(self.P, axis=1)
        cdf[:, -1] = 1.0
        out = np.empty(n_steps + 1, np.int64)
        out[0] = x
        for t, r in enumerate(rng.random(n_steps), 1):
            x = int(np.searchsorted(cdf[x], r, side="right"))
            out[t] = x
        return out


# ----------------------------------------------------------------------------- Gibbs sampling
def _joint_table(joint, op) -> np.ndarray:
    p = _array(joint, op, "joint")
    if p.ndim == 0 or (p < 0).any() or not np.isfinite(p).all() or p.sum() <= 0:
        raise ValueError(f"{op}: joint must be a table of non-negative numbers with one axis "
                         f"per variable (shape (k1, ..., kn)), got shape {p.shape}")
    if (p == 0).any():
        raise ValueError(f"{op}: every configuration must have positive probability (else "
                         f"the Gibbs chain need not be irreducible)")
    return p / p.sum()


def gibbs_chain(joint, q=None) -> MarkovChain:
    """The random-scan Gibbs sampler of a joint table as a :class:`MarkovChain` over its
    flattened configurations (C order), with T as in the module docstring; ``q`` is the
    probability of picking each variable (default uniform)."""
    p = _joint_table(joint, "gibbs_chain")
    n_vars = p.ndim
    q = np.full(n_vars, 1.0 / n_vars) if q is None else _array(q, "gibbs_chain", "q")
    if q.shape != (n_vars,) or (q < 0).any() or not math.isclose(q.sum(), 1.0, abs_tol=1e-9):
        raise ValueError(f"gibbs_chain: q must be a distribution over the {n_vars} variables, "
                         f"got {q}")
    n = p.size
    T = np.zeros((n, n))
    states = np.arange(n)
    for i in range(n_vars):
        cond = p / p.sum(axis=i, keepdims=True)       # P(X_i = y_i | X_{-i})
        idx = np.array(np.unravel_index(states, p.shape))   # (n_vars, n)
        for v in range(p.shape[i]):
            y = idx.copy()
            y[i] = v
            y_flat = np.ravel_multi_index(tuple(y), p.shape)
            T[states, y_flat] += q[i] * cond.reshape(-1)[y_flat]
    return MarkovChain(T)


def gibbs_sample(joint, n_samples, burn_in=100, x0=None, generator=None) -> np.ndarray:
    """Random-scan Gibbs samples (n_samples, n_vars) of a joint table: each step picks a
    variable uniformly and resamples it from P(X_i | X_{-i}); the first ``burn_in`` steps
    are dropped."""
    p = _joint_table(joint, "gibbs_sample")
    n_samples = _check_steps(n_samples, "gibbs_sample", "n_samples", 1)
    burn_in = _check_steps(burn_in, "gibbs_sample", "burn_in")
    rng = backend.rng(generator)
    x = (np.array([rng.integers(k) for k in p.shape]) if x0 is None
         else np.asarray(x0, dtype=np.int64).copy())
    if x.shape != (p.ndim,) or (x < 0).any() or (x >= np.array(p.shape)).any():
        raise ValueError(f"gibbs_sample: x0 must hold one valid value per variable "
                         f"(shape ({p.ndim},)), got {x0!r}")
    out = np.empty((n_samples, p.ndim), np.int64)
    picks = rng.integers(p.ndim, size=burn_in + n_samples)
    draws = rng.random(burn_in + n_samples)
    for t in range(burn_in + n_samples):
        i = picks[t]
        row = p[tuple(x[:i]) + (slice(None),) + tuple(x[i + 1:])]
        x[i] = min(int(np.searchsorted(np.cumsum(row) / row.sum(), draws[t], side="right")),
                   p.shape[i] - 1)
        if t >= burn_in:
            out[t - burn_in] = x
    return out
