"""What a model is trained to do, and how: the one place that knows how a family trains.

An experiment names its task (``"classification"``, ``"binary"``, ``"regression"``,
``"language-model"``, ...); the training loop (:mod:`.trainer`) is the same for all and asks
the task, never the experiment:

- :meth:`Task.optimizer_parameters` — the optimizers it needs, by name, and their
  parameters (one ``"model"`` optimizer for a supervised task; a GAN would name ``"G"``
  and ``"D"`` and keep both networks in one ``nn.ModuleDict``);
- :meth:`Task.train_step` ``(models, optimizers, batch) -> {name: scalar}`` — one step;
  ``"loss"`` is required (the epoch's ``train_loss``), the rest become ``train_<name>``;
- :meth:`Task.evaluate` ``(models, batches) -> {name: metric}`` — a held-out split;
- :meth:`Task.state_dict` / :meth:`Task.load_state_dict` — what it carries between steps
  (persistent chains, a fixed noise batch), saved in every checkpoint by the loop.

The supervised tasks below are the simplest instances: ``loss(output, target)`` and
``predict(output)`` are all they define; the base class turns them into a step
(ℓ = loss(f(x), y); θ ← step on ∇_θ ℓ) and an evaluation (mean loss, accuracy).
"""
from __future__ import annotations

import copy
import math

import numpy as np

from .. import backend
from ..autograd.grad_mode import no_grad
from ..nn import functional as F
from ..tensor import Tensor


class NonFiniteLoss(ArithmeticError):
    """A step's loss is NaN or ±Inf (nothing was updated); ``value`` is the loss."""

    def __init__(self, value: float):
        super().__init__(f"the loss became {value}")
        self.value = value


class Task:
    """How a model family trains; the base class is the supervised case (a subclass sets
    ``name``, ``has_accuracy``, ``loss`` and, for accuracy, ``predict``)."""

    name = "task"
    has_accuracy = False

    def new(self) -> "Task":
        """A fresh instance for one run (the registry keeps one of each task)."""
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ training
    def optimizer_parameters(self, models) -> dict:
        """``{optimizer name: parameters}``: one optimizer ``"model"`` over all of them."""
        return {"model": models.parameters()}

    def train_step(self, models, optimizers: dict, batch) -> dict:
        """One mini-batch step: ℓ = loss(f(x), y), then θ ← optimizer step on ∇_θ ℓ.
        Returns ``{"loss": ℓ}`` (and ``"accuracy"``); raises :class:`NonFiniteLoss` before
        any update when ℓ is NaN/Inf, so the weights stay the last good ones."""
        x, y = batch
        opt = optimizers["model"]
        out = models(x)
        loss = self.loss(out, y)
        value = float(loss.item())
        if not math.isfinite(value):
            raise NonFiniteLoss(value)
        opt.zero_grad()
        loss.backward()
        opt.step()
        stats = {"loss": value}
        if self.has_accuracy:
            stats["accuracy"] = float((self.predict(out) == backend.to_numpy(y._data)).mean())
        return stats

    def evaluate(self, models, batches) -> dict:
        """Mean loss over ``batches`` of ``(x, y)`` Tensors (in eval mode, no gradients);
        classifiers add ``accuracy`` and the ``predictions`` (a NumPy array)."""
        was_training = models.training
        models.eval()
        total, seen, preds, correct = 0.0, 0, [], 0
        try:
            with no_grad():
                for xb, yb in batches:
                    out = models(xb)
                    total += float(self.loss(out, yb).item()) * len(xb)
                    seen += len(xb)
                    if self.has_accuracy:
                        p = self.predict(out)
                        preds.append(p)
                        correct += int((p == backend.to_numpy(yb._data)).sum())
        finally:
            models.train(was_training)
        result = {"loss": total / max(seen, 1)}
        if self.has_accuracy:
            result["accuracy"] = correct / seen if seen else float("nan")
            result["predictions"] = np.concatenate(preds) if preds else np.zeros(0, np.int64)
        return result

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """What the task carries between steps (none for a supervised task)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        if state:
            raise ValueError(f"task {self.name!r} keeps no state, got keys {sorted(state)}")

    # ------------------------------------------------------------------ supervised pieces

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
