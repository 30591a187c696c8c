r"""Early stopping (seed 003, "v) Early Stopping"): "we keep specifying a patience parameter p.
We keep track of the validation error after each step ... if the validation error has not
improved after p continuous steps we stop the algorithm."

Limiting the number of steps t bounds ``|w_t − w_0| ≤ ηtτ`` (τ bounding the gradients), so
early stopping acts as a regulariser (same section, "Analysis of Early Stopping").
"""
from __future__ import annotations

import copy
import math

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Stop when a monitored metric has not improved for ``patience`` consecutive checks
    (``patience=0`` stops at the first check without improvement, like ``patience=1``).

    ``mode="min"``: an improvement is ``value < best − min_delta``; ``mode="max"``:
    ``value > best + min_delta``. ``step(value, model)`` returns ``True`` when training should
    stop. With ``restore_best_weights`` a copy of ``model.state_dict()`` is kept at every
    improvement and loaded back into the model when stopping (or on ``restore(model)``).
    A NaN value never counts as an improvement.

    Example::

        stopper = EarlyStopping(patience=5, restore_best_weights=True)
        for epoch in range(100):
            train_one_epoch()
            if stopper.step(validate(), model):
                break
    """

    def __init__(self, patience=5, min_delta=0.0, mode="min", restore_best_weights=False):
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta, self.mode = patience, float(min_delta), mode
        self.restore_best_weights = restore_best_weights
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None
        self.num_bad_epochs = 0
        self.epoch = 0
        self.should_stop = False
        self.best_state = None

    def is_improvement(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value, model=None) -> bool:
        """Record one check of the metric; returns ``True`` once ``patience`` is exhausted."""
        value = float(value)
        self.epoch += 1
        if self.is_improvement(value):
            self.best, self.best_epoch, self.num_bad_epochs = value, self.epoch, 0
            if self.restore_best_weights:
                if model is None:
                    raise ValueError("EarlyStopping(restore_best_weights=True).step needs the "
                                     "model: step(value, model)")
                self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.num_bad_epochs += 1
        self.should_stop = self.num_bad_epochs >= max(self.patience, 1)
        if self.should_stop and self.restore_best_weights and model is not None:
            self.restore(model)
        return self.should_stop

    def restore(self, model) -> None:
        """Load the best weights seen so far into ``model``."""
        if self.best_state is None:
            raise RuntimeError("EarlyStopping.restore: no improvement has been recorded yet "
                               "(or restore_best_weights=False)")
        model.load_state_dict(copy.deepcopy(self.best_state))

    def state_dict(self) -> dict:
        return dict(self.__dict__)

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
