"""The language-model task: next-token cross-entropy over every position of a sequence.

For logits z of shape (B, T, V) and targets y (B, T), the loss is the mean over all B·T
positions of −log softmax(z_t)_{y_t}: the average negative log-likelihood in nats per token
(nats/char for a character model). Perplexity = exp(loss), the effective number of equally
likely choices per token. Registered in :data:`deltagrad.train.tasks.TASKS` as
``"language-model"``.
"""
from __future__ import annotations

import math

import numpy as np

from ..nn import functional as F
from . import tasks as _tasks

__all__ = ["LanguageModeling", "perplexity"]


def perplexity(nats_per_token: float) -> float:
    """PPL = exp(mean NLL in nats)."""
    return math.exp(nats_per_token) if nats_per_token < 700 else float("inf")


class LanguageModeling(_tasks.Task):
    """ℓ = −(1/BT) Σ_{b,t} log p(y_{b,t} | x_{b,≤t}); reported as nats/token and perplexity."""

    name = "language-model"
    has_accuracy = False

    def target(self, y):
        return np.asarray(y, dtype=np.int64)

    def loss(self, output, target):
        if output.ndim != 3 or tuple(target.shape) != tuple(output.shape[:2]):
            raise RuntimeError(f"language-model loss: expected logits (B, T, V) and targets "
                               f"(B, T), got {tuple(output.shape)} and {tuple(target.shape)}")
        V = output.shape[-1]
        return F.cross_entropy(output.reshape(-1, V), target.reshape(-1))

    def predict(self, output):
        return super().predict(output).argmax(-1)

    def split_metrics(self, split: str, loss: float) -> dict:
        """Extra numbers of an evaluated split: its perplexity."""
        return {f"{split}_perplexity": perplexity(loss)}


_tasks.TASKS.setdefault(LanguageModeling.name, LanguageModeling())
