"""MADE, the masked autoencoder for distribution estimation (Germain, Gregor, Murray &
Larochelle 2015; SYLLABUS §17, seed 003 "MADE").

An autoencoder whose weight matrices are multiplied by binary masks so that output i sees
only the inputs before i in an ordering. Each unit k gets a connectivity number m(k):

    inputs:  m(d) = the position of x_d in the ordering (0..D−1 here)
    hidden:  m^l(k) ~ U{min_k' m^{l−1}(k'), ..., D − 2}
    mask of a hidden layer:  M_{k,k'} = [m^l(k) ≥ m^{l−1}(k')]
    mask of the output:      M_{d,k}  = [m(d) > m^L(k)]          (strict)

so ∂y_d/∂x_j = 0 whenever m(j) ≥ m(d), and p(x) = Π_d σ(y_d)^{x_d} (1 − σ(y_d))^{1−x_d}.
Training several masks (``num_masks``; :meth:`MADE.update_masks` cycles them, orderings and
connectivity both) gives an ensemble whose likelihood is the *mean of the likelihoods*,
ln p(x) = ln (1/K) Σ_k p_k(x) (:meth:`MADE.ensemble_log_prob`).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from .. import backend, nn
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from ..ops.shape import stack
from ..tensor import _make, ones
from ..ops.reduce import logsumexp
from .binary_density import bernoulli, bernoulli_log_prob, binary_batch

__all__ = ["MaskedLinear", "MADE"]


class MaskedLinear(nn.Linear):
    """y = x (M ⊙ W)ᵀ + b: an ``nn.Linear`` whose weight is multiplied by the binary buffer
    ``mask`` (same shape as ``weight``, (out_features, in_features); all ones at start)."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device, dtype)
        self.register_buffer("mask", ones(out_features, in_features, dtype=self.weight.dtype))

    def set_mask(self, mask):
        """Copy a 0/1 mask of shape (out_features, in_features) into ``mask``."""
        m = np.asarray(mask.numpy() if hasattr(mask, "numpy") else mask)
        if m.shape != tuple(self.weight.shape):
            raise ValueError(f"MaskedLinear.set_mask: expected a mask of shape "
                             f"{tuple(self.weight.shape)} (out_features, in_features), got "
                             f"{m.shape}")
        if not np.isin(m, (0, 1)).all():
            raise ValueError("MaskedLinear.set_mask: the mask must hold only 0 and 1")
        self.mask = _make(m.astype(self.weight.dtype))

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise RuntimeError(f"MaskedLinear({self.extra_repr()}): expected input of shape "
                               f"(*, {self.in_features}), got {tuple(input.shape)}")
        return F.linear(input, self.weight * self.mask, self.bias)


class MADE(nn.Module):
    """``MADE(nin, hidden_sizes, nout=None, num_masks=1, natural_ordering=False, seed=0)``.

    ``nin`` binary inputs; ReLU hidden layers of ``hidden_sizes``; ``nout`` outputs (default
    nin: the Bernoulli logits; a multiple of nin gives nout/nin parameters per input, in
    blocks of nin). Any hidden size works (the paper uses 500 units for 784 pixels); with
    fewer than nin − 1 units some connectivity values 0..nin−2 are missing, so some
    conditionals see fewer of the inputs before them. ``natural_ordering`` keeps the order
    x_1..x_n (masks then differ in connectivity only); otherwise each mask draws a random
    ordering. Masks come from NumPy's RandomState(seed + mask index), so ``num_masks``
    masks repeat in a cycle; for order-agnostic training call :meth:`update_masks` before
    each minibatch, and evaluate with :meth:`ensemble_log_prob`.
    """

    def __init__(self, nin, hidden_sizes, nout=None, num_masks=1, natural_ordering=False,
                 seed=0, dtype=None):
        super().__init__()
        op = "MADE"
        if isinstance(nin, bool) or not isinstance(nin, numbers.Integral) or nin < 2:
            raise ValueError(f"{op}: nin must be an int >= 2 (an autoregressive model of one "
                             f"variable needs no masks), got {nin!r}")
        hidden_sizes = [hidden_sizes] if isinstance(hidden_sizes, numbers.Integral) \
            else list(hidden_sizes)
        if not hidden_sizes:
            raise ValueError(f"{op}: hidden_sizes must name at least one hidden layer")
        for i, h in enumerate(hidden_sizes):
            if isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1:
                raise ValueError(f"{op}: hidden layer {i} has {h!r} units, but MADE's masks "
                                 f"need at least 1 unit per hidden layer (an empty layer cuts "
                                 f"every output off its inputs)")
        nout = nin if nout is None else nout
        if isinstance(nout, bool) or not isinstance(nout, numbers.Integral) or nout < nin \
                or nout % nin:
            raise ValueError(f"{op}: nout must be a positive multiple of nin = {nin}, got "
                             f"{nout!r}")
        if isinstance(num_masks, bool) or not isinstance(num_masks, numbers.Integral) or \
                num_masks < 1:
            raise ValueError(f"{op}: num_masks must be an int >= 1, got {num_masks!r}")
        self.nin, self.nout, self.hidden_sizes = int(nin), int(nout), [int(h) for h in
                                                                     hidden_sizes]
        self.num_masks, self.natural_ordering = int(num_masks), bool(natural_ordering)
        self.seed, self._mask_index = int(seed), 0
        sizes = [self.nin] + self.hidden_sizes + [self.nout]
        layers = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            layers += [MaskedLinear(a, b, dtype=dtype), nn.ReLU()]
        self.net = nn.Sequential(*layers[:-1])
        self.m = {}
        self.update_masks()

    def extra_repr(self):
        return (f"nin={self.nin}, hidden_sizes={self.hidden_sizes}, nout={self.nout}, "
                f"num_masks={self.num_masks}, natural_ordering={self.natural_ordering}")

    @property
    def ordering(self) -> np.ndarray:
        """The input indices in the order they are generated (increasing m(d))."""
        return np.argsort(self.m[-1], kind="stable")

    def update_masks(self):
        """Draw the next ordering and connectivity numbers (cycling through ``num_masks``)
        and set every layer's mask from them."""
        if self.m and self.num_masks == 1:
            return
        rng = np.random.RandomState(self.seed + self._mask_index)
        self._mask_index = (self._mask_index + 1) % self.num_masks
        L = len(self.hidden_sizes)
        m = {-1: np.arange(self.nin) if self.natural_ordering else rng.permutation(self.nin)}
        for layer in range(L):
            m[layer] = rng.randint(m[layer - 1].min(), self.nin - 1,
                                   size=self.hidden_sizes[layer])
        masks = [m[layer][:, None] >= m[layer - 1][None, :] for layer in range(L)]
        out = m[-1][:, None] > m[L - 1][None, :]                     # (nin, H_L), strict
        masks.append(np.tile(out, (self.nout // self.nin, 1)))
        for linear, mask in zip((mod for mod in self.net if isinstance(mod, MaskedLinear)),
                                masks):
            linear.set_mask(mask)
        self.m = m

    def forward(self, x):
        """The nout outputs (logits of p(x_d = 1 | x_<d) when nout = nin), (N, nout)."""
        return self.net(x)

    def _x(self, x, op):
        return binary_batch(x, self.nin, f"MADE.{op}", self.net[0].weight.dtype,
                            device=self.net[0].weight.device)

    def log_prob(self, x):
        """ln p(x) = Σ_d ln p(x_d | x_<d) under the current mask, in nats per example (N,)."""
        if self.nout != self.nin:
            raise ValueError(f"MADE.log_prob: a Bernoulli likelihood needs nout == nin "
                             f"({self.nin}), this MADE has nout={self.nout}")
        x = self._x(x, "log_prob")
        return bernoulli_log_prob(self(x), x)

    def ensemble_log_prob(self, x, num_masks=None):
        """ln (1/K) Σ_k p_k(x) over the next K = ``num_masks`` masks (default: all of them):
        the log of the mean likelihood (a log-mean-exp), never a mean of logits. Advances
        the masks K times (K = num_masks leaves them where they were)."""
        K = self.num_masks if num_masks is None else num_masks
        if isinstance(K, bool) or not isinstance(K, numbers.Integral) or K < 1:
            raise ValueError(f"MADE.ensemble_log_prob: num_masks must be an int >= 1, got "
                             f"{num_masks!r}")
        x = self._x(x, "ensemble_log_prob")
        per_mask = []
        for _ in range(K):
            self.update_masks()
            per_mask.append(self.log_prob(x))
        return logsumexp(stack(per_mask), 0) - math.log(K)

    def sample(self, n, generator=None):
        """n samples (n, nin), one input at a time in the current ordering: nin passes, each
        drawing x_d ~ σ(y_d) for the next d."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"MADE.sample: n must be a positive int, got {n!r}")
        if self.nout != self.nin:
            raise ValueError(f"MADE.sample: sampling needs nout == nin ({self.nin})")
        dtype = self.net[0].weight.dtype
        x = np.zeros((int(n), self.nin), dtype)
        with no_grad():
            for d in self.ordering:
                p = F.sigmoid(self(_make(x))[:, int(d)])
                x[:, d] = backend.to_numpy(bernoulli(p, generator)._data)
        return _make(x)
