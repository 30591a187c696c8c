"""The binary density task: the model's outputs are the logits y_i of p(x_i = 1 | x_<i) and
the target is the input itself (NADE, MADE).

ℓ = −(1/B) Σ_b ln p(x_b) = (1/B) Σ_b Σ_i BCE(σ(y_{b,i}), x_{b,i}): the negative
log-likelihood in nats per example (not per pixel), the number the literature reports for
binarized MNIST. Registered in :data:`deltagrad.train.tasks.TASKS` as ``"bernoulli-density"``.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..models.binary_density import bernoulli_log_prob
from . import tasks as _tasks

__all__ = ["BernoulliDensity"]


class BernoulliDensity(_tasks.Task):
    """ℓ = mean over the batch of −ln p(x) = −Σ_i ln p(x_i | x_<i), in nats per example."""

    name = "bernoulli-density"
    has_accuracy = False

    def target(self, y):
        return np.asarray(y, dtype=backend.get_default_dtype())

    def loss(self, output, target):
        if tuple(output.shape) != tuple(target.shape) or output.ndim != 2:
            raise RuntimeError(f"bernoulli-density loss: expected logits and binary targets "
                               f"of the same shape (B, D), got {tuple(output.shape)} and "
                               f"{tuple(target.shape)}")
        return -bernoulli_log_prob(output, target).mean()

    def split_metrics(self, split: str, loss: float) -> dict:
        """The evaluated split's NLL under its usual name (nats per example)."""
        return {f"{split}_nll_nats": loss}


_tasks.TASKS.setdefault(BernoulliDensity.name, BernoulliDensity())
