"""What a model is trained to do: the loss, the quality measure and the prediction rule.

An experiment names its task (``"classification"``, ``"binary"``, ``"regression"``); the
training loop asks the task, never the experiment, how to score a batch. A new kind of model
(a language model: per-token cross-entropy and perplexity) is a new :class:`Task` here.
"""
from __future__ import annotations

import numpy as np

from .. import backend
from ..nn import functional as F
from ..tensor import Tensor


class Task:
    """Loss and scoring of a batch; subclasses set ``name`` and ``has_accuracy``."""

    name = "task"
    has_accuracy = False

    def target(self, y: np.ndarray) -> np.ndarray:
        """The targets as the array (dtype) the loss expects."""
        return np.asarray(y)

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__}.loss")

    def predict(self, output: Tensor) -> np.ndarray:
        """Predictions of a batch as a NumPy array (class indices for classifiers)."""
        return backend.to_numpy(output.detach()._data)


class Classification(Task):
    """K classes, logits (N, K): ℓ = −log softmax(z)_y, averaged over the batch;
    prediction ŷ = argmax_k z_k."""

    name = "classification"
    has_accuracy = True

    def target(self, y):
        return np.asarray(y, dtype=np.int64)

    def loss(self, output, target):
        return F.cross_entropy(output, target)

    def predict(self, output):
        return backend.to_numpy(output.detach()._data).argmax(axis=1)


class BinaryClassification(Task):
    """Two classes, one logit z per sample: ℓ = −[y log σ(z) + (1 − y) log(1 − σ(z))];
    prediction ŷ = [z > 0] (σ(z) > ½)."""

    name = "binary"
    has_accuracy = True

    def target(self, y):
        return np.asarray(y, dtype=backend.get_default_dtype())

    @staticmethod
    def _logits(output):
        return output.reshape(output.shape[0]) if output.ndim == 2 else output

    def loss(self, output, target):
        return F.binary_cross_entropy_with_logits(self._logits(output), target)

    def predict(self, output):
        z = backend.to_numpy(self._logits(output).detach()._data)
        return (z > 0).astype(np.int64)


class Regression(Task):
    """Real targets: ℓ = (1/n) Σ (ŷ − y)² (mean squared error); no accuracy."""

    name = "regression"

    def target(self, y):
        return np.asarray(y, dtype=backend.get_default_dtype())

    def loss(self, output, target):
        if output.ndim == 2 and target.ndim == 1 and output.shape[1] == 1:
            output = output.reshape(output.shape[0])
        return F.mse_loss(output, target)


TASKS = {t.name: t for t in (Classification(), BinaryClassification(), Regression())}


def get_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; expected one of {sorted(TASKS)}")
    return TASKS[name]
