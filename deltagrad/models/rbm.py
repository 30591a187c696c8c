"""The restricted Boltzmann machine with binary units (SYLLABUS §16, seed 003 "RBMs").

Notation of the notes: visible v ∈ {0,1}^m, hidden h ∈ {0,1}^n, weights W (here n × m,
``W[j, i]`` = w_ij between v_i and h_j), visible bias b (m), hidden bias c (n):

    E(v, h)  = −bᵀv − cᵀh − hᵀWv                          (energy; P(v, h) = e^{−E} / Z)
    F(v)     = −bᵀv − Σ_j ln(1 + e^{c_j + W_j·v})         (free energy; P(v) = e^{−F(v)} / Z)
    P(h_j = 1 | v) = σ(c_j + Σ_i w_ij v_i),   P(v_i = 1 | h) = σ(b_i + Σ_j w_ij h_j)

Training (contrastive divergence, Hinton 2002): start a block-Gibbs chain at the data v_d,
run k steps to ṽ; ∇_θ of the surrogate F(v_d) − F(ṽ) (ṽ held fixed) is minus the notes'
CD-k estimate of ∇_θ ln P(v_d), e.g. for W: −[σ(Wv_d + c) v_dᵀ − σ(Wṽ + c) ṽᵀ]. So any
``dg.optim`` optimizer minimising :meth:`RBM.contrastive_divergence` does CD-k; with
``persistent=True`` the chains continue across batches instead (PCD, Tieleman 2008).

ln Z: exact by enumerating the smaller layer (:meth:`log_partition_exact`), or estimated by
annealed importance sampling (:meth:`ais`, Salakhutdinov & Murray 2008).
"""
from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np
from scipy.special import expit as sigmoid

from .. import backend, nn
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from ..tensor import Tensor, _make, randn, zeros
from .binary_density import bernoulli, binary_batch

__all__ = ["RBM", "AISEstimate"]

AISEstimate = namedtuple("AISEstimate", ["log_z", "log_z_low", "log_z_high", "log_weights"])
AISEstimate.__doc__ = """An AIS estimate of ln Z: ``log_z`` = ln Ẑ, the error bar
ln(Ẑ ∓ 3σ̂) (σ̂ the standard error of the mean importance weight; −inf when Ẑ − 3σ̂ ≤ 0),
and the per-chain log importance weights."""

_MAX_ENUMERATED = 25


def _positive_int(value, name, op, minimum=1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{op}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _logsumexp(a, axis=None):
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out.squeeze() if axis is None else np.squeeze(out, axis)


def _softplus_np(x):
    """ln(1 + e^x) = max(x, 0) + ln(1 + e^(−|x|)) in NumPy."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class RBM(nn.Module):
    """``RBM(n_visible, n_hidden)``: a Bernoulli–Bernoulli RBM with parameters ``W``
    (n_hidden × n_visible, N(0, 0.01²) at start), ``b`` (visible bias) and ``c`` (hidden
    bias), both zero at start (Hinton's practical guide).

    Inputs are (N, n_visible) tensors or arrays (or (N, ...) images with n_visible pixels,
    flattened); the energy, CD and likelihood need binary values, the conditionals and
    :meth:`transform` also take probabilities in [0, 1] (mean-field inputs, like
    scikit-learn's ``BernoulliRBM``). Random draws come from ``generator`` or dg's global
    generator (``dg.manual_seed``): one uniform array per sampled layer, in chain order.
    """

    def __init__(self, n_visible, n_hidden, dtype=None):
        super().__init__()
        self.n_visible = _positive_int(n_visible, "n_visible", "RBM")
        self.n_hidden = _positive_int(n_hidden, "n_hidden", "RBM")
        self.W = nn.Parameter(randn(self.n_hidden, self.n_visible, dtype=dtype) * 0.01)
        self.b = nn.Parameter(zeros(self.n_visible, dtype=dtype))
        self.c = nn.Parameter(zeros(self.n_hidden, dtype=dtype))
        self.register_buffer("persistent_chain", None)

    def extra_repr(self):
        return f"n_visible={self.n_visible}, n_hidden={self.n_hidden}"

    # ------------------------------------------------------------------ input checks
    def _v(self, v, op, binary=True):
        return binary_batch(v, self.n_visible, f"RBM.{op}", self.W.dtype, "v", binary,
                            self.W.device)

    def _h(self, h, op, binary=True):
        return binary_batch(h, self.n_hidden, f"RBM.{op}", self.W.dtype, "h", binary,
                            self.W.device)

    # ------------------------------------------------------------------ the formulas
    def energy(self, v, h):
        """E(v, h) = −bᵀv − cᵀh − hᵀWv, one value per example (N,)."""
        v, h = self._v(v, "energy"), self._h(h, "energy")
        if v.shape[0] != h.shape[0]:
            raise ValueError(f"RBM.energy: v and h need the same batch size, got "
                             f"{v.shape[0]} and {h.shape[0]}")
        return -(v @ self.b) - (h @ self.c) - (F.linear(v, self.W) * h).sum(-1)

    def free_energy(self, v):
        """F(v) = −bᵀv − Σ_j softplus(c_j + W_j·v) = −ln Σ_h e^{−E(v, h)}, per example (N,)."""
        v = self._v(v, "free_energy", binary=False)
        return -(v @ self.b) - F.softplus(F.linear(v, self.W, self.c)).sum(-1)

    def _p_h(self, v):
        return F.sigmoid(F.linear(v, self.W, self.c))

    def _p_v(self, h):
        return F.sigmoid(h @ self.W + self.b)

    def p_h_given_v(self, v):
        """P(h_j = 1 | v) = σ(c_j + W_j·v), (N, n_hidden)."""
        return self._p_h(self._v(v, "p_h_given_v", binary=False))

    def p_v_given_h(self, h):
        """P(v_i = 1 | h) = σ(b_i + Σ_j w_ij h_j), (N, n_visible)."""
        return self._p_v(self._h(h, "p_v_given_h", binary=False))

    def sample_h(self, v, generator=None):
        """h ~ P(h | v): one binary sample per example (no gradient)."""
        with no_grad():
            return bernoulli(self.p_h_given_v(v), generator)

    def sample_v(self, h, generator=None):
        """v ~ P(v | h): one binary sample per example (no gradient)."""
        with no_grad():
            return bernoulli(self.p_v_given_h(h), generator)

    def gibbs(self, v, k=1, generator=None):
        """k steps of block Gibbs sampling from v: h ~ P(h | v), then v ~ P(v | h); returns
        the visible sample after the k-th step."""
        k = _positive_int(k, "k", "RBM.gibbs")
        v = self._v(v, "gibbs", binary=False)
        with no_grad():
            for _ in range(k):       # the draws are binary: no need to check them again
                v = bernoulli(self._p_v(bernoulli(self._p_h(v), generator)), generator)
        return v

    # ------------------------------------------------------------------ training
    def contrastive_divergence(self, v, k=1, persistent=False, generator=None):
        """The CD-k (or PCD-k) surrogate loss mean F(v) − mean F(ṽ) with ṽ fixed.

        ṽ is the visible sample after k block-Gibbs steps started at v (CD) or at the
        persistent chains (PCD: ``persistent_chain``, started at the first batch and kept
        across calls; :meth:`reset_chains` forgets them). ``loss.backward()`` puts the
        negative CD-k estimate of ∇ ln P(v) (averaged over the batch) in ``.grad``.
        """
        v = self._v(v, "contrastive_divergence")
        k = _positive_int(k, "k", "RBM.contrastive_divergence")
        pre = F.linear(v, self.W, self.c)          # c + Wv: F(v)'s and the first step's
        chain = self.persistent_chain if persistent else None
        with no_grad():
            if chain is None:                      # start at the data
                h = bernoulli(F.sigmoid(pre.detach()), generator)
                v_tilde = bernoulli(self._p_v(h), generator)
                if k > 1:
                    v_tilde = self.gibbs(v_tilde, k - 1, generator)
            else:
                v_tilde = self.gibbs(chain, k, generator)
            if persistent:
                self.persistent_chain = v_tilde
        free_energy_data = -(v @ self.b) - F.softplus(pre).sum(-1)
        return free_energy_data.mean() - self.free_energy(v_tilde).mean()

    def reset_chains(self):
        """Forget the persistent chains (the next PCD call restarts them at its batch)."""
        self.persistent_chain = None

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """As ``nn.Module.load_state_dict``; the persistent chains, whose number is that of
        the saved run, are taken as they are (or forgotten when the state has none)."""
        state = dict(state_dict)
        chain = state.pop("persistent_chain", None)
        self.persistent_chain = None
        result = super().load_state_dict(state, strict=strict, assign=assign)
        if chain is not None:
            chain = np.array(chain.detach().numpy() if isinstance(chain, Tensor) else chain,
                             dtype=self.W.dtype)
            self.persistent_chain = binary_batch(chain, self.n_visible,
                                                 "RBM.load_state_dict", self.W.dtype,
                                                 "persistent_chain")
        return result

    # ------------------------------------------------------------------ the partition function
    def _numpy_params(self):
        return (backend.to_numpy(p.detach()._data).astype(np.float64)
                for p in (self.W, self.b, self.c))

    def log_partition_exact(self, max_states_per_chunk=None):
        """ln Z = ln Σ_{v,h} e^{−E(v, h)}, summing the other layer out analytically:

            over h (n ≤ m):  ln Z = ln Σ_h exp(cᵀh + Σ_i softplus(b_i + Σ_j w_ij h_j))
            over v (m < n):  ln Z = ln Σ_v exp(−F(v))

        in float64, enumerating the smaller layer's 2^min(m, n) states in chunks. Only
        for a smaller layer of at most 25 units."""
        W, b, c = self._numpy_params()
        small = min(self.n_visible, self.n_hidden)
        if small > _MAX_ENUMERATED:
            raise ValueError(f"RBM.log_partition_exact: enumerating 2^{small} states is "
                             f"intractable (the smaller layer must have <= {_MAX_ENUMERATED} "
                             f"units, this RBM has {self.n_visible} visible and "
                             f"{self.n_hidden} hidden); estimate ln Z with RBM.ais(...)")
        if self.n_hidden <= self.n_visible:
            weights, own_bias, other_bias = W, c, b       # states h; h @ W is (M, m)
        else:
            weights, own_bias, other_bias = W.T, b, c     # states v; v @ Wᵀ is (M, n)
        large = weights.shape[1]
        chunk = max_states_per_chunk or max(1, (1 << 22) // large)
        bits = np.arange(small, dtype=np.int64)
        parts = []
        for start in range(0, 1 << small, chunk):
            idx = np.arange(start, min(start + chunk, 1 << small), dtype=np.int64)
            states = ((idx[:, None] >> bits) & 1).astype(np.float64)
            terms = states @ own_bias + _softplus_np(states @ weights + other_bias).sum(1)
            parts.append(_logsumexp(terms))
        return float(_logsumexp(np.array(parts)))

    def ais(self, n_chains=100, n_betas=10000, base_rate=None, betas=None, generator=None):
        """ln Z by annealed importance sampling (Salakhutdinov & Murray 2008).

        Base model A: an RBM with W_A = 0, c_A = 0 and visible bias b_A = logit of
        ``base_rate`` (the data's pixel marginals when given data (N, m) or marginals (m,);
        zero, a uniform base, when None). Intermediate models p_k(v) ∝ f_k(v) with

            ln f_k(v) = (1 − β_k) b_Aᵀv + β_k bᵀv + Σ_j softplus(β_k (W_j·v + c_j))

        for 0 = β_0 < β_1 < ... < β_K = 1 (``betas``, default linspace(0, 1, n_betas)),
        so f_K = e^{−F(v)} and Z_0 = 2^n Π_i (1 + e^{b_A,i}) is known.
        Each chain starts at v ~ p_0, accumulates ln w += ln f_k(v) − ln f_{k−1}(v), then
        moves by one Gibbs step that leaves p_k invariant. ln Ẑ = ln Z_0 + ln mean(w).
        Returns an :class:`AISEstimate` with the ±3σ̂ error bar.
        """
        op = "RBM.ais"
        n_chains = _positive_int(n_chains, "n_chains", op)
        if betas is None:
            betas = np.linspace(0.0, 1.0, _positive_int(n_betas, "n_betas", op, 2))
        else:
            betas = np.asarray(betas, dtype=np.float64)
            if betas.ndim != 1 or len(betas) < 2 or betas[0] != 0 or betas[-1] != 1 or \
                    (np.diff(betas) <= 0).any():
                raise ValueError(f"{op}: betas must increase strictly from 0 to 1")
        W, b, c = self._numpy_params()
        b_a = self._base_bias(base_rate)
        rng = backend.rng(generator)
        n_h = self.n_hidden
        log_z_0 = float(_softplus_np(b_a).sum() + n_h * math.log(2.0))

        v = (rng.random((n_chains, self.n_visible)) < sigmoid(b_a)).astype(np.float64)
        log_w = np.zeros(n_chains)
        db = b - b_a
        for beta_prev, beta in zip(betas[:-1], betas[1:]):
            a = v @ W.T + c
            log_w += (beta - beta_prev) * (v @ db) + \
                (_softplus_np(beta * a) - _softplus_np(beta_prev * a)).sum(1)
            if beta < 1.0:      # the last transition would not change the weights
                h = (rng.random((n_chains, n_h), np.float32) < sigmoid(beta * a)).astype(
                    np.float64)
                pv = sigmoid((1.0 - beta) * b_a + beta * (h @ W + b))
                v = (rng.random(v.shape, np.float32) < pv).astype(np.float64)
        log_mean = float(_logsumexp(log_w) - math.log(n_chains))
        rel = np.exp(log_w - log_mean)                         # w / mean(w)
        sem = float(rel.std() / math.sqrt(n_chains))           # standard error / mean(w)
        low = log_z_0 + log_mean + (math.log(1 - 3 * sem) if 3 * sem < 1 else -math.inf)
        high = log_z_0 + log_mean + math.log(1 + 3 * sem)
        return AISEstimate(log_z_0 + log_mean, low, high, log_w)

    def _base_bias(self, base_rate):
        if base_rate is None:
            return np.zeros(self.n_visible)
        if isinstance(base_rate, Tensor):
            base_rate = backend.to_numpy(base_rate.detach()._data)
        p = np.asarray(base_rate, dtype=np.float64)
        if p.ndim >= 2:
            p = p.reshape(p.shape[0], -1).mean(0)
        if p.shape != (self.n_visible,) or not ((p >= 0) & (p <= 1)).all():
            raise ValueError(f"RBM.ais: base_rate must be data (N, {self.n_visible}) or "
                             f"marginal probabilities ({self.n_visible},) in [0, 1], got "
                             f"shape {p.shape}")
        p = np.clip(p, 1e-3, 1 - 1e-3)          # keep the base model's biases finite
        return np.log(p) - np.log1p(-p)

    def log_likelihood(self, v, log_z=None):
        """ln P(v) = −F(v) − ln Z per example (N,), in nats. ``log_z``: a number (e.g.
        ``rbm.ais(...).log_z``) or None for :meth:`log_partition_exact`."""
        v = self._v(v, "log_likelihood")
        if log_z is None:
            log_z = self.log_partition_exact()
        elif isinstance(log_z, AISEstimate):
            log_z = log_z.log_z
        if isinstance(log_z, bool) or not isinstance(log_z, numbers.Real) or \
                not math.isfinite(log_z):
            raise ValueError(f"RBM.log_likelihood: log_z must be a finite number, got "
                             f"{log_z!r}")
        return -self.free_energy(v) - float(log_z)    # a Python number keeps W's dtype

    # ------------------------------------------------------------------ using the model
    def transform(self, v):
        """Hidden probabilities P(h = 1 | v) as features (scikit-learn's
        ``BernoulliRBM.transform``), without gradient."""
        with no_grad():
            return self.p_h_given_v(v)

    def sample(self, n_samples, k=1000, v0=None, generator=None):
        """Visible samples after k Gibbs steps from ``v0`` (default: uniform random)."""
        if v0 is None:
            n = _positive_int(n_samples, "n_samples", "RBM.sample")
            u = backend.rng(generator).random((n, self.n_visible), dtype=self.W.dtype)
            v0 = _make(backend.to_device((u < 0.5).astype(self.W.dtype), self.W.device))
        return self.gibbs(v0, k, generator)

    def gibbs_chain(self, v0, k=1000, every=100, generator=None):
        """Snapshots of Gibbs chains for pictures: an array (k // every + 1, N, n_visible)
        holding v0 and P(v = 1 | h) after every ``every`` steps."""
        every = _positive_int(every, "every", "RBM.gibbs_chain")
        k = _positive_int(k, "k", "RBM.gibbs_chain")
        v = self._v(v0, "gibbs_chain", binary=False)
        frames = [backend.to_numpy(v._data).copy()]
        with no_grad():
            for step in range(1, k + 1):
                p = self._p_v(bernoulli(self._p_h(v), generator))
                v = bernoulli(p, generator)
                if step % every == 0:
                    frames.append(backend.to_numpy(p._data).copy())
        return np.stack(frames)

    def filters(self, image_shape=None):
        """The weights of each hidden unit as an image: W reshaped to (n_hidden, *image_shape)
        (default: square images when n_visible is a square)."""
        if image_shape is None:
            side = math.isqrt(self.n_visible)
            image_shape = (side, side) if side * side == self.n_visible else (self.n_visible,)
        if math.prod(image_shape) != self.n_visible:
            raise ValueError(f"RBM.filters: image_shape {tuple(image_shape)} does not hold "
                             f"{self.n_visible} visible units")
        return backend.to_numpy(self.W.detach()._data).reshape(self.n_hidden, *image_shape)
