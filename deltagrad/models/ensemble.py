"""Ensembles: bagging and dropout as an implicit ensemble (seed 001 §10, seed 004 §4.3).

* :class:`Ensemble` averages its members' class probabilities,
  p̄(y | x) = (1/M) Σₘ softmax(f_m(x)) (σ(f_m(x)) for members with one logit), and predicts
  argmax p̄.
* :func:`bootstrap_indices` / :func:`bagging`: bootstrap aggregation, each member trained on
  n samples drawn with replacement from the n training samples (≈ 63.2 % distinct).
* :func:`mc_dropout_probs` / :func:`weight_scaling_probs`: a network with dropout is an
  ensemble of 2^H thinned networks; averaging the probabilities over T sampled masks
  (Monte-Carlo) approximates the ensemble's mean, and the usual test-time rule (every unit
  on, activations scaled by the keep probability, here implicit in inverted dropout)
  approximates its geometric mean in one pass.
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..nn import functional as F
from ..tensor import Tensor, from_numpy


def probabilities(logits: Tensor) -> Tensor:
    """softmax over the last axis, or σ(z) as a two-column (1 − p, p) for one logit."""
    if logits.ndim == 1 or logits.shape[-1] == 1:
        p = F.sigmoid(logits.reshape(logits.shape[0], 1))
        from .. import cat
        return cat([1 - p, p], dim=1)
    return F.softmax(logits, dim=-1)


class Ensemble(nn.Module):
    """p̄(y | x) = (1/M) Σₘ p_m(y | x): the members' class probabilities averaged.

    ``forward`` returns the averaged probabilities (N, K) (not logits: take ``log`` for NLL);
    :meth:`predict` the class of highest mean probability. ``members`` are kept in an
    ``nn.ModuleList`` (``state_dict`` keys ``members.0.…``)."""

    def __init__(self, members):
        super().__init__()
        members = list(members)
        if not members:
            raise ValueError("Ensemble: needs at least one member, got an empty list")
        bad = [i for i, m in enumerate(members) if not isinstance(m, nn.Module)]
        if bad:
            raise TypeError(f"Ensemble: members must be nn.Module instances; members {bad} "
                            f"are {[type(members[i]).__name__ for i in bad]}")
        self.members = nn.ModuleList(members)

    def forward(self, x: Tensor) -> Tensor:
        probs = [probabilities(m(x)) for m in self.members]
        shapes = {tuple(p.shape) for p in probs}
        if len(shapes) != 1:
            raise ValueError(f"Ensemble: members return outputs of different shapes {shapes}")
        total = probs[0]
        for p in probs[1:]:
            total = total + p
        return total / len(probs)

    def predict(self, x: Tensor) -> np.ndarray:
        with no_grad():
            return self(x).numpy().argmax(axis=1)


def bootstrap_indices(n: int, rng) -> np.ndarray:
    """n indices drawn uniformly with replacement from range(n) (a bootstrap sample)."""
    if n < 1:
        raise ValueError(f"bootstrap_indices: needs n >= 1 samples, got {n}")
    return np.asarray(rng.integers(0, n, size=n), dtype=np.int64)


def bagging(make_model, train_fn, x: np.ndarray, y: np.ndarray, members: int = 5,
            seed: int = 0) -> Ensemble:
    """Bootstrap aggregation: for m = 1 … M draw a bootstrap sample D_m of (x, y), build
    ``make_model(m)`` and train it with ``train_fn(model, x[D_m], y[D_m], m)``; return the
    :class:`Ensemble` of the M members. ``seed`` fixes the samples."""
    if isinstance(members, bool) or not isinstance(members, int) or members < 1:
        raise ValueError(f"bagging: members must be an int >= 1, got {members!r}")
    if len(x) != len(y):
        raise ValueError(f"bagging: x has {len(x)} samples but y has {len(y)}")
    rng = np.random.default_rng(seed)
    trained = []
    for m in range(members):
        idx = bootstrap_indices(len(x), rng)
        model = make_model(m)
        train_fn(model, x[idx], y[idx], m)
        trained.append(model)
    return Ensemble(trained)


def _as_tensor(x) -> Tensor:
    return x if isinstance(x, Tensor) else from_numpy(np.ascontiguousarray(x))


def mc_dropout_probs(model: nn.Module, x, samples: int = 30) -> np.ndarray:
    """(1/T) Σ_t softmax(f(x; mask_t)): dropout left on at test time (other layers, e.g.
    batch norm, in eval mode), averaged over ``samples`` masks drawn from the global
    generator. The model's train/eval mode is restored afterwards."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"mc_dropout_probs: samples must be an int >= 1, got {samples!r}")
    drops = [m for m in model.modules() if "Dropout" in type(m).__name__]
    if not drops:
        raise ValueError(f"mc_dropout_probs: {type(model).__name__} has no dropout layer; "
                         "Monte-Carlo averaging needs one")
    was_training = model.training
    model.eval()
    for d in drops:
        d.train()
    xt = _as_tensor(x)
    try:
        with no_grad():
            total = sum(probabilities(model(xt)).numpy().astype(np.float64)
                        for _ in range(samples))
    finally:
        model.train(was_training)
    return total / samples


def weight_scaling_probs(model: nn.Module, x) -> np.ndarray:
    """softmax(f(x)) in eval mode: every unit on, activations scaled by the keep probability
    (inverted dropout scales at training time instead), one deterministic pass."""
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            return probabilities(model(_as_tensor(x))).numpy().astype(np.float64)
    finally:
        model.train(was_training)
