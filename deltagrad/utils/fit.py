"""``fit_cross_entropy``: the plain mini-batch loop of a classifier on arrays in memory.

One epoch visits the training set in a fresh random order, in mini-batches B of
``batch_size`` (the last one smaller), and takes one optimizer step per batch on

    L(θ) = −(1/|B|) Σ_{(x, y) ∈ B} ln softmax(f_θ(x))_y          (cross-entropy)

The order comes from a NumPy generator seeded with ``seed`` (one permutation per epoch), so
the same model, optimizer and seed give the same weights bit for bit. This is the loop of
helpers that train a small network on the side (the FID feature classifier, the transfer
experiment's pretraining); an experiment's own training is ``deltagrad.train``'s loop, with
checkpoints, validation and resume.
"""
from __future__ import annotations

import numpy as np

from ..nn import functional as F
from ..tensor import from_numpy

__all__ = ["fit_cross_entropy"]


def fit_cross_entropy(model, x: np.ndarray, y: np.ndarray, optimizer, epochs: int,
                      batch_size: int, seed: int, after_epoch=None) -> None:
    """Train ``model`` (in train mode) on inputs ``x`` and integer class labels ``y`` for
    ``epochs`` epochs; after each, ``after_epoch(epoch, last_batch_loss)`` (epoch counted
    from 1), if given."""
    if len(x) == 0:
        raise ValueError("fit_cross_entropy: x is empty (no training inputs)")
    if len(x) != len(y):
        raise ValueError(f"fit_cross_entropy: x and y need one label per input, got "
                         f"{len(x)} inputs and {len(y)} labels")
    rng = np.random.default_rng(seed)
    model.train()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(from_numpy(x[idx])), from_numpy(y[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if after_epoch is not None:
            after_epoch(epoch, loss)
